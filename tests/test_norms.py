"""Normalization layers (lessons 01-03): equal to torch's own layers and to the papers' formulas; costs; bad input."""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from spade_lib import norms
from spade_lib.labels import LabelMap, instance_edges
from spade_lib.norms import (CLADE, SPADE, AdaIN, BatchNorm2d, ConditionalBatchNorm2d, GroupNorm, InstanceNorm2d,
                             LayerNorm, clade_cost, spade_cost)

DOUBLE = torch.float64


def relative_error(a: torch.Tensor, b: torch.Tensor) -> float:
    return ((a - b).abs().max() / a.abs().max().clamp_min(1e-30)).item()


def assert_same(mine: nn.Module, reference: nn.Module, x: torch.Tensor, steps: int = 3) -> None:
    """Several forward/backward steps: outputs, input and parameter gradients, and every buffer agree."""
    for _ in range(steps):
        xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
        ya, yb = mine(xa), reference(xb)
        upstream = torch.randn_like(ya)
        ya.backward(upstream)
        yb.backward(upstream)
        assert relative_error(yb, ya) < 1e-6
        assert relative_error(xb.grad, xa.grad) < 1e-6
        for (name, pa), (_, pb) in zip(mine.named_parameters(), reference.named_parameters()):
            assert relative_error(pb.grad, pa.grad) < 1e-6, name
        for (name, ba), (_, bb) in zip(mine.named_buffers(), reference.named_buffers()):
            assert torch.equal(ba, bb) if name == "num_batches_tracked" else relative_error(bb, ba) < 1e-6, name
        x = x * 1.5 + 0.3  # the next batch has other statistics


def randomized(module: nn.Module) -> nn.Module:
    """Non-trivial affine parameters, so that the tests see them."""
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn_like(p))
    return module


# ---------------------------------------------------------------- lesson 01: the standard normalizations
@pytest.mark.parametrize("momentum", [0.1, None])
@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("track_running_stats", [True, False])
def test_batch_norm_equals_torch_in_train_and_eval(momentum, affine, track_running_stats):
    torch.manual_seed(0)
    args = dict(momentum=momentum, affine=affine, track_running_stats=track_running_stats)
    mine, reference = BatchNorm2d(4, **args).to(DOUBLE), nn.BatchNorm2d(4, **args).to(DOUBLE)
    if affine:
        reference.load_state_dict(randomized(mine).state_dict())
    x = torch.randn(3, 4, 5, 6, dtype=DOUBLE) * 2 + 1
    assert_same(mine, reference, x)  # train: batch statistics, running statistics updated
    assert_same(mine.eval(), reference.eval(), x * 3 - 2)  # eval: the running statistics


def test_batch_norm_has_torchs_buffers_and_loads_its_state_dict():
    reference = nn.BatchNorm2d(3)
    reference(torch.randn(4, 3, 2, 2))
    mine = BatchNorm2d(3)
    assert list(mine.state_dict()) == list(reference.state_dict())
    mine.load_state_dict(reference.state_dict())
    assert mine.num_batches_tracked.item() == 1
    x = torch.randn(2, 3, 4, 4)
    torch.testing.assert_close(mine.eval()(x), reference.eval()(x))


@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("track_running_stats", [True, False])
def test_instance_norm_equals_torch_in_train_and_eval(affine, track_running_stats):
    torch.manual_seed(0)
    args = dict(affine=affine, track_running_stats=track_running_stats)
    mine, reference = InstanceNorm2d(4, **args).to(DOUBLE), nn.InstanceNorm2d(4, **args).to(DOUBLE)
    if affine:
        reference.load_state_dict(randomized(mine).state_dict())
    x = torch.randn(3, 4, 5, 6, dtype=DOUBLE) * 2 + 1
    assert_same(mine, reference, x)
    assert_same(mine.eval(), reference.eval(), x)


def test_layer_norm_equals_torch_and_group_norm_of_one_group():
    torch.manual_seed(0)
    x = torch.randn(3, 4, 5, 6, dtype=DOUBLE) * 2 + 1
    mine, reference = LayerNorm([4, 5, 6]).to(DOUBLE), nn.LayerNorm([4, 5, 6]).to(DOUBLE)
    reference.load_state_dict(randomized(mine).state_dict())
    assert_same(mine, reference, x)
    plain = LayerNorm([4, 5, 6], elementwise_affine=False)
    torch.testing.assert_close(plain(x), GroupNorm(1, 4, affine=False)(x))
    torch.testing.assert_close(LayerNorm(6, bias=False)(x), nn.LayerNorm(6, bias=False).to(DOUBLE)(x))


