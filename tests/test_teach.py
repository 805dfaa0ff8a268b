"""Predict, run, compare: the question, its reveal, the glossary, presets' notes."""

import ast
from pathlib import Path

from streamlit.testing.v1 import AppTest

from resode_ui import teach

ROOT = Path(__file__).resolve().parents[1]


def _lesson():
    import streamlit as st

    from resode_ui import teach

    answer = teach.question("t_question", "Up or down?", ("up", "down"))
    truth = "down"  # what the 'result' shows
    teach.reveal(answer, truth, "The value went from 3 to 1.")
    teach.glossary("adjoint", "tolerance")
    teach.what_you_should_see({"A": "Look at the left chart."}, st.session_state.get("p", "A"))


def test_the_reveal_compares_the_prediction_with_the_result():
    at = AppTest.from_function(_lesson).run()
    assert at.radio(key="t_question").value is None
    assert not at.success and not at.info
    assert "Make your prediction" in at.caption[0].value
    at.radio(key="t_question").set_value("down").run()
    assert "As you predicted" in at.success[0].value
    assert "from 3 to 1" in at.success[0].value
    at.radio(key="t_question").set_value("up").run()
    assert not at.success
    assert "the answer here is **down**" in at.info[0].value
    shown = " ".join(m.value for m in at.markdown)
    assert teach.GLOSSARY["adjoint"] in shown and teach.GLOSSARY["tolerance"] in shown
    assert any("What you should see" in c.value for c in at.caption)


def test_every_lesson_page_asks_a_question_and_every_glossary_term_is_used():
    used, asking = set(), set()
    for path in sorted((ROOT / "pages").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                if node.func.attr == "glossary":
                    used |= {a.value for a in node.args if isinstance(a, ast.Constant)}
                if node.func.attr == "question":
                    asking.add(path.stem)
    lessons = {p.stem for p in (ROOT / "pages").glob("*.py")} - {"home", "recap"}
    assert asking == lessons
    assert used == set(teach.GLOSSARY)
