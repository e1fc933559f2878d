"""Exercise checks for lesson 00, the Landscapes dataset (``notebooks/00_welcome.ipynb``).

1. the fraction of sky pixels in sample 0 (easy)
2. a one-hot map by hand (easy)
3. instance edges by hand (medium)
4. how a style is described (open, no check)

    from spade_lib.exercises.lesson00 import check_sky_fraction
    check_sky_fraction(answer)                # prints ✅ or ❌ with a hint
    spade_lib.exercises.show_solution(0, 1)   # only when stuck

Every ``check_*`` returns a :class:`~spade_lib.exercises.Result`: it prints a pass or a hint and never raises.
"""
import torch

from ..landscapes import CLASS_NAMES, NUM_CLASSES, Landscapes
from ..labels import instance_edges, one_hot
from . import Result, call_student, compare_tensors, hint, passed

EXERCISE_SIZE = 128


def reference_label(index: int = 0) -> torch.Tensor:
    return Landscapes(size=EXERCISE_SIZE).layout(index)["label"]


def check_sky_fraction(answer) -> Result:
    """Exercise 1: the fraction of sky pixels (class "sky") in sample 0 at 128x128, a number in [0, 1]."""
    expected = (reference_label() == CLASS_NAMES.index("sky")).float().mean().item()
    if answer is None:
        return hint("compare the label map with CLASS_NAMES.index('sky'), then take the mean of the result.")
    try:
        value = float(answer)
    except (TypeError, ValueError):
        return hint(f"the answer should be one number, got {type(answer).__name__}")
    if abs(value - expected * 100) < 1e-3:
        return hint("that is a percentage; the exercise asks for a fraction between 0 and 1.")
    if abs(value - expected) > 1e-6:
        return hint(f"{value:.4f} is not it. Use sample 0 of Landscapes(size={EXERCISE_SIZE}) and count pixels "
                    f"equal to the sky id, divided by all pixels.")
    return passed(f"sky covers {expected:.1%} of sample 0.")


def check_one_hot(my_one_hot) -> Result:
    """Exercise 2: ``my_one_hot(label, num_classes)`` turns (H, W) ids into a (num_classes, H, W) float map."""
    label = reference_label(3)
    answer, problem = call_student(my_one_hot, label, NUM_CLASSES, call="my_one_hot")
    if problem is not None:
        return problem
    if answer is None:
        return hint("return a tensor: for every class c, channel c is 1.0 where label == c, else 0.0.")
    expected = one_hot(label[None], NUM_CLASSES)[0]
    if isinstance(answer, torch.Tensor) and answer.shape == expected.shape[1:] + (NUM_CLASSES,):
        return hint("the classes are in the last dimension; SPADE wants channels first: (num_classes, H, W).")
    return compare_tensors(answer, expected, "your one-hot map")


def check_edges(my_edges) -> Result:
    """Exercise 3: ``my_edges(instance)`` marks (H, W) pixels whose right, left, upper or lower neighbour differs."""
    instance = Landscapes(size=EXERCISE_SIZE).layout(5)["instance"]
    answer, problem = call_student(my_edges, instance, call="my_edges")
    if problem is not None:
        return problem
    if answer is None:
        return hint("compare instance[:, 1:] with instance[:, :-1] (and the same vertically), then mark both sides.")
    expected = instance_edges(instance[None])[0]
    if isinstance(answer, torch.Tensor) and answer.shape == expected.shape:
        answer = answer.float()
        missing = (expected - answer).clamp(min=0).sum().item()
        if missing > 0 and (answer <= expected).all():
            return hint(f"{missing:.0f} edge pixels are missing: compare horizontally AND vertically, and mark "
                        f"BOTH pixels on either side of every difference.")
    return compare_tensors(answer, expected, "your edge map")


def solution_sky_fraction():
    label = Landscapes(size=128)[0]["label"]
    return (label == CLASS_NAMES.index("sky")).float().mean().item()


def solution_one_hot(label, num_classes):
    classes = torch.arange(num_classes)[:, None, None]  # (K, 1, 1)
    return (label[None] == classes).float()  # (K, H, W)


def solution_edges(instance):
    edge = torch.zeros(instance.shape, dtype=torch.bool)
    horizontal = instance[:, 1:] != instance[:, :-1]
    vertical = instance[1:, :] != instance[:-1, :]
    edge[:, 1:] |= horizontal
    edge[:, :-1] |= horizontal
    edge[1:, :] |= vertical
    edge[:-1, :] |= vertical
    return edge.float()


SOLUTIONS = {1: solution_sky_fraction, 2: solution_one_hot, 3: solution_edges}
