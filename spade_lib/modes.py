"""The three ways to run the course, decided in one place.

- ``quick``: set ``SPADE_QUICK=1`` (CI and the test command do). Small sizes, few steps, same ideas.
- ``full``: chosen automatically when a CUDA GPU is present (Colab), unless quick is set.
- ``default``: everything else, i.e. a CPU laptop or Binder.
"""
import os
import platform
import random
from pathlib import Path
from typing import Optional

import numpy as np
import torch

def mode() -> str:
    """The current mode: 'quick' if SPADE_QUICK is set to a true value, 'full' on CUDA, else 'default'."""
    if os.environ.get("SPADE_QUICK", "").strip().lower() not in ("", "0", "false", "no"):
        return "quick"
    return "full" if torch.cuda.is_available() else "default"


def device() -> torch.device:
    """The device lessons run on: CUDA in full mode, CPU otherwise (quick mode stays on CPU)."""
    return torch.device("cuda" if mode() == "full" else "cpu")


def cpu_name() -> str:
    """The CPU's model name (Linux: from /proc/cpuinfo), for benchmark results and model cards."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def by_mode(quick, default, full=None):
    """Pick a setting by mode, e.g. ``steps = by_mode(quick=5, default=300, full=3000)``.

    ``full`` defaults to ``default`` when a setting does not need to grow on a GPU."""
    return {"quick": quick, "default": default, "full": default if full is None else full}[mode()]


def seed_everything(seed: int = 0) -> None:
    """Seed Python, NumPy and torch (CPU and CUDA) so a lesson gives the same numbers every run."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def setup(seed: int = 0):
    """What every lesson's setup cell calls: seed, pick the device, print one line saying where we run.

    Returns ``(mode, device)``."""
    from . import __version__

    seed_everything(seed)
    where = device()
    name = torch.cuda.get_device_name(where) if where.type == "cuda" else "CPU"
    print(f"spade_lib {__version__} · mode: {mode()} · device: {where} ({name}) · torch {torch.__version__}")
    return mode(), where


def progress(iterable=None, enabled: bool = True, **kwargs):
    """A ``tqdm.auto`` progress bar (a widget in Jupyter, text elsewhere) for cells that take a while.

    ``TQDM_DISABLE=1`` (set by the test command and by ``course.py execute``) turns every bar off, so stored
    outputs and CI logs hold no half-drawn bars; tqdm itself ignores that variable once ``disable=`` is passed."""
    from tqdm.auto import tqdm

    hidden = not enabled or os.environ.get("TQDM_DISABLE", "").strip().lower() not in ("", "0", "false", "no")
    return tqdm(iterable, disable=hidden, **kwargs)


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
