"""One colour per model, per kind of curve and per solver, the same on every page.

| what | colour |
|---|---|
| plain net (deep plain) | red #d62728 |
| ResNet (deep ResNet) | blue #1f77b4 |
| shallow plain net | grey #7f7f7f |
| neural ODE / learned / fitted | orange #ff7f0e |
| augmented neural ODE | purple #9467bd |
| true / exact / data | near-black #222222 |
| identity y = x | grey #7f7f7f (dashed where drawn as a line) |
| adjoint (gradient by the reversed ODE) | teal #17becf |
| solvers, Euler … Prince–Dormand 8(7) | viridis from dark purple to green, in order of accuracy |
| components u₁, u₂ (prey, predator) | green #2ca02c, brown #8c564b |
| reference lines (tolerance, round-off floor, a chosen value) | grey #7f7f7f, dashed |

Ordered quantities (an initial value, an error) use `ORDERED_SCHEME` (viridis without its
pale-yellow end); nothing is yellow on white, and no cyclic palette shows an ordered value.
"""

from __future__ import annotations

from collections.abc import Iterable

import altair as alt

import resode_core as rc

PLAIN, RESNET, SHALLOW = "#d62728", "#1f77b4", "#7f7f7f"
LEARNED, AUGMENTED, TRUE, IDENTITY, ADJOINT = "#ff7f0e", "#9467bd", "#222222", "#7f7f7f", "#17becf"
COMPONENTS = ("#2ca02c", "#8c564b")
ORDERED_SCHEME = {"name": "viridis", "extent": [0.0, 0.8]}
# Viridis at 0, 0.1, …, 0.8: one step per solver, in SOLVER_NAMES order (Euler first).
_VIRIDIS = (
    "#440154", "#482475", "#414487", "#355f8d", "#2a788e", "#21918c", "#22a884", "#44bf70",
    "#7ad151",
)  # fmt: skip
SOLVER_COLORS = dict(zip(rc.SOLVER_NAMES, _VIRIDIS, strict=True))

COLORS: dict[str, str] = {
    "plain": PLAIN,
    "deep plain": PLAIN,
    "ResNet": RESNET,
    "deep ResNet": RESNET,
    "shallow plain": SHALLOW,
    "neural ODE": LEARNED,
    "learned": LEARNED,
    "fitted": LEARNED,
    "augmented neural ODE": AUGMENTED,
    "true": TRUE,
    "exact": TRUE,
    "data": TRUE,
    "identity y = x": IDENTITY,
    "y = x": IDENTITY,
    "adjoint": ADJOINT,
    "Euler = ResNet": SOLVER_COLORS["euler"],  # the same update: Euler's colour
    "ResNet = Euler": SOLVER_COLORS["euler"],
    **SOLVER_COLORS,
    **{rc.SOLVERS[name].label: color for name, color in SOLVER_COLORS.items()},
}
_SPARE = ("#e377c2", "#bcbd22", "#17becf", "#9467bd", "#8c564b", "#2ca02c")


def colors_for(labels: Iterable[str], named=()) -> tuple[list[str], list[str]]:
    """(domain, range) for these labels in first-seen order: `named`'s (label, colour)
    pairs first, then the table's colour for each label it names, then spare colours."""
    own = dict(named or ())
    domain = list(dict.fromkeys(labels))
    taken = {own.get(label) or COLORS.get(label) for label in domain}
    spare = iter(c for c in _SPARE if c not in taken)
    return domain, [
        own.get(label) or COLORS.get(label) or next(spare, "#555555") for label in domain
    ]


def color(field: str, labels: Iterable[str], **kwargs) -> alt.Color:
    """An altair colour encoding of a nominal `field` with the table's colours."""
    domain, colors = colors_for(labels)
    kwargs.setdefault("title", None)
    return alt.Color(f"{field}:N", scale=alt.Scale(domain=domain, range=colors), **kwargs)
