"""The first screen opens and plots offscreen, and shows problems in words."""

from __future__ import annotations

import numpy as np
import pytest

from monitor.casemodel import CaseModel

pytest.importorskip("pytestqt")

from drivers.simulator import SimulatorSource
from monitor.montage import default_labels
from monitor.problems import Problem, Severity
from monitor.session import Session
from simulation.emgsynth import SimConfig


@pytest.fixture
def window(qtbot):
    from ui.mainwindow import MainWindow

    labels = default_labels(4)
    session = Session(SimulatorSource(SimConfig(seed=1, labels=labels)))
    session.start()
    win = MainWindow(CaseModel.on_session(session))
    win.resize(1400, 800)
    qtbot.addWidget(win)
    win.show()
    yield win
    win.close()
    session.stop()


def test_window_plots_every_channel_with_its_label(window, qtbot):
    qtbot.waitUntil(lambda: window.traces.frames > 5, timeout=5000)
    # The envelope restarts when the plots get their width: wait for 0.5 s drawn after that.
    qtbot.waitUntil(lambda: window.envelope.snapshot()[0].size > 200, timeout=5000)
    window.refresh()
    for ch in range(4):
        x, y = window.traces.curve_data(ch)
        assert x is not None and len(x) > 100
        assert np.isfinite(y).any()
        assert x[-1] <= 0 and x[-1] > -0.1  # newest sample at the right edge
    names = [item.text for item in window.traces._name_items]
    assert names == ["L Orb. oculi", "L Orb. oris", "L Mentalis", "L Frontalis"]


def test_status_bar_names_source_rate_samples_and_gaps(window, qtbot):
    qtbot.waitUntil(lambda: window.session.status().samples > 1000, timeout=5000)
    window.refresh()
    text = window.status_line.text()
    for words in ("LIVE", "Simulator", "4 ch @ 10 kHz", "gaps 0", "20 Hz – 3000 Hz"):
        assert words in text
    assert "samples" in window.status_line.fields["clock"].toolTip()  # detail: a tooltip


def test_problems_reach_the_banner_in_words(window, qtbot):
    window.session._report(Severity.CRITICAL, "The amplifier is unplugged.")
    qtbot.waitUntil(window.banner.isVisible, timeout=2000)
    assert window.banner.text() == "The amplifier is unplugged."
    # A lesser message does not hide a critical one.
    window.show_problem(Problem(Severity.WARNING, "Mains noise on channel 2."))
    assert window.banner.text() == "The amplifier is unplugged."


def test_range_keys_change_the_microvolt_scale(window, qtbot):
    before = window.traces.range_uv
    qtbot.keyClick(window, "+")
    assert window.traces.range_uv > before
    qtbot.keyClick(window, "-")
    qtbot.keyClick(window, "-")
    assert window.traces.range_uv < before
    _, hi = window.traces._plots[0].viewRange()[1]
    assert hi == pytest.approx(window.traces.range_uv, rel=0.05)


def test_window_follows_a_gap_with_a_break(qtbot):
    from ui.mainwindow import MainWindow

    session = Session(SimulatorSource(SimConfig(seed=2), realtime=False, duration_s=3))
    session.open()
    win = MainWindow(CaseModel.on_session(session))
    qtbot.addWidget(win)
    blocks = [session.source.read() for _ in range(100)]
    for b in blocks[:50] + blocks[60:]:
        session.process(b)
    win.refresh()
    _, y = win.traces.curve_data(0)
    assert np.isnan(y).any()
    assert session.status().gaps == 1
    win.close()


def test_traces_say_so_when_they_are_not_live(qtbot):
    from ui.mainwindow import MainWindow

    session = Session(SimulatorSource(SimConfig(seed=3), realtime=False, duration_s=0.5))
    session.start()
    win = MainWindow(CaseModel.on_session(session))
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: not session.running, timeout=5000)
    qtbot.waitUntil(win.stale_label.isVisible, timeout=3000)
    assert win.stale_label.text() == "STOPPED"
    win.close()


def test_a_display_error_goes_to_the_problem_line_not_a_modal_box(window):
    import sys

    from ui.app import install_error_handlers

    old = sys.excepthook
    try:
        install_error_handlers(lambda: window)
        sys.excepthook(RuntimeError, RuntimeError("paint bug"), None)
    finally:
        sys.excepthook = old
    assert "internal error" in window.banner.text()
    assert window.timer.isActive()


def press(win, key: str) -> None:
    """Fire the window's one-key shortcut (offscreen windows are not always active)."""
    from PySide6.QtGui import QKeySequence, QShortcut

    (shortcut,) = [s for s in win.findChildren(QShortcut) if s.key() == QKeySequence(key)]
    shortcut.activated.emit()


def recording_window(qtbot, folder, case_id: str):
    """A window on an offline simulator session, recording into ``folder`` with R;
    the session is fed by the test."""
    from ui.mainwindow import MainWindow

    session = Session(SimulatorSource(SimConfig(seed=5), realtime=False))
    session.open()
    win = MainWindow(CaseModel.on_session(session, record_folder=str(folder), case_id=case_id))
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    return session, win


def test_record_key_starts_and_stops_a_recording_and_notes_go_into_it(qtbot, tmp_path, monkeypatch):
    from drivers.edfreader import EdfFile

    session, win = recording_window(qtbot, tmp_path, "t1")
    assert "not recording" in (win.refresh() or win.rec_label.text()).lower()
    press(win, "R")
    assert win.recorder is not None, win.banner.text()
    for _ in range(300):  # 3 s of signal
        session.process(session.source.read())
    monkeypatch.setattr("ui.mainwindow.ask_text", lambda *a, **k: ("vessel moved", True))
    press(win, "N")
    win.refresh()
    assert win.rec_label.text().startswith("● REC")
    path = win.recorder.path
    press(win, "R")  # stopping asks first
    qtbot.waitUntil(lambda: win.stop_question is not None and win.stop_question.isVisible())
    win.stop_question.stop_button.click()
    assert win.recorder is None
    f = EdfFile(path)
    notes, _ = f.read_annotations()
    f.close()
    assert any(n.text == "note: vessel moved" for n in notes)
    assert path.name.endswith("_t1.edf")
    win.close()


def test_a_recording_stopped_by_a_removed_folder_is_shown_and_r_starts_a_new_one(qtbot, tmp_path):
    import shutil

    folder = tmp_path / "case"
    folder.mkdir()
    session, win = recording_window(qtbot, folder, "t2")
    press(win, "R")
    assert win.recorder is not None
    shutil.rmtree(folder)

    def fed_and_failed() -> bool:
        session.process(session.source.read())
        return win.recorder.failed

    qtbot.waitUntil(fed_and_failed, timeout=5000)
    win.refresh()
    assert win.rec_label.text() == "REC STOPPED — see alarm"
    assert win.actions.buttons["record"].text() == "Record (R)"  # not "Stop recording"
    assert "Recording stopped: the folder" in win.alarm_banner.text_label.text()
    folder.mkdir()
    press(win, "R")  # a new recording, in the folder put back
    assert not win.recorder.failed and win.recorder.path.parent == folder
    win.close()
