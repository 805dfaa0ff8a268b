"""What depth costs: parameter counts, compiled-gradient memory, adjoint agreement."""

import numpy as np
import pytest

import resode_core as rc

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


def test_bad_arguments():
    with pytest.raises(ValueError, match="method"):
        rc.depth_cost("densenet", 8)
    with pytest.raises(ValueError, match="depth"):
        rc.depth_cost("resnet", 0)
    with pytest.raises(ValueError, match="rtol"):
        rc.adjoint_comparison(2.0)
