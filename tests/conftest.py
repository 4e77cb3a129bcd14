"""Shared test set-up: headless Qt, and the third-party test material in ../shared/data."""

from __future__ import annotations

import gc
import itertools
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


@pytest.fixture(scope="session", autouse=True)
def _no_collection_on_worker_threads():
    """As the application does (``ui/gcpolicy.py``): Python's cyclic collector runs in
    whichever thread passes its threshold, so an earlier test's closed window (a cycle
    through the lambdas connected to its signals) would be destroyed on a later test's
    acquisition or recorder thread, and Qt aborts the process for that. Automatic
    collection stays off; each test's garbage is collected on the main thread."""
    enabled = gc.isenabled()
    gc.disable()
    yield
    gc.collect()
    if enabled:
        gc.enable()


_tests_run = itertools.count(1)
#: A full collection costs 0.1-0.3 s with the suite's heap: after each test only the young
#: generations (where its garbage is), the old one every this many tests.
FULL_COLLECTION_EVERY = 25


@pytest.fixture(autouse=True)
def _collect_on_the_main_thread():
    yield
    gc.collect(2 if next(_tests_run) % FULL_COLLECTION_EVERY == 0 else 1)
