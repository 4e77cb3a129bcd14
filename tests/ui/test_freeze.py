"""Freeze and measure: the traces hold still while acquisition goes on; cursors read µV/ms."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt

from drivers.simulator import SimulatorSource
from monitor.session import Session
from simulation.emgsynth import SimConfig


@pytest.fixture
def window(qtbot):
    from monitor.casemodel import CaseModel
    from ui.mainwindow import MainWindow

    session = Session(SimulatorSource(SimConfig(seed=5)))
    session.open()
    session.start()
    win = MainWindow(CaseModel.on_session(session))
    win.resize(1366, 768)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: session.status().signal_seconds > 1.5, timeout=5000)
    yield win
    win.close()
    session.stop()


def test_freeze_holds_the_traces_while_acquisition_goes_on(window, qtbot):
    qtbot.keyClick(window, Qt.Key.Key_F)
    fz = window.freeze
    assert fz.frozen is not None and window.traces.frozen
    held_end = fz.frozen.end
    _x, y = fz._full[0].getData()
    before = window.session.status().end_index
    qtbot.wait(400)
    window.refresh()
    assert window.session.status().end_index > before  # acquisition goes on
    _x2, y2 = fz._full[0].getData()
    np.testing.assert_array_equal(y, y2)  # the screen does not move
    assert fz.frozen.end == held_end
    assert "FROZEN" in window.status_line.text()
    # Full resolution: every sample of the window, not the envelope's columns.
    assert len(fz.frozen.samples) == min(
        round(window.traces.window_s * window.traces.rate), held_end
    )
    qtbot.keyClick(window, Qt.Key.Key_F)
    assert fz.frozen is None and not window.traces.frozen
    window.refresh()
    assert "FROZEN" not in window.status_line.text()


def test_cursors_read_the_samples_in_microvolts_and_milliseconds(window, qtbot):
    qtbot.keyClick(window, Qt.Key.Key_F)
    fz = window.freeze
    fz.set_cursors(-0.5, -0.4875)
    assert fz.delta_ms() == pytest.approx(12.5)
    snap = fz.frozen
    n, rate = len(snap.samples), snap.rate
    for ch, r in enumerate(fz.readings()):
        assert r.first_uv == pytest.approx(float(snap.samples[n - round(0.5 * rate), ch]))
        assert r.second_uv == pytest.approx(float(snap.samples[n - round(0.4875 * rate), ch]))
        assert r.label == window.traces.labels[ch]
    assert "Δt 12.5 ms" in fz._readouts[0].toPlainText()
    # Dragging one channel's cursor moves it on every channel.
    fz._cursors[2][0].setValue(-0.25)
    assert all(pair[0].value() == pytest.approx(-0.25) for pair in fz._cursors)
    qtbot.keyClick(window, Qt.Key.Key_Z)
    lo, hi = window.traces._plots[3].viewRange()[0]  # all channels zoom together
    assert lo < -0.4875 and hi > -0.25 and hi - lo < 0.5  # both cursors, zoomed in
    qtbot.keyClick(window, Qt.Key.Key_X)
    lo, hi = window.traces._plots[0].viewRange()[0]
    assert lo == pytest.approx(-window.traces.window_s) and hi == pytest.approx(0)


def test_a_marked_moment_is_laid_behind_the_frozen_traces(window, qtbot):
    qtbot.keyClick(window, Qt.Key.Key_M)
    mark = window.freeze.mark
    assert mark is not None
    assert "Moment marked" in window.event_log.texts(0)[2]
    qtbot.wait(300)
    qtbot.keyClick(window, Qt.Key.Key_F)
    qtbot.keyClick(window, Qt.Key.Key_C)
    ghost = window.freeze._ghosts[1]
    assert ghost.isVisible()
    np.testing.assert_array_equal(ghost.getData()[1], mark.samples[:, 1])
    assert window.freeze.frozen.end > mark.end
    assert "marked at" in window.freeze.caption()
    qtbot.keyClick(window, Qt.Key.Key_C)
    assert not ghost.isVisible()
