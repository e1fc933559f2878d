r"""The losses that train SPADE: GAN, feature matching, perceptual (VGG19) and KL (lesson 06).

The generator minimises

.. math:: \mathcal{L}_G = \mathcal{L}_{GAN} + \lambda_{FM}\mathcal{L}_{FM} + \lambda_{VGG}\mathcal{L}_{VGG}
          + \lambda_{KL}\mathcal{L}_{KL},\qquad \lambda_{FM} = \lambda_{VGG} = 10,\ \lambda_{KL} = 0.05

and the discriminator minimises its GAN loss on real and on (detached) fake images. Every term follows the
official code (NVlabs/SPADE, ``models/networks/loss.py`` and ``models/pix2pix_model.py``) number for number.

Discriminator outputs everywhere in this module have the shape of ``MultiscaleDiscriminator``'s output:
``outputs[scale][layer]``, a list over scales of lists of feature maps, the last of each being the prediction.
The caller runs the networks; real and fake go through D in one call, concatenated along the batch (fake
first), and ``split_fake_real`` separates the halves, as the official code does.
"""
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional, Union

import torch
import torch.nn as nn
import torch.nn.functional as F

DOutputs = list[list[torch.Tensor]]  # outputs[scale][layer], last layer = prediction


# ---------------------------------------------------------------------------------------------------------------
# GAN losses, on one prediction map
# ---------------------------------------------------------------------------------------------------------------

def hinge(pred: torch.Tensor, target_is_real: bool, for_discriminator: bool) -> torch.Tensor:
    r"""Hinge loss (the SPADE default).

    .. math:: \mathcal{L}_D = \mathbb{E}[\max(0, 1 - D(x))] + \mathbb{E}[\max(0, 1 + D(G(s)))],\qquad
              \mathcal{L}_G = -\mathbb{E}[D(G(s))]

    written as the official code does: real ``-mean(min(x - 1, 0))``, fake ``-mean(min(-x - 1, 0))``.
    """
    if not for_discriminator:
        # L_G = -E[D(G(s))]
        return -pred.mean()
    if target_is_real:
        # L_D, real: E[max(0, 1 - D(x))]
        return -torch.clamp(pred - 1, max=0).mean()
    # L_D, fake: E[max(0, 1 + D(G(s)))]
    return -torch.clamp(-pred - 1, max=0).mean()


def bce(pred: torch.Tensor, target_is_real: bool, for_discriminator: bool) -> torch.Tensor:
    r"""The original GAN loss on logits (official name ``original``); G and D share it.

    .. math:: \mathcal{L} = -\mathbb{E}[t \log \sigma(x) + (1 - t) \log(1 - \sigma(x))],\quad t = 1 \text{ (real) or } 0
    """
    target = torch.full_like(pred, 1.0 if target_is_real else 0.0)
    # L = -E[t log sigmoid(x) + (1 - t) log(1 - sigmoid(x))]
    return F.binary_cross_entropy_with_logits(pred, target)


def least_squares(pred: torch.Tensor, target_is_real: bool, for_discriminator: bool) -> torch.Tensor:
    r"""Least-squares GAN (Mao et al. 2017; official name ``ls``); G and D share it.

    .. math:: \mathcal{L} = \mathbb{E}[(x - t)^2],\quad t = 1 \text{ (real) or } 0
    """
    # L = E[(x - t)^2], t = 1 (real) or 0
    return F.mse_loss(pred, torch.full_like(pred, 1.0 if target_is_real else 0.0))


def wasserstein(pred: torch.Tensor, target_is_real: bool, for_discriminator: bool) -> torch.Tensor:
    r"""Wasserstein critic loss (official name ``w``), without a gradient penalty, as in the official code.

    .. math:: \mathcal{L} = -\mathbb{E}[x] \text{ (real)},\qquad \mathcal{L} = \mathbb{E}[x] \text{ (fake)}
    """
    # L = -E[x] (real), E[x] (fake)
    return -pred.mean() if target_is_real else pred.mean()


