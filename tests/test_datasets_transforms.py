"""The official preprocessing (NVlabs/SPADE data/base_dataset.py): every preprocess mode computed by hand, the
shared random draw, flips, bicubic photos in [-1, 1], and a cross-check against the official torchvision chain."""
import random

import numpy as np
import pytest
import torch
from PIL import Image

from spade_lib.datasets.transforms import (MODES, Params, Preprocess, draw_params, image_tensor, transform_ids)

A = np.arange(1, 25).reshape(4, 6)  # (H, W) = (4, 6), every id different, none 0 (0 is the crop padding)


class Draws:
    """A stand-in for the random module: ``randint`` gives the listed values in order (checking the official
    bounds), ``random`` a flip or not."""

    def __init__(self, *values, flip=False):
        self.values, self.flip, self.bounds = list(values), flip, []

    def randint(self, low, high):
        self.bounds.append((low, high))
        value = self.values.pop(0) if self.values else 0
        assert low <= value <= high
        return value

    def random(self):
        return 0.9 if self.flip else 0.1


def run(ids, mode, x=0, y=0, mirror=False, **options):
    """Preprocess ``ids`` with the crop corner (x, y) and the flip draw ``mirror``."""
    preprocess = Preprocess(mode, **{"flip": True, **options})
    draws = Draws(x, y, flip=mirror)
    params = draw_params(preprocess, (ids.shape[1], ids.shape[0]), draws)
    return transform_ids(ids, preprocess, params), draws.bounds


def twice(a, axis=(0, 1)):
    for ax in axis:
        a = np.repeat(a, 2, axis=ax)
    return a


def test_resize_and_crop_by_hand():
    square = A[:, :4]  # 4 x 4 -> load 8 (each pixel a 2 x 2 block) -> crop 6 at (x=1, y=2)
    out, bounds = run(square, "resize_and_crop", x=1, y=2, load_size=8, crop_size=6)
    assert bounds == [(0, 2), (0, 2)]  # official get_params: randint(0, load - crop) for x and y
    np.testing.assert_array_equal(out, twice(square)[2:8, 1:7])
    # non-square files are squashed to load x load; downscaling by 2 samples pixel centres: rows/cols 1, 3, ...
    big = np.arange(64).reshape(8, 8)
    out, _ = run(big, "resize_and_crop", load_size=4, crop_size=4)
    np.testing.assert_array_equal(out, big[1::2, 1::2])


def test_crop_pads_with_zeros_past_the_border():
    out, bounds = run(A, "crop", x=2, y=1, crop_size=3)
    assert bounds == [(0, 3), (0, 1)]
    np.testing.assert_array_equal(out, A[1:4, 2:5])
    small = A[:3, :5]  # 3 x 5 file, crop 4: the crop reaches one row past the bottom
    out, bounds = run(small, "crop", x=1, y=0, crop_size=4)
    assert bounds == [(0, 1), (0, 0)]
    expected = np.zeros((4, 4), np.int64)
    expected[:3] = small[:, 1:5]
    np.testing.assert_array_equal(out, expected)


def test_scale_width_modes_by_hand():
    out, _ = run(A, "scale_width", load_size=12)  # width 6 -> 12, height int(12 * 4 / 6) = 8
    np.testing.assert_array_equal(out, twice(A))
    out, _ = run(A, "scale_width", load_size=6)  # already that wide: unchanged
    np.testing.assert_array_equal(out, A)
    out, bounds = run(A, "scale_width_and_crop", x=5, y=1, load_size=12, crop_size=7)
    assert bounds == [(0, 5), (0, 1)]  # new_h = 12 * 4 // 6 = 8
    np.testing.assert_array_equal(out, twice(A)[1:8, 5:12])


