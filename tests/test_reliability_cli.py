"""The command line a new user meets (issue 11): a used folder, signals, resuming with other options, one-line
errors naming the file or option, resized label maps, evaluate's progress and small-sample warning."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from spade_lib import checkpoints
from spade_lib.__main__ import main

TINY = ["--preset", "classroom", "--size", "32", "--ngf", "8", "--ndf", "8", "--spade-hidden", "16", "--z-dim", "16",
        "--batch-size", "2", "--dataset-size", "16", "--no-progress"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A finished 2-step run with a checkpoint at every step."""
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("run")
    assert main(["train", *TINY, "--steps", "2", "--save-every", "1", "--out", str(out)]) == 0
    return out


def one_line_error(capsys) -> str:
    """The error output, checked to be one line starting with "error:" (no traceback)."""
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err, err
    return err


def copy_run(run: Path, to: Path) -> Path:
    shutil.copytree(run, to)
    return to


# --- item 1: a new run into a used folder ---------------------------------------------------------------------

def test_a_new_run_into_a_used_folder_is_refused_and_overwrite_moves_it_aside(run, tmp_path, capsys):
    folder = copy_run(run, tmp_path / "used")
    before = {p.name: p.read_bytes() for p in (folder / "checkpoints").iterdir()}
    assert main(["train", *TINY, "--steps", "1", "--out", str(folder)]) == 1
    err = one_line_error(capsys)
    assert str(folder / "checkpoints") in err and "step_0000002.json" in err
    assert all(way in err for way in ("--resume latest", "--out DIR", "--overwrite"))
    assert {p.name: p.read_bytes() for p in (folder / "checkpoints").iterdir()} == before  # nothing touched

    assert main(["train", *TINY, "--steps", "1", "--out", str(folder), "--overwrite"]) == 0
    aside = next(folder.glob("earlier-run-*"))
    assert f"moved the earlier run's checkpoints, samples and history to {aside}" in capsys.readouterr().out
    assert {p.name: p.read_bytes() for p in (aside / "checkpoints").iterdir()} == before  # all of it, intact
    assert (aside / "history.json").is_file() and (aside / "samples").is_dir()
    assert step_names(folder / "checkpoints") == ["step_0000001"]


def test_overwrite_and_resume_together_are_refused(tmp_path, capsys):
    assert main(["train", *TINY, "--out", str(tmp_path), "--overwrite", "--resume", "latest"]) == 2
    assert "--overwrite starts a new run, --resume continues one" in one_line_error(capsys)


def step_names(folder) -> list[str]:
    return [path.stem for path in checkpoints.list_checkpoints(folder)]


# --- item 4: signals end with 130 / 143 after saving -----------------------------------------------------------

@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_saves_then_exits_non_zero(tmp_path, sig, code):
    command = [sys.executable, "-m", "spade_lib", "train", *TINY, "--steps", "10000", "--sample-every", "1",
               "--out", str(tmp_path)]
    environment = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(Path(__file__).parents[1])}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment)
    deadline = time.monotonic() + 120
    while not (tmp_path / "samples" / "step_0000001.png").exists():  # training, with the handlers installed
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.1)
    process.send_signal(sig)
    out, err = process.communicate(timeout=120)
    assert process.returncode == code, (out, err)  # before: 0, so `train && export` went on
    assert f"exit code {code}: stopped at step" in err and "not finished" in err
    assert f"Stopped by {sig.name}" in out
    checkpoints.load_checkpoint(tmp_path / "checkpoints")


# --- item 11: resume takes the checkpoint's settings --------------------------------------------------------------

def test_resume_needs_no_repeated_options_and_extends_a_finished_run(run, tmp_path, capsys):
    folder = copy_run(run, tmp_path / "extend")
    # neither the preset's size nor the tiny widths are repeated: they come from the checkpoint
    assert main(["train", "--resume", str(folder / "checkpoints"), "--steps", "3", "--save-every", "5",
                 "--no-progress"]) == 0
    assert step_names(folder / "checkpoints")[-1] == "step_0000003"  # written where the run was
    state = checkpoints.read_state(checkpoints.find_latest(folder / "checkpoints"))
    assert state["config"]["size"] == 32 and state["config"]["steps"] == 3 and state["config"]["ngf"] == 8


@pytest.mark.parametrize("option", [["--batch-size", "4"], ["--lr", "0.001"], ["--no-use-vae"]])
def test_resume_refuses_options_that_change_the_math(run, option, capsys):
    assert main(["train", "--out", str(run), "--resume", "latest", "--steps", "4", *option]) == 1
    err = one_line_error(capsys)
    assert f"cannot resume {run / 'checkpoints' / 'step_0000002.json'} with {option[0]}" in err
    assert "change the model or its training math" in err and "--steps" not in err.split("with")[1].split(":")[0]


# --- item 9: one line naming the file or option ------------------------------------------------------------------

