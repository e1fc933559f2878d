"""Exercise checks for lesson 08, training GauGAN (``notebooks/08_training.ipynb``).

1. the learning-rate decay of the official recipe (easy)
2. the exponential moving average of the generator's weights (medium)
3. checkpoint or start: resume a run when its folder holds a checkpoint, else start it (medium)
4. an ablation in a class period: feature matching on and off (open; a possible answer in ``SOLUTIONS``)

Every ``check_*`` returns a :class:`~spade_lib.exercises.Result`: it prints a pass or a hint and never raises.
"""
import copy
import dataclasses
import tempfile

import torch

from . import Result, call_student, hint, passed
from .. import checkpoints
from ..models import TrainConfig
from ..training import Trainer, decay_factor, update_ema


# ---------------------------------------------------------------------------------------------------------------
# Exercise 1: the learning-rate decay

DECAY_CASES = [(10, 0.5), (6000, 0.5), (7, 1.0), (100, 0.0), (3000, 0.2)]  # (steps, decay_fraction)


def check_lr_factor(lr_factor) -> Result:
    """Exercise 1: ``lr_factor(step, steps, decay_fraction)``: 1 until the last ``decay_fraction`` of the steps,
    then linearly down to 0 at ``step == steps``."""
    for steps, fraction in DECAY_CASES:
        for step in sorted({0, 1, steps // 2 - 1, steps // 2, steps // 2 + 1, steps - 1, steps, steps * 4 // 5}):
            expected = decay_factor(step, steps, fraction)
            answer, problem = call_student(lr_factor, step, steps, fraction)
            if problem is not None:
                if fraction == 0.0 and "division" in problem.message.lower():
                    return hint("with decay_fraction = 0 nothing decays: return 1.0 before dividing by the "
                                "number of decay steps (which is 0).")
                return problem
            if answer is None:
                return hint("your function returns None: return a number, 1.0 before the decay starts and "
                            "(steps - step) / decay_steps after, with decay_steps = round(steps * decay_fraction).")
            try:
                value = float(answer)
            except (TypeError, ValueError):
                return hint(f"return one number (a float), got {type(answer).__name__}.")
            if abs(value - expected) <= 1e-9:
                continue
            where = f"at step {step} of {steps} with decay_fraction {fraction}"
            if abs(value - (1 - expected)) <= 1e-9 and fraction not in (0.0,):
                return hint(f"{where} you return {value:.4g}, expected {expected:.4g}: the factor should go *down* "
                            f"from 1 to 0, not up.")
            decay_steps = round(steps * fraction)
            if decay_steps and abs(value - (steps - step - 1) / decay_steps) <= 1e-9:
                return hint(f"{where} you return {value:.4g}, expected {expected:.4g}: off by one step. The factor "
                            f"is (steps - step) / decay_steps: exactly 1 when the decay starts, 0 at step = steps.")
            if fraction == 0.0:
                return hint(f"{where} you return {value:.4g}: with decay_fraction 0 the rate never decays (1.0).")
            if step < steps - decay_steps:
                return hint(f"{where} you return {value:.4g}, expected 1.0: the rate stays constant until the last "
                            f"{fraction:g} of the steps (from step {steps - decay_steps}).")
            return hint(f"{where} you return {value:.4g}, expected {expected:.4g}. In the decay, the factor falls "
                        f"in a straight line from 1 (step {steps - decay_steps}) to 0 (step {steps}).")
    return passed("your factor is spade_lib.schedule.decay_factor: constant, then a straight line down to 0. "
                  "With TTUR both learning rates (1e-4 and 4e-4) are multiplied by it.")


# ---------------------------------------------------------------------------------------------------------------
# Exercise 2: the EMA of the generator

def _ema_case():
    """A tiny model with parameters and buffers (batch norm), its EMA copy, both moved apart by one step."""
    torch.manual_seed(8)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.Linear(6, 2))
    ema = copy.deepcopy(model).requires_grad_(False)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p))
    model(torch.randn(2, 3, 8, 8))  # training mode: batch norm updates its running statistics (buffers)
    return model, ema


