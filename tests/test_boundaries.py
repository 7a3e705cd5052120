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


# ---------------------------------------------------------------- who may import whom (DESIGN §2)

# Arrows point down only: console -> screens -> sync.control -> the engine. Every import counts,
# lazy and TYPE_CHECKING ones too (tests/import_graph.py reads them all).
FORBIDDEN = {
    "screens": ("console",),
    "sync": ("console", "screens"),
    # a client of the control socket needs none of the engine's machinery
    "sync.control.remote": ("sync.engine", "sync.store", "sync.clients"),
    "sync.control.wire": ("sync.engine", "sync.store", "sync.clients"),
}


def _graph():
    sys.path.insert(0, str(ROOT / "tests"))
    try:
        import import_graph
    finally:
        sys.path.pop(0)
    return import_graph


def _upward(graph: dict[str, set[str]]) -> list[str]:
    return sorted(
        f"{module} -> {target}"
        for module, targets in graph.items()
        for layer, banned in FORBIDDEN.items() if module == layer or module.startswith(layer + ".")
        for target in targets if any(target == b or target.startswith(b + ".") for b in banned))


def test_no_module_imports_above_itself():
    offenders = _upward(_graph().graph())
    assert offenders == [], f"imports that point up: {offenders}"
    # and the rule sees the arrows it forbids
    assert _upward({"screens.live": {"console.app"}, "sync.control.remote": {"sync.store.journal"},
                    "console.app": {"screens.live"}}) == ["screens.live -> console.app",
                                                          "sync.control.remote -> sync.store.journal"]


def test_no_import_circles_among_console_screens_and_sync():
    tool = _graph()
    assert tool.circles(tool.graph()) == []


def test_the_graph_sees_lazy_and_type_checking_imports():
    # The check is only worth something if it sees the arrows that caused the old circles.
    tool = _graph()
    graph = tool.graph()
    assert "sync.control.api" in graph["screens.host"]  # a module-level import
    assert "sync.engine.single" in graph["console.cli_commands.po"]
    assert "console.startup" in graph["console.app"]  # imported inside a function
    assert "screens.host" in graph["screens.settings"]  # under TYPE_CHECKING
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert tool.circles(edges) == [["a", "b", "c"]]
