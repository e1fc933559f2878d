"""The command line: ``python -m spade_lib train | sample | evaluate | download`` (lessons 08 and 11).

    python -m spade_lib train --preset classroom                 # 64x64 on 2 CPU cores, about 85 minutes
    python -m spade_lib train --preset colab                     # 128x128 on a Colab T4, about 30 minutes
    python -m spade_lib train --preset classroom --resume latest # go on after Ctrl-C or a disconnect
    python -m spade_lib train --preset classroom --resume latest --steps 8000   # train a finished run longer
    python -m spade_lib train --preset classroom --steps 3 --out runs/check     # a quick check that it runs
    torchrun --nproc_per_node 4 -m spade_lib train --preset official   # several GPUs
    python -m spade_lib sample --checkpoint runs/classroom --dataset 4 --variants 3 --style sunset
    python -m spade_lib download ade20k                          # ADE20K into ~/spade_data (or $SPADE_DATA, --root)
    python -m spade_lib train --preset ade20k --dataroot ~/spade_data/ade20k   # the official recipe, a GPU job
    python -m spade_lib sample --checkpoint official:ade20k --dataset-root ~/spade_data/ade20k

Every field of ``spade_lib.models.TrainConfig`` is an option of ``train`` (``--batch-size 4``, ``--no-amp``).
A resumed run takes the checkpoint's settings; only those that leave the model and its math alone may change.
Exit codes: 0 done, 1 an error (one line saying what to do), 2 a bad option, 130 / 143 training stopped by
Ctrl-C / SIGTERM (after saving a checkpoint), so ``train && export`` never goes on with a half-trained model.
"""
import argparse
import dataclasses
import json
import shutil
import signal
import sys
import time
from pathlib import Path

import torch

from . import checkpoints, download, metrics, modes, real
from .checkpoints import CheckpointError
from .labels import make_segmap, read_label_png, resize_labels
from .landscapes import NUM_CLASSES, STYLE_NAMES, Landscapes, render_labels
from .models import CLASSROOM_DIR, PRESETS, TrainConfig, config_from_dict, generate, run_dir, save_grid
from .training import RESUMABLE_CHANGES, NonFiniteLossError, Trainer
from .viz import read_image

SAMPLE_ROWS_PER_GRID = 8
RELIABLE_IMAGES = 500  # evaluate warns below this many images per set (the default is 2000)


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


def fail(message: str, code: int = 1) -> int:
    """Print one line "error: ..." and return the exit code."""
    print(f"error: {message}", file=sys.stderr)
    return code


def resume_point(resume: str, config: TrainConfig) -> Path:
    """The checkpoint that --resume names: "latest" in the run folder of ``config``, a step_*.json or a folder."""
    if resume == "latest":
        return checkpoints.find_latest(run_dir(config) / "checkpoints")
    return checkpoints.resolve(resume)


def as_option(name: str, value) -> str:
    """How a setting reads on the command line: ``--batch-size 4``, ``--no-use-vae``."""
    option = name.replace("_", "-")
    if isinstance(value, bool):
        return f"--{option}" if value else f"--no-{option}"
    return f"--{option} {value}"


def resumed_config(path: Path, overrides: dict) -> TrainConfig:
    """The checkpoint's settings with the options given on the command line: those of RESUMABLE_CHANGES (steps,
    how often to save, sample and log, where, on which hardware) may change; any other raises a ValueError with
    the reason. The run goes on in the checkpoint's run folder unless --out says otherwise."""
    saved = config_from_dict(checkpoints.read_state(path)["config"], where=str(path))
    refused = [f"{as_option(name, value)} (the checkpoint has {getattr(saved, name)!r})"
               for name, value in overrides.items() if name not in RESUMABLE_CHANGES and value != getattr(saved, name)]
    if refused:
        raise ValueError(f"cannot resume {path} with {', '.join(refused)}: a resumed run takes the checkpoint's "
                         f"settings, and these change the model or its training math (batch size included: it "
                         f"changes batch-norm statistics and what a step means). Drop them, or start a new run with "
                         f"another --out")
    folder = {"out": str(path.parent.parent)} if path.parent.name == "checkpoints" else {}
    return dataclasses.replace(saved, **{**folder, **overrides})


