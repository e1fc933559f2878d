r"""Batch, instance, layer and group normalization written from their formulas (lesson 01).

All four do the same two steps and differ only in *which* values share a mean and a variance:

.. math:: \hat x = \frac{x - \mu}{\sqrt{\sigma^2 + \epsilon}}, \qquad y = \gamma \hat x + \beta

- batch norm: one mean per channel, over the batch and all pixels (N, H, W);
- instance norm: one mean per image and channel, over the pixels (H, W);
- layer norm: one mean per image, over channels and pixels (C, H, W);
- group norm: one mean per image and group of channels.

Each class takes the same constructor arguments, and has the same parameters and buffers, as its ``torch.nn``
namesake, and gives the same numbers (``tests/test_norms.py`` checks outputs, running statistics and gradients).
"""
from typing import Optional, Sequence, Union

import torch
import torch.nn as nn


def standardize(x: torch.Tensor, mean: torch.Tensor, var: torch.Tensor, eps: float) -> torch.Tensor:
    r"""The shared first step of every normalization:

    .. math:: \hat x = \frac{x - \mu}{\sqrt{\sigma^2 + \epsilon}}
    """
    # x_hat = (x - mu) / sqrt(sigma^2 + eps)
    return (x - mean) / torch.sqrt(var + eps)


def mean_and_var(x: torch.Tensor, dims) -> tuple:
    r"""Mean and *biased* variance over ``dims`` (the normalization uses the biased one, like torch):

    .. math:: \mu = \frac{1}{m}\sum_i x_i, \qquad \sigma^2 = \frac{1}{m}\sum_i (x_i - \mu)^2
    """
    # mu = 1/m sum_i x_i, sigma^2 = 1/m sum_i (x_i - mu)^2
    return x.mean(dims, keepdim=True), x.var(dims, keepdim=True, correction=0)


def per_channel(v: torch.Tensor) -> torch.Tensor:
    """(C,) -> (1, C, 1, 1), so that a per-channel value broadcasts over (N, C, H, W)."""
    return v.view(1, -1, 1, 1)


