"""The classroom training step, old code against new, side by side on the same machine in one run.

    python benchmarks/bench_train_step.py                 # old = commit 529d5b6, 15 rounds
    python benchmarks/bench_train_step.py --old HEAD~3 --rounds 30 --profile

The old code is ``git archive`` of a commit, unpacked into a temporary folder. Each version trains in its own
process (``Trainer(PRESETS["classroom"])``, its preset's threads, the same fixed batch), and the parent process
asks them in turn for a few steps: old, new, new in float32, old, new, ... (interleaved), so that a busy,
shared CPU slows all of them alike. Reported: the median step time of each, its spread (quartiles), and the
ratio old / new per round (median and quartiles). ``--profile`` adds where the time goes (torch.profiler).
Writes ``benchmarks/results/train_step.md``.
"""
import argparse
import io
import json
import os
import platform
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "train_step.md"


# ----------------------------------------------------------------------------------------------------------------
# The worker: one code version, one process


def worker(amp: bool, warmup: int, profile: bool) -> None:
    """Build the classroom trainer from whatever spade_lib is on PYTHONPATH; answer each line "N" on stdin with
    the N step times as JSON on stdout."""
    import dataclasses

    import torch

    from spade_lib.training import Trainer
    try:
        from spade_lib.models import PRESETS  # since the restructure (issue 12)
    except ImportError:
        from spade_lib.training import PRESETS  # the old code kept them beside the Trainer

    out = tempfile.mkdtemp(prefix="bench_train_step_")
    config = dataclasses.replace(PRESETS["classroom"], progress=False, out=out, amp=amp)
    trainer = Trainer(config)
    batch = next(iter(trainer.batches()))  # the same first batch in every version (fixed by the seed)
    for _ in range(warmup):
        trainer.train_step(batch)
    dtype = getattr(trainer, "amp_dtype", None)  # the old code has none: float32 on a CPU
    info = {"torch": torch.__version__, "threads": torch.get_num_threads(),
            "precision": str(dtype).replace("torch.", "") if dtype is not None else "float32"}
    if profile:
        info["profile"] = profile_steps(trainer, batch)
    print(json.dumps(info), flush=True)
    for line in sys.stdin:
        times = []
        for _ in range(int(line)):
            start = time.perf_counter()
            trainer.train_step(batch)
            times.append(time.perf_counter() - start)
        print(json.dumps(times), flush=True)


def profile_steps(trainer, batch, steps: int = 3, rows: int = 12) -> list:
    """The operators that take the most time over a few steps: (name, ms per step, share of the step)."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(steps):
            trainer.train_step(batch)
    events = sorted(prof.key_averages(), key=lambda e: -e.self_cpu_time_total)
    total = sum(e.self_cpu_time_total for e in events)
    return [(e.key, e.self_cpu_time_total / steps / 1000, e.self_cpu_time_total / total) for e in events[:rows]]


# ----------------------------------------------------------------------------------------------------------------
# The parent: start the versions, interleave them, write the table


def unpack(commit: str, into: Path) -> Path:
    """``git archive`` of commit's spade_lib into a folder; returns the folder (for PYTHONPATH)."""
    archive = subprocess.run(["git", "archive", commit, "spade_lib"], cwd=ROOT, check=True, capture_output=True)
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(into, filter="data")
    return into


class Version:
    """One worker process: spade_lib from ``path``, with mixed precision on or off."""

    def __init__(self, name: str, path: Path, amp: bool, warmup: int, profile: bool):
        self.name, self.times, self.rounds = name, [], []
        env = {**os.environ, "PYTHONPATH": str(path), "TQDM_DISABLE": "1"}
        command = [sys.executable, __file__, "--worker", "--warmup", str(warmup)] + (["--profile"] if profile else [])
        if not amp:
            command.append("--no-amp")
        self.process = subprocess.Popen(command, env=env, cwd=tempfile.gettempdir(), stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True)
        self.info = json.loads(self.process.stdout.readline())

    def run(self, steps: int) -> None:
        self.process.stdin.write(f"{steps}\n")
        self.process.stdin.flush()
        times = json.loads(self.process.stdout.readline())
        self.times += times
        self.rounds.append(statistics.median(times))

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait()


def quartiles(values) -> tuple:
    q1, q2, q3 = statistics.quantiles(values, n=4)
    return q1, q2, q3


def machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        bf16 = "avx512_bf16" in Path("/proc/cpuinfo").read_text()
    except OSError:
        bf16 = "unknown"
    return f"{model}, {os.cpu_count()} logical CPUs, AVX512-BF16: {bf16}, {platform.system()}"


def report(versions, args, load_before, load_after) -> str:
    old, new = versions[0], versions[1]
    lines = [
        "# Classroom training step: old code against new (benchmarks/bench_train_step.py)", "",
        f"Preset `classroom` (64x64, batch 8, {old.info['threads']} thread), one fixed batch, "
        f"{args.rounds} interleaved rounds of {args.steps} steps after {args.warmup} warm-up steps per version.",
        f"Old: `git archive {args.old}` ({old.info['torch']}); new: this working tree.", "",
        f"- machine: {machine()}",
        f"- torch {new.info['torch']}, Python {platform.python_version()}, torch threads: "
        + ", ".join(f"{version.name} {version.info['threads']}" for version in versions),
        f"- load average (1 min) before / after: {load_before:.1f} / {load_after:.1f} (a shared machine: the "
        f"interleaving slows every version alike; absolute times vary, the ratios less)", "",
        "| version | precision | median step (s) | quartiles (s) | old / this, per round: median (quartiles) |",
        "|---|---|---|---|---|",
    ]
    for version in versions:
        q1, q2, q3 = quartiles(version.times)
        ratios = [a / b for a, b in zip(old.rounds, version.rounds)]
        r1, r2, r3 = quartiles(ratios)
        lines.append(f"| {version.name} | {version.info['precision']} | {q2:.3f} | {q1:.3f} - {q3:.3f} | "
                     f"{r2:.2f}x ({r1:.2f} - {r3:.2f}) |")
    for version in versions:
        if "profile" in version.info:
            lines += ["", f"Where the time goes, {version.name} ({version.info['precision']}; torch.profiler, "
                          f"self CPU time):", "", "| operator | ms per step | share |", "|---|---|---|"]
            lines += [f"| {name} | {ms:.1f} | {share:.0%} |" for name, ms, share in version.info["profile"]]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--old", default="529d5b6", help="the commit to compare with (default: 529d5b6)")
    parser.add_argument("--rounds", type=int, default=15, help="interleaved rounds (default 15)")
    parser.add_argument("--steps", type=int, default=3, help="steps per version per round (default 3)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first (default 3)")
    parser.add_argument("--profile", action="store_true", help="also profile old and new (torch.profiler)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="the markdown file to write")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--no-amp", dest="amp", action="store_false", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args.amp, args.warmup, args.profile)

    with tempfile.TemporaryDirectory() as tmp:
        old_path = unpack(args.old, Path(tmp))
        load_before = os.getloadavg()[0]
        versions = [Version(f"old ({args.old})", old_path, True, args.warmup, args.profile),
                    Version("new", ROOT, True, args.warmup, args.profile),
                    Version("new, amp off", ROOT, False, args.warmup, False)]
        try:
            for round_ in range(args.rounds):
                for version in versions:
                    version.run(args.steps)
                print(f"round {round_ + 1}/{args.rounds}: " + ", ".join(
                    f"{v.name} {v.rounds[-1]:.3f} s" for v in versions), flush=True)
        finally:
            for version in versions:
                version.close()
        text = report(versions, args, load_before, os.getloadavg()[0])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
