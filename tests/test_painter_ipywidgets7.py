"""The painter on ipywidgets 7.7.1, the version Google Colab runs: tests/test_painter.py and
tests/test_painter_palettes.py again, in a subprocess whose ipywidgets is 7.7.1 instead of this environment's 8, and
a check that installing the course never forces 8.

ipywidgets 7.7.1 is installed once with pip into a folder under .venv/ (ignored by git) and put first on the
subprocess's PYTHONPATH; nothing in the course environment is installed or upgraded. Only its Python side is
needed: the front-end packages it names (widgetsnbextension, jupyterlab_widgets) are left out, ipython_genutils is
its one import that this environment lacks.
"""
import importlib.metadata
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
COLAB_IPYWIDGETS = "7.7.1"
PACKAGES = [f"ipywidgets=={COLAB_IPYWIDGETS}", "ipython_genutils==0.2.0"]
CACHE = ROOT / ".venv" / f"ipywidgets-{COLAB_IPYWIDGETS}"
RUN_PAINTER_TESTS = f"""
import sys, ipywidgets, pytest
assert ipywidgets.__version__ == {COLAB_IPYWIDGETS!r}, ipywidgets.__version__
assert ipywidgets.__file__.startswith({str(CACHE)!r}), ipywidgets.__file__
sys.exit(pytest.main(["tests/test_painter.py", "tests/test_painter_palettes.py", "-q", "-p", "no:cacheprovider"]))
"""


def skip_or_fail(message: str):
    """Skip loudly where pip cannot install; with CI=true that is a failure."""
    message = f"IPYWIDGETS {COLAB_IPYWIDGETS} TESTS NOT RUN: {message}"
    pytest.fail(message) if os.environ.get("CI") == "true" else pytest.skip(message)


def install_colab_ipywidgets() -> Path:
    """The folder holding ipywidgets 7.7.1, installed there on first use (into a temporary folder, then moved, so
    an interrupted install is never taken for a finished one)."""
    if (CACHE / "ipywidgets").is_dir():
        return CACHE
    partial = CACHE.with_name(CACHE.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps",
               "--target", str(partial), *PACKAGES]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    except subprocess.TimeoutExpired:
        skip_or_fail(f"pip did not install {' '.join(PACKAGES)} within 5 minutes (no package index?)")
    if result.returncode != 0:
        skip_or_fail(f"pip could not install {' '.join(PACKAGES)} (no package index?): "
                     f"{result.stderr.strip()[-600:]}")
    partial.rename(CACHE)
    return CACHE


def test_painter_tests_pass_with_colab_s_ipywidgets():
    folder = install_colab_ipywidgets()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(folder), os.environ.get("PYTHONPATH", "")]),
           "OMP_NUM_THREADS": "1"}
    result = subprocess.run([sys.executable, "-c", RUN_PAINTER_TESTS], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, f"tests/test_painter.py with ipywidgets {COLAB_IPYWIDGETS}:\n" \
                                   f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    assert " passed" in result.stdout.splitlines()[-1]


def ipywidgets_requirements():
    """Every requirement on ipywidgets of the course (pyproject.toml, all extras) and of the packages it installs
    that themselves need ipywidgets whatever their extras (anywidget)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    ours = [Requirement(s) for s in project["dependencies"] + sum(project["optional-dependencies"].values(), [])]
    found = [("pyproject.toml", r) for r in ours if r.name == "ipywidgets"]
    for requirement in ours:
        try:
            theirs = importlib.metadata.requires(requirement.name) or []
        except importlib.metadata.PackageNotFoundError:
            continue
        for spec in map(Requirement, theirs):
            if spec.name == "ipywidgets" and (spec.marker is None or spec.marker.evaluate({"extra": ""})):
                found.append((requirement.name, spec))
    return found


def test_installing_the_course_never_upgrades_colab_s_ipywidgets():
    found = ipywidgets_requirements()
    assert any(where == "pyproject.toml" for where, _ in found), "the course extra must name ipywidgets"
    assert any(where == "anywidget" for where, _ in found), "anywidget's own requirement must be checked too"
    for where, requirement in found:
        assert requirement.specifier.contains(COLAB_IPYWIDGETS), \
            f"{where} requires {requirement}: pip would upgrade Colab's ipywidgets {COLAB_IPYWIDGETS}"
