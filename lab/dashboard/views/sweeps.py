"""Sweeps: every sweep in the store (from the dashboard or `python -m lab sweep`) with how much
of its grid is done, and a form that launches one — a grid of config fields × model seeds — on
the same engine as the command line."""

from __future__ import annotations

import html
import time
import uuid
from typing import Any

import panel as pn
import param

from ... import registry
from ...core.config import ConfigError
from ...core.results import ResultsStore, Sweep
from ...sweep import MAX_SEEDS, Spec, make, parse_grid, report
from ...sweep.command import DEFAULT_SEEDS
from ..engine import Engine, Job
from .launch import JobCard, demo_method
from .style import STATUS_COLORS, escaped, heading

SWEEPS_CSS = """
table.sweeps-table {border-collapse: collapse; font-size: 13px; width: 100%;}
.sweeps-table th {text-align: left; font-weight: 600; border-bottom: 2px solid #ccc;
                  padding: 5px 8px;}
.sweeps-table td {border-bottom: 1px solid #e5e5e5; padding: 5px 8px; vertical-align: middle;}
.sweeps-table .bar {display: inline-block; width: 120px; height: 10px; background: #e5e5e5;
                    border-radius: 5px; overflow: hidden; vertical-align: middle;
                    margin-right: 6px;}
.sweeps-table .bar div {height: 100%;}
"""


def grid_text(grid: dict[str, list[Any]]) -> str:
    """`timesteps=2,4 · epochs=3`; 'defaults' for an empty grid (a stored grid that is not a
    table of lists: as stored)."""
    if not isinstance(grid, dict):
        return str(grid)
    return " · ".join(f"{k}={','.join(map(str, v)) if isinstance(v, list) else v}"
                      for k, v in grid.items()) or "defaults"


def stored_spec(sweep: Sweep) -> Spec | None:
    """The sweep's Spec built again from the store, None if this lab no longer accepts it."""
    s = sweep.spec
    try:
        return make(s["method"], s.get("grid", {}), s["seeds"], s.get("first_seed", 0))
    except (ConfigError, KeyError, TypeError, ValueError):
        return None


def sweep_rows(store: ResultsStore) -> list[dict[str, Any]]:
    """One row per stored sweep, newest first: its id, method, grid, seeds, status, and the
    (config, seed) pairs of its grid finished in the store (`done`) of all of them (`total`)."""
    finished: dict[str, set[str]] = {}
    rows = []
    for sweep in store.sweeps():
        spec = stored_spec(sweep)
        total = len(spec.configs()) if spec else None
        if spec and spec.method not in finished:
            finished[spec.method] = report.finished_keys(store, spec.method)
        rows.append({"id": sweep.id, "method": sweep.method,
                     "grid": grid_text(sweep.spec.get("grid", {})),
                     "seeds": sweep.spec.get("seeds"), "status": sweep.status,
                     "done": report.done(spec, finished[spec.method]) if spec else None,
                     "total": total, "created": sweep.created_at})
    return rows


def sweeps_table(rows: list[dict[str, Any]]) -> str:
    """The sweeps as an HTML table with a progress bar each."""
    if not rows:
        return ("<p style='color:#555'>No sweep yet: launch one here, or run "
                "<code>python -m lab sweep METHOD --grid FIELD=V1,V2 --seeds 5</code>.</p>")
    head = "".join(f"<th>{h}</th>" for h in ("sweep", "method", "grid", "seeds", "done / total",
                                              "status", "started"))
    body = []
    for r in rows:
        color = STATUS_COLORS.get(r["status"], "#546e7a")
        if r["total"]:
            share = 100 * r["done"] / r["total"]
            done = (f"<span class='bar'><div style='width:{share:.0f}%;background:{color}'>"
                    f"</div></span>{r['done']} / {r['total']}")
        else:
            done = "— (its grid is no longer valid here)"
        started = time.strftime("%Y-%m-%d %H:%M", time.localtime(r["created"]))
        cells = (f"#{escaped(r['id'])}", escaped(r["method"]), escaped(r["grid"]),
                 escaped(r["seeds"]), done,
                 f"<span style='color:{color};font-weight:600'>{escaped(r['status'])}</span>",
                 started)
        body.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return (f"<table class='sweeps-table'><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table>")


