"""Solvers and Δt: measured convergence orders, accuracy against work, the cost of one solve."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import streamlit as st

import resode_core as rc
from resode_ui import ode_charts, training

LINEAR = "Linear test system (exact solution)"
SPIRAL = "Spiral (the notes' test equation)"
LOTKA = "Lotka–Volterra"
SYSTEMS = {
    LINEAR: rc.linear_system(t_span=(0.0, 10.0)),
    SPIRAL: rc.spiral_system(),
    LOTKA: rc.lotka_volterra_system(),
}
FIXED, ADAPTIVE = "fixed", "adaptive"  # the two studies
LABELS = {FIXED: "Fixed-step solves", ADAPTIVE: "Adaptive solves"}
ATOL_RATIO = 1e-2  # adaptive solves use atol = ATOL_RATIO · rtol
FLOOR = 1e-6  # float32: where the errors of these O(1) systems stop shrinking
FIT_FLOOR, FIT_CEILING = 10 * FLOOR, 0.1  # slopes are fitted between these errors
COST_STEPS = (16, 32, 64, 100, 128, 256, 512, 1024)  # 100: Δt = 0.1 for T = 10
COST_RTOLS = (1e-3, 1e-4, 1e-5, 1e-6, 1e-7)
TARGETS = (1e-2, 1e-3, 1e-4, 1e-5)


def step_count_grid(n_min: int = 2, n_max: int = 4096, per_doubling: int = 3) -> np.ndarray:
    """Step counts spaced evenly in log scale: per_doubling of them per factor of two."""
    if not 1 <= n_min < n_max:
        raise ValueError("Need 1 ≤ n_min < n_max.")
    k = np.arange(0, per_doubling * np.log2(n_max / n_min) + 1)
    return np.unique(np.round(n_min * 2.0 ** (k / per_doubling)).astype(int))


STEP_COUNTS = step_count_grid(2, 16384, per_doubling=4)
RTOLS = tuple(float(10.0**-k) for k in np.arange(2.0, 8.01, 0.5))


@dataclass(frozen=True)
class SolversSettings:
    """The page's widgets (keys `sv_<field>`)."""

    system: str = LINEAR
    solvers: tuple[str, ...] = rc.SOLVER_NAMES
    target: float = 1e-4  # accuracy target of the evaluations bar chart
    steps: int = 64  # the cost table's fixed steps n (Δt = T/n)
    rtol: float = 1e-6  # the cost table's adaptive tolerance


SPIRAL_PRESET = "The spiral: too large a Δt blows up, and Euler needs the smallest Δt"
PRESETS = {
    "Default settings": SolversSettings(),
    "Euler vs Tsit5 at Δt = 0.1 (100 steps on the linear system)": SolversSettings(
        solvers=("euler", "tsit5"), steps=100
    ),
    "Orders 1, 2 and 4: Euler, Heun and RK4": SolversSettings(solvers=("euler", "heun", "rk4")),
    SPIRAL_PRESET: SolversSettings(system=SPIRAL, solvers=("euler", "heun", "rk4", "tsit5")),
    "Adaptive solvers on Lotka–Volterra: accuracy against work": SolversSettings(
        system=LOTKA, solvers=("bosh3", "tsit5", "dopri5", "dopri8"), rtol=1e-4
    ),
}


SHOULD_SEE = {
    "Default settings": "The order table: the fitted slopes of Euler, Heun, Midpoint, Ralston, "
    "Bogacki–Shampine and RK4 are within 0.25 of their orders 1, 2, 2, 2, 3 and 4. Tsitouras, "
    "Dormand–Prince and Prince–Dormand reach the float32 floor within a few step counts, so "
    "each of their slopes rests on fewer points than any of the other six.",
    "Euler vs Tsit5 at Δt = 0.1 (100 steps on the linear system)": "The cost table's rows "
    "with fixed Δt = 0.1: both methods take 100 steps, Tsit5 makes 6 evaluations a step to "
    "Euler's 1, and its error at T is more than a thousand times smaller.",
    "Orders 1, 2 and 4: Euler, Heun and RK4": "Three straight lines with fitted slopes within "
    "0.2 of 1, 2 and 4. From 256 to 512 steps Euler's error halves and Heun's falls 4 times "
    "(each within 10 %); RK4's falls 10 to 25 times (2⁴ = 16) from 32 to 64 steps, before it "
    "reaches the float32 floor.",
    SPIRAL_PRESET: "Every method has missing points among the largest steps (its solution "
    "blew up), and Euler needs more than four times as many steps as any of the others before "
    "its errors stay finite: the sentence under the order table gives each method's count.",
    "Adaptive solvers on Lotka–Volterra: accuracy against work": "The adaptive chart: to bring "
    "the error at T below 10⁻⁴, Bogacki–Shampine (order 3) needs more than twice the "
    "evaluations of each higher-order method. In the cost table, the adaptive runs of "
    "Bogacki–Shampine, Tsitouras and Dormand–Prince 5(4) at rtol = 10⁻⁴ end with errors at T "
    "more than five times rtol: rtol bounds the estimated error of each step, not the error "
    "accumulated by T.",
}

