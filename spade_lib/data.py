"""Landscapes: the course's procedural dataset of label maps and photo-like images (lesson 00).

SPADE learns to turn a *label map* (one class id per pixel) into a photo. Real datasets cannot be downloaded
in a quick class, so the course generates its own, in the spirit of the GauGAN demo. Every sample is made in
two steps.

**1. Layout.** A random scene is described in continuous coordinates: ``y`` runs from 0 (top) to 1 (bottom),
``x`` from 0 to 2 (a square image shows the left half ``[0, 1]``, a 2:1 image all of it). The scene grammar is

    sky  ->  clouds  ->  mountain ridges (far to near, snow caps)  ->  ground at the horizon
         ->  sea with a beach, or a lake, or meadows  ->  a dirt path
         ->  trees, bushes and rocks, sorted far to near

and each part is drawn over the previous ones (the painter's algorithm). Almost every shape is a *column
profile*: the pixels of a column ``x`` between a top curve and a bottom curve, where the curves are built from
1D value noise (random control points joined by smoothstep). A ridgeline, a shoreline, a cloud and a tree crown
are all such curves. Shapes are rasterized by comparing a coordinate grid with the curves, so the same
``(seed, index)`` gives the same scene at every resolution. The geometry only uses ``+ - * /``, ``sqrt`` and
comparisons, which every CPU computes identically, so label maps are the same on every machine.

**2. Rendering.** The label map, plus what the layout knows about each object (distance, vertical position
inside it, a random tone), is turned into an image in a *style*: a named preset of sky colours, sun and ambient
light, vegetation colours for the season, and fog. Surfaces get precomputed noise textures (tiles made once per
resolution), sunlit tops and shaded bottoms, water reflects what stands behind it, and distance fades
everything into haze. Different styles of the same label map give different photos: the one-to-many mapping
that the style encoder of lesson 07 learns.

    >>> ds = Landscapes(size=128)
    >>> sample = ds[0]                      # dict: label, instance, image, style
    >>> ds.render(0, "sunset")              # the same layout in another style
    >>> ds.layout(0)                        # label and instance only (fast)
    >>> render_labels(my_label, "winter")   # a photo of any label map, e.g. a painted one
"""
import functools
from dataclasses import dataclass, replace
from typing import Optional, Sequence

import numpy as np
import torch

from .labels import check_labels

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

MIN_SIZE, MAX_SIZE = 32, 512
WORLD_WIDTH = 2.0  # the layout spans x in [0, 2]; a square image shows [0, 1]


class LandscapesIndexError(IndexError, ValueError):
    """A bad index. An IndexError, so that ``for sample in ds`` stops at the end; a ValueError like all bad input."""


# ----------------------------------------------------------------------------------------------------------
# 1D value noise for the geometry
# ----------------------------------------------------------------------------------------------------------
_NOISE_PERIOD = 1024  # control points; the noise repeats after this many units
_NOISE_STEPS = 64  # table entries per unit


@functools.lru_cache(maxsize=None)
def _noise_table() -> np.ndarray:
    """A finely sampled 1D fractal value noise in about [-1, 1]: three octaves of random control points joined
    by smoothstep. Built once from a fixed seed with + - * only, so every machine gets the same table."""
    rng = np.random.default_rng(1903)  # PCG64 gives the same numbers on every platform
    t = np.arange(_NOISE_PERIOD * _NOISE_STEPS) / _NOISE_STEPS
    table = np.zeros_like(t)
    for frequency, amplitude in ((1, 0.6), (2, 0.3), (4, 0.15)):
        points = rng.uniform(-1.0, 1.0, _NOISE_PERIOD)
        u = t * frequency
        i = u.astype(np.int64)
        f = u - i
        f = f * f * (3.0 - 2.0 * f)  # smoothstep: the curve has no kinks at the control points
        left, right = points[i % _NOISE_PERIOD], points[(i + 1) % _NOISE_PERIOD]
        table += amplitude * (left + (right - left) * f)
    table /= 1.05
    return np.append(table, table[0])  # one extra entry, so that entry i + 1 always exists


def noise1d(u: np.ndarray) -> np.ndarray:
    """Smooth 1D noise in about [-1, 1] at positions ``u`` (in control-point units), by linear interpolation
    of the fine table. Used for every curve of the layout: ridgelines, shorelines, cloud tops, tree crowns."""
    table = _noise_table()
    p = u * _NOISE_STEPS
    i = np.floor(p).astype(np.int64)
    f = p - i
    i %= len(table) - 1
    a = table[i]
    return a + (table[i + 1] - a) * f


def dome(t: np.ndarray) -> np.ndarray:
    """sqrt(1 - t^2) for |t| < 1, else 0: the upper half of a circle, the basic rounded shape."""
    return np.sqrt(np.maximum(1.0 - t * t, 0.0))


