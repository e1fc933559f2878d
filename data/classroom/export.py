"""Export a classroom training run as the course's shipped model (data/classroom/), evaluate it, write its card.

    python -m spade_lib train --preset classroom --out runs/classroom     # 8000 steps, about 85 minutes on 2 cores
    python data/classroom/export.py runs/classroom                        # this script: export + evaluate + card
    python data/classroom/export.py runs/classroom --step 4000 --images 64   # an earlier checkpoint, a quick check

Writes generator.safetensors and encoder.safetensors (the EMA generator and the style encoder, float16),
metrics.json (python -m spade_lib evaluate) and MODEL_CARD.md.
"""
import argparse
import json
import os
from pathlib import Path

import torch

from spade_lib import __version__, checkpoints, metrics
from spade_lib.modes import cpu_name
from spade_lib.models import CLASSROOM_DIR, export_model, load_model, training_minutes

HERE = Path(__file__).resolve().parent


def hardware(threads: int) -> str:
    """Where the run trained, e.g. "AMD EPYC, 2 CPU cores (torch on 1 thread)"."""
    return f"{cpu_name()}, {os.cpu_count()} CPU cores (torch on {threads or 'all'} thread{'s' if threads != 1 else ''})"


def model_card(info: dict, report: dict, real: dict) -> str:
    """MODEL_CARD.md: what the model is, how it was trained, and its metrics next to real images."""
    config = json.loads(info["config"])
    rows = [("label alignment, mIoU", report["alignment"]["miou"], real["alignment"]["miou"], ">= 95% of real"),
            ("label alignment, pixel accuracy", report["alignment"]["pixel_accuracy"],
             real["alignment"]["pixel_accuracy"], ">= 95% of real"),
            ("Fréchet distance, segmenter features", report["frechet"]["segmenter"], real["frechet"]["segmenter"],
             "<= 2x real-vs-real"),
            ("Fréchet distance, texture (Gram) features", report["frechet"]["texture"], real["frechet"]["texture"],
             "<= 2x real-vs-real"),
            ("two-sample classifier accuracy", report["two_sample_accuracy"], real["two_sample_accuracy"],
             "<= 0.75 (0.5 = indistinguishable)"),
            ("diversity (mean pairwise L1 of one map)", report["diversity"]["generated"],
             report["diversity"]["real"], "real: one layout in the 8 styles")]
    table = "\n".join(f"| {name} | {value:.3f} | {ceiling:.3f} | {target} |" for name, value, ceiling, target in rows)
    settings = ", ".join(f"{key}={value}" for key, value in config.items()
                         if key not in ("name", "out", "progress", "device"))
    return f"""# The classroom model

SPADE generator with the style encoder (VAE), trained by `spade_lib` {info['spade_lib_version']} on Landscapes
at {config['size']}x{config['size']} with the `classroom` preset. Files: `generator.safetensors` (the EMA
generator), `encoder.safetensors` (the style encoder), float16; load with `spade_lib.models.load_classroom()`.

- Training: {info['steps']} steps of batch {config['batch_size']} ({int(info['steps']) * config['batch_size']:,}
  images), {float(info['training_minutes']):.0f} minutes of training on {info['hardware']}.
- Configuration: {settings}.
- Retrain: `python -m spade_lib train --preset classroom --out runs/classroom`, then
  `python data/classroom/export.py runs/classroom`.

## Metrics

`python -m spade_lib evaluate data/classroom` on {report['images']} generated vs {report['images']} real validation
images (Landscapes seed 1, never seen in training); "real" is the same measure on real images (see lesson 10 and
`spade_lib.metrics`).

| metric | classroom model | real images | target |
|---|---|---|---|
{table}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", help="the training run's folder (or a checkpoint)")
    parser.add_argument("--step", type=int, default=None, help="export this step's checkpoint (default: newest)")
    parser.add_argument("--images", type=int, default=2000, help="images per evaluation set (default: 2000)")
    parser.add_argument("--out", default=str(CLASSROOM_DIR))
    args = parser.parse_args()
    folder = Path(args.run) / "checkpoints" if (Path(args.run) / "checkpoints").is_dir() else Path(args.run)
    checkpoint = checkpoints.checkpoint_path(folder, args.step) if args.step else checkpoints.resolve(folder)
    state = checkpoints.read_state(checkpoint)
    threads = state["config"]["threads"]
    info = export_model(checkpoint, args.out, info={"hardware": hardware(threads),
                                                    "training_minutes": f"{training_minutes(state):.1f}"})
    print(f"exported {checkpoint} to {args.out}")
    generator, encoder, config = load_model(args.out)
    report, ceilings = metrics.evaluate_model(generator, encoder, metrics.load_segmenter(), config.size,
                                              args.images, args.images // 2)
    print(metrics.format_report(report, ceilings))
    results = metrics.report_json(report, ceilings)
    checkpoints.atomic_write_bytes(Path(args.out) / "metrics.json", results.encode())
    results = json.loads(results)
    card = model_card(info, results["generated"], results["real"])
    checkpoints.atomic_write_bytes(Path(args.out) / "MODEL_CARD.md", card.encode())
    print(f"wrote {args.out}/metrics.json and MODEL_CARD.md (spade_lib {__version__})")


if __name__ == "__main__":
    torch.set_num_threads(1)
    main()
