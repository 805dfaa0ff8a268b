"""Layer experiments (shrunk weights, hidden states, Euler = ResNet) against known answers."""

import equinox as eqx
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import resode_core as rc

WIDTH = 4


def _line_inputs(n=7):
    xs = np.zeros((n, WIDTH))
    xs[:, 0] = np.linspace(-2.0, 2.0, n)
    xs[:, 1] = 0.5
    return xs


@pytest.mark.parametrize("activation, sigma0", [("tanh", 0.0), ("sigmoid", 0.5), ("relu", 0.0)])
def test_zero_weights_give_null_map_for_plain_and_identity_for_resnet(activation, sigma0):
    key = jr.PRNGKey(3)
    depth, dt = 6, 0.25
    plain = rc.PlainNet(depth, WIDTH, key=key, activation=activation, max_depth=16)
    resnet = rc.ResNet(depth, WIDTH, dt, key=key, activation=activation, max_depth=16)
    xs = _line_inputs()
    plain_out = rc.shrunk_outputs(plain, xs, [0.0, 1.0])
    resnet_out = rc.shrunk_outputs(resnet, xs, [0.0, 1.0])
    assert plain_out.shape == resnet_out.shape == (2, len(xs), WIDTH)
    # factor 0: the plain net forgets its input, the ResNet passes it through (+ a constant).
    np.testing.assert_allclose(plain_out[0], sigma0, atol=1e-7)
    np.testing.assert_allclose(resnet_out[0], xs + depth * dt * sigma0, atol=1e-6)
    # factor 1: the unchanged nets.
    np.testing.assert_allclose(
        plain_out[1], np.stack([plain(jnp.asarray(x)) for x in xs]), atol=1e-6
    )
    np.testing.assert_allclose(
        resnet_out[1], np.stack([resnet(jnp.asarray(x)) for x in xs]), atol=1e-6
    )


def test_hidden_state_paths_follow_the_layer_rule():
    resnet = rc.ResNet(5, WIDTH, 0.3, key=jr.PRNGKey(0), max_depth=16)
    xs = _line_inputs(3)
    paths = rc.hidden_state_paths(resnet, xs)
    assert paths.shape == (3, 6, WIDTH)
    np.testing.assert_allclose(paths[:, 0], xs, atol=1e-7)
    for i, x in enumerate(xs):
        np.testing.assert_allclose(paths[i, -1], resnet(jnp.asarray(x)), atol=1e-6)
    step = paths[0, 2] - paths[0, 1]
    expected = 0.3 * np.tanh(
        np.asarray(resnet.weights[1]) @ paths[0, 1] + np.asarray(resnet.biases[1])
    )
    np.testing.assert_allclose(step, expected, atol=1e-6)


def test_euler_endpoints_equal_the_resnet_sampled_from_the_field():
    field = rc.SmoothLayerField(2, key=jr.PRNGKey(4))
    u0 = np.array([1.0, -0.5])
    t_end = 2.0
    counts = [4, 16, 64]
    ends = rc.fixed_step_endpoints(field, u0, t_end, counts, solver="euler")
    for n, end in zip(counts, ends, strict=True):
        resnet = rc.resnet_from_field(field, n, t_end / n)
        np.testing.assert_allclose(end, resnet(jnp.asarray(u0, dtype=jnp.float32)), atol=2e-6)


@pytest.mark.parametrize("solver, order", [("euler", 1), ("midpoint", 2), ("bosh3", 3), ("rk4", 4)])
def test_fixed_step_orders_on_the_linear_system(solver, order):
    system = rc.linear_system()
    t_end = 2.0
    counts = np.array([4, 8, 16, 32, 64, 128])
    ends = rc.fixed_step_endpoints(system, system.u0, t_end, counts, solver=solver)
    errors = np.max(np.abs(ends - system.exact(t_end)), axis=1)
    slope, _, _ = rc.convergence_order(t_end / counts, errors, floor=1e-5)
    assert abs(slope - order) < 0.3, (solver, slope, errors)


def test_fixed_step_endpoints_do_not_recompile_for_new_numbers():
    traces = []

    class CountingField(eqx.Module):
        rate: jnp.ndarray

        def __call__(self, t, u, args):
            traces.append(1)  # runs only while JAX traces
            return -self.rate * u

    field = CountingField(jnp.asarray(0.7))
    first = rc.fixed_step_endpoints(field, [1.0], 1.0, [2, 4, 8], solver="euler")
    n_traces = len(traces)
    second = rc.fixed_step_endpoints(
        CountingField(jnp.asarray(0.3)), [2.0], 3.0, [5, 7, 9], solver="euler"
    )
    assert len(traces) == n_traces
    np.testing.assert_allclose(first[:, 0], (1 - 0.7 / np.array([2, 4, 8])) ** [2, 4, 8], rtol=1e-5)
    np.testing.assert_allclose(
        second[:, 0], 2.0 * (1 - 0.9 / np.array([5, 7, 9])) ** [5, 7, 9], rtol=1e-5
    )


def test_exact_flow_of_the_smooth_field_matches_a_tight_float32_solve():
    field = rc.SmoothLayerField(2, key=jr.PRNGKey(1))
    u0 = np.array([0.3, 0.8])
    ts = np.linspace(0.0, 2.0, 11)
    exact = field.exact_flow(u0, ts)
    assert exact.shape == (11, 2)
    np.testing.assert_allclose(exact[0], u0)
    tight = rc.simulate(field, u0, ts, solver="dopri8")
    np.testing.assert_allclose(np.asarray(tight.ys), exact, atol=1e-5)


