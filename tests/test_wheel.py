"""A plain (not editable) ``pip install`` of spade_lib carries the shipped models: the wheel installs the
repository's data/classroom and data/segmenter as spade_lib/shipped/, and the library finds them there.

The wheel is built offline from a copy of the repository's packaging files, then installed into a fresh virtual
environment under tmp. That environment borrows this interpreter's packages (torch and the rest) through a
``.pth`` line instead of downloading them; spade_lib itself comes only from the wheel."""
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGING = ("pyproject.toml", "README.md", "LICENSE", "spade_lib", "data/classroom", "data/segmenter")


def run(command, cwd, env=None):
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"{' '.join(map(str, command))} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(python of a fresh venv with the spade_lib wheel installed, an environment without PYTHONPATH)."""
    pytest.importorskip("setuptools", reason="building the wheel offline needs setuptools in this environment")
    pytest.importorskip("wheel", reason="building the wheel offline needs the wheel package in this environment")
    tmp = tmp_path_factory.mktemp("wheel")
    source = tmp / "source"  # a copy: building in the repository would leave build/ and *.egg-info there
    for name in PACKAGING:
        copy = shutil.copytree if (ROOT / name).is_dir() else shutil.copy
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        copy(ROOT / name, source / name, **({"ignore": shutil.ignore_patterns("__pycache__")}
                                           if (ROOT / name).is_dir() else {}))
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q",
         "-w", str(tmp / "dist"), str(source)], cwd=tmp)
    wheel = next((tmp / "dist").glob("spade_lib-*.whl"))

    environment = tmp / "venv"
    venv.create(environment, with_pip=False)
    python = environment / "bin" / "python"
    site = Path(run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=tmp).strip())
    (site / "borrowed.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")  # torch etc., not spade_lib
    run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "-q", "--target", str(site), str(wheel)],
        cwd=tmp)
    env = {key: value for key, value in __import__("os").environ.items() if key != "PYTHONPATH"}
    return python, env, site


def test_the_installed_wheel_loads_the_classroom_model_and_the_segmenter(installed, tmp_path):
    python, env, site = installed
    script = (
        "import spade_lib, torch\n"
        "from spade_lib import metrics, models\n"
        "from spade_lib.labels import make_segmap\n"
        "print(spade_lib.__file__)\n"
        "print(models.CLASSROOM_DIR)\n"
        "generator, encoder, config = models.load_classroom()\n"
        "segmenter = metrics.load_segmenter()\n"
        "print(config.name, config.size, type(segmenter).__name__)\n"
        "ids = torch.zeros(1, 64, 64, dtype=torch.long)\n"
        "segmap = make_segmap(ids, 11, instance=ids)  # the classroom model reads instance edges too\n"
        "print(tuple(models.generate(generator, encoder, segmap).shape))\n"
    )
    lines = run([python, "-c", script], cwd=tmp_path, env=env).splitlines()
    assert lines[0].startswith(str(site)), f"spade_lib came from {lines[0]}, not from the installed wheel"
    assert lines[1] == str(site / "spade_lib" / "shipped" / "classroom")
    assert lines[2] == "classroom 64 Segmenter"
    assert lines[3] == "(1, 3, 64, 64)"


def test_the_wheel_holds_one_copy_of_each_shipped_file_and_no_scripts(installed):
    _, _, site = installed
    shipped = sorted(str(p.relative_to(site / "spade_lib" / "shipped")) for p in (site / "spade_lib" / "shipped")
                     .rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    expected = sorted(str(p.relative_to(ROOT / "data")) for folder in ("classroom", "segmenter")
                      for p in (ROOT / "data" / folder).iterdir() if p.suffix in (".safetensors", ".json", ".md"))
    assert shipped == expected
