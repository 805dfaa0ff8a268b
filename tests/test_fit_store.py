"""The shared fit store: one training per setting across sessions, resumable after a stop."""

import threading
import time
import types

import numpy as np
import pytest

import resode_core._fit_ode as schedule
from resode_ui import fit_store as fs

SPIRAL = "pages/spiral.py"


@pytest.fixture
def fresh_fit_stores():
    """Pages' stores are process-wide (shared by every test): start and end empty."""
    fs.clear_fit_stores()
    yield
    fs.clear_fit_stores()


def _checkpoint(done):
    return types.SimpleNamespace(done=done)


def _fit(value):
    return {
        "losses": np.full(3, value, dtype=np.float32),
        "value": value,
        "scaling": {"mean": np.zeros(2)},  # nested, as some pages' fits are
    }


def test_finished_fits_are_read_only_and_the_oldest_goes_first():
    store = fs.FitStore(max_finished=2)
    losses = np.ones(3)
    stored = store.save_finished("a", {"losses": losses})
    losses[0] = 5.0  # the caller's array is not the stored one
    assert stored["losses"][0] == 1.0 and not stored["losses"].flags.writeable
    with pytest.raises(TypeError):
        stored["losses"] = None
    store.save_finished("b", _fit(2.0))
    assert store.finished("a") is not None  # now the most recently used
    store.save_finished("c", _fit(3.0))
    assert store.finished("b") is None and store.finished("a") is not None


def test_a_stopped_training_is_resumed_from_its_last_checkpoint():
    store = fs.FitStore()
    starts = []

    def stopped_after_two_chunks(start, save):
        starts.append(start)
        save(_checkpoint(10))
        save(_checkpoint(20))
        raise RuntimeError("a widget moved")  # how Streamlit stops a run, in effect

    with pytest.raises(RuntimeError):
        store.fit_for("k", stopped_after_two_chunks)
    assert store.checkpoint("k").done == 20 and store.finished("k") is None

    def finish(start, save):
        starts.append(start)
        return _fit(1.0)

    fit = store.fit_for("k", finish)
    assert starts[0] is None and starts[1].done == 20
    assert fit["value"] == 1.0 and store.checkpoint("k") is None  # finished: checkpoint dropped
    assert (store.trainings_started, store.trainings_resumed) == (2, 1)
    assert store.fit_for("k", finish) is fit and store.trainings_started == 2


def test_a_second_session_waits_for_the_first_instead_of_training():
    store = fs.FitStore(poll_s=0.05)
    first_started, let_first_finish = threading.Event(), threading.Event()
    results, trained_by = {}, []

    def slow_training(start, save):
        trained_by.append(threading.current_thread().name)
        first_started.set()
        save(_checkpoint(5))
        assert let_first_finish.wait(10)
        return _fit(1.0)

    def session(name):
        results[name] = store.fit_for("k", slow_training, total_epochs=10)

    first = threading.Thread(target=session, args=("first",), name="first")
    first.start()
    assert first_started.wait(10)
    second = threading.Thread(target=session, args=("second",), name="second")
    second.start()
    second.join(0.3)
    assert second.is_alive()  # waiting, not training
    let_first_finish.set()
    first.join(10)
    second.join(10)
    assert trained_by == ["first"] and store.trainings_started == 1
    assert results["second"] is results["first"]


def test_a_waiting_session_writes_in_the_slot_it_is_given(monkeypatch):
    # A page passes its progress slot: waiting must not add an element of its own (the page
    # would change shape, and the browser rebuild every chart below it on the next run).
    monkeypatch.setattr(fs.st, "empty", lambda: pytest.fail("made a new element"))
    store = fs.FitStore(poll_s=0.05)
    first_started, let_first_finish = threading.Event(), threading.Event()

    class Slot:
        def __init__(self):
            self.calls = []

        def info(self, text, **kwargs):
            self.calls.append(("info", text))

        def empty(self):
            self.calls.append(("empty", None))

    def slow_training(start, save):
        first_started.set()
        save(_checkpoint(5))
        assert let_first_finish.wait(10)
        return _fit(1.0)

    slot, results = Slot(), {}
    first = threading.Thread(target=store.fit_for, args=("k", slow_training))
    first.start()
    assert first_started.wait(10)
    second = threading.Thread(
        target=lambda: results.update(
            fit=store.fit_for("k", slow_training, total_epochs=10, notice=slot)
        )
    )
    second.start()
    deadline = time.monotonic() + 10
    while not slot.calls and time.monotonic() < deadline:
        time.sleep(0.02)
    let_first_finish.set()
    first.join(10)
    second.join(10)
    assert results["fit"] is store.finished("k")
    assert slot.calls[0][0] == "info" and "epoch 5 / 10" in slot.calls[0][1]
    assert slot.calls[-1] == ("empty", None)


def test_a_session_stops_waiting_for_a_stalled_trainer_and_trains_itself():
    store = fs.FitStore(stall_timeout_s=0.3, poll_s=0.05)
    stuck, release = threading.Event(), threading.Event()

    def stuck_training(start, save):
        save(_checkpoint(5))
        stuck.set()
        release.wait(10)
        return _fit(1.0)

    holder = threading.Thread(target=store.fit_for, args=("k", stuck_training))
    holder.start()
    assert stuck.wait(10)
    starts = []

    def quick_training(start, save):
        starts.append(start)
        return _fit(2.0)

    try:
        fit = store.fit_for("k", quick_training)
    finally:
        release.set()
        holder.join(10)
    assert fit["value"] == 2.0 and starts[0].done == 5  # went on from the stalled checkpoint
    assert store.trainings_started == 2


