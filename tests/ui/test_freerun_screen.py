"""The free-running part of the live screen, driven by a simulator whose truth we set.

A quiet simulated patient (no random events, no stimulator) gets one 120 Hz A-train on
channel 1 (L Orb. oris) from 2 s to 4 s; the test pushes the blocks through the session
itself (no acquisition thread), so every assertion is about a known signal time.
"""

from __future__ import annotations

import re

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt

from drivers.simulator import SimulatorSource
from monitor.alarms import AlarmManager, AlarmState, Priority
from monitor.events import EventKind
from monitor.monitoring import FreeRunMonitoring
from monitor.montage import default_labels
from monitor.session import Session
from presentation import theme
from simulation.emgsynth import SimConfig

RATE = 10_000
CHANNEL = 1  # L Orb. oris
QUIET = dict(
    spikes_per_min=0,
    bursts_per_min=0,
    a_trains_per_min=0,
    b_trains_per_min=0,
    c_trains_per_min=0,
    cautery_per_min=0,
    stim_rate_hz=0,
)


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


class Screen:
    """A window on a session fed by hand."""

    def __init__(self, qtbot, artifact_at: float | None = None, size=(1600, 900)) -> None:
        from monitor.casemodel import CaseModel
        from ui.mainwindow import MainWindow

        config = SimConfig(rate=RATE, labels=default_labels(4), seed=3, **QUIET)
        self.source = SimulatorSource(config, realtime=False, duration_s=30)
        self.source.synth.add_event("a_train", 2.0, channel=CHANNEL, duration_s=2.0, freq_hz=120)
        if artifact_at is not None:
            self.source.synth.add_event("artifact", artifact_at, channel=0, duration_s=1.0)
        self.session = Session(self.source)
        self.session.open()
        self.clock = FakeClock()
        self.monitoring = FreeRunMonitoring(self.session, alarms=AlarmManager(clock=self.clock))
        self.win = MainWindow(CaseModel.on_session(self.session, monitoring=self.monitoring))
        self.win.timer.stop()  # the test draws frames itself
        qtbot.addWidget(self.win)
        self.win.resize(*size)
        self.win.show()
        qtbot.waitExposed(self.win)

    def run_until(self, seconds: float) -> None:
        while self.source._next < round(seconds * RATE):
            self.session.process(self.source.read())
        self.win.refresh()

    @property
    def alarms(self) -> AlarmManager:
        return self.monitoring.alarms

    def state(self, key: str) -> AlarmState | None:
        return next((a.state for a in self.alarms.alarms() if a.key == key), None)

    def log_rows(self) -> list[list[str]]:
        return [self.win.event_log.texts(r) for r in range(self.win.event_log.rowCount())]


@pytest.fixture
def screen(qtbot):
    s = Screen(qtbot)
    yield s
    s.win.close()


def test_a_train_is_drawn_on_its_channel_while_it_lasts_and_after(screen):
    screen.run_until(3.0)  # one second into the train
    markers = screen.win.traces.markers
    assert markers.band_count(CHANNEL, EventKind.A_TRAIN) == 1
    for ch in (0, 2, 3):
        assert markers.band_count(ch, EventKind.A_TRAIN) == 0
        assert markers.shown[ch] == []
    [(text, _)] = markers.shown[CHANNEL]
    assert re.fullmatch(r"A-train 1[12]\d Hz …", text)  # ongoing: extends to now
    [(x0, x1)] = markers.bands(CHANNEL, EventKind.A_TRAIN)
    assert x0 == pytest.approx(-1.0, abs=0.02)  # onset 1 s before the newest sample
    assert x1 == pytest.approx(0.0, abs=0.001)

    screen.run_until(6.0)  # ended 2 s ago: still on screen, no longer "…"
    assert markers.band_count(CHANNEL, EventKind.A_TRAIN) == 1
    [(text, x)] = markers.shown[CHANNEL]
    assert re.fullmatch(r"A-train 1[12]\d Hz", text)
    assert x == pytest.approx(-4.0, abs=0.02)  # the name at the onset
    [(x0, x1)] = markers.bands(CHANNEL, EventKind.A_TRAIN)
    assert (x0, x1) == (pytest.approx(-4.0, abs=0.02), pytest.approx(-2.0, abs=0.02))

    screen.run_until(15.0)  # scrolled out of the 10 s window
    assert markers.band_count(CHANNEL, EventKind.A_TRAIN) == 0
    assert markers.shown[CHANNEL] == []


