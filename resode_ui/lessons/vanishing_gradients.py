"""Vanishing gradients: a deep plain net and a ResNet with the same weights, layer by layer."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass

import jax.random as jr
import numpy as np
import pandas as pd
import streamlit as st

import resode_core as rc
from resode_ui import chart_parts as cp, resnet_charts as charts, training

N_POINTS = 32  # regression samples: small, so a slider move retrains in well under a second
N_HELD_OUT = 128  # points of the same task kept out of training, for the held-out loss
REFERENCE_DEPTH = 10  # the question compares the plain net's layer 1 at this depth and at L
SAME_FACTOR = 2.0  # gradients within this factor count as "about the same"
LOSS_FACTOR = 1.25  # final losses within this factor count as level with each other
SHALLOW_DEPTH = 4
SHALLOW_MAX_DEPTH = 8  # its own small layer stack: four layers need not pay for 128
BRANCH_SCALES = {
    "h = 1/√L": lambda depth: 1.0 / math.sqrt(depth),
    "h = 1/L": lambda depth: 1.0 / depth,
    "h = 1 (He et al.)": lambda depth: 1.0,
}
ACTIVATIONS = {"tanh": "tanh", "sigmoid": "sigmoid", "relu": "ReLU", "gelu": "GELU"}
WIDTHS = (4, 8, 16, 32)
SHOWN = ("both", "plain", "ResNet")
RATES = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2)
LOSS_LABELS = {"shallow": "shallow plain", "plain": "deep plain", "ResNet": "deep ResNet"}
POINTS = ("training", "held-out")  # the two loss curves of each network
QUESTION_OPTIONS = ("grow", f"stay about the same (within a factor {SAME_FACTOR:g})", "shrink")
SHRINK = 0.1  # the default weight factor of the small-weights section
SHRINK_SWEEP = np.linspace(0.0, 1.0, 21)
LINE_S = np.linspace(-2.0, 2.0, 41)
AT_INIT = "at initialisation"


@dataclass(frozen=True)
class VanishingSettings:
    """The page's sidebar (widget keys `vg_<field>`)."""

    depth: int = 50
    width: int = 16
    activation: str = "tanh"
    init_scale: float = 0.8
    seed: int = 0
    branch: str = "h = 1/√L"
    show: str = "both"
    epochs: int = 300
    learning_rate: float = 3e-3

    @property
    def step(self) -> float:
        """The ResNet's step h for this depth."""
        return BRANCH_SCALES[self.branch](self.depth)

    @property
    def study(self) -> VanishingSettings:
        """The settings that determine the computation (which nets are shown does not)."""
        return dataclasses.replace(self, show=SHOWN[0])

    @property
    def init_study(self) -> VanishingSettings:
        """The settings that determine the gradients at initialisation (training does not)."""
        return dataclasses.replace(
            self.study, epochs=DEFAULTS.epochs, learning_rate=DEFAULTS.learning_rate
        )


DEFAULTS = VanishingSettings()
PRESETS = {
    "Default settings": VanishingSettings(),
    "Vanishing gradients at depth 50": VanishingSettings(),
    "Sigmoid: the plain gradient underflows to 0": VanishingSettings(activation="sigmoid"),
    "Critical initialisation (scale 1): a milder decay": VanishingSettings(init_scale=1.0),
    "He et al.'s h = 1 with ReLU: without normalisation the ResNet explodes": VanishingSettings(
        branch="h = 1 (He et al.)", activation="relu"
    ),
    "Depth 128: plain vs ResNet after training": VanishingSettings(depth=128, epochs=500),
}


