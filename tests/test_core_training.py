"""Training: the notes' two experiments, chunking, no recompiles, bad input."""

import jax.random as jr
import numpy as np
import pytest

import resode_core as rc
from resode_core._fit_ode import CHUNK_CAPACITY  # epochs one compiled chunk runs at most

SPIRAL_U0 = (2.0, 0.0)  # the notes' initial state


def spiral_trajectory(u0=SPIRAL_U0, n_samples=16):
    system = rc.spiral_system()
    ts = rc.sample_times((0.0, 1.5), n_samples)
    return ts, np.asarray(rc.simulate(system, u0, ts).ys)


def test_identity_experiment_resnet_converges_plain_does_not():
    # The notes' recipe from five fresh initialisations each (measured: the plain chain
    # plateaus near MSE 0.1; the ResNet stops below 0.01 within ~2000 epochs).
    plain = rc.fit_identity_seeds("plain", range(5))
    resnet = rc.fit_identity_seeds("resnet", range(5))
    assert not any(fit.converged for fit in plain)
    assert all(fit.epochs == 10_000 and fit.final_mse > 0.05 for fit in plain)
    assert all(fit.converged and fit.final_mse < 0.01 for fit in resnet)
    assert all(fit.epochs < 10_000 and fit.losses.size == fit.epochs for fit in resnet)
    x, _ = rc.identity_data()
    np.testing.assert_allclose(resnet[0].predict(x), x, atol=0.35)


def test_fit_identity_matches_the_batched_run():
    single = rc.fit_identity("resnet", seed=2)
    batched = rc.fit_identity_seeds("resnet", [2])[0]
    assert single.epochs == batched.epochs
    np.testing.assert_allclose(single.losses, batched.losses)


def test_spiral_fit_with_the_notes_settings_reduces_the_loss():
    ts, ys = spiral_trajectory()
    fit = rc.fit_neural_ode(ts, ys, epochs=25, learning_rate=0.1)
    assert not fit.diverged
    assert fit.losses.shape == (25,) and fit.grad_norms.shape == (25,)
    assert fit.final_loss < 0.5 * fit.losses[0]
    assert fit.epochs == 25 and fit.solver_steps.shape == (25,) and fit.seconds > 0
    assert np.all(fit.solver_steps > 0)
    assert fit.settings == rc.SolverSettings("tsit5")  # the notes' solver
    prediction = fit.predict(SPIRAL_U0, ts)
    assert prediction.shape == (16, 2)
    np.testing.assert_allclose(prediction[0], SPIRAL_U0, atol=1e-6)


def test_one_trajectory_loss_and_gradient_match_the_batched_path_and_finite_differences():
    # One trajectory is solved without vmap and with more checkpoints (a faster path);
    # the same trajectory twice goes through the batched path. Both must agree, and the
    # gradient must match central differences of the loss.
    import equinox as eqx
    import jax

    from resode_core._fit_ode import _loss_and_steps  # the training loss (internal)

    def trajectory_loss(model, data, control):
        return _loss_and_steps(model, data, control)[0]

    ts, ys = spiral_trajectory()
    one = rc.trajectory_data(ts, ys)
    twice = rc.trajectory_data(ts, np.stack([ys, ys]))
    settings = rc.SolverSettings("dopri5", rtol=1e-6, atol=1e-8).control()
    model = rc.MLPVectorField(2, 50, key=jr.PRNGKey(3))
    value_and_grad = eqx.filter_jit(eqx.filter_value_and_grad(trajectory_loss))
    loss_one, grad_one = value_and_grad(model, one, settings)
    loss_twice, grad_twice = value_and_grad(model, twice, settings)
    np.testing.assert_allclose(float(loss_one), float(loss_twice), rtol=1e-5)
    flat_one, _ = jax.flatten_util.ravel_pytree(eqx.filter(grad_one, eqx.is_inexact_array))
    flat_twice, _ = jax.flatten_util.ravel_pytree(eqx.filter(grad_twice, eqx.is_inexact_array))
    flat_one, flat_twice = np.asarray(flat_one), np.asarray(flat_twice)
    # float32 sums in a different order: agreement to ~1e-5 of the gradient's size.
    assert np.linalg.norm(flat_one - flat_twice) < 1e-4 * np.linalg.norm(flat_twice)

    # Central differences along the gradient itself (float32: a large, smooth step).
    params, static = eqx.partition(model, eqx.is_inexact_array)
    flat, unravel = jax.flatten_util.ravel_pytree(params)
    direction = flat_one / np.linalg.norm(flat_one)
    loss = eqx.filter_jit(trajectory_loss)

    def loss_at(step):
        moved = eqx.combine(unravel(flat + step * direction), static)
        return float(loss(moved, one, settings))

    eps = 1e-3
    slope = (loss_at(eps) - loss_at(-eps)) / (2 * eps)
    np.testing.assert_allclose(slope, float(np.linalg.norm(flat_one)), rtol=1e-3)


