"""Chart builders for the residual-network pages: pure functions DataFrame -> alt.Chart.

No Streamlit here, so every chart can be built and inspected in a plain test.
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

# One colour per network, the same on every page.
NETWORK_COLORS = {
    "plain": "#d62728",
    "ResNet": "#1f77b4",
    "shallow plain": "#7f7f7f",
    "deep plain": "#d62728",
    "deep ResNet": "#1f77b4",
    "identity y = x": "#2ca02c",
}


def _color(field: str, domain) -> alt.Color:
    domain = list(dict.fromkeys(domain))
    colors = [NETWORK_COLORS.get(name, "#9467bd") for name in domain]
    return alt.Color(f"{field}:N", scale=alt.Scale(domain=domain, range=colors), title=None)


def log_spaced_rows(df: pd.DataFrame, column: str, max_rows: int = 300) -> pd.DataFrame:
    """Thin a long, sorted history to about `max_rows` rows spaced evenly on a log axis."""
    if len(df) <= max_rows:
        return df
    values = df[column].to_numpy()
    targets = np.geomspace(max(values.min(), 1), values.max(), max_rows)
    picks = np.unique(np.clip(np.searchsorted(values, targets), 0, len(df) - 1))
    return df.iloc[np.concatenate([[0], picks, [len(df) - 1]])].drop_duplicates()


# ----------------------------------------------------------------------------- page 1


def grad_norm_chart(
    df: pd.DataFrame, title: str = "", y_domain: tuple[float, float] | None = None
) -> alt.Chart:
    """‖∂L/∂W_ℓ‖ against ℓ on a log axis; columns layer, grad_norm, network.

    Zero (underflowed) and non-finite norms cannot sit on a log axis and are left out.
    Pass `y_domain` to give several charts the same vertical scale.
    """
    shown = df[np.isfinite(df["grad_norm"]) & (df["grad_norm"] > 0)]
    scale = alt.Scale(type="log") if y_domain is None else alt.Scale(type="log", domain=y_domain)
    return (
        alt.Chart(shown, title=title)
        .mark_line(point=alt.OverlayMarkDef(size=18))
        .encode(
            x=alt.X("layer:Q", title="layer ℓ (1 = next to the input)"),
            y=alt.Y("grad_norm:Q", scale=scale, title="‖∂L/∂W_ℓ‖"),
            color=_color("network", shown["network"]),
            tooltip=[
                "network",
                "layer",
                alt.Tooltip("grad_norm:Q", format=".2e", title="‖∂L/∂W_ℓ‖"),
            ],
        )
        .properties(height=320)
    )


def log_domain(values) -> tuple[float, float] | None:
    """A log-axis domain covering the positive finite values (None if there are none)."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v) & (v > 0)]
    if v.size == 0:
        return None
    return float(v.min()) / 2, float(v.max()) * 2


LOSS_DASHES = {"training": [1, 0], "held-out": [5, 4]}  # solid and dashed


def loss_curves_chart(df: pd.DataFrame) -> alt.Chart:
    """Loss per epoch on a log axis, one colour per network and one line style per point set.

    Columns epoch, loss, network, points ("training" solid, "held-out" dashed).
    """
    shown = df[np.isfinite(df["loss"]) & (df["loss"] > 0)]
    dashes = {k: v for k, v in LOSS_DASHES.items() if k in set(shown["points"])}
    return (
        alt.Chart(shown)
        .mark_line()
        .encode(
            x=alt.X("epoch:Q", title="epoch"),
            y=alt.Y("loss:Q", scale=alt.Scale(type="log"), title="loss (MSE)"),
            color=_color("network", shown["network"]),
            strokeDash=alt.StrokeDash(
                "points:N",
                scale=alt.Scale(domain=list(dashes), range=list(dashes.values())),
                title="points",
            ),
            tooltip=["network", "points", "epoch", alt.Tooltip("loss:Q", format=".3e")],
        )
        .properties(height=300)
    )


def shrink_response_chart(df: pd.DataFrame) -> alt.Chart:
    """First output coordinate along the input line; columns s, output, network."""
    return (
        alt.Chart(df)
        .mark_line()
        .encode(
            x=alt.X("s:Q", title="input x = (s, 0, …, 0)"),
            y=alt.Y("output:Q", title="first output coordinate"),
            color=_color("network", df["network"]),
            strokeDash=alt.condition(
                alt.datum.network == "identity y = x", alt.value([4, 4]), alt.value([1, 0])
            ),
            tooltip=[
                "network",
                alt.Tooltip("s:Q", format=".2f"),
                alt.Tooltip("output:Q", format=".3f"),
            ],
        )
        .properties(height=300)
    )


