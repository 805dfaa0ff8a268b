"""Trained neural ODEs shared by every session: live progress, resumable, kept on disk.

A fit depends only on its settings, so a class with the same settings trains it once:
`trained(key, train, ...)` returns the fit for `key` (a frozen settings object) from memory,
from disk, from another session that is training it right now, or by training it here.
Training here streams a progress bar and the loss curve, and leaves a checkpoint (the
`OdeFit` so far) after every chunk: a run stopped by a widget moved mid-fit goes on from
there next time instead of from epoch 0.

On a real server (`server.lifespan` sets PERSIST) finished fits of settings anyone can
choose are also written to RESODE_FIT_DIR (default: the JAX cache folder's `fits/`), named
by a hash of the settings and of the code, so a restarted server shows them at once.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import pickle
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Hashable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

import resode_core as rc
from resode_ui import node_charts as nc

REFRESH_S = 0.25  # the live loss curve is redrawn at most this often
STALL_S = 180.0  # a training that shows no progress this long is taken over
PERSIST = False  # set by the server's start-up hook: only a real server keeps fits on disk
Train = Callable[[rc.OdeFit | None, Callable[[rc.OdeFit], None]], rc.OdeFit]
_quiet = threading.local()


@contextlib.contextmanager
def quietly(give_way: Callable[..., None] | None = None) -> Iterator[None]:
    """Train without drawing or session state (the warm-up thread has no page).

    `give_way`, if given, is called at every `pause_point` on this thread: the warm-up
    waits there while visitors' page runs are under way, and makes room between steps.
    """
    _quiet.on, _quiet.give_way = True, give_way
    try:
        yield
    finally:
        _quiet.on, _quiet.give_way = False, None


def pause_point(*progress, unless: Callable[[], bool] | None = None) -> None:
    """A point where the warm-up may pause: after a training chunk (no arguments) or between
    the steps of a study (standing in for its progress callback, whose arguments it ignores
    but for knowing that a step ended). The pause ends early once `unless()` is true (a
    visitor has started to wait for what the warm-up is computing). Does nothing outside
    `quietly(give_way)`, which is called as `give_way(between_steps=..., unless=...)`."""
    give_way = getattr(_quiet, "give_way", None)
    if give_way is not None:
        give_way(between_steps=bool(progress), unless=unless)


def _is_quiet() -> bool:
    return getattr(_quiet, "on", False)


def _code_version() -> str:
    digest = hashlib.sha256()
    for path in sorted(Path(rc.__file__).parent.glob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def fit_folder() -> Path:
    if chosen := os.environ.get("RESODE_FIT_DIR"):
        return Path(chosen)
    return Path(os.environ.get("RESODE_JAX_CACHE", ".jax_cache")) / "fits"


class Board:
    """Finished fits and checkpoints (both least-recently-used) and who is training what."""

    def __init__(self, max_finished: int = 16, max_checkpoints: int = 8) -> None:
        self.max_finished, self.max_checkpoints = max_finished, max_checkpoints
        self.finished: OrderedDict[Hashable, rc.OdeFit] = OrderedDict()
        self.checkpoints: OrderedDict[Hashable, rc.OdeFit] = OrderedDict()
        self.trainers: dict[Hashable, threading.Thread] = {}
        self.waiting: Counter = Counter()  # key -> sessions waiting for its training
        self.changed = threading.Condition()  # guards all of the above
        self.version = _code_version()
        self.trainings = self.resumed = self.loaded = 0  # counts, for reports and tests

    def _path(self, key: Hashable, source: str) -> Path:
        name = hashlib.sha256(f"{self.version}|{source}|{key!r}".encode()).hexdigest()[:32]
        return fit_folder() / f"{name}.fit"

    def load(self, key: Hashable, source: str) -> rc.OdeFit | None:
        """A fit written by this server earlier; any problem reading it is a miss."""
        try:
            with open(self._path(key, source), "rb") as file:
                stored_key, fit = pickle.load(file)  # noqa: S301 (written by this server)
        except Exception:
            return None
        return fit if stored_key == key else None

    def save(self, key: Hashable, source: str, fit: rc.OdeFit) -> None:
        path = self._path(key, source)
        with contextlib.suppress(Exception):  # a full or read-only disk costs a retrain
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(f".{threading.get_ident()}.part")
            partial.write_bytes(pickle.dumps((key, fit), protocol=pickle.HIGHEST_PROTOCOL))
            os.replace(partial, path)  # readers see the whole file or none
            files = sorted(path.parent.glob("*.fit"), key=lambda f: f.stat().st_mtime)
            for old in files[:-64]:
                old.unlink(missing_ok=True)

    def put(self, store: OrderedDict, key: Hashable, fit: rc.OdeFit, limit: int) -> None:
        with self.changed:
            store[key] = fit
            store.move_to_end(key)
            while len(store) > limit:
                store.popitem(last=False)
            self.changed.notify_all()

    def claim(self, key: Hashable, *, take_over: bool = False) -> bool:
        with self.changed:
            holder = self.trainers.get(key)
            if holder is not None and holder.is_alive() and not take_over:
                return holder is threading.current_thread()
            self.trainers[key] = threading.current_thread()
            return True

    def release(self, key: Hashable) -> None:
        with self.changed:
            if self.trainers.get(key) is threading.current_thread():
                del self.trainers[key]
            self.changed.notify_all()

    def wait(self, key: Hashable, total: int, notice) -> tuple[rc.OdeFit | None, bool]:
        """Wait while another session trains `key`: (its fit or None, whether it stalled)."""
        with self.changed:
            self.waiting[key] += 1
        try:
            return self._wait(key, total, notice)
        finally:
            with self.changed:
                self.waiting[key] -= 1
                if not self.waiting[key]:
                    del self.waiting[key]

    def awaited(self, key: Hashable) -> bool:
        """Whether another session is waiting for `key`'s training."""
        with self.changed:
            return self.waiting.get(key, 0) > 0

    def _wait(self, key: Hashable, total: int, notice) -> tuple[rc.OdeFit | None, bool]:
        last_done, last_change = -1, time.monotonic()
        while True:
            with self.changed:
                self.changed.wait(timeout=0.5)
                fit, holder = self.finished.get(key), self.trainers.get(key)
                done = self.checkpoints[key].epochs if key in self.checkpoints else 0
            if fit is not None or holder is None or not holder.is_alive():
                return fit, False
            if done != last_done:
                last_done, last_change = done, time.monotonic()
            elif time.monotonic() - last_change > STALL_S:
                return None, True
            if notice is not None:  # an element update: where Streamlit stops an outdated run
                notice.info(
                    f"Another session is training these settings (epoch {done} / {total}); "
                    "this page will use its result.",
                    icon=":material/hourglass_top:",
                )