def test_a_train_raises_a_medium_banner_naming_the_pattern_and_the_muscle(screen):
    banner = screen.win.alarm_banner
    assert banner.text_label.text() == "No alarms"
    screen.run_until(2.3)
    assert banner.priority is Priority.MEDIUM
    assert "A-train" in banner.text_label.text()
    assert "L Orb. oris" in banner.text_label.text()
    assert banner.marks_label.text() == "!!"
    assert banner.colour == theme.ALARM_ON[2][0] == "#ffd600"  # yellow
    # Medium flashes at 0.5 Hz, 50 %: lit for a second, dark for a second.
    now = banner._phase_t0
    alarms = screen.alarms.alarms()
    banner.show_alarms(alarms, 0.0, now + 0.5)
    assert banner.lit and banner.background == "#ffd600"
    banner.show_alarms(alarms, 0.0, now + 1.5)
    assert not banner.lit and banner.background == theme.ALARM_OFF[2][0]
    banner.show_alarms(alarms, 0.0, now + 2.5)
    assert banner.lit


def test_high_priority_is_red_flashing_at_2_hz_and_goes_first(screen):
    screen.run_until(3.0)
    screen.alarms.raise_condition("no_signal", "No signal from the amplifier.", 30_000)
    screen.win.refresh()
    banner = screen.win.alarm_banner
    assert banner.priority is Priority.HIGH
    assert banner.colour == theme.ALARM_ON[3][0]
    assert banner.text_label.text() == "Technical alarm: No signal from the amplifier."
    assert banner.more_label.text() == "+2 more alarms"  # A-train and train time
    t0 = banner._phase_t0
    lit = []
    for k in range(8):  # 2 Hz: 0.25 s on, 0.25 s off
        banner.show_alarms(screen.alarms.alarms(), 0.0, t0 + 0.125 + k * 0.25)
        lit.append(banner.lit)
    assert lit == [True, False] * 4


def test_a_latched_alarm_stays_until_acknowledged(screen, qtbot):
    screen.run_until(1.0)
    key = "traintime_high:1"
    screen.alarms.raise_condition(key, "Train time L Orb. oris over 10 s", 10_000)
    screen.alarms.clear_condition(key, 10_500)  # e.g. train time reset: the alarm latches
    screen.win.refresh()
    banner = screen.win.alarm_banner
    assert screen.state(key) is AlarmState.LATCHED
    assert banner.priority is Priority.HIGH and banner.colour == theme.ALARM_ON[3][0]
    assert banner.state_label.text() == "ended — acknowledge"
    t0 = banner._phase_t0
    banner.show_alarms(screen.alarms.alarms(), 0.0, t0 + 0.375)
    assert not banner.lit  # still flashing
    qtbot.keyClick(screen.win, Qt.Key.Key_A)
    assert screen.state(key) is None
    assert banner.text_label.text() == "No alarms"
    assert banner.background == theme.NO_ALARM[0]


def test_acknowledge_by_button_and_by_keys(screen, qtbot):
    screen.run_until(3.0)
    assert screen.state("a_train:1") is AlarmState.ACTIVE
    qtbot.mouseClick(screen.win.alarm_banner.ack_button, Qt.MouseButton.LeftButton)
    assert screen.state("a_train:1") is AlarmState.ACKNOWLEDGED
    assert screen.win.alarm_banner.state_label.text() == "acknowledged"
    assert screen.alarms.sounding_priority() is None

    for key in (Qt.Key.Key_A, Qt.Key.Key_F2):
        screen.alarms.raise_condition("lead_off:0", "L Orb. oculi: electrode off", 30_000)
        assert screen.state("lead_off:0") is AlarmState.ACTIVE
        qtbot.keyClick(screen.win, key)
        assert screen.state("lead_off:0") is AlarmState.ACKNOWLEDGED
        screen.alarms.clear_condition("lead_off:0", 30_100)

    screen.run_until(5.5)  # acknowledged alarms do not flash; they go when they end (shown
    # at least 3 s from the onset: monitor.monitoring.A_TRAIN_ALARM_MIN_S)
    assert screen.state("a_train:1") is None
    rows = screen.log_rows()
    assert any("A-train on L Orb. oris" in r[2] and "acknowledged" in r[2] for r in rows)


