"""Regression as a flow (Chen et al., 2018): the maps to learn, as input/target pairs.

A neural ODE maps an input x to the solution at time T of dx/dt = V(x, t; θ) started at
x. Solutions of one ODE cannot cross, so in 1-D the map is increasing and y = −x is out of
reach; a ResNet takes finite jumps and can do it, and so can a neural ODE that is given
extra dimensions to move in (Dupont et al., 2019, "augmented neural ODEs").
"""

from __future__ import annotations

import numpy as np

FLOW_TASKS: dict[str, tuple[int, bool]] = {
    # name: (dimension, can a flow in that dimension map these sample points?)
    "reflection y = −x": (1, False),  # a 1-D flow keeps the order of points
    "cube y = x³": (1, True),
    "rotation by 90°": (2, True),
    # Yes for the samples: each point can move along its own ray (tests check such a field).
    # Dupont et al.'s impossibility holds for the continuous annuli, not for these points.
    "swap the rings (inner ↔ outer)": (2, True),
}
FLOW_TASK_NAMES: tuple[str, ...] = tuple(FLOW_TASKS)


def flow_regression_task(name: str, n_points: int = 16, *, seed: int = 0):
    """Inputs x (n, d) and targets y (n, d) for one of FLOW_TASK_NAMES.

    1-D tasks use evenly spaced x in [−1, 1]; 2-D tasks use points on two rings
    (radius 0.5 and 1.0), alternating, at angles turned by the seed.
    """
    if name not in FLOW_TASKS:
        raise ValueError(f"Unknown task {name!r}; choose one of {', '.join(FLOW_TASK_NAMES)}.")
    if int(n_points) != n_points or not 2 <= n_points <= 64:
        raise ValueError("n_points must be a whole number between 2 and 64.")
    dim, _ = FLOW_TASKS[name]
    if dim == 1:
        x = np.linspace(-1.0, 1.0, n_points)[:, None]
        y = -x if name.startswith("reflection") else x**3
        return x, y
    turn = np.random.default_rng(seed).uniform(0.0, 2.0 * np.pi)
    k = np.arange(n_points)
    angle = turn + 2.0 * np.pi * k / n_points
    radius = np.where(k % 2 == 0, 0.5, 1.0)
    x = np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1)
    if name.startswith("rotation"):
        y = np.stack([-x[:, 1], x[:, 0]], axis=1)
    else:
        swapped = np.where(k % 2 == 0, 1.0, 0.5)
        y = np.stack([swapped * np.cos(angle), swapped * np.sin(angle)], axis=1)
    return x, y
