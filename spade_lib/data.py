"""The Landscapes dataset under its first name: everything now lives in the package ``spade_lib.landscapes``
(the ``Landscapes`` class in its ``__init__``, the geometry in ``layout``, the rendering in ``render``).
``from spade_lib.data import Landscapes`` keeps working."""
from .landscapes import (BUSH, CLASS_NAMES, CLOUD, DIRT, GRASS, MOUNTAIN, NUM_CLASSES, PALETTE, ROCK, SAND, SKY, SNOW,
                         STYLE_NAMES, STYLES, TREE, WATER, Landscapes, LandscapesIndexError, check_style, make_layout,
                         noise1d, render_labels)

__all__ = ["Landscapes", "LandscapesIndexError", "render_labels", "make_layout", "noise1d", "check_style",
           "CLASS_NAMES", "NUM_CLASSES", "PALETTE", "STYLE_NAMES", "STYLES", "SKY", "CLOUD", "MOUNTAIN", "SNOW",
           "WATER", "SAND", "GRASS", "TREE", "ROCK", "BUSH", "DIRT"]
