"""The official SPADE preprocessing: resize, crop and flip a label map, an instance map and a photo alike.

This follows ``get_params`` and ``get_transform`` of the official code (NVlabs/SPADE, data/base_dataset.py) step
by step, on PIL images as the official code does, so the pixels are the same: label and instance maps are
resized with nearest neighbour (ids stay ids), photos with bicubic. One random draw per sample (``draw_params``:
the crop corner and the flip) is shared by the label map, the instance map and the photo, so they stay aligned.

The official ``--preprocess_mode`` choices (options/base_options.py) are all here:

=============================  ====================================================================================
``resize_and_crop``            resize to ``load_size`` x ``load_size``, then a random ``crop_size`` square
``crop``                       a random ``crop_size`` square of the file as it is
``scale_width``                resize to width ``load_size``, keeping the aspect ratio
``scale_width_and_crop``       the same, then a random ``crop_size`` square
``scale_shortside``            scale the long side by ``load_size / short side`` (the official code keeps the short
                               side as it is: a quirk we reproduce, see ``scale_shortside``)
``scale_shortside_and_crop``   the same, then a random ``crop_size`` square
``fixed``                      resize to ``crop_size`` x ``round(crop_size / aspect_ratio)`` (Cityscapes: 512 x 256)
``none``                       round both sides to the nearest multiple of 32
=============================  ====================================================================================

A crop that reaches past the border is padded with zeros (PIL's ``crop``, as in the official code). Then, when
``flip`` is on (official: training, without ``--no_flip``), half of the samples are mirrored left to right.
"""
import random
from dataclasses import dataclass
from typing import Tuple

import numpy as np
import torch
from PIL import Image

MODES = ("resize_and_crop", "crop", "scale_width", "scale_width_and_crop", "scale_shortside",
         "scale_shortside_and_crop", "fixed", "none")
POWER_OF_TWO_BASE = 32  # mode "none" rounds sizes to multiples of this (official __make_power_2, base 32)


