"""The LSR part of the live screen, driven by a simulator whose truth we set.

A quiet simulated patient (no spontaneous activity) is stimulated on the zygomatic branch
at 2 Hz from 0.2 s; the LSR (about 10 ms, in orbicularis oris, mentalis and frontalis) is
there until 4 s and gone from then on; orbicularis oculi, on the stimulated branch, gives
the direct response. The test pushes the blocks through the session itself (no
acquisition thread) and draws a frame every 0.1 s of signal, as the window's timer does.
"""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest

from monitor.casemodel import CaseModel

pytest.importorskip("pytestqt")

from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QApplication

from drivers.simulator import SimulatorSource
from monitor.clock import signal_clock
from monitor.evoked import EvokedAnalyzer
from monitor.monitoring import FreeRunMonitoring
from monitor.montage import default_labels
from monitor.pipeline import attach_pipeline
from monitor.session import Session
from presentation import theme
from presentation.lsrfeed import baseline_note, call_line, status_parts
from simulation.emgsynth import SimConfig

RATE = 10_000
MENTALIS = 2
LSR_CHANNELS = (1, 2, 3)  # orbicularis oris, mentalis, frontalis
DIRECT = 0  # orbicularis oculi: on the stimulated (zygomatic) branch
GONE_AT = 4.0
QUIET = dict(
    spikes_per_min=0,
    bursts_per_min=0,
    a_trains_per_min=0,
    b_trains_per_min=0,
    c_trains_per_min=0,
    cautery_per_min=0,
)
FRAME_S = 0.1


class Screen:
    """A window on a stimulated session fed by hand."""

    def __init__(
        self,
        qtbot,
        size=(1600, 900),
        stim_rate_hz=2.0,
        evoked=True,
        synth=None,
        config: SimConfig | None = None,
        pipeline=False,
    ) -> None:
        from ui.mainwindow import MainWindow

        config = config or SimConfig(
            rate=RATE,
            labels=default_labels(4),
            seed=11,
            stim_rate_hz=stim_rate_hz,
            stim_start_s=0.2,
            lsr_gone_at_s=GONE_AT,
            **QUIET,
        )
        self.source = SimulatorSource(
            config, realtime=False, duration_s=60, synth=synth(config) if synth else None
        )
        self.session = Session(self.source)
        self.session.open()
        self.evoked = None
        if pipeline:  # the monitor's own wiring: stimulation calls raise the alarm
            attached = attach_pipeline(self.session)
            self.monitoring, self.evoked = attached.monitoring, attached.evoked
        else:
            self.monitoring = FreeRunMonitoring(self.session)
            if evoked:
                self.evoked = EvokedAnalyzer(RATE, config.labels, format_time=signal_clock(RATE))
                self.session.subscribe("Evoked responses", self.evoked)
        self.win = MainWindow(
            CaseModel.on_session(self.session, monitoring=self.monitoring, evoked=self.evoked)
        )
        self.evoked = self.win.evoked
        self.win.timer.stop()  # the test draws frames itself
        qtbot.addWidget(self.win)
        self.win.resize(*size)
        self.win.show()
        qtbot.waitExposed(self.win)
        self.lsr = self.win.lsr

    def run_until(self, seconds: float) -> None:
        next_frame = self.source._next / RATE + FRAME_S
        while self.source._next < round(seconds * RATE):
            self.session.process(self.source.read())
            if self.source._next >= next_frame * RATE:
                self.win.refresh()
                next_frame += FRAME_S
        self.win.refresh()

    def log_rows(self) -> list[list[str]]:
        return [self.win.event_log.texts(r) for r in range(self.win.event_log.rowCount())]

    def settle(self) -> None:
        """Let Qt finish the layout (the plots size themselves on posted events)."""
        QApplication.processEvents()
        self.win.refresh()
        QApplication.processEvents()
        self.win.refresh()


@pytest.fixture
def screen(qtbot):
    s = Screen(qtbot)
    yield s
    s.win.close()


def stimuli_until(seconds: float) -> int:
    """Stimuli whose sweep (to 50 ms, plus the 20 ms the analyzer waits for) is complete."""
    return int(np.floor((seconds - 0.2 - 0.055) / 0.5)) + 1


