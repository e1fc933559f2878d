"""The label map being painted, in numpy: the brush, the fill bucket and ``LabelCanvas`` (undo, redo, instances).

The browser side, ``spade_lib/painter_assets/painter.js``, paints with the very same brush footprint
(``disc_offsets``, ``line_points``, ``clamp_points``), so what you see while painting is what the kernel gets.
Points are (x, y) pixels of the label map: x the column, y the row, (0, 0) the top-left pixel.
"""
import numpy as np
import torch

from ..labels import check_labels

STUFF_INSTANCE = 1000  # plain painting: all of a class is one instance, class * 1000 (as Landscapes numbers stuff)
FIRST_NEW_INSTANCE = 1_000_000  # the "new instance" brush numbers its objects from here: above every class * 1000
MAX_RADIUS = 64
HISTORY = 100  # undo steps kept


# -----------------------------------------------------------------------------------------------------------------
# The brush: the same arithmetic as painter.js, integer for integer


def disc_offsets(radius: int) -> np.ndarray:
    r"""(K, 2) integer offsets (dx, dy) of the brush's footprint: the pixels whose centres lie within
    :math:`r + \frac12` of the centre pixel's centre,

    .. math:: dx^2 + dy^2 \le (r + \tfrac12)^2 \iff dx^2 + dy^2 \le r^2 + r \quad (\text{integers})

    so a disc of radius r is 2r + 1 pixels across: radius 0 is one pixel, 1 a 3x3 square, 2 a 5x5 without corners."""
    d = np.arange(-radius, radius + 1)
    dx, dy = np.meshgrid(d, d, indexing="xy")
    # dx^2 + dy^2 <= (r + 1/2)^2  <=>  dx^2 + dy^2 <= r^2 + r for integers
    inside = dx * dx + dy * dy <= radius * radius + radius
    return np.stack([dx[inside], dy[inside]], 1)


