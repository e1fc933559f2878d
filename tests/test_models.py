"""spade_lib.models: one loader for checkpoints and shipped folders, export, every check, the classroom model."""
import json
import shutil

import pytest
import torch
from safetensors.torch import load_file, save_file

from spade_lib import checkpoints, models
from spade_lib.__main__ import main
from spade_lib.checkpoints import CheckpointError
from spade_lib.labels import make_segmap
from spade_lib.landscapes import NUM_CLASSES, Landscapes
from spade_lib.models import generate

TINY = ["--size", "32", "--ngf", "8", "--ndf", "8", "--spade-hidden", "16", "--z-dim", "16", "--batch-size", "2",
        "--dataset-size", "16", "--no-progress"]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """(checkpoint folder, exported model folder) of a 2-step tiny classroom run."""
    torch.set_num_threads(1)
    run = tmp_path_factory.mktemp("run")
    assert main(["train", "--preset", "classroom", *TINY, "--steps", "2", "--out", str(run)]) == 0
    folder = tmp_path_factory.mktemp("model")
    models.export_model(run / "checkpoints", folder, info={"hardware": "test"})
    return run / "checkpoints", folder


def segmap(size=32, count=2):
    dataset = Landscapes(size=size, length=count, seed=1)
    layouts = [dataset.layout(i) for i in range(count)]
    return make_segmap(torch.stack([l["label"] for l in layouts]), NUM_CLASSES,
                       torch.stack([l["instance"] for l in layouts]))


def test_exported_model_is_the_checkpoints_ema_generator_in_float16(exported):
    checkpoint, folder = exported
    generator, encoder, config = models.load_model(folder)
    reference, reference_encoder, reference_config = models.load_model(checkpoint, ema=True)
    assert config == reference_config
    with torch.no_grad():  # float16 storage: the same network with its weights rounded to float16
        for p in list(reference.parameters()) + list(reference.buffers()):
            if p.is_floating_point():
                p.copy_(p.half().float())
    z = torch.randn(2, config.z_dim)
    torch.testing.assert_close(generator(segmap(), z), reference(segmap(), z), rtol=0, atol=0)
    assert not generator.training and not encoder.training
    assert all(t.dtype == torch.float16 for t in load_file(folder / "generator.safetensors").values()
               if t.is_floating_point())


def test_metadata_records_version_config_and_steps(exported):
    _, folder = exported
    info = models.model_info(folder)
    assert info["spade_lib_version"] == models.__version__ and info["steps"] == "2"
    assert info["hardware"] == "test" and json.loads(info["config"])["size"] == 32


def test_one_loader_takes_a_model_folder_a_run_folder_or_a_checkpoint(exported):
    checkpoint, folder = exported
    for path in (folder, checkpoint.parent, checkpoint):
        generator, encoder, config = models.load_model(path)
        assert config.size == 32 and encoder is not None


def test_missing_file_says_how_to_get_or_retrain_it(tmp_path):
    with pytest.raises(models.ModelNotFoundError) as error:
        models.load_model(tmp_path)
    assert "git clone" in str(error.value) and "--preset classroom" in str(error.value)


def rewrite(folder, name, target, change_metadata=None, change_tensors=None):
    """Copy ``folder/name`` to ``target`` with its metadata or tensors changed."""
    from safetensors import safe_open
    path = folder / name
    with safe_open(str(path), framework="pt") as handle:
        metadata = handle.metadata()
    tensors = load_file(path)
    (change_metadata or (lambda m: None))(metadata)
    (change_tensors or (lambda t: None))(tensors)
    target.mkdir(exist_ok=True)
    save_file(tensors, target / name, metadata=metadata)


@pytest.mark.parametrize("change_metadata,change_tensors,message", [
    (lambda m: m.update(spade_lib_version="0.99.0"), None, "written by spade_lib 0.99.0"),
    (lambda m: m.update(format="something-else"), None, "not a spade_lib shipped model"),
    (lambda m: m.update(config=json.dumps({**json.loads(m["config"]), "ngf": 4})), None, "do not fit"),
    (lambda m: m.update(config=json.dumps({**json.loads(m["config"]), "colour": 1})), None, "colour"),
    (None, lambda t: t.pop("conv_img.weight"), "do not fit"),
])
def test_wrong_files_get_clear_errors(exported, tmp_path, change_metadata, change_tensors, message):
    _, folder = exported
    target = tmp_path / "model"
    rewrite(folder, "generator.safetensors", target, change_metadata, change_tensors)
    (target / "encoder.safetensors").write_bytes((folder / "encoder.safetensors").read_bytes())
    with pytest.raises((CheckpointError, ValueError), match=message):
        models.load_model(target)


def test_generator_and_encoder_from_different_runs_are_refused(exported, tmp_path):
    _, folder = exported
    target = tmp_path / "model"
    rewrite(folder, "encoder.safetensors", target,
            lambda m: m.update(config=json.dumps({**json.loads(m["config"]), "seed": 7})))
    (target / "generator.safetensors").write_bytes((folder / "generator.safetensors").read_bytes())
    with pytest.raises(CheckpointError, match="different training configurations"):
        models.load_model(target)


