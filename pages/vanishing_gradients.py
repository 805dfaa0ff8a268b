"""Vanishing gradients, the degradation problem, and why a shortcut fixes both."""

from resode_ui.frame import error_box, page_frame

page_frame()

import math  # noqa: E402

import jax.random as jr  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import streamlit as st  # noqa: E402

import resode_core as rc  # noqa: E402
from resode_ui import resnet_charts as charts, url_state as us  # noqa: E402
from resode_ui.chart_cache import show_chart  # noqa: E402

N_POINTS = 32  # regression samples: small, so a slider move retrains in well under a second
SHALLOW_DEPTH = 4
SHALLOW_MAX_DEPTH = 8  # its own small layer stack: four layers need not pay for 128
BRANCH_SCALES = {
    "h = 1/√L": lambda depth: 1.0 / math.sqrt(depth),
    "h = 1/L": lambda depth: 1.0 / depth,
    "h = 1 (He et al.)": lambda depth: 1.0,
}
ACTIVATION_LABELS = {"tanh": "tanh", "sigmoid": "sigmoid", "relu": "ReLU", "gelu": "GELU"}
SHRINK_SWEEP = np.linspace(0.0, 1.0, 21)
LINE_S = np.linspace(-2.0, 2.0, 41)
RATES = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2)
# The page's settings as they appear in its address (see resode_ui/url_state.py).
STATE = us.PageState(
    "vg",
    [
        us.Int("vg_depth", 50, 2, rc.DEFAULT_MAX_DEPTH),
        us.Choice("vg_width", 16, (4, 8, 16, 32)),
        us.Choice("vg_activation", "tanh", tuple(ACTIVATION_LABELS)),
        us.Float("vg_init_scale", 0.8, 0.1, 2.0, 0.05),
        us.Int("vg_seed", 0, 0, 20),
        us.Choice(
            "vg_branch",
            "h = 1/√L",
            tuple(BRANCH_SCALES),
            tokens={"h = 1/√L": "sqrt", "h = 1/L": "inv", "h = 1 (He et al.)": "one"},
        ),
        us.Choice("vg_show", "both", ("both", "plain", "ResNet")),
        us.Int("vg_epochs", 300, 0, 1000, 50),
        us.Choice("vg_learning_rate", 3e-3, RATES),
        us.Float("vg_shrink", 0.1, 0.0, 1.0, 0.01),
    ],
    presets=[
        us.Preset(
            "depth50",
            "Vanishing gradients at depth 50",
            {"vg_depth": 50, "vg_activation": "tanh", "vg_init_scale": 0.8},
        ),
        us.Preset(
            "sigmoid", "Sigmoid: the plain gradient underflows to 0", {"vg_activation": "sigmoid"}
        ),
        us.Preset(
            "critical", "Critical initialisation (scale 1): a milder decay", {"vg_init_scale": 1.0}
        ),
        us.Preset(
            "explode",
            "He et al.'s h = 1 with ReLU: without normalisation the ResNet explodes",
            {"vg_branch": "h = 1 (He et al.)", "vg_activation": "relu"},
        ),
        us.Preset(
            "depth128",
            "Depth 128: plain vs ResNet after training",
            {"vg_depth": 128, "vg_epochs": 500},
        ),
    ],
)


@st.cache_data(show_spinner=False, max_entries=64)
def gradient_study(
    depth: int,
    width: int,
    activation: str,
    init_scale: float,
    seed: int,
    branch: str,
    epochs: int,
    learning_rate: float,
) -> dict:
    """Per-layer gradients before and after training, and the three loss curves."""
    x, y = rc.regression_task(width, N_POINTS, seed=0)
    key = jr.PRNGKey(seed)
    step = BRANCH_SCALES[branch](depth)
    nets = {
        "plain": rc.PlainNet(depth, width, key=key, activation=activation, init_scale=init_scale),
        "ResNet": rc.ResNet(
            depth, width, step, key=key, activation=activation, init_scale=init_scale
        ),
    }
    shallow = rc.PlainNet(
        SHALLOW_DEPTH,
        width,
        key=key,
        max_depth=SHALLOW_MAX_DEPTH,
        activation=activation,
        init_scale=init_scale,
    )
    grad_rows, loss_rows = [], []
    for name, net in nets.items():
        trained, losses = rc.train_deep_net(net, x, y, epochs=epochs, learning_rate=learning_rate)
        for stage, model in (("at initialisation", net), (f"after {epochs} epochs", trained)):
            norms = rc.layer_grad_norms(model, x, y)
            grad_rows.append(
                pd.DataFrame(
                    {
                        "layer": np.arange(1, depth + 1),
                        "grad_norm": norms,
                        "network": name,
                        "stage": stage,
                    }
                )
            )
        label = "deep plain" if name == "plain" else "deep ResNet"
        loss_rows.append(
            pd.DataFrame({"epoch": np.arange(len(losses)), "loss": losses, "network": label})
        )
    _, shallow_losses = rc.train_deep_net(shallow, x, y, epochs=epochs, learning_rate=learning_rate)
    loss_rows.insert(
        0,
        pd.DataFrame(
            {
                "epoch": np.arange(len(shallow_losses)),
                "loss": shallow_losses,
                "network": "shallow plain",
            }
        ),
    )
    return {
        "grads": pd.concat(grad_rows, ignore_index=True),
        "losses": pd.concat(loss_rows, ignore_index=True),
        "branch_step": step,
        "params_plain": rc.param_count(nets["plain"]),
        "params_resnet": rc.param_count(nets["ResNet"]),
    }


