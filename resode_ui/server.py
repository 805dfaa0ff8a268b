"""What the server does as it starts, before anyone visits: load JAX, start the warm-up.

`streamlit run app.py` finds the `st.App` that app.py defines and calls `lifespan` once the
runtime is up. Without it, all of this waited for the first visitor: her browser first
loads the page (0.7 s here), then her script imports JAX, diffrax and the app's modules
(1.3-1.7 s) before anything is drawn. A background thread does that at server start
instead, and starts the page warm-up (`resode_ui/warmup.py`) too, so compiling begins
while the first browser is still loading.

It only moves work earlier: each visit still runs app.py as a script, so a failure here
costs nothing but the head start. `RESODE_PRELOAD=0` turns it off.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from streamlit.logger import get_logger

LOG = get_logger("resode.server")
# Third-party modules the pages import that resode_ui does not import itself.
PAGE_MODULES = ("pandas", "altair", "numpy")


def preload_enabled() -> bool:
    return os.environ.get("RESODE_PRELOAD", "1") != "0"


def prepare_process() -> None:
    """Import what every page needs, set up JAX's caches and start the page warm-up."""
    import resode_ui
    from resode_ui import frame

    frame.prepare_server()
    for module in PAGE_MODULES:
        importlib.import_module(module)
    for info in pkgutil.iter_modules(resode_ui.__path__):
        importlib.import_module(f"resode_ui.{info.name}")


def _prepare_in_background() -> None:
    try:
        prepare_process()
    except Exception as error:  # a head start only: the first visit does it anyway
        LOG.warning("preparing the server at start skipped: %r", error)


@asynccontextmanager
async def lifespan(app) -> AsyncIterator[None]:
    """st.App's start-up hook: hand the slow preparation to a thread and serve at once."""
    del app
    if preload_enabled():
        threading.Thread(target=_prepare_in_background, name="resode-preload", daemon=True).start()
    yield