# What each preset shows; every fact here is checked in tests/test_lesson_resnet_pages.py.
SHOULD_SEE = {
    "Default settings": "Left panel: at initialisation the plain net's gradient (red) fades "
    "from layer 50 down to layer 1 by about five powers of ten, while the ResNet's (blue) stays "
    "level. Section 2 below shows what that costs: the 50-layer plain net ends well above the "
    "4-layer one (grey) on the training points (solid) and also on the held-out points "
    "(dashed), as in He et al.'s Fig. 1, while the 50-layer ResNet, the same weights plus "
    "shortcuts, ends lowest of the three on the training points.",
    "Vanishing gradients at depth 50": "Look at the left panel of section 1: at initialisation "
    "the plain net's gradient (red) at layer 1 is about 10⁻⁵ of its value at layer 50, while "
    "the ResNet's (blue) is about the same at both ends (first / last between 0.5 and 2).",
    "Sigmoid: the plain gradient underflows to 0": "In section 1 the plain net's gradient at "
    "initialisation is exactly 0 at layer 1 (the caption under the charts names the layers): "
    "it fell below float32's range. In section 2 both plain nets end within 5% of the loss of "
    "the best constant prediction (each output the mean of its training targets), and the "
    "sigmoid ResNet ends higher still.",
    "Critical initialisation (scale 1): a milder decay": "At scale 1 the plain net's first / "
    "last ratio in section 1 is about 0.1, not the defaults' 10⁻⁵: the gradient still fades "
    "with depth, but mildly. In section 2 the deep plain net still ends above the shallow one "
    "on the training points.",
    "He et al.'s h = 1 with ReLU: without normalisation the ResNet explodes": "In section 1 the "
    "ResNet's gradients at initialisation are of order 10¹² in every layer (the defaults' "
    "h = 1/√L gives between 10⁻² and 10⁻¹). In section 2 its training loss starts above 10⁹ "
    "and is still above 10⁵ after training, thousands of times the plain nets' losses.",
    "Depth 128: plain vs ResNet after training": "After 500 epochs the 128-layer plain net's "
    "training loss is within 5% of where it started: at initialisation its layer-1 gradient "
    "is below 10⁻¹² of its last layer's (section 1). The 128-layer ResNet ends lowest of the "
    "three on the training points.",
}


def _net(s: VanishingSettings, name: str) -> rc.PlainNet | rc.ResNet:
    """One of `nets(s)`, built alone (a page that needs two nets does not build four)."""
    common = {"key": jr.PRNGKey(s.seed), "activation": s.activation, "init_scale": s.init_scale}
    if name == "shallow":
        return rc.PlainNet(SHALLOW_DEPTH, s.width, max_depth=SHALLOW_MAX_DEPTH, **common)
    if name == "plain":
        return rc.PlainNet(s.depth, s.width, **common)
    if name == "ResNet":
        return rc.ResNet(s.depth, s.width, s.step, **common)
    return rc.PlainNet(REFERENCE_DEPTH, s.width, **common)  # "reference"


def nets(s: VanishingSettings) -> dict[str, rc.PlainNet | rc.ResNet]:
    """The deep plain net and ResNet (same seed: same weights, only the shortcut differs),
    the shallow plain net of the degradation experiment, and the question's reference: a
    REFERENCE_DEPTH-layer plain net whose layers are the deep plain net's first ones (the
    layers are stacked to the same max depth, so it reuses the deep net's compiled programs)."""
    return {name: _net(s, name) for name in ("shallow", "plain", "ResNet", "reference")}


