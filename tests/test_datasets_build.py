"""Training on real datasets: the presets' official networks, 2-step runs on each dataset's fixture, the config's
dataset recorded in checkpoints, and the errors for a missing dataroot (spade_lib.datasets.build)."""
import dataclasses

import pytest
import torch

from spade_lib import official
from spade_lib.datasets import ADE20K, make_fixture
from spade_lib.landscapes import NUM_CLASSES
from spade_lib.datasets.build import label_layout, training_dataset
from spade_lib.models import PRESETS, build_discriminator, build_generator, load_model, segmap_channels
from spade_lib.training import Trainer, to_segmap

# official.DATASETS: the official networks' label channels; REFERENCE parameter counts of G and D (no VAE)
OFFICIAL_COUNTS = {"ade20k": (151, 96_492_483, 5_836_930), "cityscapes": (36, 93_048_003, 5_601_410),
                   "coco": (184, 97_480_899, 5_904_514)}


def parameters(net) -> int:
    return sum(p.numel() for p in net.parameters())


@pytest.mark.parametrize("name", ["ade20k", "cityscapes", "coco"])
def test_presets_build_the_official_networks(name):
    config = PRESETS[name]
    channels, g_count, d_count = OFFICIAL_COUNTS[name]
    assert segmap_channels(config) == channels == official.DATASETS[name].label_channels
    generator = build_generator(config)
    assert parameters(generator) == g_count == parameters(official.generator(name))
    assert round(parameters(generator) / 1e6, 2) == {"ade20k": 96.49, "cityscapes": 93.05, "coco": 97.48}[name]
    assert parameters(build_discriminator(config)) == d_count
    assert generator.instance_edges == official.DATASETS[name].use_instance  # ADE20K: --no_instance
    assert config.ttur and config.lambda_vgg == 10 and config.perceptual and config.lambda_feat == 10


