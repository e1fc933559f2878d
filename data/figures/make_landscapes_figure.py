"""Make ``landscapes_samples.png``, the README's picture of the Landscapes dataset (lesson 00).

    python data/figures/make_landscapes_figure.py

Two rows of (label map | photo) pairs, each sample in the style it draws itself, then one layout in five styles.
The indices were picked by eye from the first hundred samples to show the variety of scenes and styles.
"""
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

from spade_lib.landscapes import STYLE_NAMES, Landscapes  # noqa: E402
from spade_lib.viz import show_grid  # noqa: E402

SIZE = 256
PAIRS = [(33, 89, 93), (82, 52, 57)]  # sample indices, three (label | photo) pairs per row
ONE_LAYOUT, STYLES = 54, ("day", "sunset", "autumn", "winter", "night")
OUT = Path(__file__).resolve().parent / "landscapes_samples.png"


def main():
    ds = Landscapes(size=SIZE)
    rows, titles = [], []
    for indices in PAIRS:
        samples = [ds[i] for i in indices]
        rows.append([picture for s in samples for picture in (s["label"], s["image"])])
        titles.append([title for s in samples for title in ("label map", STYLE_NAMES[s["style"]])])
    styled = [ds.render(ONE_LAYOUT, style) for style in STYLES]
    rows.append([styled[0]["label"]] + [s["image"] for s in styled])
    titles.append(["one label map ..."] + [f"... {style}" for style in STYLES])
    fig = show_grid(rows, titles=titles, size=2.2)
    fig.savefig(OUT, dpi=SIZE / 2.2)  # one image pixel per figure pixel
    print(f"wrote {OUT} ({OUT.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
