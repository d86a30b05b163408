"""`python -m lab diagnose`: where a converted network loses accuracy, layer by layer.

    python -m lab diagnose RUN_ID                      a stored conversion run's ANN
    python -m lab diagnose --model pkg.mod:Net --state-dict net.pt --dataset digits

A stored run is rebuilt from its weights (`lab.weights.load_model`, network `ann`) and diagnosed
on its own dataset split: θ calibrated on training images, measured on the validation images,
with the run's percentile and v_init. Your own class: `--model MODULE:ATTR` names a class (built
with no arguments), a function returning the model, or a model object, importable from the
current folder; `--state-dict` loads its trained weights (a file of `torch.save(model.
state_dict(), path)`, read with `weights_only=True`, or a `.safetensors` file). The model takes
one batch of the dataset's images `[B, C, H, W]` and returns logits. Bad input exits with code 2
and one line; the report is `lab.conversion.diagnose`'s text.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

# Nothing heavy at import: `python -m lab --help` builds this parser without torch.
DEFAULT_TIMESTEPS = "1,2,4,8,16,32,64"
CALIBRATION_SAMPLES = 1024  # training images for threshold balancing, as the experiment uses


def add_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """The `diagnose` subcommand (the caller adds `--results`)."""
    sub = commands.add_parser("diagnose", help="per-layer diagnosis of a converted network: "
                                               "where it loses accuracy at low T, what to change")
    sub.add_argument("run_id", type=int, nargs="?", metavar="RUN_ID",
                     help="a stored conversion run (`python -m lab results --method conversion`)")
    sub.add_argument("--model", metavar="MODULE:ATTR",
                     help="your own model instead: a class, factory or object importable from "
                          "the current folder, e.g. mynet:Net")
    sub.add_argument("--state-dict", metavar="FILE",
                     help="the trained weights of --model (torch.save(model.state_dict()) or "
                          ".safetensors)")
    sub.add_argument("--dataset", default="digits",
                     help="the images --model reads (a registered frame or image set; "
                          "default: digits)")
    sub.add_argument("--data-seed", type=int, default=0, help="the split's seed (default 0)")
    sub.add_argument("--timesteps", default=DEFAULT_TIMESTEPS, metavar="T1,T2,...",
                     help=f"the T to measure at (default {DEFAULT_TIMESTEPS})")
    sub.add_argument("--figure", metavar="FILE.html", help="also write the figure as HTML")
    return sub


def _timesteps(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(t) for t in text.split(",") if t.strip())
    except ValueError:
        values = ()
    if not values or min(values) < 1 or max(values) > 4096:
        raise ValueError(f"--timesteps must be integers in [1, 4096] separated by commas, "
                         f"got {text!r}")
    return values


def _own_model(spec: str, state_dict: str | None):
    """The model `MODULE:ATTR` names, with the weights of `state_dict` loaded strictly."""
    import torch
    from torch import nn

    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise ValueError(f"--model must be MODULE:ATTR (e.g. mynet:Net), got {spec!r}")
    sys.path.insert(0, str(Path.cwd()))
    try:
        obj = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as err:
        raise ValueError(f"--model {spec}: {err}") from None
    model = obj if isinstance(obj, nn.Module) else obj()
    if not isinstance(model, nn.Module):
        raise ValueError(f"--model {spec} gives a {type(model).__name__}, not a torch.nn.Module")
    if state_dict is not None:
        path = Path(state_dict)
        if not path.is_file():
            raise ValueError(f"--state-dict {state_dict}: no such file")
        try:
            if path.suffix == ".safetensors":
                from safetensors.torch import load_file

                tensors = load_file(path)
            else:
                tensors = torch.load(path, map_location="cpu", weights_only=True)
            model.load_state_dict(tensors, strict=True)
        except Exception as err:  # noqa: BLE001  (unpickling and shape errors alike: one line)
            first = str(err).splitlines()[0] if str(err) else type(err).__name__
            raise ValueError(f"--state-dict {state_dict} does not fit --model {spec}: "
                             f"{first}") from None
    return model.eval()


def _stored(run_id: int, results: str | None):
    """A stored conversion run's ANN, its config, and its split."""
    from . import methods, weights
    from .conversion.experiment import load_split

    info = weights.manifest(run_id, results)
    if info["method"] != "conversion":
        raise ValueError(f"run {run_id} is a {info['method']} run: diagnose reads conversion "
                         "runs (or --model for your own network)")
    ann = weights.load_model(run_id, results, network="ann")
    config = weights._config(methods.method("conversion").Config, info["config"])
    return ann, config, load_split(config)


def main(args: argparse.Namespace) -> int:
    """Print the diagnosis; exit 2 with one line on bad input."""
    from .conversion.graph import NotConvertible
    from .core.terminal import printable
    from .weights import WeightsError

    try:
        timesteps = _timesteps(args.timesteps)
        if (args.run_id is None) == (args.model is None):
            raise ValueError("give RUN_ID or --model MODULE:ATTR (one of them)")
        if args.model is None and args.state_dict is not None:
            raise ValueError("--state-dict goes with --model")
        report, figure = _diagnose(args, timesteps)
    except (ValueError, NotConvertible, WeightsError, OSError) as err:
        print(f"error: {printable(err)}", file=sys.stderr)
        return 2
    print(report)
    if args.figure:
        figure.write_html(args.figure, include_plotlyjs="cdn")
        print(f"figure written to {args.figure}")
    return 0


def _diagnose(args: argparse.Namespace, timesteps: tuple[int, ...]):
    from .conversion.diagnosis import diagnose
    from .core import data
    from .viz.diagnosis import diagnosis_figure

    settings = {}
    if args.model is not None:
        model = _own_model(args.model, args.state_dict)
        if args.dataset not in data.names():
            raise ValueError(f"--dataset must be one of {', '.join(data.names())}, "
                             f"got {args.dataset!r}")
        split = data.load(args.dataset, seed=args.data_seed)
    else:
        model, config, split = _stored(args.run_id, args.results)
        settings = {"percentile": config.percentile, "v_init": config.v_init}
    x_val, y_val = split.validation()
    n = min(CALIBRATION_SAMPLES, len(split.x_train))
    d = diagnose(model, (split.x_train[:n], split.y_train[:n]), timesteps,
                 validation_data=(x_val, y_val), **settings)
    return str(d), diagnosis_figure(d)
