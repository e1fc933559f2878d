"""Fréchet Inception Distance (FID), optional: the Fréchet distance in the standard Inception feature space.

FID (Heusel et al. 2017) is ``metrics.frechet_distance`` between the 2048-d pooled features of one particular
Inception v3: the TensorFlow graph of 2015-12-05, an ImageNet classifier that every published FID uses.
torch-fidelity re-implements that graph in PyTorch ("inception-v3-compat", resizing to 299x299 as TensorFlow
does), so numbers made with its weights are comparable with published ones.

Why it is optional in this course (lesson 10 relies on the segmenter and texture distances in ``metrics``):

- Inception's features were learnt on ImageNet photographs; our images are 64x64 procedural landscapes blown up
  to 299x299. The distance still ranks our generators, but it is no FID of any published benchmark;
- the weights (about 90 MB) cannot ship with the course, and nothing here downloads at run time: download
  ``WEIGHTS_URL`` yourself once and pass the file with ``--inception-weights PATH``.

The file is opened safely before torch-fidelity sees it (it unpickles, i.e. can run code): it must load with
``torch.load(weights_only=True)`` (tensors only), and a SHA-256 other than the standard file's warns.

    >>> fake_features = inception_features(fake_images, "pt_inception-2015-12-05-6726825d.pth")
    >>> real_features = inception_features(real_images, "pt_inception-2015-12-05-6726825d.pth")
    >>> fid = frechet_distance(fake_features, real_features)
"""
import warnings
from pathlib import Path

import torch
from torch import nn

from .checkpoints import CheckpointError, file_digest
from .layers import batched

WEIGHTS_NAME = "pt_inception-2015-12-05-6726825d.pth"  # pytorch-fid's name; torch-fidelity's: weights-inception-...
WEIGHTS_URL = ("https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/"
               "weights-inception-2015-12-05-6726825d.pth")
WEIGHTS_SHA256_PREFIX = "6726825d"  # torch-hub convention: the name ends with the start of the file's SHA-256
OPTION = "--inception-weights"


def check_weights(path: Path) -> None:
    """Refuse anything but a file of tensors (CheckpointError); warn when it is not the standard FID Inception."""
    try:
        state_dict = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # pickled code (UnpicklingError), or not a torch file at all
        lines = [line.strip() for line in str(error).splitlines() if "WeightsUnpickler error" in line]
        reason = lines[0].split(". ")[0] if lines else f"{type(error).__name__}: {error}"
        raise CheckpointError(f"{path} is not a plain file of tensors: torch.load(weights_only=True) refused it "
                              f"({reason}). torch-fidelity would unpickle it, which can run code: use the "
                              f"weights from {WEIGHTS_URL}") from error
    if not (isinstance(state_dict, dict) and all(torch.is_tensor(t) for t in state_dict.values())):
        raise CheckpointError(f"{path} holds a {type(state_dict).__name__}, not an Inception state dict")
    if not file_digest(path).startswith(WEIGHTS_SHA256_PREFIX):
        warnings.warn(f"{path} is not the standard FID Inception ({WEIGHTS_NAME}, SHA-256 {WEIGHTS_SHA256_PREFIX}"
                      f"...): its Fréchet distances are not comparable with published FIDs", stacklevel=3)


def load_inception(weights_path) -> nn.Module:
    """torch-fidelity's FID Inception v3 with the weights at ``weights_path``, checked first; in eval mode."""
    path = Path(weights_path)
    if not path.is_file():
        raise FileNotFoundError(f"Inception weights {path} do not exist. Nothing is downloaded at run time: "
                                f"download {WEIGHTS_URL} yourself (the file pytorch-fid calls {WEIGHTS_NAME}) and "
                                f"pass its path with {OPTION} PATH")
    try:
        from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3
    except ImportError as error:
        raise ImportError("the Inception Fréchet distance needs torch-fidelity: pip install torch-fidelity "
                          "(or pip install 'spade_lib[inception]')") from error
    check_weights(path)
    # always a path: given None, torch-fidelity would download the weights
    return FeatureExtractorInceptionV3("inception-v3-compat", ["2048"],
                                       feature_extractor_weights_path=str(path)).eval()


@torch.no_grad()
def inception_features(images: torch.Tensor, weights_path, batch_size: int = 50) -> torch.Tensor:
    """(N, 2048) float64 Inception features of images (N, 3, H, W) in [-1, 1], any H and W (resized to 299)."""
    model = load_inception(weights_path).to(images.device)
    pixels = ((images.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)  # torch-fidelity takes 0..255 bytes
    return torch.cat([model(batch)[0] for batch in batched(pixels, batch_size)]).double()