@st.cache_data(show_spinner=False, max_entries=64)
def shrink_study(
    depth: int,
    width: int,
    activation: str,
    init_scale: float,
    seed: int,
    branch: str,
    factor: float,
) -> dict:
    """Outputs along x = (s, 0, …, 0) with all weights multiplied by `factor`, and a sweep."""
    key = jr.PRNGKey(seed)
    step = BRANCH_SCALES[branch](depth)
    nets = {
        "plain": rc.PlainNet(depth, width, key=key, activation=activation, init_scale=init_scale),
        "ResNet": rc.ResNet(
            depth, width, step, key=key, activation=activation, init_scale=init_scale
        ),
    }
    xs = np.zeros((len(LINE_S), width))
    xs[:, 0] = LINE_S
    factors = np.concatenate([[factor], SHRINK_SWEEP])
    curves, gains = [], []
    for name, net in nets.items():
        outputs = rc.shrunk_outputs(net, xs, factors)[:, :, 0]  # (factors, points)
        curves.append(pd.DataFrame({"s": LINE_S, "output": outputs[0], "network": name}))
        slopes = np.polyfit(LINE_S, outputs[1:].T, 1)[0]  # least-squares slope per factor
        gains.append(pd.DataFrame({"factor": SHRINK_SWEEP, "gain": slopes, "network": name}))
    curves.append(pd.DataFrame({"s": LINE_S, "output": LINE_S, "network": "identity y = x"}))
    chosen = {
        name: float(np.polyfit(LINE_S, df["output"].to_numpy(), 1)[0])
        for name, df in zip(nets, curves, strict=False)
    }
    spread = {
        name: float(np.ptp(df["output"].to_numpy())) for name, df in zip(nets, curves, strict=False)
    }
    return {
        "curves": pd.concat(curves, ignore_index=True),
        "gains": pd.concat(gains, ignore_index=True),
        "slope": chosen,
        "spread": spread,
    }


def _sci(value: float) -> str:
    if not math.isfinite(value):
        return "not finite"
    return f"{value:.1e}"


st.title("Vanishing gradients")
STATE.sync()
st.markdown(
    r"""
Training moves each layer's weights $\mathbf W_\ell = (W_\ell, b_\ell)$ along
$-\partial\mathcal L/\partial \mathbf W_\ell$. Back-propagation computes that gradient as a
product of one Jacobian per layer between $\ell$ and the loss. In a **plain** net,
$x_\ell = \sigma(W_\ell x_{\ell-1} + b_\ell)$, every factor is
$\operatorname{diag}\sigma'(\cdot)\,W_\ell$; if these factors are a little smaller than one,
their product shrinks *geometrically* with the number of layers in between, and

$$
\Big\|\frac{\partial \mathcal L}{\partial \mathbf W_\ell}\Big\| \ll 1 \quad\text{for the first layers } \ell \le \bar\ell .
$$

Those layers then hardly learn: extra depth stops helping and can even hurt. A **ResNet**
block adds its layer to a shortcut, $x_\ell = x_{\ell-1} + h\,\sigma(W_\ell x_{\ell-1} + b_\ell)$,
so each Jacobian is $I + h\,\operatorname{diag}\sigma'(\cdot)\,W_\ell$: the identity carries the
gradient back to layer 1 whatever the weights do.

Below, both nets share **the same weights** (same seed); only the shortcut differs. He et al.'s
block has $h = 1$ and relies on normalisation layers, which we leave out; without them a deep
stack with $h = 1$ grows layer after layer, so we start at $h = 1/\sqrt L$ (try the others in
the sidebar; $h$ is the $\Delta t$ of the page "ResNet = forward Euler").
"""
)