def task(width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Training x, y (N_POINTS) and held-out x, y (N_HELD_OUT) of one regression task: one
    draw of N_POINTS + N_HELD_OUT independent points, split, so both come from the same
    teacher and the same input distribution and no held-out point is a training point."""
    x, y = (np.asarray(a) for a in rc.regression_task(width, N_POINTS + N_HELD_OUT, seed=0))
    return x[:N_POINTS], y[:N_POINTS], x[N_POINTS:], y[N_POINTS:]


# ----------------------------------------------------------------------------- the lesson


def _grad_rows(norms: np.ndarray, network: str, stage: str) -> pd.DataFrame:
    layers = np.arange(1, norms.size + 1)
    return pd.DataFrame({"layer": layers, "grad_norm": norms, "network": network, "stage": stage})


@dataclass(frozen=True)
class InitResult:
    """What the page shows before any training: both deep nets at initialisation."""

    grads: pd.DataFrame  # layer, grad_norm, network (plain, ResNet), stage (AT_INIT)
    params: dict[str, int]  # trainable parameters of the deep plain net and ResNet
    reference_grad: float  # ‖∂L/∂W_1‖ of the REFERENCE_DEPTH-layer plain net
    ends: np.ndarray  # every layer's norm of both nets with 2 and MAX_DEPTH layers
    # The gradient axis: whole decades (and one spare below) that hold these gradients and
    # `ends`, the depth slider's two ends, so that it stays put as the depth moves.
    grad_domain: tuple[float, float] | None

    def at_init(self, network: str) -> np.ndarray:
        """‖∂L/∂W_ℓ‖ of one deep net at initialisation, layer 1 first."""
        return self.grads[self.grads["network"] == network]["grad_norm"].to_numpy()


def _grad_domain(*norms: np.ndarray) -> tuple[float, float] | None:
    domain = cp.log_domain(np.concatenate(norms))
    return None if domain is None else (domain[0] / 10, domain[1])  # a decade spare below


@st.cache_data(show_spinner=False, max_entries=64)
def _slider_ends(s: VanishingSettings) -> np.ndarray:
    """Both nets at initialisation with 2 and MAX_DEPTH layers (s.depth is not used)."""
    x, y, _, _ = task(s.width)
    return np.concatenate(
        [
            rc.layer_grad_norms(_net(dataclasses.replace(s, depth=depth), name), x, y)
            for depth in (2, rc.ResNet.MAX_DEPTH)
            for name in ("plain", "ResNet")
        ]
    )


@st.cache_data(show_spinner=False, max_entries=256)
def _at_init(s: VanishingSettings) -> InitResult:
    x, y, _, _ = task(s.width)
    built = {name: _net(s, name) for name in ("plain", "ResNet", "reference")}
    norms = {name: rc.layer_grad_norms(built[name], x, y) for name in built}
    ends = _slider_ends(dataclasses.replace(s, depth=DEFAULTS.depth))
    return InitResult(
        pd.concat(
            [_grad_rows(norms[n], n, AT_INIT) for n in ("plain", "ResNet")], ignore_index=True
        ),
        {name: rc.param_count(built[name]) for name in ("plain", "ResNet")},
        float(norms["reference"][0]),
        ends,
        _grad_domain(norms["plain"], norms["ResNet"], ends),
    )


def at_init(s: VanishingSettings) -> InitResult:
    """Per-layer gradients of both deep nets at initialisation, and the question's reference:
    milliseconds once an activation's program is compiled, no training (cached on the
    settings that matter)."""
    return _at_init(s.init_study)


@dataclass(frozen=True)
class TrainedNet:
    losses: pd.DataFrame  # epoch, loss, network (LOSS_LABELS), points (POINTS)
    grads: np.ndarray | None  # ‖∂L/∂W_ℓ‖ after training (None for the shallow net)


def _training_study(s: VanishingSettings, name: str) -> VanishingSettings:
    """The settings one net's training depends on: the shallow net has no depth or step, the
    plain net no step (so a depth move does not retrain the shallow net)."""
    s = s.study
    if name == "shallow":
        s = dataclasses.replace(s, depth=DEFAULTS.depth)
    if name != "ResNet":
        s = dataclasses.replace(s, branch=DEFAULTS.branch)
    return s


@st.cache_data(show_spinner=False, max_entries=192)
def _trained(s: VanishingSettings, name: str) -> TrainedNet:
    x, y, x_held, y_held = task(s.width)
    trained, curve, held_curve = rc.train_deep_net(
        _net(s, name),
        x,
        y,
        epochs=s.epochs,
        learning_rate=s.learning_rate,
        held_out=(x_held, y_held),
    )
    losses = pd.concat(
        [
            pd.DataFrame(
                {
                    "epoch": np.arange(len(values)),
                    "loss": values,
                    "network": LOSS_LABELS[name],
                    "points": points,
                }
            )
            for points, values in zip(POINTS, (curve, held_curve), strict=True)
        ],
        ignore_index=True,
    )
    grads = None if name == "shallow" else rc.layer_grad_norms(trained, x, y)
    return TrainedNet(losses, grads)


@dataclass(frozen=True)
class VanishingResult:
    grads: pd.DataFrame  # layer, grad_norm, network (plain, ResNet), stage
    # epoch, loss, network (LOSS_LABELS), points (POINTS): each net's loss on its training
    # points and on the held-out points, with the same parameters, before each epoch
    losses: pd.DataFrame
    params: dict[str, int]  # trainable parameters of the deep plain net and ResNet
    reference_grad: float  # ‖∂L/∂W_1‖ of the REFERENCE_DEPTH-layer plain net, at initialisation
    # The gradient axis: whole decades (and one spare below) that hold these gradients and
    # those of both nets at initialisation with 2 and with MAX_DEPTH layers, the depth
    # slider's ends, so that it stays put as the depth moves.
    grad_domain: tuple[float, float] | None

    def at_init(self, network: str) -> np.ndarray:
        """‖∂L/∂W_ℓ‖ of one deep net at initialisation, layer 1 first."""
        g = self.grads
        return g[(g["network"] == network) & (g["stage"] == AT_INIT)]["grad_norm"].to_numpy()

    def after(self, network: str) -> np.ndarray:
        """‖∂L/∂W_ℓ‖ of one deep net after training, layer 1 first."""
        g = self.grads
        return g[(g["network"] == network) & (g["stage"] != AT_INIT)]["grad_norm"].to_numpy()

    def starts(self, points: str = "training") -> pd.Series:
        """The loss of each network (LOSS_LABELS order) on `points` before training."""
        rows = self.losses[(self.losses["points"] == points) & (self.losses["epoch"] == 0)]
        return rows.set_index("network")["loss"]

    def finals(self, points: str) -> pd.Series:
        """The last recorded loss of each network (LOSS_LABELS order) on `points`."""
        rows = self.losses[self.losses["points"] == points]
        return rows.groupby("network", sort=False)["loss"].last()


def lesson(
    s: VanishingSettings, progress: Callable[[float, str], None] | None = None
) -> VanishingResult:
    """Per-layer gradients before and after training, the three nets' training and held-out
    loss curves, and the question's reference gradient; `progress(fraction, text)` before
    each net's training (a page's progress bar: each net is cached on its own)."""
    init = at_init(s)
    runs = {}
    for i, (name, label) in enumerate(LOSS_LABELS.items()):
        if progress is not None:
            progress(i / len(LOSS_LABELS), f"Training the {label} net ({s.epochs} epochs)…")
        runs[name] = _trained(_training_study(s, name), name)
    grads = pd.concat(
        [
            frame
            for name in ("plain", "ResNet")
            for frame in (
                _grad_rows(init.at_init(name), name, AT_INIT),
                _grad_rows(runs[name].grads, name, f"after {s.epochs} epochs"),
            )
        ],
        ignore_index=True,
    )
    return VanishingResult(
        grads,
        pd.concat([run.losses for run in runs.values()], ignore_index=True),
        init.params,
        init.reference_grad,
        _grad_domain(grads["grad_norm"].to_numpy(), init.ends),
    )


def depth_answer(s: VanishingSettings, result: InitResult | VanishingResult) -> tuple[str, str]:
    """The question's answer (one of QUESTION_OPTIONS) and the sentence that shows it."""
    reference, deep = np.float64(result.reference_grad), np.float64(result.at_init("plain")[0])
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = deep / reference
    if np.isnan(ratio):  # both 0 or both infinite: nothing to compare
        truth = QUESTION_OPTIONS[1]
    elif ratio > SAME_FACTOR:
        truth = QUESTION_OPTIONS[0]
    elif ratio < 1 / SAME_FACTOR:
        truth = QUESTION_OPTIONS[2]
    else:
        truth = QUESTION_OPTIONS[1]
    if np.isfinite(ratio) and ratio > 0:
        change = f", {ratio:.1e} times the {REFERENCE_DEPTH}-layer value"
    elif deep == 0:
        change = " (it underflows to 0 in float32)"
    else:
        change = ""
    observed = (
        f"At initialisation the plain net's layer-1 gradient is {reference:.1e} with "
        f"{REFERENCE_DEPTH} layers and {deep:.1e} with {s.depth}{change}."
    )
    return truth, observed


