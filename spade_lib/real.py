"""Sampling and evaluating on real datasets and with the official models (lesson 11; ``python -m spade_lib sample``
and ``evaluate`` use it).

- ``load_any_model("official:ade20k", root)``: an official pretrained generator (``spade_lib.official``) with the
  config of its preset; any other name goes to ``models.load_model`` (a run, a checkpoint, a shipped model).
- ``dataset_batch(config, root, count)``: the first ``count`` validation samples of the model's dataset under
  ``root``, read with the official testing options, and the dataset (its ``segmap``, ``class_names``, ``palette``).
- ``evaluate_on_dataset``: the Fréchet distance in Inception space (weights the user gives, ``spade_lib.inception``)
  and label alignment (mIoU) with a segmenter the user gives (``load_callable("module:function")``: images in
  [-1, 1] (N, 3, H, W) -> (N, classes, H, W) logits or (N, H, W) ids). Nothing else is pretended: the
  Landscapes metrics (the shipped segmenter, textures) do not apply to photos.
"""
import dataclasses
import importlib
from pathlib import Path

import torch

from . import official
from .datasets.build import OFFICIAL, label_layout, training_dataset
from .datasets.classes import voc_colour_map
from .inception import inception_features
from .layers import batched
from .metrics import alignment_of_counts, frechet_distance, pixel_counts
from .models import PRESETS, TrainConfig, generate, load_model

OFFICIAL_PREFIX = "official:"


def load_any_model(spec: str, root=None, device="cpu", ema: bool = True):
    """(generator, encoder or None, config): ``official:<ade20k|cityscapes|coco>`` for an official pretrained
    generator (downloaded beforehand under ``root``: ``python -m spade_lib download official-checkpoints``), else
    a path for ``models.load_model``."""
    if not str(spec).startswith(OFFICIAL_PREFIX):
        return load_model(Path(spec), device=device, ema=ema)
    name = str(spec)[len(OFFICIAL_PREFIX):]
    if name not in official.DATASETS:
        raise ValueError(f"unknown official model {spec!r}: choose one of "
                         f"{', '.join(OFFICIAL_PREFIX + n for n in official.DATASETS)}")
    generator = official.pretrained(name, root=root, device=device)
    config = dataclasses.replace(PRESETS[name], use_vae=generator.use_vae, size=generator.width,
                                 aspect_ratio=generator.width / generator.height)  # the preset at its own size
    return generator, None, config


def label_ids(config: TrainConfig):
    """(ids a label map of the config's dataset may hold, whether the last is "don't care")."""
    classes, contain_dontcare = label_layout(config)
    return classes + int(contain_dontcare), contain_dontcare


def palette_of(config: TrainConfig):
    """One colour per id of the config's dataset (None: Landscapes', the grids' default)."""
    if config.dataset in OFFICIAL:
        return OFFICIAL[config.dataset].palette
    return voc_colour_map(label_ids(config)[0]) if config.dataset == "folder" else None


def model_height(config: TrainConfig) -> int:
    return round(config.size / config.aspect_ratio)


def dataset_batch(config: TrainConfig, root, count: int):
    """(batch of the first ``count`` validation samples, dataset) of the model's dataset in folder ``root``."""
    if config.dataset == "landscapes":
        raise ValueError("--dataset-root takes label maps from a real dataset, and this model was trained on "
                         "Landscapes: use --dataset N (Landscapes samples) or --labels DIR")
    dataset = training_dataset(dataclasses.replace(config, dataroot=str(root)), train=False)
    items = [dataset[i] for i in range(min(count, len(dataset)))]
    return torch.utils.data.default_collate(items), dataset


def load_callable(spec: str):
    """The callable that ``module:function`` names (the module importable, e.g. a file on PYTHONPATH)."""
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"--segmenter {spec!r}: give module:function, a callable that takes images (N, 3, H, W) "
                         f"in [-1, 1] and returns (N, classes, H, W) logits or (N, H, W) class ids")
    try:
        function = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as error:
        raise ValueError(f"--segmenter {spec}: cannot import it ({error}); put the module on PYTHONPATH") from None
    if not callable(function):
        raise ValueError(f"--segmenter {spec} is a {type(function).__name__}, not a callable")
    return function


@torch.no_grad()
def predicted_ids(segmenter, images: torch.Tensor, num_ids: int) -> torch.Tensor:
    """(N, H, W) ids of the user's segmenter on ``images``: logits are argmaxed; ids out of range are refused."""
    out = segmenter(images)
    ids = out.argmax(1) if out.dim() == 4 else out
    if ids.shape != images.shape[:1] + images.shape[2:] or ids.is_floating_point():
        raise ValueError(f"the segmenter returned {tuple(out.shape)} {out.dtype}; expected (N, {num_ids}, H, W) "
                         f"logits or (N, H, W) integer ids for images {tuple(images.shape)}")
    if ids.min() < 0 or ids.max() >= num_ids:
        raise ValueError(f"the segmenter returned ids {int(ids.min())}..{int(ids.max())}, outside this dataset's "
                         f"[0, {num_ids})")
    return ids.long()


def mean_iou(predicted: torch.Tensor, labels: torch.Tensor, num_ids: int) -> float:
    """IoU_c = TP_c / (TP_c + FP_c + FN_c) over the whole set, averaged over the classes that occur (lesson 10's
    ``metrics.label_alignment``, for a segmenter the user provides)."""
    return alignment_of_counts(pixel_counts(predicted, labels, num_ids))["miou"]


def evaluate_on_dataset(generator, encoder, dataset, count: int, segmenter=None, inception_weights=None,
                        seed: int = 0) -> dict:
    """Generated vs real on the first ``count`` samples of ``dataset``: ``frechet_inception`` (with
    ``inception_weights``) and ``miou_generated`` next to ``miou_real`` (the segmenter on the photos: its
    ceiling), with ``segmenter``; at least one of the two is needed."""
    if segmenter is None and inception_weights is None:
        raise ValueError("evaluating on a real dataset needs --inception-weights PATH (Fréchet distance) and/or "
                         "--segmenter module:function (mIoU): the Landscapes segmenter does not apply to photos")
    batch = torch.utils.data.default_collate([dataset[i] for i in range(min(count, len(dataset)))])
    device = next(generator.parameters()).device
    torch.manual_seed(seed)
    real = batch["image"]
    fake = torch.cat([generate(generator, encoder, dataset.segmap(part).to(device)).cpu()
                      for part in split_batch(batch, 16)])
    report = {"images": len(real)}
    if inception_weights is not None:
        report["frechet_inception"] = frechet_distance(inception_features(fake, inception_weights),
                                                       inception_features(real, inception_weights))
    if segmenter is not None:
        ids = {name: torch.cat([predicted_ids(segmenter, part, dataset.num_ids) for part in batched(images, 16)])
               for name, images in (("generated", fake), ("real", real))}
        for name, predicted in ids.items():
            report[f"miou_{name}"] = mean_iou(predicted, batch["label"], dataset.num_ids)
    return report


def split_batch(batch: dict, size: int):
    """A collated batch in parts of ``size`` samples (the tensors only)."""
    tensors = {key: value for key, value in batch.items() if isinstance(value, torch.Tensor)}
    total = len(batch["label"])
    return [{key: value[first:first + size] for key, value in tensors.items()} for first in range(0, total, size)]
