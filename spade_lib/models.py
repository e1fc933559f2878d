"""Models: configuration, build, load, generate (lessons 03 and 07 to 10).

Everything that *uses* a SPADE model, and nothing that trains one (that is ``spade_lib.training``, lesson 08):

- ``TrainConfig`` and ``PRESETS``: one frozen description of a model and its training run;
- ``build_generator``, ``build_discriminator``, ``build_encoder``: the networks of a config;
- ``load_model``: THE loader, for a training checkpoint, a run folder or a shipped model folder such as the
  classroom model (``load_classroom``); every weights file shipped in ``data/`` is checked against the SHA-256
  recorded next to it (``checksums.json``);
- ``generate`` and ``save_grid``: images from label maps, with a style.

A shipped model is a folder with two safetensors files, ``generator.safetensors`` (the EMA generator) and
``encoder.safetensors`` (the style encoder), ``checksums.json`` and ``MODEL_CARD.md``. Each file carries, in its
safetensors metadata, the training configuration, the library version that wrote it and where it came from (steps,
time, hardware), so loading can check that this spade_lib builds the very network the weights belong to. Weights
may be stored in float16 (half the size); they are loaded as float32.

    >>> generator, encoder, config = load_classroom()          # data/classroom/, 64x64 Landscapes
    >>> images = generate(generator, encoder, make_segmap(labels, NUM_CLASSES, instances))
"""
import contextlib
import dataclasses
import hashlib
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Union

import torch
from PIL import Image
from safetensors import SafetensorError, safe_open
from safetensors.torch import save as safetensors_save

from . import __version__, checkpoints, variants
from .encoder import StyleEncoder, reparameterize
from .generator import SPADEGenerator
from .datasets.build import label_layout
from .labels import label_channels
from .losses import GAN_LOSSES
from .release import REPOSITORY
from .variants import DISCRIMINATORS, GENERATORS, check_variant
from .viz import colorize, image_grid

PathLike = Union[str, Path]


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

    # data (spade_lib.datasets.build)
    dataset: str = option("landscapes", "what to train on: landscapes (procedural), ade20k, cityscapes, coco (the "
                                        "official layouts) or folder (images/, labels/ of your own)",
                          choices=("landscapes", "ade20k", "cityscapes", "coco", "folder"))
    dataroot: str = option("", "the dataset's folder (not for landscapes); python -m spade_lib download NAME")
    num_classes: int = option(0, "--dataset folder: classes in the label maps (0: the palette file's length)",
                              minimum=0)
    size: int = option(256, "image width in pixels (official --crop_size)", minimum=8)
    aspect_ratio: float = option(1.0, "width / height of the images (official --aspect_ratio; Cityscapes 2)",
                                 minimum=0.25, maximum=4)
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
    # the networks of the comparison (lesson 12, spade_lib.variants)
    generator: str = option("spade", "generator: spade (the paper's), clade (CLADE layers, Tan et al., TPAMI 2021, "
                                     "arXiv 2012.04644) or pix2pixhd (the label map at the input only, the SPADE "
                                     "paper's baseline, arXiv 1903.07291 Sec. 4)", choices=GENERATORS)
    discriminator: str = option("multiscale", "discriminator: multiscale (SPADE's PatchGANs) or oasis (a U-Net "
                                              "segmenter with N + 1 classes, Sushko et al., ICLR 2021, arXiv "
                                              "2012.04781; no feature matching then)", choices=DISCRIMINATORS)
    noise_3d: int = option(0, "channels of OASIS's 3D noise joined to the label map in every SPADE layer (OASIS "
                              "Sec. 3.3: 64); 0: none", minimum=0)
    label_mix: bool = option(True, "with the oasis discriminator: LabelMix, D also sees real and fake mixed along "
                                   "class regions (OASIS Sec. 3.2)")
    lambda_labelmix: float = option(10.0, "weight of LabelMix's consistency loss (OASIS: 10)", minimum=0)
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
                             "can be much faster (classroom: 8-18 images/s against 2-11 with 2)", minimum=0)
    device: str = option("auto", "'auto' (CUDA when present, see spade_lib.modes), 'cpu', 'cuda' or 'cuda:1'")
    # bookkeeping: these may change when resuming (BOOKKEEPING_FIELDS)
    name: str = option("official", "run name; the default output folder is runs/<name> (on Colab: on Drive)")
    out: str = option("", "output folder for checkpoints and samples (empty: the default for the run name)")
    save_every: int = option(1000, "save a checkpoint every this many steps", minimum=1)
    sample_every: int = option(500, "save a sample grid (label | real | generated) every this many steps",
                               minimum=1)
    log_every: int = option(10, "add the mean losses to the history every this many steps", minimum=1)
    keep_checkpoints: int = option(2, "how many of the run's newest checkpoints to keep (0: all)", minimum=0)
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
        check_variant(self.generator, self.discriminator, self.use_vae, self.noise_3d)


