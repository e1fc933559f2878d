"""How good is a generator? Label alignment, Fréchet distances, a two-sample test and diversity (lesson 10).

Every number comes with its ceiling, the same measure on real images, because on a procedural dataset a single
number means little:

- **label alignment** (the paper's protocol, Sec. 4): a segmentation network trained on real images labels the
  generated ones; mIoU and pixel accuracy against the label maps they came from. Flat class colours can score
  well here: alignment says "the right thing is in the right place", not "it looks real";
- **Fréchet distance** between generated and real feature statistics (Heusel et al. 2017), next to the distance
  between two disjoint real sets, in two feature spaces: the segmenter's deep features (what is where) and the
  Gram matrices of its first layer (texture, Gatys et al. 2015);
- **two-sample test**: a fresh classifier trained to tell real from generated; its accuracy on held-out images is
  the score, 50% meaning indistinguishable. It sees whatever gives the fakes away, texture included;
- **diversity**: mean pairwise distance between images of one label map with different style codes z, next to
  the same label map rendered in every Landscapes style.

    >>> segmenter = load_segmenter()                          # data/segmenter/, trained by train_segmenter()
    >>> sets = EvaluationSets.make(size=64, count=2000, test_count=1000)
    >>> ceilings = real_ceilings(segmenter, sets)              # the same measures on real images
    >>> report = evaluate(generator, encoder, segmenter, sets, ceilings)
    >>> print(format_report(report, ceilings))
"""
import itertools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .labels import make_segmap
from .landscapes import NUM_CLASSES, STYLE_NAMES, Landscapes
from .layers import batched
from .models import DATA_DIR, generate, read_weights, write_weights
from .modes import progress

SEGMENTER_PATH = DATA_DIR / "segmenter" / "segmenter.safetensors"
VALIDATION_SEED = 1  # the generators train on Landscapes seed 0; every evaluation image comes from seed 1


# -----------------------------------------------------------------------------------------------------------------
# The segmenter: a small U-Net trained on real Landscapes images


