#!/usr/bin/env python3
"""One entry point for the course: set up a project-local environment, open the lessons, run the tests.

    python3 course.py lab        # set up .venv if needed, then open JupyterLab on notebooks/
    python3 course.py test       # set up .venv if needed, then run the whole test suite (quick mode)
    python3 course.py execute    # re-run notebooks in default mode and store their outputs (authors)
    python3 course.py sync       # rewrite every notebook's badge and setup cell from spade_lib/release.py
    python3 course.py release 0.1.1   # on a clean main: set the version, sync, check, commit, tag (no push)

Only the Python standard library is used here, so this file runs on a fresh machine (Python 3.10+).
"""
import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".spade-course-setup"
# The torch pair the course is tested with; SPADE_TORCH overrides it (e.g. "torch torchvision").
TORCH = os.environ.get("SPADE_TORCH", "torch==2.14.1 torchvision==0.29.1").split()
QUICK_ENV = {"SPADE_QUICK": "1", "TQDM_DISABLE": "1", "MPLBACKEND": "Agg", "PYTHONHASHSEED": "0"}


def say(message):
    print(f"[course] {message}", flush=True)


def pip(*args):
    subprocess.run([str(PYTHON), "-m", "pip", "install", "--disable-pip-version-check", *args], check=True)


def setup_fingerprint():
    text = (ROOT / "pyproject.toml").read_bytes() + " ".join(TORCH).encode() + sys.version.encode()
    return hashlib.sha256(text).hexdigest()


def ensure_environment():
    """Create .venv and install spade_lib with the course and test extras, unless already done."""
    if sys.version_info < (3, 10):
        sys.exit(f"Python 3.10 or newer is needed; this is {sys.version.split()[0]}.")
    if STAMP.exists() and STAMP.read_text() == setup_fingerprint():
        return
    if not PYTHON.exists():
        say(f"creating the virtual environment {VENV}")
        venv.EnvBuilder(with_pip=True).create(VENV)
    say(f"installing {' '.join(TORCH)}")
    try:
        pip("-q", *TORCH)
    except subprocess.CalledProcessError:
        say("that torch pair is not available here; installing the newest torch that pip finds")
        pip("-q", "torch>=2.4", "torchvision>=0.19")
    say("installing spade_lib (editable) with the course and test extras")
    pip("-q", "-e", f"{ROOT}[course,test]")
    STAMP.write_text(setup_fingerprint())
    say("environment ready")


def running_as_root():
    return hasattr(os, "geteuid") and os.geteuid() == 0


def ensure_chromium_in_ci():
    """CI must run the painter's browser test: install Debian's chromium there when it is missing."""
    if os.environ.get("CI") != "true" or shutil.which("chromium"):
        return
    say("CI: installing Debian's chromium for the browser test")
    apt = ([] if running_as_root() else ["sudo"]) + ["apt-get", "-q"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        subprocess.run([*apt, "update"], check=True, env=env)
        subprocess.run([*apt, "install", "-y", "chromium"], check=True, env=env)
    except (OSError, subprocess.CalledProcessError) as error:
        sys.exit(f"[course] could not install chromium ({error}); CI needs it: `sudo apt-get install chromium`")


def run_in_venv(args, extra_env=None):
    env = {**os.environ, **(extra_env or {})}
    return subprocess.call([str(PYTHON), *args], cwd=ROOT, env=env)


def main(argv):
    command, rest = (argv[0], argv[1:]) if argv else ("help", [])
    if command == "lab":
        ensure_environment()
        if running_as_root():  # e.g. a Docker container: Jupyter refuses root otherwise
            say("running as root: starting JupyterLab with --allow-root")
            rest = ["--allow-root", *rest]
        return run_in_venv(["-m", "jupyter", "lab", "notebooks", *rest])
    if command == "test":
        ensure_environment()
        ensure_chromium_in_ci()
        return run_in_venv(["-m", "pytest", "--nbval-lax", "--nbval-sanitize-with", "tests/nbval_sanitize.cfg",
                            "--durations=25", *rest], QUICK_ENV)
    if command == "execute":
        ensure_environment()
        return run_in_venv(["-m", "spade_lib.notebook_tools", "execute", *rest])
    if command == "sync":
        ensure_environment()
        return run_in_venv(["-m", "spade_lib.notebook_tools", "sync", *rest])
    if command == "release":
        ensure_environment()
        return run_in_venv(["-m", "spade_lib.release", *rest])
    print(__doc__)
    return 0 if command in ("help", "-h", "--help") else 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
