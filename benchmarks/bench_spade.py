"""Benchmark: SPADE's lookup path (spade_lib.norms.spade_fast) against the dense convolutions.

The layer is the full-resolution SPADE of the official ADE20K generator: 151 label channels, C = 128, hidden 128,
3 x 3 kernels, x of shape (1, 128, 256, 256), fp32, 2 CPU threads, train mode (batch statistics). Each case
times ``path="dense"`` and ``path="auto"`` (the lookup path unless the band is too large) side by side,
interleaved, and reports medians. "forward" runs under ``torch.no_grad()``; "forward+backward" is a training
step: forward, then backward of a fixed random output gradient to x and every weight.

Label maps: Landscapes samples (``spade_lib.landscapes``), the same with instance edges (a 152-channel layer),
smooth random blobs of 10 classes, and noise (an independent random class per pixel). A sweep over blob sizes,
and over blobs with a square of noise (where every window is distinct: the lookup path's worst case for a given
band), measures where the lookup path stops paying off, which sets ``SPADE.max_band_fraction``.

Run: ``python benchmarks/bench_spade.py`` (a few minutes); writes benchmarks/results/spade.md.
``--device cuda`` times on a GPU instead (printed only; the results file is for the CPU).
"""
import argparse
import datetime
import os
import platform
import statistics
import time
from pathlib import Path

# On a shared machine with more busy threads than cores, OpenMP threads that spin while they wait at the end of
# each parallel op steal the cores from the threads doing the work, and every op waits for a time slice. Waiting
# passively (set before torch starts OpenMP) keeps timings fair there; override by setting the variable yourself.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402 (after the OpenMP setting)
import torch.nn.functional as F  # noqa: E402

from spade_lib.landscapes import Landscapes  # noqa: E402
from spade_lib.labels import LabelMap, instance_edges  # noqa: E402
from spade_lib.modes import cpu_name  # noqa: E402
from spade_lib.norms import SPADE, find_regions  # noqa: E402

SIZE, CHANNELS, LABEL_CHANNELS = 256, 128, 151
RESULTS = Path(__file__).parent / "results" / "spade.md"


def blobs(cells: int, classes: int = 10, seed: int = 0) -> torch.Tensor:
    """(1, SIZE, SIZE) smooth random regions: the argmax of ``classes`` noise fields of ``cells`` x ``cells``
    random values, smoothly upsampled. Fewer cells, larger regions, a thinner boundary band."""
    g = torch.Generator().manual_seed(seed)
    noise = torch.randn(1, classes, cells, cells, generator=g)
    return F.interpolate(noise, size=(SIZE, SIZE), mode="bicubic", align_corners=False).argmax(1)


def noise_map(seed: int = 0) -> torch.Tensor:
    """(1, SIZE, SIZE) an independent random class in [0, 151) per pixel: the worst case for the lookup path."""
    return torch.randint(0, LABEL_CHANNELS, (1, SIZE, SIZE), generator=torch.Generator().manual_seed(seed))


def noisy_blobs(noise_share: float) -> torch.Tensor:
    """``blobs(6)`` with a centred square of noise over ``noise_share`` of the pixels: nearly every window in it is
    distinct, the worst case of the lookup path for its band fraction."""
    labels = blobs(6)
    side = round(SIZE * noise_share ** 0.5)
    start = (SIZE - side) // 2
    labels[:, start:start + side, start:start + side] = noise_map(1)[:, :side, :side]
    return labels


def band_fraction(segmap, kernel_size: int = 3) -> float:
    labels, edges = (segmap.labels, segmap.edges) if isinstance(segmap, LabelMap) else (segmap, None)
    return find_regions(labels, edges, kernel_size).band_fraction


def step(layer: SPADE, x: torch.Tensor, segmap, grad_out: torch.Tensor, backward: bool) -> None:
    if not backward:
        with torch.no_grad():
            layer(x, segmap)
    else:
        layer.zero_grad(set_to_none=True)
        x.grad = None
        layer(x, segmap).backward(grad_out)
    if x.is_cuda:
        torch.cuda.synchronize()


