"""Exercise checks for lesson 10, evaluation (``notebooks/10_evaluation.ipynb``).

1. the mean class accuracy from a confusion matrix (easy)
2. the Fréchet distance of two Gaussians with diagonal covariances (medium)
3. the diversity measure without a loop over pairs (medium)
4. real photos of the wrong label maps: which metric notices? (open; a possible answer in ``SOLUTIONS``)

Every ``check_*`` returns a :class:`~spade_lib.exercises.Result`: it prints a pass or a hint and never raises.
"""
import torch

from . import Result, call_student, hint, passed
from ..metrics import mean_pairwise_distance


def _number(answer, what: str):
    """(float, None) for a number or a one-element tensor, else (None, a hint)."""
    if answer is None:
        return None, hint(f"your function returns None: return {what}.")
    if isinstance(answer, torch.Tensor):
        if answer.numel() != 1:
            return None, hint(f"return one number ({what}), got a tensor of shape {tuple(answer.shape)}.")
        return float(answer), None
    try:
        return float(answer), None
    except (TypeError, ValueError):
        return None, hint(f"return one number ({what}), got {type(answer).__name__}.")


# ---------------------------------------------------------------------------------------------------------------
# Exercise 1: mean class accuracy from a confusion matrix

def _confusion_cases():
    generator = torch.Generator().manual_seed(10)
    cases = [torch.tensor([[50, 10], [5, 35]]),
             torch.randint(0, 100, (4, 4), generator=generator)]
    absent = torch.randint(0, 50, (5, 5), generator=generator)
    absent[2, :], absent[:, 2] = 0, 0          # class 2: neither in the labels nor predicted -> left out
    predicted_only = torch.randint(0, 50, (4, 4), generator=generator)
    predicted_only[3, :] = 0                   # class 3 never in the labels, only predicted -> left out too
    return cases + [absent, predicted_only]


def _class_accuracy_expected(counts):
    counts = counts.double()
    labelled = counts.sum(1)                   # pixels of each class in the labels (the rows)
    present = labelled > 0
    return float((counts.diag()[present] / labelled[present]).mean())


def check_class_accuracy(mean_class_accuracy) -> Result:
    """Exercise 1: ``mean_class_accuracy(counts)`` with counts (C, C), entry [true, predicted] -> the fraction
    of each class's pixels labelled right, averaged over the classes that occur in the labels (one number)."""
    for counts in _confusion_cases():
        answer, problem = call_student(mean_class_accuracy, counts.clone())
        if problem is not None:
            return problem
        if isinstance(answer, torch.Tensor) and answer.numel() == len(counts) > 1:
            return hint("that is one accuracy per class: average them (over the classes in the labels) into "
                        "one number.")
        value, problem = _number(answer, "the mean class accuracy, a number between 0 and 1")
        if problem is not None:
            return problem
        expected = _class_accuracy_expected(counts)
        if abs(value - expected) <= 1e-6:
            continue
        c = counts.double()
        tp, rows, cols = c.diag(), c.sum(1), c.sum(0)
        if value != value:  # NaN
            return hint("you got NaN: a class that never occurs in the labels has a row of zeros (0 / 0). "
                        "Leave such classes out of the mean.")
        if abs(value - float((tp / rows).nan_to_num(0.0).mean())) <= 1e-6:
            return hint("a class that is not in the labels (its row is all 0) counts as 0 in your mean: leave "
                        "it out, average only over classes whose row sum is above 0.")
        if abs(value - float((tp / cols)[cols > 0].mean())) <= 1e-6 or \
                abs(value - float((tp / cols).nan_to_num(0.0).mean())) <= 1e-6:
            return hint("you divide by the column, the pixels *predicted* as the class (that is the precision). "
                        "The class accuracy asks: of the pixels *labelled* c (the row), how many were found?")
        union = rows + cols - tp
        if abs(value - float((tp[union > 0] / union[union > 0]).mean())) <= 1e-6:
            return hint("that is the mIoU, which also counts the false positives. Here only the row counts: "
                        "TP_c / (pixels labelled c).")
        if abs(value - float(tp.sum() / c.sum())) <= 1e-6:
            return hint("that is the pixel accuracy (trace / total), where big classes weigh more: compute an "
                        "accuracy per class first, then the mean.")
        return hint(f"for counts {counts.tolist()} expected {expected:.4f}, got {value:.4f}. "
                    f"Per class: diagonal / row sum, then the mean over classes with a row sum above 0.")
    return passed("the per-class accuracy of pix2pix's FCN-score. Each class weighs the same, however few "
                  "pixels it has; unlike the IoU it forgives false positives: a segmenter that calls every "
                  "pixel 'sky' gets sky right and only loses the other classes.")