def test_scale_shortside_keeps_the_short_side_as_the_official_code():
    # 4 x 6 file, load 8: the long side becomes int(8 * 6 / 4) = 12, the short side stays 4 (official quirk)
    out, _ = run(A, "scale_shortside", load_size=8)
    np.testing.assert_array_equal(out, twice(A, axis=(1,)))
    out, bounds = run(A, "scale_shortside_and_crop", x=3, load_size=8, crop_size=4)
    assert bounds == [(0, 8), (0, 0)]
    np.testing.assert_array_equal(out, twice(A, axis=(1,))[:, 3:7])
    tall = A.T  # 6 x 4: now the width is the short side
    out, _ = run(tall, "scale_shortside", load_size=8)
    np.testing.assert_array_equal(out, twice(tall, axis=(0,)))
    out, _ = run(A, "scale_shortside", load_size=4)  # short side already 4: unchanged
    np.testing.assert_array_equal(out, A)


def test_fixed_uses_crop_size_and_aspect_ratio():
    wide = A[:2, :4]  # 2 x 4 -> crop 8, aspect 2: 8 wide, round(8 / 2) = 4 high
    out, _ = run(wide, "fixed", crop_size=8, aspect_ratio=2.0)
    np.testing.assert_array_equal(out, twice(wide))
    out, _ = run(A, "fixed", crop_size=3, aspect_ratio=0.75)  # 3 wide, round(3 / 0.75) = 4 high
    np.testing.assert_array_equal(out, A[:, 1::2])  # 6 -> 3 columns: centres 1, 3, 5


def test_none_rounds_to_multiples_of_32_with_pythons_round():
    ids = np.arange(80 * 48).reshape(80, 48)  # 80 / 32 = 2.5 rounds to 2 (banker's), 48 / 32 = 1.5 to 2
    out, _ = run(ids, "none")
    assert out.shape == (64, 64)
    rows = np.floor((np.arange(64) + 0.5) * 80 / 64).astype(int)  # nearest: the source pixel under each centre
    cols = np.floor((np.arange(64) + 0.5) * 48 / 64).astype(int)
    np.testing.assert_array_equal(out, ids[rows][:, cols])
    same = np.arange(64 * 32).reshape(32, 64)
    np.testing.assert_array_equal(run(same, "none")[0], same)
    with pytest.raises(ValueError, match="multiples of 32"):
        run(A, "none")


@pytest.mark.parametrize("mode", MODES)
def test_flip_mirrors_after_every_mode(mode):
    ids = np.arange(32 * 64).reshape(32, 64)
    options = dict(load_size=64, crop_size=32, aspect_ratio=2.0)
    plain, _ = run(ids, mode, x=3, y=0, mirror=False, **options)
    flipped, _ = run(ids, mode, x=3, y=0, mirror=True, **options)
    np.testing.assert_array_equal(flipped, plain[:, ::-1])
    off, _ = run(ids, mode, x=3, y=0, mirror=True, **{**options, "flip": False})  # --no_flip / testing
    np.testing.assert_array_equal(off, plain)


def test_draws_come_in_the_official_order():
    preprocess = Preprocess("resize_and_crop", load_size=286, crop_size=256)
    random.seed(7)
    ours = [draw_params(preprocess, (500, 375)) for _ in range(5)]
    random.seed(7)  # official get_params: randint for x, randint for y, then random() > 0.5 for the flip
    official = [Params((random.randint(0, 30), random.randint(0, 30)), random.random() > 0.5) for _ in range(5)]
    assert ours == official
    assert len({p.crop_pos for p in ours}) > 1


def test_image_tensor_is_bicubic_and_normalized():
    rng = np.random.default_rng(0)
    photo = Image.fromarray(rng.integers(0, 256, (5, 7, 3), dtype=np.uint8))
    preprocess = Preprocess("resize_and_crop", load_size=9, crop_size=6, flip=True)
    params = Params((2, 1), True)
    out = image_tensor(photo, preprocess, params)
    expected = np.array(photo.resize((9, 9), Image.BICUBIC).crop((2, 1, 8, 7)).transpose(Image.FLIP_LEFT_RIGHT))
    assert out.shape == (3, 6, 6) and out.dtype == torch.float32
    torch.testing.assert_close(out, torch.from_numpy(expected).permute(2, 0, 1).float() / 127.5 - 1)
    flat = Image.new("RGB", (4, 4), (0, 255, 51))
    out = image_tensor(flat, Preprocess("crop", crop_size=4), Params((0, 0), False))
    assert out[0].eq(-1).all() and out[1].eq(1).all() and out[2].eq(51 / 255 * 2 - 1).all()


