"""Your own data: a folder of photos and a folder of label maps (and optionally of instance maps).

The official ``CustomDataset`` (NVlabs/SPADE, data/custom_dataset.py) pairs files by sorted position and reads
only greyscale ids, and an id >= ``--label_nc`` crashes deep inside ``scatter_`` (its most reported problem).
``LabelFolder`` pairs by file name (without the extension; an error lists every unmatched file) and reads:

- **indexed PNGs** (palette mode): each pixel's palette index is its class id;
- **greyscale PNGs** (8 or 16 bit): each pixel's value is its class id;
- **0/255 binary masks**: with ``num_classes=2`` (and no don't-care), a label map whose only values are 0 and 255
  is a mask: 0 stays class 0, 255 becomes class 1. With any other ``num_classes``, 255 is out of range and
  refused (or, with ``contain_dontcare=True``, it is the don't-care label, as in the official code);
- **RGB colour labels**, with a palette file (``palette=``): each colour is the class at its position in the
  palette; a colour that is not in it is refused (anti-aliased edges, a wrong palette).

Palette files (``load_palette``), one class per entry, in id order:

- JSON (``.json``): a list whose ``i``-th item is class ``i``, either ``[r, g, b]`` or
  ``{"name": "sky", "colour": [r, g, b]}`` (``"color"`` also accepted); values 0..255.
- text (any other extension): one line per class, ``r g b`` (spaces or commas between the numbers), then
  optionally the class name; empty lines and lines starting with ``#`` are skipped. Example::

      # r   g   b  name
      120 200 250  sky
      30  80  200  water

Label maps must be lossless (PNG, BMP, ...): a JPEG blurs ids at every edge, so JPEG label maps are refused.
Official options: ``resize_and_crop``, ``load_size`` 286 (training) / 256 (testing), ``crop_size`` 256.
"""
import json
from pathlib import Path
from typing import Optional, Sequence, Tuple

import numpy as np

from ..labels import read_label_png
from .classes import DONT_CARE_COLOUR, DONT_CARE_NAME, voc_colour_map
from .pairs import ANY_ID, PairedDataset, image_files, match_pairs
from .transforms import Preprocess

LOSSY = (".jpg", ".jpeg", ".webp")


