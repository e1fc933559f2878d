"""spade_lib.discriminator: official feature shapes, spectral norm placement, the one-hot-free path equals the dense
one (outputs and gradients), and the errors bad input gets."""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils import parametrize
from torch.testing import assert_close

from spade_lib.discriminator import MultiscaleDiscriminator, one_hot_conv2d, pooled_one_hot
from spade_lib.labels import LabelMap, instance_edges, one_hot


def blocky_labels(n, h, w, num_classes, cell=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    coarse = torch.randint(0, num_classes, (n, 1, -(-h // cell), -(-w // cell)), generator=g).float()
    return F.interpolate(coarse, scale_factor=cell, mode="nearest")[:, 0, :h, :w].long()


def test_feature_shapes_match_the_official_at_256():
    D = MultiscaleDiscriminator(5 + 3, ndf=4)
    outputs = D(torch.zeros(1, 256, 256, dtype=torch.long), torch.randn(1, 3, 256, 256))
    assert [[f.shape[-1] for f in scale] for scale in outputs] == [[129, 65, 33, 34, 35], [65, 33, 17, 18, 19]]
    assert [f.shape[1] for f in outputs[0]] == [4, 8, 16, 32, 1]


def test_widths_strides_and_spectral_norm_as_official():
    D = MultiscaleDiscriminator(10, ndf=128, num_d=3)
    assert len(D.discriminators) == 3
    patch = D.discriminators[0]
    convs = [patch.conv_in] + [block[0] for block in patch.blocks] + [patch.conv_out]
    assert [c.out_channels for c in convs] == [128, 256, 512, 512, 1]  # min(ndf * 2**k, 512)
    assert [c.stride[0] for c in convs] == [2, 2, 2, 1, 1]
    assert all(c.kernel_size == (4, 4) and c.padding == (2, 2) for c in convs)
    assert [parametrize.is_parametrized(c) for c in convs] == [False, True, True, True, False]
    assert [c.bias is None for c in convs] == [False, True, True, True, False]
    for block in patch.blocks:
        assert isinstance(block[1], nn.InstanceNorm2d) and not block[1].affine
        assert isinstance(block[2], nn.LeakyReLU) and block[2].negative_slope == 0.2


@pytest.mark.parametrize("kernel, stride, padding, size", [(4, 2, 2, (17, 22)), (3, 1, 1, (9, 8)), (4, 1, 0, (7, 7))])
def test_one_hot_conv2d_is_a_convolution_of_the_one_hot_map(kernel, stride, padding, size):
    labels = torch.randint(0, 6, (2, *size))
    weight = torch.randn(5, 6, kernel, kernel, requires_grad=True)
    ours = one_hot_conv2d(labels, weight, (stride, stride), (padding, padding))
    dense = F.conv2d(one_hot(labels, 6), weight, stride=stride, padding=padding)
    assert_close(ours, dense, rtol=1e-5, atol=1e-5)
    grad = torch.randn_like(dense)
    assert_close(torch.autograd.grad(ours, weight, grad)[0], torch.autograd.grad(dense, weight, grad)[0],
                 rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("size", [(16, 16), (37, 22)])
def test_pooled_one_hot_equals_average_pooling_exactly(size):
    labels = torch.randint(0, 7, (2, *size))
    assert torch.equal(pooled_one_hot(labels, 7), MultiscaleDiscriminator.downsample(one_hot(labels, 7)))


def assert_relative_close(a, b, tol=1e-5):
    assert (a - b).abs().max() <= tol * b.abs().max()


@pytest.mark.parametrize("with_edges", [False, True])
def test_label_path_equals_the_dense_path(with_edges):
    """Outputs and gradients: the label path (no one-hot map) computes the official dense math."""
    num_classes, h, w = 12, 64, 48
    labels = blocky_labels(2, h, w, num_classes)
    edges = instance_edges(blocky_labels(2, h, w, 30, cell=16, seed=1)) if with_edges else None
    segmap = LabelMap(labels, num_classes, edges) if with_edges else labels
    dense_segmap = LabelMap(labels, num_classes, edges).one_hot()
    D = MultiscaleDiscriminator(num_classes + with_edges + 3, ndf=8).eval()  # eval: spectral norm's u, v stay put
    image = torch.randn(2, 3, h, w, requires_grad=True)
    fast, dense = D(segmap, image), D(dense_segmap, image)
    for fast_scale, dense_scale in zip(fast, dense):
        for a, b in zip(fast_scale, dense_scale):
            assert a.shape == b.shape
            assert_relative_close(a, b)
    params = [image, D.discriminators[0].conv_in.weight, D.discriminators[0].conv_in.bias,
              D.discriminators[1].conv_in.weight]
    loss = lambda outputs: sum(f.square().mean() for scale in outputs for f in scale)  # noqa: E731
    for a, b in zip(torch.autograd.grad(loss(fast), params), torch.autograd.grad(loss(dense), params)):
        assert_relative_close(a, b)


def test_bad_input_gets_errors_that_say_what_to_do():
    D = MultiscaleDiscriminator(5 + 3, ndf=4)
    image = torch.randn(1, 3, 32, 32)
    with pytest.raises(ValueError, match=r"class ids 5 outside the valid range \[0, 5\)"):
        D(torch.full((1, 32, 32), 5), image)
    with pytest.raises(ValueError, match="label map has 6 channels but the model expects 5"):
        D(torch.zeros(1, 6, 32, 32), image)
    with pytest.raises(ValueError, match="label map is 16x16 .* works at 32x32"):
        D(torch.zeros(1, 16, 16, dtype=torch.long), image)
    with pytest.raises(ValueError, match="label map holds 2 maps but the image batch 1 images"):
        D(torch.zeros(2, 32, 32, dtype=torch.long), image)
    with pytest.raises(ValueError, match=r"the image is on meta but the discriminator is on cpu: move the batch"):
        D(torch.zeros(1, 32, 32, dtype=torch.long), image.to("meta"))
    with pytest.raises(ValueError, match=r"the label map is on meta but the model is on cpu"):
        D(torch.zeros(1, 32, 32, dtype=torch.long, device="meta"), image)
    with pytest.raises(ValueError, match=r"image must be an \(N, 3, H, W\) tensor"):
        D(torch.zeros(1, 32, 32, dtype=torch.long), image[0])
