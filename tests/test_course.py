"""The course scaffold: one test command, environments that agree, lessons that share one header and setup cell."""
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import torch

import spade_lib
from spade_lib import modes, notebook_tools
from spade_lib.release import RELEASE, REPOSITORY

ROOT = Path(__file__).resolve().parent.parent
TEST_COMMAND = "python3 course.py test"
CONDA_TO_PIP = {"pytorch": "torch"}


def requirement_name_and_bound(spec: str):
    """'torch>=2.4' -> ('torch', '>=2.4'); conda build strings ('=cpu*') are dropped."""
    match = re.match(r"^([A-Za-z0-9_.\-]+)\s*(>=[0-9.]+)?", spec.strip())
    name = match.group(1).lower().replace("_", "-")
    return CONDA_TO_PIP.get(name, name), match.group(2) or ""


def pyproject_packages():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    specs = project["dependencies"] + [s for extra in ("course", "test") for s in project["optional-dependencies"][extra]]
    return dict(requirement_name_and_bound(s) for s in specs)


def conda_packages(path: Path):
    """The plain conda dependencies of an environment.yml (python, pip and the pip: section left out)."""
    dependencies = path.read_text().split("dependencies:", 1)[1]
    specs = re.findall(r"^  - ([^\s#:][^#\n]*?)\s*(?:#.*)?$", dependencies, flags=re.MULTILINE)
    packages = dict(requirement_name_and_bound(s) for s in specs)
    return {name: bound for name, bound in packages.items() if name not in ("python", "pip")}


@pytest.mark.parametrize("path", ["environment.yml", "binder/environment.yml"])
def test_conda_environments_match_pyproject(path):
    assert conda_packages(ROOT / path) == pyproject_packages()


def test_package_requirements_stay_loose_for_colab():
    packages = pyproject_packages()
    assert packages["torch"] == ">=2.4", "Colab's torch 2.11 must satisfy the requirement untouched"
    assert packages["ipywidgets"] in ("", ">=7.7"), "never force ipywidgets 8: Colab runs 7.7"


def test_binder_installs_spade_lib_from_this_commit():
    post_build = (ROOT / "binder/postBuild").read_text()
    assert "--editable ." in post_build and "--no-deps" in post_build


def test_readme_test_command_is_what_ci_runs():
    readme = (ROOT / "README.md").read_text()
    assert TEST_COMMAND in readme
    ci = (ROOT / ".ci/run").read_text()
    assert re.search(rf"^{re.escape(TEST_COMMAND)}$", ci, flags=re.MULTILINE)


def test_readme_credits_paper_and_nvidia_licence():
    readme = (ROOT / "README.md").read_text()
    assert "Semantic Image Synthesis with Spatially-Adaptive Normalization" in readme
    assert "non-commercial" in readme.lower()
    assert (ROOT / "LICENSE").exists() and (ROOT / "CITATION.cff").exists()


def test_version_is_single_sourced():
    cff = (ROOT / "CITATION.cff").read_text()
    assert f"version: {spade_lib.__version__}" in cff
    assert RELEASE == f"v{spade_lib.__version__}"
    assert REPOSITORY in cff


