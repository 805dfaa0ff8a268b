"""Random, valid widget changes on every page of the router: never an exception.

One AppTest per registered page; the fuzzer picks an enabled widget at random, gives it a
random value the browser could send, reruns, and checks that the page shows no exception (a
problem must appear as a readable `error_box`, which is allowed). Pages are read from app.py,
so new pages join the run without edits here. The seed is fixed (override with FUZZ_SEED);
each failure is reported with the page, the step and the changes that led to it.
"""

from __future__ import annotations

import math
import os
import random
import re
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from e2e.app_pages import registered_pages
from streamlit.proto.WidgetStates_pb2 import WidgetState
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
TARGET_COMBINATIONS = 250  # in total, spread evenly over the pages that have widgets
SEED = int(os.environ.get("FUZZ_SEED", "20241126"))
VERBOSE = bool(os.environ.get("FUZZ_VERBOSE"))  # print every change and its time
RUN_TIMEOUT = 300.0  # seconds for one rerun (a cold start compiles several solvers)

# Valid sub-ranges for widgets whose whole range only makes a run longer, never different in
# kind (training length, number of seeds). The full ranges are covered by the page tests.
LIGHT_VALUES: dict[str, tuple] = {
    "vg_epochs": (0, 50, 100),
    "ie_n_seeds": tuple(range(1, 17)),
    "sp_epochs": (5, 10, 20, 30),
    "sp_n_traj": tuple(range(2, 9)),
    "lv_epochs": (100, 200),
    "rf_epochs": (100, 200),
    "yd_epochs": (50, 100, 150),
}
# Pages open at the lightest of these values (through their address, as a link would), so
# changes to other widgets retrain a short fit, not the default's thousands of epochs.
LIGHT_START = {key: str(values[0]) for key, values in LIGHT_VALUES.items()}
# Likewise for options: each new width or depth of the cost lesson compiles a gradient per
# method and depth (seconds each on a cold cache); its page tests cover the others.
LIGHT_OPTIONS: dict[str, tuple[str, ...]] = {
    "rn_width": ("16",),
    "rn_depths": ("8", "16", "64", "512"),
    "rn_preset": (
        "Default settings",
        "A loose tolerance (rtol 1e-2): the adjoint's gradient drifts from backprop's",
        "A tight tolerance (rtol 1e-7): adjoint and backprop agree closely",
    ),
}
LIGHT_WORDS = ("epoch", "iteration")  # other such widgets use their 3 lowest values
# Options (presets) whose label promises a long training run ("1000 epochs") are left out:
# one such preset trains for 20-30 s here. The page tests open the presets.
HEAVY_OPTION = re.compile(r"(\d[\d, ]*\d|\d)\s*epochs")
HEAVY_EPOCHS = 500
TEXTS = ("", "0", "abc", "1e9", "  spaces  ", "ünïcødé", "-1")

WIDGET_KINDS = (
    "slider",
    "select_slider",
    "selectbox",
    "radio",
    "multiselect",
    "checkbox",
    "toggle",
    "number_input",
    "text_input",
    "text_area",
    "button",
)
# Not fuzzed (uploads belong to the upload page's own tests); reported when a page has one.
NOT_FUZZED = (
    "file_uploader",
    "camera_input",
    "audio_input",
    "date_input",
    "time_input",
    "color_picker",
    "button_group",
    "feedback",
)


def _progress(line: str) -> None:
    print(line, file=sys.__stderr__, flush=True)  # past pytest's capture (FUZZ_VERBOSE=1)


def _name(widget) -> str:
    return widget.key or f"{widget.type}:{widget.label}"


def _enabled(at: AppTest) -> list:
    widgets = []
    for kind in WIDGET_KINDS:
        for widget in getattr(at, kind):
            if not getattr(widget.proto, "disabled", False):
                widgets.append(widget)
    return widgets


def _send_labels(widget, labels: list[str], single: bool) -> None:
    """Make the widget report option labels, exactly what the browser sends for it."""

    def state(self) -> WidgetState:
        ws = WidgetState()
        ws.id = self.id
        if single:
            ws.string_value = labels[0]
        else:
            ws.string_array_value.data[:] = labels
        return ws

    base = type(widget)
    widget.__class__ = type(f"Fuzzed{base.__name__}", (base,), {"_widget_state": property(state)})


