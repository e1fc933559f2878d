"""COCO-Stuff, in the layout of the official SPADE repository (datasets/coco_stuff, data/coco_dataset.py).

Layout::

    root/train_img/000000017914.jpg     (COCO 2017 photos)
    root/train_label/000000017914.png   (COCO-Stuff stuffthingmaps: ids 0..181, 255 = unlabelled)
    root/train_inst/000000017914.png    (instance maps made by the official datasets/coco_generate_instance_map.py)
    root/val_img/, root/val_label/, root/val_inst/

plus, for training, the optional ``train_img_portrait``, ``train_label_portrait`` and ``train_inst_portrait``
folders (official: used unless ``--coco_no_portraits``). Files are paired by name without the extension.
Official options: 182 classes + "don't care" (255) + instance edges = 184 channels, ``resize_and_crop`` with
``load_size`` 286 (training) or 256 (testing), ``crop_size`` 256. The official file-list cache (``files.list``)
is not read: the folders are listed every time.
"""
from pathlib import Path

import numpy as np

from .classes import COCO_STUFF_CLASSES, COCO_STUFF_COLOURS, DONT_CARE_COLOUR, DONT_CARE_NAME
from .pairs import PairedDataset, image_files, match_pairs
from .transforms import Preprocess


class CocoStuff(PairedDataset):
    """COCO-Stuff: ``CocoStuff(root, split="train", instances=True, portraits=True)``; see the module's
    documentation. ``instances=False`` is the official ``--no_instance`` (183 channels)."""

    name = "COCO-Stuff"
    num_classes, contain_dontcare = 182, True
    class_names = COCO_STUFF_CLASSES + (DONT_CARE_NAME,)
    palette = np.vstack([COCO_STUFF_COLOURS, DONT_CARE_COLOUR]).astype(np.uint8)
    id_hint = ("COCO-Stuff label maps (stuffthingmaps_trainval2017) hold ids 0..181 and 255 for unlabelled pixels; "
               "the stuff-only or colour-coded PNGs use other ids.")

    def __init__(self, root, split: str = "train", preprocess: Preprocess = None, instances: bool = True,
                 portraits: bool = True, rng=None):
        root = Path(root)
        what = f"COCO-Stuff {split} ({root})"

        def files(kind: str):
            found = image_files(root / f"{split}_{kind}", f"{what}, {kind}")
            portrait = root / f"{split}_{kind}_portrait"
            return found + (image_files(portrait, f"{what}, {kind} portraits") if portraits and portrait.is_dir()
                            else [])

        pairs = match_pairs(files("label"), files("img"), files("inst") if instances else None, what=what)
        super().__init__(pairs, preprocess or self.official_preprocess(split == "train"), rng)

    @staticmethod
    def official_preprocess(train: bool = True) -> Preprocess:
        """Official options (data/coco_dataset.py): resize_and_crop, load 286 for training / 256 for testing,
        crop 256; flips only in training."""
        return Preprocess("resize_and_crop", load_size=286 if train else 256, crop_size=256, flip=train)
