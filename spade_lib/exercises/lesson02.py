"""Exercise checks for lesson 02, conditional normalization (``notebooks/02_conditional_norm.ipynb``).

1. conditional instance norm (easy)
2. the best per-image, per-channel affine map, by least squares (medium)
3. region-wise AdaIN (medium)
4. how much of the per-pixel gain is the class alone? (open, no check)

    from spade_lib.exercises.lesson02 import check_conditional_instance_norm
    check_conditional_instance_norm(conditional_instance_norm)  # prints ✅ or ❌ with a hint
    spade_lib.exercises.show_solution(2, 1)                     # only when stuck

Every ``check_*`` returns a :class:`~spade_lib.exercises.Result`: it prints a pass or a hint and never raises.
"""
import torch
import torch.nn.functional as F

from . import Result, call_student, compare_tensors, hint, passed


def _close(a, b, atol=1e-4, rtol=1e-4) -> bool:
    return isinstance(a, torch.Tensor) and a.shape == b.shape and torch.allclose(a.double(), b.double(), atol=atol,
                                                                                   rtol=rtol)


def _standardize(x, dims, eps, correction=0):
    mean, var = x.mean(dims, keepdim=True), x.var(dims, keepdim=True, correction=correction)
    return (x - mean) / torch.sqrt(var + eps)


# ----------------------------------------------------------------------------------------------------------------
# Exercise 1: conditional instance norm


def cin_case(seed):
    g = torch.Generator().manual_seed(seed)
    n, c, k = 5, 3, 4
    x = torch.randn(n, c, 6, 7, generator=g) * 2 + torch.randn(n, c, 1, 1, generator=g)  # per-image offsets
    y = torch.tensor([0, 3, 3, 1, 2])
    gamma = torch.rand(k, c, generator=g) + 0.5
    beta = torch.randn(k, c, generator=g)
    return x, y, gamma, beta


def expected_conditional_instance_norm(x, y, gamma, beta, eps=1e-5):
    return gamma[y][:, :, None, None] * _standardize(x, (2, 3), eps) + beta[y][:, :, None, None]


def check_conditional_instance_norm(conditional_instance_norm) -> Result:
    """Exercise 1: ``conditional_instance_norm(x, y, gamma, beta, eps)``: instance norm, then the (gamma, beta) row
    of each image's class."""
    x, y, gamma, beta = cin_case(0)
    answer, problem = call_student(conditional_instance_norm, x.clone(), y.clone(), gamma.clone(), beta.clone(),
                                   call="conditional_instance_norm")
    if problem is not None:
        return problem
    if answer is None:
        return hint("return a tensor shaped like x. Standardize x over (H, W) for each image and channel, then "
                    "multiply by gamma[y] and add beta[y], reshaped from (N, C) to (N, C, 1, 1).")
    expected = expected_conditional_instance_norm(x, y, gamma, beta)
    if not isinstance(answer, torch.Tensor) or answer.shape != expected.shape:
        return compare_tensors(answer, expected, "the output")
    if _close(answer, expected):
        return passed("conditional instance norm: per-image statistics, per-class gamma and beta.")
    x_hat_batch = _standardize(x, (0, 2, 3), 1e-5)
    if _close(answer, gamma[y][:, :, None, None] * x_hat_batch + beta[y][:, :, None, None]):
        return hint("you normalized over the batch too (dims 0, 2, 3): that is conditional *batch* norm. Instance "
                    "norm uses each image's own statistics: dims (2, 3).")
    x_hat = _standardize(x, (2, 3), 1e-5)
    if _close(answer, gamma[y][:, :, None, None] * _standardize(x, (2, 3), 1e-5, correction=1)
              + beta[y][:, :, None, None]):
        return hint("use the biased variance (correction=0, divide by H*W), as instance norm does.")
    if _close(answer, gamma[0][None, :, None, None] * x_hat + beta[0][None, :, None, None]):
        return hint("every image got row 0: pick each image's row with gamma[y] and beta[y].")
    if _close(answer, x_hat):
        return hint("the standardization is right; now scale by gamma[y] and shift by beta[y].")
    return compare_tensors(answer, expected, "the output")


def solution_conditional_instance_norm(x, y, gamma, beta, eps=1e-5):
    mean = x.mean((2, 3), keepdim=True)  # (N, C, 1, 1): per image and channel
    var = x.var((2, 3), keepdim=True, correction=0)
    x_hat = (x - mean) / torch.sqrt(var + eps)
    return gamma[y][:, :, None, None] * x_hat + beta[y][:, :, None, None]  # gamma[y]: (N, C), the row of each class


