"""Benchmark: spade_lib's networks fed class ids against the official computation (dense one-hot maps).

All variants run the SAME modules with the SAME weights, fp32, on 2 CPU threads; only the label map's form and
the memory format differ:

- "official": a float one-hot map, as the official code builds it. SPADE runs its dense convolutions (separate
  gamma and beta convs) and the discriminator convolves the one-hot channels.
- "spade_lib": a ``LabelMap`` of class ids. SPADE takes its lookup path (``spade_lib.norms.spade_fast``) and the
  discriminator's first conv is a gather (``one_hot_conv2d``), its second scale counts classes
  (``pooled_one_hot``).
- "spade_lib + channels_last": the same, with networks and image in channels-last memory format.

Cases: the official ADE20K configuration (151 label channels, 256x256, batch 1) on a Landscapes label map and on
noise (an independent random class per pixel: the worst case for the lookup paths); the course's "classroom"
configuration (``spade_lib.models.PRESETS["classroom"]``: 64x64, 11 classes + instance edges, style encoder,
batch 8). Measured: the generator's forward (eval, no grad) and a full training step (G: hinge + feature
matching (+ KL); D: hinge; both backward and Adam steps; D frozen during the G step, as ``spade_lib.training``
does). The variants are timed in turn, interleaved, and reported as medians. Their outputs are compared first.

Run: ``python benchmarks/bench_networks.py`` (about 20 minutes on 2 cores); writes benchmarks/results/networks.md.
"""
import argparse
import copy
import datetime
import os
import platform
import statistics
import time
from pathlib import Path

# Shared machine: OpenMP threads that spin while they wait steal the cores from the ones working; waiting
# passively keeps timings fair (as in bench_spade.py). Set before torch starts OpenMP; override it yourself.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402 (after the OpenMP setting)

from spade_lib import official  # noqa: E402
from spade_lib.encoder import reparameterize  # noqa: E402
from spade_lib.labels import LabelMap, make_segmap  # noqa: E402
from spade_lib.landscapes import Landscapes  # noqa: E402
from spade_lib.losses import feature_matching_loss, gan_loss, kl_divergence, split_fake_real  # noqa: E402
from spade_lib.models import PRESETS, build_discriminator, build_encoder, build_generator  # noqa: E402
from spade_lib.training import learning_rates  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "networks.md"
NOTES = "## Notes"  # the results file's hand-written part, from this heading on, survives a new run
# variant -> (label-map form, memory format)
VARIANTS = {"official": ("one-hot", torch.contiguous_format), "spade_lib": ("ids", torch.contiguous_format),
            "spade_lib + channels_last": ("ids", torch.channels_last)}


class Case:
    """Networks, a batch, its label map in both forms, and optimizers."""

    def __init__(self, name, G, D, E, segmap: LabelMap, real):
        self.name, self.G, self.D, self.E, self.real = name, G, D, E, real
        self.nets = {"G": G, "D": D, "E": E} if E is not None else {"G": G, "D": D}
        doubled = LabelMap(segmap.labels.repeat(2, 1, 1), segmap.num_classes,
                           None if segmap.edges is None else segmap.edges.repeat(2, 1, 1))
        self.segmaps = {"one-hot": segmap.one_hot(), "ids": segmap}
        self.doubled = {"one-hot": doubled.one_hot(), "ids": doubled}  # for D(cat([fake, real]))
        self.optimizers = self.new_optimizers()
        self.form = "one-hot"

    def new_optimizers(self):
        lr_G, lr_D, betas = learning_rates(PRESETS["official"])
        g_params = [p for name in ["G", "E"] if name in self.nets for p in self.nets[name].parameters()]
        return (torch.optim.Adam(g_params, lr=lr_G, betas=betas),
                torch.optim.Adam(self.D.parameters(), lr=lr_D, betas=betas))

    def use(self, variant: str) -> None:
        """Switch label-map form and memory format (not timed)."""
        self.form, memory_format = VARIANTS.get(variant, variant)
        for net in self.nets.values():
            net.to(memory_format=memory_format)
        self.real = self.real.contiguous(memory_format=memory_format)

    def z(self):
        """A fixed style for the VAE generator's forward."""
        if not self.G.use_vae:
            return None
        return torch.randn(self.real.shape[0], self.G.z_dim, generator=torch.Generator().manual_seed(0))

    def forward(self):
        self.G.eval()
        with torch.no_grad():
            return self.G(self.segmaps[self.form], self.z())

    def train_step(self):
        """One step of the official recipe; returns (G loss, D loss, fake)."""
        G, D, E, real = self.G.train(), self.D.train(), self.E, self.real
        segmap, doubled = self.segmaps[self.form], self.doubled[self.form]
        opt_G, opt_D = self.optimizers
        D.requires_grad_(False)
        if E is None:
            fake, kl = G(segmap), 0.0
        else:
            mu, logvar = E(real)
            fake, kl = G(segmap, reparameterize(mu, logvar)), 0.05 * kl_divergence(mu, logvar)
        d_fake, d_real = split_fake_real(D(doubled, torch.cat([fake, real])))
        loss_G = gan_loss(d_fake, True, False) + feature_matching_loss(d_fake, d_real) + kl
        opt_G.zero_grad(set_to_none=True)
        loss_G.backward()
        opt_G.step()
        D.requires_grad_(True)
        with torch.no_grad():
            fake_d = G(segmap) if E is None else G(segmap, reparameterize(*E(real)))
        d_fake, d_real = split_fake_real(D(doubled, torch.cat([fake_d, real])))
        loss_D = gan_loss(d_fake, False, True) + gan_loss(d_real, True, True)
        opt_D.zero_grad(set_to_none=True)
        loss_D.backward()
        opt_D.step()
        return loss_G.detach(), loss_D.detach(), fake.detach()


