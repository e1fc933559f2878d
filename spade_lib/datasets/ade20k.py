"""ADE20K, as the SceneParsing benchmark ships it (ADEChallengeData2016) and the official SPADE code reads it.

Layout (official data/ade20k_dataset.py): any folders under ``root``; photos are the ``.jpg`` files and label
maps the ``.png`` files whose names hold ``_train_`` (split "train") or ``_val_`` (split "val")::

    root/images/training/ADE_train_00000001.jpg      root/annotations/training/ADE_train_00000001.png
    root/images/validation/ADE_val_00000001.jpg      root/annotations/validation/ADE_val_00000001.png

Label maps are greyscale PNGs of ids 0..150: 0 is "other / unknown", ``k`` the ``k``-th class of objectInfo150.
Official options: 150 classes + "don't care" = 151 channels, no instance maps, ``resize_and_crop`` with
``load_size`` 286 (training) or 256 (testing) and ``crop_size`` 256.

**Which id goes in which channel.** The official ``ADE20KDataset.postprocess`` means to compute ``label - 1``
with 0 -> the don't-care id 150, but it assigns the result to a local variable and returns nothing, so the
official pipeline (training and testing, hence the official checkpoint) sees the ids *as stored*: channel 0 is
"unknown" and channel ``k`` is class ``k``. ``shift_labels=False`` (the default) gives exactly that, and the
official ADE20K checkpoint expects it. ``shift_labels=True`` gives what the official comment intended (class
``k`` in channel ``k - 1``, "unknown" in the don't-care channel 150), for models you train yourself.
"""
from pathlib import Path

import numpy as np

from .classes import ADE20K_CLASSES, ADE20K_COLOURS, DONT_CARE_COLOUR, DONT_CARE_NAME
from .pairs import PairedDataset, image_files, match_pairs
from .transforms import Preprocess

SPLIT_TAGS = {"train": "_train_", "val": "_val_"}
UNKNOWN_NAME = "unknown"  # id 0 of the SceneParsing annotations ("other objects")


class ADE20K(PairedDataset):
    """ADE20K SceneParsing: ``ADE20K(root, split="train")``; see the module's documentation for the layout and
    for ``shift_labels``. ``preprocess`` defaults to the official options of ``split`` (``official_preprocess``)."""

    name = "ADE20K"
    num_classes, contain_dontcare = 150, True
    # one per id, as the official pipeline (and the official checkpoint) numbers them; shift_labels=True changes them
    class_names = (UNKNOWN_NAME,) + ADE20K_CLASSES
    palette = np.vstack([DONT_CARE_COLOUR, ADE20K_COLOURS]).astype(np.uint8)
    id_hint = ("ADE20K SceneParsing annotations hold ids 0..150: make sure these are the ADEChallengeData2016 "
               "annotations (the full ADE20K index uses other ids and colour-coded PNGs).")

    def __init__(self, root, split: str = "train", preprocess: Preprocess = None, shift_labels: bool = False,
                 rng=None):
        if split not in SPLIT_TAGS:
            raise ValueError(f"ADE20K split must be one of {', '.join(SPLIT_TAGS)}, got {split!r}")
        self.shift_labels = bool(shift_labels)
        tag = SPLIT_TAGS[split]
        files = image_files(Path(root), f"ADE20K {split} (files named *{tag}*)", keep=lambda path: tag in path.name)
        labels = [path for path in files if path.suffix == ".png"]
        images = [path for path in files if path.suffix == ".jpg"]
        super().__init__(match_pairs(labels, images, what=f"ADE20K {split} ({root})"),
                         preprocess or self.official_preprocess(split == "train"), rng)
        if self.shift_labels:
            self.class_names = ADE20K_CLASSES + (DONT_CARE_NAME,)
            self.palette = np.vstack([ADE20K_COLOURS, DONT_CARE_COLOUR]).astype(np.uint8)

    @staticmethod
    def official_preprocess(train: bool = True) -> Preprocess:
        """Official options (data/ade20k_dataset.py): resize_and_crop, load 286 for training / 256 for testing,
        crop 256; flips only in training (test.py sets --no_flip)."""
        return Preprocess("resize_and_crop", load_size=286 if train else 256, crop_size=256, flip=train)

    def map_ids(self, ids: np.ndarray) -> np.ndarray:
        if self.shift_labels:  # what the official postprocess meant: label - 1, and "unknown" (-1) -> don't care
            ids = ids - 1
            return np.where(ids == -1, self.num_classes, ids)
        return super().map_ids(ids)  # the official pipeline: ids as stored (and 255 -> 150, never in these files)
