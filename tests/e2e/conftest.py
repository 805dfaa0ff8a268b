"""Fixtures for the real-browser tests: a Streamlit server on loopback and Debian's Chromium.

The tests drive /usr/bin/chromium through Playwright's Python package; they never download a
browser (`playwright install` is not needed and not used). Without Chromium they are skipped
with a message that says how to install it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SHOTS = Path(__file__).resolve().parent / "screenshots"  # gitignored
NO_CHROMIUM = (
    f"real-browser (e2e) tests skipped: no Chromium at {CHROMIUM}. Install Debian's package with "
    "`sudo apt-get update && sudo apt-get install -y chromium` (do not use `playwright "
    "install`), then run pytest again; .ci/run does this automatically."
)
NO_PLAYWRIGHT = (
    "real-browser (e2e) tests skipped: the `playwright` Python package is missing; install the "
    "test requirements with `python3 -m pip install -r requirements-dev.txt`."
)
STARTUP_TIMEOUT = 90.0  # seconds until /_stcore/health answers

# A page's script has finished its run (Streamlit marks the app element).
IDLE = (
    "() => document.querySelector('[data-testid=\"stApp\"]')"
    "?.getAttribute('data-test-script-state') === 'notRunning'"
)


def browser_unavailable() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if not CHROMIUM.exists():
        return NO_CHROMIUM
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return NO_PLAYWRIGHT
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class StreamlitServer:
    url: str
    process: subprocess.Popen
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def memory_kib(self) -> dict[str, int]:
        """VmRSS (now) and VmHWM (peak so far) of the server process, in KiB."""
        fields = {}
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                fields[name] = int(value.split()[0])
        return fields

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


@contextmanager
def streamlit_server(log_dir: Path, env: dict[str, str] | None = None):
    """`streamlit run app.py` on a free loopback port; stopped by its PID afterwards."""
    port = free_port()
    log = log_dir / f"streamlit-{port}.log"
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        "app.py",
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--server.fileWatcherType",
        "none",
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            # Fits a server trained before must not stand in for training here.
            env={**os.environ, "RESODE_FIT_DIR": str(log_dir / "fits"), **(env or {})},
        )
    server = StreamlitServer(f"http://127.0.0.1:{port}", process, log)
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    f"streamlit exited with {process.returncode}:\n{server.log_tail()}"
                )
            try:
                with urllib.request.urlopen(f"{server.url}/_stcore/health", timeout=2) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"streamlit did not answer in {STARTUP_TIMEOUT:.0f} s")
            time.sleep(0.25)
        yield server
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.kill(process.pid, signal.SIGKILL)
                process.wait(timeout=15)


@pytest.fixture
def one_crowd_at_a_time():
    """The load and hall tests each start dozens of browser sessions: on two cores they run
    one after the other, even when pytest-xdist hands them to different workers (a lock file
    in the system's temporary folder)."""
    import fcntl
    import tempfile

    with open(Path(tempfile.gettempdir()) / "resode-crowd-tests.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@pytest.fixture(scope="session")
def chromium_ready() -> None:
    reason = browser_unavailable()
    if reason:
        pytest.skip(reason)


@pytest.fixture(scope="session")
def server(chromium_ready, tmp_path_factory):
    """One Streamlit server shared by the page tests."""
    with streamlit_server(tmp_path_factory.mktemp("streamlit")) as running:
        yield running


@pytest.fixture(scope="session")
def browser(chromium_ready):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS
