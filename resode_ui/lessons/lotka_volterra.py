"""Lotka–Volterra: fit a neural ODE on a window of a predator–prey series, then extrapolate."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import jax.random as jr
import numpy as np
import optax
import streamlit as st

import resode_core as rc
from resode_ui import training

RATES = (0.002, 0.005, 0.01, 0.02, 0.05, 0.1)
DENSE = 256  # points of a drawn curve
WIDTH = 50  # hidden units of the learned field
WARMUP_EPOCHS = 250  # per stage of the growing window (30 % and 60 % of the samples)
FINAL_RATE = 0.05  # Adam's rate decays to this fraction of the first
SOLVE = rc.SolverSettings("tsit5", rtol=1e-5, atol=1e-7)


@dataclass(frozen=True)
class LotkaVolterraSettings:
    """The page's settings: its widgets (keys `lv_<field>`); without the horizon, a fit's key."""

    alpha: float = 1.5
    beta: float = 1.0
    gamma: float = 3.0
    delta: float = 1.0
    prey0: float = 1.0
    pred0: float = 1.0
    window: float = 5.0
    samples: int = 40
    noise: float = 0.0
    epochs: int = 1500
    lr: float = 0.02
    grow: bool = True
    seed: int = 0
    horizon: float = 15.0

    @property
    def params(self) -> tuple[float, float, float, float]:
        return (self.alpha, self.beta, self.gamma, self.delta)

    @property
    def total_epochs(self) -> int:
        return self.epochs + (2 * WARMUP_EPOCHS if self.grow else 0)

    def fit(self) -> LotkaVolterraSettings:
        """The settings that determine the fit: the horizon only re-solves the learned model."""
        return dataclasses.replace(self, horizon=LotkaVolterraSettings.horizon)


SHORT = "A short training window (t_w = 2, less than one cycle): fine inside, lost beyond"
LONG = "A long training window (t_w = 10, about three cycles), 3000 epochs, horizon 30"
AT_ONCE = "Fit all samples at once (no growing window)"
NOISY = "Noisy samples (10 % of each population's spread)"
PRESETS = {
    "Default settings": LotkaVolterraSettings(),
    SHORT: LotkaVolterraSettings(window=2.0),
    LONG: LotkaVolterraSettings(window=10.0, epochs=3000, horizon=30.0),
    AT_ONCE: LotkaVolterraSettings(grow=False),
    NOISY: LotkaVolterraSettings(noise=0.1),
}

# What each preset shows; every claim is checked in tests/test_page_lotka_volterra.py.
SHOULD_SEE = {
    "Default settings": "In the grey band the dashed curves go on with the true cycles: "
    "their peaks come at the true times, and *Error beyond the window* stays under 10 % up to "
    "the horizon.",
    SHORT: "The window holds less than one cycle (the true period is about 3.3). The fit "
    "follows its samples (*Error on the window* under 10 %), but beyond the window the "
    "learned prey grow far past any true peak and the error passes 100 %: a piece of one "
    "cycle does not pin down the rule.",
    LONG: "More data is no guarantee: with about three cycles in the window this fit settles "
    "on a cycle of nearly the right period but the wrong size (the caption under the chart "
    "compares its prey peaks with the true ones), misses the window itself by more than 20 %, "
    "and its predators dip below zero. Compare its final loss with the default's.",
    AT_ONCE: "Without the growing window the fit misses the window several times more than "
    "the default does, and beyond the window each learned prey peak is higher than the one "
    "before: the orbit spirals outward, H (its chart further down) drifts away from its true value, and the "
    "learned predators fall below zero, which no population can. The network was asked only to "
    "match the samples; nothing in it knows that populations stay positive or that H is "
    "conserved.",
    NOISY: "The samples scatter around the true curves, yet the fit stays within 10 % of the "
    "true populations, on the window and beyond it up to the horizon.",
}

# The prediction question: asked above the populations chart, answered by the error beyond.
QUESTION = (
    "Trained only on the samples in [0, t_w], will the learned model stay within 10 % of the "
    "true populations beyond the window, up to the horizon?"
)
QUESTION_OPTIONS = ("Yes: within 10 %", "No: off by 10 % or more")
TRUSTED = 0.10  # the question's threshold on the relative path error beyond the window


@dataclass(frozen=True)
class Observations:
    ts: np.ndarray
    noisy: np.ndarray  # (samples, 2) what training sees
    mean: np.ndarray  # the network works on z = (u − mean)/scale, so tanh sees numbers near 0
    scale: np.ndarray


@dataclass(frozen=True)
class LotkaVolterraResult:
    settings: LotkaVolterraSettings  # the fit's settings
    data: Observations
    fit: rc.OdeFit
    horizon: float  # at least the window's end
    ts: np.ndarray  # times of the drawn curves, over [0, horizon]
    true: np.ndarray  # (DENSE, 2)
    learned: np.ndarray  # from the first sample, in the populations' units
    learned_ok: bool
    error_window: float  # relative path errors, inside and beyond the window (nan: none)
    error_beyond: float


def system(s: LotkaVolterraSettings):
    return rc.lotka_volterra_system(*s.params, u0=(s.prey0, s.pred0))


@st.cache_data(show_spinner=False, max_entries=32)
def observations(s: LotkaVolterraSettings) -> Observations:
    """Samples of the true system on [0, window], with Gaussian noise relative to each range."""
    ts = np.linspace(0.0, s.window, s.samples)
    clean = rc.solve_many(system(s), [(s.prey0, s.pred0)], ts)
    if not clean.ok[0]:
        raise ValueError(
            "The true system could not be solved on this window: try other parameters."
        )
    spread = clean.ys[0].std(axis=0) + 1e-6
    noise = s.noise * spread * np.random.default_rng(s.seed).standard_normal(clean.ys[0].shape)
    noisy = clean.ys[0] + noise
    return Observations(ts, noisy, noisy.mean(axis=0), noisy.std(axis=0) + 1e-6)


def conserved(params, ys) -> np.ndarray:
    """H = δx − γ ln x + βy − α ln y, constant along every true orbit."""
    a, b, g, d = params
    x, y = ys[:, 0], ys[:, 1]
    with np.errstate(invalid="ignore", divide="ignore"):
        return d * x - g * np.log(x) + b * y - a * np.log(y)


def initial_model(key: LotkaVolterraSettings) -> rc.MLPVectorField:
    """The untrained field: V(z) = W₂ tanh(W₁z + b₁) + b₂ (no cube), seeded."""
    return rc.MLPVectorField(2, WIDTH, key=jr.PRNGKey(key.seed), cube_input=False)


def _warmup(key: LotkaVolterraSettings) -> tuple:
    return ((0.3, WARMUP_EPOCHS), (0.6, WARMUP_EPOCHS)) if key.grow else ()


def _fit(key: LotkaVolterraSettings, start, on_chunk) -> rc.OdeFit:
    """The fit these settings describe (the page's, and its replay for Play)."""
    data = observations(key)
    return rc.fit_ode(
        rc.trajectory_data(data.ts, (data.noisy - data.mean) / data.scale),
        SOLVE,
        epochs=key.epochs,
        learning_rate=optax.exponential_decay(key.lr, key.epochs, FINAL_RATE),
        model=initial_model(key),
        warmup=_warmup(key),
        start=start,
        on_chunk=on_chunk,
    )


def lesson(settings: LotkaVolterraSettings) -> LotkaVolterraResult:
    """The fit for these settings (shared, trained with live progress if new) and its views."""
    key = settings.fit()
    data = observations(key)

    def train(start, on_chunk):
        return _fit(key, start, on_chunk)

    fit = training.trained(key, train, total=key.total_epochs)
    horizon = max(settings.horizon, settings.window)
    return LotkaVolterraResult(key, data, fit, horizon, **_views(key, fit.model, horizon))


def frame_epochs(key: LotkaVolterraSettings) -> list[int]:
    """The epochs Play shows: 0 (untrained), then after every chunk, warm-up stages first."""
    return [0, *training.chunk_ends(key.epochs, _warmup(key))]


@st.cache_resource(show_spinner=False, max_entries=8)
def _snapshots(key: LotkaVolterraSettings) -> tuple:
    return training.snapshots(lambda on_chunk: _fit(key, None, on_chunk), initial_model(key))


@st.cache_data(show_spinner=False, max_entries=8)
def training_frames(key: LotkaVolterraSettings, horizon: float) -> dict:
    """The fit replayed (the same compiled programs: nothing compiles), each snapshot solved
    over [0, horizon] like the page's own curve: epochs (frames,), learned (frames, DENSE, 2)
    in the populations' units."""
    epochs, models = _snapshots(key)
    data = observations(key)
    ts = np.linspace(0.0, horizon, DENSE)
    start = [(data.noisy[0] - data.mean) / data.scale]
    learned = [rc.solve_many(m, start, ts, SOLVE).ys[0] * data.scale + data.mean for m in models]
    return {"epochs": np.array(epochs), "learned": np.stack(learned)}


def population_domain(result: LotkaVolterraResult) -> tuple[float, float]:
    """The populations chart's values axis: the true curve and the samples, and the learned
    curve as far as three times the true maximum (beyond that it is clipped); from zero or
    below, so a learned population that turns negative shows."""
    true_top = float(np.nanmax(result.true))
    learned = result.learned[np.isfinite(result.learned)]
    learned = np.clip(learned, -true_top, 3 * true_top) if learned.size else learned
    values = np.concatenate([result.true.ravel(), result.data.noisy.ravel(), learned, [0.0]])
    low, high = float(values.min()), float(values.max())
    return low - 0.05 * (high - low), high + 0.05 * (high - low)


@st.cache_data(show_spinner=False, max_entries=32)
def _views(key: LotkaVolterraSettings, _model, horizon: float) -> dict:
    data = observations(key)
    ts = np.linspace(0.0, horizon, DENSE)
    true = rc.solve_many(system(key), [(key.prey0, key.pred0)], ts).ys[0]
    learned = rc.solve_many(_model, [(data.noisy[0] - data.mean) / data.scale], ts, SOLVE)
    ys = learned.ys[0] * data.scale + data.mean
    inside = ts <= key.window
    beyond = rc.relative_errors(ys[~inside], true[~inside])[0] if (~inside).sum() > 1 else np.nan
    return {
        "ts": ts,
        "true": true,
        "learned": ys,
        "learned_ok": bool(learned.ok[0]),
        "error_window": float(rc.relative_errors(ys[inside], true[inside])[0]),
        "error_beyond": float(beyond),
    }


def beyond_answer(result: LotkaVolterraResult) -> tuple[str, str] | None:
    """The question's answer from the error beyond the window (None: nothing lies beyond)."""
    error, window = result.error_beyond, result.settings.window
    if result.horizon <= window or np.isnan(error):
        return None
    where = f"Beyond the window, on [{window:g}, {result.horizon:g}],"
    if not result.learned_ok or not np.isfinite(error):
        return QUESTION_OPTIONS[1], f"{where} the learned model could not even be solved."
    truth = QUESTION_OPTIONS[0] if error < TRUSTED else QUESTION_OPTIONS[1]
    return truth, f"{where} the learned populations are {100 * error:.1f} % off the true ones."


def peaks(values: np.ndarray) -> np.ndarray:
    """Indices of the strict local maxima of a sampled curve (its end points excluded)."""
    v = np.asarray(values)
    return np.flatnonzero((v[1:-1] > v[:-2]) & (v[1:-1] > v[2:])) + 1


def orbit_note(result: LotkaVolterraResult) -> str:
    """What the learned orbit does that the true one cannot (computed; empty if nothing)."""
    sentences = []
    learned, true, ts = result.learned, result.true, result.ts
    own, real = learned[peaks(learned[:, 0]), 0], true[peaks(true[:, 0]), 0]
    if own.size >= 2 and real.size:
        true_top = f"the true peaks reach {real.max():.2f}"
        if np.all(np.diff(own) > 0) and own[-1] > 1.05 * own[0]:
            sentences.append(
                f"The learned prey peaks grow from {own[0]:.2f} to {own[-1]:.2f} ({true_top}): "
                "the learned orbit spirals outward."
            )
        elif np.all(np.diff(own) < 0) and own[-1] < 0.95 * own[0]:
            sentences.append(
                f"The learned prey peaks shrink from {own[0]:.2f} to {own[-1]:.2f} "
                f"({true_top}): the learned orbit spirals inward."
            )
        elif np.ptp(own) < 0.05 * own.mean() and np.all(
            np.abs(own - real.max()) > 0.1 * real.max()
        ):
            sentences.append(
                f"The learned prey peaks stay between {own.min():.2f} and {own.max():.2f} while "
                f"{true_top}: a cycle of steady size, but the wrong size."
            )
    for k, name in ((0, "prey"), (1, "predators")):
        finite, true_top = learned[np.isfinite(learned[:, k]), k], true[:, k].max()
        if finite.size and finite.max() > 2 * true_top:
            sentences.append(
                f"The learned {name} reach {finite.max():.3g}, more than twice the true maximum "
                f"({true_top:.2f})."
            )
    negative = [
        (name, np.flatnonzero(learned[:, k] < 0), learned[:, k].min())
        for k, name in ((0, "prey"), (1, "predators"))
    ]
    for name, below, lowest in negative:
        if below.size:
            sentences.append(
                f"The learned {name} fall below zero from t = {ts[below[0]]:.1f} (lowest "
                f"{lowest:.2f}), which no population can."
            )
    if any(below.size for _, below, _ in negative):
        sentences.append(
            "In the true system each population's rate of change vanishes when that population "
            "is zero, so neither can cross zero; nothing in the network keeps them positive."
        )
    return " ".join(sentences)


def loss_jumps(fit: rc.OdeFit) -> list[tuple[int, float, float]]:
    """(epoch, loss before, loss after) where the growing window adds samples."""
    jumps = []
    for start in (WARMUP_EPOCHS, 2 * WARMUP_EPOCHS):
        if fit.epochs > start:
            jumps.append((start + 1, float(fit.losses[start - 1]), float(fit.losses[start])))
    return jumps


def warm_up() -> None:
    """The default fit and its Play frames."""
    result = lesson(LotkaVolterraSettings())
    training_frames(result.settings, result.horizon)
