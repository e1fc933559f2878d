r"""Training SPADE with the official recipe (lesson 08).

Park et al., "Semantic Image Synthesis with Spatially-Adaptive Normalization", CVPR 2019, Sec. 4 and Appendix A;
official code NVlabs/SPADE (``trainers/pix2pix_trainer.py``, ``models/pix2pix_model.py``, ``options/train_options.py``),
whose defaults give every number below. The configuration, the networks and sampling are in ``spade_lib.models``.
One training step does what the official trainer does:

1. **generator step**: fake = G(segmap, z), with z drawn from the style encoder E(real) when training the VAE;
   D judges fake and real in *one* call; G (and E) minimise

   .. math:: \mathcal{L}_G = \mathcal{L}_{GAN} + 10\,\mathcal{L}_{FM} + 10\,\mathcal{L}_{VGG} + 0.05\,\mathcal{L}_{KL}

2. **discriminator step**: a new fake from the updated G, without gradients; D minimises its hinge loss on fake
   and real, again in one call.

Around the step: Adam with TTUR, linear learning-rate decay at the end, an optional EMA of the generator, mixed
precision (float16 on CUDA, bfloat16 on CPUs that have it), DistributedDataParallel under ``torchrun``
(``spade_lib.distributed``), a NaN guard, progress bar, loss history, sample grids, and checkpoints
(``spade_lib.checkpoints``) that make a resumed run identical to an uninterrupted one.

    >>> trainer = Trainer(spade_lib.models.PRESETS["classroom"])
    >>> history = trainer.fit()
    >>> plot_history(history)
"""
import contextlib
import copy
import functools
import json
import signal
import threading
import time
import uuid
import warnings
from dataclasses import asdict
from pathlib import Path
from typing import Callable, Optional

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader

from . import checkpoints, modes
from .distributed import frozen, init_distributed, kl_of_the_global_batch, no_buffer_sync
from .encoder import reparameterize
from .datasets.build import label_layout, training_dataset, with_inferred_classes
from .labels import LabelMap, make_segmap
from .losses import LossWeights, VGGLoss, discriminator_loss_terms, generator_loss_terms, split_fake_real
from .models import (BOOKKEEPING_FIELDS, TrainConfig, build_discriminator, build_encoder, build_generator,
                     generate, load_weights, network_weights, run_dir, save_grid)
from .modes import mixed_precision_dtype
from .schedule import StepBatches, decay_factor, ema_decay, learning_rates, update_ema


def to_segmap(batch: dict, config: TrainConfig, device: torch.device) -> LabelMap:
    """A batch's label and instance maps -> the networks' compact segmap (ids + instance edges) on ``device``:
    the dataset's own ``segmap(batch)`` (its classes and don't-care id), on ``device``."""
    instance = batch["instance"].to(device) if config.instance_edges else None
    classes, dontcare = label_layout(config)
    return make_segmap(batch["label"].to(device), classes, instance, contain_dontcare=dontcare)


def doubled(segmap: LabelMap) -> LabelMap:
    """The segmap of ``torch.cat([fake, real])``: every map twice."""
    edges = None if segmap.edges is None else segmap.edges.repeat(2, 1, 1)
    return LabelMap(segmap.labels.repeat(2, 1, 1), segmap.num_classes, edges)


# -----------------------------------------------------------------------------------------------------------------
# The trainer


class NonFiniteLossError(FloatingPointError):
    """A loss, weight or optimizer state became NaN or infinite; the message names it, the step and the last
    good checkpoint."""


# Settings a resumed run may change: where and how often it writes, the hardware, and how far it trains. A larger
# ``steps`` extends a run (a finished one too); the learning-rate decay (decay_fraction of the steps) then
# follows the new length from the current step on. Every other setting defines the model or its training math.
RESUMABLE_CHANGES = BOOKKEEPING_FIELDS + ("steps",)