@pytest.mark.parametrize("mode, load, crop, aspect", [("resize_and_crop", 11, 8, 1.0), ("fixed", 8, 10, 2.0),
                                                       ("scale_width_and_crop", 10, 6, 1.0)])
def test_same_tensors_as_the_official_torchvision_chain(mode, load, crop, aspect):
    """The official get_transform builds torchvision transforms (Resize, Lambda(PIL op), ToTensor, Normalize);
    re-stated here with torchvision for three modes, on an 8-bit label map ('L', as the official files)."""
    transforms = pytest.importorskip("torchvision.transforms")
    rng = np.random.default_rng(1)
    ids = rng.integers(0, 151, (7, 9))
    label, photo = Image.fromarray(ids.astype(np.uint8)), Image.fromarray(rng.integers(0, 256, (7, 9, 3), np.uint8))
    preprocess = Preprocess(mode, load_size=load, crop_size=crop, aspect_ratio=aspect, flip=True)
    params = Params((1, 2), True)

    def official(method, normalize):
        steps = []
        if mode == "resize_and_crop":
            steps.append(transforms.Resize([load, load], interpolation=method))
        if mode == "scale_width_and_crop":
            steps.append(transforms.Lambda(lambda im: im.resize((load, int(load * im.size[1] / im.size[0])),
                                                                  Image.NEAREST if method.value == "nearest"
                                                                  else Image.BICUBIC)))
        if "crop" in mode:
            steps.append(transforms.Lambda(lambda im: im.crop((1, 2, 1 + crop, 2 + crop))))
        if mode == "fixed":
            steps.append(transforms.Resize([round(crop / aspect), crop], interpolation=method))
        steps += [transforms.Lambda(lambda im: im.transpose(Image.FLIP_LEFT_RIGHT)), transforms.ToTensor()]
        if normalize:
            steps.append(transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)))
        return transforms.Compose(steps)

    nearest, bicubic = transforms.InterpolationMode.NEAREST, transforms.InterpolationMode.BICUBIC
    official_label = (official(nearest, False)(label) * 255.0).long()[0]
    official_image = official(bicubic, True)(photo.convert("RGB"))
    assert torch.equal(torch.from_numpy(transform_ids(ids, preprocess, params)), official_label)
    assert torch.equal(image_tensor(photo, preprocess, params), official_image)


def test_bad_options_are_refused():
    with pytest.raises(ValueError, match="not one of the official modes"):
        Preprocess("resize")
    with pytest.raises(ValueError, match="crop_size must be a positive"):
        Preprocess(crop_size=0)
    with pytest.raises(ValueError, match="aspect_ratio"):
        Preprocess(aspect_ratio=0)


def test_ids_are_resized_in_the_mode_of_their_file():
    """PIL's nearest resize of a 16-bit image (Cityscapes instance maps) picks other pixels than for 8- or 32-bit
    ones; the official code resizes the file as it is, so 16-bit ids must be resized as 16-bit."""
    ids = np.arange(16).reshape(4, 4)
    preprocess, params = Preprocess("resize_and_crop", load_size=7, crop_size=7, flip=False), Params((0, 0), False)
    for mode, dtype in (("I;16", np.uint16), ("L", np.uint8), ("I", np.int32)):
        pil = np.array(Image.fromarray(ids.astype(dtype)).resize((7, 7), Image.NEAREST))
        np.testing.assert_array_equal(transform_ids(ids, preprocess, params, file_mode=mode), pil)
    sixteen, eight = (transform_ids(ids, preprocess, params, file_mode=mode) for mode in ("I;16", "L"))
    assert (sixteen != eight).any()
