"""The judge is written independently of the simulator: nothing in validation/ imports drivers."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def imported_top_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
        elif isinstance(node, ast.Call) and getattr(node.func, "id", "") == "__import__":
            names.update(a.value.split(".")[0] for a in node.args if isinstance(a, ast.Constant))
    return names


def test_no_validation_module_imports_drivers():
    modules = sorted((ROOT / "validation").rglob("*.py"))
    assert modules, "validation/ holds no modules"
    offenders = [str(p.relative_to(ROOT)) for p in modules if "drivers" in imported_top_modules(p)]
    assert offenders == []


def test_the_bench_imports_no_driver_either():
    assert "drivers" not in imported_top_modules(ROOT / "bench" / "validation_grid.py")


def test_the_check_sees_an_import_of_drivers(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from simulation.emgsynth import EmgSynth\nimport drivers.simulator\n")
    assert "drivers" in imported_top_modules(bad)
