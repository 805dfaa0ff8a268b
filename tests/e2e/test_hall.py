"""A lecture hall: the load test's students sent through haproxy to two Streamlit replicas.

deploy/hall.py (what deploy/resode-hall.service runs) starts two replicas and haproxy on
loopback ports; the load test's sessions (test_load.py's driver) go through the balancer.
The test passes when the sessions landed on both replicas (each browser's haproxy cookie
names its replica), every websocket of a browser went to the replica of its cookie (haproxy's
log: the stream requests presented a valid cookie), each session saw only its own results
and lost no move, and every replica's peak memory (VmHWM) stayed under MEMORY_LIMIT_MIB.
Alone: `python3 -m pytest -m hall`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from pathlib import Path

import pytest

from e2e.conftest import ROOT, free_port
from e2e.test_load import PAGE, TRAINING_PAGE, check_sessions, run_sessions, write_traces

# Also a load test: `-m load` runs it with test_load.py, `-m "not load"` leaves both out.
pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.load, pytest.mark.hall]

REPLICAS = 2
SESSIONS = int(os.environ.get("LOAD_SESSIONS", "8"))  # split between the replicas
# Per replica, peak resident memory (VmHWM) during the test: Community Cloud stops an app
# at 690 MB. The goal is 600 with room to spare; measured here 533-617 MiB (the report
# prints each run's peaks), so the goal is not yet met in every run and the test holds the
# line that must never be crossed.
MEMORY_LIMIT_MIB = 690
START_TIMEOUT_S = 240  # the launcher: both replicas healthy, then haproxy answers
COOKIE = "RESODE_REPLICA"  # deploy/haproxy.cfg.in
NO_HAPROXY = (
    "lecture-hall test skipped: no `haproxy` (on PATH or /usr/sbin). Install Debian's package with "
    "`sudo apt-get update && sudo apt-get install -y haproxy`; .ci/run does this automatically."
)
# haproxy's httplog line for a websocket: "... replicas/r2 ... --VN ... "GET /_stcore/stream ..."
STREAM_LINE = re.compile(
    r" replicas/(?P<server>\S+) .* (?P<state>\S{4}) \S+ \S+ \"GET /_stcore/stream"
)


def _free_ports(count: int) -> int:
    """The first of `count` consecutive free loopback ports."""
    for _ in range(50):
        first = free_port()
        sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
        try:
            for offset, sock in enumerate(sockets):
                sock.bind(("127.0.0.1", first + offset))
            return first
        except OSError:
            continue
        finally:
            for sock in sockets:
                sock.close()
    raise RuntimeError(f"no {count} consecutive free loopback ports")


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as reply:
            return reply.status == 200
    except OSError:
        return False


def _peak_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM for pid {pid}")


def test_hall_two_replicas_behind_haproxy(
    chromium_ready, one_crowd_at_a_time, tmp_path, record_property
):
    haproxy = shutil.which("haproxy") or "/usr/sbin/haproxy"
    if not os.access(haproxy, os.X_OK):
        pytest.skip(NO_HAPROXY)
    port, first_replica = free_port(), _free_ports(REPLICAS)
    run_dir, output = tmp_path / "run", tmp_path / "hall.log"
    command = [
        sys.executable,
        "deploy/hall.py",
        "--replicas",
        str(REPLICAS),
        "--port",
        str(port),
        "--address",
        "127.0.0.1",
        "--replica-port",
        str(first_replica),
        # The repository's compilation cache, as the other browser tests use it; fits of
        # this run only, so that every session's fit is trained here.
        "--cache",
        str(ROOT / ".jax_cache"),
        "--fit-dir",
        str(tmp_path / "fits"),
        "--run-dir",
        str(run_dir),
        "--log-dir",
        str(tmp_path / "replicas"),
        "--haproxy",
        haproxy,
    ]
    # No background warm-up (as in the load test): the teacher opens each replica first.
    env = {**os.environ, "RESODE_WARMUP": "0", "PYTHONUNBUFFERED": "1"}
    base = f"http://127.0.0.1:{port}"
    started = time.perf_counter()
    with output.open("wb") as out:
        hall = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _answers(f"{base}/_stcore/health"):
            assert hall.poll() is None, f"the launcher exited:\n{output.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"no hall in {START_TIMEOUT_S} s"
            time.sleep(0.5)
        replicas = json.loads((run_dir / "replicas.json").read_text())
        startup_s = time.perf_counter() - started
        # Before class the teacher opens the pages once on each replica, directly.
        teacher = [f"http://127.0.0.1:{r['port']}" for r in replicas]
        log = run_sessions(base, SESSIONS, teacher_urls=teacher)
        write_traces(log, tmp_path / "sessions.txt")
        peaks = {r["name"]: _peak_mib(r["pid"]) for r in replicas}
        alive = hall.poll() is None
    finally:
        if hall.poll() is None:
            hall.send_signal(signal.SIGTERM)
        try:
            code = hall.wait(timeout=60)
        except subprocess.TimeoutExpired:
            hall.kill()
            code = hall.wait()
    seconds = time.perf_counter() - started

    landed = Counter(cookies.get(COOKIE, "none") for cookies in log["cookies"].values())
    streams = [m.groupdict() for m in map(STREAM_LINE.search, output.read_text().splitlines()) if m]
    record_property(  # printed at the end of the run (tests/conftest.py)
        "load_report",
        f"hall: {SESSIONS} sessions through haproxy to {REPLICAS} replicas on {PAGE} and "
        f"{TRAINING_PAGE} in {seconds:.0f} s (start-up {startup_s:.0f} s, sessions "
        f"{log['seconds']:.0f} s); sessions per replica {dict(sorted(landed.items()))}; "
        f"own L {len(log['layers'])}/{SESSIONS}, own fit {len(log['epochs'])}/{SESSIONS}; "
        f"pages reloaded after a lost connection {len(log['reloads'])}; "
        f"peak VmHWM per replica (MiB) { ({k: round(v) for k, v in peaks.items()}) }",
    )
    assert alive, f"the launcher died under load:\n{output.read_text()[-3000:]}"
    assert code == 0, f"the launcher did not stop cleanly on SIGTERM (exit {code})"
    check_sessions(log, SESSIONS)
    assert set(landed) == {r["name"] for r in replicas}, f"sessions per replica: {landed}"
    # Sticky: every websocket presented its browser's cookie and haproxy honoured it ("V").
    assert len(streams) >= 2 * SESSIONS, f"{len(streams)} websocket lines in haproxy's log"
    assert all(s["state"][2] == "V" for s in streams), streams
    for name, peak in peaks.items():
        assert peak < MEMORY_LIMIT_MIB, f"replica {name}: peak VmHWM {peak:.0f} MiB"
