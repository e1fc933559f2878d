"""The official SPADE configurations and checkpoints: build our networks as NVlabs/SPADE does, convert state
dicts to and from its names, and load the official pretrained generators (lesson 11).

    >>> download_official_checkpoints()          # once: python -m spade_lib.download official-checkpoints
    >>> netG = pretrained("ade20k")               # eval mode, the official outputs

Official code: https://github.com/NVlabs/SPADE (``options/``, ``models/networks/``). The official names and shapes
are listed in ``tests/official_keys/``. Spectral norm is stored the old way there (``weight_orig``, ``weight_u``,
``weight_v``); ``load_official`` also reads the new way (``parametrizations.weight.original``, ``...0._u``, ``_v``).
"""
import json
import os
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Tuple, Union

import torch
import torch.nn as nn
from safetensors import SafetensorError, safe_open
from safetensors.torch import save as safetensors_save

from . import __version__, checkpoints, download
from .checkpoints import atomic_write_bytes
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
    """The official generator for a dataset (96.49 M parameters for ADE20K). Where the dataset has instance maps
    (Cityscapes, COCO-Stuff) its last label channel is the instance-edge map, so plain class ids are refused with
    a message saying how to pass instances (``make_segmap(ids, classes, instances, contain_dontcare=...)``)."""
    d = official_dataset(dataset)
    return SPADEGenerator(d.label_channels, width=d.width, aspect_ratio=d.aspect_ratio, upsampling=d.upsampling,
                          use_vae=use_vae, instance_edges=d.use_instance)


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


# ----------------------------------------------------------------------------------------------------------------
# The official pretrained generators (official README, "Generating Images Using Pretrained Model"): one archive,
# checkpoints.tar.gz, that extracts to checkpoints/{ade20k,cityscapes,coco}_pretrained/latest_net_G.pth. Each .pth
# is a pickle of the generator's state dict (util/util.py save_network: torch.save(net.cpu().state_dict(), ...)),
# so torch.load(weights_only=True), which unpickles tensors and plain containers only, reads it. We convert it
# once to safetensors (no pickle at all) next to a JSON card, and load that from then on.

LICENCE = (f"{download.REGISTRY['official-checkpoints'].terms} The datasets they were trained on have their own "
           f"terms:\n"
           f"- {download.REGISTRY['ade20k'].terms}\n- {download.REGISTRY['coco'].terms}\n- {download.CITYSCAPES_TERMS}")
LICENCE_MARKER = ".official-licence-shown"
CHECKPOINT_FORMAT = "spade_lib-official-generator-1"
DOWNLOAD_HINT = "python -m spade_lib.download official-checkpoints (spade_lib.official.download_official_checkpoints())"


def checkpoints_folder(root: Optional[Union[str, os.PathLike]] = None) -> Path:
    """Where the official archive is extracted: ``<root>/checkpoints`` (root: ``spade_lib.download.default_root``)."""
    root = Path(root).expanduser() if root is not None else download.default_root()
    return root / download.REGISTRY["official-checkpoints"].folder


def download_official_checkpoints(root=None, from_file=None) -> Path:
    """Download the official checkpoints.tar.gz (Google Drive, about 1 GB; or use ``from_file``, the archive
    downloaded by hand) and extract it into ``<root>/checkpoints``; returns that folder."""
    return download.fetch("official-checkpoints", root, from_file)


def show_licence_once(root=None) -> None:
    """Print the licence of the official weights the first time they are used under ``root`` (a marker file
    records that it was shown)."""
    marker = checkpoints_folder(root) / LICENCE_MARKER
    if not marker.exists():
        print(LICENCE)
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text("The licence of the official SPADE weights was shown.\n")


def pretrained(dataset: str, root=None, device="cpu") -> SPADEGenerator:
    """The official pretrained generator of "ade20k", "cityscapes" or "coco", in eval mode on ``device``.

    Needs the official archive, extracted by ``download_official_checkpoints(root)``. The first call converts
    ``latest_net_G.pth`` to ``latest_net_G.safetensors`` (+ ``latest_net_G.json``, its card); later calls read the
    safetensors file only."""
    official_dataset(dataset)
    show_licence_once(root)
    weights = converted_path(dataset, root)
    net = read_converted(dataset, weights) if weights.is_file() else convert_official_generator(dataset, root)
    return net.to(device).eval()


