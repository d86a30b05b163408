"""Spike Lab dashboard: `make lab`, or `panel serve dashboards/app.py --address 127.0.0.1`.

Compare stored runs, launch a run and watch it, list every run. The results store is
`$LAB_RESULTS`, else `results/lab.sqlite`; if that file cannot be used, the page says why.
Each browser session gets its own `SpikeLab`; all sessions share one queue of runs, and a
reloaded page finds the runs its browser launched.
"""

import sys
from pathlib import Path

# `panel serve` puts this folder on sys.path, not the project root: make `lab` importable
# from a plain checkout too.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lab.dashboard import views  # noqa: E402

views.extension()
views.page().servable()
