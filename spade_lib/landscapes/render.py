"""Rendering Landscapes: a label map and what the layout knows about each object -> a photo-like image.

The label map, plus what the layout knows about each object (distance, vertical position inside it, a random
tone), is turned into an image in a *style*: a named preset of sky colours, sun and ambient light, vegetation
colours for the season, and fog. Surfaces get precomputed noise textures (tiles made once per resolution), sunlit
tops and shaded bottoms, water reflects what stands behind it, and distance fades everything into haze. Different
styles of the same label map give different photos: the one-to-many mapping that the style encoder of lesson 07
learns. ``render_labels`` renders any label map, e.g. a painted one (lesson 09).
"""
import functools
from dataclasses import dataclass, replace

import numpy as np
import torch

from ..labels import check_labels
from .classes import (BUSH, CLOUD, CONIFER, DIRT, GRASS, MOUNTAIN, NUM_CLASSES, ROCK, SAND, SKY, SNOW, TREE, TRUNK,
                      WATER)
from .layout import MAX_SIZE, MIN_SIZE


# ----------------------------------------------------------------------------------------------------------
# Styles: named presets of light, sky, season and weather
# ----------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Style:
    """How a layout is lit and coloured. Colours are RGB in [0, 1]."""
    sky_top: tuple  # sky colour at the top of the image
    sky_horizon: tuple  # sky colour at the horizon
    sun: tuple  # colour and strength of direct light (sun or moon)
    ambient: tuple  # light from the whole sky: what shadows get
    sun_position: tuple  # (x, y) of the sun's centre: x as a fraction of the width, y relative to the horizon
    glow: float  # size of the bright halo around the sun (0: none)
    fog: float  # haze density: fraction of light lost with distance (0 clear ... 4 thick fog)
    fog_colour: tuple
    grass: tuple  # season: albedo of meadows
    leaves: tuple  # albedos of broad-leaved trees and bushes (each tree draws one)
    needles: tuple = (0.10, 0.22, 0.10)  # albedo of conifers
    snow_cover: float = 0.0  # winter: how much of the ground and the trees is under snow
    halo: float = 0.8  # brightness of the halo around the sun
    stars: bool = False
    sun_disc: bool = False


