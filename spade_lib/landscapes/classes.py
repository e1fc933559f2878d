"""The classes of Landscapes: their names, ids, and the colours that draw label maps (not the photo colours)."""
import numpy as np

CLASS_NAMES = ("sky", "cloud", "mountain", "snow", "water", "sand", "grass", "tree", "rock", "bush", "dirt")
NUM_CLASSES = len(CLASS_NAMES)
SKY, CLOUD, MOUNTAIN, SNOW, WATER, SAND, GRASS, TREE, ROCK, BUSH, DIRT = range(NUM_CLASSES)
# Colours for drawing label maps (not the photo colours): distinct, and easy to name in a legend.
PALETTE = np.array([
    (120, 200, 250),  # sky: light blue
    (200, 200, 230),  # cloud: lavender grey
    (140, 90, 50),    # mountain: brown
    (255, 255, 255),  # snow: white
    (30, 80, 200),    # water: deep blue
    (240, 215, 140),  # sand: beige
    (130, 220, 60),   # grass: light green
    (20, 100, 40),    # tree: dark green
    (110, 110, 110),  # rock: grey
    (60, 170, 150),   # bush: teal
    (200, 120, 60),   # dirt: orange brown
], dtype=np.uint8)
THINGS = (CLOUD, TREE, ROCK, BUSH)  # classes whose every object gets its own instance id
BROADLEAF, CONIFER, TRUNK = 0, 1, 2  # variants of tree objects
