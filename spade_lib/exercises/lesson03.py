"""Exercise checks for lesson 03, the SPADE layer (``notebooks/03_spade.ipynb``).

1. the parameters of a SPADE layer, by formula (easy)
2. CLADE's tables from a SPADE layer's weights: SPADE inside a region (medium)
3. the band: the pixels where the gamma/beta convolution is needed (medium)
4. the band at every resolution of the generator (open; a possible answer in ``SOLUTIONS``)

    from spade_lib.exercises.lesson03 import check_spade_params
    check_spade_params(spade_params)           # prints ✅ or ❌ with a hint
    spade_lib.exercises.show_solution(3, 1)    # only when stuck

Every ``check_*`` returns a :class:`~spade_lib.exercises.Result`: it prints a pass or a hint and never raises.
"""
import copy

import torch
import torch.nn.functional as F

from . import Result, call_student, hint, passed
from ..norms import CLADE, SPADE, find_regions


# ---------------------------------------------------------------------------------------------------------------
# Exercise 1: parameters of a SPADE layer

PARAM_CASES = [  # (channels, label_channels, hidden, kernel_size)
    (64, 11, 128, 3),  # a Landscapes layer
    (1024, 151, 128, 3),  # ADE20K's head_0
    (16, 12, 32, 5),  # a 5 x 5 kernel
    (8, 11, 64, 1),  # 1 x 1: SPADE without neighbours
]


def library_spade_params(channels, label_channels, hidden, kernel_size):
    """The count of ``spade_lib.norms.SPADE`` (built on the meta device: no memory, instant)."""
    with torch.device("meta"):
        layer = SPADE(channels, label_channels, hidden, kernel_size)
    return sum(p.numel() for p in layer.parameters())


def check_spade_params(spade_params) -> Result:
    """Exercise 1: ``spade_params(channels, label_channels, hidden, kernel_size)`` counts a SPADE layer's learned
    parameters."""
    for channels, label_channels, hidden, k in PARAM_CASES:
        case = f"spade_params({channels}, {label_channels}, {hidden}, {k})"
        answer, problem = call_student(spade_params, channels, label_channels, hidden, k, call=case)
        if problem is not None:
            return problem
        if answer is None:
            return hint("your function returns None: return an int, the weights and biases of the three "
                        "convolutions mlp_shared (label map -> hidden), mlp_gamma and mlp_beta (hidden -> channels).")
        expected = library_spade_params(channels, label_channels, hidden, k)
        if not isinstance(answer, (int, float)) or isinstance(answer, bool):
            return hint(f"{case} should be a number (an int), got {type(answer).__name__}.")
        if answer == expected:
            continue
        shared, gamma = k * k * label_channels * hidden + hidden, k * k * hidden * channels + channels
        if answer == expected - hidden - 2 * channels:
            return hint(f"{case}: add the biases: every convolution has one per output channel.")
        if answer == expected + 2 * channels:
            return hint(f"{case}: the normalization inside SPADE has no parameters of its own (affine=False): "
                        f"gamma and beta come from the convolutions.")
        if answer == shared + gamma:
            return hint(f"{case}: gamma and beta have a convolution each (mlp_gamma and mlp_beta), both from the "
                        f"hidden map.")
        if answer == 2 * gamma:
            return hint(f"{case}: you counted mlp_gamma and mlp_beta; add mlp_shared, the convolution over the "
                        f"one-hot label map ({label_channels} channels -> {hidden}).")
        if k > 1 and answer == k * label_channels * hidden + hidden + 2 * (k * hidden * channels + channels):
            return hint(f"{case}: a {k} x {k} kernel has k * k = {k * k} taps per input and output channel, not k.")
        return hint(f"{case} should be {expected:,}, got {answer!r}. A k x k convolution from C_in to C_out "
                    f"channels has k * k * C_in * C_out weights and C_out biases.")
    ade = library_spade_params(1024, 151, 128, 3)
    return passed(f"your formula matches spade_lib's SPADE on all {len(PARAM_CASES)} layers; ADE20K's head_0 "
                  f"SPADE has {ade:,} parameters, 93% of them in mlp_gamma and mlp_beta.")


