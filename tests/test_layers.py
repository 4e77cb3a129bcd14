"""The layers point one way: commands, the screen, then training, presentation and drivers,
then the simulation, then the core; nothing below the screen imports Qt."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_the_layer_contracts_hold():
    """import-linter's contracts (``[tool.importlinter]`` in pyproject.toml): each layer
    imports only those below it (commands > ui > training | presentation | drivers >
    simulation > monitor); nothing below the screen imports Qt; the validation generator
    nothing of the simulator or the screen. Imports inside functions count too."""
    pytest.importorskip("importlinter")
    command = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run(
        [str(command), "--no-cache"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


def test_importing_every_core_module_loads_no_qt():
    modules = [
        ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for pkg in ("monitor", "simulation", "drivers", "presentation", "training")
        for p in (ROOT / pkg).rglob("*.py")
    ]
    assert "monitor.evoked.analyzer" in modules and "presentation.feed" in modules
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


#: Made only by the case model's factory (sessions, pipelines) or by a source description
#: (drivers.sources): a front end that builds its own would wire the monitor differently.
_MADE_BY_THE_MODEL = {
    "Session",
    "attach_pipeline",
    "open_pipeline",
    "ReplaySource",
    "SerialSource",
    "SimulatorSource",
    "SimulatedAmplifierSource",
    "ScenarioSource",
    "ScenarioAmplifierSource",
}


def test_one_factory_assembles_the_pipeline_for_every_front_end():
    """The screen, headless, the scenarios and ``analyze`` open their case through
    ``monitor.casemodel.open_case``; none makes a session, a pipeline or a driver's source
    itself, and none guesses what a source can do from its class or its description
    (``Capabilities`` says it)."""
    files = [ROOT / "main.py"]
    for pkg in ("ui", "commands", "training"):
        files += sorted((ROOT / pkg).rglob("*.py"))
    offenders = []
    for path in files:
        text = path.read_text(encoding="utf-8")
        where = path.relative_to(ROOT)
        if '"24 bit"' in text:
            offenders.append(f"{where}: bit depth read from a description")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
                if name in _MADE_BY_THE_MODEL:
                    offenders.append(f"{where}:{node.lineno}: {name}(...)")
            if isinstance(node, ast.Name) and node.id == "ReplaySource":
                offenders.append(f"{where}:{node.lineno}: a test of the source's class")
    assert offenders == []
