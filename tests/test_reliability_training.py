"""Nothing lost, nothing misleading (issue 11): pruning, non-finite checkpoints, stale temp files, file modes,
resuming with other settings, and the history file and last grid of every run."""
import dataclasses
import json
import os

import pytest
import torch

from spade_lib import checkpoints
from spade_lib.models import TrainConfig
from spade_lib.training import NonFiniteLossError, Trainer, decay_factor


def tiny_config(out, **changes) -> TrainConfig:
    settings = dict(size=32, ngf=8, ndf=8, spade_hidden=16, z_dim=16, batch_size=2, steps=2, dataset_size=16,
                    use_vae=True, perceptual=False, workers=0, progress=False, out=str(out), save_every=1000,
                    sample_every=1000, log_every=1)
    return TrainConfig(**{**settings, **changes})


def step_names(folder) -> list[str]:
    return [path.stem for path in checkpoints.list_checkpoints(folder)]


def test_pruning_never_deletes_another_runs_checkpoints(tmp_path):
    earlier = Trainer(tiny_config(tmp_path, steps=6, save_every=1))
    earlier.fit()
    assert step_names(earlier.checkpoint_dir) == ["step_0000005", "step_0000006"]
    later = Trainer(tiny_config(tmp_path, steps=3, save_every=1, seed=1))
    later.fit()
    # the new run keeps its own 2 newest; the earlier run's are untouched (before: the new ones were deleted)
    assert step_names(later.checkpoint_dir) == ["step_0000002", "step_0000003", "step_0000005", "step_0000006"]
    assert later.last_checkpoint.is_file()
    resumed = Trainer(tiny_config(tmp_path, steps=8, save_every=1))
    resumed.load(checkpoints.checkpoint_path(resumed.checkpoint_dir, 6))
    resumed.fit()  # the earlier run, resumed, prunes its own older checkpoints only
    assert step_names(resumed.checkpoint_dir) == ["step_0000002", "step_0000003", "step_0000007", "step_0000008"]


def test_an_infinite_gradient_at_a_save_step_writes_no_checkpoint(tmp_path):
    trainer = Trainer(tiny_config(tmp_path, steps=4, save_every=1))
    weight = next(trainer.discriminator.parameters())

    def infinite_gradient_from_step_2(t, losses):
        if t.step == 1:  # the losses of step 2 stay finite; Adam turns D's weights into NaN
            weight.register_hook(lambda grad: torch.full_like(grad, float("inf")))

    with pytest.raises(NonFiniteLossError, match="step's checkpoint NOT written") as error:
        trainer.fit(callback=infinite_gradient_from_step_2)
    assert "at step 2" in str(error.value) and "discriminator/" in str(error.value)
    assert "Last good checkpoint: " + str(checkpoints.checkpoint_path(trainer.checkpoint_dir, 1)) in str(error.value)
    assert step_names(trainer.checkpoint_dir) == ["step_0000001"]
    tensors, _ = checkpoints.load_checkpoint(trainer.checkpoint_dir)
    assert all(torch.isfinite(t).all() for t in tensors.values() if t.is_floating_point())


def test_stale_temp_files_are_removed_at_start(tmp_path, capsys):
    stale = [tmp_path / "checkpoints" / ".step_0000250.safetensors.k2j3h4x_.tmp",
             tmp_path / "samples" / ".step_0000250.png.a8d7f6zz.tmp"]
    for path in stale:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"\0" * 600_000)
    keep = [tmp_path / "notes.tmp", tmp_path / ".notes.tmp"]  # not written by atomic_write_bytes: left alone
    for path in keep:
        path.write_text("mine")
    Trainer(tiny_config(tmp_path, steps=1)).fit()
    assert not any(path.exists() for path in stale) and all(path.exists() for path in keep)
    assert f"removed 2 unfinished temporary files of an interrupted write from {tmp_path}: 1.2 MB freed" in \
        capsys.readouterr().out


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o027, 0o640)])
def test_written_files_honour_the_umask(tmp_path, umask, mode):
    previous = os.umask(umask)
    try:
        checkpoints.atomic_write_bytes(tmp_path / "report.json", b"{}")
        trainer = Trainer(tiny_config(tmp_path, steps=1))
        trainer.fit()
    finally:
        os.umask(previous)
    written = [tmp_path / "report.json", trainer.last_checkpoint, trainer.last_checkpoint.with_suffix(".safetensors"),
               tmp_path / "history.json", trainer.sample_path()]
    assert {oct(path.stat().st_mode & 0o777) for path in written} == {oct(mode)}  # before: 0o600


