"""``Painter``, the painting demo in one cell (an anywidget): the canvas, the palette, the tools, the style controls
and the generated image. The browser paints at once, without waiting for the kernel; when a stroke ends it sends the
stroke (its points, class, radius) to the kernel, which paints it into its ``LabelCanvas``, runs the generator, and
sends back the label map and the image (a PNG). The kernel's label map is the true one: the browser redraws from it.
"""
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

from .. import official
from ..checkpoints import CheckpointError
from ..labels import label_png_bytes, make_segmap, read_label_png, resize_labels
from ..landscapes import CLASS_NAMES, PALETTE, STYLE_NAMES, Landscapes, check_style
from ..models import PRESETS, ModelNotFoundError, evaluating, load_classroom
from ..modes import device
from ..viz import png_bytes, read_image
from .canvas import LabelCanvas
from .palettes import SEARCH_FROM, dataset_classes, hex_colours, make_palette, official_size, with_recent

ASSETS = Path(__file__).resolve().parent.parent / "painter_assets"
LANDSCAPE_SAMPLES = 100_000  # random layouts and reference images come from the first samples of Landscapes
PRESET_IMAGES = 4  # a style preset's code is the encoder's mu averaged over this many images in that style
SKY_NAMES, GROUND_NAMES = ("sky", "sky-other"), ("grass", "road")  # for the first layout of a real dataset
NO_STYLE_NOTE = ("this model was trained without the style encoder (use_vae false): one image per label map, "
                 "no style controls")


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

    ``Painter.for_official("ade20k")`` (or "cityscapes", "coco") paints with an official generator and its
    dataset's classes, colours and size; ``Painter.for_dataset(dataset, generator)`` with a model trained on a
    ``spade_lib.datasets`` dataset. Long class lists get a search box and a row of recent classes.

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
    style_note = traitlets.Unicode("").tag(sync=True)  # why there are no style controls (a model without z)
    searchable = traitlets.Bool(False).tag(sync=True)  # a long class list: the palette has a search box
    recent_classes = traitlets.List(traitlets.Int()).tag(sync=True)  # the classes used last, latest first
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
        if generator is None and encoder is None and class_names is None:
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
        self.canvas = LabelCanvas(self.height, self.width, len(names), *self.first_layout(names))
        self.rng = np.random.default_rng(0)
        self.preset_codes = {}  # style preset -> z, computed on first use
        self.z, self.style_seed = None, -1
        self.class_names, self.palette = list(names), hex_colours(palette)
        self.map_height, self.map_width = self.height, self.width
        self.style_presets = list(STYLE_NAMES) if self.landscapes and encoder is not None else []
        self.has_encoder = encoder is not None
        self.uses_z = bool(generator is not None and generator.use_vae)
        self.style_note = "" if generator is None or self.uses_z else NO_STYLE_NOTE
        self.searchable = len(names) > SEARCH_FROM
        if not self.landscapes:  # lesson 09's brush starts at class 0; a real dataset's at the ground it paints
            self.brush_class = int(self.labels[-1, 0])
        self.recent_classes = list(dict.fromkeys([self.brush_class, int(self.labels[0, 0])]))
        self.observe(lambda change: self.use_class(change["new"]), "brush_class")
        self.on_msg(lambda _, content, buffers: self.receive(content, buffers))
        if self.uses_z:
            self.reroll_style(seed=0)
        else:
            self.refresh()

    @classmethod
    def for_dataset(cls, dataset, generator=None, encoder=None, **kwargs) -> "Painter":
        """A painter for a model of a real dataset: ``dataset`` is "ade20k", "cityscapes", "coco" or a
        ``spade_lib.datasets`` dataset (e.g. a ``LabelFolder``); its class names and palette, one per id, and the
        generator (and encoder) moved to ``spade_lib.modes.device()``, the GPU in full mode. The label map is the
        generator's size (Cityscapes: 512x256); a don't-care id is a class of its own to paint, and the instance
        edges come from the painted instances where the generator reads them."""
        if isinstance(dataset, str):
            names, palette = dataset_classes(dataset)
        else:
            names, palette = tuple(dataset.class_names), np.asarray(dataset.palette, np.uint8)
        generator, encoder = (None if net is None else net.to(device()) for net in (generator, encoder))
        return cls(generator, encoder, class_names=names, palette=palette, **kwargs)

    @classmethod
    def for_official(cls, dataset: str, generator=None, root=None, **kwargs) -> "Painter":
        """A painter for an official GauGAN: ``spade_lib.official.pretrained(dataset, root)`` unless ``generator``
        is given (e.g. ``official.generator(dataset)`` with random weights). Without the downloaded checkpoint the
        widget says how to get it, and painting still works."""
        problem = ""
        if generator is None:
            try:
                generator = official.pretrained(dataset, root, device=device())
            except FileNotFoundError as error:
                problem = f"{type(error).__name__}: {error}"
        size = kwargs.pop("size", official_size(dataset))
        kwargs.setdefault("display_size", max(cls.display_size.default_value, size[1]))  # Cityscapes: 512 wide
        painter = cls.for_dataset(dataset, generator, size=size, **kwargs)
        if problem:
            painter.model_problem = problem
            painter.refresh()
        return painter

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

    def first_layout(self, names) -> tuple:
        """(labels, instances) to start from: a Landscapes layout for its classes; a horizon, sky over ground,
        for a class list that names them (the official datasets); else all class 0."""
        if not self.landscapes:
            return self.horizon(names), None
        layout = self.dataset().layout(0)
        return layout["label"].numpy(), layout["instance"].numpy()

    def horizon(self, names) -> np.ndarray:
        """(H, W) class ids: the first sky class of ``names`` above 45% of the height, the first ground class
        below; None when the list has neither."""
        sky = next((names.index(n) for n in SKY_NAMES if n in names), None)
        ground = next((names.index(n) for n in GROUND_NAMES if n in names), None)
        if sky is None or ground is None:
            return None
        labels = np.full((self.height, self.width), ground, np.uint8)
        labels[:round(0.45 * self.height)] = sky
        return labels

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

    def use_class(self, class_id: int) -> None:
        """The brush's class changed (in the browser, or here): it heads the palette's "recent" row."""
        self.recent_classes = with_recent(self.recent_classes, class_id)

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
