"""Checkpoints that survive crashes, Ctrl-C and Colab disconnects (lesson 08).

A checkpoint is a pair of files with the same stem, e.g. ``step_0000300.safetensors`` + ``step_0000300.json``:

- the ``.safetensors`` file holds every tensor (weights, the EMA copy, optimizer moments, RNG states); the
  safetensors format is a JSON header plus raw bytes, so loading it can never run code, unlike pickle;
- the ``.json`` file holds everything else (step, config, optimizer hyper-parameters, scheduler, loss history,
  library version) and the size and SHA-256 of the tensors file, so any damage to it is detected.

Each file is written *atomically*: into a temporary file in the same folder, flushed to disk (``fsync``), then
renamed over the final name (``os.replace``, atomic on every OS). The JSON file is written last: a checkpoint
whose JSON exists is complete. A crash at any moment leaves either the old checkpoint or the new one, never half
of one, and ``save_checkpoint`` deletes older checkpoints only after the new one is complete.
"""
import hashlib
import json
import os
import random
import re
import tempfile
from pathlib import Path
from typing import Union

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load as safetensors_load
from safetensors.torch import save as safetensors_save

from . import __version__

FORMAT = "spade_lib-checkpoint-1"
TEMP_SUFFIX = ".tmp"  # atomic_write_bytes writes into .<name>.<random>.tmp first
TEMP_NAME = re.compile(r"\..+\.[a-z0-9_]{8}" + re.escape(TEMP_SUFFIX))  # tempfile.mkstemp's 8 random characters
COLAB_DRIVE = Path("/content/drive/MyDrive")  # where Colab mounts Google Drive (drive.mount("/content/drive"))
PathLike = Union[str, Path]


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be used: missing, damaged, or written for another model or library version."""


# -----------------------------------------------------------------------------------------------------------------
# Where checkpoints go


def default_run_dir(name: str) -> Path:
    """The folder of a training run: on Google Drive when it is mounted in Colab, so that a disconnect loses
    nothing (``/content/drive/MyDrive/spade-course/runs/<name>``), else ``runs/<name>`` in the current folder."""
    if COLAB_DRIVE.is_dir():
        return COLAB_DRIVE / "spade-course" / "runs" / name
    return Path("runs") / name


def checkpoint_path(folder: PathLike, step: int) -> Path:
    """``<folder>/step_0000300.json`` for step 300: the name of a checkpoint (its JSON file)."""
    return Path(folder) / f"step_{step:07d}.json"


def list_checkpoints(folder: PathLike) -> list[Path]:
    """The complete checkpoints (JSON files) in ``folder``, oldest step first."""
    return sorted(Path(folder).glob("step_*.json")) if Path(folder).is_dir() else []


def checkpoints_of_run(folder: PathLike, run_id) -> list[Path]:
    """The complete checkpoints in ``folder`` whose JSON names the run ``run_id``, oldest step first."""
    found = []
    for path in list_checkpoints(folder):
        try:
            if json.loads(path.read_text()).get("run_id") == run_id:
                found.append(path)
        except (OSError, ValueError, AttributeError):
            pass  # unreadable or damaged: not known to be this run's, so never deleted
    return found


def find_latest(folder: PathLike) -> Path:
    """The newest checkpoint in ``folder``; a clear error when there is none."""
    found = list_checkpoints(folder)
    if not found:
        raise CheckpointError(f"no checkpoint (step_*.json) in {folder}: nothing to resume. Train first, or "
                              f"give the path of a checkpoint")
    return found[-1]


def file_digest(path: PathLike, algorithm: str = "sha256") -> str:
    """The hex digest of a file, read in 1 MiB chunks (a 19 GB download never sits in memory); ``algorithm`` is
    any name of ``hashlib.new`` (SHA-256 for our files, MD5 or SHA-1 where that is what a dataset publishes)."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def resolve(path: PathLike) -> Path:
    """Accept a checkpoint's JSON file, its .safetensors file, or a folder (its newest checkpoint)."""
    path = Path(path)
    if path.is_dir():
        return find_latest(path)
    return path.with_suffix(".json")


# -----------------------------------------------------------------------------------------------------------------
# Writing atomically


