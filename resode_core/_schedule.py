"""Neural-ODE training in small chunks with a decaying learning rate, for streaming pages.

`run_ode_fit` runs chunks of up to CHUNK_CAPACITY epochs at one rate. Pages that draw a
live loss curve want smaller chunks, and fits on many trajectories settle much better
when Adam's step shrinks towards the end. The rate lives in the optimiser state, so
changing it between chunks never recompiles.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import equinox as eqx
import numpy as np

from ._training import (
    CHUNK_CAPACITY,
    OdeFitState,
    SolverSettings,
    TrajectoryData,
    train_ode_epochs,
    trajectory_data,
    with_learning_rate,
)


def decayed_rate(learning_rate: float, final_fraction: float, progress: float) -> float:
    """Exponential decay from learning_rate (progress 0) to learning_rate·final_fraction (1)."""
    return float(learning_rate * final_fraction ** min(max(progress, 0.0), 1.0))


def train_ode_streaming(
    state: OdeFitState,
    data: TrajectoryData,
    settings: SolverSettings,
    epochs: int,
    *,
    learning_rate: float,
    final_fraction: float = 1.0,
    chunks: int = 20,
    progress: Callable[[int, np.ndarray, np.ndarray], None] | None = None,
) -> tuple[OdeFitState, np.ndarray, np.ndarray]:
    """Run `epochs` epochs in about `chunks` compiled calls; returns (state, losses, grad_norms).

    The learning rate decays exponentially to learning_rate·final_fraction (1.0: constant)
    and is held fixed within a chunk. After each chunk progress(done, losses, grad_norms)
    sees the history so far. Training stops early if the loss becomes non-finite
    (state.diverged).
    """
    if int(epochs) != epochs or epochs < 0:
        raise ValueError(f"epochs must be a whole number ≥ 0, got {epochs}.")
    if not (math.isfinite(learning_rate) and learning_rate > 0):
        raise ValueError(f"The learning rate must be a positive number, got {learning_rate}.")
    if not (math.isfinite(final_fraction) and 0 < final_fraction <= 1):
        raise ValueError("final_fraction must be in (0, 1].")
    if int(chunks) != chunks or chunks < 1:
        raise ValueError("chunks must be a whole number ≥ 1.")
    chunk = min(CHUNK_CAPACITY, max(1, -(-int(epochs) // int(chunks))))
    losses: list[np.ndarray] = []
    grad_norms: list[np.ndarray] = []
    done = 0
    while done < epochs:
        rate = decayed_rate(learning_rate, final_fraction, done / epochs)
        state = eqx.tree_at(lambda s: s.opt_state, state, with_learning_rate(state.opt_state, rate))
        state, record = train_ode_epochs(state, data, settings, min(chunk, int(epochs) - done))
        count = int(record.count)
        losses.append(np.asarray(record.losses[:count]))
        grad_norms.append(np.asarray(record.grad_norms[:count]))
        done += count
        if progress is not None:
            progress(done, np.concatenate(losses), np.concatenate(grad_norms))
        if bool(state.diverged) or count == 0:
            break
    empty = np.zeros(0, dtype=np.float32)
    return (
        state,
        np.concatenate(losses) if losses else empty,
        np.concatenate(grad_norms) if grad_norms else empty,
    )


def train_ode_growing_window(
    state: OdeFitState,
    ts,
    ys,
    settings: SolverSettings,
    epochs: int,
    *,
    learning_rate: float,
    final_fraction: float = 1.0,
    warmup_fractions: tuple[float, ...] = (0.3, 0.6),
    warmup_epochs: int = 250,
    chunks: int = 20,
    progress: Callable[[int, np.ndarray, np.ndarray], None] | None = None,
) -> tuple[OdeFitState, np.ndarray, np.ndarray]:
    """Fit the first part of a time series before all of it ("growing the window").

    A neural ODE fitted to several oscillations at once often settles in a poor local
    minimum (a slow, damped imitation). Fitting the first 30 %, then 60 % of the samples
    for `warmup_epochs` each at the initial rate, then all of them for `epochs` with the
    decaying rate, avoids that. Progress counts all epochs, warm-up included; the losses
    of the warm-up stages are over fewer samples and so are smaller.
    """
    grid = np.asarray(ts, dtype=np.float64)
    values = np.asarray(ys, dtype=np.float64)
    if any(not 0 < f < 1 for f in warmup_fractions):
        raise ValueError("Warm-up fractions must lie strictly between 0 and 1.")
    if int(warmup_epochs) != warmup_epochs or warmup_epochs < 0:
        raise ValueError("warmup_epochs must be a whole number ≥ 0.")
    stages = [
        (max(2, int(round(f * grid.size))), int(warmup_epochs), 1.0) for f in warmup_fractions
    ]
    stages.append((grid.size, int(epochs), final_fraction))
    losses: list[np.ndarray] = []
    grad_norms: list[np.ndarray] = []
    offset = 0

    for count, stage_epochs, fraction in stages:
        if stage_epochs == 0:
            continue
        data = trajectory_data(grid[:count], values[..., :count, :])

        def report(done, lo, gn, offset=offset):
            if progress is not None:
                progress(
                    offset + done,
                    np.concatenate([*losses, lo]),
                    np.concatenate([*grad_norms, gn]),
                )

        state, lo, gn = train_ode_streaming(
            state,
            data,
            settings,
            stage_epochs,
            learning_rate=learning_rate,
            final_fraction=fraction,
            chunks=max(
                1, chunks * stage_epochs // max(1, epochs + len(warmup_fractions) * warmup_epochs)
            ),
            progress=report,
        )
        losses.append(lo)
        grad_norms.append(gn)
        offset += lo.size
        if bool(state.diverged):
            break
    empty = np.zeros(0, dtype=np.float32)
    return (
        state,
        np.concatenate(losses) if losses else empty,
        np.concatenate(grad_norms) if grad_norms else empty,
    )
