"""The recap: the story of the lab in six small live charts, each linking to its lesson."""

import streamlit as st

from resode_ui import recap_charts, widgets as ui
from resode_ui.lessons import recap

st.title("Recap: from deep nets to neural ODEs")
st.markdown(
    """
Six lessons, six charts: each is the lesson's own result at its default settings, computed
live (the same cached result the lesson page opens with). Read them in order; open a lesson
to move its sliders. Lotka–Volterra and your own time series apply panel 6 to other data.
"""
)

columns = st.columns(3) + st.columns(3)
for column, panel_of in zip(columns, recap.PANELS, strict=True):
    with column, st.spinner("Computing this lesson's result…"):
        panel = panel_of()
        st.markdown(f"##### {panel.title}")
        ui.chart(
            recap_charts.small_chart,
            panel.frame,
            panel.x_title,
            panel.y_title,
            log_x=panel.log_x,
            log_y=panel.log_y,
        )
        st.caption(panel.takeaway)
        ui.lesson_link(panel.page, "Open the lesson")

st.markdown(
    """
**References.** K. He, X. Zhang, S. Ren, J. Sun, *Deep Residual Learning for Image
Recognition*, 2015 (arXiv:1512.03385). R. T. Q. Chen, Y. Rubanova, J. Bettencourt,
D. Duvenaud, *Neural Ordinary Differential Equations*, NeurIPS 2018 (arXiv:1806.07366).
"""
)
