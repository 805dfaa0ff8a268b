"""The one place ResODE Lab touches a Streamlit internal, behind a switch.

Streamlit treats a `pages/` folder next to the main script as an old-style multipage app
until some script has called `st.navigation`: on a fresh server, the first visitor who opens
a shared deep link such as `/spiral` would get the bare file list as navigation and none of
app.py's frame. No public option turns that off, so the server's start-up hook sets
Streamlit's flag once, before any session exists, and every run goes through app.py's
router. `RESODE_PRIVATE_STREAMLIT=0` turns it off (deep links then fall back as described).
`tests/test_streamlit_private.py` fails loudly if Streamlit changes under it.
"""

from __future__ import annotations

import os


def enabled() -> bool:
    return os.environ.get("RESODE_PRIVATE_STREAMLIT", "1") != "0"


def route_deep_links_through_app() -> bool:
    """Make every run start with app.py's router; returns whether the flag was set."""
    if not enabled():
        return False
    from streamlit.runtime.pages_manager import PagesManager

    PagesManager.uses_pages_directory = False
    return True
