"""Neural-ODE training in small chunks with a decaying learning rate, for streaming pages.

`run_ode_fit` runs chunks of up to CHUNK_CAPACITY epochs at one rate. Pages that draw a
live loss curve want smaller chunks, and fits on many trajectories settle much better
when Adam's step shrinks towards the end. The rate lives in the optimiser state, so
changing it between chunks never recompiles.

A fit can stop after any chunk and go on later from a `TrainingCheckpoint`: chunk
boundaries and rates depend only on `epochs`, `chunks` and the epochs done, so the
resumed run computes exactly what the uninterrupted one would have.
"""

from __future__ import annotations

import math
import time
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


class TrainingCheckpoint(eqx.Module):
    """A streamed fit after `done` epochs: enough to continue it where it stopped."""

    state: OdeFitState
    losses: np.ndarray  # one entry per epoch run so far
    grad_norms: np.ndarray
    seconds: float = 0.0  # wall time spent training so far, over all pieces

    @property
    def done(self) -> int:
        return int(self.losses.size)


def _history(pieces: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.float32)


def _check_start(start: TrainingCheckpoint | None, epochs: int) -> None:
    if start is not None and not (start.done <= epochs and start.grad_norms.size == start.done):
        raise ValueError(
            f"A checkpoint after {start.done} epochs cannot resume a {epochs}-epoch fit."
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
    start: TrainingCheckpoint | None = None,
    checkpoint: Callable[[TrainingCheckpoint], None] | None = None,
) -> tuple[OdeFitState, np.ndarray, np.ndarray]:
    """Run `epochs` epochs in about `chunks` compiled calls; returns (state, losses, grad_norms).

    The learning rate decays exponentially to learning_rate·final_fraction (1.0: constant)
    and is held fixed within a chunk. After each chunk checkpoint(TrainingCheckpoint), then
    progress(done, losses, grad_norms), see the history so far: checkpoint first, because a
    page may be stopped inside its progress display. Given `start` (a checkpoint of this fit,
    same `epochs` and `chunks`), training goes on from it and `state` is ignored; the
    returned history includes the checkpoint's. Training stops early if the loss becomes
    non-finite (state.diverged).
    """
    if int(epochs) != epochs or epochs < 0:
        raise ValueError(f"epochs must be a whole number ≥ 0, got {epochs}.")
    if not (math.isfinite(learning_rate) and learning_rate > 0):
        raise ValueError(f"The learning rate must be a positive number, got {learning_rate}.")
    if not (math.isfinite(final_fraction) and 0 < final_fraction <= 1):
        raise ValueError("final_fraction must be in (0, 1].")
    if int(chunks) != chunks or chunks < 1:
        raise ValueError("chunks must be a whole number ≥ 1.")
    _check_start(start, int(epochs))
    chunk = min(CHUNK_CAPACITY, max(1, -(-int(epochs) // int(chunks))))
    losses: list[np.ndarray] = []
    grad_norms: list[np.ndarray] = []
    done, seconds_before = 0, 0.0
    if start is not None:
        state, done, seconds_before = start.state, start.done, start.seconds
        losses.append(start.losses)
        grad_norms.append(start.grad_norms)
    started = time.perf_counter()
    # A diverged checkpoint is a finished fit: it stopped at its last good parameters.
    while done < epochs and not bool(state.diverged):
        rate = decayed_rate(learning_rate, final_fraction, done / epochs)
        state = eqx.tree_at(lambda s: s.opt_state, state, with_learning_rate(state.opt_state, rate))
        state, record = train_ode_epochs(state, data, settings, min(chunk, int(epochs) - done))
        count = int(record.count)
        losses.append(np.asarray(record.losses)[:count])  # sliced on the host: no compile
        grad_norms.append(np.asarray(record.grad_norms)[:count])
        done += count
        history = _history(losses), _history(grad_norms)
        if checkpoint is not None:
            seconds = seconds_before + time.perf_counter() - started
            checkpoint(TrainingCheckpoint(state, *history, seconds=seconds))
        if progress is not None:
            progress(done, *history)
        if count == 0:
            break
    return state, _history(losses), _history(grad_norms)


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
    start: TrainingCheckpoint | None = None,
    checkpoint: Callable[[TrainingCheckpoint], None] | None = None,
) -> tuple[OdeFitState, np.ndarray, np.ndarray]:
    """Fit the first part of a time series before all of it ("growing the window").

    A neural ODE fitted to several oscillations at once often settles in a poor local
    minimum (a slow, damped imitation). Fitting the first 30 %, then 60 % of the samples
    for `warmup_epochs` each at the initial rate, then all of them for `epochs` with the
    decaying rate, avoids that. Progress and checkpoints count all epochs, warm-up
    included; the losses of the warm-up stages are over fewer samples and so are smaller.
    `start` and `checkpoint` work as in `train_ode_streaming`.
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
    total = sum(stage_epochs for _, stage_epochs, _ in stages)
    _check_start(start, total)
    if start is not None and (start.done == total or bool(start.state.diverged)):
        return start.state, start.losses, start.grad_norms
    losses: list[np.ndarray] = []
    grad_norms: list[np.ndarray] = []
    seconds_before = start.seconds if start is not None else 0.0
    started = time.perf_counter()
    offset = 0

    for count, stage_epochs, fraction in stages:
        if stage_epochs == 0:
            continue
        stage_start = None
        if start is not None:
            if start.done >= offset + stage_epochs:  # the checkpoint is past this stage
                offset += stage_epochs
                continue
            losses.append(start.losses[:offset])
            grad_norms.append(start.grad_norms[:offset])
            stage_start = TrainingCheckpoint(
                start.state, start.losses[offset:], start.grad_norms[offset:]
            )
            start = None
        data = trajectory_data(grid[:count], values[..., :count, :])

        def report(done, lo, gn, offset=offset):
            if progress is not None:
                progress(
                    offset + done,
                    np.concatenate([*losses, lo]),
                    np.concatenate([*grad_norms, gn]),
                )

        def save(stage_checkpoint):
            if checkpoint is not None:
                checkpoint(
                    TrainingCheckpoint(
                        stage_checkpoint.state,
                        np.concatenate([*losses, stage_checkpoint.losses]),
                        np.concatenate([*grad_norms, stage_checkpoint.grad_norms]),
                        seconds=seconds_before + time.perf_counter() - started,
                    )
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
            start=stage_start,
            checkpoint=save,
        )
        losses.append(lo)
        grad_norms.append(gn)
        offset += stage_epochs
        if bool(state.diverged):
            break
    return state, _history(losses), _history(grad_norms)
