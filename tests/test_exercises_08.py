"""Lesson 08's exercise checks: each passes on its solution, and gives a hint (never an exception) otherwise."""
import dataclasses

import pytest
import torch

from spade_lib import checkpoints
from spade_lib.exercises import lesson08, show_solution
from spade_lib.models import PRESETS
from spade_lib.training import Trainer, update_ema


def hint_given(result):
    return not result and "Hint" in repr(result)


# Exercise 1 -----------------------------------------------------------------------------------------------------

def test_lr_factor_solution_passes():
    assert lesson08.check_lr_factor(lesson08.SOLUTIONS[1])


def _no_zero_guard(step, steps, fraction):
    decay_steps = round(steps * fraction)
    return 1.0 if step < steps - decay_steps else (steps - step) / decay_steps


@pytest.mark.parametrize("wrong", [
    lambda step, steps, fraction: None,  # the stub
    lambda step, steps, fraction: 1.0,  # never decays
    lambda step, steps, fraction: 1 - step / steps,  # decays from the start
    lambda step, steps, fraction: max(0.0, (steps - step - 1) / max(round(steps * fraction), 1))
    if step >= steps - round(steps * fraction) else 1.0,  # off by one
    lambda step, steps, fraction: (1.0 if step < steps * (1 - fraction)
                                   else (step - steps * (1 - fraction)) / (steps * fraction)),  # goes up
    _no_zero_guard,  # divides by zero when nothing decays
    lambda step, steps, fraction: "1",  # not a number... but float("1") works: must still be judged by value
    lambda step, steps, fraction: [1.0],  # not a number
], ids=["none", "constant", "from-start", "off-by-one", "upwards", "zero-division", "string", "list"])
def test_lr_factor_wrong_answers_get_a_hint(wrong):
    assert hint_given(lesson08.check_lr_factor(wrong))


def test_lr_factor_zero_division_hint_says_what_to_do():
    assert "decay_fraction = 0" in repr(lesson08.check_lr_factor(_no_zero_guard))


def test_lr_factor_check_takes_none_itself():
    assert hint_given(lesson08.check_lr_factor(None))


# Exercise 2 -----------------------------------------------------------------------------------------------------

def test_ema_solution_passes():
    assert lesson08.check_ema_update(lesson08.SOLUTIONS[2])


def test_ema_library_function_passes():
    assert lesson08.check_ema_update(update_ema)


@torch.no_grad()
def _swapped(ema, model, decay):
    for a, b in zip(ema.parameters(), model.parameters()):
        a.mul_(1 - decay).add_(b, alpha=decay)
    for a, b in zip(ema.buffers(), model.buffers()):
        a.copy_(b)


@torch.no_grad()
def _params_only(ema, model, decay):
    for a, b in zip(ema.parameters(), model.parameters()):
        a.lerp_(b, 1 - decay)


@torch.no_grad()
def _averaged_float_buffers(ema, model, decay):
    for a, b in zip(ema.parameters(), model.parameters()):
        a.lerp_(b, 1 - decay)
    for a, b in zip(ema.buffers(), model.buffers()):
        if a.is_floating_point():
            a.lerp_(b, 1 - decay)
        else:
            a.copy_(b)


@torch.no_grad()
def _all_lerped(ema, model, decay):  # lerp_ on the integer num_batches_tracked raises
    for a, b in zip(ema.state_dict().values(), model.state_dict().values()):
        a.lerp_(b, 1 - decay)


@torch.no_grad()
def _copied(ema, model, decay):
    ema.load_state_dict(model.state_dict())


@torch.no_grad()
def _changes_model(ema, model, decay):
    for a, b in zip(ema.parameters(), model.parameters()):
        b.lerp_(a, 1 - decay)


def _new_tensors(ema, model, decay):
    for a, b in zip(ema.parameters(), model.parameters()):
        a = decay * a + (1 - decay) * b  # noqa: F841 rebinding, nothing changes


@pytest.mark.parametrize("wrong", [
    lambda ema, model, decay: None, _swapped, _params_only, _averaged_float_buffers, _all_lerped, _copied,
    _changes_model, _new_tensors, 42,
], ids=["none", "swapped", "params-only", "averaged-buffers", "lerp-ints", "copied", "changes-model",
        "not-in-place", "not-callable"])
def test_ema_wrong_answers_get_a_hint(wrong):
    assert hint_given(lesson08.check_ema_update(wrong))


def test_ema_hints_name_the_mistake():
    assert "swapped" in repr(lesson08.check_ema_update(_swapped))
    assert "averaged" in repr(lesson08.check_ema_update(_averaged_float_buffers))
    assert "changed the model" in repr(lesson08.check_ema_update(_changes_model))


# Exercise 3 -----------------------------------------------------------------------------------------------------

def test_resume_solution_passes():
    assert lesson08.check_resume_or_start(lesson08.SOLUTIONS[3])


def _always_load(config):
    trainer = Trainer(config)
    trainer.load("latest")
    return trainer


def _set_step(config):
    trainer = Trainer(config)
    found = checkpoints.list_checkpoints(trainer.checkpoint_dir)
    if found:
        trainer.step = checkpoints.read_state(found[-1])["step"]
    return trainer


def _other_config(config):
    return Trainer(dataclasses.replace(config, seed=5))


@pytest.mark.parametrize("wrong", [
    lambda config: None, _always_load, lambda config: Trainer(config), _set_step, _other_config,
    lambda config: "trainer", None,
], ids=["none", "always-load", "never-load", "sets-step", "other-config", "not-a-trainer", "not-callable"])
def test_resume_wrong_answers_get_a_hint(wrong):
    assert hint_given(lesson08.check_resume_or_start(wrong))


def test_resume_hint_for_an_empty_folder_names_the_fix():
    assert "list_checkpoints" in repr(lesson08.check_resume_or_start(_always_load))


# Solutions -------------------------------------------------------------------------------------------------------

def test_every_solution_can_be_shown(capsys):
    for number in (1, 2, 3, 4):
        show_solution(8, number)
        assert "def _solution_" in capsys.readouterr().out


def test_ablation_solution_trains_both_runs(tmp_path):
    tiny = dataclasses.replace(PRESETS["classroom"], size=32, ngf=4, ndf=4, spade_hidden=8, z_dim=8, batch_size=2,
                               dataset_size=4, progress=False, save_every=1000, sample_every=1000, log_every=1)
    runs = lesson08.SOLUTIONS[4](tiny, str(tmp_path), steps=2)
    assert list(runs) == ["with feature matching", "without feature matching"]
    with_fm, without_fm = runs.values()
    assert "g_feat" in with_fm.history[-1] and "g_feat" not in without_fm.history[-1]
    assert all(trainer.step == 2 and str(tmp_path) in str(trainer.checkpoint_dir) for trainer in runs.values())
