"""Shared training: one fit per setting across sessions, resumable, on disk, drawn live."""

import threading
import time
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import resode_core as rc
import resode_core._fit_ode as fit_ode_module
from resode_ui import training

SPIRAL = str(Path(__file__).resolve().parents[1] / "pages" / "spiral.py")


@pytest.fixture(autouse=True)
def empty_board():
    """The board is process-wide (shared by every test): start and end empty."""
    training.board.clear()
    yield
    training.board.clear()


def _fit(value: float, epochs: int = 3) -> rc.OdeFit:
    history = np.full(epochs, value, dtype=np.float32)
    return rc.OdeFit(None, rc.SolverSettings(), None, history, history, history)


def _train(calls: list, value: float, epochs: int = 3):
    def train(start, on_chunk):
        calls.append(start)
        return _fit(value, epochs)

    return train


def _quietly(fn, *args, **kwargs):
    with training.quietly():
        return fn(*args, **kwargs)


def test_finished_fits_are_read_only_and_the_oldest_goes_first():
    board = training.Board(max_finished=2)
    fit = training._read_only(_fit(1.0))
    assert not fit.losses.flags.writeable
    for key in ("a", "b"):
        board.put(board.finished, key, fit, board.max_finished)
    board.finished.move_to_end("a")  # now the most recently used
    board.put(board.finished, "c", fit, board.max_finished)
    assert list(board.finished) == ["a", "c"]


def test_a_stopped_training_is_resumed_from_its_last_checkpoint():
    starts = []

    def stopped_after_two_chunks(start, on_chunk):
        starts.append(start)
        on_chunk(_fit(1.0, 10))
        on_chunk(_fit(1.0, 20))
        raise RuntimeError("a widget moved")  # how Streamlit stops a run, in effect

    with pytest.raises(RuntimeError):
        _quietly(training.trained, "k", stopped_after_two_chunks, total=40)
    board = training.board()
    assert board.checkpoints["k"].epochs == 20 and "k" not in board.finished
    fit = _quietly(training.trained, "k", _train(starts, 2.0, 40), total=40)
    assert starts[0] is None and starts[1].epochs == 20
    assert fit.final_loss == 2.0 and "k" not in board.checkpoints  # finished: checkpoint gone
    assert (board.trainings, board.resumed) == (2, 1)
    assert _quietly(training.trained, "k", _train(starts, 3.0), total=40) is fit
    assert board.trainings == 2


def _session(results, name, key, train, total=10):
    results[name] = _quietly(training.trained, key, train, total=total)


def test_a_second_session_waits_for_the_first_instead_of_training():
    first_started, let_first_finish = threading.Event(), threading.Event()
    results, trained_by = {}, []

    def slow(start, on_chunk):
        trained_by.append(threading.current_thread().name)
        first_started.set()
        on_chunk(_fit(1.0, 5))
        assert let_first_finish.wait(10)
        return _fit(1.0, 10)

    first = threading.Thread(target=_session, args=(results, "first", "k", slow), name="first")
    first.start()
    assert first_started.wait(10)
    second = threading.Thread(target=_session, args=(results, "second", "k", slow))
    second.start()
    second.join(0.8)
    assert second.is_alive()  # waiting, not training
    let_first_finish.set()
    first.join(10)
    second.join(10)
    assert trained_by == ["first"] and training.board().trainings == 1
    assert results["second"] is results["first"]


def test_a_waiting_session_writes_in_the_slot_it_is_given():
    """Waiting must not add an element of its own: the page would change shape."""

    class Slot:
        def __init__(self):
            self.calls = []

        def info(self, text, **kwargs):
            self.calls.append(text)

    board, slot, holder_started = training.board(), Slot(), threading.Event()
    release = threading.Event()

    def hold():
        board.claim("k")
        holder_started.set()
        board.put(board.checkpoints, "k", _fit(1.0, 5), board.max_checkpoints)
        release.wait(10)
        board.put(board.finished, "k", _fit(2.0, 10), board.max_finished)
        board.release("k")

    holder = threading.Thread(target=hold)
    holder.start()
    assert holder_started.wait(10)
    threading.Timer(1.2, release.set).start()
    fit, stalled = board.wait("k", 10, slot)
    holder.join(10)
    assert fit.final_loss == 2.0 and not stalled
    assert slot.calls and "epoch 5 / 10" in slot.calls[0]


