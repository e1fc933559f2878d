"""The ablation of lesson 12: SPADE against input concatenation (pix2pixHD-style), CLADE and OASIS, on Landscapes at
the classroom configuration, each trained for the SAME process CPU time and evaluated with lesson 10's protocol.

    python benchmarks/bench_ablation.py --runs spade:0,pix2pixhd:0           # one worker: these runs in turn
    python benchmarks/bench_ablation.py --runs oasis:0 --points 2,4          # fewer points for one run
    python benchmarks/bench_ablation.py --report                             # tables, JSON and samples only

Every run: PRESETS["classroom"] (64x64, batch 8, 1 thread, bfloat16 where the CPU has it) without the style
encoder (the pix2pixHD generator has none; the paper's Table 1 compares them so), trained until each CPU-time point
(``time.process_time`` of the training, evaluations and checkpoint writes not counted, so that the shared
machine's load does not bias the comparison), where a checkpoint is saved and evaluated with
``spade_lib.metrics`` on --images generated vs real validation images. Each run's rows are written to
``runs/ablation/<variant>_<seed>/rows.json`` after every point, and the tables (``benchmarks/results/ablation.md``,
``ablation.json``) are rebuilt from all finished points, so two workers may run side by side and a partial table
always exists; a run whose points are all done is skipped.
"""
import argparse
import json
import os
import platform
import time
from dataclasses import replace
from pathlib import Path

import torch
from PIL import Image

from bench_classroom import markdown, row
from spade_lib import checkpoints, metrics
from spade_lib.landscapes import Landscapes
from spade_lib.models import PRESETS, load_model
from spade_lib.training import Trainer
from spade_lib.viz import image_grid

RESULTS = Path(__file__).resolve().parent / "results"
RUNS = Path(__file__).resolve().parent.parent / "runs" / "ablation"
# the variants of the comparison: TrainConfig settings on top of the classroom preset without the style encoder
VARIANTS = {
    "spade": {},
    "pix2pixhd": {"generator": "pix2pixhd"},
    "clade": {"generator": "clade"},
    "oasis": {"noise_3d": 64, "discriminator": "oasis", "ndf": 16},  # SPADE G + 3D noise, OASIS D with LabelMix
}
KEY_PAIR = ("spade", "pix2pixhd")
PLANNED = [("spade", 0), ("spade", 1), ("pix2pixhd", 0), ("pix2pixhd", 1), ("clade", 0), ("oasis", 0)]
POINTS = (2.0, 5.0, 10.0)  # CPU-minutes of the evaluations (the default --points)
SAMPLE_MAPS = 6


def run_config(variant: str, seed: int) -> "TrainConfig":
    """The classroom preset for ``variant``: no style encoder, no learning-rate decay within the budget (steps
    far beyond it), checkpoints only where the CPU-time points ask."""
    return replace(PRESETS["classroom"], use_vae=False, seed=seed, steps=100_000, save_every=100_000,
                   sample_every=100_000, keep_checkpoints=0, progress=False, name=f"ablation_{variant}_{seed}",
                   out=str(RUNS / f"{variant}_{seed}"), **VARIANTS[variant])


