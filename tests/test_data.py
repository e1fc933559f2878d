"""The Landscapes dataset (lesson 00): shapes, determinism, resolution independence, statistics, styles, errors."""
import hashlib
import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from spade_lib.landscapes import (CLASS_NAMES, NUM_CLASSES, PALETTE, STYLE_NAMES, Landscapes, make_layout, noise1d,
                                  render_labels)


def labels_of(seed, index, height, width=None):
    """The label map alone, straight from the layout (no image): fast enough for statistics."""
    canvas = make_layout(seed, index, height, width or height)
    return np.array(canvas.classes)[canvas.obj]


def near_boundary(label: np.ndarray) -> np.ndarray:
    """True where the 5 x 5 neighbourhood holds more than one class (Chebyshev distance <= 2 from a boundary)."""
    t = torch.from_numpy(label).float()[None, None]
    most = F.max_pool2d(t, 5, stride=1, padding=2)
    least = -F.max_pool2d(-t, 5, stride=1, padding=2)
    return (most != least)[0, 0].numpy()


def test_constants_describe_the_classes():
    assert len(CLASS_NAMES) == NUM_CLASSES and 8 <= NUM_CLASSES <= 12
    for name in ("sky", "cloud", "mountain", "snow", "water", "sand", "grass", "tree", "rock"):
        assert name in CLASS_NAMES
    assert PALETTE.shape == (NUM_CLASSES, 3) and PALETTE.dtype == np.uint8
    assert len({tuple(c) for c in PALETTE}) == NUM_CLASSES
    assert len(STYLE_NAMES) >= 6
    assert Landscapes.num_classes == NUM_CLASSES and Landscapes.class_names == CLASS_NAMES


@pytest.mark.parametrize("size, shape", [(64, (64, 64)), ((32, 64), (32, 64)), (48, (48, 48))])
def test_sample_shapes_dtypes_and_ranges(size, shape):
    sample = Landscapes(size=size, length=5)[3]
    assert sample["label"].shape == shape and sample["label"].dtype == torch.long
    assert sample["instance"].shape == shape and sample["instance"].dtype == torch.long
    assert sample["image"].shape == (3, *shape) and sample["image"].dtype == torch.float32
    assert sample["label"].min() >= 0 and sample["label"].max() < NUM_CLASSES
    assert sample["image"].min() >= -1 and sample["image"].max() <= 1 and sample["image"].std() > 0.05
    assert 0 <= sample["style"] < len(STYLE_NAMES)


