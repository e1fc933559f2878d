"""Exercise checks for lesson 07, the style encoder (``notebooks/07_style_encoder.ipynb``).

1. how many stride-2 convolutions the encoder needs for an input size (easy)
2. the gradients of the reparameterized sample with respect to mu and logvar, by hand (medium)
3. the KL divergence per latent dimension, and the dimensions that carry style (medium)
4. does the encoder see the style or the layout? (open; a possible answer in ``SOLUTIONS``)

Every ``check_*`` returns a :class:`~spade_lib.exercises.Result`: it prints a pass or a hint and never raises.
"""
import torch

from . import Result, call_student, compare_tensors, hint, passed
from ..encoder import StyleEncoder
from ..losses import kl_divergence

SIZES = (8, 16, 32, 64, 128, 256, 512)


# ---------------------------------------------------------------------------------------------------------------
# Exercise 1: how many stride-2 convs reach 4x4

def _library_layers(size: int) -> int:
    return len(StyleEncoder(input_size=size, ndf=1, z_dim=1).layers)


def check_encoder_layers(encoder_layers) -> Result:
    """Exercise 1: ``encoder_layers(input_size)`` -> the number of stride-2 convs from ``input_size`` down to 4x4."""
    for size in SIZES:
        answer, problem = call_student(encoder_layers, size)
        if problem is not None:
            return problem
        if answer is None:
            return hint("your function returns None: return an int. Each stride-2 conv halves the side, "
                        "and the encoder stops at 4x4.")
        try:
            count = int(answer)
        except (TypeError, ValueError):
            return hint(f"return one whole number, got {type(answer).__name__}.")
        if count != answer:
            return hint(f"return a whole number (an int), got {answer!r} for input {size}: "
                        f"round(math.log2(...)) or integer arithmetic.")
        expected = _library_layers(size)
        if count == expected:
            continue
        if count == 6:
            return hint(f"6 is the official count, right for 256 only. For an input of {size} the side must "
                        f"go from {size} to 4: how many halvings is that?")
        if count == expected + 2:
            return hint(f"for {size} you count the halvings down to 1x1; the encoder stops at a 4x4 map.")
        return hint(f"for an input of {size} expected a different count than {count}: "
                    f"{size} -> {size // 2} -> ... -> 4, one conv per arrow.")
    return passed("256 -> 6 convs (the official encoder), 128 -> 5, 64 -> 4: always as many as reach 4x4, "
                  "so the Linears always see (8 ndf) x 4 x 4 values.")


# ---------------------------------------------------------------------------------------------------------------
# Exercise 2: the reparameterization's gradients by hand

def _reparam_cases():
    generator = torch.Generator().manual_seed(7)
    cases = []
    for shape in ((4,), (2, 3)):
        mu = torch.randn(shape, generator=generator)
        logvar = torch.randn(shape, generator=generator)
        eps = torch.randn(shape, generator=generator)
        cases.append((mu, logvar, eps))
    return cases


def _reparam_expected(mu, logvar, eps):
    mu, logvar = mu.clone().requires_grad_(), logvar.clone().requires_grad_()
    (mu + eps * torch.exp(0.5 * logvar)).sum().backward()
    return mu.grad, logvar.grad


def check_reparam_gradients(reparam_gradients) -> Result:
    """Exercise 2: ``reparam_gradients(mu, logvar, eps)`` -> (dz/dmu, dz/dlogvar), element by element, for
    z = mu + eps * exp(logvar / 2)."""
    for mu, logvar, eps in _reparam_cases():
        answer, problem = call_student(reparam_gradients, mu.clone(), logvar.clone(), eps.clone())
        if problem is not None:
            return problem
        if answer is None:
            return hint("your function returns None: return a pair (d_mu, d_logvar) of tensors shaped like mu.")
        if not isinstance(answer, (tuple, list)) or len(answer) != 2:
            return hint("return a pair: (dz/dmu, dz/dlogvar), two tensors shaped like mu.")
        d_mu, d_logvar = answer
        expected_mu, expected_logvar = _reparam_expected(mu, logvar, eps)
        result = compare_tensors(d_mu, expected_mu, "dz/dmu")
        if not result:
            return hint("z = mu + (something without mu): how does z change when mu grows by a little? "
                        + result.message.removeprefix("not yet. Hint: "))
        result = compare_tensors(d_logvar, expected_logvar, "dz/dlogvar")
        if not result:
            sigma = torch.exp(0.5 * logvar)
            if isinstance(d_logvar, torch.Tensor) and d_logvar.shape == mu.shape:
                if torch.allclose(d_logvar, eps * sigma):
                    return hint("almost: the chain rule through exp(logvar / 2) brings a factor 1/2.")
                if torch.allclose(d_logvar, 0.5 * sigma) or torch.allclose(d_logvar, sigma):
                    return hint("eps multiplies sigma in z, so it multiplies the gradient too.")
            return hint("d/dlogvar of eps * exp(logvar / 2) = eps * exp(logvar / 2) * 1/2. "
                        + result.message.removeprefix("not yet. Hint: "))
    return passed("dz/dmu = 1 and dz/dlogvar = eps * sigma / 2: both finite, both known, so every loss that "
                  "sees z trains the encoder. The randomness only scales the logvar gradient.")


