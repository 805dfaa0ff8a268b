"""What every lesson page shares: presets, the settings container, sharing, solver controls.

A lesson's settings are a frozen dataclass whose fields are its widget values; widget keys
are `<prefix>_<field>` and every widget binds itself to the address (`bind="query-params"`),
so a copied link reproduces the view. A preset is a settings object: choosing one writes
its fields into `st.session_state`, and the bindings write the address.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st
from streamlit.errors import StreamlitAPIException

import resode_core as rc
from resode_ui import server

BOUND = {"bind": "query-params"}  # **BOUND on every widget a shared link should carry
TOLERANCES = (1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10)
ADAPTIVE, FIXED = "adaptive (rtol, atol)", "fixed Δt"


def _apply(prefix: str, presets: dict[str, Any]) -> None:
    chosen = presets[st.session_state[f"{prefix}_preset"]]
    for field in dataclasses.fields(chosen):
        value = getattr(chosen, field.name)
        st.session_state[f"{prefix}_{field.name}"] = (
            list(value) if isinstance(value, tuple) else value
        )


def preset_selector(prefix: str, presets: dict[str, Any], where: Any = st) -> None:
    """A 'Lesson preset' selectbox; presets maps labels to settings (the first: the default)."""
    where.selectbox(
        "Lesson preset",
        list(presets),
        key=f"{prefix}_preset",
        on_change=_apply,
        args=(prefix, presets),
        help="A named set-up for a lesson. Choosing one sets the controls; the page address "
        "then holds every setting that differs from the defaults.",
        **BOUND,
    )


PRESENT_KEY = "present"
# Presenter mode: type a projector can carry to the back row (≥ 16 px, near-black ink).
INK = "#111111"
PRESENTER_CONFIG = {
    "axis": {
        "labelFontSize": 16,
        "titleFontSize": 18,
        "labelColor": INK,
        "titleColor": INK,
        "tickColor": INK,
        "domainColor": INK,
    },
    "legend": {"labelFontSize": 16, "titleFontSize": 16, "labelColor": INK, "titleColor": INK},
    "header": {"labelFontSize": 16, "titleFontSize": 18, "labelColor": INK, "titleColor": INK},
    "title": {"fontSize": 20, "color": INK},
    "text": {"fontSize": 16, "color": INK},
}


def presenting() -> bool:
    """Presenter mode: the sidebar toggle (key `present`), or `?present=1` in the address."""
    if PRESENT_KEY in st.session_state:
        return bool(st.session_state[PRESENT_KEY])
    return st.query_params.get(PRESENT_KEY, "").lower() in ("1", "true")


def presenter_toggle(where: Any = st) -> bool:
    """The 'Presenter mode' toggle; the address carries it (`?present=1` opens it on)."""
    if PRESENT_KEY not in st.session_state and presenting():
        st.session_state[PRESENT_KEY] = True  # the binding reads 'true', not '1'
    return where.toggle(
        "Presenter mode",
        key=PRESENT_KEY,
        help="A slide for a projector: the question, one chart and its main controls on one "
        "screen, labels of 16 px and more; the longer text moves into 'More'.",
        **BOUND,
    )


def more(label: str = "More: the explanation and further sections"):
    """Where a page puts its longer text and secondary sections: in presenter mode a closed
    expander under the slide, otherwise the page itself."""
    if presenting():
        return st.expander(label, icon=":material/expand_more:", expanded=False)
    return st.container()


def controls(where: Any = st):
    """The container for a page's settings: collapsed when the link says `hide=controls`.

    A teacher can share a link that shows students only the result; the widgets are still
    drawn (inside a closed expander), so they keep the values the link holds.
    """
    if "controls" in st.query_params.get("hide", ""):
        return where.expander("Settings (hidden by this link)", expanded=False)
    return where.container()


def share_link(note: str = "", where: Any = st) -> None:
    """How to share this view: the address holds every setting that differs from the defaults."""
    query = "&".join(f"{k}={v}" for k, v in st.query_params.to_dict().items() if k != "hide")
    base = (st.context.url or "").split("?")[0]
    with where.expander("Share this view", icon=":material/link:"):
        st.markdown(
            "Every setting on this page is part of its address: copy the address bar and "
            "whoever opens it sees this exact view. Add `hide=controls` to show only the result."
        )
        st.code(f"{base}?{query}" if query else base or "(the page's defaults)")
        st.code(f"{base}?{query + '&' if query else ''}hide=controls")
        if note:
            st.caption(note)


def lesson_link(page: str, label: str, where: Any = st) -> None:
    """A link to another lesson (its file under pages/), or its label alone when this page
    runs on its own, outside the app's navigation, where no other page is registered."""
    try:
        where.page_link(page, label=label, icon=":material/arrow_forward:")
    except StreamlitAPIException:
        where.caption(label)


