"""Play, pause and step through frames a lesson has already computed.

The frames (the fit after each training chunk, points along a flow at each time) are
computed once by the lesson's cached function; playing only picks one and redraws its
chart, so an animation compiles nothing. The controls and the chart live in one fragment
that Streamlit reruns on a timer while playing (`st.fragment(run_every=...)`): each frame
reruns that section only, never the page.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Any

import streamlit as st

from resode_ui import chart_parts as cp, node_charts as nc, widgets as ui

INTERVAL_S = 0.6  # seconds between frames: slow enough for a class to follow


def _toggle(key: str, n_frames: int) -> None:
    playing = not st.session_state.get(f"{key}_playing", False)
    st.session_state[f"{key}_playing"] = playing
    st.session_state[f"{key}_restart"] = True  # only a full run can start or stop the timer
    if playing and st.session_state.get(f"{key}_frame", n_frames - 1) >= n_frames - 1:
        st.session_state[f"{key}_frame"] = -1  # from the end: start again (at 0, next run)


def _step(key: str, n_frames: int) -> None:
    st.session_state[f"{key}_playing"] = False
    st.session_state[f"{key}_frame"] = (st.session_state.get(f"{key}_frame", 0) + 1) % n_frames


def player(
    key: str,
    labels: Sequence[str],
    draw: Callable[[int], None],
    *,
    title: str = "frame",
    interval: float = INTERVAL_S,
    of: Hashable = None,
) -> None:
    """Draw frame `i` with `draw(i)` under Play/Pause, Step and a frame slider.

    `labels[i]` names frame i ("epoch 40", "t = 0.50"); the last frame (the finished
    result) shows until someone presses Play. Keys: `<key>_play`, `<key>_step`,
    `<key>_frame` (not in the address: a shared link opens on the finished result).
    `of` names what the frames show (e.g. the lesson's settings): when it changes, the
    player stops and opens on the new result's last frame, not on the old frame number.
    """
    n_frames = len(labels)
    if n_frames == 0:
        return
    frame_key, playing_key = f"{key}_frame", f"{key}_playing"
    if st.session_state.get(f"{key}_of") != of:
        st.session_state[f"{key}_of"] = of
        st.session_state[frame_key] = n_frames - 1
        st.session_state[playing_key] = False
    st.session_state.setdefault(frame_key, n_frames - 1)
    if not -1 <= st.session_state[frame_key] < n_frames:  # fewer frames than last time
        st.session_state[frame_key] = n_frames - 1
    playing = st.session_state.get(playing_key, False)

    def section() -> None:
        if st.session_state.pop(f"{key}_restart", False):
            st.rerun()
        if st.session_state.get(playing_key, False):
            if st.session_state[frame_key] >= n_frames - 1:
                st.session_state[playing_key] = False
                st.rerun()  # the whole page once: the timer stops with the next definition
            st.session_state[frame_key] += 1
        play, step, slider = st.columns([1, 1, 6], vertical_alignment="bottom")
        play.button(
            "Pause" if playing else "Play",
            key=f"{key}_play",
            icon=":material/pause:" if playing else ":material/play_arrow:",
            on_click=_toggle,
            args=(key, n_frames),
            width="stretch",
        )
        step.button(
            "Step",
            key=f"{key}_step",
            icon=":material/skip_next:",
            on_click=_step,
            args=(key, n_frames),
            width="stretch",
            help="One frame forward (pauses).",
        )
        slider.select_slider(
            title,
            options=range(n_frames),
            key=frame_key,
            format_func=lambda i: labels[i],
        )
        draw(st.session_state[frame_key])

    st.fragment(section, run_every=interval if playing else None)()


def loss_so_far(history, done: int, total: int, y_title: str, y_domain, where: Any = st) -> None:
    """The loss curve up to epoch `done` on the axes of the whole run (a training frame)."""
    so_far = history[history["epoch"] <= done]
    if cp.can_draw(so_far, "loss", log=True):
        ui.chart(
            nc.history_chart,
            so_far,
            y_title=y_title,
            x_domain=(0, max(total, 1)),
            y_domain=y_domain,
            where=where,
        )
    elif done == 0:
        where.caption("Epoch 0: no loss yet (the field is untrained).")
    else:
        where.caption("No finite positive loss to draw on a log axis.")


def frame_labels(values: Sequence[Any], fmt: str) -> list[str]:
    """['epoch 0', 'epoch 25', …] from values and a format such as 'epoch {:g}'."""
    return [fmt.format(value) for value in values]
