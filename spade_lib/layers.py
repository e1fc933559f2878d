"""Layers the three networks share (lessons 04 and 05): the official weight init and spectral normalization,
and ``batched``, which runs a function over a big tensor a few rows at a time.

Official code: NVlabs/SPADE, ``models/networks/base_network.py`` (``init_weights``) and
``models/networks/normalization.py`` (``spectral_norm``); Miyato et al., "Spectral Normalization for Generative
Adversarial Networks", ICLR 2018.
"""
from typing import Optional

import torch
import torch.nn as nn
from torch.nn.utils import parametrizations, parametrize

from .modes import progress


def init_weights(module: nn.Module, gain: float = 0.02) -> None:
    """The official init (lesson 04): xavier_normal with gain 0.02 on every conv and linear weight, biases 0.

    Small weights make SPADE's gamma and beta start near 0, so each SPADE starts as a plain normalization."""
    for m in module.modules():
        if not isinstance(m, (nn.Conv2d, nn.Linear)):
            continue
        if parametrize.is_parametrized(m, "weight"):
            # spectral norm: init the raw weight W, then register the norm again so that its power iteration
            # (which estimates sigma(W) once, at registration) starts from this W rather than the old one
            nn.init.xavier_normal_(m.parametrizations.weight.original, gain)
            parametrize.remove_parametrizations(m, "weight", leave_parametrized=False)
            add_spectral_norm(m)
        else:
            nn.init.xavier_normal_(m.weight, gain)
        if m.bias is not None:
            nn.init.zeros_(m.bias)


def add_spectral_norm(module: nn.Module) -> nn.Module:
    r"""Spectral normalization (Miyato et al. 2018), as in the official code (lesson 05).

    .. math:: W_{SN} = W / \sigma(W),\quad \sigma(W) \approx u^\top W v

    with ``u, v`` refined by one power iteration per training step. Stored as ``parametrizations.weight.original``
    (the official ``weight_orig``) and buffers ``_u``, ``_v`` (``weight_u``, ``weight_v``)."""
    # W_SN = W / sigma(W), sigma(W) ~ u^T W v
    return parametrizations.spectral_norm(module, n_power_iterations=1)


def batched(tensor: torch.Tensor, batch_size: int = 100, desc: Optional[str] = None):
    """Consecutive slices of at most ``batch_size`` along the first dimension; with ``desc``, under a progress
    bar of that name (``spade_lib.modes.progress``: 2000 images take minutes on a CPU)."""
    starts = range(0, len(tensor), batch_size)
    if desc is not None:
        starts = progress(starts, desc=desc, unit="batch", leave=False)
    return (tensor[i:i + batch_size] for i in starts)