def check_run_folder(folder: Path, new_run: bool, overwrite: bool) -> bool:
    """Whether ``folder`` holds an earlier run that ``--overwrite`` moves aside. A ValueError for a file, and for
    a new run into an earlier run's folder without ``overwrite``: the two would mix, and pruning would delete the
    new run's checkpoints."""
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"--out {folder} is a file, not a folder: give a folder for the run")
    earlier = checkpoints.list_checkpoints(folder / "checkpoints") if new_run else []
    if earlier and not overwrite:
        raise ValueError(f"{folder / 'checkpoints'} holds the checkpoints of an earlier run (newest: "
                         f"{earlier[-1].name}). Continue it with --resume latest, train into another folder with "
                         f"--out DIR, or pass --overwrite to move the earlier run's files aside (nothing is deleted)")
    return bool(earlier)


def move_earlier_run_aside(folder: Path) -> None:
    """``--overwrite``: the earlier run's checkpoints, samples and history go to ``folder/earlier-run-<time>/``."""
    aside = folder / time.strftime("earlier-run-%Y%m%d-%H%M%S")
    aside.mkdir()
    for name in ("checkpoints", "samples", "history.json"):
        if (folder / name).exists():
            shutil.move(str(folder / name), str(aside / name))
    print(f"--overwrite: moved the earlier run's checkpoints, samples and history to {aside} (delete it when you "
          f"no longer need it)")


def exit_code_of_stop(stop_reason: str) -> int:
    """Shells' convention: 128 + the signal's number (Ctrl-C 130, SIGTERM 143); 1 for a stop in another process."""
    if stop_reason == "KeyboardInterrupt":
        return 128 + signal.SIGINT
    return 128 + signal.Signals[stop_reason] if stop_reason in signal.Signals.__members__ else 1


