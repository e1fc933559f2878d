"""Layouts of Landscapes: a random scene, described in continuous coordinates, rasterized into a label map.

``y`` runs from 0 (top) to 1 (bottom), ``x`` from 0 to 2 (a square image shows the left half ``[0, 1]``, a 2:1
image all of it). The scene grammar is

    sky  ->  clouds  ->  mountain ridges (far to near, snow caps)  ->  ground at the horizon
         ->  sea with a beach, or a lake, or meadows  ->  a dirt path
         ->  trees, bushes and rocks, sorted far to near

and each part is drawn over the previous ones (the painter's algorithm). Almost every shape is a *column
profile*: the pixels of a column ``x`` between a top curve and a bottom curve, where the curves are built from
1D value noise (random control points joined by smoothstep). A ridgeline, a shoreline, a cloud and a tree crown
are all such curves. Shapes are rasterized by comparing a coordinate grid with the curves, so the same
``(seed, index)`` gives the same scene at every resolution. The geometry only uses ``+ - * /``, ``sqrt`` and
comparisons, which every CPU computes identically, so label maps are the same on every machine.
"""
import functools
from dataclasses import dataclass
from typing import Optional

import numpy as np

from .classes import BUSH, CLOUD, DIRT, GRASS, MOUNTAIN, ROCK, SAND, SKY, SNOW, THINGS, TREE, TRUNK, WATER

MIN_SIZE, MAX_SIZE = 32, 512
WORLD_WIDTH = 2.0  # the layout spans x in [0, 2]; a square image shows [0, 1]


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
