"""ResODE Lab: the router. Run with `streamlit run app.py`."""

import sys
from pathlib import Path

import streamlit as st

sys.path.insert(0, str(Path(__file__).parent))

st.set_page_config(page_title="ResODE Lab", page_icon="🌀", layout="wide")

PAGES = {
    "Start": [
        st.Page("pages/home.py", title="Welcome", icon="🏠", default=True),
    ],
}

st.navigation(PAGES).run()
