"""Solvers and Δt: convergence orders, work against accuracy, and what each solve costs."""

import dataclasses

import numpy as np
import streamlit as st

import resode_core as rc
from resode_ui import chart_parts as cp, ode_charts as oc, teach, widgets as ui
from resode_ui.lessons import solvers

D = solvers.SolversSettings()  # the defaults
EQUATIONS = {
    solvers.LINEAR: r"\dot u = \begin{pmatrix} -0.1 & 1 \\ -1 & -0.1 \end{pmatrix} u,"
    r"\quad u(0) = (1, 0)",
    solvers.SPIRAL: r"\dot u = A^{\mathsf T} u^3,\quad u(0) = (2, 0)",
    solvers.LOTKA: r"\dot x = 1.5x - xy,\ \ \dot y = xy - 3y,\quad u(0) = (1, 1)",
}
EXAMPLES = {"euler": "Euler", "heun": "Heun", "rk4": "RK4", "tsit5": "Tsit5", "dopri8": "Dopri8"}
SCIENTIFIC = {"format_func": "{:.0e}".format}  # 1e-04
EVALUATIONS = ", ".join(f"{n} {rc.SOLVERS[k].evaluations_per_step}" for k, n in EXAMPLES.items())


st.title("Solvers and Δt")
st.markdown(
    "A method of **order p** has an error at the end time T that shrinks like Δtᵖ: on log-log "
    "axes, error against Δt is a straight line of slope p. The chart measures that slope for "
    "each solver."
)
question_box = st.container()  # the question comes first; it names a chosen method

with ui.controls(st.sidebar):
    ui.preset_selector("sv", solvers.PRESETS)
teach.glossary(
    "order of a solver",
    "embedded error estimate",
    "tolerance",
    "stability limit",
    where=st.sidebar,
)
ui.share_link(where=st.sidebar)
with ui.controls():
    system = st.radio(
        "System", tuple(solvers.SYSTEMS), key="sv_system", horizontal=True, **ui.BOUND
    )
    chosen = st.multiselect(
        "Solvers",
        rc.SOLVER_NAMES,
        default=list(D.solvers),
        key="sv_solvers",
        format_func=ui.solver_label,
        **ui.BOUND,
    )
t_end = solvers.SYSTEMS[system].t_span[1]

# The target, steps and rtol widgets live in the fragments below; each sets its own field.
settings = solvers.SolversSettings(
    system,
    tuple(chosen),
    **{f: st.session_state.get(f"sv_{f}", getattr(D, f)) for f in ("target", "steps", "rtol")},
)
subject = solvers.question_subject(settings.solvers) if settings.solvers else "rk4"
with question_box:
    answer = teach.question(
        "sv_question",
        f"On the chart below, what slope do you expect for {solvers.short_label(subject)}: by "
        "what power of Δt does its error at T shrink?",
        solvers.QUESTION_OPTIONS,
    )
fixed = ui.result_of(solvers.studies, settings, solvers.FIXED, progress="Solving …")
preset = teach.matching_preset(solvers.PRESETS, st.session_state.get("sv_preset"), settings)


def convergence(study: solvers.Study, x_title: str, sign: int) -> None:
    drawable = study.points[study.points["error"] <= oc.BLOWN_UP]
    if not cp.can_draw(drawable, "error", log=True):
        st.caption("No solve of the chosen methods ended with a finite error: nothing to draw.")
        return
    ui.chart(
        oc.convergence_chart,
        study.points,
        fits=study.lines,
        floor=solvers.FLOOR,
        x=study.x,
        x_title=x_title,
        slopes=solvers.reference_slopes(study.points["solver"].unique()),
        sign=sign,
    )


def slope_table(study: solvers.Study, heading: str):
    """The fitted slopes with each method's name, `heading` the slope column."""
    slopes = study.slopes
    shown = slopes["slope"].map(lambda s: f"{s:.2f}" if np.isfinite(s) else "–")
    return slopes.assign(method=slopes["solver"].map(ui.solver_label), **{heading: shown})


# ----------------------------------------------------------------------------- fixed steps
convergence(fixed, "Δt (step size)", sign=1)
revealed = solvers.slope_answer(fixed, subject)
if revealed is None:
    st.caption(
        f"Too few points between {solvers.FIT_FLOOR:.0e} and {solvers.FIT_CEILING:g} to fit a "
        f"slope for {rc.SOLVERS[subject].label} on this system."
    )
else:
    teach.reveal(answer, *revealed)
teach.what_you_should_see(solvers.SHOULD_SEE, preset)
st.caption(
    f"Every solver with n = {solvers.STEP_COUNTS[0]} … {solvers.STEP_COUNTS[-1]} equal steps, "
    "Δt = T/n. Solid lines with points: the measured error at T (a missing point is a solve "
    "that blew up: its step was beyond the method's stability limit); dashed: the line fitted "
    "to them; dotted grey: the float32 floor. The grey triangles have the slopes written by them, "
    "for reference: a method of order p runs parallel to the triangle marked p."
)


def fixed_step_details() -> None:
    """The orders in a table and in words, and why a fit can differ from the order."""
    st.latex(EQUATIONS[system] + rf",\quad T = {t_end:g}")
    st.markdown(
        rf"""
A neural ODE can use any ODE solver, and the solver decides how accurate and how costly every
forward pass is. A method of **order $p$** has a global error at the end time $T$ that shrinks
like $C\,\Delta t^{{p}}$: halve the step and the error falls by $2^{{p}}$. On log-log axes the
error against $\Delta t$ is a straight line of slope $p$, so we can *measure* the order.
Higher order costs more evaluations of the right-hand side per step ({EVALUATIONS}), but
can need far fewer steps for the same accuracy.
"""
    )
    st.info(
        "The app computes in **float32**: about 7 significant digits. Errors stop shrinking "
        f"near {solvers.FLOOR:.0e} (round-off, which grows with the number of steps). Slopes are "
        f"fitted only on the stretch where the error lies between {solvers.FIT_FLOOR:.0e} and "
        f"{solvers.FIT_CEILING:g}, from the coarsest step down to the first that reaches the "
        "floor or stalls near it.",
        icon=":material/info:",
    )
    orders = slope_table(fixed, "fitted order")
    orders["theory"] = [rc.SOLVERS[n].order for n in orders["solver"]]
    orders["evaluations_per_step"] = [rc.SOLVERS[n].evaluations_per_step for n in orders["solver"]]
    orders["note"] = ["few points: unreliable" if p < 4 else "" for p in orders["points"]]
    st.dataframe(
        orders[["method", "theory", "fitted order", "points", "evaluations_per_step", "note"]],
        hide_index=True,
        width="stretch",
    )
    st.markdown(
        f"**Here:** {solvers.order_sentence(fixed)} A slope fitted on few points is "
        "unreliable: high-order methods can fall from large errors to the float32 floor within "
        "a few step counts, and before the asymptotic regime a method can look *better* than "
        "its order."
    )
    blow_ups = solvers.blow_up_sentence(fixed, t_end)
    if blow_ups:
        st.markdown(blow_ups)
    if system == solvers.SPIRAL:
        st.markdown(
            r"""
Why the spiral blows up: the Jacobian of $A^{\mathsf T}u^3$ is $3A^{\mathsf T}\operatorname{diag}(u^2)$,
which grows like $|u|^2$. An explicit method stays stable only while $\Delta t\,\lambda$, for
the Jacobian's eigenvalues $\lambda$, lies in its bounded stability region, so it needs small
steps wherever $|u|$ is large.
"""
        )


