"""Trained fits shared by every session of the server, and checkpoints of unfinished ones.

A fit depends only on its widget values, so a class with the same settings should train it
once, and a fit stopped by a widget touched mid-run should go on from where it stopped.
`fit_store(page)` is one process-wide `FitStore` per page. It maps a fit key (the tuple of
settings) to a finished fit or to the last checkpoint of an unfinished one (anything with
a `done` epoch count, e.g. `resode_core.TrainingCheckpoint`). While one session trains a
key, another asking for it waits for that result instead of training it again.

Stored values are shared: arrays are read-only copies and finished fits read-only mappings.

On a real server, finished fits of settings anyone may choose (not of uploads) are also
kept on disk next to the JAX cache (`FitDisk`), so a restarted server shows them without
training again. Files are named by a hash of the key, the core's code and the page's code.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import pickle
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping, MutableMapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, Protocol

import numpy as np
import streamlit as st

import resode_core as rc


class Checkpoint(Protocol):
    @property
    def done(self) -> int: ...


# train(start, save_checkpoint) -> fit: resumes from `start` (None: from scratch) and hands
# each new checkpoint to save_checkpoint before it shows progress.
Trainer = Callable[[Any, Callable[[Any], None]], Mapping]


def frozen(value):
    """A read-only version of a value to store (arrays copied, mappings wrapped)."""
    if isinstance(value, np.ndarray):
        copy = value.copy()
        copy.setflags(write=False)
        return copy
    if isinstance(value, Mapping):
        return MappingProxyType({k: frozen(v) for k, v in value.items()})
    if isinstance(value, rc.TrainingCheckpoint):  # a frozen dataclass, with numpy histories
        return dataclasses.replace(
            value, losses=frozen(value.losses), grad_norms=frozen(value.grad_norms)
        )
    return value


class FitDisk:
    """Finished fits as files in one folder: at most `max_files`, the oldest dropped first.

    Only this server writes the folder. Any problem reading or writing a file makes it a
    miss (the fit is trained again), never an error on the page.
    """

    def __init__(self, folder: str | os.PathLike, max_files: int = 64) -> None:
        self.folder = Path(folder)
        self.max_files = max_files

    def _path(self, key: Hashable, version: str) -> Path:
        digest = hashlib.sha256(f"{version}|{key!r}".encode()).hexdigest()[:32]
        return self.folder / f"{digest}.fit"

    def load(self, key: Hashable, version: str) -> Mapping | None:
        path = self._path(key, version)
        try:
            with open(path, "rb") as file:
                stored_key, fit = pickle.load(file)  # noqa: S301 (written by this server)
        except FileNotFoundError:
            return None
        except Exception:  # a torn or stale file: train again
            path.unlink(missing_ok=True)
            return None
        return fit if stored_key == key else None

    def save(self, key: Hashable, version: str, fit: Mapping) -> None:
        path = self._path(key, version)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(f".{threading.get_ident()}.part")
            with open(partial, "wb") as file:
                pickle.dump((key, _plain(fit)), file, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(partial, path)  # readers see the whole file or none
            files = sorted(self.folder.glob("*.fit"), key=lambda f: f.stat().st_mtime)
            for old in files[: max(0, len(files) - self.max_files)]:
                old.unlink(missing_ok=True)
        except Exception:  # a full or read-only disk costs a retrain after a restart
            return


def _plain(value):
    """A stored fit as plain dicts again (read-only mapping views cannot be pickled)."""
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _source_version(train: Callable) -> str:
    """The core's code version and the page's source: a fit depends on both."""
    code = getattr(train, "__code__", None)
    page = b""
    if code is not None:
        try:
            page = Path(code.co_filename).read_bytes()
        except OSError:
            page = code.co_filename.encode()
    return f"{rc.code_version()}|{hashlib.sha256(page).hexdigest()[:16]}"


class FitStore:
    """Finished fits (LRU) and checkpoints (LRU) by fit key, safe to use from many threads.

    `trainings_started` counts the trainings this store let run (resumptions included),
    `trainings_resumed` those that went on from a checkpoint.
    """

    def __init__(
        self,
        max_finished: int = 16,
        max_checkpoints: int = 8,
        *,
        stall_timeout_s: float = 180.0,
        poll_s: float = 0.5,
        disk: FitDisk | None = None,
    ) -> None:
        self.max_finished = max_finished
        self.max_checkpoints = max_checkpoints
        # A session waiting for another gives up once that one's checkpoint stops advancing
        # this long (its first chunk includes compiling, which can take a minute).
        self.stall_timeout_s = stall_timeout_s
        self.poll_s = poll_s
        self.disk = disk
        self._finished: OrderedDict[Hashable, Mapping] = OrderedDict()
        self._checkpoints: OrderedDict[Hashable, Any] = OrderedDict()
        self._trainers: dict[Hashable, threading.Thread] = {}  # the per-key claim
        self._changed = threading.Condition()  # guards all of the above
        self.trainings_started = 0
        self.trainings_resumed = 0
        self.loaded_from_disk = 0

    # --------------------------------------------------------------------- plain access

    def finished(self, key: Hashable) -> Mapping | None:
        with self._changed:
            fit = self._finished.get(key)
            if fit is not None:
                self._finished.move_to_end(key)
            return fit

    def checkpoint(self, key: Hashable) -> Any | None:
        with self._changed:
            return self._checkpoints.get(key)

    def save_checkpoint(self, key: Hashable, checkpoint: Checkpoint) -> None:
        stored = frozen(checkpoint)
        with self._changed:
            if key in self._finished:
                return
            old = self._checkpoints.get(key)
            # Two sessions training one key follow the same path: keep the one further on.
            if old is None or checkpoint.done >= old.done:
                self._checkpoints[key] = stored
            self._checkpoints.move_to_end(key)
            while len(self._checkpoints) > self.max_checkpoints:
                self._checkpoints.popitem(last=False)
            self._changed.notify_all()

    def save_finished(self, key: Hashable, fit: Mapping) -> Mapping:
        stored = frozen(fit)
        with self._changed:
            self._finished[key] = stored
            self._finished.move_to_end(key)
            self._checkpoints.pop(key, None)
            while len(self._finished) > self.max_finished:
                self._finished.popitem(last=False)
            self._changed.notify_all()
        return stored

    def clear(self) -> None:
        with self._changed:
            self._finished.clear()
            self._checkpoints.clear()
            self.trainings_started = self.trainings_resumed = 0

    # --------------------------------------------------------------------- training

    def fit_for(
        self,
        key: Hashable,
        train: Trainer,
        *,
        total_epochs: int | None = None,
        persist: bool = False,
        notice: Any = None,
    ) -> Mapping:
        """The finished fit for `key`: stored, awaited from another session, or trained here.

        Training here resumes from the key's checkpoint if there is one, and saves a
        checkpoint after every chunk, so a run stopped mid-way loses nothing. With
        `persist` (never for uploads) the fit is also looked up in and saved to the disk.
        `notice` is the placeholder where a waiting session says so (default: a new one).
        """
        disk = self.disk if persist else None
        version = _source_version(train) if disk is not None else ""
        while True:
            fit = self.finished(key)
            if fit is not None:
                return fit
            if disk is not None and (stored := disk.load(key, version)) is not None:
                with self._changed:
                    self.loaded_from_disk += 1
                return self.save_finished(key, stored)
            if self._claim(key):
                break
            fit, stalled = self._wait_for_other_session(key, total_epochs, notice)
            if fit is not None:
                return fit
            if stalled:
                self._claim(key, take_over=True)
                break
            # Otherwise the other session stopped: claim again (a third may be quicker).
        try:
            with self._changed:
                fit = self._finished.get(key)  # finished between our look and our claim
                start = self._checkpoints.get(key)
                if fit is None:
                    self.trainings_started += 1
                    self.trainings_resumed += start is not None
            if fit is not None:
                return fit
            fit = train(start, lambda checkpoint: self.save_checkpoint(key, checkpoint))
            stored = self.save_finished(key, fit)
            if disk is not None:
                disk.save(key, version, stored)
                # Use the fit as a restarted server will load it: arrays made by a program
                # and arrays read from a file can compile to different XLA programs, and
                # this way the ones compiled now are those found again after a restart.
                if (reloaded := disk.load(key, version)) is not None:
                    stored = self.save_finished(key, reloaded)
            return stored
        finally:
            self._release(key)

    def _claim(self, key: Hashable, *, take_over: bool = False) -> bool:
        me = threading.current_thread()
        with self._changed:
            holder = self._trainers.get(key)
            if holder is not None and holder is not me and holder.is_alive() and not take_over:
                return False
            self._trainers[key] = me
            return True

    def _release(self, key: Hashable) -> None:
        with self._changed:
            if self._trainers.get(key) is threading.current_thread():
                del self._trainers[key]
            self._changed.notify_all()

    def _wait_for_other_session(
        self, key: Hashable, total_epochs: int | None, notice: Any = None
    ) -> tuple[Mapping | None, bool]:
        """Wait while another live session trains `key`: (its fit or None, whether it stalled)."""
        if notice is None:
            notice = st.empty()
        last_done, last_progress = -1, time.monotonic()

        def holder_gone() -> bool:
            holder = self._trainers.get(key)
            return holder is None or not holder.is_alive()

        while True:
            with self._changed:
                self._changed.wait_for(
                    lambda: key in self._finished or holder_gone(), timeout=self.poll_s
                )
                fit, gone = self._finished.get(key), holder_gone()
                checkpoint = self._checkpoints.get(key)
            if fit is not None or gone:
                notice.empty()
                return fit, False
            done = checkpoint.done if checkpoint is not None else 0
            now = time.monotonic()
            if done != last_done:
                last_done, last_progress = done, now
            elif now - last_progress > self.stall_timeout_s:
                notice.empty()
                return None, True
            of_total = f" / {total_epochs}" if total_epochs else ""
            # An element update is also where Streamlit stops this run when a widget moves.
            notice.info(
                f"Another session is training these settings (epoch {done}{of_total}); "
                "this page will use its result.",
                icon="⏳",
            )


@st.cache_resource(show_spinner=False)
def fit_store(page: str) -> FitStore:
    """The store of one page, shared by all sessions of this server process.

    Only a real server keeps fits on disk (in its JAX cache folder): tests run pages in
    AppTest's stand-in runtime and must not depend on fits an earlier run left behind.
    """
    folder = _server_fit_folder()
    return FitStore(disk=FitDisk(folder / page) if folder is not None else None)


def _server_fit_folder() -> Path | None:
    try:
        from streamlit.runtime import Runtime

        if not Runtime.exists() or type(Runtime.instance()) is not Runtime:
            return None
    except Exception:
        return None
    if chosen := os.environ.get("RESODE_FIT_DIR"):
        return Path(chosen)
    folder = rc.compilation_cache_dir()
    return folder / "fits" if folder is not None else None


def shared_fit(
    page: str,
    key: Hashable,
    train: Trainer,
    *,
    session_key: str,
    keep: int,
    total_epochs: int | None = None,
    persist: bool = True,
    notice: Any = None,
) -> Mapping:
    """`fit_store(page).fit_for(...)`, also kept in this session's `session_key` (LRU of `keep`).

    The session's own copy means a fit a student is looking at never has to be retrained
    because other sessions pushed it out of the shared store. `persist=False` keeps a fit
    off the disk (an upload's fits must stay in memory, with their owner's session).
    Pass the page's progress slot as `notice` (see `training_slots`): a session waiting for
    another's training then writes there instead of adding an element, and the page keeps
    its shape.
    """
    fits: MutableMapping = st.session_state.setdefault(session_key, {})
    if key in fits:
        fits[key] = fits.pop(key)  # most recently used last
        return fits[key]
    fits[key] = fit_store(page).fit_for(
        key, train, total_epochs=total_epochs, persist=persist, notice=notice
    )
    while len(fits) > keep:
        fits.pop(next(iter(fits)))
    return fits[key]


def clear_fit_stores() -> None:
    """Forget every page's fits and checkpoints (tests use it to stay independent)."""
    fit_store.clear()
