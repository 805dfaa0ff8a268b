"""A ResNet is forward Euler: depth becomes time, and Δt → 0 leads to an ODE."""

from resode_ui.frame import error_box, page_frame

page_frame()

import altair as alt  # noqa: E402
import jax.random as jr  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import streamlit as st  # noqa: E402

import resode_core as rc  # noqa: E402
from resode_ui import resnet_charts as charts, url_state as us  # noqa: E402
from resode_ui.chart_cache import show_chart  # noqa: E402

T_END = 2.0  # the fixed depth in time, T = L·Δt
WIDTH = 2  # a 2-D hidden state, so its path can be drawn
U0 = np.array([1.0, -0.5])  # the input whose layer-by-layer path is drawn over time
PHASE_STARTS = np.array([[1.0, -0.5], [-1.0, 0.5], [0.5, 1.0], [-0.5, -1.0], [0.0, 0.0]])
MAX_LAYERS = rc.DEFAULT_MAX_DEPTH
# Δt = T/n for n = 4 … 512: powers of two keep Δt and every node t_ℓ exact in float32.
CONVERGENCE_STEPS = 2 ** np.arange(2, 10)
ERROR_FLOOR = 3e-6  # below this the float32 round-off of a solve is no longer negligible
FIXED_STEP_SOLVERS = [name for name in rc.SOLVER_NAMES if name != "dopri8"]
DEFAULT_ORDER_SOLVERS = ["euler", "midpoint", "bosh3", "rk4"]
# The page's settings as they appear in its address (see resode_ui/url_state.py).
STATE = us.PageState(
    "re",
    [
        us.Int("re_layers", 8, 2, MAX_LAYERS),
        us.Choice("re_solver", "rk4", tuple(FIXED_STEP_SOLVERS)),
        us.Int("re_seed", 4, 0, 20),
        us.Multi("re_solvers", tuple(DEFAULT_ORDER_SOLVERS), tuple(FIXED_STEP_SOLVERS)),
        us.Flag("re_compare", False),
        us.Int("re_a_layers", 8, 2, MAX_LAYERS),
        us.Choice("re_a_solver", "euler", tuple(FIXED_STEP_SOLVERS)),
        us.Int("re_b_layers", 2, 2, MAX_LAYERS),
        us.Choice("re_b_solver", "rk4", tuple(FIXED_STEP_SOLVERS)),
    ],
    presets=[
        us.Preset(
            "euler-tsit5", "Euler vs Tsit5 at Δt = 0.1", {"re_layers": 20, "re_solver": "tsit5"}
        ),
        us.Preset("deep", "A deep ResNet: 128 layers, Δt = 1/64", {"re_layers": 128}),
        us.Preset(
            "same-cost",
            "Side by side at equal cost: 8 ResNet layers vs 2 RK4 steps",
            {
                "re_compare": True,
                "re_a_layers": 8,
                "re_a_solver": "euler",
                "re_b_layers": 2,
                "re_b_solver": "rk4",
            },
        ),
        us.Preset(
            "thin-layers",
            "Side by side: a ResNet with 4 vs 32 layers",
            {
                "re_compare": True,
                "re_a_layers": 4,
                "re_a_solver": "euler",
                "re_b_layers": 32,
                "re_b_solver": "euler",
            },
        ),
    ],
)


def _method_label(name: str) -> str:
    return "Euler = ResNet" if name == "euler" else rc.SOLVERS[name].label


def _field(seed: int) -> rc.SmoothLayerField:
    return rc.SmoothLayerField(WIDTH, key=jr.PRNGKey(seed))


