"""Exercise checks for lesson 09, the painting demo (``notebooks/09_paint.ipynb``).

1. a painted RGB picture back to class ids, as loading a label PNG does (easy)
2. the fill bucket: flood fill of a 4-connected region (medium)
3. a style preset's code: the encoder's mu averaged over images in that style (medium)
4. how far does one stroke reach? the locality of an edit in the generated image (open; a possible answer in
   ``SOLUTIONS``)

Every ``check_*`` returns a :class:`~spade_lib.exercises.Result`: it prints a pass or a hint and never raises.
"""
import numpy as np
import torch

from . import Result, call_student, compare_tensors, hint, passed
from ..landscapes import NUM_CLASSES, PALETTE, TREE
from ..encoder import StyleEncoder
from ..painter import flood_region


# ---------------------------------------------------------------------------------------------------------------
# Exercise 1: colours back to class ids

def check_rgb_to_ids(rgb_to_ids) -> Result:
    """Exercise 1: ``rgb_to_ids(rgb, palette)`` turns an (H, W, 3) uint8 picture painted in the palette's colours
    into (H, W) class ids, and raises a ValueError for a colour that is not in the palette."""
    ids = np.random.default_rng(9).integers(0, NUM_CLASSES, (6, 7))
    answer, problem = call_student(rgb_to_ids, PALETTE[ids], PALETTE)
    if problem is not None:
        return problem
    if answer is None:
        return hint("your function returns None: return an (H, W) array with, for each pixel, the index of its "
                    "colour in the palette (np.all(rgb[..., None, :] == palette, axis=-1) compares all at once).")
    answer = np.asarray(answer)
    if answer.shape != ids.shape:
        return hint(f"return one id per pixel, shape {ids.shape}; yours has shape {answer.shape}.")
    if answer.dtype.kind not in "iu":
        return hint(f"class ids are integers, yours have dtype {answer.dtype}.")
    if not np.array_equal(answer, ids):
        return hint(f"{int((answer != ids).sum())} of {ids.size} pixels got the wrong id: a pixel's id is the row "
                    f"of the palette that holds its colour, all three channels equal.")
    smudged = PALETTE[ids].copy()
    smudged[2, 3] = (PALETTE[TREE].astype(int) + 3).clip(0, 255)  # an anti-aliased edge pixel
    result, problem = call_student(rgb_to_ids, smudged, PALETTE)
    if problem is None:
        return hint("a colour that is not in the palette (here pixel (3, 2), three levels off the tree colour) must "
                    "raise a ValueError that names it; your function returned an answer.")
    if "ValueError" not in problem.message:
        return hint("raise a ValueError for a colour not in the palette (got another error: "
                    + problem.message.removeprefix("not yet. Hint: ") + ")")
    return passed("your function is spade_lib.labels.ids_of_colours: what the painter does with an RGB label PNG.")


# ---------------------------------------------------------------------------------------------------------------
# Exercise 2: the fill bucket

FILL_CASES = [  # (label map, point (x, y), class)
    (np.array([[0, 0, 1, 0],
               [0, 1, 0, 0],
               [1, 0, 0, 1],
               [0, 0, 1, 1]]), (0, 0), 4),  # (2, 1) touches the top-left zeros only diagonally
    (np.array([[0, 0, 1, 0],
               [0, 1, 0, 0],
               [1, 0, 0, 1],
               [0, 0, 1, 1]]), (3, 0), 6),
    (np.array([[1, 1, 0],
               [1, 1, 0],
               [0, 1, 1]]), (2, 0), 3),  # x is the column: the top-right zeros, not the bottom-left one
    (np.array([[2, 2, 2, 2, 2],
               [2, 0, 0, 0, 2],
               [2, 0, 2, 0, 2],
               [2, 2, 2, 0, 0]]), (4, 3), 7),  # a narrow path, x and y not interchangeable
    (np.full((3, 5), 5), (1, 2), 5),  # filling with the same class changes nothing
]


def check_flood_fill(flood_fill) -> Result:
    """Exercise 2: ``flood_fill(labels, point, class_id)`` returns a new label map where the region of the pixel
    ``point`` = (x, y), the pixels of its class connected to it through left/right/up/down neighbours, has
    ``class_id``; ``labels`` itself stays unchanged."""
    for labels, point, class_id in FILL_CASES:
        given = labels.copy()
        answer, problem = call_student(flood_fill, given, point, class_id)
        if problem is not None:
            return problem
        if answer is None:
            return hint("your function returns None: return the new label map (start from labels.copy()).")
        answer = np.asarray(answer)
        expected = labels.copy()
        expected[flood_region(labels, point)] = class_id
        if not np.array_equal(given, labels):
            return hint("your function changed the label map it was given: work on a copy (labels.copy()).")
        if answer.shape != labels.shape:
            return hint(f"return a map of the same shape {labels.shape}, got {answer.shape}.")
        if np.array_equal(answer, expected):
            continue
        x, y = point
        swapped = labels.copy()
        swapped[flood_region(labels, (y, x))] = class_id
        if x != y and np.array_equal(answer, swapped):
            return hint("you filled from (row x, column y): the point is (x, y), so its pixel is labels[y, x].")
        region = answer != labels
        if (region & ~flood_region(labels, point) & (labels == labels[y, x])).any():
            return hint(f"on\n{labels}\nfilling from {point} spread to pixels that touch the region only at a "
                        f"corner: use the 4 neighbours (left, right, up, down), not the diagonals.")
        return hint(f"on\n{labels}\nfilling from {point} with {class_id} should give\n{expected}\nyours is\n{answer}")
    return passed("your fill is the painter's fill bucket (spade_lib.painter.flood_region, and paintFill in "
                  "painter.js): a breadth-first or depth-first search over 4-neighbours.")


