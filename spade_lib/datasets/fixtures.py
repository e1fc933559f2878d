"""Small fake datasets in the official folder layouts, for machines without the real data (lesson 11's quick and
default modes, the tests).

``make_fixture(root, "ade20k")`` writes a few Landscapes scenes (``spade_lib.landscapes``), relabelled with plausible
classes of the real dataset, as that dataset's files: JPEG or PNG photos, greyscale label maps, instance maps
where the dataset has them. Widths (and for ADE20K, COCO-Stuff and the folder, heights) vary from file to file
like real photos, and everything is deterministic from ``seed``. It returns the root to give the reader::

    root = make_fixture(tmp, "cityscapes")
    ds = Cityscapes(root, split="train")
"""
from pathlib import Path
from typing import Dict

import numpy as np
from PIL import Image

from ..landscapes import CLASS_NAMES as LANDSCAPE_CLASSES
from ..landscapes import PALETTE as LANDSCAPE_PALETTE
from ..landscapes import Landscapes
from ..landscapes.classes import THINGS
from ..labels import label_png_bytes
from .classes import ADE20K_CLASSES, CITYSCAPES_CLASSES, COCO_STUFF_CLASSES

# Landscapes class -> a class of each dataset that looks like it. Cityscapes has no nature classes to speak of,
# so its fixture is a "town": mountains become buildings, water a road and rocks cars (with instance ids).
AS_ADE20K = {"sky": "sky", "cloud": "sky", "mountain": "mountain", "snow": "mountain", "water": "water",
             "sand": "sand", "grass": "grass", "tree": "tree", "rock": "rock", "bush": "plant", "dirt": "earth"}
AS_CITYSCAPES = {"sky": "sky", "cloud": "sky", "mountain": "building", "snow": "building", "water": "road",
                 "sand": "sidewalk", "grass": "terrain", "tree": "vegetation", "rock": "car", "bush": "vegetation",
                 "dirt": "sidewalk"}
AS_COCO_STUFF = {"sky": "sky-other", "cloud": "clouds", "mountain": "mountain", "snow": "snow", "water": "sea",
                 "sand": "sand", "grass": "grass", "tree": "tree", "rock": "rock", "bush": "bush", "dirt": "dirt"}
DATASETS = ("ade20k", "cityscapes", "coco", "folder")
SPLITS = ("train", "val")


def id_table(names: Dict[str, str], classes, offset: int = 0) -> np.ndarray:
    """Landscapes class -> dataset id, as a lookup array (``offset`` 1 for ADE20K, whose files count from 1)."""
    return np.array([classes.index(names[name]) + offset for name in LANDSCAPE_CLASSES], np.int64)


def scenes(count: int, size: int, seed: int, split: str, square: bool):
    """``count`` Landscapes samples as numpy (label, instance, photo), cropped to varied odd sizes unless 2:1."""
    landscapes = Landscapes(size=(size, 2 * size), length=count, seed=seed * 2 + SPLITS.index(split))
    for index in range(count):
        sample = landscapes[index]
        height, width = (size - index % 3, size + (37 * index + 13) % size) if square else (size, 2 * size)
        photo = ((sample["image"].permute(1, 2, 0).numpy() + 1) * 127.5).round().clip(0, 255).astype(np.uint8)
        yield (sample["label"].numpy()[:height, :width], sample["instance"].numpy()[:height, :width],
               photo[:height, :width])


def save(array: np.ndarray, path: Path, **options) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path, **options)


