"""The official SPADE configurations and checkpoints: build our networks as NVlabs/SPADE does, and convert state
dicts to and from its names (course: "later" lessons on real datasets).

Official code: https://github.com/NVlabs/SPADE (``options/``, ``models/networks/``). The official names and shapes
are listed in ``tests/official_keys/``. Spectral norm is stored the old way there (``weight_orig``, ``weight_u``,
``weight_v``); ``load_official`` also reads the new way (``parametrizations.weight.original``, ``...0._u``, ``_v``).
"""
import os
from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional, Tuple, Union

import torch
import torch.nn as nn

from .discriminator import MultiscaleDiscriminator
from .encoder import StyleEncoder
from .generator import SPADEGenerator
from .labels import label_channels


@dataclass(frozen=True)
class OfficialDataset:
    """A dataset's official settings (``options/`` and ``data/*_dataset.py`` of the official code)."""

    name: str
    num_classes: int
    contain_dontcare: bool  # label 255 becomes an extra class
    use_instance: bool  # an instance-edge channel
    width: int  # crop size
    aspect_ratio: float
    upsampling: str

    @property
    def label_channels(self) -> int:
        return label_channels(self.num_classes, self.contain_dontcare, self.use_instance)

    def describe(self) -> str:
        extras = [" + don't care"] * self.contain_dontcare + [" + instance edges"] * self.use_instance
        return f"{self.name} ({self.num_classes} classes{''.join(extras)})"


DATASETS = {
    "ade20k": OfficialDataset("ADE20K", 150, True, False, 256, 1.0, "normal"),
    "cityscapes": OfficialDataset("Cityscapes", 35, False, True, 512, 2.0, "more"),
    "coco": OfficialDataset("COCO-Stuff", 182, True, True, 256, 1.0, "normal"),
}


def official_dataset(name: str) -> OfficialDataset:
    """The official settings of "ade20k", "cityscapes" or "coco"."""
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}: the official configurations are {', '.join(DATASETS)}")
    return DATASETS[name]


def generator(dataset: str, use_vae: bool = False) -> SPADEGenerator:
    """The official generator for a dataset (96.49 M parameters for ADE20K)."""
    d = official_dataset(dataset)
    return SPADEGenerator(d.label_channels, width=d.width, aspect_ratio=d.aspect_ratio, upsampling=d.upsampling,
                          use_vae=use_vae)


def discriminator(dataset: str) -> MultiscaleDiscriminator:
    """The official two-scale discriminator for a dataset: input = label channels + 3 (RGB)."""
    return MultiscaleDiscriminator(official_dataset(dataset).label_channels + 3)


def encoder() -> StyleEncoder:
    """The official style encoder (the same for every dataset: input resized to 256x256)."""
    return StyleEncoder()


# ----------------------------------------------------------------------------------------------------------------
# Names: ours <-> official

SPECTRAL_NORM_NAMES = {  # torch.nn.utils.parametrizations.spectral_norm -> the official torch.nn.utils.spectral_norm
    "parametrizations.weight.original": "weight_orig",
    "parametrizations.weight.0._u": "weight_u",
    "parametrizations.weight.0._v": "weight_v",
}


def official_prefixes(module: nn.Module) -> List[Tuple[str, str]]:
    """(our prefix, official prefix) for the submodules whose names differ; the generator's are all official."""
    if isinstance(module, MultiscaleDiscriminator):
        pairs = []
        for s, d in enumerate(module.discriminators):  # official: discriminator_s.model0 ... model{n_layers}
            pairs.append((f"discriminators.{s}.conv_in.", f"discriminator_{s}.model0.0."))
            pairs += [(f"discriminators.{s}.blocks.{k}.0.", f"discriminator_{s}.model{k + 1}.0.0.")
                      for k in range(len(d.blocks))]
            pairs.append((f"discriminators.{s}.conv_out.", f"discriminator_{s}.model{len(d.blocks) + 1}.0."))
        return pairs
    if isinstance(module, StyleEncoder):  # official: layer1 ... layer6
        return [(f"layers.{k}.0.", f"layer{k + 1}.0.") for k in range(len(module.layers))]
    if isinstance(module, SPADEGenerator):
        return []
    raise TypeError(f"expected a SPADEGenerator, MultiscaleDiscriminator or StyleEncoder, "
                    f"got {type(module).__name__}")


