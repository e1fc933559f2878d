"""spade_lib.generator: shapes in every mode, the official forward order, init, spectral norm, input forms, errors.

Full-size models are only built in tests/test_official.py (parameter counts); here ngf=8 and tiny SPADEs."""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils import parametrize
from torch.testing import assert_close

from spade_lib.generator import SPADEGenerator, SPADEResBlock
from spade_lib.labels import LabelMap, check_segmap, instance_edges, label_channels, make_segmap, one_hot
from spade_lib.layers import init_weights


SMALL = dict(ngf=8, spade_hidden=16)


def blocky_labels(n, h, w, num_classes, cell=8, seed=0):
    """(n, h, w) ids constant on cell x cell blocks: a label map with regions, like real ones."""
    g = torch.Generator().manual_seed(seed)
    coarse = torch.randint(0, num_classes, (n, 1, -(-h // cell), -(-w // cell)), generator=g).float()
    return F.interpolate(coarse, scale_factor=cell, mode="nearest")[:, 0, :h, :w].long()


def official_forward(G, seg):
    """The official SPADEGenerator.forward (NVlabs/SPADE models/networks/generator.py), on our modules."""
    x = F.interpolate(seg, size=(G.sh, G.sw))
    x = G.fc(x)
    x = G.head_0(x, seg)
    x = G.up(x)
    x = G.G_middle_0(x, seg)
    if G.upsampling in ("more", "most"):
        x = G.up(x)
    x = G.G_middle_1(x, seg)
    for name in ["up_0", "up_1", "up_2", "up_3"] + (["up_4"] if G.upsampling == "most" else []):
        x = G.up(x)
        x = getattr(G, name)(x, seg)
    x = G.conv_img(F.leaky_relu(x, 2e-1))
    return torch.tanh(x)


@pytest.mark.parametrize("upsampling, width, aspect_ratio, size", [
    ("normal", 64, 1.0, (64, 64)),
    ("normal", 96, 1.5, (64, 96)),  # sw = 3, sh = round(3 / 1.5) = 2
    ("more", 128, 2.0, (64, 128)),  # Cityscapes' shape at a quarter of the size
    ("most", 128, 1.0, (128, 128)),
])
def test_every_mode_and_aspect_ratio_gives_the_official_shape_and_output(upsampling, width, aspect_ratio, size):
    G = SPADEGenerator(4, width=width, aspect_ratio=aspect_ratio, upsampling=upsampling, ngf=8, spade_hidden=8)
    assert (G.height, G.width) == size
    assert hasattr(G, "up_4") == (upsampling == "most")
    assert G.conv_img.in_channels == (4 if upsampling == "most" else 8)
    seg = one_hot(blocky_labels(1, *size, 4), 4)
    out = G.eval()(seg)
    assert out.shape == (1, 3, *size) and out.abs().max() <= 1  # tanh
    assert_close(out, official_forward(G, seg))


def test_every_segmap_form_gives_the_same_image():
    G = SPADEGenerator(label_channels(6, use_instance=True), width=64, **SMALL).eval()
    labels, instances = blocky_labels(2, 64, 64, 6), blocky_labels(2, 64, 64, 50, cell=16, seed=1)
    segmap = LabelMap(labels, 6, instance_edges(instances))
    assert_close(G(segmap), G(segmap.one_hot()))
    G_ids = SPADEGenerator(6, width=64, **SMALL).eval()
    assert_close(G_ids(labels), G_ids(one_hot(labels, 6)))
    assert_close(G_ids(LabelMap(labels, 6)), G_ids(labels))


def test_make_segmap_maps_dont_care_to_its_own_class_and_instances_to_edges():
    label = torch.tensor([[[0, 1, 255], [2, 255, 1]]])
    instance = torch.tensor([[[1, 1, 2], [1, 1, 2]]])
    segmap = make_segmap(label, 3, instance, contain_dontcare=True)
    assert segmap.channels == label_channels(3, contain_dontcare=True, use_instance=True) == 5
    assert segmap.labels.tolist() == [[[0, 1, 3], [2, 3, 1]]]
    assert segmap.edges.tolist() == [[[0, 1, 1], [0, 1, 1]]]
    with pytest.raises(ValueError, match="255"):  # no don't-care class: 255 is out of range, and the error says so
        make_segmap(label, 3)


def test_vae_generator_uses_z_and_samples_it_when_missing():
    G = SPADEGenerator(5, width=64, use_vae=True, z_dim=16, **SMALL).eval()
    labels = blocky_labels(3, 64, 64, 5)
    z = torch.randn(3, 16)
    assert_close(G(labels, z), G(labels, z))
    assert not torch.allclose(G(labels, z), G(labels, torch.randn(3, 16)))
    assert G(labels).shape == (3, 3, 64, 64)  # z drawn on the parameters' device (the official code needs CUDA)
    assert G.fc.in_features == 16 and G.fc.out_features == 16 * 8 * 2 * 2
    with pytest.raises(ValueError, match=r"z must be a \(3, 16\) tensor"):
        G(labels, torch.randn(3, 8))
    with pytest.raises(ValueError, match="use_vae=True"):
        SPADEGenerator(5, width=64, **SMALL)(labels, z)


def test_resblock_shortcut_and_widths():
    learned = SPADEResBlock(16, 8, label_channels=3, hidden=8)
    assert learned.learned_shortcut and learned.conv_s.kernel_size == (1, 1) and learned.conv_s.bias is None
    assert learned.conv_0.out_channels == 8 and learned.conv_1.out_channels == 8  # fmiddle = min(fin, fout)
    same = SPADEResBlock(8, 8, label_channels=3, hidden=8)
    assert not same.learned_shortcut and not hasattr(same, "conv_s") and not hasattr(same, "norm_s")
    assert SPADEResBlock(8, 16, label_channels=3).conv_0.out_channels == 8
    plain = SPADEResBlock(16, 8, label_channels=3, spectral_norm=False)
    assert not any(parametrize.is_parametrized(m) for m in plain.modules())


def test_resblock_computes_the_paper_formula():
    block = SPADEResBlock(8, 4, label_channels=3, hidden=8, norm="instance").eval()
    x, seg = torch.randn(2, 8, 16, 16), one_hot(blocky_labels(2, 32, 32, 3), 3)  # full-resolution segmap
    expected = (block.conv_s(block.norm_s(x, seg))
                + block.conv_1(F.leaky_relu(block.norm_1(block.conv_0(F.leaky_relu(block.norm_0(x, seg), 0.2)), seg),
                                            0.2)))
    assert_close(block(x, seg), expected)


def spectral_normed(module):
    return {name for name, m in module.named_modules() if parametrize.is_parametrized(m, "weight")}


def test_spectral_norm_exactly_on_the_residual_convs():
    G = SPADEGenerator(3, width=64, **SMALL)
    expected = {f"{block}.{conv}" for block in ["head_0", "G_middle_0", "G_middle_1"] for conv in ["conv_0", "conv_1"]}
    expected |= {f"up_{i}.{conv}" for i in range(4) for conv in ["conv_0", "conv_1", "conv_s"]}
    assert spectral_normed(G) == expected
    assert spectral_normed(SPADEGenerator(3, width=64, spectral_norm=False, **SMALL)) == set()


def test_official_init_xavier_normal_gain_002_biases_zero():
    G = SPADEGenerator(3, width=64, ngf=16, spade_hidden=64)
    for weight in [G.head_0.conv_0.parametrizations.weight.original, G.head_0.norm_0.mlp_gamma.weight, G.fc.weight]:
        fan_out, fan_in = weight.shape[0] * weight[0, 0].numel(), weight[0].numel()
        expected_std = 0.02 * (2 / (fan_in + fan_out)) ** 0.5
        assert abs(weight.std().item() / expected_std - 1) < 0.05
        assert abs(weight.mean().item()) < 0.1 * expected_std
    biases = [m.bias for m in G.modules() if isinstance(m, (nn.Conv2d, nn.Linear)) and m.bias is not None]
    assert len(biases) > 20 and all(torch.all(b == 0) for b in biases)


def test_spectral_norm_estimates_start_from_the_initialized_weights():
    """After the official re-init, sigma(W) must be estimated for the new W: W / sigma has spectral norm ~1 at once,
    even in eval mode (no power iteration), so an untrained generator gives sane outputs."""
    G = SPADEGenerator(3, width=64, ngf=16, spade_hidden=16).eval()
    for conv in [G.head_0.conv_0, G.up_1.conv_s, G.up_3.conv_1]:
        top = torch.linalg.matrix_norm(conv.weight.flatten(1), ord=2).item()
        assert 0.97 < top < 1.1


def test_batch_and_instance_norm():
    assert isinstance(SPADEGenerator(3, width=64, **SMALL).head_0.norm_0.param_free_norm, nn.BatchNorm2d)
    G = SPADEGenerator(3, width=64, norm="instance", spade_kernel_size=1, **SMALL)
    assert isinstance(G.head_0.norm_0.param_free_norm, nn.InstanceNorm2d)
    assert G.head_0.norm_0.mlp_gamma.kernel_size == (1, 1)
    assert G(blocky_labels(1, 64, 64, 3)).shape == (1, 3, 64, 64)


def test_bad_input_gets_errors_that_say_what_to_do():
    G = SPADEGenerator(5, width=64, **SMALL)
    with pytest.raises(ValueError, match=r"class ids 7 outside the valid range \[0, 5\)"):
        G(torch.full((1, 64, 64), 7))
    with pytest.raises(ValueError, match="label map has 6 channels but the model expects 5"):
        G(torch.zeros(1, 6, 64, 64))
    with pytest.raises(ValueError, match="label map is 32x32 .* but the model works at 64x64: resize it"):
        G(torch.zeros(1, 32, 32, dtype=torch.long))
    with pytest.raises(ValueError, match=r"the label map is on meta but the model is on cpu: move the batch with \.to"):
        G(torch.zeros(1, 64, 64, dtype=torch.long, device="meta"))
    with pytest.raises(ValueError, match=r"width 100 must be a multiple of 2\*\*5 = 32 for upsampling 'normal'"):
        SPADEGenerator(5, width=100)
    with pytest.raises(ValueError, match="upsampling must be one of"):
        SPADEGenerator(5, upsampling="lots")
    with pytest.raises(TypeError, match="segmap must be a tensor or a spade_lib.labels.LabelMap"):
        G([[0]])


def test_check_segmap_returns_batch_and_size():
    assert check_segmap(torch.zeros(2, 4, 8, 16), 4, torch.device("cpu")) == (2, 8, 16)
    assert check_segmap(LabelMap(torch.zeros(3, 5, 7, dtype=torch.long), 4), 4, torch.device("cpu")) == (3, 5, 7)


def test_init_weights_is_the_official_rule():
    net = nn.Sequential(nn.Conv2d(64, 64, 3), nn.Linear(512, 256))
    init_weights(net)
    assert all(torch.all(m.bias == 0) for m in net)
    assert abs(net[0].weight.std().item() / (0.02 * (2 / (2 * 64 * 9)) ** 0.5) - 1) < 0.05
    assert abs(net[1].weight.std().item() / (0.02 * (2 / (512 + 256)) ** 0.5) - 1) < 0.05
