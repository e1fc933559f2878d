"""Normalization layers, from batch norm to SPADE (lessons 01-03).

- ``standard`` (lesson 01): ``BatchNorm2d``, ``InstanceNorm2d``, ``LayerNorm``, ``GroupNorm`` from their formulas.
- ``conditional`` (lesson 02): ``ConditionalBatchNorm2d`` (a class per image), ``AdaIN`` (a style per image).
- ``spade`` (lesson 03): ``SPADE`` (gamma and beta per pixel), ``CLADE`` (per class), their costs.
- ``spade_fast`` (lesson 03): SPADE computed by lookups for label maps of class ids; why SPADE is CLADE inside
  regions.
"""
from .conditional import AdaIN, ConditionalBatchNorm2d
from .spade import CLADE, SPADE, Cost, clade_cost, spade_cost
from .spade_fast import Regions, find_regions
from .standard import BatchNorm2d, GroupNorm, InstanceNorm2d, LayerNorm

__all__ = ["AdaIN", "BatchNorm2d", "CLADE", "ConditionalBatchNorm2d", "Cost", "GroupNorm", "InstanceNorm2d",
           "LayerNorm", "Regions", "SPADE", "clade_cost", "find_regions", "spade_cost"]
