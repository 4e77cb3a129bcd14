"""Which case the screen is on, and when: the case id, side and procedure in the window's
title and in its header line; the time of day beside the signal time; in training, the
instructor's case clock in the status bar and the console's waiting text on the traces.

Each window is on an offline simulator session fed by the test (no acquisition thread,
the frame timer stopped); every window is closed by qtbot.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from types import SimpleNamespace

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtWidgets import QApplication

from drivers.replay import ReplaySource
from monitor.casemodel import CaseModel
from monitor.casesetup import CaseSetup, Procedure
from monitor.session import Session
from tests.ui.offline_window import feed, open_window
from tests.ui.test_screen_fit import in_window
from training.clock import CaseClock

DEMO = Path(__file__).resolve().parents[2] / "recordings" / "demo_mvd.edf"
HEADER_MIN_PT = 15  # read from 2 m, as the status bar


def set_up(win, setup: CaseSetup) -> None:
    """The case set up as the case workflow does (F9)."""
    win.model.setup, win.model.case_id = setup, setup.case_id
    win.refresh()


def test_the_title_and_the_header_name_the_case_side_and_procedure(qtbot):
    win = open_window(qtbot, 4, (1366, 768), seconds=1.0)
    set_up(win, CaseSetup("VS-0417", "right", Procedure.VESTIBULAR_SCHWANNOMA))
    header = win.case_header
    for text in (win.windowTitle(), header.text()):
        assert "VS-0417" in text
        assert "RIGHT side" in text
        assert "Vestibular schwannoma" in text
    assert win.windowTitle().startswith("Facial Nerve Monitor — ")
    assert "Simulator" in win.windowTitle()  # the source stays named
    # A line of its own, whole, at the top, in type read from across the room.
    assert header.isVisible() and header.font().pointSize() >= HEADER_MIN_PT
    assert header.font().bold()
    assert header.fontMetrics().horizontalAdvance(header.text()) <= header.contentsRect().width()
    assert in_window(header, win).top() == 0
    assert in_window(header, win).bottom() < in_window(win.alarm_banner, win).top()

    # A new case (F9 again) is followed at once.
    set_up(win, CaseSetup("MVD-0418", "left"))
    assert "MVD-0418 · LEFT side · MVD for hemifacial spasm" in header.text()
    assert "MVD-0418" in win.windowTitle() and "VS-0417" not in win.windowTitle()


def test_a_case_not_set_up_says_so(qtbot):
    win = open_window(qtbot, 4, (1366, 768), seconds=0.5, case_id="MVD-0419")
    assert "MVD-0419" in win.case_header.text()
    assert "not set up" in win.case_header.text() and "F9" in win.case_header.text()
    assert "MVD-0419" in win.windowTitle()
    win.model.case_id = ""
    win.refresh()
    assert win.case_header.text() == "No case set up (F9)"
    assert "No case set up" in win.windowTitle()


def test_the_header_keeps_sixteen_channels_on_screen_at_1366x768(qtbot):
    win = open_window(qtbot, 16, (1366, 768), seconds=3.0)
    set_up(win, CaseSetup("MVD-2026_017", "left", Procedure.OTHER_CPA))
    feed(win, 0.3)
    assert win.case_header.isVisible()
    assert win.traces.channels_not_shown() == [] and not win.fit_notice.isVisible()


def _seconds_between(before: dt.datetime, after: dt.datetime) -> set[str]:
    out, t = set(), before.replace(microsecond=0)
    while t <= after:
        out.add(t.strftime("%H:%M:%S"))
        t += dt.timedelta(seconds=1)
    return out


def test_the_status_shows_the_time_of_day_beside_the_signal_time(qtbot):
    win = open_window(qtbot, 4, (1366, 768), seconds=1.0)
    before = dt.datetime.now()
    win.refresh()
    after = dt.datetime.now()
    fields = win.status_line.fields
    assert fields["daytime"].text() in _seconds_between(before, after)
    assert fields["daytime"].isVisible()
    names = list(fields)
    assert names.index("daytime") == names.index("clock") + 1  # beside the signal time
    text = win.status_text()
    assert f"{fields['clock'].text()}   {fields['daytime'].text()}" in text


def test_a_replay_shows_the_recordings_own_time_of_day(qtbot, monkeypatch):
    from ui.mainwindow import MainWindow
    from ui.redetect import Redetection

    monkeypatch.setattr(Redetection, "start", lambda self: None)  # not needed here
    source = ReplaySource(DEMO, realtime=False, block_seconds=0.1)
    session = Session(source)
    session.open()
    win = MainWindow(CaseModel.on_session(session))
    win.timer.stop()
    qtbot.addWidget(win)
    for _ in range(30):
        session.process(source.read())
    win.refresh()
    start = source.start_datetime
    assert start is not None
    end = session.status().end_index
    expected = start + dt.timedelta(seconds=win.seconds_of(end))
    assert win.status_line.fields["daytime"].text() == expected.strftime("%H:%M:%S")
    win.close()
    session.stop()


def test_in_training_the_window_shows_the_instructors_case_clock(qtbot):
    win = open_window(qtbot, 4, (1366, 768), seconds=5.0)
    assert win.case_clock is None
    rate = win.session.source.info.rate
    signal_clock = win.status_line.fields["clock"].text()
    assert signal_clock == "0:00:05"
    # The case started 2.5 s into the signal (the instructor's Start).
    engine = SimpleNamespace(started_at=int(2.5 * rate), rate=rate, waiting_for_start=False)
    clock = CaseClock(engine, lambda: win.session.status().end_index)
    win.case_clock = clock
    win.refresh()
    shown = win.status_line.fields["clock"].text()
    assert shown == clock.text(win.session.status().end_index) == clock.text()
    assert shown == "0:00:02"
    assert clock.text(tenths=True)[:-2] == shown  # the console's, without its tenths
    found = re.search(r"\s(\d+:\d\d:\d\d)\s", win.status_text())  # as the console test reads
    assert found and found.group(1) == shown
    feed(win, 1.0)
    assert win.status_line.fields["clock"].text() == clock.text() == "0:00:03"


def test_the_consoles_waiting_text_is_on_the_windows_own_label(qtbot):
    from ui.instructor import WAITING_TEXT, WaitingNotice

    win = open_window(qtbot, 4, (1366, 768), seconds=1.0)
    assert win.waiting_text is None
    notice = WaitingNotice(win)
    notice.set_waiting(True)
    win.refresh()
    assert notice.shown and notice.label is None  # no label of the console's over it
    assert win.stale_text() == WAITING_TEXT
    assert win.stale_label.isVisible()
    assert " ".join(win.stale_label.text().split()) == WAITING_TEXT
    notice.set_waiting(False)
    feed(win, 0.3)
    assert not notice.shown and win.stale_text() != WAITING_TEXT
    QApplication.processEvents()
