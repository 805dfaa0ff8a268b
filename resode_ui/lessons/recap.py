"""The recap: each lesson's own result at its defaults, reduced to one small chart.

Every panel calls the lesson's cached function with the lesson's default settings, so the
recap shows exactly what the lesson page opens with (and shares its cache and warm-up).
Each panel returns a long table (x, y, series, and `order` for paths) and one sentence
computed from that table.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

import resode_core as rc
from resode_ui.lessons import (
    identity_experiment as ie,
    resnet_euler,
    resnet_vs_node as rn,
    solvers,
    spiral,
    vanishing_gradients as vg,
)

SPIRAL_EPOCHS = 300  # the notes' longer run (the warm-up trains it): 25 epochs fit poorly


@dataclass(frozen=True)
class Panel:
    title: str
    page: str  # the lesson's page file
    frame: pd.DataFrame  # x, y, series (and order, for paths)
    takeaway: str  # one sentence, computed from the frame
    x_title: str
    y_title: str
    log_x: bool = False
    log_y: bool = False


def _frame(x, y, series: str, order=None) -> pd.DataFrame:
    frame = pd.DataFrame({"x": np.asarray(x, float), "y": np.asarray(y, float), "series": series})
    frame["order"] = np.arange(len(frame)) if order is None else order
    return frame


def vanishing() -> Panel:
    result = vg.lesson(vg.VanishingSettings().study)
    plain, resnet = result.at_init("plain"), result.at_init("ResNet")
    layers = np.arange(1, plain.size + 1)
    frame = pd.concat([_frame(layers, plain, "plain"), _frame(layers, resnet, "ResNet")])
    frame = frame[frame["y"] > 0]  # a log axis cannot draw an underflowed 0
    with np.errstate(divide="ignore"):
        share = plain[0] / plain[-1], resnet[0] / resnet[-1]
    return Panel(
        "1 · Vanishing gradients",
        "pages/vanishing_gradients.py",
        frame,
        f"At depth {plain.size}, layer 1 of the plain net gets {share[0]:.0e} of the last "
        f"layer's gradient; in the ResNet it gets {share[1]:.1f}.",
        "layer ℓ",
        "‖∂L/∂W_ℓ‖",
        log_y=True,
    )


def identity() -> Panel:
    runs = ie.single_runs(ie.IdentitySettings().seed)
    frame = pd.concat(
        [_frame(ie.CURVE_X, ie.CURVE_X, "y = x")]
        + [_frame(ie.CURVE_X, run["curve"], label) for label, run in runs.items()]
    )
    mse = {label: run["final_mse"] for label, run in runs.items()}
    return Panel(
        "2 · Plain vs ResNet on y = x",
        "pages/identity_experiment.py",
        frame,
        "Same recipe, same seed; final mean squared error: "
        + ", ".join(f"{label} {value:.1e}" for label, value in mse.items())
        + ".",
        "x",
        "network output",
    )


def euler() -> Panel:
    study = resnet_euler.convergence(
        resnet_euler.ORDER_SOLVERS, resnet_euler.ResnetEulerSettings().seed
    )
    label = resnet_euler.method_label("euler")
    errors = study["errors"][study["errors"]["solver"] == label]
    slope = float(study["orders"].set_index("solver").loc[label, "observed slope"])
    return Panel(
        "3 · A ResNet is forward Euler",
        "pages/resnet_euler.py",
        _frame(errors["dt"], errors["error"], "ResNet = Euler"),
        f"The ResNet's distance to the exact ODE solution shrinks like Δt^{slope:.2f}: "
        f"halving the step (twice the layers) divides it by {2**slope:.1f}.",
        "Δt = T/L",
        "error at T",
        log_x=True,
        log_y=True,
    )


def orders() -> Panel:
    names = ("euler", "midpoint", "bosh3", "rk4")  # orders 1 to 4
    system = solvers.SolversSettings().system
    frames = [solvers.study(system, name, solvers.FIXED) for name in names]
    fitted = solvers.fitted(frames, solvers.FIXED)
    points = fitted.points[fitted.points["ok"] & (fitted.points["error"] > 0)]
    labels = {name: rc.SOLVERS[name].label for name in names}
    frame = pd.concat(
        [
            _frame(group["dt"], group["error"], labels[name])
            for name, group in points.groupby("solver", sort=False)
        ]
    )
    slopes = fitted.slopes.set_index("solver")["slope"]
    return Panel(
        "4 · Solvers and their orders",
        "pages/solvers.py",
        frame,
        "Observed slopes: "
        + ", ".join(f"{labels[name].split(' (')[0]} {slopes[name]:.1f}" for name in names)
        + ".",
        "Δt",
        "error at T",
        log_x=True,
        log_y=True,
    )


def cost() -> Panel:
    defaults = rn.ResnetVsNodeSettings()
    table = rn.depth_costs(defaults.depths, defaults.width).table
    backprop = rn.METHODS["node_backprop"][0]
    shown = table[table["model"].isin(["ResNet", backprop])].replace({backprop: "neural ODE"})
    frame = pd.concat(
        [_frame(group["L"], group["parameters"], model) for model, group in shown.groupby("model")]
    )
    deepest = shown[shown["L"] == shown["L"].max()].set_index("model")["parameters"]
    return Panel(
        "5 · ResNet vs neural ODE",
        "pages/resnet_vs_node.py",
        frame,
        f"At L = {shown['L'].max()} the ResNet has {deepest['ResNet']:,} parameters, the "
        f"neural ODE {deepest['neural ODE']:,} at every depth.",
        "depth L (layers / Euler steps)",
        "parameters",
        log_x=True,
        log_y=True,
    )


def spiral_fit() -> Panel:
    result = spiral.lesson(spiral.SpiralSettings(), epochs=SPIRAL_EPOCHS)
    true, learned = result.true[0], result.learned[0]
    frame = pd.concat(
        [_frame(true[:, 0], true[:, 1], "true"), _frame(learned[:, 0], learned[:, 1], "learned")]
    )
    return Panel(
        "6 · The spiral, learned",
        "pages/spiral.py",
        frame,
        f"After {result.settings.epochs} epochs on one trajectory the learned path is off by "
        f"{result.own_error_pct:.1f} % on average; the lesson then tests it from new starts.",
        "u₁",
        "u₂",
    )


PANELS = (vanishing, identity, euler, orders, cost, spiral_fit)


def warm_up() -> None:
    """Every panel (each lesson's own default, which that lesson's warm-up has computed)."""
    for panel in PANELS:
        panel()
