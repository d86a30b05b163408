"""Plotly figures for the notebooks and the dashboard, one module per topic."""
