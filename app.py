"""ResODE Lab: the router. Run with `streamlit run app.py`.

Streamlit reads this file twice over. `streamlit run` first imports it as a module and
finds `app`, an `st.App` whose start-up hook loads JAX and warms every lesson before anyone
visits (`resode_ui/server.py`). Every visit then runs it as a script (`__name__ ==
"__main__"`), which draws the navigation and runs the chosen lesson.
"""

import sys
from pathlib import Path

import streamlit as st

sys.path.insert(0, str(Path(__file__).parent))

if __name__ != "__main__":
    from resode_ui.server import lifespan

    app = st.App(__file__, lifespan=lifespan)
else:
    from resode_ui.server import page_run
    from resode_ui.widgets import presenter_toggle, presenting

    st.set_page_config(
        page_title="ResODE Lab",
        page_icon=":material/cyclone:",
        layout="wide",
        # A projector needs the width: presenter mode opens with the sidebar closed.
        initial_sidebar_state="collapsed" if presenting() else "auto",
    )
    page = st.navigation(
        {
            "Start": [
                st.Page("pages/home.py", title="Welcome", icon=":material/home:", default=True),
            ],
            "Residual networks": [
                st.Page(
                    "pages/vanishing_gradients.py",
                    title="Vanishing gradients",
                    icon=":material/trending_down:",
                ),
                st.Page(
                    "pages/identity_experiment.py",
                    title="Plain vs ResNet on y = x",
                    icon=":material/straighten:",
                ),
                st.Page(
                    "pages/resnet_euler.py",
                    title="ResNet = forward Euler",
                    icon=":material/stairs:",
                ),
            ],
            "Neural ODEs": [
                st.Page("pages/solvers.py", title="Solvers and Δt", icon=":material/calculate:"),
                st.Page(
                    "pages/regression_flow.py",
                    title="Regression as a flow",
                    icon=":material/waves:",
                ),
                st.Page(
                    "pages/resnet_vs_node.py",
                    title="ResNet vs neural ODE",
                    icon=":material/balance:",
                ),
                st.Page(
                    "pages/spiral.py", title="The spiral test equation", icon=":material/cyclone:"
                ),
                st.Page("pages/lotka_volterra.py", title="Lotka–Volterra", icon=":material/pets:"),
                st.Page(
                    "pages/your_data.py",
                    title="Your own time series",
                    icon=":material/upload_file:",
                ),
            ],
            "Recap": [
                st.Page(
                    "pages/recap.py", title="The story in six charts", icon=":material/summarize:"
                ),
            ],
        }
    )
    presenter_toggle(st.sidebar)
    with page_run(page.url_path):
        page.run()