def test_a_session_stops_waiting_for_a_stalled_trainer_and_trains_itself(monkeypatch):
    monkeypatch.setattr(training, "STALL_S", 0.6)
    board, release, claimed = training.board(), threading.Event(), threading.Event()

    def stalled_holder():
        board.claim("k")
        board.put(board.checkpoints, "k", _fit(1.0, 5), board.max_checkpoints)
        claimed.set()
        release.wait(20)  # alive but making no progress

    holder = threading.Thread(target=stalled_holder, daemon=True)
    holder.start()
    assert claimed.wait(10)
    starts = []
    try:
        fit = _quietly(training.trained, "k", _train(starts, 2.0, 10), total=10)
    finally:
        release.set()
        holder.join(10)
    assert fit.final_loss == 2.0 and starts[0].epochs == 5  # went on from the checkpoint


def test_a_restarted_server_finds_a_finished_fit_on_disk(tmp_path, monkeypatch):
    monkeypatch.setenv("RESODE_FIT_DIR", str(tmp_path))
    monkeypatch.setattr(training, "PERSIST", True)
    calls = []
    fit = _quietly(training.trained, ("spiral", 25), _train(calls, 1.5), total=3)
    training.board.clear()  # a new process: an empty board over the same folder
    again = _quietly(training.trained, ("spiral", 25), _train(calls, 9.0), total=3)
    board = training.board()
    assert len(calls) == 1 and board.trainings == 0 and board.loaded == 1
    np.testing.assert_array_equal(again.losses, fit.losses)
    assert not again.losses.flags.writeable
    # Another key, or the same key without persist, is not taken from the disk.
    _quietly(training.trained, ("spiral", 30), _train(calls, 2.0), total=3)
    training.board.clear()
    _quietly(training.trained, ("spiral", 25), _train(calls, 3.0), total=3, persist=False)
    assert len(calls) == 3


def test_fits_that_must_stay_in_memory_never_reach_the_disk(tmp_path, monkeypatch):
    monkeypatch.setenv("RESODE_FIT_DIR", str(tmp_path))
    monkeypatch.setattr(training, "PERSIST", True)
    _quietly(training.trained, ("upload", "token"), _train([], 1.0), total=3, persist=False)
    assert list(tmp_path.iterdir()) == []


def test_a_new_code_version_or_a_torn_file_means_training_again(tmp_path, monkeypatch):
    monkeypatch.setenv("RESODE_FIT_DIR", str(tmp_path))
    monkeypatch.setattr(training, "PERSIST", True)
    calls = []
    _quietly(training.trained, "k", _train(calls, 1.0), total=3)
    (stored,) = tmp_path.glob("*.fit")
    training.board.clear()
    training.board().version = "another version"
    _quietly(training.trained, "k", _train(calls, 2.0), total=3)
    assert len(calls) == 2
    training.board.clear()
    stored.write_bytes(b"not a pickle")
    fit = _quietly(training.trained, "k", _train(calls, 3.0), total=3)
    assert len(calls) == 3 and fit.final_loss == 3.0  # retrained, no error


def test_the_fit_folder_keeps_the_newest_files_only(tmp_path, monkeypatch):
    monkeypatch.setenv("RESODE_FIT_DIR", str(tmp_path))
    board = training.Board()
    for k in range(70):
        board.save(("k", k), "v", _fit(float(k)))
    assert len(list(tmp_path.glob("*.fit"))) == 64
    assert board.load(("k", 69), "v").final_loss == 69.0


# ----------------------------------------------------------------------------- live display


class _Slot:
    def __init__(self):
        self.bars, self.charts = [], []

    def progress(self, value, text=""):
        self.bars.append((value, text))
        return self

    def vega_lite_chart(self, chart, **kwargs):
        self.charts.append(chart)


def test_a_short_fit_draws_no_intermediate_chart():
    bar, chart = _Slot(), _Slot()
    show = training.LiveProgress((bar, chart), 25, "", None)
    for epochs in (5, 10, 15, 20, 25):
        show(_fit(1.0, epochs))
    assert chart.charts == [] and "compiling" in bar.bars[0][1]


def test_a_long_fit_redraws_at_most_every_refresh_interval(monkeypatch):
    bar, chart = _Slot(), _Slot()
    clock = iter(np.arange(0.0, 100.0, 0.1))
    monkeypatch.setattr(training.time, "perf_counter", lambda: next(clock))
    show = training.LiveProgress((bar, chart), 400, "A", None)
    for epochs in range(10, 410, 10):  # a chunk every 0.1 s
        show(_fit(1.0, epochs))
    assert 10 <= len(chart.charts) <= 20  # every 0.25 s at most: every third chunk
    assert bar.bars[-1][1].startswith("A: epoch")