with st.sidebar:
    STATE.controls()
    st.subheader("Networks")
    depth = STATE.widget(st.slider, "depth L (layers)", 2, rc.DEFAULT_MAX_DEPTH, key="vg_depth")
    width = STATE.widget(st.select_slider, "width", options=[4, 8, 16, 32], key="vg_width")
    activation = STATE.widget(
        st.selectbox,
        "activation σ",
        list(ACTIVATION_LABELS),
        format_func=ACTIVATION_LABELS.get,
        key="vg_activation",
    )
    init_scale = STATE.widget(
        st.slider,
        "initialisation scale",
        0.1,
        2.0,
        step=0.05,
        key="vg_init_scale",
        help="Weights are drawn with standard deviation scale/√width; 1 is the LeCun/Glorot value.",
    )
    seed = STATE.widget(st.slider, "seed", 0, 20, key="vg_seed")
    branch = STATE.widget(
        st.selectbox,
        "ResNet step h",
        list(BRANCH_SCALES),
        key="vg_branch",
        help="Scale of each residual branch. h = 1 is He et al.'s block; smaller h keeps the "
        "signal of a deep net without normalisation layers bounded (see 'ResNet = forward Euler').",
    )
    show = STATE.widget(
        st.radio, "show", ["both", "plain", "ResNet"], horizontal=True, key="vg_show"
    )
    st.subheader("Training (Adam, full batch)")
    epochs = STATE.widget(st.slider, "epochs", 0, 1000, step=50, key="vg_epochs")
    learning_rate = STATE.widget(
        st.select_slider,
        "learning rate",
        options=RATES,
        format_func=lambda v: f"{v:g}",
        key="vg_learning_rate",
    )
    STATE.share_note()

try:
    with st.spinner("Computing gradients and training three networks…"):
        study = gradient_study(
            depth, width, activation, init_scale, seed, branch, epochs, learning_rate
        )
except ValueError as exc:
    error_box(str(exc))
    st.stop()

# Charts of cached results are converted once (resode_ui/chart_cache.py).
study_key = (depth, width, activation, init_scale, seed, branch, epochs, learning_rate)
grads = study["grads"]
at_init = grads[grads["stage"] == "at initialisation"]


def _ratio(network: str, frame: pd.DataFrame) -> float:
    norms = frame[frame["network"] == network]["grad_norm"].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(norms[0] / norms[-1])


st.header("1 · Gradient per layer")
first_plain = float(at_init[at_init["network"] == "plain"]["grad_norm"].iloc[0])
first_resnet = float(at_init[at_init["network"] == "ResNet"]["grad_norm"].iloc[0])
c1, c2, c3 = st.columns(3)
c1.metric("plain: first / last layer", _sci(_ratio("plain", at_init)))
c2.metric("ResNet: first / last layer", _sci(_ratio("ResNet", at_init)))
c3.metric(
    "first layer: plain / ResNet",
    _sci(first_plain / first_resnet) if first_resnet > 0 else "—",
    help="How much weaker the gradient reaching layer 1 is without the shortcut (at initialisation).",
)
shown_grads = grads if show == "both" else grads[grads["network"] == show]
y_domain = charts.log_domain(shown_grads["grad_norm"])
left, right = st.columns(2)
for column, stage in zip((left, right), shown_grads["stage"].unique(), strict=True):
    show_chart(
        column,
        ("vanishing_gradients", "gradients", study_key, show, stage),
        lambda stage=stage: charts.grad_norm_chart(
            shown_grads[shown_grads["stage"] == stage], stage, y_domain
        ),
        width="stretch",
    )
underflow = at_init[(at_init["network"] == "plain") & (at_init["grad_norm"] <= 0)]
if len(underflow):
    st.caption(
        f"The plain net's gradient is exactly 0 in float32 (underflow) for layers "
        f"1–{int(underflow['layer'].max())}; a log axis cannot show them."
    )
if not np.all(np.isfinite(grads["grad_norm"])):
    st.warning(
        "Some gradients are not finite: the signal grows layer after layer until float32 "
        "overflows (a ResNet with h = 1 grows fastest; a plain ReLU net explodes above scale "
        "√2). Choose a smaller initialisation scale or a smaller step h."
    )
