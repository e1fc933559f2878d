"""Pictures of label maps and images, for the notebooks and the README (lesson 00 introduces them).

Images in the course are tensors (3, H, W) with values in [-1, 1], the range a tanh generator produces; label
maps are (H, W) integer class ids. ``to_uint8`` and ``colorize`` turn both into ordinary (H, W, 3) uint8 RGB
arrays, and ``show_grid`` lays out rows such as (label map | real photo | generated photo) with matplotlib.
``png_bytes`` and ``read_image`` go to and from image files.
"""
import io

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from .landscapes import CLASS_NAMES, PALETTE


def _numpy(x) -> np.ndarray:
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def colorize(label, palette=PALETTE) -> np.ndarray:
    """Label ids (..., H, W) -> RGB (..., H, W, 3) uint8, each class in its palette colour."""
    label = _numpy(label)
    if label.dtype.kind not in "iu":
        raise ValueError(f"colorize takes integer class ids, got dtype {label.dtype}; for a one-hot map use "
                         f"onehot.argmax(0) (or argmax(1) for a batch)")
    palette = np.asarray(palette, np.uint8)
    if label.size and (label.min() < 0 or label.max() >= len(palette)):
        raise ValueError(f"label ids must lie in [0, {len(palette)}), got {label.min()} to {label.max()}")
    return palette[label]


def to_uint8(image) -> np.ndarray:
    """An image (3, H, W) or a batch (N, 3, H, W) with values in [-1, 1] -> (H, W, 3) or (N, H, W, 3) uint8."""
    image = _numpy(image).astype(np.float32)
    if image.ndim not in (3, 4) or image.shape[-3] != 3:
        raise ValueError(f"to_uint8 takes images of shape (3, H, W) or (N, 3, H, W), got {image.shape}")
    rgb = np.clip((image + 1.0) * 127.5 + 0.5, 0, 255).astype(np.uint8)
    return np.moveaxis(rgb, -3, -1)


def from_uint8(rgb) -> torch.Tensor:
    """(H, W, 3) uint8 RGB -> (3, H, W) float in [-1, 1], the images' range: the inverse of ``to_uint8``."""
    return torch.from_numpy(np.asarray(rgb, np.uint8).copy()).permute(2, 0, 1).float() / 127.5 - 1


def read_image(source, size) -> torch.Tensor:
    """An image file (a path, the file's bytes or a file object) as (3, H, W) in [-1, 1], resized (bicubic) to
    ``size`` = (H, W). A file that is no image raises a ValueError."""
    try:
        image = Image.open(io.BytesIO(source) if isinstance(source, (bytes, bytearray, memoryview)) else source)
        image = image.convert("RGB")
    except UnidentifiedImageError:
        raise ValueError("that is not an image file") from None
    except OSError as error:  # e.g. a truncated file
        raise ValueError(f"the image could not be read: {error}") from None
    height, width = size
    return from_uint8(np.array(image.resize((width, height), Image.BICUBIC)))


def png_bytes(picture) -> bytes:
    """A label map (H, W) or an image (3, H, W) in [-1, 1] (see ``as_rgb``) as the bytes of an RGB PNG file."""
    buffer = io.BytesIO()
    Image.fromarray(as_rgb(picture)).save(buffer, format="PNG")
    return buffer.getvalue()


def as_rgb(picture) -> np.ndarray:
    """A label map (H, W) of integer ids or an image (3, H, W) in [-1, 1] -> (H, W, 3) uint8; an (H, W, 3) uint8
    picture (e.g. ``colorize(label, palette)`` with another palette) as it is."""
    array = _numpy(picture)
    if array.ndim == 3 and array.shape[-1] == 3 and array.dtype == np.uint8:
        return array
    return colorize(array) if array.ndim == 2 else to_uint8(array)


def legend_handles(classes=None, palette=PALETTE):
    """Matplotlib patches naming each class's colour, for ``ax.legend(handles=...)``; default: all classes."""
    from matplotlib.patches import Patch

    classes = range(len(CLASS_NAMES)) if classes is None else classes
    return [Patch(facecolor=np.asarray(palette[c]) / 255, edgecolor="black", linewidth=0.5, label=CLASS_NAMES[c])
            for c in classes]


def show_label(label, ax=None, legend: bool = True, title: str = None):
    """Draw a label map in palette colours, with a legend of the classes present in it. Returns the axes."""
    import matplotlib.pyplot as plt

    ax = ax or plt.gca()
    ax.imshow(colorize(label))
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    if legend:
        present = np.unique(_numpy(label))
        ax.legend(handles=legend_handles(present), loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False)
    return ax


def show_grid(rows, titles=None, row_titles=None, size: float = 2.5):
    """Show a grid of pictures: ``rows`` is a list of rows, each a list of label maps (H, W) and images
    (3, H, W) in [-1, 1]. ``titles``: one per column (shown above the first row), or one list per row (a title
    above every picture); ``row_titles``: one per row, at the left. Axes are off. Returns the figure."""
    import matplotlib.pyplot as plt

    rows = [list(row) for row in rows]
    n_cols = max(len(row) for row in rows)
    first = as_rgb(rows[0][0])
    aspect = first.shape[1] / first.shape[0]
    fig, axes = plt.subplots(len(rows), n_cols, figsize=(size * aspect * n_cols, size * len(rows)), squeeze=False)
    for r, row in enumerate(rows):
        for c, ax in enumerate(axes[r]):
            ax.set_axis_off()
            if c < len(row):
                ax.imshow(as_rgb(row[c]))
            title = cell_title(titles, r, c)
            if title:
                ax.set_title(title)
        if row_titles is not None:
            axes[r, 0].text(-0.04, 0.5, row_titles[r], transform=axes[r, 0].transAxes, rotation=90,
                            ha="right", va="center")
    fig.tight_layout()
    return fig


def cell_title(titles, row: int, col: int):
    """The title of one cell: from a list per row, or from one list of column titles (first row only)."""
    if not titles:
        return None
    if isinstance(titles[0], (list, tuple)):
        return titles[row][col] if row < len(titles) and col < len(titles[row]) else None
    return titles[col] if row == 0 and col < len(titles) else None


def image_grid(rows, pad: int = 2) -> np.ndarray:
    """The same layout as ``show_grid`` without matplotlib: one (H', W', 3) uint8 array, white between cells.
    All pictures must have the same size."""
    cells = [[as_rgb(p) for p in row] for row in rows]
    height, width = cells[0][0].shape[:2]
    n_cols = max(len(row) for row in cells)
    grid = np.full((len(cells) * (height + pad) - pad, n_cols * (width + pad) - pad, 3), 255, np.uint8)
    for r, row in enumerate(cells):
        for c, picture in enumerate(row):
            if picture.shape[:2] != (height, width):
                raise ValueError(f"image_grid needs pictures of one size; got {picture.shape[:2]} and "
                                 f"{(height, width)}")
            grid[r * (height + pad):r * (height + pad) + height, c * (width + pad):c * (width + pad) + width] = picture
    return grid
