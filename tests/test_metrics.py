"""spade_lib.metrics: every formula against a hand computation, the segmenter, the two-sample test, and that the
shipped segmenter labels real validation images well."""
import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from spade_lib import metrics, models
from spade_lib.checkpoints import CheckpointError
from spade_lib.landscapes import NUM_CLASSES, Landscapes
from spade_lib.models import TrainConfig, build_encoder, build_generator


class OneHotSegmenter(torch.nn.Module):
    """A 'segmenter' that predicts given labels exactly (logits = one-hot), whatever the image."""

    def __init__(self, predictions):
        super().__init__()
        self.num_classes, self.predictions, self.position = NUM_CLASSES, predictions, 0

    def forward(self, images):
        batch = self.predictions[self.position:self.position + len(images)]
        self.position += len(images)
        return F.one_hot(batch, NUM_CLASSES).permute(0, 3, 1, 2).float()


def test_label_alignment_of_perfect_predictions_is_one():
    labels = torch.randint(NUM_CLASSES, (3, 8, 8))
    score = metrics.label_alignment(OneHotSegmenter(labels), torch.zeros(3, 3, 8, 8), labels)
    assert score == {"miou": 1.0, "pixel_accuracy": 1.0}


def test_label_alignment_by_hand():
    # truth: left half class 0, right half class 1; predicted: all class 0
    labels = torch.zeros(1, 4, 4, dtype=torch.long)
    labels[..., 2:] = 1
    score = metrics.label_alignment(OneHotSegmenter(torch.zeros_like(labels)), torch.zeros(1, 3, 4, 4), labels)
    # IoU class 0 = 8 / 16, IoU class 1 = 0 / 8; classes absent from both are left out
    assert score["miou"] == pytest.approx((0.5 + 0.0) / 2)
    assert score["pixel_accuracy"] == pytest.approx(0.5)


def test_gram_features_match_the_definition():
    x = torch.randn(2, 3, 4, 5)
    gram = torch.einsum("nchw,ndhw->ncd", x, x) / 20
    features = metrics.gram_features(x)
    assert features.shape == (2, 6)
    rows, cols = torch.triu_indices(3, 3)
    torch.testing.assert_close(features, gram[:, rows, cols])


def test_frechet_distance_of_a_set_with_itself_is_zero():
    a = torch.randn(500, 4, dtype=torch.float64)
    assert metrics.frechet_distance(a, a) == pytest.approx(0.0, abs=1e-8)


def test_frechet_distance_of_diagonal_gaussians_by_hand():
    # for commuting (diagonal) covariances: d^2 = |mu_a - mu_b|^2 + sum (sigma_a - sigma_b)^2
    torch.manual_seed(1)
    a = torch.randn(20_000, 3, dtype=torch.float64) * torch.tensor([1.0, 2.0, 0.5]) + 1.0
    b = torch.randn(20_000, 3, dtype=torch.float64) * torch.tensor([3.0, 1.0, 0.5])
    sigma_a, sigma_b = a.std(0), b.std(0)
    expected = float((a.mean(0) - b.mean(0)).square().sum() + (sigma_a - sigma_b).square().sum())
    assert metrics.frechet_distance(a, b) == pytest.approx(expected, rel=0.05)
    assert metrics.frechet_distance(a, b) == pytest.approx(3 + 4 + 1, rel=0.05)  # the populations' value


def test_frechet_distance_general_covariances_match_a_matrix_square_root():
    torch.manual_seed(2)
    a = torch.randn(300, 5, dtype=torch.float64) @ torch.randn(5, 5, dtype=torch.float64)
    b = torch.randn(300, 5, dtype=torch.float64) @ torch.randn(5, 5, dtype=torch.float64) + 0.3
    cov_a, cov_b = torch.cov(a.T), torch.cov(b.T)
    values, vectors = torch.linalg.eig(cov_a @ cov_b)  # Tr((S_a S_b)^1/2) = sum of sqrt of its eigenvalues
    trace_root = values.sqrt().real.sum()
    expected = (a.mean(0) - b.mean(0)).square().sum() + cov_a.trace() + cov_b.trace() - 2 * trace_root
    assert metrics.frechet_distance(a, b) == pytest.approx(float(expected), rel=1e-6)


def test_two_sample_test_tells_noisy_images_from_clean_ones_and_not_real_from_real():
    torch.manual_seed(3)
    smooth = F.interpolate(torch.rand(800, 3, 4, 4) * 2 - 1, size=16, mode="bilinear", align_corners=False)
    noisy = (smooth[400:] + 0.3 * torch.randn(400, 3, 16, 16)).clamp(-1, 1)
    clean = smooth[:400]
    assert metrics.two_sample_accuracy(clean[:300], noisy[:300], clean[300:], noisy[300:], max_epochs=8) > 0.9
    other = F.interpolate(torch.rand(400, 3, 4, 4) * 2 - 1, size=16, mode="bilinear", align_corners=False)
    same = metrics.two_sample_accuracy(clean[:300], other[:300], clean[300:], other[300:], max_epochs=8)
    assert 0.3 < same < 0.7


def test_mean_pairwise_distance():
    images = torch.stack([torch.full((3, 2, 2), v) for v in (-1.0, 0.0, 1.0)])
    # pairs: |-1-0|/2 = 0.5, |-1-1|/2 = 1, |0-1|/2 = 0.5
    assert metrics.mean_pairwise_distance(images) == pytest.approx(2 / 3)
    assert metrics.mean_pairwise_distance(images[:1].expand(4, -1, -1, -1)) == 0.0


