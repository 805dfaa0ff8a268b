"""Vanishing gradients, the degradation problem, and why a shortcut fixes both."""

import math

import numpy as np
import pandas as pd
import streamlit as st

import resode_core as rc
from resode_ui import resnet_charts as charts, teach, widgets as ui
from resode_ui.lessons import vanishing_gradients as vg

D = vg.VanishingSettings()  # the defaults


def layer_span(layers: np.ndarray) -> str:
    """1 -> "1"; 1, 2, 3, 4 -> "1–4"; 1, 3 -> "1, 3"."""
    if layers.size > 1 and layers[-1] - layers[0] == layers.size - 1:
        return f"{layers[0]}–{layers[-1]}"
    return ", ".join(str(layer) for layer in layers)


def sci(numerator: float, denominator: float) -> str:
    """numerator / denominator in scientific notation (float32 norms can be 0 or inf)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        value = float(np.float64(numerator) / denominator)
    return f"{value:.1e}" if math.isfinite(value) else "not finite"


st.title("Vanishing gradients")
st.markdown(
    "Training moves each layer's weights along the gradient of the loss, and back-propagation "
    "builds that gradient as a product of one factor per layer. Below, a deep **plain** net and "
    "a **ResNet** start from the same weights; only the ResNet's shortcut differs."
)
answer = teach.question(
    "vg_question",
    f"A plain net of L layers (the slider below) and one of {vg.REFERENCE_DEPTH} layers share "
    f"their first layers. Going from {vg.REFERENCE_DEPTH} layers to L, will the gradient "
    "that reaches **layer 1** at initialisation…",
    vg.QUESTION_OPTIONS,
)
with ui.controls():
    c1, c2, c3 = st.columns(3)
    depth = c1.slider(
        "depth L (layers)", 2, rc.ResNet.MAX_DEPTH, D.depth, key="vg_depth", **ui.BOUND
    )
    activation = c2.selectbox(
        "activation σ",
        list(vg.ACTIVATIONS),
        list(vg.ACTIVATIONS).index(D.activation),
        format_func=vg.ACTIVATIONS.get,
        key="vg_activation",
        **ui.BOUND,
    )
    init_scale = c3.slider(
        "initialisation scale",
        0.1,
        2.0,
        D.init_scale,
        0.05,
        key="vg_init_scale",
        help="Weights are drawn with standard deviation scale/√width; 1 is the LeCun/Glorot value.",
        **ui.BOUND,
    )

with ui.controls(st.sidebar):
    ui.preset_selector("vg", vg.PRESETS)
    st.subheader("Networks")
    width = st.select_slider("width", vg.WIDTHS, D.width, key="vg_width", **ui.BOUND)
    seed = st.slider("seed", 0, 20, D.seed, key="vg_seed", **ui.BOUND)
    branch = st.selectbox(
        "ResNet step h",
        list(vg.BRANCH_SCALES),
        list(vg.BRANCH_SCALES).index(D.branch),
        key="vg_branch",
        help="Scale of each residual branch. h = 1 is He et al.'s block; smaller h keeps the "
        "signal of a deep net without normalisation layers bounded (see 'ResNet = forward Euler').",
        **ui.BOUND,
    )
    show = st.radio(
        "show", vg.SHOWN, vg.SHOWN.index(D.show), horizontal=True, key="vg_show", **ui.BOUND
    )
    st.subheader("Training (Adam, full batch)")
    epochs = st.slider("epochs", 0, 1000, D.epochs, 50, key="vg_epochs", **ui.BOUND)
    learning_rate = st.select_slider(
        "learning rate",
        vg.RATES,
        D.learning_rate,
        format_func=lambda v: f"{v:g}",
        key="vg_learning_rate",
        **ui.BOUND,
    )
teach.glossary(
    "Glorot/LeCun initialisation",
    "critical initialisation",
    "normalisation layers",
    "residual block",
    where=st.sidebar,
)
ui.share_link(
    "The seed fixes the weights: the link rebuilds and retrains the same nets.", st.sidebar
)

settings = vg.VanishingSettings(
    depth, width, activation, init_scale, seed, branch, show, epochs, learning_rate
)
# The gradients at initialisation take milliseconds (a new depth compiles nothing): drawn
# first, and the training below fills the right-hand panel when it is done.
init = ui.result_of(vg.at_init, settings)


def shown(frame):
    """The rows of the networks chosen under 'show' (and the identity line, if any)."""
    return frame if show == "both" else frame[frame["network"].isin([show, "identity y = x"])]


def gradient_panel(where, frame: pd.DataFrame, stage: str, domain) -> None:
    """One stage's per-layer gradient norms, or why a log axis cannot show them."""
    panel = shown(frame)
    drawable = np.isfinite(panel["grad_norm"]) & (panel["grad_norm"] > 0)
    if drawable.any() and domain is not None:
        ui.chart(charts.grad_norm_chart, panel, stage, domain, depth, where=where)
    else:
        where.info(
            f"{stage.capitalize()}: no gradient norm here is a positive finite number, so a "
            "log axis has nothing to draw (they underflowed to 0 or overflowed).",
            icon=":material/info:",
        )


