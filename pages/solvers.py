"""Solvers and Δt: convergence orders, work against accuracy, and what each solve costs."""

from resode_ui.frame import error_box, page_frame

page_frame()

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import streamlit as st  # noqa: E402

import resode_core as rc  # noqa: E402
from resode_ui import node_charts as nc, url_state as us  # noqa: E402
from resode_ui.chart_cache import show_chart  # noqa: E402

LINEAR = "Linear test system (exact solution)"
SPIRAL = "Spiral (the notes' test equation)"
LOTKA = "Lotka–Volterra"
SYSTEMS = {
    LINEAR: (
        r"\dot u = \begin{pmatrix} -0.1 & 1 \\ -1 & -0.1 \end{pmatrix} u,\quad u(0) = (1, 0),\quad T = 10",
        10.0,
    ),
    SPIRAL: (r"\dot u = A^{\mathsf T} u^3,\quad u(0) = (2, 0),\quad T = 1.5", 1.5),
    LOTKA: (r"\dot x = 1.5x - xy,\ \ \dot y = xy - 3y,\quad u(0) = (1, 1),\quad T = 10", 10.0),
}
STEP_COUNTS = rc.step_count_grid(2, 16384, per_doubling=4)
RTOLS = tuple(float(10.0**-k) for k in np.arange(2.0, 8.01, 0.5))
FLOOR = rc.FLOAT32_FLOOR
FIT_FLOOR, FIT_CEILING = 10 * FLOOR, 0.1
COST_STEPS = (16, 32, 64, 100, 128, 256, 512, 1024)  # 100: Δt = 0.1 for T = 10
COST_RTOLS = (1e-3, 1e-4, 1e-5, 1e-6, 1e-7)
TARGETS = (1e-2, 1e-3, 1e-4, 1e-5)

# The page's settings as they appear in its address (see resode_ui/url_state.py).
STATE = us.PageState(
    "sv",
    [
        us.Choice(
            "sv_system",
            LINEAR,
            tuple(SYSTEMS),
            tokens={LINEAR: "linear", SPIRAL: "spiral", LOTKA: "lotka-volterra"},
        ),
        us.Multi("sv_solvers", rc.SOLVER_NAMES, rc.SOLVER_NAMES),
        us.Choice("sv_target", 1e-4, TARGETS),
        us.Choice("sv_steps", 64, COST_STEPS),
        us.Choice("sv_rtol", 1e-6, COST_RTOLS),
    ],
    presets=[
        us.Preset(
            "euler-tsit5",
            "Euler vs Tsit5 at Δt = 0.1 (100 steps on the linear system)",
            {"sv_system": LINEAR, "sv_solvers": ["euler", "tsit5"], "sv_steps": 100},
        ),
        us.Preset(
            "orders",
            "Orders 1, 2 and 4: Euler, Heun and RK4",
            {"sv_solvers": ["euler", "heun", "rk4"]},
        ),
        us.Preset(
            "spiral-stability",
            "The spiral: low-order methods blow up at large steps",
            {"sv_system": SPIRAL, "sv_solvers": ["euler", "heun", "rk4", "tsit5"]},
        ),
        us.Preset(
            "adaptive",
            "Adaptive solvers on Lotka–Volterra: accuracy against work",
            {
                "sv_system": LOTKA,
                "sv_solvers": ["bosh3", "tsit5", "dopri5", "dopri8"],
                "sv_rtol": 1e-4,
            },
        ),
    ],
)


def make_system(name: str):
    if name == LINEAR:
        return rc.linear_system(t_span=(0.0, 10.0))
    if name == SPIRAL:
        return rc.spiral_system()
    if name == LOTKA:
        return rc.lotka_volterra_system()
    raise ValueError(f"Unknown system {name!r}.")


@st.cache_data(show_spinner=False)
def reference(system_name: str) -> np.ndarray:
    return rc.reference_endpoint(make_system(system_name), SYSTEMS[system_name][1])


