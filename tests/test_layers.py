"""The package's layers, read from the source: blueprints -> services -> jobs -> grading -> llm/lean,
never back up. Every import counts, including those inside functions (a lazy import is still a
dependency). A parent package's __init__ is not counted as imported by its children: the edges
are the imports the code writes.
"""
from __future__ import annotations

import ast
from collections import deque
from pathlib import Path

import pytest

from support import PROJECT_ROOT

PACKAGE = PROJECT_ROOT / "classroom"
BLUEPRINTS = ("auth", "teacher", "student", "api", "web", "admin", "lti")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PROJECT_ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """Modules (of this package, or top-level third-party names) that `name` imports anywhere."""
    is_package = path.name == "__init__.py"
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:  # `from . import jobs` imports the module classroom.jobs
                sub = f"{target}.{alias.name}"
                out.add(sub if sub in known else target)
    return out


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    return {name: _imports(name, path, known) for name, path in modules.items()}


def _path(graph: dict[str, set[str]], start: str, bad) -> list[str] | None:
    """A chain of imports from `start` to a module for which bad(name) holds, or None."""
    seen = {start}
    queue = deque([[start]])
    while queue:
        chain = queue.popleft()
        for nxt in sorted(graph.get(chain[-1], ())):
            if bad(nxt):
                return chain + [nxt]
            if nxt in graph and nxt not in seen:
                seen.add(nxt)
                queue.append(chain + [nxt])
    return None


def _under(*prefixes: str):
    return lambda name: any(name == p or name.startswith(p + ".") for p in prefixes)


def test_the_graph_sees_the_imports_written_in_functions(graph):
    # services/authoring imports grading.generation inside a function: it must show up.
    assert "classroom.grading.generation" in graph["classroom.services.authoring"]
    assert "classroom.jobs" in graph["classroom.services.submissions"]


def test_grading_never_reaches_services(graph):
    for name in sorted(n for n in graph if _under("classroom.grading")(n)):
        chain = _path(graph, name, _under("classroom.services"))
        assert chain is None, "grading imports services: " + " -> ".join(chain)


@pytest.mark.parametrize("forbidden", ["flask", "flask_login", "flask_wtf", "sqlmodel", "sqlalchemy", "classroom.db",
                                       "classroom.models", "classroom.services", "classroom.grading",
                                       "classroom.jobs"])
def test_llm_knows_no_flask_database_or_services(graph, forbidden):
    for name in sorted(n for n in graph if _under("classroom.llm")(n)):
        chain = _path(graph, name, _under(forbidden))
        assert chain is None, "llm/ depends on " + forbidden + ": " + " -> ".join(chain)


def test_lower_layers_never_import_blueprints(graph):
    blueprints = _under(*(f"classroom.{b}" for b in BLUEPRINTS))
    for layer in ("classroom.services", "classroom.grading", "classroom.llm", "classroom.lean", "classroom.jobs"):
        for name in sorted(n for n in graph if _under(layer)(n)):
            chain = _path(graph, name, blueprints)
            assert chain is None, "a lower layer imports a blueprint: " + " -> ".join(chain)


def test_blueprints_call_services_not_jobs_grading_or_models_clients(graph):
    below = _under("classroom.jobs", "classroom.grading", "classroom.llm", "classroom.lean")
    for bp in BLUEPRINTS:
        for name in sorted(n for n in graph if _under(f"classroom.{bp}")(n)):
            direct = sorted(m for m in graph[name] if below(m))
            assert not direct, f"{name} imports {direct}; blueprints go through classroom.services"


def test_route_modules_do_not_import_each_other(graph):
    routes = {n for n in graph if n.rsplit(".", 1)[-1].endswith("routes")}
    for name in sorted(routes):
        others = sorted(m for m in graph[name] if m in routes and m != name)
        assert not others, f"{name} imports {others}; shared pieces belong in the blueprint's helpers or forms"


@pytest.mark.parametrize("forbidden", ["flask", "flask_login", "sqlmodel", "sqlalchemy", "classroom.db",
                                       "classroom.models", "classroom.services", "classroom.jobs"])
def test_charts_draw_from_numbers_only(graph, forbidden):
    """classroom/charts turns figures into SVG: no Flask, database or services behind it."""
    for name in sorted(n for n in graph if _under("classroom.charts")(n)):
        chain = _path(graph, name, _under(forbidden))
        assert chain is None, "charts/ depends on " + forbidden + ": " + " -> ".join(chain)