def thing_counts(instance: np.ndarray) -> np.ndarray:
    """Number the Landscapes objects (each cloud, tree, rock and bush) 0, 1, 2, ... in raster order; -1 elsewhere."""
    is_thing = np.isin(instance // 1000, THINGS)
    numbered = np.full(instance.shape, -1, np.int64)
    _, numbered[is_thing] = np.unique(instance[is_thing], return_inverse=True)
    return numbered


def write_ade20k(root: Path, count: int, size: int, seed: int) -> Path:
    root = root / "ADEChallengeData2016"
    ids = id_table(AS_ADE20K, ADE20K_CLASSES, offset=1)
    for split, folder in zip(SPLITS, ("training", "validation")):
        for index, (label, _, photo) in enumerate(scenes(count, size, seed, split, square=True), 1):
            name = f"ADE_{split}_{index:08d}"
            save(photo, root / "images" / folder / f"{name}.jpg", quality=95)
            save(ids[label].astype(np.uint8), root / "annotations" / folder / f"{name}.png")
    return root


def write_cityscapes(root: Path, count: int, size: int, seed: int) -> Path:
    root = root / "cityscapes"
    ids = id_table(AS_CITYSCAPES, CITYSCAPES_CLASSES)
    for split, city in zip(SPLITS, ("aachen", "frankfurt")):
        for index, (label, instance, photo) in enumerate(scenes(count, size, seed, split, square=False)):
            name = f"{city}_{index:06d}_000019"
            label_ids = ids[label]
            cars = (label_ids == CITYSCAPES_CLASSES.index("car")) & (thing_counts(instance) >= 0)
            instance_ids = np.where(cars, label_ids * 1000 + thing_counts(instance), label_ids)  # labels.py rule
            save(photo, root / "leftImg8bit" / split / city / f"{name}_leftImg8bit.png")
            save(label_ids.astype(np.uint8), root / "gtFine" / split / city / f"{name}_gtFine_labelIds.png")
            save(instance_ids.astype(np.uint16), root / "gtFine" / split / city / f"{name}_gtFine_instanceIds.png")
    return root


def write_coco(root: Path, count: int, size: int, seed: int) -> Path:
    root = root / "coco_stuff"
    ids = id_table(AS_COCO_STUFF, COCO_STUFF_CLASSES)
    for split in SPLITS:
        for index, (label, instance, photo) in enumerate(scenes(count, size, seed, split, square=True)):
            name = f"{1000 * SPLITS.index(split) + index + 1:012d}"
            label_ids = ids[label]
            label_ids[:2, :3] = 255  # a few unlabelled pixels, as in every real file
            numbered = thing_counts(instance)
            # official datasets/coco_generate_instance_map.py: the label map, with object k painted as value k
            instance_map = np.where(numbered >= 0, numbered % 256, label_ids)
            save(photo, root / f"{split}_img" / f"{name}.jpg", quality=95)
            save(label_ids.astype(np.uint8), root / f"{split}_label" / f"{name}.png")
            save(instance_map.astype(np.uint8), root / f"{split}_inst" / f"{name}.png")
    return root


def write_folder(root: Path, count: int, size: int, seed: int) -> Path:
    """A custom folder: images/ (JPEG), labels/ (indexed PNGs in the Landscapes palette), palette.txt."""
    root = root / "my_dataset"
    for index, (label, _, photo) in enumerate(scenes(count, size, seed, "train", square=True)):
        save(photo, root / "images" / f"scene_{index:03d}.jpg", quality=95)
        (root / "labels").mkdir(parents=True, exist_ok=True)
        (root / "labels" / f"scene_{index:03d}.png").write_bytes(label_png_bytes(label, LANDSCAPE_PALETTE))
    lines = [f"{r} {g} {b} {name}" for (r, g, b), name in zip(LANDSCAPE_PALETTE.tolist(), LANDSCAPE_CLASSES)]
    (root / "palette.txt").write_text("# r g b name\n" + "\n".join(lines) + "\n")
    return root


WRITERS = {"ade20k": write_ade20k, "cityscapes": write_cityscapes, "coco": write_coco, "folder": write_folder}


def make_fixture(root, dataset: str, count: int = 4, size: int = 64, seed: int = 0) -> Path:
    """Write a small fake ``dataset`` ("ade20k", "cityscapes", "coco" or "folder") under ``root``: ``count``
    samples per split (train and val; the folder has one split), about ``size`` pixels high (Cityscapes:
    ``size`` x ``2 * size``). Returns the folder to give the reader:

    - ade20k: ``ADE20K(path, split)``;  cityscapes: ``Cityscapes(path, split)``;  coco: ``CocoStuff(path, split)``;
    - folder: ``LabelFolder(path / "images", path / "labels", palette=path / "palette.txt")``."""
    if dataset not in WRITERS:
        raise ValueError(f"make_fixture writes one of {', '.join(DATASETS)}, not {dataset!r}")
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError(f"count must be a positive number of samples per split, got {count!r}")
    return WRITERS[dataset](Path(root), count, size, seed)