def shrink_gain_chart(df: pd.DataFrame, factor: float) -> alt.Chart:
    """Slope of the output along the input line against the weight factor.

    Columns factor, gain, network; 1 is the identity map, 0 a constant map. A rule marks
    the factor chosen on the page.
    """
    lines = (
        alt.Chart(df)
        .mark_line(point=alt.OverlayMarkDef(size=14))
        .encode(
            x=alt.X("factor:Q", title="weight factor (all W, b multiplied by it)"),
            y=alt.Y("gain:Q", title="slope ∂(output₁)/∂s"),
            color=_color("network", df["network"]),
            tooltip=[
                "network",
                alt.Tooltip("factor:Q", format=".2f"),
                alt.Tooltip("gain:Q", format=".3f"),
            ],
        )
    )
    marker = (
        alt.Chart(pd.DataFrame({"factor": [factor]}))
        .mark_rule(color="gray", strokeDash=[3, 3])
        .encode(x="factor:Q")
    )
    return (lines + marker).properties(height=300)


# ----------------------------------------------------------------------------- page 2


def identity_fit_chart(curves: pd.DataFrame, data: pd.DataFrame) -> alt.Chart:
    """Fitted curves (columns x, y, network) over the training points (columns x, y)."""
    lines = (
        alt.Chart(curves)
        .mark_line()
        .encode(
            x=alt.X("x:Q", title="x"),
            y=alt.Y("y:Q", title="prediction"),
            color=_color("network", curves["network"]),
            strokeDash=alt.condition(
                alt.datum.network == "identity y = x", alt.value([4, 4]), alt.value([1, 0])
            ),
            tooltip=["network", alt.Tooltip("x:Q", format=".2f"), alt.Tooltip("y:Q", format=".3f")],
        )
    )
    points = (
        alt.Chart(data)
        .mark_point(color="black", filled=True, size=30)
        .encode(x="x:Q", y="y:Q", tooltip=["x", "y"])
    )
    return (lines + points).properties(height=320)


def identity_loss_chart(df: pd.DataFrame, tol: float) -> alt.Chart:
    """Full-data MSE per epoch, log–log; columns epoch, mse, network; a rule at `tol`."""
    shown = df[np.isfinite(df["mse"]) & (df["mse"] > 0)]
    lines = (
        alt.Chart(shown)
        .mark_line()
        .encode(
            x=alt.X("epoch:Q", scale=alt.Scale(type="log"), title="epoch"),
            y=alt.Y("mse:Q", scale=alt.Scale(type="log"), title="MSE on x = −10…10"),
            color=_color("network", shown["network"]),
            tooltip=["network", "epoch", alt.Tooltip("mse:Q", format=".4f")],
        )
    )
    rule = (
        alt.Chart(pd.DataFrame({"mse": [tol], "label": [f"stop: MSE < {tol:g}"]}))
        .mark_rule(color="gray", strokeDash=[4, 4])
        .encode(y="mse:Q", tooltip=["label"])
    )
    return (lines + rule).properties(height=320)


def epochs_distribution_chart(df: pd.DataFrame, max_epochs: int) -> alt.Chart:
    """One dot per seed: epochs used, by network; columns seed, epochs, network, outcome."""
    return (
        alt.Chart(df)
        .mark_circle(size=70, opacity=0.75)
        .encode(
            x=alt.X(
                "epochs:Q",
                scale=alt.Scale(type="log", domain=[1, max_epochs * 1.3]),
                title="epochs until MSE < 0.01 (or the 10 000-epoch limit)",
            ),
            y=alt.Y("network:N", title=None),
            yOffset=alt.YOffset("jitter:Q"),
            color=alt.Color(
                "outcome:N",
                scale=alt.Scale(
                    domain=["converged", "not converged"], range=["#1f77b4", "#d62728"]
                ),
                title=None,
            ),
            tooltip=[
                "network",
                "seed",
                "epochs",
                "outcome",
                alt.Tooltip("final_mse:Q", format=".4f"),
            ],
        )
        .transform_calculate(jitter="random()")
        .properties(height=220)
    )