def test_convergence_order_ignores_round_off_floor():
    h = 2.0 ** -np.arange(1, 10)
    errors = 0.5 * h**3 + 1e-7  # order 3 until it hits a 1e-7 floor
    slope, _, used = rc.convergence_order(h, errors, floor=1e-6)
    assert slope == pytest.approx(3.0, abs=0.1)
    assert not used[-1]  # 0.5·h³ + 1e-7 ≈ 1.3e-7 at the finest step: below the floor
    assert np.isnan(rc.convergence_order(h, np.full_like(h, 1e-8), floor=1e-6)[0])


def test_invalid_input_raises_value_error():
    net = rc.PlainNet(3, WIDTH, key=jr.PRNGKey(0), max_depth=8)
    with pytest.raises(ValueError, match="shape"):
        rc.shrunk_outputs(net, np.zeros((3, WIDTH + 1)), [0.5])
    with pytest.raises(ValueError, match="PlainNet or a ResNet"):
        rc.hidden_state_paths(rc.SmoothLayerField(2, key=jr.PRNGKey(0)), np.zeros((1, 2)))
    with pytest.raises(ValueError, match="step_counts"):
        rc.fixed_step_endpoints(rc.linear_system(), [1.0, 0.0], 1.0, [0, 4], solver="euler")
    with pytest.raises(ValueError, match="Unknown solver"):
        rc.fixed_step_endpoints(rc.linear_system(), [1.0, 0.0], 1.0, [4], solver="nope")
    with pytest.raises(ValueError, match="u0"):
        rc.SmoothLayerField(2, key=jr.PRNGKey(0)).exact_flow([1.0], [0.0, 1.0])


def test_held_out_loss_is_the_loss_on_the_held_out_points():
    x_all, y_all = (np.asarray(a) for a in rc.regression_task(WIDTH, 24, seed=1))
    x, y, x_held, y_held = x_all[:16], y_all[:16], x_all[16:], y_all[16:]
    assert not (x[:, None] == x_held[None]).all(axis=-1).any()  # points not in the training set
    net = rc.ResNet(3, WIDTH, 0.5, key=jr.PRNGKey(2), max_depth=8)
    trained, losses, held = rc.train_deep_net(
        net, x, y, epochs=6, learning_rate=1e-2, held_out=(x_held, y_held)
    )
    assert losses.shape == held.shape == (6,)

    def mse(model, a, b):
        """The MSE of the ResNet's outputs, x_ℓ = x_{ℓ−1} + Δt·tanh(W_ℓ x_{ℓ−1} + b_ℓ), in NumPy."""
        weights, biases = np.asarray(model.weights), np.asarray(model.biases)
        h = np.asarray(a, dtype=np.float64)
        for layer in range(int(model.depth)):
            h = h + float(model.dt) * np.tanh(h @ weights[layer].T + biases[layer])
        return float(np.mean((h - b) ** 2))

    # Each entry is the loss function on the held-out points, with the weights of that epoch:
    # the untrained net first, then the net trained for 5 epochs (training is deterministic).
    assert held[0] == pytest.approx(mse(net, x_held, y_held), rel=1e-4)
    after_five, losses_five = rc.train_deep_net(net, x, y, epochs=5, learning_rate=1e-2)
    assert held[5] == pytest.approx(mse(after_five, x_held, y_held), rel=1e-4)
    assert losses[5] == pytest.approx(mse(after_five, x, y), rel=1e-4)
    assert held[5] != pytest.approx(losses[5], rel=1e-3)  # other points, another loss
    # The held-out points only watch: training with or without them gives the same net.
    np.testing.assert_allclose(losses[:5], losses_five, rtol=1e-6)
    assert np.all(np.isfinite(np.asarray(trained.weights)))
    with pytest.raises(ValueError, match="held_out"):
        rc.train_deep_net(net, x, y, epochs=2, held_out=(x_held[:, :2], y_held))
    with pytest.raises(ValueError, match="held_out"):
        rc.train_deep_net(net, x, y, epochs=2, held_out=(x_held[:0], y_held[:0]))
    with pytest.raises(ValueError, match="finite"):
        rc.train_deep_net(net, x, y, epochs=2, held_out=(x_held * np.nan, y_held))


def test_identity_fit_keeps_the_chain_at_its_checkpoints():
    """`checkpoints`: the chain after those epochs, from the same compiled loop as the fit."""
    checkpoints = [0, 1, 5, 40, 20_000]
    fit = rc.fit_identity("resnet", seed=1, max_epochs=40, checkpoints=checkpoints)
    plain = rc.fit_identity("resnet", seed=1, max_epochs=40)
    assert (fit.epochs, fit.final_mse) == (plain.epochs, plain.final_mse)  # the same run
    assert len(fit.snapshots) == len(checkpoints) and not plain.snapshots
    x = np.linspace(-12.0, 12.0, 9)
    for epoch, snapshot in zip(checkpoints[1:4], fit.snapshots[1:4], strict=True):
        stopped = rc.fit_identity("resnet", seed=1, max_epochs=epoch)  # a run of `epoch` epochs
        np.testing.assert_array_equal(snapshot.weights, stopped.model.weights)
        np.testing.assert_array_equal(fit.predict(x, snapshot), stopped.predict(x))
    initial, first = fit.snapshots[:2]
    np.testing.assert_array_equal(initial.biases, 0.0)  # the initialisation: zero biases
    assert not np.array_equal(initial.weights, first.weights)
    # A checkpoint after the run's stop holds the final chain.
    np.testing.assert_array_equal(fit.snapshots[-1].weights, fit.model.weights)
    for bad in ([], [-1], [2.5], [[1, 2]]):
        with pytest.raises(ValueError, match="checkpoints"):
            rc.fit_identity("resnet", seed=1, max_epochs=5, checkpoints=bad)
