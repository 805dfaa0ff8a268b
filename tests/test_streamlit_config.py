"""The settings in .streamlit/config.toml are real Streamlit options with the values we mean."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
READ_OPTIONS = """
from streamlit import config
config.get_config_options(force_reparse=True)
for name in ("runner.postScriptGC", "server.maxUploadSize", "server.headless",
             "browser.gatherUsageStats", "global.minCachedMessageSize"):
    print(name, config.get_option(name))
"""


def test_the_repository_config_is_read_by_streamlit():
    # A fresh interpreter in the repository root reads .streamlit/config.toml as `streamlit
    # run app.py` does (and fails loudly on a malformed file).
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMLIT_")}
    out = subprocess.run(
        [sys.executable, "-c", READ_OPTIONS],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    options = dict(line.split(" ", 1) for line in out.strip().splitlines())
    assert options == {
        "runner.postScriptGC": "False",  # a full GC after each run stalls every session
        "server.maxUploadSize": "5",  # the your-data page checks the same limit itself
        "server.headless": "True",
        "browser.gatherUsageStats": "False",
        # no element is sent as a reference to the browser's cache ("Cached ForwardMsg MISS")
        "global.minCachedMessageSize": "1000000000000000.0",
    }, options
