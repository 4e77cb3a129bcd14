"""Shared test set-up: headless Qt, and the third-party test material in ../shared/data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Qt aborts the process without a display unless this is set before Qt is imported.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder of real recordings and third-party EDF files; skip when absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present on this machine")
    return SHARED_DATA