# ---------------------------------------------------------------------------------------------------------------
# Exercise 2: CLADE's tables from SPADE's weights

def _layers_for_tables():
    """Small SPADE layers with weights large enough that ReLU, taps and biases all matter."""
    layers = []
    for seed, (channels, label_channels, hidden, k) in enumerate([(4, 5, 8, 3), (6, 3, 16, 5)]):
        torch.manual_seed(30 + seed)
        layer = SPADE(channels, label_channels, hidden, k)
        with torch.no_grad():
            for conv in (layer.mlp_shared[0], layer.mlp_gamma, layer.mlp_beta):
                conv.weight.normal_(0, 0.5)
                conv.bias.normal_(0, 0.5)
        layers.append(layer)
    return layers


def _tables(spade, relu=True, all_taps=True, shared_bias=True, out_bias=True):
    """(gamma, beta), each (label_channels, C): the expected tables and the usual mistakes."""
    shared, k = spade.mlp_shared[0], spade.kernel_size
    take = (lambda w: w.sum((2, 3))) if all_taps else (lambda w: w[:, :, k // 2, k // 2])
    pre = take(shared.weight).t() + (shared.bias if shared_bias else 0)  # (classes, hidden)
    h = F.relu(pre) if relu else pre
    gamma = h @ take(spade.mlp_gamma.weight).t() + (spade.mlp_gamma.bias if out_bias else 0)
    beta = h @ take(spade.mlp_beta.weight).t() + (spade.mlp_beta.bias if out_bias else 0)
    return gamma, beta


def _close(a, b):
    return isinstance(a, torch.Tensor) and a.shape == b.shape and torch.allclose(a.double(), b.double(),
                                                                                  atol=1e-4, rtol=1e-4)


def check_clade_tables(clade_tables) -> Result:
    """Exercise 2: ``clade_tables(spade)`` returns (gamma, beta), each (num_classes, C): the gamma and beta that
    SPADE gives every pixel deep inside a region of class c (row c)."""
    for spade in _layers_for_tables():
        answer, problem = call_student(clade_tables, copy.deepcopy(spade))
        if problem is not None:
            return problem
        if answer is None:
            return hint("your function returns None: return a pair (gamma, beta) of (num_classes, C) tensors. "
                        "Start with h_c = ReLU(b_s + sum over the k x k taps of W_s[:, c]).")
        if not isinstance(answer, (tuple, list)) or len(answer) != 2:
            return hint(f"return a pair (gamma, beta), got {type(answer).__name__}.")
        gamma, beta = answer
        with torch.no_grad():
            clade = CLADE.from_spade(spade)
            expected = clade.gamma.weight, clade.beta.weight
        shape = tuple(expected[0].shape)
        if not all(isinstance(t, torch.Tensor) for t in answer):
            return hint("gamma and beta should be torch tensors.")
        if tuple(gamma.shape) != shape or tuple(beta.shape) != shape:
            if tuple(gamma.shape) == shape[::-1]:
                return hint(f"one row per class: shape (num_classes, C) = {shape}, yours is {tuple(gamma.shape)} "
                            f"(transpose it).")
            return hint(f"gamma and beta should have shape (num_classes, C) = {shape}, got {tuple(gamma.shape)} "
                        f"and {tuple(beta.shape)}.")
        gamma, beta = gamma.detach(), beta.detach()
        if _close(gamma, expected[0]) and _close(beta, expected[1]):
            continue
        if _close(gamma, expected[1]) and _close(beta, expected[0]):
            return hint("gamma and beta are swapped: return (gamma, beta).")
        if _close(gamma, 1 + expected[0]):
            return hint("that is the scale 1 + gamma; return gamma itself (the library adds the 1 later).")
        with torch.no_grad():
            for mistake, kwargs in [
                ("inside a region every tap of the k x k window sees class c: sum the weights over all k x k taps "
                 "(W.sum((2, 3))), not only the centre tap", dict(all_taps=False)),
                ("h_c goes through the ReLU before mlp_gamma and mlp_beta see it", dict(relu=False)),
                ("add the biases of the three convolutions", dict(shared_bias=False, out_bias=False)),
                ("add mlp_shared's bias b_s inside the ReLU", dict(shared_bias=False)),
                ("add the biases of mlp_gamma and mlp_beta", dict(out_bias=False)),
            ]:
                wrong = _tables(spade, **kwargs)
                if _close(gamma, wrong[0]) or _close(beta, wrong[1]):
                    return hint(mistake + ".")
        if _close(gamma, expected[0]):
            return hint("gamma is right, beta is not: beta is computed like gamma, with mlp_beta.")
        worst = (gamma.double() - expected[0].double()).abs().max().item()
        return hint(f"gamma differs from SPADE's value inside a region by up to {worst:.3g}. Inside a region the "
                    f"k x k window of mlp_shared holds one class c: h_c = ReLU(b_s + sum_t W_s[:, c, t]); every "
                    f"hidden vector gamma's window sees is h_c: gamma_c = b_g + sum_t W_g[:, :, t] h_c.")
    return passed("your tables equal CLADE.from_spade: deep inside a region, SPADE is a lookup of one row per "
                  "class, two small matrix products instead of two convolutions per pixel.")


# ---------------------------------------------------------------------------------------------------------------
# Exercise 3: the band

def band_cases():
    """(labels (N, H, W), kernel_size): blocky maps with regions of several sizes, and a 1 x 1 kernel."""
    g = torch.Generator().manual_seed(3)
    blocks = torch.randint(0, 4, (2, 1, 6, 6), generator=g).float()
    coarse = F.interpolate(blocks, size=(24, 30), mode="nearest")[:, 0].long()  # (2, 24, 30): 4 to 5 px blocks
    fine = torch.randint(0, 3, (1, 12, 12), generator=g)
    stripes = torch.zeros(1, 20, 20, dtype=torch.long)
    stripes[:, :, 10:] = 1  # one straight boundary
    return [(stripes, 3), (coarse, 3), (coarse, 5), (fine, 3), (coarse, 1)]


def _window_max(values, size):
    return F.max_pool2d(values[:, None], size, stride=1, padding=size // 2)[:, 0] if size > 1 else values


def _mixed_classes(labels, size):
    """Pixels whose size x size window holds two or more classes (the border not counted)."""
    ids = labels.float()
    return _window_max(ids, size) != -_window_max(-ids, size)


def check_band(band) -> Result:
    """Exercise 3: ``band(labels, kernel_size)`` returns an (N, H, W) bool mask of the pixels whose
    (2k-1) x (2k-1) window holds two or more classes or leaves the image."""
    for labels, k in band_cases():
        case = f"band(labels of shape {tuple(labels.shape)}, kernel_size={k})"
        answer, problem = call_student(band, labels.clone(), k, call=case)
        if problem is not None:
            return problem
        if answer is None:
            return hint("your function returns None: return an (N, H, W) bool tensor, True where SPADE needs the "
                        "gamma/beta convolution. F.max_pool2d with stride 1 gives each pixel its window's maximum.")
        expected = find_regions(labels, None, k).band
        if not isinstance(answer, torch.Tensor) or answer.shape != expected.shape:
            got = tuple(answer.shape) if isinstance(answer, torch.Tensor) else type(answer).__name__
            return hint(f"{case} should be a tensor of shape {tuple(expected.shape)} (N, H, W), got {got}.")
        answer = answer.detach().bool()
        if torch.equal(answer, expected):
            continue
        r = 2 * (k // 2)
        inner = torch.zeros_like(expected)
        inner[:, r:labels.shape[1] - r, r:labels.shape[2] - r] = True
        if k > 1 and torch.equal(answer & inner, expected & inner):
            return hint(f"{case}: right inside, wrong at the border. A pixel closer than {r} pixels to the edge "
                        f"has a window that leaves the image, where the zero padding is one more 'class': it is "
                        f"in the band.")
        mixed = find_regions(labels, None, k).mixed
        if torch.equal(answer, mixed) or torch.equal(answer, _mixed_classes(labels, k)):
            return hint(f"{case}: that is the k x k window of mlp_shared (the 'mixed' pixels). gamma's "
                        f"convolution reads the hidden map over another k x k window, so a gamma value sees a "
                        f"(2k-1) x (2k-1) window of labels.")
        missing, extra = (expected & ~answer).sum().item(), (answer & ~expected).sum().item()
        return hint(f"{case}: {missing} band pixels missing and {extra} too many. A pixel is in the band when "
                    f"the largest and smallest class id in its (2k-1) x (2k-1) window differ, or the window "
                    f"leaves the image.")
    return passed("your band equals spade_lib's find_regions(...).band, border included: outside it, gamma and "
                  "beta are CLADE's per-class lookups.")


# ---------------------------------------------------------------------------------------------------------------
# Solutions, shown with spade_lib.exercises.show_solution(3, n)

def _solution_1(channels, label_channels, hidden=128, kernel_size=3):
    """Exercise 1: three k x k convolutions with biases; the normalization has no parameters (affine=False)."""
    k2 = kernel_size * kernel_size
    shared = k2 * label_channels * hidden + hidden  # mlp_shared: one-hot label map -> hidden
    gamma = k2 * hidden * channels + channels  # mlp_gamma: hidden -> channels
    beta = k2 * hidden * channels + channels  # mlp_beta: the same shape
    return shared + gamma + beta


def _solution_2(spade):
    """Exercise 2: inside a region every tap sees class c, so each convolution is a sum of its taps' weights."""
    shared = spade.mlp_shared[0]
    with torch.no_grad():
        h = torch.relu(shared.bias + shared.weight.sum((2, 3)).t())  # (classes, hidden): h_c for every class c
        gamma = spade.mlp_gamma.bias + h @ spade.mlp_gamma.weight.sum((2, 3)).t()  # (classes, C)
        beta = spade.mlp_beta.bias + h @ spade.mlp_beta.weight.sum((2, 3)).t()
    return gamma, beta


def _solution_3(labels, kernel_size):
    """Exercise 3: a window holds two classes when its largest and smallest id differ (two max-pools)."""
    window = 2 * kernel_size - 1  # gamma's k x k window over the hidden map's k x k windows
    if window == 1:
        return torch.zeros_like(labels, dtype=torch.bool)
    ids = labels[:, None].float()  # (N, 1, H, W)
    largest = F.max_pool2d(ids, window, stride=1, padding=window // 2)
    smallest = -F.max_pool2d(-ids, window, stride=1, padding=window // 2)
    band = (largest != smallest)[:, 0]  # (N, H, W)
    r = window // 2  # the window of the outer r rows and columns leaves the image
    band[:, :r], band[:, -r:], band[:, :, :r], band[:, :, -r:] = True, True, True, True
    return band


def _solution_4(labels, kernel_size=3, sides=(8, 16, 32, 64, 128, 256)):
    """Exercise 4 (open), one possible answer: the band fraction of one (1, H, W) label map at each resolution
    of the generator (nearest resize, as every SPADE layer does). The band is about as wide in pixels at every
    resolution, so it covers more and more of the map as the map shrinks; at 8 x 8 with k = 3 every pixel is
    within 2 pixels of the border. The dense convolutions' cost grows 4x per doubling of the side, so the
    layers at 128 and 256, where the band is thin, are the ones where the fast path saves most."""
    from ..labels import resize_labels

    fractions = {}
    for side in sides:
        small = resize_labels(labels, (side, side))  # (1, side, side)
        fractions[side] = find_regions(small, None, kernel_size).band_fraction
    for side, fraction in fractions.items():
        print(f"{side:4d} x {side:<4d} band {fraction:6.1%}")
    return fractions


SOLUTIONS = {1: _solution_1, 2: _solution_2, 3: _solution_3, 4: _solution_4}