STYLES = {
    "day": Style(sky_top=(0.20, 0.45, 0.85), sky_horizon=(0.68, 0.82, 0.95), sun=(1.0, 0.96, 0.88),
                 ambient=(0.42, 0.48, 0.60), sun_position=(0.7, -0.75), glow=0.3, halo=0.35,
                 fog=0.35, fog_colour=(0.72, 0.82, 0.94), grass=(0.28, 0.45, 0.13),
                 leaves=((0.16, 0.34, 0.10), (0.22, 0.40, 0.12), (0.13, 0.30, 0.12))),
    "sunset": Style(sky_top=(0.22, 0.24, 0.50), sky_horizon=(1.0, 0.55, 0.25), sun=(1.0, 0.62, 0.32),
                    ambient=(0.30, 0.22, 0.34), sun_position=(0.6, -0.04), glow=0.35, fog=0.6,
                    fog_colour=(0.95, 0.55, 0.35), grass=(0.36, 0.50, 0.16),
                    leaves=((0.18, 0.34, 0.10), (0.24, 0.40, 0.12)), sun_disc=True),
    "dusk": Style(sky_top=(0.14, 0.16, 0.40), sky_horizon=(0.92, 0.58, 0.62), sun=(0.55, 0.42, 0.55),
                  ambient=(0.22, 0.20, 0.34), sun_position=(0.3, 0.05), glow=0.3, fog=0.5,
                  fog_colour=(0.60, 0.45, 0.58), grass=(0.32, 0.48, 0.18),
                  leaves=((0.16, 0.32, 0.12), (0.20, 0.36, 0.14))),
    "night": Style(sky_top=(0.01, 0.02, 0.06), sky_horizon=(0.07, 0.11, 0.22), sun=(0.30, 0.36, 0.52),
                   ambient=(0.07, 0.09, 0.16), sun_position=(0.75, -0.35), glow=0.04, fog=0.35,
                   fog_colour=(0.06, 0.09, 0.17), grass=(0.30, 0.45, 0.22),
                   leaves=((0.16, 0.30, 0.16), (0.20, 0.34, 0.18)), stars=True, sun_disc=True),
    "autumn": Style(sky_top=(0.28, 0.48, 0.80), sky_horizon=(0.78, 0.82, 0.88), sun=(1.0, 0.90, 0.72),
                    ambient=(0.45, 0.45, 0.52), sun_position=(0.3, -0.7), glow=0.3, halo=0.35, fog=0.5,
                    fog_colour=(0.80, 0.80, 0.82), grass=(0.55, 0.50, 0.22),
                    leaves=((0.75, 0.36, 0.06), (0.62, 0.16, 0.05), (0.80, 0.62, 0.10), (0.45, 0.40, 0.10))),
    "winter": Style(sky_top=(0.42, 0.60, 0.88), sky_horizon=(0.84, 0.90, 0.97), sun=(0.95, 0.95, 1.0),
                    ambient=(0.55, 0.62, 0.75), sun_position=(0.4, -0.6), glow=0.25, halo=0.2, fog=0.5,
                    fog_colour=(0.84, 0.89, 0.96), grass=(0.40, 0.45, 0.25),
                    leaves=((0.15, 0.10, 0.07), (0.18, 0.12, 0.08)), needles=(0.08, 0.17, 0.10),
                    snow_cover=0.95),
    "overcast": Style(sky_top=(0.52, 0.55, 0.60), sky_horizon=(0.76, 0.78, 0.80), sun=(0.30, 0.30, 0.30),
                      ambient=(0.72, 0.74, 0.78), sun_position=(0.5, -0.6), glow=0.0, fog=0.9,
                      fog_colour=(0.72, 0.74, 0.77), grass=(0.30, 0.44, 0.18),
                      leaves=((0.15, 0.28, 0.10), (0.18, 0.32, 0.12))),
    "fog": Style(sky_top=(0.70, 0.72, 0.75), sky_horizon=(0.86, 0.87, 0.88), sun=(0.35, 0.35, 0.33),
                 ambient=(0.75, 0.76, 0.78), sun_position=(0.5, -0.5), glow=0.0, fog=2.8,
                 fog_colour=(0.84, 0.85, 0.86), grass=(0.30, 0.44, 0.18),
                 leaves=((0.15, 0.28, 0.10), (0.18, 0.32, 0.12))),
}
STYLE_NAMES = tuple(STYLES)


def jitter(style: Style, rng) -> Style:
    """A small random variation of a preset, so no two samples of one style look exactly alike: colours vary by
    about 4 % (the meadow's by 10 %), the sun moves a little sideways, the haze thickens or thins."""
    colours = np.array([style.sky_top, style.sky_horizon, style.sun, style.ambient, style.grass])
    amount = np.array([0.04, 0.04, 0.04, 0.04, 0.1])[:, None]
    sky_top, sky_horizon, sun, ambient, grass = np.minimum(colours * (1.0 + amount * rng.standard_normal((5, 3))), 1.0)
    sun_x, sun_y = style.sun_position
    return replace(style, sky_top=tuple(sky_top), sky_horizon=tuple(sky_horizon), sun=tuple(sun),
                   ambient=tuple(ambient), grass=tuple(grass), sun_position=(sun_x + rng.uniform(-0.15, 0.15), sun_y),
                   fog=style.fog * rng.uniform(0.75, 1.3))


# ----------------------------------------------------------------------------------------------------------
# Rendering: textures, materials, light, reflections, haze
# ----------------------------------------------------------------------------------------------------------
_TILE = 512  # texture tiles are made at this size, then resampled once per output resolution


def _smooth_interpolation(cells: int) -> np.ndarray:
    """(_TILE, cells) matrix that samples a periodic row of ``cells`` random values smoothly at _TILE points."""
    t = (np.arange(_TILE) + 0.5) * cells / _TILE - 0.5
    i = np.floor(t).astype(np.int64)
    f = t - i
    f = f * f * (3.0 - 2.0 * f)
    matrix = np.zeros((_TILE, cells))
    np.add.at(matrix, (np.arange(_TILE), i % cells), 1.0 - f)
    np.add.at(matrix, (np.arange(_TILE), (i + 1) % cells), f)
    return matrix