class _RunningStatsNorm(nn.Module):
    """What batch norm and instance norm share: the affine parameters and the running statistics buffers,
    with torch's names (``weight``, ``bias``, ``running_mean``, ``running_var``, ``num_batches_tracked``)."""

    def __init__(self, num_features: int, eps: float, momentum: Optional[float], affine: bool,
                 track_running_stats: bool):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:
            self.weight = nn.Parameter(torch.ones(num_features))  # gamma
            self.bias = nn.Parameter(torch.zeros(num_features))  # beta
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", torch.zeros(num_features))
            self.register_buffer("running_var", torch.ones(num_features))
            self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def check_input(self, x: torch.Tensor) -> None:
        if x.dim() != 4 or x.shape[1] != self.num_features:
            raise ValueError(f"{type(self).__name__}({self.num_features}) expects x of shape (N, {self.num_features}, "
                             f"H, W), got {tuple(x.shape)}")

    def update_running_stats(self, mean: torch.Tensor, unbiased_var: torch.Tensor, factor: float) -> None:
        r"""Exponential moving average of the statistics, used in eval mode:

        .. math:: \hat\mu \leftarrow (1 - m)\,\hat\mu + m\,\mu_B, \qquad
                  \hat\sigma^2 \leftarrow (1 - m)\,\hat\sigma^2 + m\,\frac{n}{n-1}\sigma_B^2

        (the running variance uses the *unbiased* batch variance, over n values per channel)."""
        with torch.no_grad():
            # running <- (1 - m) running + m batch (the variance: unbiased, n / (n - 1) sigma_B^2)
            self.running_mean.lerp_(mean.to(self.running_mean.dtype), factor)
            self.running_var.lerp_(unbiased_var.to(self.running_var.dtype), factor)

    def affine_transform(self, x_hat: torch.Tensor) -> torch.Tensor:
        r""":math:`y = \gamma \hat x + \beta`, per channel (or :math:`y = \hat x` without affine parameters)."""
        if not self.affine:
            return x_hat
        return x_hat * per_channel(self.weight) + per_channel(self.bias)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm2d(_RunningStatsNorm):
    r"""Batch normalization (Ioffe & Szegedy 2015), from the formula; same numbers as ``torch.nn.BatchNorm2d``.
    Lesson 01 builds it.

    In training (or without running statistics) each channel uses the statistics of the batch, over
    :math:`m = N H W` values:

    .. math:: \mu_B = \frac{1}{m}\sum_{n,h,w} x_{nchw}, \quad
              \sigma_B^2 = \frac{1}{m}\sum_{n,h,w} (x_{nchw} - \mu_B)^2, \quad
              \hat x = \frac{x - \mu_B}{\sqrt{\sigma_B^2 + \epsilon}}, \quad y = \gamma \hat x + \beta

    and updates the running statistics with momentum :math:`m` (``momentum=None``: the cumulative average,
    :math:`m = 1 / \text{num\_batches\_tracked}`). In eval mode it uses the running statistics instead, so one
    image's output no longer depends on the rest of the batch.
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: Optional[float] = 0.1, affine: bool = True,
                 track_running_stats: bool = True):
        super().__init__(num_features, eps, momentum, affine, track_running_stats)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)  # (N, C, H, W)
        if self.training or not self.track_running_stats:
            # mu_B, sigma_B^2 over the m = N H W values of each channel
            mean, var = mean_and_var(x, (0, 2, 3))  # (1, C, 1, 1) each
            if self.training and self.track_running_stats:
                self.num_batches_tracked += 1
                factor = 1.0 / self.num_batches_tracked.item() if self.momentum is None else self.momentum
                n = x.numel() // x.shape[1]
                self.update_running_stats(mean.flatten(), var.flatten() * n / (n - 1), factor)
        else:
            mean, var = per_channel(self.running_mean), per_channel(self.running_var)
        return self.affine_transform(standardize(x, mean, var, self.eps))


class InstanceNorm2d(_RunningStatsNorm):
    r"""Instance normalization (Ulyanov et al. 2016), from the formula; same numbers as ``torch.nn.InstanceNorm2d``.
    Lesson 01 builds it.

    Each image and channel is normalized with its own statistics, over its :math:`H W` pixels:

    .. math:: \mu_{nc} = \frac{1}{HW}\sum_{h,w} x_{nchw}, \quad
              \sigma_{nc}^2 = \frac{1}{HW}\sum_{h,w} (x_{nchw} - \mu_{nc})^2, \quad
              y = \gamma \frac{x - \mu_{nc}}{\sqrt{\sigma_{nc}^2 + \epsilon}} + \beta

    Defaults follow torch: no affine parameters, no running statistics. With ``track_running_stats=True`` the
    running statistics average the per-image statistics over the batch and are used in eval mode; like torch,
    ``num_batches_tracked`` is not counted and ``momentum=None`` leaves the running statistics unchanged.
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: Optional[float] = 0.1, affine: bool = False,
                 track_running_stats: bool = False):
        super().__init__(num_features, eps, momentum, affine, track_running_stats)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)  # (N, C, H, W)
        if self.training or not self.track_running_stats:
            # mu_nc, sigma_nc^2 over the H W pixels of each image and channel
            mean, var = mean_and_var(x, (2, 3))  # (N, C, 1, 1) each
            if self.training and self.track_running_stats and self.momentum is not None:
                n = x.shape[2] * x.shape[3]
                self.update_running_stats(mean.mean((0, 2, 3)), (var * n / (n - 1)).mean((0, 2, 3)), self.momentum)
        else:
            mean, var = per_channel(self.running_mean), per_channel(self.running_var)
        return self.affine_transform(standardize(x, mean, var, self.eps))


