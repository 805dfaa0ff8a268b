"""The shared page frame's memory guard: past the limit, a page whose programs are not in
memory first drops the other pages' compiled programs; pages already loaded drop nothing."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from resode_ui import frame


def _lesson_a():
    import streamlit as st

    from resode_ui.frame import page_frame

    page_frame()
    st.write("lesson A")


def _lesson_b():
    import streamlit as st

    from resode_ui.frame import page_frame

    page_frame()
    st.write("lesson B")


@pytest.fixture
def drops(monkeypatch):
    """Every page counts as over the limit; record the drops instead of clearing JAX."""
    dropped: list[str | None] = []

    def record(keep_page=None):
        dropped.append(keep_page)
        with frame._loaded_lock:
            frame._loaded_pages.clear()
            frame._loaded_pages.add(keep_page)

    monkeypatch.setattr(frame, "over_memory_limit", lambda: True)
    monkeypatch.setattr(frame, "drop_compiled_programs", record)
    monkeypatch.setattr(frame, "_loaded_pages", set())
    monkeypatch.setenv("RESODE_WARMUP", "0")
    return dropped


def _run(at: AppTest) -> None:
    at.run()
    assert not at.exception, at.exception


def test_only_a_page_not_in_memory_drops_the_programs(drops):
    a1, a2, b = (
        AppTest.from_function(lesson, default_timeout=60)
        for lesson in (_lesson_a, _lesson_a, _lesson_b)
    )
    _run(a1)
    assert len(drops) == 1  # the first page: nothing of it is in memory yet
    _run(a1), _run(a2)  # reruns, and a second student arriving on the same page
    assert len(drops) == 1
    _run(b)  # another page, over the limit: room is made for it
    assert len(drops) == 2 and drops[-1] is not None
    _run(b)
    assert len(drops) == 2
    _run(a2)  # back to A, whose programs were dropped for B
    assert len(drops) == 3


def test_under_the_limit_nothing_is_dropped(drops, monkeypatch):
    monkeypatch.setattr(frame, "over_memory_limit", lambda: False)
    for lesson in (_lesson_a, _lesson_b, _lesson_a):
        _run(AppTest.from_function(lesson, default_timeout=60))
    assert drops == []


LEGACY_MAIN = """
import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

from resode_ui.frame import _running_in_legacy_multipage_mode

# Another session's first run has switched the process-wide mode off meanwhile.
PagesManager.uses_pages_directory = False
st.write(f"legacy run: {_running_in_legacy_multipage_mode()}")
"""


def test_a_run_started_in_the_pages_folder_mode_is_seen_as_such(tmp_path, monkeypatch):
    """Sessions that start together on a fresh server all begin in Streamlit's pages/ mode;
    each must still hand over to the router after the first of them switched the flag off."""
    from streamlit.runtime.pages_manager import PagesManager

    (tmp_path / "pages").mkdir()
    (tmp_path / "pages" / "other.py").write_text("import streamlit as st\nst.write('other')\n")
    main = tmp_path / "main.py"
    main.write_text(LEGACY_MAIN)
    # AppTest starts every run as a fresh server would: in the pages/ mode, as there is
    # a pages/ folder. The script then switches the flag off before asking.
    monkeypatch.setattr(PagesManager, "uses_pages_directory", None)
    at = AppTest.from_file(str(main), default_timeout=60)
    _run(at)
    assert [m.value for m in at.markdown] == ["legacy run: True"]


def _router_run():
    import streamlit as st

    from resode_ui.frame import _running_in_legacy_multipage_mode

    st.write(f"legacy run: {_running_in_legacy_multipage_mode()}")


def test_a_run_without_a_pages_folder_is_not_the_legacy_mode(monkeypatch):
    from streamlit.runtime.pages_manager import PagesManager

    monkeypatch.setattr(PagesManager, "uses_pages_directory", None)
    at = AppTest.from_function(_router_run, default_timeout=60)
    _run(at)
    assert [m.value for m in at.markdown] == ["legacy run: False"]