def _grid(low: float, high: float, step: float, integer: bool) -> list:
    count = int(math.floor((high - low) / step + 1e-9)) + 1
    values = [low + k * step for k in range(count)]
    return [int(round(v)) for v in values] if integer else [round(v, 12) for v in values]


def _light(widget, values: list) -> list:
    key = widget.key or ""
    if key in LIGHT_VALUES:
        allowed = [v for v in values if any(math.isclose(v, c) for c in LIGHT_VALUES[key])]
        return allowed or values[:3]
    text = f"{key} {widget.label}".lower()
    if any(word in text for word in LIGHT_WORDS):
        return values[:3]
    return values


def _slider_values(widget) -> list:
    integer = widget.proto.data_type == widget.proto.DataType.INT
    return _light(widget, _grid(widget.min, widget.max, widget.step, integer))


def _number_values(widget) -> list:
    step = widget.step or 1
    integer = widget.proto.data_type == widget.proto.DataType.INT
    current = widget.value if widget.value is not None else 0
    low = widget.min if widget.min is not None else current - 20 * step
    high = widget.max if widget.max is not None else current + 20 * step
    values = _grid(low, high, step, integer)
    if len(values) > 200:  # a huge range (seeds 0…9999): both ends and a random sample
        values = sorted(
            set(values[:50] + values[-50:] + random.Random(len(values)).sample(values, 100))
        )
    return _light(widget, values)


def _heavy(label: str) -> bool:
    found = HEAVY_OPTION.search(label)
    return bool(found) and int(re.sub(r"\D", "", found.group(1))) > HEAVY_EPOCHS


def _option_indices(widget) -> list[int]:
    allowed = LIGHT_OPTIONS.get(widget.key or "")
    light = [
        i
        for i, label in enumerate(widget.options)
        if not _heavy(label) and (allowed is None or label in allowed)
    ]
    return light or list(range(len(widget.options)))


def change(widget, rng: random.Random) -> str:
    """Give `widget` a random valid value (not yet run); returns a description."""
    kind = widget.type
    if kind == "slider":
        values = _slider_values(widget)
        if isinstance(widget.value, (list, tuple)):
            lo, hi = sorted(rng.sample(values, 2)) if len(values) > 1 else (values[0],) * 2
            widget.set_range(lo, hi)
            return f"{_name(widget)} = ({lo}, {hi})"
        value = rng.choice(values)
        widget.set_value(value)
        return f"{_name(widget)} = {value}"
    if kind == "number_input":
        value = rng.choice(_number_values(widget))
        widget.set_value(value)
        return f"{_name(widget)} = {value}"
    if kind in ("selectbox", "radio", "select_slider"):
        label = widget.options[rng.choice(_option_indices(widget))]
        is_range = kind == "select_slider" and isinstance(widget.value, (list, tuple))
        labels = (
            sorted(rng.sample(widget.options, 2), key=widget.options.index) if is_range else [label]
        )
        _send_labels(widget, labels, single=kind != "select_slider")
        return f"{_name(widget)} = {labels if is_range else label!r}"
    if kind == "multiselect":
        limit = widget.max_selections or len(widget.options)
        options = [widget.options[i] for i in _option_indices(widget)]
        count = rng.randint(0, min(limit, len(options)))
        labels = sorted(rng.sample(options, count), key=widget.options.index)
        _send_labels(widget, labels, single=False)
        return f"{_name(widget)} = {labels}"
    if kind in ("checkbox", "toggle"):
        value = not widget.value if rng.random() < 0.8 else widget.value
        widget.set_value(value)
        return f"{_name(widget)} = {value}"
    if kind in ("text_input", "text_area"):
        value = rng.choice(TEXTS)
        widget.input(value)
        return f"{_name(widget)} = {value!r}"
    if kind == "button":
        widget.click()
        return f"click {_name(widget)}"
    raise AssertionError(f"no fuzz rule for {kind}")


def _restricted(widget) -> bool:
    text = f"{widget.key or ''} {widget.label}".lower()
    return (widget.key or "") in LIGHT_VALUES or any(word in text for word in LIGHT_WORDS)


def _out_of_light_range(at: AppTest):
    """A widget that a callback (a preset) moved outside its light range, with that range."""
    for widget in _enabled(at):
        if widget.type not in ("slider", "number_input") or not _restricted(widget):
            continue
        if isinstance(widget.value, (list, tuple)) or widget.value is None:
            continue
        allowed = _slider_values(widget) if widget.type == "slider" else _number_values(widget)
        if not any(math.isclose(widget.value, v) for v in allowed):
            return widget, allowed
    return None


