"""`python -m lab sweep METHOD --grid FIELD=V1,V2 ... --seeds N` (or `--spec FILE.toml`).

Exit codes: 0 every run finished; 1 a run failed, or a worker runs another lab version;
2 bad input (one line naming it, before anything runs or is stored); 130 Ctrl-C, 143 SIGTERM
(either way the runs not done are stored `cancelled`).
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from ..core import signals
from ..core.config import ConfigError
from ..core.terminal import printable
from ..methods import METHODS

if TYPE_CHECKING:
    from ..core.results import ResultsStore
    from .spec import Spec

# Dask, torch and scipy are imported when a sweep runs, not to build the parser (`--help`).

DEFAULT_SEEDS = 5  # docs/methods.md §6: at least 5 model seeds for a comparison that is claimed


def add_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """The `sweep` subcommand's parser (the caller adds `--results`)."""
    sub = commands.add_parser("sweep", help="run a grid of configs × seeds on Dask workers, "
                              "store every run")
    sub.add_argument("method", nargs="?", metavar="METHOD",
                     help=f"one of {', '.join(METHODS)} (or `method` in --spec)")
    sub.add_argument("--grid", action="append", default=[], metavar="FIELD=V1,V2",
                     help="values of one config field (repeat for more fields); every "
                     "combination runs")
    sub.add_argument("--seeds", type=int, default=None,
                     help=f"model seeds 0..N-1 for every combination (default {DEFAULT_SEEDS})")
    sub.add_argument("--spec", default=None, metavar="FILE.toml",
                     help="method, seeds and a [grid] table; METHOD, --grid, --seeds override")
    sub.add_argument("--scheduler", default=None, metavar="ADDRESS",
                     help="a Dask scheduler, e.g. tcp://HOST:8786 (default: $LAB_SCHEDULER, "
                     "else a cluster of this machine's cores)")
    sub.add_argument("--workers", type=int, default=None,
                     help="worker processes of the local cluster (default: one per core)")
    sub.add_argument("--metric", default="accuracy", help="the metric summarised at the end")
    sub.add_argument("--quiet", action="store_true", help="no progress bar")
    return sub


def main(args: argparse.Namespace) -> int:
    """Check everything, run what is pending, print the summary; returns the exit code."""
    from ..core.results import ResultsStore
    from . import cluster, runs

    spec = _spec(args)
    if args.workers is not None and args.workers < 1:
        raise ConfigError(f"workers must be an integer ≥ 1, got {args.workers}")
    store = ResultsStore(args.results)
    total, outcome = len(spec.configs()), None
    if runs.pending(spec, store):
        try:
            with cluster.connect(args.scheduler, args.workers) as client:
                outcome = runs.run(spec, store, client, progress=not args.quiet)
        except runs.Cancelled as stop:
            print(f"cancelled: {len(stop.outcome.cancelled)} of {total} runs not done, stored "
                  "as cancelled; run the same command again to resume", file=sys.stderr)
            return stop.exit_code
        except KeyboardInterrupt as stop:  # before the sweep started: nothing was stored
            print("cancelled before any run started", file=sys.stderr)
            return signals.exit_code(stop)
        except cluster.VersionMismatch as err:
            print(f"error: {printable(err)}", file=sys.stderr)
            return 1
        print(f"sweep {outcome.sweep_id}: {len(outcome.finished)} runs finished, "
              f"{len(outcome.failed)} failed, {outcome.skipped} already done; stored in "
              f"{store.path}")
    else:
        print(f"nothing to run: all {total} runs are finished in {store.path}")
    _print_report(spec, store, args.metric)
    return 1 if outcome is not None and outcome.failed else 0


def _spec(args: argparse.Namespace) -> Spec:
    from .spec import load, make, parse_grid

    content = load(args.spec) if args.spec else {}
    method = args.method or content.get("method")
    if args.method and content.get("method", args.method) != args.method:
        raise ConfigError(f"METHOD {args.method} differs from method = {content['method']!r} "
                          f"in {args.spec}")
    if method is None:
        raise ConfigError(f"name a METHOD (one of {', '.join(METHODS)}) or give "
                          "--spec FILE.toml with method = \"...\"")
    grid = {**content.get("grid", {}), **parse_grid(args.grid)}
    seeds = args.seeds if args.seeds is not None else content.get("seeds", DEFAULT_SEEDS)
    return make(method, grid, seeds)


def _print_report(spec: Spec, store: ResultsStore, metric: str) -> None:
    from . import report

    found = report.points(spec, store, metric)
    labels = [printable(p.label) for p in found]  # a spec file's values: text, not escapes
    width = max(map(len, labels))
    print(f"{'':<{width}}  {metric:>9}  {'95% interval':<17}  n")
    for point, label in zip(found, labels, strict=True):
        s = point.summary()
        if s is None:
            print(f"{label:<{width}}  {'-':>9}  {'':<17}  0")
            continue
        interval = f"[{s.ci_low:.2f}, {s.ci_high:.2f}]" if s.n > 1 else "(one seed)"
        print(f"{label:<{width}}  {s.mean:>9.2f}  {interval:<17}  {s.n}")
    for line in report.comparisons(found):
        print(printable(line))
