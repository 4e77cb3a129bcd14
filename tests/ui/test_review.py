"""Reviewing a recording on screen: play/pause, speed, the timeline, jumps between events."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.casemodel import CaseModel

pytest.importorskip("pytestqt")

from PySide6.QtCore import QPoint, Qt

from drivers.replay import ReplaySource
from monitor.session import Session, State

DEMO = Path(__file__).resolve().parents[2] / "recordings" / "demo_mvd.edf"


@pytest.fixture
def review(qtbot):
    from ui.mainwindow import MainWindow

    source = ReplaySource(DEMO, speed=5.0, hold_at_end=True)
    session = Session(source)
    session.open()
    session.start()
    win = MainWindow(CaseModel.on_session(session))
    win.resize(1600, 900)
    qtbot.addWidget(win)
    win.show()
    yield win
    win.close()
    session.stop()


def test_a_replay_gets_the_review_bar_and_a_live_source_does_not(review):
    from drivers.simulator import SimulatorSource
    from simulation.emgsynth import SimConfig
    from ui.mainwindow import MainWindow

    assert review.review is not None
    # The file's own annotations are on the timeline from the start (stimuli, notes).
    kinds = {m.kind for m in review.review.timeline.file_marks}
    assert "stim" in kinds
    live = Session(SimulatorSource(SimConfig(seed=1)))
    live.open()
    win = MainWindow(CaseModel.on_session(live))
    assert win.review is None
    win.close()


def test_space_pauses_and_plays_and_the_screen_says_paused(review, qtbot):
    source = review.review.source
    qtbot.waitUntil(lambda: source.position_s() > 0.5, timeout=5000)
    qtbot.keyClick(review, Qt.Key.Key_Space)
    assert source.paused
    held = source.position_s()
    qtbot.wait(1200)  # longer than the stale time: must say PAUSED, not NO DATA
    review.refresh()
    assert source.position_s() == pytest.approx(held, abs=0.3)
    assert review.stale_label.isVisible() and "PAUSED" in review.stale_label.text()
    assert "Play" in review.review.play_button.text()
    qtbot.keyClick(review, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: source.position_s() > held + 0.5, timeout=5000)
    review.refresh()
    assert not review.stale_label.isVisible()


def test_speed_keys_step_through_the_speeds(review, qtbot):
    bar = review.review
    qtbot.keyClick(review, Qt.Key.Key_BracketRight)
    assert bar.speed.currentText() == "10x"
    qtbot.waitUntil(lambda: bar.source.speed == 10.0, timeout=3000)
    qtbot.keyClick(review, Qt.Key.Key_BracketLeft)
    qtbot.keyClick(review, Qt.Key.Key_BracketLeft)
    assert bar.speed.currentText() == "2x"


def test_clicking_the_timeline_jumps_there_backwards_too(review, qtbot):
    bar = review.review
    qtbot.waitUntil(lambda: bar.source.position_s() > 1.0, timeout=5000)
    tl = bar.timeline
    qtbot.mouseClick(tl, Qt.MouseButton.LeftButton, pos=QPoint(round(tl.x_of(30.0)), 10))
    qtbot.waitUntil(lambda: 30.0 <= bar.source.position_s() < 36.0, timeout=5000)
    qtbot.mouseClick(tl, Qt.MouseButton.LeftButton, pos=QPoint(round(tl.x_of(5.0)), 10))
    qtbot.waitUntil(lambda: 5.0 <= bar.source.position_s() < 10.0, timeout=5000)
    review.refresh()
    assert abs(tl.position_s - bar.source.position_s()) < 1.0
    # A reviewer's jump is not a lost signal.
    assert review.session.status().gaps == 0
    assert review.session.state is State.RUNNING


def test_redetected_events_fill_the_timeline_and_next_event_jumps_to_them(review, qtbot):
    bar = review.review
    qtbot.waitUntil(lambda: bool(bar.timeline.found_marks), timeout=60_000)
    found = bar.timeline.found_marks
    # The demo holds an A-train and its LSR disappears at 30 s.
    assert any(m.kind == "a_train" for m in found)
    gone = [m for m in found if m.kind == "lsr_gone"]
    assert gone and 28.0 <= gone[0].start_s <= 34.0
    qtbot.keyClick(review, Qt.Key.Key_Space)  # pause, then jump: plays through it, holds
    bar.seek(0.0)
    qtbot.waitUntil(lambda: bar.source.position_s() < 1.0, timeout=5000)
    here = bar.source.position_s()
    first = min((m for m in bar.marks() if m.start_s > here), key=lambda m: m.start_s)
    qtbot.keyClick(review, Qt.Key.Key_Right)
    assert bar._current == first
    qtbot.waitUntil(lambda: bar.source.paused, timeout=10_000)
    pos = bar.source.position_s()
    assert first.stop_s <= pos <= first.stop_s + 3.0
    qtbot.keyClick(review, Qt.Key.Key_Right)
    second = bar._current
    assert second is not None and second.start_s > first.start_s
    qtbot.keyClick(review, Qt.Key.Key_Left)
    assert bar._current == first


def test_the_end_holds_and_says_so(review, qtbot):
    bar = review.review
    bar.seek(39.0)
    qtbot.waitUntil(lambda: bar.source.at_end, timeout=5000)
    review.refresh()
    assert "END OF RECORDING" in review.stale_label.text()
    assert review.session.state is State.RUNNING  # still reviewable
    qtbot.keyClick(review, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: 0 < bar.source.position_s() < 5.0, timeout=5000)


def test_after_a_jump_back_the_log_and_lsr_texts_keep_the_recordings_time(qtbot, monkeypatch):
    from ui.mainwindow import MainWindow
    from ui.redetect import Redetection

    monkeypatch.setattr(Redetection, "start", lambda self: None)  # not needed here
    src = ReplaySource(DEMO, realtime=False, block_seconds=0.1)
    session = Session(src)
    session.open()
    win = MainWindow(CaseModel.on_session(session))
    qtbot.addWidget(win)

    def play_to(seconds: float) -> None:
        while src.position_s() < seconds:
            block = src.read()
            if block is not None:
                session.process(block)
        win.refresh()

    play_to(39.0)
    src.seek(0.0)  # and play it all again
    play_to(39.0)
    assert session.status().signal_seconds > 70  # the stream went on past the file's end
    rows = [win.event_log.texts(r) for r in range(win.event_log.rowCount())]
    gone = [r for r in rows if r[2].startswith("LSR disappeared")]
    assert len(gone) == 2  # once per pass, both at the recording's 30 s
    for r in gone:
        assert r[0] == "00:00:30" and r[2].endswith("since 00:00:30.")
    win.close()


def test_an_annotated_event_and_its_redetection_are_one_stop():
    from itertools import pairwise

    from ui.reviewbar import JOIN_S, stops
    from ui.timeline import Mark, next_mark

    annotated = Mark(12.0, 12.0, "a_train", "A-train L Mentalis (recorded)")
    found = Mark(12.08, 14.5, "a_train", "A-train L Mentalis 140 Hz")
    later = Mark(20.0, 20.0, "note", "decompression")
    marks = stops([later, found, annotated])
    assert [m.start_s for m in marks] == [12.0, 20.0]
    assert marks[0].stop_s == 14.5  # the stop covers the event found again
    # Right from before it stops once, then goes on; Left from the note comes back to it.
    assert next_mark(marks, 5.0, True) == marks[0]
    assert next_mark(marks, marks[0].start_s, True) == later
    assert next_mark(marks, later.start_s, False) == marks[0]
    assert all(b.start_s - a.start_s > JOIN_S for a, b in pairwise(marks))