def official_name(key: str, prefixes: List[Tuple[str, str]]) -> str:
    """Our state-dict key (or an official one, with either spectral-norm naming) -> the official key."""
    for ours, theirs in prefixes:
        if key.startswith(ours):
            key = theirs + key[len(ours):]
            break
    for new, old in SPECTRAL_NORM_NAMES.items():
        if key.endswith(new):
            key = key[:-len(new)] + old
    return key


def official_state_dict(module: nn.Module) -> Dict[str, torch.Tensor]:
    """The module's state dict under the official names and shapes (old spectral-norm naming)."""
    prefixes = official_prefixes(module)
    return {official_name(key, prefixes): value for key, value in module.state_dict().items()}


# ----------------------------------------------------------------------------------------------------------------
# Loading


def load_official(module: nn.Module, state_dict: Union[Mapping[str, torch.Tensor], str, os.PathLike]) -> None:
    """Load an official checkpoint (a state dict or the path of a ``.pth`` file) into our module.

    Accepts the old (``weight_orig``, ``weight_u``, ``weight_v``) and new (``parametrizations.weight.*``)
    spectral-norm names. Raises a ValueError that names the mismatching setting (class count, don't care,
    instance edges, VAE) on a shape mismatch, and lists missing or unexpected keys."""
    if isinstance(state_dict, (str, os.PathLike)):
        state_dict = torch.load(state_dict, map_location="cpu", weights_only=True)
    prefixes = official_prefixes(module)
    ours = module.state_dict()
    to_ours = {official_name(key, prefixes): key for key in ours}  # official key -> our key
    converted, unexpected = {}, []
    for key, value in state_dict.items():
        official = official_name(key, prefixes)
        if official in to_ours:
            converted[to_ours[official]] = value
        else:
            unexpected.append(key)
    missing = [official for official, key in to_ours.items() if key not in converted]
    if missing or unexpected:
        raise ValueError(
            f"the checkpoint does not fit this {type(module).__name__}: "
            f"{len(missing)} keys missing ({_some(missing)}), {len(unexpected)} unexpected ({_some(unexpected)}). "
            f"Is it a checkpoint of this network (G, D or E), with the same n_layers / num_d / upsampling mode / "
            f"input size?")
    for official, key in to_ours.items():
        if converted[key].shape != ours[key].shape:
            raise ValueError(_shape_error(module, official, tuple(converted[key].shape), tuple(ours[key].shape)))
    module.load_state_dict(converted)


def _some(keys: List[str], n: int = 4) -> str:
    return ", ".join(keys[:n]) + (", ..." if len(keys) > n else "") if keys else "none"


def _label_extra_channels(module: nn.Module, official: str) -> Optional[int]:
    """For the weights of a conv over the segmap (dim 1 = label channels + extra), the extra channels; else None."""
    if official.endswith("mlp_shared.0.weight") or (official == "fc.weight" and not module.use_vae):
        return 0  # SPADE's first conv, the generator's first conv
    if official.startswith("discriminator_") and ".model0.0.weight" in official:
        return 3  # the discriminator sees concat(segmap, RGB image)
    return None


def _describe_label_channels(channels: int) -> str:
    for d in DATASETS.values():
        if d.label_channels == channels:
            return f"is for {d.describe()}"
    return (f"has {channels} = classes (+ 1 for a don't-care class) (+ 1 for an instance-edge channel), "
            f"which matches no official dataset")


def _shape_error(module: nn.Module, key: str, theirs: Tuple[int, ...], ours: Tuple[int, ...]) -> str:
    extra = _label_extra_channels(module, key)
    if extra is not None and len(theirs) == len(ours) and theirs[0] == ours[0] and theirs[2:] == ours[2:]:
        c_ckpt, c_model = theirs[1] - extra, ours[1] - extra
        return (f"{key} has {c_ckpt} label channels in the checkpoint but the model has {c_model}: the checkpoint "
                f"{_describe_label_channels(c_ckpt)}. Build the model with label_channels={c_ckpt} (e.g. with "
                f"spade_lib.official), or check the class count, the don't-care class and the instance-edge channel "
                f"(label_channels = classes + don't care + instance edges)")
    if key == "fc.weight" and len(theirs) != len(ours):
        vae = len(theirs) == 2
        return (f"fc.weight has shape {theirs} in the checkpoint but {ours} in the model: the checkpoint's generator "
                f"starts from {'a style vector z' if vae else 'the label map'}; build it with use_vae={vae}")
    return (f"{key} has shape {theirs} in the checkpoint but {ours} in the model: the checkpoint was built with "
            f"other widths (ngf / ndf / z_dim) or, for fc, another output size, aspect ratio or upsampling mode")