# ----------------------------------------------------------------------------- pages


def test_two_sessions_with_the_same_settings_train_once(open_page, fresh_fit_stores):
    first = open_page(SPIRAL)
    second = open_page(SPIRAL)
    for at in (first, second):
        assert not at.exception, at.exception
    key = first.session_state["sp_last_fit"]
    assert second.session_state["sp_last_fit"] == key
    assert fs.fit_store("spiral").trainings_started == 1
    np.testing.assert_array_equal(
        first.session_state["sp_history"]["loss"], second.session_state["sp_history"]["loss"]
    )
    shared = second.session_state["sp_fits"][key]
    assert shared is first.session_state["sp_fits"][key]
    assert not shared["losses"].flags.writeable


def test_a_spiral_fit_interrupted_mid_run_resumes_where_it_stopped(
    open_page, fresh_fit_stores, monkeypatch
):
    uninterrupted = open_page(SPIRAL)  # the notes' 25 epochs, in chunks of 2
    full_history = uninterrupted.session_state["sp_history"]
    key = uninterrupted.session_state["sp_last_fit"]
    fs.clear_fit_stores()

    real_chunk = schedule._ode_epochs_stored
    chunks_run = []

    def interrupted_after_five_chunks(state, data, settings, num_epochs):
        if len(chunks_run) == 5:
            raise RuntimeError("a widget moved mid-run")
        chunks_run.append(int(num_epochs))
        return real_chunk(state, data, settings, num_epochs)

    monkeypatch.setattr(schedule, "_ode_epochs_stored", interrupted_after_five_chunks)
    at = open_page(SPIRAL)
    assert at.exception  # the run stopped part-way
    store = fs.fit_store("spiral")
    assert store.finished(key) is None and store.checkpoint(key).done == 10

    chunks_run.clear()
    monkeypatch.setattr(
        schedule,
        "_ode_epochs_stored",
        lambda state, data, settings, n: (
            chunks_run.append(int(n)) or real_chunk(state, data, settings, n)
        ),
    )
    at.run()
    assert not at.exception, at.exception
    assert sum(chunks_run) == 15  # only the epochs the interrupted run had not done
    assert store.trainings_resumed == 1
    history = at.session_state["sp_history"]
    np.testing.assert_array_equal(history["loss"], full_history["loss"])
    np.testing.assert_array_equal(history["grad_norm"], full_history["grad_norm"])


def _counting_trainer(calls: list, value: float):
    def train(start, save):
        calls.append(start)
        return _fit(value)

    return train


def test_a_restarted_server_finds_a_finished_fit_on_disk(tmp_path):
    calls: list = []
    first = fs.FitStore(disk=fs.FitDisk(tmp_path))
    fit = first.fit_for(("spiral", 25), _counting_trainer(calls, 1.5), persist=True)
    # A new process: a new store over the same folder trains nothing.
    restarted = fs.FitStore(disk=fs.FitDisk(tmp_path))
    again = restarted.fit_for(("spiral", 25), _counting_trainer(calls, 9.0), persist=True)
    assert len(calls) == 1 and restarted.trainings_started == 0
    assert restarted.loaded_from_disk == 1
    np.testing.assert_array_equal(again["losses"], fit["losses"])
    assert again["value"] == 1.5 and not again["losses"].flags.writeable
    # Another key, or the same key without persist, is not taken from the disk.
    restarted.fit_for(("spiral", 30), _counting_trainer(calls, 2.0), persist=True)
    fs.FitStore(disk=fs.FitDisk(tmp_path)).fit_for(
        ("spiral", 25), _counting_trainer(calls, 3.0), persist=False
    )
    assert len(calls) == 3


def test_fits_that_must_stay_in_memory_never_reach_the_disk(tmp_path):
    store = fs.FitStore(disk=fs.FitDisk(tmp_path))
    store.fit_for(("upload", "owner-token"), _counting_trainer([], 1.0), persist=False)
    assert list(tmp_path.iterdir()) == []


def test_a_new_code_version_or_a_torn_file_means_training_again(tmp_path, monkeypatch):
    calls: list = []
    fs.FitStore(disk=fs.FitDisk(tmp_path)).fit_for("k", _counting_trainer(calls, 1.0), persist=True)
    (stored,) = tmp_path.glob("*.fit")
    monkeypatch.setattr(fs.rc, "code_version", lambda: "another version")
    fs.FitStore(disk=fs.FitDisk(tmp_path)).fit_for("k", _counting_trainer(calls, 2.0), persist=True)
    assert len(calls) == 2
    monkeypatch.undo()
    stored.write_bytes(b"not a pickle")
    fit = fs.FitStore(disk=fs.FitDisk(tmp_path)).fit_for(
        "k", _counting_trainer(calls, 3.0), persist=True
    )
    assert len(calls) == 3 and fit["value"] == 3.0  # retrained, no error


def test_the_fit_folder_keeps_the_newest_files_only(tmp_path):
    disk = fs.FitDisk(tmp_path, max_files=3)
    for k in range(5):
        disk.save(("k", k), "v", _fit(float(k)))
    assert len(list(tmp_path.glob("*.fit"))) == 3
    assert disk.load(("k", 4), "v")["value"] == 4.0


def _store_has_disk():
    import streamlit as st

    from resode_ui import fit_store as fs

    st.session_state["disk"] = fs.fit_store("spiral").disk is not None


def test_pages_under_apptest_keep_fits_in_memory_only(fresh_fit_stores):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(_store_has_disk, default_timeout=60)
    at.run()
    assert at.session_state["disk"] is False
