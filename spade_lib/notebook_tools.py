"""Tools for course authors: keep every lesson's header and setup cell in sync, and refresh stored outputs.

    python -m spade_lib.notebook_tools sync              # badge + setup cell from spade_lib/release.py
    python -m spade_lib.notebook_tools execute [NB ...]  # run in default mode, store outputs (what GitHub shows)

``python3 course.py sync`` and ``python3 course.py execute`` call these inside the course environment.
"""
import os
import sys
from pathlib import Path

from .release import RELEASE, REPOSITORY

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
BADGE_IMAGE = "https://colab.research.google.com/assets/colab-badge.svg"
SETUP_CELL = '''\
# Setup, the same in every lesson. On Colab only: fetch the course at its release, install spade_lib
# (Colab's own torch stays untouched) and enable custom widgets. Everywhere: seed, device, mode.
import sys
if "google.colab" in sys.modules:
    import os, subprocess
    REPOSITORY, RELEASE, HOME = "{repository}", "{release}", "/content/spade-course"
    if not os.path.isdir(HOME):
        subprocess.run(["git", "clone", "-q", "--depth", "1", "--branch", RELEASE, REPOSITORY, HOME], check=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "-e", HOME], check=True)
    sys.path.insert(0, HOME)
    os.chdir(HOME + "/notebooks")
    from google.colab import output
    output.enable_custom_widget_manager()

import matplotlib.pyplot as plt
import numpy as np
import torch
import spade_lib

MODE, DEVICE = spade_lib.setup(seed=0)'''


def badge_line(notebook_name: str) -> str:
    """The first line of every lesson: an Open-in-Colab badge pointing at this release."""
    path = REPOSITORY.removeprefix("https://github.com/")
    link = f"https://colab.research.google.com/github/{path}/blob/{RELEASE}/notebooks/{notebook_name}"
    return f"[![Open In Colab]({BADGE_IMAGE})]({link})"


def setup_cell_source() -> str:
    return SETUP_CELL.format(repository=REPOSITORY, release=RELEASE)


def lesson_paths():
    return sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


def sync(paths=None) -> list:
    """Rewrite the badge (first line of cell 0) and the setup cell (cell 1) of each lesson. Returns changed paths."""
    import nbformat

    changed = []
    for path in paths or lesson_paths():
        nb = nbformat.read(path, as_version=4)
        header, setup = nb.cells[0], nb.cells[1]
        lines = header.source.split("\n")
        new_header = "\n".join([badge_line(path.name)] + (lines[1:] if lines[0].startswith("[![Open In Colab]") else lines))
        if header.source != new_header or setup.source != setup_cell_source():
            header.source, setup.source = new_header, setup_cell_source()
            nbformat.write(nb, path)
            changed.append(path)
    return changed


def execute(paths=None, timeout=1800) -> None:
    """Run each lesson top to bottom in a fresh kernel in default mode and store the outputs in place."""
    import nbformat
    from nbclient import NotebookClient

    os.environ.pop("SPADE_QUICK", None)
    os.environ.setdefault("TQDM_DISABLE", "1")  # stored outputs: no half-drawn progress bars
    for path in paths or lesson_paths():
        path = Path(path).resolve()
        print(f"executing {path.name} ...", flush=True)
        nb = nbformat.read(path, as_version=4)
        NotebookClient(nb, timeout=timeout, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}}).execute()
        nbformat.write(nb, path)


def main(argv):
    if argv[:1] == ["sync"]:
        for path in sync([Path(p) for p in argv[1:]] or None):
            print(f"updated {path}")
        return 0
    if argv[:1] == ["execute"]:
        execute([Path(p) for p in argv[1:]] or None)
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
