"""Traced-once functions: `jax.export` artifacts kept on disk next to XLA's cache.

XLA's persistent cache skips compiling, but every new server process still *traces* the
diffrax programs, which takes seconds. With a store directory set, an `AotFunction`
exports its program once (StableHLO), saves it, and later processes deserialize and call
it without tracing. Without a store (tests, scripts) it is the plain jitted function.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import equinox as eqx
import jax

_STORE: dict[str, Any] = {"dir": None}
_LOCK = threading.Lock()
_EXPORTED: dict[str, jax.export.Exported] = {}
_UNSTORABLE: set[str] = set()  # signatures whose programs jax.export cannot serialise
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
# One stored program is traced or compiled at a time, process-wide: XLA's compiler takes
# 100-250 MB of scratch memory per program, and a server's warm-up and its visitors compiling
# at the same moment stacked those peaks past a small container's limit. (Three regression
# fits in three threads from a fresh cache peaked at 690-752 MB with tracing inside the lock
# as well, 741-771 MB with compiling alone inside it.)
COMPILE_LOCK = threading.RLock()
# The stored (diffrax) programs compile with XLA's classic CPU code generator instead of its
# "fusion emitters": on the spiral fit, the heaviest compile, peak memory 714 -> 491 MB and
# compile 8.7 -> 6.9 s at the same run time. Only for these: process-wide it also made the
# small dense loops (y = x) 1.7x slower.
COMPILER_OPTIONS = {"xla_cpu_use_fusion_emitters": False}
# Compiles of a thread inside `background_compiles()` (a server's warm-up) wait while other
# threads compile (a visitor's run, which compiles several programs with short gaps between
# them): QUIET_S after the last of theirs, at most PATIENCE_S per compile.
QUIET_S, PATIENCE_S = 1.0, 30.0
_PRIORITY = threading.Condition()
_FOREGROUND = {"active": 0, "last_done": float("-inf")}
_THREAD = threading.local()  # .background (bool), .depth (compiles entered on this thread)
_CALLERS: dict[str, Callable] = {}  # signature key -> jax.jit of its exported program
# signature key -> its compiled program. A call finds its program here without taking
# COMPILE_LOCK: a visitor's slider move on a page already compiled must not wait seconds for
# the warm-up's compile of another page to finish (measured: 4.7 s for a 0.05 s move).
_PROGRAMS: dict[str, jax.stages.Compiled] = {}


def _code_version() -> str:
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


_CODE_VERSION = _code_version()


def code_version() -> str:
    """A hash of this package's source: results stored on disk are valid for one version."""
    return _CODE_VERSION


_KEY_LOCKS: dict[str, threading.Lock] = {}


def _key_lock(key: str) -> threading.Lock:
    with _LOCK:
        return _KEY_LOCKS.setdefault(key, threading.Lock())


def clear_programs() -> None:
    """Free every compiled program, ours and JAX's (`jax.clear_caches`); exported programs
    stay, on disk and in memory, so a later call compiles again without tracing."""
    with _LOCK:
        _PROGRAMS.clear()
    jax.clear_caches()


@contextlib.contextmanager
def background_compiles() -> Iterator[None]:
    """On this thread, each stored program's trace or compile first waits while other threads
    are compiling or compiled within the last QUIET_S seconds (at most PATIENCE_S): a server's
    warm-up uses it, so that a visitor's compiles are not queued behind its own."""
    _THREAD.background = True
    try:
        yield
    finally:
        _THREAD.background = False


@contextlib.contextmanager
def _compiling() -> Iterator[None]:
    """COMPILE_LOCK, taken in the order described in `background_compiles` (re-entrant: a
    trace inside a trace neither waits again nor counts twice)."""
    depth = getattr(_THREAD, "depth", 0)
    background = getattr(_THREAD, "background", False)
    if depth == 0 and background:
        deadline = time.monotonic() + PATIENCE_S
        with _PRIORITY:
            while (now := time.monotonic()) < deadline:
                quiet_at = _FOREGROUND["last_done"] + QUIET_S
                if not _FOREGROUND["active"] and now >= quiet_at:
                    break
                _PRIORITY.wait(min(deadline, max(quiet_at, now + 0.05)) - now)
    counted = depth == 0 and not background
    if counted:
        with _PRIORITY:
            _FOREGROUND["active"] += 1
    _THREAD.depth = depth + 1
    try:
        with COMPILE_LOCK:
            yield
    finally:
        _THREAD.depth = depth
        if counted:
            with _PRIORITY:
                _FOREGROUND["active"] -= 1
                _FOREGROUND["last_done"] = time.monotonic()
                _PRIORITY.notify_all()


def set_export_store(directory: str | Path | None) -> None:
    """Keep exported programs under `directory` (None: trace every process, as plain jit)."""
    if directory is not None:
        Path(directory).mkdir(parents=True, exist_ok=True)
    _STORE["dir"] = None if directory is None else Path(directory)