def points(item) -> int:
    x = item.getData()[0]
    return 0 if x is None else len(x)


def test_panel_is_hidden_until_the_first_stimulus(screen):
    screen.run_until(0.15)
    assert not screen.lsr.column.isVisible()
    assert not screen.lsr.status.isVisible()
    screen.run_until(0.4)  # the first sweep (0.2 s) is complete at 0.25 s
    assert screen.lsr.column.isVisible()
    assert screen.lsr.status.isVisible()


def test_free_run_screen_unchanged_without_stimulation(qtbot):
    s = Screen(qtbot, stim_rate_hz=0.0)
    try:
        s.run_until(3.0)
        assert not s.lsr.column.isVisible() and not s.lsr.status.isVisible()
        assert s.lsr.status_text == ""
        central = s.win.centralWidget()
        # The traces reach the train-time bars, the log the window's right edge.
        assert s.win.traintime.geometry().right() >= central.width() - 2
        assert s.win.event_log.geometry().right() >= central.width() - 2
    finally:
        s.win.close()


def test_waterfall_stacks_the_recent_sweeps_with_baseline_and_cursors(screen):
    screen.run_until(1.5)
    n = stimuli_until(1.5)
    for ch in range(4):
        assert screen.lsr.sweeps_drawn(ch) == n
    screen.run_until(3.9)  # eight stimuli, all with the LSR
    row = screen.lsr.column.rows[MENTALIS]
    assert screen.lsr.sweeps_drawn(MENTALIS) == 8
    # The newest is the analyzer's latest sweep.
    newest = screen.evoked.last_sweep()
    x, y = row.curves[0].getData()
    assert x[0] == pytest.approx(-5.0, abs=0.2) and x[-1] == pytest.approx(50.0, abs=0.2)
    assert np.allclose(y, newest.epoch[:, MENTALIS], equal_nan=True)
    # The baseline sweep (auto, from the first five) is drawn over the newest.
    b = screen.evoked.baseline()
    assert b is not None and MENTALIS in b.channels
    bx, by = row.base_curve.getData()
    assert bx is not None and len(bx) == len(x)
    assert np.nanmax(by) - np.nanmin(by) > 0.5 * b.amplitude_uv["L Mentalis"]
    # Cursors at onset and peak of the newest response.
    r = newest.results[MENTALIS]
    assert r.present and 8.0 < r.latency_ms < 12.0
    onset_x, _ = row.onset_line.getData()
    assert list(onset_x) == pytest.approx([r.latency_ms, r.latency_ms])
    peak_x, _ = row.peak_mark.getData()
    assert list(peak_x) == pytest.approx([r.peak_latency_ms])
    # The stimulated branch's own muscle shows its direct response: the stimulation
    # control, whose state its caption gives.
    assert screen.lsr.sweeps_drawn(DIRECT) == 8
    assert "stim OK" in screen.lsr.column.rows[DIRECT].tcaption.text()

    screen.run_until(6.0)  # twelve stimuli: the last ten are stacked
    slots = screen.lsr.column.n_slots
    assert slots == 10  # 1600x900: rows tall enough for ten
    assert screen.lsr.sweeps_drawn(MENTALIS) == slots
    # Newest at the bottom (offset 0), each older one a step higher.
    offsets = [float(np.nanmedian(c.getData()[1])) for c in row.curves]
    assert offsets == pytest.approx([k * row.spacing for k in range(slots)], abs=row.spacing / 3)
    # The newest has no LSR: no cursors; the baseline stays for comparison.
    assert points(row.onset_line) == 0
    assert points(row.peak_mark) == 0
    assert points(row.base_curve) == len(x)


