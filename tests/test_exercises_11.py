"""Lesson 11's exercise checks: the solutions pass, typical wrong answers get a hint, and no check raises."""
from pathlib import Path

from spade_lib.exercises import lesson11, show_solution


def test_solutions_pass():
    assert lesson11.check_label_channels(lesson11.solution_label_channels)
    assert lesson11.check_palette_file(lesson11.solution_palette_file)
    assert lesson11.check_unmatched(lesson11.solution_unmatched)


def test_label_channels_wrong_answers_get_hints():
    no_dontcare = lesson11.check_label_channels(lambda n, d, i: n + int(i))
    assert not no_dontcare and "don't-care" in no_dontcare.message
    no_edges = lesson11.check_label_channels(lambda n, d, i: n + int(d))
    assert not no_edges and "instance edges" in no_edges.message
    assert not lesson11.check_label_channels(lambda n, d, i: n)
    assert not lesson11.check_label_channels(lambda n, d, i: None)
    crashing = lesson11.check_label_channels(lambda n, d, i: 1 / 0)
    assert not crashing and "ZeroDivisionError" in crashing.message


def test_palette_file_wrong_answers_get_hints():
    def without_names(path, colours, names):
        Path(path).write_text("\n".join(f"{r} {g} {b}" for r, g, b in colours.tolist()) + "\n")

    def bgr(path, colours, names):
        Path(path).write_text("\n".join(f"{b} {g} {r} {n}" for (r, g, b), n in zip(colours.tolist(), names)))

    assert not lesson11.check_palette_file(without_names)
    reversed_colours = lesson11.check_palette_file(bgr)
    assert not reversed_colours and "b g r" in reversed_colours.message
    assert not lesson11.check_palette_file(lambda path, colours, names: None)
    assert not lesson11.check_palette_file(lambda path, colours, names: Path(path).write_text("not a palette"))


def test_unmatched_wrong_answers_get_hints():
    def labels_only(labels, images):
        stems = {Path(n).stem for n in images}
        return sorted(n for n in labels if Path(n).stem not in stems)

    def unsorted(labels, images):
        return list(reversed(lesson11.solution_unmatched(labels, images)))

    only = lesson11.check_unmatched(labels_only)
    assert not only and "photos without a label map" in only.message
    assert not lesson11.check_unmatched(unsorted)
    assert not lesson11.check_unmatched(lambda labels, images: [])
    assert not lesson11.check_unmatched(lambda labels, images: None)


def test_show_solution_prints_the_solution(capsys):
    show_solution(11, 3)
    assert "def solution_unmatched" in capsys.readouterr().out
