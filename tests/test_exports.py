"""Downloads (resode_ui/exports.py) and the parameter file (resode_core/_io.py)."""

import io
import json

import altair as alt
import jax.random as jr
import numpy as np
import pandas as pd
import pytest

import resode_core as rc
from resode_ui import exports as ex


def _chart() -> alt.Chart:
    frame = pd.DataFrame({"t": [0.0, 1.0, 2.0], "value": [1.0, 0.5, 0.25]})
    return alt.Chart(frame).mark_line().encode(x="t:Q", y="value:Q")


def test_table_csv_round_trips_full_precision():
    frame = pd.DataFrame({"t": [0.0, 1 / 3], "x": [np.pi, -1e-12], "part": ["a", "b"]})
    back = pd.read_csv(io.BytesIO(ex.table_csv(frame)))
    assert list(back.columns) == ["t", "x", "part"]
    assert np.allclose(back[["t", "x"]].to_numpy(), frame[["t", "x"]].to_numpy(), rtol=1e-8)


def test_history_frame():
    frame = ex.history_frame([3.0, 2.0, 1.0], [0.3, 0.2, 0.1], series="A")
    assert frame["epoch"].tolist() == [1, 2, 3]
    assert frame.columns.tolist() == ["epoch", "loss", "grad_norm", "series"]
    with pytest.raises(ValueError):
        ex.history_frame([1.0, 2.0], [1.0])


def test_chart_images_or_a_clear_fallback():
    chart = _chart()
    if ex.images_available():
        png = ex.chart_image(chart, "png")
        svg = ex.chart_image(chart, "svg")
        assert png.startswith(b"\x89PNG\r\n\x1a\n")
        assert svg.lstrip().startswith(b"<svg")
        shared = alt.hconcat(chart, chart).resolve_scale(y="shared")
        assert ex.chart_image(shared, "png").startswith(b"\x89PNG")
    else:
        with pytest.raises(ex.ExportUnavailable, match="vl-convert-python"):
            ex.chart_image(chart, "png")
    with pytest.raises(ValueError):
        ex.chart_image(chart, "gif")


def test_chart_specs_hold_the_data():
    chart = _chart()
    spec = json.loads(ex.chart_spec(chart, "json"))
    assert "$schema" in spec and "vega-lite" in spec["$schema"]
    values = next(iter(spec["datasets"].values()))
    assert [row["value"] for row in values] == [1.0, 0.5, 0.25]
    html = ex.chart_spec(chart, "html").decode()
    assert "<html" in html and "vegaEmbed" in html
    with pytest.raises(ValueError):
        ex.chart_spec(chart, "pdf")


def test_file_stem():
    assert ex.file_stem("my data (v2).csv") == "my-data-v2-csv"
    assert ex.file_stem("../../etc/passwd") == "etc-passwd"
    assert ex.file_stem("???") == "resode"


# ----------------------------------------------------------------------------- parameter files


def test_parameters_round_trip_gives_the_same_predictions():
    model = rc.MLPVectorField(2, 16, key=jr.PRNGKey(3), cube_input=False)
    meta = {"state_columns": ["x", "y"], "scaling": {"t0": 0.0}, "epochs": 7}
    data = rc.vector_field_to_bytes(model, meta)
    loaded, loaded_meta = rc.vector_field_from_bytes(data)
    assert loaded_meta == meta
    assert loaded.cube_input is False and loaded.time_input is False and loaded.dim == 2
    for a, b in zip(
        (model.hidden_weight, model.hidden_bias, model.output_weight, model.output_bias),
        (loaded.hidden_weight, loaded.hidden_bias, loaded.output_weight, loaded.output_bias),
        strict=True,
    ):
        assert np.array_equal(np.asarray(a), np.asarray(b))
    ts = np.linspace(0.0, 2.0, 9)
    settings = rc.SolverSettings("tsit5", rtol=1e-6, atol=1e-8)
    before = rc.solve_many(model, [[1.0, -0.5]], ts, settings).ys
    after = rc.solve_many(loaded, [[1.0, -0.5]], ts, settings).ys
    assert np.array_equal(before, after)


def test_time_input_and_cube_flags_survive():
    model = rc.MLPVectorField(3, 8, key=jr.PRNGKey(0), cube_input=True, time_input=True)
    loaded, meta = rc.vector_field_from_bytes(rc.vector_field_to_bytes(model))
    assert meta == {} and loaded.cube_input and loaded.time_input
    assert loaded.hidden_weight.shape == (8, 4)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda b: b"not a parameter file", "not a ResODE Lab parameter file"),
        (lambda b: b[:25], "truncated"),
        (lambda b: b[:-7], "damaged"),
        (lambda b: b + b"extra", "unexpected data"),
        (lambda b: b.replace(b'"format": 1', b'"format":,1'), "not valid JSON"),
    ],
)
def test_damaged_parameter_files_raise_value_errors(damage, message):
    data = rc.vector_field_to_bytes(rc.MLPVectorField(2, 4, key=jr.PRNGKey(1)))
    with pytest.raises(ValueError, match=message):
        rc.vector_field_from_bytes(damage(data))


def test_header_that_lies_about_the_shape_is_refused():
    data = rc.vector_field_to_bytes(rc.MLPVectorField(2, 4, key=jr.PRNGKey(1)))
    tampered = data.replace(b'"width": 4', b'"width": 5')
    assert tampered != data
    with pytest.raises(ValueError, match="does not match its header"):
        rc.vector_field_from_bytes(tampered)
    huge = data.replace(b'"dim": 2', b'"dim": 9')
    with pytest.raises(ValueError):
        rc.vector_field_from_bytes(huge)
    with pytest.raises(ValueError, match="JSON"):
        rc.vector_field_to_bytes(rc.MLPVectorField(2, 4, key=jr.PRNGKey(1)), {"x": object()})
