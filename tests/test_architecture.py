"""The house rules of the package's structure, checked on its source: every import goes
down (or sideways within a floor), never up; no import circle; no module over 400 lines;
no private model state read outside its owner. Imports are read with ``ast`` wherever
they stand (function-level and TYPE_CHECKING imports included)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "mixed_models"

# Floors, bottom to top. A module may import modules on its own floor or below.
FLOORS: list[tuple[str, tuple[str, ...]]] = [
    ("base", ("errors", "_version", "_validate", "control", "progress", "datasets")),
    ("formula", ("formula",)),
    ("core", ("core",)),
    ("design", ("design", "stream")),
    ("fitted record and results", ("fitted",)),
    ("inference and prediction", ("inference", "prediction")),
    ("display", ("display",)),
    ("plotting", ("plotting",)),
    ("report and CLI", ("report", "cli", "cli_data", "__main__")),
    ("public API", ("api", "lmm", "glmm", "compare", "")),
]
# formula and core are independent foundations: neither imports the other.
SEPARATE = {("formula", "core"), ("core", "formula")}


def _module_names() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _module_names()


def _top(name: str) -> str:
    return name.split(".")[0] if name else ""


def floor_of(name: str) -> int:
    top = _top(name)
    for index, (_, tops) in enumerate(FLOORS):
        if top in tops:
            return index
    raise AssertionError(f"module {name!r} is on no floor: add it to FLOORS")


def _imports(name: str, path: Path) -> set[str]:
    is_package = path.name == "__init__.py"
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        targets: list[str] = []
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if name else []
                anchor = base if is_package else base[:-1]
                anchor = anchor[:len(anchor) - (node.level - 1)]
                module = ".".join(anchor + ([node.module] if node.module else []))
            elif node.module and node.module.startswith("mixed_models"):
                module = node.module[len("mixed_models"):].lstrip(".")
            else:
                continue
            # a name that is a submodule imports it; any other name imports the module
            targets = [f"{module}.{a.name}".lstrip(".") if f"{module}.{a.name}".lstrip(".")
                       in MODULES else module for a in node.names]
        elif isinstance(node, ast.Import):
            targets = [a.name[len("mixed_models"):].lstrip(".") for a in node.names
                       if a.name.startswith("mixed_models")]
        for target in targets:
            while target and target not in MODULES:
                target = target.rpartition(".")[0]
            if target in MODULES and target != name:
                found.add(target)
    return found


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def test_every_import_goes_down_or_sideways() -> None:
    upward = [f"{a} -> {b}" for a, targets in GRAPH.items() for b in targets
              if floor_of(b) > floor_of(a) or (_top(a), _top(b)) in SEPARATE]
    assert not upward, "imports that run up a floor:\n" + "\n".join(sorted(upward))


def _circles() -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in GRAPH[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in GRAPH:
        if v not in index:
            visit(v)
    return found


def test_no_import_circle() -> None:
    assert _circles() == []


@pytest.mark.parametrize("name", sorted(MODULES))
def test_modules_are_small(name: str) -> None:
    assert len(MODULES[name].read_text().splitlines()) <= 400


@pytest.mark.parametrize("attribute", ["_problem", "_design", "_estimates", "_optimization",
                                       "_record"])
def test_private_state_is_read_by_its_owner_only(attribute: str) -> None:
    readers = sorted(n for n, p in MODULES.items()
                     if re.search(rf"\.{attribute}\b", p.read_text()))
    owners = {"_record": {"api.base", "api.methods", "api.ecosystem", "api.glmm_inference",
                          "lmm", "glmm"}}.get(attribute, set())
    assert set(readers) <= owners, readers


def test_no_history_in_the_source() -> None:
    marked = sorted(n for n, p in MODULES.items()
                    if re.search(r"\b[Ii]ssue \d", p.read_text()))
    assert marked == []


# --- the drawing in docs/architecture.md ------------------------------------------------

DOC = PACKAGE.parents[1] / "docs" / "architecture.md"
START, END = "<!-- import-graph:start -->", "<!-- import-graph:end -->"


def _unit(name: str) -> str:
    """The box a module is drawn in: its package, or ``base`` for the base floor."""
    top = _top(name)
    return "base" if floor_of(name) == 0 else (top or "mixed_models")


def package_graph() -> str:
    """A mermaid drawing of the imports between packages (every package may use the base
    floor: those arrows are left out)."""
    edges = sorted({(_unit(a), _unit(b)) for a, targets in GRAPH.items() for b in targets
                    if _unit(a) != _unit(b) and _unit(b) != "base"})
    lines = ["```mermaid", "graph BT"]
    lines += [f"    {a.replace('_', '')}[{a}] --> {b.replace('_', '')}[{b}]" for a, b in edges]
    lines.append("```")
    return "\n".join(lines)


def _drawn(text: str) -> str:
    return text.split(START, 1)[1].split(END, 1)[0].strip()


def test_the_drawing_is_current() -> None:
    assert _drawn(DOC.read_text()) == package_graph(), \
        "the import graph changed: run `python tests/test_architecture.py` to redraw it"


if __name__ == "__main__":
    text = DOC.read_text()
    head, rest = text.split(START, 1)
    DOC.write_text(f"{head}{START}\n{package_graph()}\n{END}{rest.split(END, 1)[1]}")
    print(f"redrew {DOC}")