def _compare(a: float, b: float) -> str:
    """'above', 'below' or 'level with': a against b, within LOSS_FACTOR counts as level."""
    if a > LOSS_FACTOR * b:
        return "above"
    if a * LOSS_FACTOR < b:
        return "below"
    return "level with"


def _resnet_rank(shallow: float, deep: float, resnet: float) -> str:
    """Where the deep ResNet's loss ends against the two plain nets' (LOSS_FACTOR = level)."""
    against_shallow, against_deep = _compare(resnet, shallow), _compare(resnet, deep)
    if against_shallow == against_deep == "below":
        return "ends lowest of the three"
    if against_deep == "below":
        return f"beats the deep plain net and ends {against_shallow} the shallow one"
    return f"ends {against_deep} the deep plain net"


def degradation_verdict(result: VanishingResult) -> str:
    """One sentence on the three final losses, on the training and on the held-out points."""
    train, held = (result.finals(points) for points in POINTS)
    shallow, deep, resnet = (train[label] for label in LOSS_LABELS.values())
    h_shallow, h_deep, h_resnet = (held[label] for label in LOSS_LABELS.values())
    on_train, on_held = _compare(deep, shallow), _compare(h_deep, h_shallow)
    if on_train == "above" and on_held == "above":
        plain = (
            f"above the shallow one on both the training points ({deep:.2e} against "
            f"{shallow:.2e}) and the held-out points ({h_deep:.2e} against {h_shallow:.2e}): "
            "the degradation He et al. saw in training and test error"
        )
    else:
        plain = (
            f"{on_train} the shallow one on the training points ({deep:.2e} against "
            f"{shallow:.2e}) and {on_held} it on the held-out points ({h_deep:.2e} against "
            f"{h_shallow:.2e})"
        )
        plain += (
            ": the degradation He et al. saw, in training error"
            if on_train == "above"
            else ": no degradation of the training error at these settings"
        )
    rank_train, rank_held = (
        _resnet_rank(shallow, deep, resnet),
        _resnet_rank(h_shallow, h_deep, h_resnet),
    )
    if rank_train == rank_held:
        resnet_text = f"the deep ResNet {rank_train}, on the training and the held-out points"
    else:
        resnet_text = (
            f"the deep ResNet {rank_train} on the training points and {rank_held} on the "
            "held-out points"
        )
    return f"**With these settings** the deep plain net ends {plain}; {resnet_text}."


