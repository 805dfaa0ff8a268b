"""Process-wide JAX set-up shared by the app, the tests and the benchmarks."""

from __future__ import annotations

import os
from pathlib import Path

import jax


def enable_compilation_cache(directory: str | os.PathLike | None = None) -> Path:
    """Turn on JAX's persistent compilation cache so a restarted server skips compiles.

    It only helps executables without host callbacks, which is why the package sets
    EQX_ON_ERROR=nan before equinox loads (diffrax's error checks otherwise use one).
    """
    path = Path(directory or os.environ.get("RESODE_JAX_CACHE", ".jax_cache")).resolve()
    path.mkdir(parents=True, exist_ok=True)
    jax.config.update("jax_compilation_cache_dir", str(path))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.2)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    return path