@st.cache_data(show_spinner=False)
def fixed_study(system_name: str, solver: str) -> pd.DataFrame:
    """Error at T against Δt for one solver (one compiled, vmapped call)."""
    rows = rc.fixed_step_study(
        make_system(system_name),
        SYSTEMS[system_name][1],
        STEP_COUNTS,
        [solver],
        reference=reference(system_name),
    )
    return pd.DataFrame(rows)


@st.cache_data(show_spinner=False)
def adaptive_study(system_name: str, solver: str) -> pd.DataFrame:
    rows = rc.adaptive_study(
        make_system(system_name),
        SYSTEMS[system_name][1],
        RTOLS,
        [solver],
        reference=reference(system_name),
    )
    return pd.DataFrame(rows)


@st.cache_data(show_spinner=False)
def cost(system_name: str, solver: str, steps: int, rtol: float) -> dict:
    """Steps, evaluations, error and wall time of one solve (fixed Δt if steps > 0)."""
    system = make_system(system_name)
    t_end = SYSTEMS[system_name][1]
    if steps > 0:
        figures = rc.time_solve(system, t_end, solver=solver, dt=t_end / steps)
    else:
        figures = rc.time_solve(system, t_end, solver=solver, rtol=rtol, atol=rtol * 1e-2)
    end = np.asarray(figures.pop("end"), dtype=np.float64)
    exact = reference(system_name)
    figures["error"] = float(np.max(np.abs(end - exact))) if figures["ok"] else float("nan")
    return figures