def underflow_note(grads: pd.DataFrame) -> str:
    """Which of the plain net's layers have a gradient of exactly 0, per stage ("" if none)."""
    plain_grads = grads[grads["network"] == "plain"]
    zero_layers = {  # per panel: the plain net's layers whose gradient is exactly 0
        stage: frame["layer"][frame["grad_norm"] <= 0].to_numpy()
        for stage, frame in plain_grads.groupby("stage", sort=False)
    }
    if not any(layers.size for layers in zero_layers.values()):
        return ""
    where = "; ".join(
        f"{stage}: layer{'s' if layers.size > 1 else ''} {layer_span(layers)}"
        for stage, layers in zero_layers.items()
        if layers.size
    )
    positive = plain_grads["grad_norm"][plain_grads["grad_norm"] > 0]
    smallest = (
        f" The smallest non-zero layer norm shown is {positive.min():.1e}." if len(positive) else ""
    )
    return (
        f"The plain net's gradient is exactly 0 in some layers ({where}): its entries fell "
        "below about 1.2 × 10⁻³⁸, the smallest normal float32, and underflow to zero; a log "
        f"axis cannot show them.{smallest}"
    )


def gradient_notes(grads: pd.DataFrame, zeros_slot, overflow_slot) -> None:
    """The underflow caption and the overflow warning for the gradients drawn so far, each in
    its placeholder (drawn again once the trained nets' gradients are in)."""
    note = underflow_note(grads)
    if note:
        zeros_slot.caption(note)
    if not np.all(np.isfinite(grads["grad_norm"])):
        overflow_slot.warning(
            "Some gradients are not finite: the signal grows layer after layer until float32 "
            "overflows (a ResNet with h = 1 grows fastest; a plain ReLU net explodes above scale "
            "√2). Choose a smaller initialisation scale or a smaller step h."
        )


# Placeholders: the right panel (and the notes that read both panels) are filled in after
# training, below, while everything at initialisation shows at once.
left, right = (column.empty() for column in st.columns(2))
gradient_panel(left, init.grads, vg.AT_INIT, init.grad_domain)
teach.reveal(answer, *vg.depth_answer(settings, init))
teach.what_you_should_see(
    vg.SHOULD_SEE,
    teach.matching_preset(vg.PRESETS, st.session_state.get("vg_preset"), settings.study),
)
st.caption(
    "Gradient norm per layer, ‖∂L/∂W_ℓ‖, of the deep plain net (red) and the ResNet (blue) "
    "with the same weights: left at initialisation, right after training. The vertical axis "
    "spans whole powers of ten chosen to hold both nets at initialisation at the depth "
    f"slider's two ends (2 and {rc.ResNet.MAX_DEPTH} layers) and the trained nets shown, so it "
    "stays put while L moves unless a trained net's gradient falls outside it."
)
zeros_slot, overflow_slot, after_slot = st.empty(), st.empty(), st.empty()
gradient_notes(init.grads, zeros_slot, overflow_slot)
plain, resnet = init.at_init("plain"), init.at_init("ResNet")
c1, c2, c3 = st.columns(3)
c1.metric("plain: first / last layer", sci(plain[0], plain[-1]))
c2.metric("ResNet: first / last layer", sci(resnet[0], resnet[-1]))
c3.metric(
    "first layer: plain / ResNet",
    sci(plain[0], resnet[0]) if resnet[0] > 0 else "—",
    help="How much weaker the gradient reaching layer 1 is without the shortcut (at initialisation).",
)

# Training: seconds on a fresh server, so its progress shows where its panel will be.
with right.container():
    result = ui.result_of(vg.lesson, settings.study, progress="Training three networks…")
trained_grads = result.grads[result.grads["stage"] != vg.AT_INIT]
gradient_panel(right, trained_grads, trained_grads["stage"].iloc[0], result.grad_domain)
if result.grad_domain != init.grad_domain:  # a trained net's gradient lies outside: one axis
    gradient_panel(left, init.grads, vg.AT_INIT, result.grad_domain)
gradient_notes(result.grads, zeros_slot, overflow_slot)
after_note = vg.after_training_note(settings, result)
if after_note:
    after_slot.caption(after_note)


@ui.fragment
def small_weights() -> None:
    """Its own section: moving the factor reruns only this part of the page."""
    factor = st.slider(
        "multiply every weight and bias by", 0.0, 1.0, vg.SHRINK, 0.01, key="vg_shrink", **ui.BOUND
    )
    shrink = vg.small_weights(settings.study, factor)
    c1, c2, c3 = st.columns(3)
    c1.metric(
        "plain: slope of the output", f"{shrink['slope']['plain']:.3f}", help="0 = constant map"
    )
    c2.metric(
        "ResNet: slope of the output", f"{shrink['slope']['ResNet']:.3f}", help="1 = identity"
    )
    c3.metric(
        "parameters (plain = ResNet)",
        f"{init.params['plain']:,} = {init.params['ResNet']:,}",
    )
    left, right = st.columns(2)
    ui.chart(charts.shrink_response_chart, shown(shrink["curves"]), shrink["y_domain"], where=left)
    ui.chart(charts.shrink_gain_chart, shown(shrink["gains"]), factor, where=right)
    st.caption(
        "Left: the first output coordinate as the input moves along the first axis, at the "
        "chosen factor, with the identity y = x (grey, dashed) underneath; the axis holds "
        "every factor's line. Right: the slope of that line for every factor from 0 to 1 "
        "(1 = identity, 0 = constant map)."
    )


