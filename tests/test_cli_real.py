"""The command line on real datasets and official models (spade_lib.real): download as a subcommand, sample and
evaluate with ``official:<name>`` (random official-format weights, a slim network of the official architecture)
and ``--dataset-root`` on fixtures, and the errors: unknown model, missing folders, ids out of range."""
import json

import numpy as np
import pytest
import torch
from PIL import Image

from spade_lib import official, real
from spade_lib.__main__ import main
from spade_lib.datasets import ADE20K, CocoStuff, make_fixture
from spade_lib.generator import SPADEGenerator


def slim_generator(dataset, use_vae=False):
    """The official generator of ``dataset`` (label channels, instance edges) at 32 pixels wide and 4 channels."""
    d = official.official_dataset(dataset)
    return SPADEGenerator(d.label_channels, width=32, aspect_ratio=d.aspect_ratio, ngf=4, spade_hidden=8,
                          use_vae=use_vae, instance_edges=d.use_instance)


@pytest.fixture
def official_root(tmp_path, monkeypatch):
    """A download folder holding random official-format ADE20K and COCO generators, as the archive extracts."""
    monkeypatch.setattr(official, "generator", slim_generator)
    for name in ("ade20k", "coco"):
        folder = tmp_path / "downloads" / "checkpoints" / f"{name}_pretrained"
        folder.mkdir(parents=True)
        torch.save(official.official_state_dict(slim_generator(name)), folder / "latest_net_G.pth")
    return tmp_path / "downloads"


def test_download_is_a_subcommand(tmp_path, capsys):
    assert main(["download", "cityscapes", "--root", str(tmp_path)]) == 1
    assert "cityscapes-dataset.com/register" in capsys.readouterr().err  # the how-to, no download
    with pytest.raises(SystemExit):
        main(["download", "nothing-of-that-name"])


@pytest.mark.parametrize("name, reader", [("ade20k", ADE20K), ("coco", CocoStuff)])
def test_sample_an_official_model_on_its_dataset(tmp_path, official_root, name, reader, capsys):
    data = make_fixture(tmp_path / "data", name, count=3, size=40)
    out = tmp_path / "grids"
    assert main(["sample", "--checkpoint", f"official:{name}", "--root", str(official_root),
                 "--dataset-root", str(data), "--dataset", "2", "--out", str(out)]) == 0
    grid = np.array(Image.open(out / "grid_000.png"))
    assert grid.shape[:2] == (2 * 32 + 2, 3 * 32 + 4)  # 2 rows of label | photo | generated, 32x32
    labels = reader(data, "val", reader.official_preprocess(False))
    first = torch.nn.functional.interpolate(labels[0]["label"][None, None].float(), size=(32, 32))[0, 0].long()
    assert set(map(tuple, grid[:32, :32].reshape(-1, 3))) <= set(map(tuple, reader.palette))  # its palette
    assert tuple(grid[16, 16]) == tuple(reader.palette[first[16, 16]])


def test_official_generators_refuse_plain_ids_where_the_dataset_has_instances():
    ids = torch.zeros(1, 256, 512, dtype=torch.long)
    with pytest.raises(ValueError, match="instance-edge"):
        official.generator("cityscapes")(ids)


def test_unknown_official_model_and_missing_download_are_one_line(tmp_path, official_root, capsys):
    assert main(["sample", "--checkpoint", "official:nope", "--out", str(tmp_path / "s")]) == 1
    assert "official:ade20k, official:cityscapes, official:coco" in capsys.readouterr().err
    assert main(["sample", "--checkpoint", "official:cityscapes", "--root", str(official_root),
                 "--out", str(tmp_path / "s")]) == 1
    assert "download official-checkpoints" in capsys.readouterr().err


def test_missing_dataset_root_and_ids_out_of_range_are_refused(tmp_path, official_root, capsys):
    args = ["sample", "--checkpoint", "official:ade20k", "--root", str(official_root), "--out", str(tmp_path / "s")]
    assert main(args + ["--dataset-root", str(tmp_path / "nowhere")]) == 1
    error = capsys.readouterr().err
    assert str(tmp_path / "nowhere") in error and "python -m spade_lib download ade20k" in error
    assert main(args) == 1  # Landscapes samples mean nothing to an ADE20K model
    assert "--dataset-root" in capsys.readouterr().err
    labels = tmp_path / "labels"
    labels.mkdir()
    Image.fromarray(np.full((32, 32), 200, np.uint8)).save(labels / "bad.png")
    assert main(args + ["--labels", str(labels)]) == 1
    error = capsys.readouterr().err
    assert "bad.png" in error and "200" in error and "151" in error


def test_sample_own_label_maps_with_an_official_model(tmp_path, official_root):
    labels = tmp_path / "labels"
    labels.mkdir()
    Image.fromarray(np.arange(32 * 32).reshape(32, 32).astype(np.uint8) % 151).save(labels / "mine.png")
    assert main(["sample", "--checkpoint", "official:ade20k", "--root", str(official_root), "--labels", str(labels),
                 "--out", str(tmp_path / "s")]) == 0
    assert (tmp_path / "s" / "grid_000.png").is_file()


SEGMENTER = '''
import torch
def sky_everywhere(images):
    return torch.full((images.shape[0], images.shape[2], images.shape[3]), 3, dtype=torch.long)
def nonsense(images):
    return torch.full((images.shape[0], images.shape[2], images.shape[3]), 999, dtype=torch.long)
'''


def test_evaluate_on_a_real_dataset(tmp_path, official_root, monkeypatch, capsys):
    data = make_fixture(tmp_path / "data", "ade20k", count=4, size=40)
    (tmp_path / "my_segmenter.py").write_text(SEGMENTER)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(real, "inception_features", lambda images, weights: images.mean((2, 3)).double())
    report_file = tmp_path / "report.json"
    base = ["evaluate", "official:ade20k", "--root", str(official_root), "--dataset-root", str(data)]
    assert main(base + ["--segmenter", "my_segmenter:sky_everywhere", "--inception-weights", "fake.pth",
                        "--json", str(report_file)]) == 0
    report = json.loads(report_file.read_text())
    assert report["images"] == 4 and report["frechet_inception"] > 0
    assert 0 <= report["miou_generated"] <= 1 and 0 <= report["miou_real"] <= 1
    assert main(base) == 1  # neither metric: nothing pretended
    assert "--inception-weights" in capsys.readouterr().err
    assert main(base + ["--segmenter", "my_segmenter:nonsense"]) == 1
    assert "999" in capsys.readouterr().err
    assert main(base + ["--segmenter", "no_such_module:f"]) == 1
    assert "PYTHONPATH" in capsys.readouterr().err


def test_mean_iou_of_a_perfect_and_a_half_wrong_labelling():
    labels = torch.tensor([[[0, 0], [1, 1]]])
    assert real.mean_iou(labels, labels, 3) == 1.0
    assert real.mean_iou(torch.zeros_like(labels), labels, 3) == pytest.approx(0.25)  # class 0: 2/4, class 1: 0
