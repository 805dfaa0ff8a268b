"""AppTest checks of pages/your_data.py: the example fit, links, uploads, exports, solver B."""

from pathlib import Path

import numpy as np
import pandas as pd
from streamlit.testing.v1 import AppTest

PAGE = "pages/your_data.py"
ROOT = Path(__file__).resolve().parents[1]
QUICK = {"epochs": "100"}  # a short fit where the number does not matter


def _open(query: dict | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / PAGE), default_timeout=300)
    at.query_params.update(query or {})
    return at.run()


def _metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _ok(at) -> None:
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]


def _upload(at, name: str, content: bytes, key: str = "yd_file") -> AppTest:
    return at.file_uploader(key=key).set_value((name, content, "text/csv")).run()


def _errors(at) -> str:
    return " ".join(e.value for e in at.error)


def test_example_fit_and_parameter_round_trip():
    at = _open()
    _ok(at)
    metrics = _metrics(at)
    # The damped oscillator: fitted closely on the window, and followed on the held-out quarter.
    train, held_out = (
        float(metrics["RMSE, training window"]),
        float(metrics["RMSE, held-out samples"]),
    )
    assert train < 0.03, metrics
    assert held_out < 0.15, metrics
    assert float(metrics["held-out RMSE / data spread"].rstrip(" %")) < 15
    predictions = at.session_state["yd_predictions"]
    assert list(predictions.columns) == ["t", "part", "x", "x_predicted", "y", "y_predicted"]
    assert (predictions["part"] == "training window").sum() == 30
    assert (predictions["part"] == "held out").sum() == 10
    assert (predictions["part"] == "extrapolation").sum() == 9  # a quarter of the span further
    assert predictions["t"].is_monotonic_increasing
    labels = {b.label for b in at.get("download_button")}
    assert {"Predictions (CSV)", "Loss history (CSV)", "Trained parameters (.resode)"} <= labels
    assert any("PNG" in label for label in labels) or any("Vega-Lite" in label for label in labels)
    assert any("⋯" in c.value for c in at.caption)  # the browser's own chart menu is mentioned

    # Load the downloaded parameters into a fresh session: same predictions, no training.
    fresh = _open(QUICK)
    _ok(fresh)
    _upload(fresh, "oscillator_parameters.resode", at.session_state["yd_param_bytes"], "yd_params")
    _ok(fresh)
    assert any("Using the parameters" in i.value for i in fresh.info)
    loaded = fresh.session_state["yd_predictions"]
    pd.testing.assert_frame_equal(loaded, predictions)
    assert _metrics(fresh)["RMSE, held-out samples"] == metrics["RMSE, held-out samples"]
    # A damaged parameter file is explained, not raised.
    _upload(fresh, "broken.resode", b"RESODE-VECTOR-FIELD\n\x05", "yd_params")
    assert not fresh.exception and "cannot be used" in _errors(fresh)


def test_url_round_trip_with_solver_comparison():
    at = _open({"preset": "tsit5-vs-euler", "epochs": "150"})
    _ok(at)
    assert at.toggle(key="yd_compare").value is True
    metrics = _metrics(at)
    assert "A: Tsitouras 5(4) (order 5): RMSE, training window" in metrics
    assert "B: Euler (order 1): RMSE, training window" in metrics
    predictions = at.session_state["yd_predictions"]
    assert {"x_predicted", "x_predicted_euler"} <= set(predictions.columns)
    assert len(at.session_state["yd_series_frames"]) == 2  # two panels on shared axes
    # Swapping solvers after training: each field only fits through the solver it was trained with.
    swap = at.session_state["yd_swap"].set_index(["trained with", "solved with"])["RMSE, held out"]
    a, b = "A: Tsitouras 5(4) (order 5)", "B: Euler (order 1)"
    assert swap[(a, b)] > 3 * swap[(a, a)]
    assert swap[(b, a)] > 3 * swap[(b, b)]
    at.slider(key="yd_horizon").set_value(0.5).run()
    at.slider(key="yd_train_frac").set_value(0.8).run()
    _ok(at)
    query = dict(at.query_params)
    assert query == {
        "preset": "tsit5-vs-euler",
        "epochs": "150",
        "train_frac": "0.8",
        "horizon": "0.5",
    }
    fresh = _open(query)
    _ok(fresh)
    assert not fresh.warning
    assert fresh.slider(key="yd_train_frac").value == 0.8
    assert fresh.slider(key="yd_horizon").value == 0.5
    assert _metrics(fresh) == {k: v for k, v in _metrics(at).items() if "time" not in k} | {
        k: v for k, v in _metrics(fresh).items() if "time" in k
    }
    pd.testing.assert_frame_equal(
        fresh.session_state["yd_predictions"], at.session_state["yd_predictions"]
    )


