"""AppTest checks of pages/identity_experiment.py: the notes' y = x recipe, plain vs ResNet."""

import numpy as np
import pandas as pd
from page_data import chart_frames, shown_metrics

PAGE = "pages/identity_experiment.py"


def _frame_with(at, column: str) -> pd.DataFrame:
    return next(f for f in chart_frames(at) if column in f.columns)


def _ok(at) -> None:
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]


def test_defaults_plain_never_converges_resnet_always_does(open_page):
    at = open_page(PAGE)
    _ok(at)
    metrics = shown_metrics(at)
    assert metrics["plain: epochs to MSE < 0.01"] == "not reached"
    resnet_epochs = int(metrics["ResNet: epochs to MSE < 0.01"].replace(",", ""))
    assert 1 <= resnet_epochs < 10_000
    assert metrics["plain: converged"] == "0% of 8"
    assert metrics["ResNet: converged"] == "100% of 8"
    assert 100 < float(metrics["ResNet: median epochs"].replace(",", "")) < 3_000
    # The fitted curves: the ResNet follows y = x on the data range, the plain chain does not.
    curves = _frame_with(at, "network")
    inside = curves[(curves["x"] >= -10) & (curves["x"] <= 10)]
    for label, limit in (("ResNet", 0.5), ("plain", None)):
        fit = inside[inside["network"] == label]
        error = np.max(np.abs(fit["y"] - fit["x"]))
        if limit is not None:
            assert error < limit
        else:
            assert error > 0.3
    # One dot per seed and network in the distribution chart.
    dots = _frame_with(at, "outcome")
    assert len(dots) == 16
    assert set(dots[dots["network"] == "plain"]["outcome"]) == {"not converged"}
    assert set(dots[dots["network"] == "plain"]["epochs"]) == {10_000}
    # The notes' reference timings are shown beside ours.
    table = at.dataframe[0].value
    notes = table["notes, Flux.jl (median of @benchmark)"].tolist()
    assert notes == ["1.139 ms", "93.265 µs"]


def test_seed_and_seed_count_widgets(open_page):
    at = open_page(PAGE)
    _ok(at)
    at.slider(key="ie_seed").set_value(3).run()
    _ok(at)
    assert shown_metrics(at)["plain: epochs to MSE < 0.01"] == "not reached"
    at.slider(key="ie_n_seeds").set_value(3).run()
    _ok(at)
    metrics = shown_metrics(at)
    assert metrics["plain: converged"] == "0% of 3"
    assert metrics["ResNet: converged"] == "100% of 3"
    assert len(_frame_with(at, "outcome")) == 6
    at.slider(key="ie_n_seeds").set_value(10).run()  # a second chunk of seeds
    _ok(at)
    assert shown_metrics(at)["ResNet: converged"] == "100% of 10"
    assert sorted(_frame_with(at, "outcome")["seed"].unique()) == list(range(10))