class AotFunction:
    """A jitted function whose traced program is stored once per argument signature.

    `output_like(*args)` returns any pytree with the structure of the output, built
    without tracing (exported programs return flat arrays, and a pytree structure of
    equinox Modules cannot be pickled).
    """

    def __init__(self, name: str, fn: Callable, output_like: Callable[..., Any]):
        self.name = name
        self.fn = fn
        self.output_like = output_like

    def __call__(self, *args):
        directory = _STORE["dir"]
        if directory is None:
            return self.fn(*args)
        leaves, treedef = jax.tree_util.tree_flatten(args)
        is_array = [eqx.is_array(leaf) for leaf in leaves]
        if any(callable(leaf) for leaf in leaves):
            return self.fn(*args)  # a plain function has no stable name to store it under
        key = self.key(leaves, treedef, is_array)
        exported = self._stored(key, leaves, treedef, is_array, directory)
        if exported is None:
            return self.fn(*args)
        arrays = [leaf for leaf, array in zip(leaves, is_array, strict=True) if array]
        # Commit every input to the device: the calling program is compiled per signature,
        # and arrays fresh from the host or from plain jit (uncommitted) would compile it a
        # second time once the same values come back committed from an earlier call
        # (measured: the spiral page's first training chunk compiled twice, 2 s extra).
        arrays = jax.device_put(arrays, jax.devices()[0])
        with _LOCK:
            program = _PROGRAMS.get(key)
        if program is None:
            with _LOCK:  # one caller per signature, made once (not on every recompile)
                caller = _CALLERS.get(key)
                if caller is None:
                    caller = _CALLERS[key] = jax.jit(exported.call)
            with _compiling():  # compiles at most once (until clear_programs)
                program = caller.lower(*arrays).compile(compiler_options=COMPILER_OPTIONS)
            with _LOCK:
                _PROGRAMS[key] = program
        out_leaves = program(*arrays)
        out_treedef = jax.tree_util.tree_structure(self.output_like(*args))
        return jax.tree_util.tree_unflatten(out_treedef, out_leaves)

    def compiled(self, *args):
        """(the program compiled for `args`, the arrays to call it with), e.g. for XLA's
        memory analysis. Calling it returns the output's leaves; `output_like` gives their
        structure. Without a store it is the plain function's program."""
        leaves, treedef = jax.tree_util.tree_flatten(args)
        is_array = [eqx.is_array(leaf) for leaf in leaves]
        arrays = jax.device_put(
            [leaf for leaf, array in zip(leaves, is_array, strict=True) if array],
            jax.devices()[0],
        )
        directory = _STORE["dir"]
        stored = None
        if directory is not None and not any(callable(leaf) for leaf in leaves):
            key = self.key(leaves, treedef, is_array)
            stored = self._stored(key, leaves, treedef, is_array, directory)
        program = stored.call if stored is not None else self._flat(leaves, treedef, is_array)
        with _compiling():
            compiled = jax.jit(program).lower(*arrays).compile(compiler_options=COMPILER_OPTIONS)
        return compiled, arrays

    def _stored(
        self, key: str, leaves, treedef, is_array, directory: Path
    ) -> jax.export.Exported | None:
        """The program for this signature (`key`): from memory or disk, or exported now; None
        if it cannot be stored (a program with host callbacks: the caller uses plain jit)."""
        with _key_lock(key):  # another thread exporting this program: wait, don't trace too
            if key in _UNSTORABLE:
                return None
            try:
                if (loaded := self._load(key, directory)) is not None:
                    return loaded
                # Tracing a diffrax program holds its jaxpr and MLIR module (tens of MB):
                # like compiles, one at a time (re-entrant: a trace may call another).
                with _compiling():
                    return self._export(key, directory, leaves, treedef, is_array)
            except NotImplementedError:  # e.g. "serialization of host_callbacks"
                _UNSTORABLE.add(key)
                return None

    def key(self, leaves, treedef, is_array) -> str:
        """The name of a stored program: the same in every process for the same signature."""
        signature = "|".join(
            f"{leaf.shape}{leaf.dtype}" if array else repr(leaf)
            for leaf, array in zip(leaves, is_array, strict=True)
        )
        # A bound method's tree names its function with the address it has in this process
        # ("<function SpiralSystem.vector_field at 0x7f…>"): drop the address, keep the name.
        text = _ADDRESS.sub(
            "", f"{self.name}|{_CODE_VERSION}|{jax.__version__}|{treedef}|{signature}"
        )
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    def _load(self, key: str, directory: Path):
        with _LOCK:
            if key in _EXPORTED:
                return _EXPORTED[key]
        path = directory / f"{self.name}-{key}.bin"
        if not path.exists():
            return None
        try:
            exported = jax.export.deserialize(bytearray(path.read_bytes()))
        except Exception:  # a stale or partial file: export afresh
            return None
        with _LOCK:
            _EXPORTED[key] = exported
        return exported

    def _flat(self, leaves, treedef, is_array) -> Callable:
        """The function of the array leaves alone, returning the output's leaves."""

        def flat(*arrays):
            it = iter(arrays)
            merged = [
                next(it) if array else leaf for leaf, array in zip(leaves, is_array, strict=True)
            ]
            return jax.tree_util.tree_leaves(
                self.fn(*jax.tree_util.tree_unflatten(treedef, merged))
            )

        return flat

    def _export(self, key, directory, leaves, treedef, is_array):
        flat = self._flat(leaves, treedef, is_array)
        shapes = [
            jax.ShapeDtypeStruct(leaf.shape, leaf.dtype)
            for leaf, array in zip(leaves, is_array, strict=True)
            if array
        ]
        serialized = jax.export.export(jax.jit(flat))(*shapes).serialize()
        path = directory / f"{self.name}-{key}.bin"
        tmp = path.with_suffix(f".{threading.get_ident()}.tmp")
        tmp.write_bytes(serialized)
        tmp.replace(path)  # atomic: concurrent processes never read half a file
        # Keep the program as a later process loads it, not the object `export` returned:
        # that one holds the whole traced program (jaxpr) for a VJP we never ask for, which
        # kept ~85 MB of Python objects alive after a fresh server's warm-up.
        exported = jax.export.deserialize(bytearray(serialized))
        with _LOCK:
            _EXPORTED[key] = exported
        return exported
