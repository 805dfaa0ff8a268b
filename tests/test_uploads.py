"""resode_ui/uploads.py: every bad file gets its own clear message; good files parse."""

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from resode_ui import uploads as up

EXAMPLE = Path(__file__).resolve().parents[1] / "data" / "example_oscillator.csv"


def _error(raw: bytes, **kwargs) -> str:
    with pytest.raises(up.UploadError) as info:
        up.read_table(raw, **kwargs)
    return str(info.value)


def _series_error(text: str, time: str = "t", states=("x",)) -> str:
    table = up.read_table(text.encode())
    with pytest.raises(up.UploadError) as info:
        up.time_series(table, time, list(states))
    return str(info.value)


def test_example_csv_parses_with_the_expected_columns():
    table = up.read_table(EXAMPLE.read_bytes())
    assert list(table.columns) == ["t", "x", "y"]
    assert up.default_columns(table) == ("t", ["x", "y"])
    ts, ys = up.time_series(table, "t", ["x", "y"])
    assert ts.shape == (40,) and ys.shape == (40, 2)
    assert ts[0] == 0.0 and ts[-1] == 12.0 and np.all(np.diff(ts) > 0)
    assert ys[0].tolist() == [2.0, 0.0]


def test_empty_file():
    assert "empty" in _error(b"")
    assert "empty" in _error(b"  \n\n  ")
    with pytest.raises(up.UploadError, match="empty"):
        up.check_size(0)


def test_size_limit_is_checked_before_reading():
    with pytest.raises(up.UploadError, match="limit is 5 MB"):
        up.check_size(6 * 1024 * 1024)
    up.check_size(1024)  # fine
    big = b"t,x\n" + b"1,2\n" * 10
    assert "limit is" in _error(big, max_bytes=20)


def test_too_many_rows_are_refused_before_parsing():
    raw = b"t,x\n" + b"".join(f"{i},{i}\n".encode() for i in range(101))
    message = _error(raw, max_rows=100)
    assert "101 data rows" in message and "limit is 100" in message
    assert len(up.read_table(raw, max_rows=101)) == 101


def test_default_row_limit_is_one_hundred_thousand():
    assert up.MAX_ROWS == 100_000
    raw = b"t,x\n" + b"1,2\n" * 100_001
    assert "100,001 data rows" in _error(raw)


def test_binary_files_are_named():
    assert "binary file" in _error(b"t,x\n\x00\x01\x02\x03")
    assert "Excel" in _error(b"PK\x03\x04" + b"\x00" * 100)
    assert "image" in _error(b"\x89PNG\r\n\x1a\n" + b"\x00" * 50)
    assert "binary" in _error(bytes(range(1, 32)) * 10)


def test_one_column():
    message = _error(b"t\n1\n2\n3\n")
    assert "only one column" in message and "state column" in message


def test_missing_header_and_duplicate_names():
    assert "column names" in _error(b"0,1\n1,2\n2,3\n")
    assert "twice" in _error(b"t,x,x\n1,2,3\n")
    assert "no name" in _error(b"t,,y\n1,2,3\n")
    assert "no data rows" in _error(b"t,x\n")


def test_ragged_rows():
    assert "fields" in _error(b"t,x\n1,2\n3,4,5\n")


def test_nan_and_empty_cells_name_the_row():
    assert "missing value" in _series_error("t,x\n0,1\n1,NaN\n2,3\n3,4\n")
    message = _series_error("t,x\n0,1\n1,2\n2,\n3,4\n")
    assert "missing value" in message and "row 3" in message


def test_infinite_values():
    message = _series_error("t,x\n0,1\n1,inf\n2,3\n3,4\n")
    assert "infinite" in message and "row 2" in message
    assert "too large" in _series_error("t,x\n0,1\n1,1e999\n2,3\n3,4\n")


def test_text_in_a_numeric_column():
    message = _series_error("t,x\n0,1\n1,abc\n2,3\n3,4\n")
    assert "text in data row 2" in message and "'abc'" in message
    decimal_comma = _series_error('t,x\n0,1\n1,"2,5"\n2,3\n3,4\n')
    assert "decimal separator" in decimal_comma


def test_unsorted_and_duplicate_times():
    unsorted = _series_error("t,x\n0,1\n2,2\n1,3\n3,4\n")
    assert "not sorted" in unsorted and "row 3" in unsorted
    duplicate = _series_error("t,x\n0,1\n1,2\n1,3\n3,4\n")
    assert "appears twice" in duplicate and "rows 2 and 3" in duplicate


def test_column_choices():
    good = "t,x,y\n0,1,2\n1,2,3\n2,3,4\n3,4,5\n"
    assert "at least one state" in _series_error(good, states=())
    assert "cannot also be a state" in _series_error(good, states=("t",))
    assert "no column" in _series_error(good, states=("z",))
    assert "at least 4" in _series_error("t,x\n0,1\n1,2\n2,3\n")


def test_semicolons_tabs_bom_and_text_columns():
    table = up.read_table("\ufefftime;u;v;label\n0;1;2;a\n1;2;3;b\n".encode())
    assert list(table.columns) == ["time", "u", "v", "label"]
    assert up.numeric_columns(table) == ["time", "u", "v"]
    assert up.default_columns(table) == ("time", ["u", "v"])
    tabbed = up.read_table(b"t\tx\n0\t1\n1\t2\n")
    assert list(tabbed.columns) == ["t", "x"]
    latin = up.read_table("t,température\n0,1\n1,2\n".encode("cp1252"))
    assert list(latin.columns) == ["t", "température"]


def test_cells_are_never_evaluated():
    text = "t,x\n0,1\n1,__import__('os').system('echo hi')\n2,3\n3,4\n"
    assert "is not a number" in _series_error(text)


def test_scaling_round_trip_and_window_only_statistics():
    ts = np.linspace(5.0, 7.0, 11)
    ys = np.stack([np.sin(ts), 3.0 + 0 * ts], axis=1)  # the second state is constant
    scaling = up.fit_scaling(ts, ys, 6, standardise=True)
    z = scaling.states(ys)
    assert np.allclose(z[:6, 0].mean(), 0.0) and np.allclose(z[:6, 0].std(), 1.0)
    assert np.allclose(scaling.original_states(z), ys)
    assert np.allclose(scaling.times(ts)[[0, -1]], [0.0, up.MODEL_TIME_SPAN])
    assert scaling.scale[1] == 1.0  # a constant column is not divided by zero
    again = up.Scaling.from_dict(dataclasses.asdict(scaling), 2)
    assert again == scaling
    plain = up.fit_scaling(ts, ys, 6, standardise=False)
    assert np.allclose(plain.states(ys), ys) and plain.times(ts)[0] == 0.0
    with pytest.raises(up.UploadError):
        up.Scaling.from_dict({"t0": 0, "time_scale": -1, "mean": [0], "scale": [1]}, 1)
    with pytest.raises(up.UploadError):
        up.Scaling.from_dict({"t0": 0}, 1)


def test_quotes_blank_lines_and_a_decimal_comma_after_semicolons():
    quoted = up.read_table(b'"t","x"\n0,1\n\n  \n1,2\n')
    assert list(quoted.columns) == ["t", "x"] and len(quoted) == 2  # blank lines skipped
    assert "empty" in _error("\ufeff".encode())  # a byte-order mark and nothing else
    assert "only one column" in _error(b"time value\n1 2\n")  # spaces do not separate
    table = up.read_table(b"t;x\n0;1,5\n1;2\n2;3\n3;4\n")
    with pytest.raises(up.UploadError, match="decimal separator"):
        up.time_series(table, "t", ["x"])