st.markdown(
    r"""
The ratio *first / last* measures how much the gradient fades on its way from the loss back
to layer 1. With the defaults (tanh, scale 0.8, $L = 50$) each plain layer multiplies the
gradient by roughly $0.8$, so layer 1 receives about $0.8^{50} \approx 10^{-5}$ of what the last
layer gets, while in the ResNet every layer gets a similar share. At scale 1, the critical
value for tanh, the plain net's decay is much milder: try it, and try sigmoid ($\sigma' \le 1/4$),
for which the gradient underflows to zero. With $h = 1$ and ReLU the ResNet errs the other way:
its signal and gradients *explode*, which is why real ResNets add normalisation layers.
"""
)

st.header("2 · Deeper is worse — for plain nets")
st.markdown(
    rf"""
He et al. (2015) noticed that a deeper plain network can have a *higher training error*
than a shallower one: not overfitting, an optimisation failure. We reproduce it on a small
regression task ($y = \tfrac12\sin(2Qx)$ with $Q$ orthogonal, {N_POINTS} points in
$\mathbb R^{{{width}}}$): a {SHALLOW_DEPTH}-layer plain net, a {depth}-layer plain net and a
{depth}-layer ResNet, all {width} units wide, trained with the same Adam settings.
"""
)
losses = study["losses"]
finals = losses.groupby("network", sort=False)["loss"].last()
if len(finals):
    cols = st.columns(len(finals))
    for col, (name, value) in zip(cols, finals.items(), strict=True):
        col.metric(f"{name}: final loss", f"{value:.2e}")
if epochs == 0:
    st.info("Set epochs above 0 to train the networks.")
else:
    show_chart(
        st,
        ("vanishing_gradients", "losses", study_key),
        lambda: charts.loss_curves_chart(losses),
        width="stretch",
    )
if activation != "tanh":
    st.caption(
        f"With {ACTIVATION_LABELS[activation]} every layer outputs values ≥ 0 (or ≥ −0.17 for "
        "GELU), so the plain nets cannot produce this task's negative targets and a ResNet "
        "block can only push coordinates one way: the loss comparison is meant for tanh."
    )

st.header("3 · Small weights: null map or identity")
st.markdown(
    r"""
The notes ask for an architecture whose gradients stay comparable across layers,
$\|\partial\mathcal L/\partial\mathbf W_{\ell+1}\| \approx \|\partial\mathcal L/\partial\mathbf W_1\|$.
A way to see what the shortcut buys: let all weights go to zero. A plain net then forgets
its input, $x \mapsto \sigma(0)$ is a constant (the **null map**), whose gradient with respect
to earlier layers is zero. A ResNet becomes $x \mapsto x + L\,h\,\sigma(0)$, the **identity**
(for tanh and ReLU, where $\sigma(0) = 0$; sigmoid adds a constant shift). So learning starts
from "pass the input on" and each block only has to learn a correction $\mathcal F(x)$ with
$x_\ell = \mathcal F(x_{\ell-1}) + x_{\ell-1}$ — the residual.

The shortcut is an addition, nothing else: **no extra parameters** and a negligible extra cost.
"""
)
factor = STATE.widget(
    st.slider, "multiply every weight and bias by", 0.0, 1.0, step=0.01, key="vg_shrink"
)
try:
    shrink = shrink_study(depth, width, activation, init_scale, seed, branch, factor)
except ValueError as exc:
    error_box(str(exc))
    st.stop()
c1, c2, c3 = st.columns(3)
c1.metric("plain: slope of the output", f"{shrink['slope']['plain']:.3f}", help="0 = constant map")
c2.metric("ResNet: slope of the output", f"{shrink['slope']['ResNet']:.3f}", help="1 = identity")
c3.metric(
    "parameters (plain = ResNet)",
    f"{study['params_plain']:,} = {study['params_resnet']:,}",
)
left, right = st.columns(2)
curves = shrink["curves"]
gains = shrink["gains"]
if show != "both":
    curves = curves[curves["network"].isin([show, "identity y = x"])]
    gains = gains[gains["network"] == show]
shrink_key = (depth, width, activation, init_scale, seed, branch, factor, show)
show_chart(
    left,
    ("vanishing_gradients", "shrink-response", shrink_key),
    lambda: charts.shrink_response_chart(curves),
    width="stretch",
)
show_chart(
    right,
    ("vanishing_gradients", "shrink-gain", shrink_key),
    lambda: charts.shrink_gain_chart(gains, factor),
    width="stretch",
)
st.caption(
    "Left: the first output coordinate as the input moves along the first axis, at the chosen "
    "factor. Right: the slope of that line for every factor from 0 to 1 (1 = identity, "
    "0 = constant map)."
)

st.markdown(
    """
**Reference.** K. He, X. Zhang, S. Ren, J. Sun, *Deep Residual Learning for Image
Recognition*, 2015 (arXiv:1512.03385).
"""
)
