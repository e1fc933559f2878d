"""The command line: ``python -m spade_lib train | sample | evaluate`` (lesson 08).

    python -m spade_lib train --preset classroom                 # 64x64 on 2 CPU cores, an hour or two
    python -m spade_lib train --preset colab                     # 128x128 on a Colab T4, about 30 minutes
    python -m spade_lib train --preset classroom --resume latest # go on after Ctrl-C or a disconnect
    python -m spade_lib train --preset classroom --steps 3       # a quick check that everything runs
    torchrun --nproc_per_node 4 -m spade_lib train --preset official   # several GPUs
    python -m spade_lib sample --checkpoint runs/classroom --dataset 4 --variants 3 --style sunset

Every field of ``spade_lib.models.TrainConfig`` is an option of ``train`` (``--batch-size 4``, ``--no-amp``).
"""
import argparse
import dataclasses
import sys
from pathlib import Path

import torch

from . import checkpoints, metrics, modes
from .checkpoints import CheckpointError
from .labels import make_segmap, read_label_png, resize_labels
from .landscapes import NUM_CLASSES, STYLE_NAMES, Landscapes, render_labels
from .models import CLASSROOM_DIR, PRESETS, TrainConfig, generate, load_model, run_dir, save_grid
from .training import NonFiniteLossError, Trainer
from .viz import read_image

SAMPLE_ROWS_PER_GRID = 8


# -----------------------------------------------------------------------------------------------------------------
# train


def default_preset() -> str:
    """colab where a GPU is (spade_lib.modes decides), classroom on a CPU."""
    return "colab" if modes.device().type == "cuda" else "classroom"


def add_config_options(parser: argparse.ArgumentParser) -> None:
    """One option per TrainConfig field, with its help text and the values of the presets."""
    group = parser.add_argument_group("training settings (fields of spade_lib.models.TrainConfig; they "
                                      "override the preset)")
    for f in dataclasses.fields(TrainConfig):
        values = {name: getattr(preset, f.name) for name, preset in PRESETS.items()}
        shown = " | ".join(f"{name} {value!r}" for name, value in values.items())
        kwargs = dict(dest=f.name, default=argparse.SUPPRESS, help=f"{f.metadata['help']} [{shown}]")
        if f.type is bool:
            kwargs["action"] = argparse.BooleanOptionalAction
        else:
            kwargs.update(type=f.type, choices=f.metadata["choices"])
            if f.metadata["choices"] is None:
                kwargs["metavar"] = f.name.upper()
        group.add_argument("--" + f.name.replace("_", "-"), **kwargs)