# The JSON fields of a Trainer checkpoint, beyond the header that spade_lib.checkpoints checks
TRAINER_STATE_FIELDS = {"step": int, "config": dict, "world_size": int, "perceptual_loss": bool,
                        "optimizers": dict, "schedulers": dict, "grad_scalers": dict, "rng": dict, "history": list,
                        "losses_since_last_log": dict}


class Trainer:
    """Trains a SPADE generator, discriminator and (with ``use_vae``) style encoder from a ``TrainConfig``.

    ``fit()`` trains to ``config.steps``; ``load(path)`` resumes from a checkpoint; ``save()`` writes one.
    ``generator``, ``discriminator``, ``encoder`` (or None) and ``generator_ema`` (or None) are the plain
    ``nn.Module``s; ``G``, ``D``, ``E`` are the same wrapped in DistributedDataParallel when several processes
    train. ``history`` holds the mean losses every ``config.log_every`` steps.

    Randomness (initial weights, the VAE's noise) comes from torch's global generator, seeded here: build, then
    fit, and the same seed gives the same weights on CPU. A checkpoint holds the generator states, so a resumed
    run continues exactly."""

    def __init__(self, config: TrainConfig):
        self.config = config = with_inferred_classes(config)  # a folder's class count, recorded in checkpoints
        self.rank, self.world_size, self.device = init_distributed(config.device)
        if config.batch_size % self.world_size:
            raise ValueError(f"batch_size {config.batch_size} must be divisible by the {self.world_size} processes")
        if config.threads:
            torch.set_num_threads(config.threads)
        modes.seed_everything(config.seed)  # the same initial weights in every process
        self.generator, self.discriminator = build_generator(config), build_discriminator(config)
        self.encoder = build_encoder(config)
        self.generator_ema = copy.deepcopy(self.generator).requires_grad_(False) if config.ema else None
        self.vgg = self.perceptual_loss()
        self.loss_weights = LossWeights(feat=config.lambda_feat, vgg=config.lambda_vgg, kl=config.lambda_kl,
                                        gan_kind=config.gan_loss, perceptual=self.vgg is not None)
        cuda = self.device.type == "cuda"
        self.memory_format = torch.channels_last if cuda and config.channels_last else torch.contiguous_format
        self.place_networks()
        lr_G, lr_D, betas = learning_rates(config)
        g_params = list(self.generator.parameters()) + (list(self.encoder.parameters()) if self.encoder else [])
        self.optimizers = {"generator": torch.optim.Adam(g_params, lr=lr_G, betas=betas),
                           "discriminator": torch.optim.Adam(self.discriminator.parameters(), lr=lr_D, betas=betas)}
        factor = functools.partial(decay_factor, steps=config.steps, decay_fraction=config.decay_fraction)
        self.schedulers = {name: torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
                           for name, optimizer in self.optimizers.items()}
        self.amp_dtype = mixed_precision_dtype(config.amp, self.device)
        self.weight_dtype = next(self.generator.parameters()).dtype  # float32 (float64 in a test): the losses' dtype
        if cuda:
            torch.backends.cudnn.benchmark = True  # the input size never changes: let cuDNN pick its fastest convs
        scaling = self.amp_dtype == torch.float16  # float16 needs loss scaling, bfloat16 (float32's range) does not
        self.scalers = {name: torch.amp.GradScaler(self.device.type, enabled=scaling) for name in self.optimizers}
        if self.world_size > 1:
            torch.manual_seed(config.seed + self.rank)  # each process draws its own noise
        self.step, self.history, self.meter, self.stop_reason = 0, [], LossMeter(), None
        self.last_checkpoint, self.last_saved_step = None, None
        self.run_id = uuid.uuid4().hex  # names this run's checkpoints: pruning never deletes another run's
        self.dataset = training_dataset(config)  # spade_lib.datasets.build: Landscapes or a real dataset

    # --- set-up -------------------------------------------------------------------------------------------------

    def perceptual_loss(self) -> Optional[VGGLoss]:
        """The VGG19 loss, or None (with the loss module's message) when it is off or its weights are missing."""
        if not self.config.perceptual:
            return None
        try:
            return VGGLoss(self.config.vgg_weights or None)
        except FileNotFoundError as missing:
            warnings.warn(f"training WITHOUT the perceptual loss.\n{missing}", stacklevel=3)
            return None

    def place_networks(self) -> None:
        """Move the networks to the device (channels-last on CUDA); under DDP, SyncBatchNorm and DDP wrappers."""
        cuda = self.device.type == "cuda"
        for module in self.networks().values():
            module.to(self.device, memory_format=self.memory_format)
        if self.vgg is not None:
            self.vgg.to(self.device, memory_format=self.memory_format)
        self.G, self.D, self.E = self.generator, self.discriminator, self.encoder
        if self.world_size > 1:
            if cuda:  # batch-norm statistics over the whole batch, as on one GPU (gloo on CPU has no SyncBatchNorm)
                self.generator = torch.nn.SyncBatchNorm.convert_sync_batchnorm(self.generator)
            wrap = functools.partial(DistributedDataParallel, device_ids=[self.device] if cuda else None,
                                     **no_buffer_sync())
            self.G, self.D = wrap(self.generator), wrap(self.discriminator)
            self.E = wrap(self.encoder) if self.encoder is not None else None

    def networks(self) -> dict[str, torch.nn.Module]:
        """The networks whose weights a checkpoint holds, by name."""
        nets = {"generator": self.generator, "discriminator": self.discriminator, "encoder": self.encoder,
                "generator_ema": self.generator_ema}
        return {name: net for name, net in nets.items() if net is not None}

    def autocast(self):
        return torch.autocast(self.device.type, dtype=self.amp_dtype, enabled=self.amp_dtype is not None)

    # --- one training step ----------------------------------------------------------------------------------------

    def generate(self, segmap: LabelMap, real: torch.Tensor):
        """(fake, mu, logvar): with the VAE, z = mu + eps * sigma from E(real) (reparameterization), else no z."""
        if self.E is None:
            return self.G(segmap), None, None
        # in the weights' precision (float32) under mixed precision: in float16 or bfloat16, the KL loss's
        # 1 + logvar - exp(logvar) cancels to rounding noise while logvar is small (it starts near 0): 2x off in bf16
        mu, logvar = (t.to(self.weight_dtype) for t in self.E(real))
        return self.G(segmap, reparameterize(mu, logvar)), mu, logvar

    def discriminate(self, segmap: LabelMap, fake: torch.Tensor, real: torch.Tensor):
        """D's outputs on fake and on real, from ONE call on the concatenated batch (fake first), as the official
        ``discriminate``: both halves see the same D, with one spectral-norm power iteration per call. In the
        weights' precision under mixed precision, so that the losses are means of float32 values (bfloat16 keeps
        3 digits)."""
        outputs = self.D(doubled(segmap), torch.cat([fake, real]))
        return split_fake_real([[feature.to(self.weight_dtype) for feature in scale] for scale in outputs])

    def generator_step(self, segmap: LabelMap, real: torch.Tensor) -> dict[str, float]:
        with self.autocast(), frozen(self.D):
            fake, mu, logvar = self.generate(segmap, real)
            d_fake, d_real = self.discriminate(segmap, fake, real)
            terms = generator_loss_terms(d_fake, d_real, fake, real, mu, logvar, self.vgg, self.loss_weights)
        terms = kl_of_the_global_batch(terms, self.world_size)
        return self.optimize("generator", {f"g_{name}": term for name, term in terms.items()})

    def discriminator_step(self, segmap: LabelMap, real: torch.Tensor) -> dict[str, float]:
        with torch.no_grad(), self.autocast():
            fake, _, _ = self.generate(segmap, real)  # a new fake from the updated G, as in the official trainer
        with self.autocast():
            d_fake, d_real = self.discriminate(segmap, fake, real)
            terms = discriminator_loss_terms(d_fake, d_real, self.config.gan_loss)
        return self.optimize("discriminator", terms)

    def optimize(self, name: str, terms: dict[str, torch.Tensor]) -> dict[str, float]:
        """Check the loss terms (NaN guard), then one optimizer step on their sum; returns their values."""
        values = self.finite_values(terms)
        optimizer, scaler = self.optimizers[name], self.scalers[name]
        optimizer.zero_grad(set_to_none=True)
        # L_G = L_GAN + 10 L_FM + 10 L_VGG + 0.05 L_KL (or L_D = its hinge terms): the terms come weighted
        scaler.scale(sum(terms.values())).backward()
        scaler.step(optimizer)
        scaler.update()
        return values

    def finite_values(self, terms: dict[str, torch.Tensor]) -> dict[str, float]:
        """The terms as floats; a NonFiniteLossError naming the first NaN or Inf term (in any process)."""
        values = torch.stack([term.detach().float() for term in terms.values()])
        finite = torch.isfinite(values).all().float()
        if self.world_size > 1:
            dist.all_reduce(finite, op=dist.ReduceOp.MIN)  # every process stops, none waits for the others
        values = dict(zip(terms, values.tolist()))
        if not finite:
            bad = next((name for name, value in values.items() if not np.isfinite(value)), "(in another process)")
            where = self.last_checkpoint or "none saved yet"
            raise NonFiniteLossError(
                f"loss {bad!r} is {values.get(bad)} at step {self.step + 1}; training stopped, nothing saved. "
                f"Losses: {', '.join(f'{n}={v:.4g}' for n, v in values.items())}. Last good checkpoint: {where}. "
                f"Try a lower learning rate (--lr), amp off (--no-amp), or another seed")
        return values

    def train_step(self, batch: dict) -> dict[str, float]:
        """One step of the official recipe on a batch of the dataset; returns every loss term by name."""
        segmap = to_segmap(batch, self.config, self.device)
        real = batch["image"].to(self.device).contiguous(memory_format=self.memory_format)  # (N, 3, H, W), [-1, 1]
        losses = {**self.generator_step(segmap, real), **self.discriminator_step(segmap, real)}
        for scheduler in self.schedulers.values():
            scheduler.step()
        if self.generator_ema is not None:
            update_ema(self.generator_ema, self.generator, ema_decay(self.step, self.config.ema_decay))
        self.step += 1
        return losses

    # --- the loop ---------------------------------------------------------------------------------------------

    def batches(self) -> DataLoader:
        sampler = StepBatches(len(self.dataset), self.config.batch_size, self.config.seed, self.step,
                              self.config.steps, self.rank, self.world_size)
        return DataLoader(self.dataset, batch_sampler=sampler, num_workers=self.config.workers,
                          pin_memory=self.device.type == "cuda", generator=torch.Generator())

    def fit(self, callback: Optional[Callable[["Trainer", dict], None]] = None) -> list[dict]:
        """Train from ``self.step`` to ``config.steps``; returns the loss history.

        Every ``save_every`` steps, at the end, and when stopped (Ctrl-C, SIGTERM, or KeyboardInterrupt raised by
        ``callback(trainer, losses)``, called after every step) a checkpoint is saved; the current step always
        finishes first. A NaN or Inf loss, or NaN or Inf weights or optimizer state at a save, raise
        NonFiniteLossError and keep the last good checkpoint. Every run ends with a checkpoint, the loss history
        (``history.json``) and a sample grid of its last step.

        A new run into a folder that holds another run's checkpoints writes beside them (a checkpoint of the same
        step replaces that run's; older ones of the other run are never pruned): ``python -m spade_lib train``
        refuses it; in Python, check ``checkpoints.list_checkpoints(trainer.checkpoint_dir)`` first (lesson 08)."""
        if self.rank == 0:
            self.remove_stale_temp_files()
        bar = modes.progress(total=self.config.steps, initial=self.step, desc="training", unit="step",
                       enabled=self.config.progress and self.rank == 0)
        self.stop_reason, in_step = None, False
        try:
            with self.stop_on_signals():
                for batch in self.batches():
                    in_step = True
                    losses = self.train_step(batch)
                    in_step = False
                    self.meter.add(losses, len(batch["image"]) * self.world_size)
                    bar.update()
                    bar.set_postfix({**{n: f"{v:.3f}" for n, v in losses.items()},
                                     "img/s": f"{self.meter.images_per_second():.1f}"}, refresh=False)
                    self.after_step()
                    if callback is not None:
                        callback(self, losses)
                    if self.should_stop():
                        break
        except KeyboardInterrupt:
            if in_step:  # G is updated but D is not: this state is no step's state, so it is not saved
                print(f"Interrupted inside step {self.step + 1}; last good checkpoint: {self.last_checkpoint}")
                raise
            self.stop_reason = "KeyboardInterrupt"
        finally:
            bar.close()
        if self.last_saved_step != self.step:
            self.save()
        if self.rank == 0 and not self.sample_path().is_file():
            self.save_samples()  # every run, however short, ends with a grid of its last step
        if self.stop_reason and self.rank == 0:
            print(f"Stopped by {self.stop_reason} after step {self.step}; checkpoint saved: {self.last_checkpoint}. "
                  f"Resume with --resume latest (or Trainer.load).")
        return self.history

    def after_step(self) -> None:
        """Log the mean losses, save a sample grid and a checkpoint when their step comes."""
        if self.step % self.config.log_every == 0 or self.step == self.config.steps:  # the last step too
            self.history.append({"step": self.step, **self.meter.means()})
            self.meter.reset()
        if self.step % self.config.sample_every == 0 and self.rank == 0:
            self.save_samples()
        if self.step % self.config.save_every == 0:
            self.save()

    def should_stop(self) -> bool:
        """True when a signal asked to stop, in any process (all processes stop after the same step)."""
        if self.world_size == 1:
            return self.stop_reason is not None
        flag = torch.tensor(float(self.stop_reason is not None), device=self.device)
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        if flag and self.stop_reason is None:
            self.stop_reason = "a signal to another process"
        return bool(flag)

    @contextlib.contextmanager
    def stop_on_signals(self):
        """While training, Ctrl-C (SIGINT, also Jupyter's stop button) and SIGTERM ask to stop after this step."""
        def request_stop(signum, frame):
            self.stop_reason = signal.Signals(signum).name

        if threading.current_thread() is not threading.main_thread():  # only the main thread may set handlers
            yield
            return
        previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    # --- checkpoints ------------------------------------------------------------------------------------------

    @property
    def checkpoint_dir(self) -> Path:
        return run_dir(self.config) / "checkpoints"

    def save(self) -> Optional[Path]:
        """Write a checkpoint of the current step and the loss history ``history.json`` (process 0 writes; all
        processes must call it). Returns its path. NaN or Inf anywhere in it: NonFiniteLossError, nothing written."""
        tensors, state = self.state()
        self.check_finite(tensors)  # every process holds the same weights: all raise together
        self.last_saved_step = self.step
        if self.rank != 0:
            return None
        path = checkpoints.checkpoint_path(self.checkpoint_dir, self.step)
        self.last_checkpoint = checkpoints.save_checkpoint(path, tensors, state, keep=self.config.keep_checkpoints)
        checkpoints.atomic_write_bytes(run_dir(self.config) / "history.json", json.dumps(self.history).encode())
        return self.last_checkpoint

    def check_finite(self, tensors: dict[str, torch.Tensor]) -> None:
        """A NonFiniteLossError naming the weights, buffers or optimizer moments that hold NaN or Inf.

        An infinite gradient leaves every loss of its step finite but turns Adam's moments and then the weights
        into NaN; such a checkpoint must never be written, nor called good."""
        bad = [name for name, t in tensors.items() if t.is_floating_point() and not torch.isfinite(t).all()]
        if bad:
            shown = ", ".join(bad[:3]) + (f" and {len(bad) - 3} more" if len(bad) > 3 else "")
            raise NonFiniteLossError(
                f"at step {self.step} {shown} hold NaN or Inf (an infinite gradient?): training stopped, this "
                f"step's checkpoint NOT written. Last good checkpoint: {self.last_checkpoint or 'none saved yet'}. "
                f"Try a lower learning rate (--lr), amp off (--no-amp), or another seed")

    def remove_stale_temp_files(self) -> None:
        """Delete what a killed checkpoint or grid write left behind (``.*.tmp``, up to a checkpoint's size each)."""
        folders = (run_dir(self.config), self.checkpoint_dir, run_dir(self.config) / "samples")
        count, freed = map(sum, zip(*(checkpoints.remove_stale_temp_files(folder) for folder in folders)))
        if count:
            print(f"removed {count} unfinished temporary file{'s' if count > 1 else ''} of an interrupted write "
                  f"from {run_dir(self.config)}: {freed / 1e6:.1f} MB freed")

    def state(self) -> tuple[dict[str, torch.Tensor], dict]:
        """Everything to resume exactly: (tensors, JSON-able state)."""
        tensors = {f"{name}/{key}": value for name, net in self.networks().items()
                   for key, value in net.state_dict().items()}
        optimizers = {}
        for name, optimizer in self.optimizers.items():
            moments, optimizers[name] = checkpoints.split_state_dict(optimizer.state_dict(), f"optimizer/{name}")
            tensors.update(moments)
        rng_tensors, rng = checkpoints.rng_state()
        tensors.update(self.gather_rng(rng_tensors))
        state = {"step": self.step, "run_id": self.run_id, "config": asdict(self.config), "world_size": self.world_size,
                 "perceptual_loss": self.vgg is not None, "optimizers": optimizers,
                 "schedulers": {name: s.state_dict() for name, s in self.schedulers.items()},
                 "grad_scalers": {name: s.state_dict() for name, s in self.scalers.items()},
                 "rng": rng, "history": self.history,
                 "losses_since_last_log": {"sums": self.meter.sums, "count": self.meter.count}}
        return tensors, state

    def gather_rng(self, rng_tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Every process's RNG tensors, named ``rng/<rank>/...`` (under DDP each process draws its own noise)."""
        gathered = {}
        for name, tensor in rng_tensors.items():
            if self.world_size == 1:
                parts = [tensor]
            else:  # NCCL exchanges CUDA tensors only
                local = tensor.to(self.device)
                parts = [torch.empty_like(local) for _ in range(self.world_size)]
                dist.all_gather(parts, local)
            gathered.update({f"rng/{rank}/{name}": part.cpu() for rank, part in enumerate(parts)})
        return gathered

    def load(self, path) -> Path:
        """Resume from a checkpoint (its path, a folder, or "latest" for this run's newest): weights, optimizers,
        schedulers, RNG states, step and history. The config must match, except ``RESUMABLE_CHANGES``."""
        path = checkpoints.find_latest(self.checkpoint_dir) if str(path) == "latest" else checkpoints.resolve(path)
        tensors, state = checkpoints.load_checkpoint(path)
        checkpoints.check_fields(state, TRAINER_STATE_FIELDS, path)
        checkpoints.check_fields(state["config"], {"steps": int}, path)
        if not 0 <= state["step"] <= state["config"]["steps"]:
            raise checkpoints.CheckpointError(f"checkpoint {path}: step {state['step']} is outside 0.."
                                              f"{state['config']['steps']}, the run's steps (was the file edited?); "
                                              f"use another checkpoint")
        checkpoints.check_same(state["config"], asdict(self.config), path, ignore=RESUMABLE_CHANGES)
        if state["step"] > self.config.steps:
            raise checkpoints.CheckpointError(f"checkpoint {path} is at step {state['step']}, past this run's "
                                              f"{self.config.steps} steps: give more steps (--steps) to go on")
        if state["perceptual_loss"] != (self.vgg is not None):
            checkpoints.check_same({"perceptual loss in use": state["perceptual_loss"]},
                                   {"perceptual loss in use": self.vgg is not None}, path, what="loss")
        for name, net in self.networks().items():
            load_weights(net, network_weights(tensors, name), f"checkpoint {path}: the {name} weights")
        for name, optimizer in self.optimizers.items():
            optimizer.load_state_dict(checkpoints.join_state_dict(tensors, state["optimizers"][name],
                                                                  f"optimizer/{name}"))
            self.schedulers[name].load_state_dict(state["schedulers"][name])
            self.scalers[name].load_state_dict(state["grad_scalers"][name])
            for group in optimizer.param_groups:  # this step's rate: the saved one, unless --steps changed
                group["lr"] = group["initial_lr"] * decay_factor(state["step"], self.config.steps,
                                                                 self.config.decay_fraction)
        self.restore_rng(tensors, state, path)
        unlogged = state["losses_since_last_log"]
        self.meter.sums, self.meter.count = unlogged["sums"], unlogged["count"]
        self.step, self.history, self.last_checkpoint, self.last_saved_step = \
            state["step"], state["history"], path, state["step"]
        self.run_id = state.get("run_id")  # its checkpoints are this run's: pruned as they would have been
        return path

    def restore_rng(self, tensors: dict[str, torch.Tensor], state: dict, path: Path) -> None:
        if state["world_size"] != self.world_size:
            warnings.warn(f"{path} was written by {state['world_size']} processes, this run has {self.world_size}: "
                          f"the weights continue exactly, the random noise does not", stacklevel=3)
            return
        prefix = f"rng/{self.rank}/"
        mine = {key[len(prefix):]: t for key, t in tensors.items() if key.startswith(prefix)}
        checkpoints.set_rng_state(mine, state["rng"])

    # --- samples ----------------------------------------------------------------------------------------------

    def preview_batch(self, count: int = 4) -> dict:
        """The first ``count`` dataset samples, always the same, to watch training progress on."""
        items = [self.dataset[i] for i in range(min(count, len(self.dataset)))]
        return torch.utils.data.default_collate(items)

    def save_samples(self) -> Path:
        """Save the grid label | real | generated of the preview batch as ``samples/step_0000300.png``."""
        batch = self.preview_batch()
        segmap, real = to_segmap(batch, self.config, self.device), batch["image"].to(self.device)
        generator = self.generator_ema if self.generator_ema is not None else self.generator
        fake = generate(generator, self.encoder, segmap, style_images=real)
        return save_grid(self.sample_path(), batch["label"], [real, fake], getattr(self.dataset, "palette", None))

    def sample_path(self) -> Path:
        """``samples/step_0000300.png``: the sample grid of the current step."""
        return run_dir(self.config) / "samples" / f"step_{self.step:07d}.png"


class LossMeter:
    """Mean of every loss term, and images per second, since the last reset."""

    def __init__(self):
        self.reset()

    def reset(self) -> None:
        self.sums, self.count, self.images, self.start = {}, 0, 0, time.perf_counter()

    def add(self, losses: dict[str, float], images: int) -> None:
        for name, value in losses.items():
            self.sums[name] = self.sums.get(name, 0.0) + value
        self.count, self.images = self.count + 1, self.images + images

    def images_per_second(self) -> float:
        return self.images / max(time.perf_counter() - self.start, 1e-9)

    def means(self) -> dict[str, float]:
        return {**{name: total / self.count for name, total in self.sums.items()},
                "images_per_second": self.images_per_second()}


def plot_history(history: list[dict], ax=None):
    """Loss curves of a run (``Trainer.history``, or a checkpoint's ``state["history"]``): one line per term.

    G's terms (``g_gan``, ``g_feat``, ``g_vgg``, ``g_kl``) are weighted as in the total loss; D's are ``d_fake``
    and ``d_real``. Returns the matplotlib axes."""
    import matplotlib.pyplot as plt

    if not history:
        raise ValueError("the history is empty: train for at least log_every steps first")
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 4))
    steps = [entry["step"] for entry in history]
    for name in (key for key in history[-1] if key not in ("step", "images_per_second")):
        ax.plot(steps, [entry.get(name, float("nan")) for entry in history], label=name)
    ax.set(title="SPADE training losses", xlabel="step", ylabel="loss (weighted term)")
    ax.legend(loc="upper right", fontsize="small")
    return ax
