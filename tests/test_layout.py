"""The shape of the code, held as a test: packages depend one way (DESIGN.md, Layout), no module
imports itself back through others, and no module grows past what a newcomer can read."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# each package may import only those to its right
ORDER = ("api", "onboarding", "cases", "lookup", "census", "grid", "gis")
MAX_LINES = 500


def modules() -> dict[str, Path]:
    out = {}
    for package in ORDER:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = path
    return out


def imports(path: Path, name: str) -> set[str]:
    """The project modules a module imports, at module level or inside functions."""
    found = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([*package.split(".")[:len(package.split(".")) - node.level + 1],
                                 *([base] if base else [])])
            found.add(base)
            found.update(f"{base}.{a.name}" for a in node.names)
    return {m for m in found if m.split(".")[0] in ORDER}


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: {m for m in imports(path, name) if m in known and m != name}
            for name, path in known.items()}


def test_packages_depend_one_way():
    wrong = [f"{a} imports {b}" for a, deps in graph().items() for b in deps
             if ORDER.index(b.split(".")[0]) < ORDER.index(a.split(".")[0])]
    assert not wrong, "imports that point upwards:\n" + "\n".join(sorted(wrong))


def test_no_module_imports_itself_back():
    edges = graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(v: str) -> None:          # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in edges:
        if v not in index:
            visit(v)
    assert not cycles, f"modules that import each other: {cycles}"


def test_no_module_is_longer_than_a_newcomer_reads():
    long = {name: n for name, path in modules().items()
            if (n := len(path.read_text("utf-8").splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines: {long}"


def test_the_layout_test_sees_the_code():
    """It would pass on an empty tree: make sure it read the packages and found imports."""
    edges = graph()
    assert len(edges) > 60
    assert "lookup.index" in edges["lookup.resolve"]
    assert "gis.errors" in edges["grid.districts"]