def test_audio_pause_counts_down_and_silences_the_alarm(screen, qtbot):
    screen.run_until(3.0)
    banner = screen.win.alarm_banner
    assert screen.alarms.sounding_priority() is Priority.MEDIUM
    assert banner.pause_button.text() == "Audio pause  (P)"
    qtbot.mouseClick(banner.pause_button, Qt.MouseButton.LeftButton)
    assert screen.alarms.sounding_priority() is None
    assert banner.pause_button.text() == "Audio paused 2:00"
    screen.clock.t += 30.5
    screen.win.refresh()
    assert banner.pause_button.text() == "Audio paused 1:30"
    assert screen.alarms.sounding_priority() is None
    assert banner.count == 2 and banner.priority is Priority.MEDIUM  # alarms stay on screen
    qtbot.keyClick(screen.win, Qt.Key.Key_P)  # again: sound back
    assert screen.alarms.sounding_priority() is Priority.MEDIUM
    assert banner.pause_button.text() == "Audio pause  (P)"
    qtbot.keyClick(screen.win, Qt.Key.Key_F3)
    assert screen.alarms.sounding_priority() is None
    screen.clock.t += 121
    screen.win.refresh()  # the pause ends by itself
    assert banner.pause_button.text() == "Audio pause  (P)"
    assert screen.alarms.sounding_priority() is Priority.MEDIUM
    notes = [r[2] for r in screen.log_rows()]
    assert "Alarm sound paused for 2:00" in notes and "Alarm sound resumed" in notes


def test_train_time_bar_shows_the_accumulated_seconds(screen):
    bars = screen.win.traintime.bars
    screen.run_until(3.0)
    assert 0.9 < bars[CHANNEL].seconds < 1.1  # grows while the train lasts
    assert bars[CHANNEL].level == 1  # past 0.5 s: yellow
    screen.run_until(6.0)
    assert bars[CHANNEL].seconds == pytest.approx(2.0, abs=0.1)
    assert bars[CHANNEL].text in ("1.9 s", "2.0 s", "2.1 s")
    assert [b.seconds for i, b in enumerate(bars) if i != CHANNEL] == [0.0, 0.0, 0.0]
    # Each bar lines up with its channel's plot.
    spans = screen.win.traces.row_spans()
    for bar, (top, bottom) in zip(bars, spans, strict=True):
        y = bar.mapTo(screen.win, bar.rect().topLeft()).y()
        y_plot = screen.win.traces.mapTo(screen.win, screen.win.traces.rect().topLeft()).y()
        assert abs(y - (y_plot + top)) <= 2
        assert abs(bar.height() - (bottom - top)) <= 2


def test_reset_asks_for_a_reason_and_keeps_it(screen, qtbot, monkeypatch):
    screen.run_until(6.0)
    bar = screen.win.traintime.bars[CHANNEL]
    asked = []

    def answer(text: str, ok: bool):
        def get_text(parent, title, label, *args, **kwargs):
            asked.append(label)
            return text, ok

        monkeypatch.setattr("ui.mainwindow.ask_text", get_text)

    answer("Electrode moved", False)  # cancelled: nothing happens
    qtbot.mouseClick(bar.reset_button, Qt.MouseButton.LeftButton)
    assert screen.monitoring.traintime.seconds()[CHANNEL] > 1.9
    answer("   ", True)  # no reason: refused, and said so
    qtbot.mouseClick(bar.reset_button, Qt.MouseButton.LeftButton)
    assert screen.monitoring.traintime.seconds()[CHANNEL] > 1.9
    assert "reason" in screen.win.banner.text()
    answer("Electrode moved", True)
    qtbot.mouseClick(bar.reset_button, Qt.MouseButton.LeftButton)
    assert "L Orb. oris" in asked[-1]
    assert screen.monitoring.traintime.seconds()[CHANNEL] == 0.0
    reset = screen.monitoring.traintime.resets[-1]
    assert (reset.channel, reset.reason) == (CHANNEL, "Electrode moved")
    assert reset.seconds_before == pytest.approx(2.0, abs=0.1)
    assert bar.text == "0.0 s"
    top = screen.log_rows()[0]
    assert top[1] == "L Orb. oris"
    assert "Train time reset" in top[2] and "Electrode moved" in top[2]
    # "Reset all" resets every channel.
    answer("New phase: decompression", True)
    qtbot.mouseClick(screen.win.traintime.reset_all, Qt.MouseButton.LeftButton)
    assert screen.monitoring.traintime.resets[-1].channel is None
    assert "every channel" in asked[-1]


