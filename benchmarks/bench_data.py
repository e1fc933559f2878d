"""How fast Landscapes makes samples (label + instance + image), in one process with one thread.

    python benchmarks/bench_data.py            # prints a table, writes benchmarks/results/data.md

Targets (the dataset must never slow training): 500 samples/s at 64 x 64, 150 samples/s at 128 x 128.
Each size is timed a few times on fresh indices and the best run is kept, because other processes on a shared
machine only ever slow a run down. Both wall-clock and CPU-time throughput are reported: on a busy machine the
CPU-time figure is what this process would reach alone.
"""
import datetime
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch

from spade_lib.landscapes import Landscapes, make_layout
from spade_lib.modes import cpu_name

SIZES = {64: 500, 128: 150, 256: None}  # size -> target samples/s
RESULTS = Path(__file__).resolve().parent / "results" / "data.md"


def throughput(size: int, repeats: int = 3, seconds: float = 1.5):
    """Best wall-clock and CPU-time samples/s over ``repeats`` runs of about ``seconds`` each."""
    ds = Landscapes(size=size, length=10**6)
    ds[0]  # builds the texture tiles for this size once
    n = max(10, int(seconds * {64: 800, 128: 300, 256: 80}.get(size, 50)))
    best_wall = best_cpu = 0.0
    for repeat in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        for index in range(1 + repeat * n, 1 + (repeat + 1) * n):
            ds[index]
        best_wall = max(best_wall, n / (time.perf_counter() - wall))
        best_cpu = max(best_cpu, n / (time.process_time() - cpu))
    return best_wall, best_cpu


def layout_ms(size: int, n: int = 200) -> float:
    """CPU milliseconds per sample for the layout alone (label and object maps, no image)."""
    cpu = time.process_time()
    for index in range(n):
        make_layout(0, index, size, size)
    return (time.process_time() - cpu) * 1000 / n


def main():
    torch.set_num_threads(1)
    rows = []
    for size, target in SIZES.items():
        wall, cpu = throughput(size)
        layout = layout_ms(size)
        image = 1000 / cpu - layout
        verdict = "" if target is None else "ok" if wall >= target else "ok (CPU time)" if cpu >= target else "SLOW"
        rows.append((size, wall, cpu, layout, image, target, verdict))
        print(f"{size:>4} x {size:<4} {wall:7.0f} samples/s wall  {cpu:7.0f} samples/s CPU   "
              f"layout {layout:.2f} ms + image {image:.2f} ms (CPU)   target {target or '-'}  {verdict}")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    lines = [
        "# Landscapes data throughput",
        "",
        "`python benchmarks/bench_data.py`: one process, `torch.set_num_threads(1)`, label + instance + image per",
        "sample, best of 3 runs on fresh indices.",
        "",
        "| size | samples/s (wall) | samples/s (CPU time) | layout ms (CPU) | image ms (CPU) | target | |",
        "|---:|---:|---:|---:|---:|---:|---|",
        *[f"| {s}x{s} | {wall:.0f} | {cpu:.0f} | {layout:.2f} | {image:.2f} | {target or '-'} | {verdict} |"
          for s, wall, cpu, layout, image, target, verdict in rows],
        "",
        f"- CPU: {cpu_name()} ({os.cpu_count()} logical cores; load average {load:.1f} during the run)",
        f"- torch {torch.__version__}, numpy {np.__version__}, Python {platform.python_version()}",
        f"- date: {datetime.date.today().isoformat()}",
        "",
    ]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines))
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