class Evaluator:
    """The lesson-10 protocol, built once per process: the validation sets, the segmenter, the real values."""

    def __init__(self, images: int):
        self.images = images
        self.segmenter = metrics.load_segmenter()
        self.sets = metrics.EvaluationSets.make(PRESETS["classroom"].size, images, images // 2)
        self.ceilings = metrics.real_ceilings(self.segmenter, self.sets)
        self.real = metrics.real_values(self.ceilings)

    def __call__(self, checkpoint: Path, random_input: bool) -> dict:
        """bench_classroom's row of the checkpoint's EMA generator; diversity only for a generator with random
        input (a deterministic one makes one image per map)."""
        generator, encoder, _ = load_model(checkpoint, ema=True)
        report = metrics.evaluate(generator, encoder, self.segmenter, self.sets, self.ceilings)
        result = row("", None, report, self.real)
        result["diversity"] = result["diversity"] if random_input else None
        return result


def train_and_evaluate(variant: str, seed: int, points: list[float], evaluator: Evaluator) -> None:
    """Train one run to each CPU-time point (minutes), saving and evaluating there; rows.json after each."""
    config = run_config(variant, seed)
    folder = Path(config.out)
    if folder.exists():  # an unfinished run starts again: its CPU clock was not saved
        for path in checkpoints.list_checkpoints(folder / "checkpoints"):
            path.unlink()
            path.with_suffix(".safetensors").unlink(missing_ok=True)
    trainer = Trainer(config)
    run = {"variant": variant, "seed": seed, "points": points, "rows": [],
           "generator_parameters": sum(p.numel() for p in trainer.generator.parameters()),
           "discriminator_parameters": sum(p.numel() for p in trainer.discriminator.parameters())}
    clock = {"cpu": 0.0, "wall": 0.0, "cpu_start": time.process_time(), "wall_start": time.perf_counter()}

    def after_step(trainer: Trainer, losses: dict) -> None:
        cpu = clock["cpu"] + time.process_time() - clock["cpu_start"]
        if cpu < 60 * points[len(run["rows"])]:
            return
        wall = clock["wall"] + time.perf_counter() - clock["wall_start"]
        clock["cpu"], clock["wall"] = cpu, wall
        path = trainer.save()
        result = evaluator(path, random_input=config.noise_3d > 0)
        run["rows"].append({"step": trainer.step, "cpu_minutes": cpu / 60, "wall_minutes": wall / 60, **result,
                            "losses": trainer.history[-1] if trainer.history else {}})
        print(f"{variant} seed {seed}: {cpu / 60:.1f} CPU-min, step {trainer.step}: mIoU {result['miou']:.3f}, "
              f"Fréchet seg. {result['fd_segmenter_x_real']:.1f}x, texture {result['fd_texture_x_real']:.1f}x",
              flush=True)
        checkpoints.atomic_write_bytes(folder / "rows.json", json.dumps(run, indent=2).encode())
        write_tables(evaluator.images)
        if len(run["rows"]) == len(points):
            trainer.stop_reason = "the CPU-time budget"
        clock["cpu_start"], clock["wall_start"] = time.process_time(), time.perf_counter()

    trainer.fit(callback=after_step)


def finished_runs() -> list[dict]:
    runs = [json.loads(path.read_text()) for path in sorted(RUNS.glob("*/rows.json"))]
    order = list(VARIANTS)
    return sorted((r for r in runs if r["rows"]), key=lambda r: (order.index(r["variant"]), r["seed"]))


def schema_row(r: dict) -> dict:
    keys = ("step", "cpu_minutes", "wall_minutes", "miou", "miou_of_real", "fd_segmenter_x_real",
            "fd_texture_x_real", "two_sample_accuracy", "diversity")
    return {key: r[key] for key in keys}


def machine() -> str:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() \
        else platform.processor()
    return f"{model}, {os.cpu_count()} cores shared with other jobs, {platform.system()}"


def write_tables(images: int) -> None:
    """ablation.json (the schema lesson 12 reads) and ablation.md from every run's rows so far."""
    runs = finished_runs()
    if not runs:
        return
    real = json.loads((RUNS / "real.json").read_text())
    points = sorted({p for r in runs for p in r["points"][:len(r["rows"])]})  # the points evaluated
    document = {"protocol": {"images": images, "size": PRESETS["classroom"].size,
                             "batch_size": PRESETS["classroom"].batch_size, "threads": PRESETS["classroom"].threads,
                             "cpu_minutes_per_point": points, "machine": machine(), "torch": torch.__version__},
                "real": {"miou": real["alignment"]["miou"], "fd_segmenter": real["frechet"]["segmenter"],
                         "fd_texture": real["frechet"]["texture"],
                         "two_sample_accuracy": real["two_sample_accuracy"]},
                "runs": [{"variant": r["variant"], "seed": r["seed"],
                          "generator_parameters": r["generator_parameters"],
                          "discriminator_parameters": r["discriminator_parameters"],
                          "rows": [schema_row(x) for x in r["rows"]]} for r in runs]}
    RESULTS.mkdir(exist_ok=True)
    checkpoints.atomic_write_bytes(RESULTS / "ablation.json", (json.dumps(document, indent=2) + "\n").encode())
    checkpoints.atomic_write_bytes(RESULTS / "ablation.md", report_markdown(runs, real, images, points).encode())
    write_curves(runs)


def variant_table(run: dict, real: dict, images: int) -> str:
    """bench_classroom's table of one run; its "training minutes" column holds wall minutes."""
    rows = [{**r, "name": f"{r['cpu_minutes']:.1f} CPU-min, step {r['step']}", "minutes": r["wall_minutes"]}
            for r in run["rows"]]
    return markdown(rows, real, images).split("\n\n", 2)[2]


def key_pair_rows(runs: list[dict]) -> tuple[dict, float]:
    """{variant: [row of each seed]} of the key pair at the last CPU-time point every key-pair run reached, and
    that point in CPU-minutes (runs side by side compare at the same CPU time)."""
    key_runs = [r for r in runs if r["variant"] in KEY_PAIR]
    if {r["variant"] for r in key_runs} != set(KEY_PAIR):
        return {}, 0.0
    index = min(len(r["rows"]) for r in key_runs) - 1
    rows = {v: [r["rows"][index] for r in key_runs if r["variant"] == v] for v in KEY_PAIR}
    return rows, key_runs[0]["points"][index]


def key_pair_summary(runs: list[dict]) -> list[str]:
    """Table lines: each key-pair metric per seed at the common point, with the seed spread."""
    rows, _ = key_pair_rows(runs)
    lines = []
    for metric, label, better in (("miou_of_real", "mIoU (of real)", "higher"),
                                  ("fd_segmenter_x_real", "Fréchet seg. (x real)", "lower"),
                                  ("fd_texture_x_real", "Fréchet texture (x real)", "lower"),
                                  ("two_sample_accuracy", "two-sample acc.", "lower")):
        text = {}
        for variant, seeds in rows.items():
            values = [x[metric] for x in seeds]
            text[variant] = ", ".join(f"{x:.3f}" for x in values) + (
                f" (spread {max(values) - min(values):.3f})" if len(values) > 1 else "")
        if text:
            lines.append(f"| {label} ({better} is better) | {text['spade']} | {text['pix2pixhd']} |")
    return lines


def verdict(runs: list[dict]) -> str:
    """SPADE against input concatenation at the common point, in words, against the seed spread."""
    rows, point = key_pair_rows(runs)
    if not rows:
        return "Not enough runs of the key pair (spade, pix2pixhd) yet for a verdict."
    mean = lambda v, m: sum(x[m] for x in rows[v]) / len(rows[v])
    spread = lambda v, m: max(x[m] for x in rows[v]) - min(x[m] for x in rows[v])
    miou = {v: mean(v, "miou_of_real") for v in KEY_PAIR}
    fd = {v: mean(v, "fd_segmenter_x_real") for v in KEY_PAIR}
    noise = max(spread(v, "miou_of_real") for v in KEY_PAIR)
    fd_noise = max(spread(v, "fd_segmenter_x_real") for v in KEY_PAIR)
    seeds = min(len(rows[v]) for v in KEY_PAIR)
    gap = miou["spade"] - miou["pix2pixhd"]
    if seeds < 2:
        words = (f"With one seed per variant (no seed spread measured yet), SPADE reaches mIoU {miou['spade']:.1%} of "
                 f"real against {miou['pix2pixhd']:.1%} for input concatenation ({100 * gap:+.1f} points)")
    elif abs(gap) <= noise:
        words = (f"SPADE and input concatenation are **not distinguishable** here: mIoU {miou['spade']:.1%} against "
                 f"{miou['pix2pixhd']:.1%} of real, a gap ({100 * gap:+.1f} points) within the seed spread "
                 f"({100 * noise:.1f} points)")
    else:
        who = "SPADE **beats**" if gap > 0 else "SPADE does **not** beat"
        words = (f"{who} input concatenation here: mIoU {miou['spade']:.1%} against {miou['pix2pixhd']:.1%} of "
                 f"real ({100 * gap:+.1f} points, more than the seed spread of {100 * noise:.1f} points)")
    steps = {v: mean(v, "step") for v in KEY_PAIR}
    return (f"At {point:g} CPU-minutes: {words}; Fréchet distance (segmenter features) {fd['spade']:.0f}x against "
            f"{fd['pix2pixhd']:.0f}x the real-vs-real value (mean of {seeds} seed{'s' if seeds > 1 else ''}; "
            f"{'a difference within' if abs(fd['spade'] - fd['pix2pixhd']) <= fd_noise else 'beyond'} the seed "
            f"spread of {fd_noise:.0f}x). In "
            f"that CPU time SPADE made {steps['spade']:.0f} steps and input concatenation {steps['pix2pixhd']:.0f} "
            f"(its generator reads the label map once, SPADE at every layer).")


def report_markdown(runs: list[dict], real: dict, images: int, points: list[float]) -> str:
    lines = ["# Ablation: SPADE, input concatenation, CLADE and OASIS at the same CPU time\n",
             f"`python benchmarks/bench_ablation.py`: each variant trains the classroom configuration "
             f"(`PRESETS[\"classroom\"]`: 64x64 Landscapes, batch 8, 1 thread, bfloat16 autocast) without the "
             f"style encoder, for the same process CPU time (`time.process_time`, evaluations not counted), and is "
             f"evaluated at {', '.join(f'{p:g}' for p in points)} CPU-minutes with lesson 10's protocol on "
             f"{images} generated vs {images} real validation images (EMA generator). Real images: mIoU "
             f"{real['alignment']['miou']:.3f}, real-vs-real Fréchet {real['frechet']['segmenter']:.4f} "
             f"(segmenter) and {real['frechet']['texture']:.4f} (texture), two-sample accuracy "
             f"{real['two_sample_accuracy']:.1%}. Machine: {machine()}; torch {torch.__version__}. The runs "
             f"shared the machine with other jobs; \"training minutes\" below are wall minutes, which depend on "
             f"the load, and CPU minutes do not.\n",
             "Variants: **spade** (the paper's generator, arXiv 1903.07291 Sec. 3), **pix2pixhd** (the label map at "
             "the input only, the paper's baseline, Sec. 4 and Table 1), **clade** (one scale and shift per class, "
             "Tan et al., arXiv 2012.04644), **oasis** (SPADE generator with 64 channels of 3D noise, OASIS's "
             "U-Net segmenter discriminator at ndf 16 with LabelMix and no feature matching, Sushko et al., "
             "arXiv 2012.04781). All others: the multiscale PatchGAN discriminator, hinge loss, feature matching "
             "10, no perceptual loss, TTUR, EMA. Diversity is given only for a generator with random input "
             "(oasis); the others make one image per label map.\n",
             "**How short this is.** The classroom model (with the style encoder) trains for 8000 steps, 85 "
             "minutes (data/classroom/MODEL_CARD.md); these runs "
             f"stop at {max(points):g} CPU-minutes, {max(r['step'] for run in runs for r in run['rows']):,} steps "
             "at most, where the paper trains 200 epochs on multi-GPU machines. The comparison is of *early training speed per CPU second*, not of converged "
             "quality: a variant that learns slower but better would lose here and win in the paper's setting.\n"]
    lines.append(not_run(runs))
    lines.append("![Each metric against training CPU minutes, one line per run (dashed: seed 1)](ablation_curves.png)\n")
    for run in runs:
        lines.append(f"## {run['variant']}, seed {run['seed']} (G {run['generator_parameters'] / 1e6:.2f} M, "
                     f"D {run['discriminator_parameters'] / 1e6:.2f} M parameters)\n")
        lines.append(variant_table(run, real, images))
    summary = key_pair_summary(runs)
    if summary:
        lines += [f"## The key pair at {key_pair_rows(runs)[1]:g} CPU-minutes, per seed\n", "| metric | spade | pix2pixhd |", "|---|---|---|",
                  *summary, ""]
    lines += ["## Verdict\n", verdict(runs) + " " + (
        "With runs this short the verdict is about which generator learns the layout faster on a CPU; the "
        "paper's claim (Table 1: SPADE's mIoU well above pix2pixHD's at convergence) is not tested at convergence "
        "here.") + "\n"]
    return "\n".join(lines)


def not_run(runs: list[dict]) -> str:
    """A sentence naming the planned runs (``PLANNED``) that are missing, stopped before their last point, or run
    with fewer points than the default ``POINTS``."""
    done = {(r["variant"], r["seed"]): r for r in runs}
    minutes = lambda values: ", ".join(f"{p:g}" for p in values)
    missing = [f"{v} seed {s}" for v, s in PLANNED if (v, s) not in done]
    short = [f"{v} seed {s} (to {done[v, s]['rows'][-1]['cpu_minutes']:.1f} of {max(done[v, s]['points']):g} "
             f"CPU-minutes)" for v, s in PLANNED if (v, s) in done and len(done[v, s]["rows"]) < len(done[v, s]["points"])]
    fewer = [f"{v} seed {s} (points {minutes(done[v, s]['points'])})" for v, s in PLANNED
             if (v, s) in done and max(done[v, s]["points"]) < max(POINTS)]
    if not missing and not short and not fewer:
        return f"Every planned run reached every point ({minutes(POINTS)} CPU-minutes).\n"
    return (f"**Not run:** {'; '.join(missing) or 'none'}. **Stopped before their last point:** "
            f"{'; '.join(short) or 'none'}. **Planned with fewer points than {minutes(POINTS)}** (CPU time: the key "
            f"pair's two seeds came first): {'; '.join(fewer) or 'none'}.\n")


def write_curves(runs: list[dict]) -> Path:
    """ablation_curves.png: each metric against training CPU minutes, one line per run (solid: seed 0)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import LogLocator, NullLocator, ScalarFormatter

    colours = {"spade": "tab:blue", "pix2pixhd": "tab:orange", "clade": "tab:green", "oasis": "tab:purple"}
    panels = [("miou_of_real", "label alignment: mIoU / real", False),
              ("fd_segmenter_x_real", "Fréchet, segmenter features (x real, log)", True),
              ("fd_texture_x_real", "Fréchet, texture features (x real, log)", True),
              ("two_sample_accuracy", "two-sample accuracy (50%: chance)", False)]
    fig, axes = plt.subplots(1, 4, figsize=(19, 4.2))
    for ax, (key, title, log) in zip(axes, panels):
        for run in runs:
            ax.plot([r["cpu_minutes"] for r in run["rows"]],
                    [r[key] for r in run["rows"]], marker="o", ms=4, color=colours[run["variant"]],
                    ls="-" if run["seed"] == 0 else "--", label=f"{run['variant']}, seed {run['seed']}")
        ax.set(title=title, xlabel="training CPU minutes")
        ax.set_xlim(0, None)
        if log:  # ticks at 10, 20, 50, 100 in plain numbers
            ax.set_yscale("log")
            ax.yaxis.set_major_locator(LogLocator(subs=(1, 2, 5)))
            ax.yaxis.set_major_formatter(ScalarFormatter())
            ax.yaxis.set_minor_locator(NullLocator())
    axes[0].set_ylim(0, 1)
    axes[3].set_ylim(0.45, 1.02)
    axes[3].axhline(0.5, color="grey", lw=1)
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    path = RESULTS / "ablation_curves.png"
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


@torch.no_grad()
def write_samples() -> Path:
    """ablation_samples.png: 6 validation label maps (rows) x [label map, real, each seed-0 run's final image]."""
    dataset = Landscapes(size=PRESETS["classroom"].size, length=SAMPLE_MAPS, seed=metrics.VALIDATION_SEED)
    items = [dataset[i] for i in range(SAMPLE_MAPS)]
    labels = torch.stack([it["label"] for it in items])
    instances = torch.stack([it["instance"] for it in items])
    columns = []
    for variant in VARIANTS:
        rows = RUNS / f"{variant}_0" / "rows.json"
        if rows.is_file():  # the checkpoint of the run's last evaluated point
            step = json.loads(rows.read_text())["rows"][-1]["step"]
            generator, encoder, _ = load_model(checkpoints.checkpoint_path(rows.parent / "checkpoints", step))
            torch.manual_seed(0)
            columns.append(metrics.generate_images(generator, encoder, labels, instances))
    rows = [[labels[i], items[i]["image"]] + [column[i] for column in columns] for i in range(SAMPLE_MAPS)]
    path = RESULTS / "ablation_samples.png"
    Image.fromarray(image_grid(rows)).save(path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", default=",".join(f"{v}:{s}" for v, s in PLANNED),
                        help="variant:seed list, trained in turn (default: %(default)s)")
    parser.add_argument("--points", default=",".join(f"{p:g}" for p in POINTS), help="CPU-minutes where each run is evaluated (default: "
                                                           "%(default)s); the last one ends the run")
    parser.add_argument("--images", type=int, default=500, help="generated and real validation images per "
                                                                "evaluation (default: %(default)s)")
    parser.add_argument("--report", action="store_true", help="only rebuild the tables, the curves and the sample grid")
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.report:
        write_tables(args.images)
        print(write_samples())
        return
    points = [float(p) for p in args.points.split(",")]
    evaluator = Evaluator(args.images)
    RUNS.mkdir(parents=True, exist_ok=True)
    checkpoints.atomic_write_bytes(RUNS / "real.json", json.dumps(evaluator.real).encode())
    for spec in args.runs.split(","):
        variant, seed = spec.split(":")
        done = RUNS / f"{variant}_{seed}" / "rows.json"
        if done.is_file() and len(json.loads(done.read_text())["rows"]) >= len(points):
            print(f"{spec}: done, skipped")
            continue
        train_and_evaluate(variant, int(seed), points, evaluator)
    write_tables(args.images)


if __name__ == "__main__":
    main()
