"""Cyclic garbage is freed on the GUI thread, never on a worker thread."""

from __future__ import annotations

import gc
import threading
from typing import ClassVar

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QObject

from ui.gcpolicy import GuiThreadGarbageCollector


class _Cycle(QObject):
    """A Qt object in a reference cycle, as a closed window with connected lambdas is;
    it notes the thread its Python side is freed on."""

    freed_on: ClassVar[list[str]] = []

    def __init__(self) -> None:
        super().__init__()
        self.me = self

    def __del__(self) -> None:
        _Cycle.freed_on.append(threading.current_thread().name)


def test_cycles_are_freed_on_the_gui_thread_while_workers_allocate(qtbot):
    gc.enable()  # as in a plain process: the collector must switch it off itself
    collector = GuiThreadGarbageCollector(interval_ms=20)
    _Cycle.freed_on.clear()
    try:
        for _ in range(20):
            _Cycle()  # unreachable at once, freed only by the cyclic collector

        kept: list[list[int]] = []

        def churn() -> None:  # a worker allocating as the acquisition thread does
            kept.extend([k] for k in range(5 * gc.get_threshold()[0]))

        worker = threading.Thread(target=churn, name="acquisition")
        worker.start()
        worker.join()
        assert _Cycle.freed_on == []  # the worker passed the thresholds many times
        qtbot.waitUntil(lambda: len(_Cycle.freed_on) == 20, timeout=5000)
        assert set(_Cycle.freed_on) == {threading.main_thread().name}
    finally:
        collector.stop()
        gc.disable()  # the test session keeps automatic collection off (conftest)


def test_a_full_collection_runs_at_most_every_five_minutes(qtbot, monkeypatch):
    """A full collection stalls the GUI thread for a fraction of a second with a large
    heap: when the old generation is due, the young ones are collected instead unless
    FULL_EVERY_S has passed."""
    from ui import gcpolicy

    collector = gcpolicy.GuiThreadGarbageCollector(interval_ms=10_000)
    asked: list[int] = []
    monkeypatch.setattr(gcpolicy.gc, "get_count", lambda: (10_000, 100, 100))
    monkeypatch.setattr(gcpolicy.gc, "collect", lambda generation=2: asked.append(generation))
    now = [1000.0]
    monkeypatch.setattr(gcpolicy.time, "monotonic", lambda: now[0])
    collector._last_full = now[0]
    collector.check()
    now[0] += gcpolicy.FULL_EVERY_S + 1
    collector.check()
    collector.check()
    assert asked == [1, 2, 1]
    monkeypatch.undo()
    collector.stop()
    gc.disable()
