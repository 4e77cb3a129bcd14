"""What the traces mark besides the signal: the detection threshold, the event counts, the
stimuli and their artifacts, cautery, and a frozen screen that cannot pass for a live one.

Each window is on an offline simulator session fed by the test (no acquisition thread, the
window's frame timer stopped: the test draws the frames), stimulated at 1 Hz from 2 s.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PySide6.QtWidgets import QApplication

from monitor.events import ALL_CHANNELS, EmgEvent, EventKind
from tests.ui.offline_window import RATE, feed, open_window
from ui.eventmarkers import CAUTERY_LABEL
from ui.traces import MIN_ROW_PX


@pytest.fixture
def window(qtbot):
    win = open_window(qtbot, 4, (1366, 768), seconds=6.0)
    yield win
    win.close()


def test_threshold_lines_sit_at_the_detectors_threshold_and_move_with_it(window):
    traces = window.traces
    detector = window.monitoring.detector
    thr = detector.threshold_uv
    assert np.isfinite(thr).all()  # learnt from the quiet signal by now
    for ch, (upper, lower) in enumerate(traces.thresholds.lines):
        assert upper.isVisible() and lower.isVisible()
        assert upper.value() == pytest.approx(float(thr[ch]), abs=0.25)
        assert lower.value() == pytest.approx(-float(thr[ch]), abs=0.25)
    window.monitoring.set_thresholds(mode="fixed", fixed_uv=100.0)
    feed(window, 0.3)
    for upper, lower in traces.thresholds.lines:
        assert (upper.value(), lower.value()) == (100.0, -100.0)
    # Not known (yet): no line.
    detector.threshold_uv = np.array([np.nan, 60.0, np.nan, 60.0], np.float32)
    traces.place_marks(traces.end_index)
    assert [traces.thresholds.shown(ch) for ch in range(4)] == [None, 60.0, None, 60.0]
    assert not traces.thresholds.lines[0][0].isVisible()
    # They follow the µV scale: at ±5000 µV a 60 µV line cannot be told from the trace.
    traces.set_range(5000)
    traces.place_marks(traces.end_index)
    assert traces.thresholds.shown(1) is None
    traces.set_range(200)
    traces.place_marks(traces.end_index)
    assert traces.thresholds.shown(1) == 60.0


def test_event_counts_beside_the_names_follow_the_events(window):
    traces = window.traces
    # What the monitoring found so far is counted, channel by channel.
    for ch, name in enumerate(traces._name_items):
        assert name.counts == traces.counts.parts(ch)
    before = traces.counts.count(1, EventKind.A_TRAIN)
    end = traces.end_index
    train = EmgEvent(10**6, EventKind.A_TRAIN, 1, end - 8000, end - 2000, 300.0, 120.0, final=True)
    traces.markers.add_final([train])  # as the window passes on the feed's events
    window.refresh()
    assert traces.counts.count(1, EventKind.A_TRAIN) == before + 1
    name = traces._name_items[1]
    assert name.counts[0] == (f"A {before + 1}", "#ff3df2")
    assert "A-train" in name.toolTip()
    traces.grab()  # painted: the A-train count is on screen, first
    assert name.counts_drawn[0] == f"A {before + 1}"


def test_stimuli_are_ticked_and_their_artifacts_drawn_dim(window):
    traces = window.traces
    end = traces.end_index
    stims = traces.stims_in_window(end)
    assert len(stims) >= 3  # 1 Hz from 2 s
    assert np.diff(stims) == pytest.approx(RATE, rel=0.05)
    assert traces.ticks.shown == pytest.approx([(s - end) / RATE for s in stims])
    assert all(item.isVisible() for item in traces.ticks.items)
    x, y = traces.curve_data(0)
    dim_x, dim_y = traces._dim_curves[0].getData()
    assert traces._dim_curves[0].isVisible()
    blank_s = window.monitoring.detector.s.stim_blank_ms / 1000
    column_s = 2 * traces.envelope.spc / RATE
    for s in stims:
        at = (s - end) / RATE + blank_s / 2  # inside the blanking window
        i = int(np.argmin(np.abs(x - at)))
        assert y[i] == 0.0  # flat in the channel's colour ...
        assert np.abs(dim_x - at).min() < column_s  # ... the artifact over it in grey
    # Nothing grey far from a stimulus (half a second after one).
    assert np.abs(dim_x - ((stims[0] - end) / RATE + 0.5)).min() > 0.3
    assert np.isfinite(dim_y).all()
    # A display choice: the signal itself is not touched.
    traces.blank_stimuli = False
    window.refresh()
    assert not traces._dim_curves[0].isVisible()
    assert np.abs(traces.curve_data(0)[1]).max() > 150  # the artifacts, in colour again


def test_cautery_is_grey_and_says_detection_is_paused(qtbot):
    win = open_window(qtbot, 4, (1366, 768), seconds=6.0, sim={"stim_rate_hz": 0.0})
    try:
        traces = win.traces
        end = traces.end_index
        cautery = EmgEvent(
            10**6,
            EventKind.ARTIFACT,
            ALL_CHANNELS,
            end - 3 * RATE,
            end - 2 * RATE,
            5000.0,
            final=True,
        )
        counted = [traces.counts.text(ch) for ch in range(4)]
        traces.markers.add_final([cautery])
        win.refresh()
        end = traces.end_index
        on, off = (cautery.onset - end) / RATE, (cautery.offset - end) / RATE
        for ch in range(4):
            (band,) = traces.markers.bands(ch, EventKind.ARTIFACT)
            assert band == pytest.approx((on, off), abs=1e-3)
            x, y = traces.curve_data(ch)
            dim_x, _ = traces._dim_curves[ch].getData()
            inside = (x > on + 0.01) & (x < off - 0.01)
            assert inside.any() and (y[inside] == 0).all()  # not in the channel's colour
            grey = (dim_x > on + 0.01) & (dim_x < off - 0.01)
            assert grey.sum() == inside.sum()  # but in grey, every column of it
        pen = traces._dim_curves[0].opts["pen"].color()
        assert pen.red() == pen.green() == pen.blue()  # grey
        assert any(CAUTERY_LABEL in text for text, _ in traces.markers.shown[0])
        assert [traces.counts.text(ch) for ch in range(4)] == counted  # no channel's event
    finally:
        win.close()


def test_a_frozen_screen_is_unmistakable_and_hides_no_channel(qtbot):
    win = open_window(qtbot, 16, (1366, 768), seconds=6.0)
    try:
        traces, freeze = win.traces, win.freeze
        win.toggle_freeze()
        QApplication.processEvents()
        overlay = freeze.overlay
        assert overlay.isVisible()
        assert "FROZEN at" in overlay.text and "F to go live" in overlay.text
        assert overlay.geometry() == traces.rect()
        # The rows made room for the band: every channel still on screen and readable.
        win.refresh()
        QApplication.processEvents()
        assert traces.channels_not_shown() == []
        assert all(b - t >= MIN_ROW_PX - 1 for t, b in traces.row_spans())
        # The stimulus artifacts stay grey on the frozen, full-resolution traces.
        assert any(d.isVisible() for d in freeze._full_dim)
        win.toggle_freeze()
        QApplication.processEvents()
        assert not overlay.isVisible()
        assert traces._reserve == (0, 0)
    finally:
        win.close()


def test_the_frozen_band_sits_above_the_rows_when_they_have_room(qtbot):
    win = open_window(qtbot, 4, (1920, 1080), seconds=3.0)
    try:
        top_before = win.traces.row_spans()[0][0]
        win.toggle_freeze()
        QApplication.processEvents()
        band = win.freeze.overlay.band_height()
        assert win.traces.row_spans()[0][0] >= band  # nothing of the top row under it
        assert win.traces.row_spans()[0][0] > top_before
        win.toggle_freeze()
        QApplication.processEvents()
        assert win.traces.row_spans()[0][0] == pytest.approx(top_before, abs=1)
    finally:
        win.close()