@st.cache_data(show_spinner=False, max_entries=128)
def layer_paths(layers: int, solver: str, seed: int) -> dict:
    """The ResNet sampled from the field, its Euler twin, another solver and the exact flow."""
    dt = T_END / layers
    field = _field(seed)
    resnet = rc.resnet_from_field(field, layers, dt)
    grid = np.arange(MAX_LAYERS + 1) * dt  # fixed length: Δt changes never recompile
    starts = np.vstack([U0, PHASE_STARTS])
    resnet_paths = rc.hidden_state_paths(resnet, starts)  # (starts, layers + 1, 2)
    piecewise_field = rc.resnet_vector_field(resnet)
    euler_paths, solver_paths, exact_paths = [], [], []
    fine = np.linspace(0.0, T_END, 101)
    for start in starts:
        euler = rc.simulate(piecewise_field, start, grid, solver="euler", dt=dt)
        other = rc.simulate(field, start, grid, solver=solver, dt=dt)
        if not (euler.ok and other.ok):
            raise ValueError(f"A fixed-step solve failed: {euler.message} / {other.message}")
        euler_paths.append(np.asarray(euler.ys)[: layers + 1])
        solver_paths.append(np.asarray(other.ys)[: layers + 1])
        exact_paths.append(rc.smooth_field_solution(field, start, fine))
    euler_paths = np.stack(euler_paths)
    solver_paths = np.stack(solver_paths)
    exact_end = np.stack([p[-1] for p in exact_paths])
    return {
        "t": grid[: layers + 1],
        "fine_t": fine,
        "resnet": resnet_paths,
        "euler": euler_paths,
        "solver": solver_paths,
        "exact": np.stack(exact_paths),
        "resnet_vs_euler": float(np.max(np.abs(resnet_paths - euler_paths))),
        "resnet_error": float(np.max(np.abs(resnet_paths[:, -1] - exact_end))),
        "solver_error": float(np.max(np.abs(solver_paths[:, -1] - exact_end))),
        "resnet_params": rc.param_count(resnet),
        "field_params": rc.param_count(field),
    }


@st.cache_data(show_spinner=False, max_entries=64)
def convergence(solvers: tuple[str, ...], seed: int) -> dict:
    """Error at T against Δt for fixed-step solvers, with the observed orders."""
    field = _field(seed)
    exact = rc.smooth_field_solution(field, U0, [0.0, T_END])[-1]
    dts = T_END / CONVERGENCE_STEPS
    rows, orders = [], []
    for name in solvers:
        ends = rc.fixed_step_endpoints(field, U0, T_END, CONVERGENCE_STEPS, solver=name)
        errors = np.max(np.abs(ends - exact), axis=1)
        label = "Euler = ResNet" if name == "euler" else rc.SOLVERS[name].label
        rows.append(pd.DataFrame({"dt": dts, "error": errors, "solver": label}))
        info = rc.SOLVERS[name]
        orders.append(
            {
                "solver": label,
                "theoretical order": info.order,
                "observed slope": rc.asymptotic_order(dts, errors, floor=ERROR_FLOOR),
                "field evaluations per step": info.evaluations_per_step,
                "error at Δt = T/64": float(errors[list(CONVERGENCE_STEPS).index(64)]),
            }
        )
    return {"errors": pd.concat(rows, ignore_index=True), "orders": pd.DataFrame(orders)}


st.title("A ResNet is forward Euler")
STATE.sync()
st.markdown(
    r"""
Write a residual block with an explicit step size $\Delta t$:

$$
x_\ell = x_{\ell-1} + \Delta t\,\sigma(W_\ell x_{\ell-1} + b_\ell)
\quad\Longleftrightarrow\quad
\frac{x_\ell - x_{\ell-1}}{\Delta t} = \sigma(W_\ell x_{\ell-1} + b_\ell).
$$

The right-hand form is a difference quotient: one step of the **forward Euler** method for the
ODE $\dot x = V(x, t;\theta)$, where the layer $\ell$ supplies the vector field on the time
interval $[(\ell-1)\Delta t, \ell\Delta t)$. Layer index becomes time, $t_\ell = \ell\,\Delta t$,
and a network of $L$ layers integrates from $t = 0$ to $T = L\,\Delta t$: the input is the initial
value $x(0)$, the output is $x(T)$.

Here the hidden state is 2-D and the layers are not random: layer $\ell$ is the smooth field
$V(x, t) = \tanh(W(t)\,x + b(t))$ with $W(t) = W_0 + t\,W_1$, $b(t) = b_0 + t\,b_1$, frozen at
$t_{\ell-1}$. We keep $T = 2$ fixed and choose the number of layers $L$, hence $\Delta t = T/L$.
"""
)