def test_status_reads_present_then_gone_and_the_log_says_so(screen):
    screen.run_until(3.5)
    text = screen.lsr.status_text
    assert re.fullmatch(
        r"LSR present — L (Orb\. oris|Mentalis|Frontalis) \d+ µV at \d+\.\d ms", text
    ), text
    assert screen.lsr.status.head.text() == "LSR present"
    assert re.fullmatch(r"L \S.* \d+ µV at \d+\.\d ms", screen.lsr.status.detail.text())
    assert screen.lsr.status.colours == theme.LSR_PRESENT
    rows = screen.log_rows()
    assert any(r[2].startswith("LSR baseline (auto, 15 mA): ") for r in rows)

    screen.run_until(5.5)  # three absent sweeps so far: not gone yet
    assert screen.lsr.status_text.startswith("LSR absent on ")
    assert screen.lsr.status.colours == theme.LSR_NEUTRAL

    screen.run_until(7.0)  # five absent sweeps (4.2 ... 6.2 s)
    assert screen.lsr.status_text == "LSR gone since 00:00:04"
    assert (screen.lsr.status.head.text(), screen.lsr.status.detail.text()) == (
        "LSR gone",
        "since 00:00:04",
    )
    # Information, not an alarm: blue, and no alarm on the banner.
    assert screen.lsr.status.colours == theme.LSR_GONE
    assert screen.lsr.status.colours[0] not in {bg for bg, _ in theme.ALARM_ON.values()}
    assert screen.win.alarm_banner.text_label.text() == "No alarms"
    calls = [r for r in screen.log_rows() if r[2].startswith("LSR disappeared")]
    assert len(calls) == 1
    time, channel, text, *_ = calls[0]
    assert time == "00:00:04"
    assert channel == "3 channels"
    assert "L Mentalis" in text and "since 00:00:04" in text
    n = screen.win.event_log.rowCount()
    screen.win.refresh()
    assert screen.win.event_log.rowCount() == n  # logged once


def test_trend_shows_every_stimulus_and_marks_the_disappearance(screen):
    screen.run_until(8.0)
    b = screen.evoked.baseline()
    for ch in LSR_CHANNELS:
        x, y = screen.lsr.trend_data(ch)
        assert len(x) == stimuli_until(8.0)
        assert np.allclose(np.diff(x), 0.5)
        before, after = y[x < GONE_AT], y[x > GONE_AT]
        assert (before > 20).mean() > 0.9  # present, in µV
        assert (after == 0).all()  # absent
        row = screen.lsr.column.rows[ch]
        if ch in b.channels:
            assert row.base_level.isVisible()
            assert row.base_level.value() == pytest.approx(b.amplitude_uv[row.label])
        [gone] = screen.lsr.disappearance_marks(ch)
        assert gone == pytest.approx(4.2, abs=0.01)  # the first absent stimulus
        assert row.gone_region.isVisible()
        lo, hi = row.gone_region.getRegion()
        assert lo == pytest.approx(4.2, abs=0.01) and hi == pytest.approx(x[-1])
        assert row.gone_text.isVisible()
    # The stimulated branch's own muscle has no LSR: its row trends the direct response,
    # the stimulation control, against its own baseline, without the LSR's marks.
    x, y = screen.lsr.trend_data(DIRECT)
    assert len(x) == stimuli_until(8.0) and (y > 500).all()
    row = screen.lsr.column.rows[DIRECT]
    assert row.control and row.base_level.isVisible()
    assert row.base_level.value() == pytest.approx(
        screen.evoked.direct_baseline().amplitude_uv[row.label]
    )
    assert screen.lsr.disappearance_marks(DIRECT) == [] and not row.gone_region.isVisible()
    assert "stim OK" in row.tcaption.text()


def test_set_baseline_by_button_and_by_key(screen, qtbot):
    qtbot.keyClick(screen.win, Qt.Key.Key_B)  # no stimulus yet: said so, nothing breaks
    assert "LSR baseline not set" in screen.win.banner.text()

    screen.run_until(3.0)
    assert screen.evoked.baseline().set_by == "auto"
    qtbot.mouseClick(screen.lsr.status.button, Qt.MouseButton.LeftButton)
    b = screen.evoked.baseline()
    assert b.set_by == "user" and MENTALIS in b.channels
    assert screen.lsr.status.baseline_label.text().startswith("Baseline: set by you")
    assert screen.log_rows()[0][2] == baseline_note(b)

    screen.run_until(7.0)
    assert screen.lsr.status_text.startswith("LSR gone")
    qtbot.keyClick(screen.win, Qt.Key.Key_B)  # a new baseline without the LSR
    b2 = screen.evoked.baseline()
    assert b2.set_by == "user" and b2.channels == ()
    assert screen.lsr.status_text == "LSR: none at baseline"
    assert screen.lsr.status.colours == theme.LSR_NEUTRAL
    assert "nothing is watched" in screen.log_rows()[0][2]
    for ch in LSR_CHANNELS:
        assert not screen.lsr.column.rows[ch].base_level.isVisible()


