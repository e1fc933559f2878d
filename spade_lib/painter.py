"""The painting demo (lesson 09): paint a label map, pick a style, and the generator paints the photo.

Two parts, so that everything except the browser can be tested without one:

- ``LabelCanvas`` (numpy only) holds the label map being painted and its instance map, and paints brush strokes
  and flood fills, with undo and redo. The browser side, ``painter_assets/painter.js``, paints with the very same
  brush footprint (``disc_offsets``, ``line_points``, ``clamp_points``), so what you see while painting is what the
  kernel gets.
- ``Painter``, an anywidget, puts the canvas, the palette, the tools, the style controls and the generated image in
  one cell. The browser paints at once, without waiting for the kernel; when a stroke ends it sends the stroke (its
  points, class, radius) to the kernel, which paints it into its ``LabelCanvas``, runs the generator, and sends back
  the label map and the image (a PNG). The kernel's label map is the true one: the browser redraws from it.

    >>> painter = Painter()                                   # the classroom model (spade_lib.models)
    >>> painter                                               # the last line of a cell shows the widget
    >>> painter.stroke([(10, 40), (50, 40)], TREE, radius=3)  # what the browser sends, typed by hand
    >>> painter.labels                                        # (H, W) uint8 class ids
    >>> generator, encoder, _ = models.load_model("../runs/classroom")
    >>> Painter(generator, encoder)                           # your own model from lesson 08

Points are (x, y) pixels of the label map: x the column, y the row, (0, 0) the top-left pixel.
"""
import colorsys
import time
from pathlib import Path

import numpy as np
import torch
import traitlets

try:  # only the widget needs anywidget (the course extra); the numpy LabelCanvas and its helpers work without it
    from anywidget import AnyWidget
except ModuleNotFoundError as missing_anywidget:
    ANYWIDGET_MISSING = f"Painter needs anywidget ({missing_anywidget}): pip install 'spade_lib[course]'"

    class AnyWidget:
        """Stands in for anywidget.AnyWidget where it is not installed: making a Painter says how to install it."""

        def __new__(cls, *args, **kwargs):
            raise ModuleNotFoundError(ANYWIDGET_MISSING)

from .checkpoints import CheckpointError
from .labels import check_labels, label_png_bytes, make_segmap, read_label_png, resize_labels
from .landscapes import CLASS_NAMES, PALETTE, STYLE_NAMES, Landscapes, check_style
from .models import PRESETS, ModelNotFoundError, evaluating, load_classroom
from .viz import png_bytes, read_image

ASSETS = Path(__file__).resolve().parent / "painter_assets"
STUFF_INSTANCE = 1000  # plain painting: all of a class is one instance, class * 1000 (as Landscapes numbers stuff)
FIRST_NEW_INSTANCE = 1_000_000  # the "new instance" brush numbers its objects from here: above every class * 1000
MAX_RADIUS = 64
HISTORY = 100  # undo steps kept
LANDSCAPE_SAMPLES = 100_000  # random layouts and reference images come from the first samples of Landscapes
PRESET_IMAGES = 4  # a style preset's code is the encoder's mu averaged over this many images in that style


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


def make_palette(num_classes: int) -> np.ndarray:
    """(num_classes, 3) uint8 distinct colours for a class list that comes without a palette (e.g. ADE20K's 151):
    hues spread by the golden ratio, in three brightnesses."""
    colours = [colorsys.hsv_to_rgb((k * 0.618033988749895) % 1.0, 0.65, (1.0, 0.8, 0.6)[k % 3])
               for k in range(num_classes)]
    return (np.array(colours) * 255 + 0.5).astype(np.uint8).reshape(num_classes, 3)


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


# -----------------------------------------------------------------------------------------------------------------
# The widget


def hex_colours(palette) -> list:
    return [f"#{r:02x}{g:02x}{b:02x}" for r, g, b in np.asarray(palette, np.uint8).tolist()]


