"""Streaming rollouts: delay-matched ANNs on event streams, converted to SNNs (Kugele et al. 2020).

A network is a graph whose edges carry a layer and a delay (`graph`). In the **sequential**
rollout a frame passes through all layers in one step; in the **streaming** rollout every edge
delays by one step, so all layers update in parallel, like an SNN's (`rollout`). The ANN is
trained in its rollout with a loss at every step, then converted to IF neurons whose synaptic
delays are one frame (`snn`). The anytime curve — accuracy at every step — and its first step
better than chance (`anytime`) show what skip edges buy: an earlier first answer.

The SNN's answer at frame step t is the 'running' readout: the mean output current since the
output could first see input (see `snn.outputs`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

from torch import Tensor, nn

from ..core import config as cfg
from ..core import costs, data, measure, training
from ..events import REAL_FOLDERS
from .anytime import accuracy_per_step, chance_level, first_better_than_chance, running_mean
from .graph import Edge, Graph, make_graph
from .rollout import (
    ROLLOUTS,
    anytime_loss,
    delays,
    first_step,
    forward,
    path_delays,
    seen_frames,
    train,
    unroll,
)
from .snn import (
    READOUTS,
    SNNRun,
    StreamingSNN,
    fanouts,
    hidden_nodes,
    membrane_updates,
    ops_per_step,
    outputs,
    percentile_thresholds,
    simulate,
)

__all__ = [
    "READOUTS", "ROLLOUTS", "Config", "Edge", "Graph", "Outcome", "SNNRun", "StreamingSNN",
    "accuracy_per_step", "anytime_loss", "chance_level", "delays", "experiment", "fanouts",
    "first_better_than_chance", "first_step", "forward", "load_frames", "make_graph", "networks",
    "ops_per_step", "outputs", "path_delays", "percentile_thresholds", "run", "running_mean",
    "seen_frames", "simulate", "train", "unroll",
]

_EVENT_SETS = {"nmnist_like": "NMNISTLike", "moving_digits": "MovingDigits",
               **dict.fromkeys(REAL_FOLDERS, "")}
# the registered event sets this method has a loader for
DATASETS = tuple(n for n in data.names("events") if n in _EVENT_SETS)
CALIBRATION_SAMPLES = 256  # training recordings whose ANN states set the thresholds


@lru_cache(maxsize=4)
def load_frames(dataset: str, n_time_bins: int, downsample: int = 1, data_dir: str = "",
                event_samples: int = 0, data_seed: int = 0
                ) -> tuple[data.Split, tuple[str, ...]]:
    """An event set as event counts `[N, T, 2, H/ds, W/ds]` (`downsample` = ds sums ds×ds
    pixel blocks), split train / validation / test by `data_seed`, and its class names.

    Loaded as every dataset is (`lab.events.sets.load`): 'nmnist_like', MNIST digits seen by
    three saccades of a 34×34 sensor, and 'moving_digits', a digit crossing a 16×16 sensor
    twice, the class being the order of the two directions, are emulated from the data seed
    (`event_samples` recordings, 0: their default 1500 and 800, a fifth of them for test);
    'nmnist', 'dvsgesture': the real files under `data_dir` (`lab.events.real`, binned once and
    cached; DVS Gesture arrives summed to 32×32). Validation is 15% of the training set.
    """
    from lab.events import datasets, sets

    cfg.one_of("dataset", dataset, DATASETS)
    split = sets.load(dataset, data_seed, n_time_bins=n_time_bins, downsample=downsample,
                      data_dir=data_dir, event_samples=event_samples)
    if dataset in sets.EMULATED:
        classes = tuple(getattr(datasets, sets.EMULATED[dataset]).classes)
    else:
        classes = tuple(str(c) for c in range(split.num_classes))
    return split, classes


@dataclass(frozen=True)
class Config:
    """Laptop defaults: N-MNIST-like events on a 17×17 grid (34×34 summed 2×2), 8 frames,
    streaming rollout with skips, 8 epochs, SNN at 8 IF steps per frame (≈ 10 s on 2 cores).

    `steps_per_frame` K: SNN steps per frame, which is also every synapse's delay. `v_min`:
    the IF neurons' floor in units of θ (−inf: none). `readout`: the SNN's answer per frame
    (`snn.outputs`). `data_seed` generates the emulated sets and splits train / validation /
    test (the ANN trains on the training part only); `seed` seeds the weights and the
    shuffling.
    """

    dataset: str = cfg.setting("nmnist_like", choices=DATASETS)
    data_dir: str = cfg.data_dir_setting()
    event_samples: int = cfg.setting(0, low=0, high=5000,
                                     unit="emulated recordings, 0: the set's default")
    rollout: str = cfg.setting("streaming", choices=ROLLOUTS)
    skips: bool = cfg.setting(True)
    n_time_bins: int = cfg.setting(8, low=5, high=64,
                                   unit="frames; the deep path needs 4 steps")
    downsample: int = cfg.setting(2, choices=(1, 2, 4), unit="pixels summed per side")
    steps_per_frame: int = cfg.setting(8, low=1, high=64, unit="SNN steps per frame")
    percentile: float = cfg.setting(99.9, low=1e-3, high=100.0, unit="%")
    v_init: float = cfg.setting(0.5, low=0.0, high=0.999, unit="θ", help="v[0] = v_init·θ")
    v_min: float = cfg.setting(0.0, low=-math.inf, high=0.0, unit="θ; -inf: no floor")
    readout: str = cfg.setting("running", choices=READOUTS)
    epochs: int = cfg.epochs_setting(8)
    batch_size: int = cfg.batch_size_setting(64)
    lr: float = cfg.lr_setting(4e-3)
    seed: int = cfg.seed_setting()
    data_seed: int = cfg.data_seed_setting()
    device: str = cfg.device_setting()

    def __post_init__(self) -> None:
        cfg.validate(self)
        cfg.require(self.dataset not in REAL_FOLDERS or bool(self.data_dir.strip()),
                    "data_dir", f"the folder holding {REAL_FOLDERS.get(self.dataset)}/ (tonic's "
                    f"layout) for dataset {self.dataset}", self.data_dir)
        cfg.require(self.event_samples == 0 or self.event_samples >= 40, "event_samples",
                    "0 (the set's default) or ≥ 40", self.event_samples)


@dataclass
class Outcome:
    """Everything one run produces; `run` stores a summary of it. Curves are per frame step."""

    config: Config
    graph: Graph
    labels: Tensor  # test labels
    ann_accuracy: Tensor  # y[t] of the trained rollout
    ann_running_accuracy: Tensor  # running mean of y[t], the SNN's readout applied to the ANN
    snn_accuracy: Tensor  # `config.readout`
    snn_window_accuracy: Tensor  # the 'window' readout
    thresholds: dict[str, float]
    ann_macs: list[float]  # per sample
    snn_ops: list[float]  # per sample
    spikes_per_sample: dict[str, float]  # per hidden node, over the whole stream
    loss_per_epoch: list[float]
    timings: dict[str, float]

    @property
    def first_step(self) -> int:
        """The first step at which the ANN's output can have seen frame 0."""
        return first_step(self.graph, self.config.rollout)

    def first_useful(self, curve: Tensor) -> int:
        """The first step of `curve` better than chance (−1: none)."""
        return first_better_than_chance(curve, self.labels)