# The prediction question: the slope of one method (RK4 when it is chosen) on the chart.
QUESTION_OPTIONS = ("1", "2", "3", "4", "5", "8")


def short_label(name: str) -> str:
    """A method's name without its order: 'Classical RK4', 'Tsitouras 5(4)'."""
    return rc.SOLVERS[name].label.split(" (order")[0]


def question_subject(chosen: tuple[str, ...]) -> str:
    """The method the question asks about: RK4 if it is among the chosen ones, else the first."""
    return "rk4" if "rk4" in chosen else chosen[0]


def slope_answer(fixed: Study, name: str) -> tuple[str, str] | None:
    """(the option nearest the fitted slope of `name`, the sentence stating it); None when
    too few points could be fitted."""
    row = fixed.slopes.set_index("solver").loc[name]
    slope, points = float(row["slope"]), int(row["points"])
    if not np.isfinite(slope):
        return None
    truth = min(QUESTION_OPTIONS, key=lambda option: abs(float(option) - slope))
    order = rc.SOLVERS[name].order
    observed = (
        f"On this chart the fitted slope for {short_label(name)} is {slope:.2f} (from {points} "
        f"points): each halving of Δt divides its error by about {2.0**slope:.3g}."
    )
    if abs(slope - order) > 0.3:
        observed += (
            f" Its order is {order}: over the stretch fitted here its errors fall "
            f"{'faster' if slope > order else 'more slowly'} than that (the text under the "
            "table says why a fit can differ from the order)."
        )
    return truth, observed


def fixed_evaluations(name: str, steps) -> np.ndarray:
    """Right-hand-side evaluations of fixed-step solves of `steps` steps, counted as the core
    counts a solve (`SolveResult.num_evaluations`): the new stages of each step, plus the
    very first stage for a method that reuses its last stage (FSAL)."""
    return rc.SOLVERS[name].evaluations(np.asarray(steps))


def stable_from(fixed: Study) -> pd.Series:
    """Per solver: the fewest steps n from which every finer solve in the study stayed finite
    (0 when no solve blew up)."""
    counts = {}
    for name, group in fixed.points.groupby("solver", sort=False):
        blew_up = group.loc[group["error"].isna() & ~group["ok"], "steps"]
        larger = group.loc[group["steps"] > blew_up.max(), "steps"] if len(blew_up) else None
        counts[name] = 0 if larger is None else int(larger.min())
    return pd.Series(counts, name="stable from n", dtype=int)


def blow_up_sentence(fixed: Study, t_end: float) -> str | None:
    """Which step counts each solver needs before its solves stop blowing up (None: none did)."""
    needed = stable_from(fixed)
    needed = needed[needed > 0]
    if needed.empty:
        return None
    parts = [
        f"{short_label(name)} n = {n} (Δt ≤ {t_end / n:.3g})"
        for name, n in needed.sort_values(ascending=False).items()
    ]
    return (
        "Missing points are solves that blew up. From these step counts on, every solve "
        "stayed finite: " + ", ".join(parts) + "."
    )


def order_sentence(fixed: Study) -> str:
    """How the fitted slopes compare with the orders: within 0.3, steeper, shallower, too few
    points to say (fewer than 4)."""
    groups: dict[str, list[str]] = {"match": [], "steeper": [], "shallower": [], "few": []}
    for row in fixed.slopes.itertuples():
        info = rc.SOLVERS[row.solver]
        short = short_label(row.solver)
        if row.points < 4 or not np.isfinite(row.slope):
            groups["few"].append(short)
        elif abs(row.slope - info.order) <= 0.3:
            groups["match"].append(short)
        else:
            side = "steeper" if row.slope > info.order else "shallower"
            groups[side].append(f"{short} ({row.slope:.2f} for order {info.order})")
    heads = {
        "match": "Within 0.3 of the theory",
        "steeper": "Steeper than the theory",
        "shallower": "Less steep than the theory",
        "few": "Fitted on fewer than 4 points, too few to judge",
    }
    return " ".join(f"{heads[k]}: {', '.join(v)}." for k, v in groups.items() if v)