def _fractal_tile(rng, octaves, stretch=(1, 1), persistence=0.6) -> np.ndarray:
    """Tileable 2D fractal value noise: octaves of random grids (``cells`` x ``cells * stretch``), smoothed."""
    tile = np.zeros((_TILE, _TILE))
    for k, cells in enumerate(octaves):
        rows, cols = cells * stretch[0], cells * stretch[1]
        grid = rng.uniform(-1.0, 1.0, (rows, cols))
        tile += persistence ** k * (_smooth_interpolation(rows) @ grid @ _smooth_interpolation(cols).T)
    return (tile - tile.mean()) / tile.std()


@functools.lru_cache(maxsize=1)
def _texture_tiles() -> np.ndarray:
    """The five texture tiles, from a fixed seed: coarse clouds of noise, fine grain, vertical grass blades,
    horizontal water ripples, and ``relief``: the slope of ridged noise, which looks like lit rock facets."""
    rng = np.random.default_rng(2019)
    coarse = _fractal_tile(rng, (4, 8, 16, 32, 64, 128))
    fine = _fractal_tile(rng, (64, 128, 256), persistence=0.8)
    blades = _fractal_tile(rng, (16, 32, 64), stretch=(1, 6), persistence=0.8)
    ripples = _fractal_tile(rng, (8, 16, 32), stretch=(6, 1), persistence=0.7)
    ridged = 1.0 - np.abs(_fractal_tile(rng, (8, 16, 32, 64, 128), persistence=0.55))
    relief = ridged - np.roll(ridged, (3, 3), axis=(0, 1))  # light from the upper left
    relief = (relief - relief.mean()) / relief.std()
    return np.stack([coarse, fine, blades, ripples, relief])


@functools.lru_cache(maxsize=8)
def textures_for(height: int) -> np.ndarray:
    """(5, 2H, 3H) float32: the tiles resampled so that one tile spans the image height (area averaging),
    renormalized to unit contrast so that textures look alike at every resolution, and repeated 2 x 3 times so
    that any H x W window (W <= 2H) starting above and left of (H, H) is a plain slice: no copy per sample."""
    edges = np.arange(height + 1) * _TILE / height
    texels = np.arange(_TILE + 1)
    overlap = np.clip(np.minimum(edges[1:, None], texels[1:]) - np.maximum(edges[:-1, None], texels[:-1]), 0, None)
    average = overlap / overlap.sum(1, keepdims=True)  # (height, _TILE)
    tile = average @ _texture_tiles() @ average.T
    tile = (tile - tile.mean((1, 2), keepdims=True)) / tile.std((1, 2), keepdims=True)
    return np.tile(tile.astype(np.float32), (1, 2, 3))


def on_the_ground(coarse: np.ndarray, horizon: float, offset, height: int, width: int) -> np.ndarray:
    """(H, W) patches for flat ground seen in perspective: rows of the repeated coarse texture taken at the
    ground distance 1 / (y - horizon), so that patches flatten into thin bands towards the horizon."""
    ys = (np.arange(height) + 0.5) / height
    distance = 1.0 / np.maximum(ys - horizon, 0.01)
    rows = (distance * 0.3 * height).astype(np.int64) % height + offset[0]
    return coarse[rows, offset[1]:offset[1] + width]


@dataclass(frozen=True)
class Material:
    """How a class looks, whatever the style."""
    albedo: tuple  # surface colour in white light, RGB in [0, 1]
    coarse: float = 0.0  # contrast of large patches (laid in perspective on flat ground)
    fine: float = 0.0  # contrast of fine grain: leaves, sand, gravel
    blades: float = 0.0  # contrast of vertical grass blades, growing towards the viewer
    tint: tuple = (0.0, 0.0, 0.0)  # colour shift of the patches (yellowish meadow patches)
    lit: float = 0.0  # how much direct light it gets (0 none ... 1 facing the sun)
    top_light: float = 0.0  # how much brighter the top is than the bottom (round things)
    relief: float = 0.0  # how much the relief texture shades it (rock facets)
    flanks: float = 0.0  # how much the sun side of a mountain is brighter than the shadow side
    snow: float = 0.0  # how much snow it takes in winter


MATERIALS = {
    SKY: Material((0.0, 0.0, 0.0)),
    CLOUD: Material((0.97, 0.97, 0.98), coarse=0.06, lit=0.75, top_light=0.9),
    MOUNTAIN: Material((0.42, 0.38, 0.35), coarse=0.18, fine=0.08, tint=(0.03, 0.02, -0.02), lit=0.5,
                       top_light=0.3, relief=0.7, flanks=0.45, snow=0.6),
    SNOW: Material((0.93, 0.95, 1.0), coarse=0.03, fine=0.02, lit=0.65, top_light=0.3, relief=0.5, flanks=0.35),
    WATER: Material((0.08, 0.20, 0.26), lit=0.3),
    SAND: Material((0.80, 0.70, 0.52), coarse=0.08, fine=0.10, tint=(0.03, 0.02, 0.0), lit=0.75, relief=0.1,
                   snow=1.0),
    GRASS: Material((0.34, 0.52, 0.16), coarse=0.18, fine=0.06, blades=0.10, tint=(0.10, 0.04, -0.06),
                    lit=0.55, snow=1.0),
    TREE: Material((0.14, 0.30, 0.10), coarse=0.08, fine=0.30, lit=0.55, top_light=0.8, relief=0.15, snow=0.1),
    ROCK: Material((0.46, 0.45, 0.43), coarse=0.12, fine=0.18, lit=0.55, top_light=0.8, relief=0.5, snow=0.5),
    BUSH: Material((0.22, 0.40, 0.12), coarse=0.06, fine=0.30, lit=0.55, top_light=0.8, relief=0.1, snow=0.7),
    DIRT: Material((0.50, 0.38, 0.26), coarse=0.12, fine=0.14, tint=(0.04, 0.02, 0.0), lit=0.72, relief=0.1,
                   snow=0.8),
}
SNOW_ALBEDO = np.array([0.92, 0.94, 0.98], np.float32)
BARK_ALBEDO = (0.24, 0.18, 0.13)


@functools.lru_cache(maxsize=None)
def material_table(field: str) -> np.ndarray:
    """One field of every class's material, as an array indexed by class id: (K,) or (3, K)."""
    return np.array([getattr(MATERIALS[c], field) for c in range(NUM_CLASSES)], np.float32).T


def object_albedos(classes, tones, variants, style: Style) -> np.ndarray:
    """(3, objects) surface colour of every object: the class material, the season's vegetation, and a random
    brightness (``tone``) so that neighbouring trees or rocks differ."""
    albedo = material_table("albedo").T[classes]
    leaves = np.asarray(style.leaves, np.float32)
    leaf = leaves[(tones * len(leaves)).astype(int) % len(leaves)]
    albedo[classes == GRASS] = style.grass
    albedo[classes == BUSH] = 1.2 * leaf[classes == BUSH]
    trees = classes == TREE
    albedo[trees] = leaf[trees]
    albedo[trees & (variants == CONIFER)] = style.needles
    albedo[trees & (variants == TRUNK)] = BARK_ALBEDO
    albedo *= (0.85 + 0.3 * tones)[:, None]
    return albedo.T.astype(np.float32)


def sky_colours(style: Style, horizon: float, height: int, width: int) -> np.ndarray:
    """(3, H, W) sky: a vertical gradient from the top colour to the horizon colour, a halo around the sun,
    the sun (or moon) disc."""
    ys = (np.arange(height, dtype=np.float32) + 0.5) / height
    xs = (np.arange(width, dtype=np.float32) + 0.5) / height
    t = np.clip(ys / horizon, 0.0, 1.0) ** 1.6
    top, bottom = np.asarray(style.sky_top, np.float32), np.asarray(style.sky_horizon, np.float32)
    sky = top[:, None, None] + (bottom - top)[:, None, None] * t[None, :, None]
    sun_x, sun_y = style.sun_position[0] * width / height, horizon + style.sun_position[1]
    r2 = (xs[None, :] - sun_x) ** 2 + (ys[:, None] - sun_y) ** 2
    sun = np.asarray(style.sun, np.float32)[:, None, None]
    if style.glow:
        sky = sky + sun * (style.halo * np.exp(-r2 / (2 * style.glow ** 2)))
    if style.sun_disc:
        sky = np.where(r2 < 0.03 ** 2, np.maximum(sky, 1.2 * sun + 0.3), sky)
    return np.broadcast_to(sky, (3, height, width))


def reflect_water(colour, label, ripples, strength):
    """Water mirrors what stands behind it: a water pixel takes the colour of the pixel as far above the water's
    far shore (the first water row of its column) as it lies below it, shifted a little by the ripples.
    Changes ``colour`` (3, H, W) in place."""
    height, width = label.shape
    water = label == WATER
    has_water = water.any(1)
    if not has_water.any():
        return
    r0, r1 = has_water.argmax(), height - has_water[::-1].argmax()  # the rows that hold water
    water, ripples, strength = water[r0:r1], ripples[r0:r1], strength[r0:r1]
    rows = np.arange(r0, r1)[:, None]
    far_shore = r0 + water.argmax(0)  # (W,)
    mirror = np.clip(2 * far_shore - rows - 1 + (ripples * (0.01 * height)).astype(np.int64), 0, height - 1)
    shifted = np.clip(np.arange(width) + (ripples * (0.006 * height)).astype(np.int64), 0, width - 1)
    reflection = np.take(colour.reshape(3, -1), mirror * width + shifted, axis=1) * (0.8 + 0.08 * ripples)
    band = colour[:, r0:r1]
    band[:] = np.where(water, band + (reflection - band) * strength, band)


def blur3(image):
    """[1, 2, 1] / 4 blur along both axes: soft, anti-aliased boundaries (the label map stays sharp)."""
    out = image.copy()
    out[:, 1:-1] = 0.5 * image[:, 1:-1] + 0.25 * (image[:, :-2] + image[:, 2:])
    result = out.copy()
    result[:, :, 1:-1] = 0.5 * out[:, :, 1:-1] + 0.25 * (out[:, :, :-2] + out[:, :, 2:])
    return result


def render_image(label, obj, shade, facing, albedo, dist, horizon: float, style: Style, offset=(0, 0)) -> np.ndarray:
    """The photo of a layout: (3, H, W) float32 in [-1, 1].

    label, obj: (H, W) class and object per pixel; shade, facing: (H, W) maps of the ``Canvas``;
    albedo: (3, objects); dist: (objects,) distance for the haze, -1 for flat ground (use the row's distance)."""
    height, width = label.shape
    textures = textures_for(height)
    coarse, fine, blades, ripples, relief = textures[:, offset[0]:offset[0] + height, offset[1]:offset[1] + width]
    ys = (np.arange(height, dtype=np.float32) + 0.5) / height
    nearness = np.clip((ys - horizon) / (1.0 - horizon), 0.0, 1.0)[:, None]  # 0 at the horizon, 1 at the bottom
    d = np.take(dist, obj)
    flat = d < 0  # meadows, beaches, water, paths: lie on the ground plane
    d = np.where(flat, (0.8 * 0.02 / (np.maximum(ys - horizon, 0.0) + 0.02))[:, None], d)
    patches = np.where(flat, on_the_ground(textures[0], horizon, offset, height, width), coarse)

    def per_pixel(field):
        return np.take(material_table(field), label, axis=-1)

    # surface colour: the object's albedo, patches of another tint, grain, snow in winter
    surface = np.take(albedo, obj, axis=1) * (1.0 + per_pixel("tint") * patches)
    grain = 1.0 + per_pixel("coarse") * patches + per_pixel("fine") * fine + per_pixel("blades") * blades * nearness
    # mountains: forest on the lower slopes, up to a ragged tree line
    foothills = np.clip(1.0 + (ys[:, None] - horizon) / 0.06 + 0.5 * coarse, 0.0, 0.8) * (label == MOUNTAIN)
    surface = surface + (0.8 * np.asarray(style.needles, np.float32)[:, None, None] - surface) * foothills
    if style.snow_cover:
        top_side = per_pixel("top_light") * (0.5 - shade)  # snow stays on the tops of trees and rocks
        cover = np.clip((style.snow_cover - 0.3 + 0.25 * patches + 0.1 * fine + top_side) * 4.0, 0.0, 1.0)
        surface = surface + (SNOW_ALBEDO[:, None, None] - surface) * (cover * per_pixel("snow"))
    # light: ambient everywhere, the sun on tops and on facets of the relief
    sun_side = 1.0 if style.sun_position[0] < 0.5 else -1.0  # +1: the sun shines from the left
    lit = np.clip(per_pixel("lit") + per_pixel("top_light") * (0.5 - shade) + per_pixel("relief") * 0.25 * relief
                  + per_pixel("flanks") * sun_side * facing, 0.0, 1.0)
    sun, ambient = np.asarray(style.sun, np.float32), np.asarray(style.ambient, np.float32)
    colour = surface * np.maximum(grain, 0.2) * (ambient[:, None, None] + sun[:, None, None] * lit)

    sky = sky_colours(style, horizon, height, width)
    is_sky = label == SKY
    colour = np.where(is_sky, sky, colour)
    if style.stars:
        colour = np.where(is_sky & (fine > 3.0), 0.8, colour)
    # clouds are a little transparent, more so where the coarse noise is low
    colour = np.where(label == CLOUD, colour + (sky - colour) * np.clip(0.2 - 0.15 * coarse, 0.0, 1.0), colour)
    # water: its own colour plus the sky's, mirrored surroundings (more at grazing angles), ripples
    water = label == WATER
    horizon_sky = np.asarray(style.sky_horizon, np.float32)[:, None, None]
    colour = np.where(water, colour * (1.0 + 0.15 * ripples * nearness) + 0.25 * horizon_sky, colour)
    reflect_water(colour, label, ripples, 0.3 + 0.6 * d)

    haze = (1.0 - np.exp(-style.fog * d)) * ~is_sky  # the sky's colours already include its haze
    colour = colour + (np.asarray(style.fog_colour, np.float32)[:, None, None] - colour) * haze
    return np.clip(blur3(colour), 0.0, 1.0) * 2.0 - 1.0


