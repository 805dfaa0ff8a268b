"""Chunked neural-ODE training with fit_ode: rate schedules, progress, growing the window,
and resuming a stopped fit."""

import jax
import jax.random as jr
import numpy as np
import optax
import pytest

import resode_core as rc


def _spiral_data():
    system = rc.spiral_system()
    ts = rc.sample_times()
    return rc.trajectory_data(ts, np.asarray(rc.simulate(system, system.u0, ts).ys))


def _decay(learning_rate, epochs, final_fraction):
    """The pages' schedule: from learning_rate down to final_fraction of it, exponentially."""
    return optax.exponential_decay(
        init_value=learning_rate, transition_steps=epochs, decay_rate=final_fraction
    )


def test_a_decaying_rate_is_read_per_chunk_and_progress_is_reported():
    data = _spiral_data()
    settings = rc.SolverSettings("tsit5")
    calls = []
    fit = rc.fit_ode(
        data,
        settings,
        epochs=40,
        learning_rate=_decay(0.05, 40, 0.1),
        chunks=4,
        on_chunk=lambda f: calls.append((f.epochs, f.losses.size, f.grad_norms.size)),
    )
    assert fit.losses.shape == fit.grad_norms.shape == fit.solver_steps.shape == (40,)
    assert calls == [(10, 10, 10), (20, 20, 20), (30, 30, 30), (40, 40, 40)]
    assert fit.epochs == 40 and not fit.diverged
    # The last chunk ran at 0.05 · 0.1^(30/40).
    last_rate = float(fit.opt_state.hyperparams["learning_rate"])
    assert last_rate == pytest.approx(0.05 * 0.1**0.75, rel=1e-5)
    assert fit.losses[-1] < fit.losses[0]
    # A constant rate: the same fit whether it runs in one compiled chunk or in three.
    one_chunk = rc.fit_ode(data, settings, epochs=40, learning_rate=0.05, chunks=1)
    three_chunks = rc.fit_ode(data, settings, epochs=40, learning_rate=0.05, chunks=3)
    assert float(one_chunk.opt_state.hyperparams["learning_rate"]) == pytest.approx(0.05)
    np.testing.assert_allclose(three_chunks.losses, one_chunk.losses, rtol=1e-5)
    # ... and the decaying rate really changed the fit.
    assert not np.allclose(fit.losses[10:], one_chunk.losses[10:], rtol=1e-5)


def test_bad_rates_and_arguments_raise():
    data = rc.trajectory_data([0.0, 1.0], [[1.0, 0.0], [0.5, 0.5]])
    settings = rc.SolverSettings()
    with pytest.raises(ValueError, match="learning rate"):
        rc.fit_ode(data, settings, epochs=5, learning_rate=-1.0)
    with pytest.raises(ValueError, match="learning rate"):
        rc.fit_ode(data, settings, epochs=5, learning_rate=lambda epoch: 0.0)
    # A schedule that reaches a non-positive rate is refused when it gets there.
    with pytest.raises(ValueError, match="learning rate"):
        rc.fit_ode(data, settings, epochs=4, chunks=4, learning_rate=lambda e: 0.1 * (2 - e))
    with pytest.raises(ValueError, match="epochs"):
        rc.fit_ode(data, settings, epochs=2.5)


def test_growing_the_window_fits_lotka_volterra_beyond_the_window():
    """The Lotka–Volterra page's recipe: standardise, fit 30 %, 60 %, then all samples."""
    system = rc.lotka_volterra_system()
    ts = np.linspace(0.0, 5.0, 40)
    ys = rc.solve_many(system, [system.u0], ts).ys[0]
    mean, scale = ys.mean(axis=0), ys.std(axis=0)
    settings = rc.SolverSettings("tsit5", rtol=1e-5, atol=1e-7)
    reports = []
    fit = rc.fit_ode(
        rc.trajectory_data(ts, (ys - mean) / scale),
        settings,
        epochs=1500,
        learning_rate=_decay(0.02, 1500, 0.05),
        model=rc.MLPVectorField(2, 50, key=jr.PRNGKey(0), cube_input=False),
        warmup=((0.3, 250), (0.6, 250)),
        on_chunk=lambda f: reports.append((f.epochs, f.losses.size)),
    )
    assert fit.losses.size == fit.grad_norms.size == 2000  # 250 + 250 warm-up epochs + 1500
    assert reports[-1] == (2000, 2000) and all(d == n for d, n in reports)
    assert [d for d, _ in reports] == sorted(d for d, _ in reports)
    assert {250, 500} <= {d for d, _ in reports}  # a chunk ends where each stage ends
    later = np.linspace(0.0, 15.0, 301)
    truth = rc.solve_many(system, [system.u0], later).ys[0]
    start = (ys[0] - mean) / scale
    learned = rc.solve_many(fit.model, [start], later, settings).ys[0] * scale + mean
    beyond = later > 5.0
    assert rc.relative_errors(learned[beyond], truth[beyond])[0] < 0.1


def test_a_window_is_a_prefix_of_the_samples():
    ts = np.linspace(0.0, 1.0, 10)
    ys = np.stack([ts, ts**2], axis=1)
    window = rc.trajectory_data(ts, ys).first(0.3)
    assert window.num_samples == 3 and window.num_trajectories == 1
    np.testing.assert_allclose(np.asarray(window.ts[:3]), ts[:3])
    np.testing.assert_allclose(np.asarray(window.ys[0, :3]), ys[:3], rtol=1e-6)
    assert rc.trajectory_data(ts, ys).first(0.01).num_samples == 2  # at least two


