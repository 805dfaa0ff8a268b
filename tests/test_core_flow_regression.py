"""Regression as a flow: tasks, the small ResNet, and what a 1-D flow cannot do."""

import jax.numpy as jnp
import jax.random as jr
import numpy as np
import optax
import pytest

import resode_core as rc


def test_tasks():
    x, y = rc.flow_regression_task("reflection y = −x", 9)
    np.testing.assert_allclose(y, -x)
    assert x.shape == (9, 1) and x.min() == -1.0 and x.max() == 1.0
    x, y = rc.flow_regression_task("rotation by 90°", 8, seed=3)
    np.testing.assert_allclose(np.hypot(*y.T), np.hypot(*x.T))
    np.testing.assert_allclose(np.sum(x * y, axis=1), 0.0, atol=1e-12)  # perpendicular
    x, y = rc.flow_regression_task("swap the rings (inner ↔ outer)", 8)
    np.testing.assert_allclose(np.hypot(*x.T) + np.hypot(*y.T), 1.5)
    assert len(rc.FLOW_TASKS) == 4
    for name in tuple(rc.FLOW_TASKS):
        dim, _ = rc.FLOW_TASKS[name]
        assert rc.flow_regression_task(name, 6)[0].shape == (6, dim)
    with pytest.raises(ValueError, match="Unknown task"):
        rc.flow_regression_task("nope", 8)
    with pytest.raises(ValueError, match="n_points"):
        rc.flow_regression_task("cube y = x³", 1)


def test_tiny_resnet_starts_near_identity_and_records_blocks():
    net = rc.TinyResNet(2, 16, 4, key=jr.PRNGKey(0))
    xs = np.array([[0.3, -0.5], [1.0, 0.2]])
    states = net.block_states(xs)
    assert states.shape == (2, 5, 2)
    np.testing.assert_allclose(states[:, 0], xs, atol=1e-7)
    assert np.max(np.abs(states[:, -1] - xs)) < 0.5
    np.testing.assert_allclose(np.asarray(net(xs[0].astype(np.float32))), states[0, -1], atol=1e-6)
    assert net.num_params == 4 * (16 * 2 + 16 + 2 * 16 + 2)


def test_tiny_resnet_block_count_is_a_runtime_value(compile_counter):
    xs = np.array([[0.3], [-0.7]])
    x, y = rc.flow_regression_task("cube y = x³", 8)
    net = rc.TinyResNet(1, 16, 2, key=jr.PRNGKey(1))
    net.block_states(xs)
    rc.train_deep_net(net, x.astype(np.float32), y.astype(np.float32), epochs=5)
    compile_counter.count = 0
    deeper = rc.TinyResNet(1, 16, 5, key=jr.PRNGKey(1))
    states = deeper.block_states(xs)
    rc.train_deep_net(deeper, x.astype(np.float32), y.astype(np.float32), epochs=5)
    assert compile_counter.count == 0
    assert states.shape == (2, 6, 1)
    # The first two blocks are the same weights in both nets.
    np.testing.assert_allclose(states[:, :3], net.block_states(xs), atol=1e-6)
    assert rc.TinyResNet.MAX_BLOCKS == 8
    with pytest.raises(ValueError, match="blocks"):
        rc.TinyResNet(1, 16, rc.TinyResNet.MAX_BLOCKS + 1, key=jr.PRNGKey(1))


def test_resnet_fits_the_reflection():
    x, y = rc.flow_regression_task("reflection y = −x", 16)
    net = rc.TinyResNet(1, 16, 3, key=jr.PRNGKey(0))
    net, losses = rc.train_deep_net(
        net, x.astype(np.float32), y.astype(np.float32), epochs=1000, learning_rate=0.01
    )
    assert losses[-1] < 0.01


FLOW_SETTINGS = rc.SolverSettings("tsit5", rtol=1e-4, atol=1e-6)  # the flow page's solves


def _augment(x, extra):
    """x with `extra` zero coordinates appended (an augmented neural ODE's state)."""
    return np.concatenate([x, np.zeros((x.shape[0], extra))], axis=1)


def _flow_data(x, y, *, extra=0, t_end=1.0):
    """Each input x → target y as a two-sample trajectory on [0, T]; extra dims unscored."""
    mask = np.concatenate([np.ones(x.shape[1]), np.zeros(extra)])
    pairs = np.stack([_augment(x, extra), _augment(y, extra)], axis=1)
    return rc.trajectory_data([0.0, t_end], pairs, dim_mask=mask)


