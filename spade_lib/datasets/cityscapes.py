"""Cityscapes, as cityscapesScripts lays it out and the official SPADE code reads it (data/cityscapes_dataset.py).

Layout (the dataset cannot be downloaded without an account at https://www.cityscapes-dataset.com: download
``gtFine_trainvaltest.zip`` and ``leftImg8bit_trainvaltest.zip`` there and unzip both into ``root``)::

    root/leftImg8bit/train/aachen/aachen_000000_000019_leftImg8bit.png
    root/gtFine/train/aachen/aachen_000000_000019_gtFine_labelIds.png
    root/gtFine/train/aachen/aachen_000000_000019_gtFine_instanceIds.png

Files are paired by the first three parts of their names, ``city_sequence_frame``. Label maps are the
``*_labelIds.png`` files (ids 0..33, see ``classes.CITYSCAPES_CLASSES``), instance maps the 16-bit
``*_instanceIds.png`` files (``labelId * 1000 + k`` for each person, car, ...; the labelId elsewhere).
Official options: ``label_nc`` 35 without "don't care", instance edges on: 35 + 1 = 36 channels; mode ``fixed``
at ``crop_size`` 512 and ``aspect_ratio`` 2, so every sample is 512 x 256; flips in training.
"""
from pathlib import Path

from .classes import CITYSCAPES_CLASSES, CITYSCAPES_COLOURS
from .pairs import PairedDataset, image_files, match_pairs
from .transforms import Preprocess


def frame_key(path: Path) -> str:
    """The official Cityscapes pairing key: the first three parts of the name, ``city_sequence_frame``."""
    return "_".join(path.name.split("_")[:3])


class Cityscapes(PairedDataset):
    """Cityscapes fine annotations: ``Cityscapes(root, split="train", instances=True)``; see the module's
    documentation. ``instances=False`` is the official ``--no_instance`` (35 channels)."""

    name = "Cityscapes"
    num_classes, contain_dontcare = 35, False
    class_names, palette = CITYSCAPES_CLASSES, CITYSCAPES_COLOURS
    id_hint = ("Cityscapes label maps are the *_gtFine_labelIds.png files (ids 0..33); *_trainIds.png (255 = "
               "ignore) and *_color.png files are other encodings.")

    def __init__(self, root, split: str = "train", preprocess: Preprocess = None, instances: bool = True, rng=None):
        root = Path(root)
        what = f"Cityscapes {split} ({root})"
        gt = image_files(root / "gtFine" / split, f"{what}, label maps")
        labels = [path for path in gt if path.name.endswith("_labelIds.png")]
        instance_maps = [path for path in gt if path.name.endswith("_instanceIds.png")] if instances else None
        images = image_files(root / "leftImg8bit" / split, f"{what}, photos")
        if not labels:
            raise FileNotFoundError(f"{what}: no *_gtFine_labelIds.png files in {root / 'gtFine' / split}; unzip "
                                    f"gtFine_trainvaltest.zip into {root}")
        super().__init__(match_pairs(labels, images, instance_maps, key=frame_key, what=what),
                         preprocess or self.official_preprocess(split == "train"), rng)

    @staticmethod
    def official_preprocess(train: bool = True) -> Preprocess:
        """Official options (data/cityscapes_dataset.py): fixed, 512 wide, aspect ratio 2 (512 x 256), flips only
        in training."""
        return Preprocess("fixed", load_size=512, crop_size=512, aspect_ratio=2.0, flip=train)
