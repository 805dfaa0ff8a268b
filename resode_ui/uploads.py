"""Uploaded time series: check a CSV file, pick columns, scale the data for a neural ODE.

No Streamlit here. Every problem raises `UploadError` (a ValueError) that says what is wrong,
where, and what to do. Cells are parsed as plain numbers, never evaluated. The checks run
cheapest first: size, binary content, rows (counted before parsing), table, chosen columns.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import io
import math

import numpy as np
import pandas as pd

MAX_UPLOAD_MB = 5
MAX_BYTES = MAX_UPLOAD_MB * 1024 * 1024
MAX_ROWS = 100_000
MAX_COLUMNS = 64
MAX_STATES = 8
MIN_ROWS = 4
TIME_NAMES = ("t", "time", "times", "timestamp", "seconds", "s", "year", "day", "days")
MISSING_TEXT = ("", "na", "n/a", "nan", "null", "none", "-")
INFINITE_TEXT = ("inf", "+inf", "-inf", "infinity", "+infinity", "-infinity")
FILE_KINDS = {  # how other files start
    b"PK\x03\x04": "a zip archive or an Excel/OpenDocument workbook",
    b"\xd0\xcf\x11\xe0": "an old Excel workbook",
    **dict.fromkeys((b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"%PDF"), "an image or a PDF"),
}
CSV_OPTIONS = dict(sep=None, engine="python", header=None, dtype=str, keep_default_na=False)
EMPTY = "The file is empty: upload a CSV file with a header line and data."


class UploadError(ValueError):
    """A problem with an uploaded file, explained for the person who uploaded it."""


def check_size(size: int, *, max_bytes: int = MAX_BYTES) -> None:
    """Refuse empty or oversized files before reading them."""
    if size <= 0:
        raise UploadError(EMPTY)
    if size > max_bytes:
        raise UploadError(
            f"The file is {size / 1024 / 1024:.1f} MB; the limit is "
            f"{max_bytes / 1024 / 1024:.0f} MB. Upload fewer rows (for example every 10th)."
        )


def _file_kind(head: bytes) -> str | None:
    """What a file that is not text looks like, from its first bytes (None: text)."""
    kind = next((kind for magic, kind in FILE_KINDS.items() if head.startswith(magic)), None)
    controls = sum(1 for byte in head if byte < 32 and byte not in (9, 10, 13))
    binary = b"\x00" in head or controls > 0.01 * len(head)
    return kind or ("a binary file" if binary else None)


def _decode(raw: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1252"):
        with contextlib.suppress(UnicodeDecodeError):
            return raw.decode(encoding)
    raise UploadError(
        "The file is not readable text (neither UTF-8 nor Windows-1252): save it as a CSV "
        "(comma-separated values) file and upload that."
    )


def _numbers(cells: pd.Series) -> pd.Series:
    """Cells as floats; anything that is not a plain number becomes NaN."""
    return pd.to_numeric(cells.fillna("").astype(str).str.strip(), errors="coerce")


def read_table(raw: bytes, *, max_bytes: int = MAX_BYTES, max_rows: int = MAX_ROWS) -> pd.DataFrame:
    """The uploaded CSV as a table of strings, one column per header name (UploadError if
    the file is empty, too big, binary, has no header, a single column or ragged rows)."""
    check_size(len(raw), max_bytes=max_bytes)
    if kind := _file_kind(raw[:8192]):
        raise UploadError(
            f"This looks like {kind}, not a CSV text file. Export the data as CSV "
            "(comma-separated values, a header line, one row per time) and upload that."
        )
    lines = [line for line in _decode(raw).splitlines() if line.strip()]
    if not lines:
        raise UploadError(EMPTY)
    if len(lines) - 1 > max_rows:
        raise UploadError(
            f"The file has {len(lines) - 1:,} data rows; the limit is {max_rows:,}. "
            "Thin it out (for example keep every 10th row) and upload it again."
        )
    if not any(sep in lines[0] for sep in ",;\t"):
        raise UploadError(
            "The file has only one column. It needs a time column and at least one state "
            "column, separated by commas, e.g. `t,x,y`."
        )
    try:  # sep=None: pandas sniffs the delimiter from the header line
        table = pd.read_csv(io.StringIO("\n".join(lines)), **CSV_OPTIONS)
    except (pd.errors.ParserError, csv.Error) as problem:
        raise UploadError(
            f"The rows do not all have as many fields as the header does ({problem}). "
            "Check for stray commas or missing values."
        ) from None
    names = [str(name).strip() for name in table.iloc[0].fillna("")]
    if len(names) > MAX_COLUMNS:
        raise UploadError(f"The file has {len(names)} columns; the limit is {MAX_COLUMNS}.")
    if _numbers(pd.Series(names)).notna().all():
        raise UploadError(
            "The first line holds numbers, not column names. Add a header line naming the "
            "columns, e.g. `t,x,y`."
        )
    if not all(names):
        raise UploadError("A column has no name in the header line: name every column.")
    if repeated := sorted({name for name in names if names.count(name) > 1}):
        raise UploadError(f"The header names a column twice: {', '.join(repeated)}.")
    if len(table) < 2:
        raise UploadError("The file has a header line but no data rows.")
    return table.iloc[1:].set_axis(names, axis=1).reset_index(drop=True)


def numeric_column(table: pd.DataFrame, name: str) -> np.ndarray:
    """One column as float64; UploadError naming the first bad row (rows count from 1)."""
    if name not in table.columns:
        raise UploadError(f"There is no column {name!r} in the file.")
    values = _numbers(table[name]).to_numpy(dtype=np.float64)
    if np.all(np.isfinite(values)):
        return values
    index = int(np.argmin(np.isfinite(values)))
    row, cell = index + 1, str(table[name].fillna("").iloc[index]).strip()
    where = f"Column {name!r} has"
    if cell.lower() in MISSING_TEXT:
        raise UploadError(
            f"{where} a missing value (NaN or empty) in data row {row}: fill it in or drop the row."
        )
    if cell.lower() in INFINITE_TEXT:
        raise UploadError(f"{where} an infinite value in data row {row}.")
    if np.isinf(values[index]):
        raise UploadError(f"{where} a value too large for a float in row {row}.")
    hint = " (use a dot as the decimal separator)" if "," in cell else ""
    raise UploadError(f"{where} text in data row {row}: {cell[:30]!r} is not a number{hint}.")


def numeric_columns(table: pd.DataFrame) -> list[str]:
    """Columns whose first cells are numbers (the candidates offered for selection)."""
    return [name for name in table.columns if _numbers(table[name].head(20)).notna().any()]


def default_columns(table: pd.DataFrame) -> tuple[str, list[str]]:
    """A guess: a column called t/time (else the first numeric one) and the numeric rest."""
    numeric = numeric_columns(table) or list(table.columns)
    time = next((c for c in numeric if c.strip().lower() in TIME_NAMES), numeric[0])
    return time, [c for c in numeric if c != time][:MAX_STATES]


def time_series(
    table: pd.DataFrame, time_column: str, state_columns: list[str]
) -> tuple[np.ndarray, np.ndarray]:
    """(ts, ys) from the chosen columns: ts strictly increasing, ys (samples, states)."""
    if not state_columns:
        raise UploadError("Choose at least one state column.")
    if time_column in state_columns:
        raise UploadError(f"{time_column!r} is the time column; it cannot also be a state.")
    if len(state_columns) > MAX_STATES:
        raise UploadError(f"Choose at most {MAX_STATES} state columns.")
    if len(table) < MIN_ROWS:
        raise UploadError(f"The file has {len(table)} data rows; a fit needs at least {MIN_ROWS}.")
    ts = numeric_column(table, time_column)
    if np.any(np.diff(ts) <= 0):  # the first time that does not move forward
        i = int(np.argmax(np.diff(ts) <= 0))
        raise UploadError(
            f"The time {ts[i]:g} appears twice (data rows {i + 1} and {i + 2}). Each time may "
            "appear only once: average or remove the repeated rows."
            if ts[i + 1] == ts[i]
            else f"The time column {time_column!r} is not sorted: data row {i + 2} "
            f"(t = {ts[i + 1]:g}) comes after t = {ts[i]:g}. Sort the file by time."
        )
    return ts, np.stack([numeric_column(table, name) for name in state_columns], axis=1)


# ----------------------------------------------------------------------------- scaling

MODEL_TIME_SPAN = 10.0  # standardised data run from τ = 0 to τ = 10


@dataclasses.dataclass(frozen=True)
class Scaling:
    """Model coordinates: τ = (t − t0)·time_scale, z = (y − mean)/scale per state."""

    t0: float
    time_scale: float
    mean: tuple[float, ...]
    scale: tuple[float, ...]

    def times(self, ts) -> np.ndarray:
        return (np.asarray(ts, dtype=np.float64) - self.t0) * self.time_scale

    def states(self, ys) -> np.ndarray:
        return (np.asarray(ys, dtype=np.float64) - np.asarray(self.mean)) / np.asarray(self.scale)

    def original_states(self, zs) -> np.ndarray:
        return np.asarray(zs, dtype=np.float64) * np.asarray(self.scale) + np.asarray(self.mean)

    @classmethod
    def from_dict(cls, values: dict, dim: int) -> Scaling:
        """From loaded metadata, checked (UploadError if anything is off)."""
        try:
            t0, time_scale = float(values["t0"]), float(values["time_scale"])
            mean, scale = tuple(map(float, values["mean"])), tuple(map(float, values["scale"]))
        except (KeyError, TypeError, ValueError):
            raise UploadError("The parameter file does not say how its data were scaled.") from None
        finite = all(map(math.isfinite, (t0, time_scale, *mean, *scale)))
        if not (len(mean) == len(scale) == dim and finite and min(time_scale, *scale) > 0):
            raise UploadError("The parameter file's scaling does not fit its model.")
        return cls(t0, time_scale, mean, scale)


def fit_scaling(ts, ys, n_train: int, *, standardise: bool) -> Scaling:
    """Scaling from the training window only (held-out samples never leak in): with
    `standardise` each state has mean 0 and sd 1 on the window and the series spans τ ∈
    [0, 10]; else only time moves to start at 0 (the field is autonomous: nothing changes)."""
    ts, ys = np.asarray(ts, dtype=np.float64), np.asarray(ys, dtype=np.float64)
    if not standardise:
        return Scaling(float(ts[0]), 1.0, (0.0,) * ys.shape[1], (1.0,) * ys.shape[1])
    mean, spread = ys[:n_train].mean(axis=0), ys[:n_train].std(axis=0)
    spread = np.where(spread > 1e-12 * (1 + np.abs(mean)), spread, 1.0)  # a constant column
    span = MODEL_TIME_SPAN / float(ts[-1] - ts[0])
    return Scaling(float(ts[0]), span, tuple(map(float, mean)), tuple(map(float, spread)))