class Painter(AnyWidget):
    """The painting demo in one cell: palette, brush, fill, undo, redo, clear, random layout, style controls, load
    and save, and the generated image beside the canvas.

    Args:
        generator, encoder: a ``SPADEGenerator`` and its ``StyleEncoder`` (or None). Both None: the course's
            classroom model (``spade_lib.models.load_classroom``); when it is missing, the widget says so.
        class_names: one name per class (default: Landscapes' ``CLASS_NAMES``); the generator's label channels
            must be their number, plus one when it reads instance edges.
        palette: (K, 3) uint8 colours to paint the classes in (default: Landscapes' ``PALETTE`` for its classes,
            ``make_palette(K)`` otherwise).
        size: the label map's (H, W), or an int; default: the generator's output size.

    The browser sends messages (``receive``); every action is also a method (``stroke``, ``fill``, ``undo``, ...)
    that a notebook can call. Random layouts, style presets and dataset images need the Landscapes classes."""

    _esm = ASSETS / "painter.js"
    _css = ASSETS / "painter.css"

    # the picture, kernel -> browser
    labels_bytes = traitlets.Bytes(b"").tag(sync=True)  # the label map, (map_height * map_width) uint8, row by row
    map_height = traitlets.Int(0).tag(sync=True)
    map_width = traitlets.Int(0).tag(sync=True)
    image_png = traitlets.Bytes(b"").tag(sync=True)  # the generated image as a PNG file (empty: none yet)
    image_serial = traitlets.Int(0).tag(sync=True)  # counts the kernel's answers: the browser redraws on each
    applied_request = traitlets.Int(0).tag(sync=True)  # the id of the last browser message handled
    last_latency_ms = traitlets.Float(0.0).tag(sync=True)  # kernel time of that message: edit + model + PNG
    status = traitlets.Unicode("").tag(sync=True)
    status_level = traitlets.Unicode("info").tag(sync=True)  # "info" or "error"
    # what the controls show
    class_names = traitlets.List(traitlets.Unicode()).tag(sync=True)
    palette = traitlets.List(traitlets.Unicode()).tag(sync=True)  # "#rrggbb", one per class
    landscapes = traitlets.Bool(False).tag(sync=True)  # a model of the Landscapes classes: random layouts work
    style_presets = traitlets.List(traitlets.Unicode()).tag(sync=True)  # Landscapes styles, when there is an encoder
    has_encoder = traitlets.Bool(False).tag(sync=True)
    uses_z = traitlets.Bool(False).tag(sync=True)
    style_name = traitlets.Unicode("").tag(sync=True)  # what the style code z is now
    can_undo = traitlets.Bool(False).tag(sync=True)
    can_redo = traitlets.Bool(False).tag(sync=True)
    display_size = traitlets.Int(320).tag(sync=True)  # the canvas's width on screen, in CSS pixels
    save_folder = traitlets.Unicode("").tag(sync=True)  # where "save" writes; empty: the notebook's folder
    # the brush, set in the browser (kept here so that the widget shown again looks the same)
    brush_class = traitlets.Int(0).tag(sync=True)
    brush_radius = traitlets.Int(3).tag(sync=True)
    tool = traitlets.Unicode("brush").tag(sync=True)  # "brush" or "fill"
    new_instance = traitlets.Bool(False).tag(sync=True)

    def __init__(self, generator=None, encoder=None, class_names=None, palette=None, size=None, **kwargs):
        super().__init__(**kwargs)
        self.model_problem = ""
        if generator is None and encoder is None:
            try:
                generator, encoder, _ = load_classroom()
            except (ModelNotFoundError, CheckpointError) as error:
                self.model_problem = f"{type(error).__name__}: {error}"
        self.generator, self.encoder = generator, encoder
        names = tuple(CLASS_NAMES if class_names is None else class_names)
        self.landscapes = names == CLASS_NAMES  # a synced trait: the browser enables "random layout"
        palette = PALETTE if palette is None and self.landscapes else palette
        palette = make_palette(len(names)) if palette is None else np.asarray(palette, np.uint8)
        if palette.shape != (len(names), 3):
            raise ValueError(f"palette must be ({len(names)}, 3) RGB colours, one per class; got {palette.shape}")
        self.palette_rgb = palette
        self.height, self.width = self.checked_size(size)
        self.instance_edges = self.reads_instance_edges(len(names))
        self.canvas = LabelCanvas(self.height, self.width, len(names), *self.first_layout())
        self.rng = np.random.default_rng(0)
        self.preset_codes = {}  # style preset -> z, computed on first use
        self.z, self.style_seed = None, -1
        self.class_names, self.palette = list(names), hex_colours(palette)
        self.map_height, self.map_width = self.height, self.width
        self.style_presets = list(STYLE_NAMES) if self.landscapes and encoder is not None else []
        self.has_encoder = encoder is not None
        self.uses_z = bool(generator is not None and generator.use_vae)
        self.on_msg(lambda _, content, buffers: self.receive(content, buffers))
        if self.uses_z:
            self.reroll_style(seed=0)
        else:
            self.refresh()

    # ------------------------------------------------------------------ setup
    def checked_size(self, size) -> tuple:
        """(H, W) of the label map: ``size``, else the generator's, else the classroom preset's."""
        model_size = None if self.generator is None else (self.generator.height, self.generator.width)
        if size is None:
            size = model_size or PRESETS["classroom"].size
        size = (size, size) if isinstance(size, int) else tuple(size)
        if model_size is not None and size != model_size:
            raise ValueError(f"size {size} differs from the generator's output size {model_size}: the label map "
                             f"must have the size of the image it makes")
        return size

    def reads_instance_edges(self, num_classes: int) -> bool:
        """Whether the generator reads an instance-edge channel: its label channels are the classes (+ 1 for edges)."""
        if self.generator is None:
            return False
        extra = self.generator.label_channels - num_classes
        if extra not in (0, 1):
            raise ValueError(f"the generator reads {self.generator.label_channels} label channels, but "
                             f"class_names has {num_classes} classes: pass its own class list")
        return extra == 1

    def first_layout(self) -> tuple:
        """(labels, instances) to start from: a Landscapes layout for its classes, else all class 0."""
        if not self.landscapes:
            return None, None
        layout = self.dataset().layout(0)
        return layout["label"].numpy(), layout["instance"].numpy()

    def dataset(self) -> Landscapes:
        if not self.landscapes:
            raise ValueError("random layouts, style presets and dataset images need a model of the Landscapes "
                             "classes; this one has its own class list")
        return Landscapes(size=(self.height, self.width), length=LANDSCAPE_SAMPLES)

    @property
    def num_classes(self) -> int:
        return self.canvas.num_classes

    @property
    def labels(self) -> np.ndarray:
        """The label map (H, W) uint8 class ids: the kernel's, which the browser shows."""
        return self.canvas.labels

    @property
    def instances(self) -> np.ndarray:
        return self.canvas.instances

    # ------------------------------------------------------------------ the model
    def generate(self) -> torch.Tensor:
        """The generator's image (3, H, W) in [-1, 1] for the label map and the style code z, as training's
        samples: ids + instance edges when the model reads them (``make_segmap``), eval mode."""
        device = next(self.generator.parameters()).device
        labels = torch.from_numpy(self.labels.astype(np.int64))[None]  # (1, H, W)
        instances = torch.from_numpy(self.instances)[None] if self.instance_edges else None
        segmap = make_segmap(labels, self.num_classes, instances).to(device)
        with torch.no_grad(), evaluating(self.generator):
            return self.generator(segmap, self.z)[0]

    def refresh(self, message: str = "") -> None:
        """Send the label map and a new image to the browser. The model's errors go to the status line."""
        with self.hold_sync():
            self.labels_bytes = self.labels.tobytes()
            self.can_undo, self.can_redo = bool(self.canvas.undo_stack), bool(self.canvas.redo_stack)
            self.show(message)
            if self.generator is None:
                self.show(self.model_problem, "error")
            else:
                try:
                    self.image_png = png_bytes(self.generate())
                except Exception as error:  # the model's error: shown in the widget, and the painting goes on
                    self.show(f"the model failed: {type(error).__name__}: {error}", "error")
            self.image_serial += 1

    def show(self, message: str, level: str = "info") -> None:
        self.status, self.status_level = message, level

    # ------------------------------------------------------------------ the browser's messages
    def receive(self, content: dict, buffers=()) -> None:
        """Handle one message from the browser (a stroke, a button, a file) and answer it. Bad input never raises
        here: its error becomes the status line."""
        started = time.perf_counter()
        with self.hold_sync():
            try:
                self.handle(content, list(buffers))
            except Exception as error:
                self.show(f"{type(error).__name__}: {error}", "error")
                self.image_serial += 1  # an answer all the same: the browser drops its own copy of the edit
            self.applied_request = max(self.applied_request, int(content.get("id", 0)))
            self.last_latency_ms = (time.perf_counter() - started) * 1000

    def handle(self, message: dict, buffers: list) -> None:
        kind = message.get("type")
        if kind == "stroke":
            self.stroke(message["points"], message["class_id"], message["radius"], message.get("new_instance", False))
        elif kind == "fill":
            self.fill(message["point"], message["class_id"], message.get("new_instance", False))
        elif kind in ("undo", "redo", "random_layout", "reroll_style"):
            getattr(self, kind)()
        elif kind == "clear":
            self.clear(message["class_id"])
        elif kind == "load_labels":
            self.load_labels(bytes(buffers[0]), name=message.get("name"))
        elif kind == "save":
            self.save_and_download()
        elif kind == "style_preset":
            self.use_style_preset(message["name"])
        elif kind == "style_dataset":
            self.use_style_of_dataset_image(int(message["index"]))
        elif kind == "style_image":
            self.use_style_of_image(bytes(buffers[0]), name=message.get("name"))
        else:
            raise ValueError(f"unknown message type {kind!r}")

    # ------------------------------------------------------------------ painting
    def stroke(self, points, class_id: int, radius: int, new_instance: bool = False) -> None:
        """Paint a brush stroke through ``points`` ((x, y) label-map pixels), then show the new image."""
        self.canvas.stroke(points, class_id, radius, new_instance)
        self.refresh()

    def fill(self, point, class_id: int, new_instance: bool = False) -> None:
        self.canvas.fill(point, class_id, new_instance)
        self.refresh()

    def clear(self, class_id: int = 0) -> None:
        self.canvas.clear(class_id)
        self.refresh()

    def undo(self) -> None:
        self.refresh("" if self.canvas.undo() else "nothing to undo")

    def redo(self) -> None:
        self.refresh("" if self.canvas.redo() else "nothing to redo")

    def random_layout(self, index=None) -> None:
        """A Landscapes layout (label and instance maps): sample ``index``, or a random one."""
        index = int(self.rng.integers(LANDSCAPE_SAMPLES)) if index is None else index
        layout = self.dataset().layout(index)
        self.canvas.set_maps(layout["label"].numpy(), layout["instance"].numpy())
        self.refresh(f"random layout: Landscapes sample {index}")

    # ------------------------------------------------------------------ files
    def load_labels(self, source, name=None) -> None:
        """Paint a label map from a PNG (a path or the file's bytes): indexed, greyscale ids, or RGB in the
        palette's colours; another size is resized (nearest neighbour)."""
        if name is None:
            name = "the file" if isinstance(source, (bytes, bytearray)) else str(source)
        ids = read_label_png(source, self.num_classes, self.palette_rgb, name=name)
        message = f"loaded {name}"
        if ids.shape != (self.height, self.width):
            message += f", resized from {ids.shape[0]}x{ids.shape[1]} to {self.height}x{self.width} (nearest)"
            ids = resize_labels(torch.from_numpy(ids)[None], (self.height, self.width))[0].numpy()
        self.canvas.set_maps(ids)
        self.refresh(message)

    def save(self, folder=None) -> list:
        """Write the label map (an indexed PNG with the palette) and the image (a PNG) into ``folder`` (default:
        ``save_folder``, else the current folder, the notebook's) as painting_NNN_label.png and _image.png; returns
        the paths."""
        folder = Path(folder or self.save_folder or Path.cwd())
        folder.mkdir(parents=True, exist_ok=True)
        number = next(n for n in range(1, 10**6) if not (folder / f"painting_{n:03d}_label.png").exists())
        files = {f"painting_{number:03d}_label.png": label_png_bytes(self.labels, self.palette_rgb)}
        if self.image_png:
            files[f"painting_{number:03d}_image.png"] = self.image_png
        for file_name, data in files.items():
            (folder / file_name).write_bytes(data)
        return [folder / file_name for file_name in files]

    def save_and_download(self) -> None:
        """``save()``, then send the files to the browser, which downloads them."""
        paths = self.save()
        self.send({"type": "download", "names": [p.name for p in paths]}, [p.read_bytes() for p in paths])
        self.show(f"saved {', '.join(p.name for p in paths)} in {paths[0].parent}")

    # ------------------------------------------------------------------ style
    def reroll_style(self, seed=None) -> None:
        """A random style code z ~ N(0, I), drawn from ``seed`` (default: the next seed)."""
        self.check_uses_z()
        self.style_seed = self.style_seed + 1 if seed is None else int(seed)
        z = torch.randn(1, self.generator.z_dim, generator=torch.Generator().manual_seed(self.style_seed))
        self.use_code(z, f"random z, seed {self.style_seed}")

    def use_style_preset(self, name: str) -> None:
        """The style of a Landscapes preset: the encoder's mu averaged over a few dataset images rendered in it."""
        check_style(name)
        if name not in self.preset_codes:
            dataset = self.dataset()
            images = torch.stack([dataset.render(i, name)["image"] for i in range(PRESET_IMAGES)])
            self.preset_codes[name] = self.encode(images)
        self.use_code(self.preset_codes[name], f"preset {name}")

    def use_style_of_dataset_image(self, index: int) -> None:
        """The style of Landscapes sample ``index`` (its own preset, its own jitter), through the encoder."""
        image = self.dataset()[index]["image"]
        self.use_code(self.encode(image[None]), f"Landscapes image {index}")

    def use_style_of_image(self, source, name=None) -> None:
        """The style of any image file (a path or its bytes), through the encoder."""
        image = read_image(source, (self.height, self.width))
        self.use_code(self.encode(image[None]), f"image {name or source}")

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """(1, z_dim): the encoder's mu, the most likely style, averaged over ``images`` (N, 3, H, W)."""
        self.check_uses_z()
        if self.encoder is None:
            raise ValueError("this model has no style encoder: only random styles (re-roll z)")
        with torch.no_grad(), evaluating(self.encoder):
            mu, _ = self.encoder(images.to(next(self.encoder.parameters()).device))
        return mu.mean(0, keepdim=True)

    def use_code(self, z: torch.Tensor, name: str) -> None:
        self.z = z.to(next(self.generator.parameters()).device)
        self.style_name = name
        self.refresh(f"style: {name}")

    def check_uses_z(self) -> None:
        if self.generator is None:
            raise ValueError(f"no model to style: {self.model_problem}")
        if not self.generator.use_vae:
            raise ValueError("this generator was trained without the style encoder (use_vae false): it makes one "
                             "image per label map, with no style code z")
