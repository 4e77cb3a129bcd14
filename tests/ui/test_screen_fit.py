"""The operating-room screen at the sizes it is used at: every channel on screen, nothing
clinical cut, and a recording that is not stopped by a stray key.

Each window is on an offline simulator session fed by the test (no acquisition thread,
the window's frame timer stopped: the test draws the frames), stimulated from 2 s so
that the LSR column, its status box and the baseline line in the log are on screen too.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtWidgets import QLabel, QWidget

from drivers.soundcard import AudioOutput
from tests.ui.offline_window import feed, open_window
from ui.traces import MIN_ROW_PX


class Playing(AudioOutput):
    """A sound output that says it plays (its volume controls are on screen); never opens
    a device."""

    @property
    def available(self) -> bool:
        return True


def press(win, key: str) -> None:
    """Fire the window's one-key shortcut (offscreen windows are not always active)."""
    from PySide6.QtGui import QKeySequence, QShortcut

    (shortcut,) = [s for s in win.findChildren(QShortcut) if s.key() == QKeySequence(key)]
    shortcut.activated.emit()


def in_window(widget: QWidget, win) -> QRect:
    return QRect(widget.mapTo(win, QPoint(0, 0)), widget.size())


def assert_every_channel_visible(win) -> None:
    traces = win.traces
    origin = traces.mapTo(win, QPoint(0, 0))
    view = in_window(traces, win)
    assert win.rect().contains(view)
    spans = traces.row_spans()
    assert len(spans) == len(win.session.source.info.labels)
    for ch, (top, bottom) in enumerate(spans):
        plot = QRect(origin.x(), origin.y() + int(top), traces.width(), int(bottom - top))
        assert view.contains(plot), (ch, plot, view)
        assert bottom - top >= MIN_ROW_PX, ch
        name = traces._name_items[ch]
        assert name.isVisible() and name.text_fits(), name.text
        assert name.point_size >= 14  # read from across the room
        bar = win.traintime.bars[ch]
        assert bar.isVisible() and win.rect().contains(in_window(bar, win)), ch
        assert bar.number_px >= 16, ch  # the train time in figures, per channel
        assert abs(in_window(bar, win).top() - plot.top()) <= 2
    assert traces.channels_not_shown() == []
    assert not win.fit_notice.isVisible()


def assert_nothing_cut_in_the_status(win) -> None:
    status = win.status_line
    assert win.rect().contains(in_window(status, win))
    labels = [lab for lab in status.findChildren(QLabel) if lab.isVisible()]
    assert labels
    for label in labels:
        needed = label.fontMetrics().horizontalAdvance(label.text())
        assert needed <= label.contentsRect().width(), label.text()
        assert label.height() >= label.fontMetrics().height()
        assert win.rect().contains(in_window(label, win)), label.text()
    for widget in status.findChildren(QWidget):  # the volume controls too
        if widget.isVisible():
            assert win.rect().contains(in_window(widget, win)), widget


def assert_log_lines_whole(win) -> None:
    log = win.event_log
    assert log.rowCount() > 0
    for row in range(log.rowCount()):
        if log.columnSpan(row, 2) > 1:
            assert log.line_fits(row), log.texts(row)


def test_sixteen_channels_all_on_screen_at_1366x768(qtbot):
    win = open_window(qtbot, 16, (1366, 768), audio=AudioOutput())  # no sound device
    try:
        assert (win.width(), win.height()) == (1366, 768)
        assert win.lsr.started  # the LSR column beside the rows as well
        assert win.traces.packed
        assert_every_channel_visible(win)
        for row, (top, _) in zip(win.lsr.column.rows, win.traces.row_spans(), strict=True):
            y = win.traces.mapTo(win, QPoint(0, int(top))).y()
            assert abs(row.trend.mapTo(win, QPoint(0, 0)).y() - y) <= 3
        assert_nothing_cut_in_the_status(win)
        assert win.audio_notice.isVisible()
        assert "NO SOUND" in win.status_line.text() or win.audio_notice.text().startswith(
            "NO SOUND"
        )
        assert_log_lines_whole(win)
    finally:
        win.close()


def test_four_channels_at_1920x1080_keep_their_large_rows(qtbot):
    win = open_window(qtbot, 4, (1920, 1080), audio=Playing())
    try:
        assert (win.width(), win.height()) == (1920, 1080)
        assert not win.traces.packed
        assert_every_channel_visible(win)
        for top, bottom in win.traces.row_spans():
            assert bottom - top >= 150
        for name in win.traces._name_items:
            assert name.point_size >= 20
        assert_nothing_cut_in_the_status(win)
        assert win.hear.isVisible()
        assert win.status_line.height() < 2 * win.status_line.fields["state"].height() + 8
        assert_log_lines_whole(win)
    finally:
        win.close()