def test_preset_schedules_are_200_epochs_of_the_official_batches():
    assert PRESETS["ade20k"].steps == 200 * (20_210 // 32)
    assert (PRESETS["cityscapes"].batch_size, PRESETS["cityscapes"].steps) == (16, 200 * (2975 // 16))
    assert PRESETS["coco"].steps == 200 * (118_287 // 32)
    city = PRESETS["cityscapes"]
    assert (city.size, city.aspect_ratio, city.upsampling) == (512, 2.0, "more")
    assert (build_generator(city).height, build_generator(city).width) == (256, 512)


def tiny(name, root, out, **changes):
    """The preset of ``name`` on a fixture, small enough for 2 CPU steps."""
    size = 128 if name == "cityscapes" else 32  # "more" upsampling at 2:1 needs 128 x 64 for a 2 x 1 start
    settings = dict(dataroot=str(root), size=size, ngf=4, ndf=4, spade_hidden=8, batch_size=2, steps=2,
                    perceptual=False, workers=0, progress=False, out=str(out), save_every=1000, sample_every=1,
                    log_every=1, amp=False)
    return dataclasses.replace(PRESETS[name], **{**settings, **changes})


@pytest.mark.parametrize("name", ["ade20k", "cityscapes", "coco"])
def test_two_training_steps_on_each_fixture(tmp_path, name):
    root = make_fixture(tmp_path / "data", name, count=3, size=48)
    config = tiny(name, root, tmp_path / "run")
    trainer = Trainer(config)
    assert trainer.dataset.label_channels == segmap_channels(config) == trainer.generator.label_channels
    batch = torch.utils.data.default_collate([trainer.dataset[0], trainer.dataset[1]])
    ours, theirs = to_segmap(batch, config, torch.device("cpu")), trainer.dataset.segmap(batch)
    assert torch.equal(ours.one_hot(), theirs.one_hot())  # the trainer feeds the dataset's own segmap
    before = {k: v.clone() for k, v in trainer.generator.state_dict().items()}
    history = trainer.fit()
    assert trainer.step == 2 and history
    assert any(not torch.equal(before[k], v) for k, v in trainer.generator.state_dict().items())
    assert (tmp_path / "run" / "samples" / "step_0000001.png").is_file()
    generator, _, loaded = load_model(tmp_path / "run")  # the checkpoint records the dataset: same channels
    assert loaded.dataset == name and generator.label_channels == trainer.generator.label_channels


def test_folder_dataset_infers_classes_from_its_palette(tmp_path):
    root = make_fixture(tmp_path / "data", "folder", count=3, size=40)
    config = tiny("ade20k", root, tmp_path / "run", dataset="folder", num_classes=0, instance_edges=False)
    trainer = Trainer(config)
    assert trainer.config.num_classes == NUM_CLASSES == trainer.generator.label_channels  # palette.txt
    trainer.fit()
    _, _, loaded = load_model(tmp_path / "run")
    assert loaded.num_classes == NUM_CLASSES  # recorded, so the networks can be rebuilt without the data


def test_folder_without_classes_or_palette_says_what_to_give(tmp_path):
    root = make_fixture(tmp_path / "data", "folder", count=2, size=40)
    (root / "palette.txt").unlink()
    with pytest.raises(ValueError, match="--num-classes"):
        Trainer(tiny("ade20k", root, tmp_path / "run", dataset="folder", instance_edges=False))
    with pytest.raises(ValueError, match="instances"):
        training_dataset(tiny("ade20k", root, tmp_path / "run", dataset="folder", num_classes=12,
                              instance_edges=True))


@pytest.mark.parametrize("name", ["ade20k", "coco", "cityscapes", "folder"])
def test_missing_or_empty_dataroot_names_the_folder_and_the_fix(tmp_path, name):
    missing = tmp_path / "nowhere"
    config = dataclasses.replace(PRESETS["ade20k"], dataset=name, dataroot=str(missing), num_classes=3)
    with pytest.raises(FileNotFoundError) as error:
        training_dataset(config)
    assert str(missing) in str(error.value) and "missing" in str(error.value)
    expected = {"ade20k": "python -m spade_lib download ade20k", "coco": "python -m spade_lib download coco",
                "cityscapes": "cityscapes-dataset.com", "folder": "images/"}[name]
    assert expected in str(error.value)
    missing.mkdir()
    with pytest.raises(FileNotFoundError, match="empty"):
        training_dataset(config)


def test_ade20k_with_instance_edges_is_refused(tmp_path):
    root = make_fixture(tmp_path, "ade20k", count=2)
    with pytest.raises(ValueError, match="--no-instance-edges"):
        training_dataset(dataclasses.replace(PRESETS["ade20k"], dataroot=str(root), instance_edges=True))


def test_official_preprocess_scaled_to_the_config_size(tmp_path):
    root = make_fixture(tmp_path, "ade20k", count=2)
    ds = training_dataset(dataclasses.replace(PRESETS["ade20k"], dataroot=str(root)))
    assert isinstance(ds, ADE20K) and ds.preprocess == ADE20K.official_preprocess(True)  # 286 -> 256, at 256
    small = training_dataset(dataclasses.replace(PRESETS["ade20k"], dataroot=str(root), size=128), train=False)
    assert (small.preprocess.load_size, small.preprocess.crop_size, small.preprocess.flip) == (128, 128, False)
    assert small[0]["image"].shape == (3, 128, 128)
    assert label_layout(PRESETS["coco"]) == (182, True)


def test_resume_from_the_command_line_with_the_data_moved(tmp_path):
    import shutil

    from spade_lib.__main__ import main
    root = make_fixture(tmp_path / "data", "ade20k", count=3, size=40)
    common = ["--size", "32", "--ngf", "4", "--ndf", "4", "--spade-hidden", "8", "--batch-size", "2",
              "--no-perceptual", "--workers", "0", "--no-progress", "--no-amp", "--out", str(tmp_path / "run")]
    assert main(["train", "--preset", "ade20k", "--dataroot", str(root), "--steps", "1", *common]) == 0
    moved = shutil.move(str(root), str(tmp_path / "moved"))
    assert main(["train", "--resume", "latest", "--preset", "ade20k", "--dataroot", str(moved), "--steps", "2",
                 *common]) == 0
    _, _, config = load_model(tmp_path / "run")
    assert (config.dataset, config.dataroot) == ("ade20k", str(moved))
    assert main(["train", "--preset", "ade20k", "--dataroot", str(tmp_path / "gone"), "--steps", "1",
                 "--out", str(tmp_path / "other"), *common[:-2]]) == 1  # one line, not a traceback
