"""Alarm states after IEC 60601-1-8: active, acknowledged, latched, resolved, audio paused."""

from __future__ import annotations

import pytest

from monitor.alarms import AlarmManager, AlarmPolicy, AlarmState, Priority


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def mgr():
    clock = Clock()
    m = AlarmManager(clock=clock)
    m.clock = clock
    return m


def states(m: AlarmManager) -> dict[str, AlarmState]:
    return {a.key: a.state for a in m.alarms()}


def test_a_condition_raises_an_active_alarm_that_sounds(mgr):
    mgr.raise_condition("a_train:1", "A-train on L Orb. oris", 1234)
    (a,) = mgr.alarms()
    assert a.state is AlarmState.ACTIVE and a.priority is Priority.MEDIUM
    assert a.text == "A-train on L Orb. oris" and a.since_index == 1234
    assert mgr.sounding_priority() is Priority.MEDIUM


def test_non_latching_alarm_resolves_when_its_condition_ends(mgr):
    mgr.raise_condition("a_train:1", "A-train", 10)
    mgr.clear_condition("a_train:1", 20)
    assert mgr.alarms() == []
    assert mgr.sounding_priority() is None


def test_high_priority_latches_until_acknowledged(mgr):
    mgr.raise_condition("traintime_high:2", "Train time over 10 s", 10)
    mgr.clear_condition("traintime_high:2", 20)
    assert states(mgr) == {"traintime_high:2": AlarmState.LATCHED}
    assert mgr.sounding_priority() is Priority.HIGH
    assert mgr.acknowledge() == 1
    assert mgr.alarms() == []


def test_acknowledge_silences_but_keeps_showing_while_present(mgr):
    mgr.raise_condition("no_signal", "No signal", 5)
    mgr.acknowledge("no_signal", 6)
    assert states(mgr) == {"no_signal": AlarmState.ACKNOWLEDGED}
    assert mgr.sounding_priority() is None
    mgr.clear_condition("no_signal", 7)
    assert mgr.alarms() == []


def test_audio_pause_is_global_time_limited_and_counts_down(mgr):
    mgr.raise_condition("traintime_high:0", "Train time over 10 s", 1)
    mgr.pause_audio()
    assert mgr.sounding_priority() is None
    assert mgr.audio_paused_remaining() == pytest.approx(120.0)
    mgr.clock.t += 100
    assert mgr.audio_paused_remaining() == pytest.approx(20.0)
    mgr.raise_condition("a_train:3", "A-train", 2)  # new alarms are shown, not sounded
    assert len(mgr.alarms()) == 2 and mgr.sounding_priority() is None
    mgr.clock.t += 21
    assert mgr.audio_paused_remaining() == 0.0
    assert mgr.sounding_priority() is Priority.HIGH


def test_highest_priority_first(mgr):
    mgr.raise_condition("mains:0", "Mains on ch 1", 1)
    mgr.raise_condition("traintime_high:1", "Train time", 2)
    mgr.raise_condition("a_train:2", "A-train", 3)
    assert [a.priority for a in mgr.alarms()] == [Priority.HIGH, Priority.MEDIUM, Priority.LOW]


def test_every_transition_is_an_event_with_sample_index_and_wall_time(mgr):
    seen = []
    mgr.add_listener(seen.append)
    mgr.raise_condition("traintime_high:0", "Train time", 100)
    mgr.clear_condition("traintime_high:0", 200)
    mgr.acknowledge(sample_index=300)
    assert [(t.old, t.new, t.sample_index) for t in seen] == [
        (None, AlarmState.ACTIVE, 100),
        (AlarmState.ACTIVE, AlarmState.LATCHED, 200),
        (AlarmState.LATCHED, AlarmState.RESOLVED, 300),
    ]
    assert all(t.wall_time > 0 for t in seen)
    assert mgr.history == seen


def test_a_latched_alarm_that_comes_back_is_active_again(mgr):
    mgr.raise_condition("traintime_high:0", "Train time", 1)
    mgr.clear_condition("traintime_high:0", 2)
    mgr.raise_condition("traintime_high:0", "Train time", 3)
    assert states(mgr) == {"traintime_high:0": AlarmState.ACTIVE}


def test_priorities_are_configurable():
    m = AlarmManager(policies={"a_train": AlarmPolicy(Priority.HIGH, latching=False)})
    m.raise_condition("a_train:0", "A-train", 1)
    assert m.alarms()[0].priority is Priority.HIGH
    m.clear_condition("a_train:0", 2)
    assert m.alarms() == []


def test_a_high_alarm_raised_during_audio_pause_still_sounds(mgr):
    import time

    mgr.raise_condition("a_train:1", "A-train", 1)
    mgr.pause_audio()
    assert mgr.sounding_priority() is None
    time.sleep(0.01)
    mgr.raise_condition("traintime_high:1", "Train time over 10 s", 2)
    assert mgr.sounding_priority() is Priority.HIGH