@dataclass(frozen=True)
class Preprocess:
    """The official data options: ``--preprocess_mode``, ``--load_size``, ``--crop_size``, ``--aspect_ratio`` and
    ``flip`` (official: ``isTrain and not no_flip``). Each dataset's ``official_preprocess(train)`` gives its
    official values."""

    mode: str = "resize_and_crop"
    load_size: int = 286
    crop_size: int = 256
    aspect_ratio: float = 1.0  # width / height, used by mode "fixed"
    flip: bool = True

    def __post_init__(self):
        if self.mode not in MODES:
            raise ValueError(f"preprocess mode {self.mode!r} is not one of the official modes: {', '.join(MODES)}")
        for name in ("load_size", "crop_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"{name} must be a positive number of pixels, got {value!r}")
        if not self.aspect_ratio > 0:
            raise ValueError(f"aspect_ratio is width / height and must be positive, got {self.aspect_ratio!r}")


@dataclass(frozen=True)
class Params:
    """One sample's random draw, shared by its label map, instance map and photo."""

    crop_pos: Tuple[int, int]  # (x, y) of the crop's top-left corner
    flip: bool


def draw_params(preprocess: Preprocess, size: Tuple[int, int], rng=random) -> Params:
    """The crop corner and the flip for a file of ``size`` = (width, height) (official ``get_params``).

    ``rng``: anything with ``randint`` and ``random`` (default: Python's ``random`` module, as the official
    code; DataLoader workers seed it). The draws come in the official order, so the same seed gives the same
    crops and flips as the official code."""
    w, h = size
    new_w, new_h = w, h
    if preprocess.mode == "resize_and_crop":
        new_w = new_h = preprocess.load_size
    elif preprocess.mode == "scale_width_and_crop":
        new_w, new_h = preprocess.load_size, preprocess.load_size * h // w
    elif preprocess.mode == "scale_shortside_and_crop":
        new_w, new_h = shortside_scaled_size(w, h, preprocess.load_size)
    x = rng.randint(0, max(0, new_w - preprocess.crop_size))
    y = rng.randint(0, max(0, new_h - preprocess.crop_size))
    flip = rng.random() > 0.5
    return Params((x, y), flip)


def shortside_scaled_size(w: int, h: int, target: int) -> Tuple[int, int]:
    """The official scale_shortside size: the long side becomes ``int(target * long / short)`` while the short
    side keeps its size (official ``__scale_shortside`` returns ``(ss, ls)``, not ``(target, ls)``)."""
    short, long = min(w, h), max(w, h)
    long = int(target * long / short)
    return (short, long) if w == short else (long, short)


def transform(image: Image.Image, preprocess: Preprocess, params: Params, resample) -> Image.Image:
    """Resize, crop, round and flip one PIL image as the official ``get_transform`` does (without ToTensor).

    ``resample``: ``Image.NEAREST`` for label and instance maps, ``Image.BICUBIC`` for photos."""
    mode, load = preprocess.mode, preprocess.load_size
    if "resize" in mode:
        image = image.resize((load, load), resample)
    elif "scale_width" in mode:
        image = scale_width(image, load, resample)
    elif "scale_shortside" in mode:
        image = scale_shortside(image, load, resample)
    if "crop" in mode:
        x, y = params.crop_pos
        image = image.crop((x, y, x + preprocess.crop_size, y + preprocess.crop_size))  # zeros past the border
    if mode == "none":
        image = round_to_multiple(image, POWER_OF_TWO_BASE, resample)
    if mode == "fixed":
        image = image.resize((preprocess.crop_size, round(preprocess.crop_size / preprocess.aspect_ratio)), resample)
    if preprocess.flip and params.flip:
        image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    return image


def scale_width(image: Image.Image, width: int, resample) -> Image.Image:
    """Resize to ``width``, height ``int(width * h / w)`` (official ``__scale_width``)."""
    w, h = image.size
    if w == width:
        return image
    return image.resize((width, int(width * h / w)), resample)


def scale_shortside(image: Image.Image, target: int, resample) -> Image.Image:
    """Official ``__scale_shortside``: see ``shortside_scaled_size``."""
    w, h = image.size
    if min(w, h) == target:
        return image
    return image.resize(shortside_scaled_size(w, h, target), resample)


def round_to_multiple(image: Image.Image, base: int, resample) -> Image.Image:
    """Both sides to the nearest multiple of ``base`` (official ``__make_power_2``; Python's round)."""
    w, h = image.size
    new_w, new_h = int(round(w / base) * base), int(round(h / base) * base)
    if (new_w, new_h) == (w, h):
        return image
    if new_w == 0 or new_h == 0:
        raise ValueError(f"preprocess mode 'none' rounds sides to multiples of {base}, and an image of {w}x{h} "
                         f"would become {new_w}x{new_h}: use images of at least {base // 2 + 1} pixels per side, "
                         f"or another preprocess mode")
    return image.resize((new_w, new_h), resample)


# PIL's nearest resize picks slightly different pixels for 16-bit images than for 8- and 32-bit ones, so ids
# are resized in the mode of the file they came from, as the official code does (Cityscapes instance maps: I;16)
ID_STORAGE = {"L": np.uint8, "P": np.uint8, "I;16": np.uint16}  # other modes: 32-bit "I"


def transform_ids(ids: np.ndarray, preprocess: Preprocess, params: Params, file_mode: str = "I") -> np.ndarray:
    """(H, W) ids -> (h, w) int64 ids after the official geometry, with nearest neighbour (ids are never blended).

    ``file_mode``: the PIL mode of the file the ids were read from."""
    image = Image.fromarray(np.ascontiguousarray(ids, dtype=ID_STORAGE.get(file_mode, np.int32)))
    return np.asarray(transform(image, preprocess, params, Image.NEAREST), dtype=np.int64)


def image_tensor(image: Image.Image, preprocess: Preprocess, params: Params) -> torch.Tensor:
    """A PIL photo -> (3, h, w) float in [-1, 1]: bicubic geometry, then ToTensor (/ 255) and
    Normalize(0.5, 0.5) with the official operations, so the floats are the same."""
    rgb = transform(image.convert("RGB"), preprocess, params, Image.BICUBIC)
    pixels = torch.from_numpy(np.array(rgb, dtype=np.uint8)).permute(2, 0, 1)  # (3, h, w)
    return pixels.float().div(255).sub(0.5).div(0.5)
