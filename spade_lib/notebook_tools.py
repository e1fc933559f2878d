"""Tools for course authors: keep every lesson's header and setup cell in sync, and refresh stored outputs.

    python -m spade_lib.notebook_tools sync              # badges + setup cells from spade_lib/release.py
    python -m spade_lib.notebook_tools check             # do they agree with it? (exit code 1 and a list if not)
    python -m spade_lib.notebook_tools execute [NB ...]  # run in default mode, store outputs (what GitHub shows)

``python3 course.py sync`` and ``python3 course.py execute`` call these inside the course environment, and
``python3 course.py release`` calls sync and check.
"""
import os
import sys
from pathlib import Path

from .release import RELEASE, REPOSITORY

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
README = ROOT / "README.md"
BADGE_IMAGE = "https://colab.research.google.com/assets/colab-badge.svg"
BINDER_IMAGE = "https://mybinder.org/badge_logo.svg"
SETUP_CELL = '''\
# Setup, the same in every lesson. On Colab only: fetch the course at its release (the default branch, with a
# warning, if that tag is missing), install spade_lib (Colab's own torch stays untouched) and enable custom
# widgets. Everywhere: seed, device, mode.
import sys
if "google.colab" in sys.modules:
    import os, subprocess
    REPOSITORY, RELEASE, HOME = "{repository}", "{release}", "/content/spade-course"
    if not os.path.isdir(HOME):
        tagged = subprocess.run(["git", "clone", "-q", "--depth", "1", "--branch", RELEASE, REPOSITORY, HOME])
        if tagged.returncode != 0:
            print(f"WARNING: release {{RELEASE}} not found; using the default branch, which may differ from this lesson")
            subprocess.run(["git", "clone", "-q", "--depth", "1", REPOSITORY, HOME], check=True)
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


def github_path() -> str:
    """'owner/name' of the repository in release.py."""
    return REPOSITORY.removeprefix("https://github.com/")


def badge_line(notebook_name: str) -> str:
    """The first line of every lesson: an Open-in-Colab badge pointing at this release."""
    link = f"https://colab.research.google.com/github/{github_path()}/blob/{RELEASE}/notebooks/{notebook_name}"
    return f"[![Open In Colab]({BADGE_IMAGE})]({link})"


def readme_badge_line() -> str:
    """The README's badges: lesson 00 on Colab and the course on Binder (JupyterLab), both at this release."""
    binder = f"https://mybinder.org/v2/gh/{github_path()}/{RELEASE}?urlpath=lab/tree/notebooks/00_welcome.ipynb"
    return f"{badge_line('00_welcome.ipynb')} [![Binder]({BINDER_IMAGE})]({binder})"


def setup_cell_source() -> str:
    return SETUP_CELL.format(repository=REPOSITORY, release=RELEASE)


def lesson_paths():
    return sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


def readme_with_badges(text: str) -> str:
    """The README with its badge line (the first line that starts with a Colab badge) made this release's."""
    lines = text.split("\n")
    for number, line in enumerate(lines):
        if line.startswith("[![Open In Colab]"):
            lines[number] = readme_badge_line()
            return "\n".join(lines)
    raise ValueError(f"{README} has no badge line: put one line that starts with '[![Open In Colab]' under its title")


def sync(paths=None, readme=README) -> list:
    """Rewrite the badge (first line of cell 0) and the setup cell (cell 1) of each lesson, and the README's badge
    line. Returns the changed paths."""
    import nbformat

    changed = []
    if readme is not None and readme.read_text() != readme_with_badges(readme.read_text()):
        readme.write_text(readme_with_badges(readme.read_text()))
        changed.append(readme)
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


def check(paths=None, readme=README) -> list:
    """What disagrees with release.py: one line per lesson or README whose badge or setup cell is not this
    release's (empty when everything agrees)."""
    import nbformat

    problems = []
    if readme is not None and readme.read_text() != readme_with_badges(readme.read_text()):
        problems.append(f"{readme}: the badge line is not `{readme_badge_line()}`")
    for path in paths or lesson_paths():
        cells = nbformat.read(path, as_version=4).cells
        if cells[0].source.split("\n")[0] != badge_line(path.name):
            problems.append(f"{path}: the first line is not `{badge_line(path.name)}`")
        if cells[1].source != setup_cell_source():
            problems.append(f"{path}: the setup cell (cell 2) is not the one in spade_lib/notebook_tools.py")
    return problems


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
    if argv[:1] == ["check"]:
        problems = check([Path(p) for p in argv[1:]] or None)
        for problem in problems:
            print(problem)
        print(f"{len(problems)} disagreement(s) with spade_lib/release.py; fix: python3 course.py sync" if problems
              else f"every badge and setup cell is {REPOSITORY} at {RELEASE}")
        return 1 if problems else 0
    if argv[:1] == ["execute"]:
        execute([Path(p) for p in argv[1:]] or None)
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