def measure(layer: SPADE, segmap, paths, backward: bool, repeats: int) -> dict:
    """Median seconds per path; the paths run interleaved so that load from other processes hits them alike."""
    device = layer.mlp_gamma.weight.device
    x = torch.randn(1, layer.channels, SIZE, SIZE, device=device, requires_grad=backward)
    grad_out = torch.randn(1, layer.channels, SIZE, SIZE, device=device)
    times = {path: [] for path in paths}
    for repeat in range(repeats + 1):  # the first round warms up and is not counted
        for path in paths:
            layer.path = path
            start = time.perf_counter()
            step(layer, x, segmap, grad_out, backward)
            if repeat:
                times[path].append(time.perf_counter() - start)
    return {path: statistics.median(ts) for path, ts in times.items()}


def compare(name: str, layer: SPADE, segmap, repeats: int, paths=("dense", "auto")) -> dict:
    device = layer.mlp_gamma.weight.device
    segmap = segmap.to(device)
    row = {"map": name, "band": band_fraction(segmap, layer.kernel_size)}
    for backward in (False, True):
        row[backward] = measure(layer, segmap, paths, backward, repeats)
    layer.path = "auto"
    layer(torch.randn(1, layer.channels, SIZE, SIZE, device=device), segmap)
    row["chosen"] = layer.last_path
    print(format_row(row, paths[1]), flush=True)
    return row


def format_row(row: dict, path: str) -> str:
    cells = [row["map"], f"{row['band']:.1%}", row["chosen"]]
    for backward in (False, True):
        dense, other = row[backward]["dense"], row[backward][path]
        cells += [f"{dense * 1e3:.0f}", f"{other * 1e3:.0f}", f"{dense / other:.2f}x"]
    return "| " + " | ".join(cells) + " |"


HEADER = ("| label map | band | auto chose | fwd dense ms | fwd {p} ms | fwd speed-up | fwd+bwd dense ms | "
          "fwd+bwd {p} ms | fwd+bwd speed-up |\n|---|---|---|---|---|---|---|---|---|")


GPU_NOTE = (
    "On a GPU the lookup path loses, so `path=\"auto\"` takes the dense path on every device but the CPU: on an "
    "NVIDIA H200 (torch 2.11, `--device cuda`, 2026-11-25) the dense layer took about 1 ms forward and 3 ms "
    "forward+backward (TF32 convolutions; 2 and 5 ms without TF32), the lookup path about 3 and 5 ms on blob maps "
    "with a 25-43% band, its many small kernels and host synchronizations (nonzero, unique) dominating.")


