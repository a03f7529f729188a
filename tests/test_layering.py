"""The layout's contract (DESIGN.md, "Target layout"), kept by reading every import of the
package, those inside functions and under TYPE_CHECKING included."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "aggregator"
BACKENDS = ("store.memory", "store.tinydb", "store.postgres", "store.disk", "store.codec",
            "store.migrate")
ABOVE_STORE = ("ingest", "publish", "render", "run", "core", "cli", "operations", "explain",
               "server", "metrics")


def module_of(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path) -> set[str]:
    """The aggregator modules (and names) ``path`` imports, relative ones resolved."""
    found: set[str] = set()
    package = module_of(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(package[:len(package) - node.level + 1]) if node.level else ""
            module = ".".join(x for x in (base, node.module or "") if x)
            found.add(module)
            found.update(f"{module}.{a.name}" for a in node.names)
    return {m.removeprefix("aggregator.") for m in found
            if m == "aggregator" or m.startswith("aggregator.")}


def graph() -> dict[str, set[str]]:
    return {module_of(p).removeprefix("aggregator").lstrip("."): imported(p)
            for p in PACKAGE.rglob("*.py")}


def in_stage(module: str, *stages: str) -> bool:
    return any(module == s or module.startswith(s + ".") for s in stages)


def offenders(stages: tuple[str, ...], forbidden: tuple[str, ...]) -> list[str]:
    return sorted(f"{m} imports {i}" for m, found in graph().items() if in_stage(m, *stages)
                  for i in found if in_stage(i, *forbidden) and not in_stage(i, *stages))


def test_the_pure_stages_import_no_store_backend_no_driver_and_no_facade() -> None:
    assert offenders(("ingest", "stories", "render", "schedule"),
                     (*BACKENDS, "run", "core")) == []


def test_stories_render_and_schedule_import_no_store_at_all() -> None:
    assert offenders(("stories", "render", "schedule"), ("store",)) == []


def test_the_store_imports_no_higher_stage() -> None:
    assert offenders(("store",), ABOVE_STORE) == []


def test_no_import_cycle_between_top_level_entries() -> None:
    edges: dict[str, set[str]] = {}
    for module, found in graph().items():
        top = module.split(".")[0]
        edges.setdefault(top, set()).update(
            i.split(".")[0] for i in found if i != "aggregator" and i.split(".")[0] != top)
    edges.pop("", None)  # the package's own __init__ re-exports the facade

    def reaches(start: str, goal: str) -> bool:
        seen, todo = set(), [start]
        while todo:
            for nxt in edges.get(todo.pop(), set()) - seen:
                if nxt == goal:
                    return True
                seen.add(nxt)
                todo.append(nxt)
        return False
    assert sorted(f"{a} <-> {b}" for a in edges for b in edges[a] if reaches(b, a)) == []


def test_at_most_25_top_level_entries() -> None:
    entries = [p.name for p in PACKAGE.iterdir() if p.name != "__pycache__"
               and (p.suffix == ".py" or (p / "__init__.py").exists())]
    assert len(entries) <= 25, sorted(entries)


@pytest.mark.parametrize("stage", ["config", "ingest", "ingest/parse", "stories", "store",
                                   "publish", "render", "run", "cli"])
def test_every_stage_package_is_there(stage: str) -> None:
    assert (PACKAGE / stage / "__init__.py").is_file()
