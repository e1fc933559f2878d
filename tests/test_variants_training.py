"""The comparison's variants through the trainer and the command line (TrainConfig's generator, discriminator,
noise_3d, label_mix): each trains, saves, resumes and loads as the right class; wrong combinations are refused."""
import json

import pytest
import torch

from spade_lib import checkpoints
from spade_lib.__main__ import main
from spade_lib.discriminator import MultiscaleDiscriminator
from spade_lib.generator import SPADEGenerator
from spade_lib.models import TrainConfig, load_model
from spade_lib.norms import CLADE
from spade_lib.oasis import OASISDiscriminator, OASISGenerator
from spade_lib.pix2pixhd import Pix2PixHDGenerator
from spade_lib.training import Trainer

VARIANTS = [  # (TrainConfig settings, generator class, discriminator class)
    (dict(generator="spade"), SPADEGenerator, MultiscaleDiscriminator),
    (dict(generator="clade"), SPADEGenerator, MultiscaleDiscriminator),
    (dict(generator="pix2pixhd"), Pix2PixHDGenerator, MultiscaleDiscriminator),
    (dict(noise_3d=8, discriminator="oasis"), OASISGenerator, OASISDiscriminator),
]
IDS = ["spade", "clade", "pix2pixhd", "oasis"]


def tiny_config(out, **changes) -> TrainConfig:
    settings = dict(size=32, ngf=4, ndf=4, spade_hidden=8, batch_size=2, steps=2, dataset_size=8, use_vae=False,
                    perceptual=False, workers=0, threads=1, progress=False, out=str(out), save_every=1000,
                    sample_every=1000, log_every=1)
    return TrainConfig(**{**settings, **changes})


def as_options(settings: dict) -> list[str]:
    """TrainConfig settings as command-line options: --generator=clade, --use-vae / --no-use-vae."""
    flag = lambda name: name.replace("_", "-")
    return [(f"--{flag(n)}" if v else f"--no-{flag(n)}") if isinstance(v, bool) else f"--{flag(n)}={v}"
            for n, v in settings.items()]


@pytest.mark.parametrize("settings,generator_class,discriminator_class", VARIANTS, ids=IDS)
def test_each_variant_trains_resumes_and_loads_as_its_class(tmp_path, settings, generator_class,
                                                            discriminator_class):
    trainer = Trainer(tiny_config(tmp_path, **settings))
    assert type(trainer.generator) is generator_class and type(trainer.discriminator) is discriminator_class
    assert any(isinstance(m, CLADE) for m in trainer.generator.modules()) == (settings.get("generator") == "clade")
    before = {k: v.clone() for k, v in trainer.generator.state_dict().items()}
    trainer.fit()
    assert trainer.step == 2 and any(not torch.equal(before[k], v) for k, v in trainer.generator.state_dict().items())
    resumed = Trainer(tiny_config(tmp_path, **{**settings, "steps": 3}))
    resumed.load("latest")
    assert resumed.step == 2
    resumed.fit()
    assert resumed.step == 3
    generator, encoder, config = load_model(tmp_path)
    assert type(generator) is generator_class and encoder is None and config == resumed.config


def test_oasis_steps_use_oasis_losses_and_labelmix_is_optional(tmp_path):
    trainer = Trainer(tiny_config(tmp_path / "mix", discriminator="oasis"))
    trainer.fit()
    terms = set(trainer.history[-1]) - {"step", "images_per_second"}
    assert terms == {"g_gan", "d_fake", "d_real", "d_labelmix"}  # no feature matching with OASIS's D
    plain = Trainer(tiny_config(tmp_path / "plain", discriminator="oasis", label_mix=False))
    plain.fit()
    assert set(plain.history[-1]) - {"step", "images_per_second"} == {"g_gan", "d_fake", "d_real"}
    multiscale = Trainer(tiny_config(tmp_path / "multiscale"))
    multiscale.fit()
    assert "g_feat" in multiscale.history[-1] and "d_labelmix" not in multiscale.history[-1]