STATE.controls()
c1, c2, c3 = st.columns(3)
layers = STATE.widget(c1.slider, "layers L (Δt = 2 / L)", 2, MAX_LAYERS, key="re_layers")
solver = STATE.widget(
    c2.selectbox,
    "compare with solver (same Δt)",
    FIXED_STEP_SOLVERS,
    format_func=lambda name: rc.SOLVERS[name].label,
    key="re_solver",
)
seed = STATE.widget(c3.slider, "seed of the vector field", 0, 20, key="re_seed")
compare = STATE.widget(
    st.toggle,
    "Compare two configurations side by side",
    key="re_compare",
    help="Two step counts and methods for the same vector field, on shared axes.",
)
STATE.share_note()
dt = T_END / layers

try:
    paths = layer_paths(layers, solver, seed)
except ValueError as exc:
    error_box(str(exc))
    st.stop()

if compare:
    st.header("Side by side: two configurations")
    st.markdown(
        r"""
Each side integrates the same field from $t = 0$ to $T = 2$ with its own number of steps $L$
($\Delta t = T/L$) and method; *Euler = ResNet* is the ResNet of $L$ layers itself. The cost of
a forward pass is the number of field evaluations, $L$ times the method's evaluations per step:
compare the errors at equal cost.
"""
    )
    sides = {}
    for side, column in zip(("a", "b"), st.columns(2), strict=True):
        side_layers = STATE.widget(
            column.slider, f"{side.upper()}: steps L", 2, MAX_LAYERS, key=f"re_{side}_layers"
        )
        side_solver = STATE.widget(
            column.selectbox,
            f"{side.upper()}: method",
            FIXED_STEP_SOLVERS,
            format_func=_method_label,
            key=f"re_{side}_solver",
        )
        try:
            sides[side] = (side_layers, side_solver, layer_paths(side_layers, side_solver, seed))
        except ValueError as exc:
            error_box(str(exc))
            st.stop()
    time_charts, plane_charts = [], []
    for side, column in zip(("a", "b"), st.columns(2), strict=True):
        side_layers, side_solver, side_paths = sides[side]
        info = rc.SOLVERS[side_solver]
        title = f"{side.upper()}: {_method_label(side_solver)}, L = {side_layers}"
        method = (
            "ResNet layers x_ℓ"
            if side_solver == "euler"
            else f"{rc.SOLVERS[side_solver].label}, Δt = {T_END / side_layers:.3g}"
        )
        rows = []
        for component in range(WIDTH):
            name = f"x{'₁₂'[component]}"
            rows.append(
                pd.DataFrame(
                    {
                        "t": side_paths["t"],
                        "value": side_paths["solver"][0, :, component],
                        "component": name,
                        "source": method,
                    }
                )
            )
            rows.append(
                pd.DataFrame(
                    {
                        "t": side_paths["fine_t"],
                        "value": side_paths["exact"][0, :, component],
                        "component": name,
                        "source": "exact ODE solution",
                    }
                )
            )
        time_charts.append(
            charts.layer_trajectory_chart(pd.concat(rows, ignore_index=True)).properties(
                title=title, width=320
            )
        )
        plane = []
        for i in range(len(PHASE_STARTS)):
            for source, xy in (
                (method, side_paths["solver"][i + 1]),
                ("exact ODE solution", side_paths["exact"][i + 1]),
            ):
                plane.append(
                    pd.DataFrame(
                        {
                            "x1": xy[:, 0],
                            "x2": xy[:, 1],
                            "order": np.arange(len(xy)),
                            "start": f"start {i + 1}",
                            "source": source,
                        }
                    )
                )
        plane_charts.append(
            charts.phase_plane_chart(pd.concat(plane, ignore_index=True)).properties(
                title=title, width=320
            )
        )
        k1, k2, k3 = column.columns(3)
        k1.metric(f"{side.upper()}: Δt", f"{T_END / side_layers:.4g}")
        k2.metric(f"{side.upper()}: error at T", f"{side_paths['solver_error']:.2e}")
        k3.metric(
            f"{side.upper()}: field evaluations",
            f"{side_layers * info.evaluations_per_step:,}",
            help="L steps × evaluations per step: the cost of one forward pass.",
        )
    # One chart per row holding both sides: `resolve_scale` shares the axes.
    sides_key = tuple((s[0], s[1]) for s in sides.values()) + (seed,)
    show_chart(
        st,
        ("resnet_euler", "compare-time", sides_key),
        lambda: alt.hconcat(*time_charts).resolve_scale(x="shared", y="shared"),
        width="stretch",
    )
    show_chart(
        st,
        ("resnet_euler", "compare-plane", sides_key),
        lambda: alt.hconcat(*plane_charts).resolve_scale(x="shared", y="shared"),
        width="stretch",
    )
    st.caption(
        f"The path of x(0) = ({U0[0]:g}, {U0[1]:g}) (top) and of the five starting points in the "
        "(x₁, x₂) plane (bottom) for both configurations, on the same axes. Turn the toggle "
        "off for the single-configuration view below."
    )

