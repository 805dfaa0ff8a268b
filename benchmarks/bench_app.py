"""The app as a student meets it: cold start, page times and server memory, in Chromium.

    python3 -m benchmarks.bench_app             # needs /usr/bin/chromium (apt-get install chromium)
    python3 -m benchmarks.bench_app --only fresh  # one group: fresh, start, pages or memory

Scenarios (each starts its own `streamlit run app.py` on a free loopback port):
  fresh-class  first, the hard case (benchmarks/fresh_class.py): a new server with empty caches
               and the warm-up on; one visitor opens every page in the sidebar's order while
               the warm-up runs and moves three sliders per page; page and move times, the
               warm-up's total, the fitted spiral and the server's peak memory (VmHWM)
  first-start  an empty JAX cache: server start -> the default spiral fit on screen
  restart      the cache that first-start left: the same measurement (median of 3), with the
               start-up hook that imports JAX before anyone visits (RESODE_PRELOAD) on and off;
               on a shared machine, and with server and browser on separate cores (as when
               the browser runs on a student's own computer)
  pages        warm-up off: every page cold (disk caches without it), then after a restart
               (disk caches with it) its first and second visit
  memory       restart: the server's resident memory after visiting every page
Prints a table and writes benchmarks/results/app.json. Nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
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
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(
        self, cache_dir: Path, warmup: bool, preload: bool = True, cpus: set[int] | None = None
    ):
        self.port = free_port()
        env = dict(
            os.environ,
            RESODE_JAX_CACHE=str(cache_dir),
            RESODE_WARMUP="1" if warmup else "0",
            RESODE_PRELOAD="1" if preload else "0",
        )
        pin = None if cpus is None else (lambda: os.sched_setaffinity(0, cpus))
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
             "--browser.gatherUsageStats", "false", "--server.port", str(self.port),
             "--server.address", "127.0.0.1"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=pin,
        )  # fmt: skip
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/_stcore/health", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        self.ready_s = time.perf_counter() - self.started

    def url(self, page: str = "") -> str:
        return f"http://127.0.0.1:{self.port}/{page}"

    def memory_mb(self) -> dict[str, float]:
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        return {k: int(fields[k].split()[0]) / 1024 for k in ("VmRSS", "VmHWM")}

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def open_page(browser, url: str, timeout_s: float = 300) -> float:
    """Seconds from navigation until the page's script has finished (idle, no spinner)."""
    page = browser.new_page()
    start = time.perf_counter()
    page.goto(url)
    page.wait_for_selector(IDLE, timeout=timeout_s * 1000)
    # A rerun can start right after the first idle (e.g. a page that trains in chunks).
    page.wait_for_timeout(200)
    page.wait_for_selector(IDLE, timeout=timeout_s * 1000)
    seconds = time.perf_counter() - start
    errors = page.locator('[data-testid="stException"]').count()
    page.close()
    if errors:
        print(f"warning: {url} shows an exception", file=sys.stderr)
    return seconds


def time_to_spiral(browser, cache: Path, **server_options) -> dict[str, float]:
    server = Server(cache, warmup=False, **server_options)
    try:
        spiral = open_page(browser, server.url("spiral"))
        return {
            "server_ready_s": server.ready_s,
            "server_start_to_spiral_fit_s": time.perf_counter() - server.started,
            "spiral_page_s": spiral,
        }
    finally:
        server.stop()


