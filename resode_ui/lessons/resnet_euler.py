"""A ResNet is forward Euler: depth becomes time, and Δt → 0 leads to an ODE."""

from __future__ import annotations

from dataclasses import dataclass

import jax.random as jr
import numpy as np
import pandas as pd
import streamlit as st

import resode_core as rc
from resode_ui import palette, resnet_charts as charts

T_END = 2.0  # the fixed depth in time, T = L·Δt
WIDTH = 2  # a 2-D hidden state, so its path can be drawn
U0 = np.array([1.0, -0.5])  # the input whose layer-by-layer path is drawn over time
PHASE_STARTS = np.array([[1.0, -0.5], [-1.0, 0.5], [0.5, 1.0], [-0.5, -1.0], [0.0, 0.0]])
MAX_LAYERS = rc.ResNet.MAX_DEPTH
# Δt = T/n for n = 4 … 512: powers of two keep Δt and every node t_ℓ exact in float32.
CONVERGENCE_STEPS = 2 ** np.arange(2, 10)
ERROR_FLOOR = 3e-6  # below this the float32 round-off of a solve is no longer negligible
ERROR_CEILING = 0.1  # above this an error is not yet asymptotic
FIXED_STEP_SOLVERS = tuple(name for name in rc.SOLVER_NAMES if name != "dopri8")
ORDER_SOLVERS = ("euler", "midpoint", "bosh3", "rk4")  # the convergence section's default
EXACT = "exact ODE solution"
LAYERS = "ResNet layers x_ℓ"
COARSEST = 2  # the fewest layers the slider allows: its paths stray furthest (fixed axes)


@dataclass(frozen=True)
class ResnetEulerSettings:
    """The page's settings: its widgets (keys `re_<field>`)."""

    layers: int = 8
    solver: str = "rk4"
    seed: int = 4
    compare: bool = False
    a_layers: int = 8
    a_solver: str = "euler"
    b_layers: int = 2
    b_solver: str = "rk4"


PRESETS = {
    "Default settings": ResnetEulerSettings(),
    "Euler vs Tsit5 at Δt = 0.1": ResnetEulerSettings(layers=20, solver="tsit5"),
    "A deep ResNet: 128 layers, Δt = 1/64": ResnetEulerSettings(layers=128),
    "Side by side at equal cost: 8 ResNet layers vs 2 RK4 steps": ResnetEulerSettings(compare=True),
    "Side by side: a ResNet with 4 vs 32 layers": ResnetEulerSettings(
        compare=True, a_layers=4, b_layers=32, b_solver="euler"
    ),
}


# What each preset shows; every fact here is checked in tests/test_lesson_resnet_pages.py.
SHOULD_SEE = {
    "Default settings": "Left chart: the 8 ResNet layers (circles) lie on the Euler solve of "
    "their own field (line); max |ResNet − Euler| is below 10⁻⁵. With Δt = 0.25 both miss the "
    "exact solution at T = 2, while RK4 with the same Δt is more than 1000 times closer.",
    "Euler vs Tsit5 at Δt = 0.1": "With 20 layers (Δt = 0.1) the ResNet's error at T is still "
    "above 0.05, while Tsit5 with the same Δt has an error below 10⁻⁶, down at float32 "
    "round-off.",
    "A deep ResNet: 128 layers, Δt = 1/64": "Sixteen times as many layers as the defaults' 8 "
    "make the ResNet's error at T between 12 and 20 times smaller (first order: about 16), "
    "and its parameters grow from 48 to 768 (section 3).",
    "Side by side at equal cost: 8 ResNet layers vs 2 RK4 steps": "Both sides cost 8 field "
    "evaluations per forward pass, yet RK4's error at T (B) is more than 10 times smaller "
    "than the 8-layer ResNet's (A): at equal cost the higher-order method wins.",
    "Side by side: a ResNet with 4 vs 32 layers": "Eight times as many layers (B) make the "
    "error at T between 6 and 10 times smaller (first order: about 8).",
}

QUESTION_OPTIONS = ("it halves", "it quarters", "it stays about the same")


def method_label(name: str) -> str:
    return charts.EULER_RESNET if name == "euler" else rc.SOLVERS[name].label


def smooth_field(seed: int) -> rc.SmoothLayerField:
    return rc.SmoothLayerField(WIDTH, key=jr.PRNGKey(seed))


@dataclass(frozen=True)
class LayerPaths:
    """U0 (row 0) and PHASE_STARTS pushed through L layers, arrays (starts, points, 2)."""

    layers: int
    solver: str
    t: np.ndarray  # the layers' times ℓ·Δt
    fine_t: np.ndarray  # the exact flow's times
    resnet: np.ndarray  # the ResNet's hidden states
    euler: np.ndarray  # Euler on the ResNet's own (piecewise constant) field
    other: np.ndarray  # the chosen solver on the smooth field, same Δt
    exact: np.ndarray  # the exact flow of the smooth field (float64)
    resnet_vs_euler: float
    resnet_error: float  # at T, against the exact flow
    solver_error: float
    resnet_params: int
    field_params: int

    def path(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(times, paths) of one of resnet, euler, other, exact."""
        return (self.fine_t if name == "exact" else self.t), getattr(self, name)


FINE_T = np.linspace(0.0, T_END, 101)  # the exact flow's times (every depth shares them)


@st.cache_data(show_spinner=False, max_entries=32)
def exact_paths(seed: int) -> np.ndarray:
    """The exact flow of the smooth field from U0 and each of PHASE_STARTS at FINE_T, float64
    (starts, times, 2): it does not depend on the number of layers, so a new L reuses it
    (SciPy's reference solves were most of a new L's time)."""
    field = smooth_field(seed)
    return np.stack([field.exact_flow(start, FINE_T) for start in np.vstack([U0, PHASE_STARTS])])


@st.cache_data(show_spinner=False, max_entries=128)
def layer_paths(layers: int, solver: str, seed: int) -> LayerPaths:
    """The ResNet sampled from the field, its Euler twin, another solver and the exact flow."""
    dt = T_END / layers
    field = smooth_field(seed)
    resnet = rc.resnet_from_field(field, layers, dt)
    starts = np.vstack([U0, PHASE_STARTS])
    t = np.arange(layers + 1) * dt
    euler, other = (
        rc.solve_many(f, starts, t, rc.SolverSettings(name, dt=dt))
        for f, name in ((rc.resnet_vector_field(resnet), "euler"), (field, solver))
    )
    if not (np.all(euler.ok) and np.all(other.ok)):
        raise ValueError("A fixed-step solve gave up or blew up: try more layers (a smaller Δt).")
    fine, exact = FINE_T, exact_paths(seed)
    resnet_paths = rc.hidden_state_paths(resnet, starts)
    return LayerPaths(
        layers=layers,
        solver=solver,
        t=t,
        fine_t=fine,
        resnet=resnet_paths,
        euler=euler.ys,
        other=other.ys,
        exact=exact,
        resnet_vs_euler=float(np.max(np.abs(resnet_paths - euler.ys))),
        resnet_error=float(np.max(np.abs(resnet_paths[:, -1] - exact[:, -1]))),
        solver_error=float(np.max(np.abs(other.ys[:, -1] - exact[:, -1]))),
        resnet_params=rc.param_count(resnet),
        field_params=rc.param_count(field),
    )


def lesson(s: ResnetEulerSettings) -> tuple[LayerPaths, tuple[LayerPaths, ...]]:
    """The single view's paths, and the two compared configurations (none unless compare)."""
    sides = ((s.a_layers, s.a_solver), (s.b_layers, s.b_solver)) if s.compare else ()
    main = layer_paths(s.layers, s.solver, s.seed)
    return main, tuple(layer_paths(layers, solver, s.seed) for layers, solver in sides)


def time_frame(p: LayerPaths, sources: dict[str, str]) -> pd.DataFrame:
    """The path of U0 over time; sources maps a legend label to a path name."""
    return pd.concat(
        [
            pd.DataFrame(
                {"t": t, "value": ys[0, :, c], "component": f"x{'₁₂'[c]}", "source": label}
            )
            for label, name in sources.items()
            for t, ys in [p.path(name)]
            for c in range(WIDTH)
        ],
        ignore_index=True,
    )


def phase_frame(p: LayerPaths, sources: dict[str, str]) -> pd.DataFrame:
    """The paths of PHASE_STARTS in the (x₁, x₂) plane; sources as for `time_frame`."""
    return pd.concat(
        [
            pd.DataFrame({"x1": xy[:, 0], "x2": xy[:, 1], "order": np.arange(len(xy))}).assign(
                start=f"start {i}", source=label
            )
            for i in range(1, len(PHASE_STARTS) + 1)
            for label, name in sources.items()
            for xy in [p.path(name)[1][i]]
        ],
        ignore_index=True,
    )


def source_colors(p: LayerPaths, sources: dict[str, str]) -> tuple[tuple[str, str], ...]:
    """(legend label, colour) per source: ResNet layers blue, a solver its own colour from the
    ordered solver palette (the Euler solve Euler's), the exact solution near-black."""
    by_name = {
        "resnet": palette.RESNET,
        "euler": palette.SOLVER_COLORS["euler"],
        "other": palette.SOLVER_COLORS[p.solver],
        "exact": palette.TRUE,
    }
    return tuple((label, by_name[name]) for label, name in sources.items())


def coarsest_paths(solver: str, seed: int) -> LayerPaths | None:
    """The paths with the fewest layers (the largest Δt), which stray furthest; None if that
    solve fails."""
    try:
        return layer_paths(COARSEST, solver, seed)
    except ValueError:
        return None


def extents(*paths: LayerPaths | None) -> tuple[tuple[float, float], tuple[float, ...]]:
    """Axes that hold every path of `paths` (None skipped), padded: the time chart's value
    range (the path of U0) and the phase plane's (x₀, x₁, y₀, y₁) (the other starts)."""
    shown = [p for p in paths if p is not None]
    paths_of = [
        ys
        for p in shown
        for name in ("resnet", "euler", "other", "exact")
        for ys in [p.path(name)[1]]
    ]
    u0 = np.concatenate([ys[0].ravel() for ys in paths_of])
    plane = np.concatenate([ys[1:].reshape(-1, WIDTH) for ys in paths_of])
    x_range = charts.padded(float(plane[:, 0].min()), float(plane[:, 0].max()))
    y_range = charts.padded(float(plane[:, 1].min()), float(plane[:, 1].max()))
    return charts.padded(float(u0.min()), float(u0.max())), (*x_range, *y_range)


@st.cache_data(show_spinner=False, max_entries=64)
def convergence(solvers: tuple[str, ...], seed: int) -> dict[str, pd.DataFrame]:
    """Error at T against Δt for fixed-step solvers, with the observed orders."""
    field = smooth_field(seed)
    exact = exact_paths(seed)[0, -1]  # from U0, at T
    dts = T_END / CONVERGENCE_STEPS
    rows, orders = [], []
    for name in solvers:
        ends = rc.fixed_step_endpoints(field, U0, T_END, CONVERGENCE_STEPS, solver=name)
        errors = np.max(np.abs(ends - exact), axis=1)
        slope, _, used = rc.convergence_order(dts, errors, floor=ERROR_FLOOR, ceiling=ERROR_CEILING)
        rows.append(
            pd.DataFrame(
                {
                    "dt": dts,
                    "error": errors,
                    "solver": method_label(name),
                    "order": rc.SOLVERS[name].order,
                    "used": used,  # the points of the fitted slope (and its triangle)
                }
            )
        )
        orders.append(
            {
                "solver": method_label(name),
                "theoretical order": rc.SOLVERS[name].order,
                "observed slope": slope,
                "evaluations per step": rc.SOLVERS[name].evaluations_per_step,
                "error at Δt = T/64": float(errors[list(CONVERGENCE_STEPS).index(64)]),
            }
        )
    return {"errors": pd.concat(rows, ignore_index=True), "orders": pd.DataFrame(orders)}


@st.cache_data(show_spinner=False, max_entries=128)
def halving(layers: int, seed: int) -> tuple[float, float]:
    """The ResNet's error at T (the largest over U0 and PHASE_STARTS, as in `layer_paths`)
    with `layers` layers and with twice as many (Δt halved): forward Euler with that many
    steps on the smooth field, which is that ResNet (any depth, even past MAX_LAYERS)."""
    field = smooth_field(seed)
    # As many step counts as the convergence study's: its compiled program, no new one.
    counts = np.full(CONVERGENCE_STEPS.size, 2 * layers)
    counts[0] = layers
    errors = np.zeros(2)
    for start, path in zip(np.vstack([U0, PHASE_STARTS]), exact_paths(seed), strict=True):
        exact = path[-1]
        ends = rc.fixed_step_endpoints(field, start, T_END, counts, solver="euler")
        errors = np.maximum(errors, np.max(np.abs(ends[:2] - exact), axis=1))
    return float(errors[0]), float(errors[1])


def halving_answer(layers: int, seed: int) -> tuple[str, str]:
    """The question's answer (one of QUESTION_OPTIONS) and the sentence that shows it: the
    ResNet's error at T with L layers and with 2L layers over the same T."""
    coarse, fine = halving(layers, seed)
    factor = coarse / fine if fine > 0 else np.inf
    if not (np.isfinite(factor) and factor > 0):
        truth = QUESTION_OPTIONS[2]  # no error reduction to speak of
    else:  # the option whose factor (2, 4 or 1) is nearest on a log scale
        truth = QUESTION_OPTIONS[int(np.argmin(np.abs(np.log2(factor) - np.array([1, 2, 0]))))]
    change = f"{factor:.2f} times smaller" if factor >= 1 else f"{1 / factor:.2f} times larger"
    observed = (
        f"With L = {layers} layers (Δt = {T_END / layers:.4g}) the ResNet's error at T is "
        f"{coarse:.2e}; with {2 * layers} layers (Δt = {T_END / (2 * layers):.4g}) it is "
        f"{fine:.2e}, {change}."
    )
    return truth, observed


def fewer_steps(study: dict[str, pd.DataFrame]) -> str:
    """A sentence: how few steps each higher-order solver of the study needs to beat Euler's
    error at the finest Δt ("" when the study has no Euler or no other solver)."""
    errors = study["errors"]
    euler = errors[errors["solver"] == method_label("euler")]
    if euler.empty:
        return ""
    target, finest = float(euler["error"].iloc[-1]), int(CONVERGENCE_STEPS[-1])
    parts = []
    for solver, rows in errors[errors["solver"] != method_label("euler")].groupby(
        "solver", sort=False
    ):
        below = rows[rows["error"] < target]
        if not below.empty:
            steps = int(round(T_END / below["dt"].max()))
            fewest = " (the fewest tried)" if steps == CONVERGENCE_STEPS[0] else ""
            parts.append(f"{solver} with {steps} steps{fewest}")
    if not parts:
        return ""
    return (
        f"Euler with {finest} steps (a {finest}-layer ResNet) ends with an error of "
        f"{target:.1e} at T. Already below that: " + "; ".join(parts) + "."
    )


def warm_up() -> None:
    """The default view and the default convergence study."""
    _warm(ResnetEulerSettings())
    convergence(ORDER_SOLVERS, ResnetEulerSettings().seed)


def warm_up_more() -> None:
    """One move away: the presets' configurations."""
    for settings in PRESETS.values():
        _warm(settings)


def _warm(settings: ResnetEulerSettings) -> None:
    lesson(settings)
    coarsest_paths(settings.solver, settings.seed)
    halving(settings.layers, settings.seed)
