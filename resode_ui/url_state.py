"""A page's settings in its address: restore them from a link, write them back, share them.

Each page declares its widgets once (key, default, what is valid), then calls
`PageState.sync()` before drawing them:

* on page load (or whenever the address holds something this session did not write)
  the query parameters are parsed and checked, and every widget value is put into
  `st.session_state[key]`; a bad or unknown parameter falls back to its default and is
  named in one notice, never an exception;
* on every other run the current widget values are written back to `st.query_params`,
  only those that differ from the defaults (or from the chosen preset), so a copied
  link is short and reproduces the exact view.

Two extra parameters are understood on every page: `preset=<name>` (a named lesson
set-up, applied before the other parameters) and `hide=controls` or `hide=depth,seed`
(those widgets are not drawn; they keep the values from the link). Nothing from the
address is ever evaluated: every value is matched against a fixed set of options or
parsed as a plain number.

The parsing half is pure (`parse_query`, `encode_values`) so tests can check it
without Streamlit.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

PRESET_PARAM = "preset"
HIDE_PARAM = "hide"
HIDE_ALL = "controls"
RESERVED = (PRESET_PARAM, HIDE_PARAM)
MAX_VALUE_LENGTH = 200  # longer values are refused unread (a tampered link)
_INT = re.compile(r"[+-]?\d{1,12}")
_FLOAT = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d{1,3})?")
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def _number_text(value: float) -> str:
    """A short text that reads back as the same float (to 12 significant digits)."""
    text = f"{value:.12g}"
    return "0" if text == "-0" else text


# ----------------------------------------------------------------------------- parameters


RECENT_ADDRESSES = 16  # addresses a session remembers having written


@dataclass(frozen=True)
class Param:
    """One widget: its session-state key and its default. Subclasses say what is valid."""

    key: str
    default: Any

    def parse(self, text: str) -> Any:
        """The value a URL text stands for; ValueError(reason) if it is not valid."""
        raise NotImplementedError

    def encode(self, value: Any) -> str:
        raise NotImplementedError

    def check(self, value: Any) -> Any:
        """The canonical form of a Python value, or ValueError if the widget cannot show it."""
        return self.parse(self.encode(value))

    def same(self, a: Any, b: Any) -> bool:
        return a == b


@dataclass(frozen=True)
class Int(Param):
    """A whole number in [low, high] (sliders, number inputs)."""

    low: int = 0
    high: int = 0
    step: int = 1

    def __post_init__(self):
        if not self.low <= self.default <= self.high:
            raise ValueError(
                f"{self.key}: default {self.default} outside [{self.low}, {self.high}]."
            )

    def parse(self, text: str) -> int:
        reason = f"must be a whole number from {self.low} to {self.high}"
        if self.step > 1:
            reason += f" in steps of {self.step}"
        if not _INT.fullmatch(text.strip()):
            raise ValueError(reason)
        value = int(text.strip())
        if not self.low <= value <= self.high or (value - self.low) % self.step:
            raise ValueError(reason)
        return value

    def encode(self, value: Any) -> str:
        return str(int(value))

    def check(self, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
            raise ValueError("not a whole number")
        return self.parse(str(int(value)))


@dataclass(frozen=True)
class Float(Param):
    """A real number in [low, high]; with `step`, snapped to the slider's grid."""

    low: float = 0.0
    high: float = 1.0
    step: float | None = None

    def __post_init__(self):
        if not self.low <= self.default <= self.high:
            raise ValueError(
                f"{self.key}: default {self.default} outside [{self.low}, {self.high}]."
            )

    def parse(self, text: str) -> float:
        reason = f"must be a number from {self.low:g} to {self.high:g}"
        if not _FLOAT.fullmatch(text.strip()):
            raise ValueError(reason)
        value = float(text)
        if not (math.isfinite(value) and self.low <= value <= self.high):
            raise ValueError(reason)
        if self.step:
            steps = round((value - self.low) / self.step)
            value = min(self.high, self.low + steps * self.step)
        return float(_number_text(value))

    def encode(self, value: Any) -> str:
        return _number_text(float(value))

    def check(self, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError("not a number")
        return self.parse(self.encode(value))

    def same(self, a: Any, b: Any) -> bool:
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)


