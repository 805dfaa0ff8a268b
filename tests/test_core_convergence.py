"""Convergence: float64 references, fixed steps that join up, orders above the float32 floor."""

import equinox as eqx
import jax.numpy as jnp
import numpy as np
import pytest

import resode_core as rc


class Constant(eqx.Module):
    """du/dt = 1: every consistent method integrates it exactly, u(T) = u(0) + T."""

    def __call__(self, t, u, args):
        return jnp.ones_like(u)


def test_reference_endpoints():
    linear = rc.linear_system(t_span=(0.0, 10.0))
    np.testing.assert_allclose(linear.reference([0.0, 10.0])[-1], linear.exact(10.0))
    # Lotka–Volterra conserves H = δx − γ ln x + βy − α ln y: the reference keeps it to 1e-10.
    lv = rc.lotka_volterra_system()
    end = lv.reference([0.0, 10.0])[-1]

    def h(u):
        return 1.0 * u[0] - 3.0 * np.log(u[0]) + 1.0 * u[1] - 1.5 * np.log(u[1])

    assert abs(h(end) - h(np.array([1.0, 1.0]))) < 1e-10
    spiral = rc.spiral_system()
    reference = spiral.reference([0.0, 1.5])
    assert reference.dtype == np.float64 and reference.shape == (2, 2)
    np.testing.assert_allclose(reference[0], [2.0, 0.0])  # it starts at u0
    float32 = np.asarray(rc.simulate(spiral, spiral.u0, [0.0, 1.5]).ys[-1])
    np.testing.assert_allclose(reference[-1], float32, atol=2e-5)


def test_fixed_steps_join_up_for_any_step_count():
    # With Δt = T/n not a power of two, the steps must still cover exactly [0, T].
    for solver in ("euler", "rk4"):
        ends = rc.fixed_step_endpoints(Constant(), [0.0], 1.5, [4096, 6502, 10321], solver=solver)
        np.testing.assert_allclose(ends[:, 0], 1.5, atol=2e-6)


def test_convergence_order_skips_the_floor_and_the_pre_asymptotic_range():
    dt = 2.0 ** -np.arange(0, 14)
    errors = np.maximum(3.0 * dt**2, 1e-6)  # order 2 until the float32 floor
    errors[0] = 5.0  # a blown-up coarse step, above the ceiling
    slope, intercept, used = rc.convergence_order(dt, errors)
    assert slope == pytest.approx(2.0, abs=1e-9)
    assert intercept == pytest.approx(np.log(3.0), abs=1e-9)
    assert not used[0] and not used[-1]
    # A stall above the floor (round-off accumulating with n) ends the fit too.
    stalled = 3.0 * dt**2
    stalled[7:] = 8e-4  # stops shrinking after dt[6] (error 7.3e-4)
    slope, _, used = rc.convergence_order(dt, stalled)
    assert slope == pytest.approx(2.0, abs=1e-9)
    assert used.tolist() == [False] * 3 + [True] * 4 + [False] * 7  # 0.047 … 7.3e-4
    assert np.isnan(rc.convergence_order(dt[:1], errors[:1])[0])
    with pytest.raises(ValueError, match="same length"):
        rc.convergence_order(dt, errors[:-1])
