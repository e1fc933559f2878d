"""SPADE's lookup path (spade_lib.norms.spade_fast) equals the dense convolutions, in outputs and gradients."""
import pytest
import torch
import torch.nn.functional as F

from spade_lib.labels import LabelMap, instance_edges
from spade_lib.norms import CLADE, SPADE, find_regions

CLASSES = 6


def relative_error(a: torch.Tensor, b: torch.Tensor) -> float:
    """max |a - b| / max |a|: the measure the fast path is held to."""
    return ((a - b).abs().max() / a.abs().max().clamp_min(1e-30)).item()


def blocks(n, height, width, cells=(3, 4), classes=CLASSES, seed=0) -> torch.Tensor:
    """(n, height, width) ids: a coarse random grid of classes, upsampled (nearest): large rectangular regions."""
    g = torch.Generator().manual_seed(seed)
    grid = torch.randint(0, classes, (n, 1) + cells, generator=g).float()
    return F.interpolate(grid, size=(height, width), mode="nearest")[:, 0].long()


def label_map(kind: str, n: int, height: int, width: int, with_edges: bool):
    """A test label map: 'blocks' (large regions), 'noise' (a random class per pixel) or 'single' (one class);
    with_edges adds instance edges from a second, finer block map (a LabelMap of CLASSES + 1 channels)."""
    if kind == "blocks":
        labels = blocks(n, height, width)
    elif kind == "noise":
        labels = torch.randint(0, CLASSES, (n, height, width), generator=torch.Generator().manual_seed(1))
    else:
        labels = torch.full((n, height, width), 4)
    if not with_edges:
        return labels
    instances = blocks(n, height, width, cells=(4, 6), classes=50, seed=2)
    return LabelMap(labels, CLASSES, instance_edges(instances))


def outputs_and_grads(layer: SPADE, x: torch.Tensor, segmap, path: str):
    """SPADE's output and the gradients of a non-trivial loss to x and to every parameter, on one path."""
    layer.path = path
    x = x.detach().requires_grad_()
    out = layer(x, segmap)
    assert layer.last_path == path
    loss = (out * torch.sin(out)).sum()  # a loss whose gradient differs from pixel to pixel
    grads = torch.autograd.grad(loss, [x] + list(layer.parameters()))
    return out, grads


def assert_paths_agree(layer: SPADE, x: torch.Tensor, segmap, out_tol=1e-5, grad_tol=1e-5, weight_tol=1e-4):
    before = {k: v.clone() for k, v in layer.state_dict().items()}
    dense_out, dense_grads = outputs_and_grads(layer, x, segmap, "dense")
    layer.load_state_dict(before)  # the same running statistics for both paths
    fast_out, fast_grads = outputs_and_grads(layer, x, segmap, "fast")
    assert relative_error(dense_out, fast_out) < out_tol
    assert relative_error(dense_grads[0], fast_grads[0]) < grad_tol  # to x
    names = ["x"] + [name for name, _ in layer.named_parameters()]
    for name, a, b in zip(names[1:], dense_grads[1:], fast_grads[1:]):
        assert relative_error(a, b) < weight_tol, name


@pytest.mark.parametrize("kind", ["blocks", "noise", "single"])
@pytest.mark.parametrize("with_edges", [False, True])
@pytest.mark.parametrize("kernel_size", [1, 3, 5])
@pytest.mark.parametrize("norm", ["batch", "instance"])
@pytest.mark.parametrize("training", [True, False])
def test_fast_path_equals_dense(kind, with_edges, kernel_size, norm, training):
    """Outputs and gradients (x, all weights and biases) over label maps x kernel sizes x norms x modes, with
    batch 2, a non-square map, x at half the label map's resolution, and C != hidden."""
    torch.manual_seed(0)
    segmap = label_map(kind, 2, 36, 28, with_edges)
    layer = SPADE(5, CLASSES + with_edges, hidden=7, kernel_size=kernel_size, norm=norm).double()
    layer.train(training)
    x = torch.randn(2, 5, 18, 14, dtype=torch.float64) * 2 + 0.5
    assert_paths_agree(layer, x, segmap, out_tol=1e-10, grad_tol=1e-10, weight_tol=1e-10)


def test_fast_path_in_float32_at_the_required_precision():
    """fp32, a realistic layer width: outputs and x-gradients to 1e-5, weight gradients to 1e-4 (relative)."""
    torch.manual_seed(0)
    labels = blocks(1, 64, 80, cells=(4, 5), classes=20)
    layer = SPADE(32, 20, hidden=48)
    assert_paths_agree(layer, torch.randn(1, 32, 64, 80), labels)


def test_full_resolution_x_and_long_ids():
    """x at the label map's own size, ids as a plain long tensor (no LabelMap)."""
    torch.manual_seed(0)
    layer = SPADE(4, CLASSES, hidden=3).double()
    assert_paths_agree(layer, torch.randn(3, 4, 20, 24, dtype=torch.float64), blocks(3, 20, 24), 1e-10, 1e-10, 1e-10)


def test_auto_path_picks_fast_for_regions_and_dense_for_noise_and_one_hot():
    layer = SPADE(4, CLASSES, hidden=3)
    x = torch.randn(1, 4, 64, 64)
    layer(x, blocks(1, 64, 64, cells=(2, 2)))
    assert layer.last_path == "fast" and layer.last_band_fraction < layer.max_band_fraction
    layer(x, torch.randint(0, CLASSES, (1, 64, 64)))
    assert layer.last_path == "dense" and layer.last_band_fraction > layer.max_band_fraction
    layer(x, F.one_hot(blocks(1, 64, 64), CLASSES).permute(0, 3, 1, 2).float())
    assert layer.last_path == "dense"
    dense_layer = SPADE(4, CLASSES, hidden=3, path="dense")
    dense_layer(x, blocks(1, 64, 64))
    assert dense_layer.last_path == "dense"