def atomic_write_bytes(path: PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` so that ``path`` holds either its old content or all of ``data``, never a part.

    Temporary file in the same folder (a rename across disks would not be atomic), fsync, then ``os.replace``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TEMP_SUFFIX)
    try:
        os.chmod(tmp, 0o666 & ~current_umask())  # mkstemp makes it 0600; the final file gets the usual mode
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)


def current_umask() -> int:
    """The process's umask (e.g. 0o022: new files are 0644), which ``os.umask`` only tells by setting it."""
    umask = os.umask(0o022)
    os.umask(umask)
    return umask


def remove_stale_temp_files(folder: PathLike) -> tuple[int, int]:
    """Delete the temporary files that a killed ``atomic_write_bytes`` left in ``folder`` (``.<name>.<random>.tmp``,
    up to a whole checkpoint each); returns (files, bytes) removed. Call it only when no write is under way."""
    folder, count, freed = Path(folder), 0, 0
    for stale in folder.glob(f".*{TEMP_SUFFIX}") if folder.is_dir() else []:
        if not TEMP_NAME.fullmatch(stale.name):
            continue  # a hidden .tmp file of someone else's
        size = stale.stat().st_size
        stale.unlink(missing_ok=True)
        count, freed = count + 1, freed + size
    return count, freed


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable, where the file system can: POSIX folders can be fsynced; Windows folders
    and some network file systems (Colab's Google Drive) cannot, and there this best effort is skipped."""
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def save_checkpoint(path: PathLike, tensors: dict[str, torch.Tensor], state: dict, keep: int = 2) -> Path:
    """Save ``tensors`` and the JSON-able ``state`` as the checkpoint ``path`` (a ``.json`` name, see
    ``checkpoint_path``), then delete all but the ``keep`` newest checkpoints of the same run (the same
    ``state["run_id"]``; checkpoints of other runs in the folder are never deleted). Returns ``path``."""
    path = Path(path).with_suffix(".json")
    tensor_file = path.with_suffix(".safetensors")
    data = safetensors_save({name: t.detach().cpu().contiguous() for name, t in tensors.items()})
    header = {"format": FORMAT, "spade_lib_version": __version__, "tensors_file": tensor_file.name,
              "tensors_bytes": len(data), "tensors_sha256": hashlib.sha256(data).hexdigest()}
    atomic_write_bytes(tensor_file, data)
    atomic_write_bytes(path, json.dumps({**header, **state}, indent=1).encode())  # last: marks it complete
    if keep > 0:
        for old in checkpoints_of_run(path.parent, state.get("run_id"))[:-keep]:
            old.unlink()  # the JSON first: a checkpoint without it is incomplete, never "latest"
            old.with_suffix(".safetensors").unlink(missing_ok=True)
    return path


# -----------------------------------------------------------------------------------------------------------------
# Reading, with errors that say what is wrong


def read_state(path: PathLike, check_version: bool = True) -> dict:
    """The JSON part of a checkpoint (cheap: no tensors), checked for format and library version."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        state = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise CheckpointError(f"checkpoint {path} is not valid JSON (truncated or corrupted?): {error}") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a spade_lib checkpoint (no \"format\": \"{FORMAT}\" in it)")
    check_fields(state, HEADER_FIELDS, path)
    if check_version and state["spade_lib_version"] != __version__:
        raise CheckpointError(
            f"checkpoint {path} was written by spade_lib {state['spade_lib_version']}, this is spade_lib "
            f"{__version__}: weights and training state may not mean the same. Use the matching version, or "
            f"load it with check_version=False if you know the two agree")
    return state


HEADER_FIELDS = {"spade_lib_version": str, "tensors_file": str, "tensors_bytes": int, "tensors_sha256": str}


def check_fields(state: dict, fields: dict[str, type], path: PathLike) -> None:
    """A CheckpointError naming the first of ``fields`` (name -> type) that ``state`` lacks or holds with another
    type: a checkpoint edited by hand or damaged would otherwise fail later with a KeyError or TypeError."""
    for name, kind in fields.items():
        value = state.get(name)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            found = "is missing" if name not in state else f"is {type(value).__name__} {value!r:.40}"
            raise CheckpointError(f"checkpoint {path}: field {name!r} {found}, expected {kind.__name__} (was "
                                  f"the file edited or damaged?). Use another checkpoint of the run (an earlier "
                                  f"step_*.json), or start a new run")


def load_checkpoint(path: PathLike, check_version: bool = True) -> tuple[dict[str, torch.Tensor], dict]:
    """Read a checkpoint (its JSON file, its .safetensors file or a run folder): ``(tensors, state)``.

    The tensors file must have the size and SHA-256 recorded in the JSON; no pickle is involved anywhere."""
    path = resolve(path)
    state = read_state(path, check_version)
    tensor_file = path.with_name(state["tensors_file"])
    if not tensor_file.is_file():
        raise CheckpointError(f"checkpoint {path} names the tensors file {tensor_file}, which does not exist")
    data = tensor_file.read_bytes()
    if len(data) != state["tensors_bytes"]:
        raise CheckpointError(f"checkpoint tensors file {tensor_file} is truncated or damaged: {len(data)} bytes, "
                              f"{state['tensors_bytes']} expected (recorded in {path.name})")
    if hashlib.sha256(data).hexdigest() != state["tensors_sha256"]:
        raise CheckpointError(f"checkpoint tensors file {tensor_file} is corrupted: its SHA-256 differs from the "
                              f"one recorded in {path.name}")
    try:
        tensors = safetensors_load(data)
    except SafetensorError as error:
        raise CheckpointError(f"checkpoint tensors file {tensor_file} is not a valid safetensors file: {error}")
    return tensors, state


# -----------------------------------------------------------------------------------------------------------------
# Packing optimizer, scheduler and RNG states into (tensors, JSON)


def split_state_dict(state_dict: dict, prefix: str) -> tuple[dict[str, torch.Tensor], dict]:
    """An optimizer's ``state_dict()`` -> (tensors named ``prefix/state/<param>/<name>``, the JSON-able rest)."""
    tensors, values = {}, {}
    for param, entries in state_dict["state"].items():
        for name, value in entries.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{prefix}/state/{param}/{name}"] = value
            else:
                values[f"{param}/{name}"] = value
    return tensors, {"param_groups": state_dict["param_groups"], "values": values}


def join_state_dict(tensors: dict[str, torch.Tensor], saved: dict, prefix: str) -> dict:
    """The inverse of ``split_state_dict``: an optimizer ``state_dict()`` for ``load_state_dict``."""
    state: dict[int, dict] = {}
    pattern = re.compile(re.escape(prefix) + r"/state/(\d+)/(.+)")
    for key, tensor in tensors.items():
        match = pattern.fullmatch(key)
        if match:
            state.setdefault(int(match[1]), {})[match[2]] = tensor
    for key, value in saved["values"].items():
        param, name = key.split("/", 1)
        state.setdefault(int(param), {})[name] = value
    return {"state": state, "param_groups": saved["param_groups"]}


def rng_state() -> tuple[dict[str, torch.Tensor], dict]:
    """The random number generators' states (torch CPU and the current GPU, NumPy, Python): (tensors, JSON-able)."""
    tensors = {"torch_cpu": torch.get_rng_state()}
    if torch.cuda.is_initialized():  # the current GPU's (one GPU per process)
        tensors["torch_cuda"] = torch.cuda.get_rng_state()
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    tensors["numpy_keys"] = torch.from_numpy(keys.astype(np.int64))
    version, python_state, python_gauss = random.getstate()
    return tensors, {"numpy": [kind, int(pos), int(has_gauss), float(gauss)],
                     "python": [version, list(python_state), python_gauss]}


def set_rng_state(tensors: dict[str, torch.Tensor], saved: dict) -> None:
    """Restore what ``rng_state`` captured (the GPU's state where the checkpoint and this machine have one)."""
    torch.set_rng_state(tensors["torch_cpu"])
    if "torch_cuda" in tensors and torch.cuda.is_available():
        torch.cuda.set_rng_state(tensors["torch_cuda"])
    kind, pos, has_gauss, gauss = saved["numpy"]
    np.random.set_state((kind, tensors["numpy_keys"].numpy().astype(np.uint32), pos, has_gauss, gauss))
    version, python_state, python_gauss = saved["python"]
    random.setstate((version, tuple(python_state), python_gauss))


def check_same(saved: dict, current: dict, path: PathLike, what: str = "config",
               ignore: tuple = ()) -> None:
    """Raise a CheckpointError naming every field where ``saved`` (from checkpoint ``path``) and ``current``
    differ, except the fields in ``ignore``."""
    fields = sorted((set(saved) | set(current)) - set(ignore))
    differences = [f"{name}: checkpoint {saved.get(name, '(absent)')!r}, now {current.get(name, '(absent)')!r}"
                   for name in fields if saved.get(name, "(absent)") != current.get(name, "(absent)")]
    if differences:
        raise CheckpointError(f"checkpoint {path} was written with another {what}: {'; '.join(differences)}. Use "
                              f"the same {what} to resume, or start a new run in another folder")