def test_event_log_lists_the_event_and_the_alarm_transitions(screen):
    screen.run_until(6.0)
    rows = screen.log_rows()
    events = [r for r in rows if r[2] == "A-train"]
    assert len(events) == 1
    time, channel, _, amp, duration, freq = events[0]
    assert (time, channel) == ("00:00:02", "L Orb. oris")
    assert amp.endswith(" µV") and 50 < float(amp.split()[0]) < 2000
    assert duration in ("1.99 s", "2.00 s", "2.01 s")
    assert 110 <= float(freq.split()[0]) <= 130 and freq.endswith(" Hz")
    alarm_rows = [r[2] for r in rows if "alarm:" in r[2]]
    assert any(
        "!! Medium alarm: A-train on L Orb. oris" in r and "— alarm" in r for r in alarm_rows
    )
    assert any("A-train on L Orb. oris" in r and "ended" in r for r in alarm_rows)
    assert any("Train time L Orb. oris" in r for r in alarm_rows)
    # Newest first: the ending of the A-train alarm is above its start.
    texts = [r[2] for r in rows]
    start = next(i for i, t in enumerate(texts) if "A-train on" in t and "— alarm" in t)
    end = next(i for i, t in enumerate(texts) if "A-train on" in t and "ended" in t)
    assert end < start
    # Nothing is listed twice on later frames.
    n = screen.win.event_log.rowCount()
    screen.win.refresh()
    screen.win.refresh()
    assert screen.win.event_log.rowCount() == n


def test_artifact_is_a_grey_band_across_every_channel(qtbot):
    s = Screen(qtbot, artifact_at=5.0)
    try:
        s.run_until(7.0)
        for ch in range(4):
            assert s.win.traces.markers.band_count(ch, EventKind.ARTIFACT) == 1
        # Named as the user guide says (the log keeps the class name, "artifact").
        assert any(t == "cautery — detection paused" for t, _ in s.win.traces.markers.shown[0])
        assert any(r[1] == "all channels" and r[2] == "artifact" for r in s.log_rows())
    finally:
        s.win.close()


def test_markers_reuse_their_items_frame_after_frame(screen):
    scene = screen.win.traces.scene()
    screen.run_until(1.0)
    before = len(scene.items())
    for k in range(30):
        screen.run_until(1.0 + 0.2 * k)
    assert len(scene.items()) == before


@pytest.mark.parametrize("size", [(1366, 768), (1600, 900)])
def test_everything_fits_without_scrolling(qtbot, size):
    s = Screen(qtbot, size=size)
    try:
        s.run_until(6.0)
        win = s.win
        assert (win.width(), win.height()) == size
        central = win.centralWidget()
        for w in (win.alarm_banner, win.traces, win.traintime, win.event_log):
            assert w.isVisible()
            r = w.geometry()
            assert r.right() <= central.width() and r.bottom() <= central.height()
        assert win.event_log.height() >= 4 * win.event_log.row_height
        for top, bottom in win.traces.row_spans():
            assert bottom - top >= 80  # four channels stay tall enough to read
        assert win.alarm_banner.ack_button.isVisible()
        assert win.alarm_banner.pause_button.isVisible()
    finally:
        s.win.close()
