"""No two modules of ``extract`` import each other, not even under ``TYPE_CHECKING`` or inside a
function: a pair that does is one concern split across two files (issue 22 broke the last three)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parents[1]
PACKAGE = PACKAGE_ROOT.name


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE_ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported_modules(path: Path, known: set[str]) -> set[str]:
    """Every project module that ``path`` imports, wherever the import statement stands."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from extract.x import y` names the module x.y where there is one, else a member of x
            submodules = [f"{node.module}.{alias.name}" for alias in node.names]
            names = [name for name in submodules if name in known] or [node.module]
        else:
            continue
        found.update(name for name in names if name in known)
    return found


def _import_graph() -> dict[str, set[str]]:
    sources = {_module_name(path): path for path in PACKAGE_ROOT.rglob("*.py") if "tests" not in path.parts}
    known = set(sources)
    return {name: _imported_modules(path, known) - {name} for name, path in sources.items()}


def test_the_graph_sees_imports() -> None:
    graph = _import_graph()
    # guards the test itself: a parser that found nothing would pass the circle check vacuously
    assert "extract.sync.runner" in graph
    assert "extract.sync.results" in graph["extract.sync.runner"]
    assert sum(len(targets) for targets in graph.values()) > 100


def test_no_two_modules_import_each_other() -> None:
    graph = _import_graph()
    circles = sorted(
        f"{a} <-> {b}" for a, targets in graph.items() for b in targets if a < b and a in graph.get(b, set())
    )
    assert circles == []