@pytest.mark.parametrize("groups", [1, 2, 4])
def test_group_norm_equals_torch(groups):
    torch.manual_seed(0)
    mine, reference = GroupNorm(groups, 4).to(DOUBLE), nn.GroupNorm(groups, 4).to(DOUBLE)
    reference.load_state_dict(randomized(mine).state_dict())
    assert_same(mine, reference, torch.randn(3, 4, 5, 6, dtype=DOUBLE) * 2 + 1)


def test_a_uniform_map_is_washed_away_by_normalization():
    """Lesson 01's point: normalizing a constant (one-class) input gives zeros, whatever the class."""
    for value in (1.0, 7.0):
        out = InstanceNorm2d(3)(torch.full((1, 3, 4, 4), value))
        assert out.abs().max() == 0


def test_standard_norms_explain_bad_input():
    with pytest.raises(ValueError, match=r"expects x of shape \(N, 4, H, W\)"):
        BatchNorm2d(4)(torch.randn(2, 3, 5, 5))
    with pytest.raises(ValueError, match=r"expects x of shape \(N, 4, H, W\)"):
        InstanceNorm2d(4)(torch.randn(4, 5, 5))
    with pytest.raises(ValueError, match="divisible by num_groups"):
        GroupNorm(3, 4)
    with pytest.raises(ValueError, match=r"last dimensions are \[5, 6\]"):
        LayerNorm([5, 6])(torch.randn(2, 4, 6, 5))


@pytest.mark.parametrize("layer", [BatchNorm2d, InstanceNorm2d, LayerNorm, GroupNorm, ConditionalBatchNorm2d, AdaIN,
                                   SPADE, CLADE])
def test_docstrings_show_the_equation_and_the_lesson(layer):
    assert ".. math::" in layer.__doc__
    assert "Lesson 0" in layer.__doc__


# ---------------------------------------------------------------- lesson 02: conditional normalizations
def test_conditional_batch_norm_is_batch_norm_with_per_class_rows():
    torch.manual_seed(0)
    layer = randomized(ConditionalBatchNorm2d(4, num_classes=3)).double()
    x, y = torch.randn(5, 4, 6, 6, dtype=DOUBLE), torch.tensor([0, 2, 2, 1, 0])
    out = layer(x, y)
    x_hat = F.batch_norm(x, None, None, training=True)
    expected = layer.gamma.weight[y][:, :, None, None] * x_hat + layer.beta.weight[y][:, :, None, None]
    torch.testing.assert_close(out, expected)
    out.sum().backward()
    assert layer.gamma.weight.grad[[0, 1, 2]].abs().sum(1).gt(0).all()  # every used class learns
    fresh = ConditionalBatchNorm2d(4, 3).double()
    torch.testing.assert_close(fresh(x, y), x_hat)  # starts as a plain batch norm


def test_conditional_batch_norm_explains_bad_classes():
    layer = ConditionalBatchNorm2d(4, num_classes=3)
    x = torch.randn(2, 4, 5, 5)
    with pytest.raises(ValueError, match=r"class ids 3, 7 outside the valid range \[0, 3\)"):
        layer(x, torch.tensor([3, 7]))
    with pytest.raises(ValueError, match="must be integers"):
        layer(x, torch.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"one class id per image, shape \(N,\)"):
        layer(x, torch.tensor([[0], [1]]))
    with pytest.raises(ValueError, match="x has batch size 2 but y has 3 entries"):
        layer(x, torch.tensor([0, 1, 2]))


def test_adain_scales_and_shifts_instance_norm_by_the_style():
    torch.manual_seed(0)
    layer = randomized(AdaIN(4, style_dim=8)).double()
    x, style = torch.randn(3, 4, 6, 6, dtype=DOUBLE) * 3 + 2, torch.randn(3, 8, dtype=DOUBLE)
    gamma, beta = (style @ layer.style.weight.t() + layer.style.bias).split(4, dim=1)
    expected = gamma[:, :, None, None] * F.instance_norm(x) + beta[:, :, None, None]
    torch.testing.assert_close(layer(x, style), expected)
    fresh = AdaIN(4, 8).double()
    nn.init.zeros_(fresh.style.weight)
    torch.testing.assert_close(fresh(x, style), F.instance_norm(x))  # the bias starts at gamma 1, beta 0


def test_adain_explains_bad_styles():
    layer = AdaIN(4, style_dim=8)
    x = torch.randn(2, 4, 5, 5)
    with pytest.raises(ValueError, match=r"style must have shape \(N, 8\)"):
        layer(x, torch.randn(2, 7))
    with pytest.raises(ValueError, match="x has batch size 2 but style has 1 entries"):
        layer(x, torch.randn(1, 8))
    with pytest.raises(ValueError, match=r"x must have shape \(N, C, H, W\)"):
        layer(torch.randn(4, 5, 5), torch.randn(4, 8))


