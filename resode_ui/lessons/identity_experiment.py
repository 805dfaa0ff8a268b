"""The notes' Flux experiment: a four-layer 1→1 chain learns y = x, with and without a skip."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import streamlit as st

import resode_core as rc

MAX_EPOCHS = 10_000
TOL = 0.01
CHUNK = 8  # seeds per compiled call: one compiled shape, whatever the number of seeds
ARCHITECTURES = {"plain": "plain", "resnet": "ResNet"}
CURVE_X = np.linspace(-12.0, 12.0, 97)
# The notes' BenchmarkTools medians for `@benchmark loop(model)` (Flux.jl), as printed there.
NOTES_MEDIAN = {"plain": "1.139 ms", "ResNet": "93.265 µs"}
RUN_FIELDS = ("epochs", "converged", "final_mse")


@dataclass(frozen=True)
class IdentitySettings:
    """The page's two sliders (widget keys `ie_<field>`)."""

    seed: int = 0  # the run shown
    n_seeds: int = 8  # seeds 0 … n_seeds − 1 for the statistics


PRESETS = {
    "Default settings": IdentitySettings(),
    "Statistics over 32 seeds": IdentitySettings(n_seeds=32),
}


@st.cache_resource(show_spinner=False)
def _compiled(architecture: str) -> bool:
    """Compile both entry points once (a one-epoch run), so timed fits exclude compilation."""
    rc.fit_identity(architecture, seed=0, max_epochs=1)
    rc.fit_identity_seeds(architecture, range(CHUNK), max_epochs=1)
    return True


@st.cache_data(show_spinner=False, max_entries=128)
def single_runs(seed: int) -> dict[str, dict]:
    """One run of the recipe per network (by label) from the seed's initialisation, each timed
    (compilation excluded): epochs, converged, final_mse, losses, curve (on CURVE_X), wall_s."""
    runs = {}
    for architecture, label in ARCHITECTURES.items():
        _compiled(architecture)
        start = time.perf_counter()
        fit = rc.fit_identity(architecture, seed=seed, max_epochs=MAX_EPOCHS, tol=TOL)
        wall_s = time.perf_counter() - start
        runs[label] = {k: getattr(fit, k) for k in RUN_FIELDS} | {
            "losses": np.asarray(fit.losses, dtype=np.float64),
            "curve": fit.predict(CURVE_X).astype(np.float64),
            "wall_s": wall_s,
        }
    return runs


@st.cache_data(show_spinner=False, max_entries=128)
def seed_chunk(architecture: str, first: int) -> tuple[pd.DataFrame, float]:
    """The recipe for seeds first … first + CHUNK − 1 in one compiled call: a row per seed
    (seed, network, epochs, converged, final_mse) and the call's wall time."""
    _compiled(architecture)
    seeds = range(first, first + CHUNK)
    start = time.perf_counter()
    fits = rc.fit_identity_seeds(architecture, seeds, max_epochs=MAX_EPOCHS, tol=TOL)
    wall_s = time.perf_counter() - start
    rows = {k: [getattr(f, k) for f in fits] for k in RUN_FIELDS}
    return pd.DataFrame({"seed": seeds, "network": ARCHITECTURES[architecture], **rows}), wall_s


@dataclass(frozen=True)
class SeedStatistics:
    # A row per seed and network: seed, network, epochs, converged, final_mse, outcome.
    sweep: pd.DataFrame
    per_seed_s: dict[str, float]  # wall time per seed in the compiled calls, per network

    def summary(self, label: str) -> tuple[float, pd.Series, float]:
        """A network's share of converged seeds, their epochs, and the median final MSE."""
        runs = self.sweep[self.sweep["network"] == label]
        done = runs.loc[runs["converged"], "epochs"]
        return float(runs["converged"].mean()), done, float(runs["final_mse"].median())


def seed_statistics(n_seeds: int, on_chunk: Callable[[int, int], None] | None = None):
    """Seeds 0 … n_seeds − 1 of both networks, CHUNK seeds per cached compiled call;
    `on_chunk(done, total)` follows the progress."""
    todo = [(a, first) for a in ARCHITECTURES for first in range(0, n_seeds, CHUNK)]
    frames, per_seed = [], {label: [] for label in ARCHITECTURES.values()}
    for done, (architecture, first) in enumerate(todo, 1):
        frame, wall_s = seed_chunk(architecture, first)
        frames.append(frame[frame["seed"] < n_seeds])
        per_seed[ARCHITECTURES[architecture]].append(wall_s / CHUNK)
        if on_chunk:
            on_chunk(done, len(todo))
    sweep = pd.concat(frames, ignore_index=True)
    sweep["outcome"] = np.where(sweep["converged"], "converged", "not converged")
    return SeedStatistics(sweep, {label: float(np.mean(t)) for label, t in per_seed.items()})


def warm_up() -> None:
    """Every preset: the run of its seed and its statistics (32 seeds take seconds)."""
    for settings in PRESETS.values():
        single_runs(settings.seed)
        seed_statistics(settings.n_seeds)