def resnet_loss_note(s: VanishingSettings, result: VanishingResult) -> str:
    """Why the deep ResNet ends above the deep plain net, from its losses ("" when it does
    not): where it starts, where it ends and, for sigmoid, the shift its blocks add."""
    if s.epochs == 0:
        return ""
    start, end = result.starts(), result.finals("training")
    resnet, plain, shallow = (LOSS_LABELS[k] for k in ("ResNet", "plain", "shallow"))
    if _compare(end[resnet], end[plain]) != "above":
        return ""
    note = (
        f"Why the deep ResNet ends above the deep plain net here: it starts at a training loss "
        f"of {start[resnet]:.3g}, against {start[plain]:.3g} for the deep plain net, and "
        f"{s.epochs} epochs bring it down to {end[resnet]:.3g}, still above the plain nets' "
        f"{end[plain]:.3g} (deep) and {end[shallow]:.3g} (shallow)."
    )
    if s.activation == "sigmoid":
        shift = s.depth * s.step / 2
        note += (
            f" Sigmoid's outputs are positive (σ(0) = ½), so at initialisation each of the "
            f"{s.depth} blocks adds about h/2 = {s.step / 2:.3f} to every coordinate: together "
            f"a shift of about L·h/2 = {shift:.2f}, whose square, {shift**2:.1f}, is most of "
            "that starting loss (the targets lie within ±0.5). Training must first undo that "
            "shift."
        )
    return note


def after_training_note(s: VanishingSettings, result: VanishingResult) -> str:
    """What the right-hand gradient panel compares, from its numbers ("" before training)."""
    if s.epochs == 0:
        return ""
    plain0, plain1 = result.at_init("plain"), result.after("plain")
    resnet0, resnet1 = result.at_init("ResNet"), result.after("ResNet")
    end = result.finals("training")
    loss_plain, loss_resnet = end[LOSS_LABELS["plain"]], end[LOSS_LABELS["ResNet"]]
    if not all(np.all(np.isfinite(v)) for v in (plain0, plain1, resnet0, resnet1)):
        return ""  # an overflow: the page says so instead
    medians = [float(np.median(v)) for v in (plain0, plain1, resnet0, resnet1)]
    m_plain0, m_plain1, m_resnet0, m_resnet1 = medians
    moved = lambda a, b: "rose" if b > a else "fell"  # noqa: E731
    text = (
        f"After {s.epochs} epochs the two nets no longer share weights, and the gradient "
        "measures how steep the loss still is where each has got to: it is 0 at a minimum. "
        f"The deep ResNet's training loss is {loss_resnet:.2e}, the deep plain net's "
        f"{loss_plain:.2e}; the median layer gradient {moved(m_resnet0, m_resnet1)} from "
        f"{m_resnet0:.1e} to {m_resnet1:.1e} for the ResNet and {moved(m_plain0, m_plain1)} "
        f"from {m_plain0:.1e} to {m_plain1:.1e} for the plain net."
    )
    if m_plain1 > m_resnet1 and loss_plain > loss_resnet:
        text += (
            " So the plain net's curve lies above the ResNet's on the right: the ResNet is "
            "nearer a minimum of its training loss, not short of gradient."
        )
    return text