@st.cache_resource(show_spinner=False)
def board() -> Board:
    """One board per server process, shared by every session."""
    return Board()


class LiveProgress:
    """A progress bar and a streaming loss curve, redrawn at most every REFRESH_S seconds."""

    def __init__(self, slots, total: int, label: str, start: rc.OdeFit | None) -> None:
        self.bar_slot, self.chart_slot = slots
        self.total, self.prefix = max(int(total), 1), f"{label}: " if label else ""
        self.last = time.perf_counter()
        done = start.epochs if start is not None else 0
        # A compile can take seconds before the first chunk reports: say so at once.
        self.bar = self.bar_slot.progress(
            min(done / self.total, 1.0),
            text=f"{self.prefix}compiling and training … (epoch {done} / {self.total})",
        )
        if done:  # going on from an interrupted run: show what it had trained already
            self.draw(start)

    def __call__(self, fit: rc.OdeFit) -> None:
        if time.perf_counter() - self.last >= REFRESH_S and fit.epochs:
            self.draw(fit)

    def draw(self, fit: rc.OdeFit) -> None:
        self.last = time.perf_counter()
        self.bar.progress(
            min(fit.epochs / self.total, 1.0),
            text=f"{self.prefix}epoch {fit.epochs} / {self.total}, loss {fit.losses[-1]:.4g}",
        )
        frame = pd.DataFrame({"epoch": np.arange(1, fit.epochs + 1), "loss": fit.losses})
        # A new chart at every draw: converted here, not cached (see widgets.chart).
        spec = nc.history_chart(frame, y_title="loss (live)").to_dict()
        self.chart_slot.vega_lite_chart(spec, width="stretch")


def _read_only(fit: rc.OdeFit) -> rc.OdeFit:
    """The fit as stored for everyone: its histories cannot be changed by one session."""
    histories = {}
    for name in ("losses", "grad_norms", "solver_steps"):
        values = np.array(getattr(fit, name))
        values.setflags(write=False)
        histories[name] = values
    return dataclasses.replace(fit, **histories)


