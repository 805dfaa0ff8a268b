"""Stored traced programs give the same numbers as the plain jitted functions."""

import jax
import numpy as np
import pytest

import resode_core as rc
from resode_core import _aot

# The methods depth_cost measures (its docstring names them).
DEPTH_METHODS = ("resnet", "node_backprop", "node_backsolve")


def _spiral():
    system = rc.spiral_system()
    ts = rc.sample_times()
    return system, ts, np.asarray(rc.simulate(system, system.u0, ts).ys)


@pytest.fixture
def store(tmp_path):
    """An empty store of traced programs; the process's own store comes back afterwards."""
    previous = _aot._STORE["dir"]
    _aot.set_export_store(None)
    _aot._EXPORTED.clear()
    _aot._PROGRAMS.clear()
    yield tmp_path
    _aot._EXPORTED.clear()
    _aot._PROGRAMS.clear()
    _aot.set_export_store(previous)


def test_stored_programs_match_plain_jit(store):
    tmp_path = store
    system, ts, ys = _spiral()
    plain_fit = rc.fit_neural_ode(ts, ys, epochs=4, learning_rate=0.1)
    plain_sim = rc.simulate(system, (1.0, -0.5), ts, rtol=1e-5, atol=1e-7)
    plain_adjoint = rc.adjoint_comparison(1e-4, width=4, batch=8, repeats=1)
    plain_ends = rc.fixed_step_endpoints(system, system.u0, 1.5, [4, 16, 64], solver="rk4")
    plain_depth = [rc.depth_cost(m, 8, repeats=1) for m in DEPTH_METHODS]
    try:
        _aot.set_export_store(tmp_path)
        stored_fit = rc.fit_neural_ode(ts, ys, epochs=4, learning_rate=0.1)
        stored_sim = rc.simulate(system, (1.0, -0.5), ts, rtol=1e-5, atol=1e-7)
        stored_adjoint = rc.adjoint_comparison(1e-4, width=4, batch=8, repeats=1)
        stored_ends = rc.fixed_step_endpoints(system, system.u0, 1.5, [4, 16, 64], solver="rk4")
        stored_depth = [rc.depth_cost(m, 8, repeats=1) for m in DEPTH_METHODS]
        files = sorted(p.name.split("-")[0] for p in tmp_path.iterdir())
        # A new process would find the programs on disk: forget the in-memory copies.
        _aot._EXPORTED.clear()
        reloaded_fit = rc.fit_neural_ode(ts, ys, epochs=4, learning_rate=0.1)
    finally:
        _aot.set_export_store(None)
    # (The old "ode_loss" program is gone: a fit's final loss is its last recorded loss.)
    assert {
        "ode_epochs",
        "simulate",
        "adaptive_gradient",
        "fixed_step_endpoints",
        "depth_gradient",
    } <= set(files)
    # The memory figures come from XLA's analysis of the compiled program: the same program.
    for plain, kept in zip(plain_depth, stored_depth, strict=True):
        for field in ("params", "argument_bytes", "output_bytes", "temp_bytes", "total_bytes"):
            assert kept[field] == plain[field], (plain["method"], field)
        if plain["gradient"] is not None:
            np.testing.assert_allclose(kept["gradient"], plain["gradient"], rtol=1e-6)
    np.testing.assert_allclose(stored_ends, plain_ends, rtol=1e-6)
    # Stored programs compile with XLA's classic CPU code generator (COMPILER_OPTIONS), plain
    # jit with its default one: float32 rounding may differ in the last bits (seen: 6e-8 on a
    # component of 0.0056).
    for name in ("backprop", "backsolve"):
        np.testing.assert_allclose(
            stored_adjoint[name]["gradient"],
            plain_adjoint[name]["gradient"],
            rtol=1e-5,
            atol=1e-6,
        )
        assert stored_adjoint[name]["steps"] == plain_adjoint[name]["steps"]
    for fit in (stored_fit, reloaded_fit):
        np.testing.assert_allclose(fit.losses, plain_fit.losses, rtol=1e-5)
        np.testing.assert_allclose(fit.final_loss, plain_fit.final_loss, rtol=1e-5)
        for leaf, plain_leaf in zip(
            jax.tree_util.tree_leaves(fit.model),
            jax.tree_util.tree_leaves(plain_fit.model),
            strict=True,
        ):
            np.testing.assert_allclose(
                np.asarray(leaf), np.asarray(plain_leaf), rtol=1e-5, atol=1e-7
            )
    np.testing.assert_allclose(stored_sim.ys, plain_sim.ys, rtol=1e-6)
    assert int(stored_sim.num_steps) == int(plain_sim.num_steps)
    assert stored_sim.ok


