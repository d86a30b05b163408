"""NIR files of trained lab networks, run by the lab and by other simulators' own importers.

    python benchmarks/nir.py [--quick] [--seed 0]

For a converted MLP, CNN and ResNet-20 (QCFS, IF with θ = λ, v[0] = θ/2, θ·s) and a BPTT LIF
network, all trained with the seed: export each (`lab.export_nir`) in the convention of the
simulator that reads it, write and read the NIR file, and run it with the lab's import
(`lab.export.import_nir`), snnTorch's (`lab.export.SnnTorchRunner`) and, when installed,
SpikingJelly's (`lab.export.SpikingJellyRunner`); Norse's and sinabs' imports, when installed,
are tried on the file and their first error reported (the lab has no runner for them). Each
simulator's spikes are compared with the lab's own simulation, every neuron layer at every step
(1: all agree), on test images, and its output gives an accuracy. `as lab`: the simulator also
given the lab's reset and v[0], which NIR 1.0.8 cannot state (its neurons reset to v_reset and
start from 0). `events` counts the steps where a lab neuron is still at or above θ after its
reset, where snnTorch's reset rule (decided from the previous potential) differs from the lab's.
Quick: digits 8×8, T = 8; full: MNIST-5k 28×28, T = 16.

The tables print as Markdown (docs/interop.md holds a run of them). Last line:
`RESULT nir models=4 spike_agreement_lab=... spike_agreement_snntorch=...
spike_agreement_spikingjelly=... simulators_running=... export_s=...`: the lowest agreement over
the networks of the lab's import, of snnTorch's and of SpikingJelly's (`absent` when it is not
installed) as they read the files, how many simulators ran every file, and the seconds to
export and write all files (best of 3).
"""

from __future__ import annotations

import sys
from pathlib import Path

# This file is named nir.py: run as a script, its folder heads sys.path and would shadow the nir
# package for every `import nir`, the lab's included.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse  # noqa: E402
import datetime  # noqa: E402
import importlib.metadata  # noqa: E402
import importlib.util  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import nir  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

import lab  # noqa: E402
from lab import bptt, conversion, export  # noqa: E402
from lab.core import data, encoding  # noqa: E402
from lab.core.neurons import recording  # noqa: E402

RUNNERS = {"snnTorch": ("snntorch", "snntorch", export.SnnTorchRunner),
           "SpikingJelly": ("spikingjelly", "spikingjelly", export.SpikingJellyRunner)}
TRIED = {"Norse": "norse", "sinabs": "sinabs"}  # simulator → package: import tried, no runner


def networks(dataset: str, epochs: int, seed: int, split: data.Split) -> dict[str, nn.Module]:
    """The four trained spiking networks, by name."""
    nets = {}
    # BatchNorm (folded at conversion): without it the CNN and ResNet stay at chance on digits
    resnet = {"width": 64, "epochs": epochs + 2}  # 8-16-32 channels
    for arch, extra in (("mlp", {}), ("cnn", {}), ("resnet20", resnet)):
        config = conversion.Config(variant="qcfs", dataset=dataset, arch=arch, seed=seed,
                                   device="cpu", batch_norm=True, **{"epochs": epochs, **extra})
        ann, _ = conversion.train_ann(config, split)
        nets[f"converted {arch}"] = conversion.convert(ann)
    config = bptt.Config(dataset=dataset, epochs=epochs, timesteps=8, seed=seed, device="cpu")
    nets["bptt (LIF)"] = bptt.run(config)["models"]["snn"]
    return nets


def best_export_s(model: nn.Module, shape: tuple[int, ...], path: Path, convention: str) -> float:
    """Best of 3: seconds to export `model` and write the NIR file."""
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        nir.write(path, export.export_nir(model, shape, convention=convention))
        best = min(best, time.perf_counter() - start)
    return best


def events(model: nn.Module, x: torch.Tensor) -> int:
    """Steps where a lab neuron is still at or above θ after its reset."""
    with recording(model) as layers:
        model(x)
    return sum(int((m.last.v_trace >= m.threshold).sum()) for m in layers)


def accuracy(out: torch.Tensor, labels: torch.Tensor) -> float:
    """% of samples whose output `[T, B, C]`, averaged over T, is largest at the label."""
    return 100.0 * float((out.mean(0).argmax(1) == labels).float().mean())


def version(package: str) -> str | None:
    """The installed version of `package`, None when it cannot be imported."""
    if importlib.util.find_spec(package) is None:
        return None
    return importlib.metadata.version(package)


def try_import(simulator: str, graph: nir.NIRGraph, x: torch.Tensor) -> str:
    """'runs' if the simulator's own import of `graph` runs one step of `x`, else its error."""
    try:
        if simulator == "Norse":
            import norse.torch

            module = norse.torch.from_nir(graph, dt=float(graph.metadata["dt"]))
            module(x[0])
        else:
            import sinabs

            module = sinabs.from_nir(graph, batch_size=x.shape[1])
            module(x[0])
    except Exception as err:  # noqa: BLE001 (any failure of a foreign import is the finding)
        return f"fails: {type(err).__name__}: {str(err).splitlines()[0][:70] if str(err) else ''}"
    return "imports, runs a step (no lab runner: spikes not compared)"