@pytest.mark.parametrize("env, cuda, expected", [
    ({"SPADE_QUICK": "1"}, True, "quick"),
    ({"SPADE_QUICK": "1"}, False, "quick"),
    ({"SPADE_QUICK": "0"}, True, "full"),
    ({}, True, "full"),
    ({}, False, "default"),
])
def test_mode_is_decided_in_one_place(monkeypatch, env, cuda, expected):
    monkeypatch.delenv("SPADE_QUICK", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    assert modes.mode() == expected
    assert modes.by_mode(quick=1, default=2, full=3) == {"quick": 1, "default": 2, "full": 3}[expected]
    assert modes.device().type == ("cuda" if expected == "full" else "cpu")


def test_setup_prints_mode_and_device(capsys, monkeypatch):
    monkeypatch.setenv("SPADE_QUICK", "1")
    mode, device = spade_lib.setup(seed=3)
    line = capsys.readouterr().out
    assert (mode, device.type) == ("quick", "cpu")
    assert "mode: quick" in line and "device: cpu" in line
    first_draw = torch.rand(3)
    torch.manual_seed(3)
    assert torch.equal(first_draw, torch.rand(3)), "setup(seed=3) must seed torch"


LESSONS = notebook_tools.lesson_paths()


def test_lessons_exist_and_are_numbered():
    names = [p.name for p in LESSONS]
    assert names and names[0] == "00_welcome.ipynb"
    numbers = [int(n[:2]) for n in names]
    assert numbers == list(range(len(numbers))), f"lessons must be numbered 00, 01, ... without gaps: {names}"


@pytest.mark.parametrize("path", LESSONS, ids=[p.name for p in LESSONS])
def test_lesson_header_and_setup_cell_are_in_sync(path):
    cells = json.loads(path.read_text())["cells"]
    header, setup = "".join(cells[0]["source"]), "".join(cells[1]["source"])
    assert header.split("\n")[0] == notebook_tools.badge_line(path.name), "run `python3 course.py sync`"
    assert setup == notebook_tools.setup_cell_source(), "run `python3 course.py sync`"
    assert re.search(r"^# \d\d · ", header, flags=re.MULTILINE), "title line '# NN · Topic' missing"


@pytest.mark.parametrize("path", LESSONS, ids=[p.name for p in LESSONS])
def test_lesson_outputs_are_stored_from_a_clean_default_run(path):
    cells = [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]
    counts = [c["execution_count"] for c in cells]
    assert counts == list(range(1, len(cells) + 1)), "re-run it top to bottom: `python3 course.py execute`"
    errors = [o for c in cells for o in c["outputs"] if o["output_type"] == "error"]
    assert not errors
    setup_output = "".join("".join(o.get("text", "")) for o in cells[0]["outputs"])
    assert "mode: default" in setup_output, "stored outputs must come from default mode"


def test_sync_is_idempotent_and_repairs_a_stale_setup_cell(tmp_path):
    import nbformat

    copy = tmp_path / LESSONS[0].name
    copy.write_text(LESSONS[0].read_text())
    assert notebook_tools.sync([copy], readme=None) == []
    nb = nbformat.read(copy, as_version=4)
    nb.cells[1].source = nb.cells[1].source.replace(RELEASE, "v0.0.0-old")
    nbformat.write(nb, copy)
    assert notebook_tools.sync([copy], readme=None) == [copy]
    assert nbformat.read(copy, as_version=4).cells[1].source == notebook_tools.setup_cell_source()


def test_course_script_shows_help_without_a_venv():
    result = subprocess.run([sys.executable, str(ROOT / "course.py"), "help"], capture_output=True, text=True)
    assert result.returncode == 0 and "course.py lab" in result.stdout and "course.py test" in result.stdout


def test_lesson_08_quick_mode_writes_small_checkpoints(tmp_path, monkeypatch):
    """CI runs lesson 08 in quick mode: its training run must use TINY's network and keep one checkpoint (the
    classroom preset's checkpoint is 123 MB)."""
    import dataclasses
    import os

    import nbformat

    from spade_lib import training

    monkeypatch.setenv("SPADE_QUICK", "1")
    cells = [c.source for c in nbformat.read(ROOT / "notebooks/08_training.ipynb", as_version=4).cells
             if c.cell_type == "code"]
    namespace = {"spade_lib": spade_lib, "torch": torch, "DEVICE": torch.device("cpu")}
    for marker in ("TINY = models.TrainConfig", "config = dataclasses.replace(models.PRESETS[PRESET]"):
        exec(next(source for source in cells if marker in source), namespace)
    config = dataclasses.replace(namespace["config"], steps=1, out=str(tmp_path / "run"), progress=False)
    assert config.keep_checkpoints == 1
    training.Trainer(config).fit()
    sizes = [os.path.getsize(path) for path in (tmp_path / "run").rglob("*.safetensors")]
    assert len(sizes) == 1 and sizes[0] < 12e6, f"{sizes} bytes"


def test_lessons_and_readme_have_no_stale_names_and_timings_fix_the_threads():
    """No lesson or README names a module, function or option that no longer exists, cites the unpublished
    REFERENCE.md, or keeps an old claim; and every code cell that measures time with perf_counter (directly or
    through a timing function defined in another cell) fixes torch's thread count first: with
    torch.set_num_threads, or by running a training.Trainer, which sets TrainConfig.threads itself."""
    import ast

    import nbformat

    stale = ("authors confirmed", "the course's mistake", "num_D", "spade_lib.pretrained", "load_any(",
             "training.load_generator", "REFERENCE.md", "an hour or two")
    notebooks = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    assert notebooks
    texts = {path.name: "\n".join(cell.source for cell in nbformat.read(path, as_version=4).cells)
             for path in notebooks}
    texts["README.md"] = (ROOT / "README.md").read_text()
    found = [f"{name}: {phrase!r}" for name, text in texts.items() for phrase in stale if phrase in text]
    assert not found, f"stale text (see the library's current modules): {found}"

    functions = (ast.FunctionDef, ast.AsyncFunctionDef)
    unfixed = []
    for path in notebooks:
        cells = [c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
        trees = [ast.parse("\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))))
                 for source in cells]
        timers = {node.name for tree in trees for node in ast.walk(tree)      # functions that time something
                  if isinstance(node, functions) and "perf_counter" in ast.unparse(node)}
        for source, tree in zip(cells, trees):
            top_level = [ast.unparse(node) for node in tree.body if not isinstance(node, functions)]
            timing_call = r"\b(" + "|".join(map(re.escape, ["perf_counter", *sorted(timers)])) + r")\("
            times = any(re.search(timing_call, code) for code in top_level)
            if times and "set_num_threads" not in source and "Trainer(" not in source:
                unfixed.append(f"{path.name}: {source.splitlines()[0]!r}")
    assert not unfixed, f"timed without fixing torch's threads (add torch.set_num_threads): {unfixed}"