# ----------------------------------------------------------------------------- page 3


def layer_trajectory_chart(df: pd.DataFrame) -> alt.Chart:
    """Hidden-state components against time t = ℓΔt.

    Columns t, value, component, source. Sources whose name starts with "ResNet" are
    drawn as points (one per layer), the rest as lines.
    """
    is_layer = df["source"].str.startswith("ResNet")
    color = alt.Color("component:N", title=None)
    lines = (
        alt.Chart(df[~is_layer])
        .mark_line()
        .encode(
            x=alt.X("t:Q", title="time t = ℓ·Δt"),
            y=alt.Y("value:Q", title="hidden state"),
            color=color,
            strokeDash=alt.StrokeDash("source:N", title=None),
            detail="source:N",
            tooltip=[
                "source",
                "component",
                alt.Tooltip("t:Q", format=".3f"),
                alt.Tooltip("value:Q", format=".4f"),
            ],
        )
    )
    points = (
        alt.Chart(df[is_layer])
        .mark_point(size=60, filled=False, strokeWidth=2)
        .encode(
            x="t:Q",
            y="value:Q",
            color=color,
            shape=alt.Shape("source:N", title=None),
            tooltip=[
                "source",
                "component",
                alt.Tooltip("t:Q", format=".3f"),
                alt.Tooltip("value:Q", format=".4f"),
            ],
        )
    )
    return (lines + points).properties(height=330)


def phase_plane_chart(df: pd.DataFrame) -> alt.Chart:
    """Paths in the (x₁, x₂) plane; columns x1, x2, order, start, source.

    "ResNet" rows are drawn as connected points, other sources as lines.
    """
    is_layer = df["source"].str.startswith("ResNet")
    lines = (
        alt.Chart(df[~is_layer])
        .mark_line(opacity=0.8)
        .encode(
            x=alt.X("x1:Q", title="x₁"),
            y=alt.Y("x2:Q", title="x₂"),
            order="order:Q",
            detail="start:N",
            color=alt.Color("source:N", title=None),
        )
    )
    points = (
        alt.Chart(df[is_layer])
        .mark_line(point=alt.OverlayMarkDef(size=25), strokeWidth=1)
        .encode(
            x="x1:Q",
            y="x2:Q",
            order="order:Q",
            detail="start:N",
            color=alt.Color("source:N", title=None),
        )
    )
    return (lines + points).properties(height=330)


def convergence_chart(df: pd.DataFrame, floor: float) -> alt.Chart:
    """Error at T against Δt on log–log axes; columns dt, error, solver; a rule at `floor`."""
    shown = df[np.isfinite(df["error"]) & (df["error"] > 0)]
    lines = (
        alt.Chart(shown)
        .mark_line(point=True)
        .encode(
            x=alt.X("dt:Q", scale=alt.Scale(type="log"), title="Δt (= T / L)"),
            y=alt.Y("error:Q", scale=alt.Scale(type="log"), title="error at T (max norm)"),
            color=alt.Color("solver:N", title=None),
            tooltip=[
                "solver",
                alt.Tooltip("dt:Q", format=".4f"),
                alt.Tooltip("error:Q", format=".2e"),
            ],
        )
    )
    rule = (
        alt.Chart(pd.DataFrame({"error": [floor], "label": ["float32 round-off zone"]}))
        .mark_rule(color="gray", strokeDash=[4, 4])
        .encode(y="error:Q", tooltip=["label"])
    )
    return (lines + rule).properties(height=340)


def parameter_count_chart(df: pd.DataFrame, layers: int) -> alt.Chart:
    """Parameters against the number of layers L; columns layers, parameters, model."""
    lines = (
        alt.Chart(df)
        .mark_line()
        .encode(
            x=alt.X("layers:Q", title="layers L = T/Δt"),
            y=alt.Y("parameters:Q", title="trainable parameters"),
            color=alt.Color("model:N", title=None),
            tooltip=["model", "layers", "parameters"],
        )
    )
    marker = (
        alt.Chart(pd.DataFrame({"layers": [layers]}))
        .mark_rule(color="gray", strokeDash=[3, 3])
        .encode(x="layers:Q")
    )
    return (lines + marker).properties(height=260)
