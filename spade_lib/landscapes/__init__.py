"""Landscapes: the course's procedural dataset of label maps and photo-like images (lesson 00).

SPADE learns to turn a *label map* (one class id per pixel) into a photo. Real datasets cannot be downloaded
in a quick class, so the course generates its own, in the spirit of the GauGAN demo. ``Landscapes`` below is a
``torch.utils.data.Dataset`` like any other; every sample is made in two steps:

1. **layout** (``layout.py``): a random scene in continuous coordinates (sky, clouds, mountains, ground, water,
   trees, rocks...), rasterized into a label map and an instance map, deterministic from ``(seed, index)`` at
   every resolution;
2. **rendering** (``render.py``): the label map turned into a photo-like image in a *style* (time of day,
   season, weather): the same label map in two styles gives two photos.

Class names, ids and the label-map palette are in ``classes.py``.

    >>> ds = Landscapes(size=128)
    >>> sample = ds[0]                      # dict: label, instance, image, style
    >>> ds.render(0, "sunset")              # the same layout in another style
    >>> ds.layout(0)                        # label and instance only (fast)
    >>> render_labels(my_label, "winter")   # a photo of any label map, e.g. a painted one
"""
from typing import Optional, Sequence

import numpy as np
import torch

from .classes import (BUSH, CLASS_NAMES, CLOUD, DIRT, GRASS, MOUNTAIN, NUM_CLASSES, PALETTE, ROCK, SAND, SKY, SNOW,
                      TREE, WATER)
from .layout import MAX_SIZE, MIN_SIZE, Canvas, make_layout, noise1d
from .render import STYLE_NAMES, STYLES, check_style, jitter, object_albedos, render_image, render_labels

__all__ = ["Landscapes", "LandscapesIndexError", "render_labels", "make_layout", "noise1d", "check_style",
           "CLASS_NAMES", "NUM_CLASSES", "PALETTE", "STYLE_NAMES", "STYLES", "SKY", "CLOUD", "MOUNTAIN", "SNOW",
           "WATER", "SAND", "GRASS", "TREE", "ROCK", "BUSH", "DIRT"]


class Landscapes(torch.utils.data.Dataset):
    """The course's embedded dataset (lesson 00): procedural landscapes, deterministic from ``(seed, index)``.

    ``ds[i]`` is a dict with ``label`` (H, W) long class ids (see ``CLASS_NAMES``), ``instance`` (H, W) long
    instance ids (``class * 1000 + k`` for each cloud, tree, rock and bush, ``class * 1000`` for stuff),
    ``image`` (3, H, W) float in [-1, 1], and ``style``, the index in ``STYLE_NAMES`` of the preset it was
    rendered in. ``ds.render(i, style)`` gives the same layout in a chosen style, ``ds.layout(i)`` only the maps.

    size: an int (square) or (H, W) with W = H or 2 H, H from 32 to 512. styles: the names to draw from
    (default all of ``STYLE_NAMES``)."""

    # what code written for any segmentation dataset asks of it
    num_classes, class_names, palette = NUM_CLASSES, CLASS_NAMES, PALETTE

    def __init__(self, size=64, length: int = 10_000, seed: int = 0, styles: Optional[Sequence[str]] = None):
        self.height, self.width = check_size(size)
        if length <= 0:
            raise ValueError(f"length must be a positive number of samples, got {length}")
        self.length, self.seed = int(length), int(seed)
        self.styles = tuple(check_style(s) for s in (STYLE_NAMES if styles is None else styles))
        if not self.styles:
            raise ValueError(f"styles must name at least one of {', '.join(STYLE_NAMES)}")

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict:
        return self.render(index)

    def _canvas(self, index: int) -> Canvas:
        if not 0 <= index < self.length:
            raise LandscapesIndexError(f"index {index} is out of range for a Landscapes of length {self.length}; "
                                       f"use 0 <= index < {self.length}")
        return make_layout(self.seed, int(index), self.height, self.width)

    def layout(self, index: int) -> dict:
        """Only the ``label`` and ``instance`` maps of sample ``index``: a few times faster than ``ds[index]``
        (the painter's "random layout" button)."""
        canvas = self._canvas(index)
        return {"label": torch.from_numpy(np.array(canvas.classes)[canvas.obj]),
                "instance": torch.from_numpy(np.array(canvas.instances)[canvas.obj])}

    def render(self, index: int, style: Optional[str] = None) -> dict:
        """Sample ``index`` with its own layout, in ``style`` (a name in ``STYLE_NAMES``; default: its own)."""
        canvas, index = self._canvas(index), int(index)
        # a second random stream for the appearance, so that choosing a style never changes the layout
        rng = np.random.default_rng([self.seed, index, 1])
        # not rng.integers(): its first draw repeats across nearby seeds
        own_style = self.styles[int(rng.random() * len(self.styles))]
        name = own_style if style is None else check_style(style)
        look = jitter(STYLES[name], rng)
        offset = tuple(rng.integers(0, self.height, 2))
        classes = np.array(canvas.classes)
        label = classes[canvas.obj]
        albedo = object_albedos(classes, np.array(canvas.tones, np.float32), np.array(canvas.variants), look)
        image = render_image(label, canvas.obj, canvas.shade, canvas.facing, albedo,
                             np.array(canvas.dists, np.float32), canvas.scene.horizon, look, offset)
        return {"label": torch.from_numpy(label),
                "instance": torch.from_numpy(np.array(canvas.instances)[canvas.obj]),
                "image": torch.from_numpy(image),
                "style": STYLE_NAMES.index(name)}


class LandscapesIndexError(IndexError, ValueError):
    """A bad index. An IndexError, so that ``for sample in ds`` stops at the end; a ValueError like all bad input."""


def check_size(size):
    """(H, W) from an int or a pair, or a ValueError that says what sizes work."""
    if isinstance(size, (int, np.integer)) and not isinstance(size, bool):
        size = (size, size)
    if not (isinstance(size, (tuple, list)) and len(size) == 2 and all(isinstance(s, (int, np.integer)) for s in size)):
        raise ValueError(f"size must be an int (a square image) or a pair of ints (H, W), got {size!r}")
    height, width = size
    if not MIN_SIZE <= height <= MAX_SIZE:
        raise ValueError(f"Landscapes height must be between {MIN_SIZE} and {MAX_SIZE} pixels, got {height}; "
                         f"pass e.g. size=128 (square) or size=(128, 256) (2:1)")
    if width not in (height, 2 * height):
        raise ValueError(f"Landscapes size {height}x{width}: the width must equal the height (1:1) or twice the "
                         f"height (2:1), e.g. size=({height}, {height}) or size=({height}, {2 * height})")
    return int(height), int(width)

