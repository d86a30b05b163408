"""The tabs of the dashboard — Compare, Difference, Launch, Sweeps, Runs — and `SpikeLab`, the
app around them.

Each view is a `pn.viewable.Viewer` (a param object): its parameters are what a user picks, its
methods compute what is shown, and `refresh`/`poll` re-read the store and the running jobs.
Views build their widgets once and update them in place, so a store of hundreds of runs costs
one query, not hundreds of redraws. One module per view; `style` holds the look they share.
"""

from .app import SpikeLab, error_panel, page, template
from .compare import CompareView
from .launch import DEMO_METHOD, JobCard, LaunchView, demo_method
from .paired import PairedView
from .runs import RunsView
from .style import ACCENT, EXTENSIONS, extension
from .sweeps import SweepsView

__all__ = [
    "ACCENT", "DEMO_METHOD", "EXTENSIONS", "CompareView", "JobCard", "LaunchView", "PairedView",
    "RunsView", "SweepsView",
    "SpikeLab", "demo_method", "error_panel", "extension", "page", "template",
]
