"""Lesson 09's exercise checks: each passes on its solution, and gives a hint (never an exception) otherwise."""
import numpy as np
import pytest
import torch

from spade_lib.landscapes import PALETTE, TREE
from spade_lib.exercises import lesson09, show_solution
from spade_lib.labels import ids_of_colours
from spade_lib.painter import Painter
from spade_lib.models import TrainConfig, build_encoder, build_generator


def hint_given(result):
    return not result and "Hint" in repr(result)


# Exercise 1 -----------------------------------------------------------------------------------------------------

def test_rgb_to_ids_solution_and_library_pass():
    assert lesson09.check_rgb_to_ids(lesson09.SOLUTIONS[1])
    assert lesson09.check_rgb_to_ids(ids_of_colours)


def _nearest_colour(rgb, palette):  # never refuses a colour
    distance = ((rgb[:, :, None].astype(int) - palette[None, None].astype(int)) ** 2).sum(-1)
    return distance.argmin(-1)


@pytest.mark.parametrize("wrong", [
    lambda rgb, palette: None,  # the stub
    _nearest_colour,
    lambda rgb, palette: np.all(rgb[:, :, None] == palette, -1).argmax(-1).astype(float),  # float ids
    lambda rgb, palette: np.all(rgb[:, :, None] == palette, -1),  # (H, W, K) matches, not ids
    lambda rgb, palette: np.any(rgb[:, :, None] == palette, -1).argmax(-1),  # one channel is enough: wrong
    lambda rgb, palette: 1 / 0,
    "not a function",
], ids=["none", "nearest", "float", "matches", "any-channel", "raises", "not-callable"])
def test_rgb_to_ids_wrong_answers_get_a_hint(wrong):
    assert hint_given(lesson09.check_rgb_to_ids(wrong))


def test_rgb_to_ids_hint_asks_for_an_error_on_unknown_colours():
    assert "ValueError" in repr(lesson09.check_rgb_to_ids(_nearest_colour))


# Exercise 2 -----------------------------------------------------------------------------------------------------

def test_flood_fill_solution_passes():
    assert lesson09.check_flood_fill(lesson09.SOLUTIONS[2])


def _eight_neighbours(labels, point, class_id):
    filled = labels.copy()
    x, y = point
    target, stack = labels[y, x], [(x, y)]
    if target == class_id:
        return filled
    while stack:
        x, y = stack.pop()
        if 0 <= y < labels.shape[0] and 0 <= x < labels.shape[1] and filled[y, x] == target:
            filled[y, x] = class_id
            stack += [(x + dx, y + dy) for dx in (-1, 0, 1) for dy in (-1, 0, 1)]
    return filled


def _swapped(labels, point, class_id):
    return lesson09.SOLUTIONS[2](labels, point[::-1], class_id)


def _in_place(labels, point, class_id):
    labels[:] = lesson09.SOLUTIONS[2](labels, point, class_id)
    return labels


@pytest.mark.parametrize("wrong", [
    lambda labels, point, class_id: None,
    lambda labels, point, class_id: np.where(labels == labels[point[1], point[0]], class_id, labels),  # not connected
    _eight_neighbours, _swapped, _in_place, None,
], ids=["none", "whole-class", "8-neighbours", "swapped-xy", "in-place", "not-callable"])
def test_flood_fill_wrong_answers_get_a_hint(wrong):
    assert hint_given(lesson09.check_flood_fill(wrong))


def test_flood_fill_hints_name_the_mistake():
    assert "diagonal" in repr(lesson09.check_flood_fill(_eight_neighbours))
    assert "labels[y, x]" in repr(lesson09.check_flood_fill(_swapped))
    assert "copy" in repr(lesson09.check_flood_fill(_in_place))


# Exercise 3 -----------------------------------------------------------------------------------------------------

def test_preset_code_solution_passes():
    assert lesson09.check_preset_code(lesson09.SOLUTIONS[3])


@pytest.mark.parametrize("wrong, words", [
    (lambda encoder, images: None, "None"),
    (lambda encoder, images: encoder(images)[0].detach().mean(0), "keepdim"),
    (lambda encoder, images: encoder(images)[0].detach(), "average"),
    (lambda encoder, images: encoder(images)[1].detach().mean(0, keepdim=True), "mu"),
    (lambda encoder, images: encoder(images)[0].mean(0, keepdim=True), "no_grad"),
    (lambda encoder, images: encoder(images[:1])[0].detach(), "wrong values"),
], ids=["none", "no-keepdim", "per-image", "logvar", "with-grad", "first-only"])
def test_preset_code_wrong_answers_get_a_hint(wrong, words):
    result = lesson09.check_preset_code(wrong)
    assert hint_given(result) and words in repr(result)


# Exercise 4 and the solutions ------------------------------------------------------------------------------------

def test_locality_solution_measures_and_undoes():
    config = TrainConfig(size=64, ngf=4, ndf=4, spade_hidden=8, use_vae=True, z_dim=8, perceptual=False)
    torch.manual_seed(0)
    painter = Painter(build_generator(config), build_encoder(config))
    labels = painter.labels.copy()
    distance, change = lesson09.SOLUTIONS[4](painter)
    assert distance[0] == 0 and change[0] > change[-1] >= 0, "largest under the stroke"
    assert np.array_equal(painter.labels, labels), "the stroke is undone"


def test_every_solution_can_be_shown(capsys):
    for number in (1, 2, 3, 4):
        show_solution(9, number)
        assert "def _solution_" in capsys.readouterr().out
