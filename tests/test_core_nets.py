"""Nets: ResNet = forward Euler, gradients against finite differences, the identity vs null map."""

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import resode_core as rc


@pytest.mark.parametrize("seed", range(5))
def test_resnet_equals_euler_solve_of_its_vector_field(seed):
    rng = np.random.default_rng(seed)
    depth, width = int(rng.integers(1, 30)), int(rng.integers(1, 6))
    dt = float(rng.uniform(0.01, 1.0))
    net = rc.ResNet(depth, width, dt, key=jr.PRNGKey(seed), max_depth=32)
    x0 = rng.normal(size=width)
    result = rc.simulate(rc.resnet_vector_field(net), x0, [0.0, depth * dt], solver="euler", dt=dt)
    assert result.ok
    assert int(result.num_steps) == depth
    np.testing.assert_allclose(
        result.ys[-1], net(jnp.asarray(x0, jnp.float32)), rtol=1e-5, atol=1e-5
    )


def test_resnet_from_field_takes_the_frozen_field_as_its_layers():
    field = rc.SmoothLayerField(3, key=jr.PRNGKey(4), scale=0.5)
    net = rc.resnet_from_field(field, 5, 0.2, max_depth=8)
    assert net.weights.shape == (8, 3, 3) and int(net.depth) == 5
    for layer in range(8):  # every stacked layer, active or not, is the field at ℓΔt
        weights, biases = field.layer(layer * 0.2)
        np.testing.assert_allclose(net.weights[layer], weights, rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(net.biases[layer], biases, rtol=1e-6, atol=1e-6)
    with pytest.raises(ValueError, match="exceeds max_depth"):
        rc.ResNet(9, 3, 0.2, layers=(net.weights, net.biases))
    with pytest.raises(ValueError, match="needs a key"):
        rc.ResNet(5, 3, 0.2)


def test_hidden_states_are_the_euler_trajectory():
    net = rc.ResNet(6, 2, 0.25, key=jr.PRNGKey(1), max_depth=16)
    x0 = jnp.array([0.5, -1.0])
    states = net.hidden_states(x0)
    ts = np.arange(7) * 0.25
    result = rc.simulate(rc.resnet_vector_field(net), x0, ts, solver="euler", dt=0.25)
    np.testing.assert_allclose(states[:7], result.ys, atol=1e-5)
    np.testing.assert_allclose(states[-1], states[6])  # masked layers keep the state


def _layer_loss(net, weights, biases, x, y):
    """The loss layer_grad_norms differentiates: the MSE over the batch, for these layers."""
    import equinox as eqx

    model = eqx.tree_at(lambda n: (n.weights, n.biases), net, (weights, biases))
    return jnp.mean((jax.vmap(model)(x) - y) ** 2)


@pytest.mark.parametrize("architecture", ["plain", "resnet"])
def test_layer_grad_norms_match_finite_differences(architecture):
    with jax.enable_x64(True):
        key = jr.PRNGKey(3)
        make = rc.PlainNet if architecture == "plain" else rc.ResNet
        net = make(4, 3, key=key, max_depth=6)
        x = jr.normal(jr.PRNGKey(4), (5, 3))
        y = jnp.sin(x)
        norms = rc.layer_grad_norms(net, x, y)
        assert norms.shape == (4,)
        eps = 1e-6
        w, b = np.asarray(net.weights), np.asarray(net.biases)
        fd = np.zeros_like(w), np.zeros_like(b)
        for array, grad in zip((w, b), fd, strict=True):
            for index in np.ndindex(array.shape):
                plus, minus = array.copy(), array.copy()
                plus[index] += eps
                minus[index] -= eps
                args = (plus, b) if array is w else (w, plus)
                args_minus = (minus, b) if array is w else (w, minus)
                grad[index] = (
                    _layer_loss(net, *args, x, y) - _layer_loss(net, *args_minus, x, y)
                ) / (2 * eps)
        expected = np.sqrt((fd[0] ** 2).sum(axis=(1, 2)) + (fd[1] ** 2).sum(axis=1))
        np.testing.assert_allclose(norms, expected[:4], rtol=1e-6)
        assert np.all(expected[4:] == 0)  # masked layers get no gradient


def test_deep_plain_net_gradients_vanish_but_resnet_gradients_do_not():
    x, y = rc.regression_task(16, 32, seed=0)
    plain = rc.PlainNet(50, 16, key=jr.PRNGKey(0), activation="sigmoid")
    resnet = rc.ResNet(50, 16, 1.0, key=jr.PRNGKey(0), activation="sigmoid")
    plain_norms = rc.layer_grad_norms(plain, x, y)
    resnet_norms = rc.layer_grad_norms(resnet, x, y)
    assert plain_norms[0] / plain_norms[-1] < 1e-10
    assert resnet_norms[0] / resnet_norms[-1] > 1e-2
    assert resnet_norms[0] > 1e6 * plain_norms[0]


def test_small_weights_give_identity_for_resnet_and_constant_for_plain():
    plain = rc.PlainNet(10, 4, key=jr.PRNGKey(0))
    resnet = rc.ResNet(10, 4, key=jr.PRNGKey(0))
    xs = np.asarray(jr.normal(jr.PRNGKey(1), (8, 4)))
    # Every weight and bias multiplied by 1e-4.
    plain_out = rc.shrunk_outputs(plain, xs, [1e-4])[0]
    resnet_out = rc.shrunk_outputs(resnet, xs, [1e-4])[0]
    np.testing.assert_allclose(resnet_out, xs, atol=1e-3)  # the identity map
    assert float(np.max(np.abs(plain_out))) < 1e-3  # tanh(0) = 0: the null map
    # Unshrunk, neither is close to those maps.
    assert np.max(np.abs(rc.shrunk_outputs(resnet, xs, [1.0])[0] - xs)) > 0.1
    assert np.max(np.abs(rc.shrunk_outputs(plain, xs, [1.0])[0])) > 0.1


def test_depth_is_a_runtime_value(compile_counter):
    from resode_core._nets import with_depth  # the depth slider's helper (internal)

    x, y = rc.regression_task(8, 16, seed=0)
    net = rc.ResNet(5, 8, 0.5, key=jr.PRNGKey(0))
    rc.layer_grad_norms(net, x, y)
    rc.train_deep_net(net, x, y, epochs=3, learning_rate=1e-3)
    compile_counter.count = 0
    for depth, dt, seed in ((40, 0.1, 1), (100, 0.01, 2)):
        other = rc.ResNet(depth, 8, dt, key=jr.PRNGKey(seed))
        rc.layer_grad_norms(other, x, y)
        rc.train_deep_net(other, x, y, epochs=7, learning_rate=3e-3)
        shallower = with_depth(other, 3)
        assert int(shallower.depth) == 3 and rc.param_count(shallower) == 3 * (64 + 8)
    assert compile_counter.count == 0
    assert rc.ResNet.MAX_DEPTH == rc.PlainNet.MAX_DEPTH == 128
    assert other.weights.shape[0] == rc.ResNet.MAX_DEPTH  # layers stacked up to MAX_DEPTH


def test_param_counts():
    assert rc.param_count(rc.ResNet(7, 5, key=jr.PRNGKey(0))) == 7 * (25 + 5)
    field = rc.MLPVectorField(2, 50, key=jr.PRNGKey(0))
    assert rc.param_count(field) == 2 * 50 + 50 + 50 * 2 + 2


def test_param_count_of_a_tiny_resnet_counts_the_active_blocks():
    net = rc.TinyResNet(1, 16, 2, key=jr.PRNGKey(0))
    assert net.num_params == 2 * (16 + 16 + 16 + 1)
    assert rc.param_count(net) == net.num_params


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: rc.ResNet(0, 3, key=jr.PRNGKey(0)), "depth"),
        (lambda: rc.ResNet(3, 3, 0.0, key=jr.PRNGKey(0)), "Δt"),
        (lambda: rc.PlainNet(3, 0, key=jr.PRNGKey(0)), "width"),
        (lambda: rc.PlainNet(3, 3, key=jr.PRNGKey(0), activation="cosh"), "activation"),
        (lambda: rc.PlainNet(3, 3, key=jr.PRNGKey(0), init_scale=float("nan")), "init_scale"),
    ],
)
def test_bad_net_arguments_raise(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_layer_grad_norms_rejects_bad_shapes_and_nan():
    net = rc.ResNet(3, 4, key=jr.PRNGKey(0))
    with pytest.raises(ValueError, match="shape"):
        rc.layer_grad_norms(net, np.zeros((5, 3)), np.zeros((5, 3)))
    with pytest.raises(ValueError, match="finite"):
        rc.layer_grad_norms(net, np.full((5, 4), np.nan), np.zeros((5, 4)))


@pytest.mark.parametrize("init_scale", [1.0, 0.8])
def test_tiny_gradients_have_nonzero_norms(init_scale):
    """Sigmoid at depth 50: first-layer entries near 1e-33 are far from float32's underflow,
    though their squares are not. A layer's norm is 0 only where every entry is 0."""
    import equinox as eqx

    x, y = rc.regression_task(16, 32, seed=0)
    plain = rc.PlainNet(50, 16, key=jr.PRNGKey(0), activation="sigmoid", init_scale=init_scale)

    def loss(weights, biases):
        net = eqx.tree_at(lambda n: (n.weights, n.biases), plain, (weights, biases))
        return jnp.mean((jax.vmap(net)(jnp.asarray(x)) - jnp.asarray(y)) ** 2)

    dw, db = jax.grad(loss, argnums=(0, 1))(plain.weights, plain.biases)
    entries = np.concatenate([np.asarray(dw).reshape(dw.shape[0], -1), np.asarray(db)], axis=1)
    exact = np.sqrt(np.sum(entries[:50].astype(np.float64) ** 2, axis=1))
    norms = rc.layer_grad_norms(plain, x, y)
    assert np.all(np.isfinite(norms))
    nonzero = exact > 0
    assert np.sum(exact < 1e-19) >= 10  # squares of these would underflow float32
    np.testing.assert_array_equal(norms > 0, nonzero)
    np.testing.assert_allclose(norms[nonzero], exact[nonzero], rtol=1e-5)
