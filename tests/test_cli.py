"""The command line: help, a 2-step training run, sampling from it, and clear errors for bad arguments."""
import dataclasses
import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from spade_lib.__main__ import main
from spade_lib.models import TrainConfig

TINY = ["--size", "32", "--ngf", "8", "--ndf", "8", "--spade-hidden", "16", "--z-dim", "16", "--batch-size", "2",
        "--dataset-size", "16", "--no-progress"]


def image_size(path):
    with Image.open(path) as image:
        return image.size  # (width, height)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A 2-step classroom run at tiny size, with a sample grid at step 2."""
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("run")
    arguments = ["train", "--preset", "classroom", *TINY, "--steps", "2", "--sample-every", "2", "--out", str(out)]
    assert main(arguments) == 0
    return out


def test_help_explains_every_option(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["train", "--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    for f in dataclasses.fields(TrainConfig):
        assert "--" + f.name.replace("_", "-") in text
    for option in ("--preset", "--resume", "--no-amp", "--out", "classroom", "colab"):
        assert option in text


def test_python_m_spade_lib_help():
    result = subprocess.run([sys.executable, "-m", "spade_lib", "--help"], capture_output=True, text=True)
    assert result.returncode == 0
    assert all(command in result.stdout for command in ("train", "sample", "evaluate"))


def test_train_writes_a_checkpoint_and_a_sample_grid(run):
    assert (run / "checkpoints" / "step_0000002.json").is_file()
    assert (run / "checkpoints" / "step_0000002.safetensors").is_file()
    # 4 preview rows of label | real | generated, 32x32 each, 2 pixels apart
    assert image_size(run / "samples" / "step_0000002.png") == (3 * 34 - 2, 4 * 34 - 2)


def test_resume_with_other_settings_names_the_field(run, capsys):
    code = main(["train", "--preset", "classroom", *TINY, "--ngf", "4", "--steps", "2", "--out", str(run),
                 "--resume", "latest"])
    assert code == 1
    assert "--ngf 4 (the checkpoint has 8)" in capsys.readouterr().err


def test_sample_from_the_dataset_in_a_style(run, tmp_path):
    code = main(["sample", "--checkpoint", str(run), "--dataset", "2", "--variants", "2", "--style", "sunset",
                 "--out", str(tmp_path)])
    assert code == 0
    assert image_size(tmp_path / "grid_000.png") == (4 * 34 - 2, 2 * 34 - 2)  # label | real | 2 variants


def test_sample_from_label_pngs_with_a_style_image(run, tmp_path):
    labels = tmp_path / "labels"
    labels.mkdir()
    ids = np.zeros((40, 40), np.uint8)
    ids[20:] = 6  # sky above grass
    palette = Image.fromarray(ids, mode="P")
    palette.putpalette([0, 0, 255, 0, 0, 0] * 128)
    palette.save(labels / "a_palette.png")
    Image.fromarray(ids, mode="L").save(labels / "b_ids.png")
    Image.fromarray(np.full((16, 16, 3), 200, np.uint8)).save(tmp_path / "style.png")
    code = main(["sample", "--checkpoint", str(run), "--labels", str(labels), "--style-image",
                 str(tmp_path / "style.png"), "--variants", "3", "--out", str(tmp_path / "out")])
    assert code == 0
    assert image_size(tmp_path / "out" / "grid_000.png") == (4 * 34 - 2, 2 * 34 - 2)  # label | 3 variants


def test_colour_label_images_are_refused_clearly(run, tmp_path, capsys):
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "rgb.png")
    assert main(["sample", "--checkpoint", str(run), "--labels", str(tmp_path), "--out", str(tmp_path)]) == 1
    assert "is a RGB image, not a label map" in capsys.readouterr().err


@pytest.mark.parametrize("arguments, message", [
    (["train", "--ngf", "-1"], "ngf must be at least 1"),
    (["train", "--norm", "group"], "invalid choice: 'group'"),
    (["train", "--batch-size", "many"], "invalid int value: 'many'"),
    (["train", "--preset", "huge"], "invalid choice: 'huge'"),
    (["train", "--size", "48", "--no-progress"], "width 48 must be a multiple of 2**5"),
    (["train", "--learning-rate", "1"], "unrecognized arguments: --learning-rate"),
    (["sample", "--style", "noon"], "invalid choice: 'noon'"),
    (["sample", "--variants", "0"], "--variants: must be at least 1, got 0"),
])
def test_bad_arguments_give_clear_errors(arguments, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(arguments)
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


def test_evaluate_prints_every_metric_and_writes_json(run, tmp_path, capsys):
    from spade_lib.metrics import Segmenter, save_segmenter

    segmenter = save_segmenter(Segmenter(), tmp_path / "segmenter.safetensors")
    out = tmp_path / "report.json"
    arguments = ["evaluate", str(run), "--segmenter", str(segmenter), "--images", "16", "--test-images", "8",
                 "--json", str(out)]
    assert main(arguments) == 0
    text = capsys.readouterr().out
    for row in ("16 generated vs 16 real", "mIoU", "pixel accuracy", "segmenter features", "texture features",
                "two-sample classifier accuracy", "diversity"):
        assert row in text
    report = json.loads(out.read_text())
    assert set(report) == {"generated", "real"} and report["generated"]["images"] == 16


def test_evaluate_a_missing_model_says_how_to_get_it(tmp_path, capsys):
    assert main(["evaluate", str(tmp_path / "nowhere")]) == 1
    assert "does not exist" in capsys.readouterr().err


def test_style_preset_on_your_own_label_maps_paints_them_in_that_style():
    import argparse

    from spade_lib.__main__ import style_images
    from spade_lib.landscapes import render_labels

    labels = torch.zeros(2, 32, 32, dtype=torch.long)
    labels[:, 16:] = 6  # sky above grass
    styles = style_images(argparse.Namespace(style_image=None, style="night"), None, labels, real=None)
    assert styles.shape == (2, 3, 32, 32)
    assert torch.equal(styles[0], render_labels(labels[0], "night"))
    assert styles.mean() < render_labels(labels[0], "day").mean() - 0.3  # a night, not a day


def test_evaluate_with_missing_inception_weights_says_where_to_get_them(run, tmp_path, capsys):
    from spade_lib.metrics import Segmenter, save_segmenter

    segmenter = save_segmenter(Segmenter(), tmp_path / "segmenter.safetensors")
    arguments = ["evaluate", str(run), "--segmenter", str(segmenter), "--images", "8", "--test-images", "4",
                 "--inception-weights", str(tmp_path / "pt_inception-2015-12-05-6726825d.pth")]
    assert main(arguments) == 1
    error = capsys.readouterr().err
    assert "pt_inception-2015-12-05-6726825d.pth" in error and "https://" in error
