"""The training dataset of a ``TrainConfig``: Landscapes, an official dataset or your own folder (lesson 11).

``config.dataset`` chooses the reader and ``config.dataroot`` the folder:

- ``landscapes``: the procedural dataset (no folder; ``dataset_size`` samples);
- ``ade20k``, ``cityscapes``, ``coco``: the official layouts (see ``ADE20K``, ``Cityscapes``, ``CocoStuff``), read
  with the dataset's official preprocessing at the config's size;
- ``folder``: your own data, ``dataroot`` holding::

      images/      photos (JPEG or PNG)
      labels/      label maps of the same names (indexed or greyscale PNG ids, 0/255 masks, RGB with a palette)
      instances/   (optional) instance maps of the same names: used when instance_edges is on
      palette.json or palette.txt   (optional) one colour (and name) per class, see ``folder.load_palette``

  ``num_classes`` gives the class count (0: the palette's length).

The networks' label channels follow from the config alone (``label_layout``), so a checkpoint rebuilds its
networks without the data.
"""
import dataclasses
from pathlib import Path
from typing import Tuple

from ..download import REGISTRY, cityscapes_instructions, default_root
from ..landscapes import NUM_CLASSES, Landscapes
from .ade20k import ADE20K
from .cityscapes import Cityscapes
from .coco_stuff import CocoStuff
from .folder import LabelFolder

DATASET_NAMES = ("landscapes", "ade20k", "cityscapes", "coco", "folder")
OFFICIAL = {"ade20k": ADE20K, "cityscapes": Cityscapes, "coco": CocoStuff}
PALETTE_FILES = ("palette.json", "palette.txt")


def label_layout(config) -> Tuple[int, bool]:
    """(classes, has a don't-care id) of the config's dataset: the label ids the networks see."""
    if config.dataset == "landscapes":
        return NUM_CLASSES, False
    if config.dataset == "folder":
        if not config.num_classes:
            raise ValueError("--dataset folder needs num_classes to build networks: give --num-classes, or let the "
                             "trainer read it from the folder's palette (with_inferred_classes)")
        return config.num_classes, False
    reader = OFFICIAL[config.dataset]
    return reader.num_classes, reader.contain_dontcare


def where_to_get(name: str, root: Path) -> str:
    """How to fill ``root`` for dataset ``name``: the layout and the command that downloads it."""
    if name == "folder":
        return (f"a folder for --dataset folder holds images/ (photos), labels/ (label maps of the same names), "
                f"optionally instances/ and palette.json or palette.txt; see spade_lib.datasets.build")
    if name == "cityscapes":
        return cityscapes_instructions(root.parent)
    layout = {"ade20k": "ADEChallengeData2016/images/training/*.jpg and annotations/training/*.png",
              "coco": "train_img/, train_label/, train_inst/ (the official SPADE layout)"}[name]
    return (f"it should hold {layout}. Download it with python -m spade_lib download {name} (then no --dataroot "
            f"is needed), or with --root R (then --dataroot R/{REGISTRY[name].folder})")


def default_folder(name: str):
    """Where ``python -m spade_lib download <name>`` extracts an official dataset; None for the folder dataset."""
    if name == "cityscapes":
        return default_root() / "cityscapes"
    return default_root() / REGISTRY[name].folder if name in REGISTRY else None


def check_dataroot(config) -> Path:
    """``config.dataroot`` as a Path (empty, for an official dataset: where ``python -m spade_lib download`` puts
    it), or one FileNotFoundError naming the folder, its layout and how to get it."""
    root = Path(config.dataroot).expanduser() if config.dataroot else default_folder(config.dataset)
    if root is None or not root.is_dir() or not any(root.iterdir()):
        state = "no dataroot was given" if root is None else f"the dataroot {root} is " + \
            ("empty" if root.is_dir() else "missing")
        raise FileNotFoundError(f"--dataset {config.dataset}: {state}. Give --dataroot <folder>; "
                                f"{where_to_get(config.dataset, root or Path('data') / config.dataset)}")
    return root


def official_at_size(reader, config, train: bool):
    """The reader's official preprocessing, scaled to the config's size (load size in proportion), with the
    config's aspect ratio: the official options themselves at the official size."""
    official = reader.official_preprocess(train)
    load_size = round(official.load_size * config.size / official.crop_size)
    return dataclasses.replace(official, load_size=load_size, crop_size=config.size, aspect_ratio=config.aspect_ratio)


def training_dataset(config, train: bool = True):
    """The dataset that ``config`` trains on (``train``: the training split, flips on; else the validation split
    with the official testing options). Real datasets give ``ds.segmap(batch)`` and ``ds.label_channels``."""
    if config.dataset == "landscapes":
        height = round(config.size / config.aspect_ratio)
        return Landscapes(size=(height, config.size), length=config.dataset_size)
    root = check_dataroot(config)
    split = "train" if train else "val"
    if config.dataset == "folder":
        return folder_dataset(root, config, train)
    reader = OFFICIAL[config.dataset]
    preprocess = official_at_size(reader, config, train)
    if config.dataset == "ade20k":
        if config.instance_edges:
            raise ValueError("ADE20K has no instance maps (official --no_instance): use --no-instance-edges "
                             "(the ade20k preset does)")
        return ADE20K(root, split, preprocess)
    return reader(root, split, preprocess, instances=config.instance_edges)


def folder_dataset(root: Path, config, train: bool) -> LabelFolder:
    """``LabelFolder`` over ``root/images``, ``root/labels`` (and ``root/instances``), with its palette file."""
    palette = next((root / name for name in PALETTE_FILES if (root / name).is_file()), None)
    instances = root / "instances"
    if config.instance_edges and not instances.is_dir():
        raise ValueError(f"--dataset folder with instance edges needs instance maps in {instances}; add them, or "
                         f"use --no-instance-edges")
    if config.num_classes == 0 and palette is None:
        raise ValueError(f"--dataset folder: give --num-classes (the number of classes in {root / 'labels'}), or "
                         f"put a palette file ({' or '.join(PALETTE_FILES)}) in {root}")
    return LabelFolder(root / "images", root / "labels", num_classes=config.num_classes or None,
                       instance_dir=instances if config.instance_edges else None, palette=palette,
                       preprocess=official_at_size(LabelFolder, config, train), train=train)


def with_inferred_classes(config):
    """The config with ``num_classes`` read from the folder's palette when it is 0 (``--dataset folder``), so the
    checkpoint records the class count the networks were built with."""
    if config.dataset != "folder" or config.num_classes:
        return config
    return dataclasses.replace(config, num_classes=folder_dataset(check_dataroot(config), config, True).num_classes)
