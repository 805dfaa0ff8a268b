"""The failure messages fit the solver settings in use (resode_ui/advice.py)."""

from __future__ import annotations

import resode_core as rc
from resode_ui.advice import divergence_advice, unsolved_advice


def test_divergence_with_adaptive_steps_does_not_suggest_adaptive_steps():
    text = divergence_advice(rc.SolverSettings("tsit5", rtol=1e-7, atol=1e-9), 0.2)
    assert "diverged" in text and "learning rate (now 0.2)" in text
    assert "switch to adaptive" not in text and "smaller Δt" not in text
    assert "loosen rtol" in text and "10,000" in text


def test_divergence_with_fixed_steps_suggests_a_smaller_step_or_adaptive_steps():
    text = divergence_advice(rc.SolverSettings("euler", dt=0.2), 0.05, what="Fit A")
    assert text.startswith("Fit A diverged")
    assert "Δt = 0.2" in text and "smaller Δt" in text and "adaptive steps" in text
    assert "loosen rtol" not in text


def test_unsolved_advice_names_the_cause_for_each_step_control():
    adaptive = unsolved_advice(rc.SolverSettings("dopri5", max_steps=500), "from here")
    assert "from here" in adaptive and "more than 500 steps" in adaptive
    assert "shorten the horizon" in adaptive and "smaller Δt" not in adaptive
    fixed = unsolved_advice(rc.SolverSettings("rk4", dt=0.1), "from here")
    assert "Δt = 0.1" in fixed and "smaller Δt" in fixed and "more than" not in fixed