# ---------------------------------------------------------------------------------------------------------------
# Exercise 3: the code of a style preset

def check_preset_code(preset_code) -> Result:
    """Exercise 3: ``preset_code(encoder, images)`` is the style code of a group of images: the encoder's mu,
    averaged over the images, shape (1, z_dim), without gradients."""
    torch.manual_seed(9)
    encoder = StyleEncoder(input_size=32, ndf=4, z_dim=8).eval()
    images = torch.rand(3, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        mu, logvar = encoder(images)
    answer, problem = call_student(preset_code, encoder, images)
    if problem is not None:
        return problem
    if answer is None:
        return hint("your function returns None: return encoder(images)[0].mean(0, keepdim=True).")
    if not isinstance(answer, torch.Tensor):
        return hint(f"return a torch.Tensor of shape (1, z_dim), got {type(answer).__name__}.")
    if answer.shape == (8,):
        return hint("keep the batch dimension: mean(0, keepdim=True) gives (1, z_dim), what the generator takes.")
    if answer.shape == (3, 8) and torch.allclose(answer, mu, atol=1e-5):
        return hint("that is one code per image: average them over the images (dimension 0).")
    if answer.shape == (1, 8) and torch.allclose(answer, logvar.mean(0, keepdim=True), atol=1e-5):
        return hint("the encoder returns (mu, logvar): the code is the mean mu, the first of the two.")
    if answer.requires_grad:
        return hint("compute it under torch.no_grad(): a style code is a constant for the painter, not a graph.")
    return compare_tensors(answer, mu.mean(0, keepdim=True), "the style code")


# ---------------------------------------------------------------------------------------------------------------
# Solutions, shown with spade_lib.exercises.show_solution(9, n)

def _solution_1(rgb, palette):
    """Exercise 1. Compare every pixel with every palette colour; each pixel must match exactly one row."""
    matches = np.all(rgb[:, :, None, :] == np.asarray(palette)[None, None], axis=-1)  # (H, W, K)
    unknown = ~matches.any(-1)
    if unknown.any():
        y, x = np.argwhere(unknown)[0]
        raise ValueError(f"colour {tuple(rgb[y, x])} at pixel ({x}, {y}) is not in the palette")
    return matches.argmax(-1)


def _solution_2(labels, point, class_id):
    """Exercise 2. A depth-first search from the clicked pixel over its 4 neighbours of the same class."""
    filled = labels.copy()
    x, y = point
    target = labels[y, x]
    if target == class_id:
        return filled
    stack = [(x, y)]
    while stack:
        x, y = stack.pop()
        if 0 <= y < labels.shape[0] and 0 <= x < labels.shape[1] and filled[y, x] == target:
            filled[y, x] = class_id
            stack += [(x - 1, y), (x + 1, y), (x, y - 1), (x, y + 1)]
    return filled


@torch.no_grad()
def _solution_3(encoder, images):
    """Exercise 3. mu, the most likely style of each image, averaged: a code between the images' styles."""
    mu, _ = encoder(images)
    return mu.mean(0, keepdim=True)


def _solution_4(painter, points=((32, 40),), class_id=TREE, radius=3):
    """Exercise 4 (open), one possible answer: paint one stroke, map where the image changed, undo it.

    Returns (distance in pixels from the stroke, mean |difference| of the images at that distance). The change is
    largest under the stroke and falls off within a few pixels: every SPADE layer reads the label map through 3x3
    convolutions, at every resolution. It does not reach zero far away: the coarse layers see the label map
    resized with nearest neighbour, so a stroke over one of the pixels they sample changes a whole block a little.

        distance, change = _solution_4(painter)
        plt.plot(distance, change)
    """
    labels, before = painter.labels.copy(), painter.generate()
    painter.stroke(list(points), class_id, radius)
    stroke, after = painter.labels != labels, painter.generate()
    painter.undo()
    change = (after - before).abs().mean(0).numpy()  # (H, W)
    ys, xs = np.nonzero(stroke)
    rows, columns = np.mgrid[:painter.height, :painter.width]
    distance = np.sqrt((rows[..., None] - ys) ** 2 + (columns[..., None] - xs) ** 2).min(-1).round().astype(int)
    distances = np.unique(distance)
    return distances, np.array([change[distance == d].mean() for d in distances])


SOLUTIONS = {1: _solution_1, 2: _solution_2, 3: _solution_3, 4: _solution_4}