with ui.more():
    st.header("1 · Why the gradient fades")
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

    Those layers then hardly learn, and extra depth stops helping. A **ResNet**
    block adds its layer to a shortcut, $x_\ell = x_{\ell-1} + h\,\sigma(W_\ell x_{\ell-1} + b_\ell)$,
    so each Jacobian is $I + h\,\operatorname{diag}\sigma'(\cdot)\,W_\ell$. The identity gives the
    gradient a path back to layer 1 that no small weight can close; large weights or a large $h$
    can still make the product grow instead (the ReLU preset with $h = 1$ shows it).

    Both nets share **the same weights** (same seed); only the shortcut differs. He et al.'s
    block has $h = 1$, and their networks contain normalisation layers, which we leave out; without
    them a deep stack with $h = 1$ can grow layer after layer, so we start at $h = 1/\sqrt L$: if
    the $L$ blocks' random updates were independent, they would add up to a change of about
    $\sqrt L \cdot h = 1$ whatever the depth (try the others in the sidebar). In the ODE view of
    the page "ResNet = forward Euler", $h$ is the step $\Delta t = T/L$; $h = 1/L$ is that with
    $T = 1$.

    The ratio *first / last* above measures how much the gradient fades on its way from the loss
    back to layer 1. With the defaults (tanh, scale 0.8, $L = 50$) each plain layer multiplies the
    gradient by roughly $0.8$ on average, so layer 1 receives about $0.8^{50} \approx 10^{-5}$ of
    what the last layer gets, while in the ResNet every layer gets a similar share. At scale 1, the
    critical value for tanh, the plain net's decay is much milder: try it, and try sigmoid
    ($\sigma' \le 1/4$), whose plain gradient fades so fast that near layer 1 it leaves float32's
    range. With $h = 1$ and ReLU the ResNet errs the other way: its signal and gradients *explode*.
    Normalisation layers, as in He et al.'s networks, are one way to keep them in range.
    """
    )

    st.header("2 · Deeper is worse — for plain nets")
    st.markdown(
        rf"""
    He et al. (2015, Fig. 1) found that a 56-layer plain network had a *higher training error*, and
    a higher test error, than a 20-layer one on CIFAR-10: the deeper net fits its own training data worse, so
    this is not overfitting but a failure of optimisation. (Their nets have normalisation layers,
    and they argue their gradients do not vanish; here, without them, vanishing gradients are one
    cause we can see.) We try the same comparison on a small regression task
    ($y = \tfrac12\sin(2Qx)$ with $Q$ orthogonal, $x$ uniform in $[-1, 1]^{{{width}}}$): a
    {vg.SHALLOW_DEPTH}-layer plain net, a {depth}-layer plain net and a {depth}-layer ResNet, all
    {width} units wide, trained with the same Adam settings on {vg.N_POINTS} points. Their loss on
    {vg.N_HELD_OUT} **held-out** points of the same task, which training never sees, plays the role
    of He et al.'s test error.
    """
    )
    if epochs == 0:
        st.info("Set epochs above 0 to train the networks.")
    else:
        train_finals, held_finals = (result.finals(points) for points in vg.POINTS)
        for column, name in zip(st.columns(len(train_finals)), train_finals.index, strict=True):
            column.metric(f"{name}: final training loss", f"{train_finals[name]:.2e}")
            column.metric(f"{name}: final held-out loss", f"{held_finals[name]:.2e}")
        ui.chart(charts.loss_curves_chart, result.losses)
        st.caption(
            "Solid: the loss on the training points; dashed: on the held-out points, with the "
            "same weights, before each epoch."
        )
        st.markdown(vg.degradation_verdict(result))
        resnet_note = vg.resnet_loss_note(settings, result)
        if resnet_note:
            st.markdown(resnet_note)
        st.caption(vg.overfit_note(result))
    if activation != "tanh":
        low, down = (
            ("−0.17", "down by at most 0.17·h") if activation == "gelu" else ("0", "only up")
        )
        st.caption(
            f"With {vg.ACTIVATIONS[activation]} every layer outputs values ≥ {low}, so the plain "
            f"nets cannot produce this task's targets below {low}, and a ResNet block can push a "
            f"coordinate {down}: the loss comparison is meant for tanh."
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

    The shortcut is an addition, nothing else: **no extra parameters**, and one vector addition
    per layer of extra work.
    """
    )

    small_weights()
    st.markdown(
        """
    **Reference.** K. He, X. Zhang, S. Ren, J. Sun, *Deep Residual Learning for Image
    Recognition*, 2015 (arXiv:1512.03385).
    """
    )