def load_palette(path) -> Tuple[np.ndarray, Optional[Tuple[str, ...]]]:
    """A palette file (JSON or text, see the module's documentation) -> ((K, 3) uint8 colours, K names or None)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"palette file {path} does not exist")
    if path.suffix.lower() == ".json":
        colours, names = _json_palette(path)
    else:
        colours, names = _text_palette(path)
    if not colours:
        raise ValueError(f"palette file {path} lists no colours; write one line (or JSON item) per class")
    codes = [tuple(colour) for colour in colours]
    repeated = sorted({code for code in codes if codes.count(code) > 1})
    if repeated:
        raise ValueError(f"palette file {path} gives the colour{'s' if len(repeated) > 1 else ''} "
                         f"{', '.join(map(str, repeated))} to more than one class, so those pixels would be "
                         f"ambiguous: give every class its own colour")
    return np.array(colours, np.uint8), (tuple(names) if all(names) else None)


def _checked_colour(values, where: str) -> list:
    if len(values) != 3 or not all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 255
                                   for v in values):
        raise ValueError(f"{where}: a colour is three integers 0..255 (r, g, b), got {values!r}")
    return list(values)


def _json_palette(path: Path):
    try:
        entries = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"palette file {path} is not valid JSON: {error}") from None
    if not isinstance(entries, list):
        raise ValueError(f"palette file {path} must hold a JSON list, one item per class, got {type(entries).__name__}")
    colours, names = [], []
    for index, entry in enumerate(entries):
        where = f"palette file {path}, item {index}"
        if isinstance(entry, dict):
            colours.append(_checked_colour(entry.get("colour", entry.get("color", ())), where))
            names.append(str(entry.get("name", "")))
        else:
            colours.append(_checked_colour(entry if isinstance(entry, list) else [entry], where))
            names.append("")
    return colours, names


def _text_palette(path: Path):
    colours, names = [], []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.replace(",", " ").split(maxsplit=3)
        where = f"palette file {path}, line {number}"
        try:
            colours.append(_checked_colour([int(part) for part in parts[:3]], where))
        except ValueError:
            raise ValueError(f"{where}: expected 'r g b [name]' with r, g, b integers 0..255, got {line!r}") from None
        names.append(parts[3] if len(parts) > 3 else "")
    return colours, names


class LabelFolder(PairedDataset):
    """Photos in ``image_dir``, label maps in ``label_dir`` (and instance maps in ``instance_dir``), paired by
    name; see the module's documentation for the label formats.

    num_classes: the class count (official ``--label_nc``); default: the palette's length. palette: a palette
    file or a (K, 3) array, to read RGB colour labels. contain_dontcare: 255 in a label map is the "don't care"
    label, id ``num_classes``. class_names: defaults to the palette file's names, else "class 0", "class 1", ..."""

    name = "LabelFolder"
    id_hint = ("Fix: give num_classes as at least the largest id + 1; pass contain_dontcare=True if 255 marks "
               "pixels to ignore; for 0/255 binary masks use num_classes=2 (255 is read as class 1).")

    def __init__(self, image_dir, label_dir, num_classes: Optional[int] = None, instance_dir=None, palette=None,
                 contain_dontcare: bool = False, class_names: Optional[Sequence[str]] = None,
                 preprocess: Preprocess = None, train: bool = True, rng=None):
        names_from_file = None
        if palette is not None and not isinstance(palette, np.ndarray):
            palette, names_from_file = load_palette(palette)
        self.colours = None if palette is None else np.asarray(palette, np.uint8)
        if num_classes is None:
            if self.colours is None:
                raise ValueError("LabelFolder needs num_classes (the number of classes in your label maps), or a "
                                 "palette file with one colour per class")
            num_classes = len(self.colours)
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(f"num_classes must be a positive integer, got {num_classes!r}")
        if self.colours is not None and len(self.colours) != num_classes:
            raise ValueError(f"the palette has {len(self.colours)} colours but num_classes is {num_classes}: give "
                             f"one colour per class")
        self.num_classes, self.contain_dontcare = num_classes, bool(contain_dontcare)
        self.class_names = self._names(class_names or names_from_file)
        self.palette = self._palette()

        labels = image_files(Path(label_dir), "LabelFolder label maps")
        lossy = [path for path in labels if path.suffix.lower() in LOSSY]
        if lossy:
            raise ValueError(f"LabelFolder: label maps must be lossless, and {lossy[0]}"
                             f"{f' (and {len(lossy) - 1} more)' if len(lossy) > 1 else ''} is a JPEG/WebP, whose "
                             f"compression changes ids along every edge. Save label maps as PNG.")
        images = image_files(Path(image_dir), "LabelFolder photos")
        instances = None if instance_dir is None else image_files(Path(instance_dir), "LabelFolder instance maps")
        super().__init__(match_pairs(labels, images, instances, what=f"LabelFolder ({label_dir}, {image_dir})"),
                         preprocess or self.official_preprocess(train), rng)

    @staticmethod
    def official_preprocess(train: bool = True) -> Preprocess:
        """Official options (data/custom_dataset.py): resize_and_crop, load 286 for training / 256 for testing,
        crop 256; flips only in training."""
        return Preprocess("resize_and_crop", load_size=286 if train else 256, crop_size=256, flip=train)

    def _names(self, names) -> Tuple[str, ...]:
        names = tuple(names) if names else tuple(f"class {k}" for k in range(self.num_classes))
        if len(names) != self.num_classes:
            raise ValueError(f"class_names has {len(names)} names but there are {self.num_classes} classes")
        return names + ((DONT_CARE_NAME,) if self.contain_dontcare else ())

    def _palette(self) -> np.ndarray:
        colours = self.colours if self.colours is not None else voc_colour_map(self.num_classes + 1)[1:]
        return np.vstack([colours] + ([DONT_CARE_COLOUR] if self.contain_dontcare else [])).astype(np.uint8)

    def is_binary_mask(self, ids: np.ndarray) -> bool:
        """The rule for 0/255 masks: two classes, no don't-care label, and only the values 0 and 255 (with 255)."""
        return (self.num_classes == 2 and not self.contain_dontcare and (ids == 255).any()
                and bool(np.isin(ids, (0, 255)).all()))

    def read_label(self, path: Path) -> np.ndarray:
        try:
            ids = read_label_png(path, ANY_ID, palette=self.colours, name=str(path))
        except ValueError as error:
            raise ValueError(f"LabelFolder: {error} (LabelFolder reads indexed or greyscale PNGs of ids, 0/255 masks "
                             f"with num_classes=2, and RGB colour labels with palette=<palette file>.)") from None
        return ids // 255 if self.is_binary_mask(ids) else ids
