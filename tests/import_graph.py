"""The package's import graph, read from the source with `ast` (every import, also those inside functions), and
the two rules `ARCHITECTURE.md` states: no import circles, and imports only go down the layers.

    python tests/import_graph.py      # prints the layers, any circle and any upward import; exit 1 if one exists
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "inpaint_bench"

# Lowest first. A module may import modules of its own layer and of the layers below, never above. Within one
# layer the graph must still be acyclic; `nets` and `metrics` share a layer and do not import each other.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("helpers", ("convention", "registry", "files")),
    ("diffusion", ("diffusion",)),
    ("masks", ("masks",)),
    ("data", ("data",)),
    ("nets, metrics", ("nets", "metrics")),
    ("methods", ("methods",)),
    ("bench", ("bench",)),
    ("cli", ("cli",)),
    ("api", ("api", "")),  # "" is the package's own __init__
]
SEPARATE = [("nets", "metrics")]  # same layer, no imports between them either way


def modules(package: Path = PACKAGE) -> dict[str, tuple[Path, bool]]:
    """Dotted name → (file, is a package __init__)."""
    out = {}
    for path in sorted(package.rglob("*.py")):
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        is_init = parts[-1] == "__init__"
        out[".".join(parts[:-1] if is_init else parts)] = (path, is_init)
    return out


def imports(package: Path = PACKAGE, unresolved: list | None = None) -> dict[str, set[str]]:
    """Module → the package modules it imports (`from .x import name` counts as `x.name` when that is a module).
    Package imports that name no module of the package are appended to `unresolved` as (importer, target)."""
    mods = modules(package)
    root = package.name
    graph: dict[str, set[str]] = {}
    for name, (path, is_init) in mods.items():
        here = name.split(".") if is_init else name.split(".")[:-1]
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = here[: len(here) - node.level + 1] if node.level else []
                target = ".".join(base + ([node.module] if node.module else [])) if node.level else node.module
                for alias in node.names:
                    sub = f"{target}.{alias.name}"
                    found.add(sub if sub in mods else target)
        if unresolved is not None:
            unresolved += [(name, m) for m in sorted(found) if m.startswith(root) and m not in mods]
        graph[name] = {m for m in found if m in mods and m != name and (m == root or m.startswith(root + "."))}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each a circle of imports."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
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

    sys.setrecursionlimit(max(10_000, sys.getrecursionlimit()))
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def layer_of(module: str, root: str = PACKAGE.name) -> int:
    rel = module.removeprefix(root).removeprefix(".")
    top = rel.split(".")[0]
    for i, (_, tops) in enumerate(LAYERS):
        if top in tops:
            return i
    raise KeyError(f"{module}: in no layer of tests/import_graph.py LAYERS; add its folder to one")


def upward_imports(graph: dict[str, set[str]]) -> list[tuple[str, str]]:
    """(importer, imported) pairs that go up a layer, or across two folders kept SEPARATE."""
    root = PACKAGE.name
    bad = []
    for src, targets in graph.items():
        for dst in targets:
            if layer_of(dst) > layer_of(src):
                bad.append((src, dst))
            tops = {m.removeprefix(root + ".").split(".")[0] for m in (src, dst)}
            if any(tops == set(pair) for pair in SEPARATE):
                bad.append((src, dst))
    return sorted(bad)


def main() -> int:
    missing: list[tuple[str, str]] = []
    graph = imports(unresolved=missing)
    for i, (name, tops) in enumerate(LAYERS):
        print(f"layer {i} {name:14s} {', '.join(t or '__init__' for t in tops)}")
    problems = 0
    for component in cycles(graph):
        problems += 1
        print("CIRCLE: " + " ↔ ".join(component))
    for src, dst in upward_imports(graph):
        problems += 1
        print(f"UPWARD: {src} imports {dst} ({LAYERS[layer_of(src)][0]} → {LAYERS[layer_of(dst)][0]})")
    for src, dst in missing:
        problems += 1
        print(f"MISSING: {src} imports {dst}, which is no module of the package")
    print(f"{len(graph)} modules, {sum(map(len, graph.values()))} imports, {problems} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