# ---------------------------------------------------------------------------------------------------------------
# Exercise 2: the Fréchet distance of diagonal Gaussians

def _diagonal_cases():
    generator = torch.Generator().manual_seed(11)
    cases = []
    for dim in (1, 3, 6):
        mu_a, mu_b = torch.randn(dim, generator=generator), torch.randn(dim, generator=generator)
        var_a = torch.rand(dim, generator=generator) * 2 + 0.1
        var_b = torch.rand(dim, generator=generator) * 2 + 0.1
        cases.append((mu_a.double(), var_a.double(), mu_b.double(), var_b.double()))
    return cases


def _diagonal_expected(mu_a, var_a, mu_b, var_b):
    return float((mu_a - mu_b).square().sum() + (var_a.sqrt() - var_b.sqrt()).square().sum())


def check_frechet_diagonal(frechet_diagonal) -> Result:
    """Exercise 2: ``frechet_diagonal(mu_a, var_a, mu_b, var_b)``: d^2 between N(mu_a, diag(var_a)) and
    N(mu_b, diag(var_b)), all four (D,) tensors; the same quantity as ``metrics.frechet_distance``."""
    for mu_a, var_a, mu_b, var_b in _diagonal_cases():
        answer, problem = call_student(frechet_diagonal, mu_a.clone(), var_a.clone(), mu_b.clone(), var_b.clone())
        if problem is not None:
            return problem
        value, problem = _number(answer, "d^2, one number")
        if problem is not None:
            return problem
        expected = _diagonal_expected(mu_a, var_a, mu_b, var_b)
        if abs(value - expected) <= 1e-6 * max(1.0, expected):
            continue
        mean_term = float((mu_a - mu_b).square().sum())
        if abs(value - expected ** 0.5) <= 1e-6:
            return hint("that is d, the square root: the formula (and metrics.frechet_distance) gives d^2.")
        if abs(value - (expected - mean_term)) <= 1e-6:
            return hint("the means are missing: d^2 starts with |mu_a - mu_b|^2.")
        if abs(value - mean_term) <= 1e-6:
            return hint("only the means: add the covariance term Tr(S_a + S_b - 2 (S_a S_b)^(1/2)).")
        if abs(value - (mean_term + float((var_a + var_b - 2 * var_a * var_b).sum()))) <= 1e-6:
            return hint("(S_a S_b)^(1/2) is a square root: for diagonal matrices, sqrt(var_a * var_b) per entry.")
        if abs(value - (mean_term + float((var_a - var_b).square().sum()))) <= 1e-6:
            return hint("you compare variances; the formula compares standard deviations: "
                        "var_a + var_b - 2 sqrt(var_a var_b) = (sqrt(var_a) - sqrt(var_b))^2.")
        return hint(f"expected {expected:.4f}, got {value:.4f}. For diagonal covariances every matrix in "
                    f"|mu_a - mu_b|^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2)) acts entry by entry.")
    return passed("d^2 = |mu_a - mu_b|^2 + |sigma_a - sigma_b|^2: the distance between the means plus the "
                  "distance between the standard deviations. Full covariances add the correlations, which is "
                  "why the library needs a matrix square root.")


# ---------------------------------------------------------------------------------------------------------------
# Exercise 3: diversity without a loop over pairs

def _image_cases():
    generator = torch.Generator().manual_seed(12)
    return [torch.rand(k, 3, side, side, generator=generator) * 2 - 1 for k, side in ((2, 4), (5, 8), (8, 6))]