GAN_LOSSES: dict[str, Callable[[torch.Tensor, bool, bool], torch.Tensor]] = {
    "hinge": hinge, "bce": bce, "least_squares": least_squares, "wasserstein": wasserstein}


# ---------------------------------------------------------------------------------------------------------------
# GAN loss over a multi-scale discriminator
# ---------------------------------------------------------------------------------------------------------------

def _check_outputs(outputs, name: str = "discriminator outputs") -> None:
    """Raise a ValueError unless ``outputs`` is a non-empty list over scales of non-empty lists of tensors."""
    if not isinstance(outputs, (list, tuple)) or not outputs:
        raise ValueError(f"{name} must be a non-empty list over scales (outputs[scale][layer]), "
                         f"got {type(outputs).__name__}")
    for k, scale in enumerate(outputs):
        if not isinstance(scale, (list, tuple)) or not scale or not all(isinstance(t, torch.Tensor) for t in scale):
            raise ValueError(f"{name}[{k}] must be a non-empty list of tensors (every block's output, the last "
                             f"being the prediction), got {type(scale).__name__}. Wrap a lone prediction p as [[p]].")


def gan_loss(outputs: DOutputs, target_is_real: bool, for_discriminator: bool,
             kind: str = "hinge") -> torch.Tensor:
    r"""GAN loss of a multi-scale discriminator: the loss of each scale's last output, averaged over scales.

    .. math:: \mathcal{L} = \frac{1}{N_D} \sum_{k=1}^{N_D} \ell\big(D_k^{(T)}\big)

    ``target_is_real``: what the prediction should say; ``for_discriminator``: False for the generator's loss,
    which always aims for "real". ``kind``: one of ``GAN_LOSSES`` (hinge, bce, least_squares, wasserstein).
    """
    if kind not in GAN_LOSSES:
        raise ValueError(f"unknown GAN loss kind {kind!r}; choose one of {sorted(GAN_LOSSES)}")
    if not for_discriminator and not target_is_real:
        raise ValueError("the generator's GAN loss aims for 'real': call it with target_is_real=True")
    _check_outputs(outputs)
    loss = GAN_LOSSES[kind]
    # L = 1/N_D sum_k loss(D_k's prediction)
    return torch.stack([loss(scale[-1], target_is_real, for_discriminator) for scale in outputs]).mean()


def split_fake_real(outputs: DOutputs) -> tuple[DOutputs, DOutputs]:
    """Split the outputs of D run on ``torch.cat([fake, real])`` into the fake half and the real half."""
    _check_outputs(outputs)
    batch = outputs[0][0].shape[0]
    if batch % 2:
        raise ValueError(f"batch of {batch} cannot be split into equal fake and real halves; run D on "
                         f"torch.cat([fake, real]) with as many fake as real images")
    half = batch // 2
    fake = [[t[:half] for t in scale] for scale in outputs]
    real = [[t[half:] for t in scale] for scale in outputs]
    return fake, real


# ---------------------------------------------------------------------------------------------------------------
# Feature matching
# ---------------------------------------------------------------------------------------------------------------