def test_flow_data_masks_the_extra_dimensions():
    x, y = rc.flow_regression_task("reflection y = −x", 5)
    data = _flow_data(x, y, t_end=2.0, extra=2)
    assert data.num_trajectories == 5 and data.num_samples == 2
    np.testing.assert_array_equal(np.asarray(data.dim_mask), [1.0, 0.0, 0.0])
    np.testing.assert_allclose(np.asarray(data.ys[:5, 0, 0]), x[:, 0])
    np.testing.assert_allclose(np.asarray(data.ys[:5, 1, 0]), y[:, 0])
    np.testing.assert_array_equal(np.asarray(data.ys[:5, :2, 1:]), 0.0)
    assert float(data.ts[1]) == 2.0
    # A mask that does not have one entry per state is refused.
    pairs = np.stack([_augment(x, 2), _augment(y, 2)], axis=1)
    with pytest.raises(ValueError, match="dim_mask"):
        rc.trajectory_data([0.0, 1.0], pairs, dim_mask=[1.0, 0.0])


def test_a_1d_flow_keeps_the_order_and_augmentation_escapes():
    x, y = rc.flow_regression_task("reflection y = −x", 16)
    ts = np.linspace(0.0, 1.0, 21)
    results = {}
    for extra in (0, 1):
        # The flow page's field: no cube on the input, time as an extra input.
        model = rc.MLPVectorField(
            1 + extra, 32, key=jr.PRNGKey(0), cube_input=False, time_input=True
        )
        rate = optax.exponential_decay(init_value=0.02, transition_steps=400, decay_rate=0.1)
        fit = rc.fit_ode(
            _flow_data(x, y, extra=extra), FLOW_SETTINGS, epochs=400, learning_rate=rate,
            model=model,
        )  # fmt: skip
        assert not fit.diverged
        paths = rc.solve_many(fit.model, _augment(x, extra), ts, FLOW_SETTINGS).ys
        results[extra] = (paths, np.mean((paths[:, -1, 0] - y[:, 0]) ** 2))
    paths, mse = results[0]
    # Solutions of a 1-D ODE never cross: the points keep their order at every time.
    assert np.all(np.diff(paths[:, :, 0], axis=0) > 0)
    assert mse > 0.3  # the best increasing map is the constant 0, with MSE = mean(x²) ≈ 0.38
    paths, mse = results[1]
    assert mse < 0.01
    assert np.any(np.diff(paths[:, -1, 0]) < 0)  # the order flipped, via the extra coordinate


@pytest.mark.parametrize("n_points", [8, 16])
def test_a_2d_flow_can_swap_the_sampled_rings(n_points):
    """The sampled rings are not Dupont et al.'s continuous annuli: a 2-D field that moves
    each point along its own ray, inner ones out and outer ones in, swaps them."""
    import math

    x, y = rc.flow_regression_task("swap the rings (inner ↔ outer)", n_points, seed=2)
    turn = math.atan2(x[0, 1], x[0, 0])  # point 0 is on the inner ring

    def along_rays(t, u, args):
        r = jnp.sqrt(jnp.sum(u**2))
        angle = jnp.arctan2(u[1], u[0])
        # +1/2 at the inner points' angles, −1/2 at the outer ones': radius 0.5 <-> 1 in t = 1.
        return 0.5 * jnp.cos(n_points / 2 * (angle - turn)) * u / r

    assert rc.FLOW_TASKS["swap the rings (inner ↔ outer)"] == (2, True)
    for start, target in zip(x, y, strict=True):
        end = rc.simulate(along_rays, start, [0.0, 1.0]).ys[-1]
        np.testing.assert_allclose(end, target, atol=1e-5)


@pytest.mark.parametrize("name", ["cube y = x³", "rotation by 90°"])
def test_straight_paths_to_the_targets_never_meet(name):
    """The flow page's reason why a flow can map these samples: moved along the straight line
    from each input to its target, no two points are ever at the same place at once (so a
    field that carries each point along its line exists). For y = −x the lines do meet."""
    x, y = rc.flow_regression_task(name, 16, seed=3)
    for t in np.linspace(0.0, 1.0, 101):
        at_t = (1 - t) * x + t * y
        gaps = np.linalg.norm(at_t[:, None] - at_t[None], axis=-1) + np.eye(len(x))
        assert gaps.min() > 1e-4, (name, t)
    assert rc.FLOW_TASKS[name][1]
    x, y = rc.flow_regression_task("reflection y = −x", 16)
    assert np.min(np.abs(0.5 * x + 0.5 * y)) == 0.0  # at t = 1/2 every point is at 0