def run_all(label: str, system_name: str, solvers, study) -> pd.DataFrame:
    """Run `study` for each solver, with a progress bar the first time (compiles)."""
    bar = st.progress(0.0, text=label)
    frames = []
    for i, name in enumerate(solvers):
        bar.progress(i / len(solvers), text=f"{label}: {rc.SOLVERS[name].label}")
        frames.append(study(system_name, name))
    bar.empty()
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def fit_lines(frame: pd.DataFrame, x: str, invert: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fitted slopes per solver (table) and the fitted lines over the points used (chart)."""
    table, lines = [], []
    for name, group in frame.groupby("solver", sort=False):
        xs = group[x].to_numpy(dtype=float)
        fit_x = 1.0 / xs if invert else xs
        slope, intercept, used = rc.convergence_slope(
            fit_x,
            group["error"].to_numpy(dtype=float),
            floor=FIT_FLOOR,
            ceiling=FIT_CEILING,
            monotone=not invert,
        )
        table.append({"solver": name, "slope": slope, "points": int(used.sum())})
        if used.sum() >= 2:
            span = np.array([fit_x[used].min(), fit_x[used].max()])
            lines.append(
                pd.DataFrame(
                    {
                        "solver": name,
                        x: 1.0 / span if invert else span,
                        "error": np.exp(intercept) * span**slope,
                    }
                )
            )
    return pd.DataFrame(table), (pd.concat(lines, ignore_index=True) if lines else None)


st.title("Solvers and Δt")
STATE.sync()
st.markdown(
    r"""
A neural ODE can use any ODE solver, and the solver decides how accurate and how costly every
forward pass is. A method of **order $p$** has a global error at the end time $T$ that shrinks
like $C\,\Delta t^{p}$: halve the step and the error falls by $2^{p}$. On log-log axes the
error against $\Delta t$ is a straight line of slope $p$, so we can *measure* the order.
Higher order costs more evaluations of the right-hand side per step (Euler 1, Heun 2,
RK4 4, Tsit5 6, Dopri8 12), but needs far fewer steps for the same accuracy.
"""
)

STATE.controls()
system_name = STATE.widget(st.radio, "System", list(SYSTEMS), key="sv_system", horizontal=True)
st.latex(SYSTEMS[system_name][0])
solvers = STATE.widget(
    st.multiselect,
    "Solvers",
    rc.SOLVER_NAMES,
    key="sv_solvers",
    format_func=lambda n: rc.SOLVERS[n].label,
)
STATE.share_note()
if not solvers:
    error_box("Pick at least one solver.")
    st.stop()
t_end = SYSTEMS[system_name][1]

st.info(
    "The app computes in **float32**: about 7 significant digits. Errors stop shrinking near "
    f"{FLOOR:.0e} (round-off, which grows with the number of steps). Slopes are fitted only "
    f"on the stretch where the error lies between {FIT_FLOOR:.0e} and {FIT_CEILING:g}, from "
    "the coarsest step down to the first that reaches the floor or stalls near it.",
    icon="ℹ️",
)

# ----------------------------------------------------------------------------- fixed steps
st.subheader("Fixed steps: error against Δt")
try:
    fixed = run_all("Fixed-step solves", system_name, solvers, fixed_study)
except ValueError as problem:
    error_box(str(problem))
    st.stop()
slopes, lines = fit_lines(fixed, "dt", invert=False)
st.session_state["sv_fixed"] = fixed
st.session_state["sv_slopes"] = slopes
# Charts of cached studies are converted once (resode_ui/chart_cache.py).
study_key = (system_name, tuple(solvers))
show_chart(
    st,
    ("solvers", "fixed", study_key),
    lambda: nc.convergence_chart(fixed, fits=lines, floor=FLOOR),
    width="stretch",
)
st.caption(
    f"Every solver with n = 2 … {STEP_COUNTS[-1]} equal steps, Δt = T/n. Solid: measured "
    "error at T (missing points blew up: the step was beyond the method's stability limit). "
    "Dashed: the fitted line; grey: the float32 floor."
)
order_table = slopes.assign(
    method=[rc.SOLVERS[n].label for n in slopes["solver"]],
    theory=[rc.SOLVERS[n].order for n in slopes["solver"]],
    evaluations_per_step=[rc.SOLVERS[n].evaluations_per_step for n in slopes["solver"]],
)
order_table["fitted order"] = order_table["slope"].map(
    lambda s: f"{s:.2f}" if np.isfinite(s) else "–"
)
order_table["note"] = ["few points: unreliable" if p < 4 else "" for p in order_table["points"]]
st.dataframe(
    order_table[["method", "theory", "fitted order", "points", "evaluations_per_step", "note"]],
    hide_index=True,
    width="stretch",
)
st.markdown(
    r"""
The slopes match the theory where there is room to measure them. High-order methods drop from
large errors to the float32 floor within a few step counts, so their slope rests on few points,
and before the asymptotic regime a method can look *better* than its order. On the linear
system some methods converge faster than their order. On the spiral, Euler and the low-order
methods blow up for large steps: the Jacobian of $A^{\mathsf T}u^3$ grows like $|u|^2$,
so explicit methods need small steps to stay stable where $|u|$ is large.
"""
)

target = STATE.widget(
    st.select_slider,
    "Accuracy target for the comparison below",
    TARGETS,
    key="sv_target",
    format_func=lambda v: f"{v:.0e}",
)
needed = []
for name, group in fixed.groupby("solver", sort=False):
    ok = group[group["error"] <= target]
    needed.append(
        {
            "solver": rc.SOLVERS[name].label,
            "evaluations": float(ok["evaluations"].min()) if len(ok) else np.nan,
        }
    )
needed = pd.DataFrame(needed)
show_chart(
    st,
    ("solvers", "needed", study_key, target),
    lambda: nc.bar_chart(
        needed.dropna(),
        category="solver",
        value="evaluations",
        title=f"function evaluations to reach error ≤ {target:.0e}",
        log=True,
    ),
    width="stretch",
)
missing = needed[needed["evaluations"].isna()]["solver"].tolist()
if missing:
    st.caption("Never reached the target with ≤ 16384 steps: " + ", ".join(missing) + ".")

# ----------------------------------------------------------------------------- adaptive
adaptive_names = [n for n in solvers if rc.SOLVERS[n].adaptive]
st.subheader("Adaptive steps: error against work")
st.markdown(
    r"""
An adaptive solver estimates its own local error with an embedded lower-order formula and
picks each $\Delta t$ to keep that estimate below $\text{atol} + \text{rtol}\,|u|$. Tightening
rtol (here atol $= 10^{-2}\,$rtol) buys accuracy with more evaluations; the slope of error
against evaluations shows the order again. Euler and RK4 have no error estimate and are left
out.
"""
)
if adaptive_names:
    adaptive = run_all("Adaptive solves", system_name, adaptive_names, adaptive_study)
    st.session_state["sv_adaptive"] = adaptive
    work_slopes, work_lines = fit_lines(adaptive, "evaluations", invert=True)
    show_chart(
        st,
        ("solvers", "adaptive", study_key),
        lambda: nc.convergence_chart(
            adaptive, fits=work_lines, floor=FLOOR, x="evaluations", x_title="function evaluations"
        ),
        width="stretch",
    )
    st.caption(
        "rtol from 1e-2 to 1e-8. Points where a solver hit its limit of 10 000 steps are "
        "missing (low-order methods at tight tolerances)."
    )
    work_table = work_slopes.assign(method=[rc.SOLVERS[n].label for n in work_slopes["solver"]])
    work_table["error ∝ evaluations^(−q), q"] = work_table["slope"].map(
        lambda s: f"{-s:.2f}" if np.isfinite(s) else "–"
    )
    failed = adaptive.groupby("solver", sort=False)["ok"].apply(
        lambda s: int((~s.astype(bool)).sum())
    )
    work_table["rtols that hit the step limit"] = work_table["solver"].map(failed)
    st.dataframe(
        work_table[
            ["method", "error ∝ evaluations^(−q), q", "points", "rtols that hit the step limit"]
        ],
        hide_index=True,
        width="stretch",
    )
else:
    st.caption("None of the chosen solvers is adaptive.")

# ----------------------------------------------------------------------------- cost
st.subheader("What one solve costs")
c1, c2 = st.columns(2)
steps = STATE.widget(c1.select_slider, "Fixed steps n (Δt = T/n)", COST_STEPS, key="sv_steps")
rtol = STATE.widget(
    c2.select_slider,
    "Adaptive rtol (atol = 10⁻² rtol)",
    COST_RTOLS,
    key="sv_rtol",
    format_func=lambda v: f"{v:.0e}",
)
rows = []
for name in solvers:
    fixed_cost = cost(system_name, name, int(steps), float(rtol))
    rows.append(
        {
            "method": rc.SOLVERS[name].label,
            "mode": f"fixed Δt = {t_end / steps:.3g}",
            "steps": fixed_cost["steps"],
            "evaluations": fixed_cost["evaluations"],
            "error at T": fixed_cost["error"],
            "time (ms)": 1e3 * fixed_cost["seconds"],
        }
    )
    if rc.SOLVERS[name].adaptive:
        adaptive_cost = cost(system_name, name, 0, float(rtol))
        rows.append(
            {
                "method": rc.SOLVERS[name].label,
                "mode": f"adaptive, rtol = {rtol:.0e}",
                "steps": adaptive_cost["steps"],
                "evaluations": adaptive_cost["evaluations"],
                "error at T": adaptive_cost["error"],
                "time (ms)": 1e3 * adaptive_cost["seconds"],
            }
        )
cost_table = pd.DataFrame(rows)
st.session_state["sv_cost"] = cost_table
st.dataframe(
    cost_table,
    hide_index=True,
    width="stretch",
    column_config={
        "error at T": st.column_config.NumberColumn(format="%.2e"),
        "time (ms)": st.column_config.NumberColumn(format="%.2f"),
    },
)
st.caption(
    "Time: median wall time of one compiled solve on this server. For a two-dimensional system "
    "much of it is the fixed cost of a call; the number of evaluations is the machine-independent "
    "measure of work. An error shown as empty means the solve blew up or hit the step limit."
)
