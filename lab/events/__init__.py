"""Event streams: a DVS emulator, emulated digit datasets, tonic loaders and plots."""

from lab.events.datasets import MovingDigits, NMNISTLike, events_to_frames, to_frames
from lab.events.dvs import EVENT_DTYPE, DVSParams, emulate, emulate_batch
from lab.events.loaders import cifar10_dvs, dvs_gesture, nmnist
from lab.events.plot import event_animation, event_raster

__all__ = [
    "EVENT_DTYPE", "DVSParams", "MovingDigits", "NMNISTLike", "cifar10_dvs", "dvs_gesture",
    "emulate", "emulate_batch", "event_animation", "event_raster", "events_to_frames", "nmnist",
    "to_frames",
]