def test_upload_validation_messages_and_a_good_upload():
    at = _open(QUICK)
    _ok(at)
    cases = {
        "empty": (b"", "empty"),
        "one column": (b"t\n1\n2\n3\n4\n", "only one column"),
        "nan": (b"t,x\n0,1\n1,nan\n2,3\n3,4\n", "missing value"),
        "inf": (b"t,x\n0,1\n1,-inf\n2,3\n3,4\n", "infinite"),
        "text": (b"t,x\n0,1\n1,hello\n2,3\n3,4\n", "text in data row 2"),
        "unsorted": (b"t,x\n0,1\n2,2\n1,3\n3,4\n", "not sorted"),
        "duplicate": (b"t,x\n0,1\n1,2\n1,3\n3,4\n", "appears twice"),
        "rows": (b"t,x\n" + b"1,2\n" * 100_001, "limit is 100,000"),
        "binary": (b"\x00\x01\x02PK" * 50, "binary"),
        "size": (b"t,x\n" + b"0," + b"1" * (6 * 1024 * 1024) + b"\n", "limit is 5 MB"),
    }
    for name, (content, expected) in cases.items():
        _upload(at, f"{name}.csv", content)
        assert not at.exception, (name, at.exception)
        assert expected in _errors(at), (name, _errors(at))
    # A good file with other column names and a text column: sensible defaults, a fit.
    rows = ["time,label,u,v"] + [
        f"{t:.3f},p{i},{np.cos(t):.5f},{-np.sin(t):.5f}"
        for i, t in enumerate(np.linspace(0.0, 6.0, 24))
    ]
    _upload(at, "circle.csv", "\n".join(rows).encode())
    _ok(at)
    assert at.selectbox(key="yd_time").value == "time"
    assert at.multiselect(key="yd_states").value == ["u", "v"]
    assert "label" not in at.multiselect(key="yd_states").options
    assert list(at.session_state["yd_predictions"].columns)[:2] == ["time", "part"]
    at.multiselect(key="yd_states").set_value([]).run()
    assert "at least one state" in _errors(at)


def test_fits_of_an_upload_stay_with_the_session_that_uploaded_it():
    """The example's fits are shared; two students uploading the very same file are not."""
    from resode_ui.fit_store import fit_store

    store = fit_store("your_data")
    rows = ["t,u,v"] + [f"{t:.3f},{np.cos(t):.5f},{-np.sin(t):.5f}" for t in np.linspace(0, 6, 20)]
    content = "\n".join(rows).encode()
    started = store.trainings_started
    first, second = _open(QUICK), _open(QUICK)  # the example: trained at most once
    assert store.trainings_started - started <= 1
    _ok(first), _ok(second)
    started = store.trainings_started
    _upload(first, "mine.csv", content)
    _upload(second, "mine.csv", content)
    _ok(first), _ok(second)
    assert store.trainings_started - started == 2  # each upload trained for its owner
    a, b = first.session_state["yd_predictions"], second.session_state["yd_predictions"]
    pd.testing.assert_frame_equal(a, b)  # same data and settings: the same (deterministic) fit
