"""The session's problems reach the window on the GUI thread, and stop when it closes."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from drivers.simulator import SimulatorSource
from monitor.problems import Severity
from monitor.session import Session
from simulation.emgsynth import SimConfig
from ui.bridge import SessionBridge


def test_a_detached_bridge_hears_no_more_and_the_session_forgets_it(qtbot):
    session = Session(SimulatorSource(SimConfig(seed=1), realtime=False, duration_s=1.0))
    session.open()
    bridge = SessionBridge(session)
    got = []
    bridge.problem.connect(got.append)
    session._report(Severity.WARNING, "first")
    qtbot.waitUntil(lambda: [p.text for p in got] == ["first"], timeout=2000)
    bridge.detach()
    assert bridge._on_problem not in session._listeners
    session._report(Severity.WARNING, "after the window closed")
    bridge.deleteLater()
    qtbot.wait(50)
    assert [p.text for p in got] == ["first"]
    session.stop()