def line_points(start, end) -> np.ndarray:
    """(n + 1, 2) integer points (x, y) from ``start`` to ``end``, one per step along the longer axis, so that the
    discs stamped on them overlap and a fast stroke leaves no gaps. Point i is start + (end - start) * i / n rounded
    half up, in integers: floor((2 d i + n) / 2n) = floor(d i / n + 1/2)."""
    (x0, y0), (x1, y1) = (int(v) for v in start), (int(v) for v in end)
    n = max(abs(x1 - x0), abs(y1 - y0))
    if n == 0:
        return np.array([[x0, y0]])
    i = np.arange(n + 1)
    return np.stack([x0 + (2 * (x1 - x0) * i + n) // (2 * n), y0 + (2 * (y1 - y0) * i + n) // (2 * n)], 1)


def clamp_points(points, radius: int, height: int, width: int) -> np.ndarray:
    """(N, 2) integer points (x, y): each coordinate floored, then moved into [-radius - 1, size + radius].

    A disc centred on that margin no longer touches the canvas, and a point far away (the pointer dragged off the
    page) cannot make a stroke of millions of stamps. Points outside are fine, not an error: a stroke may leave the
    canvas and come back."""
    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 2 or len(points) == 0:
        raise ValueError(f"a stroke is a list of (x, y) points, at least one; got an array of shape {points.shape}")
    if not np.isfinite(points).all():
        raise ValueError("a stroke's points must be finite numbers (got NaN or infinity)")
    points = np.floor(points).astype(np.int64)
    low = -radius - 1
    return np.stack([points[:, 0].clip(low, width + radius), points[:, 1].clip(low, height + radius)], 1)


def stroke_mask(points, radius: int, height: int, width: int) -> np.ndarray:
    """(H, W) bool: the pixels a brush stroke covers: a disc stamped on every point of every segment of the stroke."""
    points = clamp_points(points, radius, height, width)
    centres = np.concatenate([line_points(a, b) for a, b in zip(points[:-1], points[1:])] or [points])
    pixels = (centres[:, None, :] + disc_offsets(radius)[None]).reshape(-1, 2)  # (N * K, 2) x, y
    x, y = pixels[:, 0], pixels[:, 1]
    inside = (x >= 0) & (x < width) & (y >= 0) & (y < height)  # clipping: the rest falls off the canvas
    mask = np.zeros((height, width), bool)
    mask[y[inside], x[inside]] = True
    return mask


def flood_region(labels: np.ndarray, point) -> np.ndarray:
    """(H, W) bool: what a fill at ``point`` (x, y) recolours, the pixels of the clicked pixel's class connected
    to it through their 4 neighbours. The region grows by one pixel in each direction, inside that class, until it
    stops growing. A point outside the map fills nothing."""
    height, width = labels.shape
    x, y = (int(np.floor(v)) for v in point)
    region = np.zeros(labels.shape, bool)
    if not (0 <= x < width and 0 <= y < height):
        return region
    same_class = labels == labels[y, x]
    region[y, x] = True
    while True:
        grown = region.copy()
        grown[1:] |= region[:-1]  # down
        grown[:-1] |= region[1:]  # up
        grown[:, 1:] |= region[:, :-1]  # right
        grown[:, :-1] |= region[:, 1:]  # left
        grown &= same_class
        if np.array_equal(grown, region):
            return region
        region = grown


# -----------------------------------------------------------------------------------------------------------------
# The label map being painted


class LabelCanvas:
    """A label map being painted: ``labels`` (H, W) uint8 class ids and ``instances`` (H, W) int64 instance ids, with
    undo and redo. Pure numpy: the widget, the tests and lesson 09 use it without a browser.

    Instances feed the instance-edge channel (lesson 00). What the plain brush paints joins its class's one instance,
    ``class * 1000``, so a painted region is a single instance; with ``new_instance`` every stroke or fill becomes an
    object of its own (one more tree), numbered from ``FIRST_NEW_INSTANCE`` up."""

    def __init__(self, height: int, width: int, num_classes: int, labels=None, instances=None):
        if not 1 <= num_classes <= 256:
            raise ValueError(f"the painter holds class ids in uint8: 1 to 256 classes, got {num_classes}")
        self.height, self.width, self.num_classes = height, width, num_classes
        self.labels = np.zeros((height, width), np.uint8)
        self.instances = np.zeros((height, width), np.int64)
        if labels is not None:
            self.labels, self.instances = self.checked_maps(labels, instances)
        self.undo_stack, self.redo_stack = [], []  # (labels, instances) before each change / after each undo

    # painting
    def stroke(self, points, class_id: int, radius: int, new_instance: bool = False) -> int:
        """Paint a brush stroke through ``points`` ((x, y) pixels); returns the number of pixels it covers."""
        self.check_class(class_id)
        if not 0 <= radius <= MAX_RADIUS:
            raise ValueError(f"brush radius must be 0 to {MAX_RADIUS} pixels, got {radius}")
        return self.paint(stroke_mask(points, int(radius), self.height, self.width), class_id, new_instance)

    def fill(self, point, class_id: int, new_instance: bool = False) -> int:
        """Flood-fill the region around ``point`` (x, y) with ``class_id``; returns the number of pixels filled."""
        self.check_class(class_id)
        return self.paint(flood_region(self.labels, point), class_id, new_instance)

    def clear(self, class_id: int = 0) -> int:
        """Paint the whole map with ``class_id``."""
        self.check_class(class_id)
        return self.paint(np.ones((self.height, self.width), bool), class_id, new_instance=False)

    def paint(self, mask: np.ndarray, class_id: int, new_instance: bool) -> int:
        """Give the pixels of ``mask`` the class ``class_id`` and its instance; one step of the history, when
        anything changes. Returns ``mask.sum()``."""
        instance = self.next_instance() if new_instance else class_id * STUFF_INSTANCE
        if not (mask & ((self.labels != class_id) | (self.instances != instance))).any():
            return 0  # nothing changes: no undo step
        self.remember()
        self.labels[mask], self.instances[mask] = class_id, instance
        return int(mask.sum())

    def set_maps(self, labels, instances=None) -> None:
        """Replace both maps (a random layout, a loaded file): one step of the history. Without ``instances``,
        all of each class is one instance."""
        labels, instances = self.checked_maps(labels, instances)
        self.remember()
        self.labels, self.instances = labels, instances

    # history
    def remember(self) -> None:
        """Push the current maps on the undo stack (before a change); a new change forgets what undo undid."""
        self.undo_stack = self.undo_stack[-(HISTORY - 1):] + [(self.labels.copy(), self.instances.copy())]
        self.redo_stack.clear()

    def undo(self) -> bool:
        """Go back one change; False when there is none."""
        return self.step_history(self.undo_stack, self.redo_stack)

    def redo(self) -> bool:
        """Redo the last undone change; False when there is none."""
        return self.step_history(self.redo_stack, self.undo_stack)

    def step_history(self, source: list, target: list) -> bool:
        if not source:
            return False
        target.append((self.labels, self.instances))
        self.labels, self.instances = source.pop()
        return True

    # checks
    def check_class(self, class_id) -> None:
        if isinstance(class_id, bool) or not isinstance(class_id, (int, np.integer)):
            raise ValueError(f"a class id is an integer, got {class_id!r}")
        if not 0 <= class_id < self.num_classes:
            raise ValueError(f"unknown class id {class_id}: this model knows classes 0 to {self.num_classes - 1}")

    def checked_maps(self, labels, instances):
        """(labels as uint8, instances as int64) after checking their shapes and ids."""
        labels = np.asarray(labels)
        if labels.shape != (self.height, self.width):
            raise ValueError(f"the label map has shape {labels.shape}, the canvas {(self.height, self.width)}")
        check_labels(torch.from_numpy(labels.astype(np.int64))[None], self.num_classes)
        labels = labels.astype(np.uint8)
        if instances is None:
            return labels, labels.astype(np.int64) * STUFF_INSTANCE
        instances = np.asarray(instances, np.int64)
        if instances.shape != labels.shape:
            raise ValueError(f"the instance map has shape {instances.shape}, the label map {labels.shape}")
        return labels, instances.copy()

    def next_instance(self) -> int:
        return max(int(self.instances.max()) + 1, FIRST_NEW_INSTANCE)


