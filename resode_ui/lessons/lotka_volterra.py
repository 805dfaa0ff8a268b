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


PRESETS = {
    "Default settings": LotkaVolterraSettings(),
    "A short training window (t_w = 2, less than one cycle): fine inside, lost beyond": (
        LotkaVolterraSettings(window=2.0)
    ),
    "A long training window (t_w = 10, over three cycles), 3000 epochs, horizon 30": (
        LotkaVolterraSettings(window=10.0, epochs=3000, horizon=30.0)
    ),
    "Fit all samples at once (no growing window): a damped imitation": LotkaVolterraSettings(
        grow=False
    ),
    "Noisy samples (10 % of each population's spread)": LotkaVolterraSettings(noise=0.1),
}


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


def lesson(settings: LotkaVolterraSettings) -> LotkaVolterraResult:
    """The fit for these settings (shared, trained with live progress if new) and its views."""
    key = settings.fit()
    data = observations(key)

    def train(start, on_chunk):
        return rc.fit_ode(
            rc.trajectory_data(data.ts, (data.noisy - data.mean) / data.scale),
            SOLVE,
            epochs=key.epochs,
            learning_rate=optax.exponential_decay(key.lr, key.epochs, FINAL_RATE),
            model=rc.MLPVectorField(2, WIDTH, key=jr.PRNGKey(key.seed), cube_input=False),
            warmup=((0.3, WARMUP_EPOCHS), (0.6, WARMUP_EPOCHS)) if key.grow else (),
            start=start,
            on_chunk=on_chunk,
        )

    fit = training.trained(key, train, total=key.total_epochs)
    horizon = max(settings.horizon, settings.window)
    return LotkaVolterraResult(key, data, fit, horizon, **_views(key, fit.model, horizon))


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


def warm_up() -> None:
    lesson(LotkaVolterraSettings())
