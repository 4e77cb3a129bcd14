"""Words on the monitor never drawn over other words: the held/stopped label on the plots,
centred, clear of the channel names; the LSR trend's "gone" clear of its caption
("absent"); the trend captions of a 16-channel montage clear of each other and inside
their rows, at 1366x768 and 1920x1080.

The windows are on offline sources fed by the test (the frame timer stopped; the one
session that ends by itself runs a short acquisition thread that is stopped at the end).
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QPoint, QRect
from PySide6.QtWidgets import QApplication

from drivers.replay import ReplaySource
from drivers.simulator import SimulatorSource
from monitor.casemodel import CaseModel
from monitor.montage import default_labels
from monitor.session import Session, State
from simulation.emgsynth import SimConfig
from tests.ui.offline_window import RATE, feed

DEMO = Path(__file__).resolve().parents[2] / "recordings" / "demo_mvd.edf"
SIZES = [(1366, 768), (1920, 1080)]


def window_on(qtbot, session: Session, size: tuple[int, int]):
    from ui.mainwindow import MainWindow

    win = MainWindow(CaseModel.on_session(session))
    win.timer.stop()  # the test draws the frames
    qtbot.addWidget(win)
    win.resize(*size)
    win.show()
    qtbot.waitExposed(win)
    return win


def settle(win) -> None:
    """Let Qt finish the layout (the plots size themselves on posted events)."""
    for _ in range(2):
        QApplication.processEvents()
        win.refresh()


def name_rects(win) -> list[QRect]:
    """The channel names' rectangles in the traces widget's pixels."""
    traces = win.traces
    return [
        traces.mapFromScene(name.sceneBoundingRect()).boundingRect() for name in traces._name_items
    ]


def assert_held_label_on_the_plots(win, words: str) -> None:
    label = win.stale_label
    assert label.isVisible()
    assert words in " ".join(label.text().split())
    rect = label.geometry()  # a child of the traces widget
    area = win.plot_area()
    for name in name_rects(win):
        assert not rect.intersects(name), (rect, name)
    assert area.contains(rect), (rect, area)
    assert abs(rect.center().x() - area.center().x()) <= 2
    assert abs(rect.center().y() - area.center().y()) <= 2
    # Whole: every line of it within the label (unless Qt wraps it within).
    if not label.wordWrap():
        for line in label.text().split("\n"):
            assert label.fontMetrics().horizontalAdvance(line) <= label.contentsRect().width()


@pytest.mark.parametrize("size", [(1366, 768), (1024, 700)])
def test_end_of_recording_is_centred_on_the_plots_not_over_the_names(qtbot, monkeypatch, size):
    from ui.redetect import Redetection

    monkeypatch.setattr(Redetection, "start", lambda self: None)  # not needed here
    source = ReplaySource(DEMO, realtime=False, block_seconds=0.1, hold_at_end=True)
    session = Session(source)
    session.open()
    win = window_on(qtbot, session, size)
    try:
        blocks = 0
        while not source.at_end:
            block = source.read()
            if block is None:
                break
            session.process(block)
            blocks += 1
            if blocks % 10 == 0:
                win.refresh()
        settle(win)
        assert source.at_end
        assert win.stale_text() == "END OF RECORDING — Space plays it again"
        assert_held_label_on_the_plots(win, "END OF RECORDING")
        assert_held_label_on_the_plots(win, "Space plays it again")
    finally:
        win.close()
        session.stop()


def test_the_stopped_box_is_centred_on_the_plots(qtbot):
    session = Session(SimulatorSource(SimConfig(seed=3), realtime=False, duration_s=0.5))
    session.start()
    win = window_on(qtbot, session, (1366, 768))
    try:
        qtbot.waitUntil(lambda: session.state is State.FINISHED, timeout=10_000)
        settle(win)
        assert win.stale_label.text() == "STOPPED"
        assert_held_label_on_the_plots(win, "STOPPED")
        # Centred again after the window changes size.
        win.resize(1600, 900)
        settle(win)
        assert_held_label_on_the_plots(win, "STOPPED")
    finally:
        win.close()
        session.stop()


def stimulated(n: int, gone_at_s: float | None = None, **more) -> SimConfig:
    return SimConfig(
        rate=RATE,
        labels=default_labels(n),
        seed=11,
        stim_rate_hz=2.0,
        stim_start_s=0.2,
        lsr_gone_at_s=gone_at_s,
        **more,
    )


def lsr_window(qtbot, config: SimConfig, size: tuple[int, int], seconds: float):
    source = SimulatorSource(config, realtime=False, duration_s=120)
    session = Session(source)
    session.open()
    win = window_on(qtbot, session, size)
    feed(win, seconds)
    settle(win)
    assert win.lsr.started
    return win


def gone_and_caption(row) -> tuple[QRect, QRect]:
    return row.gone_rect(), row.tcaption.geometry()


@pytest.mark.parametrize("size", [(1366, 768), (1600, 900)])
def test_gone_is_never_drawn_over_absent(qtbot, size):
    win = lsr_window(qtbot, stimulated(4, gone_at_s=4.0), size, 12.0)
    try:
        assert win.lsr.status_text.startswith("LSR gone")
        shown = 0
        for row in win.lsr.column.rows:
            if row._gone_at is None:
                continue  # the stimulation control's row: no LSR marks
            gone, caption = gone_and_caption(row)
            assert "absent" in row.tcaption.text()
            if row.gone_text.isVisible():
                shown += 1
                assert not gone.intersects(caption), (row.label, gone, caption)
                assert row.plot_rect().contains(gone), (row.label, gone)
                if row.base_text.isVisible():
                    base = row.trend.mapFromScene(row.base_text.sceneBoundingRect())
                    assert not gone.intersects(base.boundingRect()), row.label
        assert shown >= 2  # said on the trends, not only in the status box
    finally:
        win.close()


def caption_rects(win) -> list[QRect]:
    return [
        QRect(row.tcaption.mapTo(win, QPoint(0, 0)), row.tcaption.size())
        for row in win.lsr.column.rows
    ]


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("gone_at_s", [None, 4.0])
def test_trend_captions_do_not_overlap_at_sixteen_channels(qtbot, size, gone_at_s):
    win = lsr_window(qtbot, stimulated(16, gone_at_s), size, 10.0)
    try:
        assert win.traces.channels_not_shown() == []
        rects = caption_rects(win)
        for k, (row, rect) in enumerate(zip(win.lsr.column.rows, rects, strict=True)):
            assert row.tcaption.isVisible() and row.tcaption.text(), row.label
            trend = QRect(row.trend.mapTo(win, QPoint(0, 0)), row.trend.size())
            assert trend.contains(rect), (row.label, rect, trend)  # not cut at the edge
            for other in rects[k + 1 :]:
                assert not rect.intersects(other), (row.label, rect, other)
            gone, caption = gone_and_caption(row)
            if row.gone_text.isVisible():
                assert not gone.intersects(caption), row.label
    finally:
        win.close()