# ----------------------------------------------------------------------------------------------------------
# Layout: a canvas that objects are painted on, far to near
# ----------------------------------------------------------------------------------------------------------
class Canvas:
    """The layout raster: for every pixel, which object covers it (``obj``), how far down inside that
    object it lies (``shade``, 0 at the object's top, used to light tops and shade bottoms) and, on mountains,
    which way the slope faces (``facing``: 1 left, -1 right, so that one flank of each peak is sunlit).

    Objects are rows of a small table: class, instance id, distance from the viewer (for haze; -1 means
    "a flat ground surface: use the pixel row's distance"), a random tone in [0, 1) and a variant (for trees:
    1 = conifer)."""

    def __init__(self, height: int, width: int):
        self.height, self.width = height, width
        self.ys = (np.arange(height) + 0.5) / height  # pixel centres, in layout units
        self.xs = (np.arange(width) + 0.5) / height
        self.obj = np.zeros((height, width), np.int32)
        self.shade = np.zeros((height, width), np.float32)
        self.facing = np.zeros((height, width), np.float32)
        self.classes, self.instances, self.dists, self.tones, self.variants = [], [], [], [], []
        self._things = dict.fromkeys(THINGS, 0)
        self.scene = None  # the Scene it shows, once make_layout has drawn it

    def add_object(self, cls: int, dist: float, tone: float, variant: int = 0, part_of: Optional[int] = None) -> int:
        """Add a row to the object table and return its index; ``part_of``: another part of that object (a trunk
        is part of its tree: same instance, own colour)."""
        instance = self.instances[part_of] if part_of is not None else None
        return self.add_objects(cls, dist, [tone], [variant], instance)

    def add_objects(self, cls: int, dist: float, tones, variants, instance: Optional[int] = None) -> int:
        """Add ``len(tones)`` objects of one class at one distance; return the index of the first."""
        n = len(tones)
        if instance is not None:
            self.instances.append(instance)
        elif cls in self._things:  # things: class * 1000 + k, as in Cityscapes
            self.instances.extend(range(cls * 1000 + self._things[cls] + 1, cls * 1000 + self._things[cls] + n + 1))
            self._things[cls] += n
        else:  # stuff: one instance per class
            self.instances.extend([cls * 1000] * n)
        self.classes.extend([cls] * n)
        self.dists.extend([dist] * n)
        self.tones.extend(tones)
        self.variants.extend(variants)
        return len(self.classes) - n

    def columns(self, x0: float, x1: float):
        """The pixel columns whose centres may lie in [x0, x1]: (first column, their x coordinates)."""
        c0 = max(0, int(np.floor(x0 * self.height - 0.5)))
        c1 = min(self.width, int(np.ceil(x1 * self.height + 0.5)))
        return c0, self.xs[c0:max(c0, c1)]

    def fill(self, obj, c0: int, top: np.ndarray, bottom, span=None, facing=None, lean: float = 0.0):
        """Paint object ``obj`` (one id, or one per column) on the pixels of columns ``c0, c0 + 1, ...`` with
        ``top <= y < bottom``.

        ``shade`` becomes ``(y - top) / span`` (span defaults to the object's height in that column);
        ``facing`` (one value per column, mountains only) says how much the slope below the top curve turns to
        the left; it is carried down and sideways (``lean`` columns per row), the way spurs run down from peaks."""
        if len(top) == 0:
            return
        r0 = max(0, int(np.floor(top.min() * self.height - 0.5)))
        lowest = bottom.max() if isinstance(bottom, np.ndarray) else bottom
        r1 = min(self.height, int(np.ceil(lowest * self.height + 0.5)))
        if r0 >= r1:
            return
        y = self.ys[r0:r1, None]
        inside = (y >= top) & (y < bottom)
        box = np.s_[r0:r1, c0:c0 + len(top)]
        np.copyto(self.obj[box], obj, where=inside)
        np.copyto(self.shade[box], (y - top) / (bottom - top + 1e-9 if span is None else span), where=inside)
        if facing is not None:
            spur = np.arange(len(top)) + ((y - top) * lean * self.height).astype(np.int64)
            np.copyto(self.facing[box], facing[np.clip(spur, 0, len(top) - 1)], where=inside)


@dataclass
class Scene:
    """What later parts of the layout need to know about earlier ones."""
    horizon: float
    ground: int = 0  # the meadow object
    sea_shore: Optional[tuple] = None  # (offset, depth, amplitude, tilt, beach width) of the sea's shore curve
    lake: Optional[tuple] = None  # (centre x, centre y, half width, height, noise offset)
    lake_rim: bool = False  # a sandy rim around the lake

    def depth(self, y):
        """0 at the horizon, 1 at the bottom of the image: how near a ground point is (perspective size)."""
        return (y - self.horizon) / (1.0 - self.horizon)

    def distance(self, y):
        """Distance of a ground point at image row y for the haze: 0.8 at the horizon, falling like 1 / depth."""
        return 0.8 * 0.02 / (np.maximum(y - self.horizon, 0.0) + 0.02)