def run_train(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    preset = args.preset or default_preset()
    overrides = {f.name: getattr(args, f.name) for f in dataclasses.fields(TrainConfig) if hasattr(args, f.name)}
    try:
        config = dataclasses.replace(PRESETS[preset], **overrides)
        trainer = Trainer(config)  # the networks check their sizes here
    except ValueError as error:
        parser.error(str(error))
    if trainer.rank == 0:  # torchrun starts one process per GPU: one message is enough
        print(f"spade_lib train: preset {preset}, output folder {run_dir(config)}")
    try:
        if args.resume is not None:
            trainer.load(args.resume)
        trainer.fit()
    except (CheckpointError, NonFiniteLossError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        if torch.distributed.is_initialized():  # started by torchrun
            torch.distributed.destroy_process_group()
    return 0


# -----------------------------------------------------------------------------------------------------------------
# sample


def load_label_maps(args, config: TrainConfig):
    """(labels (N, H, W), instances (N, H, W), real images (N, 3, H, W) or None) at the model's size."""
    if args.labels is not None:
        files = sorted(Path(args.labels).glob("*.png"))
        if not files:
            raise ValueError(f"no .png files in {args.labels}")
        labels = torch.stack([resize_labels(torch.from_numpy(read_label_png(f, NUM_CLASSES))[None],
                                            (config.size, config.size))[0] for f in files])
        return labels, labels, None  # no instance maps: each region of a class counts as one instance
    dataset = Landscapes(size=config.size, length=max(config.dataset_size, args.dataset))
    items = [dataset.render(i, args.style) for i in range(args.dataset)]
    return tuple(torch.stack([item[key] for item in items]) for key in ("label", "instance", "image"))


def style_images(args, config: TrainConfig, labels, real):
    """The images whose style the samples take: --style-image, or --style (the dataset's renderer), or None."""
    if args.style_image is not None:
        pixels = read_image(args.style_image, (config.size, config.size))  # (3, H, W) in [-1, 1]
        return pixels[None].expand(len(labels), -1, -1, -1)
    if args.style is None:
        return None
    if real is not None:
        return real  # the dataset's own layouts, rendered in that style
    # a label map of your own: the Landscapes renderer paints it in that style, the encoder reads the style off
    return torch.stack([render_labels(label, args.style) for label in labels])


def run_sample(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    try:
        path = Path(args.checkpoint)
        generator, encoder, config = load_model(path, ema=args.ema)
        labels, instances, real = load_label_maps(args, config)
    except (CheckpointError, ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    wants_style = args.variants > 1 or args.style is not None or args.style_image is not None
    if wants_style and encoder is None:
        parser.error(f"{path} was trained without the style encoder (use_vae false): it makes one image per label "
                     f"map. --variants, --style and --style-image need a model trained with --use-vae")
    torch.manual_seed(args.seed)
    segmap = make_segmap(labels, NUM_CLASSES, instances if config.instance_edges else None)
    styles = style_images(args, config, labels, real)
    columns = [] if real is None else [real]
    columns += [generate(generator, encoder, segmap, style_images=styles, sample_style=k > 0)
                for k in range(args.variants)]
    out = Path(args.out)
    for first in range(0, len(labels), SAMPLE_ROWS_PER_GRID):
        rows = slice(first, first + SAMPLE_ROWS_PER_GRID)
        grid = save_grid(out / f"grid_{first // SAMPLE_ROWS_PER_GRID:03d}.png", labels[rows],
                         [column[rows] for column in columns])
        print(f"wrote {grid}")
    return 0


# -----------------------------------------------------------------------------------------------------------------
# evaluate


def run_evaluate(args: argparse.Namespace) -> int:
    try:
        generator, encoder, config = load_model(args.checkpoint, device=args.device or modes.device())
        segmenter = metrics.load_segmenter(args.segmenter)
    except (CheckpointError, ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    count = args.images or modes.by_mode(quick=64, default=2000)
    test_count = args.test_images or modes.by_mode(quick=32, default=1000)
    print(f"evaluating {args.checkpoint}: {count} generated vs {count} real images at {config.size}x{config.size}, "
          f"two-sample test on {test_count} + {test_count} held out")
    try:
        report, ceilings = metrics.evaluate_model(generator, encoder, segmenter, config.size, count, test_count,
                                                  args.seed, args.inception_weights)
    except (CheckpointError, FileNotFoundError, ImportError) as error:  # the Inception weights or package
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(metrics.format_report(report, ceilings))
    if args.json:
        checkpoints.atomic_write_bytes(args.json, metrics.report_json(report, ceilings).encode())
        print(f"wrote {args.json}")
    return 0


# -----------------------------------------------------------------------------------------------------------------
# the parser


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m spade_lib", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True, metavar="{train,sample,evaluate}")

    train_parser = commands.add_parser(
        "train", help="train SPADE on Landscapes (the official recipe; presets for a CPU and for Colab)",
        description="Train SPADE with the official recipe (TTUR, hinge loss, feature matching, optional VGG and "
                    "KL). Checkpoints every --save-every steps and on Ctrl-C/SIGTERM; --resume continues "
                    "exactly. Several GPUs: torchrun --nproc_per_node N -m spade_lib train ...")
    train_parser.add_argument("--preset", choices=list(PRESETS), default=None,
                              help="starting settings: classroom (64x64, 2 CPU cores, an hour or two), colab "
                                   "(128x128, a T4 GPU, about 30 minutes), official (the paper's 256x256, "
                                   "several GPUs). Default: colab with a GPU, else classroom")
    train_parser.add_argument("--resume", metavar="PATH|latest", default=None,
                              help="continue from a checkpoint (a step_*.json file or a folder), or 'latest' in "
                                   "the output folder; the settings must match the checkpoint's")
    add_config_options(train_parser)

    sample_parser = commands.add_parser(
        "sample", help="generate images from label maps with a trained checkpoint",
        description="Generate PNG grids (label map | real image if any | generated images) from label maps.")
    sample_parser.add_argument("--checkpoint", default=str(checkpoints.default_run_dir(default_preset())),
                               help="a checkpoint (step_*.json) or a run folder (its newest checkpoint) "
                                    "(default: %(default)s)")
    source = sample_parser.add_mutually_exclusive_group()
    source.add_argument("--labels", metavar="DIR", default=None,
                        help="a folder of label-map PNGs: indexed (palette) PNGs or single-channel PNGs of class ids")
    source.add_argument("--dataset", metavar="N", type=positive_int, default=4,
                        help="use the first N Landscapes samples (default: %(default)s)")
    sample_parser.add_argument("--variants", metavar="N", type=positive_int, default=1,
                               help="images per label map, each with another style vector z (default: %(default)s)")
    style = sample_parser.add_mutually_exclusive_group()
    style.add_argument("--style-image", metavar="PATH", default=None,
                       help="take the style of this image (through the style encoder)")
    style.add_argument("--style", choices=STYLE_NAMES, default=None,
                       help="a Landscapes style preset: the layout is rendered in that style by the dataset's "
                            "renderer and encoded (your own label maps too)")
    sample_parser.add_argument("--ema", action=argparse.BooleanOptionalAction, default=True,
                               help="use the averaged generator when the checkpoint has one (default: yes)")
    sample_parser.add_argument("--seed", type=int, default=0, help="seed of the style vectors (default: 0)")
    sample_parser.add_argument("--out", metavar="DIR", default="samples",
                               help="folder for the PNG grids (default: %(default)s)")

    evaluate_parser = commands.add_parser(
        "evaluate", help="label alignment, Fréchet distances, two-sample test and diversity (lesson 10)",
        description="Evaluate a generator on Landscapes validation images (spade_lib.metrics): every metric next "
                    "to the same measure on real images.")
    evaluate_parser.add_argument("checkpoint", nargs="?", default=str(CLASSROOM_DIR),
                                 help="a shipped model folder, a checkpoint (step_*.json) or a run folder "
                                      "(default: the classroom model, %(default)s)")
    evaluate_parser.add_argument("--images", metavar="N", type=positive_int, default=None,
                                 help="generated and real images per set (default: 2000; quick mode 64)")
    evaluate_parser.add_argument("--test-images", metavar="N", type=positive_int, default=None,
                                 help="held-out images per side of the two-sample test (default: 1000; quick 32)")
    evaluate_parser.add_argument("--segmenter", default=str(metrics.SEGMENTER_PATH),
                                 help="the segmenter's weights (default: %(default)s)")
    evaluate_parser.add_argument("--inception-weights", metavar="PATH", default=None,
                                 help="also the Fréchet distance in FID's Inception space (needs torch-fidelity and "
                                      "the weights file pt_inception-2015-12-05-6726825d.pth; never downloaded)")
    evaluate_parser.add_argument("--json", metavar="PATH", default=None, help="also write the numbers as JSON")
    evaluate_parser.add_argument("--seed", type=int, default=0, help="seed of the style vectors (default: 0)")
    evaluate_parser.add_argument("--device", default=None,
                                 help="where the generator runs, e.g. cuda or cpu (default: CUDA when present); "
                                      "the metrics themselves run on the CPU")
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "train":
        return run_train(args, parser)
    if args.command == "sample":
        return run_sample(args, parser)
    return run_evaluate(args)


if __name__ == "__main__":
    sys.exit(main())
