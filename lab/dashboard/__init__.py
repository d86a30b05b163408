"""The Spike Lab dashboard: compare stored runs, see the paired difference of two
configurations, launch runs and sweeps on the lab's Dask engine, list every run (Panel + plotly).

`make lab` (`panel serve dashboards/app.py` on 127.0.0.1) serves `views.app.page()`: the app,
or a page saying why the results file cannot be used. The Viewer classes here are plain param
objects, so tests set their parameters and assert on what they compute.
"""

from .cost_table import CostRow, cost_rows
from .engine import Engine, Job, default_engine
from .figures import accuracy_figure, cost_figure
from .forms import ConfigForm, command_line, field_specs, validate
from .hidden import HiddenRuns
from .run_table import runs_frame
from .summary import (
    Group,
    default_selection,
    group_runs,
)
from .views import EXTENSIONS, CompareView, LaunchView, PairedView, RunsView, SpikeLab, SweepsView

__all__ = [
    "EXTENSIONS", "CompareView", "ConfigForm", "CostRow", "Engine", "Group", "HiddenRuns", "Job",
    "LaunchView", "PairedView", "RunsView", "SpikeLab", "SweepsView", "accuracy_figure",
    "command_line", "cost_figure", "cost_rows", "default_engine", "default_selection",
    "field_specs",
    "group_runs", "runs_frame", "validate",
]
