"""The one Streamlit internal the app uses (resode_ui/streamlit_private.py): fail loudly if
Streamlit changes under it."""

import inspect

from streamlit.runtime import pages_manager
from streamlit.runtime.scriptrunner import script_runner

from resode_ui import streamlit_private


def test_streamlit_still_reads_the_pages_folder_flag(monkeypatch):
    # The flag exists, starts unset, and a run with it set takes the old pages/ runner.
    assert pages_manager.PagesManager.uses_pages_directory in (None, True, False)
    source = inspect.getsource(script_runner)
    assert "if PagesManager.uses_pages_directory:" in source and "_mpa_v1(" in source
    monkeypatch.setattr(pages_manager.PagesManager, "uses_pages_directory", None)
    assert streamlit_private.route_deep_links_through_app() is True
    assert pages_manager.PagesManager.uses_pages_directory is False


def test_the_switch_leaves_streamlit_alone(monkeypatch):
    monkeypatch.setenv("RESODE_PRIVATE_STREAMLIT", "0")
    monkeypatch.setattr(pages_manager.PagesManager, "uses_pages_directory", None)
    assert streamlit_private.route_deep_links_through_app() is False
    assert pages_manager.PagesManager.uses_pages_directory is None