def _default_token(option: Any) -> str:
    if isinstance(option, bool):
        return "1" if option else "0"
    if isinstance(option, int | float):
        return _number_text(float(option))
    return str(option)


@dataclass(frozen=True)
class Choice(Param):
    """One of fixed options (selectbox, radio, select_slider).

    `tokens` maps an option to its short URL text (default: the option itself, numbers
    written compactly). Numbers in the URL also match numerically (3e-3 = 0.003).
    """

    options: tuple = ()
    tokens: Mapping[Any, str] | None = None

    def __post_init__(self):
        object.__setattr__(self, "options", tuple(self.options))
        if self.default not in self.options:
            raise ValueError(f"{self.key}: default {self.default!r} is not an option.")
        texts = [self.token(o).lower() for o in self.options]
        if len(set(texts)) != len(texts):
            raise ValueError(f"{self.key}: two options share a URL text.")

    def token(self, option: Any) -> str:
        if self.tokens is not None and option in self.tokens:
            return self.tokens[option]
        return _default_token(option)

    def _numeric(self) -> bool:
        return all(isinstance(o, int | float) and not isinstance(o, bool) for o in self.options)

    def describe(self) -> str:
        shown = ", ".join(self.token(o) for o in self.options[:8])
        more = ", …" if len(self.options) > 8 else ""
        return f"must be one of {shown}{more}"

    def parse(self, text: str) -> Any:
        wanted = text.strip().lower()
        for option in self.options:
            if self.token(option).lower() == wanted:
                return option
        if self._numeric() and _FLOAT.fullmatch(wanted):
            number = float(wanted)
            for option in self.options:
                if math.isclose(number, float(option), rel_tol=1e-9):
                    return option
        raise ValueError(self.describe())

    def encode(self, value: Any) -> str:
        return self.token(value)

    def check(self, value: Any) -> Any:
        for option in self.options:
            if option == value and type(option) is type(value):
                return option
        if self._numeric() and isinstance(value, int | float):
            return self.parse(_number_text(float(value)))
        raise ValueError(self.describe())


NONE_TOKEN = "none"


@dataclass(frozen=True)
class Multi(Param):
    """Several of fixed options (multiselect, a list), comma-separated; `none` = empty."""

    options: tuple = ()
    tokens: Mapping[Any, str] | None = None

    def __post_init__(self):
        object.__setattr__(self, "options", tuple(self.options))
        object.__setattr__(self, "default", tuple(self.default))
        if any(d not in self.options for d in self.default):
            raise ValueError(f"{self.key}: a default is not an option.")
        self._choice()  # validates the tokens

    def _choice(self) -> Choice:
        return Choice(self.key, self.options[0], self.options, self.tokens)

    def parse(self, text: str) -> list:
        if text.strip().lower() in ("", NONE_TOKEN):
            return []
        choice = self._choice()
        parts = text.split(",")
        try:
            values = [choice.parse(p) for p in parts]
        except ValueError:
            raise ValueError(
                "must be a comma-separated list of "
                + ", ".join(choice.token(o) for o in self.options)
            ) from None
        if len(set(values)) != len(values):
            raise ValueError("lists an option twice")
        return values

    def encode(self, value: Any) -> str:
        if not value:
            return NONE_TOKEN
        choice = self._choice()
        return ",".join(choice.token(v) for v in value)

    def check(self, value: Any) -> list:
        if isinstance(value, str) or not isinstance(value, Iterable):
            raise ValueError("not a list")
        return self.parse(self.encode(tuple(value)))

    def same(self, a: Any, b: Any) -> bool:
        return tuple(a) == tuple(b)


@dataclass(frozen=True)
class Flag(Param):
    """On or off (checkbox, toggle): 1/0 in the URL (true/false, yes/no, on/off accepted)."""

    def parse(self, text: str) -> bool:
        wanted = text.strip().lower()
        if wanted in _TRUE:
            return True
        if wanted in _FALSE:
            return False
        raise ValueError("must be 1 or 0")

    def encode(self, value: Any) -> str:
        return "1" if value else "0"

    def check(self, value: Any) -> bool:
        if not isinstance(value, bool):
            raise ValueError("not on/off")
        return value


