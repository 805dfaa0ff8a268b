from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def open_page():
    """open_page("pages/x.py") -> AppTest that has run once (JAX pages need a long timeout)."""

    def _open(relative_path: str, timeout: float = 120) -> AppTest:
        at = AppTest.from_file(str(ROOT / relative_path), default_timeout=timeout)
        at.run()
        return at

    return _open
