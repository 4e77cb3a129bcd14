"""The layers point one way: the core and the drivers never import Qt, pyqtgraph or the UI."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN_IN_CORE = ("PySide6", "PyQt5", "PyQt6", "shiboken6", "pyqtgraph", "ui")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", ["monitor", "drivers", "training"])
def test_core_and_drivers_import_no_qt_and_no_ui(package):
    offenders = {
        str(p.relative_to(ROOT)): sorted(imported_modules(p) & set(FORBIDDEN_IN_CORE))
        for p in (ROOT / package).rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_core_never_imports_a_driver():
    offenders = [
        str(p.relative_to(ROOT))
        for p in (ROOT / "monitor").rglob("*.py")
        if "drivers" in imported_modules(p)
    ]
    assert offenders == []


def test_importing_every_core_module_loads_no_qt():
    modules = [
        f"{p.parent.name}.{p.stem}"
        for pkg in ("monitor", "drivers", "training")
        for p in (ROOT / pkg).glob("*.py")
        if p.stem != "__init__"
    ]
    code = (
        "import sys, importlib\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in "
        "('PySide6', 'shiboken6', 'pyqtgraph', 'PyQt5', 'PyQt6')]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == ""


def test_no_script_edits_sys_path():
    """Benches and scripts run against the installed package (``pip install -e .`` in the
    install script), never by editing ``sys.path``."""
    offenders = []
    for path in sorted(ROOT.glob("*.py")) + sorted(ROOT.glob("*/*.py")):
        if path.parts[len(ROOT.parts)] in (".venv", "tests"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and node.attr == "path"
                and isinstance(node.value, ast.Name)
                and node.value.id == "sys"
            ):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []
