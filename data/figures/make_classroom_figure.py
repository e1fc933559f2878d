"""Make ``classroom_samples.png``, the README's picture of the shipped classroom model (lessons 07, 09, 10).

    python data/figures/make_classroom_figure.py

For two validation layouts (Landscapes seed 1, never seen in training): the label map, then for each of the eight
styles the real photo (top) and the classroom model's image painted with the style code of that photo (below);
a last row paints the second layout with random style codes z ~ N(0, I).
"""
from pathlib import Path

import matplotlib
import torch

matplotlib.use("Agg")

from spade_lib.labels import make_segmap  # noqa: E402
from spade_lib.landscapes import NUM_CLASSES, STYLE_NAMES, Landscapes  # noqa: E402
from spade_lib.metrics import VALIDATION_SEED  # noqa: E402
from spade_lib.models import generate, load_classroom  # noqa: E402
from spade_lib.viz import show_grid  # noqa: E402

LAYOUTS = (15, 20)  # validation layouts with mountains, snow, water and trees (8 and 11 classes)
OUT = Path(__file__).resolve().parent / "classroom_samples.png"


def styled_rows(generator, encoder, dataset, index):
    """[label map, 8 real photos] and ["generated", 8 images in each photo's style]."""
    photos = torch.stack([dataset.render(index, style)["image"] for style in STYLE_NAMES])
    layout = dataset.layout(index)
    segmap = make_segmap(layout["label"].expand(8, -1, -1), NUM_CLASSES, layout["instance"].expand(8, -1, -1))
    painted = generate(generator, encoder, segmap, style_images=photos)
    return [layout["label"], *photos], [layout["label"], *painted], segmap


def main():
    torch.manual_seed(0)
    generator, encoder, config = load_classroom()
    dataset = Landscapes(size=config.size, length=100, seed=VALIDATION_SEED)
    rows, names = [], []
    for index in LAYOUTS:
        real, painted, segmap = styled_rows(generator, encoder, dataset, index)
        rows += [real, painted]
        names += ["real photos", "classroom model"]
    rows.append([rows[-1][0], *generate(generator, encoder, segmap)])
    names.append("random z")
    fig = show_grid(rows, titles=["label map", *STYLE_NAMES], row_titles=names, size=1.6)
    fig.suptitle("The classroom model (64x64): each photo's style code, then random codes", fontsize=13, y=1.03)
    fig.savefig(OUT, dpi=90, bbox_inches="tight")
    print(f"wrote {OUT} ({OUT.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
