"""The architecture as the folder listing promises it: domain code never imports an adapter,
and the library's modules import each other without a circle."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "nailfolio"
DOMAIN = ("gallery", "comments", "identity", "web")
ADAPTERS = ("nailfolio.local", "nailfolio.aws")


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every nailfolio module `path` imports, at its top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in found if name.startswith("nailfolio")}


def test_no_domain_module_imports_an_adapter() -> None:
    offenders = {
        _module_name(path): sorted(n for n in _imports(path) if n.startswith(ADAPTERS))
        for package in DOMAIN
        for path in (PACKAGE / package).rglob("*.py")
    }
    assert {name: found for name, found in offenders.items() if found} == {}


def test_top_level_imports_have_no_circle() -> None:
    """Module-level imports only (those inside functions run late, on purpose)."""
    modules = {_module_name(path): path for path in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        targets = set()
        for node in tree.body:
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = {f"{node.module}.{alias.name}" for alias in node.names} | {node.module}
            elif isinstance(node, ast.Import):
                names = {alias.name for alias in node.names}
            else:
                continue
            targets.update(n for n in names if n in modules and n != name)
        graph[name] = targets

    def circle_from(start: str) -> list[str] | None:
        stack, seen = [(start, [start])], set()
        while stack:
            node, trail = stack.pop()
            for nxt in graph[node]:
                if nxt == start:
                    return [*trail, start]
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, [*trail, nxt]))
        return None

    circles = [circle for name in graph if (circle := circle_from(name))]
    assert circles == []
