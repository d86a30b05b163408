"""Plotly views of an event stream: an ON/OFF movie with a time slider, and a raster."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from lab.core import theme
from lab.events.datasets import events_to_frames

ON, OFF = theme.OKABE_ITO["vermillion"], theme.OKABE_ITO["blue"]  # as in lab.viz.streaming
ON_OFF_COLORS = [[0.0, OFF], [0.5, "white"], [1.0, ON]]


def event_animation(events: np.ndarray, sensor_size: tuple[int, int, int], n_frames: int = 20,
                    duration_us: int | None = None) -> go.Figure:
    """Events binned into `n_frames` frames of `ON − OFF` counts (red ON, blue OFF), animated."""
    frames = events_to_frames(events, sensor_size, n_frames, duration_us).numpy()
    net = frames[:, 1] - frames[:, 0] if frames.shape[1] == 2 else frames[:, 0]
    zmax = float(max(np.abs(net).max(), 1.0))
    duration = duration_us or (int(events["t"].max()) if len(events) else 1)
    starts_ms = np.arange(n_frames) * duration / n_frames / 1000

    def heatmap(z: np.ndarray) -> go.Heatmap:
        return go.Heatmap(z=z, zmin=-zmax, zmax=zmax, colorscale=ON_OFF_COLORS,
                          colorbar={"title": {"text": "events"}, "tickvals": [-zmax, 0, zmax],
                                    "ticktext": [f"{zmax:g} OFF", "0", f"{zmax:g} ON"]})

    step = {"frame": {"duration": 200, "redraw": True}, "mode": "immediate"}
    fig = go.Figure(
        data=[heatmap(net[0])],
        frames=[go.Frame(data=[heatmap(z)], name=str(i)) for i, z in enumerate(net)],
    )
    fig.update_layout(
        title=f"{len(events)} events in {n_frames} frames",
        xaxis={"title": "x", "constrain": "domain"},
        yaxis={"title": "y", "autorange": "reversed", "scaleanchor": "x"},
        updatemenus=[{"type": "buttons", "showactive": False, "buttons": [
            {"label": "Play", "method": "animate", "args": [None, step | {"fromcurrent": True}]},
            {"label": "Pause", "method": "animate",
             "args": [[None], {"frame": {"duration": 0}, "mode": "immediate"}]},
        ]}],
        sliders=[{"currentvalue": {"prefix": "t = "}, "steps": [
            {"label": f"{t:.0f} ms", "method": "animate", "args": [[str(i)], step]}
            for i, t in enumerate(starts_ms)
        ]}],
    )
    return theme.describe(fig, "ON minus OFF events per pixel in each time bin: red where ON "
                          "events (brighter) dominate, blue where OFF (darker) do.")


def event_raster(events: np.ndarray, sensor_size: tuple[int, int, int] | None = None
                 ) -> go.Figure:
    """Each event a dot at (time, pixel index `y·W + x`); ON red, OFF blue."""
    width = sensor_size[0] if sensor_size else (int(events["x"].max()) + 1 if len(events) else 1)
    pixel = events["y"].astype(np.int64) * width + events["x"]
    fig = go.Figure()
    for polarity, name, color in ((1, "ON", ON_OFF_COLORS[2][1]), (0, "OFF", ON_OFF_COLORS[0][1])):
        on = events["p"].astype(int) == polarity
        fig.add_trace(go.Scattergl(x=events["t"][on] / 1000, y=pixel[on], mode="markers",
                                   name=name, marker={"color": color, "size": 3}))
    fig.update_layout(title=f"{len(events)} events", xaxis_title="t (ms)",
                      yaxis_title="pixel (y·W + x)")
    return theme.describe(fig, "Every event as a dot at its time and pixel: ON red, OFF blue.")
