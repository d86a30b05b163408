"""NIR round trips: trained lab networks out to NIR, back into the lab and into snnTorch.

    python benchmarks/nir.py [--quick] [--seed 0]

For a converted MLP and CNN (QCFS, IF with θ = λ, v[0] = θ/2, θ·s) and a BPTT LIF network, all
trained with the seed: export (`lab.export_nir`), write and read the NIR file, import it into
the lab (`lab.export.import_nir`) and into snnTorch (`snntorch.import_from_nir`, through
`lab.export.to_snntorch`), and compare the spikes of every neuron layer, step by step over T, on
test images with the lab's own simulation. `snnTorch as lab` is snnTorch's import given the lab's
β, reset and v[0] (`as_lab=True`); `events` counts the steps where a lab neuron is still at or
above θ after its reset, where snnTorch's reset rule (decided from the previous potential)
differs from the lab's. Quick: digits 8×8, T = 8; full: MNIST-5k 28×28, T = 16.

Last line: `RESULT nir models=3 spike_agreement_lab=... spike_agreement_snntorch=...
export_s=...`: the lowest agreement over the networks (1: every spike of every layer at every
step), snnTorch's import as it reads the graph, and the seconds to export and write all three
files (best of 3).
"""

from __future__ import annotations

import sys
from pathlib import Path

# This file is named nir.py: run as a script, its folder heads sys.path and would shadow the nir
# package for every `import nir`, the lab's included.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import nir  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

from lab import bptt, conversion, export  # noqa: E402
from lab.core import data, encoding  # noqa: E402
from lab.core.neurons import recording  # noqa: E402

CAUSES = {"IF": "snnTorch reads nir.IF as Leaky(beta=0.9); v[0] = 0, not θ/2",
          "LIF": "snnTorch resets nir.LIF to zero; the lab subtracts θ"}


def networks(dataset: str, epochs: int, seed: int, split: data.Split) -> dict[str, nn.Module]:
    """The three trained spiking networks, by name."""
    nets = {}
    for arch in ("mlp", "cnn"):
        config = conversion.Config(variant="qcfs", dataset=dataset, arch=arch, epochs=epochs,
                                   seed=seed, device="cpu")
        ann, _ = conversion.train_ann(config, split)
        nets[f"converted {arch}"] = conversion.convert(ann)
    config = bptt.Config(dataset=dataset, epochs=epochs, timesteps=8, seed=seed, device="cpu")
    nets["bptt (LIF)"] = bptt.run(config)["models"]["snn"]
    return nets


def best_export_s(model: nn.Module, shape: tuple[int, ...], path: Path) -> float:
    """Best of 3: seconds to export `model` and write the NIR file."""
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        nir.write(path, export.export_nir(model, shape))
        best = min(best, time.perf_counter() - start)
    return best


def events(model: nn.Module, x: torch.Tensor) -> int:
    """Steps where a lab neuron is still at or above θ after its reset."""
    with recording(model) as layers:
        model(x)
    return sum(int((m.last.v_trace >= m.threshold).sum()) for m in layers)


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

    print(f"{dataset}, {len(x[0])} test images, T = {timesteps}")
    print(f"{'network':<16} {'nodes':>5} {'spikes/img':>10} {'export_s':>8} {'KiB':>6} "
          f"{'lab':>6} {'same out':>8} {'snnTorch':>8} {'as lab':>7} {'events':>7}  cause")
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for name, model in nets.items():
            path = Path(folder) / f"{name.split()[0]}.nir"
            seconds = best_export_s(model, split.image_shape, path)
            graph = nir.read(path)
            out, spikes = export.run_spikes(model, x)
            out_lab, spikes_lab = export.run_spikes(export.import_nir(graph), x)
            _, spikes_snn = export.run_spikes(export.to_snntorch(graph), x)
            _, spikes_as_lab = export.run_spikes(export.to_snntorch(graph, as_lab=True), x)
            row = (export.agreement(spikes, spikes_lab), export.agreement(spikes, spikes_snn),
                   export.agreement(spikes, spikes_as_lab), seconds)
            rows.append(row)
            kind = "LIF" if "lif2" in graph.nodes else "IF"
            per_image = sum(float(s.sum()) for s in spikes) / len(x[0])
            print(f"{name:<16} {len(graph.nodes):>5} {per_image:>10.1f} {seconds:>8.4f} "
                  f"{path.stat().st_size / 1024:>6.0f} {row[0]:>6.4f} "
                  f"{str(torch.equal(out, out_lab)):>8} {row[1]:>8.4f} {row[2]:>7.4f} "
                  f"{events(model, x):>7}  {CAUSES[kind]}")
    print("as lab: snnTorch with the lab's β, reset and v[0]; the rest is its reset decided "
          "from the previous potential (it departs at the 'events') and its strict v > θ")
    print(f"RESULT nir models={len(rows)} spike_agreement_lab={min(r[0] for r in rows):.4f} "
          f"spike_agreement_snntorch={min(r[1] for r in rows):.4f} "
          f"export_s={sum(r[3] for r in rows):.3f}")


if __name__ == "__main__":
    main()
