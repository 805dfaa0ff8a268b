"""One module per lesson: its settings (a frozen dataclass: cache key, address, preset),
its cached computation from settings to a result, and `warm_up()` for the server.

Pages import these; they draw nothing themselves (the server calls them with no page).
Importing the package sets up the process once: JAX's persistent compilation cache
(RESODE_JAX_CACHE, default `.jax_cache/`), so a restarted server skips compiles.
"""

import resode_core as _rc

_rc.enable_compilation_cache()