def test_a_stale_file_is_replaced(store):
    tmp_path = store
    system, ts, _ = _spiral()
    try:
        _aot.set_export_store(tmp_path)
        rc.simulate(system, system.u0, ts)
        for path in tmp_path.iterdir():
            path.write_bytes(b"not an exported program")
        _aot._EXPORTED.clear()
        result = rc.simulate(system, system.u0, ts)
    finally:
        _aot.set_export_store(None)
    assert result.ok
    assert all(p.stat().st_size > 100 for p in tmp_path.iterdir())


NEW_PROCESS = """
import sys
import numpy as np
import resode_core as rc
from resode_core import _aot

# The methods depth_cost measures (its docstring names them).
DEPTH_METHODS = ("resnet", "node_backprop", "node_backsolve")
_aot.set_export_store(sys.argv[1])
system = rc.spiral_system()
rc.solve_many(system, [[2.0, 0.0], [1.0, 1.0]], np.linspace(0.0, 1.5, 16))
"""


def test_a_new_process_finds_the_programs_stored_for_a_system(store):
    """The spiral's field is a bound method, whose tree names a per-process address: the
    stored program's name must not depend on it, or every restart traces (and stores) anew."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]

    def run() -> set[str]:
        subprocess.run(
            [sys.executable, "-c", NEW_PROCESS, str(store)], cwd=root, check=True, timeout=300
        )
        return {p.name for p in store.iterdir()}

    first = run()
    assert any(name.startswith("solve_many-") for name in first), first
    assert run() == first  # the second process loaded them: nothing new was stored


def test_a_stored_program_compiles_once_for_fresh_and_returned_arrays(store, compile_counter):
    # A fresh fit's arrays come from plain jit (uncommitted); a chunk returns committed
    # ones. Without committing the inputs, the second chunk compiled the call again.
    _, ts, ys = _spiral()
    data = rc.trajectory_data(ts, ys)
    settings = rc.SolverSettings("dopri5", rtol=1e-5, atol=1e-7)
    compiles = []

    def after_chunk(fit):
        compiles.append(compile_counter.count)
        compile_counter.count = 0

    try:
        _aot.set_export_store(store)
        fit = rc.fit_ode(data, settings, epochs=4, seed=1, chunks=2, on_chunk=after_chunk)
        compile_counter.count = 0
        rc.fit_ode(data, settings, epochs=2, seed=2, chunks=1)
    finally:
        _aot.set_export_store(None)
    assert len(compiles) == 2
    assert compiles[0] > 0  # the first chunk compiled the stored program (the count is live)
    assert compiles[1] == 0  # the second chunk, on the arrays the first one returned
    assert compile_counter.count == 0  # a fresh fit from another seed
    assert fit.epochs == 4 and np.all(np.isfinite(fit.losses))


def test_threads_asking_for_the_same_new_program_trace_it_once(store, monkeypatch):
    """A page and its compile-ahead thread may reach one program together: one export."""
    import threading
    import time

    system, ts, _ = _spiral()
    exports = []
    export = _aot.AotFunction._export

    def slow_export(self, *args):
        exports.append(self.name)
        time.sleep(0.5)  # the other thread arrives while this one is still tracing
        return export(self, *args)

    monkeypatch.setattr(_aot.AotFunction, "_export", slow_export)
    results = []
    try:
        _aot.set_export_store(store)
        threads = [
            threading.Thread(target=lambda: results.append(rc.simulate(system, system.u0, ts)))
            for _ in range(2)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
    finally:
        _aot.set_export_store(None)
    assert exports == ["simulate"]
    assert len(results) == 2
    np.testing.assert_array_equal(results[0].ys, results[1].ys)


def _reaches_a_jaxpr(root, depth: int = 8) -> bool:
    """Whether a Jaxpr is among the objects `root` refers to, up to `depth` links away."""
    import gc
    import types

    from jax._src import core

    def referents(obj):
        if isinstance(obj, types.FunctionType):  # its closure, not its module's globals
            return [cell.cell_contents for cell in obj.__closure__ or ()]
        return gc.get_referents(obj)

    seen, level = {id(root)}, [root]
    for _ in range(depth):
        following = []
        for obj in level:
            for ref in referents(obj):
                if isinstance(ref, core.Jaxpr | core.ClosedJaxpr):
                    return True
                if id(ref) not in seen and not isinstance(ref, type | types.ModuleType):
                    seen.add(id(ref))
                    following.append(ref)
        level = following
    return False


def test_a_stored_program_keeps_no_traced_jaxpr(store):
    """The object jax.export returns holds its whole jaxpr (for a VJP); the store keeps the
    program as a new process loads it, so a fresh server's warm-up does not keep every
    traced program alive (about 85 MB of Python objects, measured)."""
    system, ts, _ = _spiral()
    exported = jax.export.export(jax.jit(lambda u: u * 2.0))(jax.ShapeDtypeStruct((2,), "float32"))
    assert _reaches_a_jaxpr(exported)  # what the walk looks for is there in a fresh export
    try:
        _aot.set_export_store(store)
        rc.simulate(system, (1.0, -0.5), ts, rtol=1e-5, atol=1e-7)
        kept = list(_aot._EXPORTED.values())
    finally:
        _aot.set_export_store(None)
    assert kept
    assert not any(_reaches_a_jaxpr(program) for program in kept)


def _finishes_while_another_thread_compiles(call) -> bool:
    """Whether `call()` returns within 20 s while another thread holds COMPILE_LOCK."""
    import threading

    held, release = threading.Event(), threading.Event()

    def compiling():
        with _aot.COMPILE_LOCK:
            held.set()
            release.wait(30)

    holder = threading.Thread(target=compiling)
    holder.start()
    held.wait(10)
    caller = threading.Thread(target=call)
    caller.start()
    caller.join(20)
    finished = not caller.is_alive()
    release.set()
    holder.join()
    caller.join()
    return finished


def test_a_compiled_program_runs_while_another_compiles(store):
    """A slider move whose program is compiled must not queue behind the warm-up's compile of
    another page (it waited seconds for a 0.05 s solve); after clear_programs the next call
    compiles again, and so waits for its turn."""
    system, ts, _ = _spiral()

    def solve():
        rc.simulate(system, (1.0, -0.5), ts, rtol=1e-5, atol=1e-7)

    try:
        _aot.set_export_store(store)
        solve()  # traced, stored and compiled
        assert _finishes_while_another_thread_compiles(solve)
        rc.clear_programs()
        assert not _aot._PROGRAMS
        assert not _finishes_while_another_thread_compiles(solve)
    finally:
        _aot.set_export_store(None)


def _enters_after(monkeypatch, foreground, quiet_s=0.3, patience_s=5.0) -> float:
    """Seconds until a thread inside `background_compiles` gets to compile, started while
    `foreground(started)` runs on another thread."""
    import threading
    import time

    monkeypatch.setattr(_aot, "QUIET_S", quiet_s)
    monkeypatch.setattr(_aot, "PATIENCE_S", patience_s)
    started = threading.Event()
    other = threading.Thread(target=foreground, args=(started,))
    other.start()
    started.wait(5)
    begun = time.monotonic()
    with rc.background_compiles(), _aot._compiling():
        waited = time.monotonic() - begun
    other.join()
    return waited


def test_background_compiles_let_other_threads_compile_first(monkeypatch):
    """The warm-up's compiles wait while a visitor compiles, and QUIET_S after the visitor's
    last compile (the gap before its next one); with nobody else compiling they do not wait."""
    import time

    def one_compile(started, hold_s=0.5):
        with _aot._compiling():
            started.set()
            time.sleep(hold_s)

    assert 0.5 + 0.3 - 0.1 <= _enters_after(monkeypatch, one_compile) < 0.5 + 0.3 + 0.5
    assert _enters_after(monkeypatch, lambda started: started.set()) < 0.1

    def a_series(started):  # a visitor's nine gradients: compiles with short gaps between
        for _ in range(4):
            with _aot._compiling():
                started.set()
                time.sleep(0.2)
            time.sleep(0.1)

    assert _enters_after(monkeypatch, a_series) >= 4 * 0.2 + 3 * 0.1 - 0.1

    # A visitor who never stops compiling (a busy class) still lets it in after PATIENCE_S.
    def endless(started):
        until = time.monotonic() + 3.0
        while time.monotonic() < until:
            with _aot._compiling():
                started.set()
                time.sleep(0.05)
            time.sleep(0.02)

    assert _enters_after(monkeypatch, endless, quiet_s=0.5, patience_s=0.6) < 1.5


def test_compiles_inside_a_compile_neither_wait_nor_count(monkeypatch):
    """A trace that calls another stored function compiles inside a compile, on one thread:
    it counts once, and a background thread's inner compile does not wait again."""
    import time

    monkeypatch.setattr(_aot, "QUIET_S", 0.4)
    with _aot._compiling(), _aot._compiling():
        assert _aot._FOREGROUND["active"] == 1
    assert _aot._FOREGROUND["active"] == 0
    begun = time.monotonic()
    with rc.background_compiles(), _aot._compiling():
        waited = time.monotonic() - begun  # the quiet after the compile above
        with _aot._compiling():
            assert time.monotonic() - begun - waited < 0.1
            assert _aot._FOREGROUND["active"] == 0
    assert waited >= 0.3
