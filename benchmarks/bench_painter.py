"""How long the painter's kernel takes for one stroke: paint it into the label map, run the generator, encode the PNG.

    python benchmarks/bench_painter.py         # prints a table, writes benchmarks/results/painter.md

Target: at most 150 ms from the end of a stroke to the new image on screen, measured in the browser, with the
classroom model on 2 CPU cores; the kernel's part must be well under that, since the browser, the websocket and
the image decoding take their share. Each stroke goes through ``Painter.receive``, the path of a browser message,
with the classroom model (``data/classroom``) or, while it is missing, a model of the same configuration with
random weights (same work per stroke). 50 strokes per thread count, after 5 for warm-up.
"""
import datetime
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch

from spade_lib import models
from spade_lib.landscapes import NUM_CLASSES
from spade_lib.modes import cpu_name
from spade_lib.painter import Painter

STROKES, WARM_UP = 50, 5
TARGET_MS = 150
RESULTS = Path(__file__).resolve().parent / "results" / "painter.md"


def classroom_model():
    """(generator, encoder, description): the shipped classroom model, or its configuration with random weights."""
    try:
        generator, encoder, _ = models.load_classroom()
        return generator, encoder, "the classroom model (data/classroom)"
    except models.ModelNotFoundError:
        config = models.PRESETS["classroom"]
        torch.manual_seed(0)
        generator, encoder = models.build_generator(config).eval(), models.build_encoder(config).eval()
        return generator, encoder, "the classroom configuration with random weights (data/classroom not there yet)"


def strokes(n: int, size: int, seed: int = 0):
    """``n`` stroke messages as the browser sends them: 2 to 12 points, radius 1 to 6, a random class."""
    rng = np.random.default_rng(seed)
    for k in range(n):
        start = rng.integers(0, size, 2)
        points = np.cumsum(np.vstack([start, rng.integers(-6, 7, (rng.integers(1, 12), 2))]), 0)
        yield {"type": "stroke", "id": k + 1, "points": points.tolist(), "class_id": int(rng.integers(NUM_CLASSES)),
               "radius": int(rng.integers(1, 7)), "new_instance": bool(rng.random() < 0.3)}


def time_strokes(painter: Painter) -> np.ndarray:
    """Milliseconds per stroke (wall clock) of the measured strokes."""
    times = []
    for k, message in enumerate(strokes(WARM_UP + STROKES, painter.width)):
        started = time.perf_counter()
        painter.receive(message)
        if k >= WARM_UP:
            times.append((time.perf_counter() - started) * 1000)
        assert painter.status_level == "info", painter.status
    return np.array(times)


def time_model(painter: Painter, n: int = 20) -> float:
    """Median milliseconds of the generator alone, for the share of the model in a stroke."""
    times = []
    for _ in range(n):
        started = time.perf_counter()
        painter.generate()
        times.append((time.perf_counter() - started) * 1000)
    return float(np.median(times))


def main():
    generator, encoder, description = classroom_model()
    rows = []
    for threads in (1, 2):
        torch.set_num_threads(threads)
        painter = Painter(generator, encoder)
        times = time_strokes(painter)
        median, p95 = np.median(times), np.percentile(times, 95)
        model = time_model(painter)
        verdict = "ok" if p95 <= TARGET_MS / 2 else "over half the budget"
        rows.append((threads, median, p95, times.max(), model, verdict))
        print(f"{threads} thread(s): stroke median {median:.1f} ms, p95 {p95:.1f} ms, max {times.max():.1f} ms; "
              f"generator alone {model:.1f} ms  ({verdict})")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    lines = [
        "# Painter: kernel time per stroke",
        "",
        "`python benchmarks/bench_painter.py`: 64x64 strokes through `Painter.receive` (paint the stroke + run",
        f"the generator + encode the PNG), {STROKES} strokes after {WARM_UP} for warm-up, wall clock. Budget:",
        f"{TARGET_MS} ms from the end of a stroke to the image on screen, measured in the browser; the verdict asks",
        "the kernel's 95th percentile to stay within half of it.",
        "",
        "| torch threads | median ms | p95 ms | max ms | generator alone, median ms | |",
        "|---:|---:|---:|---:|---:|---|",
        *[f"| {t} | {median:.1f} | {p95:.1f} | {worst:.1f} | {model:.1f} | {verdict} |"
          for t, median, p95, worst, model, verdict in rows],
        "",
        f"- model: {description}",
        f"- CPU: {cpu_name()} ({os.cpu_count()} logical cores; load average {load:.1f} at the end of the run)",
        f"- torch {torch.__version__}, numpy {np.__version__}, Python {platform.python_version()}",
        f"- date: {datetime.date.today().isoformat()}",
        "",
    ]
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text("\n".join(lines))
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