@dataclass(frozen=True)
class Preset:
    """A named set-up: `values` maps widget keys to values; the rest stay at defaults."""

    slug: str
    label: str
    values: Mapping[str, Any] = field(default_factory=dict)


# ----------------------------------------------------------------------------- pure parsing


@dataclass
class Restored:
    """What a query string asks for, after checking: values for every key, and problems."""

    values: dict[str, Any]
    preset: Preset | None
    hidden: frozenset[str]
    problems: list[str]


class PageSpec:
    """The widgets of one page: names in the URL, defaults, presets. No Streamlit here."""

    def __init__(self, prefix: str, params: Sequence[Param], presets: Sequence[Preset] = ()):
        self.prefix = prefix
        self.params = {p.key: p for p in params}
        if len(self.params) != len(params):
            raise ValueError("Two parameters share a key.")
        self.names = {self.name(key): key for key in self.params}
        clash = set(self.names) & set(RESERVED)
        if clash or len(self.names) != len(self.params):
            raise ValueError(f"URL names must be unique and not {RESERVED}.")
        self.presets = {p.slug: p for p in presets}
        for preset in presets:
            for key, value in preset.values.items():
                if key not in self.params:
                    raise ValueError(f"Preset {preset.slug!r} sets unknown key {key!r}.")
                self.params[key].check(value)

    def name(self, key: str) -> str:
        """The URL name of a widget key: the key without its page prefix."""
        head = f"{self.prefix}_"
        return key[len(head) :] if key.startswith(head) else key

    @property
    def defaults(self) -> dict[str, Any]:
        return {key: p.check(p.default) for key, p in self.params.items()}

    def base(self, preset: Preset | None) -> dict[str, Any]:
        """Defaults with a preset's values on top."""
        values = self.defaults
        if preset is not None:
            values.update({k: self.params[k].check(v) for k, v in preset.values.items()})
        return values

    def parse_query(self, query: Mapping[str, str]) -> Restored:
        """Check a query (name → text): defaults, then the preset, then each parameter."""
        problems: list[str] = []
        preset = None
        slug = query.get(PRESET_PARAM)
        if slug is not None:
            preset = self.presets.get(str(slug).strip().lower())
            if preset is None:
                known = ", ".join(self.presets) or "none on this page"
                problems.append(f"`preset={_shorten(slug)}` (known presets: {known})")
        values = self.base(preset)
        hidden: set[str] = set()
        for name, text in query.items():
            text = str(text)
            if name in (PRESET_PARAM,):
                continue
            if name == HIDE_PARAM:
                hidden, bad = self._parse_hide(text)
                if bad:
                    problems.append(
                        f"`hide={_shorten(text)}` (unknown names {', '.join(bad)}; use "
                        f"`{HIDE_ALL}` or names such as {', '.join(list(self.names)[:3])})"
                    )
                continue
            key = self.names.get(name)
            if key is None:
                problems.append(f"`{_shorten(name)}` (not a setting of this page)")
                continue
            if len(text) > MAX_VALUE_LENGTH:
                problems.append(f"`{name}` (value too long)")
                continue
            try:
                values[key] = self.params[key].parse(text)
            except ValueError as reason:
                problems.append(f"`{name}={_shorten(text)}` ({reason})")
        return Restored(values, preset, frozenset(hidden), problems)

    def _parse_hide(self, text: str) -> tuple[set[str], list[str]]:
        hidden: set[str] = set()
        bad: list[str] = []
        for part in text.split(","):
            part = part.strip()
            if not part:
                continue
            if part == HIDE_ALL:
                hidden.update(self.params)
                hidden.add(PRESET_PARAM)
            elif part == PRESET_PARAM:
                hidden.add(PRESET_PARAM)
            elif part in self.names:
                hidden.add(self.names[part])
            else:
                bad.append(_shorten(part, 30))
        return hidden, bad

    def encode_values(
        self, values: Mapping[str, Any], preset: Preset | None, hidden: Iterable[str] = ()
    ) -> dict[str, str]:
        """The query for these values: the preset, values that differ from it, `hide`."""
        query: dict[str, str] = {}
        if preset is not None:
            query[PRESET_PARAM] = preset.slug
        base = self.base(preset)
        for key, param in self.params.items():
            if key not in values:
                continue
            try:
                value = param.check(values[key])
            except ValueError:
                continue  # never write what could not be read back
            if not param.same(value, base[key]):
                query[self.name(key)] = param.encode(value)
        hidden = set(hidden)
        if hidden:
            if hidden >= set(self.params):
                query[HIDE_PARAM] = HIDE_ALL
            else:
                names = [self.name(k) for k in self.params if k in hidden]
                if PRESET_PARAM in hidden:
                    names.append(PRESET_PARAM)
                query[HIDE_PARAM] = ",".join(names)
        return query


def _shorten(text: Any, limit: int = 40) -> str:
    text = str(text).replace("`", "'")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def query_string(query: Mapping[str, str]) -> str:
    """The `?a=1&b=2` form of a query (for showing a link)."""
    from urllib.parse import urlencode

    return "?" + urlencode(query, safe=",") if query else ""


# ----------------------------------------------------------------------------- Streamlit


class PageState(PageSpec):
    """PageSpec plus the Streamlit side: restore, write back, presets, hidden controls.

    `default_label` names the no-preset entry of the selector (when the defaults are
    themselves a lesson); widgets in `keep` stay where the student put them when a preset
    is chosen from the selector, unless that preset sets them.
    """

    def __init__(
        self,
        prefix: str,
        params: Sequence[Param],
        presets: Sequence[Preset] = (),
        *,
        default_label: str | None = None,
        keep: Iterable[str] = (),
    ):
        super().__init__(prefix, params, presets)
        self.default_label = default_label or DEFAULT_LABEL
        if any(p.label == self.default_label for p in presets):
            raise ValueError("A preset's label equals the default label.")
        self.keep = frozenset(keep)
        if not self.keep <= set(self.params):
            raise ValueError(f"keep names unknown keys: {sorted(self.keep - set(self.params))}.")

    @property
    def _written_key(self) -> str:
        return f"_url_{self.prefix}_written"

    @property
    def _recent_key(self) -> str:
        return f"_url_{self.prefix}_recent"

    @property
    def _hidden_key(self) -> str:
        return f"_url_{self.prefix}_hidden"

    @property
    def _shadow_key(self) -> str:
        return f"_url_{self.prefix}_values"

    @property
    def preset_key(self) -> str:
        return f"{self.prefix}_preset"

    def _labels(self) -> list[str]:
        return [self.default_label, *(p.label for p in self.presets.values())]

    def _preset_by_label(self, label: Any) -> Preset | None:
        for preset in self.presets.values():
            if preset.label == label:
                return preset
        return None

    def sync(self) -> None:
        """Call once per run, before the page's widgets: restore from or write to the URL."""
        import streamlit as st

        state = st.session_state
        current = {name: st.query_params[name] for name in st.query_params}
        # A slow rerun can arrive carrying an address this session wrote a few runs ago:
        # only an address it never wrote is a new link.
        own = current == state.get(self._written_key) or current in state.get(self._recent_key, [])
        if not own:
            # A fresh load (or an address this session did not write): the link wins.
            restored = self.parse_query(current)
            for key, value in restored.values.items():
                state[key] = value
            if self.presets:
                state[self.preset_key] = (
                    restored.preset.label if restored.preset else self.default_label
                )
            state[self._hidden_key] = restored.hidden
            state[self._shadow_key] = dict(restored.values)
            if restored.problems:
                st.warning(
                    "This link contained settings that were ignored (their defaults are "
                    "used instead): " + "; ".join(restored.problems) + ".",
                    icon="🔗",
                )
        else:
            shadow = state.get(self._shadow_key, {})
            for key, param in self.params.items():
                fallback = shadow.get(key, param.check(param.default))
                if key not in state:
                    # Streamlit drops the state of a widget a run did not draw: keep its value.
                    state[key] = fallback
                    continue
                try:
                    param.check(state[key])
                except ValueError:
                    state[key] = fallback
            state[self._shadow_key] = {key: state[key] for key in self.params}
        self._write()

    def _write(self) -> None:
        import streamlit as st

        state = st.session_state
        preset = self._preset_by_label(state.get(self.preset_key))
        query = self.encode_values(
            {k: state[k] for k in self.params if k in state},
            preset,
            state.get(self._hidden_key, frozenset()),
        )
        # Remember the address before sending it: sending is a point where Streamlit may stop
        # this run for a newer one, and that one arrives carrying the address just sent. If
        # it were not remembered yet, it would count as a new link and undo the slider move.
        state[self._written_key] = query
        recent = [q for q in state.get(self._recent_key, []) if q != query]
        state[self._recent_key] = (recent + [query])[-RECENT_ADDRESSES:]
        current = {name: st.query_params[name] for name in st.query_params}
        if current != query:
            st.query_params.from_dict(query)

    def values(self) -> dict[str, Any]:
        """The current value of every declared widget."""
        import streamlit as st

        return {key: st.session_state[key] for key in self.params}

    def hidden(self, key: str) -> bool:
        import streamlit as st

        return key in st.session_state.get(self._hidden_key, frozenset())

    def widget(self, draw: Callable[..., Any], *args: Any, key: str, **kwargs: Any) -> Any:
        """draw(*args, key=key, **kwargs), unless the link hides it: then its value."""
        import streamlit as st

        if key in self.params and self.hidden(key):
            return st.session_state[key]
        return draw(*args, key=key, **kwargs)

    def _apply_preset(self) -> None:
        import streamlit as st

        preset = self._preset_by_label(st.session_state.get(self.preset_key))
        chosen = preset.values if preset is not None else {}
        for key, value in self.base(preset).items():
            if key in self.keep and key not in chosen and key in st.session_state:
                continue
            st.session_state[key] = value

    def _show_all(self) -> None:
        import streamlit as st

        st.session_state[self._hidden_key] = frozenset()

    def controls(self, where: Any = None) -> None:
        """The preset selector, and a note (with a button) when the link hides controls."""
        import streamlit as st

        where = st if where is None else where
        hidden = st.session_state.get(self._hidden_key, frozenset())
        if self.presets and PRESET_PARAM not in hidden:
            where.selectbox(
                "Lesson preset",
                self._labels(),
                key=self.preset_key,
                on_change=self._apply_preset,
                help="A named set-up for a lesson. Choosing one sets the controls; the page "
                "address then holds the preset and any control you change afterwards.",
            )
        fixed = [k for k in self.params if k in hidden]
        if fixed:
            shown = ", ".join(
                f"{self.name(k)} = {self.params[k].encode(st.session_state[k])}" for k in fixed
            )
            where.caption(f"This link fixes some settings and hides their controls: {shown}.")
            where.button(
                "Show all controls", key=f"{self.prefix}_show_all", on_click=self._show_all
            )

    def share_note(self, where: Any = None, *, note: str | None = None) -> None:
        """How to share this view: the current link, with and without controls."""
        import streamlit as st

        where = st if where is None else where
        state = st.session_state
        query = dict(state.get(self._written_key, {}))
        student = {**query, HIDE_PARAM: HIDE_ALL}
        base = ""
        try:
            base = st.context.url or ""
        except Exception:  # no browser context (tests, bare mode)
            base = ""
        with where.expander("🔗 Share this view"):
            st.markdown(
                "Every setting on this page is part of its address: copy the address bar "
                "(or the link below) and whoever opens it sees this exact view, same seed, "
                "same result. Add `&hide=controls` to show only the result, or "
                "`&hide=name1,name2` to hide single controls."
            )
            st.code(base + query_string(query) if query else (base or "(the page's defaults)"))
            st.caption("The same view with all controls hidden (for students):")
            st.code(base + query_string(student))
            if note:
                st.caption(note)


DEFAULT_LABEL = "Default settings"
