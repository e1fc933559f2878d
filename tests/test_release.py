"""The release path: `python3 course.py release VERSION` (spade_lib.release) on a copy of the course in a temporary
git repository: the version everywhere, badges and setup cells that agree, a commit, an annotated tag, the push
command printed and nothing pushed; and each refusal (changed files, an existing tag, another branch)."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from spade_lib import notebook_tools
from spade_lib.release import RELEASE

ROOT = Path(__file__).resolve().parent.parent
COPIED = ["spade_lib", "notebooks/00_welcome.ipynb", "notebooks/01_batch_norm.ipynb", "README.md", "CITATION.cff",
          "pyproject.toml", "course.py"]
GIT_IDENTITY = {"GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@example.org", "GIT_COMMITTER_NAME": "Test",
                "GIT_COMMITTER_EMAIL": "test@example.org"}


def git(repository: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repository, check=True, capture_output=True, text=True,
                          env={**os.environ, **GIT_IDENTITY}).stdout.strip()


@pytest.fixture
def course_copy(tmp_path) -> Path:
    """The course's files (two lessons are enough) committed on main in a fresh repository."""
    repository = tmp_path / "course"
    for name in COPIED:
        source, target = ROOT / name, repository / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, target)
    git(repository, "init", "-q", "-b", "main")
    git(repository, "add", ".")
    git(repository, "commit", "-q", "-m", "the course")
    return repository


def release(repository: Path, *args: str) -> subprocess.CompletedProcess:
    """What `python3 course.py release ...` runs in the course environment, here in the copy."""
    env = {**os.environ, **GIT_IDENTITY, "PYTHONPATH": str(repository)}
    return subprocess.run([sys.executable, "-m", "spade_lib.release", *args], cwd=repository, env=env,
                          capture_output=True, text=True, timeout=300)


def test_release_sets_the_version_everywhere_commits_and_tags(course_copy):
    before = git(course_copy, "rev-parse", "HEAD")
    result = release(course_copy, "0.1.1")
    assert result.returncode == 0, result.stderr
    assert "git push origin main v0.1.1" in result.stdout
    assert git(course_copy, "cat-file", "-t", "v0.1.1") == "tag", "an annotated tag"
    assert git(course_copy, "rev-parse", "v0.1.1^{commit}") == git(course_copy, "rev-parse", "HEAD")
    assert git(course_copy, "rev-parse", "HEAD~1") == before and git(course_copy, "log", "-1", "--format=%s") == \
        "Release v0.1.1"
    assert git(course_copy, "status", "--porcelain") == "", "everything the release changed is committed"
    assert 'RELEASE = "v0.1.1"' in git(course_copy, "show", "v0.1.1:spade_lib/release.py")
    assert '__version__ = "0.1.1"' in git(course_copy, "show", "v0.1.1:spade_lib/__init__.py")
    assert "version: 0.1.1" in git(course_copy, "show", "v0.1.1:CITATION.cff")
    assert "/blob/v0.1.1/notebooks/00_welcome.ipynb" in git(course_copy, "show", "v0.1.1:notebooks/00_welcome.ipynb")
    assert '\\"v0.1.1\\"' in git(course_copy, "show", "v0.1.1:notebooks/01_batch_norm.ipynb"), "the setup cell"
    assert "spade-course/v0.1.1?urlpath=lab" in git(course_copy, "show", "v0.1.1:README.md"), "the Binder badge"
    check = subprocess.run([sys.executable, "-m", "spade_lib.notebook_tools", "check"], cwd=course_copy,
                           env={**os.environ, "PYTHONPATH": str(course_copy)}, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout


def test_releasing_the_current_version_only_tags(course_copy):
    """What the lead runs once for a version that is already written everywhere: a tag on the current commit."""
    head = git(course_copy, "rev-parse", "HEAD")
    result = release(course_copy, RELEASE)
    assert result.returncode == 0, result.stderr
    assert git(course_copy, "rev-parse", "HEAD") == head, "nothing to change, nothing committed"
    assert git(course_copy, "rev-parse", f"{RELEASE}^{{commit}}") == head
    assert f"git push origin main {RELEASE}" in result.stdout


def test_release_refuses_uncommitted_changes(course_copy):
    (course_copy / "README.md").write_text("my unsaved notes\n")
    result = release(course_copy, "0.1.1")
    assert result.returncode == 1 and "uncommitted changes" in result.stderr and "README.md" in result.stderr
    assert git(course_copy, "tag", "--list") == ""
    assert (course_copy / "README.md").read_text() == "my unsaved notes\n", "nothing a user made is touched"
    assert 'RELEASE = "v0.1.1"' not in (course_copy / "spade_lib/release.py").read_text()


def test_release_refuses_an_existing_tag_another_branch_and_a_bad_version(course_copy):
    git(course_copy, "tag", "v0.1.1")
    result = release(course_copy, "v0.1.1")
    assert result.returncode == 1 and "tag v0.1.1 exists already" in result.stderr
    result = release(course_copy, "0.1")
    assert result.returncode == 1 and "MAJOR.MINOR.PATCH" in result.stderr
    git(course_copy, "switch", "-q", "-c", "feature")
    result = release(course_copy, "0.1.2")
    assert result.returncode == 1 and "releases are made from main" in result.stderr and "feature" in result.stderr
    assert git(course_copy, "tag", "--list") == "v0.1.1"


def test_check_names_each_badge_and_setup_cell_that_disagrees(tmp_path):
    import nbformat

    lesson, readme = tmp_path / "00_welcome.ipynb", tmp_path / "README.md"
    shutil.copy2(ROOT / "notebooks/00_welcome.ipynb", lesson)
    readme.write_text(f"# Title\n\n{notebook_tools.readme_badge_line()}\n\ntext\n")
    assert notebook_tools.check([lesson], readme) == []
    nb = nbformat.read(lesson, as_version=4)
    nb.cells[0].source = nb.cells[0].source.replace(RELEASE, "v0.0.9", 1)
    nb.cells[1].source = nb.cells[1].source.replace(RELEASE, "v0.0.9")
    nbformat.write(nb, lesson)
    readme.write_text(readme.read_text().replace(RELEASE, "v0.0.9"))
    problems = notebook_tools.check([lesson], readme)
    assert len(problems) == 3 and all(str(tmp_path) in p for p in problems), problems
    assert notebook_tools.sync([lesson], readme) == [readme, lesson]
    assert notebook_tools.check([lesson], readme) == []


def test_the_readme_and_every_lesson_agree_with_release_py():
    assert notebook_tools.check() == [], "run `python3 course.py sync`"
    readme = (ROOT / "README.md").read_text()
    assert f"https://mybinder.org/v2/gh/{notebook_tools.github_path()}/{RELEASE}?urlpath=lab/tree/notebooks/" in readme


def test_readme_says_how_to_release():
    readme = (ROOT / "README.md").read_text()
    assert "## Releasing" in readme and "python3 course.py release" in readme and "git push origin main" in readme