def test_items_are_reused_frame_after_frame(screen):
    screen.run_until(2.0)
    row = screen.lsr.column.rows[MENTALIS]
    before = (len(row.waterfall.scene().items()), len(row.trend.scene().items()))
    screen.run_until(8.0)
    after = (len(row.waterfall.scene().items()), len(row.trend.scene().items()))
    assert after == before


def _rect(widget, win) -> QRect:
    return QRect(widget.mapTo(win, QPoint(0, 0)), widget.size())


@pytest.mark.parametrize("size", [(1366, 768), (1600, 900)])
def test_everything_fits_without_scrolling(qtbot, size):
    s = Screen(qtbot, size=size)
    try:
        s.run_until(7.0)
        s.settle()
        win = s.win
        assert (win.width(), win.height()) == size
        parts = {
            "banner": win.alarm_banner,
            "traces": win.traces,
            "train time": win.traintime,
            "lsr column": s.lsr.column,
            "event log": win.event_log,
            "lsr status": s.lsr.status,
        }
        central = _rect(win.centralWidget(), win)
        rects = {}
        for name, w in parts.items():
            assert w.isVisible(), name
            r = rects[name] = _rect(w, win)
            assert central.contains(r), name
        names = list(rects)
        for i, a in enumerate(names):
            for b in names[i + 1 :]:
                assert not rects[a].intersects(rects[b]), (a, b)
        # Free-run parts stay readable.
        assert win.event_log.height() >= 4 * win.event_log.row_height
        assert win.traces.width() >= 0.5 * size[0]
        spans = win.traces.row_spans()
        for top, bottom in spans:
            assert bottom - top >= 80
        # Each LSR row sits beside its channel's trace, inside the column.
        column = rects["lsr column"]
        y0 = win.traces.mapTo(win, QPoint(0, 0)).y()
        for row, (top, _) in zip(s.lsr.column.rows, spans, strict=True):
            for plot in (row.waterfall, row.trend):
                r = _rect(plot, win)
                assert column.contains(r)
                assert abs(r.top() - (y0 + top)) <= 3
        assert s.lsr.column.n_slots >= 8
        # The status line fits its box in large type.
        box = s.lsr.status
        for label, floor in ((box.head, 24), (box.detail, 18)):
            assert label.font().pointSize() >= floor
            assert QFontMetrics(label.font()).horizontalAdvance(label.text()) <= label.width()
        assert box.button.isVisible()
        assert _rect(box.button, win).bottom() <= rects["lsr status"].bottom()
    finally:
        s.win.close()


def test_window_creates_its_own_analyzer_when_none_is_given(qtbot):
    s = Screen(qtbot, evoked=False)
    try:
        assert isinstance(s.win.evoked, EvokedAnalyzer)
        s.run_until(3.0)
        assert s.lsr.column.isVisible()
        assert s.lsr.status_text.startswith("LSR present")
    finally:
        s.win.close()


def test_words():
    assert status_parts("LSR present — L Mentalis 240 µV at 10.1 ms") == (
        "LSR present",
        "L Mentalis 240 µV at 10.1 ms",
    )
    assert status_parts("LSR gone since 00:14:32") == ("LSR gone", "since 00:14:32")
    assert status_parts("LSR: baseline 3 of 5 sweeps") == ("LSR", "Baseline 3 of 5 sweeps")
    assert status_parts("LSR absent on 3 of 5 sweeps") == ("LSR absent on 3 of 5 sweeps", "")
    assert signal_clock(10_000)(10_000 * 3725) == "01:02:05"


def test_headless_prints_lsr_calls(capsys):
    from main import main

    code = main(
        [
            "--headless",
            "--duration",
            "3.0",
            "--speed",
            "20",
            "--lsr-gone-at",
            "6",
            "--seed",
            "2",
            "--log",
            "/dev/null",
        ]
    )
    assert code == 0
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("lsr ")]
    assert lines, "no LSR line"
    # Rejected sweeps (the simulator's spontaneous activity) may come first.
    assert any(re.match(r"lsr \d+\.\d\ds  LSR disappeared: ", ln) for ln in lines), lines


