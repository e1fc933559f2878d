"""The painting demo (lesson 09, and lesson 11 with the official models): paint a label map, pick a style, and the
generator paints the photo.

Three modules, so that everything except the browser can be tested without one:

- ``canvas``: ``LabelCanvas`` (numpy only) holds the label map being painted and its instance map, and paints
  brush strokes (``disc_offsets``, ``line_points``, ``clamp_points``, ``stroke_mask``) and flood fills
  (``flood_region``), with undo and redo. The browser side, ``spade_lib/painter_assets/painter.js``, paints with the
  very same brush footprint, so what you see while painting is what the kernel gets.
- ``palettes``: class names and colours (the official datasets', or made up for any class list) and the palette's
  "recent" row.
- ``widget``: ``Painter``, the anywidget that puts it all in one cell.

    >>> painter = Painter()                                   # the classroom model (spade_lib.models)
    >>> painter                                               # the last line of a cell shows the widget
    >>> painter.stroke([(10, 40), (50, 40)], TREE, radius=3)  # what the browser sends, typed by hand
    >>> painter.labels                                        # (H, W) uint8 class ids
    >>> generator, encoder, _ = models.load_model("../runs/classroom")
    >>> Painter(generator, encoder)                           # your own model from lesson 08
    >>> Painter.for_official("ade20k")                        # the official ADE20K GauGAN (lesson 11)

Points are (x, y) pixels of the label map: x the column, y the row, (0, 0) the top-left pixel.
"""
from .canvas import (FIRST_NEW_INSTANCE, HISTORY, MAX_RADIUS, STUFF_INSTANCE, LabelCanvas, clamp_points, disc_offsets,
                     flood_region, line_points, stroke_mask)
from .palettes import RECENT, dataset_classes, hex_colours, make_palette, official_size, with_recent
from .widget import ASSETS, Painter

__all__ = ["ASSETS", "FIRST_NEW_INSTANCE", "HISTORY", "MAX_RADIUS", "RECENT", "STUFF_INSTANCE", "LabelCanvas",
           "Painter", "clamp_points", "dataset_classes", "disc_offsets", "flood_region", "hex_colours", "line_points",
           "make_palette", "official_size", "stroke_mask", "with_recent"]
