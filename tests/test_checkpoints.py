"""Checkpoints: atomic writes, clear errors for damaged or mismatched files, no pickle, exact state round trips."""
import hashlib
import json
import os
import pickle
import random

import numpy as np
import pytest
import torch

from spade_lib import __version__, checkpoints
from spade_lib.checkpoints import CheckpointError


def save_example(folder, step=1, value=1.0, keep=2):
    tensors = {"generator/w": torch.full((2, 3), value), "generator/b": torch.arange(3.0)}
    return checkpoints.save_checkpoint(checkpoints.checkpoint_path(folder, step), tensors, {"step": step}, keep=keep)


def test_round_trip_and_readable_json(tmp_path):
    path = save_example(tmp_path)
    assert path.name == "step_0000001.json" and path.with_suffix(".safetensors").is_file()
    tensors, state = checkpoints.load_checkpoint(path)
    assert torch.equal(tensors["generator/w"], torch.ones(2, 3)) and state["step"] == 1
    assert json.loads(path.read_text())["spade_lib_version"] == __version__  # plain JSON anyone can read
    for other_name in (path.with_suffix(".safetensors"), tmp_path):  # the tensors file or the folder work too
        assert checkpoints.load_checkpoint(other_name)[1]["step"] == 1


def test_keeps_the_newest_and_finds_the_latest(tmp_path):
    for step in (1, 2, 3):
        save_example(tmp_path, step, keep=2)
    assert [p.name for p in checkpoints.list_checkpoints(tmp_path)] == ["step_0000002.json", "step_0000003.json"]
    assert not (tmp_path / "step_0000001.safetensors").exists()
    assert checkpoints.find_latest(tmp_path).name == "step_0000003.json"
    with pytest.raises(CheckpointError, match="no checkpoint"):
        checkpoints.find_latest(tmp_path / "empty")


def test_crash_while_writing_leaves_the_old_checkpoint_intact(tmp_path, monkeypatch):
    path = save_example(tmp_path, step=5, value=1.0)
    old = {p.name: p.read_bytes() for p in tmp_path.iterdir()}

    def power_cut(fd):
        raise OSError("simulated crash before the data reached the disk")

    monkeypatch.setattr(checkpoints.os, "fsync", power_cut)
    with pytest.raises(OSError, match="simulated crash"):
        save_example(tmp_path, step=5, value=2.0)  # the same name: it would replace the old files
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == old  # no partial file, no temporary left
    monkeypatch.undo()
    assert torch.equal(checkpoints.load_checkpoint(path)[0]["generator/w"], torch.ones(2, 3))


def test_crash_between_the_two_files_keeps_the_previous_checkpoint_latest(tmp_path, monkeypatch):
    save_example(tmp_path, step=1)
    real_write = checkpoints.atomic_write_bytes

    def crash_on_json(path, data):
        if str(path).endswith(".json"):
            raise KeyboardInterrupt
        real_write(path, data)

    monkeypatch.setattr(checkpoints, "atomic_write_bytes", crash_on_json)
    with pytest.raises(KeyboardInterrupt):
        save_example(tmp_path, step=2)
    monkeypatch.undo()
    assert checkpoints.find_latest(tmp_path).name == "step_0000001.json"  # the JSON marks a complete checkpoint
    checkpoints.load_checkpoint(checkpoints.find_latest(tmp_path))


def test_truncated_tensors_file(tmp_path):
    path = save_example(tmp_path)
    tensor_file = path.with_suffix(".safetensors")
    tensor_file.write_bytes(tensor_file.read_bytes()[:20])  # cut inside the safetensors header
    with pytest.raises(CheckpointError, match=r"truncated or damaged: 20 bytes") as error:
        checkpoints.load_checkpoint(path)
    assert str(tensor_file) in str(error.value)


def test_corrupted_tensors_file(tmp_path):
    path = save_example(tmp_path)
    tensor_file = path.with_suffix(".safetensors")
    data = bytearray(tensor_file.read_bytes())
    data[-1] ^= 0xFF  # one flipped byte in the weights: safetensors alone would not notice
    tensor_file.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match=f"{tensor_file.name} is corrupted: its SHA-256 differs"):
        checkpoints.load_checkpoint(path)


def test_invalid_safetensors_header_is_named(tmp_path):
    path = save_example(tmp_path)
    garbage = b"\xff" * 64
    path.with_suffix(".safetensors").write_bytes(garbage)
    state = json.loads(path.read_text())
    state.update(tensors_bytes=len(garbage), tensors_sha256=hashlib.sha256(garbage).hexdigest())
    path.write_text(json.dumps(state))
    with pytest.raises(CheckpointError, match="is not a valid safetensors file"):
        checkpoints.load_checkpoint(path)


def test_truncated_json_and_missing_files(tmp_path):
    path = save_example(tmp_path)
    path.write_text(path.read_text()[:30])
    with pytest.raises(CheckpointError, match=f"{path.name} is not valid JSON"):
        checkpoints.load_checkpoint(path)
    with pytest.raises(CheckpointError, match="does not exist"):
        checkpoints.load_checkpoint(tmp_path / "step_0000099.json")
    (tmp_path / "other.json").write_text("{}")
    with pytest.raises(CheckpointError, match="is not a spade_lib checkpoint"):
        checkpoints.load_checkpoint(tmp_path / "other.json")


def test_other_library_version(tmp_path):
    path = save_example(tmp_path)
    state = json.loads(path.read_text())
    path.write_text(json.dumps({**state, "spade_lib_version": "0.0.1"}))
    with pytest.raises(CheckpointError, match=f"written by spade_lib 0.0.1, this is spade_lib {__version__}"):
        checkpoints.load_checkpoint(path)
    assert checkpoints.load_checkpoint(path, check_version=False)[1]["step"] == 1


def test_config_difference_names_the_field(tmp_path):
    with pytest.raises(CheckpointError, match=r"ckpt.json was written with another config: ngf: checkpoint 8, now 16"):
        checkpoints.check_same({"ngf": 8, "out": "a"}, {"ngf": 16, "out": "b"}, tmp_path / "ckpt.json",
                               ignore=("out",))


def test_loading_never_unpickles(tmp_path, monkeypatch):
    path = save_example(tmp_path)

    def no_pickle(*args, **kwargs):
        raise AssertionError("pickle used")

    monkeypatch.setattr(pickle, "loads", no_pickle)
    monkeypatch.setattr(pickle, "load", no_pickle)
    monkeypatch.setattr(torch, "load", no_pickle)
    checkpoints.load_checkpoint(path)


def test_optimizer_state_round_trip_through_json():
    model = torch.nn.Linear(3, 2)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.0, 0.9))
    model(torch.randn(4, 3)).sum().backward()
    optimizer.step()
    tensors, saved = checkpoints.split_state_dict(optimizer.state_dict(), "optimizer/g")
    restored = torch.optim.Adam(torch.nn.Linear(3, 2).parameters())
    restored.load_state_dict(checkpoints.join_state_dict(tensors, json.loads(json.dumps(saved)), "optimizer/g"))
    for key in ("exp_avg", "exp_avg_sq", "step"):
        assert torch.equal(restored.state_dict()["state"][0][key], optimizer.state_dict()["state"][0][key])
    assert restored.param_groups[0]["lr"] == 1e-3 and tuple(restored.param_groups[0]["betas"]) == (0.0, 0.9)


def test_rng_state_round_trip():
    tensors, saved = checkpoints.rng_state()
    saved = json.loads(json.dumps(saved))
    first = (torch.rand(3), np.random.rand(3), random.random())
    checkpoints.set_rng_state(tensors, saved)
    again = (torch.rand(3), np.random.rand(3), random.random())
    assert torch.equal(first[0], again[0]) and np.array_equal(first[1], again[1]) and first[2] == again[2]


def test_checkpoints_go_to_drive_when_it_is_mounted(tmp_path, monkeypatch):
    monkeypatch.setattr(checkpoints, "COLAB_DRIVE", tmp_path / "MyDrive")
    assert checkpoints.default_run_dir("colab") == checkpoints.Path("runs") / "colab"
    os.makedirs(tmp_path / "MyDrive")
    assert checkpoints.default_run_dir("colab") == tmp_path / "MyDrive" / "spade-course" / "runs" / "colab"
