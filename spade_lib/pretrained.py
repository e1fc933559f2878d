"""Models shipped with the course (``data/``), ready to sample offline on any laptop (lessons 03, 07, 09, 10).

A shipped model is a folder with two safetensors files, ``generator.safetensors`` (the EMA generator) and
``encoder.safetensors`` (the style encoder), plus ``MODEL_CARD.md``. Each file carries, in its safetensors
metadata, the training configuration, the library version that wrote it and where it came from (steps, time,
hardware), so loading can check that this spade_lib builds the very network the weights belong to. Weights may
be stored in float16 (half the size); they are loaded as float32.

    >>> generator, encoder, config = load_classroom()          # data/classroom/, 64x64 Landscapes
    >>> images = spade_lib.training.generate(generator, encoder, labels)
"""
import json
from pathlib import Path
from typing import Optional, Union

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save as safetensors_save

from . import __version__, checkpoints
from .release import REPOSITORY
from .training import TrainConfig, build_encoder, build_generator, config_from_dict, load_generator

FORMAT = "spade_lib-model-1"
DATA_DIR = Path(__file__).resolve().parent.parent / "data"  # the course repository's data/ folder
CLASSROOM_DIR = DATA_DIR / "classroom"
RETRAIN_HINT = ("python -m spade_lib train --preset classroom --out runs/classroom, then "
                "python data/classroom/export.py runs/classroom")
PathLike = Union[str, Path]


class ModelNotFoundError(FileNotFoundError):
    """A shipped model's file is missing: the message says how to get it or train it again."""


def same_minor_version(a: str, b: str) -> bool:
    """``0.1.0`` and ``0.1.3`` agree; ``0.1.0`` and ``0.2.0`` do not (a new minor version may change networks)."""
    return a.split(".")[:2] == b.split(".")[:2]


# -----------------------------------------------------------------------------------------------------------------
# Writing: a training checkpoint -> a small shipped model


def export_model(checkpoint: PathLike, folder: PathLike, half: bool = True, info: Optional[dict] = None) -> dict:
    """Write the EMA generator and the encoder of ``checkpoint`` into ``folder`` (atomically); returns the
    generator file's metadata. ``half``: store float16 (the networks compute in float32 after loading).
    ``info``: more facts for the metadata (hardware, training minutes); values are turned into strings."""
    generator, encoder, config = load_generator(checkpoint, ema=True)
    state = checkpoints.read_state(checkpoints.resolve(checkpoint))
    metadata = {"format": FORMAT, "config": json.dumps(config.__dict__), "steps": state["step"], **(info or {})}
    written = {}
    for name, net in (("generator", generator), ("encoder", encoder)):
        if net is not None:
            tensors = {key: t.half() if half and t.is_floating_point() else t for key, t in net.state_dict().items()}
            path = Path(folder) / f"{name}.safetensors"
            written[name] = write_weights(path, tensors, {**metadata, "network": name})
    return written["generator"]


def training_minutes(state: dict) -> float:
    """Minutes a checkpoint's run spent training, from its loss history: each entry covers ``log_every`` steps
    of ``batch_size`` images at the recorded images per second (checkpoint writing not counted)."""
    images = state["config"]["log_every"] * state["config"]["batch_size"]
    return sum(images / entry["images_per_second"] for entry in state["history"]) / 60


# -----------------------------------------------------------------------------------------------------------------
# Weights files shipped in data/: safetensors with the writing library's version in their metadata


