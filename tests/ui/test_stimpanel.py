"""The stimulator from the screen, and the LSR workflow checklist."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

import itertools

from drivers.replay import ReplaySource
from drivers.simamplifier import SimulatedAmplifierSource
from monitor.evoked import EvokedAnalyzer
from monitor.session import Session
from monitor.stimulator import StimulatorError, StimulatorSettings
from simulation.emgsynth import SimConfig

DEMO = Path(__file__).resolve().parents[2] / "recordings" / "demo_mvd.edf"


@pytest.fixture
def amplifier():
    source = SimulatedAmplifierSource(SimConfig(seed=2, stim_rate_hz=1.0))
    session = Session(source)
    session.open()
    evoked = EvokedAnalyzer(source.info.rate, source.info.labels)
    session.subscribe("Evoked", evoked)
    session.start()
    yield source, evoked
    session.stop()


def test_settings_go_to_the_amplifier_and_come_back(qtbot, amplifier):
    from ui.stimpanel import StimulatorPanel

    source, evoked = amplifier
    panel = StimulatorPanel(source, evoked)
    qtbot.addWidget(panel)
    assert panel.settings() == StimulatorSettings(15.0, 0.2, 1.0, "zygomatic", True)
    panel.current.setValue(8.5)
    panel.rate.setCurrentText("2 Hz")
    panel.site.setCurrentText("marginal mandibular")
    panel.send()
    qtbot.waitUntil(lambda: not panel.sending, timeout=5000)
    assert panel.answer.text().startswith("Stimulator set: 8.5 mA, 0.2 ms, 2 Hz")
    assert source.stimulator() == StimulatorSettings(8.5, 0.2, 2.0, "marginal mandibular")
    cfg = source.amplifier.synth.cfg  # the simulated device stimulates with them
    assert (cfg.stim_current_ma, cfg.stim_rate_hz) == (8.5, 2.0)


def test_settings_that_must_not_reach_a_patient_are_refused_in_words(qtbot, amplifier):
    from ui.stimpanel import StimulatorPanel

    source, evoked = amplifier
    panel = StimulatorPanel(source, evoked)
    qtbot.addWidget(panel)
    panel.width_box.setCurrentText("5 ms")
    panel.send()
    assert "pulse width must be 0.05 to 1 ms" in panel.answer.text()
    assert not panel.sending  # nothing was sent
    with pytest.raises(StimulatorError, match="current must be 0 to 30 mA"):
        StimulatorSettings(current_ma=250)


def test_a_recording_has_no_stimulator_to_set(qtbot):
    from ui.stimpanel import StimulatorPanel

    source = ReplaySource(DEMO, realtime=False)
    source.open()
    panel = StimulatorPanel(source, None)
    qtbot.addWidget(panel)
    panel.on.setChecked(True)
    panel.send()
    qtbot.waitUntil(lambda: not panel.sending, timeout=5000)
    assert panel.answer.text() == "Not set: demo_mvd.edf has no stimulator to set."
    source.close()


def test_the_checklist_follows_the_lsr(qtbot, amplifier):
    from ui.stimpanel import StimulatorPanel

    source, evoked = amplifier
    panel = StimulatorPanel(source, evoked)
    qtbot.addWidget(panel)
    # Stimulating, the LSR shows up; the baseline is taken (here automatically) ...
    qtbot.waitUntil(lambda: panel.current_step() >= 2, timeout=20_000)
    qtbot.waitUntil(lambda: evoked.baseline() is not None, timeout=20_000)
    assert panel.current_step() == 3  # ... so the case is tracking the LSR
    panel.refresh()
    assert "background:#ffd600" in panel.step_labels[3].styleSheet()
    assert panel.baseline_button.isEnabled()


def test_the_simulator_stimulates_with_the_new_settings_from_the_next_pulse():
    from drivers.simulator import SimulatorSource

    source = SimulatorSource(SimConfig(seed=3, stim_rate_hz=1.0), realtime=False)
    source.open()
    stims = []
    while source._next < 5 * 10_000:  # 5 s at 1 Hz
        stims += source.read().stims
    source.set_stimulator(StimulatorSettings(6.0, 0.3, 4.0, "temporal", True))
    changed_at = source._next
    later = []
    while source._next < changed_at + 2 * 10_000:
        later += source.read().stims
    assert all(m.index >= changed_at for m in later)  # no pulse replayed in the past
    gaps = {b.index - a.index for a, b in itertools.pairwise(later)}
    assert gaps == {2500}  # 4 Hz
    assert {(m.current_ma, m.width_ms, m.site) for m in later} == {(6.0, 0.3, "temporal")}
    assert source.stimulator() == StimulatorSettings(6.0, 0.3, 4.0, "temporal", True)
    source.set_stimulator(StimulatorSettings(6.0, 0.3, 4.0, "temporal", False))
    off_at = source._next
    quiet = []
    while source._next < off_at + 10_000:
        quiet += source.read().stims
    assert quiet == [] and not source.stimulator().on
    assert len(stims) >= 3


@pytest.fixture
def window(qtbot):
    from drivers.simulator import SimulatorSource
    from monitor.casemodel import CaseModel
    from monitor.montage import default_labels
    from ui.mainwindow import MainWindow

    session = Session(SimulatorSource(SimConfig(seed=1, labels=default_labels(4))))
    session.start()
    win = MainWindow(CaseModel.on_session(session))
    win.resize(1600, 900)
    qtbot.addWidget(win)
    win.show()
    win.activateWindow()
    qtbot.waitUntil(win.isActiveWindow, timeout=5000)
    yield win
    win.close()
    session.stop()


def _rect(widget, win):
    from PySide6.QtCore import QPoint, QRect

    return QRect(widget.mapTo(win, QPoint(0, 0)), widget.size())


def test_the_panel_docks_beside_the_traces_and_covers_nothing(window, qtbot):
    from PySide6.QtWidgets import QDockWidget

    window.open_stimulator()
    panel = window.stim_panel
    qtbot.waitUntil(panel.isVisible, timeout=5000)
    assert isinstance(panel, QDockWidget) and not panel.isFloating()
    qtbot.waitUntil(lambda: window.width() == 1600, timeout=5000)  # the window did not grow
    for part in (window.traces, window.traintime, window.alarm_banner, window.event_log):
        assert not _rect(panel, window).intersects(_rect(part, window)), part
    assert window.traces.width() > 300  # the traces shrank beside it, still there
    assert panel.timer.isActive()
    panel.close()
    assert not panel.isVisible() and not panel.timer.isActive()  # closed, it polls nothing


def test_escape_closes_the_panel_whatever_has_the_keyboard(window, qtbot):
    from PySide6.QtCore import Qt

    window.open_stimulator()
    panel = window.stim_panel
    qtbot.waitUntil(panel.isVisible, timeout=5000)
    panel.site.setFocus()  # in the panel
    qtbot.keyClick(panel.site, Qt.Key.Key_Escape)
    assert not panel.isVisible()
    window.open_stimulator()
    qtbot.waitUntil(panel.isVisible, timeout=5000)
    window.traces.setFocus()  # on the monitor's screen, not in the panel
    qtbot.keyClick(window, Qt.Key.Key_Escape)
    assert not panel.isVisible()
    window.open_stimulator()  # T again: the same panel
    qtbot.waitUntil(panel.isVisible, timeout=5000)
    panel.current.setFocus()
    qtbot.keyClick(panel.current, Qt.Key.Key_Escape)
    assert not panel.isVisible()


def test_the_panels_keys_act_only_while_it_has_the_keyboard(window, qtbot):
    from PySide6.QtCore import Qt

    window.open_stimulator()
    panel = window.stim_panel
    qtbot.waitUntil(panel.isVisible, timeout=5000)
    window.traces.setFocus()
    before = panel.on.isChecked()
    qtbot.keyClick(window, Qt.Key.Key_O)  # a stray O on the screen switches nothing
    assert panel.on.isChecked() == before and not panel.sending
    panel.current.setFocus()
    qtbot.keyClick(panel.current, Qt.Key.Key_Return)  # Enter in the form sends it
    assert panel.sending or panel.answer.text()
    qtbot.waitUntil(lambda: not panel.sending, timeout=5000)
    assert panel.answer.text().startswith("Stimulator set")