def _split(config: Config) -> data.Split:
    """The configured event set (`load_frames`, by position: tests stand in for it)."""
    return load_frames(config.dataset, config.n_time_bins, config.downsample, config.data_dir,
                       config.event_samples, config.data_seed)[0]


def networks(config: Config, input_shape: tuple[int, ...], num_classes: int
             ) -> dict[str, nn.Module]:
    """The untrained networks `run` returns under "models" (`lab.weights` loads into them):
    the graph (the ANN) and its SNN, whose θ are placeholders until its weights are loaded."""
    graph = make_graph(input_shape, num_classes, config.skips)
    snn = StreamingSNN(graph, dict.fromkeys(hidden_nodes(graph), 1.0), config.steps_per_frame,
                       config.v_init, config.v_min)
    return {"ann": graph, "snn": snn}


def experiment(config: Config, progress: training.Progress | None = None,
               split: data.Split | None = None) -> Outcome:
    """Train the ANN in its rollout, convert it to the delay-matched SNN, measure both.

    `split`: frames to use instead of the configured set's (a control, e.g. frames shuffled in
    time, `lab.controls.shuffled_split`)."""
    device = cfg.resolve_device(config.device)
    if split is None:
        split = _split(config)
    training.seed_everything(config.seed)
    graph = make_graph(tuple(split.x_train.shape[2:]), split.num_classes, config.skips)
    fraction = (lambda f, msg: progress(0.85 * f, msg)) if progress else None
    with measure.timer() as train_time:
        history = train(graph, split, config.rollout, epochs=config.epochs, lr=config.lr,
                        batch_size=config.batch_size, seed=config.seed, device=device,
                        progress=fraction)
    if progress:
        progress(0.85, f"SNN at {config.steps_per_frame} steps per frame")
    with measure.timer() as test_time:
        ann_out = training.predict(graph, split.x_test, forward(config.rollout), device=device)
        thresholds = percentile_thresholds(graph, split.x_train[:CALIBRATION_SAMPLES],
                                           config.rollout, config.percentile)
        snn = simulate(graph, split.x_test.transpose(0, 1).to(device), thresholds,
                       config.steps_per_frame, config.v_init, config.v_min)
    labels, start = split.y_test, first_step(graph, "streaming")  # the SNN's delays
    ann_macs, snn_ops = ops_per_step(graph, snn, len(labels))
    return Outcome(
        config, graph, labels, accuracy_per_step(ann_out, labels),
        accuracy_per_step(running_mean(ann_out, first_step(graph, config.rollout)), labels),
        accuracy_per_step(outputs(snn, start, config.readout).cpu(), labels),
        accuracy_per_step(outputs(snn, start, "window").cpu(), labels), thresholds,
        ann_macs, snn_ops, {n: float(s.sum()) / len(labels) for n, s in snn.spikes.items()},
        history, costs.timings(train_time, test_time))


