"""The shared page frame: its memory guard tracks page switches per session."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from resode_ui.frame import LAST_PAGE_KEY


def _lesson_a():
    import streamlit as st

    from resode_ui.frame import _page_changed

    st.write(f"changed={_page_changed()}")


def _lesson_b():
    import streamlit as st

    from resode_ui.frame import _page_changed

    st.write(f"changed={_page_changed()}")


def _changed(at: AppTest) -> str:
    return at.run().markdown[0].value


def test_page_switches_are_counted_per_session():
    """Two students on two pages: neither one's reruns count as a switch for the other."""
    student_a, student_b = (
        AppTest.from_function(lesson, default_timeout=60) for lesson in (_lesson_a, _lesson_b)
    )
    assert _changed(student_a) == "changed=False"  # arriving on a page is not a switch
    assert _changed(student_a) == "changed=False"
    # A process-wide "last page" would call B's first run a switch away from lesson A.
    assert _changed(student_b) == "changed=False"
    assert _changed(student_a) == "changed=False"
    # A session that was on another page before this run has switched.
    student_b.session_state[LAST_PAGE_KEY] = "a page shown before"
    assert _changed(student_b) == "changed=True"
    assert _changed(student_b) == "changed=False"
