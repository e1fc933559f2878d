r"""Training SPADE with the official recipe (lesson 08).

Park et al., "Semantic Image Synthesis with Spatially-Adaptive Normalization", CVPR 2019, Sec. 4 and Appendix A;
official code NVlabs/SPADE (``trainers/pix2pix_trainer.py``, ``models/pix2pix_model.py``). Every number below
is one of the facts in REFERENCE.md, "Losses and training". One training step does what the official trainer does:

1. **generator step**: fake = G(segmap, z), with z drawn from the style encoder E(real) when training the VAE;
   D judges fake and real in *one* call; G (and E) minimise

   .. math:: \mathcal{L}_G = \mathcal{L}_{GAN} + 10\,\mathcal{L}_{FM} + 10\,\mathcal{L}_{VGG} + 0.05\,\mathcal{L}_{KL}

2. **discriminator step**: a new fake from the updated G, without gradients; D minimises its hinge loss on fake
   and real, again in one call.

Around the step: Adam with TTUR, linear learning-rate decay at the end, an optional EMA of the generator, mixed
precision (float16 on CUDA, bfloat16 on CPUs that have it), DistributedDataParallel under ``torchrun``, a NaN
guard, progress bar, loss history, sample grids, and checkpoints (``spade_lib.checkpoints``) that make a resumed
run identical to an uninterrupted one.

    >>> trainer = Trainer(PRESETS["classroom"])
    >>> history = trainer.fit()
    >>> plot_history(history)
"""
import contextlib
import copy
import dataclasses
import functools
import inspect
import io
import os
import signal
import threading
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Optional

import numpy as np
import torch
import torch.distributed as dist
from PIL import Image
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Sampler

from . import checkpoints, modes
from .data import NUM_CLASSES, Landscapes
from .discriminator import MultiscaleDiscriminator
from .encoder import StyleEncoder, reparameterize
from .generator import SPADEGenerator, label_channels, make_segmap
from .labels import LabelMap
from .losses import (GAN_LOSSES, LossWeights, VGGLoss, discriminator_loss_terms, generator_loss_terms,
                     split_fake_real)
from .viz import image_grid


# -----------------------------------------------------------------------------------------------------------------
# The configuration: one plain dataclass, no global options object


def option(default, help: str, choices: Optional[tuple] = None, minimum=None, maximum=None):
    """A ``TrainConfig`` field with the help text that ``python -m spade_lib train --help`` shows."""
    return field(default=default, metadata={"help": help, "choices": choices, "minimum": minimum,
                                            "maximum": maximum})