def conv_block(in_channels: int, out_channels: int) -> nn.Sequential:
    """Two 3x3 convolutions, each followed by batch norm and ReLU."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False), nn.BatchNorm2d(out_channels), nn.ReLU(),
        nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False), nn.BatchNorm2d(out_channels), nn.ReLU())


class Segmenter(nn.Module):
    """A three-level U-Net (16-32-64 channels) that labels every pixel with one of ``num_classes`` classes.

    ``features(images)`` also returns what the Fréchet distances compare: ``"early"``, the first block's
    activations (full resolution, texture), and ``"deep"``, the bottleneck's (1/4 resolution, layout)."""

    def __init__(self, num_classes: int = NUM_CLASSES, width: int = 16):
        super().__init__()
        self.num_classes = num_classes
        self.down1, self.down2 = conv_block(3, width), conv_block(width, 2 * width)
        self.bottleneck = conv_block(2 * width, 4 * width)
        self.up2, self.up1 = conv_block(6 * width, 2 * width), conv_block(3 * width, width)
        self.classify = nn.Conv2d(width, num_classes, 1)

    def features(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """``{"early", "deep", "logits"}`` for images (N, 3, H, W) in [-1, 1], H and W multiples of 4."""
        early = self.down1(images)
        middle = self.down2(F.max_pool2d(early, 2))
        deep = self.bottleneck(F.max_pool2d(middle, 2))
        up = self.up2(torch.cat([F.interpolate(deep, scale_factor=2.0), middle], 1))
        up = self.up1(torch.cat([F.interpolate(up, scale_factor=2.0), early], 1))
        return {"early": early, "deep": deep, "logits": self.classify(up)}

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.features(images)["logits"]


def real_batch(dataset: Landscapes, indices) -> tuple[torch.Tensor, torch.Tensor]:
    """(images (N, 3, H, W), labels (N, H, W)) of ``dataset`` at ``indices``."""
    items = [dataset[int(i)] for i in indices]
    return torch.stack([item["image"] for item in items]), torch.stack([item["label"] for item in items])


def train_segmenter(size: int = 64, steps: int = 4000, batch_size: int = 16, dataset_size: int = 20_000,
                    lr: float = 2e-3, seed: int = 0) -> Segmenter:
    """Train a Segmenter on real Landscapes images (seed 0, all styles) with cross-entropy and Adam, the learning
    rate decaying linearly to 0. Returns it in eval mode."""
    torch.manual_seed(seed)
    dataset, segmenter = Landscapes(size=size, length=dataset_size, seed=0), Segmenter()
    optimizer = torch.optim.Adam(segmenter.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1 - step / steps)
    generator = torch.Generator().manual_seed(seed)
    for _ in progress(range(steps), desc="segmenter"):
        images, labels = real_batch(dataset, torch.randint(len(dataset), (batch_size,), generator=generator))
        loss = F.cross_entropy(segmenter(images), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
    return segmenter.eval()


def save_segmenter(segmenter: Segmenter, path=SEGMENTER_PATH, info: Optional[dict] = None) -> Path:
    """Write the segmenter's weights (atomically) with the library version and ``info`` as metadata."""
    write_weights(Path(path), segmenter.state_dict(), {"num_classes": segmenter.num_classes, **(info or {})})
    return Path(path)


def load_segmenter(path=SEGMENTER_PATH) -> Segmenter:
    """The shipped segmenter (``data/segmenter/``), in eval mode; clear errors for a missing or foreign file."""
    tensors, metadata = read_weights(Path(path), "python data/segmenter/train.py")
    segmenter = Segmenter(int(metadata.get("num_classes", NUM_CLASSES)))
    segmenter.load_state_dict(tensors)
    return segmenter.eval()


# -----------------------------------------------------------------------------------------------------------------
# Label alignment


@torch.no_grad()
def confusion_matrix(segmenter: Segmenter, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """(C, C) counts: entry [true, predicted] over every pixel of every image."""
    counts = torch.zeros(segmenter.num_classes, segmenter.num_classes, dtype=torch.long)
    for image_batch, label_batch in zip(batched(images, desc="label alignment"), batched(labels)):
        counts += pixel_counts(segmenter(image_batch).argmax(1), label_batch, segmenter.num_classes)
    return counts


def pixel_counts(predicted: torch.Tensor, labels: torch.Tensor, classes: int) -> torch.Tensor:
    """(C, C) counts of one batch of id maps: entry [true, predicted]."""
    counts = torch.bincount((labels * classes + predicted).flatten(), minlength=classes * classes)
    return counts.view(classes, classes)


def label_alignment(segmenter: Segmenter, images: torch.Tensor, labels: torch.Tensor) -> dict[str, float]:
    """``{"miou", "pixel_accuracy"}`` of the segmenter's labelling of ``images`` against ``labels``.

    IoU_c = TP_c / (TP_c + FP_c + FN_c), from the confusion matrix of the whole set; mIoU averages the classes
    that occur (in the labels or the predictions)."""
    return alignment_of_counts(confusion_matrix(segmenter, images, labels))


def alignment_of_counts(counts: torch.Tensor) -> dict[str, float]:
    """``{"miou", "pixel_accuracy"}`` of a (C, C) confusion matrix, as ``label_alignment`` defines them."""
    counts = counts.double()
    # IoU_c = TP_c / (TP_c + FP_c + FN_c)
    true_positive = counts.diag()
    union = counts.sum(0) + counts.sum(1) - true_positive
    present = union > 0
    return {"miou": float((true_positive[present] / union[present]).mean()),
            "pixel_accuracy": float(true_positive.sum() / counts.sum())}


# -----------------------------------------------------------------------------------------------------------------
# Fréchet distance, in two feature spaces


def gram_features(activations: torch.Tensor) -> torch.Tensor:
    """(N, C(C+1)/2): the upper triangle of each image's Gram matrix G = F F^T / (H W), F its (C, H W) features."""
    n, c, h, w = activations.shape
    flat = activations.reshape(n, c, h * w)
    gram = flat @ flat.transpose(1, 2) / (h * w)
    rows, cols = torch.triu_indices(c, c)
    return gram[:, rows, cols]


@torch.no_grad()
def feature_vectors(segmenter: Segmenter, images: torch.Tensor, inception_weights=None) -> dict[str, torch.Tensor]:
    """``{"segmenter": (N, 4w) mean-pooled deep features, "texture": (N, w(w+1)/2) first-layer Gram matrices}``,
    and ``"inception"`` (N, 2048), FID's own features, when a path to its weights is given (spade_lib.inception)."""
    parts = {"segmenter": [], "texture": []}
    for batch in batched(images, desc="features"):
        features = segmenter.features(batch)
        parts["segmenter"].append(features["deep"].mean((2, 3)))
        parts["texture"].append(gram_features(features["early"]))
    vectors = {name: torch.cat(chunks).double() for name, chunks in parts.items()}
    if inception_weights is not None:
        from .inception import inception_features  # optional: needs torch-fidelity and the weights file
        vectors["inception"] = inception_features(images, inception_weights)
    return vectors


def frechet_distance(features_a: torch.Tensor, features_b: torch.Tensor) -> float:
    """The Fréchet distance between Gaussians fitted to two feature sets (N, D) (Heusel et al. 2017):

        d^2 = |mu_a - mu_b|^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2))

    Tr((S_a S_b)^(1/2)) is computed as the sum of the square roots of the eigenvalues of S_a^(1/2) S_b S_a^(1/2),
    a symmetric matrix with the same eigenvalues as S_a S_b (numerically safer than a general matrix root)."""
    a, b = features_a.double(), features_b.double()
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = torch.cov(a.T), torch.cov(b.T)
    values, vectors = torch.linalg.eigh(cov_a)
    root_a = vectors @ torch.diag(values.clamp(min=0).sqrt()) @ vectors.T
    cross = torch.linalg.eigvalsh(root_a @ cov_b @ root_a).clamp(min=0).sqrt().sum()
    return float((mu_a - mu_b).square().sum() + cov_a.trace() + cov_b.trace() - 2 * cross)


# -----------------------------------------------------------------------------------------------------------------
# The two-sample test: can a classifier tell real from generated?


def realism_classifier() -> nn.Sequential:
    """Three strided convolutions (32-64-128 channels), global average pooling, one logit: "real"."""
    return nn.Sequential(
        nn.Conv2d(3, 32, 3, stride=2, padding=1), nn.LeakyReLU(0.2),
        nn.Conv2d(32, 64, 3, stride=2, padding=1), nn.BatchNorm2d(64), nn.LeakyReLU(0.2),
        nn.Conv2d(64, 128, 3, stride=2, padding=1), nn.BatchNorm2d(128), nn.LeakyReLU(0.2),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(128, 1))


@torch.no_grad()
def accuracy(classifier: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> float:
    """The fraction of images the classifier puts on the right side (logit > 0: real)."""
    correct = sum(int((classifier(batch) > 0).sum()) for batch in batched(real))
    correct += sum(int((classifier(batch) <= 0).sum()) for batch in batched(fake))
    return correct / (len(real) + len(fake))


def two_sample_accuracy(real_train: torch.Tensor, fake_train: torch.Tensor, real_test: torch.Tensor,
                        fake_test: torch.Tensor, max_epochs: int = 40, patience: int = 4, seed: int = 0) -> float:
    """Train a fresh ``realism_classifier`` on the training images (random horizontal flips, Adam, batch 64)
    until its training loss stops improving for ``patience`` epochs (converged) or ``max_epochs``; return its
    accuracy on the held-out images. 0.5: the generated images cannot be told from real ones."""
    torch.manual_seed(seed)
    classifier = realism_classifier()
    optimizer = torch.optim.Adam(classifier.parameters(), lr=1e-3)
    images = torch.cat([real_train, fake_train])
    targets = torch.cat([torch.ones(len(real_train)), torch.zeros(len(fake_train))])
    best, epochs_without_progress = float("inf"), 0
    for _ in progress(range(max_epochs), desc="two-sample classifier", unit="epoch", leave=False):
        epoch_loss = 0.0
        for batch in torch.randperm(len(images)).split(64):
            flip = torch.rand(len(batch)) < 0.5
            x = torch.where(flip[:, None, None, None], images[batch].flip(3), images[batch])
            loss = F.binary_cross_entropy_with_logits(classifier(x)[:, 0], targets[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            epoch_loss += loss.item() * len(batch)
        if epoch_loss < best * 0.99:
            best, epochs_without_progress = epoch_loss, 0
        else:
            epochs_without_progress += 1
            if epochs_without_progress >= patience:
                break
    return accuracy(classifier.eval(), real_test, fake_test)


# -----------------------------------------------------------------------------------------------------------------
# Diversity


def mean_pairwise_distance(images: torch.Tensor) -> float:
    """Mean absolute pixel difference (images in [-1, 1], distance in [0, 1] units) over all pairs of (K, 3, H, W)."""
    pairs = list(itertools.combinations(range(len(images)), 2))
    return float(np.mean([(images[i] - images[j]).abs().mean() / 2 for i, j in pairs]))


@torch.no_grad()
def diversity(generator, encoder, dataset: Landscapes, indices, samples: int = 8) -> dict[str, float]:
    """``{"generated", "real"}``: mean pairwise distance between ``samples`` images of one label map with z drawn
    from N(0, I), and between the same layout rendered in each of the 8 Landscapes styles, averaged over maps."""
    generated, real = [], []
    for index in indices:
        renders = [dataset.render(int(index), style) for style in STYLE_NAMES]
        real.append(mean_pairwise_distance(torch.stack([r["image"] for r in renders])))
        layout = renders[0]
        images = generate_images(generator, encoder, layout["label"][None].expand(samples, -1, -1),
                                 layout["instance"][None].expand(samples, -1, -1))
        generated.append(mean_pairwise_distance(images))
    return {"generated": float(np.mean(generated)), "real": float(np.mean(real))}


def generate_images(generator, encoder, labels: torch.Tensor, instances: torch.Tensor) -> torch.Tensor:
    """Images (N, 3, H, W) on the CPU for label and instance maps (N, H, W) on the CPU, computed on the
    generator's device, with the instance-edge channel when the generator was built for it, z ~ N(0, I)."""
    segmap = make_segmap(labels, NUM_CLASSES, instances if generator_uses_edges(generator) else None)
    return generate(generator, encoder, segmap.to(next(generator.parameters()).device)).float().cpu()


def generator_uses_edges(generator) -> bool:
    """Whether the generator was built for the instance-edge channel (one label channel more than classes)."""
    return generator.label_channels > NUM_CLASSES


# -----------------------------------------------------------------------------------------------------------------
# Everything together


@dataclass
class EvaluationSets:
    """Real validation images (Landscapes seed 1) in three disjoint parts, and the real-only numbers.

    ``a``: the generator draws from these label maps, compared with real ``b``; ``a`` vs ``b`` is the real-vs-real
    distance. ``c``: held out for the two-sample test (the classifier trains on real ``a`` and generated ``a``)."""
    images: dict
    labels: dict
    instances: dict

    @classmethod
    def make(cls, size: int, count: int, test_count: int) -> "EvaluationSets":
        dataset = Landscapes(size=size, length=2 * count + test_count, seed=VALIDATION_SEED)
        ranges = {"a": range(count), "b": range(count, 2 * count), "c": range(2 * count, 2 * count + test_count)}
        items = {name: [dataset[i] for i in r] for name, r in ranges.items() if len(r)}
        stack = lambda key: {name: torch.stack([it[key] for it in part]) for name, part in items.items()}
        return cls(stack("image"), stack("label"), stack("instance"))


@torch.no_grad()
def generate_for(generator, encoder, labels: torch.Tensor, instances: torch.Tensor, seed: int = 0,
                 batch_size: int = 100) -> torch.Tensor:
    """Images for every label map, z drawn from N(0, I) with a fixed seed."""
    torch.manual_seed(seed)
    return torch.cat([generate_images(generator, encoder, l, i)
                      for l, i in zip(batched(labels, batch_size, desc="generating"), batched(instances, batch_size))])


def real_ceilings(segmenter: Segmenter, sets: EvaluationSets, seed: int = 0, inception_weights=None) -> dict:
    """The real-image scores every generator is compared with: alignment of real ``a``, Fréchet distances real
    ``a`` vs real ``b``, the two-sample accuracy of real ``a`` vs real ``b`` (chance, if the test is sound).
    ``inception_weights``: also the Inception space, then for every generator evaluated against these."""
    features_a = feature_vectors(segmenter, sets.images["a"], inception_weights)
    features_b = feature_vectors(segmenter, sets.images["b"], inception_weights)
    half = len(sets.images["c"]) // 2
    return {"alignment": label_alignment(segmenter, sets.images["a"], sets.labels["a"]),
            "frechet": {name: frechet_distance(features_a[name], features_b[name]) for name in features_a},
            "two_sample_accuracy": two_sample_accuracy(sets.images["a"], sets.images["b"], sets.images["c"][:half],
                                                       sets.images["c"][half:], seed=seed),
            "features_b": features_b, "inception_weights": inception_weights}


def evaluate_images(segmenter: Segmenter, sets: EvaluationSets, ceilings: dict, fake_a: torch.Tensor,
                    fake_c: torch.Tensor, seed: int = 0) -> dict:
    """Alignment, Fréchet distances and the two-sample test of images made for the label maps of ``sets.labels``
    ``"a"`` (``fake_a``) and ``"c"`` (``fake_c``), however they were made."""
    features = feature_vectors(segmenter, fake_a, ceilings.get("inception_weights"))
    return {"alignment": label_alignment(segmenter, fake_a, sets.labels["a"]),
            "frechet": {name: frechet_distance(features[name], ceilings["features_b"][name]) for name in features},
            "two_sample_accuracy": two_sample_accuracy(sets.images["a"], fake_a, sets.images["c"], fake_c,
                                                       seed=seed),
            "images": len(fake_a)}


def evaluate(generator, encoder, segmenter: Segmenter, sets: EvaluationSets, ceilings: dict,
             diversity_maps: int = 20, seed: int = 0) -> dict:
    """Every metric of the generator (z drawn from N(0, I)), next to the real-image ``ceilings``."""
    fake_a = generate_for(generator, encoder, sets.labels["a"], sets.instances["a"], seed)
    fake_c = generate_for(generator, encoder, sets.labels["c"], sets.instances["c"], seed + 1)
    report = evaluate_images(segmenter, sets, ceilings, fake_a, fake_c, seed)
    dataset = Landscapes(size=sets.images["a"].shape[-1], length=len(sets.images["a"]), seed=VALIDATION_SEED)
    report["diversity"] = diversity(generator, encoder, dataset, range(min(diversity_maps, len(dataset))))
    return report


def evaluate_model(generator, encoder, segmenter: Segmenter, size: int, images: int, test_images: int,
                   seed: int = 0, inception_weights=None) -> tuple[dict, dict]:
    """(report, ceilings): fresh validation sets of ``images`` per set and ``test_images`` held out, the real
    ceilings on them, and ``evaluate`` of the generator. ``python -m spade_lib evaluate`` in one call."""
    sets = EvaluationSets.make(size, images, test_images)
    ceilings = real_ceilings(segmenter, sets, seed, inception_weights)
    return evaluate(generator, encoder, segmenter, sets, ceilings, seed=seed), ceilings


def class_mean_colours(images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """(C, 3): the mean colour of each class over real images (N, 3, H, W) with labels (N, H, W)."""
    one_hot = F.one_hot(labels, NUM_CLASSES).permute(0, 3, 1, 2).double()  # (N, C, H, W)
    sums = torch.einsum("nchw,nkhw->kc", images.double(), one_hot)
    return (sums / one_hot.sum((0, 2, 3))[:, None].clamp(min=1)).float()


def paint_flat(labels: torch.Tensor, colours: torch.Tensor) -> torch.Tensor:
    """The laziest "generator": every pixel gets its class's colour, (N, H, W) -> (N, 3, H, W)."""
    return colours[labels].permute(0, 3, 1, 2).contiguous()


def format_report(report: dict, ceilings: dict) -> str:
    """The evaluation as a small table: each metric, the real-image value, and their ratio or the target."""
    a, r = report["alignment"], ceilings["alignment"]
    lines = [f"{'metric':42s} {'generated':>10s} {'real':>10s}   target",
             f"{'label alignment mIoU':42s} {a['miou']:10.3f} {r['miou']:10.3f}   "
             f">= 95% of real ({a['miou'] / r['miou']:.1%})",
             f"{'label alignment pixel accuracy':42s} {a['pixel_accuracy']:10.3f} {r['pixel_accuracy']:10.3f}   "
             f">= 95% of real ({a['pixel_accuracy'] / r['pixel_accuracy']:.1%})"]
    for name in report["frechet"]:
        ratio = report["frechet"][name] / ceilings["frechet"][name]
        lines.append(f"{'Fréchet distance, ' + name + ' features':42s} {report['frechet'][name]:10.3f} "
                     f"{ceilings['frechet'][name]:10.3f}   <= 2x real-vs-real ({ratio:.1f}x)")
    lines.append(f"{'two-sample classifier accuracy':42s} {report['two_sample_accuracy']:10.1%} "
                 f"{ceilings['two_sample_accuracy']:10.1%}   <= 75% (50% = indistinguishable)")
    if "diversity" in report:
        d = report["diversity"]
        lines.append(f"{'diversity (pairwise L1, one map)':42s} {d['generated']:10.3f} {d['real']:10.3f}   "
                     f"(real: one layout in the 8 styles)")
    return "\n".join(lines)


def real_values(ceilings: dict) -> dict:
    """The numbers of ``real_ceilings``, without the features and settings it keeps for later evaluations."""
    return {key: value for key, value in ceilings.items() if key not in ("features_b", "inception_weights")}


def report_json(report: dict, ceilings: dict) -> str:
    """The report and the real-image values as JSON."""
    return json.dumps({"generated": report, "real": real_values(ceilings)}, indent=2)
