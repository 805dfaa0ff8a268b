"""Play / pause / step: frames advance one per run while playing, and stop at the end."""

from streamlit.testing.v1 import AppTest


def _animation():
    import streamlit as st

    from resode_ui import play

    labels = [f"epoch {e}" for e in (0, 10, 20, 30)]
    play.player("t", labels, lambda i: st.markdown(f"drawn: {labels[i]}"), title="epoch")


def _drawn(at) -> str:
    return next(m.value for m in at.markdown if m.value.startswith("drawn"))


def test_play_step_and_pause():
    at = AppTest.from_function(_animation).run()
    assert _drawn(at) == "drawn: epoch 30"  # the finished result until someone presses Play
    at.button(key="t_play").click().run()  # from the end: start again at frame 0
    assert at.session_state["t_playing"] is True
    assert _drawn(at) == "drawn: epoch 0"
    at.run()  # what the timer does: one frame per run
    assert _drawn(at) == "drawn: epoch 10"
    at.run()
    assert _drawn(at) == "drawn: epoch 20"
    at.button(key="t_play").click().run()  # Pause
    assert at.session_state["t_playing"] is False
    frozen = _drawn(at)
    at.run()
    assert _drawn(at) == frozen
    at.button(key="t_step").click().run()
    assert _drawn(at) != frozen
    at.select_slider(key="t_frame").set_value(0).run()
    assert _drawn(at) == "drawn: epoch 0"


def test_playing_stops_at_the_last_frame():
    at = AppTest.from_function(_animation).run()
    at.button(key="t_play").click().run()
    for _ in range(5):
        at.run()
    assert at.session_state["t_playing"] is False
    assert _drawn(at) == "drawn: epoch 30"


def _animation_of():
    import streamlit as st

    from resode_ui import play

    n = st.session_state.get("n", 4)
    labels = [f"epoch {10 * i}" for i in range(n)]
    play.player("t", labels, lambda i: st.markdown(f"drawn: {labels[i]}"), of=n)


def test_new_frames_open_on_their_last_frame():
    at = AppTest.from_function(_animation_of).run()
    at.select_slider(key="t_frame").set_value(1).run()
    assert _drawn(at) == "drawn: epoch 10"
    at.session_state["n"] = 6  # other settings: other frames
    at.run()
    assert _drawn(at) == "drawn: epoch 50"
