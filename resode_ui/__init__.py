"""Streamlit-side helpers shared by the pages: page frame, cached resources, charts.

Chart builders in `charts` are pure functions from data frames to altair charts.
"""