def step_limit_sentence(adaptive: Study) -> str:
    """Which solvers hit the step limit, and from which rtol down."""
    failed = adaptive.points[~adaptive.points["ok"]]
    if failed.empty:
        return "None of the chosen solvers hit it here."
    loosest = failed.groupby("solver", sort=False)["rtol"].max()
    return (
        "Here: "
        + ", ".join(f"{short_label(name)} at rtol ≤ {rtol:.1g}" for name, rtol in loosest.items())
        + "."
    )


def adaptive(solver: str, rtol: float) -> rc.SolverSettings:
    return rc.SolverSettings(solver, rtol=float(rtol), atol=float(rtol) * ATOL_RATIO)


@st.cache_data(show_spinner=False, max_entries=8)
def reference_endpoint(system: str) -> np.ndarray:
    """u(T) in float64 (the closed form on the linear system, DOP853 at 1e-13 otherwise)."""
    return SYSTEMS[system].reference(SYSTEMS[system].t_span)[-1]


def end_errors(system: str, ends, ok) -> np.ndarray:
    """Max-norm error of each end state against the reference u(T) (NaN where not ok)."""
    with np.errstate(invalid="ignore", over="ignore"):
        errors = np.max(np.abs(np.asarray(ends, np.float64) - reference_endpoint(system)), axis=-1)
    return np.where(np.asarray(ok) & np.isfinite(errors), errors, np.nan)


def solve(system: str, settings: rc.SolverSettings):
    """One solve of the system over [0, T] (saved at 0 and T)."""
    problem = SYSTEMS[system]
    return rc.simulate(problem, problem.u0, problem.t_span, **dataclasses.asdict(settings))


@st.cache_data(show_spinner=False, max_entries=256)
def study(system: str, solver: str, kind: str) -> pd.DataFrame:
    """One solver's error at T as its work grows: n = 2 … 16384 equal steps (FIXED, one
    compiled, vmapped call) or adaptive steps at each of RTOLS (ADAPTIVE, a solve each).

    Columns: solver, steps, dt (FIXED) or rtol (ADAPTIVE), evaluations, ok, error.
    """
    problem = SYSTEMS[system]
    if kind == FIXED:
        t_end = problem.t_span[1]
        ends = rc.fixed_step_endpoints(problem, problem.u0, t_end, STEP_COUNTS, solver=solver)
        work = {"steps": STEP_COUNTS, "dt": t_end / STEP_COUNTS}
        work["evaluations"] = fixed_evaluations(solver, STEP_COUNTS)
        ok = np.all(np.isfinite(ends), axis=1)
    else:
        runs = [solve(system, adaptive(solver, rtol)) for rtol in RTOLS]
        ends, ok = [run.ys[-1] for run in runs], [run.ok for run in runs]
        work = {
            "steps": [int(run.num_steps) for run in runs],
            "rtol": RTOLS,
            "evaluations": [int(run.num_evaluations) for run in runs],
        }
    return pd.DataFrame({"solver": solver, **work, "ok": ok, "error": end_errors(system, ends, ok)})


@dataclass(frozen=True)
class Study:
    """Every chosen solver's errors (long format) and the orders fitted to them."""

    points: pd.DataFrame  # study() rows of each solver
    slopes: pd.DataFrame  # solver, slope, points (how many the fit used)
    lines: pd.DataFrame | None  # solver, x, error: each fitted line over the points it used
    x: str  # "dt" (FIXED: error ∝ Δt^p) or "evaluations" (ADAPTIVE: error ∝ evaluations^(−q))


def fitted(frames: list[pd.DataFrame], kind: str) -> Study:
    """The slope of log(error) against log(Δt), or against log(1/evaluations), per solver."""
    x = "dt" if kind == FIXED else "evaluations"
    empty = pd.DataFrame(columns=["solver", x, "ok", "error"])
    points = pd.concat(frames, ignore_index=True) if frames else empty
    slopes, lines = [], []
    for name, group in points.groupby("solver", sort=False):
        xs, errors = group[x].to_numpy(dtype=float), group["error"].to_numpy(dtype=float)
        fit_x = xs if kind == FIXED else 1.0 / xs  # the coarsest point has the largest fit_x
        slope, intercept, used = rc.convergence_order(
            fit_x, errors, floor=FIT_FLOOR, ceiling=FIT_CEILING, monotone=kind == FIXED
        )
        slopes.append({"solver": name, "slope": slope, "points": int(used.sum())})
        if used.sum() >= 2:
            span = np.array([fit_x[used].min(), fit_x[used].max()])
            line_x = span if kind == FIXED else 1.0 / span
            lines.append(
                pd.DataFrame({"solver": name, x: line_x, "error": np.exp(intercept) * span**slope})
            )
    table = pd.DataFrame(slopes, columns=["solver", "slope", "points"])
    return Study(points, table, pd.concat(lines, ignore_index=True) if lines else None, x)


