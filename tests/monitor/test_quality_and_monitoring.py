"""Signal-quality conditions, and the monitoring that turns events into alarms."""

from __future__ import annotations

import numpy as np
import pytest

from drivers.simulator import SimulatorSource
from monitor.alarms import AlarmState, Priority
from monitor.block import Block
from monitor.monitoring import FreeRunMonitoring
from monitor.problems import Severity
from monitor.quality import SignalQuality
from monitor.session import Session
from simulation.emgsynth import QUIET, SimConfig

RATE = 10_000.0


def run_quality(raw: np.ndarray, filtered: np.ndarray) -> list[tuple[str, bool]]:
    seen = []
    q = SignalQuality(
        RATE, ("L Orb. oculi", "L Mentalis"), lambda k, t, on, i: seen.append((k, on, t))
    )
    for start in range(0, len(raw), 1000):
        blk = Block(start, raw[start : start + 1000], RATE, ("L Orb. oculi", "L Mentalis"))
        q(blk, filtered[start : start + 1000])
    return seen


def test_flat_channel_mains_and_saturation_are_named():
    n = 40_000
    rng = np.random.default_rng(0)
    t = np.arange(n) / RATE
    raw = rng.normal(0, 5, (n, 2)).astype(np.float32)
    filtered = raw.copy()
    filtered[:, 0] = 0.01 * rng.normal(size=n)  # channel 0 flat
    raw[:, 1] += (60 * np.sin(2 * np.pi * 50 * t)).astype(np.float32)  # heavy mains on ch 1
    raw[20_000:20_020, 1] = 5000.0  # clipped for 2 ms
    seen = run_quality(raw, filtered)
    keys = {(k, on) for k, on, _ in seen}
    assert ("flat:0", True) in keys
    assert ("mains:1", True) in keys and ("mains:0", True) not in keys
    assert ("saturation:1", True) in keys and ("saturation:1", False) in keys
    texts = [t for k, on, t in seen if k == "flat:0"]
    assert "L Orb. oculi" in texts[0] and "flat" in texts[0]


def test_clean_signal_raises_nothing():
    rng = np.random.default_rng(1)
    raw = rng.normal(0, 5, (30_000, 2)).astype(np.float32)
    assert run_quality(raw, raw) == []


def monitored(cfg: SimConfig, setup=None, thresholds=(0.5, 10.0)):
    source = SimulatorSource(cfg, realtime=False)
    if setup:
        setup(source.synth)
    session = Session(source)
    session.open()
    mon = FreeRunMonitoring(session, traintime_thresholds_s=thresholds)
    return source, session, mon


def feed(source, session, seconds: float) -> None:
    while session.status().end_index < seconds * RATE:
        session.process(source.read())


def test_an_a_train_raises_its_alarm_and_train_time_past_thresholds():
    transitions = []
    source, session, mon = monitored(
        SimConfig(seed=1, **QUIET),
        lambda s: s.add_event("a_train", 1.0, channel=2, duration_s=2.5, freq_hz=150),
        thresholds=(0.5, 2.0),
    )
    mon.alarms.add_listener(transitions.append)
    feed(source, session, 2.0)
    keys = {a.key: a for a in mon.alarms.alarms()}
    assert "a_train:2" in keys and "L Mentalis" in keys["a_train:2"].text
    assert "traintime_warning:2" in keys
    assert [e.kind.value for e in mon.ongoing()] == ["a_train"]
    feed(source, session, 5.0)
    keys = {a.key: a for a in mon.alarms.alarms()}
    assert "a_train:2" not in keys  # the train ended
    assert keys["traintime_high:2"].priority is Priority.HIGH
    assert mon.traintime.seconds()[2] == pytest.approx(2.5, rel=0.05)
    assert [e.kind.value for e in mon.events()] == ["a_train"]
    assert {t.key for t in transitions} >= {"a_train:2", "traintime_warning:2", "traintime_high:2"}


def test_no_signal_is_a_high_technical_alarm_until_the_signal_is_back():
    _, session, mon = monitored(SimConfig(seed=2, **QUIET))
    session._report(Severity.WARNING, "No signal: the amplifier was disconnected.")
    (a,) = mon.alarms.alarms()
    assert a.key == "no_signal" and a.priority is Priority.HIGH and a.technical
    session._report(Severity.INFO, "Signal from the amplifier is back.")
    assert mon.alarms.alarms() == []


def test_cautery_never_clears_a_technical_alarm():
    source, session, mon = monitored(
        SimConfig(seed=3, **QUIET),
        lambda s: s.add_event("artifact", 1.0, duration_s=1.0, amplitude_uv=2000),
    )
    mon.alarms.raise_condition("lead_off:1", "L Orb. oris: electrode off", 0)
    feed(source, session, 3.0)
    assert any(e.kind.value == "artifact" for e in mon.events())
    assert [a.key for a in mon.alarms.alarms()] == ["lead_off:1"]
    assert mon.alarms.alarms()[0].state is AlarmState.ACTIVE


def test_a_second_train_keeps_its_alarm_until_it_ends():
    """An A-train alarm stays up at least 3 s after its train began; a second train on
    the channel within those 3 s must not be resolved by the first one's pending end."""
    from validation.freerun_signals import A_TRAIN, ATrain, FreeRunCase, generate_freerun
    from validation.interference import Background
    from validation.pipeline import run_monitor
    from validation.source import ArraySource

    case = FreeRunCase(
        background=Background(noise_uv=3.0, hum_uv=0.0),
        a_train=ATrain(freq_hz=120, overlap=0.5, amplitude_uv=150, duration_s=1.6),
        trains_per_channel=2,
        n_channels=1,
        rate=RATE,
        gap_s=0.3,
    )
    signal = generate_freerun(case, seed=2)
    first, second = sorted(signal.events(A_TRAIN), key=lambda e: e.onset)
    assert second.onset - first.onset < 3 * RATE
    result = run_monitor(ArraySource(signal.data, RATE, signal.labels, block=(40, 400)))
    ends = [
        t.sample_index
        for t in result.alarm_transitions
        if t.key == "a_train:0" and t.new is AlarmState.RESOLVED
    ]
    assert ends and min(ends) >= second.offset - 0.05 * RATE  # not during the second train
