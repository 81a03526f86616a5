"""The layout's import rules (docs/architecture.md), checked on the code's own imports.

Every import counts, also the ones inside functions: a lazy import hides a circle from
Python's loader, not from a reader. Tests, benchmarks and fuzzers are outside the house.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Lower layers never import higher ones; a package may import its own layer's packages
# only where LAYER_PEERS allows it.
LAYERS: dict[str, int] = {
    "core": 0,
    "firmware_sim": 1,
    "ingest": 1,
    "analytics": 1,
    "service": 2,
    "scheduler": 3,
    "reports": 4,
    "api": 5,
    "cli": 6,
}
LAYER_PEERS: set[tuple[str, str]] = set()


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    return {_module_name(p): p for pkg in LAYERS for p in sorted((ROOT / pkg).rglob("*.py"))}


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The project module an imported name lives in (a name may be a module's attribute)."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def import_graph() -> dict[str, set[str]]:
    """module → project modules it imports (``from pkg import mod`` counts as pkg.mod)."""
    modules = project_modules()
    graph: dict[str, set[str]] = defaultdict(set)
    for mod, path in modules.items():
        package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                targets = [f"{base}.{a.name}" for a in node.names]
            for t in targets:
                hit = _resolve(t, modules)
                if hit and hit != mod:
                    graph[mod].add(hit)
        graph.setdefault(mod, set())
    return dict(graph)


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
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


def test_the_graph_is_read() -> None:
    """The checker sees the imports it is meant to judge (a checker that reads nothing passes)."""
    g = import_graph()
    assert "service.orders" in g["api.routes.work_orders"]
    assert "scheduler.planner" in g["scheduler.commissioning"]  # a from-import of names
    assert "service.parts" in g["reports.builders"]  # `from service import parts`
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_circle() -> None:
    found = cycles(import_graph())
    assert found == [], "import circles: " + "; ".join(" ↔ ".join(c) for c in found)


def test_imports_run_down_the_layers() -> None:
    wrong = []
    for mod, deps in import_graph().items():
        a = mod.split(".")[0]
        for dep in deps:
            b = dep.split(".")[0]
            if a == b or (a, b) in LAYER_PEERS:
                continue
            if LAYERS[b] >= LAYERS[a]:
                wrong.append(f"{mod} → {dep} ({a} layer {LAYERS[a]}, {b} layer {LAYERS[b]})")
    assert wrong == [], "imports against the layers:\n" + "\n".join(sorted(wrong))


# SQL lives in repository modules (``*repository.py``). These modules talk to PostgreSQL
# itself, not to the service's data: they keep their few statements.
SQL_INFRASTRUCTURE = {
    "core.db": "connection checks",
    "core.dialect": "probing for TimescaleDB",
    "core.embedded": "creating the embedded cluster's database",
    "core.maintenance": "calling the migrations' maintenance functions, TimescaleDB job health",
    "core.migrate": "the migration runner",
    "scheduler.leader": "advisory locks for leader election",
    "api.routes.health": "the readiness probe",
}
SQL = re.compile(
    r"\b(SELECT\s+[\w*(]|INSERT INTO|UPDATE \w+ SET|DELETE FROM|CREATE (?:TABLE|EXTENSION|DATABASE)"
    r"|WITH \w+ AS \()"
)


def test_sql_only_in_repositories() -> None:
    outside = []
    for mod, path in project_modules().items():
        if path.stem.endswith("repository") or mod in SQL_INFRASTRUCTURE:
            continue
        hits = SQL.findall(path.read_text(encoding="utf-8"))
        if hits:
            outside.append(f"{mod}: {len(hits)} statements ({', '.join(hits[:3])} …)")
    assert outside == [], "SQL outside repository modules:\n" + "\n".join(outside)
    assert SQL.findall('conn.execute("SELECT id FROM staff")') == ["SELECT i"]


MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 80


def test_modules_and_functions_stay_readable() -> None:
    """No module over 400 lines, no function over 80 (docstring and signature included)."""
    long = []
    for mod, path in project_modules().items():
        text = path.read_text(encoding="utf-8")
        if (n := len(text.splitlines())) > MAX_MODULE_LINES:
            long.append(f"module {mod}: {n} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                assert node.end_lineno is not None
                if (n := node.end_lineno - node.lineno + 1) > MAX_FUNCTION_LINES:
                    long.append(f"function {mod}.{node.name}: {n} lines")
    assert long == [], "\n".join(long)
