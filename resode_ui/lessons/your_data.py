"""Your own time series: fit a neural ODE to a CSV file, extrapolate, export, compare solvers.

Uploaded data stay private to their session: the key of an upload's fit holds the session's
own random token (`Source.owner`) and its fits never go to disk. The example's fits are
shared by every session, like any other lesson's.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from pathlib import Path

import jax.random as jr
import numpy as np
import optax
import pandas as pd
import streamlit as st

import resode_core as rc
from resode_ui import training, uploads as up, widgets

EXAMPLE = Path(__file__).resolve().parents[2] / "data" / "example_oscillator.csv"
EXAMPLE_OWNER = "example"  # the owner of the example's fits: everyone
RATES = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2)
DECAYS = (1.0, 0.3, 0.1, 0.05, 0.02, 0.01)
STEP_FRACTIONS = (1.0, 0.5, 0.25, 0.125, 0.0625)  # Δt as a fraction of the mean sample spacing
WARMUP_EPOCHS = 150  # per warm-up stage of the growing window (30 % and 60 % of the samples)
WIDTH = 50  # hidden units of the learned field
DENSE = 200  # points of each drawn prediction
MAX_PARAM_MB = 1
# What a fit's key leaves out: the views, and the solver fields (the key holds the solve).
NOT_FIT_FIELDS = ("horizon", "compare", "b_solver", "solver", "stepping", "rtol", "atol", "dt")


@dataclass(frozen=True)
class YourDataSettings:
    """The page's fit settings: its widgets (keys `yd_<field>`)."""

    train_frac: float = 0.75
    standardise: bool = True
    cube: bool = False
    seed: int = 0
    epochs: int = 2000
    lr: float = 0.01
    decay: float = 0.1
    grow: bool = True
    solver: str = "tsit5"
    stepping: str = widgets.ADAPTIVE
    rtol: float = 1e-5
    atol: float = 1e-7
    dt: float = 0.25
    horizon: float = 0.25
    compare: bool = False
    b_solver: str = "euler"

    def fit_fields(self) -> YourDataSettings:
        """The settings a fit depends on besides its SolverSettings (the rest at defaults)."""
        base = YourDataSettings()
        return dataclasses.replace(self, **{f: getattr(base, f) for f in NOT_FIT_FIELDS})


QUICK = "A quick fit: 500 epochs"
COMPARE = "Solver A vs B: Tsit5 vs Euler with Δt = one sample spacing"
AT_ONCE = "Without the growing window: stuck in a poor fit"
EVERY = "Fit every sample (nothing held out)"
PRESETS = {
    "Default settings": YourDataSettings(),
    QUICK: YourDataSettings(epochs=500),
    COMPARE: YourDataSettings(compare=True, b_solver="euler", dt=1.0, epochs=1000),
    AT_ONCE: YourDataSettings(grow=False, epochs=1000),
    EVERY: YourDataSettings(train_frac=1.0),
}

# What each preset shows on the example data (an upload may show otherwise); every claim is
# checked on the example in tests/test_page_your_data.py.
SHOULD_SEE = {
    "Default settings": "On the example: right of the grey line the dashed curves keep "
    "following the held-out samples, and the held-out RMSE is under 10 % of the data's spread.",
    QUICK: "On the example: a quarter of the default's epochs, and both RMSEs are higher than "
    "after the default's 2000 (choose *Default settings* to compare).",
    COMPARE: "On the example: A (Tsit5, adaptive steps) and B (Euler, one step per sample "
    "spacing) both fit the training window, with RMSEs under 3 % of the data's spread. The "
    "swap table tells them apart: A's field solved with Euler, and B's field solved with "
    "Tsit5, miss the held-out samples by more than three times as much. Each field works "
    "through the solver it was trained with.",
    AT_ONCE: "On the example: without the growing window the fit is stuck. The dashed curves "
    "settle on a point early on and stay there while the samples keep oscillating, and even "
    "the training-window RMSE is more than half the data's spread.",
    EVERY: "Nothing is held out: the held-out RMSE reads 'none held out', and the question "
    "above has nothing to be checked against. The run past the last sample is a forecast that "
    "no sample tests.",
}

# The prediction question, asked above the fit chart and answered by the held-out error.
QUESTION = (
    "Will the fit (solver A, when you compare two) follow the held-out samples to within 10 % "
    "of your data's spread (held-out RMSE ÷ spread)?"
)
QUESTION_OPTIONS = ("Yes: under 10 %", "No: 10 % or more")
TRUSTED = 0.10  # the question's threshold on held-out RMSE / spread