@dataclass(frozen=True)
class SolversResult:
    fixed: Study  # every chosen solver
    adaptive: Study  # the chosen solvers that can adapt (none: empty)


def studies(
    s: SolversSettings, kind: str, progress: Callable[[float, str], None] | None = None
) -> Study:
    """One kind of study (FIXED or ADAPTIVE) of the chosen solvers that can do it;
    `progress(fraction, text)` before each solver's (a page's progress bar: the first study
    of a solver compiles). The page draws the fixed-step chart before the adaptive studies
    are computed."""
    if not s.solvers:
        raise ValueError("Pick at least one solver.")
    names = [name for name in s.solvers if kind == FIXED or rc.SOLVERS[name].adaptive]
    frames = []
    for i, name in enumerate(names):
        if progress is not None:
            progress(i / len(names), f"{LABELS[kind]}: {rc.SOLVERS[name].label}")
        frames.append(study(s.system, name, kind))
    return fitted(frames, kind)


def lesson(s: SolversSettings, progress: Callable[[float, str], None] | None = None):
    """Both studies of the chosen solvers (`progress` as in `studies`)."""
    return SolversResult(studies(s, FIXED, progress), studies(s, ADAPTIVE, progress))


def evaluations_needed(fixed: Study, target: float) -> pd.DataFrame:
    """Per solver (label): the fewest evaluations whose fixed-step error is ≤ target (NaN:
    never within the study's step counts)."""
    reached = fixed.points[fixed.points["error"] <= target]
    fewest = reached.groupby("solver")["evaluations"].min()
    names = fixed.points["solver"].unique()
    return pd.DataFrame(
        {
            "solver": [rc.SOLVERS[n].label for n in names],
            "evaluations": [float(fewest.get(n, np.nan)) for n in names],
        }
    )


def evaluations_axis(fixed: Study) -> list[float] | None:
    """The evaluations chart's log axis for every target of the slider at once, so that the
    axis stays put while the target moves (None: no target is ever reached)."""
    needed = pd.concat([evaluations_needed(fixed, target) for target in TARGETS])
    values = needed["evaluations"].dropna().to_numpy(dtype=float)
    if values.size == 0:
        return None
    low, high = float(values.min()), float(values.max())
    return [float(10 ** np.floor(np.log10(low))), float(10 ** np.ceil(np.log10(high * 1.6)))]


def reference_slopes(names) -> tuple[int, ...]:
    """The slopes of the reference triangles: the orders of the chosen methods (at most four
    of them)."""
    return ode_charts.reference_slopes(rc.SOLVERS[name].order for name in names)


@st.cache_data(show_spinner=False, max_entries=512)
def time_solve(system: str, settings: rc.SolverSettings, repeats: int = 5) -> dict:
    """Steps, evaluations, ok, error at T and wall time (the median of `repeats` runs after
    a first, compiling one) of one solve. For a 2-D system much of the time is call
    overhead; the evaluations are the machine-independent measure of work."""
    result = solve(system, settings)
    times = []
    for _ in range(max(1, int(repeats))):
        started = time.perf_counter()
        solve(system, settings)
        times.append(time.perf_counter() - started)
    return {
        "seconds": float(np.median(times)),
        "steps": int(result.num_steps),
        "evaluations": int(result.num_evaluations),
        "ok": result.ok,
        "error": float(end_errors(system, result.ys[-1], result.ok)),
    }


def cost_table(s: SolversSettings) -> pd.DataFrame:
    """One solve per chosen solver with n = s.steps fixed steps, and adaptively at s.rtol."""
    t_end = SYSTEMS[s.system].t_span[1]
    rows = []
    for name in s.solvers:
        modes = {f"fixed Δt = {t_end / s.steps:.3g}": rc.SolverSettings(name, dt=t_end / s.steps)}
        if rc.SOLVERS[name].adaptive:
            modes[f"adaptive, rtol = {s.rtol:.0e}"] = adaptive(name, s.rtol)
        for mode, settings in modes.items():
            cost = time_solve(s.system, settings)
            rows.append(
                {
                    "method": rc.SOLVERS[name].label,
                    "mode": mode,
                    "steps": cost["steps"],
                    "evaluations": cost["evaluations"],
                    "error at T": cost["error"],
                    "time (ms)": 1e3 * cost["seconds"],
                }
            )
    return pd.DataFrame(rows)


def warm_up() -> None:
    """The default studies, the page's first charts, then its cost table (every solver on
    the linear system)."""
    lesson(SolversSettings(), training.pause_point)
    cost_table(SolversSettings())