def check_pairwise_l1(pairwise_l1) -> Result:
    """Exercise 3: ``pairwise_l1(images)`` with images (K, 3, H, W) in [-1, 1] -> the mean over all pairs i < j
    of the mean absolute difference, in [0, 1] units: ``metrics.mean_pairwise_distance`` without the loop."""
    for images in _image_cases():
        answer, problem = call_student(pairwise_l1, images.clone())
        if problem is not None:
            return problem
        value, problem = _number(answer, "the mean pairwise distance, one number")
        if problem is not None:
            return problem
        expected = mean_pairwise_distance(images)
        if abs(value - expected) <= 1e-5:
            continue
        k = len(images)
        if abs(value - expected * 2) <= 1e-5:
            return hint("images live in [-1, 1], a range of 2: divide by 2 for [0, 1] units.")
        if abs(value - expected * (k - 1) / k) <= 1e-5 or abs(value - 2 * expected * (k - 1) / k) <= 1e-5:
            return hint("your mean includes the K zeros of each image with itself (the diagonal): average only "
                        "over the K (K - 1) / 2 pairs i < j (torch.pdist gives exactly those).")
        pixels = images[0].numel()
        if abs(value - expected * pixels) <= 1e-3 * pixels or abs(value - 2 * expected * pixels) <= 1e-3 * pixels:
            return hint("that is a sum over the pixels: take the mean absolute difference (divide by C H W).")
        return hint(f"for {k} images of {tuple(images.shape[1:])} expected {expected:.4f}, got {value:.4f}. "
                    f"torch.pdist(images.flatten(1), p=1) gives the summed |difference| of every pair i < j.")
    return passed("one call to torch.pdist replaces K (K - 1) / 2 Python steps: at 8 images 28 pairs, at 100 "
                  "already 4950.")


# ---------------------------------------------------------------------------------------------------------------
# Solutions, shown with spade_lib.exercises.show_solution(10, n)

def _solution_1(counts):
    """Exercise 1: per class, the diagonal (found) over the row (labelled); classes never labelled left out."""
    counts = counts.double()
    labelled = counts.sum(1)                                   # row c: every pixel whose label is c
    present = labelled > 0
    return float((counts.diag()[present] / labelled[present]).mean())


def _solution_2(mu_a, var_a, mu_b, var_b):
    """Exercise 2: diagonal matrices commute, so (S_a S_b)^(1/2) = diag(sqrt(var_a var_b)), and the trace term is
    sum(var_a + var_b - 2 sqrt(var_a var_b)) = sum((sqrt(var_a) - sqrt(var_b))^2)."""
    return float((mu_a - mu_b).square().sum() + (var_a.sqrt() - var_b.sqrt()).square().sum())


def _solution_3(images):
    """Exercise 3: torch.pdist gives the p-norm distance of every pair i < j of rows."""
    flat = images.flatten(1)                                    # (K, 3 H W)
    return float(torch.pdist(flat, p=1).mean() / flat.shape[1] / 2)   # mean over pixels, [0, 1] units


def _solution_4(segmenter, sets, ceilings):
    """Exercise 4 (open), one possible answer: real Landscapes photos that belong to *other* label maps, as
    if a generator had made them for the label maps of ``sets.labels["a"]`` and ``["c"]``. Fresh validation
    photos (indices after the evaluation sets), so none of them is also on the real side of a comparison.

    What to expect: the Fréchet distances near real-vs-real and the two-sample test near 50% (they *are* real
    photos), while label alignment collapses. Only alignment asks whether the image fits its label map."""
    from ..landscapes import Landscapes
    from ..metrics import VALIDATION_SEED, evaluate_images

    count, test_count = len(sets.images["a"]), len(sets.images["c"])
    start = 2 * count + test_count                              # past every image of the evaluation sets
    dataset = Landscapes(size=sets.images["a"].shape[-1], length=start + count + test_count, seed=VALIDATION_SEED)
    fresh = torch.stack([dataset[i]["image"] for i in range(start, start + count + test_count)])
    report = evaluate_images(segmenter, sets, ceilings, fresh[:count], fresh[count:])
    return report


SOLUTIONS = {1: _solution_1, 2: _solution_2, 3: _solution_3, 4: _solution_4}
