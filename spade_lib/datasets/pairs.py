"""What every paired dataset shares: find the files, pair them by name, read and preprocess one sample.

The official ``Pix2pixDataset`` (NVlabs/SPADE, data/pix2pix_dataset.py) sorts the label maps, photos and
instance maps separately and pairs them by position, asserting afterwards that the names agree. Here pairs are
matched by name from the start, so one missing file gives one error that lists every unmatched file, instead of
shifting every later pair. A sample is read as the official code reads it:

1. the label map's ids as stored in the file; ``map_ids`` gives the ids the network sees (the official
   ``label[label == 255] = label_nc`` for datasets with a "don't care" label), checked against the class count
   before anything else runs, with the file, the id and the fix in the error;
2. one random draw (crop corner, flip) for the whole sample (``transforms.draw_params``);
3. label and instance maps resized with nearest neighbour, the photo with bicubic, in [-1, 1].
"""
import os
import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional, Sequence

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from ..labels import LabelMap, check_labels, make_segmap, read_label_png
from ..modes import progress
from .transforms import Preprocess, draw_params, image_tensor, transform_ids

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".tiff", ".webp")  # official data/image_folder.py
ANY_ID = 2 ** 31 - 1  # read files with any id; the dataset checks its own range after map_ids
SHOWN = 10  # file names listed in an error, at most


@dataclass(frozen=True)
class Pair:
    label: Path
    image: Path
    instance: Optional[Path] = None


def natural_key(path: Path):
    """Sort key for human order ("img2" before "img10"), as the official ``util.natural_sort``."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", str(path))]


def image_files(folder: Path, what: str, keep: Callable[[Path], bool] = lambda path: True) -> List[Path]:
    """Every image file under ``folder`` (recursive, as the official ``make_dataset``) that ``keep`` accepts,
    in natural order; an error naming the folder when it is missing or holds none."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{what}: the folder {folder} does not exist. Check the dataset root and its layout "
                                f"(see the dataset's documentation).")
    found = [Path(top) / name for top, _, names in os.walk(folder, followlinks=True) for name in names
             if name.lower().endswith(IMAGE_EXTENSIONS)]
    found = sorted((path for path in found if keep(path)), key=natural_key)
    if not found:
        raise FileNotFoundError(f"{what}: no image files in {folder} (looked for {', '.join(IMAGE_EXTENSIONS)} "
                                f"in it and its subfolders). Check the dataset root and its layout.")
    return found


def stem(path: Path) -> str:
    """The official pairing key: the file name without its extension (``paths_match``)."""
    return path.stem


def _by_key(paths: Iterable[Path], key: Callable[[Path], str], what: str) -> Dict[str, Path]:
    table: Dict[str, Path] = {}
    for path in paths:
        other = table.setdefault(key(path), path)
        if other != path:
            raise ValueError(f"{what}: {other} and {path} have the same name {key(path)!r}, so it is not clear which "
                             f"one belongs to the other files of that name. Remove or rename one of them.")
    return table


def _listed(paths: Sequence[Path]) -> str:
    names = ", ".join(str(path) for path in paths[:SHOWN])
    return names + (f" and {len(paths) - SHOWN} more" if len(paths) > SHOWN else "")


def match_pairs(labels: Sequence[Path], images: Sequence[Path], instances: Optional[Sequence[Path]] = None,
                key: Callable[[Path], str] = stem, what: str = "dataset") -> List[Pair]:
    """Pair files whose ``key`` (default: the name without extension) is the same, in the label maps' order.

    Raises one ValueError listing every label map without a photo, photo without a label map and (when
    ``instances`` is given) pair without an instance map, or the other way round."""
    label_of, image_of = _by_key(labels, key, what), _by_key(images, key, what)
    instance_of = None if instances is None else _by_key(instances, key, what)
    problems = []
    for name, mine, others in (("label maps without a photo", label_of, image_of),
                               ("photos without a label map", image_of, label_of),
                               ("label maps without an instance map", label_of, instance_of),
                               ("instance maps without a label map", instance_of, label_of)):
        if mine is not None and others is not None:
            missing = [path for k, path in mine.items() if k not in others]
            if missing:
                problems.append(f"{len(missing)} {name}: {_listed(missing)}")
    if problems:
        raise ValueError(f"{what}: files are paired by name (without the extension) and some have no partner. "
                         + "; ".join(problems) + ". Add the missing files or move the extra ones out of the folder.")
    return [Pair(path, image_of[k], None if instance_of is None else instance_of[k]) for k, path in label_of.items()]


def file_mode(path: Path) -> str:
    """The PIL mode of an image file (from its header only)."""
    with Image.open(path) as image:
        return image.mode


def open_photo(path: Path) -> Image.Image:
    """A photo as a loaded PIL image; a ValueError naming the file when it is not a readable image."""
    try:
        image = Image.open(path)
        image.load()
    except UnidentifiedImageError:
        raise ValueError(f"photo {path} is not an image file (or a format PIL cannot read): replace it or remove "
                         f"it together with its label map") from None
    except OSError as error:  # e.g. a truncated download
        raise ValueError(f"photo {path} could not be read ({error}): the file is damaged; download or copy it "
                         f"again, or remove it together with its label map") from None
    return image


