"""Uploaded time series: check a CSV file, pick columns, scale the data for a neural ODE.

Pure functions (no Streamlit). Every problem raises `UploadError` (a ValueError) whose
message says what is wrong, where, and what to do; the page shows it in an error box.
Nothing read from a file is evaluated: cells are parsed as plain numbers only.

The checks run cheapest first: size (before anything is read), binary content, number
of rows (counted before parsing), then the table itself, then the chosen columns.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass

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


class UploadError(ValueError):
    """A problem with an uploaded file, explained for the person who uploaded it."""


# ----------------------------------------------------------------------------- the file


def check_size(size: int, *, max_bytes: int = MAX_BYTES) -> None:
    """Refuse empty or oversized files before reading them."""
    if size <= 0:
        raise UploadError("The file is empty: upload a CSV file with a header line and data.")
    if size > max_bytes:
        raise UploadError(
            f"The file is {size / 1024 / 1024:.1f} MB; the limit is "
            f"{max_bytes / 1024 / 1024:.0f} MB. Upload fewer rows (for example every 10th)."
        )


def _looks_binary(raw: bytes) -> str | None:
    head = raw[:8192]
    if head.startswith(b"PK\x03\x04"):
        return "a zip archive or an Excel/OpenDocument workbook"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return "an old Excel workbook"
    if head.startswith((b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"%PDF")):
        return "an image or a PDF"
    if b"\x00" in head:
        return "a binary file"
    controls = sum(1 for byte in head if byte < 32 and byte not in (9, 10, 13))
    if head and controls / len(head) > 0.01:
        return "a binary file"
    return None


def _decode(raw: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise UploadError(
        "The file is not readable text (neither UTF-8 nor Windows-1252): save it as a CSV "
        "(comma-separated values) file and upload that."
    )


def _delimiter(text: str) -> str:
    sample = "\n".join(text.splitlines()[:20])
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t").delimiter
    except csv.Error:
        return ","


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def read_table(raw: bytes, *, max_bytes: int = MAX_BYTES, max_rows: int = MAX_ROWS) -> pd.DataFrame:
    """The uploaded CSV as a table of strings (one column per header name).

    Raises UploadError for an empty, oversized or binary file, too many rows, a missing
    header, fewer than two columns, repeated column names or rows of the wrong length.
    """
    check_size(len(raw), max_bytes=max_bytes)
    kind = _looks_binary(raw)
    if kind is not None:
        raise UploadError(
            f"This looks like {kind}, not a CSV text file. Export the data as CSV "
            "(comma-separated values, a header line, one row per time) and upload that."
        )
    text = _decode(raw)
    if not text.strip():
        raise UploadError("The file is empty: upload a CSV file with a header line and data.")
    # Count lines before parsing, so a huge file is refused without building a table.
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) - 1 > max_rows:
        raise UploadError(
            f"The file has {len(lines) - 1:,} data rows; the limit is {max_rows:,}. "
            "Thin it out (for example keep every 10th row) and upload it again."
        )
    sep = _delimiter(text)
    header = next(csv.reader([lines[0]], delimiter=sep))
    names = [name.strip() for name in header]
    if len(names) < 2:
        raise UploadError(
            "The file has only one column. It needs a time column and at least one state "
            "column, separated by commas, e.g. `t,x,y`."
        )
    if len(names) > MAX_COLUMNS:
        raise UploadError(
            f"The file has {len(names)} columns; at most {MAX_COLUMNS} are supported."
        )
    if all(_is_number(name) for name in names):
        raise UploadError(
            "The first line holds numbers, not column names. Add a header line naming the "
            "columns, e.g. `t,x,y`."
        )
    if any(not name for name in names):
        raise UploadError("A column has no name in the header line: name every column.")
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise UploadError(f"The header names a column twice: {', '.join(repeated)}.")
    if len(lines) < 2:
        raise UploadError("The file has a header line but no data rows.")
    try:
        table = pd.read_csv(
            io.StringIO(text),
            sep=sep,
            dtype=str,
            keep_default_na=False,
            skip_blank_lines=True,
            skipinitialspace=True,
            engine="python",
        )
    except (pd.errors.ParserError, csv.Error) as problem:
        raise UploadError(
            f"The rows do not all have {len(names)} fields as the header does ({problem}). "
            "Check for stray commas or missing values."
        ) from None
    table.columns = names
    return table


# ----------------------------------------------------------------------------- columns


def numeric_column(table: pd.DataFrame, name: str) -> np.ndarray:
    """One column as float64; UploadError naming the first bad row (rows count from 1)."""
    if name not in table.columns:
        raise UploadError(f"There is no column {name!r} in the file.")
    cells = table[name].astype(str).str.strip()
    values = np.empty(len(cells))
    for row, cell in enumerate(cells, start=1):
        lowered = cell.lower()
        if lowered in MISSING_TEXT:
            raise UploadError(
                f"Column {name!r} has a missing value (NaN or empty) in data row {row}. "
                "Fill it in or remove that row."
            )
        if lowered in INFINITE_TEXT:
            raise UploadError(f"Column {name!r} has an infinite value in data row {row}.")
        try:
            value = float(cell)
        except ValueError:
            hint = " (use a dot as the decimal separator)" if "," in cell else ""
            raise UploadError(
                f"Column {name!r} has text in data row {row}: {cell[:30]!r} is not a number{hint}."
            ) from None
        if not math.isfinite(value):
            raise UploadError(f"Column {name!r} has a value too large for a float in row {row}.")
        values[row - 1] = value
    return values


def numeric_columns(table: pd.DataFrame) -> list[str]:
    """Columns whose first cells are numbers (the candidates offered for selection)."""
    names = []
    for name in table.columns:
        head = table[name].astype(str).str.strip().head(20)
        if any(_is_number(cell) for cell in head):
            names.append(name)
    return names


def default_columns(table: pd.DataFrame) -> tuple[str, list[str]]:
    """A guess: a column called t/time (else the first numeric one) and the numeric rest."""
    numeric = numeric_columns(table) or list(table.columns)
    time = next((c for c in numeric if c.strip().lower() in TIME_NAMES), numeric[0])
    states = [c for c in numeric if c != time][:MAX_STATES]
    return time, states


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
    steps = np.diff(ts)
    if np.any(steps == 0):
        i = int(np.argmax(steps == 0))
        raise UploadError(
            f"The time {ts[i]:g} appears twice (data rows {i + 1} and {i + 2}). Each time may "
            "appear only once: average or remove the repeated rows."
        )
    if np.any(steps < 0):
        i = int(np.argmax(steps < 0))
        raise UploadError(
            f"The time column {time_column!r} is not sorted: data row {i + 2} (t = {ts[i + 1]:g}) "
            f"comes after t = {ts[i]:g}. Sort the file by time."
        )
    ys = np.stack([numeric_column(table, name) for name in state_columns], axis=1)
    return ts, ys


# ----------------------------------------------------------------------------- scaling


@dataclass(frozen=True)
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

    def to_dict(self) -> dict:
        return {
            "t0": self.t0,
            "time_scale": self.time_scale,
            "mean": list(self.mean),
            "scale": list(self.scale),
        }

    @classmethod
    def from_dict(cls, values: dict, dim: int) -> Scaling:
        """From loaded metadata, checked (UploadError if anything is off)."""
        try:
            t0 = float(values["t0"])
            time_scale = float(values["time_scale"])
            mean = tuple(float(v) for v in values["mean"])
            scale = tuple(float(v) for v in values["scale"])
        except (KeyError, TypeError, ValueError):
            raise UploadError("The parameter file does not say how its data were scaled.") from None
        numbers = (t0, time_scale, *mean, *scale)
        if len(mean) != dim or len(scale) != dim or not all(math.isfinite(v) for v in numbers):
            raise UploadError("The parameter file's scaling does not fit its model.")
        if time_scale <= 0 or any(s <= 0 for s in scale):
            raise UploadError("The parameter file's scaling is not positive.")
        return cls(t0, time_scale, mean, scale)


MODEL_TIME_SPAN = 10.0  # standardised data run from τ = 0 to τ = 10


def fit_scaling(ts, ys, n_train: int, *, standardise: bool) -> Scaling:
    """Scaling from the training window only (so held-out samples never leak in).

    With `standardise`, each state has mean 0 and standard deviation 1 on the window and
    the whole series spans τ ∈ [0, 10]; otherwise only the time origin moves to 0 (the
    field is autonomous, so a shift of time changes nothing).
    """
    ts = np.asarray(ts, dtype=np.float64)
    ys = np.asarray(ys, dtype=np.float64)
    t0 = float(ts[0])
    if not standardise:
        dim = ys.shape[1]
        return Scaling(t0, 1.0, (0.0,) * dim, (1.0,) * dim)
    window = ys[:n_train]
    mean = window.mean(axis=0)
    spread = window.std(axis=0)
    spread = np.where(spread > 1e-12 * (1 + np.abs(mean)), spread, 1.0)  # a constant column
    return Scaling(
        t0,
        MODEL_TIME_SPAN / float(ts[-1] - ts[0]),
        tuple(float(v) for v in mean),
        tuple(float(v) for v in spread),
    )