RIM = 1.12  # a lake's sandy rim is the lake grown by this factor


def shoreline(scene: Scene, x):
    offset, depth, amplitude, tilt, _ = scene.sea_shore
    return scene.horizon + depth + tilt * (x - 1.0) + amplitude * noise1d(x * 3.0 + offset)


def lake_edges(scene: Scene, x, grow: float = 1.0):
    """Top and bottom curves of the lake (``grow`` > 1: of its sandy rim)."""
    cx, cy, half_width, height, offset = scene.lake
    height = height * grow * grow  # (no pow in the geometry: see the module docstring)
    d = dome((x - cx) / (half_width * grow))
    wobble = 1.0 + 0.25 * noise1d(x * 4.0 + offset)
    return cy - 0.35 * height * d * wobble, cy + height * d * wobble


def surface_at(scene: Scene, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The ground class (WATER, SAND or GRASS) at ground points (x, y), asked of the continuous layout, not the
    raster, so that objects stand in the same places at every resolution."""
    surface = np.full(np.shape(x), GRASS)
    if scene.sea_shore is not None:
        shore = shoreline(scene, x)
        surface[y < shore + scene.sea_shore[4]] = SAND
        surface[y < shore] = WATER
    if scene.lake is not None:
        if scene.lake_rim:
            top, bottom = lake_edges(scene, x, RIM)
            surface[(top <= y) & (y < bottom)] = SAND
        top, bottom = lake_edges(scene, x)
        surface[(top <= y) & (y < bottom)] = WATER
    return surface


def add_sky(rng, canvas: Canvas, scene: Scene):
    canvas.obj[:] = canvas.add_object(SKY, dist=1.0, tone=rng.random())


def add_clouds(rng, canvas: Canvas, scene: Scene):
    """Cumulus: a flat base and a lumpy dome on top; higher clouds are nearer, so bigger."""
    if rng.random() < 0.2:
        return
    for _ in range(rng.integers(1, 9)):
        base = rng.uniform(0.05, scene.horizon - 0.03)
        nearness = 1.0 - base / scene.horizon
        half_width = rng.uniform(0.06, 0.2) * (0.5 + nearness)
        height = half_width * rng.uniform(0.35, 0.9)
        cx, offset = rng.uniform(-0.1, WORLD_WIDTH + 0.1), rng.uniform(0, 900)
        cloud = canvas.add_object(CLOUD, dist=1.0, tone=rng.random())
        c0, x = canvas.columns(cx - half_width, cx + half_width)
        if len(x):  # (off-screen in a square image: skip the work, but not the random draws)
            d = dome((x - cx) / half_width)
            lumps = 0.55 + 0.45 * noise1d((x - cx) * 5.0 / half_width + offset)  # about 5 lumps across
            canvas.fill(cloud, c0, base - height * d * lumps, base + 0.1 * height * d)


def add_mountains(rng, canvas: Canvas, scene: Scene):
    """One to three ridges, far to near; each ridge is massifs (slow noise) times sharp peaks (|noise| ridged).
    Tall ridges get snow above a jagged snow line."""
    if rng.random() < 0.25:
        return
    c0, x = canvas.columns(0.0, WORLD_WIDTH)
    n_ridges = rng.integers(1, 4)
    for k in range(n_ridges):
        height = rng.uniform(0.35, 0.95) * scene.horizon * (1.0 - 0.35 * k / n_ridges)
        offsets = rng.uniform(0, 900, 4)
        massif = np.clip(0.55 + 0.8 * noise1d(x * rng.uniform(0.6, 1.6) + offsets[0]), 0.0, 1.0)
        peaks = 1.0 - np.abs(noise1d(x * rng.uniform(2.0, 5.0) + offsets[1]))
        rough = noise1d(x * 24.0 + offsets[2])
        smooth = massif * (0.25 + 0.75 * peaks * peaks)
        ridge = scene.horizon - height * (smooth + 0.015 * rough)
        # the ridgeline's slope tells which way the flank below it faces (for the image only)
        facing = np.clip(slope(smooth, canvas.height) * height * 3.0, -1.0, 1.0)
        dist, lean = 0.95 - 0.12 * k, (0.8 if rng.random() < 0.5 else -0.8)
        mountain = canvas.add_object(MOUNTAIN, dist=dist, tone=rng.random())
        canvas.fill(mountain, c0, ridge, scene.horizon + 0.05, span=height, facing=facing, lean=lean)
        if height > 0.15 * scene.horizon and rng.random() < 0.7:
            snow_line = scene.horizon - height * (rng.uniform(0.35, 0.75) + 0.1 * noise1d(x * 30.0 + offsets[3]))
            snow = canvas.add_object(SNOW, dist=dist, tone=rng.random())
            canvas.fill(snow, c0, ridge, np.maximum(ridge, snow_line), span=height, facing=facing, lean=lean)


def slope(curve: np.ndarray, pixels_per_unit: int) -> np.ndarray:
    """d curve / dx, averaged over about 0.03 units so that small bumps do not flip a flank's light."""
    k = max(1, int(0.03 * pixels_per_unit))
    padded = np.concatenate([np.full(k, curve[0]), curve, np.full(k, curve[-1])])
    return (padded[2 * k:] - padded[:-2 * k]) * pixels_per_unit / (2 * k)


def add_ground(rng, canvas: Canvas, scene: Scene):
    """Meadows up to a gently rolling horizon, maybe green hills in front of the mountains, then a sea with a
    beach, or a lake (sometimes with a sandy rim), or only meadows."""
    c0, x = canvas.columns(0.0, WORLD_WIDTH)
    h = scene.horizon
    if rng.random() < 0.35:
        hills = canvas.add_object(GRASS, dist=0.85, tone=rng.random())
        hill_height = rng.uniform(0.03, 0.12) * h
        top = h - hill_height * np.clip(0.5 + 0.7 * noise1d(x * 2.5 + rng.uniform(0, 900)), 0.0, 1.0)
        canvas.fill(hills, c0, top, h + 0.05, span=hill_height)
    scene.ground = canvas.add_object(GRASS, dist=-1.0, tone=rng.random())
    rolling = h + 0.004 * noise1d(x * 6.0 + rng.uniform(0, 900))
    canvas.fill(scene.ground, c0, rolling, 1.01, span=1.0 - h)
    kind = rng.random()  # below 0.3: a sea, below 0.7: a lake, else only meadows
    if kind < 0.3:  # sea: a flat horizon, a wavy shore line, a beach
        depth = rng.uniform(0.05, 0.5) * (1.0 - h)
        beach = rng.uniform(0.02, 0.12) * (1.0 - h) if rng.random() < 0.85 else 0.0
        scene.sea_shore = (rng.uniform(0, 900), depth, 0.3 * depth, rng.uniform(-0.3, 0.3) * depth, beach)
        shore = shoreline(scene, x)
        if beach:
            sand = canvas.add_object(SAND, dist=-1.0, tone=rng.random())
            canvas.fill(sand, c0, np.full_like(x, h), shore + beach, span=1.0 - h)
        water = canvas.add_object(WATER, dist=-1.0, tone=rng.random())
        canvas.fill(water, c0, np.full_like(x, h), shore, span=1.0 - h)
    elif kind < 0.7:  # lake: a flattened blob whose size follows perspective
        cy = h + rng.uniform(0.08, 0.5) * (1.0 - h)
        cx = rng.uniform(0.1, 0.9) + (1.0 if rng.random() < 0.4 else 0.0)
        half_width = rng.uniform(0.25, 0.8)
        scene.lake = (cx, cy, half_width, (cy - h) * rng.uniform(0.5, 0.9), rng.uniform(0, 900))
        lc0, lx = canvas.columns(cx - RIM * half_width, cx + RIM * half_width)
        scene.lake_rim = rng.random() < 0.5
        if scene.lake_rim:
            sand = canvas.add_object(SAND, dist=-1.0, tone=rng.random())
            canvas.fill(sand, lc0, *lake_edges(scene, lx, RIM), span=1.0 - h)
        water = canvas.add_object(WATER, dist=-1.0, tone=rng.random())
        canvas.fill(water, lc0, *lake_edges(scene, lx), span=1.0 - h)


def add_path(rng, canvas: Canvas, scene: Scene):
    """A dirt path from the bottom of the image towards the horizon, narrowing with distance, painted over the
    meadow only. Its shape is a row profile: for each row y, the pixels with |x - centre(y)| < half width(y)."""
    if rng.random() < 0.45:
        return
    h = scene.horizon
    cx = rng.uniform(0.15, 0.85) + (1.0 if rng.random() < 0.25 else 0.0)
    end = h + rng.uniform(0.03, 0.4) * (1.0 - h)
    width, bend, offset = rng.uniform(0.04, 0.12), rng.uniform(0.1, 0.5), rng.uniform(0, 900)
    r0 = max(0, int(np.floor(end * canvas.height - 0.5)))
    y = canvas.ys[r0:, None]
    near = scene.depth(y)
    centre = cx + bend * noise1d(y * 3.0 + offset) * near
    half_width = width * near * (1.0 + 0.15 * noise1d(y * 20.0 + offset))
    inside = (np.abs(canvas.xs - centre) < half_width) & (canvas.obj[r0:] == scene.ground)
    canvas.obj[r0:][inside] = canvas.add_object(DIRT, dist=-1.0, tone=rng.random())


def tree_crown(x, cx, half_width, base, height, conifer, offset):
    """Top curve of trees (arguments broadcast, one tree per row): a jagged cone for conifers (branches from
    |noise|), a lumpy dome over a trunk line for broad-leaved trees."""
    t = (x - cx) / half_width
    branches = 0.12 * np.abs(noise1d(x * 40.0 / half_width + offset))
    cone = np.maximum(1.0 - np.abs(t), 0.0) * (0.95 + branches)
    lumps = 0.8 + 0.2 * noise1d(x * 6.0 / half_width + offset)
    crown = (0.35 + 0.65 * dome(t) * lumps) * (np.abs(t) < 1.0)
    return base - height * np.where(conifer, cone, crown)


def add_forest(rng, canvas: Canvas, scene: Scene, base: float):
    """A line of trees at one distance, painted in one pass: in each column the tallest tree wins.
    Each tree is its own instance."""
    depth = base - scene.horizon
    start, length = rng.uniform(-0.2, WORLD_WIDTH), rng.uniform(0.3, 1.6)
    height = depth * rng.uniform(1.0, 2.2)
    half_width = height * rng.uniform(0.25, 0.4)
    conifer_share = rng.integers(3) / 2  # none, half or all of them
    centres = np.arange(start, start + length, half_width * rng.uniform(0.7, 1.1))
    n = len(centres)
    centres = centres + rng.uniform(-0.3, 0.3, n) * half_width
    heights = height * rng.uniform(0.7, 1.2, n)
    conifers = rng.random(n) < conifer_share
    offsets, tones = rng.uniform(0, 900, n), rng.random(n)
    on_grass = surface_at(scene, centres, np.full(n, base)) == GRASS
    if not on_grass.any():
        return
    centres, heights, conifers, offsets, tones = (a[on_grass] for a in (centres, heights, conifers, offsets, tones))
    first = canvas.add_objects(TREE, scene.distance(base), tones, conifers.astype(int))
    c0, x = canvas.columns(centres.min() - half_width, centres.max() + half_width)
    tops = tree_crown(x, centres[:, None], half_width, base, heights[:, None], conifers[:, None], offsets[:, None])
    owner = tops.argmin(0)  # (columns,) the tallest tree of each column
    canvas.fill(first + owner, c0, tops[owner, np.arange(len(x))], base, span=heights[owner])


def add_tree(rng, canvas: Canvas, scene: Scene, x_base: float, base: float):
    """A single tree near the viewer: a trunk, then a crown over it (a jagged cone or a lumpy dome)."""
    height = (base - scene.horizon) * rng.uniform(1.0, 2.0)
    conifer = rng.random() < 0.45
    half_width = height * (rng.uniform(0.2, 0.3) if conifer else rng.uniform(0.3, 0.45))
    tone, offset = rng.random(), rng.uniform(0, 900)
    tree = canvas.add_object(TREE, dist=scene.distance(base), tone=tone, variant=int(conifer))
    trunk = canvas.add_object(TREE, dist=scene.distance(base), tone=tone, variant=TRUNK, part_of=tree)
    c0, x = canvas.columns(x_base - half_width, x_base + half_width)
    if not len(x):
        return
    trunk_width = (0.07 if conifer else 0.1) * half_width
    t0, tx = canvas.columns(x_base - trunk_width, x_base + trunk_width)
    canvas.fill(trunk, t0, np.full_like(tx, base - 0.5 * height), base)
    d = dome((x - x_base) / half_width)
    crown_top = tree_crown(x, x_base, half_width, base, height, conifer, offset)
    if conifer:
        crown_bottom = base - height * (0.12 - 0.08 * d)
    else:  # the crown's underside: a lumpy dome facing down
        crown_bottom = base - height * (0.35 - 0.25 * d * (0.8 + 0.2 * noise1d(x * 9.0 / half_width + offset)))
    canvas.fill(tree, c0, crown_top, crown_bottom)


def add_bush(rng, canvas: Canvas, scene: Scene, x_base: float, base: float):
    height = (base - scene.horizon) * rng.uniform(0.12, 0.3)
    half_width = height * rng.uniform(0.9, 1.6)
    bush = canvas.add_object(BUSH, dist=scene.distance(base), tone=rng.random())
    offset = rng.uniform(0, 900)
    c0, x = canvas.columns(x_base - half_width, x_base + half_width)
    if len(x):
        lumps = 0.75 + 0.25 * noise1d(x * 4.0 / half_width + offset)
        canvas.fill(bush, c0, base - height * dome((x - x_base) / half_width) * lumps, base)


def add_rock(rng, canvas: Canvas, scene: Scene, x_base: float, base: float):
    """A boulder: a dome flattened at the top, with a few facets (slow noise), sunk a little into the ground."""
    height = (base - scene.horizon) * rng.uniform(0.06, 0.25)
    half_width = height * rng.uniform(1.0, 2.0)
    rock = canvas.add_object(ROCK, dist=scene.distance(base), tone=rng.random())
    offset = rng.uniform(0, 900)
    c0, x = canvas.columns(x_base - half_width, x_base + half_width)
    if len(x):
        d = dome((x - x_base) / half_width)
        facets = 0.85 + 0.15 * noise1d(x * 2.0 / half_width + offset)
        canvas.fill(rock, c0, base - height * np.minimum(1.0, 1.7 * d) * facets, base + 0.1 * height * d)


def add_ground_objects(rng, canvas: Canvas, scene: Scene):
    """Forests, single trees, bushes and rocks at random places on the ground, drawn from far to near."""
    h = scene.horizon
    items = []  # (base y, kind, x)

    def random_ground_points(probability, most, near_from=0.03):
        if rng.random() >= probability:
            return []
        n = rng.integers(1, most + 1)
        xs = rng.uniform(-0.1, WORLD_WIDTH + 0.1, n)
        ys = h + (1.0 - h) * rng.uniform(near_from, 1.15, n)
        return list(zip(ys, xs))

    if rng.random() < 0.6:
        for _ in range(rng.integers(1, 3)):
            items.append((h + (1.0 - h) * rng.uniform(0.02, 0.25), "forest", 0.0))
    items += [(y, "tree", x) for y, x in random_ground_points(0.7, 6, near_from=0.15)]
    items += [(y, "bush", x) for y, x in random_ground_points(0.65, 8)]
    items += [(y, "rock", x) for y, x in random_ground_points(0.6, 8)]
    items.sort()
    on_grass = surface_at(scene, np.array([x for _, _, x in items]), np.array([y for y, _, _ in items])) == GRASS
    for (base, kind, x), grass in zip(items, on_grass):
        if kind == "forest":
            add_forest(rng, canvas, scene, base)
        elif kind == "rock":
            add_rock(rng, canvas, scene, x, base)
        elif grass:  # trees and bushes do not grow in water or sand
            (add_tree if kind == "tree" else add_bush)(rng, canvas, scene, x, base)


def make_layout(seed: int, index: int, height: int, width: int) -> Canvas:
    """The scene of sample ``index``, rasterized at ``height x width``."""
    rng = np.random.default_rng([seed, index])
    canvas = Canvas(height, width)
    scene = Scene(horizon=rng.uniform(0.35, 0.62))
    for part in (add_sky, add_clouds, add_mountains, add_ground, add_path, add_ground_objects):
        part(rng, canvas, scene)
    canvas.scene = scene
    return canvas


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
    fog_color: tuple
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
                 fog=0.35, fog_color=(0.72, 0.82, 0.94), grass=(0.28, 0.45, 0.13),
                 leaves=((0.16, 0.34, 0.10), (0.22, 0.40, 0.12), (0.13, 0.30, 0.12))),
    "sunset": Style(sky_top=(0.22, 0.24, 0.50), sky_horizon=(1.0, 0.55, 0.25), sun=(1.0, 0.62, 0.32),
                    ambient=(0.30, 0.22, 0.34), sun_position=(0.6, -0.04), glow=0.35, fog=0.6,
                    fog_color=(0.95, 0.55, 0.35), grass=(0.36, 0.50, 0.16),
                    leaves=((0.18, 0.34, 0.10), (0.24, 0.40, 0.12)), sun_disc=True),
    "dusk": Style(sky_top=(0.14, 0.16, 0.40), sky_horizon=(0.92, 0.58, 0.62), sun=(0.55, 0.42, 0.55),
                  ambient=(0.22, 0.20, 0.34), sun_position=(0.3, 0.05), glow=0.3, fog=0.5,
                  fog_color=(0.60, 0.45, 0.58), grass=(0.32, 0.48, 0.18),
                  leaves=((0.16, 0.32, 0.12), (0.20, 0.36, 0.14))),
    "night": Style(sky_top=(0.01, 0.02, 0.06), sky_horizon=(0.07, 0.11, 0.22), sun=(0.30, 0.36, 0.52),
                   ambient=(0.07, 0.09, 0.16), sun_position=(0.75, -0.35), glow=0.04, fog=0.35,
                   fog_color=(0.06, 0.09, 0.17), grass=(0.30, 0.45, 0.22),
                   leaves=((0.16, 0.30, 0.16), (0.20, 0.34, 0.18)), stars=True, sun_disc=True),
    "autumn": Style(sky_top=(0.28, 0.48, 0.80), sky_horizon=(0.78, 0.82, 0.88), sun=(1.0, 0.90, 0.72),
                    ambient=(0.45, 0.45, 0.52), sun_position=(0.3, -0.7), glow=0.3, halo=0.35, fog=0.5,
                    fog_color=(0.80, 0.80, 0.82), grass=(0.55, 0.50, 0.22),
                    leaves=((0.75, 0.36, 0.06), (0.62, 0.16, 0.05), (0.80, 0.62, 0.10), (0.45, 0.40, 0.10))),
    "winter": Style(sky_top=(0.42, 0.60, 0.88), sky_horizon=(0.84, 0.90, 0.97), sun=(0.95, 0.95, 1.0),
                    ambient=(0.55, 0.62, 0.75), sun_position=(0.4, -0.6), glow=0.25, halo=0.2, fog=0.5,
                    fog_color=(0.84, 0.89, 0.96), grass=(0.40, 0.45, 0.25),
                    leaves=((0.15, 0.10, 0.07), (0.18, 0.12, 0.08)), needles=(0.08, 0.17, 0.10),
                    snow_cover=0.95),
    "overcast": Style(sky_top=(0.52, 0.55, 0.60), sky_horizon=(0.76, 0.78, 0.80), sun=(0.30, 0.30, 0.30),
                      ambient=(0.72, 0.74, 0.78), sun_position=(0.5, -0.6), glow=0.0, fog=0.9,
                      fog_color=(0.72, 0.74, 0.77), grass=(0.30, 0.44, 0.18),
                      leaves=((0.15, 0.28, 0.10), (0.18, 0.32, 0.12))),
    "fog": Style(sky_top=(0.70, 0.72, 0.75), sky_horizon=(0.86, 0.87, 0.88), sun=(0.35, 0.35, 0.33),
                 ambient=(0.75, 0.76, 0.78), sun_position=(0.5, -0.5), glow=0.0, fog=2.8,
                 fog_color=(0.84, 0.85, 0.86), grass=(0.30, 0.44, 0.18),
                 leaves=((0.15, 0.28, 0.10), (0.18, 0.32, 0.12))),
}
STYLE_NAMES = tuple(STYLES)


