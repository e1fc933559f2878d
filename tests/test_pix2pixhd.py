"""The paper's baseline, pix2pixHD++: the label map at the input only, SPADE's trunk with plain batch norm."""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from spade_lib.generator import SPADEGenerator
from spade_lib.labels import LabelMap
from spade_lib.norms import CLADE, SPADE
from spade_lib.pix2pixhd import NormResBlock, Pix2PixHDGenerator, encoder_widths

CLASSES, SIZE = 5, 32


def count(module):
    return sum(p.numel() for p in module.parameters())


def stripes(batch=2, size=SIZE, classes=CLASSES):
    return (torch.arange(size)[None, :].expand(size, size) * classes // size)[None].repeat(batch, 1, 1).clone()


@pytest.mark.parametrize("upsampling,width,aspect_ratio,shape", [
    ("normal", 32, 1.0, (32, 32)), ("normal", 64, 2.0, (32, 64)), ("more", 64, 1.0, (64, 64)),
    ("most", 128, 1.0, (128, 128))])
def test_shapes_as_the_spade_generator(upsampling, width, aspect_ratio, shape):
    g = Pix2PixHDGenerator(CLASSES, width=width, aspect_ratio=aspect_ratio, upsampling=upsampling, ngf=4)
    spade = SPADEGenerator(CLASSES, width=width, aspect_ratio=aspect_ratio, upsampling=upsampling, ngf=4)
    assert (g.height, g.width) == (spade.height, spade.width) == shape
    out = g(torch.randint(0, CLASSES, (2, *shape)))
    assert out.shape == (2, 3, *shape) and out.abs().max() <= 1


@pytest.mark.parametrize("ngf,hidden,width,label_channels", [(16, 32, 64, 13), (32, 64, 128, 36)])
def test_parameter_budget_is_close_to_spade_where_hidden_is_2_ngf(ngf, hidden, width, label_channels):
    """The classroom size (ngf 16, hidden 32) and a Cityscapes-like one: 0.8 to 1.0 times SPADE's parameters
    (the official ADE20K size, ngf 64, hidden 128, 151 channels, gives 0.86: too slow to build in a unit test)."""
    spade = SPADEGenerator(label_channels, width=width, ngf=ngf, spade_hidden=hidden)
    baseline = Pix2PixHDGenerator(label_channels, width=width, ngf=ngf)
    assert 0.8 <= count(baseline) / count(spade) <= 1.0


def test_same_trunk_as_spade_with_batch_norm_instead_of_spade():
    spade = SPADEGenerator(CLASSES, width=SIZE, ngf=8)
    baseline = Pix2PixHDGenerator(CLASSES, width=SIZE, ngf=8)
    trunk = {n: p.shape for n, p in spade.named_parameters() if ".norm_" not in n and not n.startswith("fc.")}
    assert trunk == {n: p.shape for n, p in baseline.named_parameters()
                     if ".norm_" not in n and not n.startswith("encoder.")}
    assert not any(isinstance(m, (SPADE, CLADE)) for m in baseline.modules())
    block_norms = [m for n, m in baseline.named_modules() if n.split(".")[-1] in ("norm_0", "norm_1", "norm_s")]
    assert block_norms and all(isinstance(m, nn.BatchNorm2d) and m.affine for m in block_norms)


def test_encoder_downsamples_the_full_label_map_to_the_start_grid():
    g = Pix2PixHDGenerator(CLASSES, width=64, ngf=4)  # "normal": 5 downsamplings to 2x2
    assert encoder_widths(4, 5) == [4, 8, 16, 32, 64, 64]
    features = g.encoder(torch.zeros(2, CLASSES, 64, 64))
    assert features.shape == (2, 64, 2, 2)
    first = g.encoder.layers[1]
    assert first.in_channels == CLASSES and first.kernel_size == (7, 7)  # the label map enters here, at 64x64


def test_every_segmap_form_gives_the_same_image():
    g = Pix2PixHDGenerator(CLASSES + 1, width=SIZE, ngf=4).eval()
    labels, edges = stripes(), (torch.rand(2, SIZE, SIZE) < 0.2).float()
    segmap = LabelMap(labels, CLASSES, edges)
    with torch.no_grad():
        torch.testing.assert_close(g(segmap), g(segmap.one_hot()))
        g5 = Pix2PixHDGenerator(CLASSES, width=SIZE, ngf=4).eval()
        torch.testing.assert_close(g5(labels), g5(F.one_hot(labels, CLASSES).permute(0, 3, 1, 2).float()))


def test_with_instance_norm_every_uniform_label_map_gives_the_same_image():
    """The paper's argument (Sec. 3, "Why does SPADE work better?"): a label map fed to the input is washed out by
    normalization; with instance norm a uniform map of any class gives one and the same image."""
    size = 64  # a 2x2 start grid: instance norm needs more than one pixel
    # float64, and shifts (beta) away from 0 as training makes them: a normalized constant is 0 only up to
    # rounding, and with every beta 0 the next instance norm would blow that rounding up to unit size
    g = Pix2PixHDGenerator(CLASSES, width=size, ngf=4, norm="instance").double().eval()
    with torch.no_grad():
        for m in g.modules():
            if isinstance(m, nn.InstanceNorm2d):
                m.bias.normal_(0, 0.5)
        images = [g(torch.full((1, size, size), c)) for c in range(CLASSES)]
    assert images[0].std() > 1e-3
    for image in images[1:]:
        torch.testing.assert_close(image, images[0])
    spade = SPADEGenerator(CLASSES, width=size, ngf=4, norm="instance").eval()
    with torch.no_grad():
        for m in spade.modules():  # SPADE's convolutions away from their tiny init
            if isinstance(m, SPADE):
                m.mlp_beta.weight.normal_(0, 0.3)
        assert (spade(torch.full((1, size, size), 0)) - spade(torch.full((1, size, size), 1))).abs().max() > 1e-3


def test_block_computes_the_formula():
    block = NormResBlock(4, 6, spectral_norm=False).eval()
    with torch.no_grad():
        for bn in (block.norm_0, block.norm_1, block.norm_s):
            bn.weight.normal_(1, 0.2)
            bn.bias.normal_(0, 0.2)
            bn.running_mean.normal_(0, 0.5)
    x = torch.randn(2, 4, 8, 8)
    dx = block.conv_1(F.leaky_relu(block.norm_1(block.conv_0(F.leaky_relu(block.norm_0(x), 0.2))), 0.2))
    torch.testing.assert_close(block(x), block.conv_s(block.norm_s(x)) + dx)
    same = NormResBlock(4, 4, spectral_norm=False)
    assert not hasattr(same, "conv_s")


def test_gradient_reaches_every_parameter():
    g = Pix2PixHDGenerator(CLASSES + 1, width=SIZE, ngf=4)
    segmap = LabelMap(stripes(4), CLASSES, (torch.rand(4, SIZE, SIZE) < 0.3).float())
    g(segmap).square().mean().backward()
    assert not [n for n, p in g.named_parameters() if p.grad is None or p.grad.abs().sum() == 0]


def test_a_few_steps_fit_a_tiny_batch(colour_fit_losses):
    g = Pix2PixHDGenerator(CLASSES, width=SIZE, ngf=8)
    labels = stripes()
    losses = colour_fit_losses(g, labels, CLASSES)
    assert losses[-1] < 0.8 * losses[0], losses


def test_bad_input_gets_clear_errors():
    with pytest.raises(ValueError, match="upsampling must be one of"):
        Pix2PixHDGenerator(CLASSES, upsampling="many")
    with pytest.raises(ValueError, match="multiple of"):
        Pix2PixHDGenerator(CLASSES, width=48)
    with pytest.raises(ValueError, match="norm must be"):
        Pix2PixHDGenerator(CLASSES, width=SIZE, norm="group")
    g = Pix2PixHDGenerator(CLASSES, width=SIZE, ngf=4)
    with pytest.raises(ValueError, match="no style vector"):
        g(stripes(), torch.randn(2, 8))
    with pytest.raises(ValueError, match="channels"):
        g(torch.zeros(2, CLASSES + 1, SIZE, SIZE))
    assert g.use_vae is False
