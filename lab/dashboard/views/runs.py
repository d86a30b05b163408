"""Runs: every run in the store with its status and the config fields that tell runs apart,
filterable by method, status and any config field, and downloadable as CSV. A row's details
below the table: its `python -m lab run` line (to copy), launch it again, hide or restore it,
and its weights and NIR file to download when the run kept them."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import panel as pn
import param

from ... import export, registry, weights
from ...core.results import ResultsStore, Run
from .. import run_table
from ..forms import command_line
from ..hidden import HiddenRuns
from ..layer_gap import layer_gap_html
from .style import STATUS_COLORS, TABLE_CSS, badge, escaped, markdown_text

COPY_JS = """
const done = (label) => {
  button.label = label
  setTimeout(() => { button.label = "Copy command" }, 2000)
}
navigator.clipboard.writeText(line.value).then(() => done("✓ Copied"),
                                               () => done("Select it and copy by hand"))
"""


class RunsView(pn.viewable.Viewer):
    """Every run in the store with its status; a failed run's error is in its row and below."""

    status = param.Selector(default="all", objects=["all", "finished", "failed", "cancelled",
                                                   "interrupted", "running"])
    method = param.Selector(default="all", objects=["all"])
    where = param.String(default="", doc="config filter: 'timesteps>=4, lr=0.001'")
    show_hidden = param.Boolean(default=False, doc="list the hidden runs too")
    rerun = param.Event(doc="'Launch again' was clicked for `selected`")
    edit = param.Event(doc="'Edit in Launch' was clicked for `selected`")
    changed = param.Event(doc="a run was hidden or restored")

    def __init__(self, store: ResultsStore, hidden: HiddenRuns | None = None,
                 **params: Any) -> None:
        super().__init__(**params)
        self.store = store
        self.hidden = hidden or HiddenRuns(store.path)
        self.runs: list[Run] = []
        self.selected: Run | None = None
        self._hidden_ids: set[int] = set()
        self._table = pn.widgets.Tabulator(
            run_table.runs_frame([]), show_index=False, disabled=True, selectable=1,
            pagination="remote", page_size=20, sizing_mode="stretch_width",
            layout="fit_data_table", widths={"error": 320}, stylesheets=TABLE_CSS)
        self._table.style.map(lambda s: f"color: {STATUS_COLORS.get(s.split()[0], '#333')}; "
                              "font-weight: 600", subset=["status"])
        self._table.param.watch(lambda _: self._show_details(), "selection")
        self._filter_error = pn.pane.HTML("", visible=False, css_classes=["filter-error"],
                                          styles={"color": "#c62828", "font-size": "12px"})
        # HTML built here, every stored string `escaped`: a store is a file people share.
        self._details = pn.pane.HTML("Click a row to see its configuration and results.",
                                     sizing_mode="stretch_width", styles={"color": "#333"},
                                     css_classes=["run-details"])
        self._error = pn.pane.Alert("", alert_type="danger", visible=False)
        self._command = pn.widgets.TextAreaInput(
            label="the same run from a terminal", rows=2, auto_grow=True,
            sizing_mode="stretch_width", css_classes=["cli-command"], visible=False)
        copy = pn.widgets.Button(label="Copy command", width=160)
        copy.js_on_click(args={"line": self._command, "button": copy}, code=COPY_JS)
        self._relaunch = pn.Row(  # for a method this lab still has
            copy,
            pn.widgets.Button(label="↻ Launch again", color="primary", width=150,
                              on_click=lambda _: self.param.trigger("rerun")),
            pn.widgets.Button(label="Edit in Launch", width=150,
                              on_click=lambda _: self.param.trigger("edit")),
            visible=False, margin=0)
        self._hide = pn.widgets.Button(label="Hide this run", width=150, visible=False,
                                       css_classes=["hide-run"],
                                       on_click=lambda _: self.toggle_hidden())
        self._weights = pn.widgets.FileDownload(callback=self.weights_zip, label="Weights (.zip)",
                                                visible=False, width=180)
        self._nir = pn.widgets.FileDownload(callback=self.nir_file, label="NIR file",
                                            visible=False, width=180)
        self._csv = pn.widgets.FileDownload(callback=self.csv, filename="runs.csv",
                                            label="These runs (CSV)", width=180,
                                            css_classes=["runs-csv"])
        self._nir_bytes = b""
        self._corrupt = pn.pane.HTML("", visible=False, css_classes=["corrupt-rows"],
                                     styles={"color": "#c62828", "font-size": "12px"})
        self.refresh()

    def refresh(self) -> None:
        self.runs = self.store.runs()
        skipped = self.store.skipped  # rows that are not what the lab writes: named, not shown
        self._corrupt.object = "<br>".join(escaped(line) for line in skipped)
        self._corrupt.visible = bool(skipped)
        self._hidden_ids = self.hidden.ids()
        self.param.method.objects = ["all", *dict.fromkeys([*registry.METHODS,
                                                            *(r.method for r in self.runs)])]
        self._fill()

    def shown(self) -> list[Run]:
        """The runs the filters let through, newest first (an invalid config filter: none)."""
        try:
            conditions = run_table.parse_filter(self.where)
        except ValueError:
            return []
        return [r for r in self.runs if self.status in ("all", r.status)
                and self.method in ("all", r.method)
                and (self.show_hidden or r.id not in self._hidden_ids)
                and all(c(r) for c in conditions)]

    def csv(self) -> io.StringIO:
        """The shown runs with everything they store (`run_table.runs_csv`)."""
        return io.StringIO(run_table.runs_csv(self.shown()).to_csv(index=False))

    def toggle_hidden(self) -> None:
        """Hide the selected run from Compare and this list, or restore it if hidden."""
        run = self.selected
        if run is None:
            return
        if run.id in self._hidden_ids:
            self.hidden.restore(run.id)
        else:
            self.hidden.hide(run.id)
        self.refresh()
        self.param.trigger("changed")

    @param.depends("status", "method", "where", "show_hidden", watch=True)
    def _fill(self) -> None:
        try:
            run_table.parse_filter(self.where)
            self._filter_error.visible = False
        except ValueError as err:
            self._filter_error.object, self._filter_error.visible = escaped(err), True
        shown = self.shown()
        frame = run_table.runs_frame(shown, self._hidden_ids, run_table.config_columns(shown))
        titles = {c: escaped(c) for c in frame.columns}  # Tabulator writes titles as HTML
        if titles != self._table.titles:
            self._table.titles = titles
        self._table.value = frame
        ids = [r.id for r in shown]
        if self.selected is None or self.selected.id not in ids:
            self._table.selection = []
            if self.selected is not None:
                self._clear_details(
                    f"Run #{self.selected.id} is hidden: tick <i>show hidden runs</i> to "
                    "restore it."
                    if self.selected.id in self._hidden_ids and not self.show_hidden
                    else "Click a row to see its configuration and results.")
        elif self._table.selection != [ids.index(self.selected.id)]:
            self._table.selection = [ids.index(self.selected.id)]  # its details follow
        else:
            self._show_details()  # the same row: its details may have changed (hidden)

    def _show_details(self) -> None:
        rows = self._table.selection
        shown = self.shown()
        if not rows or rows[0] >= len(shown):
            return
        run = shown[rows[0]]
        hidden = " (hidden)" if run.id in self._hidden_ids else ""
        lines = [f"<h4>Run #{run.id}: {escaped(run.method)} on {escaped(run.dataset)} "
                 f"{badge(run.status)}{hidden}</h4>",
                 "<b>config</b> " + ", ".join(f"<code>{escaped(k)}={escaped(v)}</code>"
                                             for k, v in run.config.items())]
        if run.metrics:
            lines.append("<b>metrics</b> " + ", ".join(
                f"<code>{escaped(k)}={escaped(_short(v))}</code>" for k, v in run.metrics.items()))
        if run.timings:
            lines.append("<b>timings</b> " + ", ".join(
                f"<code>{escaped(k)}={escaped(_seconds(v))}</code>"
                for k, v in run.timings.items()))
        gap = layer_gap_html(run.curves)  # conversion runs: the per-layer gap, numbers only
        if gap:
            lines.append(gap)
        self._details.object = "".join(f"<p>{line}</p>" if i else line
                                       for i, line in enumerate(lines))
        self._error.object = (f"**Error:** <code>{markdown_text(run.error)}</code>"
                              if run.error else "")
        self._error.visible = bool(run.error)
        self.selected = run
        self._hide.label = "Restore this run" if run.id in self._hidden_ids else "Hide this run"
        self._hide.visible = True
        self._show_command(run)
        self._show_downloads(run)

    def _clear_details(self, note: str) -> None:
        """No run selected: `note` instead of its details, and nothing to act on."""
        self.selected = None
        self._details.object = note
        for pane in (self._error, self._command, self._relaunch, self._hide, self._weights,
                     self._nir):
            pane.visible = False

    def _show_command(self, run: Run) -> None:
        try:
            config_cls = registry.method(run.method).Config
        except Exception:  # noqa: BLE001  (a method gone or half-written: no line, no relaunch)
            self._relaunch.visible = self._command.visible = False
            return
        self._command.value = command_line(run.method, config_cls, run.config)
        self._relaunch.visible = self._command.visible = True

    def _show_downloads(self, run: Run) -> None:
        kept = (weights.folder(self.store.path, run.id) / weights.MANIFEST).exists()
        self._weights.visible = self._nir.visible = kept
        self._weights.filename = f"run-{run.id}-weights.zip"
        self._nir.filename = f"run-{run.id}.nir"
        self._nir.disabled, self._nir.label, self._nir_bytes = False, "NIR file", b""
        if kept:  # exported now (milliseconds), so a refusal shows before anyone clicks
            try:
                buffer = io.BytesIO()
                export.export_run(run.id, buffer, self.store)
                self._nir_bytes = buffer.getvalue()
            except (weights.WeightsError, export.ExportError) as err:
                self._nir.disabled, self._nir.label = True, "NIR: not expressible"
                self._details.object += f"<p><b>NIR</b> {escaped(err)}</p>"

    def weights_zip(self) -> io.BytesIO:
        """The selected run's weights folder (safetensors and model.json), zipped."""
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            for path in sorted(weights.folder(self.store.path, self.selected.id).iterdir()):
                archive.write(path, path.name)
        buffer.seek(0)
        return buffer

    def nir_file(self) -> io.BytesIO:
        """The selected run's SNN as a NIR file (`lab.export.export_run`, run at selection)."""
        return io.BytesIO(self._nir_bytes)

    def __panel__(self) -> pn.viewable.Viewable:
        filters = pn.Row(
            pn.widgets.Select.from_param(self.param.method, width=180),
            pn.widgets.Select.from_param(self.param.status, width=180),
            pn.Column(pn.widgets.TextInput.from_param(
                self.param.where, label="config filter", width=360, css_classes=["where"],
                placeholder="e.g. timesteps>=4, lr=0.001"), self._filter_error, margin=0),
            pn.widgets.Checkbox.from_param(self.param.show_hidden, label="show hidden runs",
                                           margin=(34, 10, 5, 10)),
            self._csv,
        )
        self._csv.margin = (27, 10, 5, 10)
        return pn.Column(filters, self._corrupt, self._table, self._error, self._details,
                         self._command,
                         pn.Row(self._relaunch, self._hide), pn.Row(self._weights, self._nir),
                         sizing_mode="stretch_width")


def _short(value: object) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _seconds(value: object) -> str:
    """A stored timing as 'x.xx s' (a value that is not a number, as stored)."""
    return f"{value:.2f} s" if isinstance(value, int | float) else str(value)