def feature_matching_loss(fake_outputs: DOutputs, real_outputs: DOutputs, weight: float = 10.0) -> torch.Tensor:
    r"""Feature matching (pix2pixHD): L1 between D's features of the fake and of the real image.

    .. math:: \mathcal{L}_{FM} = \frac{\lambda_{FM}}{N_D} \sum_{k=1}^{N_D} \sum_{i=1}^{T-1}
              \big\| D_k^{(i)}(\text{fake}) - D_k^{(i)}(\text{real}) \big\|_1

    over every intermediate layer i (all but the prediction) of every scale k; ``\|\cdot\|_1`` is the mean
    absolute difference. The real features are detached: this loss trains the generator only.
    ``weight`` is :math:`\lambda_{FM}` (10 in the paper).
    """
    _check_outputs(fake_outputs, "fake discriminator outputs")
    _check_outputs(real_outputs, "real discriminator outputs")
    if len(fake_outputs) != len(real_outputs):
        raise ValueError(f"fake outputs have {len(fake_outputs)} scales but real outputs {len(real_outputs)}")
    num_d = len(fake_outputs)
    loss = fake_outputs[0][0].new_zeros(())
    for k, (fake_scale, real_scale) in enumerate(zip(fake_outputs, real_outputs)):
        if len(fake_scale) != len(real_scale):
            raise ValueError(f"scale {k}: fake outputs have {len(fake_scale)} layers but real {len(real_scale)}")
        for i, (fake, real) in enumerate(zip(fake_scale[:-1], real_scale[:-1])):
            if fake.shape != real.shape:
                raise ValueError(f"scale {k}, layer {i}: fake features {tuple(fake.shape)} and real features "
                                 f"{tuple(real.shape)} differ in shape")
            # L_FM = lambda_FM / N_D sum_k sum_i ||D_k^(i)(fake) - D_k^(i)(real)||_1
            loss = loss + F.l1_loss(fake, real.detach()) * weight / num_d
    return loss


# ---------------------------------------------------------------------------------------------------------------
# KL divergence of the style encoder
# ---------------------------------------------------------------------------------------------------------------

def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    r"""KL divergence of :math:`\mathcal{N}(\mu, \sigma^2)` from :math:`\mathcal{N}(0, 1)`, summed over batch
    and latent dimensions (a sum, not a mean, as in the official code), with :math:`\log\sigma^2` = ``logvar``:

    .. math:: \mathcal{L}_{KL} = -\tfrac{1}{2} \sum \big(1 + \log\sigma^2 - \mu^2 - \sigma^2\big)
    """
    if mu.shape != logvar.shape:
        raise ValueError(f"mu {tuple(mu.shape)} and logvar {tuple(logvar.shape)} must have the same shape")
    # L_KL = -1/2 sum(1 + log sigma^2 - mu^2 - sigma^2)
    return -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())


# ---------------------------------------------------------------------------------------------------------------
# Perceptual loss: VGG19 features
# ---------------------------------------------------------------------------------------------------------------

VGG19_URL = "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth"  # torchvision's VGG19_Weights.IMAGENET1K_V1
VGG19_SLICES = (0, 2, 7, 12, 21, 30)  # features[0:2], [2:7], ..., [21:30] end at relu1_1, relu2_1, ..., relu5_1
VGG_LAYER_WEIGHTS = (1 / 32, 1 / 16, 1 / 8, 1 / 4, 1.0)


def vgg19_cache_path() -> Path:
    """Where torchvision caches VGG19's ImageNet weights: ``<torch.hub.get_dir()>/checkpoints/vgg19-dcbb9e9d.pth``."""
    return Path(torch.hub.get_dir()) / "checkpoints" / VGG19_URL.rsplit("/", 1)[1]


def download_vgg19(progress: bool = True) -> Path:
    """Download torchvision's VGG19 ImageNet weights (548 MB) into torchvision's cache, checking the file's hash.

    The only function here that touches the network; call it once, explicitly. Returns the file's path."""
    path = vgg19_cache_path()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        hash_prefix = torch.hub.HASH_REGEX.search(path.name).group(1)
        torch.hub.download_url_to_file(VGG19_URL, str(path), hash_prefix=hash_prefix, progress=progress)
    return path


def _find_vgg19_weights(weights: Optional[Union[str, Path]]) -> Path:
    """The weights file to load: the user's path, else torchvision's cache; a clear error when neither exists."""
    path = Path(weights) if weights is not None else vgg19_cache_path()
    if path.is_file():
        return path
    where = "the path you gave" if weights is not None else "torchvision's cache"
    raise FileNotFoundError(
        f"VGG19 weights for the perceptual loss not found. Looked in {where}: {path}\n"
        f"Nothing is downloaded without your say-so. Either\n"
        f"  - download them once (548 MB): spade_lib.losses.download_vgg19(), or\n"
        f"  - pass the path of a VGG19 state dict (.pth or .safetensors): VGGLoss(weights='path/to/vgg19.pth'), or\n"
        f"  - train without the perceptual loss: LossWeights(perceptual=False)\n"
        f"    (lower quality: in the paper's ablation, ADE20K mIoU drops from 38.5 to 30.1).")


