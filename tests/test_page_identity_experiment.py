"""The y = x page: the notes' recipe, plain vs ResNet, one run and many seeds; links, presets."""

from pathlib import Path

import numpy as np
import pandas as pd
from page_data import chart_frames, shown_metrics
from streamlit.proto.Metric_pb2 import Metric as MetricProto
from streamlit.testing.v1 import AppTest

import resode_core as rc
from resode_ui.lessons import identity_experiment as ie

rc_fit = rc.fit_identity

PAGE = "pages/identity_experiment.py"


def _linked(query: dict) -> AppTest:
    """The page opened from a link (parameter names are the widget keys)."""
    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / PAGE), default_timeout=120)
    at.query_params.update(query)
    return at.run()


def _frame_with(at, column: str) -> pd.DataFrame:
    return next(f for f in chart_frames(at) if column in f.columns)


def _ok(at) -> None:
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]


def _results(at) -> dict[str, str]:
    """The metrics that do not depend on the machine's speed."""
    return {k: v for k, v in shown_metrics(at).items() if "time" not in k}


def test_defaults_plain_never_converges_resnet_always_does(open_page, monkeypatch):
    at = open_page(PAGE)
    _ok(at)
    # The residual block is drawn (a DOT graph) and the notes' code sits beside ours.
    (figure,) = at.get("graphviz_chart")
    assert "H(x) = F(x) + x" in figure.proto.spec
    codes = [c.value for c in at.code]
    notes = codes.index(ie.NOTES_SETUP.strip())
    assert codes[notes + 1] == ie.JAX_SETUP.strip()  # side by side
    # The question, answered right and wrong; the reveal reads the runs on screen (cached).
    truth, observed = ie.fit_answer(0, ie.single_runs(0))
    fits = []
    monkeypatch.setattr(rc, "fit_identity", lambda *a, **k: fits.append(1) or rc_fit(*a, **k))
    at.radio(key="ie_question").set_value("the ResNet").run()
    _ok(at)
    assert [b.value for b in at.success] == [
        f"You predicted **the ResNet**. {observed} As you predicted."
    ]
    at.radio(key="ie_question").set_value("both").run()
    _ok(at)
    assert [b.value for b in at.info] == [
        f"You predicted **both**. {observed} So the answer here is **{truth}**."
    ]
    assert fits == []
    assert any(ie.SHOULD_SEE["Default settings"] in c.value for c in at.caption)
    metrics = shown_metrics(at)
    assert metrics["plain: epochs to MSE < 0.01"] == "not reached"
    # A delta here is a note ("MSE 0.128 after 10,000"), not a change: no arrow beside it.
    notes = [m for m in at.metric if m.proto.delta]
    assert notes and all(m.proto.direction == MetricProto.MetricDirection.NONE for m in notes)
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
    # The text's plateau is the median final MSE shown above it, and the caption tells the truth.
    plateau = metrics["plain: median final MSE"]
    assert any(
        f"median final MSE is {float(plateau):.2f}, and none of the 8" in m.value
        for m in at.markdown
    )
    assert any("we see no such run in 8 seeds" in m.value for m in at.markdown)
    assert any("8 at a time in one compiled call" in c.value for c in at.caption)


def test_the_lesson_backs_the_pages_numbers():
    """Runs of single seeds and of seed chunks agree; the ResNet converges, the chain does not."""
    runs = ie.single_runs(0)
    stats = ie.seed_statistics(8)
    sweep = stats.sweep.set_index(["network", "seed"])
    for label, run in runs.items():
        assert sweep.loc[(label, 0), "epochs"] == run["epochs"]
        assert len(run["losses"]) == run["epochs"]
    assert runs["plain"]["epochs"] == ie.MAX_EPOCHS and not runs["plain"]["converged"]
    assert runs["ResNet"]["converged"] and runs["ResNet"]["losses"][-1] < ie.TOL
    rate, done, mse = stats.summary("plain")
    assert rate == 0.0 and done.empty and 0.05 < mse < 0.2  # the median final MSE the text quotes
    rate, done, _ = stats.summary("ResNet")
    assert rate == 1.0 and len(done) == 8
    assert set(stats.per_seed_s) == {"plain", "ResNet"}