@dataclass
class TrainConfig:
    """Everything a training run depends on. The defaults are the official recipe at the paper's 256x256 and
    batch 32, on Landscapes; ``PRESETS`` holds the course's smaller settings. The networks are built from it."""

    # data
    size: int = option(256, "image size in pixels (square)", minimum=8)
    dataset_size: int = option(10_000, "number of Landscapes samples (each fixed by its index)", minimum=1)
    instance_edges: bool = option(True, "feed the instance-edge map as one more label channel (official: yes)")
    # networks
    ngf: int = option(64, "generator width nf (official 64): its blocks have 16nf down to nf channels", minimum=1)
    ndf: int = option(64, "discriminator width (official 64)", minimum=1)
    num_d: int = option(2, "discriminator scales (official 2)", minimum=1)
    n_layers_d: int = option(4, "layers of each PatchGAN discriminator (official 4)", minimum=1)
    norm: str = option("batch", "SPADE's parameter-free normalization (official batch; synchronized over GPUs)",
                       choices=("batch", "instance"))
    spade_hidden: int = option(128, "hidden width of SPADE's convolutions (official 128)", minimum=1)
    upsampling: str = option("normal", "generator upsamplings: normal 5, more 6, most 7 (official normal)",
                             choices=("normal", "more", "most"))
    use_vae: bool = option(False, "train the style encoder (VAE, KL loss) for many images per label map and "
                                  "style from a reference image (official --use_vae)")
    z_dim: int = option(256, "size of the style vector z (official 256)", minimum=1)
    # losses (spade_lib.losses)
    gan_loss: str = option("hinge", "GAN loss (official hinge)", choices=tuple(GAN_LOSSES))
    lambda_feat: float = option(10.0, "weight of feature matching (paper 10; 0 turns it off)", minimum=0)
    lambda_vgg: float = option(10.0, "weight of the VGG19 perceptual loss (paper 10)", minimum=0)
    lambda_kl: float = option(0.05, "weight of the KL loss of the style encoder (paper 0.05)", minimum=0)
    perceptual: bool = option(True, "use the VGG19 perceptual loss; turned off, with a warning, when its "
                                    "weights are not on disk (see spade_lib.losses.download_vgg19)")
    vgg_weights: str = option("", "path of VGG19 weights (.pth or .safetensors); empty: torchvision's cache")
    # optimization
    steps: int = option(62_500, "training steps (default: 200 epochs of 10 000 images at batch 32)", minimum=1)
    batch_size: int = option(32, "images per step, over all processes (paper 32)", minimum=1)
    lr: float = option(2e-4, "base learning rate (official 0.0002); with TTUR, G uses lr/2 and D 2*lr", minimum=0)
    ttur: bool = option(True, "two time-scale update rule (official): G lr/2, D 2*lr, Adam betas (0, 0.9); "
                              "without it both use lr and betas (0.5, 0.999)")
    decay_fraction: float = option(0.5, "the learning rates decay linearly to 0 over this last fraction of "
                                        "the steps (paper: the last 100 of 200 epochs)", minimum=0, maximum=1)
    ema: bool = option(False, "keep an exponential moving average of the generator's weights for sampling")
    ema_decay: float = option(0.999, "decay of the generator EMA (after a warm-up, see ema_decay())", minimum=0,
                              maximum=1)
    amp: bool = option(True, "mixed precision: float16 on CUDA, bfloat16 on a CPU with native bf16 instructions "
                             "(AVX512-BF16, about 1.5x faster steps); off on other CPUs")
    channels_last: bool = option(True, "channels-last memory format on CUDA (faster convolutions); ignored on CPU")
    seed: int = option(0, "random seed: the same seed gives the same weights on CPU")
    workers: int = option(2, "data-loading worker processes (0: load in the training process)", minimum=0)
    threads: int = option(0, "CPU threads of torch (0: torch's default, one per core); on a busy or shared CPU, 1 "
                             "can be several times faster", minimum=0)
    device: str = option("auto", "'auto' (CUDA when present, see spade_lib.modes), 'cpu', 'cuda' or 'cuda:1'")
    # bookkeeping: these may change when resuming (BOOKKEEPING_FIELDS)
    name: str = option("official", "run name; the default output folder is runs/<name> (on Colab: on Drive)")
    out: str = option("", "output folder for checkpoints and samples (empty: the default for the run name)")
    save_every: int = option(1000, "save a checkpoint every this many steps", minimum=1)
    sample_every: int = option(500, "save a sample grid (label | real | generated) every this many steps",
                               minimum=1)
    log_every: int = option(10, "add the mean losses to the history every this many steps", minimum=1)
    keep_checkpoints: int = option(2, "how many of the newest checkpoints to keep (0: all)", minimum=0)
    progress: bool = option(True, "show a progress bar")

    def __post_init__(self):
        for f in dataclasses.fields(self):
            value, meta = getattr(self, f.name), f.metadata
            if meta["choices"] is not None and value not in meta["choices"]:
                raise ValueError(f"{f.name} must be one of {', '.join(meta['choices'])}; got {value!r}")
            if meta["minimum"] is not None and value < meta["minimum"]:
                raise ValueError(f"{f.name} must be at least {meta['minimum']}; got {value!r}")
            if meta["maximum"] is not None and value > meta["maximum"]:
                raise ValueError(f"{f.name} must be at most {meta['maximum']}; got {value!r}")


BOOKKEEPING_FIELDS = ("name", "out", "save_every", "sample_every", "log_every", "keep_checkpoints", "progress",
                      "workers", "threads", "device")  # a resumed run may change them: they are not the model's

PRESETS = {
    # the official recipe (REFERENCE.md) on Landscapes at 256x256: a multi-GPU job
    "official": TrainConfig(),
    # 2 CPU cores, an hour or two: 64x64 with the style encoder; SPADE's hidden width 32 instead of 128 (12 classes
    # need no more, and it halves the time); no VGG (a 548 MB download, and slow on a CPU). One thread: measured
    # 8-18 images/s on 2 shared cores, where two threads gave 2-11.
    "classroom": TrainConfig(
        name="classroom", size=64, ngf=16, ndf=32, spade_hidden=32, batch_size=8, use_vae=True, perceptual=False,
        ema=True, steps=6000, dataset_size=4000, workers=0, threads=1, save_every=250, sample_every=250),
    # a Colab T4 in a class period (about 30 minutes, estimated, see the lesson-08 notes): 128x128, mixed
    # precision; the perceptual loss when its weights were downloaded (spade_lib.losses.download_vgg19)
    "colab": TrainConfig(
        name="colab", size=128, ngf=32, ndf=64, batch_size=16, use_vae=True, ema=True, steps=3000,
        dataset_size=10_000, workers=2, save_every=250, sample_every=250),
}


