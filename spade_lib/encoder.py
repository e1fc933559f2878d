"""The style encoder of SPADE's VAE mode (lesson 07): image -> (mu, logvar) of a Gaussian over styles z.

Park et al. 2019, Sec. 3.3 and Appendix A (Fig. 14); Kingma & Welling, "Auto-Encoding Variational Bayes", 2014;
official code: NVlabs/SPADE, ``models/networks/encoder.py`` (``ConvEncoder``). Two official bugs are fixed: the
input size is a parameter (the official code resizes to 256 but drops the 6th conv below crop 256, and crashes),
and ``z_dim`` is honoured (the official Linears always output 256).
"""
import math
from typing import Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from .layers import add_spectral_norm, init_weights


class StyleEncoder(nn.Module):
    """Resize to ``input_size`` (bilinear), then 3x3 stride-2 convs (spectral norm, InstanceNorm, LReLU 0.2) down
    to 4x4, with widths ndf * (1, 2, 4, 8, 8, 8, ...); then two Linears to mu and logvar.

    ``input_size`` 256 gives six convs (official), 128 five (``official_keys/keys_E_custom_crop128.txt``), and any
    4 * 2**k works."""

    def __init__(self, input_size: int = 256, ndf: int = 64, z_dim: int = 256):
        super().__init__()
        num_layers = round(math.log2(input_size / 4)) if input_size >= 8 else 0
        if num_layers < 1 or 4 * 2 ** num_layers != input_size:
            raise ValueError(f"input_size must be 4 * 2**k with k >= 1 (8, 16, ..., 128, 256), got {input_size}: "
                             f"each stride-2 conv halves it, down to 4x4")
        self.input_size, self.z_dim = input_size, z_dim
        widths = [ndf * min(2 ** k, 8) for k in range(num_layers)]  # 64, 128, 256, 512, 512, 512
        self.layers = nn.Sequential(*(
            nn.Sequential(
                add_spectral_norm(nn.Conv2d(fin, fout, 3, stride=2, padding=1, bias=False)),
                nn.InstanceNorm2d(fout, affine=False),
                nn.LeakyReLU(0.2),
            )
            for fin, fout in zip([3] + widths[:-1], widths)))
        self.fc_mu = nn.Linear(widths[-1] * 4 * 4, z_dim)
        self.fc_var = nn.Linear(widths[-1] * 4 * 4, z_dim)
        init_weights(self)

    def forward(self, image: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """image: (N, 3, H, W) in [-1, 1], any size -> mu, logvar: (N, z_dim) each."""
        device = self.fc_mu.weight.device
        if not isinstance(image, torch.Tensor) or image.dim() != 4 or image.shape[1] != 3:
            raise ValueError(f"image must be an (N, 3, H, W) RGB tensor, got "
                             f"{tuple(image.shape) if isinstance(image, torch.Tensor) else type(image).__name__}")
        if image.device != device:
            raise ValueError(f"the image is on {image.device} but the encoder is on {device}: "
                             f"move the batch with .to({str(device)!r})")
        size = (self.input_size, self.input_size)
        if image.shape[-2:] != size:
            image = F.interpolate(image, size=size, mode="bilinear", align_corners=False)  # (N, 3, 256, 256)
        x = self.layers(image)  # (N, 8ndf, 4, 4)
        x = x.flatten(1)  # (N, 8ndf * 16)
        return self.fc_mu(x), self.fc_var(x)


def reparameterize(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    r"""A sample of N(mu, exp(logvar)) that gradients flow through (the reparameterization trick, lesson 07).

    .. math:: z = \mu + \epsilon \cdot e^{\frac{1}{2}\log\sigma^2},\quad \epsilon \sim \mathcal{N}(0, I)"""
    # z = mu + eps * exp(log(sigma^2) / 2), eps ~ N(0, I)
    return mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
