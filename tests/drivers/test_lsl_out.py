"""The LSL publisher: a simulated case published on loopback and read back with inlets."""

from __future__ import annotations

import itertools
import threading
import time
import uuid

import pytest

from drivers.lslconfig import restrict_to_hosts

restrict_to_hosts()  # loopback only, before the first pylsl call in the process
pylsl = pytest.importorskip("pylsl")

from drivers import lslmarkers  # noqa: E402
from drivers.lsl_out import LslPublisher  # noqa: E402
from drivers.sources import Simulated  # noqa: E402
from monitor.casemodel import open_case  # noqa: E402
from simulation.emgsynth import SimConfig  # noqa: E402

LABELS = ("L Orb. oculi", "L Orb. oris", "L Mentalis")
RATE = 5000.0
SPEED = 4


@pytest.fixture
def published():
    room = f"test-{uuid.uuid4().hex[:8]}"
    case = open_case(Simulated(SimConfig(seed=7, labels=LABELS, rate=RATE), speed=SPEED))
    publisher = LslPublisher(case, room=room)
    try:
        yield case, publisher, room
    finally:
        publisher.close()
        case.close()


def inlet_for(name: str, channels: int | None = None, timeout: float = 10.0):
    """An opened inlet on the stream of this name (with this many channels)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for info in pylsl.resolve_byprop("name", name, 1, 1.0):
            if channels is None or info.channel_count() == channels:
                inlet = pylsl.StreamInlet(info, max_buflen=30)
                inlet.open_stream(5.0)
                return inlet
    raise AssertionError(f"no stream {name!r}")


def channel_labels(inlet) -> list[str]:
    ch = inlet.info(5.0).desc().child("channels").child("channel")
    labels = []
    while not ch.empty():
        labels.append(ch.child_value("label"))
        ch = ch.next_sibling()
    return labels


def pull_for(inlet, seconds: float):
    samples, stamps = [], []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        chunk, ts = inlet.pull_chunk(timeout=0.2, max_samples=100_000)
        samples += chunk
        stamps += ts
    return samples, stamps


def markers_for(inlet, seconds: float, until=None) -> list[dict]:
    out: list[dict] = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        chunk, _ = inlet.pull_chunk(timeout=0.2)
        out += [m for m in (lslmarkers.decode(s[0]) for s in chunk) if m is not None]
        if until is not None and until(out):
            break
    return out


def test_emg_stream_carries_the_case_samples_stamped_by_index(published):
    case, publisher, room = published
    inlet = inlet_for(lslmarkers.emg_stream_name(room))
    info = inlet.info(5.0)
    assert info.type() == "EMG"
    assert info.channel_count() == len(LABELS)
    assert info.nominal_srate() == RATE
    assert channel_labels(inlet) == list(LABELS)
    assert info.desc().child_value("room") == room
    samples, stamps = pull_for(inlet, 2.0)
    end_index = case.now_index()
    assert len(samples) > RATE  # 2 s at 4x: about 40 000
    assert all(len(s) == len(LABELS) for s in samples[:10])
    t0 = publisher._att.t0
    first = round((stamps[0] - t0) * RATE)
    last = round((stamps[-1] - t0) * RATE)
    assert last - first + 1 == len(samples)  # nothing lost between the first and the last
    assert 0 <= end_index - (last + 1) < RATE * SPEED  # within a second of the case
    assert publisher.dropped_samples == 0


def test_markers_status_stim_alarm_note(published):
    case, _publisher, room = published
    inlet = inlet_for(lslmarkers.marker_stream_name(room))
    info = inlet.info(5.0)
    assert info.type() == "Markers"
    time.sleep(1.0)
    case.alarms.raise_condition("test:1", "Test alarm on L Orb. oris", case.now_index())
    case.add_note("x")
    got = markers_for(inlet, 4.0)
    assert all(m["room"] == room for m in got)
    kinds = [m["kind"] for m in got]

    status = [m for m in got if m["kind"] == "status"]
    assert 2 <= len(status) <= 6  # once a second over about 4 s
    s = status[-1]
    assert s["labels"] == list(LABELS)
    assert len(s["train_time_s"]) == len(LABELS)
    assert len(s["thresholds_s"]) == 2
    assert s["alarm"] == "Test alarm on L Orb. oris" and s["alarm_priority"] == "medium"
    assert s["state"] == "running" and s["recording"] is False
    assert isinstance(s["lsr"], str)

    stims = [m for m in got if m["kind"] == "stim"]
    assert len(stims) >= 4  # 1 Hz of signal at 4x for about 4 s (fewer on a busy machine)
    steps = [b["t_s"] - a["t_s"] for a, b in itertools.pairwise(stims)]
    assert all(abs(step - 1.0) < 0.01 for step in steps)  # one per stimulus, none lost
    assert stims[0]["site"] == "zygomatic" and stims[0]["current_ma"] == 15.0

    alarms = [m for m in got if m["kind"] == "alarm" and m["key"] == "test:1"]
    assert alarms and alarms[0]["state"] == "active"
    assert alarms[0]["priority"] == "medium" and alarms[0]["technical"] is False
    notes = [m for m in got if m["kind"] == "note" and m["text"].endswith("x")]
    assert len(notes) == 1
    assert set(kinds) <= set(lslmarkers.KINDS)


def test_source_switch_remakes_the_emg_outlet(published):
    case, _publisher, room = published
    inlet_for(lslmarkers.emg_stream_name(room), len(LABELS))
    markers = inlet_for(lslmarkers.marker_stream_name(room))
    other = ("R Orb. oculi", "R Mentalis")
    case.switch_source(Simulated(SimConfig(seed=8, labels=other, rate=RATE), speed=SPEED))
    inlet = inlet_for(lslmarkers.emg_stream_name(room), len(other))
    assert channel_labels(inlet) == list(other)
    samples, _ = pull_for(inlet, 1.0)
    assert len(samples) > RATE / 2
    got = markers_for(
        markers,
        5.0,
        until=lambda ms: any(m["kind"] == "status" and m["labels"] == list(other) for m in ms),
    )
    assert any(m["kind"] == "status" and m["labels"] == list(other) for m in got)


def test_close_leaves_no_thread():
    room = f"test-{uuid.uuid4().hex[:8]}"
    case = open_case(Simulated(SimConfig(seed=9, labels=LABELS, rate=RATE), speed=SPEED))
    try:
        publisher = LslPublisher(case, room=room)
        time.sleep(0.5)
        publisher.close()
        publisher.close()  # idempotent
        assert not any(t.name == "lsl-publisher" for t in threading.enumerate())
        assert publisher._emg is None and publisher._markers_outlet is None
    finally:
        case.close()


def test_a_stalled_publisher_drops_the_oldest_and_never_blocks_acquisition(published):
    case, publisher, _room = published
    push = publisher._push_chunk
    stalled = threading.Event()

    def slow_push(chunk):
        if not stalled.is_set():
            stalled.set()
            time.sleep(1.5)  # 6 s of signal: past the 2 s the queue holds
        push(chunk)

    publisher._push_chunk = slow_push
    assert stalled.wait(5.0)
    before = case.now_index()
    time.sleep(1.0)
    assert case.now_index() - before > RATE * SPEED / 2  # acquisition went on
    deadline = time.monotonic() + 5.0
    while publisher.dropped_samples == 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert publisher.dropped_samples > 0
    with publisher._cond:
        assert publisher._queued_samples <= 2 * RATE + RATE