def config_from_dict(values: dict, where: str = "the given values") -> TrainConfig:
    """A TrainConfig from ``asdict(config)``, e.g. a checkpoint's; unknown fields raise a clear error."""
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(f"{where} has config fields this spade_lib does not know: {', '.join(unknown)}")
    return TrainConfig(**values)


def run_dir(config: TrainConfig) -> Path:
    """The run's output folder: ``config.out``, else ``checkpoints.default_run_dir(config.name)``."""
    return Path(config.out) if config.out else checkpoints.default_run_dir(config.name)


# -----------------------------------------------------------------------------------------------------------------
# Building the networks, optimizers and learning-rate schedule from the config


def segmap_channels(config: TrainConfig) -> int:
    """Label channels of the networks: one per Landscapes class, + 1 for instance edges."""
    return label_channels(NUM_CLASSES, use_instance=config.instance_edges)


def build_generator(config: TrainConfig) -> SPADEGenerator:
    return SPADEGenerator(segmap_channels(config), width=config.size, upsampling=config.upsampling, ngf=config.ngf,
                          use_vae=config.use_vae, z_dim=config.z_dim, spade_hidden=config.spade_hidden,
                          norm=config.norm)


def build_discriminator(config: TrainConfig) -> MultiscaleDiscriminator:
    # D sees concat(segmap, image): label channels + 3
    return MultiscaleDiscriminator(segmap_channels(config) + 3, num_D=config.num_d, n_layers=config.n_layers_d,
                                   ndf=config.ndf)


def build_encoder(config: TrainConfig) -> Optional[StyleEncoder]:
    # the official ConvEncoder's width is ngf; it sees the training images at their size (official: resized to 256)
    return StyleEncoder(input_size=config.size, ndf=config.ngf, z_dim=config.z_dim) if config.use_vae else None


def learning_rates(config: TrainConfig) -> tuple[float, float, tuple[float, float]]:
    """(lr_G, lr_D, Adam betas) of the official recipe (REFERENCE.md, "Losses and training").

    TTUR (Heusel et al. 2017, the official default): G at lr/2 = 1e-4, D at 2 lr = 4e-4, betas (0, 0.9) (the
    paper's 0.999 is a typo, confirmed by the authors). Without TTUR both use lr = 2e-4 and betas (0.5, 0.999)."""
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


def cpu_has_bf16() -> bool:
    """True on a CPU with native bfloat16 arithmetic (AVX512-BF16, ``avx512_bf16`` in lscpu's flags)."""
    check = getattr(torch.cpu, "_is_avx512_bf16_supported", None)  # torch's own CPU check (private, hence getattr)
    return bool(check and check())


def mixed_precision_dtype(amp: bool, device: torch.device) -> Optional[torch.dtype]:
    """The autocast dtype of ``TrainConfig.amp`` on ``device``, None for float32.

    CUDA: float16 (with loss scaling). CPU: bfloat16 where the CPU has native bf16 instructions: oneDNN's bf16
    convolutions then run about twice as fast as float32 ones, and convolutions are 60-75% of a classroom step
    (profile in benchmarks/results/train_step.md). bfloat16 keeps float32's range (no loss scaling) with 8 bits
    of mantissa; autocast keeps the weights, the optimizer and the normalizations' statistics in float32, as
    float16 does on CUDA. Without native bf16 it is emulated and slower than float32: off."""
    if not amp:
        return None
    if device.type == "cuda":
        return torch.float16
    if device.type == "cpu" and cpu_has_bf16():
        return torch.bfloat16
    return None


def to_segmap(batch: dict, config: TrainConfig, device: torch.device) -> LabelMap:
    """A batch's label and instance maps -> the networks' compact segmap (ids + instance edges) on ``device``."""
    instance = batch["instance"].to(device) if config.instance_edges else None
    return make_segmap(batch["label"].to(device), NUM_CLASSES, instance)


def doubled(segmap: LabelMap) -> LabelMap:
    """The segmap of ``torch.cat([fake, real])``: every map twice."""
    edges = None if segmap.edges is None else segmap.edges.repeat(2, 1, 1)
    return LabelMap(segmap.labels.repeat(2, 1, 1), segmap.num_classes, edges)