def test_instances_refine_the_label_map():
    ds, things = Landscapes(size=128, length=10), 0
    for index in range(10):
        layout = ds.layout(index)
        label, instance = layout["label"], layout["instance"]
        assert torch.equal(instance // 1000, label)  # class * 1000 + k
        for name in ("sky", "mountain", "water", "grass"):  # stuff: one instance per class
            assert len(torch.unique(instance[label == CLASS_NAMES.index(name)])) <= 1
        things += sum(len(torch.unique(instance[label == CLASS_NAMES.index(n)])) for n in ("tree", "rock", "bush"))
    assert things > 20  # each tree, rock and bush its own id


def test_same_seed_and_index_give_the_same_sample():
    a, b = Landscapes(size=64, seed=3)[7], Landscapes(size=64, seed=3)[7]
    for key in ("label", "instance", "image"):
        assert torch.equal(a[key], b[key])
    assert a["style"] == b["style"]
    other_index, other_seed = Landscapes(size=64, seed=3)[8], Landscapes(size=64, seed=4)[7]
    assert not torch.equal(a["label"], other_index["label"])
    assert not torch.equal(a["label"], other_seed["label"])


def test_label_maps_are_the_same_on_every_machine():
    # Geometry uses only + - * / sqrt and comparisons, so these hashes hold on every CPU.
    # If you change the layout on purpose, update them (and say so in the changelog).
    digest = hashlib.sha256()
    for index in range(4):
        digest.update(labels_of(0, index, 64).astype(np.uint8).tobytes())
    assert digest.hexdigest()[:16] == GOLDEN_LABELS


GOLDEN_LABELS = "6ee176b45ec1ceb7"


def test_noise_is_smooth_and_bounded():
    u = np.linspace(-50, 50, 10001)
    n = noise1d(u)
    assert np.abs(n).max() <= 1.0 and n.std() > 0.2
    assert np.abs(np.diff(n)).max() < 0.05  # no jumps between neighbouring positions


def test_the_same_scene_at_every_resolution():
    agreement = []
    for index in range(12):
        big = torch.from_numpy(labels_of(0, index, 256))[None, None].float()
        small = labels_of(0, index, 64)
        down = F.interpolate(big, size=(64, 64), mode="nearest")[0, 0].long().numpy()
        agreement.append((down == small).mean())
    assert np.mean(agreement) >= 0.95 and min(agreement) >= 0.9, agreement


def test_a_wide_image_extends_the_square_one_to_the_right():
    square, wide = labels_of(0, 11, 64), labels_of(0, 11, 64, 128)
    assert np.array_equal(square, wide[:, :64])


def test_every_class_appears_in_at_least_a_fifth_of_the_samples():
    present = np.zeros(NUM_CLASSES)
    for index in range(500):
        present += np.bincount(labels_of(0, index, 64).ravel(), minlength=NUM_CLASSES) > 0
    frequency = dict(zip(CLASS_NAMES, present / 500))
    assert min(frequency.values()) >= 0.2, frequency


def test_regions_have_natural_sizes():
    # Real photos' label maps: 5 to 20 % of pixels within 2 pixels of a class boundary at 256 x 256.
    fraction = np.mean([near_boundary(labels_of(0, index, 256)).mean() for index in range(50)])
    assert 0.05 <= fraction <= 0.20, fraction


def test_styles_of_one_layout_differ_clearly():
    ds = Landscapes(size=64, length=10)
    images = {style: torch.stack([ds.render(i, style)["image"] for i in range(4)]) for style in STYLE_NAMES}
    layouts = {style: torch.stack([ds.render(i, style)["label"] for i in range(4)]) for style in ("day", "night")}
    assert torch.equal(layouts["day"], layouts["night"])
    for a, b in itertools.combinations(STYLE_NAMES, 2):
        difference = (images[a] - images[b]).abs().mean().item()
        assert difference > 0.15, (a, b, difference)


def test_render_keeps_the_layout_and_reports_the_style():
    ds = Landscapes(size=64, length=10)
    own, sunset = ds[2], ds.render(2, "sunset")
    assert torch.equal(own["label"], sunset["label"]) and torch.equal(own["instance"], sunset["instance"])
    assert STYLE_NAMES[sunset["style"]] == "sunset"
    assert torch.equal(ds.layout(2)["label"], own["label"])


def test_styles_argument_limits_the_drawn_styles():
    ds = Landscapes(size=32, length=20, styles=["night", "fog"])
    assert {STYLE_NAMES[ds[i]["style"]] for i in range(20)} == {"night", "fog"}


def test_render_labels_paints_any_label_map():
    label = torch.full((64, 128), CLASS_NAMES.index("sky"))
    label[32:] = CLASS_NAMES.index("grass")
    label[20:40, 50:60] = CLASS_NAMES.index("tree")
    day, night = render_labels(label, "day"), render_labels(label, "night")
    assert day.shape == (3, 64, 128) and -1 <= day.min() and day.max() <= 1
    assert day[2, :20].mean() > day[2, 40:].mean()  # blue sky above green grass
    assert (day - night).abs().mean() > 0.3
    with pytest.raises(ValueError, match="outside the valid range"):
        render_labels(torch.full((64, 64), NUM_CLASSES))


def test_works_with_a_dataloader():
    loader = torch.utils.data.DataLoader(Landscapes(size=32, length=8), batch_size=4, num_workers=0)
    batches = list(loader)
    assert len(batches) == 2
    batch = batches[0]
    assert batch["label"].shape == (4, 32, 32) and batch["image"].shape == (4, 3, 32, 32)
    assert batch["style"].shape == (4,) and batch["style"].dtype == torch.long


def test_iterating_stops_at_the_end():
    assert len([sample for sample in Landscapes(size=32, length=3)]) == 3


@pytest.mark.parametrize("kwargs, message", [
    ({"size": 16}, "between 32 and 512"),
    ({"size": 64.0}, "size must be an int"),
    ({"size": 1024}, "between 32 and 512"),
    ({"size": (64, 100)}, "twice the height"),
    ({"length": 0}, "positive number"),
    ({"styles": ["sunrise"]}, "unknown style 'sunrise'; the styles are day, "),
])
def test_bad_arguments_say_what_to_do(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Landscapes(**kwargs)


def test_bad_index_or_style_say_what_to_do():
    ds = Landscapes(size=32, length=5)
    for index in (-1, 5):
        with pytest.raises(ValueError, match=r"out of range .* use 0 <= index < 5"):
            ds[index]
    with pytest.raises(ValueError, match="unknown style 'noon'"):
        ds.render(0, "noon")
