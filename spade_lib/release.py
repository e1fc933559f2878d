"""Where the course lives, and how a release is made. A fork changes REPOSITORY, then runs `python3 course.py sync`.

    python3 course.py release 0.1.1    # on a clean main: the version everywhere, badges, a commit, an annotated tag

A release sets the version in spade_lib/__init__.py, RELEASE below and CITATION.cff, rewrites every lesson's badge
and setup cell and the README's badges (``notebook_tools.sync``), checks that they all agree, commits, tags
``v0.1.1`` and prints the one command that publishes it. It never pushes.
"""
import re
import subprocess
import sys
from pathlib import Path

REPOSITORY = "https://github.com/spade-course/spade-course"
RELEASE = "v0.1.0"

ROOT = Path(__file__).resolve().parent.parent
VERSION_LINES = {  # file -> (its version line, the line for a new version)
    "spade_lib/__init__.py": (r'^__version__ = ".*"$', '__version__ = "{version}"'),
    "spade_lib/release.py": (r'^RELEASE = ".*"$', 'RELEASE = "v{version}"'),
    "CITATION.cff": (r"^version: .*$", "version: {version}"),
}


class ReleaseError(Exception):
    """A release that cannot be made as asked; the message says why and what to do."""


def git(*args: str) -> str:
    result = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        raise ReleaseError(f"`git {' '.join(args)}` failed in {ROOT}: {result.stderr.strip()}")
    return result.stdout.strip()


def parse_version(text: str) -> str:
    """'0.1.1' or 'v0.1.1' -> '0.1.1'."""
    match = re.fullmatch(r"v?(\d+\.\d+\.\d+)", text.strip())
    if match is None:
        raise ReleaseError(f"release version {text!r} is not MAJOR.MINOR.PATCH: give e.g. 0.1.1 (the tag is v0.1.1)")
    return match.group(1)


def check_checkout(tag: str) -> None:
    """A release is tagged on a clean main, once."""
    branch = git("branch", "--show-current")
    if branch != "main":
        raise ReleaseError(f"releases are made from main; this checkout is on {branch or 'no branch'!r}: git switch main")
    changes = git("status", "--porcelain")
    if changes:
        raise ReleaseError(f"the working tree has uncommitted changes; commit or stash them first:\n{changes}")
    if git("tag", "--list", tag):
        raise ReleaseError(f"tag {tag} exists already (`git show {tag}`); release the next version instead")


def set_version(version: str) -> None:
    """Write the version into each file that holds it (exactly one line each)."""
    for name, (pattern, line) in VERSION_LINES.items():
        path = ROOT / name
        text, count = re.subn(pattern, line.format(version=version), path.read_text(), flags=re.MULTILINE)
        if count != 1:
            raise ReleaseError(f"{path} should hold one line matching {pattern!r}, it holds {count}")
        path.write_text(text)


def run_notebook_tool(command: str) -> None:
    """notebook_tools in a fresh interpreter, so that it reads the release just written."""
    result = subprocess.run([sys.executable, "-m", "spade_lib.notebook_tools", command], cwd=ROOT)
    if result.returncode != 0:
        raise ReleaseError(f"`python -m spade_lib.notebook_tools {command}` failed; "
                           "undo the release's changes with `git checkout -- .`")


def make_release(text: str) -> str:
    """Version, badges, setup cells, commit and annotated tag; returns the command that publishes them."""
    version = parse_version(text)
    tag = f"v{version}"
    check_checkout(tag)
    set_version(version)
    run_notebook_tool("sync")
    run_notebook_tool("check")
    git("add", "--update")
    if subprocess.run(["git", "diff", "--cached", "--quiet"], cwd=ROOT).returncode != 0:
        git("commit", "-q", "-m", f"Release {tag}")
    git("tag", "-a", tag, "-m", f"spade_lib {version}")
    return f"git push origin main {tag}"


def main(argv) -> int:
    if len(argv) != 1:
        print(__doc__)
        return 2
    try:
        push = make_release(argv[0])
    except ReleaseError as error:
        print(f"release: {error}", file=sys.stderr)
        return 1
    print(f"release: committed and tagged. Nothing is pushed; to publish it (the badges and Colab need the tag):\n"
          f"    {push}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
