"""What depth costs: parameter counts, compiled-gradient memory, adjoint agreement."""

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import resode_core as rc
from resode_core import _depth_cost  # the gradients' losses (internal)

WIDTH = 8
# The methods depth_cost measures (its docstring names them).
METHODS = ("resnet", "node_backprop", "node_backsolve")


@pytest.fixture(scope="module")
def costs():
    return {(m, d): rc.depth_cost(m, d, width=WIDTH, batch=16) for m in METHODS for d in (8, 32)}


def test_parameters(costs):
    per_layer = WIDTH * WIDTH + WIDTH
    assert costs[("resnet", 8)]["params"] == 8 * per_layer
    assert costs[("resnet", 32)]["params"] == 32 * per_layer
    for method in ("node_backprop", "node_backsolve"):
        assert costs[(method, 8)]["params"] == costs[(method, 32)]["params"] == 2 * per_layer


def test_memory_grows_with_depth_except_for_the_adjoint(costs):
    def total(method, depth):
        return costs[(method, depth)]["total_bytes"]

    assert total("resnet", 32) > 3 * total("resnet", 8)
    assert total("node_backprop", 32) > total("node_backprop", 8)
    assert total("node_backsolve", 32) == total("node_backsolve", 8)
    # The stored layers are the ResNet's arguments: 4 bytes per float32 parameter.
    assert costs[("resnet", 32)]["argument_bytes"] >= 4 * costs[("resnet", 32)]["params"]


def test_adjoint_gradient_differs_by_order_dt_with_euler(costs):
    def difference(depth):
        bp = costs[("node_backprop", depth)]["gradient"]
        bs = costs[("node_backsolve", depth)]["gradient"]
        return np.linalg.norm(bs - bp) / np.linalg.norm(bp)

    assert difference(32) < difference(8)
    assert 3.0 < difference(8) / difference(32) < 5.0  # 4× the steps, 4× smaller


def test_adaptive_adjoint_agrees_to_the_tolerance():
    loose = rc.adjoint_comparison(1e-3, width=WIDTH, batch=16, repeats=1)
    tight = rc.adjoint_comparison(1e-6, width=WIDTH, batch=16, repeats=1)
    assert tight["relative_difference"] < 1e-4 < loose["relative_difference"] < 1e-1
    assert tight["backprop"]["steps"] > loose["backprop"]["steps"]
    assert tight["backprop"]["loss"] == pytest.approx(tight["backsolve"]["loss"], rel=1e-6)


def test_the_adjoint_drifts_from_backprop_as_the_tolerance_loosens():
    runs = [rc.adjoint_comparison(r, width=WIDTH, batch=16, repeats=1) for r in (1e-2, 1e-4, 1e-7)]
    gradient = [run["relative_difference"] for run in runs]
    drift = [run["backward_drift"] for run in runs]  # x(0) solved to T and back
    assert gradient[0] > gradient[1] > gradient[2] and drift[0] > drift[1] > drift[2]
    assert gradient[0] > 1e-3 and drift[0] > 1e-4  # loose: visibly off
    assert gradient[2] < 1e-6 and drift[2] < 1e-6  # tight: float32 round-off


def _directional_check(loss, params, gradient, direction, eps):
    """(g · d, the central difference of the loss along d): d normalised."""
    leaves = jax.tree_util.tree_leaves(direction)
    norm = np.sqrt(sum(float(jnp.sum(leaf**2)) for leaf in leaves))
    direction = jax.tree_util.tree_map(lambda leaf: leaf / norm, direction)
    pairs = zip(
        jax.tree_util.tree_leaves(gradient), jax.tree_util.tree_leaves(direction), strict=True
    )
    exact = sum(float(jnp.sum(g * d)) for g, d in pairs)

    def shifted(step):
        return float(loss(jax.tree_util.tree_map(lambda p, d: p + step * d, params, direction)))

    return exact, (shifted(eps) - shifted(-eps)) / (2 * eps)


def test_backprop_gradients_match_finite_differences(costs):
    """Backprop differentiates the computed solution: its gradient is that of the loss the
    solver computes, checked along the gradient and along a random direction."""
    field, xs, targets = _depth_cost._problem(WIDTH, 16, 0)
    params, static = eqx.partition(field, eqx.is_inexact_array)
    random = jax.tree_util.tree_map(lambda p: jr.normal(jr.PRNGKey(1), p.shape), params)
    # Adaptive Tsit5 at a tight tolerance (the page's "backprop through Tsit5").
    rtol = (jnp.float32(1e-7), jnp.float32(1e-9))

    def adaptive_loss(p):
        return _depth_cost._adaptive_gradient_stored(
            eqx.combine(p, static), xs, targets, *rtol, False, 4096
        )[0]

    _, _, grads = _depth_cost._adaptive_gradient_stored(field, xs, targets, *rtol, False, 4096)
    grads = eqx.filter(grads, eqx.is_inexact_array)
    for direction in (grads, random):
        exact, estimate = _directional_check(adaptive_loss, params, grads, direction, 1e-2)
        assert estimate == pytest.approx(exact, rel=1e-2)
    # Eight Euler steps (the depth section's neural ODE): depth_cost's flat gradient.
    flat = costs[("node_backprop", 8)]["gradient"]
    shapes = [leaf.shape for leaf in jax.tree_util.tree_leaves(params)]
    pieces = np.split(flat, np.cumsum([int(np.prod(shape)) for shape in shapes])[:-1])
    euler_grads = jax.tree_util.tree_unflatten(
        jax.tree_util.tree_structure(params),
        [jnp.asarray(piece).reshape(shape) for piece, shape in zip(pieces, shapes, strict=True)],
    )

    def euler_loss(p):
        net = eqx.combine(p, static)

        def one(x):
            sol = _depth_cost._node_solve(
                net,
                x,
                1.0,
                solver="euler",
                dt=1.0 / 8,
                max_steps=8,
                adjoint=diffrax.RecursiveCheckpointAdjoint(),
            )
            return sol.ys[-1]

        return jnp.mean(jnp.sum((jax.vmap(one)(xs) - targets) ** 2, axis=-1))

    for direction in (euler_grads, random):
        exact, estimate = _directional_check(euler_loss, params, euler_grads, direction, 1e-2)
        assert estimate == pytest.approx(exact, rel=1e-2)


def test_bad_arguments():
    with pytest.raises(ValueError, match="method"):
        rc.depth_cost("densenet", 8)
    with pytest.raises(ValueError, match="depth"):
        rc.depth_cost("resnet", 0)
    with pytest.raises(ValueError, match="rtol"):
        rc.adjoint_comparison(2.0)