def _snapshot(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def check_ema_update(ema_update) -> Result:
    """Exercise 2: ``ema_update(ema, model, decay)`` moves the EMA's parameters towards the model's in place
    (``ema = decay * ema + (1 - decay) * model``) and copies its buffers."""
    for decay in (0.9, 0.5):
        model, ema = _ema_case()
        expected = copy.deepcopy(ema)
        update_ema(expected, model, decay)
        model_before, ema_before = _snapshot(model), _snapshot(ema)
        answer, problem = call_student(ema_update, ema, model, decay)
        if problem is not None:
            if "lerp" in problem.message or "Long" in problem.message:
                return hint("average the parameters only; copy the buffers (batch norm's running statistics and "
                            "its integer num_batches_tracked) with .copy_(). "
                            + problem.message.removeprefix("not yet. Hint: "))
            return problem
        if any(not torch.equal(v, model.state_dict()[k]) for k, v in model_before.items()):
            return hint("your function changed the model: only the EMA copy may change (the model is trained by "
                        "its optimizer).")
        got, want = _snapshot(ema), expected.state_dict()
        if all(torch.equal(v, ema_before[k]) for k, v in got.items()):
            return hint("the EMA did not change. Update its tensors in place, under torch.no_grad(): "
                        "averaged.mul_(decay).add_(current, alpha=1 - decay), or averaged.lerp_(current, 1 - decay).")
        params = dict(ema.named_parameters())
        for name, value in got.items():
            if torch.allclose(value.double(), want[name].double(), atol=1e-6, rtol=1e-5):
                continue
            if name not in params:
                averaged = decay * ema_before[name].double() + (1 - decay) * model_before[name].double()
                if torch.allclose(value.double(), averaged, atol=1e-6):
                    return hint(f"buffer {name!r} was averaged: copy the buffers instead (running statistics come "
                                f"from the current weights; averaged spectral-norm vectors would not be unit vectors).")
                return hint(f"buffer {name!r} should be a copy of the model's.")
            swapped = (1 - decay) * ema_before[name].double() + decay * model_before[name].double()
            if decay != 0.5 and torch.allclose(value.double(), swapped, atol=1e-6, rtol=1e-5):
                return hint(f"parameter {name!r}: decay and 1 - decay are swapped. The EMA keeps `decay` of "
                            f"itself and takes only 1 - decay of the model.")
            if torch.allclose(value.double(), model_before[name].double(), atol=1e-6):
                return hint(f"parameter {name!r} is a copy of the model's: average it, "
                            f"ema = decay * ema + (1 - decay) * model.")
            return hint(f"parameter {name!r} has wrong values: ema = decay * ema + (1 - decay) * model.")
    return passed("your update is spade_lib.schedule.update_ema: parameters averaged, buffers copied. With decay "
                  "0.999 the EMA averages over about the last 1000 steps.")


# ---------------------------------------------------------------------------------------------------------------
# Exercise 3: checkpoint or start

def _tiny_config(out) -> TrainConfig:
    return TrainConfig(name="exercise", out=str(out), size=32, ngf=4, ndf=4, spade_hidden=8, batch_size=2,
                       dataset_size=8, steps=4, workers=0, progress=False, perceptual=False, device="cpu",
                       save_every=1000, sample_every=1000, log_every=1)


def check_resume_or_start(resume_or_start) -> Result:
    """Exercise 3: ``resume_or_start(config)`` returns a Trainer that continues from the newest checkpoint of the
    run's folder when there is one, else a new Trainer at step 0."""
    if not callable(resume_or_start):
        return call_student(resume_or_start)[1]
    with tempfile.TemporaryDirectory() as folder:
        config = _tiny_config(folder)
        trainer, problem = call_student(resume_or_start, config)
        if problem is not None:
            if "CheckpointError" in problem.message:
                return hint("with an empty folder there is nothing to resume: check "
                            "checkpoints.list_checkpoints(trainer.checkpoint_dir) before trainer.load('latest'). "
                            + problem.message.removeprefix("not yet. Hint: "))
            return problem
        if trainer is None:
            return hint("your function returns None: build trainer = Trainer(config), load its newest checkpoint "
                        "if its checkpoint folder has one, and return the trainer.")
        if not isinstance(trainer, Trainer):
            return hint(f"return a spade_lib.training.Trainer, got {type(trainer).__name__}.")
        if trainer.step != 0:
            return hint(f"with no checkpoint the run should start at step 0, yours is at step {trainer.step}.")
        if trainer.config != config:
            return hint("build the Trainer from the config you are given (the checkpoint must match it).")

        trained = Trainer(config)
        batches = iter(trained.batches())
        for _ in range(2):
            trained.train_step(next(batches))
        trained.save()
        resumed, problem = call_student(resume_or_start, config)
        if problem is not None:
            return problem
        if not isinstance(resumed, Trainer):
            return hint(f"return a spade_lib.training.Trainer, got {type(resumed).__name__}.")
        if resumed.step != 2:
            return hint(f"the folder holds a checkpoint of step 2, but your trainer is at step {resumed.step}: "
                        f"call trainer.load('latest') when checkpoints.list_checkpoints(trainer.checkpoint_dir) "
                        f"is not empty.")
        same = all(torch.equal(a, b) for a, b in zip(resumed.generator.state_dict().values(),
                                                     trained.generator.state_dict().values()))
        if not same:
            return hint("your trainer says step 2 but its generator's weights are not the checkpoint's: load the "
                        "checkpoint with trainer.load(...) rather than setting trainer.step.")
    return passed("checkpoint or start: rerunning the training cell after a crash, Ctrl-C or a Colab disconnect "
                  "continues where the last checkpoint left off (and a finished run does not train again).")


# ---------------------------------------------------------------------------------------------------------------
# Solutions, shown with spade_lib.exercises.show_solution(8, n)

def _solution_1(step, steps, decay_fraction):
    """Exercise 1. Constant, then a straight line from 1 at the decay's first step down to 0 at the last."""
    decay_steps = round(steps * decay_fraction)
    if decay_steps == 0 or step < steps - decay_steps:
        return 1.0
    return (steps - step) / decay_steps


@torch.no_grad()
def _solution_2(ema, model, decay):
    """Exercise 2. Parameters: ema = decay * ema + (1 - decay) * model, in place. Buffers (batch-norm statistics,
    spectral-norm vectors, counters): copied, since their average would mean nothing."""
    for averaged, current in zip(ema.parameters(), model.parameters()):
        averaged.mul_(decay).add_(current, alpha=1 - decay)
    for averaged, current in zip(ema.buffers(), model.buffers()):
        averaged.copy_(current)


def _solution_3(config):
    """Exercise 3. A Trainer for ``config``; its newest checkpoint when the run's folder holds one."""
    trainer = Trainer(config)
    if checkpoints.list_checkpoints(trainer.checkpoint_dir):
        trainer.load("latest")  # weights, optimizers, schedules, RNG states, step and loss history
    return trainer


def _solution_4(base: TrainConfig, runs_folder: str = "../runs", steps: int = 300):
    """Exercise 4 (open), one possible answer: the same short run with and without feature matching.

    Same seed, same batches, same preview label maps: only lambda_feat differs. Compare the loss curves (without
    feature matching G learns from D's verdict alone: g_gan and D's losses swing more, and the early samples stay
    flat colour fields for longer) and the sample grids in each run's samples/ folder. About 2 x 5 minutes on
    2 CPU cores; in a terminal instead, which leaves the notebook free:
    ``python -m spade_lib train --preset classroom --steps 300 --lambda-feat 0 --out runs/no-fm``.

        runs = _solution_4(PRESETS["classroom"], run_folder("."))
        fig, axes = plt.subplots(1, 2, figsize=(14, 4), sharey=True)
        for ax, (name, trainer) in zip(axes, runs.items()):
            plot_history(trainer.history, ax=ax); ax.set_title(name)
    """
    runs = {}
    for name, lambda_feat in (("with feature matching", 10.0), ("without feature matching", 0.0)):
        config = dataclasses.replace(base, steps=steps, lambda_feat=lambda_feat,
                                     out=f"{runs_folder}/ablation-fm{lambda_feat:g}-{steps}steps")
        runs[name] = Trainer(config)
        runs[name].fit()
    return runs


SOLUTIONS = {1: _solution_1, 2: _solution_2, 3: _solution_3, 4: _solution_4}
