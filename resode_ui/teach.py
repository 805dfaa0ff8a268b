"""Predict, run, compare: the question each lesson asks, its reveal, the glossary, presets' notes.

A lesson asks one question before it shows its answer (`question`); the answer the page
then reveals is computed from the live result, and `reveal` compares it with the
prediction in one sentence. No grading and no accounts: a prediction lives in the
student's own session and never in the page address, so a shared link asks afresh.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

# The jargon students meet, in our words. Pages open the terms they use with `glossary`.
GLOSSARY: dict[str, str] = {
    "Glorot/LeCun initialisation": "Random initial weights with standard deviation about "
    "1/√(fan-in) (LeCun) or √(2/(fan-in + fan-out)) (Glorot): chosen so that a signal keeps "
    "roughly the same size from layer to layer at the start of training.",
    "critical initialisation": "The initial weight scale at which a deep net's signal and "
    "gradient neither grow nor shrink on average from layer to layer (for tanh: standard "
    "deviation 1/√width). Smaller scales make gradients vanish, larger ones explode.",
    "normalisation layers": "Layers such as batch normalisation that rescale each layer's "
    "activations to mean 0 and variance 1 during training. He et al.'s ResNets use them; "
    "the lessons here leave them out so that the effect of the shortcut alone is visible.",
    "residual block": "A block whose output is its input plus a learned correction, "
    "H(x) = F(x) + x. The '+ x' is the identity shortcut (skip connection).",
    "forward Euler": "The simplest ODE solver: u_{n+1} = u_n + Δt·f(u_n, t_n). Its error "
    "shrinks in proportion to Δt (order 1).",
    "order of a solver": "A solver of order p has a global error that shrinks like Δtᵖ: "
    "halving Δt divides the error by 2ᵖ. On a log–log plot of error against Δt the points "
    "lie on a line of slope p.",
    "embedded error estimate": "Two Runge–Kutta formulas of different order that share "
    "their function evaluations; their difference estimates the error of a step for free. "
    "Adaptive solvers (Tsit5, Dormand–Prince) use it to choose Δt.",
    "tolerance": "The error an adaptive solver accepts per step: rtol relative to the size "
    "of the solution, atol absolute. A step is accepted when the estimated error is below "
    "atol + rtol·|u|; otherwise Δt shrinks and the step is tried again.",
    "stability limit": "The largest Δt for which an explicit solver's numerical solution "
    "stays bounded on a decaying problem. Beyond it errors grow step after step even though "
    "the true solution decays.",
    "adjoint": "A way to get the gradient of a loss through an ODE solve by solving a second "
    "ODE backwards in time for a(t) = ∂L/∂u(t), instead of storing every step. Its memory "
    "does not grow with the number of steps; its accuracy depends on the backward solve.",
    "backpropagation through the solver": "Differentiating the loss through every step the "
    "solver took, as through the layers of a ResNet: the exact gradient of the computed "
    "solution. Storing every step costs memory in proportion to the number of steps; "
    "checkpointing stores a few and recomputes the rest, and the adjoint stores none.",
    "neural ODE": "A model du/dt = V(u, t; θ) whose vector field V is a neural network; "
    "an ODE solver turns it into predictions, and training fits θ to data (Chen et al., 2018).",
    "XLA": "The compiler behind JAX. It turns a Python function into one optimised program "
    "the first time it sees an input shape (seconds); later calls with that shape reuse it "
    "(milliseconds).",
}


def glossary(*terms: str, where: Any = st) -> None:
    """A 'Glossary' popover with the definitions of `terms`, opened in place."""
    with where.popover("Glossary", icon=":material/menu_book:"):
        for term in terms:
            st.markdown(f"**{term}.** {GLOSSARY[term]}")


def question(key: str, prompt: str, options: tuple[str, ...], where: Any = st) -> str | None:
    """Ask a prediction question before the page shows its answer; None until answered.

    Not bound to the address: each student predicts for themselves, and a shared link asks
    the question again.
    """
    return where.radio(
        f"**Predict first.** {prompt}",
        options,
        index=None,
        key=key,
        horizontal=True,
        help="Choose an answer, then look at the result: the page compares the two.",
    )


def reveal(answer: str | None, truth: str, observed: str, where: Any = st) -> None:
    """Compare a prediction with what the live result shows, in one sentence.

    `truth` is the option the result supports (computed by the page from what it shows) and
    `observed` the sentence that says what the result is.
    """
    if answer is None:
        where.caption("Make your prediction above: the page then compares it with the result.")
    elif answer == truth:
        where.success(
            f"You predicted **{answer}**. {observed} As you predicted.", icon=":material/check:"
        )
    else:
        where.info(
            f"You predicted **{answer}**. {observed} So the answer here is **{truth}**.",
            icon=":material/lightbulb:",
        )


def matching_preset(presets: dict[str, Any], label: str | None, settings: Any) -> str:
    """The chosen preset's label (the first preset's when none is chosen) while the page
    shows exactly that preset's settings, else "": a preset's note describes its own
    numbers, not what the controls show once they have moved."""
    label = label or next(iter(presets))
    return label if presets.get(label) == settings else ""


def what_you_should_see(notes: dict[str, str], preset: str, where: Any = st) -> None:
    """The note for `preset` (from `matching_preset`): what to look at, and what it shows."""
    note = notes.get(preset)
    if note:
        where.caption(f":material/visibility: **What you should see.** {note}")