class SweepsView(pn.viewable.Viewer):
    """Launch a sweep (method, grid, seeds), watch yours as cards, list every stored sweep."""

    method = param.Selector(default=None, objects=[], doc="registry name of the method")
    grid = param.String(default="", doc="one FIELD=V1,V2,... per line (as --grid)")
    seeds = param.Integer(default=DEFAULT_SEEDS, bounds=(1, MAX_SEEDS), doc="model seeds 0..N−1")
    owner = param.String(default="", doc="whose sweeps the cards show: the browser's token")

    def __init__(self, store: ResultsStore, jobs: Engine, **params: Any) -> None:
        self.param.method.objects = list(registry.METHODS)
        params.setdefault("method", demo_method())
        params["owner"] = params.get("owner") or uuid.uuid4().hex
        super().__init__(**params)
        self.store, self.jobs = store, jobs
        self.cards: list[JobCard] = []
        self._check = pn.pane.HTML("", css_classes=["sweep-check"], margin=(0, 10),
                                   styles={"font-size": "13px"})
        self._launch = pn.widgets.Button(label="▶ Launch sweep", color="primary", width=160,
                                         on_click=lambda _: self.launch())
        self._cards = pn.Column(sizing_mode="stretch_width")
        self._table = pn.pane.HTML("", sizing_mode="stretch_width", stylesheets=[SWEEPS_CSS],
                                   css_classes=["sweeps"])
        self.check()
        self.refresh()
        self._adopt()

    @param.depends("method", "grid", "seeds", watch=True)
    def check(self) -> Spec | None:
        """The form's Spec, or None with the one-line reason shown under the form."""
        try:
            lines = [line for line in self.grid.replace(";", "\n").splitlines() if line.strip()]
            spec = make(self.method, parse_grid(lines), self.seeds)
        except ConfigError as err:
            self._check.object = f"<span style='color:#c62828'>{html.escape(str(err))}</span>"
            self._launch.disabled = True
            return None
        points = spec.size // spec.seeds  # counted, not built
        self._check.object = (f"<span style='color:#444'>{points * spec.seeds} runs: {points} "
                              f"grid point{'s' * (points != 1)} × {spec.seeds} seeds; "
                              "pairs already finished in the store are skipped</span>")
        self._launch.disabled = False
        return spec

    def launch(self, **values: Any) -> Job | None:
        """Submit the form's sweep (after setting `values`); None if it is invalid."""
        self.param.update(**values)
        spec = self.check()
        if spec is None:
            return None
        job = self.jobs.sweep(spec, self.store, self.owner, resume=True)
        self._add_card(job)
        return job

    def refresh(self) -> None:
        """Re-read the sweeps in the store."""
        self._table.object = sweeps_table(sweep_rows(self.store))

    def poll(self) -> list[Job]:
        """Refresh the cards of active sweeps; returns the ones that ended since the last poll."""
        return [card.job for card in self.cards if card.shown_active and card.update()]

    @param.depends("owner", watch=True)
    def _adopt(self) -> None:
        for card in self.cards:
            card.job.owner = self.owner
        carded = {card.job.id for card in self.cards}
        for job in self.jobs.jobs(self.owner):
            if job.id not in carded and job.kind == "sweep":  # Launch shows its own
                self._add_card(job).shown_active = job.active

    def _add_card(self, job: Job) -> JobCard:
        card = JobCard(job, self.jobs)
        self.cards.insert(0, card)
        self._cards.objects = list(self.cards)
        return card

    def __panel__(self) -> pn.viewable.Viewable:
        form = pn.Column(
            pn.widgets.Select.from_param(self.param.method, width=260),
            pn.widgets.TextAreaInput.from_param(
                self.param.grid, name="grid (one FIELD=V1,V2,... per line)", rows=4,
                width=400, placeholder="timesteps=2,4,8\nepochs=3", css_classes=["sweep-grid"]),
            pn.widgets.IntInput.from_param(self.param.seeds, width=120,
                                           css_classes=["sweep-seeds"]),
            self._check, self._launch, width=440)
        return pn.Column(
            pn.Row(form, pn.Column(heading("Your sweeps"), self._cards,
                                   sizing_mode="stretch_width"), sizing_mode="stretch_width"),
            heading("All sweeps in the store"), self._table, sizing_mode="stretch_width")