def jitter(style: Style, rng) -> Style:
    """A small random variation of a preset, so no two samples of one style look exactly alike: colours vary by
    about 4 % (the meadow's by 10 %), the sun moves a little sideways, the haze thickens or thins."""
    colors = np.array([style.sky_top, style.sky_horizon, style.sun, style.ambient, style.grass])
    amount = np.array([0.04, 0.04, 0.04, 0.04, 0.1])[:, None]
    sky_top, sky_horizon, sun, ambient, grass = np.minimum(colors * (1.0 + amount * rng.standard_normal((5, 3))), 1.0)
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


def sky_colors(style: Style, horizon: float, height: int, width: int) -> np.ndarray:
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


def reflect_water(color, label, ripples, strength):
    """Water mirrors what stands behind it: a water pixel takes the colour of the pixel as far above the water's
    far shore (the first water row of its column) as it lies below it, shifted a little by the ripples.
    Changes ``color`` (3, H, W) in place."""
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
    reflection = np.take(color.reshape(3, -1), mirror * width + shifted, axis=1) * (0.8 + 0.08 * ripples)
    band = color[:, r0:r1]
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
    color = surface * np.maximum(grain, 0.2) * (ambient[:, None, None] + sun[:, None, None] * lit)

    sky = sky_colors(style, horizon, height, width)
    is_sky = label == SKY
    color = np.where(is_sky, sky, color)
    if style.stars:
        color = np.where(is_sky & (fine > 3.0), 0.8, color)
    # clouds are a little transparent, more so where the coarse noise is low
    color = np.where(label == CLOUD, color + (sky - color) * np.clip(0.2 - 0.15 * coarse, 0.0, 1.0), color)
    # water: its own colour plus the sky's, mirrored surroundings (more at grazing angles), ripples
    water = label == WATER
    horizon_sky = np.asarray(style.sky_horizon, np.float32)[:, None, None]
    color = np.where(water, color * (1.0 + 0.15 * ripples * nearness) + 0.25 * horizon_sky, color)
    reflect_water(color, label, ripples, 0.3 + 0.6 * d)

    haze = (1.0 - np.exp(-style.fog * d)) * ~is_sky  # the sky's colours already include its haze
    color = color + (np.asarray(style.fog_color, np.float32)[:, None, None] - color) * haze
    return np.clip(blur3(color), 0.0, 1.0) * 2.0 - 1.0


