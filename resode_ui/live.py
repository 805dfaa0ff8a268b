"""Live training feedback: a progress bar and a streaming loss curve, redrawn at a calm pace.

Training reports after every compiled chunk (a few milliseconds apart for a short fit). Drawing
the loss chart each time would cost more than the training itself (an altair chart takes
10-20 ms to build and send), so the display is refreshed at most every REFRESH_S seconds and
not at all for a fit that finishes before the first refresh is due.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import streamlit as st

from resode_ui import node_charts as nc

REFRESH_S = 0.25


class LiveTraining:
    """A progress callback for `rc.train_ode_streaming` and friends: (done, losses, grad_norms).

    `start` is the checkpoint a resumed fit goes on from: its loss curve is shown at once.
    """

    def __init__(self, progress_box, chart_box, total: int, *, label: str = "", start=None):
        self.progress_box = progress_box
        self.chart_box = chart_box
        self.total = max(int(total), 1)
        self.prefix = f"{label}: " if label else ""
        self.started = self.last_drawn = time.perf_counter()
        self.draws = 0
        self.earlier_s = start.seconds if start is not None else 0.0  # the interrupted pieces
        done = start.done if start is not None else 0
        # A compile can take seconds before the first chunk reports: say so at once.
        self.bar = progress_box.progress(
            min(done / self.total, 1.0),
            text=f"{self.prefix}compiling and training … (epoch {done} / {self.total})",
        )
        if done:  # going on from an interrupted run: show what it had already trained
            self.draw(done, start.losses)

    def __call__(self, done: int, losses: np.ndarray, grad_norms: np.ndarray | None = None):
        if time.perf_counter() - self.last_drawn >= REFRESH_S and losses.size:
            self.draw(done, losses)

    def draw(self, done: int, losses: np.ndarray) -> None:
        self.last_drawn = time.perf_counter()
        self.draws += 1
        self.bar.progress(
            min(done / self.total, 1.0),
            text=f"{self.prefix}epoch {done} / {self.total}, loss {losses[-1]:.4g}",
        )
        frame = pd.DataFrame({"epoch": np.arange(1, losses.size + 1), "loss": losses})
        self.chart_box.altair_chart(nc.history_chart(frame, y_title="loss (live)"), width="stretch")

    def elapsed_s(self) -> float:
        """Training time of the whole fit so far, the pieces before a resume included."""
        return time.perf_counter() - self.started + self.earlier_s

    def clear(self) -> None:
        self.progress_box.empty()
        self.chart_box.empty()


def training_slots() -> tuple:
    """The two places a LiveTraining draws in (progress, loss curve), made on every run.

    Make them where the fit is asked for, trained or not. A run that trains and one that
    finds the fit stored then lay out the same elements; otherwise the run after a training
    finds every element below shifted by two, and the browser rebuilds them all (every
    chart embedded afresh) instead of updating them: 80-170 ms more per slider move. A
    session waiting for another's training writes its notice in the progress slot, for the
    same reason (`fit_store.shared_fit(..., notice=...)`).
    """
    return st.empty(), st.empty()