def test_find_regions_on_a_hand_checked_map():
    """Two halves (class 0 | class 1) of an 8 x 12 map, 3 x 3 kernel: the mixed pixels are the two columns at
    the boundary and the outer ring; the band grows them by one pixel."""
    labels = torch.zeros(1, 8, 12, dtype=torch.long)
    labels[:, :, 6:] = 1
    regions = find_regions(labels, None, 3)
    mixed = torch.ones(8, 12, dtype=torch.bool)
    mixed[1:7, 1:5] = False
    mixed[1:7, 7:11] = False
    band = torch.ones(8, 12, dtype=torch.bool)
    band[2:6, 2:4] = False
    band[2:6, 8:10] = False
    assert torch.equal(regions.mixed[0], mixed)
    assert torch.equal(regions.band[0], band)
    assert regions.band_fraction == pytest.approx(1 - 16 / 96)


def test_an_instance_edge_puts_its_window_into_the_band():
    labels = torch.zeros(1, 9, 9, dtype=torch.long)
    edges = torch.zeros(1, 9, 9)
    edges[0, 4, 4] = 1
    regions = find_regions(labels, edges, 3)
    assert regions.mixed[0, 3:6, 3:6].all() and not regions.mixed[0, 2, 4]
    assert regions.band[0, 2:7, 2:7].all()
    assert find_regions(labels, None, 3).band[0, 2:7, 2:7].sum() == 0


def test_inside_regions_spade_is_clade():
    """Fact 2: outside the band, SPADE's output equals the CLADE layer built from SPADE's weights."""
    torch.manual_seed(0)
    labels = blocks(2, 40, 40, cells=(2, 3))
    spade = SPADE(6, CLASSES, hidden=5).double()
    clade = CLADE.from_spade(spade).double()
    x = torch.randn(2, 6, 40, 40, dtype=torch.float64)
    spade_out, clade_out = spade(x, labels), clade(x, labels)
    inside = ~find_regions(labels, None, 3).band  # (N, H, W)
    assert inside.float().mean() > 0.5
    close = (spade_out - clade_out).abs().amax(1) < 1e-12  # (N, H, W)
    assert close[inside].all()
    assert not close[~inside].all()  # at boundaries SPADE is more than CLADE


def test_fast_path_runs_no_convolution(monkeypatch):
    """The point of fact 1: the lookup path never convolves the one-hot map (nor anything else)."""
    layer = SPADE(4, CLASSES, hidden=3, path="fast")
    x, labels = torch.randn(1, 4, 32, 32), blocks(1, 32, 32)
    expected = layer.eval()(x, labels)

    def no_convolution(*args, **kwargs):
        raise AssertionError("the fast path called a convolution")

    monkeypatch.setattr(F, "conv2d", no_convolution)
    monkeypatch.setattr(torch.nn.Conv2d, "_conv_forward", no_convolution)
    torch.testing.assert_close(layer(x, labels), expected)
    assert layer.last_path == "fast"
    with pytest.raises(AssertionError, match="called a convolution"):  # the patch does catch the dense path
        layer.modulation(labels, (32, 32), path="dense")


def test_fast_path_needs_ids_not_one_hot():
    layer = SPADE(4, CLASSES, hidden=3)
    one_hot = F.one_hot(blocks(1, 8, 8), CLASSES).permute(0, 3, 1, 2).float()
    with pytest.raises(ValueError, match="fast path needs class ids"):
        layer.modulation(one_hot, (8, 8), path="fast")
    with pytest.raises(ValueError, match="path must be one of"):
        layer.modulation(blocks(1, 8, 8), (8, 8), path="quick")


@pytest.mark.parametrize("path", ["dense", "fast"])
def test_channels_last_x_gets_channels_last_output(path):
    """Gamma and beta follow x's memory format, so that the modulation does not read across layouts."""
    torch.manual_seed(0)
    layer = SPADE(8, CLASSES, hidden=4, path=path).double()
    labels = blocks(2, 24, 20)
    x = torch.randn(2, 8, 24, 20, dtype=torch.float64)
    expected = layer(x, labels)
    out = layer(x.contiguous(memory_format=torch.channels_last), labels)
    assert out.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(out, expected)
    clade = CLADE(8, CLASSES).double()
    assert clade(x.contiguous(memory_format=torch.channels_last), labels).is_contiguous(
        memory_format=torch.channels_last)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device: the GPU check of the fast path is skipped")
@pytest.mark.parametrize("with_edges", [False, True])
def test_fast_path_equals_dense_on_cuda(with_edges):
    torch.manual_seed(0)
    segmap = label_map("blocks", 2, 40, 36, with_edges).to("cuda")
    layer = SPADE(5, CLASSES + with_edges, hidden=7).double().cuda()
    x = torch.randn(2, 5, 20, 18, dtype=torch.float64, device="cuda")
    assert_paths_agree(layer, x, segmap, 1e-10, 1e-10, 1e-10)
    layer.path = "auto"
    layer(x, segmap)
    assert layer.last_path == "dense"  # on a GPU the convolutions are faster