def converted_path(dataset: str, root=None) -> Path:
    return checkpoints_folder(root) / f"{dataset}_pretrained" / "latest_net_G.safetensors"


def read_converted(dataset: str, weights: Path) -> SPADEGenerator:
    """The generator in a safetensors file written by ``convert_official_generator``."""
    try:
        with safe_open(str(weights), framework="pt") as handle:
            metadata = handle.metadata() or {}
            tensors = {key: handle.get_tensor(key) for key in handle.keys()}
    except SafetensorError as error:
        raise ValueError(f"{weights} is damaged ({error}); delete it, and pretrained({dataset!r}) converts the "
                         f".pth again") from None
    if metadata.get("format") != CHECKPOINT_FORMAT or metadata.get("dataset") != dataset:
        raise ValueError(f"{weights} is not the {dataset} generator written by spade_lib.official.pretrained; "
                         f"delete it to convert the .pth again")
    net = generator(dataset, use_vae=metadata["use_vae"] == "True")
    load_official(net, tensors)
    return net


def find_official_pth(dataset: str, root=None) -> Path:
    """``<dataset>_pretrained/latest_net_G.pth`` in the extracted archive, or an error saying how to get it."""
    folder = checkpoints_folder(root)
    found = sorted(folder.rglob(f"{dataset}_pretrained/latest_net_G.pth")) if folder.is_dir() else []
    if not found:
        raise FileNotFoundError(f"no official {dataset} checkpoint in {folder} (expected {folder}/{dataset}_pretrained/"
                                f"latest_net_G.pth). Download and extract the official checkpoints first: "
                                f"{DOWNLOAD_HINT}")
    return found[0]


def read_official_pth(path: Path) -> Dict[str, torch.Tensor]:
    """An official ``.pth`` state dict, read without running any code from the file (``weights_only=True``)."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        raise ValueError(f"{path} holds more than tensors, which weights_only=True refuses to load ({error}); an "
                         f"official net_G file holds only its state dict: download it again") from None
    if not isinstance(state, Mapping) or not all(isinstance(t, torch.Tensor) for t in state.values()):
        raise ValueError(f"{path} is not a state dict (a mapping of names to tensors): not an official net_G file")
    return dict(state)


def convert_official_generator(dataset: str, root=None) -> SPADEGenerator:
    """Convert the official ``latest_net_G.pth`` of ``dataset`` to safetensors next to it, once, after checking
    that it loads into the official generator (every key and shape); returns that generator."""
    pth = find_official_pth(dataset, root)
    state = read_official_pth(pth)
    use_vae = state["fc.weight"].dim() == 2 if "fc.weight" in state else False  # VAE: fc is Linear(z_dim, ...)
    net = generator(dataset, use_vae=use_vae)
    load_official(net, state)
    tensors = {key: t.contiguous() for key, t in official_state_dict(net).items()}
    card = {"format": CHECKPOINT_FORMAT, "dataset": dataset, "settings": official_dataset(dataset).describe(),
            "use_vae": use_vae, "parameters": sum(p.numel() for p in net.parameters()),
            "source": download.REGISTRY["official-checkpoints"].files[0].page, "converted_from": pth.name,
            "converted_from_sha256": checkpoints.file_digest(pth), "licence": "CC BY-NC-SA 4.0 (NVIDIA Corporation)",
            "spade_lib_version": __version__}
    target = converted_path(dataset, root)
    atomic_write_bytes(target.with_suffix(".json"), (json.dumps(card, indent=2) + "\n").encode())
    atomic_write_bytes(target, safetensors_save(tensors, metadata={key: str(v) for key, v in card.items()}))
    print(f"Converted {pth} to {target} (safetensors: no pickle from now on).")
    return net
