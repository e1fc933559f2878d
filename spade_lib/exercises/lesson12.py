"""Exercise checks for lesson 12, does SPADE matter? (``notebooks/12_beyond_spade.ipynb``).

1. OASIS's class-balanced weights of a label map (easy)
2. a LabelMix mask from one coin per class and image (medium)
3. how much of the label map an activation holds: the between-class variance ratio (medium)

    from spade_lib.exercises.lesson12 import check_class_weights
    check_class_weights(class_weights)         # prints ✅ or ❌ with a hint
    spade_lib.exercises.show_solution(12, 1)   # only when stuck

Every ``check_*`` returns a :class:`~spade_lib.exercises.Result`: it prints a pass or a hint and never raises.
"""
import torch

from . import Result, call_student, compare_tensors, hint, passed
from ..oasis import class_balance_weights


# ---------------------------------------------------------------------------------------------------------------
# Exercise 1: class-balanced weights

def _label_cases():
    generator = torch.Generator().manual_seed(12)
    small = torch.tensor([[[0, 0, 0, 1], [0, 0, 2, 1], [0, 0, 2, 2], [0, 0, 0, 0]]])  # class 3 absent
    batch = torch.randint(0, 5, (2, 6, 6), generator=generator)
    skewed = torch.zeros(3, 8, 8, dtype=torch.long)
    skewed[:, :2] = 1                                          # a small class
    skewed[0, 0, 0] = 3                                        # a tiny one
    return [(small, 4), (batch, 7), (skewed, 6)]     # every case has absent classes


def check_class_weights(class_weights) -> Result:
    """Exercise 1: ``class_weights(labels, num_classes)`` with labels (N, H, W) class ids -> (num_classes,)
    weights alpha_c = N H W / (classes present * pixels of class c), 0 for absent classes
    (``oasis.class_balance_weights``)."""
    for labels, num_classes in _label_cases():
        case = f"class_weights(labels of shape {tuple(labels.shape)}, {num_classes})"
        answer, problem = call_student(class_weights, labels.clone(), num_classes, call=case)
        if problem is not None:
            return problem
        if answer is None:
            return hint("your function returns None: return a tensor with one weight per class.")
        expected = class_balance_weights(labels, num_classes)
        if not isinstance(answer, torch.Tensor) or answer.shape != expected.shape:
            return compare_tensors(answer, expected, "the weights")
        answer = answer.double()
        if torch.allclose(answer, expected.double(), atol=1e-5, rtol=1e-4):
            continue
        if torch.isnan(answer).any() or torch.isinf(answer).any():
            return hint("you got NaN or inf: a class that does not occur has 0 pixels (1 / 0). Give it weight 0.")
        counts = torch.bincount(labels.flatten(), minlength=num_classes).double()
        present = counts > 0
        if torch.allclose(answer[present], counts[present] / labels.numel()):
            return hint("those are the frequencies; OASIS weighs each class by the *inverse* frequency, so "
                        "small classes weigh more.")
        if torch.allclose(answer[present], (labels.numel() / counts[present])):
            return hint("right shape of the idea (inverse frequency), but divide by the number of classes "
                        "present too, so that the weights average to 1 over the pixels.")
        if torch.allclose(answer[present], labels.numel() / (num_classes * counts[present])):
            return hint("divide by the number of classes *present* in the labels, not by num_classes.")
        return hint(f"{case}: expected {[round(v, 3) for v in expected.tolist()]}, got "
                    f"{[round(v, 3) for v in answer.tolist()]}.")
    return passed("alpha_c = N H W / (classes present x pixels of c): a class on 1% of the pixels weighs 100 "
                  "times one on all of them, and the weights average to 1 over the pixels.")


# ---------------------------------------------------------------------------------------------------------------
# Exercise 2: the LabelMix mask

def _mask_cases():
    generator = torch.Generator().manual_seed(13)
    cases = []
    for n, classes, side in ((1, 3, 4), (2, 5, 6), (3, 11, 8)):
        labels = torch.randint(0, classes, (n, side, side), generator=generator)
        coins = torch.randint(0, 2, (n, classes), generator=generator)
        cases.append((labels, coins))
    return cases


def _mask_expected(labels, coins):
    n = labels.shape[0]
    return coins.gather(1, labels.flatten(1)).view(n, 1, *labels.shape[1:]).float()


def check_label_mix_mask(mask_from_coins) -> Result:
    """Exercise 2: ``mask_from_coins(labels, coins)`` with labels (N, H, W) and coins (N, num_classes) in {0, 1}
    -> the (N, 1, H, W) float mask that is each pixel's class's coin (``oasis.label_mix_mask``'s rule)."""
    for labels, coins in _mask_cases():
        case = f"mask_from_coins(labels {tuple(labels.shape)}, coins {tuple(coins.shape)})"
        answer, problem = call_student(mask_from_coins, labels.clone(), coins.clone(), call=case)
        if problem is not None:
            return problem
        if answer is None:
            return hint("your function returns None: return the (N, 1, H, W) mask.")
        expected = _mask_expected(labels, coins)
        if isinstance(answer, torch.Tensor) and answer.shape == labels.shape:
            return hint(f"almost: the mask needs a channel axis, shape {tuple(expected.shape)} "
                        f"(mask[:, None]), so that it broadcasts over the 3 colour channels.")
        if isinstance(answer, torch.Tensor) and answer.shape == expected.shape and \
                torch.equal(answer.float(), 1 - expected):
            return hint("your mask is inverted: 1 where the class's coin is 1 (real), 0 where it is 0 (fake).")
        if isinstance(answer, torch.Tensor) and answer.shape == expected.shape and not answer.is_floating_point():
            return hint("return a float mask (.float()): it multiplies images.")
        result = compare_tensors(answer, expected, "the mask")
        if not result:
            return hint(f"{case}: {result.message.removeprefix('not yet. Hint: ')} Each pixel takes the coin of "
                        f"its image and its class: coins[n, labels[n, y, x]] (torch.gather along dim 1).")
    return passed("every region of one class is all real or all fake, so D's only cue is the content of each "
                  "region: the seams between classes are real boundaries of the label map.")