def test_call_line():
    from monitor.evoked import LsrCall

    call = LsrCall("disappeared", 42_000, 9, ("L Mentalis",), "absent_k", "LSR disappeared: x.")
    assert call_line(call, 10_000) == "lsr 4.20s  LSR disappeared: x."


# -- contaminated sweeps and the stimulation control --------------------------------------------
def _cautery_screen(qtbot, size=(1600, 900)) -> Screen:
    """Stimulating at 1 Hz from 0.2 s (the LSR all along); cautery over 6.1-9.0 s: the
    sweeps at 6.2, 7.2 and 8.2 s are hit."""
    config = SimConfig(
        rate=RATE, labels=default_labels(4), seed=11, stim_rate_hz=1.0, stim_start_s=0.2,
        **QUIET,
    )  # fmt: skip

    def synth(cfg):
        from simulation.emgsynth import EmgSynth

        s = EmgSynth(cfg)
        s.add_event("artifact", 6.1, duration_s=2.9, amplitude_uv=3000.0)
        return s

    return Screen(qtbot, size=size, config=config, synth=synth)


def test_rejected_sweeps_are_grey_with_their_reason_and_scale_nothing(qtbot):
    s = _cautery_screen(qtbot)
    try:
        s.run_until(6.0)
        row = s.lsr.column.rows[MENTALIS]
        spacing = row.spacing
        trend_top = row.tplot.viewRange()[1][1]
        s.run_until(9.5)  # three cautery sweeps drawn, the newest judged again (9.2 s)
        shown = s.lsr.rejected_shown(MENTALIS)
        assert shown[:4] == ["", "cautery", "cautery", "cautery"], shown
        assert all(row._grey[age] for age in (1, 2, 3)) and not row._grey[0]
        [label] = [t.toPlainText() for t in row.reject_texts if t.isVisible()]
        assert label == "3 rejected: cautery"
        # The millivolts of cautery set neither the waterfall's offset nor the trend's
        # scale; the grey traces stay within their slots; the trend has no point for them.
        assert row.spacing == spacing
        assert row.tplot.viewRange()[1][1] < 1.5 * trend_top  # µV of LSR, not mV of cautery
        for age in (1, 2, 3):
            y = row.curves[age].getData()[1]
            assert np.nanmax(np.abs(y - age * spacing)) <= 0.45 * spacing + 1e-6
        x, y = s.lsr.trend_data(MENTALIS)
        assert not set(np.round(x, 1)) & {6.2, 7.2, 8.2}
        assert y.max() < 400
        # The log says so in two lines, not one per sweep.
        rows = [r for r in s.log_rows() if "rejected" in r[2]]
        assert [r[2] for r in rows][::-1] == [
            "LSR sweep rejected (cautery): all channels.",
            "LSR: 2 more sweeps rejected to 00:00:08 (cautery).",
        ]
        assert s.lsr.status_text.startswith("LSR present")
    finally:
        s.win.close()


class _SlippedNeedle:
    """From ``at_s`` the stimulus no longer reaches the nerve: same pulses and artifacts,
    no direct response, no LSR (the simulator with every threshold out of reach)."""

    def __init__(self, at_s: float) -> None:
        self.at_s = at_s

    def __call__(self, cfg):
        import dataclasses

        from simulation.emgsynth import EmgSynth

        at = round(self.at_s * cfg.rate)
        off = EmgSynth(dataclasses.replace(cfg, threshold_ma=1e6, lsr_threshold_ma=1e6))

        class Slipped(EmgSynth):
            def render(self, start, n):
                data, stims = super().render(start, n)
                quiet, _ = off.render(start, n)
                return (quiet if start >= at else data), stims

        return Slipped(cfg)


