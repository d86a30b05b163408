"""A conversion run's per-layer gap, as the Runs page's details show it (an HTML table).

The conversion experiment stores, per IF layer and at T = 1, 2, 4, the mean and std of the gap
(SNN rate − ANN activation)/θ on the test images (`gap_mean_per_layer_T{T}`,
`gap_std_per_layer_T{T}`). Stored values are data: every one is formatted as a number or
escaped, never written as markup.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping

PREFIX_MEAN, PREFIX_STD = "gap_mean_per_layer_T", "gap_std_per_layer_T"


def stored_timesteps(curves: Mapping[str, object]) -> list[int]:
    """The T at which the run stored its per-layer gap std, sorted."""
    out = []
    for key in curves:
        if key.startswith(PREFIX_STD) and key[len(PREFIX_STD):].isdigit():
            out.append(int(key[len(PREFIX_STD):]))
    return sorted(out)


def _cell(values: object, i: int, sign: bool = False) -> str:
    try:
        value = float(values[i])  # type: ignore[index]
    except (TypeError, ValueError, IndexError, KeyError):
        return "–"
    if not math.isfinite(value):
        return html.escape(str(value))
    return f"{value:+.3f}" if sign else f"{value:.3f}"


def layer_gap_html(curves: Mapping[str, object]) -> str | None:
    """`<b>gap per layer</b>` and a table: layer × T of 'mean ± std' (units of θ); None when
    the run stored no per-layer gap (other methods, older runs)."""
    ts = stored_timesteps(curves)
    if not ts:
        return None
    stds = {T: curves[f"{PREFIX_STD}{T}"] for T in ts}
    means = {T: curves.get(f"{PREFIX_MEAN}{T}", []) for T in ts}
    layers = max((len(v) for v in stds.values() if isinstance(v, list | tuple)), default=0)
    if not layers:
        return None
    head = "".join(f"<th>T = {T}</th>" for T in ts)
    rows = "".join(
        f"<tr><td>layer {i + 1}</td>" + "".join(
            f"<td>{_cell(means[T], i, sign=True)} ± {_cell(stds[T], i)}</td>" for T in ts)
        + "</tr>" for i in range(layers))
    return ("<b>gap per IF layer</b> (SNN rate − ANN activation, mean ± std in units of θ, test "
            "images; a std that grows with depth is the residual error compounding)"
            f"<table class='layer-gap'><tr><th>layer</th>{head}</tr>{rows}</table>")