# ---------------------------------------------------------------- lesson 03: SPADE and CLADE
def official_spade(layer: SPADE, x: torch.Tensor, one_hot: torch.Tensor) -> torch.Tensor:
    """The official code's forward, written out: normalize, resize the map, conv-ReLU, two convs, Eq. 1."""
    normalized = F.batch_norm(x, None, None, training=True, eps=1e-5)
    m = F.interpolate(one_hot, size=x.shape[-2:], mode="nearest")
    pad = layer.kernel_size // 2
    shared, gamma, beta = layer.mlp_shared[0], layer.mlp_gamma, layer.mlp_beta
    actv = F.relu(F.conv2d(m, shared.weight, shared.bias, padding=pad))
    return normalized * (1 + F.conv2d(actv, gamma.weight, gamma.bias, padding=pad)) + F.conv2d(
        actv, beta.weight, beta.bias, padding=pad)


def test_spade_follows_the_official_math_for_every_input_form():
    torch.manual_seed(0)
    labels = torch.randint(0, 5, (2, 16, 12))
    edges = instance_edges(torch.randint(0, 3, (2, 16, 12)))
    layer = SPADE(3, 6, hidden=4, path="dense").double()
    x = torch.randn(2, 3, 8, 6, dtype=DOUBLE)
    label_map = LabelMap(labels, 5, edges)
    expected = official_spade(layer, x, label_map.one_hot().double())
    torch.testing.assert_close(layer(x, label_map.one_hot().double()), expected)
    torch.testing.assert_close(layer(x, label_map), expected)
    ids_only = official_spade(layer, x, F.one_hot(labels, 6).permute(0, 3, 1, 2).double())
    torch.testing.assert_close(layer(x, labels), ids_only)


def test_spade_keeps_the_official_names():
    keys = set(SPADE(8, 5).state_dict())
    assert {"mlp_shared.0.weight", "mlp_shared.0.bias", "mlp_gamma.weight", "mlp_gamma.bias", "mlp_beta.weight",
            "mlp_beta.bias", "param_free_norm.running_mean", "param_free_norm.running_var"} <= keys
    assert isinstance(SPADE(8, 5, norm="instance").param_free_norm, nn.InstanceNorm2d)
    assert SPADE(8, 5, hidden=32, kernel_size=5).mlp_gamma.weight.shape == (8, 32, 5, 5)


def test_clade_looks_up_one_row_per_class_for_every_input_form():
    torch.manual_seed(0)
    layer = randomized(CLADE(3, num_classes=5)).double()
    labels = torch.randint(0, 5, (2, 10, 8))
    x = torch.randn(2, 3, 5, 4, dtype=DOUBLE)
    small = labels[:, ::2, ::2]  # the nearest resize of a 10 x 8 map to 5 x 4
    gamma = layer.gamma.weight[small].permute(0, 3, 1, 2)
    beta = layer.beta.weight[small].permute(0, 3, 1, 2)
    expected = F.batch_norm(x, None, None, training=True) * (1 + gamma) + beta
    torch.testing.assert_close(layer(x, labels), expected)
    torch.testing.assert_close(layer(x, LabelMap(labels, 5)), expected)
    torch.testing.assert_close(layer(x, F.one_hot(labels, 5).permute(0, 3, 1, 2).double()), expected)
    with pytest.raises(ValueError, match="no instance-edge channel"):
        layer(x, LabelMap(labels, 5, instance_edges(labels)))


def test_costs_match_a_hand_count_and_the_modules():
    # official ADE20K full-resolution layer: 151 label channels, C = hidden = 128, 3 x 3
    spade = spade_cost(128, 151, hidden=128, kernel_size=3, size=(256, 256))
    shared, gamma_beta = 9 * 151 * 128, 2 * 9 * 128 * 128  # 173_952 and 294_912 weights
    assert spade.params == shared + 128 + gamma_beta + 2 * 128 == 469_248
    assert spade.macs_per_pixel == shared + gamma_beta + 128 == 468_992
    assert spade.macs == 468_992 * 65_536
    clade = clade_cost(128, 151, size=256)
    assert (clade.params, clade.macs_per_pixel, clade.macs) == (2 * 151 * 128, 128, 128 * 65_536)
    for layer, cost in ((SPADE(128, 151), spade), (CLADE(128, 151), clade)):
        assert layer.cost((256, 256)) == cost
        assert sum(p.numel() for p in layer.parameters()) == cost.params
    assert spade_cost(16, 10, hidden=8, kernel_size=1, size=(4, 2)).macs == (10 * 8 + 2 * 8 * 16 + 16) * 8