# -----------------------------------------------------------------------------------------------------------------
# Several GPUs: torchrun + DistributedDataParallel


def init_distributed(device_option: str) -> tuple[int, int, torch.device]:
    """(rank, world_size, device). Under ``torchrun`` (which sets RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and
    MASTER_PORT) join the process group, NCCL between GPUs and gloo on CPU, one GPU per process; else one process."""
    device = modes.device() if device_option == "auto" else torch.device(device_option)
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size == 1:
        return 0, 1, device
    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return dist.get_rank(), dist.get_world_size(), device


def no_buffer_sync() -> dict:
    """DDP's option not to copy process 0's buffers to the others before every forward (D runs twice a step).

    There is nothing to copy: the buffers are spectral-norm vectors, which every process updates identically from
    its identical weights, and batch-norm running statistics, used only in eval mode (synchronized on GPUs by
    SyncBatchNorm; on CPU process 0's are saved). torch 2.14 renamed ``broadcast_buffers`` to
    ``forward_sync_buffers``."""
    options = inspect.signature(DistributedDataParallel).parameters
    return {"forward_sync_buffers": False} if "forward_sync_buffers" in options else {"broadcast_buffers": False}


@contextlib.contextmanager
def frozen(model: torch.nn.Module):
    """Use ``model`` as a fixed function: no gradients for its weights and, under DDP, no gradient exchange.

    The generator step runs D this way; the official code lets D's gradients accumulate there and zeroes them
    before D's own step, which gives the same weights for more work."""
    model.requires_grad_(False)
    try:
        with model.no_sync() if isinstance(model, DistributedDataParallel) else contextlib.nullcontext():
            yield
    finally:
        model.requires_grad_(True)


# -----------------------------------------------------------------------------------------------------------------
# The trainer


