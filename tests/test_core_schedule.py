"""Chunked neural-ODE training: decaying rates, progress reports, growing the window."""

import jax
import numpy as np
import pytest

import resode_core as rc


def test_streaming_training_decays_the_rate_and_reports_progress():
    ts = rc.sample_times()
    ys = np.asarray(rc.simulate(rc.spiral_system(), rc.SPIRAL_U0, ts).ys)
    data = rc.trajectory_data(ts, ys)
    settings = rc.solver_settings("tsit5")
    calls = []
    state = rc.init_ode_fit(2, learning_rate=0.05)
    state, losses, grad_norms = rc.train_ode_streaming(
        state,
        data,
        settings,
        40,
        learning_rate=0.05,
        final_fraction=0.1,
        chunks=4,
        progress=lambda done, lo, gn: calls.append((done, lo.size, gn.size)),
    )
    assert losses.shape == grad_norms.shape == (40,)
    assert calls == [(10, 10, 10), (20, 20, 20), (30, 30, 30), (40, 40, 40)]
    assert int(state.epoch) == 40
    # The last chunk ran at 0.05 · 0.1^(30/40).
    last_rate = float(state.opt_state.hyperparams["learning_rate"])
    assert last_rate == pytest.approx(0.05 * 0.1**0.75, rel=1e-5)
    assert losses[-1] < losses[0]
    # With a constant rate the result equals the core's own chunked loop.
    plain, plain_losses, _ = rc.run_ode_fit(
        rc.init_ode_fit(2, learning_rate=0.05), data, settings, 40
    )
    _, same_losses, _ = rc.train_ode_streaming(
        rc.init_ode_fit(2, learning_rate=0.05), data, settings, 40, learning_rate=0.05, chunks=3
    )
    np.testing.assert_allclose(same_losses, plain_losses, rtol=1e-5)


def test_decayed_rate_and_bad_arguments():
    assert rc.decayed_rate(0.1, 0.01, 0.0) == pytest.approx(0.1)
    assert rc.decayed_rate(0.1, 0.01, 1.0) == pytest.approx(0.001)
    assert rc.decayed_rate(0.1, 0.01, 0.5) == pytest.approx(0.01)
    state = rc.init_ode_fit(2)
    data = rc.trajectory_data([0.0, 1.0], [[1.0, 0.0], [0.5, 0.5]])
    settings = rc.solver_settings()
    for kwargs in ({"learning_rate": -1.0}, {"learning_rate": 0.1, "final_fraction": 0.0}):
        with pytest.raises(ValueError):
            rc.train_ode_streaming(state, data, settings, 5, **kwargs)


def test_growing_the_window_fits_lotka_volterra_beyond_the_window():
    """The Lotka–Volterra page's recipe: standardise, fit 30 %, 60 %, then all samples."""
    system = rc.lotka_volterra_system()
    ts = np.linspace(0.0, 5.0, 40)
    ys = rc.solve_many(system, [system.u0], ts).ys[0]
    mean, scale = ys.mean(axis=0), ys.std(axis=0)
    settings = rc.solver_settings("tsit5", rtol=1e-5, atol=1e-7)
    reports = []
    state = rc.init_ode_fit(2, learning_rate=0.02, cube_input=False)
    state, losses, grad_norms = rc.train_ode_growing_window(
        state,
        ts,
        (ys - mean) / scale,
        settings,
        1500,
        learning_rate=0.02,
        final_fraction=0.05,
        progress=lambda done, lo, gn: reports.append((done, lo.size)),
    )
    assert losses.size == grad_norms.size == 2000  # 250 + 250 warm-up epochs + 1500
    assert reports[-1] == (2000, 2000) and all(d == n for d, n in reports)
    assert [d for d, _ in reports] == sorted(d for d, _ in reports)
    later = np.linspace(0.0, 15.0, 301)
    truth = rc.solve_many(system, [system.u0], later).ys[0]
    start = (ys[0] - mean) / scale
    learned = rc.solve_many(state.model, [start], later, settings).ys[0] * scale + mean
    beyond = later > 5.0
    assert rc.relative_errors(learned[beyond], truth[beyond])[0] < 0.1


def test_growing_window_rejects_bad_fractions():
    state = rc.init_ode_fit(2)
    ts = np.linspace(0.0, 1.0, 10)
    ys = np.ones((10, 2))
    with pytest.raises(ValueError):
        rc.train_ode_growing_window(
            state, ts, ys, rc.solver_settings(), 5, learning_rate=0.1, warmup_fractions=(1.5,)
        )


class _Stopped(Exception):
    """What a page's progress display raises when Streamlit stops the script."""