@pytest.mark.parametrize("fraction", [1.5, 0.0, 1.0])
def test_growing_window_rejects_bad_fractions(fraction):
    data = rc.trajectory_data(np.linspace(0.0, 1.0, 10), np.ones((10, 2)))
    with pytest.raises(ValueError, match="fractions"):
        rc.fit_ode(data, rc.SolverSettings(), epochs=5, warmup=((fraction, 5),))


class _Stopped(Exception):
    """What a page's progress display raises when Streamlit stops the script."""


def _assert_same_fit(resumed, uninterrupted):
    # The same compiled chunks on the same inputs: equal up to float32 round-off at most.
    np.testing.assert_allclose(resumed.losses, uninterrupted.losses, rtol=1e-6)
    np.testing.assert_allclose(resumed.grad_norms, uninterrupted.grad_norms, rtol=1e-6)
    for leaf, leaf_0 in zip(
        jax.tree_util.tree_leaves(resumed.model),
        jax.tree_util.tree_leaves(uninterrupted.model),
        strict=True,
    ):
        np.testing.assert_allclose(np.asarray(leaf), np.asarray(leaf_0), rtol=1e-6, atol=1e-7)
    assert resumed.epochs == uninterrupted.epochs
    assert float(resumed.opt_state.hyperparams["learning_rate"]) == pytest.approx(
        float(uninterrupted.opt_state.hyperparams["learning_rate"]), rel=1e-6
    )


def test_a_fit_resumed_from_a_partial_fit_equals_an_uninterrupted_one():
    data = _spiral_data()
    settings = rc.SolverSettings("tsit5")
    options = {"epochs": 40, "learning_rate": _decay(0.05, 40, 0.1), "chunks": 8}  # chunks of 5
    uninterrupted = rc.fit_ode(data, settings, **options)

    saved = []

    def stop_after_15(fit):
        saved.append(fit)
        if fit.epochs >= 15:
            raise _Stopped

    with pytest.raises(_Stopped):  # stopped in the progress display after the third chunk
        rc.fit_ode(data, settings, on_chunk=stop_after_15, **options)
    assert [f.epochs for f in saved] == [5, 10, 15]
    last = saved[-1]
    assert last.losses.size == last.grad_norms.size == 15 and last.seconds > 0
    reports = []
    resumed = rc.fit_ode(
        data,
        settings,
        seed=7,  # ignored: the partial fit's model and optimiser state win
        start=last,
        on_chunk=lambda f: reports.append((f.epochs, f.losses.size)),
        **options,
    )
    assert reports == [(20, 20), (25, 25), (30, 30), (35, 35), (40, 40)]
    _assert_same_fit(resumed, uninterrupted)
    assert resumed.seconds > last.seconds  # training time adds up over the pieces
    # A finished fit given as the start comes back as it is, without training.
    finished = []
    again = rc.fit_ode(data, settings, start=uninterrupted, on_chunk=finished.append, **options)
    assert finished == []
    _assert_same_fit(again, uninterrupted)
    # A start longer than the fit asked for cannot be resumed.
    with pytest.raises(ValueError, match="resume"):
        rc.fit_ode(data, settings, **{**options, "epochs": 10}, start=last)


def test_growing_window_resumes_mid_stage_and_at_a_stage_boundary():
    system = rc.lotka_volterra_system()
    ts = np.linspace(0.0, 5.0, 40)
    ys = rc.solve_many(system, [system.u0], ts).ys[0]
    data = rc.trajectory_data(ts, (ys - ys.mean(axis=0)) / ys.std(axis=0))
    settings = rc.SolverSettings("tsit5", rtol=1e-5, atol=1e-7)
    options = {
        "epochs": 40,
        "learning_rate": _decay(0.02, 40, 0.05),
        "warmup": ((0.3, 20), (0.6, 20)),
        "model": rc.MLPVectorField(2, 50, key=jr.PRNGKey(0), cube_input=False),
    }
    saved = []
    uninterrupted = rc.fit_ode(data, settings, on_chunk=saved.append, **options)
    # Warm-up stages of 20 epochs in chunks of 4, then 40 epochs in chunks of 4.
    assert [f.epochs for f in saved] == list(range(4, 81, 4))
    np.testing.assert_array_equal(saved[-1].losses, uninterrupted.losses)
    # The warm-up stages fit fewer samples, so their losses are on another scale: the loss
    # jumps up where a stage adds samples.
    assert uninterrupted.losses[20] > uninterrupted.losses[19]
    for resume_at in (28, 40):  # inside the second warm-up stage; where the last one starts
        start = next(f for f in saved if f.epochs == resume_at)
        reports = []
        resumed = rc.fit_ode(
            data,
            settings,
            start=start,
            on_chunk=lambda f, reports=reports: reports.append((f.epochs, f.losses.size)),
            **options,
        )
        assert reports[0] == (resume_at + 4, resume_at + 4) and reports[-1] == (80, 80)
        _assert_same_fit(resumed, uninterrupted)
