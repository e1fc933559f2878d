"""Train the label-alignment segmenter of lesson 10 and write data/segmenter/segmenter.safetensors.

    python data/segmenter/train.py              # 64x64, about 10 minutes on one CPU core
    python data/segmenter/train.py --steps 50   # a quick check

The segmenter is a small U-Net (spade_lib.metrics.Segmenter) trained on real Landscapes images (seed 0, all
eight styles); it is scored on validation images (seed 1), which spade_lib.metrics uses for every evaluation.
"""
import argparse
import time

import torch

from spade_lib.metrics import (SEGMENTER_PATH, VALIDATION_SEED, EvaluationSets, label_alignment, save_segmenter,
                               train_segmenter)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=4000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default=str(SEGMENTER_PATH))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    start = time.time()
    segmenter = train_segmenter(size=args.size, steps=args.steps)
    minutes = (time.time() - start) / 60
    sets = EvaluationSets.make(args.size, count=1000, test_count=0)
    score = label_alignment(segmenter, sets.images["a"], sets.labels["a"])
    print(f"trained {args.steps} steps in {minutes:.1f} min; on 1000 validation images (seed {VALIDATION_SEED}): "
          f"mIoU {score['miou']:.3f}, pixel accuracy {score['pixel_accuracy']:.3f}")
    save_segmenter(segmenter, args.out, {"size": args.size, "steps": args.steps, "minutes": f"{minutes:.1f}",
                                         "miou": f"{score['miou']:.4f}",
                                         "pixel_accuracy": f"{score['pixel_accuracy']:.4f}"})
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