def _problems(at: AppTest) -> list[str]:
    found = [f"exception: {e.message}\n{''.join(e.stack_trace)}" for e in at.exception]
    for box in at.error:
        text = str(box.value)
        if not text.strip() or "Traceback" in text:
            found.append(f"unreadable error box: {text!r}")
    return found


def fuzz_page(at: AppTest, page: str, steps: int, rng: random.Random) -> dict:
    history: list[str] = []
    failures: list[str] = []
    errors_shown: Counter = Counter()
    touched: Counter = Counter()
    for step in range(steps):
        repair = _out_of_light_range(at)
        if repair:
            widget, allowed = repair
            value = rng.choice(allowed)
            widget.set_value(value)
            what = f"{_name(widget)} = {value} (back into the light range)"
        else:
            enabled = _enabled(at)
            fresh = [w for w in enabled if _name(w) not in touched]
            # Every enabled widget gets its turn first (in random order), then any widget.
            widget = rng.choice(fresh or enabled)
            what = change(widget, rng)
        touched[_name(widget)] += 1
        history.append(what)
        begin = time.perf_counter()
        try:
            at.run(timeout=RUN_TIMEOUT)
        except Exception as exc:  # a timeout or a crash of the test harness itself
            failures.append(f"{page} step {step}: {what}: {type(exc).__name__}: {exc}")
            break
        if VERBOSE:
            _progress(f"{page} {step:3d} {time.perf_counter() - begin:6.2f} s  {what}")
        problems = _problems(at)
        if problems:
            trail = " → ".join(history[-6:])
            failures.extend(f"{page} step {step} after [{trail}]: {p}" for p in problems)
        errors_shown.update(str(box.value).split(".")[0][:90] for box in at.error)
    return {"failures": failures, "errors": errors_shown, "touched": touched, "steps": len(history)}


pytestmark = pytest.mark.fuzz


def test_random_valid_widget_changes_never_raise(capsys):
    pages = registered_pages()
    failures: list[str] = []
    report: list[str] = []
    total = 0
    started = time.perf_counter()
    last: tuple[str, AppTest, random.Random] | None = None
    for index, page in enumerate(pages):
        begin = time.perf_counter()
        at = AppTest.from_file(str(ROOT / page.path), default_timeout=RUN_TIMEOUT)
        at.query_params.update(LIGHT_START)
        at.run()
        failures += [f"{page.name} on opening: {p}" for p in _problems(at)]
        if VERBOSE:
            _progress(f"{page.name} opened in {time.perf_counter() - begin:.1f} s")
        if not _enabled(at):
            report.append(f"  {page.name}: no widgets (opened once)")
            continue
        # What is left of the target, shared by this page and the ones after it.
        quota = math.ceil(max(TARGET_COMBINATIONS - total, 0) / (len(pages) - index))
        rng = random.Random(SEED * 1000 + index)
        result = fuzz_page(at, page.name, max(quota, 1), rng)
        total += result["steps"]
        failures += result["failures"]
        report.append(_summary(page.name, at, result, time.perf_counter() - begin))
        last = (page.name, at, rng)
    if last and total < TARGET_COMBINATIONS:  # pages without widgets came last: top up
        name, at, rng = last
        result = fuzz_page(at, name, TARGET_COMBINATIONS - total, rng)
        total += result["steps"]
        failures += result["failures"]
        report.append(_summary(name + " (top-up)", at, result, 0.0))
    with capsys.disabled():
        print(
            f"\nfuzz (seed {SEED}): {total} widget changes on {len(pages)} pages in "
            f"{time.perf_counter() - started:.0f} s\n" + "\n".join(report)
        )
    assert not failures, f"{len(failures)} problems:\n" + "\n\n".join(failures[:20])
    assert total >= TARGET_COMBINATIONS


def _summary(name: str, at: AppTest, result: dict, seconds: float) -> str:
    untouched = {_name(w) for w in _enabled(at)} - set(result["touched"])
    skipped = [kind for kind in NOT_FUZZED if len(getattr(at, kind))]
    return (
        f"  {name}: {result['steps']} changes, {len(result['touched'])} widgets, {seconds:.0f} s"
        + (f" (never picked: {sorted(untouched)})" if untouched else "")
        + (f" (not fuzzed: {skipped})" if skipped else "")
        + "".join(f"\n      error box ×{n}: {text}…" for text, n in result["errors"].items())
    )