@pytest.mark.parametrize("size", [(1366, 768), (1600, 900)])
def test_stimulation_lost_is_an_alarm_on_the_panel_never_lsr_gone(qtbot, size):
    config = SimConfig(
        rate=RATE, labels=default_labels(4), seed=11, stim_rate_hz=2.0, stim_start_s=0.2,
        **QUIET,
    )  # fmt: skip
    s = Screen(qtbot, size=size, config=config, synth=_SlippedNeedle(5.0), pipeline=True)
    try:
        s.run_until(4.5)
        box = s.lsr.status
        assert box.stim.isVisible()
        assert re.fullmatch(r"Stim(ulation|\.) OK — L Orb\. oculi \d\.\d mV", box.stim.text())
        s.run_until(9.0)  # needle out at 5 s: the 3rd sweep without it (6.2 s) calls it
        s.settle()
        wide = size[0] >= 1600
        assert box.stim.text() == (
            "STIMULATION NOT REACHING THE NERVE" if wide else "STIMULATION LOST"
        )
        assert box.stim_state == "lost"
        assert s.lsr.status_text == "LSR cannot be judged — stimulation lost since 00:00:05"
        assert (box.head.text(), box.detail.text()) == (
            "LSR cannot be judged",
            "stimulation lost since 00:00:05",
        )
        banner = s.win.alarm_banner.text_label.text()
        assert "Stimulation is not reaching the nerve" in banner
        direct = s.lsr.column.rows[DIRECT]
        assert direct.control and "DIRECT LOST" in direct.tcaption.text()
        assert all(r.lost_regions and r.lost_regions[0].isVisible() for r in s.lsr.column.rows)
        lo, _ = direct.lost_regions[0].getRegion()
        assert lo == pytest.approx(5.2, abs=0.01)
        assert not [r for r in s.log_rows() if r[2].startswith("LSR disappeared")]
        assert s.evoked.state() == "present"
        # The stimulation line fits its box, in large type, clear of the button.
        assert box.stim.font().pointSize() >= 14
        fm = QFontMetrics(box.stim.font())
        assert fm.horizontalAdvance(box.stim.text()) <= box.stim.width()
        stim = _rect(box.stim, s.win)
        assert _rect(box, s.win).contains(stim)
        assert not stim.intersects(_rect(box.button, s.win))
        assert not stim.intersects(_rect(box.detail, s.win))
    finally:
        s.win.close()


def test_the_baseline_overlay_leaves_out_sweeps_rejected_on_each_channel():
    """Cautery over a stimulus while the baseline is collected: the overlay drawn as the
    reference (and the waterfall's scale, where no amplitude is known) is the mean of the
    clean sweeps only, not microvolts of LSR swamped by millivolts of cautery."""
    from tests.monitor.test_evoked_artifacts import CONTRA, Case, _cautery, run
    from ui.lsrpanel import SweepHistory

    case = Case(seconds=10.0)
    x = case.signal()
    _cautery(x, 2.99, 0.1)  # over the 3rd stimulus
    analyzer, _, sweeps = run(case, x)
    b = analyzer.baseline()
    assert b is not None and b.first_stim <= 3 <= b.last_stim
    assert all(r.rejected == "cautery" for r in sweeps[2].results)
    history = SweepHistory()
    history.poll(analyzer)
    t, mean = history.baseline_sweep(b)
    clean = [
        sw.epoch
        for sw in sweeps
        if b.first_stim <= sw.stim_number <= b.last_stim and not sw.rejected()
    ]
    expected = np.mean(clean, axis=0)
    after = t >= 3.0
    for ch in (MENTALIS, CONTRA):
        np.testing.assert_allclose(mean[after, ch], expected[after, ch], atol=1e-3)
    assert np.ptp(mean[after, CONTRA]) < 30  # noise only, not the cautery's hundreds of µV