def trained(
    key: Hashable,
    train: Train,
    *,
    total: int,
    label: str = "",
    persist: bool = True,
    keep: int = 6,
) -> rc.OdeFit:
    """The fit for `key`: stored, awaited from another session, or trained (resumed) here.

    `train(start, on_chunk)` runs `rc.fit_ode(..., start=start, on_chunk=on_chunk)`;
    `total` is its number of epochs (for the progress bar). Call it where the page shows
    training: it always makes its two slots (progress, loss curve), so a run that trains
    and one that finds the fit stored lay out the same elements and the browser updates
    them in place. `persist=False` keeps a fit off the disk and out of other sessions'
    reach (an upload's key holds its owner's token). The session keeps its own `keep`
    latest fits, so a fit a student looks at is never pushed out by other sessions.
    """
    quiet = _is_quiet()
    slots = (None, None) if quiet else (st.empty(), st.empty())
    mine = None if quiet else st.session_state.setdefault("resode_fits", {})
    if mine is not None and key in mine:
        mine[key] = mine.pop(key)  # most recently used last
        return mine[key]
    fit = _shared(key, train, total, label, persist, slots)
    if mine is not None:
        mine[key] = fit
        while len(mine) > keep:
            mine.pop(next(iter(mine)))
    return fit


def _shared(key, train: Train, total, label, persist, slots) -> rc.OdeFit:
    shared = board()
    source = getattr(train, "__module__", "") or ""
    use_disk = persist and PERSIST
    while True:
        with shared.changed:
            if (fit := shared.finished.get(key)) is not None:
                shared.finished.move_to_end(key)
                return fit
        if use_disk and (fit := shared.load(key, source)) is not None:
            shared.loaded += 1
            shared.put(shared.finished, key, fit, shared.max_finished)
            return fit
        if shared.claim(key):
            break
        fit, stalled = shared.wait(key, total, slots[0])
        if fit is not None:
            if slots[0] is not None:
                slots[0].empty()
            return fit
        if stalled:
            shared.claim(key, take_over=True)
            break
    try:
        with shared.changed:
            if (fit := shared.finished.get(key)) is not None:  # finished while we claimed it
                return fit
            start = shared.checkpoints.get(key)
            shared.trainings += 1
            shared.resumed += start is not None
        live = None if slots[0] is None else LiveProgress(slots, total, label, start)

        def on_chunk(fit: rc.OdeFit) -> None:
            # The checkpoint first: the page may be stopped inside its progress display.
            shared.put(shared.checkpoints, key, _read_only(fit), shared.max_checkpoints)
            if live is not None:
                live(fit)
            # The warm-up gives way to visitors' runs here, but not to runs waiting for this
            # very training, even one that starts to wait during the pause: they would wait
            # for each other until the warm-up's patience ran out (a minute while memory is
            # tight: the fresh class once found the spiral 62 s late).
            pause_point(unless=lambda: shared.awaited(key))

        fit = _read_only(train(start, on_chunk))
        with shared.changed:
            shared.checkpoints.pop(key, None)
        shared.put(shared.finished, key, fit, shared.max_finished)
        if use_disk:
            shared.save(key, source, fit)
            # Use the fit as a restarted server will load it: arrays made by a program and
            # arrays read from a file can compile to different XLA programs, and this way
            # the ones compiled now are those found again after a restart.
            if (reloaded := shared.load(key, source)) is not None:
                shared.put(shared.finished, key, reloaded, shared.max_finished)
                fit = reloaded
        return fit
    finally:
        shared.release(key)
        for slot in slots:
            if slot is not None:
                slot.empty()


# ----------------------------------------------------------------------------- replays (Play)

CHUNKS, CHUNK_CAPACITY = 20, 256  # rc.fit_ode's defaults: about 20 chunks of ≤ 256 epochs


def chunk_ends(epochs: int, warmup: tuple = ()) -> list[int]:
    """The epochs after which `rc.fit_ode(..., chunks=20)` reports a chunk (`on_chunk`), the
    warm-up stages' (fraction, epochs) first: a Play's frame labels, known before the
    replay runs. (Its tests compare them with a real fit's reports.)"""
    stages = [int(n) for _, n in warmup] + [int(epochs)]
    total, ends, offset = sum(stages), [], 0
    for n in stages:
        share = max(1, round(CHUNKS * n / max(total, 1)))
        size = min(CHUNK_CAPACITY, max(1, -(-n // share)))
        done = 0
        while done < n:
            done += min(size, n - done)
            ends.append(offset + done)
        offset += n
    return ends


def snapshots(train: Callable[[Callable[[rc.OdeFit], None]], rc.OdeFit], model) -> tuple:
    """((epochs, …), (model, …)): `model` (the untrained field, epoch 0), then the field
    after every chunk of `train(on_chunk)`, a run of the same fit again. It runs the programs
    the fit compiled, so a Play compiles nothing."""
    epochs, models = [0], [model]

    def keep(fit: rc.OdeFit) -> None:
        epochs.append(fit.epochs)
        models.append(fit.model)

    train(keep)
    return tuple(epochs), tuple(models)