def test_several_trajectories_extrapolate_where_one_does_not():
    # Measured (seed 0 draws): one trajectory misses held-out initial conditions by ~100 %
    # (median relative error), twelve trajectories get them within ~8 %.
    rng = np.random.default_rng(0)
    system = rc.spiral_system()
    ts = rc.sample_times()
    starts = rng.uniform(-2, 2, size=(12, 2))
    many = np.stack([np.asarray(rc.simulate(system, u, ts).ys) for u in starts])
    held_out = rng.uniform(-2, 2, size=(8, 2))

    def median_relative_error(fit):
        errors = []
        for u in held_out:
            true = np.asarray(rc.simulate(system, u, ts).ys)
            errors.append(np.linalg.norm(fit.predict(u, ts) - true) / np.linalg.norm(true))
        return float(np.median(errors))

    one = rc.fit_neural_ode(ts, spiral_trajectory()[1], epochs=300, learning_rate=0.05)
    several = rc.fit_neural_ode(ts, many, epochs=300, learning_rate=0.05)
    one_error, several_error = median_relative_error(one), median_relative_error(several)
    assert one.final_loss < 1.0  # it fits its own trajectory ...
    assert one_error > 0.3  # ... but not the others
    assert several_error < 0.15
    assert several_error < one_error / 4


def test_chunks_continue_the_same_fit():
    ts, ys = spiral_trajectory()
    data = rc.trajectory_data(ts, ys)
    settings = rc.SolverSettings("tsit5")
    options = {"learning_rate": 0.05, "seed": 1}
    whole = rc.fit_ode(data, settings, epochs=12, **options)
    first = rc.fit_ode(data, settings, epochs=5, **options)
    both = rc.fit_ode(data, settings, epochs=12, start=first, **options)
    assert first.epochs == 5 and both.epochs == 12
    np.testing.assert_array_equal(both.losses[:5], first.losses)  # the start's history kept
    np.testing.assert_allclose(both.losses, whole.losses, rtol=1e-5)
    np.testing.assert_allclose(both.final_loss, whole.final_loss, rtol=1e-5)


def test_progress_is_reported_per_chunk():
    ts, ys = spiral_trajectory()
    calls = []
    fit = rc.fit_neural_ode(
        ts, ys, epochs=CHUNK_CAPACITY + 3, learning_rate=0.01, solver="rk4", dt=0.05,
        progress=lambda done, losses: calls.append((done, losses.size)),
    )  # fmt: skip
    # More epochs than one compiled chunk holds: two chunks, each reported with the losses
    # so far; none runs more than CHUNK_CAPACITY epochs.
    assert len(calls) == 2
    assert calls[-1] == (CHUNK_CAPACITY + 3,) * 2 and all(d == n for d, n in calls)
    assert 0 < calls[0][0] <= CHUNK_CAPACITY and calls[1][0] - calls[0][0] <= CHUNK_CAPACITY
    assert fit.epochs == CHUNK_CAPACITY + 3 and not fit.diverged
    # With fit_ode the number of chunks is asked for directly.
    data = rc.trajectory_data(ts, ys)
    reports = []
    rc.fit_ode(
        data, rc.SolverSettings("rk4", dt=0.05), epochs=12, learning_rate=0.01, chunks=3,
        on_chunk=lambda f: reports.append((f.epochs, f.losses.size, f.grad_norms.size)),
    )  # fmt: skip
    assert reports == [(4, 4, 4), (8, 8, 8), (12, 12, 12)]


