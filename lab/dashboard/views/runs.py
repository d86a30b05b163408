"""Runs: every run in the store with its status, filterable; a row's details below the table."""

from __future__ import annotations

from typing import Any

import panel as pn
import param

from ... import registry
from ...core.results import ResultsStore, Run
from .. import summary
from .style import STATUS_COLORS, TABLE_CSS, badge


class RunsView(pn.viewable.Viewer):
    """Every run in the store with its status; a failed run's error is in its row and below."""

    status = param.Selector(default="all", objects=["all", "finished", "failed", "cancelled",
                                                   "interrupted", "running"])
    method = param.Selector(default="all", objects=["all"])

    def __init__(self, store: ResultsStore, **params: Any) -> None:
        super().__init__(**params)
        self.store = store
        self.runs: list[Run] = []
        self._table = pn.widgets.Tabulator(
            summary.runs_frame([]), show_index=False, disabled=True, selectable=1,
            pagination="remote", page_size=20, sizing_mode="stretch_width",
            layout="fit_data_table", widths={"error": 420}, stylesheets=TABLE_CSS)
        self._table.style.map(lambda s: f"color: {STATUS_COLORS.get(s, '#333')}; "
                              "font-weight: 600", subset=["status"])
        self._table.param.watch(lambda _: self._show_details(), "selection")
        self._details = pn.pane.Markdown("Click a row to see its configuration and results.",
                                         sizing_mode="stretch_width", styles={"color": "#333"})
        self._error = pn.pane.Alert("", alert_type="danger", visible=False)
        self.refresh()

    def refresh(self) -> None:
        self.runs = self.store.runs()
        self.param.method.objects = ["all", *dict.fromkeys([*registry.METHODS,
                                                            *(r.method for r in self.runs)])]
        self._fill()

    def shown(self) -> list[Run]:
        return [r for r in self.runs if self.status in ("all", r.status)
                and self.method in ("all", r.method)]

    @param.depends("status", "method", watch=True)
    def _fill(self) -> None:
        frame = summary.runs_frame(self.shown())
        self._table.value = frame

    def _show_details(self) -> None:
        rows = self._table.selection
        shown = self.shown()
        if not rows or rows[0] >= len(shown):
            return
        run = shown[rows[0]]
        lines = [f"#### Run #{run.id}: {run.method} on {run.dataset} {badge(run.status)}",
                 "**config** " + ", ".join(f"`{k}={v}`" for k, v in run.config.items())]
        if run.metrics:
            lines.append("**metrics** " + ", ".join(f"`{k}={_short(v)}`"
                                                    for k, v in run.metrics.items()))
        if run.timings:
            lines.append("**timings** " + ", ".join(f"`{k}={v:.2f} s`"
                                                    for k, v in run.timings.items()))
        self._details.object = "\n\n".join(lines)
        self._error.object = f"**Error:** `{run.error}`" if run.error else ""
        self._error.visible = bool(run.error)

    def __panel__(self) -> pn.viewable.Viewable:
        filters = pn.Row(pn.widgets.Select.from_param(self.param.method, width=180),
                         pn.widgets.Select.from_param(self.param.status, width=180))
        return pn.Column(filters, self._table, self._error, self._details,
                         sizing_mode="stretch_width")


def _short(value: object) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
