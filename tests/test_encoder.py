"""spade_lib.encoder: layer counts per input size (the official crash below 256 fixed), z_dim honoured, the official
activation order, the reparameterization trick, and errors."""
import pytest
import torch
import torch.nn.functional as F
from torch.nn.utils import parametrize
from torch.testing import assert_close

from spade_lib.encoder import StyleEncoder, reparameterize


@pytest.mark.parametrize("input_size, num_layers", [(256, 6), (128, 5), (64, 4), (8, 1)])
def test_as_many_stride_2_convs_as_reach_4x4(input_size, num_layers):
    E = StyleEncoder(input_size, ndf=4, z_dim=8)
    assert len(E.layers) == num_layers
    widths = [layer[0].out_channels for layer in E.layers]
    assert widths == [4, 8, 16, 32, 32, 32][:num_layers]
    assert all(parametrize.is_parametrized(layer[0]) and layer[0].bias is None for layer in E.layers)
    assert E.fc_mu.in_features == widths[-1] * 4 * 4
    mu, logvar = E(torch.randn(2, 3, 40, 60))  # any image size: resized to input_size
    assert mu.shape == logvar.shape == (2, 8)


def test_official_widths_and_z_dim():
    E = StyleEncoder(ndf=64, z_dim=32)
    assert [layer[0].out_channels for layer in E.layers] == [64, 128, 256, 512, 512, 512]
    assert (E.fc_mu.in_features, E.fc_mu.out_features, E.fc_var.out_features) == (512 * 4 * 4, 32, 32)


def official_forward(E, x):
    """The official ConvEncoder.forward (NVlabs/SPADE models/networks/encoder.py) on our modules: conv + norm,
    then the activation before the next layer and after the last one."""
    if x.size(2) != E.input_size or x.size(3) != E.input_size:
        x = F.interpolate(x, size=(E.input_size, E.input_size), mode="bilinear")
    for k, layer in enumerate(E.layers):
        x = layer[1](layer[0](x if k == 0 else F.leaky_relu(x, 0.2)))
    x = F.leaky_relu(x, 0.2).view(x.size(0), -1)
    return E.fc_mu(x), E.fc_var(x)


def test_forward_follows_the_official_code():
    E = StyleEncoder(32, ndf=8, z_dim=16).eval()
    image = torch.randn(2, 3, 48, 48)
    for ours, official in zip(E(image), official_forward(E, image)):
        assert_close(ours, official)


def test_reparameterize():
    mu = torch.full((20000,), 1.5, requires_grad=True)
    logvar = torch.full((20000,), 0.25).log().requires_grad_(True)  # sigma = 0.5
    torch.manual_seed(3)
    z = reparameterize(mu, logvar)
    torch.manual_seed(3)
    assert_close(z, mu + torch.randn(20000) * 0.5)
    assert abs(z.mean().item() - 1.5) < 0.02 and abs(z.std().item() - 0.5) < 0.02
    z.sum().backward()
    assert torch.all(mu.grad == 1) and logvar.grad.abs().sum() > 0  # gradients reach both


def test_bad_input_gets_errors_that_say_what_to_do():
    with pytest.raises(ValueError, match=r"input_size must be 4 \* 2\*\*k .* got 100"):
        StyleEncoder(100)
    with pytest.raises(ValueError, match="input_size must be"):
        StyleEncoder(4)
    E = StyleEncoder(16, ndf=4)
    with pytest.raises(ValueError, match=r"image must be an \(N, 3, H, W\) RGB tensor, got \(1, 1, 16, 16\)"):
        E(torch.randn(1, 1, 16, 16))
    with pytest.raises(ValueError, match="the image is on meta but the encoder is on cpu: move the batch"):
        E(torch.randn(1, 3, 16, 16, device="meta"))
