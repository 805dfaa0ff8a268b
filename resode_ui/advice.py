"""What to tell a student when a fit diverges or a solve gives up: advice that fits the settings.

A generic "use an adaptive solver" is wrong when one is already in use, and "too many steps"
alone says nothing about what to change; these messages look at the solver settings first.
"""

from __future__ import annotations

import resode_core as rc


def divergence_advice(
    settings: rc.SolverSettings, learning_rate: float, what: str = "Training"
) -> str:
    """Training's loss became NaN/inf: say what happened and what to change, in that order."""
    steps = [f"lower the learning rate (now {learning_rate:g})"]
    if settings.adaptive:
        steps.append(
            "if it keeps happening, loosen rtol/atol: a field that training made very steep "
            f"can need more than {settings.max_steps:,} solver steps, and a solve that gives up "
            "returns NaN"
        )
    else:
        steps.append("take a smaller Δt")
        steps.append("or switch to adaptive steps (e.g. Tsit5), which shrinks Δt where needed")
    return (
        f"{what} diverged: the loss became NaN or infinite, so it stopped at the last good "
        f"parameters. Solver: {settings.describe()}. To fix it, " + "; ".join(steps) + "."
    )


def unsolved_advice(settings: rc.SolverSettings, where: str) -> str:
    """A solve of the learned field blew up or hit the step limit somewhere in `where`."""
    if settings.adaptive:
        cause = (
            f"the adaptive solver ({settings.describe()}) needed more than "
            f"{settings.max_steps:,} steps or the solution grew without bound: the learned field "
            "is very steep there"
        )
        fix = "start closer to the training data, shorten the horizon, or train longer"
    else:
        cause = (
            f"with {settings.describe()} the steps overshoot and the solution grows without bound"
        )
        fix = "take a smaller Δt, switch to adaptive steps, or start closer to the training data"
    return f"The learned field could not be solved {where}: {cause}. Try to {fix}."