def fragment(function):
    """`st.fragment` (a section that reruns alone when its own widgets move) whose reruns the
    server counts as runs of the page it is on (`server.fragment_run`), as app.py counts
    whole runs: the warm-up gives way to a student's cost-table or extrapolation move and
    drops no programs under it."""
    page = Path(function.__code__.co_filename).stem

    @functools.wraps(function)
    def counted(*args, **kwargs):
        with server.fragment_run(page):
            return function(*args, **kwargs)

    return st.fragment(counted)


def problem(message: str) -> None:
    """A user-facing problem: what happened and what to change, never a traceback."""
    st.error(message, icon=":material/warning:")


def result_of(lesson, *args, progress: str | None = None, spinner: str | None = None):
    """`lesson(*args)`, or, for settings it cannot compute (a ValueError), the reason in a
    red box and the end of this run. With `progress` a progress bar (that text first) is
    passed as the last argument, `bar.progress(fraction, text)`; with `spinner` a spinner
    shows while it runs."""
    bar = st.progress(0.0, text=progress) if progress is not None else None
    try:
        with st.spinner(spinner) if spinner else contextlib.nullcontext():
            return lesson(*args, *([bar.progress] if bar is not None else []))
    except ValueError as error:
        problem(str(error))
        st.stop()
    finally:
        if bar is not None:
            bar.empty()


def solver_label(name: str) -> str:
    return rc.SOLVERS[name].label


def solver_controls(
    prefix: str, defaults: Any, steps: tuple, *, step_label: str = "Δt", also: tuple = ()
):
    """Solver, step control, tolerances and Δt (keys <prefix>_solver, _stepping, _rtol, _atol,
    _dt); returns (solver, stepping, rtol, atol, dt) as chosen. `also` names other solvers
    that share these controls (a comparison): a control is enabled if any solver uses it."""
    solver = st.selectbox(
        "ODE solver",
        rc.SOLVER_NAMES,
        index=rc.SOLVER_NAMES.index(defaults.solver),
        key=f"{prefix}_solver",
        format_func=solver_label,
        **BOUND,
    )
    solvers = (solver, *also)
    stepping = st.radio(
        "Step control",
        (ADAPTIVE, FIXED),
        index=(ADAPTIVE, FIXED).index(defaults.stepping),
        key=f"{prefix}_stepping",
        disabled=not any(rc.SOLVERS[name].adaptive for name in solvers),
        help="Euler and RK4 have no error estimate, so they always take fixed steps.",
        **BOUND,
    )
    fixed_by = [stepping == FIXED or not rc.SOLVERS[name].adaptive for name in solvers]
    fmt = {"format_func": lambda v: f"{v:g}"}
    all_fixed, none_fixed = all(fixed_by), not any(fixed_by)
    rtol = st.select_slider(
        "rtol", TOLERANCES, defaults.rtol, key=f"{prefix}_rtol", disabled=all_fixed, **fmt, **BOUND
    )
    atol = st.select_slider(
        "atol", TOLERANCES, defaults.atol, key=f"{prefix}_atol", disabled=all_fixed, **fmt, **BOUND
    )
    dt = st.select_slider(
        step_label, steps, defaults.dt, key=f"{prefix}_dt", disabled=none_fixed, **fmt, **BOUND
    )
    return solver, stepping, rtol, atol, dt


def solver_settings(solver: str, stepping: str, rtol: float, atol: float, dt: float):
    """The SolverSettings these controls describe (fixed steps when the solver cannot adapt)."""
    if stepping == FIXED or not rc.SOLVERS[solver].adaptive:
        return rc.SolverSettings(solver, dt=float(dt))
    return rc.SolverSettings(solver, rtol=float(rtol), atol=float(atol))


_SUPERSCRIPTS = dict(zip("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹", strict=True))
_EXPONENT = "toString(round(log(datum.value) / LN10))"
for _plain, _raised in _SUPERSCRIPTS.items():
    _EXPONENT = f"replace({_EXPONENT}, regexp('{_plain}', 'g'), '{_raised}')"