# ----------------------------------------------------------------------------------------------------------------
# Exercise 2: the best per-image, per-channel affine map (least squares)


def affine_case(seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(4, 3, 8, 9, generator=g)
    # a target that is partly affine in x, partly not: the best fit is not exact
    target = 0.7 * x + 0.3 * torch.randn(4, 3, 8, 9, generator=g) ** 2 - 0.2
    return x, target


def expected_best_affine(x, target, dims=(2, 3)):
    mx, mt = x.mean(dims, keepdim=True), target.mean(dims, keepdim=True)
    cov = ((x - mx) * (target - mt)).mean(dims, keepdim=True)
    gamma = cov / x.var(dims, keepdim=True, correction=0)
    beta = mt - gamma * mx
    return gamma.expand(x.shape[0], -1, 1, 1).flatten(1), beta.expand(x.shape[0], -1, 1, 1).flatten(1)  # (N, C)


def _per_image_channel(t):
    """Accept (N, C, 1, 1) for an (N, C) answer."""
    return t.flatten(1) if isinstance(t, torch.Tensor) and t.dim() == 4 and t.shape[2:] == (1, 1) else t


def check_best_affine(best_affine) -> Result:
    """Exercise 2: ``best_affine(x, target)`` returns (gamma, beta), each (N, C), minimizing the squared error of
    gamma * x + beta against target, for each image and channel."""
    x, target = affine_case(0)
    answer, problem = call_student(best_affine, x.clone(), target.clone(), call="best_affine")
    if problem is not None:
        return problem
    if answer is None:
        return hint("return (gamma, beta), each (N, C). Setting the derivatives of the squared error to zero "
                    "gives an ordinary least-squares line: gamma = cov(x, t) / var(x), beta = mean(t) - gamma * "
                    "mean(x), with the statistics over (H, W).")
    if not (isinstance(answer, (tuple, list)) and len(answer) == 2):
        return hint(f"return a pair (gamma, beta), got {type(answer).__name__}")
    gamma, beta = (_per_image_channel(a) for a in answer)
    expected_gamma, expected_beta = expected_best_affine(x, target)
    for name, got, expected in [("gamma", gamma, expected_gamma), ("beta", beta, expected_beta)]:
        if not isinstance(got, torch.Tensor) or got.shape != expected.shape:
            return compare_tensors(got, expected, name)
    if _close(gamma, expected_gamma) and _close(beta, expected_beta):
        fit = F.mse_loss(gamma[..., None, None] * x + beta[..., None, None], target)
        return passed(f"the least-squares fit (error {fit:.4f} here). Now compare best_affine's error on the "
                      f"experiment's content and target with the end of the AdaIN curve.")
    std_ratio = target.std((2, 3), correction=0) / x.std((2, 3), correction=0)
    if _close(gamma, std_ratio, atol=1e-3):
        return hint("sigma(t) / sigma(x) is AdaIN's answer: it matches the *statistics* of the target, not its "
                    "pixels. The least-squares slope is cov(x, t) / var(x); it equals the ratio of standard "
                    "deviations only when x and t are perfectly correlated.")
    if _close(gamma, expected_gamma):
        return hint("gamma is right; beta = mean(t) - gamma * mean(x), per image and channel.")
    if _close(gamma, expected_best_affine(x, target, dims=(0, 2, 3))[0]):
        return hint("you fitted one line per channel over all images: compute the statistics over (H, W) only, "
                    "one fit per image and channel.")
    return compare_tensors(gamma, expected_gamma, "gamma")


def solution_best_affine(x, target):
    mx, mt = x.mean((2, 3), keepdim=True), target.mean((2, 3), keepdim=True)  # (N, C, 1, 1)
    cov = ((x - mx) * (target - mt)).mean((2, 3))  # (N, C)
    var = ((x - mx) ** 2).mean((2, 3))
    gamma = cov / var  # the least-squares slope
    beta = mt.flatten(1) - gamma * mx.flatten(1)  # the line passes through the means
    return gamma, beta


# ----------------------------------------------------------------------------------------------------------------
# Exercise 3: region-wise AdaIN


def regional_case(seed):
    g = torch.Generator().manual_seed(seed)
    n, c, h, w, k = 2, 3, 10, 12, 4
    content = torch.randn(n, c, h, w, generator=g)
    style = torch.randn(n, c, h, w, generator=g) * 2 + 1
    content_labels = torch.randint(0, 3, (n, h, w), generator=g)  # classes 0, 1, 2
    style_labels = torch.randint(0, 2, (n, h, w), generator=g)  # classes 0, 1: class 2 is missing from the style
    style_labels[1, :3] = 3  # class 3 only in the style
    for i in range(n):  # each class's style pixels on their own scale and offset
        for cls in range(k):
            mask = style_labels[i] == cls
            style[i, :, mask] = style[i, :, mask] * (cls + 1) + 3 * cls
    return content, style, content_labels, style_labels, k


def expected_regional_adain(content, style, content_labels, style_labels, num_classes, eps=1e-5, correction=0):
    out = content.clone()
    for i in range(content.shape[0]):
        for cls in range(num_classes):
            mask_c, mask_s = content_labels[i] == cls, style_labels[i] == cls
            if mask_c.any() and mask_s.any():
                xc, xs = content[i][:, mask_c], style[i][:, mask_s]  # (C, pixels)
                mu_c, mu_s = xc.mean(1, keepdim=True), xs.mean(1, keepdim=True)
                sd_c = torch.sqrt(xc.var(1, keepdim=True, correction=correction) + eps)
                sd_s = torch.sqrt(xs.var(1, keepdim=True, correction=correction) + eps)
                out[i][:, mask_c] = sd_s * (xc - mu_c) / sd_c + mu_s
    return out


def check_regional_adain(regional_adain) -> Result:
    """Exercise 3: ``regional_adain(content, style, content_labels, style_labels, num_classes, eps)``: AdaIN class
    by class; content pixels of a class absent from the style stay unchanged."""
    content, style, content_labels, style_labels, k = regional_case(0)
    answer, problem = call_student(regional_adain, content.clone(), style.clone(), content_labels.clone(),
                                   style_labels.clone(), k, call="regional_adain")
    if problem is not None:
        return problem
    if answer is None:
        return hint("return a tensor shaped like content. Loop over images i and classes k: with masks "
                    "mc = content_labels[i] == k and ms = style_labels[i] == k, content[i][:, mc] is (C, pixels); "
                    "give it the mean and std (over pixels) of style[i][:, ms].")
    expected = expected_regional_adain(content, style, content_labels, style_labels, k)
    if not isinstance(answer, torch.Tensor) or answer.shape != expected.shape:
        return compare_tensors(answer, expected, "the output")
    if _close(answer, expected):
        return passed("region-wise AdaIN: each class takes the statistics of the same class in the style. The "
                      "modulation now changes from region to region, which is what SPADE learns to do.")
    if answer.isnan().any():
        return hint("the output holds NaN: a region of one pixel has variance 0. Add eps inside the square root, "
                    "and skip classes with no pixels in the content or in the style.")
    missing = (content_labels == 2)[:, None].expand_as(content)  # class 2 never appears in the style
    if _close(answer[~missing], expected[~missing]) and not _close(answer[missing], expected[missing]):
        return hint("pixels of a class that the style lacks (here class 2) must stay as they are.")
    zeros_c, zeros_s = torch.zeros_like(content_labels), torch.zeros_like(style_labels)
    if _close(answer, expected_regional_adain(content, style, zeros_c, zeros_s, 1)):
        return hint("that is plain AdaIN over the whole image: compute the statistics inside each class's region.")
    if _close(answer, expected_regional_adain(content, style, content_labels, style_labels, k, correction=1)):
        return hint("use the biased variance (correction=0), as instance norm does.")
    return compare_tensors(answer, expected, "the output")


def solution_regional_adain(content, style, content_labels, style_labels, num_classes, eps=1e-5):
    out = content.clone()
    for i in range(content.shape[0]):
        for k in range(num_classes):
            mc, ms = content_labels[i] == k, style_labels[i] == k  # (H, W) masks of class k
            if not (mc.any() and ms.any()):
                continue  # class k missing from one of the two: leave those content pixels alone
            xc, xs = content[i][:, mc], style[i][:, ms]  # (C, pixels of class k)
            mu_c, sd_c = xc.mean(1, keepdim=True), torch.sqrt(xc.var(1, keepdim=True, correction=0) + eps)
            mu_s, sd_s = xs.mean(1, keepdim=True), torch.sqrt(xs.var(1, keepdim=True, correction=0) + eps)
            out[i][:, mc] = sd_s * (xc - mu_c) / sd_c + mu_s  # AdaIN inside the region
    return out


SOLUTIONS = {1: solution_conditional_instance_norm, 2: solution_best_affine, 3: solution_regional_adain}