@dataclass(frozen=True)
class Source:
    """Which data a model is fitted to: part of every fit's key."""

    data_id: str  # a hash of the file's bytes
    owner: str  # EXAMPLE_OWNER, or the uploading session's own random token
    time_column: str
    states: tuple[str, ...]


@dataclass(frozen=True)
class ModelKey:
    """What determines a model: its data and fit settings, or a loaded file's hash."""

    source: Source
    settings: YourDataSettings | None = None  # `YourDataSettings.fit_fields()`
    solve: rc.SolverSettings | None = None
    loaded: str = ""


@dataclass(frozen=True, eq=False)
class Series:
    source: Source
    name: str  # the file's name
    ts: np.ndarray  # (n,) strictly increasing
    ys: np.ndarray  # (n, states)

    def n_train(self, train_frac: float) -> int:
        return min(len(self.ts), max(3, int(round(train_frac * len(self.ts)))))


@dataclass(frozen=True, eq=False)
class Run:
    """One model on the data: trained (or loaded), its predictions and its errors."""

    label: str  # "A: Tsitouras 5(4) (order 5)", …
    key: ModelKey
    fit: rc.OdeFit  # a loaded model's fit has no history
    epochs: int
    scaling: up.Scaling
    prediction: dict  # dense_t, dense (charts); table_t, table (CSV); ok
    rmse_train: float
    rmse_test: float

    @property
    def loaded(self) -> bool:
        return bool(self.key.loaded)


@dataclass(frozen=True, eq=False)
class YourDataResult:
    series: Series
    n_train: int
    runs: tuple[Run, ...]  # A and, when comparing, B; or the loaded model
    swap: pd.DataFrame | None  # each model solved with each run's solver (when comparing)


@st.cache_data(show_spinner=False)
def example_bytes() -> bytes:
    return EXAMPLE.read_bytes()


@st.cache_data(show_spinner=False, max_entries=8)
def read_table(raw: bytes) -> pd.DataFrame:
    return up.read_table(raw)


def data_id(raw: bytes) -> str:
    return hashlib.sha1(raw).hexdigest()[:16]


def load_series(raw: bytes, name: str, owner: str, time_column: str, states) -> Series:
    """The chosen columns of a file (UploadError if they cannot be used)."""
    ts, ys = up.time_series(read_table(raw), time_column, list(states))
    return Series(Source(data_id(raw), owner, time_column, tuple(states)), name, ts, ys)


def rmse(series: Series, values, n_train: int) -> tuple[float, float]:
    """Root-mean-square errors over the training window and the held-out samples (or nan)."""
    errors = (np.asarray(values[: len(series.ts)]) - series.ys) ** 2
    return tuple(
        float(np.sqrt(e.mean())) if e.size else np.nan for e in np.split(errors, [n_train])
    )


@st.cache_data(show_spinner=False, max_entries=32)
def _prediction(key: ModelKey, _model, solve, _scaling, _series, horizon: float) -> dict:
    """The model from the first sample: on a dense grid (charts) and at table times (CSV)."""
    ts = _series.ts
    span, spacing = ts[-1] - ts[0], (ts[-1] - ts[0]) / (ts.size - 1)
    dense = np.linspace(ts[0], ts[-1] + horizon * span, DENSE)
    extra = int(np.floor(horizon * span / spacing + 1e-9))
    table_t = np.concatenate([ts, ts[-1] + spacing * np.arange(1, extra + 1)])
    # One solve on the union of both grids (one compiled shape, half the work).
    grid, inverse = np.unique(np.concatenate([dense, table_t]), return_inverse=True)
    start = _scaling.states(_series.ys[:1])
    solved = rc.solve_many(_model, start, _scaling.times(grid), solve)
    values = _scaling.original_states(solved.ys[0])[inverse]
    return dict(
        dense_t=dense,
        dense=values[:DENSE],
        table_t=table_t,
        table=values[DENSE:],
        ok=bool(solved.ok[0]),
    )


def _run(label, key, fit, epochs, scaling, series, n_train, horizon) -> Run:
    pred = _prediction(key, fit.model, fit.settings, scaling, series, horizon)
    return Run(label, key, fit, epochs, scaling, pred, *rmse(series, pred["table"], n_train))


