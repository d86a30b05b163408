"""Event streams: a DVS emulator, emulated digit datasets, the generated order-across-a-gap task,
tonic loaders and plots.

Names are imported on first use, so a training run that needs only frames does not import
tonic (the loaders) or plotly (the plots).
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "MovingDigits": "datasets", "NMNISTLike": "datasets", "events_to_frames": "datasets",
    "to_frames": "datasets", "EVENT_DTYPE": "dvs", "DVSParams": "dvs", "emulate": "dvs",
    "emulate_batch": "dvs", "cifar10_dvs": "loaders", "dvs_gesture": "loaders",
    "nmnist": "loaders", "event_animation": "plot", "event_raster": "plot",
    "OrderGap": "order_gap",
}
# the real sets read from files (`lab.events.real`), each with the folder tonic puts under the
# data folder: named here so configs can check a path without importing tonic
REAL_FOLDERS = {"nmnist": "NMNIST", "dvsgesture": "DVSGesture"}
__all__ = sorted([*_WHERE, "REAL_FOLDERS"])


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(f"lab.events.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'lab.events' has no attribute {name!r}")
