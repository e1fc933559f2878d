"""What changes from step to step of a training run (lesson 08): the learning rates of the official recipe and
their linear decay, the generator's exponential moving average, and the order of the batches, fixed by
(seed, step) so that a resumed run sees exactly the batches of an uninterrupted one. ``spade_lib.training``
uses them in its ``Trainer``.
"""
import numpy as np
import torch
from torch.utils.data import Sampler

from .models import TrainConfig


# -----------------------------------------------------------------------------------------------------------------
# Optimizers, learning-rate schedule and the EMA, from the config


def learning_rates(config: TrainConfig) -> tuple[float, float, tuple[float, float]]:
    """(lr_G, lr_D, Adam betas) of the official recipe (paper Sec. 4; NVlabs/SPADE ``options/train_options.py``).

    TTUR (Heusel et al. 2017, the official default): G at lr/2 = 1e-4, D at 2 lr = 4e-4, betas (0, 0.9) (the
    paper's 0.999 is a typo: the first author in NVlabs/SPADE issue #50). Without TTUR both use lr = 2e-4 and betas (0.5, 0.999)."""
    if config.ttur:
        return config.lr / 2, config.lr * 2, (0.0, 0.9)
    return config.lr, config.lr, (0.5, 0.999)


def decay_factor(step: int, steps: int, decay_fraction: float) -> float:
    """The learning rate's factor at ``step``: 1, then linearly down to 0 over the last ``decay_fraction`` of the
    steps (paper: constant for 100 epochs, then linear decay to 0 over 100; the official code decays once per
    epoch, we do it every step)."""
    decay_steps = round(steps * decay_fraction)
    start = steps - decay_steps
    return 1.0 if step < start or decay_steps == 0 else (steps - step) / decay_steps


def ema_decay(step: int, decay: float) -> float:
    """The EMA's decay at ``step``: ``min(decay, (1 + step) / (10 + step))``, the warm-up of TensorFlow's
    ExponentialMovingAverage, so that early samples do not show the random initial weights."""
    return min(decay, (1 + step) / (10 + step))


@torch.no_grad()
def update_ema(ema: torch.nn.Module, model: torch.nn.Module, decay: float) -> None:
    r"""Exponential moving average of the weights, :math:`\theta_{EMA} \leftarrow d\,\theta_{EMA} + (1 - d)\,\theta`.

    Buffers (batch-norm statistics, spectral-norm vectors) are copied: averaging unit vectors would not give one."""
    for averaged, current in zip(ema.parameters(), model.parameters()):
        # theta_EMA <- d theta_EMA + (1 - d) theta
        averaged.lerp_(current, 1 - decay)
    for averaged, current in zip(ema.buffers(), model.buffers()):
        averaged.copy_(current)


# -----------------------------------------------------------------------------------------------------------------
# Data: the batches of every step, fixed by (seed, step)


class StepBatches(Sampler):
    """The dataset indices of each step from ``start_step`` to ``steps``: a new random order every epoch, fixed by
    (seed, epoch), so a resumed run sees exactly the batches of an uninterrupted one. Under DDP process ``rank``
    takes its ``batch_size / world_size`` share of every global batch."""

    def __init__(self, dataset_size: int, batch_size: int, seed: int, start_step: int, steps: int,
                 rank: int = 0, world_size: int = 1):
        self.dataset_size, self.batch_size, self.seed = dataset_size, batch_size, seed
        self.start_step, self.steps, self.rank, self.world_size = start_step, steps, rank, world_size
        self.epoch, self.order = None, None

    def __len__(self) -> int:
        return self.steps - self.start_step

    def __iter__(self):
        share = self.batch_size // self.world_size
        for step in range(self.start_step, self.steps):
            first = step * self.batch_size + self.rank * share  # position in the endless stream of samples
            yield [self.index(position) for position in range(first, first + share)]

    def index(self, position: int) -> int:
        epoch, offset = divmod(position, self.dataset_size)
        if epoch != self.epoch:
            self.epoch, self.order = epoch, np.random.default_rng((self.seed, epoch)).permutation(self.dataset_size)
        return int(self.order[offset])