def test_volume_controls_and_sixteen_channels_fit_1366x768(qtbot):
    win = open_window(qtbot, 16, (1366, 768), seconds=3.0, audio=Playing())
    try:
        assert_every_channel_visible(win)
        assert_nothing_cut_in_the_status(win)
        assert win.hear.isVisible()
    finally:
        win.close()


def test_a_montage_that_cannot_fit_says_so_in_words(qtbot):
    """The rows keep a readable height; the last ones, off the view, are named."""
    win = open_window(qtbot, 16, (1366, 560), seconds=1.0)
    try:
        missing = win.traces.channels_not_shown()
        assert missing and missing == list(range(missing[0], 16))  # the last ones
        assert missing[0] >= 4
        for top, bottom in win.traces.row_spans()[: missing[0]]:  # the others readable
            assert bottom - top >= MIN_ROW_PX - 1 and bottom <= win.traces.height() + 1
        notice = win.fit_notice
        assert notice.isVisible()
        labels = win.session.source.info.labels
        assert notice.text().startswith("NOT ON SCREEN: ")
        for ch in missing:
            assert labels[ch] in notice.text()
        assert labels[0] not in notice.text()
        assert win.rect().contains(in_window(notice, win))
        # Enlarged: every channel again, and the notice goes.
        win.resize(1366, 768)
        feed(win, 0.3)
        assert_every_channel_visible(win)
    finally:
        win.close()


def test_r_starts_at_once_and_asks_before_stopping(qtbot, tmp_path):
    win = open_window(
        qtbot, 4, (1366, 768), seconds=1.0, record_folder=str(tmp_path), case_id="fit"
    )
    try:
        win.refresh()
        assert win.rec_label.text() == "Not recording (R records)"
        press(win, "R")  # starting is one key
        assert win.model.recording and win.stop_question is None
        feed(win, 0.5)
        assert win.rec_label.text().startswith("● REC")

        press(win, "R")  # stopping asks
        box = win.stop_question
        assert box is not None
        qtbot.waitUntil(box.isVisible, timeout=2000)
        assert "Stop recording" in box.text()
        assert box.defaultButton() is box.keep_button
        assert win.model.recording  # nothing stopped while the question is open
        qtbot.keyClick(box, Qt.Key.Key_Escape)  # Escape keeps the recording
        assert win.stop_question is None and win.model.recording

        win.actions.buttons["record"].click()  # the button asks too
        box = win.stop_question
        qtbot.waitUntil(box.isVisible, timeout=2000)
        qtbot.keyClick(box, Qt.Key.Key_Return)  # Enter too: keeping is the default
        assert win.stop_question is None and win.model.recording

        press(win, "R")
        win.stop_question.stop_button.click()
        assert not win.model.recording and win.recorder is None
        feed(win, 0.3)
        # The stopped recording is a state on screen: words on yellow, not grey.
        label = win.rec_label
        assert label.text().startswith("NOT RECORDING — stopped at ")
        assert "background:#ffd600" in label.styleSheet()
        assert "font-weight:bold" in label.styleSheet()
        assert label.isVisible() and win.rect().contains(in_window(label, win))
        assert_nothing_cut_in_the_status(win)
        assert win.actions.buttons["record"].text() == "Record (R)"
        assert any("Recording stopped" in r[2] for r in map(win.event_log.texts, range(3)))

        press(win, "R")  # a new recording at once; the stopped state goes
        assert win.model.recording and win.stop_question is None
        win.refresh()
        assert win.rec_label.text().startswith("● REC")
    finally:
        if win.stop_question is not None:
            win.stop_question.keep_button.click()
        win.close()


def test_the_window_closes_with_the_question_open(qtbot, tmp_path):
    win = open_window(
        qtbot, 4, (1366, 768), seconds=0.5, record_folder=str(tmp_path), case_id="fit2"
    )
    press(win, "R")
    press(win, "R")
    qtbot.waitUntil(win.stop_question.isVisible, timeout=2000)
    path = win.recorder.path
    win.close()  # the case ends with its window: the recording is closed, kept
    assert path.exists() and path.stat().st_size > 256


def test_baseline_sweep_mean_has_no_empty_slice():
    """A channel rejected on every baseline sweep, and samples lost in a gap on all of
    them: NaN there, the mean elsewhere, and no 'Mean of empty slice' warning."""
    from ui.lsrpanel import _mean_of_finite

    stack = np.ones((3, 50, 4))
    stack[0, :, 1] = 4.0
    stack[1, 30:, 1] = np.nan
    stack[:, :, 2] = np.nan  # rejected throughout
    stack[:, 10:20, :] = np.nan  # a gap in every sweep
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mean = _mean_of_finite(stack)
    assert np.isnan(mean[:, 2]).all()
    assert np.isnan(mean[10:20]).all()
    np.testing.assert_allclose(mean[:10, 0], 1.0)
    np.testing.assert_allclose(mean[:10, 1], 2.0)
    np.testing.assert_allclose(mean[30:, 1], 2.5)
