r"""Conditional normalizations: the affine parameters come from a condition, not from training alone (lesson 02).

Both layers normalize without parameters, then scale and shift with a :math:`\gamma` and :math:`\beta` that
depend on the input's condition:

- ``ConditionalBatchNorm2d``: a class per image (de Vries et al. 2017; Miyato & Koyama 2018), one learned
  :math:`(\gamma, \beta)` row per class;
- ``AdaIN``: a style vector per image (Huang & Belongie 2017; as used in StyleGAN), mapped to
  :math:`(\gamma, \beta)` by a linear layer.

Their limit, which SPADE removes (lesson 03): one :math:`\gamma` per channel for the *whole image*, so they
cannot say "grass here, sky there".
"""
import torch
import torch.nn as nn

from ..labels import check_labels
from .standard import BatchNorm2d, InstanceNorm2d


def check_condition(x: torch.Tensor, condition: torch.Tensor, name: str) -> None:
    """x must be (N, C, H, W) and the condition must have one entry per image of the batch."""
    if x.dim() != 4:
        raise ValueError(f"x must have shape (N, C, H, W), got {tuple(x.shape)}")
    if condition.shape[0] != x.shape[0]:
        raise ValueError(f"x has batch size {x.shape[0]} but {name} has {condition.shape[0]} entries: "
                         f"give one per image")


class ConditionalBatchNorm2d(nn.Module):
    r"""Conditional batch normalization: parameter-free batch norm, then a per-class scale and shift.
    Lesson 02 builds it.

    .. math:: y_{nchw} = \gamma_{y_n, c}\, \hat x_{nchw} + \beta_{y_n, c}, \qquad
              \hat x = \text{BN}(x) \text{ (no affine parameters)}

    with :math:`y_n` the class of image n and :math:`\gamma, \beta` two (num_classes, C) tables (embeddings),
    starting at 1 and 0 so that the layer starts as a plain batch norm.
    """

    def __init__(self, num_features: int, num_classes: int):
        super().__init__()
        self.num_classes = num_classes
        self.norm = BatchNorm2d(num_features, affine=False)
        self.gamma = nn.Embedding(num_classes, num_features)
        self.beta = nn.Embedding(num_classes, num_features)
        nn.init.ones_(self.gamma.weight)
        nn.init.zeros_(self.beta.weight)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """x: (N, C, H, W) features; y: (N,) class ids in [0, num_classes)."""
        check_condition(x, y, "y")
        if y.dim() != 1:
            raise ValueError(f"y must hold one class id per image, shape (N,), got {tuple(y.shape)}")
        check_labels(y[:, None, None], self.num_classes, name="y")
        x_hat = self.norm(x)  # (N, C, H, W)
        gamma, beta = self.gamma(y), self.beta(y)  # (N, C) each
        # y_nchw = gamma[y_n, c] x_hat_nchw + beta[y_n, c]
        return gamma[:, :, None, None] * x_hat + beta[:, :, None, None]


class AdaIN(nn.Module):
    r"""Adaptive instance normalization: instance norm, then a scale and shift computed from a style vector.
    Lesson 02 builds it.

    .. math:: y_{nchw} = \gamma_{nc}\, \frac{x_{nchw} - \mu_{nc}}{\sigma_{nc}} + \beta_{nc}, \qquad
              [\gamma_n; \beta_n] = A\, s_n + b

    with :math:`s_n` the style vector of image n and :math:`A, b` a linear layer (``self.style``) to 2C
    values; its bias starts at :math:`\gamma = 1, \beta = 0`, as in StyleGAN.
    """

    def __init__(self, num_features: int, style_dim: int):
        super().__init__()
        self.num_features, self.style_dim = num_features, style_dim
        self.norm = InstanceNorm2d(num_features)
        self.style = nn.Linear(style_dim, 2 * num_features)
        with torch.no_grad():
            self.style.bias.copy_(torch.cat([torch.ones(num_features), torch.zeros(num_features)]))

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        """x: (N, C, H, W) features; style: (N, style_dim) style vectors."""
        check_condition(x, style, "style")
        if style.dim() != 2 or style.shape[1] != self.style_dim:
            raise ValueError(f"style must have shape (N, {self.style_dim}), got {tuple(style.shape)}")
        x_hat = self.norm(x)  # (N, C, H, W)
        # [gamma_n; beta_n] = A s_n + b
        gamma, beta = self.style(style).chunk(2, dim=1)  # (N, C) each
        # y_nchw = gamma_nc (x_nchw - mu_nc) / sigma_nc + beta_nc
        return gamma[:, :, None, None] * x_hat + beta[:, :, None, None]
