"""The classroom model's quality against CPU training minutes: every checkpoint of a run, evaluated with
spade_lib.metrics, next to the real-image ceilings and the flat-colour baseline.

    python benchmarks/bench_classroom.py runs/classroom                 # 2000 + 2000 images per checkpoint
    python benchmarks/bench_classroom.py runs/classroom --images 200    # a rough curve in minutes
    python benchmarks/bench_classroom.py runs/classroom --images 500 --follow --name classroom   # beside the training
    python benchmarks/bench_classroom.py runs/classroom --images 500 --every 1500 --name classroom  # fewer points

Writes benchmarks/results/<name>.md (the table) and <name>.json; lesson 10 plots classroom.json (the shipped
model's run, 500 images, every 1000 steps); classroom_v1.json and classroom_v1_2000.json hold the first classroom
model's run (500 and 2000 images, every 500 steps).
"""
import argparse
import json
import time
from pathlib import Path

import torch

from spade_lib import checkpoints, metrics
from spade_lib.models import load_model, training_minutes

RESULTS = Path(__file__).resolve().parent / "results"


def row(name: str, minutes, report: dict, real: dict) -> dict:
    """One line of the curve: the metrics as fractions of (or multiples of) the real-image values."""
    return {"name": name, "minutes": minutes,
            "miou": report["alignment"]["miou"], "miou_of_real": report["alignment"]["miou"] / real["alignment"]["miou"],
            "pixel_accuracy": report["alignment"]["pixel_accuracy"],
            "fd_segmenter": report["frechet"]["segmenter"],
            "fd_segmenter_x_real": report["frechet"]["segmenter"] / real["frechet"]["segmenter"],
            "fd_texture": report["frechet"]["texture"],
            "fd_texture_x_real": report["frechet"]["texture"] / real["frechet"]["texture"],
            "two_sample_accuracy": report["two_sample_accuracy"],
            "diversity": report.get("diversity", {}).get("generated")}


def markdown(rows: list[dict], real: dict, images: int) -> str:
    lines = ["# Classroom model: quality against CPU training minutes\n",
             f"`python benchmarks/bench_classroom.py` on {images} generated vs {images} real validation images "
             f"(two-sample test: {images} + {images} to train, {images // 2} + {images // 2} held out). Real "
             f"images: mIoU {real['alignment']['miou']:.3f}, pixel accuracy "
             f"{real['alignment']['pixel_accuracy']:.3f}, real-vs-real Fréchet distance "
             f"{real['frechet']['segmenter']:.3f} (segmenter) and {real['frechet']['texture']:.3f} (texture), "
             f"real-vs-real two-sample accuracy {real['two_sample_accuracy']:.1%}. Targets: mIoU >= 95% of real, "
             f"Fréchet <= 2x real-vs-real, two-sample <= 75%.\n",
             "| model | training minutes | mIoU (of real) | pixel acc. | Fréchet seg. (x real) | Fréchet texture "
             "(x real) | two-sample acc. | diversity |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        minutes = "-" if r["minutes"] is None else f"{r['minutes']:.0f}"
        diversity = "-" if r["diversity"] is None else f"{r['diversity']:.3f}"
        lines.append(f"| {r['name']} | {minutes} | {r['miou']:.3f} ({r['miou_of_real']:.0%}) | "
                     f"{r['pixel_accuracy']:.3f} | {r['fd_segmenter']:.3f} ({r['fd_segmenter_x_real']:.1f}x) | "
                     f"{r['fd_texture']:.3f} ({r['fd_texture_x_real']:.1f}x) | {r['two_sample_accuracy']:.1%} | "
                     f"{diversity} |")
    return "\n".join(lines) + "\n"


def wanted(path: Path, every: int) -> bool:
    """Whether a checkpoint's step is a multiple of ``every`` or the run's last."""
    state = checkpoints.read_state(path)
    return state["step"] % every == 0 or state["step"] == state["config"]["steps"]


def new_checkpoints(folder: Path, follow: bool, every: int):
    """The run's checkpoints at every ``every`` steps (and the last), oldest first; with ``follow``, also those
    written later, until the last step."""
    done = set()
    while True:
        waiting = [path for path in checkpoints.list_checkpoints(folder) if path not in done]
        for path in waiting:
            done.add(path)
            if wanted(path, every):
                yield path
        last = checkpoints.read_state(max(done)) if done else None
        if not follow or (last and last["step"] >= last["config"]["steps"]):
            return
        time.sleep(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", help="a classroom training run's folder")
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--name", default=None, help="results file name (default: classroom_<images>)")
    parser.add_argument("--follow", action="store_true",
                        help="wait for new checkpoints until the run's last step (run it beside the training)")
    parser.add_argument("--every", type=int, default=1,
                        help="evaluate only the checkpoints whose step is a multiple of this (and the last)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    name = args.name or f"classroom_{args.images}"
    folder = Path(args.run) / "checkpoints"
    segmenter = metrics.load_segmenter()
    first = checkpoints.read_state(checkpoints.list_checkpoints(folder)[0])
    sets = metrics.EvaluationSets.make(first["config"]["size"], args.images, args.images // 2)
    ceilings = metrics.real_ceilings(segmenter, sets)
    real = metrics.real_values(ceilings)
    colours = metrics.class_mean_colours(sets.images["b"], sets.labels["b"])
    flat = metrics.evaluate_images(segmenter, sets, ceilings, metrics.paint_flat(sets.labels["a"], colours),
                                   metrics.paint_flat(sets.labels["c"], colours))
    rows = [row("flat class colours (baseline)", None, flat, real)]
    for path in new_checkpoints(folder, args.follow, args.every):
        start = time.time()
        state = checkpoints.read_state(path)
        generator, encoder, _ = load_model(path, ema=True)
        report = metrics.evaluate(generator, encoder, segmenter, sets, ceilings)
        rows.append(row(f"step {state['step']}", training_minutes(state), report, real))
        print(f"step {state['step']}: {rows[-1]} ({time.time() - start:.0f} s)", flush=True)
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / f"{name}.json").write_text(json.dumps({"real": real, "images": args.images, "rows": rows},
                                                           indent=2))
        (RESULTS / f"{name}.md").write_text(markdown(rows, real, args.images))
    print(markdown(rows, real, args.images))


if __name__ == "__main__":
    main()