# Log axes label the powers of ten only, all as 10ⁿ (Vega's default mixes 0.00001, 1e-10 and
# 10,000,000,000 on one page); the ticks in between stay as unlabelled grid lines.
POWERS_OF_TEN = (
    "abs(log(datum.value) / LN10 - round(log(datum.value) / LN10)) < 1e-6"
    f" ? '10' + {_EXPONENT} : ''"
)


def _label_powers_of_ten(spec: Any) -> None:
    """Give every base-10 log axis in a Vega-Lite spec (layers included) POWERS_OF_TEN."""
    if isinstance(spec, list):
        for item in spec:
            _label_powers_of_ten(item)
        return
    if not isinstance(spec, dict):
        return
    for channel in ("x", "y"):
        encoding = spec.get("encoding", {}).get(channel)
        if not isinstance(encoding, dict) or "axis" in encoding and encoding["axis"] is None:
            continue
        scale = encoding.get("scale") or {}
        if scale.get("type") == "log" and scale.get("base", 10) == 10:
            axis = encoding.setdefault("axis", {})
            if "format" not in axis and "labelExpr" not in axis:
                axis["labelExpr"] = POWERS_OF_TEN
    for key in ("layer", "hconcat", "vconcat", "concat", "spec"):
        if key in spec:
            _label_powers_of_ten(spec[key])


@st.cache_resource(show_spinner=False, max_entries=256)
def _vega_lite(name: tuple, args: tuple, kwargs: tuple, _build, _args: tuple, _kwargs) -> dict:
    spec = _build(*_args, **_kwargs).to_dict()  # validated against the schema, once
    _label_powers_of_ten(spec)
    config = spec.setdefault("config", {})
    # Altair's default theme sizes every view 300 × 300; st.altair_chart converts with no
    # theme, so the chart takes Streamlit's own sizes. Do the same.
    view = config.get("view", {})
    for size in ("continuousWidth", "continuousHeight"):
        view.pop(size, None)
    if not view:
        config.pop("view", None)
    # Full names in legends ("Bogacki–Shampine (order 3)", not "Bogacki–Shampine (orde…").
    config.setdefault("legend", {}).setdefault("labelLimit", 0)
    # Tables, not JSON rows: Streamlit turns a table into Arrow twice as fast.
    rows = spec.get("datasets", {})
    return {**spec, "datasets": {name: pd.DataFrame(values) for name, values in rows.items()}}


def _key(value):
    """A cheap, content-based stand-in for an argument in the cache key.

    Streamlit's own hashing of a data frame takes about three times as long as hashing its
    rows with pandas; functions are named by where they are defined.
    """
    if isinstance(value, pd.DataFrame):
        digest = hashlib.md5(pd.util.hash_pandas_object(value).to_numpy().tobytes())
        digest.update(repr((list(value.columns), list(value.dtypes))).encode())
        return ("frame", digest.hexdigest())
    if callable(value):
        return ("function", value.__code__.co_filename, value.__qualname__)
    if isinstance(value, tuple | list):
        return tuple(_key(item) for item in value)
    return value


def chart(build, *args, where: Any = st, **kwargs) -> None:
    """Draw `build(*args, **kwargs)` (an altair chart), converted to Vega-Lite once per input.

    `st.altair_chart` builds, validates and serialises a chart on every rerun (15–25 ms a
    chart: most of a spiral rerun, and under a process-wide lock). Here the spec is kept by
    the builder and its arguments (data frames hashed by content, functions by name) and
    drawn with `st.vega_lite_chart`: about 1 ms a chart. `build`, and any function among the
    arguments, must be a pure function of its arguments: a module-level builder, not a
    closure. (The app never calls `st.altair_chart`, whose conversion switches altair's
    global data transformer while it runs.)
    """
    spec = _vega_lite(_key(build), _key(args), _key(tuple(kwargs.items())), build, args, kwargs)
    # Streamlit takes the datasets out of the spec it is given: hand it copies of the dicts.
    spec = {**spec, "datasets": dict(spec["datasets"])}
    if presenting():
        spec["config"] = _merged(spec.get("config", {}), PRESENTER_CONFIG)
    where.vega_lite_chart(spec, width="stretch")


def _merged(config: dict, override: dict) -> dict:
    """`config` with `override`'s settings on top (one level of nesting, copies only)."""
    return {**config, **{k: {**config.get(k, {}), **v} for k, v in override.items()}}