@pytest.mark.parametrize("size", [(1366, 768), (1600, 900)])
def test_rejected_labels_fit_the_waterfall_and_clear_each_other(qtbot, size):
    """On a laptop-sized window the waterfall is narrow: a long reason is shortened with
    an ellipsis, never cut at the plot's edge; labels of several reasons (the oldest slot
    included) stay clear of each other and of the captions at the top, the newest first
    where there is no room for all (the log has every rejection)."""
    s = _cautery_screen(qtbot, size=size)
    try:
        s.run_until(2.0)
        s.settle()
        row = s.lsr.column.rows[MENTALIS]
        n = row.n_slots
        reasons = [""] * n
        for age in (1, 3):  # two runs of one reason: one label, counting both
            reasons[age] = "spontaneous activity"
        for age in (4, 5):
            reasons[age] = "cautery"
        reasons[n - 1] = "no pre-stimulus signal"  # the oldest slot, under the captions
        row._label_rejected(reasons, row.spacing)
        QApplication.processEvents()  # the labels place themselves on the view's transform
        row.waterfall.grab()
        view = row.wplot.getViewBox()
        plot = view.sceneBoundingRect()
        shown = [t for t in row.reject_texts if t.isVisible()]
        texts = [t.toPlainText() for t in shown]
        # The newest reasons first; the oldest only where the waterfall is tall enough.
        assert len(shown) == (2 if size[1] < 800 else 3), texts
        assert texts[0].startswith("2 rejected: sp") and texts[1] == "2 rejected: cautery"
        rects = [t.textItem.sceneBoundingRect() for t in shown]
        for r in rects:
            assert plot.left() - 1 <= r.left() and r.right() <= plot.right() + 1, (r, plot)
        for a, b in itertools.pairwise(rects):
            assert not a.intersects(b), texts
        captions = [row.wcaption, row.scale_label]
        bottom = max(c.geometry().bottom() for c in captions if c.isVisible() and c.text())
        top = min(row.waterfall.mapFromScene(r.topLeft()).y() for r in rects)
        assert top > bottom, (top, bottom)
        assert [row._labels.get(age, "") for age in range(n)] == reasons
    finally:
        s.win.close()


def test_at_200_hz_the_screen_says_why_the_lsr_is_not_measured(qtbot, tmp_path):
    from drivers.replay import ReplaySource
    from monitor.edfwriter import EdfWriter
    from monitor.source import EndOfStream
    from ui.mainwindow import MainWindow

    path = tmp_path / "r200.edf"
    with EdfWriter(path, 200.0, list(default_labels(2)), record_seconds=1.0) as w:
        for k in range(1, 6):
            w.annotate(k, "stim 10 mA 0.2 ms zygomatic")
        w.write(np.random.default_rng(0).normal(0, 20, (1400, 2)))
    source = ReplaySource(path, realtime=False, block_seconds=0.1)
    session = Session(source)
    session.open()
    attached = attach_pipeline(session)
    win = MainWindow(
        CaseModel.on_session(session, monitoring=attached.monitoring, evoked=attached.evoked)
    )
    win.timer.stop()
    qtbot.addWidget(win)
    win.resize(1600, 900)
    win.show()
    qtbot.waitExposed(win)
    try:
        while True:
            block = source.read()
            if block is not None:
                session.process(block)
                win.refresh()
    except EndOfStream:
        pass
    win.refresh()
    assert win.lsr.status.isVisible() and not win.lsr.column.isVisible()
    assert win.lsr.status.head.text() == "LSR not measured"
    assert win.lsr.status.detail.text() == "sampling rate 200 Hz, needs 1000 Hz"
    assert not win.lsr.status.button.isVisible()  # no baseline to set
    rows = [" ".join(win.event_log.texts(r)) for r in range(win.event_log.rowCount())]
    assert sum("LSR not measured: the sampling rate (200 Hz)" in r for r in rows) == 1
    win.close()


def test_the_status_box_wraps_a_line_too_long_for_it_rather_than_cutting_it(qtbot):
    """At its smallest type a line that still does not fit takes a second line: nothing
    of the LSR's state is cut (the no-signal screen at 1366x768 cut the detail)."""
    from ui.lsrpanel import LsrStatusBox

    box = LsrStatusBox()
    qtbot.addWidget(box)
    box.resize(300, 240)
    box.show()
    text = "LSR\nStimulation: direct-response baseline being taken on L Orb. oculi"
    box.set_status(text, "")
    box.set_stimulation("Stim. OK (LSR present; no direct response on any channel)", "ok")
    _, detail = status_parts(text)
    for label, words in ((box.detail, detail), (box.stim, box.stim.text())):
        assert label.text() == words  # every word kept
        fits = QFontMetrics(label.font()).horizontalAdvance(words) <= label.contentsRect().width()
        assert fits or label.wordWrap()