class PairedDataset(torch.utils.data.Dataset):
    """Pairs of a label map and a photo (and an instance map, where the dataset has them), read and preprocessed
    as the official code does. ``ds[i]`` is a dict:

    - ``label``: (h, w) long class ids in ``[0, num_ids)`` (the "don't care" label is id ``num_classes``);
    - ``instance``: (h, w) long instance ids, only where the dataset has instance maps;
    - ``image``: (3, h, w) float in [-1, 1];
    - ``path``: the photo's path, as a string.

    ``ds.segmap(batch)`` turns a batch (or one sample) into the networks' input: ``label_channels`` channels.
    Subclasses set the class attributes below and find their files."""

    name = "dataset"
    num_classes: int  # the official --label_nc
    contain_dontcare = False  # the official --contain_dontcare_label: 255 in a file becomes id num_classes
    class_names: Sequence[str] = ()  # one per id, num_ids of them
    palette: np.ndarray  # (num_ids, 3) uint8, one colour per id
    id_hint = ""  # added to the error for an id out of range: the usual cause for this dataset

    def __init__(self, pairs: Sequence[Pair], preprocess: Preprocess, rng=None):
        if not isinstance(preprocess, Preprocess):
            raise TypeError(f"preprocess must be a spade_lib.datasets.Preprocess, got {type(preprocess).__name__}")
        self.pairs, self.preprocess = list(pairs), preprocess
        self.rng = rng  # None: Python's random module, as the official code (seeded per DataLoader worker)
        self.has_instances = bool(self.pairs) and self.pairs[0].instance is not None

    @property
    def num_ids(self) -> int:
        """Ids a label tensor can hold: the classes, + 1 for "don't care" where the dataset has it."""
        return self.num_classes + int(self.contain_dontcare)

    @property
    def label_channels(self) -> int:
        """Channels of the networks' segmap (official generator input_nc): ids + 1 for instance edges."""
        return self.num_ids + int(self.has_instances)

    def __len__(self) -> int:
        return len(self.pairs)

    def read_label(self, path: Path) -> np.ndarray:
        """(H, W) int64 ids as stored in the file: indexed or greyscale PNG."""
        return read_label_png(path, ANY_ID, name=str(path))

    def map_ids(self, ids: np.ndarray) -> np.ndarray:
        """Stored ids -> the network's ids: 255 becomes the "don't care" id ``num_classes`` (official
        ``label_tensor[label_tensor == 255] = label_nc``, kept only where the dataset has that label)."""
        if self.contain_dontcare:
            return np.where(ids == 255, self.num_classes, ids)
        return ids

    def checked_ids(self, path: Path) -> np.ndarray:
        """The label file's stored ids, after checking that ``map_ids`` puts every one in ``[0, num_ids)``."""
        stored = self.read_label(path)
        try:
            check_labels(torch.from_numpy(self.map_ids(stored))[None], self.num_ids, name=f"label map {path}")
        except ValueError as error:
            raise ValueError(f"{self.name}: {error} {self.id_hint}".rstrip()) from None
        return stored

    def read_pair(self, pair: Pair):
        """(stored label ids, photo, instance ids or None) of one pair, every file checked: readable, ids in range,
        the same size."""
        stored = self.checked_ids(pair.label)
        photo = open_photo(pair.image)
        height, width = stored.shape
        if photo.size != (width, height):
            raise ValueError(f"{self.name}: photo {pair.image} is {photo.size[0]}x{photo.size[1]} but its label map "
                             f"{pair.label} is {width}x{height}; they must have the same size (resize the label "
                             f"map with nearest neighbour, never with smoothing)")
        if pair.instance is None:
            return stored, photo, None
        instance = read_label_png(pair.instance, ANY_ID, name=f"instance map {pair.instance}")
        if instance.shape != stored.shape:
            raise ValueError(f"{self.name}: instance map {pair.instance} is {instance.shape[1]}x{instance.shape[0]} "
                             f"but its label map {pair.label} is {width}x{height}; they must have the same size")
        return stored, photo, instance

    def __getitem__(self, index: int) -> dict:
        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} is out of range for a {self.name} dataset of {len(self)} samples")
        pair = self.pairs[index]
        stored, photo, instance = self.read_pair(pair)
        params = draw_params(self.preprocess, photo.size, random if self.rng is None else self.rng)
        label = transform_ids(stored, self.preprocess, params, file_mode(pair.label))
        sample = {"label": torch.from_numpy(self.map_ids(label)), "image": image_tensor(photo, self.preprocess, params),
                  "path": str(pair.image)}
        if instance is not None:
            sample["instance"] = torch.from_numpy(transform_ids(instance, self.preprocess, params,
                                                                file_mode(pair.instance)))
        return sample

    def verify(self, show_progress: bool = True) -> None:
        """Read every file once and raise one ValueError that lists the samples that cannot be used (unreadable
        file, id out of range, sizes that differ), instead of failing in the middle of an epoch."""
        problems = []
        for pair in progress(self.pairs, enabled=show_progress, desc=f"checking {self.name}"):
            try:
                self.read_pair(pair)
            except ValueError as error:
                problems.append(str(error))
        if problems:
            more = f"\n... and {len(problems) - SHOWN} more" if len(problems) > SHOWN else ""
            raise ValueError(f"{self.name}: {len(problems)} of {len(self)} samples cannot be used:\n"
                             + "\n".join(problems[:SHOWN]) + more)

    def segmap(self, batch: dict) -> LabelMap:
        """A batch (or one sample) -> the networks' segmap: one-hot ids (+ instance edges), ``label_channels``
        channels; ``.one_hot()`` is the official dense input (models/pix2pix_model.py ``preprocess_input``)."""
        label, instance = batch["label"], batch.get("instance")
        if label.dim() == 2:
            label, instance = label[None], None if instance is None else instance[None]
        return make_segmap(label, self.num_classes, instance, contain_dontcare=self.contain_dontcare)

    def __repr__(self) -> str:
        extras = " + don't care" * self.contain_dontcare + " + instance edges" * self.has_instances
        return (f"{type(self).__name__}({len(self)} samples, {self.num_classes} classes{extras} = "
                f"{self.label_channels} channels, {self.preprocess})")
