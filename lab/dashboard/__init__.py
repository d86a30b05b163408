"""The Spike Lab dashboard: compare stored runs, launch a run, list every run (Panel + plotly).

`make lab` (`panel serve dashboards/app.py` on 127.0.0.1) serves `SpikeLab().template()`; the
Viewer classes here are plain param objects, so tests set their parameters and assert on what
they compute.
"""

from .forms import ConfigForm, field_specs, validate
from .jobs import Job, JobManager, default_manager
from .summary import (
    CostRow,
    Group,
    accuracy_figure,
    cost_rows,
    default_selection,
    group_runs,
    runs_frame,
)
from .views import EXTENSIONS, CompareView, LaunchView, RunsView, SpikeLab

__all__ = [
    "EXTENSIONS", "CompareView", "ConfigForm", "CostRow", "Group", "Job", "JobManager",
    "LaunchView", "RunsView", "SpikeLab", "accuracy_figure", "cost_rows", "default_manager",
    "default_selection", "field_specs", "group_runs", "runs_frame", "validate",
]
