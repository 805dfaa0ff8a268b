"""A warm rerun of every page: the script run when nothing new is computed (AppTest).

    python3 -m benchmarks.bench_rerun            # every page, median of 7 reruns
    python3 -m benchmarks.bench_rerun spiral     # some pages

Each page is opened once (computing and caching its defaults), then rerun with the same
settings: what a student's browser waits for on a rerun that finds everything cached
(e.g. after another student's identical move), minus the browser. Prints milliseconds.
Nothing here asserts on time.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("RESODE_WARMUP", "0")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PAGES = (
    "vanishing_gradients",
    "identity_experiment",
    "resnet_euler",
    "regression_flow",
    "spiral",
    "solvers",
    "resnet_vs_node",
    "lotka_volterra",
    "your_data",
)


def warm_rerun_ms(page: str, reruns: int = 7) -> tuple[float, float]:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "pages" / f"{page}.py"), default_timeout=900)
    started = time.perf_counter()
    at.run()
    first = time.perf_counter() - started
    assert not at.exception, at.exception
    times = []
    for _ in range(reruns):
        started = time.perf_counter()
        at.run()
        times.append(time.perf_counter() - started)
    return first * 1e3, statistics.median(times) * 1e3


def main(argv: list[str]) -> None:
    pages = argv or PAGES
    print(f"{'page':22} {'first run (ms)':>15} {'warm rerun (ms)':>16}")
    for page in pages:
        first, warm = warm_rerun_ms(page)
        print(f"{page:22} {first:15.0f} {warm:16.1f}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
