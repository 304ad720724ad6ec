"""The package's layers point down: no module of moonpy/ imports, directly or through
others, a module that imports it back, and no layer imports one above it. Function-level
imports count too: a lazy import hides a cycle (or an upward edge) from the interpreter at
start-up but not from a reader following imports.

The layers, bottom up (docs/architecture.md draws them):
  base      moonpy.errors, moonpy.log: everybody's error types and MoonGen's output lines
  core      moonpy.core: the engine, its configuration, the task/core registry, messages
  api       the top level a script imports (device, memory, stats, proto/, ...)
  bridge    moonpy.lua_bridge: the Lua VMs
  console   moonpy.console: the dashboard, summary and result files
  app       moonpy.app: the front ends; tools: moonpy.tools, developer tools
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "moonpy"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PKG.rglob("*.py"))}


def resolve(name: str, known: dict[str, Path]) -> str | None:
    """The moonpy module ``name`` refers to (``moonpy.a.b`` may name a function b of a)."""
    while name:
        if name in known:
            return name
        name = name.rpartition(".")[0]
    return None


def imports_of(mod: str, path: Path, known: dict[str, Path]) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            # `from moonpy import stats` imports the module moonpy.stats
            targets = [f"{prefix}.{a.name}" for a in node.names] or [prefix]
            targets.append(prefix)
        for t in targets:
            if not t.startswith("moonpy"):
                continue
            r = resolve(t, known)
            if r is not None and r != mod:
                out.add(r)
    # a package imports its own __init__ on the way to any of its modules: not an edge
    return out


def import_graph() -> dict[str, set[str]]:
    known = modules()
    graph = {m: imports_of(m, p, known) for m, p in known.items()}
    # `from moonpy.x import y` runs moonpy/__init__.py first, so an edge to the root
    # package from below is implied everywhere; only count the root's own imports
    for m in graph:
        if m != "moonpy":
            graph[m].discard("moonpy")
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each as a loop."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def a_loop(graph: dict[str, set[str]], comp: list[str]) -> list[str]:
    """One concrete loop through a component, to name it in the failure."""
    members = set(comp)
    start = comp[0]
    path = [start]
    seen = {start}
    # breadth-first back to start inside the component
    prev: dict[str, str] = {}
    frontier = [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(graph[v] & members):
                if w == start:
                    loop = [w, v]
                    while v != start:
                        v = prev[v]
                        loop.append(v)
                    return list(reversed(loop))
                if w not in seen:
                    seen.add(w)
                    prev[w] = v
                    nxt.append(w)
        frontier = nxt
    return path


BASE = {"moonpy.errors", "moonpy.log"}
SUBPACKAGES = ("core", "lua_bridge", "console", "app", "tools")


def layer(mod: str) -> str:
    if mod in BASE:
        return "base"
    if mod == "moonpy.__main__":  # `python -m moonpy`: the command line's entry point
        return "app"
    parts = mod.split(".")
    if len(parts) > 1 and parts[1] in SUBPACKAGES:
        return {"lua_bridge": "bridge"}.get(parts[1], parts[1])
    return "api"  # the root package, its modules, proto/


# what each layer must not import (it may import everything else below it)
FORBIDDEN: dict[str, set[str]] = {
    "base": {"core", "api", "bridge", "console", "app", "tools"},
    "core": {"api", "bridge", "console", "app", "tools"},
    "api": {"bridge", "console", "app", "tools"},
}


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    return sorted(
        f"{m} ({layer(m)}) -> {t} ({layer(t)})"
        for m, targets in graph.items()
        for t in targets
        if layer(t) in FORBIDDEN.get(layer(m), set())
    )


def test_the_graph_sees_relative_and_function_level_imports():
    graph = import_graph()
    assert "moonpy.lua_bridge.vm" in graph
    # the CLI reaches the Lua runner only through a function-level import
    # moved modules are seen under their package
    assert "moonpy.core.engine" in graph["moonpy.device"], graph["moonpy.device"]
    cli = graph["moonpy.app.cli"]
    assert any(m.startswith("moonpy.lua_bridge") for m in cli), cli


def test_cycle_finder_finds_a_planted_loop():
    g = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    cycles = find_cycles(g)
    assert cycles == [["a", "b", "c"]]
    assert a_loop(g, cycles[0]) == ["a", "b", "c", "a"]


def test_no_import_cycle_in_moonpy():
    graph = import_graph()
    loops = [" -> ".join(a_loop(graph, c)) for c in find_cycles(graph)]
    assert not loops, "import cycles in moonpy/:\n  " + "\n  ".join(loops)


def test_layer_checker_finds_a_planted_upward_import():
    g = {"moonpy.core.engine": {"moonpy.log", "moonpy.device"}, "moonpy.device": {"moonpy.log"}}
    assert upward_imports(g) == ["moonpy.core.engine (core) -> moonpy.device (api)"]
    assert layer("moonpy.proto.udp") == layer("moonpy") == "api"
    assert layer("moonpy.lua_bridge.vm") == "bridge"


def test_no_layer_imports_a_higher_one():
    up = upward_imports(import_graph())
    assert not up, "imports from a lower layer to a higher one:\n  " + "\n  ".join(up)
