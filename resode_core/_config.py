"""Process-wide JAX set-up shared by the app, the tests and the benchmarks."""

from __future__ import annotations

import os
from pathlib import Path

import jax

from ._aot import set_export_store


def enable_compilation_cache(directory: str | os.PathLike | None = None) -> Path:
    """Turn on JAX's persistent compilation cache so a restarted server skips compiles.

    It only helps executables without host callbacks, which is why the package sets
    EQX_ON_ERROR=nan before equinox loads (diffrax's error checks otherwise use one).
    The heaviest programs are also stored traced (`jax.export`), so a new process skips
    tracing them too.
    """
    path = Path(directory or os.environ.get("RESODE_JAX_CACHE", ".jax_cache")).resolve()
    path.mkdir(parents=True, exist_ok=True)
    jax.config.update("jax_compilation_cache_dir", str(path))
    # Small executables too: a page compiles dozens of them, each costing ~30 ms.
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    set_export_store(path / "exported")
    return path


def compilation_cache_dir() -> Path | None:
    """The persistent cache folder enable_compilation_cache set (None if it was not)."""
    value = jax.config.jax_compilation_cache_dir
    return Path(value) if value else None
