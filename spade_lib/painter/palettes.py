"""The painter's classes: names and colours for the official datasets and for any class list, and the brush
palette's "recent" row.

The classroom model's 12 Landscapes classes fit in one row of buttons. ADE20K (151 ids), Cityscapes (35) and
COCO-Stuff (183) do not: for long class lists the browser adds a search box that filters the names as you type
(``matchClasses`` in ``painter.js``) and a row of the classes used last, which the kernel keeps (``with_recent``).
"""
import colorsys

import numpy as np

from ..datasets import DATASETS
from ..official import official_dataset

RECENT = 8  # classes in the palette's "recent" row
SEARCH_FROM = 24  # class lists longer than this get the search box and the recent row; Landscapes' 12 do not


def make_palette(num_classes: int) -> np.ndarray:
    """(num_classes, 3) uint8 distinct colours for a class list that comes without a palette: hues spread by the
    golden ratio, in three brightnesses."""
    colours = [colorsys.hsv_to_rgb((k * 0.618033988749895) % 1.0, 0.65, (1.0, 0.8, 0.6)[k % 3])
               for k in range(num_classes)]
    return (np.array(colours) * 255 + 0.5).astype(np.uint8).reshape(num_classes, 3)


def hex_colours(palette) -> list:
    """"#rrggbb" strings of (K, 3) uint8 colours, as the browser reads them."""
    return [f"#{r:02x}{g:02x}{b:02x}" for r, g, b in np.asarray(palette, np.uint8).tolist()]


def dataset_classes(dataset: str) -> tuple:
    """(class names, (K, 3) uint8 palette) of "ade20k", "cityscapes" or "coco": one entry per id as the official
    pipeline numbers them, so one per label channel of the official generator before the instance-edge channel
    (ADE20K: "unknown" first, as the official checkpoint reads its ids; COCO-Stuff: "don't care" last)."""
    official_dataset(dataset)  # an unknown name: the error lists the known ones
    reader = DATASETS[dataset]
    return tuple(reader.class_names), np.asarray(reader.palette, np.uint8)


def official_size(dataset: str) -> tuple:
    """(H, W) of the official generator's images: 256x256, Cityscapes 256x512 (``crop_size`` / ``aspect_ratio``)."""
    settings = official_dataset(dataset)
    return round(settings.width / settings.aspect_ratio), settings.width


def with_recent(recent, class_id: int, keep: int = RECENT) -> list:
    """The "recent" row after using ``class_id``: it first, then the others in the order they were used, at most
    ``keep``."""
    return [int(class_id)] + [k for k in recent if k != class_id][:keep - 1]
