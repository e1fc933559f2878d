"""Exercise checks for lesson 11, real data and the official models (``notebooks/11_real_data.ipynb``).

1. the label channel count of a dataset configuration (easy)
2. write a palette file that ``spade_lib.datasets.load_palette`` reads back (medium)
3. find the files that have no partner (medium)

Every ``check_*`` returns a :class:`~spade_lib.exercises.Result`: it prints a pass or a hint and never raises.
"""
import tempfile
from pathlib import Path

import numpy as np

from . import Result, call_student, hint, passed
from ..datasets import load_palette

# ---------------------------------------------------------------------------------------------------------------
# Exercise 1: the label channel count

CHANNEL_CASES = [  # (num_classes, contain_dontcare, use_instance): the official datasets, a custom folder, masks
    (150, True, False), (35, False, True), (182, True, True), (11, False, False), (2, False, True), (20, True, False)]


def check_label_channels(label_channels) -> Result:
    """Exercise 1: ``label_channels(num_classes, contain_dontcare, use_instance)`` -> the generator's input
    channels (official ``pix2pix_model.py``: label_nc + contain_dontcare_label + (not no_instance))."""
    for num_classes, dontcare, instance in CHANNEL_CASES:
        call = f"label_channels({num_classes}, {dontcare}, {instance})"
        answer, problem = call_student(label_channels, num_classes, dontcare, instance, call=call)
        if problem is not None:
            return problem
        if isinstance(answer, bool) or not isinstance(answer, (int, np.integer)):
            return hint(f"{call} should return a whole number of channels, got {type(answer).__name__}.")
        expected = num_classes + dontcare + instance
        if answer == expected:
            continue
        if answer == num_classes + instance:
            return hint(f"{call}: the don't-care label (255 in the files) gets a channel of its own: +1 when "
                        f"contain_dontcare is True.")
        if answer == num_classes + dontcare:
            return hint(f"{call}: instance edges are one more channel (a 0/1 map) when use_instance is True.")
        return hint(f"{call} should be {expected}, got {answer}: one channel per class, +1 for don't care, "
                    f"+1 for instance edges.")
    return passed("ADE20K 151, Cityscapes 36, COCO-Stuff 184: every official checkpoint's first layers are "
                  "built for exactly this count, so a checkpoint only loads into the configuration it was "
                  "trained with.")


# ---------------------------------------------------------------------------------------------------------------
# Exercise 2: a palette file

PALETTE_CASE = (np.array([[120, 200, 250], [30, 80, 200], [40, 160, 60], [128, 128, 128]], np.uint8),
                ("sky", "water", "grass", "rock"))


def check_palette_file(write_palette) -> Result:
    """Exercise 2: ``write_palette(path, colours, names)`` writes a text palette file (one ``r g b name`` line
    per class, in id order) that ``load_palette(path)`` reads back as the same colours and names."""
    colours, names = PALETTE_CASE
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "palette.txt"
        _, problem = call_student(write_palette, path, colours.copy(), names,
                                  call="write_palette(path, colours, names)")
        if problem is not None:
            return problem
        if not path.is_file():
            return hint(f"nothing was written to {path.name}: open the path you are given and write to it.")
        try:
            read_colours, read_names = load_palette(path)
        except ValueError as error:
            return hint(f"load_palette cannot read your file: {error}")
        text = path.read_text()
    if len(read_colours) != len(colours):
        return hint(f"your file holds {len(read_colours)} colours, there are {len(colours)} classes: one line "
                    f"per class.")
    if not np.array_equal(read_colours, colours):
        if np.array_equal(read_colours, colours[:, ::-1]):
            return hint("the colours come back as b g r: write r g b.")
        return hint(f"the colours read back are {read_colours.tolist()}, expected {colours.tolist()}: line k is "
                    f"class k's colour.")
    if read_names != names:
        return hint(f"the names read back are {read_names}: put each class's name after its three numbers, "
                    f"`r g b name`. Your file:\n{text}")
    return passed("LabelFolder(images, labels, palette='palette.txt') now reads RGB label maps painted in these "
                  "colours, and its class names come from the same file.")


# ---------------------------------------------------------------------------------------------------------------
# Exercise 3: files without a partner

UNMATCHED_CASES = [
    (["a.png", "b.png", "c.png"], ["a.jpg", "b.jpg", "c.jpg"], []),
    (["a.png", "b.png", "d.png"], ["a.jpg", "b.jpg", "c.jpg", "e.jpeg"], ["c.jpg", "d.png", "e.jpeg"]),
    (["scene_10.png", "scene_2.png"], ["scene_2.jpg", "scene_10.JPG", "scene_3.jpg"], ["scene_3.jpg"]),
    (["x.tar.png"], ["x.jpg"], ["x.jpg", "x.tar.png"]),
]


def check_unmatched(find_unmatched) -> Result:
    """Exercise 3: ``find_unmatched(labels, images)``: two lists of file names; files pair up by their name
    without the last extension. Return the names (labels and images together) that have no partner, sorted."""
    for labels, images, expected in UNMATCHED_CASES:
        call = f"find_unmatched({labels}, {images})"
        answer, problem = call_student(find_unmatched, list(labels), list(images), call=call)
        if problem is not None:
            return problem
        if answer is None:
            return hint("your function returns None: return a list of file names.")
        if isinstance(answer, str) or not hasattr(answer, "__iter__"):
            return hint(f"return a list of file names, got {type(answer).__name__}.")
        answer = list(answer)
        if answer == expected:
            continue
        if sorted(map(str, answer)) == expected:
            return hint(f"{call}: the right files, but sort them (sorted(...)), so that the list reads the same "
                        f"every time.")
        if set(map(str, answer)) == {name for name in expected if name in labels} and expected:
            return hint(f"{call}: photos without a label map count too; return both kinds.")
        if set(map(str, answer)) == {name for name in expected if name in images} and expected:
            return hint(f"{call}: label maps without a photo count too; return both kinds.")
        return hint(f"{call} should be {expected}, got {answer}. Compare names without the extension "
                    f"(Path(name).stem), from both sides.")
    return passed("LabelFolder pairs files by name the same way and lists every unmatched file in one error, "
                  "instead of pairing the 10th label map with the 11th photo as a sorted-position pairing would.")


# ---------------------------------------------------------------------------------------------------------------
# Solutions: printed by spade_lib.exercises.show_solution(11, n)

def solution_label_channels(num_classes, contain_dontcare, use_instance):
    return num_classes + int(contain_dontcare) + int(use_instance)


def solution_palette_file(path, colours, names):
    lines = ["# r g b name"] + [f"{r} {g} {b} {name}" for (r, g, b), name in zip(colours.tolist(), names)]
    Path(path).write_text("\n".join(lines) + "\n")


def solution_unmatched(labels, images):
    label_stems = {Path(name).stem for name in labels}
    image_stems = {Path(name).stem for name in images}
    alone = [name for name in labels if Path(name).stem not in image_stems]
    alone += [name for name in images if Path(name).stem not in label_stems]
    return sorted(alone)


SOLUTIONS = {1: solution_label_channels, 2: solution_palette_file, 3: solution_unmatched}
