"""Label maps: integer ids, their one-hot form, instance edges, and the checks that explain bad input.

A semantic label map holds one class id per pixel. SPADE's official code feeds the network a *one-hot* map
(one channel per class, plus an optional instance-edge channel). ``LabelMap`` keeps the compact integer form,
which is 151 times smaller for ADE20K and lets ``spade_lib.norms.SPADE`` take its fast path; ``one_hot()``
gives the official dense form. Lesson 00 shows all of these. Label maps travel as PNG files
(``read_label_png``, ``label_png_bytes``): the sample command reads them, the painter of lesson 09 also writes them.
"""
import copy
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, UnidentifiedImageError


def check_labels(labels: torch.Tensor, num_classes: int, name: str = "label map") -> torch.Tensor:
    """The ids as torch.long (every integer dtype is accepted, e.g. the uint8 of ``np.array(Image.open(...))``,
    and cast once here); a ValueError that names the problem and its fix, before any kernel fails."""
    if not isinstance(labels, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of class ids, got {type(labels).__name__}")
    if labels.is_floating_point() or labels.is_complex() or labels.dtype == torch.bool:
        raise ValueError(
            f"{name} has dtype {labels.dtype}, but class ids must be integers (torch.long). If this is a one-hot or "
            f"RGB image, convert it to ids first (e.g. onehot.argmax(1)); if the ids are floats, use .long().")
    if labels.dim() != 3:
        raise ValueError(
            f"{name} must have shape (N, H, W) (batch, height, width), got {tuple(labels.shape)}. "
            f"Use labels[None] for a single map, or labels[:, 0] if it has a channel dimension of 1.")
    labels = labels.long()  # scatter and gather index with int64; no copy when the ids are long already
    if labels.numel() == 0:
        return labels
    smallest, largest = torch.aminmax(labels)
    if smallest >= 0 and largest < num_classes:
        return labels  # one pass over the map in the usual case; name the bad ids below otherwise
    bad = labels[(labels < 0) | (labels >= num_classes)]
    if bad.numel():
        ids = torch.unique(bad).tolist()
        shown = ", ".join(map(str, ids[:10])) + (", ..." if len(ids) > 10 else "")
        hint = " (255 is usually a 'don't care' label: map it to its own class id)" if 255 in ids else ""
        raise ValueError(
            f"{name} holds class ids {shown} outside the valid range [0, {num_classes}){hint}. "
            f"Remap them, or build the model with more classes.")
    return labels


def one_hot(labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """(N, H, W) integer ids -> (N, num_classes, H, W) float one-hot map, as the official code builds it."""
    return _one_hot_of_checked(check_labels(labels, num_classes), num_classes)


def _one_hot_of_checked(labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    n, h, w = labels.shape
    dense = torch.zeros(n, num_classes, h, w, device=labels.device)  # (N, K, H, W)
    return dense.scatter_(1, labels[:, None], 1.0)  # channel labels[n, y, x] of pixel (y, x) becomes 1


def instance_edges(instances: torch.Tensor) -> torch.Tensor:
    """(N, H, W) instance ids -> (N, H, W) float edge map: 1 where any 4-neighbour has another instance id.

    Both pixels on either side of an instance boundary are marked, as in the official ``get_edges``."""
    if instances.dim() != 3:
        raise ValueError(f"instance map must have shape (N, H, W), got {tuple(instances.shape)}")
    edge = torch.zeros(instances.shape, dtype=torch.bool, device=instances.device)
    horizontal = instances[:, :, 1:] != instances[:, :, :-1]
    vertical = instances[:, 1:, :] != instances[:, :-1, :]
    edge[:, :, 1:] |= horizontal
    edge[:, :, :-1] |= horizontal
    edge[:, 1:, :] |= vertical
    edge[:, :-1, :] |= vertical
    return edge.float()


def resize_labels(labels: torch.Tensor, size) -> torch.Tensor:
    """Nearest-neighbour resize of (N, H, W) ids (or edges) to ``size`` = (h, w); exact, same pixels as F.interpolate."""
    if tuple(labels.shape[-2:]) == tuple(size):
        return labels
    return F.interpolate(labels[:, None].float(), size=tuple(size), mode="nearest")[:, 0].to(labels.dtype)


@dataclass
class LabelMap:
    """The compact form of SPADE's segmap: class ids plus optional instance edges.

    ``LabelMap(labels, num_classes, edges).one_hot()`` equals the official input
    ``cat(one_hot(labels), edges)`` with ``channels = num_classes + (edges is not None)`` channels."""

    labels: torch.Tensor  # (N, H, W) ids in [0, num_classes), any integer dtype (stored as long)
    num_classes: int
    edges: Optional[torch.Tensor] = None  # (N, H, W) float in {0, 1}, or None

    def __post_init__(self):
        self.labels = check_labels(self.labels, self.num_classes)
        if self.edges is not None and self.edges.shape != self.labels.shape:
            raise ValueError(f"edges have shape {tuple(self.edges.shape)} but labels {tuple(self.labels.shape)}; "
                             f"they must match (make edges with spade_lib.labels.instance_edges(instances))")

    @property
    def channels(self) -> int:
        return self.num_classes + (self.edges is not None)

    @property
    def size(self):
        return tuple(self.labels.shape[-2:])

    def _derived(self, labels: torch.Tensor, edges: Optional[torch.Tensor]) -> "LabelMap":
        """A map made from this one (resized, moved): its ids were checked when this one was made, so the check,
        a pass over the map (and a GPU-to-CPU sync on CUDA), is not repeated in every SPADE layer."""
        made = copy.copy(self)  # copying skips __post_init__
        made.labels, made.edges = labels, edges
        return made

    def resize(self, size) -> "LabelMap":
        edges = None if self.edges is None else resize_labels(self.edges, size)
        return self._derived(resize_labels(self.labels, size), edges)

    def one_hot(self) -> torch.Tensor:
        dense = _one_hot_of_checked(self.labels, self.num_classes)
        return dense if self.edges is None else torch.cat([dense, self.edges[:, None].to(dense.dtype)], 1)

    def to(self, device) -> "LabelMap":
        return self._derived(self.labels.to(device), None if self.edges is None else self.edges.to(device))


# -----------------------------------------------------------------------------------------------------------------
# Label maps as PNG files

ID_MODES = ("P", "L", "I", "I;16")  # PNG modes whose pixel values are class ids: indexed and single-channel


def read_label_png(source, num_classes: int, palette=None, name: Optional[str] = None) -> np.ndarray:
    """(H, W) int64 class ids from a PNG: a path, the file's bytes or a file object.

    An indexed (palette) PNG gives its pixels' palette indices, a single-channel (greyscale) PNG its values. With
    ``palette`` ((K, 3) uint8 RGB, one colour per class), an RGB PNG drawn in those colours is read back to ids.
    A file that is no image, an unknown colour or an id outside [0, num_classes) raises a ValueError naming it."""
    if name is None:
        name = str(source) if isinstance(source, (str, Path)) else "the label map"
    try:
        image = Image.open(io.BytesIO(source) if isinstance(source, (bytes, bytearray, memoryview)) else source)
        image.load()
    except UnidentifiedImageError:
        raise ValueError(f"{name} is not an image file; a label map is a PNG") from None
    except OSError as error:  # e.g. a truncated file
        raise ValueError(f"{name} could not be read as an image: {error}") from None
    if image.mode in ID_MODES:
        ids = np.array(image).astype(np.int64)
    elif palette is not None and image.mode in ("RGB", "RGBA"):
        ids = ids_of_colours(np.array(image.convert("RGB")), palette, name)
    else:
        in_colours = "; or as an RGB PNG in the palette's colours" if palette is not None else (
            ". Colour (RGB) label pictures must be converted to ids")
        raise ValueError(
            f"{name} is a {image.mode} image, not a label map. A label map holds one class id per pixel: save it "
            f"as an indexed (palette) PNG, where each pixel's palette index is its class, or as a single-channel "
            f"(grayscale) PNG of ids 0..{num_classes - 1}{in_colours}.")
    check_labels(torch.from_numpy(ids)[None], num_classes, name=f"label map {name}")
    return ids


def ids_of_colours(rgb: np.ndarray, palette, name: str = "the label map") -> np.ndarray:
    """(H, W, 3) uint8 colours -> (H, W) int64 ids: each pixel's index in ``palette``; a ValueError that names
    the colours which are not in it (anti-aliased edges, a wrong palette)."""
    weights = np.array([65536, 256, 1])
    codes = rgb.astype(np.int64) @ weights  # one integer per colour: 0xRRGGBB
    palette_codes = np.asarray(palette, np.int64) @ weights
    order = np.argsort(palette_codes, kind="stable")
    position = np.searchsorted(palette_codes[order], codes).clip(max=len(order) - 1)
    known = palette_codes[order][position] == codes
    if not known.all():
        colours, counts = np.unique(codes[~known], return_counts=True)
        shown = ", ".join(f"#{c:06x} ({n} pixel{'s' if n > 1 else ''})" for c, n in zip(colours[:5], counts[:5]))
        more = f" and {len(colours) - 5} more" if len(colours) > 5 else ""
        raise ValueError(f"{name} has colours that are not in the palette: {shown}{more}. Paint with the palette's "
                         f"colours only (no anti-aliasing), or save the label map as an indexed PNG of class ids.")
    return order[position]


def label_png_bytes(labels, palette) -> bytes:
    """An indexed PNG of (H, W) class ids, with ``palette`` as its colours: image viewers show the palette's
    colours, and ``read_label_png`` gives back the ids."""
    labels = np.asarray(labels)
    if labels.ndim != 2 or labels.dtype.kind not in "iu" or labels.min() < 0 or labels.max() > 255:
        raise ValueError(f"an indexed PNG holds one (H, W) map of ids 0..255, got shape {labels.shape}, "
                         f"dtype {labels.dtype}")
    image = Image.fromarray(labels.astype(np.uint8))  # mode L ...
    image.putpalette(np.asarray(palette, np.uint8).flatten().tolist())  # ... becomes mode P, the indexed PNG
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


# -----------------------------------------------------------------------------------------------------------------
# The segmap fed to every network: a float one-hot map, a long map of class ids, or a LabelMap

Segmap = Union[torch.Tensor, LabelMap]


def label_channels(num_classes: int, contain_dontcare: bool = False, use_instance: bool = False) -> int:
    """Channels of the segmap: one per class, + 1 for the "don't care" class, + 1 for the instance-edge map."""
    return num_classes + int(contain_dontcare) + int(use_instance)


def make_segmap(label: torch.Tensor, num_classes: int, instance: Optional[torch.Tensor] = None,
                contain_dontcare: bool = False) -> LabelMap:
    """(N, H, W) class ids (+ (N, H, W) instance ids) -> the networks' segmap, as the official data pipeline does.

    The "don't care" label 255 becomes its own class, id ``num_classes``; instance ids become the edge channel."""
    if contain_dontcare:
        label = torch.where(label == 255, torch.full_like(label, num_classes), label)
    edges = None if instance is None else instance_edges(instance)
    return LabelMap(label, num_classes + int(contain_dontcare), edges)


def dense_segmap(segmap: Segmap, label_channels: int, size: Tuple[int, int]) -> torch.Tensor:
    """Any segmap form -> the official dense (N, label_channels, h, w) float map, resized (nearest) to ``size``."""
    if is_one_hot(segmap):
        return resized_one_hot(segmap, label_channels, size)
    return resized_label_map(segmap, label_channels, size).one_hot()


def check_segmap(segmap: Segmap, label_channels: int, device: torch.device,
                 size: Optional[Tuple[int, int]] = None, instance_edges: bool = False) -> Tuple[int, int, int]:
    """Check a segmap against a model before any kernel runs; return its (N, H, W). ``instance_edges``: the
    model's last label channel is the instance-edge map, which plain class ids cannot fill.

    Raises errors that say what to do: wrong type, shape, device, channel count, size, or class id."""
    if isinstance(segmap, LabelMap):
        tensor, channels = segmap.labels, segmap.channels
    elif isinstance(segmap, torch.Tensor) and segmap.is_floating_point():
        if segmap.dim() != 4:
            raise ValueError(f"a float segmap must be a one-hot map of shape (N, C, H, W), got {tuple(segmap.shape)}; "
                             f"for class ids use a long (N, H, W) tensor or a spade_lib.labels.LabelMap")
        tensor, channels = segmap, segmap.shape[1]
    elif isinstance(segmap, torch.Tensor):
        if instance_edges:  # else id label_channels - 1 would be read as the edge channel, and no edges given
            raise ValueError(
                f"this model's label channels are {label_channels - 1} classes + the instance-edge map, and plain "
                f"class ids carry no edges: pass make_segmap(ids, {label_channels - 1}, instances) "
                f"(spade_lib.labels; instances=ids makes each region of a class one instance)")
        tensor, channels = segmap, label_channels  # class ids: checked below, once on the right device
    else:
        raise TypeError(f"segmap must be a tensor or a spade_lib.labels.LabelMap, got {type(segmap).__name__}")
    if tensor.device != device:
        raise ValueError(f"the label map is on {tensor.device} but the model is on {device}: "
                         f"move the batch with .to({str(device)!r}) (a LabelMap has .to too)")
    if channels != label_channels:
        raise ValueError(
            f"the label map has {channels} channels but the model expects {label_channels} "
            f"(classes, + 1 for 'don't care', + 1 for instance edges). Build the model with "
            f"label_channels={channels}, or build the map with spade_lib.labels.make_segmap")
    if not isinstance(segmap, LabelMap) and not segmap.is_floating_point():
        check_labels(segmap, label_channels)
    n, h, w = tensor.shape[0], tensor.shape[-2], tensor.shape[-1]
    if size is not None and (h, w) != tuple(size):
        raise ValueError(f"the label map is {h}x{w} (HxW) but the model works at {size[0]}x{size[1]}: resize it "
                         f"(spade_lib.labels.resize_labels, nearest) or build the model for {h}x{w}")
    return n, h, w


def is_one_hot(segmap: Segmap) -> bool:
    return isinstance(segmap, torch.Tensor) and segmap.is_floating_point()


def resized_one_hot(segmap: torch.Tensor, label_channels: int, size) -> torch.Tensor:
    """Check a float (N, label_channels, H, W) one-hot map and resize it (nearest) to ``size``."""
    if segmap.dim() != 4:
        raise ValueError(f"a float segmap must be a one-hot map of shape (N, {label_channels}, H, W), got "
                         f"{tuple(segmap.shape)}; if it holds class ids, pass segmap.long() instead")
    if segmap.shape[1] != label_channels:
        raise ValueError(f"the one-hot segmap has {segmap.shape[1]} channels but the layer was built for "
                         f"label_channels={label_channels} (classes + extra channels such as instance edges)")
    return F.interpolate(segmap, size=tuple(size), mode="nearest")  # (N, label_channels, h, w)


def resized_label_map(segmap: Segmap, label_channels: int, size) -> LabelMap:
    """Class ids (N, H, W) or a LabelMap, checked against ``label_channels`` and resized to ``size``."""
    if isinstance(segmap, LabelMap):
        if segmap.channels != label_channels:
            edges = " + 1 edge channel" if segmap.edges is not None else ""
            raise ValueError(f"the LabelMap has {segmap.num_classes} classes{edges} = {segmap.channels} channels, "
                             f"but the layer was built for label_channels={label_channels}")
    else:
        segmap = LabelMap(segmap, label_channels)  # checks dtype, shape and the id range
    return segmap if segmap.size == tuple(size) else segmap.resize(size)