def _trained(series: Series, settings: YourDataSettings, side: str, solver: str) -> Run:
    label = widgets.solver_label(solver)
    label = f"{side}: {label}" if settings.compare else label
    s = settings
    n_train = series.n_train(s.train_frac)
    scaling = up.fit_scaling(series.ts, series.ys, n_train, standardise=s.standardise)
    tau, z = scaling.times(series.ts), scaling.states(series.ys)
    dt = s.dt * float(tau[-1] - tau[0]) / (tau.size - 1)  # s.dt is in mean sample spacings
    solve = widgets.solver_settings(solver, s.stepping, s.rtol, s.atol, dt)
    key = ModelKey(series.source, s.fit_fields(), solve)

    def train(start, on_chunk):
        return rc.fit_ode(
            rc.trajectory_data(tau[:n_train], z[:n_train]),
            solve,
            epochs=s.epochs,
            learning_rate=optax.exponential_decay(s.lr, s.epochs, s.decay),
            model=rc.MLPVectorField(z.shape[1], WIDTH, key=jr.PRNGKey(s.seed), cube_input=s.cube),
            warmup=((0.3, WARMUP_EPOCHS), (0.6, WARMUP_EPOCHS)) if s.grow else (),
            start=start,
            on_chunk=on_chunk,
        )

    # The example's fits are shared by every session; an upload's stay its owner's.
    shared = series.source.owner == EXAMPLE_OWNER
    total = s.epochs + (2 * WARMUP_EPOCHS if s.grow else 0)
    fit = training.trained(key, train, total=total, label=f"{side} ({solver})", persist=shared)
    return _run(label, key, fit, fit.epochs, scaling, series, n_train, settings.horizon)


def _loaded(series: Series, settings: YourDataSettings, name: str, raw: bytes) -> Run:
    """A model from a parameter file, with the scaling and solver it was trained with."""
    try:
        up.check_size(len(raw), max_bytes=MAX_PARAM_MB * 1024 * 1024)
        model, meta = rc.vector_field_from_bytes(raw)
        if model.dim != len(series.source.states):
            trained_on = ", ".join(map(str, meta.get("state_columns", [])))
            raise ValueError(
                f"These parameters were trained on {model.dim} state(s) ({trained_on}); "
                f"choose {model.dim} state column(s)."
            )
        scaling = up.Scaling.from_dict(meta.get("scaling", {}), model.dim)
        spec = meta.get("solver", {})
        dt = None if spec.get("adaptive") else float(spec.get("dt"))
        rtol, atol = float(spec.get("rtol")), float(spec.get("atol"))
        solve = rc.SolverSettings(str(spec.get("solver")), dt=dt, rtol=rtol, atol=atol)
    except (ValueError, TypeError, KeyError) as problem:
        raise ValueError(f"The parameter file cannot be used: {problem}") from None
    empty = np.zeros(0, np.float32)
    fit = rc.OdeFit(model, solve, None, empty, empty, empty)
    epochs = meta["epochs"] if isinstance(meta.get("epochs"), int) else 0
    key = ModelKey(series.source, loaded=hashlib.sha1(raw).hexdigest())
    n_train = series.n_train(settings.train_frac)
    return _run("loaded parameters", key, fit, epochs, scaling, series, n_train, settings.horizon)


def lesson(
    series: Series, settings: YourDataSettings, params: tuple[str, bytes] | None = None
) -> YourDataResult:
    """Fit solver A (and B when comparing) to the series, or use loaded parameters."""
    if params is not None:
        runs = (_loaded(series, settings, *params),)
    else:
        sides = (("A", settings.solver), ("B", settings.b_solver))[: 2 if settings.compare else 1]
        runs = tuple(_trained(series, settings, side, solver) for side, solver in sides)
    n_train = series.n_train(settings.train_frac)
    swap = _swap(series, runs, n_train, settings.horizon) if len(runs) == 2 else None
    return YourDataResult(series, n_train, runs, swap)


def _swap(series: Series, runs, n_train: int, horizon: float) -> pd.DataFrame:
    """Each trained model solved with each run's solver: RMSE on the window and held out."""
    columns = ["trained with", "solved with", "RMSE, training window", "RMSE, held out"]
    rows = []
    for trained in runs:
        for solved in runs:
            pred = _prediction(
                trained.key,
                trained.fit.model,
                solved.fit.settings,
                trained.scaling,
                series,
                horizon,
            )
            rows.append((trained.label, solved.label, *rmse(series, pred["table"], n_train)))
    return pd.DataFrame(rows, columns=columns)