def relative_difference(a, b) -> float:
    return ((a - b).abs().max() / b.abs().max()).item()


def compare_forward(case: Case) -> float:
    """Largest relative difference of the generated image between spade_lib and official."""
    outputs = {}
    for variant in ["official", "spade_lib"]:
        case.use(variant)
        outputs[variant] = case.forward()
    return relative_difference(outputs["spade_lib"], outputs["official"])


def compare_step(case: Case) -> dict:
    """How far one training step of spade_lib is from the official one, each starting from the same weights,
    optimizer state and random numbers, with learning rate 0 so that the D step sees the same G (Adam's first step
    is lr * sign(g): it would turn rounding noise in near-zero gradients into lr-sized weight differences).

    "outputs": largest relative difference of the G loss, D loss and fake image. "gradients": per network,
    |difference| / |official| over all its gradients as one vector, the largest over the networks. "floor": the
    same gradient measure between the official step and the official step in channels-last memory format, i.e.
    the same math with other rounding: at initialization the fake image is nearly 0 and D's features nearly
    piecewise constant, so the gradients are sensitive to rounding (a relative 1e-4 change of the fake moves
    them by about 3e-3 in the ADE20K case)."""
    start = {name: copy.deepcopy(net.state_dict()) for name, net in case.nets.items()}
    outputs, gradients = {}, {}
    for variant in ["official", "spade_lib", ("one-hot", torch.channels_last)]:
        case.use(variant)
        for name, net in case.nets.items():
            net.load_state_dict(start[name])
        case.optimizers = case.new_optimizers()
        for group in [group for optimizer in case.optimizers for group in optimizer.param_groups]:
            group["lr"] = 0.0
        torch.manual_seed(0)
        key = variant if isinstance(variant, str) else "official + channels_last"
        outputs[key] = case.train_step()
        gradients[key] = [torch.cat([p.grad.flatten() for p in net.parameters()]) for net in case.nets.values()]
    case.optimizers = case.new_optimizers()

    def gradient_difference(variant):
        return max(((a - b).norm() / b.norm()).item() for a, b in zip(gradients[variant], gradients["official"]))

    return {"outputs": max(relative_difference(a, b) for a, b in zip(outputs["spade_lib"], outputs["official"])),
            "gradients": gradient_difference("spade_lib"), "floor": gradient_difference("official + channels_last")}


def interleaved(case: Case, method: str, repeats: int) -> dict:
    """Median seconds of ``case.<method>()`` per variant, the variants taking turns, after one warm-up each."""
    times = {variant: [] for variant in VARIANTS}
    for round_ in range(repeats + 1):
        for variant in VARIANTS:
            case.use(variant)
            start = time.perf_counter()
            getattr(case, method)()
            if round_:
                times[variant].append(time.perf_counter() - start)
    return {variant: statistics.median(t) for variant, t in times.items()}


