"""Writes data/example_oscillator.csv: a damped oscillator sampled at 40 times.

x'' + 0.1 x' + x = 0 with x(0) = 2, x'(0) = 0, written as the first-order system
x' = y, y' = -x - 0.1 y and solved to near machine precision with SciPy. Run from the
repository root: `python data/make_example_oscillator.py`.
"""

from pathlib import Path

import numpy as np
from scipy.integrate import solve_ivp

DAMPING = 0.1
T_END = 12.0
SAMPLES = 40


def oscillator(t, u):
    x, y = u
    return [y, -x - DAMPING * y]


def main() -> None:
    ts = np.linspace(0.0, T_END, SAMPLES)
    solution = solve_ivp(oscillator, (0.0, T_END), [2.0, 0.0], t_eval=ts, rtol=1e-12, atol=1e-12)
    rows = ["t,x,y"] + [f"{t:.6f},{x:.6f},{y:.6f}" for t, x, y in zip(ts, *solution.y, strict=True)]
    out = Path(__file__).with_name("example_oscillator.csv")
    out.write_text("\n".join(rows) + "\n")
    print(f"wrote {out} ({SAMPLES} rows)")


if __name__ == "__main__":
    main()
