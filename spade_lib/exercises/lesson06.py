"""Exercise checks for lesson 06, the losses of GauGAN (``notebooks/06_losses.ipynb``).

1. the discriminator's hinge loss written as the paper does, with max (easy)
2. find the bug hidden in ``mystery_step`` with the gradient-flow check (medium)
3. the gradient each GAN loss sends into D's score on the generator's side (medium)
4. an R1 gradient penalty and its place in the gradient-flow check (open; a possible answer in ``SOLUTIONS``)

Every ``check_*`` returns a :class:`~spade_lib.exercises.Result`: it prints a pass or a hint and never raises.
"""
import torch

from . import Result, call_student, compare_tensors, hint, passed
from ..encoder import reparameterize
from ..losses import GAN_LOSSES, discriminator_loss_terms, generator_loss_terms, hinge, split_fake_real


# ---------------------------------------------------------------------------------------------------------------
# Exercise 1: hinge loss with max

def _hinge_cases():
    torch.manual_seed(6)
    return [(torch.tensor([2.0, 0.5, -1.0]), torch.tensor([-2.0, -0.5, 1.0])),  # easy, margin, wrong side
            (torch.randn(2, 1, 5, 5) * 2, torch.randn(2, 1, 5, 5) * 2)]  # patch maps, as D outputs them


def check_hinge_d(hinge_d_loss) -> Result:
    """Exercise 1: ``hinge_d_loss(real_scores, fake_scores)`` = mean(max(0, 1 - real)) + mean(max(0, 1 + fake))."""
    for real, fake in _hinge_cases():
        answer, problem = call_student(hinge_d_loss, real, fake)
        if problem is not None:
            return problem
        if answer is None:
            return hint("your function returns None: return the loss, a 0-dim tensor "
                        "(torch.relu(1 - real_scores).mean() is the real half).")
        expected = hinge(real, True, True) + hinge(fake, False, True)
        if isinstance(answer, torch.Tensor) and answer.shape != expected.shape:
            return hint(f"the loss should be one number (a 0-dim tensor); yours has shape {tuple(answer.shape)}: "
                        f"take the mean of each half.")
        result = compare_tensors(answer, expected, "the hinge loss")
        if not result:
            only_real = hinge(real, True, True)
            if isinstance(answer, torch.Tensor) and torch.allclose(answer.double(), only_real.double()):
                return hint("that is only the real half: add mean(max(0, 1 + fake_scores)).")
            return hint("a real score should cost max(0, 1 - x) (nothing once x >= 1) and a fake score "
                        "max(0, 1 + x) (nothing once x <= -1); average each over all its elements, then add. "
                        + result.message.removeprefix("not yet. Hint: "))
    return passed("your max-form hinge loss equals the official min-form one: "
                  "max(0, 1 - x) = -min(x - 1, 0).")


# ---------------------------------------------------------------------------------------------------------------
# Exercise 2: find the bug

BUG_CHOICES = {"A": "the encoder runs under torch.no_grad()",
               "B": "z is detached between the encoder and the generator",
               "C": "the perceptual loss is called as vgg(real, fake)",
               "D": "feature matching does not detach the real features"}


def mystery_step(nets: dict, segmap: torch.Tensor, real: torch.Tensor) -> dict:
    """The six loss terms of one training step, like the lesson's ``step_terms``, with one bug hidden inside.

    ``nets``: a dict with "generator", "encoder", "discriminator" and "vgg" (a ``VGGLoss``). Run the gradient-flow
    check on the result to find out which of ``BUG_CHOICES`` it is (no peeking at the source!)."""
    generator, encoder, discriminator, vgg = (nets[k] for k in ("generator", "encoder", "discriminator", "vgg"))
    mu, logvar = encoder(real.detach())
    z = reparameterize(mu, logvar).detach()
    fake = generator(segmap, z)
    pair = torch.cat([segmap, segmap])
    d_fake, d_real = split_fake_real(discriminator(pair, torch.cat([fake, real])))
    terms = generator_loss_terms(d_fake, d_real, fake, real, mu, logvar, vgg=vgg)
    d_fake, d_real = split_fake_real(discriminator(pair, torch.cat([fake.detach(), real])))
    terms.update(discriminator_loss_terms(d_fake, d_real))
    return terms


def check_mystery(answer) -> Result:
    """Exercise 2: which bug hides in ``mystery_step``? Answer "A", "B", "C" or "D" (see ``BUG_CHOICES``)."""
    if answer is None:
        return hint("run the gradient-flow check on the mystery terms (flow_table and problems, or plot_flow), "
                    "then set answer to one of 'A', 'B', 'C', 'D'.")
    letter = str(answer).strip().upper()
    if letter not in BUG_CHOICES:
        return hint(f"answer with one letter, 'A', 'B', 'C' or 'D', not {answer!r}.")
    if letter == "B":
        return passed("B: the kl row still reaches the encoder (mu and logvar are in the graph), but gan, feat and "
                      "vgg do not: the path encoder -> z -> generator is cut right after the encoder.")
    return hint({
        "A": "with the encoder under no_grad, even the kl term would miss the encoder. Look at the kl row.",
        "C": "with vgg(real, fake), the vgg row would miss the generator and reach the real image. Does it?",
        "D": "without the detach, the feat row would reach the real image. Does it?",
    }[letter])