def check_style(style) -> str:
    if style not in STYLES:
        raise ValueError(f"unknown style {style!r}; the styles are {', '.join(STYLE_NAMES)}")
    return style


def vertical_runs(label: np.ndarray):
    """For each pixel, the first and last row of its column's run of equal labels: (start, end), (H, W) each."""
    height = label.shape[0]
    rows = np.arange(height)[:, None]
    changes = label[1:] != label[:-1]
    starts = np.vstack([np.ones((1, label.shape[1]), bool), changes])
    ends = np.vstack([changes, np.ones((1, label.shape[1]), bool)])
    start = np.maximum.accumulate(np.where(starts, rows, 0), axis=0)
    end = np.minimum.accumulate(np.where(ends, rows, height)[::-1], axis=0)[::-1]
    return start, end


def render_labels(label, style: str = "day", seed: int = 0) -> torch.Tensor:
    """Render any label map (H, W) of class ids as a Landscapes photo in ``style``: (3, H, W) float in [-1, 1].

    The painter of lesson 09 shows this as the "real" photo of what the student painted. A painted map has no
    layout behind it, so this guesses what the layout knew: the horizon (where the ground starts), each
    region's top and bottom in its column (for shading), and one object per class (all trees look alike)."""
    label = torch.as_tensor(label)
    check_labels(label[None] if label.dim() == 2 else label, NUM_CLASSES, "label")
    if label.dim() != 2:
        raise ValueError(f"render_labels takes one (H, W) label map, got shape {tuple(label.shape)}; "
                         f"render a batch one map at a time")
    height, width = label.shape
    if not MIN_SIZE <= height <= MAX_SIZE or not 1 <= width <= 2 * height:
        raise ValueError(f"label map of size {height}x{width}: the height must be {MIN_SIZE} to {MAX_SIZE} and "
                         f"the width at most twice the height")
    label = label.numpy().astype(np.int64)
    flat_ground = np.isin(label, (WATER, SAND, GRASS, DIRT))
    first_ground_row = np.where(flat_ground.any(0), flat_ground.argmax(0), height)
    horizon = float(np.clip(np.median(first_ground_row) / height, 0.2, 0.9))
    start, end = vertical_runs(label)
    shade = ((np.arange(height)[:, None] - start) / (end - start + 1.0)).astype(np.float32)
    classes = np.arange(NUM_CLASSES)
    dist = np.where(np.isin(classes, (SKY, CLOUD)), 1.0, np.where(np.isin(classes, (MOUNTAIN, SNOW)), 0.9, -1.0))
    look = STYLES[check_style(style)]
    albedo = object_albedos(classes, np.full(NUM_CLASSES, 0.5, np.float32), np.zeros(NUM_CLASSES, int), look)
    offset = tuple(np.random.default_rng(seed).integers(0, height, 2))
    image = render_image(label, label, shade, np.zeros_like(shade), albedo, dist.astype(np.float32), horizon,
                         look, offset)
    return torch.from_numpy(image)
