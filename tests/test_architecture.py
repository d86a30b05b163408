"""The import structure of `lab/`: no circles, no arrow against the layers of
docs/architecture.md, and a command line whose help loads none of the heavy libraries."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAB = ROOT / "lab"
ARCHITECTURE = ROOT / "docs" / "architecture.md"
HEAVY = ("torch", "nir", "snntorch", "scipy", "dask", "distributed", "sklearn", "panel")


def modules() -> dict[str, Path]:
    """Every module of the package by dotted name (`lab.core.data`; a package by its own)."""
    found = {}
    for path in sorted(LAB.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The lab modules `name` imports anywhere in its file (top, functions, TYPE_CHECKING).

    `from pkg import x` is the module `pkg.x` when that is a module, else `pkg` itself."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            targets = [f"{source}.{alias.name}" for alias in node.names]
            targets = [t if t in known else source for t in targets]
        else:
            continue
        for target in targets:
            while target and target not in known:  # `import lab.core.data.x` → lab.core.data
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports(name, path, known) for name, path in known.items()}


def layers() -> list[list[str]]:
    """The stack declared in docs/architecture.md, bottom first."""
    block = re.search(r"```layers\n(.*?)```", ARCHITECTURE.read_text(encoding="utf-8"), re.S)
    assert block, f"{ARCHITECTURE} has no ```layers block"
    return [line.split() for line in reversed(block.group(1).strip().splitlines())]


def unit(module: str, declared: dict[str, int]) -> str | None:
    """The declared package (or module) `module` belongs to; `lab` itself only by its name."""
    candidate = module
    while "." in candidate:
        if candidate in declared:
            return candidate
        candidate = candidate.rpartition(".")[0]
    return module if module in declared else None


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of more than one module (Tarjan), each sorted."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_the_helpers_see_an_arrow_a_circle_and_a_function_level_import(tmp_path):
    (tmp_path / "a.py").write_text("from lab.core import data\n\ndef f():\n    import lab.b\n")
    known = {"lab.a": tmp_path / "a.py", "lab.b": tmp_path / "b.py", "lab.core": tmp_path,
             "lab.core.data": tmp_path}
    assert imports("lab.a", tmp_path / "a.py", known) == {"lab.core.data", "lab.b"}
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert unit("lab.core.data", {"lab": 9, "lab.core": 1}) == "lab.core"
    assert unit("lab.bptt", {"lab": 9, "lab.core": 1}) is None


def test_no_module_imports_itself_back_in_a_circle():
    found = cycles(graph())
    assert not found, "import circles: " + "; ".join(" ↔ ".join(c) for c in found)


def test_every_module_has_a_layer():
    stack = layers()
    declared = {name: level for level, names in enumerate(stack) for name in names}
    assert len(declared) == sum(map(len, stack)), "a name is declared twice"
    missing = sorted(m for m in modules() if unit(m, declared) is None)
    assert not missing, (f"modules without a layer: {', '.join(missing)}; give each package its "
                         f"place in the ```layers block of {ARCHITECTURE.relative_to(ROOT)}")
    stale = sorted(set(declared) - set(modules()))
    assert not stale, f"layers name modules that do not exist: {', '.join(stale)}"


def test_no_import_goes_up_the_layers_or_across_one():
    stack = layers()
    declared = {name: level for level, names in enumerate(stack) for name in names}
    wrong = []
    for module, targets in graph().items():
        here = unit(module, declared)
        for target in sorted(targets):
            there = unit(target, declared)
            if here is None or there is None or here == there:
                continue
            if declared[there] >= declared[here]:
                side = "up" if declared[there] > declared[here] else "across its layer"
                wrong.append(f"{module} → {target} ({side}: {here} → {there})")
    assert not wrong, "imports against docs/architecture.md:\n" + "\n".join(wrong)


@pytest.mark.parametrize("argv", [["--help"], ["run", "--help"], ["sweep", "--help"],
                                  ["export", "--help"], ["results", "--help"]])
def test_help_imports_none_of_the_heavy_libraries(argv):
    """`python -m lab ... --help` prints from the parser alone (no timing is asserted: which
    modules load is what makes it quick)."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "lab", *argv], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "usage: python -m lab" in done.stdout
    loaded = {line.split("|")[-1].strip().split(".")[0]
              for line in done.stderr.splitlines() if line.startswith("import time:")}
    assert "lab" in loaded  # the import log was read
    assert not loaded & set(HEAVY), f"{' '.join(argv)} imported {sorted(loaded & set(HEAVY))}"


def test_a_methods_flags_still_come_from_its_config():
    from lab import cli

    with pytest.raises(SystemExit):  # without the method's flags built, the flag is refused
        cli._parser(flags_of=[]).parse_args(["run", "bptt", "--timesteps", "4"])
    assert cli._parser(flags_of=["bptt"]).parse_args(["run", "bptt", "--timesteps", "4"]
                                                     ).timesteps == 4