def write_weights(path: Path, tensors: dict[str, torch.Tensor], metadata: dict) -> dict:
    """Write ``tensors`` to ``path`` (atomically), with ``metadata`` and this library's version, as strings."""
    metadata = {key: str(value) for key, value in {**metadata, "spade_lib_version": __version__}.items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    data = safetensors_save({key: t.contiguous() for key, t in tensors.items()}, metadata=metadata)
    checkpoints.atomic_write_bytes(path, data)
    return metadata


def read_weights(path: Path, retrain: str) -> tuple[dict[str, torch.Tensor], dict]:
    """(tensors, metadata) of a file written by ``write_weights``; errors for a missing, damaged or other-version
    file say what to do, ``retrain`` being the command that makes the file again."""
    if not path.is_file():
        raise ModelNotFoundError(f"{path} does not exist. It ships with the course repository (git clone "
                                 f"{REPOSITORY}, folder data/); or train it again: {retrain}")
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
            tensors = {key: handle.get_tensor(key) for key in handle.keys()}
    except SafetensorError as error:
        raise checkpoints.CheckpointError(f"{path} is damaged (not a valid safetensors file: {error}); get it "
                                          f"again with git (git checkout -- {path.name}) or retrain: {retrain}")
    version = metadata.get("spade_lib_version", "(none)")
    if not same_minor_version(version, __version__):
        raise checkpoints.CheckpointError(
            f"{path} was written by spade_lib {version}, this is spade_lib {__version__}: the networks may "
            f"differ. Use the course release that matches, or retrain: {retrain}")
    return tensors, metadata


def read_model_file(path: Path) -> tuple[dict[str, torch.Tensor], dict]:
    """(tensors as float32, metadata) of one shipped model file, checked."""
    tensors, metadata = read_weights(path, RETRAIN_HINT)
    if metadata.get("format") != FORMAT:
        raise checkpoints.CheckpointError(f"{path} is not a spade_lib shipped model (no format {FORMAT} in its "
                                          f"metadata); training checkpoints load with spade_lib.training."
                                          f"load_generator")
    return {key: t.float() if t.is_floating_point() else t for key, t in tensors.items()}, metadata


def load_into(net: torch.nn.Module, tensors: dict[str, torch.Tensor], path: Path) -> None:
    """``net.load_state_dict(tensors)`` with an error naming the file when the weights do not fit."""
    try:
        net.load_state_dict(tensors)
    except RuntimeError as error:
        raise checkpoints.CheckpointError(f"{path}: the weights do not fit the network its configuration builds "
                                          f"({error}); retrain: {RETRAIN_HINT}") from None


def load_model(folder: PathLike, device="cpu") -> tuple[torch.nn.Module, Optional[torch.nn.Module], TrainConfig]:
    """(generator, encoder or None, config) of a shipped model folder, in eval mode on ``device``."""
    folder = Path(folder)
    tensors, metadata = read_model_file(folder / "generator.safetensors")
    config = config_from_dict(json.loads(metadata["config"]), where=str(folder / "generator.safetensors"))
    generator = build_generator(config)
    load_into(generator, tensors, folder / "generator.safetensors")
    encoder = build_encoder(config)
    if encoder is not None:
        encoder_tensors, encoder_metadata = read_model_file(folder / "encoder.safetensors")
        if encoder_metadata["config"] != metadata["config"]:
            raise checkpoints.CheckpointError(f"{folder}: generator.safetensors and encoder.safetensors come from "
                                              f"different training configurations; export both from one run")
        load_into(encoder, encoder_tensors, folder / "encoder.safetensors")
        encoder.to(device).eval()
    return generator.to(device).eval(), encoder, config


def model_info(folder: PathLike = CLASSROOM_DIR) -> dict:
    """The metadata of a shipped model (steps, training time, hardware, version, config) without the weights."""
    return read_model_file(Path(folder) / "generator.safetensors")[1]


def load_any(path: PathLike, device="cpu", ema: bool = True):
    """(generator, encoder or None, config) of a shipped model folder (``data/classroom``), a training checkpoint
    (``step_*.json``) or a run folder (its newest checkpoint, also under ``checkpoints/``)."""
    path = Path(path)
    if (path / "generator.safetensors").is_file():
        return load_model(path, device)
    if (path / "checkpoints").is_dir():
        path = path / "checkpoints"
    return load_generator(checkpoints.resolve(path), ema=ema, device=device)


def load_classroom(device="cpu"):
    """The course's classroom model: (generator, encoder, config), 64x64 Landscapes, trained on 2 CPU cores."""
    return load_model(CLASSROOM_DIR, device)