@pytest.mark.parametrize("field, value, message", [
    ("tensors_sha256", "missing", "field 'tensors_sha256' is missing"),
    ("tensors_bytes", "many", "field 'tensors_bytes' is str"),
    ("step", -1, "step -1 is outside 0..2"),
    ("step", 10 ** 40, "is outside 0..2"),
    ("config", {"size": "32"}, "config field 'size' is str '32', expected int"),
])
def test_a_damaged_checkpoint_json_is_named(run, tmp_path, capsys, field, value, message):
    folder = copy_run(run, tmp_path / "damaged")
    path = checkpoints.find_latest(folder / "checkpoints")
    state = json.loads(path.read_text())
    if value == "missing":
        del state[field]
    elif isinstance(value, dict):
        state[field].update(value)
    else:
        state[field] = value
    path.write_text(json.dumps(state))
    assert main(["train", "--resume", str(path), "--steps", "4"]) == 1
    err = one_line_error(capsys)
    assert str(path) in err and message in err
    if field != "step":  # sampling does not use the step
        assert main(["sample", "--checkpoint", str(path), "--out", str(tmp_path / "samples")]) == 1
        err = one_line_error(capsys)
        assert str(path) in err and message in err


@pytest.mark.parametrize("make, message", [
    (lambda path: None, "does not exist"),
    (lambda path: path.write_bytes(b""), "that is not an image file"),
])
def test_a_missing_or_empty_style_image_is_named(run, tmp_path, capsys, make, message):
    style = tmp_path / "style.png"
    make(style)
    assert main(["sample", "--checkpoint", str(run), "--style-image", str(style), "--out", str(tmp_path)]) == 1
    err = one_line_error(capsys)
    assert f"--style-image {style}" in err and message in err


@pytest.mark.parametrize("command", [["sample", "--checkpoint", "RUN"], ["train", *TINY]])
def test_out_that_is_a_file_is_named(run, tmp_path, capsys, command):
    a_file = tmp_path / "a_file"
    a_file.write_text("not a folder")
    command = [str(run) if word == "RUN" else word for word in command]
    assert main([*command, "--out", str(a_file)]) == 1
    assert f"--out {a_file} is a file, not a folder" in one_line_error(capsys)


@pytest.mark.parametrize("device, message", [
    ("nonsense", "--device 'nonsense' names no device"),
    ("cuda", "--device cuda: this machine has no CUDA GPU"),
])
@pytest.mark.parametrize("command", [["train", *TINY, "--steps", "1", "--out", "TMP"], ["evaluate", "data/classroom"]])
def test_a_device_this_machine_lacks_is_named(tmp_path, capsys, device, message, command):
    if device == "cuda" and torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    command = [str(tmp_path) if word == "TMP" else word for word in command]
    assert main([*command, "--device", device]) == 2
    assert message in one_line_error(capsys)


def test_evaluate_json_that_is_a_folder_is_named(tmp_path, capsys):
    assert main(["evaluate", "data/classroom", "--json", str(tmp_path)]) == 1
    assert f"--json {tmp_path} is a folder" in one_line_error(capsys)


# --- item 10: resized label maps are announced -------------------------------------------------------------------

def test_sample_says_when_it_resizes_a_label_map(run, tmp_path, capsys):
    labels = tmp_path / "labels"
    labels.mkdir()
    Image.fromarray(np.zeros((30, 40), np.uint8), mode="L").save(labels / "wide.png")
    Image.fromarray(np.zeros((32, 32), np.uint8), mode="L").save(labels / "fits.png")
    assert main(["sample", "--checkpoint", str(run), "--labels", str(labels), "--out", str(tmp_path / "o")]) == 0
    err = capsys.readouterr().err
    assert f"note: {labels / 'wide.png'} is 40x30, resized (nearest neighbour) to the model's 32x32, stretched" in err
    assert "fits.png" not in err


# --- item 14: evaluate shows progress and warns about small samples ----------------------------------------------

def test_evaluate_shows_progress_and_warns_about_few_images(run, tmp_path, capsys, monkeypatch):
    import spade_lib.layers as layers
    import spade_lib.metrics as metrics
    from spade_lib.metrics import Segmenter, save_segmenter

    bars = []
    real_progress = metrics.progress
    recording = lambda *a, **k: bars.append(k.get("desc")) or real_progress(*a, **k)  # noqa: E731
    monkeypatch.setattr(metrics, "progress", recording)  # the two-sample classifier's epochs
    monkeypatch.setattr(layers, "progress", recording)  # layers.batched: generation, features, alignment
    segmenter = save_segmenter(Segmenter(), tmp_path / "segmenter.safetensors")
    assert main(["evaluate", str(run), "--segmenter", str(segmenter), "--images", "8", "--test-images", "4"]) == 0
    assert {"generating", "features", "label alignment", "two-sample classifier"} <= set(bars)
    err = capsys.readouterr().err
    assert "warning: 8 images (quick mode, or --images) are too few for reliable numbers" in err
    assert "lesson 10" in err


def test_help_gives_the_measured_classroom_time():
    from spade_lib.__main__ import build_parser

    text = build_parser()._subparsers._group_actions[0].choices["train"].format_help()
    assert "85 minutes" in text and "56 minutes" not in text
    assert "--overwrite" in text and "130/143" in text
