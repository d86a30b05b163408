"""Command line: `python -m lab run <method> [--field value ...]`, `python -m lab results` and
`python -m lab sweep <method> --grid FIELD=V1,V2 --seeds N`.
`python -m lab export RUN_ID --nir FILE [--target SIMULATOR]` writes a run's trained SNN as a NIR
graph.
`python -m lab diagnose RUN_ID` (or `--model MODULE:ATTR --state-dict FILE`) says, layer by
layer, where a converted network loses accuracy at low T and what to change.

Every field of a method's `Config` dataclass is a flag (`batch_size` → `--batch-size`).
`--preset NAME` takes the flags' defaults from `presets/NAME.toml` (`lab.presets`); flags given
as well override them. Bad input exits with code 2 and one line naming the parameter and its
valid range.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Iterable
from typing import NoReturn

from . import diagnose_command, methods, presets
from .core.config import ConfigError, FieldError, FieldSpec, specs
from .core.terminal import printable
from .sweep import command as sweep_command

# Only what builds the parser is imported above: torch, NIR, snnTorch, scipy and Dask come in
# when a subcommand runs, so `python -m lab --help` prints at once.


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (no usage block): `error: ...`, exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {printable(message)}\n")


def _typed(spec: FieldSpec) -> Callable[[str], object]:
    """Read a flag's text as the field reads it (`FieldSpec.parse`, as a sweep's grid and the
    dashboard's form do); a bad text names the field and its range. The range is the Config's
    check, so every caller gets the same line."""

    def parse(text: str) -> object:
        try:
            return spec.parse(text)
        except FieldError as err:
            raise argparse.ArgumentTypeError(str(err)) from None

    parse.__name__ = spec.kind.__name__  # argparse names the type in some messages
    return parse


def _negative_values(argv: list[str]) -> list[str]:
    """`--v-min -inf` → `--v-min=-inf`: argparse takes '-inf' and '-1e3' for options."""
    out: list[str] = []
    for token in argv:
        if out and out[-1].startswith("--") and "=" not in out[-1] and _is_number(token):
            out[-1] = f"{out[-1]}={token}"
        else:
            out.append(token)
    return out


def _is_number(token: str) -> bool:
    if not token.startswith("-"):
        return False
    try:
        float(token)
    except ValueError:
        return False
    return True


def _parser(preset: presets.Preset | None = None, flags_of: Iterable[str] | None = None
            ) -> argparse.ArgumentParser:
    """The command line; with `preset`, its method's flags default to the preset's values.

    `flags_of`: the methods whose config flags are added (default: all). A method's flags come
    from its `Config`, and importing its module imports torch: `main` builds only the one named.
    """
    flags_of = set(methods.METHODS if flags_of is None else flags_of)
    parser = _Parser(prog="python -m lab", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="train and measure one method, store the result")
    commands_of_run = run.add_subparsers(dest="method", required=True, metavar="METHOD")
    for name in methods.METHODS:
        sub = commands_of_run.add_parser(name, help=methods.summary(name))
        _add_store_flag(sub)
        for spec in specs(methods.method(name).Config) if name in flags_of else ():
            flag = "--" + spec.name.replace("_", "-")
            text = f"{spec.help + '; ' if spec.help else ''}{spec.valid()}; default: {spec.default}"
            if spec.kind is bool:
                sub.add_argument(flag, action=argparse.BooleanOptionalAction, default=spec.default,
                                 help=text)
            else:  # values are checked by the Config itself, so every caller gets the same line
                sub.add_argument(flag, type=_typed(spec), default=spec.default,
                                 help=text.replace("%", "%%"))
        sub.add_argument("--quiet", action="store_true", help="no progress bar")
        sub.add_argument("--preset", metavar="NAME",
                         help="defaults from presets/NAME.toml (flags given too win): "
                              f"{', '.join(presets.names()) or 'none'}")
        if name == "conversion":
            sub.add_argument("--smoke", action="store_true",
                             help="the CIFAR preset's code path in seconds on generated files in "
                                  "a temporary folder (tiny width, 2 epochs; no download)")
        if preset is not None and preset.method == name:
            sub.set_defaults(**preset.values)
    listing = commands.add_parser("results", help="list the stored runs")
    _add_store_flag(listing)
    listing.add_argument("--method")
    listing.add_argument("--dataset")
    _add_store_flag(sweep_command.add_parser(commands))
    exporting = commands.add_parser("export", help="write a run's trained SNN as a NIR file")
    exporting.add_argument("run_id", type=int, metavar="RUN_ID",
                           help="the run's id (`python -m lab results` lists them)")
    exporting.add_argument("--nir", required=True, metavar="FILE", help="the NIR file to write")
    exporting.add_argument("--force", action="store_true",
                           help="overwrite FILE if it exists (never the results store)")
    exporting.add_argument("--target", choices=NIR_TARGETS, default="lab",
                           help="the simulator that will read the file, which picks how IF "
                                "neurons state their input: lab and spikingjelly r = 1/dt, "
                                "snntorch r = 1 (default: lab)")
    _add_store_flag(exporting)
    _add_store_flag(diagnose_command.add_parser(commands))
    return parser


# lab.export.CONVENTIONS, named here so that the parser does not import the NIR packages
NIR_TARGETS = ("lab", "spikingjelly", "snntorch")


def _add_store_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--results", default=None,
                        help="SQLite results file (default: $LAB_RESULTS, else the project's "
                             "results/lab.sqlite)")


def _run(args: argparse.Namespace) -> int:
    from tqdm.auto import tqdm

    from . import budget, registry
    from .core.results import ResultsStore

    module = methods.method(args.method)
    fields = {s.name: getattr(args, s.name) for s in specs(module.Config)}
    if getattr(args, "smoke", False):
        return _smoke(args, module.Config(**{**fields, "data_dir": fields["data_dir"] or "-"}))
    config = module.Config(**fields)
    budget.check(args.method, config)  # `execute` checks it too; here before the bar is drawn
    store = ResultsStore(args.results)
    with tqdm(total=100, desc=args.method, disable=args.quiet, unit="%",
              bar_format="{l_bar}{bar}| {postfix}") as bar:

        def progress(fraction: float, message: str) -> None:
            bar.update(round(100 * fraction) - bar.n)
            bar.set_postfix_str(message)

        run_id = registry.execute(args.method, config, store, progress)
    run = store.get(run_id)
    summary = ", ".join(f"{k}={_fmt(v)}" for k, v in run.metrics.items())
    seconds = run.timings.get("train_s", 0.0) + run.timings.get("test_s", 0.0)
    print(f"run {run_id} finished in {seconds:.1f} s: {summary}")
    print(f"stored in {store.path}")
    return 0


def _smoke(args: argparse.Namespace, config) -> int:
    """`run conversion --smoke`: the preset on generated CIFAR files (`lab.conversion.smoke`)."""
    from .conversion import smoke

    seen = smoke.run(config)
    print(f"smoke run of {config.arch} on generated {config.dataset} files in a temporary "
          "folder: finished (not stored)")
    print(f"device {seen['device']}; BatchNorm layers {seen['batch_norm_in_ann']} in the ANN, "
          f"{seen['batch_norm_in_snn']} after conversion (folded); σ per layer (θ) of the "
          f"epoch kept " + ", ".join(f"{v:.3f}" for v in seen["noise_std_per_layer"])
          + "; gap std on validation at T = L (the next refit's σ) "
          + ", ".join(f"{v:.3f}" for v in seen["gap_std_per_layer"]))
    noise_on = seen["ann_accuracy_noise_on"]
    print(f"ANN accuracy: noise off {_fmt(seen['ann_accuracy_noise_off'])} %, noise on "
          f"{'-' if noise_on is None else _fmt(noise_on)} %; SNN at T = 1.."
          f"{len(seen['snn_accuracy'])}: " + ", ".join(_fmt(a) for a in seen["snn_accuracy"])
          + " % (random images: the numbers mean nothing, the path ran)")
    return 0


def _results(args: argparse.Namespace) -> int:
    from .core.results import ResultsStore

    store = ResultsStore(args.results, readonly=True)
    runs = store.runs(args.method, args.dataset)
    for line in store.skipped:  # a corrupt row: one line each, the others still listed
        print(f"warning: {printable(line)}", file=sys.stderr)
    if not runs:
        print(f"no runs in {store.path}; try: python -m lab run bptt")
        return 0
    print(f"{'id':>4}  {'method':<18} {'dataset':<8} {'seed':>4}  {'status':<11} "
          f"{'accuracy':>8}  {'started':<19}")
    for r in runs:
        acc = r.metrics.get("accuracy")
        started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(r.started_at))
        method, dataset, status = (printable(t) for t in (r.method, r.dataset, r.status))
        shown = printable(_fmt(acc)) if acc is not None else "-"  # stored text: sanitised
        print(f"{r.id:>4}  {method:<18} {dataset:<8} {r.seed:>4}  {status:<11} "
              f"{shown:>8}  {started}")
    return 0


def _export(args: argparse.Namespace) -> int:
    """Exit 2 with one line for an unknown run, missing weights or a network NIR refuses."""
    from . import export, weights
    from .core.results import ResultsStore

    try:  # read-only: exporting reads the store, so a read-only store can export
        path = export.export_run(args.run_id, args.nir, ResultsStore(args.results, readonly=True),
                                 convention=args.target, force=args.force)
    except (weights.WeightsError, export.ExportError, OSError) as err:
        print(f"error: {printable(err)}", file=sys.stderr)
        return 2
    print(f"run {args.run_id}: its SNN written to {path}")
    return 0


def _fmt(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def main(argv: list[str] | None = None) -> int:
    """Exit codes: 0 done, 1 a run failed (its row says why), 2 bad input, 130 Ctrl-C, 143
    SIGTERM (`lab.core.signals`: handled as Ctrl-C, the run stored `cancelled`)."""
    argv = _negative_values(sys.argv[1:] if argv is None else argv)
    named = argv[1] if len(argv) > 1 and argv[0] == "run" else None  # `run METHOD ...`
    args = _parser(flags_of=[named]).parse_args(argv)  # --help and bad flags exit here
    from . import registry  # the run's libraries, torch among them
    from .core import signals
    from .core.results import StoreError
    from .core.training import RunCancelled

    try:
        with signals.sigterm_as_interrupt():
            return _main(args, argv)
    except ConfigError as err:
        print(f"error: {printable(err)}", file=sys.stderr)
        return 2
    except StoreError as err:  # an unusable results path
        print(f"error: {printable(err)}", file=sys.stderr)
        return 2
    except registry.RunFailed as err:
        if err.status == "cancelled":
            print("cancelled: the run is stored as cancelled", file=sys.stderr)
            return 130
        print(f"error: {printable(err)}", file=sys.stderr)
        return 1
    except (KeyboardInterrupt, RunCancelled) as stop:
        how = " (SIGTERM)" if isinstance(stop, signals.Terminated) else ""
        print(f"cancelled{how}: the run is stored as cancelled", file=sys.stderr)
        return signals.exit_code(stop)


def _main(args: argparse.Namespace, argv: list[str]) -> int:
    """The subcommand `args` names (`main` turns its errors into exit codes)."""
    if getattr(args, "preset", None):
        preset = presets.load(args.preset)
        if preset.method != args.method:
            raise ConfigError(f"preset {args.preset} is for method {preset.method}, "
                              f"not {args.method}")
        args = _parser(preset, flags_of=[args.method]).parse_args(argv)
    if args.command == "sweep":
        return sweep_command.main(args)
    if args.command == "export":
        return _export(args)
    if args.command == "diagnose":
        return diagnose_command.main(args)
    return _run(args) if args.command == "run" else _results(args)