def run(config: Config, progress: training.Progress | None = None) -> dict:
    """Train, convert and measure; metrics, the anytime curves (per frame step) and timings.

    `models` holds the trained graph and its SNN, `architecture` what rebuilds them.
    """
    split = _split(config)
    x, y = split.x_train[: config.batch_size], split.y_train[: config.batch_size]
    out = experiment(config, progress, split)
    chance, bar = chance_level(out.labels)
    start, run_ann = first_step(out.graph, config.rollout), forward(config.rollout)
    cost = costs.step_cost(out.graph.cpu(), costs.single_unit(
        run_ann, lambda o, labels: anytime_loss(o, labels, start), x, y), len(y))
    metrics = {
        "accuracy": float(out.snn_accuracy[-1]), "ann_accuracy": float(out.ann_accuracy[-1]),
        # the ANN read out as its SNN is (running mean): the like-for-like comparison
        "ann_accuracy_running": float(out.ann_running_accuracy[-1]),
        "timesteps": config.n_time_bins * config.steps_per_frame,
        "first_step": out.first_step,
        "first_useful_step_ann": out.first_useful(out.ann_accuracy),
        "first_useful_step_snn": out.first_useful(out.snn_accuracy),
        "chance_accuracy": chance, "chance_bar": bar,
        "ann_macs": sum(out.ann_macs), "snn_ops": sum(out.snn_ops),
        "membrane_updates": membrane_updates(out.graph, config.steps_per_frame)
        * config.n_time_bins,
        "ops_ratio": sum(out.snn_ops) / sum(out.ann_macs), "final_loss": out.loss_per_epoch[-1],
        **cost.metrics(),
        "inference_bytes": measure.inference_bytes(out.graph, split.x_test[:1], run_ann),
    }
    curves = {"accuracy_per_step_ann": out.ann_accuracy.tolist(),
              "accuracy_per_step_ann_running": out.ann_running_accuracy.tolist(),
              "accuracy_per_step_snn": out.snn_accuracy.tolist(),
              "accuracy_per_step_snn_window": out.snn_window_accuracy.tolist(),
              "ann_macs_per_step": out.ann_macs, "snn_ops_per_step": out.snn_ops,
              "loss_per_epoch": out.loss_per_epoch,
              "threshold_per_layer": list(out.thresholds.values()),
              "spikes_per_sample_per_layer": list(out.spikes_per_sample.values())}
    snn = StreamingSNN(out.graph, out.thresholds, config.steps_per_frame, config.v_init,
                       config.v_min)
    return {"metrics": metrics, "curves": curves, "timings": out.timings,
            "models": {"ann": out.graph, "snn": snn},
            "architecture": {"input_shape": out.graph.input_shape,
                             "num_classes": split.num_classes}}
