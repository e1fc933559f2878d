"""The extras hold what each part needs: the painter's numpy canvas without anywidget (the course extra), and the
whole suite collected in a fresh virtual environment that has only `pip install -e ".[test]"`.

That environment gets this environment's torch and torchvision, and what they need, by links rather than a second
5.5 GB copy: a folder of links to those distributions' files, put on its path by a .pth file, as a system torch
would be. Everything else comes from pip. It is made in a temporary folder, removed afterwards.
"""
import importlib.metadata
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
WITHOUT_ANYWIDGET = """
import sys
sys.modules["anywidget"] = None                      # `import anywidget` now fails as if it were not installed
from spade_lib.painter import LabelCanvas, Painter, flood_region
from spade_lib.exercises import lesson09
canvas = LabelCanvas(8, 8, 3)
canvas.stroke([(1, 1), (6, 6)], 2, radius=1)
assert canvas.labels[1, 1] == 2 and canvas.labels[6, 6] == 2 and canvas.labels[0, 7] == 0
try:
    Painter()
except ModuleNotFoundError as error:
    print(error)
"""


def clean_env() -> dict:
    """This environment without PYTHONPATH, so that a subprocess imports what its own environment installed."""
    return {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}


def test_painter_canvas_works_without_anywidget_and_the_widget_says_how_to_install_it():
    result = subprocess.run([sys.executable, "-c", WITHOUT_ANYWIDGET], cwd=ROOT, capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Painter needs anywidget" in result.stdout and "pip install 'spade_lib[course]'" in result.stdout


def torch_and_its_requirements() -> list:
    """The installed distributions of torch and torchvision and everything they require, recursively."""
    found, todo = {}, ["torch", "torchvision"]
    while todo:
        name = canonicalize_name(todo.pop())
        if name in found:
            continue
        found[name] = importlib.metadata.distribution(name)
        for spec in map(Requirement, found[name].requires or []):
            if spec.marker is None or spec.marker.evaluate({"extra": ""}):
                todo.append(spec.name)
    return list(found.values())


def link_torch(folder: Path) -> None:
    """Links in ``folder`` to the top-level files and folders (packages and .dist-info) of torch's distributions."""
    folder.mkdir()
    for distribution in torch_and_its_requirements():
        for top in {Path(file).parts[0] for file in distribution.files or [] if not str(file).startswith("..")}:
            target = Path(distribution.locate_file(top))
            if target.exists() and not (folder / top).exists():
                (folder / top).symlink_to(target)


def skip_or_fail(message: str):
    """Skip loudly where pip cannot install; with CI=true that is a failure."""
    message = f"[test]-ONLY ENVIRONMENT NOT CHECKED: {message}"
    pytest.fail(message) if os.environ.get("CI") == "true" else pytest.skip(message)


@pytest.mark.slow
def test_the_test_extra_alone_collects_the_whole_suite():
    with tempfile.TemporaryDirectory(prefix="spade-test-extra-") as folder:
        venv, torch_links = Path(folder) / "venv", Path(folder) / "torch"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        python = str(venv / "bin" / "python")
        link_torch(torch_links)
        purelib = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                 check=True, capture_output=True, text=True).stdout.strip()
        (Path(purelib) / "torch_links.pth").write_text(f"{torch_links}\n")
        install = subprocess.run([python, "-m", "pip", "install", "-q", "--disable-pip-version-check", "-e",
                                  f"{ROOT}[test]"], capture_output=True, text=True, env=clean_env(), timeout=900)
        if install.returncode != 0:
            skip_or_fail(f"pip install -e .[test] failed (no package index?): {install.stderr[-600:]}")
        torch_file = subprocess.run([python, "-c", "import torch; print(torch.__file__)"], capture_output=True,
                                    text=True, env=clean_env()).stdout.strip()
        assert torch_file.startswith(str(torch_links)), f"pip installed another torch: {torch_file}"
        for course_only in ("anywidget", "jupyterlab"):
            found = subprocess.run([python, "-c", f"import {course_only}"], capture_output=True, env=clean_env())
            assert found.returncode != 0, f"{course_only} belongs to the course extra, not [test]"
        collect = subprocess.run([python, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                                  "--nbval-lax", "--nbval-sanitize-with", "tests/nbval_sanitize.cfg"],
                                 cwd=ROOT, capture_output=True, text=True, env=clean_env(), timeout=600)
    output = collect.stdout + collect.stderr
    assert collect.returncode == 0, output[-4000:]
    assert "error" not in output.splitlines()[-1].lower(), output[-2000:]
    for part in ("tests/test_painter.py::", "tests/test_exercises_09.py::", "notebooks/09_paint.ipynb::"):
        assert part in output, f"{part} not collected"