def measure(runner_of: type[export.Runner], graph: nir.NIRGraph, x: torch.Tensor,
            labels: torch.Tensor, spikes: list[torch.Tensor]) -> dict:
    """One simulator on one file: agreement and accuracy as it reads the file, and as lab."""
    raw, fixed = runner_of(graph), runner_of(graph, as_lab=True)
    out_raw, spikes_raw = export.run_spikes(raw, x)
    out_fixed, spikes_fixed = export.run_spikes(fixed, x)
    return {"agree": export.agreement(spikes, spikes_raw), "acc": accuracy(out_raw, labels),
            "agree_lab": export.agreement(spikes, spikes_fixed),
            "acc_lab": accuracy(out_fixed, labels), "adaptations": raw.adaptations}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="digits, T = 8: < 1 min on 2 cores")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)  # one summation order: the same spikes on every re-run

    dataset, epochs, timesteps, n_test = (("digits", 3, 8, 360) if args.quick
                                          else ("mnist", 3, 16, 500))
    split = data.load(dataset, seed=args.seed)
    nets = networks(dataset, epochs, args.seed, split)
    x = encoding.direct(split.x_test[:n_test], timesteps)
    labels = split.y_test[:n_test]
    versions = {name: version(package) for name, (package, _, _) in RUNNERS.items()}
    versions |= {name: version(package) for name, package in TRIED.items()}
    installed = [name for name in RUNNERS if versions[name]]

    rows, tried, seconds = {}, {name: [] for name in TRIED if versions[name]}, 0.0
    with tempfile.TemporaryDirectory() as folder:
        for name, model in nets.items():
            out, spikes = export.run_spikes(model, x)
            row = {"nodes": 0, "spikes": sum(float(s.sum()) for s in spikes) / len(x[0]),
                   "acc": accuracy(out, labels), "events": events(model, x)}
            files = {c: Path(folder) / f"{len(rows)}-{c}.nir"
                     for c in ("lab", *(RUNNERS[s][1] for s in installed))}
            for convention, path in files.items():
                seconds += best_export_s(model, split.image_shape, path, convention)
            graph = nir.read(files["lab"])
            out_back, back = export.run_spikes(export.import_nir(graph), x)
            row |= {"nodes": len(graph.nodes), "lab": export.agreement(spikes, back),
                    "lab_acc": accuracy(out_back, labels), "same_out": torch.equal(out, out_back)}
            for simulator in installed:
                _, convention, runner_of = RUNNERS[simulator]
                own = nir.read(files[convention])
                row[simulator] = measure(runner_of, own, x, labels, spikes)
            for simulator in tried:
                tried[simulator].append(try_import(simulator, nir.read(files["snntorch"]), x))
            rows[name] = row

    today = datetime.date.today().isoformat()
    print(f"{today}: {dataset}, {len(x[0])} test images, T = {timesteps}, seed {args.seed}; "
          f"nir {version('nir')}, nirtorch {version('nirtorch')}, torch {torch.__version__}")
    print("\n| simulator | version | file read | runs the files | what the lab's runner adapts |")
    print("|---|---|---|---|---|")
    print(f"| lab | {lab.__version__} | lab (IF r = 1/dt) | all "
          f"{len(rows)}, spike for spike | - |")
    for simulator, (_, convention, _) in RUNNERS.items():
        if simulator not in installed:
            print(f"| {simulator} | not installed | {convention} | - | - |")
            continue
        adapted = sorted({a for r in rows.values() for a in r[simulator]["adaptations"]})
        print(f"| {simulator} | {versions[simulator]} | {convention} "
              f"(IF r = {export.errors.IF_R[convention]}) | all {len(rows)} | "
              f"{'; '.join(adapted) or 'nothing'} |")
    for simulator in TRIED:
        if simulator not in tried:
            print(f"| {simulator} | not installed | - | - | - |")
            continue
        verdicts = [f"{n}: {v}" for n, v in zip(rows, tried[simulator], strict=True)]
        print(f"| {simulator} | {versions[simulator]} | snntorch (IF r = 1) | "
              f"{'; '.join(verdicts)} | no runner |")

    print("\nSpike agreement with the lab's own simulation (accuracy %), as each simulator reads "
          "the file / given the lab's reset and v[0] (as lab):\n")
    head = "| network | nodes | spikes/img | lab model | lab import |"
    rule = "|---|---|---|---|---|"
    for simulator in installed:
        head += f" {simulator} | {simulator} as lab |"
        rule += "---|---|"
    print(f"{head} events |\n{rule}---|")
    for name, row in rows.items():
        line = (f"| {name} | {row['nodes']} | {row['spikes']:.1f} | ({row['acc']:.1f}) | "
                f"{row['lab']:.4f} ({row['lab_acc']:.1f}{', same out' if row['same_out'] else ''})"
                " |")
        for simulator in installed:
            m = row[simulator]
            line += (f" {m['agree']:.4f} ({m['acc']:.1f}) | {m['agree_lab']:.4f} "
                     f"({m['acc_lab']:.1f}) |")
        print(f"{line} {row['events']} |")
    print("\nAs the files are read: NIR 1.0.8 states neither the lab's reset by subtraction nor "
          "v[0] = θ/2, so the importers reset to v_reset = 0 and start from 0; snnTorch 1.0.0 "
          "also reads nir.IF as Leaky(beta=0.9). As lab, what remains is snnTorch's reset rule "
          "(decided from the previous potential: it departs at the 'events') and its strict "
          "v > θ; SpikingJelly fires, resets and integrates as the lab does.")

    def lowest(key: str) -> str:
        return (f"{min(r[key]['agree'] for r in rows.values()):.4f}" if key in installed
                else "absent")

    running = 1 + len(installed)  # Norse and sinabs: no runner, so not counted
    print(f"RESULT nir models={len(rows)} "
          f"spike_agreement_lab={min(r['lab'] for r in rows.values()):.4f} "
          f"spike_agreement_snntorch={lowest('snnTorch')} "
          f"spike_agreement_spikingjelly={lowest('SpikingJelly')} "
          f"simulators_running={running} export_s={seconds:.3f}")


if __name__ == "__main__":
    main()