# a resumed run may change them: they are not the model's (dataroot: the same data may have moved)
BOOKKEEPING_FIELDS = ("name", "out", "save_every", "sample_every", "log_every", "keep_checkpoints", "progress",
                      "workers", "threads", "device", "dataroot")

PRESETS = {
    # the official recipe (paper Sec. 4 and Appendix A; NVlabs/SPADE options/*.py) on Landscapes at 256x256: a
    # multi-GPU job
    "official": TrainConfig(),
    # 2 CPU cores, about an hour and a half (85 minutes measured for the shipped model, README): 64x64 with the
    # style encoder; SPADE's hidden width 32 instead of 128 (12 classes need no more, and it halves the time); no
    # VGG (a 548 MB download, and slow on a CPU); a fresh procedural sample for nearly every image (64,000 images
    # drawn from 100,000, where the first model saw 4000 twelve times). One thread: measured 8-18 images/s on 2
    # shared cores, where two threads gave 2-11.
    "classroom": TrainConfig(
        name="classroom", size=64, ngf=16, ndf=32, spade_hidden=32, batch_size=8, use_vae=True, perceptual=False,
        ema=True, steps=8000, dataset_size=100_000, workers=0, threads=1, save_every=250, sample_every=250),
    # a Colab T4 in a class period (about 30 minutes, estimated, see the lesson-08 notes): 128x128, mixed
    # precision; the perceptual loss when its weights were downloaded (spade_lib.losses.download_vgg19)
    "colab": TrainConfig(
        name="colab", size=128, ngf=32, ndf=64, batch_size=16, use_vae=True, ema=True, steps=3000,
        dataset_size=10_000, workers=2, save_every=250, sample_every=250),
    # The official datasets with the official options, ready for a GPU (no time was measured here: no GPU). Each
    # dataset's preprocessing, class count and instance maps are its official ones (NVlabs/SPADE data/
    # ade20k_dataset.py, cityscapes_dataset.py, coco_dataset.py; ADE20K sets --no_instance, Cityscapes sets
    # --batchSize 16, 512x256 and "more" upsampling); TTUR, lr 0.0002, hinge + feature matching + VGG as
    # options/train_options.py; 200 epochs, the last 100 decaying (paper Sec. 4): steps = 200 * floor(train
    # images / batch), as the official loader drops the last incomplete batch. Give --dataroot, or download into
    # the default folder (python -m spade_lib download ade20k).
    "ade20k": TrainConfig(name="ade20k", dataset="ade20k", instance_edges=False, batch_size=32,
                          steps=200 * (20_210 // 32), save_every=5000, sample_every=1000, workers=8),
    "cityscapes": TrainConfig(name="cityscapes", dataset="cityscapes", size=512, aspect_ratio=2.0,
                              upsampling="more", batch_size=16, steps=200 * (2975 // 16), save_every=5000,
                              sample_every=1000, workers=8),
    "coco": TrainConfig(name="coco", dataset="coco", batch_size=32, steps=200 * (118_287 // 32), save_every=5000,
                        sample_every=1000, workers=8),
}


def config_from_dict(values: dict, where: str = "the given values") -> TrainConfig:
    """A TrainConfig from ``asdict(config)``, e.g. a checkpoint's; unknown or wrong-typed fields raise a clear
    error (an int is a float too)."""
    if not isinstance(values, dict):
        raise ValueError(f"{where}: its config is a {type(values).__name__}, not a mapping of settings")
    types = {f.name: f.type for f in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(values) - set(types))
    if unknown:
        raise ValueError(f"{where} has config fields this spade_lib does not know: {', '.join(unknown)}")
    for name, value in values.items():
        allowed = (int, float) if types[name] is float else types[name]
        if not isinstance(value, allowed) or (isinstance(value, bool) and types[name] is not bool):
            raise ValueError(f"{where}: config field {name!r} is {type(value).__name__} {value!r:.40}, expected "
                             f"{types[name].__name__} (was the file edited?)")
    return TrainConfig(**values)


def run_dir(config: TrainConfig) -> Path:
    """The run's output folder: ``config.out``, else ``checkpoints.default_run_dir(config.name)``."""
    return Path(config.out) if config.out else checkpoints.default_run_dir(config.name)


# -----------------------------------------------------------------------------------------------------------------
# Building the networks from the config


def segmap_channels(config: TrainConfig) -> int:
    """Label channels of the networks: one per class of the dataset (+ 1 for its don't-care id), + 1 for instance
    edges (Landscapes 12 + 1; official ADE20K 151, Cityscapes 36, COCO-Stuff 184)."""
    classes, dontcare = label_layout(config)
    return label_channels(classes, contain_dontcare=dontcare, use_instance=config.instance_edges)


def build_generator(config: TrainConfig) -> torch.nn.Module:
    """The generator ``config.generator`` names (SPADEGenerator, OASISGenerator with noise_3d, or
    Pix2PixHDGenerator; see ``spade_lib.variants``)."""
    return variants.build_generator(config.generator, segmap_channels(config), width=config.size,
                                    aspect_ratio=config.aspect_ratio, upsampling=config.upsampling, ngf=config.ngf,
                                    norm=config.norm, spade_hidden=config.spade_hidden, use_vae=config.use_vae,
                                    z_dim=config.z_dim, noise_3d=config.noise_3d,
                                    instance_edges=config.instance_edges)


def build_discriminator(config: TrainConfig) -> torch.nn.Module:
    """The discriminator ``config.discriminator`` names: the multiscale PatchGANs read concat(segmap, image), label
    channels + 3; OASIS's segmenter reads the image and predicts the dataset's label ids (with its don't-care id)
    + "fake"."""
    classes, dontcare = label_layout(config)
    return variants.build_discriminator(config.discriminator, segmap_channels(config), classes + dontcare,
                                        size=config.size,
                                        ndf=config.ndf, num_d=config.num_d, n_layers_d=config.n_layers_d)


def build_encoder(config: TrainConfig) -> Optional[StyleEncoder]:
    # the official ConvEncoder's width is ngf; it sees the training images at their size (official: resized to 256)
    return StyleEncoder(input_size=config.size, ndf=config.ngf, z_dim=config.z_dim) if config.use_vae else None


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
    or, with ``sample_style``, z drawn from N(mu, sigma^2); without style images, z drawn from N(0, I).
    Style images are floats in [-1, 1] or uint8 0..255 (converted, see ``style_pixels``)."""
    with evaluating(generator, encoder):
        if not generator.use_vae or style_images is None:
            return generator(segmap)  # with the VAE: z ~ N(0, I), drawn by the generator
        mu, logvar = encoder(style_pixels(style_images).to(next(encoder.parameters()).device))
        return generator(segmap, reparameterize(mu, logvar) if sample_style else mu)


def style_pixels(images: torch.Tensor) -> torch.Tensor:
    """Style images as the encoder takes them, floats in [-1, 1]: uint8 0..255 (``np.array(Image.open(...))``,
    moved to (N, 3, H, W)) become x / 127.5 - 1; floats outside [-1, 1] (0..255 floats) are refused."""
    if images.dtype == torch.uint8:
        return images.float() / 127.5 - 1
    if not images.is_floating_point():
        raise ValueError(f"style images have dtype {images.dtype}: give floats in [-1, 1] or uint8 0..255")
    smallest, largest = torch.aminmax(images.detach())
    if smallest < -1.001 or largest > 1.001:  # a little slack for rounding
        raise ValueError(f"style images hold values from {float(smallest):.3g} to {float(largest):.3g}, but float "
                         f"images must be in [-1, 1]: for 0..255 pixels use images / 127.5 - 1, or pass uint8")
    return images


def save_grid(path, labels: torch.Tensor, columns: list[torch.Tensor], palette=None) -> Path:
    """Save a PNG grid (``spade_lib.viz.image_grid``): one row per label map, the colourized map first, then one
    image of every column. ``labels``: (N, H, W) class ids; ``columns``: (N, 3, H, W) images in [-1, 1];
    ``palette``: one colour per id (default: Landscapes'; a real dataset's ``ds.palette``)."""
    coloured = [colorize(label) if palette is None else colorize(label, palette) for label in labels]
    rows = [[coloured[i]] + [column[i].float() for column in columns] for i in range(len(labels))]
    buffer = io.BytesIO()
    Image.fromarray(image_grid(rows)).save(buffer, format="PNG")
    checkpoints.atomic_write_bytes(path, buffer.getvalue())
    return Path(path)


# -----------------------------------------------------------------------------------------------------------------
# Loading: one loader for training checkpoints, run folders and shipped model folders

PACKAGE_DATA_DIR = Path(__file__).resolve().parent / "shipped"  # where a wheel installs the models of data/
DATA_DIR = PACKAGE_DATA_DIR if PACKAGE_DATA_DIR.is_dir() else Path(__file__).resolve().parent.parent / "data"
CLASSROOM_DIR = DATA_DIR / "classroom"
FORMAT = "spade_lib-model-1"
CHECKSUMS = "checksums.json"  # next to the weights files of data/: the SHA-256 of each
RETRAIN_HINT = ("python -m spade_lib train --preset classroom --out runs/classroom, then "
                "python data/classroom/export.py runs/classroom")


class ModelNotFoundError(FileNotFoundError):
    """No model where one was asked for (a missing shipped file, an empty folder): the message says what a model
    is, how to get the classroom model and how to train it again."""


def load_model(path: PathLike, device="cpu", ema: bool = True):
    """(generator, encoder or None, config) in eval mode on ``device``, from any of:

    - a shipped model folder (``data/classroom``: ``generator.safetensors`` and ``encoder.safetensors``);
    - a training checkpoint (``step_*.json`` or its ``.safetensors``), a folder of checkpoints or a run folder
      (their newest checkpoint); ``ema``: the averaged generator when the checkpoint has one."""
    path = Path(path)
    if (path / "generator.safetensors").is_file():
        config, weights = shipped_model(path)
    else:
        config, weights = checkpoint_model(find_checkpoint(path), ema)
    generator, encoder = build_generator(config), build_encoder(config)
    load_weights(generator, *weights("generator"))
    if encoder is not None:
        load_weights(encoder, *weights("encoder"))
        encoder.to(device).eval()
    return generator.to(device).eval(), encoder, config


def load_classroom(device="cpu"):
    """The course's classroom model: (generator, encoder, config), 64x64 Landscapes, trained on 2 CPU cores."""
    return load_model(CLASSROOM_DIR, device)


def model_info(folder: PathLike = CLASSROOM_DIR) -> dict:
    """The metadata of a shipped model (steps, training time, hardware, version, config) without the weights."""
    return read_model_file(Path(folder) / "generator.safetensors")[1]


def find_checkpoint(path: Path) -> Path:
    """The checkpoint that ``path`` names (a file, a folder of checkpoints, a run folder); a ModelNotFoundError
    that says where models come from when there is none."""
    if (path / "checkpoints").is_dir():
        path = path / "checkpoints"
    if path.is_dir() and checkpoints.list_checkpoints(path) or path.with_suffix(".json").is_file():
        return checkpoints.resolve(path)
    what = "holds no model" if path.is_dir() else "is no model file" if path.exists() else "does not exist"
    raise ModelNotFoundError(
        f"{path} {what}: a model is a folder with generator.safetensors (a shipped model) or a training checkpoint "
        f"(step_*.json, or the folder of a run). The classroom model ships with the course repository (git clone "
        f"{REPOSITORY}, folder data/); or train it again: {RETRAIN_HINT}")


def checkpoint_model(path: Path, ema: bool):
    """(config, weights) of a training checkpoint: ``weights(network)`` gives (state dict, where it comes from)."""
    tensors, state = checkpoints.load_checkpoint(path)
    config = config_from_dict(state["config"], where=str(path))
    use_ema = ema and any(key.startswith("generator_ema/") for key in tensors)
    names = {"generator": "generator_ema" if use_ema else "generator", "encoder": "encoder"}
    return config, lambda network: (network_weights(tensors, names[network]),
                                    f"checkpoint {path}: the {names[network]} weights")


def shipped_model(folder: Path):
    """(config, weights) of a shipped model folder: ``weights(network)`` reads ``<network>.safetensors`` and gives
    (state dict, where it comes from); the encoder must come from the generator's run."""
    generator_file = folder / "generator.safetensors"
    tensors, metadata = read_model_file(generator_file)
    config = config_from_dict(json.loads(metadata["config"]), where=str(generator_file))

    def weights(network: str):
        if network == "generator":
            return tensors, f"{generator_file}: the weights"
        encoder_tensors, encoder_metadata = read_model_file(folder / "encoder.safetensors")
        if encoder_metadata["config"] != metadata["config"]:
            raise checkpoints.CheckpointError(f"{folder}: generator.safetensors and encoder.safetensors come from "
                                              f"different training configurations; export both from one run")
        return encoder_tensors, f"{folder / 'encoder.safetensors'}: the weights"
    return config, weights


def network_weights(tensors: dict[str, torch.Tensor], name: str) -> dict[str, torch.Tensor]:
    """The ``<name>/...`` tensors of a checkpoint, without the prefix: one network's state dict."""
    prefix = f"{name}/"
    return {key[len(prefix):]: t for key, t in tensors.items() if key.startswith(prefix)}


def load_weights(net: torch.nn.Module, tensors: dict[str, torch.Tensor], where: str) -> None:
    """``net.load_state_dict(tensors)``; a CheckpointError naming ``where`` the weights come from when they do not
    fit the network."""
    try:
        net.load_state_dict(tensors)
    except RuntimeError as error:
        raise checkpoints.CheckpointError(f"{where} do not fit the network its configuration builds: {error}") \
            from None


# -----------------------------------------------------------------------------------------------------------------
# Weights files shipped in data/: safetensors with the writing library's version in their metadata, and their
# SHA-256 in checksums.json next to them


def same_minor_version(a: str, b: str) -> bool:
    """``0.1.0`` and ``0.1.3`` agree; ``0.1.0`` and ``0.2.0`` do not (a new minor version may change networks)."""
    return a.split(".")[:2] == b.split(".")[:2]


def recorded_checksums(folder: Path) -> dict[str, str]:
    """{file name: SHA-256} of ``folder/checksums.json``; empty when there is none (a folder the user made)."""
    path = folder / CHECKSUMS
    return json.loads(path.read_text()) if path.is_file() else {}


def write_weights(path: Path, tensors: dict[str, torch.Tensor], metadata: dict) -> dict:
    """Write ``tensors`` to ``path`` (atomically), with ``metadata`` and this library's version, as strings, and
    record the file's SHA-256 in ``checksums.json`` next to it."""
    path = Path(path)
    metadata = {key: str(value) for key, value in {**metadata, "spade_lib_version": __version__}.items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    data = safetensors_save({key: t.contiguous() for key, t in tensors.items()}, metadata=metadata)
    checkpoints.atomic_write_bytes(path, data)
    checksums = {**recorded_checksums(path.parent), path.name: hashlib.sha256(data).hexdigest()}
    checkpoints.atomic_write_bytes(path.parent / CHECKSUMS, (json.dumps(checksums, indent=2) + "\n").encode())
    return metadata


def check_checksum(path: Path, retrain: str) -> None:
    """A CheckpointError when ``path`` differs from the SHA-256 recorded next to it (a changed or damaged file)."""
    expected = recorded_checksums(path.parent).get(path.name)
    if expected is not None and checkpoints.file_digest(path) != expected:
        raise checkpoints.CheckpointError(
            f"{path} is corrupted: its SHA-256 differs from the one recorded in {path.parent / CHECKSUMS}. Restore "
            f"it with git (git checkout -- {path}), get the course again ({REPOSITORY}), or retrain: {retrain}")


def read_weights(path: Path, retrain: str) -> tuple[dict[str, torch.Tensor], dict]:
    """(tensors, metadata) of a file written by ``write_weights``; errors for a missing, changed, damaged or
    other-version file say what to do, ``retrain`` being the command that makes the file again."""
    if not path.is_file():
        raise ModelNotFoundError(f"{path} does not exist. It ships with the course repository (git clone "
                                 f"{REPOSITORY}, folder data/); or train it again: {retrain}")
    check_checksum(path, retrain)
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
                                          f"metadata); load training checkpoints with the checkpoint's own path")
    return {key: t.float() if t.is_floating_point() else t for key, t in tensors.items()}, metadata


# -----------------------------------------------------------------------------------------------------------------
# Writing: a training checkpoint -> a small shipped model


def export_model(checkpoint: PathLike, folder: PathLike, half: bool = True, info: Optional[dict] = None) -> dict:
    """Write the EMA generator and the encoder of ``checkpoint`` into ``folder`` (atomically); returns the
    generator file's metadata. ``half``: store float16 (the networks compute in float32 after loading).
    ``info``: more facts for the metadata (hardware, training minutes); values are turned into strings."""
    path = find_checkpoint(Path(checkpoint))
    generator, encoder, config = load_model(path, ema=True)
    state = checkpoints.read_state(path)
    metadata = {"format": FORMAT, "config": json.dumps(config.__dict__), "steps": state["step"], **(info or {})}
    written = {}
    for name, net in (("generator", generator), ("encoder", encoder)):
        if net is not None:
            tensors = {key: t.half() if half and t.is_floating_point() else t for key, t in net.state_dict().items()}
            written[name] = write_weights(Path(folder) / f"{name}.safetensors", tensors, {**metadata, "network": name})
    return written["generator"]


def training_minutes(state: dict) -> float:
    """Minutes a checkpoint's run spent training, from its loss history: each entry covers ``log_every`` steps
    of ``batch_size`` images at the recorded images per second (checkpoint writing not counted)."""
    images = state["config"]["log_every"] * state["config"]["batch_size"]
    return sum(images / entry["images_per_second"] for entry in state["history"]) / 60