# ----------------------------------------------------------------------------------------------------------
# The dataset
# ----------------------------------------------------------------------------------------------------------
def check_size(size):
    """(H, W) from an int or a pair, or a ValueError that says what sizes work."""
    if isinstance(size, (int, np.integer)) and not isinstance(size, bool):
        size = (size, size)
    if not (isinstance(size, (tuple, list)) and len(size) == 2 and all(isinstance(s, (int, np.integer)) for s in size)):
        raise ValueError(f"size must be an int (a square image) or a pair of ints (H, W), got {size!r}")
    height, width = size
    if not MIN_SIZE <= height <= MAX_SIZE:
        raise ValueError(f"Landscapes height must be between {MIN_SIZE} and {MAX_SIZE} pixels, got {height}; "
                         f"pass e.g. size=128 (square) or size=(128, 256) (2:1)")
    if width not in (height, 2 * height):
        raise ValueError(f"Landscapes size {height}x{width}: the width must equal the height (1:1) or twice the "
                         f"height (2:1), e.g. size=({height}, {height}) or size=({height}, {2 * height})")
    return int(height), int(width)


def check_style(style) -> str:
    if style not in STYLES:
        raise ValueError(f"unknown style {style!r}; the styles are {', '.join(STYLE_NAMES)}")
    return style