def machine() -> str:
    return (f"{cpu_name()}; {torch.get_num_threads()} torch threads; torch {torch.__version__}; "
            f"Python {platform.python_version()}; {platform.system()} {platform.release()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7, help="timed rounds per case (median reported)")
    parser.add_argument("--samples", type=int, default=3, help="Landscapes samples")
    parser.add_argument("--no-write", action="store_true", help=f"print only, do not write {RESULTS}")
    parser.add_argument("--device", default="cpu", help="cpu (2 threads; writes the results) or cuda (prints)")
    args = parser.parse_args()
    torch.set_num_threads(2)
    torch.manual_seed(0)

    layer = SPADE(CHANNELS, LABEL_CHANNELS).to(args.device)  # hidden 128, kernel 3, batch norm, train mode
    edge_layer = SPADE(CHANNELS, LABEL_CHANNELS + 1).to(args.device)  # + an instance-edge channel
    print(f"device: {args.device}; {machine() if args.device == 'cpu' else torch.cuda.get_device_name()}")
    load_before = load_average()
    print(HEADER.format(p="auto"))
    rows = []
    landscapes = Landscapes(size=SIZE)
    for index in range(args.samples):
        sample = landscapes[index]
        labels, instances = sample["label"][None], sample["instance"][None]
        rows.append(compare(f"Landscapes #{index}", layer, labels, args.repeats))
        edges = LabelMap(labels, LABEL_CHANNELS, instance_edges(instances))
        rows.append(compare(f"Landscapes #{index} + instance edges", edge_layer, edges, args.repeats))
    rows.append(compare("blobs, 10 classes (6x6 cells)", layer, blobs(6), args.repeats))
    rows.append(compare("noise, 151 classes", layer, noise_map(), args.repeats))

    print("\nSweep: the lookup path forced on, regions getting smaller")
    print(HEADER.format(p="fast"))
    sweep = [compare(f"blobs, {cells}x{cells} cells", layer, blobs(cells), args.repeats, ("dense", "fast"))
             for cells in (4, 8, 16, 32, 48)]
    sweep += [compare(f"blobs 6x6 + noise on {share:.0%} of the pixels", layer, noisy_blobs(share), args.repeats,
                      ("dense", "fast")) for share in (0.15, 0.3, 0.45)]
    sweep.append(compare("noise, 151 classes", layer, noise_map(), args.repeats, ("dense", "fast")))

    if args.device == "cpu" and not args.no_write:
        write(rows, sweep, args, load_before)


def load_average() -> str:
    """The 1-minute load average: on a shared machine above the core count, every timing here is inflated, and
    the lookup path's many small parallel ops (each waiting for both threads) more than the dense path's few."""
    return f"{os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else "unknown"


def crossover(sweep) -> str:
    """Is ``SPADE.max_band_fraction`` safe? The slowest speed-up of the lookup path where auto would take it, and
    the smallest band at which, in this run, it lost to the dense path."""
    def speedups(row):
        return row[False]["dense"] / row[False]["fast"], row[True]["dense"] / row[True]["fast"]

    taken = [speedups(row) for row in sweep if row["band"] <= SPADE.max_band_fraction]
    lost = [row["band"] for row in sweep if min(speedups(row)) < 1]
    text = (f"Up to `max_band_fraction` = {SPADE.max_band_fraction}, where `auto` takes the lookup path, its "
            f"slowest case in this sweep still ran {min(f for f, _ in taken):.2f}x (fwd) and "
            f"{min(b for _, b in taken):.2f}x (fwd+bwd) as fast as dense. ")
    if lost:
        return text + f"It first lost to the dense path at a band of {min(lost):.1%}."
    return text + "It lost to the dense path on no map of the sweep."


def write(rows, sweep, args, load_before: str) -> None:
    today = datetime.date.today().isoformat()
    text = [
        "# SPADE: lookup path vs dense convolutions",
        "",
        f"Generated by `python benchmarks/bench_spade.py` on {today}. Machine: {machine()}. Load average "
        f"(1 min) {load_before} at the start and {load_average()} at the end, on {os.cpu_count()} cores; "
        f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}.",
        "",
        "Layer: the full-resolution SPADE of the official ADE20K generator, `SPADE(128, 151)` (hidden 128, 3x3, "
        "batch norm, train mode); x (1, 128, 256, 256) fp32. Medians of "
        f"{args.repeats} interleaved rounds. *fwd*: forward under `torch.no_grad()`; *fwd+bwd*: forward and "
        "backward to x and all weights. *band*: share of pixels whose 5x5 window is not one class (or holds an "
        f"edge, or leaves the image): only those need the gamma/beta convolution. `SPADE.max_band_fraction` = "
        f"{SPADE.max_band_fraction}: above it `path=\"auto\"` takes the dense path.",
        "",
        GPU_NOTE,
        "",
        "## Default path (`auto`) against dense",
        "",
        HEADER.format(p="auto"),
        *[format_row(row, "auto") for row in rows],
        "",
        "## Sweep: the lookup path forced on (`path=\"fast\"`), smaller and smaller regions",
        "",
        HEADER.format(p="fast"),
        *[format_row(row, "fast") for row in sweep],
        "",
        crossover(sweep),
        "",
    ]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(text))
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