class NonFiniteLossError(FloatingPointError):
    """A loss became NaN or infinite; the message names the loss and the step."""


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
        self.config = config
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
        self.dataset = Landscapes(size=config.size, length=config.dataset_size)

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
        if "kl" in terms:  # KL is a sum over the batch; DDP averages gradients over processes: undo that
            terms["kl"] = terms["kl"] * self.world_size
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
        sampler = StepBatches(self.config.dataset_size, self.config.batch_size, self.config.seed, self.step,
                              self.config.steps, self.rank, self.world_size)
        return DataLoader(self.dataset, batch_sampler=sampler, num_workers=self.config.workers,
                          pin_memory=self.device.type == "cuda", generator=torch.Generator())

    def fit(self, callback: Optional[Callable[["Trainer", dict], None]] = None) -> list[dict]:
        """Train from ``self.step`` to ``config.steps``; returns the loss history.

        Every ``save_every`` steps, at the end, and when stopped (Ctrl-C, SIGTERM, or KeyboardInterrupt raised by
        ``callback(trainer, losses)``, called after every step) a checkpoint is saved; the current step always
        finishes first. A NaN or Inf loss raises NonFiniteLossError and keeps the last good checkpoint."""
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
        if self.stop_reason and self.rank == 0:
            print(f"Stopped by {self.stop_reason} after step {self.step}; checkpoint saved: {self.last_checkpoint}. "
                  f"Resume with --resume latest (or Trainer.load).")
        return self.history

    def after_step(self) -> None:
        """Log the mean losses, save a sample grid and a checkpoint when their step comes."""
        if self.step % self.config.log_every == 0:
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
        """Write a checkpoint of the current step (process 0 writes; all processes must call it). Returns its path."""
        tensors, state = self.state()
        self.last_saved_step = self.step
        if self.rank != 0:
            return None
        path = checkpoints.checkpoint_path(self.checkpoint_dir, self.step)
        self.last_checkpoint = checkpoints.save_checkpoint(path, tensors, state, keep=self.config.keep_checkpoints)
        return self.last_checkpoint

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
        state = {"step": self.step, "config": asdict(self.config), "world_size": self.world_size,
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
        schedulers, RNG states, step and history. The config must match, except ``BOOKKEEPING_FIELDS``."""
        path = checkpoints.find_latest(self.checkpoint_dir) if str(path) == "latest" else checkpoints.resolve(path)
        tensors, state = checkpoints.load_checkpoint(path)
        checkpoints.check_same(state["config"], asdict(self.config), path, ignore=BOOKKEEPING_FIELDS)
        if state["perceptual_loss"] != (self.vgg is not None):
            checkpoints.check_same({"perceptual loss in use": state["perceptual_loss"]},
                                   {"perceptual loss in use": self.vgg is not None}, path, what="loss")
        for name, net in self.networks().items():
            load_weights(net, tensors, name, path)
        for name, optimizer in self.optimizers.items():
            optimizer.load_state_dict(checkpoints.join_state_dict(tensors, state["optimizers"][name],
                                                                  f"optimizer/{name}"))
            self.schedulers[name].load_state_dict(state["schedulers"][name])
            self.scalers[name].load_state_dict(state["grad_scalers"][name])
        self.restore_rng(tensors, state, path)
        unlogged = state["losses_since_last_log"]
        self.meter.sums, self.meter.count = unlogged["sums"], unlogged["count"]
        self.step, self.history, self.last_checkpoint, self.last_saved_step = \
            state["step"], state["history"], path, state["step"]
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
        path = run_dir(self.config) / "samples" / f"step_{self.step:07d}.png"
        return save_grid(path, batch["label"], [real, fake])


# -----------------------------------------------------------------------------------------------------------------
# Sampling: images from label maps, with a style


@contextlib.contextmanager
def evaluating(*modules: Optional[torch.nn.Module]):
    """Eval mode (batch-norm running statistics, no spectral-norm update) inside, the previous modes after."""
    modules = [m for m in modules if m is not None]
    was_training = [m.training for m in modules]
    for m in modules:
        m.eval()
    try:
        yield
    finally:
        for m, training in zip(modules, was_training):
            m.train(training)


@torch.no_grad()
def generate(generator: SPADEGenerator, encoder: Optional[StyleEncoder], segmap, style_images=None,
             sample_style: bool = False) -> torch.Tensor:
    """Images (N, 3, H, W) in [-1, 1] for ``segmap``, in eval mode.

    With the VAE: the style of ``style_images`` (N, 3, H, W) through the encoder, z = mu (the most likely style)
    or, with ``sample_style``, z drawn from N(mu, sigma^2); without style images, z drawn from N(0, I)."""
    with evaluating(generator, encoder):
        if not generator.use_vae or style_images is None:
            return generator(segmap)  # with the VAE: z ~ N(0, I), drawn by the generator
        mu, logvar = encoder(style_images.to(next(encoder.parameters()).device))
        return generator(segmap, reparameterize(mu, logvar) if sample_style else mu)


def load_generator(path, ema: bool = True, device="cpu"):
    """(generator, encoder or None, config) of a checkpoint, in eval mode, for sampling.

    ``ema``: the averaged generator when the checkpoint has one. ``path``: a checkpoint or a folder (newest)."""
    path = checkpoints.resolve(path)
    tensors, state = checkpoints.load_checkpoint(path)
    config = config_from_dict(state["config"], where=str(path))
    generator, encoder = build_generator(config), build_encoder(config)
    use_ema = ema and any(key.startswith("generator_ema/") for key in tensors)
    load_weights(generator, tensors, "generator_ema" if use_ema else "generator", path)
    if encoder is not None:
        load_weights(encoder, tensors, "encoder", path)
        encoder.to(device).eval()
    return generator.to(device).eval(), encoder, config


def save_grid(path, labels: torch.Tensor, columns: list[torch.Tensor]) -> Path:
    """Save a PNG grid (``spade_lib.viz.image_grid``): one row per label map, the colorized map first, then one
    image of every column. ``labels``: (N, H, W) class ids; ``columns``: (N, 3, H, W) images in [-1, 1]."""
    rows = [[labels[i]] + [column[i].float() for column in columns] for i in range(len(labels))]
    buffer = io.BytesIO()
    Image.fromarray(image_grid(rows)).save(buffer, format="PNG")
    checkpoints.atomic_write_bytes(path, buffer.getvalue())
    return Path(path)


def load_weights(net: torch.nn.Module, tensors: dict[str, torch.Tensor], name: str, path) -> None:
    """Load ``<name>/...`` tensors of a checkpoint into ``net``; a CheckpointError when they do not fit."""
    prefix = f"{name}/"
    weights = {key[len(prefix):]: t for key, t in tensors.items() if key.startswith(prefix)}
    try:
        net.load_state_dict(weights)
    except RuntimeError as error:
        raise checkpoints.CheckpointError(f"checkpoint {path}: the {name} weights do not fit this model: {error}")


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