def test_slider_values_never_recompile(compile_counter):
    ts, ys = spiral_trajectory()
    fit = rc.fit_neural_ode(ts, ys, epochs=3, learning_rate=0.1)
    fit.predict((1.0, 0.5), ts)
    compile_counter.count = 0
    # Other epochs, learning rate, seed, tolerances, sample count and initial state.
    ts2, ys2 = spiral_trajectory(u0=(1.5, 0.3), n_samples=30)
    fit = rc.fit_neural_ode(ts2, ys2, epochs=5, learning_rate=0.02, seed=4, rtol=1e-5, atol=1e-7)
    fit.predict((0.3, -1.0), np.linspace(0, 3, 40))
    rc.simulate(rc.spiral_system(), (1.0, 1.0), np.linspace(0, 2, 9), rtol=1e-4, atol=1e-6)
    rc.fit_identity("resnet", seed=0, max_epochs=10)
    rc.fit_identity("resnet", seed=3, max_epochs=50, learning_rate=1e-2)
    assert compile_counter.count <= 2  # only the first fit_identity call may compile
    rc.simulate(rc.spiral_system(), (0.2, 1.0), np.linspace(0, 1, 5), solver="euler", dt=0.01)
    compile_counter.count = 0  # the first fixed-step solve compiles; other Δt and u0 do not
    rc.fit_identity("resnet", seed=5, max_epochs=20, tol=0.1)
    rc.simulate(rc.spiral_system(), (0.7, -1.0), np.linspace(0, 1, 5), solver="euler", dt=0.002)
    assert compile_counter.count == 0


def test_large_learning_rate_divergence_is_caught():
    ts, ys = spiral_trajectory()
    # Measured: Adam(10) blows the cubic field up within three epochs.
    fit = rc.fit_neural_ode(ts, ys, epochs=30, learning_rate=10.0)
    assert fit.diverged
    assert "diverged" in fit.message and fit.losses.size < 30
    assert not np.isfinite(fit.losses[-1])  # the epoch that diverged is recorded ...
    assert np.isfinite(fit.final_loss)  # ... and the final loss is the last finite one
    assert fit.final_loss == fit.losses[np.isfinite(fit.losses)][-1]
    assert np.all(np.isfinite(np.asarray(fit.model.hidden_weight)))  # last good parameters
    # A diverged fit goes on no further.
    again = rc.fit_ode(
        rc.trajectory_data(ts, ys), fit.settings, epochs=30, learning_rate=10.0, start=fit
    )
    assert again.diverged and again.epochs == fit.epochs


@pytest.mark.parametrize(
    "ts, ys, match",
    [
        (np.linspace(0, 1, 5), np.zeros((4, 2)), "samples"),
        (np.linspace(0, 1, 5), np.full((5, 2), np.nan), "NaN"),
        (np.linspace(0, 1, 5), np.zeros((2, 3, 5, 2)), "shape"),
        (np.array([0.0, 0.5, 0.5, 1.0]), np.zeros((4, 2)), "increasing"),
    ],
)
def test_bad_training_data_raise(ts, ys, match):
    with pytest.raises(ValueError, match=match):
        rc.fit_neural_ode(ts, ys, epochs=1, learning_rate=0.1)


def test_bad_training_settings_raise():
    ts, ys = spiral_trajectory()
    with pytest.raises(ValueError, match="learning rate"):
        rc.fit_neural_ode(ts, ys, epochs=1, learning_rate=-1.0)
    with pytest.raises(ValueError, match="epochs"):
        rc.fit_neural_ode(ts, ys, epochs=-3, learning_rate=0.1)
    with pytest.raises(ValueError, match="Unknown solver"):
        rc.fit_neural_ode(ts, ys, epochs=1, learning_rate=0.1, solver="nope")
    with pytest.raises(ValueError, match="width"):
        rc.fit_neural_ode(ts, ys, epochs=1, learning_rate=0.1, width=0)
    data = rc.trajectory_data(ts, ys)
    with pytest.raises(ValueError, match="chunks"):
        rc.fit_ode(data, rc.SolverSettings(), epochs=1, chunks=0)
    with pytest.raises(ValueError, match="seed"):
        rc.fit_ode(data, rc.SolverSettings(), epochs=1, seed=-1)
    with pytest.raises(ValueError, match="architecture"):
        rc.fit_identity("dense", seed=0)


def test_an_infinite_epoch_count_raises_a_value_error():
    ts, ys = spiral_trajectory()
    with pytest.raises(ValueError, match="epochs"):
        rc.fit_ode(rc.trajectory_data(ts, ys), rc.SolverSettings(), epochs=float("inf"))
