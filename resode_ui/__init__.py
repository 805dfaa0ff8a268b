"""ResODE Lab's Streamlit side: lessons, widgets, shared training, charts and the server."""
