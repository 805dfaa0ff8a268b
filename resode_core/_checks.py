"""Argument checks shared by the core: one wording for each kind of bad value."""

from __future__ import annotations

import math


def positive(name: str, value: float) -> float:
    """A finite number > 0, or ValueError naming it."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if isinstance(value, bool) or not (math.isfinite(number) and number > 0):
        raise ValueError(f"{name} must be a positive number, got {value!r}.")
    return number


def whole(name: str, value: int, *, low: int = 0, high: int | None = None) -> int:
    """A whole number in [low, high], or ValueError naming it."""
    number = value if isinstance(value, int | float) and not isinstance(value, bool) else None
    if number is None or not math.isfinite(number) or number != int(number) or number < low:
        raise ValueError(f"{name} must be a whole number ≥ {low}, got {value!r}.")
    if high is not None and value > high:
        raise ValueError(f"{name} must be at most {high}, got {value!r}.")
    return int(value)


def bucket(n: int, sizes: tuple[int, ...]) -> int:
    """The smallest size ≥ n (past the last, a multiple of it): padded shapes never recompile."""
    for size in sizes:
        if n <= size:
            return size
    return -(-n // sizes[-1]) * sizes[-1]
