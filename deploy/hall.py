"""A lecture hall: N Streamlit replicas of ResODE Lab behind haproxy, with sticky sessions.

    python3 deploy/hall.py --replicas 4 --port 8500 --cache /var/cache/resode

starts N replicas (`streamlit run app.py`) on consecutive loopback ports after --port
(8501, 8502, ...), waits until each answers /_stcore/health, writes an haproxy config from
deploy/haproxy.cfg.in and runs haproxy in the foreground on --port. The replicas share one
folder for JAX's persistent compilation cache (RESODE_JAX_CACHE=<cache>) and the stored
fits (RESODE_FIT_DIR=<cache>/fits, or --fit-dir). SIGTERM or SIGINT stops haproxy and every
replica; if any of them exits, the launcher stops the rest and exits non-zero (systemd then
restarts it).
deploy/resode-hall.service runs this file. The run folder gets haproxy.cfg and
replicas.json (name, port and pid of each replica).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from string import Template

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = Path(__file__).resolve().parent / "haproxy.cfg.in"
STOP_GRACE_S = 15.0


def find_haproxy() -> str:
    """haproxy on PATH, else Debian's /usr/sbin/haproxy (not on a non-root user's PATH)."""
    return shutil.which("haproxy") or "/usr/sbin/haproxy"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replicas", type=int, default=2, help="Streamlit servers (default 2)")
    parser.add_argument("--port", type=int, default=8500, help="the hall's public port")
    parser.add_argument("--address", default="0.0.0.0", help="haproxy's bind address")
    parser.add_argument(
        "--replica-port", type=int, help="first replica's loopback port (default: --port + 1)"
    )
    parser.add_argument("--cache", type=Path, required=True, help="shared cache folder")
    parser.add_argument("--fit-dir", type=Path, help="shared fit store (default: <cache>/fits)")
    parser.add_argument("--run-dir", type=Path, help="haproxy.cfg, replicas.json (default: temp)")
    parser.add_argument("--log-dir", type=Path, help="one log per replica (default: our stdout)")
    parser.add_argument("--app-dir", type=Path, default=ROOT, help="the folder with app.py")
    parser.add_argument("--haproxy", default=find_haproxy(), help="the haproxy executable")
    parser.add_argument("--start-timeout", type=float, default=180.0, help="seconds per replica")
    args = parser.parse_args(argv)
    if args.replicas < 1:
        parser.error("--replicas must be at least 1")
    return args


def haproxy_config(bind: str, ports: list[int]) -> str:
    servers = "\n".join(
        f"    server r{i} 127.0.0.1:{port} cookie r{i}" for i, port in enumerate(ports, 1)
    )
    return Template(TEMPLATE.read_text()).substitute(bind=bind, servers=servers)


def start_replica(port: int, args: argparse.Namespace) -> subprocess.Popen:
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        "app.py",
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--server.headless",
        "true",
        "--server.fileWatcherType",  # a server, not an editor: no watching the sources
        "none",
    ]
    env = {
        **os.environ,
        "RESODE_JAX_CACHE": str(args.cache),
        "RESODE_FIT_DIR": str(args.fit_dir),
    }
    output = None  # inherit: the journal under systemd
    if args.log_dir:
        output = (args.log_dir / f"replica-{port}.log").open("ab")
    return subprocess.Popen(
        command, cwd=args.app_dir, env=env, stdout=output, stderr=subprocess.STDOUT
    )


def wait_healthy(port: int, process: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"replica on port {port} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"replica on port {port} not healthy within {timeout:.0f} s")


def stop(processes: list[subprocess.Popen]) -> None:
    """SIGTERM to each, then SIGKILL to those still running after the grace period."""
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_S
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.cache = args.cache.resolve()
    args.fit_dir = (args.fit_dir or args.cache / "fits").resolve()
    args.fit_dir.mkdir(parents=True, exist_ok=True)
    run_dir = args.run_dir or Path(tempfile.mkdtemp(prefix="resode-hall-"))
    run_dir.mkdir(parents=True, exist_ok=True)
    if args.log_dir:
        args.log_dir.mkdir(parents=True, exist_ok=True)
    first = args.replica_port or args.port + 1
    ports = list(range(first, first + args.replicas))

    stopping = False

    def on_signal(signum, _frame) -> None:
        nonlocal stopping
        stopping = True
        print(f"hall: {signal.Signals(signum).name}, stopping", flush=True)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    replicas = [start_replica(port, args) for port in ports]
    children = list(replicas)
    try:
        (run_dir / "replicas.json").write_text(
            json.dumps(
                [
                    {"name": f"r{i}", "port": port, "pid": p.pid}
                    for i, (port, p) in enumerate(zip(ports, replicas, strict=True), 1)
                ]
            )
        )
        for port, process in zip(ports, replicas, strict=True):
            if stopping:
                return 0
            wait_healthy(port, process, args.start_timeout)
            print(f"hall: replica on 127.0.0.1:{port} is up (pid {process.pid})", flush=True)
        config = run_dir / "haproxy.cfg"
        config.write_text(haproxy_config(f"{args.address}:{args.port}", ports))
        balancer = subprocess.Popen([args.haproxy, "-f", str(config), "-db"])
        children.append(balancer)
        print(f"hall: haproxy on {args.address}:{args.port} (config {config})", flush=True)
        while not stopping:
            exited = [p for p in children if p.poll() is not None]
            if exited:
                print(f"hall: {exited[0].args[:4]} exited with {exited[0].returncode}", flush=True)
                return 1
            time.sleep(0.5)
        return 0
    except RuntimeError as error:
        print(f"hall: {error}", file=sys.stderr, flush=True)
        return 1
    finally:
        stop(children[::-1])  # haproxy first: no new requests reach stopping replicas


if __name__ == "__main__":
    sys.exit(main())