def values_domain(result: YourDataResult) -> tuple[float, float]:
    """The fit chart's values axis: the samples, and every run's prediction as far as one
    spread of the samples beyond them (a prediction that flies off further is clipped)."""
    data = result.series.ys
    low, high = float(np.min(data)), float(np.max(data))
    span = (high - low) or 1.0
    values = [data.ravel()]
    for run in result.runs:
        dense = run.prediction["dense"]
        values.append(np.clip(dense[np.isfinite(dense)], low - span, high + span))
    values = np.concatenate(values)
    low, high = float(values.min()), float(values.max())
    return low - 0.05 * (high - low or 1.0), high + 0.05 * (high - low or 1.0)


def data_spread(series: Series) -> float:
    """The root-mean-square deviation of the samples from their mean (1 if they are constant)."""
    ys = series.ys
    return float(np.sqrt(np.mean((ys - ys.mean(axis=0)) ** 2))) or 1.0


def held_out_answer(result: YourDataResult) -> tuple[str, str] | None:
    """The question's answer from the first run's held-out RMSE (None: nothing held out)."""
    n = len(result.series.ts)
    if result.n_train >= n:
        return None
    run = result.runs[0]
    ratio = run.rmse_test / data_spread(result.series)
    if not np.isfinite(ratio):
        return QUESTION_OPTIONS[1], "The model could not be solved over the held-out samples."
    truth = QUESTION_OPTIONS[0] if ratio < TRUSTED else QUESTION_OPTIONS[1]
    who = "A's" if len(result.runs) > 1 else "The"
    return truth, (
        f"{who} RMSE on the {n - result.n_train} held-out samples is {run.rmse_test:.3g}, "
        f"{100 * ratio:.1f} % of the data's spread."
    )


def loss_jumps(fit: rc.OdeFit) -> list[tuple[int, float, float]]:
    """(epoch, loss before, loss after) where the growing window adds samples."""
    return [
        (start + 1, float(fit.losses[start - 1]), float(fit.losses[start]))
        for start in (WARMUP_EPOCHS, 2 * WARMUP_EPOCHS)
        if fit.epochs > start
    ]


def swap_note(swap: pd.DataFrame) -> str:
    """The swap table in one sentence: each field with the other's solver (computed)."""
    held = swap.set_index(["trained with", "solved with"])["RMSE, held out"]
    a, b = dict.fromkeys(swap["trained with"])
    return (
        f"Held-out RMSE of A's field: {held[(a, a)]:.3g} with its own solver, "
        f"{held[(a, b)]:.3g} with B's; of B's field: {held[(b, b)]:.3g} with its own, "
        f"{held[(b, a)]:.3g} with A's."
    )


def prediction_table(result: YourDataResult) -> pd.DataFrame:
    """The samples and each model's values at the same times, then past the last sample."""
    series, (main, *others) = result.series, result.runs
    table_t, n = main.prediction["table_t"], len(series.ts)
    index = np.arange(table_t.size)
    parts = np.where(
        index < result.n_train, "training window", np.where(index < n, "held out", "extrapolation")
    )
    frame = pd.DataFrame({series.source.time_column: table_t, "part": parts})
    for k, name in enumerate(series.source.states):
        frame[name] = np.concatenate([series.ys[:, k], np.full(table_t.size - n, np.nan)])
        frame[f"{name}_predicted"] = main.prediction["table"][:, k]
        for other in others:
            frame[f"{name}_predicted_{other.fit.settings.solver}"] = other.prediction["table"][:, k]
    return frame


def parameter_file(result: YourDataResult) -> bytes:
    """The first model's weights, with the scaling and solver it needs (a .resode file)."""
    main, source = result.runs[0], result.series.source
    solve, solver_fields = main.fit.settings, ("solver", "dt", "rtol", "atol")
    metadata = {
        "app": "ResODE Lab",
        "page": "your_data",
        "source": result.series.name[:100],
        "time_column": source.time_column,
        "state_columns": list(source.states),
        "scaling": dataclasses.asdict(main.scaling),
        "solver": {"adaptive": solve.adaptive, **{k: getattr(solve, k) for k in solver_fields}},
        "epochs": main.epochs,
        "train_samples": result.n_train,
    }
    return rc.vector_field_to_bytes(main.fit.model, metadata)


def example_series() -> Series:
    raw = example_bytes()
    return load_series(raw, EXAMPLE.name, EXAMPLE_OWNER, *up.default_columns(read_table(raw)))


def warm_up() -> None:
    lesson(example_series(), YourDataSettings())