# ---------------------------------------------------------------- bad input to SPADE and CLADE
@pytest.fixture
def spade():
    return SPADE(4, 6, hidden=3)


def test_ids_outside_the_range_are_named(spade):
    labels = torch.zeros(2, 8, 8, dtype=torch.long)
    labels[0, 0, 0], labels[1, 3, 3] = 6, 255
    with pytest.raises(ValueError, match=r"class ids 6, 255 outside the valid range \[0, 6\).*don't care"):
        spade(torch.randn(2, 4, 8, 8), labels)
    with pytest.raises(ValueError, match=r"class ids -1 outside the valid range \[0, 3\)"):
        CLADE(4, 3)(torch.randn(1, 4, 8, 8), torch.full((1, 8, 8), -1))


def test_float_ids_are_explained(spade):
    with pytest.raises(ValueError, match=r"one-hot map of shape \(N, 6, H, W\).*segmap.long\(\)"):
        spade(torch.randn(1, 4, 8, 8), torch.randint(0, 6, (1, 8, 8)).float())
    with pytest.raises(ValueError, match="must be integers"):
        LabelMap(torch.zeros(1, 8, 8), 6)  # a LabelMap refuses float ids before any layer sees them


def test_wrong_dimensions_are_explained(spade):
    with pytest.raises(ValueError, match=r"SPADE expects x of shape \(N, 4, H, W\), got \(4, 8, 8\)"):
        spade(torch.randn(4, 8, 8), torch.zeros(1, 8, 8, dtype=torch.long))
    with pytest.raises(ValueError, match=r"SPADE expects x of shape \(N, 4, H, W\), got \(1, 5, 8, 8\)"):
        spade(torch.randn(1, 5, 8, 8), torch.zeros(1, 8, 8, dtype=torch.long))
    with pytest.raises(ValueError, match=r"must have shape \(N, H, W\).*labels\[:, 0\]"):
        spade(torch.randn(1, 4, 8, 8), torch.zeros(1, 1, 8, 8, dtype=torch.long))
    with pytest.raises(ValueError, match="segmap must be a tensor"):
        spade(torch.randn(1, 4, 8, 8), [[0, 1]])


def test_one_hot_with_the_wrong_channel_count_is_explained(spade):
    one_hot = F.one_hot(torch.zeros(1, 8, 8, dtype=torch.long), 5).permute(0, 3, 1, 2).float()
    with pytest.raises(ValueError, match="one-hot segmap has 5 channels .* label_channels=6"):
        spade(torch.randn(1, 4, 8, 8), one_hot)
    edges = LabelMap(torch.zeros(1, 8, 8, dtype=torch.long), 6, torch.zeros(1, 8, 8))
    with pytest.raises(ValueError, match=r"6 classes \+ 1 edge channel = 7 channels.*label_channels=6"):
        spade(torch.randn(1, 4, 8, 8), edges)


def test_batch_size_mismatch_is_explained(spade):
    with pytest.raises(ValueError, match="x has batch size 2 but segmap has batch size 3"):
        spade(torch.randn(2, 4, 8, 8), torch.zeros(3, 8, 8, dtype=torch.long))
    with pytest.raises(ValueError, match="x has batch size 1 but segmap has batch size 2"):
        CLADE(4, 6)(torch.randn(1, 4, 8, 8), torch.zeros(2, 6, 8, 8))


def test_bad_construction_is_explained():
    with pytest.raises(ValueError, match="kernel_size must be odd"):
        SPADE(4, 6, kernel_size=4)
    with pytest.raises(ValueError, match="norm must be 'batch' or 'instance'"):
        SPADE(4, 6, norm="group")
    with pytest.raises(ValueError, match="path must be one of"):
        SPADE(4, 6, path="fastest")
    with pytest.raises(ValueError, match="norm must be 'batch' or 'instance'"):
        CLADE(4, 6, norm="layer")


def test_package_exports_the_lesson_api():
    for name in ("BatchNorm2d", "InstanceNorm2d", "LayerNorm", "GroupNorm", "ConditionalBatchNorm2d", "AdaIN",
                 "SPADE", "CLADE", "spade_cost", "clade_cost", "find_regions"):
        assert name in norms.__all__ and hasattr(norms, name)


def test_modulation_gradients_pass_gradcheck():
    """Eq. 1's hand-written backward (spade.Modulate) against numerical derivatives, first and second order."""
    from spade_lib.norms.spade import modulate
    torch.manual_seed(0)
    inputs = [torch.randn(2, 3, 4, 5, dtype=DOUBLE, requires_grad=True) for _ in range(3)]
    assert torch.autograd.gradcheck(modulate, inputs)
    assert torch.autograd.gradgradcheck(modulate, inputs)
