"""Pulling the monitoring's news incrementally, and the words it is said in (Qt-free)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from drivers.simulator import SimulatorSource
from monitor.alarms import AlarmState, AlarmTransition, Priority
from monitor.events import EmgEvent, EventKind
from monitor.monitoring import FreeRunMonitoring
from monitor.montage import default_labels
from monitor.session import Session
from presentation.feed import (
    MonitoringFeed,
    alarm_channel,
    duration_text,
    event_label,
    event_row,
    hhmmss,
    transition_text,
)
from simulation.emgsynth import SimConfig


def monitoring() -> FreeRunMonitoring:
    source = SimulatorSource(SimConfig(labels=default_labels(4), seed=1), realtime=False)
    session = Session(source)
    session.open()
    return FreeRunMonitoring(session)


def event(i: int, kind=EventKind.SPIKE, channel=0, onset=0, offset=100, freq=None) -> EmgEvent:
    return EmgEvent(i, kind, channel, onset, offset, 150.0, freq, offset, True)


def test_feed_returns_each_event_and_transition_once():
    m = monitoring()
    feed = MonitoringFeed(m)
    assert feed.poll() == ([], [])
    m._on_event(event(1))
    m._on_event(event(2, EventKind.BURST, 1))
    m.alarms.raise_condition("lead_off:2", "L Mentalis: electrode off", 10)
    events, transitions = feed.poll()
    assert [e.id for e in events] == [1, 2]
    assert [t.key for t in transitions] == ["lead_off:2"]
    assert feed.poll() == ([], [])
    m._on_event(event(3))
    for k in range(300):  # more than one look-back window of transitions
        m.alarms.raise_condition(f"flat:{k}", "flat", k)
    events, transitions = feed.poll()
    assert [e.id for e in events] == [3]
    assert len(transitions) == 300


def test_words_for_events_and_alarms():
    m = monitoring()
    a = event(7, EventKind.A_TRAIN, 3, onset=20_000, offset=40_100, freq=121.6)
    assert event_label(a) == "A-train 122 Hz"
    row = event_row(a, m)
    assert (row.time, row.channel, row.kind, row.duration, row.frequency) == (
        "00:00:02",
        "L Frontalis",
        "A-train",
        "2.01 s",
        "122 Hz",
    )
    assert row.line() == "00:00:02  L Frontalis  A-train  150 µV  2.01 s  122 Hz"
    art = EmgEvent(8, EventKind.ARTIFACT, -1, 0, 5000, 9000.0, None, 5000, True)
    assert event_row(art, m).channel == "all channels"
    assert event_row(art, m).amplitude == ""
    assert hhmmss(3725.9) == "01:02:05"
    assert duration_text(30, 10_000) == "3 ms"
    assert duration_text(123_000, 10_000) == "12.3 s"
    assert alarm_channel("a_train:3") == 3 and alarm_channel("no_signal") is None
    t = AlarmTransition(
        "no_signal", "No signal", Priority.HIGH, None, AlarmState.ACTIVE, 0, 0.0, "condition"
    )
    assert transition_text(t, technical=True) == "!!! High technical alarm: No signal — alarm"


def test_headless_prints_each_event_and_alarm_transition():
    """``--headless`` says what the screen's event log shows (seed 204: an A-train on
    L Frontalis at about 9-11 s; speed 5 gets there in 2.5 s)."""
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "XDG_STATE_HOME": "/tmp/fnm-test-state"}
    out = subprocess.run(
        [sys.executable, "main.py", "--headless", "--seed=204", "--speed=5", "--duration=3"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    trains = [ln for ln in lines if ln.startswith("event ") and "A-train" in ln]
    assert len(trains) == 1
    assert "L Frontalis" in trains[0] and " µV" in trains[0] and " Hz" in trains[0]
    alarms = [ln for ln in lines if ln.startswith("alarm ")]
    assert any(
        "Medium alarm: A-train on L Frontalis" in ln and ln.endswith("— alarm") for ln in alarms
    )
    assert any("A-train on L Frontalis" in ln and ln.endswith("— ended") for ln in alarms)
    assert "Traceback" not in out.stderr