@pytest.mark.parametrize("settings,generator_class,discriminator_class", VARIANTS, ids=IDS)
def test_each_variant_through_the_command_line(tmp_path, settings, generator_class, discriminator_class):
    tiny = ["--size", "32", "--ngf", "4", "--ndf", "4", "--spade-hidden", "8", "--batch-size", "2",
            "--dataset-size", "8", "--no-progress", "--no-use-vae", "--out", str(tmp_path)]
    assert main(["train", "--preset", "classroom", *tiny, *as_options(settings), "--steps", "2"]) == 0
    assert main(["train", "--preset", "classroom", *tiny, *as_options(settings), "--steps", "3",
                 "--resume", "latest"]) == 0
    generator, _, config = load_model(tmp_path)
    assert type(generator) is generator_class and checkpoints.read_state(
        checkpoints.find_latest(tmp_path / "checkpoints"))["step"] == 3
    assert {name: getattr(config, name) for name in settings} == settings


@pytest.mark.parametrize("settings,message", [
    (dict(generator="pix2pixhd", use_vae=True), "turn off use_vae"),
    (dict(generator="clade", noise_3d=64), "CLADE looks up"),
    (dict(use_vae=True, noise_3d=64), "choose one"),
    (dict(generator="stylegan"), "generator must be one of"),
])
def test_a_wrong_combination_is_one_clear_error(tmp_path, settings, message, capsys):
    with pytest.raises(ValueError, match=message):
        tiny_config(tmp_path, **settings)
    with pytest.raises(SystemExit) as exit_:
        main(["train", "--preset", "classroom", "--out", str(tmp_path), *as_options(settings)])
    assert exit_.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert message.split()[0] in error and not (tmp_path / "checkpoints").exists()


def test_a_checkpoint_from_before_the_variants_loads_and_resumes(tmp_path):
    """A checkpoint whose config has no generator, discriminator, noise_3d, label_mix, lambda_labelmix fields (as
    written before they existed) loads as the SPADE generator and resumes with the defaults."""
    Trainer(tiny_config(tmp_path, steps=1)).fit()
    path = checkpoints.find_latest(tmp_path / "checkpoints")
    state = json.loads(path.read_text())
    for name in ("generator", "discriminator", "noise_3d", "label_mix", "lambda_labelmix"):
        del state["config"][name]
    path.write_text(json.dumps(state))
    generator, _, config = load_model(path)
    assert type(generator) is SPADEGenerator and config.generator == "spade" and config.discriminator == "multiscale"
    resumed = Trainer(tiny_config(tmp_path, steps=2))
    resumed.load(path)
    resumed.fit()
    assert resumed.step == 2


def test_sample_variants_of_a_3d_noise_model_differ_and_a_deterministic_model_refuses(tmp_path, capsys):
    """OASIS's 3D noise gives many images per label map without a style encoder: ``sample --variants`` makes one
    column per draw of the noise; a model with neither noise nor encoder makes one image per map and says so."""
    from PIL import Image

    from spade_lib.labels import make_segmap
    from spade_lib.landscapes import Landscapes
    from spade_lib.models import generate

    tiny = ["--size", "32", "--ngf", "4", "--ndf", "4", "--spade-hidden", "8", "--batch-size", "2",
            "--dataset-size", "8", "--no-progress", "--no-use-vae", "--steps", "1"]
    assert main(["train", "--preset", "classroom", *tiny, "--noise-3d", "8", "--discriminator", "oasis",
                 "--out", str(tmp_path / "oasis")]) == 0
    assert main(["sample", "--checkpoint", str(tmp_path / "oasis"), "--dataset", "1", "--variants", "3",
                 "--out", str(tmp_path / "grids")]) == 0
    assert Image.open(tmp_path / "grids" / "grid_000.png").size == (5 * 34 - 2, 32)  # label | real | 3 variants
    generator, encoder, _ = load_model(tmp_path / "oasis")
    sample = Landscapes(size=32, length=1)[0]
    segmap = make_segmap(sample["label"][None], 11, sample["instance"][None])
    first, second = generate(generator, encoder, segmap), generate(generator, encoder, segmap)
    assert not torch.equal(first, second)  # each call draws new noise: another image of the same map
    assert main(["train", "--preset", "classroom", *tiny, "--out", str(tmp_path / "plain")]) == 0
    with pytest.raises(SystemExit) as exit_:
        main(["sample", "--checkpoint", str(tmp_path / "plain"), "--dataset", "1", "--variants", "2",
              "--out", str(tmp_path / "refused")])
    assert exit_.value.code == 2 and "one image per label map" in capsys.readouterr().err
