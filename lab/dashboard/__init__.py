"""The Spike Lab dashboard: compare stored runs, launch a run, list every run (Panel + plotly).

`make lab` (`panel serve dashboards/app.py` on 127.0.0.1) serves `views.app.page()`: the app,
or a page saying why the results file cannot be used. The Viewer classes here are plain param
objects, so tests set their parameters and assert on what they compute.
"""

from .figures import accuracy_figure, cost_figure
from .forms import ConfigForm, command_line, field_specs, validate
from .hidden import HiddenRuns
from .jobs import Job, JobManager, default_manager
from .summary import (
    CostRow,
    Group,
    cost_rows,
    default_selection,
    group_runs,
    runs_frame,
)
from .views import EXTENSIONS, CompareView, LaunchView, RunsView, SpikeLab

__all__ = [
    "EXTENSIONS", "CompareView", "ConfigForm", "CostRow", "Group", "HiddenRuns", "Job",
    "JobManager", "LaunchView", "RunsView", "SpikeLab", "accuracy_figure", "command_line",
    "cost_figure", "cost_rows", "default_manager", "default_selection", "field_specs",
    "group_runs", "runs_frame", "validate",
]
