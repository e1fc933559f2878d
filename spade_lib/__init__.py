"""spade_lib: semantic image synthesis with spatially-adaptive normalization (SPADE / GauGAN).

A re-implementation of Park et al., "Semantic Image Synthesis with Spatially-Adaptive Normalization",
CVPR 2019 (https://arxiv.org/abs/1903.07291; official code https://github.com/NVlabs/SPADE), written to be
read next to the course in ``notebooks/``. Each module says which lesson builds it.
"""
__version__ = "0.1.0"

from .modes import by_mode, device, mode, progress, seed_everything, setup

__all__ = ["__version__", "by_mode", "device", "mode", "progress", "seed_everything", "setup"]
