"""Live training display (resode_ui/live.py): calm redraws, and a resumed fit shown at once."""

from __future__ import annotations

import numpy as np
import pytest

import resode_core as rc
from resode_ui import live


class _Box:
    """Stands in for an st.empty() placeholder and the progress bar it holds."""

    def __init__(self):
        self.bars, self.charts, self.emptied = [], [], 0

    def progress(self, value, text=""):
        self.bars.append((value, text))
        return self

    def altair_chart(self, chart, **_):
        self.charts.append(chart)

    def empty(self):
        self.emptied += 1


def test_a_short_fit_draws_no_intermediate_chart(monkeypatch):
    clock = iter(np.arange(0.0, 1.0, 0.01))  # chunks 10 ms apart, 0.1 s of training in all
    monkeypatch.setattr(live.time, "perf_counter", lambda: float(next(clock)))
    bar, chart = _Box(), _Box()
    show = live.LiveTraining(bar, chart, 10)
    for done in range(1, 11):
        show(done, np.ones(done))
    assert show.draws == 0 and chart.charts == []
    assert "compiling" in bar.bars[0][1]  # but the bar said at once that work has begun
    show.clear()
    assert bar.emptied == chart.emptied == 1


def test_a_long_fit_redraws_at_most_every_refresh_interval(monkeypatch):
    ticks = iter(np.arange(0.0, 10.0, 0.05))  # chunks 50 ms apart for 2 s
    monkeypatch.setattr(live.time, "perf_counter", lambda: float(next(ticks)))
    bar, chart = _Box(), _Box()
    show = live.LiveTraining(bar, chart, 40, label="A")
    for done in range(1, 41):
        show(done, np.linspace(1.0, 0.1, done))
    # 2 s of training at one draw per 0.25 s (the clock is read once per draw check).
    assert 4 <= show.draws <= 8, show.draws
    assert len(chart.charts) == show.draws
    value, text = bar.bars[-1]
    assert text.startswith("A: epoch") and 0 < value <= 1


def test_a_resumed_fit_shows_its_checkpoint_at_once():
    losses = np.linspace(2.0, 1.0, 12)
    start = rc.TrainingCheckpoint(
        None, rc.SolverSettings(), None, losses, np.ones(12), np.ones(12), seconds=0.5
    )
    bar, chart = _Box(), _Box()
    show = live.LiveTraining(bar, chart, 48, start=start)
    assert show.draws == 1 and len(chart.charts) == 1
    assert bar.bars[-1][0] == 12 / 48 and "epoch 12 / 48" in bar.bars[-1][1]


def _layout(node):
    """The element types of an AppTest tree, nested as the page lays them out."""
    children = getattr(node, "children", None)
    if children is None:
        return node.type
    return node.type, tuple(_layout(child) for child in children.values())


@pytest.mark.parametrize("page", ["spiral", "lotka_volterra", "your_data"])
def test_a_run_that_trains_lays_out_the_page_like_one_that_finds_the_fit(
    page, open_page, monkeypatch
):
    """Otherwise the browser rebuilds every element below the fit after each training run."""
    from resode_ui.fit_store import clear_fit_stores

    trainings = []
    init = live.LiveTraining.__init__

    def counted(self, *args, **kwargs):
        trainings.append(page)
        init(self, *args, **kwargs)

    monkeypatch.setattr(live.LiveTraining, "__init__", counted)
    clear_fit_stores()
    at = open_page(f"pages/{page}.py", timeout=300)
    trained = _layout(at.main)
    assert trainings, "the first run should have trained"
    trainings.clear()
    at.run()
    assert not at.exception
    assert not trainings, "the second run should have found the fit"
    assert _layout(at.main) == trained