class Landscapes(torch.utils.data.Dataset):
    """The course's embedded dataset (lesson 00): procedural landscapes, deterministic from ``(seed, index)``.

    ``ds[i]`` is a dict with ``label`` (H, W) long class ids (see ``CLASS_NAMES``), ``instance`` (H, W) long
    instance ids (``class * 1000 + k`` for each cloud, tree, rock and bush, ``class * 1000`` for stuff),
    ``image`` (3, H, W) float in [-1, 1], and ``style``, the index in ``STYLE_NAMES`` of the preset it was
    rendered in. ``ds.render(i, style)`` gives the same layout in a chosen style, ``ds.layout(i)`` only the maps.

    size: an int (square) or (H, W) with W = H or 2 H, H from 32 to 512. styles: the names to draw from
    (default all of ``STYLE_NAMES``)."""

    # what code written for any segmentation dataset asks of it
    num_classes, class_names, palette = NUM_CLASSES, CLASS_NAMES, PALETTE

    def __init__(self, size=64, length: int = 10_000, seed: int = 0, styles: Optional[Sequence[str]] = None):
        self.height, self.width = check_size(size)
        if length <= 0:
            raise ValueError(f"length must be a positive number of samples, got {length}")
        self.length, self.seed = int(length), int(seed)
        self.styles = tuple(check_style(s) for s in (STYLE_NAMES if styles is None else styles))
        if not self.styles:
            raise ValueError(f"styles must name at least one of {', '.join(STYLE_NAMES)}")

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict:
        return self.render(index)

    def _canvas(self, index: int) -> Canvas:
        if not 0 <= index < self.length:
            raise LandscapesIndexError(f"index {index} is out of range for a Landscapes of length {self.length}; "
                                       f"use 0 <= index < {self.length}")
        return make_layout(self.seed, int(index), self.height, self.width)

    def layout(self, index: int) -> dict:
        """Only the ``label`` and ``instance`` maps of sample ``index``: a few times faster than ``ds[index]``
        (the painter's "random layout" button)."""
        canvas = self._canvas(index)
        return {"label": torch.from_numpy(np.array(canvas.classes)[canvas.obj]),
                "instance": torch.from_numpy(np.array(canvas.instances)[canvas.obj])}

    def render(self, index: int, style: Optional[str] = None) -> dict:
        """Sample ``index`` with its own layout, in ``style`` (a name in ``STYLE_NAMES``; default: its own)."""
        canvas, index = self._canvas(index), int(index)
        # a second random stream for the appearance, so that choosing a style never changes the layout
        rng = np.random.default_rng([self.seed, index, 1])
        own_style = self.styles[int(rng.random() * len(self.styles))]  # not integers(): its first draw repeats across nearby seeds
        name = own_style if style is None else check_style(style)
        look = jitter(STYLES[name], rng)
        offset = tuple(rng.integers(0, self.height, 2))
        classes = np.array(canvas.classes)
        label = classes[canvas.obj]
        albedo = object_albedos(classes, np.array(canvas.tones, np.float32), np.array(canvas.variants), look)
        image = render_image(label, canvas.obj, canvas.shade, canvas.facing, albedo,
                             np.array(canvas.dists, np.float32), canvas.scene.horizon, look, offset)
        return {"label": torch.from_numpy(label),
                "instance": torch.from_numpy(np.array(canvas.instances)[canvas.obj]),
                "image": torch.from_numpy(image),
                "style": STYLE_NAMES.index(name)}


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