def load_vgg19_state_dict(path: Union[str, Path]) -> dict[str, torch.Tensor]:
    """Read a VGG19 state dict with torchvision's key names from .safetensors or .pth (tensors only, no pickle)."""
    path = Path(path)
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file
        return load_file(str(path))
    return torch.load(path, map_location="cpu", weights_only=True)


class VGG19Features(nn.Module):
    """The first 30 layers of torchvision's ``vgg19().features``, returning relu1_1, relu2_1, ..., relu5_1.

    Parameter names match torchvision's (``features.0.weight``, ...), so its state dict loads as is."""

    def __init__(self):
        super().__init__()
        layers, channels = [], 3
        for width in (64, 64, "pool", 128, 128, "pool", 256, 256, 256, 256, "pool", 512, 512, 512, 512, "pool", 512):
            if width == "pool":
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            else:
                layers += [nn.Conv2d(channels, width, kernel_size=3, padding=1), nn.ReLU(inplace=True)]
                channels = width
        self.features = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        outputs = []
        for start, end in zip(VGG19_SLICES[:-1], VGG19_SLICES[1:]):
            x = self.features[start:end](x)
            outputs.append(x)  # (N, 64, H, W), (N, 128, H/2, W/2), ..., (N, 512, H/16, W/16)
        return outputs

    def load_torchvision_state_dict(self, state_dict: dict[str, torch.Tensor]) -> None:
        """Load a torchvision VGG19 state dict; its later layers and classifier are not needed and are skipped."""
        mine = self.state_dict()
        missing = [key for key in mine if key not in state_dict]
        if missing:
            shown = ", ".join(missing[:3]) + (", ..." if len(missing) > 3 else "")
            raise ValueError(f"not a torchvision VGG19 state dict: it lacks {shown}")
        self.load_state_dict({key: state_dict[key] for key in mine})