def test_damaged_file_is_reported(exported, tmp_path):
    _, folder = exported
    target = tmp_path / "model"
    target.mkdir()
    (target / "generator.safetensors").write_bytes((folder / "generator.safetensors").read_bytes()[:100])
    with pytest.raises(CheckpointError, match="damaged"):
        models.load_model(target)


def test_shipped_classroom_model_draws_landscapes():
    generator, encoder, config = models.load_classroom()
    assert config.size == 64 and config.use_vae and config.name == "classroom"
    for name in ("generator", "encoder"):
        assert (models.CLASSROOM_DIR / f"{name}.safetensors").stat().st_size < 20_000_000
    assert (models.CLASSROOM_DIR / "MODEL_CARD.md").is_file()
    images = generate(generator, encoder, segmap(64, 4))
    assert images.shape == (4, 3, 64, 64) and images.std() > 0.2  # not a blank picture
    assert (images[0] - images[1]).abs().mean() > 0.05  # different layouts and styles give different images


def test_export_script_writes_the_model_and_a_card_with_its_metrics(exported, tmp_path, monkeypatch, capsys):
    import runpy
    import sys

    checkpoint, _ = exported
    out = tmp_path / "classroom"
    monkeypatch.setattr(sys, "argv", ["export.py", str(checkpoint.parent), "--images", "8", "--out", str(out)])
    runpy.run_path(str(models.DATA_DIR / "classroom" / "export.py"), run_name="__main__")
    card = (out / "MODEL_CARD.md").read_text()
    for fact in ("2 steps of batch 2", "CPU cores", "label alignment, mIoU", "two-sample classifier accuracy",
                 "python data/classroom/export.py runs/classroom"):
        assert fact in card
    results = json.loads((out / "metrics.json").read_text())
    assert results["generated"]["images"] == 8 and "miou" in results["real"]["alignment"]
    generator, encoder, config = models.load_model(out)
    assert config.size == 32 and "mIoU" in capsys.readouterr().out


# Checksums: every shipped weights file is checked against the SHA-256 recorded next to it -------------------------

def flip_a_byte(path, offset=-1):
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01  # inside the last tensor: still a valid safetensors file, only one weight differs
    path.write_bytes(bytes(data))


def test_every_shipped_weights_file_has_its_checksum_recorded():
    for folder in (models.CLASSROOM_DIR, models.DATA_DIR / "segmenter"):
        recorded = json.loads((folder / models.CHECKSUMS).read_text())
        files = sorted(p.name for p in folder.glob("*.safetensors"))
        assert files and sorted(recorded) == files
        assert all(checkpoints.file_digest(folder / name) == recorded[name] for name in files)


@pytest.mark.parametrize("name", ["generator.safetensors", "encoder.safetensors"])
def test_a_changed_byte_in_the_classroom_model_is_a_clear_error(tmp_path, name):
    copy = tmp_path / "classroom"
    shutil.copytree(models.CLASSROOM_DIR, copy)
    flip_a_byte(copy / name)
    with pytest.raises(CheckpointError, match=f"{name} is corrupted: its SHA-256 differs") as error:
        models.load_model(copy)
    assert "git checkout" in str(error.value) and "--preset classroom" in str(error.value)


def test_a_changed_byte_in_the_segmenter_is_a_clear_error(tmp_path):
    from spade_lib import metrics
    copy = tmp_path / "segmenter"
    shutil.copytree(metrics.SEGMENTER_PATH.parent, copy)
    flip_a_byte(copy / "segmenter.safetensors")
    with pytest.raises(CheckpointError, match="segmenter.safetensors is corrupted") as error:
        metrics.load_segmenter(copy / "segmenter.safetensors")
    assert "git checkout" in str(error.value) and "data/segmenter/train.py" in str(error.value)


def test_export_records_the_checksums_it_checks(exported):
    _, folder = exported
    recorded = json.loads((folder / models.CHECKSUMS).read_text())
    assert sorted(recorded) == ["encoder.safetensors", "generator.safetensors"]
    assert recorded["encoder.safetensors"] == checkpoints.file_digest(folder / "encoder.safetensors")


@pytest.mark.parametrize("where", ["nowhere", "empty folder", "a file"])
def test_the_one_loader_says_what_a_model_is_when_given_none(tmp_path, where):
    path = {"nowhere": tmp_path / "nowhere", "empty folder": tmp_path, "a file": tmp_path / "notes.txt"}[where]
    if where == "a file":
        path.write_text("not a model")
    with pytest.raises(models.ModelNotFoundError, match="generator.safetensors .a shipped model. or a training "
                                                        "checkpoint") as error:
        models.load_model(path)
    assert {"nowhere": "does not exist", "empty folder": "holds no model", "a file": "is no model file"}[where] \
        in str(error.value)