def test_segmenter_learns_and_round_trips(tmp_path):
    segmenter = metrics.train_segmenter(size=32, steps=30, batch_size=8, dataset_size=64)
    images, labels = metrics.real_batch(Landscapes(size=32, length=8, seed=1), range(8))
    features = segmenter.features(images)
    assert features["early"].shape == (8, 16, 32, 32) and features["deep"].shape == (8, 64, 8, 8)
    assert features["logits"].shape == (8, NUM_CLASSES, 32, 32)
    path = metrics.save_segmenter(segmenter, tmp_path / "s.safetensors", {"steps": 30})
    loaded = metrics.load_segmenter(path)
    torch.testing.assert_close(loaded(images), segmenter(images), rtol=0, atol=0)
    untrained = metrics.Segmenter().eval()
    assert (metrics.label_alignment(segmenter, images, labels)["pixel_accuracy"]
            > metrics.label_alignment(untrained, images, labels)["pixel_accuracy"])


def test_missing_or_foreign_segmenter_files_say_what_to_do(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match="data/segmenter/train.py"):
        metrics.load_segmenter(tmp_path / "nothing.safetensors")
    monkeypatch.setattr(models, "__version__", "9.9.0")
    path = metrics.save_segmenter(metrics.Segmenter(), tmp_path / "old.safetensors")
    monkeypatch.undo()
    with pytest.raises(CheckpointError, match="9.9.0"):
        metrics.load_segmenter(path)


def test_shipped_segmenter_labels_real_validation_images_well():
    segmenter = metrics.load_segmenter()
    sets = metrics.EvaluationSets.make(64, 100, 0)
    score = metrics.label_alignment(segmenter, sets.images["a"], sets.labels["a"])
    assert score["pixel_accuracy"] > 0.9 and score["miou"] > 0.7


def test_evaluate_reports_every_metric_next_to_the_real_ceilings(tmp_path):
    config = TrainConfig(size=32, ngf=4, spade_hidden=8, use_vae=True, z_dim=8)
    generator, encoder = build_generator(config).eval(), build_encoder(config).eval()
    segmenter = metrics.Segmenter().eval()
    sets = metrics.EvaluationSets.make(32, 24, 12)
    assert [len(sets.images[k]) for k in "abc"] == [24, 24, 12]
    assert not torch.equal(sets.labels["a"][0], sets.labels["b"][0])  # disjoint parts
    ceilings = metrics.real_ceilings(segmenter, sets)
    report = metrics.evaluate(generator, encoder, segmenter, sets, ceilings, diversity_maps=2)
    assert set(report["frechet"]) == {"segmenter", "texture"} and report["images"] == 24
    assert all(np.isfinite(v) and v >= 0 for v in report["frechet"].values())
    assert 0 <= report["two_sample_accuracy"] <= 1 and report["diversity"]["real"] > 0.05
    text = metrics.format_report(report, ceilings)
    for row in ("mIoU", "pixel accuracy", "segmenter features", "texture features", "two-sample", "diversity"):
        assert row in text
    saved = json.loads(metrics.report_json(report, ceilings))
    assert saved["real"]["frechet"]["texture"] == ceilings["frechet"]["texture"]


def test_flat_colours_are_the_class_means():
    images = torch.zeros(1, 3, 2, 2)
    images[0, :, 0, 0], images[0, :, 0, 1] = 1.0, 0.5  # two pixels of class 3
    labels = torch.tensor([[[3, 3], [0, 0]]])
    colours = metrics.class_mean_colours(images, labels)
    torch.testing.assert_close(colours[3], torch.full((3,), 0.75))
    torch.testing.assert_close(colours[0], torch.zeros(3))
    painted = metrics.paint_flat(labels, colours)
    assert painted.shape == (1, 3, 2, 2) and torch.equal(painted[0, :, 1, 1], colours[0])


def test_generated_images_are_computed_on_the_generators_device(monkeypatch):
    # a generator whose parameters live on the "meta" device stands in for a GPU: the segmap must follow it
    config = TrainConfig(size=32, ngf=4, spade_hidden=8, use_vae=True, z_dim=8, instance_edges=False)
    generator, encoder = build_generator(config).eval(), build_encoder(config).eval()
    seen = {}

    def fake_generate(generator, encoder, segmap):
        seen["device"] = segmap.labels.device
        return torch.zeros(len(segmap.labels), 3, 32, 32, dtype=torch.float16)  # (mixed precision on a GPU)

    monkeypatch.setattr(metrics, "generate", fake_generate)
    monkeypatch.setattr(torch.nn.Module, "parameters", lambda self: iter([torch.empty(0, device="meta")]))
    labels = torch.zeros(2, 32, 32, dtype=torch.long)
    images = metrics.generate_images(generator, encoder, labels, labels)
    assert seen["device"] == torch.device("meta")
    assert images.device == torch.device("cpu") and images.dtype == torch.float32


def test_segmenter_training_script_writes_loadable_weights(tmp_path, monkeypatch, capsys):
    import runpy
    import sys

    out = tmp_path / "segmenter.safetensors"
    monkeypatch.setattr(sys, "argv", ["train.py", "--size", "32", "--steps", "2", "--out", str(out)])
    runpy.run_path(str(metrics.SEGMENTER_PATH.parent / "train.py"), run_name="__main__")
    assert "mIoU" in capsys.readouterr().out
    assert metrics.load_segmenter(out).num_classes == NUM_CLASSES