def ade20k_case(labels: torch.Tensor, name: str) -> Case:
    torch.manual_seed(0)
    G, D = official.generator("ade20k"), official.discriminator("ade20k")
    real = torch.rand(1, 3, 256, 256) * 2 - 1
    return Case(name, G, D, None, LabelMap(labels, 151), real)


def classroom_case(dataset: Landscapes) -> Case:
    config = PRESETS["classroom"]
    torch.manual_seed(0)
    G, D, E = build_generator(config), build_discriminator(config), build_encoder(config)
    samples = [dataset[i] for i in range(config.batch_size)]
    segmap = make_segmap(torch.stack([s["label"] for s in samples]), G.label_channels - 1,
                         torch.stack([s["instance"] for s in samples]))
    return Case(f"classroom: {config.size}x{config.size}, ngf {config.ngf}, ndf {config.ndf}, 11 classes + edges, "
                f"style encoder, batch {config.batch_size}", G, D, E, segmap,
                torch.stack([s["image"] for s in samples]))


def table(rows, what: str) -> list:
    variants = list(VARIANTS)
    lines = [f"| case | {' | '.join(variants)} | speed-up (spade_lib, + channels_last) |",
             "|---" * (len(variants) + 2) + "|"]
    for name, times in rows:
        speedups = ", ".join(f"{times['official'] / times[v]:.2f}x" for v in variants[1:])
        lines.append(f"| {name} | {' | '.join(f'{times[v]:.3f} s' for v in variants)} | {speedups} |")
    return [f"### {what}", ""] + lines + [""]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per variant (median reported)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    torch.set_num_threads(2)

    landscape = Landscapes(size=256)[3]["label"][None]  # (1, 256, 256): sky, clouds, water, rocks, trees, ...
    noise = torch.randint(0, 151, (1, 256, 256), generator=torch.Generator().manual_seed(0))
    builders = [lambda: ade20k_case(landscape, "ADE20K, Landscapes label map"),
                lambda: ade20k_case(noise, "ADE20K, noise label map"),
                lambda: classroom_case(Landscapes(size=64))]
    forwards, steps, accuracy, loads = [], [], [], [os.getloadavg()[0]]
    for build in builders:
        case = build()
        accuracy.append((case.name, compare_forward(case), compare_step(case)))
        forwards.append((case.name, interleaved(case, "forward", args.repeats)))
        steps.append((case.name, interleaved(case, "train_step", args.repeats)))
        loads.append(os.getloadavg()[0])
        print(accuracy[-1], forwards[-1], steps[-1], flush=True)
        del case

    lines = [
        "# spade_lib networks vs the official computation",
        "",
        f"`python benchmarks/bench_networks.py --repeats {args.repeats}`, {datetime.date.today()}, torch "
        f"{torch.__version__}, {platform.machine()}, {torch.get_num_threads()} threads, fp32, median of "
        f"{args.repeats} interleaved runs per variant, OMP_WAIT_POLICY={os.environ['OMP_WAIT_POLICY']}, 1-minute load "
        f"average {', '.join(f'{load:.1f}' for load in loads)} (start, after each case). Same modules and weights; "
        "\"official\" feeds the one-hot map "
        "(dense SPADE convolutions, dense discriminator input), \"spade_lib\" feeds class ids (a LabelMap). See "
        "the docstring of the script for the cases.",
        "",
    ]
    lines += table(forwards, "Generator forward (eval, no grad)")
    lines += table(steps, "Training step (G: hinge + feature matching (+ KL), D: hinge; backward and Adam)")
    lines += ["### Accuracy", "",
              "forward: max |spade_lib - official| / max |official| of the image. Step outputs: the same over the "
              "G loss, D loss and fake image. Step gradients: ||spade_lib - official|| / ||official|| over each "
              "network's gradients (largest network), next to the floor: the same measure between the official "
              "step and the official step in channels-last format (same math, other rounding).", "",
              "| case | forward | step outputs | step gradients | floor |", "|---|---|---|---|---|"]
    for name, forward, step in accuracy:
        lines.append(f"| {name} | {forward:.1e} | {step['outputs']:.1e} | {step['gradients']:.1e} | "
                     f"{step['floor']:.1e} |")
    notes = args.out.read_text().partition(NOTES)[2] if args.out.exists() else ""
    if notes:  # kept across runs: written by hand
        lines += ["", NOTES + notes.rstrip("\n")]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
