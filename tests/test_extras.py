"""The extras hold what each part needs: the painter's numpy canvas without anywidget (the course extra), and the
whole suite collected in a fresh virtual environment that has only `pip install -e ".[test]"` (and course.py's
torch pair, from pip's cache or index). The environment is made once, in a temporary folder removed afterwards.
"""
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

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


def course_torch() -> list:
    """The torch pair course.py installs (its TORCH line), e.g. ['torch==2.14.1', 'torchvision==0.29.1']."""
    match = re.search(r'TORCH = os\.environ\.get\("SPADE_TORCH", "([^"]+)"\)', (ROOT / "course.py").read_text())
    return os.environ.get("SPADE_TORCH", match.group(1)).split()


def skip_or_fail(message: str):
    """Skip loudly where pip cannot install; with CI=true that is a failure."""
    message = f"[test]-ONLY ENVIRONMENT NOT CHECKED: {message}"
    pytest.fail(message) if os.environ.get("CI") == "true" else pytest.skip(message)


@pytest.mark.slow
def test_the_test_extra_alone_collects_the_whole_suite():
    with tempfile.TemporaryDirectory(prefix="spade-test-extra-") as folder:
        venv = Path(folder) / "venv"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        python = str(venv / "bin" / "python")
        for packages in (course_torch(), ["-e", f"{ROOT}[test]"]):
            install = subprocess.run([python, "-m", "pip", "install", "-q", "--disable-pip-version-check",
                                      *packages], capture_output=True, text=True, env=clean_env(), timeout=900)
            if install.returncode != 0:
                skip_or_fail(f"pip install {' '.join(packages)} failed (no package index?): {install.stderr[-600:]}")
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