class LayerNorm(nn.Module):
    r"""Layer normalization (Ba et al. 2016), from the formula; same numbers as ``torch.nn.LayerNorm``.
    Lesson 01 builds it.

    Statistics over the last ``len(normalized_shape)`` dimensions; for images ``LayerNorm([C, H, W])``
    normalizes each image over all its channels and pixels (:math:`m = C H W` values):

    .. math:: \mu_n = \frac{1}{m}\sum_{c,h,w} x_{nchw}, \quad
              \sigma_n^2 = \frac{1}{m}\sum_{c,h,w} (x_{nchw} - \mu_n)^2, \quad
              y = \gamma \odot \frac{x - \mu_n}{\sqrt{\sigma_n^2 + \epsilon}} + \beta

    where, as in torch, :math:`\gamma` and :math:`\beta` have the shape ``normalized_shape`` (one per element,
    not per channel: for per-channel ones use ``GroupNorm(1, C)``, which normalizes the same way).
    """

    def __init__(self, normalized_shape: Union[int, Sequence[int]], eps: float = 1e-5,
                 elementwise_affine: bool = True, bias: bool = True):
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        self.normalized_shape, self.eps, self.elementwise_affine = shape, eps, elementwise_affine
        self.weight = nn.Parameter(torch.ones(shape)) if elementwise_affine else None
        self.bias = nn.Parameter(torch.zeros(shape)) if elementwise_affine and bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if tuple(x.shape[-len(self.normalized_shape):]) != self.normalized_shape:
            raise ValueError(f"LayerNorm{list(self.normalized_shape)} expects x whose last dimensions are "
                             f"{list(self.normalized_shape)}, got {tuple(x.shape)}")
        dims = tuple(range(-len(self.normalized_shape), 0))
        # y = gamma * (x - mu_n) / sqrt(sigma_n^2 + eps) + beta, statistics over the normalized dimensions
        y = standardize(x, *mean_and_var(x, dims), self.eps)
        if self.weight is not None:
            y = y * self.weight
        if self.bias is not None:
            y = y + self.bias
        return y

    def extra_repr(self) -> str:
        return f"{list(self.normalized_shape)}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


class GroupNorm(nn.Module):
    r"""Group normalization (Wu & He 2018), from the formula; same numbers as ``torch.nn.GroupNorm``.
    Lesson 01 builds it.

    The C channels are split into G groups of C/G; each image and group is normalized over its channels and
    pixels (:math:`m = \frac{C}{G} H W` values), then each channel gets its own :math:`\gamma, \beta`:

    .. math:: \mu_{ng} = \frac{1}{m}\sum_{c \in g,h,w} x_{nchw}, \quad
              \sigma_{ng}^2 = \frac{1}{m}\sum_{c \in g,h,w} (x_{nchw} - \mu_{ng})^2, \quad
              y_{nchw} = \gamma_c \frac{x_{nchw} - \mu_{ng}}{\sqrt{\sigma_{ng}^2 + \epsilon}} + \beta_c

    ``GroupNorm(1, C)`` is layer norm with per-channel parameters, ``GroupNorm(C, C)`` is instance norm.
    """

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5, affine: bool = True):
        super().__init__()
        if num_groups <= 0 or num_channels % num_groups:
            raise ValueError(f"num_channels ({num_channels}) must be divisible by num_groups ({num_groups})")
        self.num_groups, self.num_channels, self.eps, self.affine = num_groups, num_channels, eps, affine
        self.weight = nn.Parameter(torch.ones(num_channels)) if affine else None
        self.bias = nn.Parameter(torch.zeros(num_channels)) if affine else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() < 2 or x.shape[1] != self.num_channels:
            raise ValueError(f"GroupNorm({self.num_groups}, {self.num_channels}) expects x of shape "
                             f"(N, {self.num_channels}, ...), got {tuple(x.shape)}")
        groups = x.reshape(x.shape[0], self.num_groups, -1)  # (N, G, C/G * H * W)
        # y = gamma_c (x - mu_ng) / sqrt(sigma_ng^2 + eps) + beta_c, statistics over each group's C/G H W values
        y = standardize(groups, *mean_and_var(groups, 2), self.eps).view_as(x)  # (N, C, H, W)
        if self.affine:
            shape = (1, -1) + (1,) * (x.dim() - 2)
            y = y * self.weight.view(shape) + self.bias.view(shape)
        return y

    def extra_repr(self) -> str:
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"
