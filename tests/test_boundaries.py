"""The engine must run headless: nothing under sync/ may import Textual."""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_no_module_under_sync_imports_textual():
    offenders = []
    for path in sorted((ROOT / "sync").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            if any(n == "textual" or n.startswith("textual.") for n in names):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == [], f"sync/ must not import Textual: {offenders}"


def test_importing_every_sync_module_loads_no_textual():
    # Dynamic imports escape the static check above; import everything and look.
    code = (
        "import importlib, pkgutil, sys, sync\n"
        "for m in pkgutil.walk_packages(sync.__path__, 'sync.'):\n"
        "    importlib.import_module(m.name)\n"
        "bad = sorted(n for n in sys.modules if n == 'textual' or n.startswith('textual.'))\n"
        "print(bad)\n"
        "sys.exit(1 if bad else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(module: str, path: Path, modules: set[str]) -> set[str]:
    """The sync modules `module` imports anywhere in its text: at the top, inside functions and
    under TYPE_CHECKING alike (a late import only hides a circle, it does not untie it)."""
    found: set[str] = set()
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name in modules}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                # `from pkg import sub` imports the submodule; `from pkg import name` runs pkg/__init__.
                if f"{target}.{alias.name}" in modules:
                    found.add(f"{target}.{alias.name}")
                elif target in modules:
                    found.add(target)
    found.discard(module)
    return found


def import_circles(root: Path) -> list[list[str]]:
    """Every set of sync modules that import each other round in a circle (Tarjan's SCCs)."""
    paths = {_module_name(p, root): p for p in sorted((root / "sync").rglob("*.py"))}
    graph = {m: _imports(m, p, set(paths)) for m, p in paths.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                circles.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return circles


def test_no_import_circles_in_sync():
    # Each emulator (and the engine) must read top-down: a registry the seeds do not import
    # back, admin routes that take the parts they serve, one delete rule both paths import.
    assert import_circles(ROOT) == []


def test_the_circle_check_finds_a_circle(tmp_path):
    pkg = tmp_path / "sync" / "sandbox"
    pkg.mkdir(parents=True)
    (tmp_path / "sync" / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .b import B\n")
    (pkg / "b.py").write_text("def f():\n    from sync.sandbox import a\n")
    (pkg / "c.py").write_text("from . import a\n")
    assert import_circles(tmp_path) == [["sync.sandbox.a", "sync.sandbox.b"]]