def test_resume_may_extend_a_finished_run_with_more_steps(tmp_path):
    finished = Trainer(tiny_config(tmp_path, steps=2))
    finished.fit()
    assert finished.optimizers["generator"].param_groups[0]["lr"] == 0  # decayed to 0 at its last step
    longer = Trainer(tiny_config(tmp_path, steps=4, save_every=3, workers=0, progress=True))
    longer.load("latest")
    group = longer.optimizers["generator"].param_groups[0]
    assert group["lr"] == group["initial_lr"] * decay_factor(2, 4, 0.5)  # the new schedule, from this step
    longer.fit()
    assert longer.step == 4 and step_names(longer.checkpoint_dir)[-1] == "step_0000004"


def test_resume_refuses_settings_that_change_the_math(tmp_path):
    Trainer(tiny_config(tmp_path)).fit()
    for change in (dict(batch_size=4), dict(lr=1e-3), dict(ngf=4)):
        with pytest.raises(checkpoints.CheckpointError, match=f"{next(iter(change))}: checkpoint"):
            Trainer(tiny_config(tmp_path, **change)).load("latest")
    with pytest.raises(checkpoints.CheckpointError, match="past this run's 1 steps: give more steps"):
        Trainer(tiny_config(tmp_path, steps=1)).load("latest")


def test_a_short_run_writes_its_history_and_a_last_grid(tmp_path):
    trainer = Trainer(tiny_config(tmp_path, steps=3, log_every=10, sample_every=250))
    trainer.fit()
    history = json.loads((tmp_path / "history.json").read_text())
    assert [entry["step"] for entry in history] == [3] and "g_gan" in history[0]  # the last step is logged
    assert (tmp_path / "samples" / "step_0000003.png").is_file()


def test_an_interrupted_run_ends_with_a_grid_of_its_last_step(tmp_path):
    trainer = Trainer(tiny_config(tmp_path, steps=5, sample_every=250))

    def stop_at_2(t, losses):
        if t.step == 2:
            raise KeyboardInterrupt

    trainer.fit(callback=stop_at_2)
    assert (tmp_path / "samples" / "step_0000002.png").is_file()
    assert json.loads((tmp_path / "history.json").read_text()) == trainer.history


@pytest.mark.parametrize("field, value, message", [
    ("step", -5, "step -5 is outside 0..2"),
    ("step", 10 ** 30, "is outside 0..2"),
    ("step", "two", "field 'step' is str"),
    ("history", None, "field 'history' is NoneType"),
    ("tensors_sha256", None, "field 'tensors_sha256' is NoneType"),
])
def test_damaged_checkpoint_fields_are_named(tmp_path, field, value, message):
    trainer = Trainer(tiny_config(tmp_path))
    trainer.fit()
    state = json.loads(trainer.last_checkpoint.read_text())
    if value is None:
        del state[field]
        message = message.replace("is NoneType", "is missing")
    else:
        state[field] = value
    trainer.last_checkpoint.write_text(json.dumps(state))
    with pytest.raises(checkpoints.CheckpointError, match=message) as error:
        Trainer(tiny_config(tmp_path)).load("latest")
    assert str(trainer.last_checkpoint) in str(error.value)