class VGGLoss(nn.Module):
    r"""Perceptual loss: L1 between VGG19 features of the fake and of the real image.

    .. math:: \mathcal{L}_{VGG} = \sum_{l=1}^{5} w_l \big\| \phi_l(\text{fake}) - \phi_l(\text{real}) \big\|_1,
              \qquad w = (\tfrac{1}{32}, \tfrac{1}{16}, \tfrac{1}{8}, \tfrac{1}{4}, 1)

    with :math:`\phi_l` = relu1_1, ..., relu5_1 and ``\|\cdot\|_1`` the mean absolute difference. Unweighted
    like the official ``VGGLoss``: the composition multiplies it by :math:`\lambda_{VGG}` = 10. Images go in as
    they are, in [-1, 1], *without* ImageNet normalization, exactly as the official code feeds them.

    ``loss(fake, real)``: the order matters. The real image's features are constants; the gradient flows into
    ``fake`` only (swapping the two would train nothing). The VGG is frozen (no gradients, eval mode; its
    layers have no dropout or batch norm, so train/eval do not change its output).

    ``weights``: a path to a VGG19 state dict (.pth or .safetensors, torchvision's key names) or the state
    dict itself; by default torchvision's cached ImageNet file. A missing file raises an error that says how to
    get it.
    """

    def __init__(self, weights: Optional[Union[str, Path, dict]] = None):
        super().__init__()
        self.vgg = VGG19Features()
        if not isinstance(weights, dict):
            weights = load_vgg19_state_dict(_find_vgg19_weights(weights))
        self.vgg.load_torchvision_state_dict(weights)
        self.vgg.eval().requires_grad_(False)
        self.layer_weights = VGG_LAYER_WEIGHTS

    def forward(self, fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        if fake.shape != real.shape:
            raise ValueError(f"fake {tuple(fake.shape)} and real {tuple(real.shape)} images differ in shape")
        with torch.no_grad():
            real_features = self.vgg(real)
        fake_features = self.vgg(fake)
        # L_VGG = sum_l w_l ||phi_l(fake) - phi_l(real)||_1, w = (1/32, 1/16, 1/8, 1/4, 1)
        return sum(w * F.l1_loss(f, r) for w, f, r in zip(self.layer_weights, fake_features, real_features))


# ---------------------------------------------------------------------------------------------------------------
# Putting the terms together
# ---------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class LossWeights:
    """The paper's weights: feature matching 10, perceptual 10, KL 0.05, hinge GAN loss.

    ``perceptual=False`` trains without the VGG loss (no VGG19 weights needed); ``feat=0`` drops feature
    matching."""

    feat: float = 10.0
    vgg: float = 10.0
    kl: float = 0.05
    gan_kind: str = "hinge"
    perceptual: bool = True


def generator_loss_terms(d_fake: DOutputs, d_real: DOutputs, fake: torch.Tensor, real: torch.Tensor,
                         mu: Optional[torch.Tensor] = None, logvar: Optional[torch.Tensor] = None,
                         vgg: Optional[VGGLoss] = None,
                         weights: LossWeights = LossWeights()) -> dict[str, torch.Tensor]:
    """The generator's loss terms, each already weighted; their sum is the loss to minimise.

    ``d_fake``, ``d_real``: D's outputs on the (not detached) fake image and on the real image (see
    ``split_fake_real``). ``mu``, ``logvar``: the style encoder's output when training with the VAE; they must
    come from the same graph as ``fake`` (an encoder run under ``torch.no_grad`` never learns).
    Returns a dict with "gan", "feat" (unless ``weights.feat`` is 0), "vgg" (if ``weights.perceptual``) and
    "kl" (if ``mu`` is given).
    """
    terms = {"gan": gan_loss(d_fake, target_is_real=True, for_discriminator=False, kind=weights.gan_kind)}
    if weights.feat:
        terms["feat"] = feature_matching_loss(d_fake, d_real, weight=weights.feat)
    return {**terms, **perceptual_and_kl_terms(fake, real, mu, logvar, vgg, weights)}


def perceptual_and_kl_terms(fake: torch.Tensor, real: torch.Tensor, mu: Optional[torch.Tensor] = None,
                            logvar: Optional[torch.Tensor] = None, vgg: Optional[VGGLoss] = None,
                            weights: LossWeights = LossWeights()) -> dict[str, torch.Tensor]:
    """The generator's terms that do not read D, each weighted: "vgg" (if ``weights.perceptual``) and "kl" (if
    ``mu`` is given); arguments as for ``generator_loss_terms``."""
    terms = {}
    if weights.perceptual:
        if vgg is None:
            raise ValueError("weights.perceptual is True but no vgg was given: pass vgg=VGGLoss(), or "
                             "weights=LossWeights(perceptual=False) to train without the perceptual loss")
        terms["vgg"] = vgg(fake, real) * weights.vgg
    if (mu is None) != (logvar is None):
        raise ValueError("pass both mu and logvar (training with the style encoder) or neither")
    if mu is not None:
        terms["kl"] = kl_divergence(mu, logvar) * weights.kl
    return terms


def discriminator_loss_terms(d_fake: DOutputs, d_real: DOutputs, kind: str = "hinge") -> dict[str, torch.Tensor]:
    """The discriminator's loss terms "d_fake" and "d_real"; their sum is the loss to minimise.

    ``d_fake`` must come from a *detached* fake image (``generator(...).detach()``), so that D's loss does not
    reach the generator."""
    return {"d_fake": gan_loss(d_fake, target_is_real=False, for_discriminator=True, kind=kind),
            "d_real": gan_loss(d_real, target_is_real=True, for_discriminator=True, kind=kind)}