def overfit_note(result: VanishingResult) -> str:
    """A sentence comparing each net's held-out loss with its training loss."""
    train, held = (result.finals(points) for points in POINTS)
    ratios = held / train
    if bool((ratios > LOSS_FACTOR).all()):
        return (
            f"Every net does worse on the {N_HELD_OUT} held-out points than on its "
            f"{N_POINTS} training points (held-out / training loss from {ratios.min():.3g} "
            f"to {ratios.max():.3g}): {N_POINTS} points are few for a task in this many "
            "dimensions, so part of what each net learns does not carry over."
        )
    return (
        "Held-out / training loss per net: "
        + ", ".join(f"{name} {value:.3g}" for name, value in ratios.items())
        + "."
    )


@st.cache_data(show_spinner=False, max_entries=64)
def small_weights(s: VanishingSettings, factor: float) -> dict:
    """Outputs along x = (s, 0, …, 0) with every weight multiplied by `factor`, the slope
    of that line per net, the slope for every factor of SHRINK_SWEEP, and an output axis
    that holds every factor's line."""
    xs = np.zeros((len(LINE_S), s.width))
    xs[:, 0] = LINE_S
    built = nets(s)
    curves, gains, slope = [], [], {}
    extremes = [LINE_S.min(), LINE_S.max()]  # the identity line
    for name in ("plain", "ResNet"):
        factors = np.concatenate([[factor], SHRINK_SWEEP])
        outputs = rc.shrunk_outputs(built[name], xs, factors)[:, :, 0]  # (factors, points)
        extremes += [outputs[1:].min(), outputs[1:].max()]  # the sweep, not the chosen factor
        slopes = np.polyfit(LINE_S, outputs.T, 1)[0]  # least-squares slope per factor
        curves.append(pd.DataFrame({"s": LINE_S, "output": outputs[0], "network": name}))
        gains.append(pd.DataFrame({"factor": SHRINK_SWEEP, "gain": slopes[1:], "network": name}))
        slope[name] = float(slopes[0])
    curves.append(pd.DataFrame({"s": LINE_S, "output": LINE_S, "network": "identity y = x"}))
    extremes = np.asarray(extremes, dtype=np.float64)
    extremes = extremes[np.isfinite(extremes)]  # an exploding net: the axis holds the rest
    return {
        "curves": pd.concat(curves, ignore_index=True),
        "gains": pd.concat(gains, ignore_index=True),
        "slope": slope,
        # the response axis: every factor of the sweep fits, so it stays put as the factor moves
        "y_domain": charts.padded(float(np.min(extremes)), float(np.max(extremes))),
    }


def warm_up_first() -> None:
    """The page's first chart (the gradients at initialisation), before the other lessons'
    warm-ups: a class opens this page first, and its two small compiles (about 1.5 s) would
    otherwise run alongside the spiral's."""
    at_init(DEFAULTS)


def warm_up() -> None:
    """The defaults (the gradients at initialisation, the training, the small-weights
    section), and the first chart of every preset and every width (milliseconds each, once
    a width's random draw is compiled)."""
    lesson(DEFAULTS, training.pause_point)
    small_weights(DEFAULTS, SHRINK)
    for settings in PRESETS.values():
        at_init(settings)
    for width in WIDTHS:  # a new width compiles its weights' random draw once (about 1 s)
        at_init(dataclasses.replace(DEFAULTS, width=width))


def warm_up_more() -> None:
    """One move away: every preset's training and small-weights section (a preset with
    another activation compiles its own training programs)."""
    for settings in PRESETS.values():
        lesson(settings, training.pause_point)
        small_weights(settings, SHRINK)
