"""The faster classroom step (benchmarks/bench_train_step.py): bfloat16 mixed precision on CPUs that have it, and
SPADE's dense path under it. Same results to tolerance: two trainers with the same weights and inputs, one in
float32 (``amp=False``: the plain math, unchanged) and one in bfloat16 autocast, forced here so that the test
runs on every CPU (where bf16 is not native it is emulated: slower, same numbers). Tolerances, against float32:

- generated image: largest difference <= 0.01 (images in [-1, 1]; measured 0.002), relative L2 error <= 5%;
- every loss term of the generator and discriminator steps: relative error <= 1% (measured <= 0.02%);
- gradients: cosine similarity >= 0.98 for all of G's gradient (measured 0.993) and >= 0.97 for D's (0.985);
  bfloat16 keeps 8 bits of mantissa, so each gradient value is off by a few percent, not its direction.
"""
import dataclasses
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from spade_lib import modes
from spade_lib.norms import SPADE
from spade_lib.labels import LabelMap
from spade_lib.models import PRESETS
from spade_lib.modes import mixed_precision_dtype
from spade_lib.training import Trainer, to_segmap


def test_mixed_precision_dtype(monkeypatch):
    monkeypatch.setattr(modes, "cpu_has_bf16", lambda: True)
    assert mixed_precision_dtype(True, torch.device("cpu")) == torch.bfloat16
    assert mixed_precision_dtype(True, torch.device("cuda")) == torch.float16
    assert mixed_precision_dtype(False, torch.device("cpu")) is None
    assert mixed_precision_dtype(False, torch.device("cuda")) is None
    monkeypatch.setattr(modes, "cpu_has_bf16", lambda: False)  # emulated bf16 is slower than float32: off
    assert mixed_precision_dtype(True, torch.device("cpu")) is None


def test_cpu_bf16_detection_agrees_with_the_cpu_flags():
    cpuinfo = Path("/proc/cpuinfo")
    if not cpuinfo.exists():
        pytest.skip("no /proc/cpuinfo (not Linux): nothing to compare with")
    assert modes.cpu_has_bf16() == ("avx512_bf16" in cpuinfo.read_text().split())


@pytest.fixture(scope="module")
def twins(tmp_path_factory):
    """(float32 trainer, bfloat16 trainer, segmap, real): the classroom networks with the same weights (same seed)."""
    config = dataclasses.replace(PRESETS["classroom"], batch_size=4, progress=False,
                                 out=str(tmp_path_factory.mktemp("speed")))
    exact = Trainer(dataclasses.replace(config, amp=False))
    bf16 = Trainer(config)
    bf16.amp_dtype = torch.bfloat16  # forced: the numbers are the same where the CPU only emulates bf16
    batch = next(iter(exact.batches()))
    return exact, bf16, to_segmap(batch, config, exact.device), batch["image"]


def relative_error(value: float, exact: float) -> float:
    return abs(value - exact) / abs(exact)


def gradient(network: torch.nn.Module) -> torch.Tensor:
    return torch.cat([p.grad.flatten() for p in network.parameters() if p.grad is not None])


def test_float32_path_is_plain_float32(twins):
    exact, _, segmap, real = twins
    assert exact.amp_dtype is None
    with exact.autocast(), torch.no_grad():
        assert not torch.is_autocast_enabled("cpu")
        fake, mu, _ = exact.generate(segmap, real)
    assert fake.dtype == mu.dtype == torch.float32


def test_bf16_generator_output_within_tolerance(twins):
    exact, bf16, segmap, _ = twins
    assert all(torch.equal(a, b) for a, b in zip(exact.generator.parameters(), bf16.generator.parameters()))
    z = torch.randn(4, exact.config.z_dim, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        want = exact.generator(segmap, z)
        with bf16.autocast():
            got = bf16.generator(segmap, z)
    assert got.dtype == torch.bfloat16  # the convolutions did run in bfloat16
    assert (got.float() - want).abs().max() <= 0.01
    assert (got.float() - want).norm() <= 0.05 * want.norm()


def test_bf16_losses_and_gradients_within_tolerance(twins):
    exact, bf16, segmap, real = twins
    for name, tolerance in (("generator", 0.98), ("discriminator", 0.97)):
        losses = []
        for trainer in (exact, bf16):
            torch.manual_seed(1)  # the same VAE noise
            step = trainer.generator_step if name == "generator" else trainer.discriminator_step
            losses.append(step(segmap, real))
        assert losses[0].keys() == losses[1].keys()
        for term in losses[0]:  # the KL term was 2x off before it was computed in float32
            assert relative_error(losses[1][term], losses[0][term]) <= 0.01, (term, losses)
        network = exact.generator if name == "generator" else exact.discriminator
        other = bf16.generator if name == "generator" else bf16.discriminator
        assert F.cosine_similarity(gradient(network), gradient(other), dim=0) >= tolerance, name


def large_regions(n: int = 2, size: int = 32) -> torch.Tensor:
    labels = torch.zeros(n, size, size, dtype=torch.long)
    labels[:, :, size // 2:] = 1
    return labels


def test_auto_path_takes_the_convolutions_under_cpu_autocast():
    torch.manual_seed(0)
    layer = SPADE(8, 3, hidden=16)
    x, labels = torch.randn(2, 8, 32, 32), LabelMap(large_regions(), 3)
    out = layer(x, labels)
    assert layer.last_path == "fast"  # float32: the lookups, a small band
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out_bf16 = layer(x, labels)
    assert layer.last_path == "dense"  # bf16 convolutions beat the float32 lookups
    assert (out_bf16.float() - out).abs().max() <= 0.05 * out.abs().max()