# ---------------------------------------------------------------------------------------------------------------
# Exercise 3: the gradient G gets from each GAN loss

def _generator_gradients(score: float) -> dict:
    """d(generator's GAN loss) / d(score) for each kind, at one score."""
    gradients = {}
    for kind, loss in GAN_LOSSES.items():
        x = torch.tensor([float(score)], requires_grad=True)
        loss(x, True, False).backward()
        gradients[kind] = x.grad.item()
    return gradients


def check_generator_gradients(generator_gradients) -> Result:
    """Exercise 3: ``generator_gradients(score)`` -> {kind: d L_G / d score} for every kind in GAN_LOSSES."""
    for score in (-4.0, 0.5):
        answer, problem = call_student(generator_gradients, score)
        if problem is not None:
            return problem
        if answer is None:
            return hint("your function returns None: return a dict {kind: gradient} with one float per kind in "
                        "losses.GAN_LOSSES. For one kind: x = torch.tensor([score], requires_grad=True), "
                        "loss(x, True, False).backward(), then x.grad.item().")
        if not isinstance(answer, dict) or set(answer) != set(GAN_LOSSES):
            keys = sorted(answer) if isinstance(answer, dict) else type(answer).__name__
            return hint(f"return a dict with exactly the keys {sorted(GAN_LOSSES)}, got {keys}.")
        expected = _generator_gradients(score)
        try:
            values = {kind: float(value) for kind, value in answer.items()}
        except (TypeError, ValueError):
            return hint("each value should be one number (x.grad.item()), not a tensor of several values.")
        for kind, value in values.items():
            if abs(value - expected[kind]) <= 1e-4 * (1 + abs(expected[kind])):
                continue
            if abs(value + expected[kind]) <= 1e-4 * (1 + abs(expected[kind])):
                return hint(f"{kind}: your gradient has the wrong sign. Differentiate the loss G minimises, "
                            f"loss(x, target_is_real=True, for_discriminator=False).")
            d_side = GAN_LOSSES[kind]
            x = torch.tensor([score], requires_grad=True)
            d_side(x, False, True).backward()
            if abs(value - x.grad.item()) <= 1e-4 * (1 + abs(x.grad.item())):
                return hint(f"{kind}: that is the discriminator's gradient on a fake; the generator's loss is "
                            f"loss(x, target_is_real=True, for_discriminator=False).")
            return hint(f"{kind} at score {score}: expected a different gradient than {value:.4g}. Use a fresh "
                        f"x = torch.tensor([score], requires_grad=True) for each kind (gradients accumulate).")
    return passed("at x = -4 least squares pushes hardest (-10), BCE about -0.98, hinge and Wasserstein -1: "
                  "every G loss here still pushes when D is sure. The saturating log(1 - sigmoid(x)) would give "
                  "only -0.018.")


# ---------------------------------------------------------------------------------------------------------------
# Solutions, shown with spade_lib.exercises.show_solution(6, n)

def _solution_1(real_scores, fake_scores):
    """Exercise 1. max(0, 1 - x) = relu(1 - x): D pays for real scores below +1 and fake scores above -1."""
    return torch.relu(1 - real_scores).mean() + torch.relu(1 + fake_scores).mean()


def _solution_2(nets, segmap, real, flow_table, problems, parts):
    """Exercise 2: the answer is "B" (z detached).

    The check prints: gan, feat and vgg do not reach the encoder, but kl does. mu and logvar are in the graph
    (else kl would miss the encoder too: bug A), so the cut lies between them and the generator: z.detach().
    The vgg row reaches the generator and not the real image (not C); feat does not reach the real image (not D).
    """
    terms = mystery_step(nets, segmap, real)
    print(problems(terms, flow_table(terms, parts), parts))
    return "B"


def _solution_3(score):
    """Exercise 3: one fresh leaf per kind, the generator's loss, backward, read the gradient."""
    gradients = {}
    for kind, loss in GAN_LOSSES.items():
        x = torch.tensor([float(score)], requires_grad=True)
        loss(x, True, False).backward()  # target_is_real=True, for_discriminator=False: the G side
        gradients[kind] = x.grad.item()
    return gradients


def _solution_4(discriminator, segmap, real, gamma=10.0):
    """Exercise 4 (open), one possible answer: the R1 penalty (Mescheder et al. 2018) for a multi-scale D.

    R1 = gamma / 2 * E ||d D(real) / d real||^2, on real images only, summed over D's scales here. Add it to the
    D loss in step_terms: terms["r1"] = r1_penalty(D, segmap, real). In the check it must reach the
    discriminator (it trains D: create_graph=True keeps the gradient differentiable) and must not reach the
    generator or the encoder; it does reach the real image, which is harmless. So:
    MUST_REACH["r1"] = {"discriminator"}; MUST_NOT_REACH["r1"] = {"generator", "encoder", "vgg"}.
    """
    real = real.detach().requires_grad_()
    scores = sum(scale[-1].sum() for scale in discriminator(segmap, real))
    (gradient,) = torch.autograd.grad(scores, real, create_graph=True)
    return gamma / 2 * gradient.pow(2).flatten(1).sum(1).mean()


SOLUTIONS = {1: _solution_1, 2: _solution_2, 3: _solution_3, 4: _solution_4}
