"""spade_lib.viz (lesson 00): label maps and images to RGB, grids and legends."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from spade_lib.landscapes import CLASS_NAMES, NUM_CLASSES, PALETTE, Landscapes  # noqa: E402
from spade_lib.viz import colorize, image_grid, legend_handles, show_grid, show_label, to_uint8  # noqa: E402


def test_colorize_uses_the_palette():
    label = torch.arange(NUM_CLASSES).repeat(3, 1)  # (3, K)
    rgb = colorize(label)
    assert rgb.shape == (3, NUM_CLASSES, 3) and rgb.dtype == np.uint8
    assert np.array_equal(rgb[1], PALETTE)
    assert colorize(label[None].repeat(2, 1, 1)).shape == (2, 3, NUM_CLASSES, 3)  # batches too


def test_colorize_rejects_floats_and_unknown_ids():
    with pytest.raises(ValueError, match="integer class ids"):
        colorize(torch.zeros(4, 4))
    with pytest.raises(ValueError, match="must lie in"):
        colorize(np.full((4, 4), NUM_CLASSES))


def test_to_uint8_maps_minus_one_to_one_onto_0_to_255():
    image = torch.tensor([-1.0, 0.0, 1.0, 3.0]).view(1, 1, 4).repeat(3, 2, 1)  # (3, 2, 4)
    rgb = to_uint8(image)
    assert rgb.shape == (2, 4, 3) and rgb.dtype == np.uint8
    assert rgb[0, :, 0].tolist() == [0, 128, 255, 255]
    assert to_uint8(image[None].repeat(5, 1, 1, 1)).shape == (5, 2, 4, 3)
    with pytest.raises(ValueError, match=r"\(3, H, W\)"):
        to_uint8(torch.zeros(2, 4, 4))


def test_legend_names_the_classes_in_their_colours():
    handles = legend_handles([0, 4])
    assert [h.get_label() for h in handles] == [CLASS_NAMES[0], CLASS_NAMES[4]]
    assert np.allclose(handles[1].get_facecolor()[:3], PALETTE[4] / 255)


def test_show_label_draws_the_map_and_a_legend_of_present_classes():
    label = torch.zeros(8, 8, dtype=torch.long)
    label[4:] = 6
    fig, ax = plt.subplots()
    show_label(label, ax, title="a label map")
    assert np.array_equal(ax.images[0].get_array()[7, 0], PALETTE[6])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [CLASS_NAMES[0], CLASS_NAMES[6]]
    assert ax.get_title() == "a label map"
    plt.close(fig)


def test_show_grid_lays_out_label_and_image_rows():
    ds = Landscapes(size=32, length=4)
    rows = [[ds[i]["label"], ds[i]["image"]] for i in range(3)]
    fig = show_grid(rows, titles=["label map", "photo"])
    axes = fig.get_axes()
    assert len(axes) == 6 and [a.get_title() for a in axes[:2]] == ["label map", "photo"]
    assert all(not a.axison for a in axes)
    assert np.array_equal(axes[0].images[0].get_array(), colorize(rows[0][0]))
    assert np.array_equal(axes[1].images[0].get_array(), to_uint8(rows[0][1]))
    plt.close(fig)


def test_image_grid_makes_one_array():
    ds = Landscapes(size=32, length=2)
    grid = image_grid([[ds[0]["label"], ds[0]["image"]], [ds[1]["label"], ds[1]["image"]]], pad=2)
    assert grid.shape == (66, 66, 3) and grid.dtype == np.uint8
    assert np.array_equal(grid[:32, :32], colorize(ds[0]["label"]))
    assert (grid[32:34] == 255).all()  # white gap between rows
