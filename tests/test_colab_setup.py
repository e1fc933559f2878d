"""The lessons' setup cell as Google Colab runs it, without Colab: a fake ``google.colab`` (its ``output`` module
records the custom widget manager call), the clone of the repository redirected by git configuration to a local
repository (the cell itself unchanged), Python 3.13 where one with torch is installed (Colab's newest), else this
interpreter, in a virtual environment that sees the system's torch as Colab's does. Checked both when the release
tag exists and when it is missing (the cell falls back to the default branch and says so), and that the cell's
pip install never replaces torch.

Only the clone's folder differs from Colab: ``/content/spade-course`` becomes a temporary folder.
"""
import glob
import json
import os
import shutil
import site
import subprocess
import sys
from pathlib import Path

import pytest

from spade_lib import notebook_tools
from spade_lib.release import RELEASE, REPOSITORY

ROOT = Path(__file__).resolve().parent.parent
COLAB_HOME = '"/content/spade-course"'
FAKE_OUTPUT = 'def enable_custom_widget_manager():\n    print("fake google.colab: custom widget manager enabled")\n'
RUN_CELL = """
import json, os, sys
import google.colab                                  # Colab's kernel has imported it before the first cell
exec(compile(open(sys.argv[1]).read(), "setup-cell", "exec"))
import torch, spade_lib
print("RESULT " + json.dumps({"torch": [torch.__version__, torch.__file__], "spade_lib": spade_lib.__file__,
                              "cwd": os.getcwd(), "mode": MODE}))
"""
TORCH_IDENTITY = "import json, torch; print(json.dumps([torch.__version__, torch.__file__]))"
QUICK = {"SPADE_QUICK": "1"}
GIT_IDENTITY = {"GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@example.org", "GIT_COMMITTER_NAME": "Test",
                "GIT_COMMITTER_EMAIL": "test@example.org"}


def colab_like_python() -> str:
    """Python 3.13 (installed, or managed by uv) where it has torch, as Colab's has; else this interpreter."""
    candidates = [shutil.which("python3.13"),
                  *sorted(glob.glob(os.path.expanduser("~/.local/share/uv/python/cpython-3.13*/bin/python3.13")))]
    for python in filter(None, candidates):
        if subprocess.run([python, "-c", "import torch"], capture_output=True).returncode == 0:
            return python
    return sys.executable


@pytest.fixture(scope="module")
def colab(tmp_path_factory):
    """(python, environment variables) of a fresh virtual environment with the system's packages (torch among
    them), and the fake google.colab on its path."""
    folder = tmp_path_factory.mktemp("colab")
    python = colab_like_python()
    subprocess.run([python, "-m", "venv", "--system-site-packages", str(folder / "venv")], check=True)
    venv_python = str(folder / "venv" / "bin" / "python")
    if python == sys.executable and sys.prefix != sys.base_prefix:
        # this interpreter is itself a virtual environment: its packages play Colab's system packages
        purelib = subprocess.run([venv_python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                 check=True, capture_output=True, text=True).stdout.strip()
        (Path(purelib) / "colab_system_packages.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    fake = folder / "fake"
    (fake / "google" / "colab").mkdir(parents=True)
    (fake / "google" / "__init__.py").write_text("")
    (fake / "google" / "colab" / "__init__.py").write_text("")
    (fake / "google" / "colab" / "output.py").write_text(FAKE_OUTPUT)
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    return venv_python, {**env, **GIT_IDENTITY, "PYTHONPATH": str(fake)}


def git(folder: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=folder, check=True, capture_output=True, env={**os.environ, **GIT_IDENTITY})


def local_remote(folder: Path, tagged: bool) -> Path:
    """A bare repository holding the course: a commit (tagged RELEASE when ``tagged``), then a newer commit on
    main with a file NEWER, so that a clone shows which of the two it got."""
    work = folder / "work"
    shutil.copytree(ROOT / "spade_lib", work / "spade_lib", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "data", work / "data")  # the shipped models: package data (pyproject.toml)
    (work / "notebooks").mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE", "notebooks/00_welcome.ipynb"):
        shutil.copy2(ROOT / name, work / name)
    git(work, "init", "-q", "-b", "main")
    git(work, "add", ".")
    git(work, "commit", "-q", "-m", "the release")
    if tagged:
        git(work, "tag", "-a", RELEASE, "-m", RELEASE)
    (work / "NEWER").write_text("a commit after the release\n")
    git(work, "add", "NEWER")
    git(work, "commit", "-q", "-m", "after the release")
    git(folder, "clone", "-q", "--bare", str(work), "remote.git")
    return folder / "remote.git"


def run_setup_cell(colab, folder: Path, remote: Path):
    """The setup cell's code in a fresh Colab-like interpreter; returns (process, its RESULT, the clone)."""
    python, env = colab
    home = folder / "content" / "spade-course"
    source = notebook_tools.setup_cell_source()
    assert source.count(COLAB_HOME) == 1
    cell = folder / "cell.py"
    cell.write_text(source.replace(COLAB_HOME, json.dumps(str(home))))
    redirect = {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": f"url.file://{remote}.insteadOf",
                "GIT_CONFIG_VALUE_0": REPOSITORY}
    process = subprocess.run([python, "-c", RUN_CELL, str(cell)], cwd=folder, env={**env, **redirect, **QUICK},
                             capture_output=True, text=True, timeout=600)
    assert process.returncode == 0, f"{process.stdout[-3000:]}\n{process.stderr[-3000:]}"
    result = json.loads(process.stdout.split("RESULT ", 1)[1])
    return process, result, home


def torch_identity(colab) -> list:
    python, env = colab
    return json.loads(subprocess.run([python, "-c", TORCH_IDENTITY], env=env, check=True, capture_output=True,
                                     text=True).stdout)


def check_colab_run(colab, process, result, home: Path, torch_before: list):
    assert "fake google.colab: custom widget manager enabled" in process.stdout
    assert Path(result["spade_lib"]).is_relative_to(home), "spade_lib must come from the clone"
    assert result["cwd"] == str(home / "notebooks")
    assert result["mode"] == "quick"
    assert result["torch"] == torch_before, "the cell must not replace Colab's torch"
    assert torch_identity(colab) == torch_before


@pytest.mark.slow
def test_setup_cell_clones_the_release_tag(colab, tmp_path):
    torch_before = torch_identity(colab)
    process, result, home = run_setup_cell(colab, tmp_path, local_remote(tmp_path, tagged=True))
    check_colab_run(colab, process, result, home, torch_before)
    assert "WARNING" not in process.stdout + process.stderr
    assert not (home / "NEWER").exists(), "the clone must be the tagged release, not the newer main"


@pytest.mark.slow
def test_setup_cell_falls_back_to_the_default_branch_without_the_tag(colab, tmp_path):
    torch_before = torch_identity(colab)
    process, result, home = run_setup_cell(colab, tmp_path, local_remote(tmp_path, tagged=False))
    check_colab_run(colab, process, result, home, torch_before)
    assert f"WARNING: release {RELEASE} not found; using the default branch" in process.stdout
    assert (home / "NEWER").exists(), "the fallback clones the default branch"