def test_a_resumed_fit_shows_its_checkpoint_at_once():
    bar, chart = _Slot(), _Slot()
    training.LiveProgress((bar, chart), 48, "", _fit(1.0, 12))
    assert len(chart.charts) == 1
    assert bar.bars[-1][0] == 12 / 48 and "epoch 12 / 48" in bar.bars[-1][1]


# ----------------------------------------------------------------------------- pages


def _metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_two_sessions_with_the_same_settings_train_once():
    first = AppTest.from_file(SPIRAL, default_timeout=240).run()
    second = AppTest.from_file(SPIRAL, default_timeout=240).run()
    for at in (first, second):
        assert not at.exception, at.exception
    assert training.board().trainings == 1
    assert _metrics(first) == _metrics(second)  # the same fit, training time included


def test_a_spiral_fit_interrupted_mid_run_resumes_where_it_stopped(monkeypatch):
    uninterrupted = AppTest.from_file(SPIRAL, default_timeout=240).run()
    (full,) = training.board().finished.values()  # the notes' 25 epochs, in chunks of 2
    training.board.clear()
    real_chunk = fit_ode_module._ode_epochs_stored
    chunks = []

    def interrupted_after_five_chunks(state, data, control, num_epochs):
        if len(chunks) == 5:
            raise RuntimeError("a widget moved mid-run")
        chunks.append(int(num_epochs))
        return real_chunk(state, data, control, num_epochs)

    monkeypatch.setattr(fit_ode_module, "_ode_epochs_stored", interrupted_after_five_chunks)
    at = AppTest.from_file(SPIRAL, default_timeout=240).run()
    assert at.exception  # the run stopped part-way
    board = training.board()
    (key,) = board.checkpoints
    assert board.checkpoints[key].epochs == 10 and not board.finished
    chunks.clear()
    monkeypatch.setattr(
        fit_ode_module,
        "_ode_epochs_stored",
        lambda state, data, control, n: (
            chunks.append(int(n)) or real_chunk(state, data, control, n)
        ),
    )
    at.run()
    assert not at.exception, at.exception
    assert sum(chunks) == 15 and board.resumed == 1  # only the epochs not done before
    fit = board.finished[key]
    np.testing.assert_array_equal(fit.losses, full.losses)
    np.testing.assert_array_equal(fit.grad_norms, full.grad_norms)
    assert _metrics(at)["Final loss"] == _metrics(uninterrupted)["Final loss"]


def _layout(node):
    """The element types of an AppTest tree, nested as the page lays them out."""
    children = getattr(node, "children", None)
    if children is None:
        return node.type
    return node.type, tuple(_layout(child) for child in children.values())


@pytest.mark.parametrize("page", ["spiral", "lotka_volterra", "your_data"])
def test_a_run_that_trains_lays_out_the_page_like_one_that_finds_the_fit(page):
    """Otherwise the browser rebuilds every element below the fit after each training run."""
    at = AppTest.from_file(SPIRAL.replace("spiral", page), default_timeout=300).run()
    assert training.board().trainings >= 1, "the first run should have trained"
    trained = _layout(at.main)
    before = training.board().trainings
    at.run()
    assert not at.exception
    assert training.board().trainings == before, "the second run should have found the fit"
    assert _layout(at.main) == trained


def test_pages_under_apptest_keep_fits_in_memory_only():
    assert training.PERSIST is False  # only the server's start-up hook turns the disk on


def test_the_warm_up_does_not_pause_a_training_a_session_waits_for(monkeypatch):
    """A warm-up's training gives way to visitors' runs after each chunk, except to a run
    that waits for this very training, even one that starts waiting during the pause: each
    would wait for the other (the fresh class once found the spiral 62 s late)."""
    from resode_ui import server

    monkeypatch.setattr(server, "over_limit", lambda headroom_mb=0.0: True)  # a minute a pause
    visiting, results = threading.Event(), {}

    def warm(start, on_chunk):
        assert visiting.wait(10)
        on_chunk(_fit(1.0, 5))  # a visitor's run is under way: the warm-up pauses for it...
        return _fit(1.0, 10)

    def warm_up():
        with training.quietly(give_way=server.GiveWay()):
            results["warm-up"] = training.trained("k", warm, total=10)

    def visitor():
        with server.page_run("spiral"):
            visiting.set()
            time.sleep(0.3)  # ...and then starts to wait for the warm-up's fit
            _session(results, "visitor", "k", warm)

    started = time.monotonic()
    threads = [threading.Thread(target=warm_up), threading.Thread(target=visitor)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(server.TIGHT_WAIT_S + 10)
    assert time.monotonic() - started < 10  # not the warm-up's minute of patience
    assert results["visitor"] is results["warm-up"]
    assert not training.board().awaited("k")