st.header("1 · The layers trace an Euler path")
solver_label = rc.SOLVERS[solver].label
m1, m2, m3, m4 = st.columns(4)
m1.metric("Δt = T / L", f"{dt:.4g}")
m2.metric(
    "max |ResNet − Euler|",
    f"{paths['resnet_vs_euler']:.1e}",
    help="Over all layers and all five starting points: the hidden states of the ResNet against "
    "diffrax's Euler solve of the ResNet's own (piecewise constant in time) vector field.",
)
m3.metric("ResNet error at T", f"{paths['resnet_error']:.2e}", help="Against the exact flow.")
m4.metric(f"{solver_label} error at T", f"{paths['solver_error']:.2e}")

series = []
for component in range(WIDTH):
    name = f"x{'₁₂'[component]}"
    series.append(
        pd.DataFrame(
            {
                "t": paths["t"],
                "value": paths["resnet"][0, :, component],
                "component": name,
                "source": "ResNet layers x_ℓ",
            }
        )
    )
    series.append(
        pd.DataFrame(
            {
                "t": paths["t"],
                "value": paths["euler"][0, :, component],
                "component": name,
                "source": "Euler solve",
            }
        )
    )
    series.append(
        pd.DataFrame(
            {
                "t": paths["t"],
                "value": paths["solver"][0, :, component],
                "component": name,
                "source": f"{solver_label}, same Δt",
            }
        )
    )
    series.append(
        pd.DataFrame(
            {
                "t": paths["fine_t"],
                "value": paths["exact"][0, :, component],
                "component": name,
                "source": "exact ODE solution",
            }
        )
    )
trajectory = pd.concat(series, ignore_index=True)

phase = []
for i in range(len(PHASE_STARTS)):
    start = f"start {i + 1}"
    resnet_xy = paths["resnet"][i + 1]
    exact_xy = paths["exact"][i + 1]
    phase.append(
        pd.DataFrame(
            {
                "x1": resnet_xy[:, 0],
                "x2": resnet_xy[:, 1],
                "order": np.arange(len(resnet_xy)),
                "start": start,
                "source": "ResNet layers x_ℓ",
            }
        )
    )
    phase.append(
        pd.DataFrame(
            {
                "x1": exact_xy[:, 0],
                "x2": exact_xy[:, 1],
                "order": np.arange(len(exact_xy)),
                "start": start,
                "source": "exact ODE solution",
            }
        )
    )
# Charts of cached results are converted once (resode_ui/chart_cache.py).
paths_key = (int(layers), solver, seed)
left, right = st.columns(2)
show_chart(
    left,
    ("resnet_euler", "trajectory", paths_key),
    lambda: charts.layer_trajectory_chart(trajectory),
    width="stretch",
)
show_chart(
    right,
    ("resnet_euler", "phase", paths_key),
    lambda: charts.phase_plane_chart(pd.concat(phase, ignore_index=True)),
    width="stretch",
)
st.caption(
    f"Left: the hidden state of input x(0) = ({U0[0]:g}, {U0[1]:g}) after each layer, drawn at "
    f"t = ℓ·Δt (circles), on top of the Euler solve of the same vector field (line): they "
    f"coincide to float32 precision. The {solver_label} solve of the smooth field takes steps "
    "of the same Δt. Right: five inputs pushed through the ResNet in the (x₁, x₂) plane "
    "(dots = layers), against the exact flow of the smooth field."
)