def _stop_after(done_wanted):
    def progress(done, losses, grad_norms):
        if done >= done_wanted:
            raise _Stopped

    return progress


def _assert_same_fit(resumed, uninterrupted):
    (state, losses, grad_norms), (state_0, losses_0, grad_norms_0) = resumed, uninterrupted
    # The same compiled chunks on the same inputs: equal up to float32 round-off at most.
    np.testing.assert_allclose(losses, losses_0, rtol=1e-6)
    np.testing.assert_allclose(grad_norms, grad_norms_0, rtol=1e-6)
    for leaf, leaf_0 in zip(
        jax.tree_util.tree_leaves(state.model),
        jax.tree_util.tree_leaves(state_0.model),
        strict=True,
    ):
        np.testing.assert_allclose(np.asarray(leaf), np.asarray(leaf_0), rtol=1e-6, atol=1e-7)
    assert int(state.epoch) == int(state_0.epoch)


def test_a_streamed_fit_resumed_from_a_checkpoint_equals_an_uninterrupted_one():
    ts = rc.sample_times()
    ys = np.asarray(rc.simulate(rc.spiral_system(), rc.SPIRAL_U0, ts).ys)
    data = rc.trajectory_data(ts, ys)
    settings = rc.solver_settings("tsit5")
    options = {"learning_rate": 0.05, "final_fraction": 0.1, "chunks": 8}  # chunks of 5
    uninterrupted = rc.train_ode_streaming(
        rc.init_ode_fit(2, learning_rate=0.05), data, settings, 40, **options
    )

    saved = []
    with pytest.raises(_Stopped):  # stopped in the progress display after the third chunk
        rc.train_ode_streaming(
            rc.init_ode_fit(2, learning_rate=0.05),
            data,
            settings,
            40,
            progress=_stop_after(15),
            checkpoint=saved.append,
            **options,
        )
    assert [c.done for c in saved] == [5, 10, 15]
    last = saved[-1]
    assert last.losses.size == last.grad_norms.size == 15 and last.seconds > 0
    reports = []
    resumed = rc.train_ode_streaming(
        rc.init_ode_fit(2, seed=7, learning_rate=0.05),  # ignored: the checkpoint's state wins
        data,
        settings,
        40,
        start=last,
        progress=lambda done, lo, gn: reports.append((done, lo.size)),
        **options,
    )
    assert reports == [(20, 20), (25, 25), (30, 30), (35, 35), (40, 40)]
    _assert_same_fit(resumed, uninterrupted)
    # A checkpoint of the whole fit resumes to the same result without training.
    finished = []
    rc.train_ode_streaming(
        last.state, data, settings, 40, start=last, checkpoint=finished.append, **options
    )
    assert finished[-1].done == 40
    again = rc.train_ode_streaming(last.state, data, settings, 40, start=finished[-1], **options)
    _assert_same_fit(again, uninterrupted)
    with pytest.raises(ValueError):
        rc.train_ode_streaming(last.state, data, settings, 10, start=last, **options)


def test_growing_window_resumes_mid_stage_and_at_a_stage_boundary():
    system = rc.lotka_volterra_system()
    ts = np.linspace(0.0, 5.0, 40)
    ys = rc.solve_many(system, [system.u0], ts).ys[0]
    zs = (ys - ys.mean(axis=0)) / ys.std(axis=0)
    settings = rc.solver_settings("tsit5", rtol=1e-5, atol=1e-7)
    options = {"learning_rate": 0.02, "final_fraction": 0.05, "warmup_epochs": 20}

    def fresh():
        return rc.init_ode_fit(2, learning_rate=0.02, cube_input=False)

    saved = []
    uninterrupted = rc.train_ode_growing_window(
        fresh(), ts, zs, settings, 40, checkpoint=saved.append, **options
    )
    # Warm-up stages of 20 epochs in chunks of 4, then 40 epochs in chunks of 4.
    assert [c.done for c in saved] == list(range(4, 81, 4))
    np.testing.assert_array_equal(saved[-1].losses, uninterrupted[1])
    for resume_at in (28, 40):  # inside the second warm-up stage; where the last one starts
        start = next(c for c in saved if c.done == resume_at)
        reports = []
        resumed = rc.train_ode_growing_window(
            fresh(),
            ts,
            zs,
            settings,
            40,
            start=start,
            progress=lambda done, lo, gn, reports=reports: reports.append((done, lo.size)),
            **options,
        )
        assert reports[0] == (resume_at + 4, resume_at + 4) and reports[-1] == (80, 80)
        _assert_same_fit(resumed, uninterrupted)