def median_restart(browser, cache: Path, repeats: int = 3, **server_options) -> dict:
    runs = [time_to_spiral(browser, cache, **server_options) for _ in range(repeats)]
    runs.sort(key=lambda r: r["server_start_to_spiral_fit_s"])
    return {**runs[len(runs) // 2], "all_s": [r["server_start_to_spiral_fit_s"] for r in runs]}


def browser_on_core(playwright, core: int, folder: Path):
    """Chromium pinned to one core (through taskset), or None where that is not possible."""
    if shutil.which("taskset") is None or len(os.sched_getaffinity(0)) < 2:
        return None
    wrapper = folder / "chromium-pinned"
    wrapper.write_text(f'#!/bin/sh\nexec taskset -c {core} /usr/bin/chromium "$@"\n')
    wrapper.chmod(0o755)
    return playwright.chromium.launch(executable_path=str(wrapper), args=CHROMIUM_ARGS)


def page_names() -> list[str]:
    return sorted(p.stem for p in (ROOT / "pages").glob("*.py") if p.stem != "home")


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="benchmarks/results/app.json")
    parser.add_argument(
        "--only", choices=("fresh", "start", "pages", "memory"), help="run one scenario group only"
    )
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    report: dict = {}
    cache = Path(tempfile.mkdtemp(prefix="resode-bench-cache-"))
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        if args.only in (None, "fresh"):
            from benchmarks import fresh_class

            report["fresh-class"] = fresh_class.run(browser)
        if args.only in (None, "start"):
            report["first-start"] = time_to_spiral(browser, cache)
            for preload in (True, False):
                name = "restart" if preload else "restart, no preload"
                report[name] = median_restart(browser, cache, preload=preload)
            pinned = browser_on_core(p, 1, cache)
            if pinned is not None:
                for preload in (True, False):
                    name = "restart, split cores" + ("" if preload else ", no preload")
                    report[name] = median_restart(pinned, cache, preload=preload, cpus={0})
                pinned.close()
        if args.only in (None, "pages"):
            # First visits on a server whose disk caches have never seen the page: cold.
            server = Server(cache, warmup=False)
            try:
                cold = {name: open_page(browser, server.url(name)) for name in page_names()}
            finally:
                server.stop()
            # A restart: the disk caches now hold every page, the process holds nothing.
            server = Server(cache, warmup=False)
            try:
                report["pages"] = {
                    name: {"cold_s": cold[name],
                           "restart_first_s": open_page(browser, server.url(name)),
                           "second_s": open_page(browser, server.url(name))}
                    for name in page_names()
                }  # fmt: skip
            finally:
                server.stop()
        if args.only in (None, "memory"):
            report["memory_mb"] = memory_after_every_page(browser, cache)
        browser.close()
    shutil.rmtree(cache, ignore_errors=True)
    print_report(report)
    out = ROOT / args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1))
    print(json.dumps(report))
    return report


def memory_after_every_page(browser, cache: Path) -> dict:
    server = Server(cache, warmup=False)
    try:
        open_page(browser, server.url())
        per_page = {}
        for name in page_names():
            open_page(browser, server.url(name))
            per_page[name] = server.memory_mb()["VmRSS"]
        # One more visit lets the page frame hand freed compiler memory back.
        open_page(browser, server.url())
        return {**server.memory_mb(), "after_each_page": per_page}
    finally:
        server.stop()


def print_report(report: dict) -> None:
    if "fresh-class" in report:
        from benchmarks import fresh_class

        fresh_class.print_report(report["fresh-class"])
    starts = [k for k in report if k.startswith(("first-start", "restart"))]
    if starts:
        print("\n== Cold start (server start -> default spiral fit on screen)")
    for scenario in starts:
        r = report[scenario]
        print(f"{scenario:34s} server ready {r['server_ready_s']:5.1f} s, spiral done "
              f"{r['server_start_to_spiral_fit_s']:5.1f} s after start")  # fmt: skip
    if "pages" in report:
        print("\n== Page open in Chromium, warm-up off: cold (empty disk caches) / first visit "
              "after a restart / second visit (s)")  # fmt: skip
        for name, r in report["pages"].items():
            print(f"{name:22s} {r['cold_s']:6.2f} {r['restart_first_s']:6.2f} {r['second_s']:6.2f}")
    if "memory_mb" in report:
        m = report["memory_mb"]
        print(f"\n== Server memory after every page: RSS {m['VmRSS']:.0f} MB, "
              f"peak {m['VmHWM']:.0f} MB")  # fmt: skip


if __name__ == "__main__":
    main()
