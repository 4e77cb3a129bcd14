"""Everything below the screen passes the type checker: the core, the simulation, the
drivers, the presentation and training (settings in pyproject.toml's [tool.mypy])."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_everything_below_the_screen_type_checks_clean():
    pytest.importorskip("mypy")
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "monitor",
            "simulation",
            "drivers",
            "presentation",
            "training",
        ],
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, f"mypy found problems:\n{run.stdout}{run.stderr}"