st.header("2 · Δt → 0: the ResNet converges to the ODE")
st.markdown(
    r"""
A ResNet with more, thinner layers approximates the exact flow better, with an error that
shrinks like $\Delta t^{1}$: Euler is a first-order method. Any other ODE solver can take the
place of "stack another layer", and higher-order ones reach the same accuracy with far fewer
steps. On log–log axes an error $C\,\Delta t^{p}$ is a straight line of slope $p$.
"""
)
solvers = STATE.widget(
    st.multiselect,
    "solvers",
    FIXED_STEP_SOLVERS,
    format_func=lambda name: rc.SOLVERS[name].label,
    key="re_solvers",
)
if not solvers:
    st.info("Pick at least one solver.")
else:
    try:
        study = convergence(tuple(solvers), seed)
    except ValueError as exc:
        error_box(str(exc))
        st.stop()
    left, right = st.columns([3, 2])
    show_chart(
        left,
        ("resnet_euler", "convergence", tuple(solvers), seed),
        lambda: charts.convergence_chart(study["errors"], ERROR_FLOOR),
        width="stretch",
    )
    orders = study["orders"].copy()
    orders["observed slope"] = orders["observed slope"].map(
        lambda v: "—" if not np.isfinite(v) else f"{v:.2f}"
    )
    orders["error at Δt = T/64"] = orders["error at Δt = T/64"].map(lambda v: f"{v:.1e}")
    right.dataframe(orders, hide_index=True, width="stretch")
    right.caption(
        f"Observed slope: a least-squares fit of log(error) against log(Δt) over the (up to) "
        f"four smallest Δt whose error is still above {ERROR_FLOOR:g}; '—' means fewer than two "
        "such points (a fifth-order method is at round-off level almost at once)."
    )
    st.markdown(
        rf"""
The reference is the exact flow computed in float64 (SciPy's DOP853 at tolerance
$10^{{-12}}$); the app itself computes in **float32**, whose round-off is about $10^{{-7}}$ relative
per operation. Once a solver's truncation error drops to roughly $10^{{-6}}$–$10^{{-7}}$ its curve
flattens and wanders (dashed line): that is round-off, not the method, and those points are
left out of the slopes. Δt runs from {T_END / CONVERGENCE_STEPS[0]:g} down to
{T_END / CONVERGENCE_STEPS[-1]:.4f} (powers of two, so every $t_\ell$ is exact in float32).
"""
    )

st.header("3 · Depth costs parameters, a vector field does not")
st.markdown(
    r"""
Halving $\Delta t$ doubles the ResNet: every layer has its own $W_\ell, b_\ell$, so the parameter
count grows like $L = T/\Delta t$ and the limit $\Delta t \to 0$ is out of reach. The smooth field
$V(x, t;\theta)$ that the layers sample has a fixed number of parameters, whatever the step. A
**neural ODE** (Chen et al., 2018) learns that $\theta$ directly and leaves the choice of steps to
an ODE solver — the subject of the next pages.
"""
)
counts = np.arange(1, MAX_LAYERS + 1)
per_layer = WIDTH * WIDTH + WIDTH
param_frame = pd.concat(
    [
        pd.DataFrame(
            {"layers": counts, "parameters": counts * per_layer, "model": "ResNet (L layers)"}
        ),
        pd.DataFrame(
            {
                "layers": counts,
                "parameters": paths["field_params"],
                "model": "one vector field V(x, t; θ)",
            }
        ),
    ],
    ignore_index=True,
)
p1, p2 = st.columns(2)
p1.metric(f"ResNet with L = {layers}", f"{paths['resnet_params']:,} parameters")
p2.metric("the vector field", f"{paths['field_params']:,} parameters")
show_chart(
    st,
    ("resnet_euler", "parameters", paths_key),
    lambda: charts.parameter_count_chart(param_frame, layers),
    width="stretch",
)

st.markdown(
    """
**References.** K. He, X. Zhang, S. Ren, J. Sun, *Deep Residual Learning for Image
Recognition*, 2015. R. T. Q. Chen, Y. Rubanova, J. Bettencourt, D. Duvenaud, *Neural Ordinary
Differential Equations*, NeurIPS 2018.
"""
)
