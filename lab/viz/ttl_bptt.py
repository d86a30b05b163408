"""Figures of TTL-BPTT: the unrolled graph and its surviving gradient paths, memory, accuracy.

`explore` (over `graph_figure`) is the widget callback of notebook 04 (tested). A node (l, t)
is layer l at step t; row 0 is the input, rows 1..D-1 the spiking layers, row D the readout.
Forward edges are all drawn; an edge carries gradient only inside one (segment, block) unit:
a membrane edge (l, t-1) → (l, t) is cut at every segment boundary, a layer edge
(l-1, t) → (l, t) at every block boundary (the block's input is detached).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from lab.core import theme

# one colour per (segment, block) unit: Okabe–Ito, so neighbouring units stay distinguishable
UNIT_COLORS = tuple(theme.OKABE_ITO[k] for k in ("blue", "orange", "green", "vermillion",
                                                  "purple", "sky"))
CUT = "#c7c7c7"


def blocks_of(depth: int, block_size: int) -> list[list[int]]:
    """Layer rows 1..depth grouped into blocks of `block_size` (the last may be shorter)."""
    _check(1 <= block_size <= depth, "block_size", f"in 1..depth = 1..{depth}", block_size)
    return [list(range(s, min(s + block_size, depth + 1))) for s in range(1, depth + 1,
                                                                            block_size)]


def segments_of(timesteps: int, truncation_length: int) -> list[list[int]]:
    """Steps 1..T grouped into segments of K (the last may be shorter)."""
    _check(timesteps >= 1, "timesteps", "≥ 1", timesteps)
    _check(1 <= truncation_length <= timesteps, "truncation_length",
           f"in 1..timesteps = 1..{timesteps}", truncation_length)
    return [list(range(s, min(s + truncation_length, timesteps + 1)))
            for s in range(1, timesteps + 1, truncation_length)]


def graph_figure(timesteps: int = 8, depth: int = 3, truncation_length: int = 2,
                 block_size: int = 1, held_ratio: float | None = None) -> go.Figure:
    """The network unrolled over T steps, coloured by (segment, block) unit.

    One colour per unit: solid edges carry gradient; dotted edges enter a block from its
    detached input (the weights on them learn, no gradient goes further down); grey dashed
    membrane edges cross a segment boundary forward only. Diamonds are the losses, one per
    segment and block (local classifiers below the top block).
    `held_ratio`, when given (measured peak autograd memory over BPTT's), goes in the title.
    """
    blocks, segments = blocks_of(depth, block_size), segments_of(timesteps, truncation_length)
    block_of = {row: b for b, rows in enumerate(blocks) for row in rows}
    segment_of = {t: s for s, steps in enumerate(segments) for t in steps}
    unit = lambda row, t: segment_of[t] * len(blocks) + block_of[row]  # noqa: E731
    through: dict[int, tuple[list, list]] = {}  # gradient flows along the edge
    weights: dict[int, tuple[list, list]] = {}  # the block's first weights learn; input detached
    cut: tuple[list, list] = ([], [])  # forward only

    def edge(a: tuple[int, int], b: tuple[int, int], lines: tuple[list, list]) -> None:
        lines[0].extend([a[1], b[1], None])
        lines[1].extend([a[0], b[0], None])

    for t in range(1, timesteps + 1):
        for row in range(1, depth + 1):
            key = unit(row, t)
            first_of_block = row == blocks[block_of[row]][0]
            edge((row - 1, t), (row, t),
                 (weights if first_of_block else through).setdefault(key, ([], [])))
            if row < depth and t > 1:  # the readout row keeps no membrane state
                same = segment_of[t - 1] == segment_of[t]
                edge((row, t - 1), (row, t), through.setdefault(key, ([], [])) if same else cut)
    read: tuple[list, list] = ([], [])  # every top-row node of a unit feeds that unit's loss
    for steps in segments:
        for rows in blocks:
            for t in steps:
                edge((rows[-1], t), (rows[-1] + 0.35, steps[-1] + 0.35), read)
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=read[0], y=read[1], mode="lines", hoverinfo="skip",
                             name="read by the loss", line={"color": "#888", "width": 0.8}))
    fig.add_trace(go.Scatter(x=cut[0], y=cut[1], mode="lines", hoverinfo="skip",
                             name="membrane carried forward only (detached)",
                             line={"color": CUT, "dash": "dash", "width": 1.5}))
    # every unit's edges, also a unit with only detached-input edges (a one-layer block at
    # K = 1, or the readout block whenever blocks are smaller than the network)
    legend: set[str] = set()
    for key in sorted(set(through) | set(weights)):
        color = UNIT_COLORS[key % len(UNIT_COLORS)]
        for lines, name, line in (
                (through.get(key), "gradient flows", {"color": color, "width": 3}),
                (weights.get(key), "block input detached (its weights still learn)",
                 {"color": color, "width": 2, "dash": "dot"})):
            if lines:
                fig.add_trace(go.Scatter(x=lines[0], y=lines[1], mode="lines", name=name,
                                         showlegend=name not in legend, legendgroup=name,
                                         hoverinfo="skip", line=line))
                legend.add(name)
    _draw_nodes(fig, timesteps, depth)
    _draw_losses(fig, blocks, segments)
    units = len(blocks) * len(segments)
    title = (f"T={timesteps}, K={truncation_length}, block size {block_size}: {units} "
             f"unit(s) of ≤ {truncation_length} steps × ≤ {block_size} layers")
    if held_ratio is not None:
        title += f"<br>measured peak autograd memory: {held_ratio:.3f} × BPTT's"
    fig.update_layout(title=title, height=380 + 25 * depth,
                      xaxis={"title": "time step t", "dtick": 1, "range": [0.4, timesteps + 0.9]},
                      yaxis={"title": "layer", "tickvals": list(range(depth + 1)),
                             "ticktext": ["input", *[f"L{r}" for r in range(1, depth)],
                                          "readout"], "range": [-0.4, depth + 0.8]},
                      legend={"orientation": "h", "y": -0.25})
    return theme.describe(fig, "One colour per unit of K steps × one block: solid edges carry "
                          "gradient, dotted ones enter a block detached, grey dashed ones carry "
                          "v forward only.")


def _draw_nodes(fig: go.Figure, timesteps: int, depth: int) -> None:
    xs = [t for row in range(depth + 1) for t in range(1, timesteps + 1)]
    ys = [row for row in range(depth + 1) for _ in range(timesteps)]
    fig.add_trace(go.Scatter(x=xs, y=ys, mode="markers", name="layer at step t",
                             marker={"size": 11, "color": "white",
                                     "line": {"color": "#333", "width": 1.5}},
                             hovertemplate="step %{x}, layer %{y}<extra></extra>"))


def _draw_losses(fig: go.Figure, blocks: list[list[int]], segments: list[list[int]]) -> None:
    """A diamond per (segment, block) just above the block's top row, at the segment's end."""
    xs, ys, text = [], [], []
    for s, steps in enumerate(segments):
        for b, rows in enumerate(blocks):
            xs.append(steps[-1] + 0.35)
            ys.append(rows[-1] + 0.35)
            text.append(f"segment {s + 1}, block {b + 1}: "
                        + ("readout loss" if b == len(blocks) - 1 else "local classifier loss"))
    fig.add_trace(go.Scatter(x=xs, y=ys, mode="markers", name="loss (backward from here)",
                             text=text, hovertemplate="%{text}<extra></extra>",
                             marker={"symbol": "diamond", "size": 10, "color": "#333"}))


def memory_bars(peak_bytes: Mapping[str, int], reference: str) -> go.Figure:
    """Measured peak autograd memory (kB) per configuration, the `reference` bar in grey."""
    labels = list(peak_bytes)
    fig = go.Figure(go.Bar(
        x=labels, y=[round(peak_bytes[k] / 1024, 1) for k in labels],
        marker_color=[theme.color("bptt") if k == reference else theme.color("ttl_bptt")
                      for k in labels],
        text=[f"{peak_bytes[k] / peak_bytes[reference]:.2f}×" for k in labels],
        textposition="outside", cliponaxis=False))
    fig.update_layout(title="Bytes saved for backward in one step (bars: kB; labels: × "
                            f"{reference})", yaxis_title="kB", xaxis_tickangle=-30, height=420)
    return theme.describe(fig, "Measured bytes autograd holds for one training step: BPTT in "
                          "its colour, TTL-BPTT configurations in theirs.")


def macs_bars(costs: Mapping[str, Mapping[str, float]]) -> go.Figure:
    """Stacked MACs per sample of one training step: forward, backward, local classifiers."""
    labels = list(costs)
    fig = go.Figure([go.Bar(name=part, x=labels,
                            y=[round(costs[k][part] / 1e6, 4) for k in labels])
                     for part in ("forward", "backward", "local")])
    fig.update_layout(barmode="stack", title="MACs of one training step, per sample",
                      yaxis_title="million MACs", height=400)
    return theme.describe(fig, "Weight-layer MACs of one training step, counted as PyTorch "
                          "dispatches them: forward, backward and the local classifiers.")


def accuracy_grids(grids: Mapping[str, Mapping[tuple[int, int], float]],
                   description: str = "Test accuracy over truncation length K and block size; "
                   "one colour scale for both panels.") -> go.Figure:
    """Heatmaps of test accuracy (%) over truncation length K × block size, one per dataset,
    on one colour scale."""
    fig = make_subplots(rows=1, cols=len(grids), subplot_titles=list(grids),
                        horizontal_spacing=0.12)
    values = [a for grid in grids.values() for a in grid.values()]
    for col, grid in enumerate(grids.values(), start=1):
        ks = sorted({k for k, _ in grid})
        bs = sorted({b for _, b in grid})
        z = [[round(grid[(k, b)], 1) if (k, b) in grid else None for k in ks] for b in bs]
        fig.add_trace(go.Heatmap(z=z, x=[str(k) for k in ks], y=[str(b) for b in bs],
                                 colorscale="Viridis", showscale=col == len(grids),
                                 zmin=round(min(values), 1), zmax=round(max(values), 1),
                                 text=z, texttemplate="%{text}",
                                 hovertemplate="K=%{x}, block size %{y}: %{z}%<extra></extra>"),
                      row=1, col=col)
        fig.update_xaxes(title_text="truncation length K", type="category", row=1, col=col)
        fig.update_yaxes(title_text="block size", type="category", row=1, col=col)
    fig.update_layout(title="Test accuracy (%): K = T and block size = depth is BPTT",
                      height=400)
    return theme.describe(fig, description)


def intervals_figure(results: Mapping[str, tuple[str, Sequence[float]]], chance: float,
                     title: str, description: str) -> go.Figure:
    """Test accuracy (%) per model, mean over seeds (marker) with its 95% t-interval (whisker);
    `results` maps a label to (theme method key, accuracies over seeds). Chance is a legend
    entry, not a label on the plot."""
    from lab.core import stats

    fig = go.Figure()
    labels = list(results)
    for i, (label, (method, values)) in enumerate(results.items()):
        s = stats.summary(values)
        style = theme.trace_style(method)
        if "reset" in label:  # a variant of its method: same colour, another marker
            style["marker"]["symbol"] = "x"
        fig.add_trace(go.Scatter(x=[i, i], y=[round(s.ci_low, 2), round(s.ci_high, 2)],
                                 mode="lines", line={"color": style["line"]["color"],
                                                     "width": 3},
                                 showlegend=False, hoverinfo="skip"))
        fig.add_trace(go.Scatter(x=[i], y=[round(s.mean, 2)], mode="markers", name=label,
                                 marker={**style["marker"], "size": 12},
                                 hovertemplate=f"{label}: %{{y:.1f}} % "
                                 f"[{s.ci_low:.1f}, {s.ci_high:.1f}]<extra></extra>"))
    chance_style = theme.trace_style("chance", markers=False)
    fig.add_trace(go.Scatter(x=[-0.4, len(labels) - 0.6], y=[chance, chance], mode="lines",
                             name=f"chance ({chance:g} %)", **chance_style))
    fig.update_layout(title=title, height=420, yaxis={"title": "test accuracy (%)",
                                                      "range": [0, 105]},
                      xaxis={"tickvals": list(range(len(labels))), "ticktext": labels,
                             "range": [-0.5, len(labels) - 0.5]},
                      legend={"orientation": "h", "y": -0.2})
    return theme.describe(fig, description)


def _check(ok: bool, name: str, valid: str, value: object) -> None:
    if not ok:
        raise ValueError(f"{name} must be {valid}, got {value!r}")


def explore(truncation_length: int, block_size: int, base, split,
            sample_shape: tuple[int, ...]) -> go.Figure:
    """Widget callback: the graph of `base` (a `lab.ttl_bptt.Config`) with K and block size
    set, titled with its measured peak autograd memory over full BPTT's (one step on the first
    batch of `split`)."""
    from dataclasses import replace

    from lab import ttl_bptt

    config = replace(base, truncation_length=truncation_length, block_size=block_size)
    ttl, bptt = ttl_bptt.step_costs(config, split, sample_shape)
    return graph_figure(config.timesteps, ttl_bptt.depth(config.arch), truncation_length,
                        block_size, ttl.saved_bytes / bptt.saved_bytes)