# ---------------------------------------------------------------------------------------------------------------
# Exercise 3: the between-class variance ratio

def between_class_ratio(features: torch.Tensor, labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """The library's answer: eta^2 = between-class variance / total variance per channel, (C,)."""
    c = features.shape[1]
    x = features.double().permute(1, 0, 2, 3).reshape(c, -1)   # (C, pixels)
    ids = labels.flatten()
    counts = torch.bincount(ids, minlength=num_classes).double()  # pixels of each class
    sums = torch.zeros(c, num_classes, dtype=x.dtype).index_add_(1, ids, x)
    means = sums / counts.clamp(min=1)                              # (C, classes): each class's mean
    overall = x.mean(1, keepdim=True)                               # (C, 1)
    between = ((means - overall).square() * counts).sum(1) / x.shape[1]
    total = x.var(1, unbiased=False)
    return between / total.clamp(min=1e-12)


def _ratio_cases():
    generator = torch.Generator().manual_seed(14)
    cases = []
    for n, c, classes, side in ((1, 2, 3, 4), (2, 4, 5, 6), (3, 3, 11, 8)):
        labels = torch.randint(0, classes, (n, side, side), generator=generator)
        features = torch.randn(n, c, side, side, generator=generator)
        features[:, 0] += labels.float()                            # channel 0 depends on the class
        cases.append((features, labels, classes))
    return cases


def check_between_class_ratio(ratio) -> Result:
    """Exercise 3: ``ratio(features, labels, num_classes)`` with features (N, C, H, W) and labels (N, H, W) at the
    same size -> (C,): per channel, the variance of the class means (weighted by pixels) over the total variance."""
    for features, labels, classes in _ratio_cases():
        case = f"ratio(features {tuple(features.shape)}, labels {tuple(labels.shape)}, {classes})"
        answer, problem = call_student(ratio, features.clone(), labels.clone(), classes, call=case)
        if problem is not None:
            return problem
        if answer is None:
            return hint("your function returns None: return one ratio per channel, shape (C,).")
        expected = between_class_ratio(features, labels, classes)
        if isinstance(answer, torch.Tensor) and answer.numel() == 1 and len(expected) > 1:
            return hint("one number per channel, please: shape (C,), not the mean over the channels.")
        if isinstance(answer, torch.Tensor) and answer.shape == expected.shape:
            if torch.allclose(answer.double(), 1 - expected, atol=1e-5):
                return hint("that is the within-class part (1 - eta^2): the ratio asks how much of the variance "
                            "the class explains, between / total.")
        result = compare_tensors(answer, expected, "the ratios", atol=1e-4, rtol=1e-3)
        if not result:
            return hint(f"{case}: {result.message.removeprefix('not yet. Hint: ')} Per channel: the mean of each "
                        f"class's pixels, their squared distance to the overall mean weighted by the class's "
                        f"pixel count, divided by all the pixels' squared distances to the overall mean.")
    return passed("1 when the channel is a function of the class alone, 0 when it ignores the class: the measure "
                  "of section 3, where SPADE keeps it high deep in the generator.")


# ---------------------------------------------------------------------------------------------------------------
# Solutions, shown with spade_lib.exercises.show_solution(12, n)

def _solution_1(labels, num_classes):
    """Exercise 1: inverse frequency over the batch, divided by the classes present; absent classes weigh 0."""
    counts = torch.bincount(labels.flatten(), minlength=num_classes).double()   # pixels of each class
    present = (counts > 0).sum()
    alpha = labels.numel() / (present * counts)                                  # inf where counts == 0
    return torch.where(counts > 0, alpha, torch.zeros_like(alpha))


def _solution_2(labels, coins):
    """Exercise 2: each pixel looks up its class's coin in its image's row of coins."""
    n = labels.shape[0]
    mask = coins.gather(1, labels.flatten(1))                                    # (N, H * W)
    return mask.view(n, 1, *labels.shape[1:]).float()


def _solution_3(features, labels, num_classes):
    """Exercise 3: eta^2 per channel, from one pass over the pixels."""
    c = features.shape[1]
    x = features.double().permute(1, 0, 2, 3).reshape(c, -1)                   # (C, pixels)
    ids = labels.flatten()
    counts = torch.bincount(ids, minlength=num_classes).double()
    means = torch.zeros(c, num_classes, dtype=x.dtype).index_add_(1, ids, x) / counts.clamp(min=1)
    overall = x.mean(1, keepdim=True)
    between = ((means - overall).square() * counts).sum(1) / x.shape[1]          # variance of the class means
    return between / x.var(1, unbiased=False)                                   # over the total variance


SOLUTIONS = {1: _solution_1, 2: _solution_2, 3: _solution_3}