# ---------------------------------------------------------------------------------------------------------------
# Exercise 3: KL per latent dimension

def _kl_cases():
    generator = torch.Generator().manual_seed(3)
    return [(torch.randn(3, 5, generator=generator), torch.randn(3, 5, generator=generator)),
            (torch.randn(1, 7, generator=generator) * 2, torch.randn(1, 7, generator=generator) - 1)]


def _kl_expected(mu, logvar):
    return -0.5 * (1 + logvar - mu ** 2 - logvar.exp()).sum(0)


def check_kl_per_dimension(kl_per_dimension) -> Result:
    """Exercise 3: ``kl_per_dimension(mu, logvar)`` with (N, z_dim) inputs -> (z_dim,) KL of each latent
    dimension, summed over the batch; its sum is ``spade_lib.losses.kl_divergence(mu, logvar)``."""
    for mu, logvar in _kl_cases():
        answer, problem = call_student(kl_per_dimension, mu.clone(), logvar.clone())
        if problem is not None:
            return problem
        if answer is None:
            return hint("your function returns None: return a tensor of shape (z_dim,), the KL formula summed "
                        "over the batch (dim 0) only.")
        expected = _kl_expected(mu, logvar)
        if isinstance(answer, torch.Tensor):
            if answer.dim() == 0:
                return hint("that is one number for everything (kl_divergence itself): sum over dim 0 only, "
                            "and keep one value per latent dimension.")
            if answer.shape == mu.shape and mu.shape[0] > 1:
                return hint(f"your result has shape {tuple(answer.shape)}, one value per image and dimension: "
                            f"sum over the batch (dim 0) as well.")
            if answer.shape == expected.shape:
                if torch.allclose(answer, -expected):
                    return hint("the sign is flipped: KL = -1/2 * (1 + logvar - mu^2 - exp(logvar)) >= 0.")
                if mu.shape[0] > 1 and torch.allclose(answer, expected / mu.shape[0]):
                    return hint("that is a mean over the batch: SPADE's KL is a sum.")
        result = compare_tensors(answer, expected, "the KL per dimension")
        if not result:
            return hint("per element: -1/2 * (1 + logvar - mu^2 - exp(logvar)); then .sum(0). "
                        + result.message.removeprefix("not yet. Hint: "))
        if not torch.allclose(answer.sum(), kl_divergence(mu, logvar)):
            return hint("the values per dimension should add up to spade_lib.losses.kl_divergence(mu, logvar).")
    return passed("the dimensions add up to kl_divergence. Dimensions with a KL near 0 carry no style: their "
                  "mu stays near 0 and their sigma near 1 whatever the photo.")


# ---------------------------------------------------------------------------------------------------------------
# Solutions, shown with spade_lib.exercises.show_solution(7, n)

def _solution_1(input_size):
    """Exercise 1: each stride-2 conv halves the side; stop at 4. 256 -> 6, 128 -> 5, 64 -> 4."""
    layers = 0
    while input_size > 4:
        input_size //= 2
        layers += 1
    return layers  # = round(math.log2(input_size / 4))


def _solution_2(mu, logvar, eps):
    """Exercise 2: z = mu + eps * exp(logvar / 2), element by element, so the derivatives are element-wise too."""
    d_mu = torch.ones_like(mu)
    d_logvar = 0.5 * eps * torch.exp(0.5 * logvar)  # chain rule: d exp(u/2) / du = exp(u/2) / 2
    return d_mu, d_logvar


def _solution_3(mu, logvar):
    """Exercise 3: the KL formula element by element, summed over the batch only. In the lesson, count the
    dimensions that carry style with ``(kl_per_dimension(mu, logvar) / len(mu) > 0.1).sum()``."""
    return -0.5 * (1 + logvar - mu ** 2 - logvar.exp()).sum(0)


def _solution_4(encoder, dataset, styles, indices):
    """Exercise 4 (open), one possible answer: encode every layout in every style and compare how far apart the
    codes mu are when only the style changes and when only the layout changes.

    ``styles``: names from ``spade_lib.landscapes.STYLE_NAMES``; ``indices``: dataset indices (layouts). Returns
    (mean distance between styles for one layout, mean distance between layouts for one style). An encoder
    that learned style gives a first number clearly larger than the second."""
    device = next(encoder.parameters()).device
    images = torch.stack([torch.stack([dataset.render(i, s)["image"] for s in styles]) for i in indices])
    with torch.no_grad():
        mu, _ = encoder(images.flatten(0, 1).to(device))  # (layouts * styles, z_dim)
    mu = mu.view(len(indices), len(styles), -1).cpu()
    between_styles = torch.stack([torch.pdist(mu[i]).mean() for i in range(len(indices))]).mean()
    between_layouts = torch.stack([torch.pdist(mu[:, s]).mean() for s in range(len(styles))]).mean()
    return between_styles.item(), between_layouts.item()


SOLUTIONS = {1: _solution_1, 2: _solution_2, 3: _solution_3, 4: _solution_4}
