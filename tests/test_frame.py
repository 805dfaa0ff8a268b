"""The shared page frame: its memory guard tracks page switches per session."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest


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
    student_a, student_b = AppTest.from_function(_lesson_a), AppTest.from_function(_lesson_b)
    assert _changed(student_a) == "changed=True"  # a session's first page is a switch
    assert _changed(student_a) == "changed=False"
    assert _changed(student_b) == "changed=True"
    # A process-wide "last page" would now see lesson B and call this rerun a switch.
    assert _changed(student_a) == "changed=False"
    assert _changed(student_b) == "changed=False"