def test_seed_and_seed_count_widgets_answer_without_recompiling(open_page, compile_counter):
    at = open_page(PAGE)
    _ok(at)
    compile_counter.count = 0
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
    assert compile_counter.count == 0


def _frame_shown(at) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The training animation's two charts: the fits (x, y, network) and the loss so far."""
    fits, losses = chart_frames(at)[:2]
    if "network" not in losses:  # no loss yet: only the stopping line's row
        losses = pd.DataFrame({"epoch": [], "mse": [], "network": []})
    return fits.dropna(subset=["network"]), losses.dropna(subset=["network"])


def test_play_and_step_advance_the_training_without_compiling(open_page, compile_counter):
    at = open_page(PAGE)
    _ok(at)
    frames = ie.training_frames(0)
    runs = ie.single_runs(0)
    last = len(ie.CHECKPOINTS) - 1
    assert len(frames.labels) == len(frames.curves) == len(frames.losses) == last + 1
    assert at.select_slider(key="ie_train_frame").value == last  # the finished result first
    fits, losses = _frame_shown(at)
    resnet = fits[fits["network"] == "ResNet"]["y"].to_numpy()
    np.testing.assert_allclose(resnet, runs["ResNet"]["curve"], rtol=1e-6)
    compile_counter.count = 0
    at.button(key="ie_train_play").click().run()  # from the end: back to the initialisation
    _ok(at)
    assert at.session_state["ie_train_playing"] is True
    fits, losses = _frame_shown(at)
    assert losses.empty  # epoch 0: nothing trained yet
    np.testing.assert_allclose(
        fits[fits["network"] == "plain"]["y"].to_numpy(), runs["plain"]["snapshots"][0]
    )
    for frame in (1, 2):  # what the timer does: one frame per run
        at.run()
        _ok(at)
        assert at.session_state["ie_train_frame"] == frame
        fits, losses = _frame_shown(at)
        assert losses["epoch"].max() == ie.CHECKPOINTS[frame]
        np.testing.assert_allclose(
            fits[fits["network"] == "ResNet"]["y"].to_numpy(), runs["ResNet"]["snapshots"][frame]
        )
    at.button(key="ie_train_play").click().run()  # Pause
    assert at.session_state["ie_train_playing"] is False
    at.button(key="ie_train_step").click().run()
    _ok(at)
    assert at.session_state["ie_train_frame"] == 3
    assert _frame_shown(at)[1]["epoch"].max() == ie.CHECKPOINTS[3]
    assert compile_counter.count == 0  # every frame was computed before Play


def test_a_link_a_preset_and_a_tampered_link():
    at = _linked({"ie_seed": "5", "ie_n_seeds": "3"})
    _ok(at)
    assert at.slider(key="ie_seed").value == 5 and at.slider(key="ie_n_seeds").value == 3
    assert at.select_slider(key="ie_train_frame").value == len(ie.CHECKPOINTS) - 1  # finished
    assert _results(at)["plain: converged"] == "0% of 3"
    assert dict(at.query_params) == {"ie_seed": "5", "ie_n_seeds": "3"}
    # The same link in a new session: same runs, same numbers.
    assert _results(_linked(dict(at.query_params))) == _results(at)
    # A preset writes what differs from the defaults into the address.
    labels = at.selectbox(key="ie_preset").options
    assert labels == list(ie.PRESETS) and labels[0] == "Default settings"
    at.selectbox(key="ie_preset").select("Statistics over 32 seeds").run()
    _ok(at)
    assert at.slider(key="ie_n_seeds").value == 32 and at.slider(key="ie_seed").value == 0
    assert dict(at.query_params) == {"ie_n_seeds": "32"}
    assert shown_metrics(at)["ResNet: converged"] == "100% of 32"
    assert any(ie.SHOULD_SEE["Statistics over 32 seeds"] in c.value for c in at.caption)
    # Values no slider can take fall back to the defaults, without an error.
    broken = _linked({"ie_seed": "abc", "ie_n_seeds": "500"})
    _ok(broken)
    assert broken.slider(key="ie_seed").value == 0 and broken.slider(key="ie_n_seeds").value == 8
    assert dict(broken.query_params) == {}