def run_train(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    preset = args.preset or default_preset()
    overrides = {f.name: getattr(args, f.name) for f in dataclasses.fields(TrainConfig) if hasattr(args, f.name)}
    if args.overwrite and args.resume is not None:
        return fail("--overwrite starts a new run, --resume continues one: give one of them", code=2)
    try:
        config = dataclasses.replace(PRESETS[preset], **overrides)
    except ValueError as error:
        parser.error(str(error))
    try:
        resume = resume_point(args.resume, config) if args.resume is not None else None
        if resume is not None:
            config = resumed_config(resume, overrides)
        earlier_run = check_run_folder(run_dir(config), new_run=resume is None, overwrite=args.overwrite)
    except (CheckpointError, ValueError) as error:
        return fail(str(error))
    try:
        trainer = Trainer(config)  # the networks check their sizes here, the dataset its folder
    except FileNotFoundError as error:
        return fail(str(error))
    except ValueError as error:
        parser.error(str(error))
    if earlier_run and trainer.rank == 0:
        move_earlier_run_aside(run_dir(config))
    if trainer.rank == 0:  # torchrun starts one process per GPU: one message is enough
        print(f"spade_lib train: {'resuming ' + str(resume) if resume else 'preset ' + preset}, output folder "
              f"{run_dir(config)}")
    try:
        if resume is not None:
            trainer.load(resume)
        trainer.fit()
    except (CheckpointError, NonFiniteLossError) as error:
        return fail(str(error))
    finally:
        if torch.distributed.is_initialized():  # started by torchrun
            torch.distributed.destroy_process_group()
    if trainer.stop_reason is None:
        return 0
    code = exit_code_of_stop(trainer.stop_reason)
    if trainer.rank == 0:
        print(f"exit code {code}: stopped at step {trainer.step} of {config.steps}, not finished (--resume latest "
              f"goes on)", file=sys.stderr)
    return code


# -----------------------------------------------------------------------------------------------------------------
# sample


def load_label_maps(args, config: TrainConfig):
    """(labels (N, H, W), instances (N, H, W), real images (N, 3, H, W) or None, palette or None) at the model's
    size: from --labels, --dataset-root (the model's own dataset, its palette) or Landscapes."""
    num_ids, contain_dontcare = real.label_ids(config)
    if args.labels is not None:
        files = sorted(Path(args.labels).glob("*.png"))
        if not files:
            raise ValueError(f"--labels {args.labels}: no .png files there; give a folder of label-map PNGs")
        labels = torch.stack([label_map_at(f, (real.model_height(config), config.size), num_ids) for f in files])
        return labels, labels, None, real.palette_of(config)  # no instance maps: a region of a class is one instance
    if args.dataset_root is not None:
        batch, dataset = real.dataset_batch(config, args.dataset_root, args.dataset)
        return batch["label"], batch.get("instance", batch["label"]), batch["image"], dataset.palette
    if config.dataset != "landscapes":
        raise ValueError(f"this model was trained on {config.dataset}: give its label maps with --dataset-root DIR "
                         f"(the dataset's folder) or --labels DIR")
    dataset = Landscapes(size=config.size, length=max(config.dataset_size, args.dataset))
    items = [dataset.render(i, args.style) for i in range(args.dataset)]
    return tuple(torch.stack([item[key] for item in items]) for key in ("label", "instance", "image")) + (None,)


def label_map_at(path: Path, size: tuple, num_ids: int = NUM_CLASSES) -> torch.Tensor:
    """(H, W) ids of a label-map PNG (ids below ``num_ids``), resized (nearest) to the model's ``size`` = (H, W)
    with a note saying so."""
    ids = torch.from_numpy(read_label_png(path, num_ids))
    height, width = ids.shape
    if (height, width) != tuple(size):
        stretched = ", stretched: its aspect ratio changed" if height * size[1] != width * size[0] else ""
        print(f"note: {path} is {width}x{height}, resized (nearest neighbour) to the model's {size[1]}x{size[0]}"
              f"{stretched}; draw it at {size[1]}x{size[0]} to keep it as it is", file=sys.stderr)
    return resize_labels(ids[None], size)[0]


def style_images(args, config: TrainConfig, labels, real):
    """The images whose style the samples take: --style-image, or --style (the dataset's renderer), or None."""
    if args.style_image is not None:
        if not Path(args.style_image).is_file():
            raise ValueError(f"--style-image {args.style_image} does not exist (or is not a file): give the path of "
                             f"a photo (PNG or JPEG)")
        try:
            pixels = read_image(args.style_image, (config.size, config.size))  # (3, H, W) in [-1, 1]
        except ValueError as error:
            raise ValueError(f"--style-image {args.style_image}: {error}; give a photo (PNG or JPEG)") from None
        return pixels[None].expand(len(labels), -1, -1, -1)
    if args.style is None:
        return None
    if real is not None:  # (the argument hides the module spade_lib.real here)
        return real  # the dataset's own layouts, rendered in that style
    # a label map of your own: the Landscapes renderer paints it in that style, the encoder reads the style off
    return torch.stack([render_labels(label, args.style) for label in labels])


def run_sample(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        return fail(f"--out {out} is a file, not a folder: give a folder for the PNG grids")
    try:
        path = Path(args.checkpoint)
        generator, encoder, config = real.load_any_model(args.checkpoint, root=args.root, ema=args.ema)
        labels, instances, photos, palette = load_label_maps(args, config)
        styles = style_images(args, config, labels, photos)
    except (CheckpointError, ValueError, FileNotFoundError) as error:
        return fail(str(error))
    if (args.style is not None or args.style_image is not None) and encoder is None:
        parser.error(f"{path} was trained without the style encoder (use_vae false): it has no style to take "
                     f"from a photo. --style and --style-image need a model trained with --use-vae")
    if args.variants > 1 and encoder is None and not config.noise_3d:
        parser.error(f"{path} was trained without the style encoder (use_vae false) and without 3D noise: it makes "
                     f"one image per label map. --variants needs a model trained with --use-vae or --noise-3d")
    torch.manual_seed(args.seed)
    classes, contain_dontcare = real.label_layout(config)
    segmap = make_segmap(labels, classes, instances if config.instance_edges else None,
                         contain_dontcare=contain_dontcare)
    columns = [] if photos is None else [photos]
    columns += [generate(generator, encoder, segmap, style_images=styles, sample_style=k > 0)
                for k in range(args.variants)]
    for first in range(0, len(labels), SAMPLE_ROWS_PER_GRID):
        rows = slice(first, first + SAMPLE_ROWS_PER_GRID)
        grid = save_grid(out / f"grid_{first // SAMPLE_ROWS_PER_GRID:03d}.png", labels[rows],
                         [column[rows] for column in columns], palette)
        print(f"wrote {grid}")
    return 0


# -----------------------------------------------------------------------------------------------------------------
# evaluate


def run_evaluate(args: argparse.Namespace) -> int:
    if args.json is not None and Path(args.json).is_dir():
        return fail(f"--json {args.json} is a folder: give the name of the JSON file to write")
    try:
        generator, encoder, config = real.load_any_model(args.checkpoint, args.root, args.device or modes.device())
        if args.dataset_root is not None or config.dataset != "landscapes":
            return evaluate_on_dataset(args, generator, encoder, config)
        segmenter = metrics.load_segmenter(args.segmenter or metrics.SEGMENTER_PATH)
    except (CheckpointError, ValueError, FileNotFoundError, ImportError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    count = args.images or modes.by_mode(quick=64, default=2000)
    test_count = args.test_images or modes.by_mode(quick=32, default=1000)
    print(f"evaluating {args.checkpoint}: {count} generated vs {count} real images at {config.size}x{config.size}, "
          f"two-sample test on {test_count} + {test_count} held out")
    if count < RELIABLE_IMAGES:
        print(f"warning: {count} images (quick mode, or --images) are too few for reliable numbers: Fréchet "
              f"distances, and far more the real-vs-real ones, shrink as the sets grow, so their ratios shift, and "
              f"the two-sample accuracy varies by many points between runs (lesson 10 shows why). Use the "
              f"default 2000 for numbers you report", file=sys.stderr)
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


def evaluate_on_dataset(args, generator, encoder, config: TrainConfig) -> int:
    """``evaluate --dataset-root``: Fréchet Inception distance and/or mIoU with the user's segmenter (real.py)."""
    if args.dataset_root is None:
        raise ValueError(f"this model was trained on {config.dataset}: give the dataset's folder with "
                         f"--dataset-root DIR")
    segmenter = real.load_callable(args.segmenter) if args.segmenter else None
    if segmenter is None and args.inception_weights is None:
        raise ValueError("evaluating on a real dataset needs --inception-weights PATH (Fréchet distance) and/or "
                         "--segmenter module:function (mIoU): the Landscapes segmenter does not apply to photos")
    count = args.images or modes.by_mode(quick=16, default=2000)
    _, dataset = real.dataset_batch(config, args.dataset_root, 1)
    print(f"evaluating {args.checkpoint} on {min(count, len(dataset))} {dataset.name} validation images")
    report = real.evaluate_on_dataset(generator, encoder, dataset, count, segmenter, args.inception_weights,
                                      args.seed)
    print("\n".join(f"{name}: {value:.4g}" for name, value in report.items()))
    if args.json:
        checkpoints.atomic_write_bytes(args.json, json.dumps(report, indent=2).encode())
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
    commands = parser.add_subparsers(dest="command", required=True, metavar="{train,sample,evaluate,download}")

    train_parser = commands.add_parser(
        "train", help="train SPADE on Landscapes (the official recipe; presets for a CPU and for Colab)",
        description="Train SPADE with the official recipe (TTUR, hinge loss, feature matching, optional VGG and "
                    "KL). Writes checkpoints every --save-every steps and on Ctrl-C/SIGTERM (then exits with 130/143), "
                    "the loss history (history.json) and sample grids; --resume continues exactly. Several GPUs: "
                    "torchrun --nproc_per_node N -m spade_lib train ...")
    train_parser.add_argument("--preset", choices=list(PRESETS), default=None,
                              help="starting settings: classroom (64x64, 2 CPU cores, about an hour and a half: "
                                   "85 minutes measured, see the README), colab (128x128, a T4 GPU, about 30 minutes), "
                                   "official (the paper's 256x256, several GPUs), ade20k, cityscapes, coco (the official "
                                   "datasets' options, GPU jobs; --dataroot). Default: colab with a GPU, else "
                                   "classroom")
    train_parser.add_argument("--resume", metavar="PATH|latest", default=None,
                              help="continue from a checkpoint (a step_*.json file or a folder), or 'latest' in "
                                   "the output folder. The run takes the checkpoint's settings and folder; you may "
                                   "change only " + ", ".join("--" + n.replace("_", "-") for n in RESUMABLE_CHANGES)
                                   + " (a larger --steps extends the run, a finished one too: the learning-rate "
                                   "decay then follows the new length); any other option is refused")
    train_parser.add_argument("--overwrite", action="store_true",
                              help="start a new run in a folder that holds an earlier run's checkpoints: they, its "
                                   "samples and history are moved to <folder>/earlier-run-<time>/ (never deleted). "
                                   "Without it such a folder is refused")
    add_config_options(train_parser)

    sample_parser = commands.add_parser(
        "sample", help="generate images from label maps with a trained checkpoint",
        description="Generate PNG grids (label map | real image if any | generated images) from label maps.")
    sample_parser.add_argument("--checkpoint", default=str(checkpoints.default_run_dir(default_preset())),
                               help="a checkpoint (step_*.json), a run folder (its newest checkpoint), or "
                                    "official:ade20k / official:cityscapes / official:coco (the official pretrained "
                                    "generators, after python -m spade_lib download official-checkpoints) "
                                    "(default: %(default)s)")
    add_real_data_options(sample_parser)
    source = sample_parser.add_mutually_exclusive_group()
    source.add_argument("--labels", metavar="DIR", default=None,
                        help="a folder of label-map PNGs: indexed (palette) PNGs or single-channel PNGs of class ids")
    source.add_argument("--dataset", metavar="N", type=positive_int, default=4,
                        help="use the first N Landscapes samples, or with --dataset-root the first N validation "
                             "samples of the model's dataset (default: %(default)s)")
    sample_parser.add_argument("--variants", metavar="N", type=positive_int, default=1,
                               help="images per label map, each with another style vector z (or, for a model with 3D "
                                    "noise, another draw of the noise) (default: %(default)s)")
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
                                 help="a shipped model folder, a checkpoint (step_*.json), a run folder or "
                                      "official:<ade20k|cityscapes|coco> (with --dataset-root) (default: the "
                                      "classroom model, %(default)s)")
    evaluate_parser.add_argument("--images", metavar="N", type=positive_int, default=None,
                                 help="generated and real images per set (default: 2000; quick mode 64)")
    evaluate_parser.add_argument("--test-images", metavar="N", type=positive_int, default=None,
                                 help="held-out images per side of the two-sample test (default: 1000; quick 32)")
    evaluate_parser.add_argument("--segmenter", default=None,
                                 help=f"Landscapes: the segmenter's weights (default: {metrics.SEGMENTER_PATH}); a "
                                      f"real dataset: module:function, your callable taking images (N, 3, H, W) in "
                                      f"[-1, 1] to (N, classes, H, W) logits or (N, H, W) ids, for the mIoU")
    add_real_data_options(evaluate_parser)
    evaluate_parser.add_argument("--inception-weights", metavar="PATH", default=None,
                                 help="also the Fréchet distance in FID's Inception space (needs torch-fidelity and "
                                      "the weights file pt_inception-2015-12-05-6726825d.pth; never downloaded)")
    evaluate_parser.add_argument("--json", metavar="PATH", default=None, help="also write the numbers as JSON")
    evaluate_parser.add_argument("--seed", type=int, default=0, help="seed of the style vectors (default: 0)")
    evaluate_parser.add_argument("--device", default=None,
                                 help="where the generator runs, e.g. cuda or cpu (default: CUDA when present); "
                                      "the metrics themselves run on the CPU")
    download_parser = commands.add_parser(
        "download", help="download a dataset or the official checkpoints (only when asked; checksums, resume)",
        description=download.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    download.add_arguments(download_parser)
    return parser


def add_real_data_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--root", default=None,
                        help="where python -m spade_lib download put the official checkpoints (default: "
                             "$SPADE_DATA or ~/spade_data)")
    parser.add_argument("--dataset-root", metavar="DIR", default=None,
                        help="the folder of the model's own dataset (ADE20K, Cityscapes, COCO-Stuff or a folder): "
                             "label maps (and photos) from its validation split, its classes and palette")


def check_device(name: str) -> None:
    """A ValueError naming --device when this machine has no such device."""
    if name == "auto":
        return
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ValueError(f"--device {name!r} names no device: use auto, cpu, cuda or cuda:N") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"--device {name}: this machine has no CUDA GPU that torch can use; use --device cpu, or "
                         f"auto (CUDA when present)")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise ValueError(f"--device {name}: this machine has {torch.cuda.device_count()} CUDA GPU(s), numbered from "
                         f"0; use one of them, or --device auto")
    if device.type not in ("cpu", "cuda"):
        raise ValueError(f"--device {name}: spade_lib trains and samples on cpu or cuda only")


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        check_device(getattr(args, "device", None) or "auto")
    except ValueError as error:
        return fail(str(error), code=2)
    if args.command == "train":
        return run_train(args, parser)
    if args.command == "sample":
        return run_sample(args, parser)
    if args.command == "download":
        return download.run(args)
    return run_evaluate(args)


if __name__ == "__main__":
    sys.exit(main())