@ui.fragment
def accuracy_target() -> None:
    """Its own section: moving the target reruns only this chart."""
    target = st.select_slider(
        "Accuracy target for the comparison below",
        solvers.TARGETS,
        D.target,
        key="sv_target",
        **SCIENTIFIC,
        **ui.BOUND,
    )
    needed = solvers.evaluations_needed(fixed, target)
    reached = needed.dropna()
    if reached.empty:
        st.caption(
            f"No chosen method reaches an error ≤ {target:.0e} with ≤ "
            f"{solvers.STEP_COUNTS[-1]} steps on this system: there are no bars to draw."
        )
    else:
        ui.chart(
            oc.bar_chart,
            reached,
            category="solver",
            value="evaluations",
            title=f"function evaluations to reach error ≤ {target:.0e}",
            log=True,
            domain=solvers.evaluations_axis(fixed),
            height=90 + 36 * len(reached),
        )
    missing = needed[needed["evaluations"].isna()]["solver"].tolist()
    if missing:
        st.caption(
            f"Never reached the target with ≤ {solvers.STEP_COUNTS[-1]} steps: "
            + ", ".join(missing)
            + "."
        )


def adaptive_section() -> None:
    st.subheader("Adaptive steps: error against work")
    st.markdown(
        r"""
An adaptive solver estimates its own local error with an embedded lower-order formula and
picks each $\Delta t$ to keep that estimate below $\text{atol} + \text{rtol}\,|u|$. Tightening
rtol (here atol $= 10^{-2}\,$rtol) buys accuracy with more evaluations. With fixed steps the
evaluations grow like $1/\Delta t$, so the error falls like evaluations$^{-p}$; the exponent
$q$ fitted below is its adaptive counterpart: compare it with the order column. Euler and RK4
have no error estimate and are left out.
"""
    )
    adaptive = ui.result_of(solvers.studies, settings, solvers.ADAPTIVE, progress="Solving …")
    if adaptive.points.empty:
        st.caption("None of the chosen solvers is adaptive.")
        return
    convergence(adaptive, "function evaluations (work)", sign=-1)
    st.caption(
        f"rtol from {max(solvers.RTOLS):.0e} to {min(solvers.RTOLS):.0e}. Points where a "
        f"solver hit its limit of {rc.SolverSettings().max_steps:,} steps are missing. "
        + solvers.step_limit_sentence(adaptive)
        + " The grey triangles have the slopes written by them: −p is the fixed-step rate "
        "error ∝ evaluations⁻ᵖ of a method of order p, for reference."
    )
    q = "error ∝ evaluations^(−q), q"
    work = slope_table(adaptive, q)
    work["order"] = [rc.SOLVERS[n].order for n in work["solver"]]
    failed = (~adaptive.points["ok"]).groupby(adaptive.points["solver"]).sum()
    work["rtols that hit the step limit"] = work["solver"].map(failed)
    st.dataframe(
        work[["method", "order", q, "points", "rtols that hit the step limit"]],
        hide_index=True,
        width="stretch",
    )


# ----------------------------------------------------------------------------- cost
@ui.fragment
def cost() -> None:
    """Its own section: moving these sliders reruns only this table."""
    st.subheader("What one solve costs")
    c1, c2 = st.columns(2)
    steps = c1.select_slider(
        "Fixed steps n (Δt = T/n)", solvers.COST_STEPS, D.steps, key="sv_steps", **ui.BOUND
    )
    rtol = c2.select_slider(
        "Adaptive rtol (atol = 10⁻² rtol)",
        solvers.COST_RTOLS,
        D.rtol,
        key="sv_rtol",
        **SCIENTIFIC,
        **ui.BOUND,
    )
    table = solvers.cost_table(dataclasses.replace(settings, steps=steps, rtol=rtol))
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        column_config={
            "error at T": st.column_config.NumberColumn(format="%.2e"),
            "time (ms)": st.column_config.NumberColumn(format="%.2f"),
        },
    )
    st.caption(
        "Time: median wall time of one compiled solve on this server; it includes a fixed "
        "cost per call and varies from run to run. The number of evaluations of the "
        "right-hand side is the machine-independent measure of work. An error shown as empty "
        "means the solve blew up or hit the step limit."
    )


with ui.more():
    fixed_step_details()
    st.subheader("Fixed steps: how many evaluations an accuracy costs")
    accuracy_target()
    adaptive_section()
    cost()
