"""Vanishing gradients: a deep plain net and a ResNet with the same weights, layer by layer."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import jax.random as jr
import numpy as np
import pandas as pd
import streamlit as st

import resode_core as rc

N_POINTS = 32  # regression samples: small, so a slider move retrains in well under a second
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


def nets(s: VanishingSettings) -> dict[str, rc.PlainNet | rc.ResNet]:
    """The deep plain net and ResNet (same seed: same weights, only the shortcut differs),
    and the shallow plain net of the degradation experiment."""
    common = {"key": jr.PRNGKey(s.seed), "activation": s.activation, "init_scale": s.init_scale}
    return {
        "shallow": rc.PlainNet(SHALLOW_DEPTH, s.width, max_depth=SHALLOW_MAX_DEPTH, **common),
        "plain": rc.PlainNet(s.depth, s.width, **common),
        "ResNet": rc.ResNet(s.depth, s.width, s.step, **common),
    }


@dataclass(frozen=True)
class VanishingResult:
    grads: pd.DataFrame  # layer, grad_norm, network (plain, ResNet), stage
    losses: pd.DataFrame  # epoch, loss, network (LOSS_LABELS): the three training curves
    params: dict[str, int]  # trainable parameters of the deep plain net and ResNet

    def at_init(self, network: str) -> np.ndarray:
        """‖∂L/∂W_ℓ‖ of one deep net at initialisation, layer 1 first."""
        g = self.grads
        return g[(g["network"] == network) & (g["stage"] == AT_INIT)]["grad_norm"].to_numpy()


@st.cache_data(show_spinner=False, max_entries=64)
def lesson(s: VanishingSettings) -> VanishingResult:
    """Per-layer gradients before and after training, and the three loss curves."""
    x, y = rc.regression_task(s.width, N_POINTS, seed=0)
    built = nets(s)
    grads, losses = [], []
    for name, label in LOSS_LABELS.items():
        net = built[name]
        trained, curve = rc.train_deep_net(
            net, x, y, epochs=s.epochs, learning_rate=s.learning_rate
        )
        losses.append(
            pd.DataFrame({"epoch": np.arange(len(curve)), "loss": curve, "network": label})
        )
        if name == "shallow":
            continue
        for stage, model in ((AT_INIT, net), (f"after {s.epochs} epochs", trained)):
            norms = rc.layer_grad_norms(model, x, y)
            layers = np.arange(1, s.depth + 1)
            grads.append(
                pd.DataFrame({"layer": layers, "grad_norm": norms, "network": name, "stage": stage})
            )
    return VanishingResult(
        pd.concat(grads, ignore_index=True),
        pd.concat(losses, ignore_index=True),
        {name: rc.param_count(built[name]) for name in ("plain", "ResNet")},
    )


@st.cache_data(show_spinner=False, max_entries=64)
def small_weights(s: VanishingSettings, factor: float) -> dict:
    """Outputs along x = (s, 0, …, 0) with every weight multiplied by `factor`, the slope
    of that line per net, and the slope for every factor of SHRINK_SWEEP."""
    xs = np.zeros((len(LINE_S), s.width))
    xs[:, 0] = LINE_S
    built = nets(s)
    curves, gains, slope = [], [], {}
    for name in ("plain", "ResNet"):
        factors = np.concatenate([[factor], SHRINK_SWEEP])
        outputs = rc.shrunk_outputs(built[name], xs, factors)[:, :, 0]  # (factors, points)
        slopes = np.polyfit(LINE_S, outputs.T, 1)[0]  # least-squares slope per factor
        curves.append(pd.DataFrame({"s": LINE_S, "output": outputs[0], "network": name}))
        gains.append(pd.DataFrame({"factor": SHRINK_SWEEP, "gain": slopes[1:], "network": name}))
        slope[name] = float(slopes[0])
    curves.append(pd.DataFrame({"s": LINE_S, "output": LINE_S, "network": "identity y = x"}))
    return {
        "curves": pd.concat(curves, ignore_index=True),
        "gains": pd.concat(gains, ignore_index=True),
        "slope": slope,
    }


def warm_up() -> None:
    """The defaults: the gradient study and the small-weights section."""
    lesson(VanishingSettings())
    small_weights(VanishingSettings(), SHRINK)
