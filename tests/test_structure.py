"""The library's shape: no import cycle, inference without the trainer, modules a reader can hold in mind, the
packaging that lists every package, and docstring examples that call functions the way they are defined."""
import ast
import importlib
import inspect
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "spade_lib"
MAX_LINES = 560  # "about 500": the largest module is painter.py (the painter widget of lesson 09)


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imported_modules(name: str, top_level_only: bool) -> set[str]:
    """The spade_lib modules that module ``name`` imports: at import time only (``top_level_only``), or anywhere
    (also inside functions). ``from . import x`` counts as importing ``spade_lib.x`` when that is a module."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text())
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name in MODULES}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target in MODULES:
                found.add(target)
            found |= {f"{target}.{alias.name}" for alias in node.names if f"{target}.{alias.name}" in MODULES}
    return found - {name}


def reachable(name: str) -> set[str]:
    """Every spade_lib module that importing ``name`` imports, directly or through others (at import time)."""
    seen, todo = set(), [name]
    while todo:
        for child in imported_modules(todo.pop(), top_level_only=True):
            if child not in seen:
                seen.add(child)
                todo.append(child)
    return seen


def test_no_import_cycle():
    cycles = [name for name in MODULES if name in reachable(name)]
    assert not cycles, f"these modules import themselves through others: {cycles}"


@pytest.mark.parametrize("name", ["spade_lib.models", "spade_lib.painter", "spade_lib.metrics",
                                  "spade_lib.inception", "spade_lib.official"])
def test_inference_does_not_import_the_trainer(name):
    assert "spade_lib.training" not in reachable(name) | imported_modules(name, top_level_only=False)


def test_inception_and_metrics_are_no_cycle():
    assert "spade_lib.metrics" not in imported_modules("spade_lib.inception", top_level_only=False)


def test_the_trainer_stays_out_of_a_fresh_interpreter_that_samples():
    code = ("import sys, spade_lib.models, spade_lib.painter, spade_lib.metrics\n"
            "print(sorted(m for m in sys.modules if m in ('spade_lib.training', 'spade_lib.distributed')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_modules_are_short_enough_to_read(name):
    lines = len(MODULES[name].read_text().splitlines())
    assert lines <= MAX_LINES, f"{MODULES[name]} has {lines} lines: split it (about 500 at most)"


def test_pyproject_lists_every_package():
    settings = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    packages = {module_name(path.parent / "__init__.py") for path in PACKAGE.rglob("__init__.py")}
    assert set(settings["packages"]) == packages | {"spade_lib.shipped"}, \
        "add the new package to [tool.setuptools] packages in pyproject.toml, or the wheel leaves it out"
    assert settings["package-dir"] == {"spade_lib.shipped": "data"}


def examples(text: str) -> list[str]:
    """The ``>>>`` examples of a docstring, each with its ``...`` continuation lines."""
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith(">>> "):
            found.append(line[4:])
        elif line.startswith("... ") and found:
            found[-1] += "\n" + line[4:]
    return found


def docstring_calls(module):
    """(function name, call node) of every call to one of ``module``'s functions in its ``>>>`` examples."""
    own = [obj for obj in vars(module).values()
           if (inspect.isfunction(obj) or inspect.isclass(obj)) and obj.__module__ == module.__name__]
    for obj in [module, *own]:
        for example in examples(inspect.getdoc(obj) or ""):
            for node in ast.walk(ast.parse(example)):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in vars(module):
                    yield node.func.id, node


@pytest.mark.parametrize("name", sorted(n for n in MODULES if not n.startswith("spade_lib.exercises")))
def test_docstring_examples_match_the_signatures(name):
    module = importlib.import_module(name)
    for function, call in docstring_calls(module):
        target = getattr(module, function)
        if not callable(target):
            continue
        args = [None] * len(call.args)
        kwargs = {keyword.arg: None for keyword in call.keywords if keyword.arg}
        try:
            inspect.signature(target).bind(*args, **kwargs)
        except TypeError as error:
            pytest.fail(f"{name}: the docstring example {ast.unparse(call)} does not fit {function}: {error}")


def test_the_readme_says_where_every_module_lives():
    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("Where things live:"):]
    table = table[:table.index("\n\n", table.index("| module |"))]
    named = {cell.strip("`.").removeprefix("spade_lib.") for row in table.splitlines()[3:]
             for cell in row.split("|")[1].replace(",", " ").split()}
    internal = {"__init__", "__main__", "release", "notebook_tools", "data"}  # CLI, settings, helpers, old name
    modules = {name.split(".")[1] for name in MODULES if name.count(".") >= 1} - internal
    assert modules <= named, f"README's module table misses {sorted(modules - named)}"
