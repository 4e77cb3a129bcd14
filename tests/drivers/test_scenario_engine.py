"""The scenario engine: scripted events land where the scenario puts them, the signal does
not depend on block sizes, and an instructor can pause, resume, jump and inject while the
ground truth keeps track."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulation.electrodes import BadElectrode, SimulatedElectrodes
from simulation.emgsynth import QUIET, EmgSynth, ScheduledEvent, SimConfig
from simulation.scenario_engine import ScenarioEngine
from simulation.scenario_parser import parse_scenario

RATE = 2000

CASE = """
[case]
title = "Engine test"
teaching = "Scripted events on a timeline."
seed = 3
rate = 2000
duration = 30

[montage]
channels = ["oculi", "oris", "mentalis"]

[baseline]
spikes_per_min = 40
bursts_per_min = 10

[stimulation]
rate_hz = 2
start = 1

[lsr]
gone_at = "two+2"

[[phase]]
name = "one"
start = 0

[[phase]]
name = "two"
start = 10
c_trains_per_min = 6

[[phase]]
name = "three"
start = 20
spikes_per_min = 0
bursts_per_min = 0

[[event]]
at = "one+3"
kind = "a_train"
channel = "mentalis"
duration_s = 1.5
freq_hz = 100
amplitude_uv = 150

[[event]]
at = 8
kind = "lead_off"
channel = "oris"

[[event]]
at = 14
kind = "lead_on"
channel = "oris"

[[event]]
at = "two+5"
kind = "cautery"
duration_s = 1

[[event]]
at = "three+1"
kind = "burst"
channel = "oculi"
duration_s = 0.2
"""


class Needles:
    """The recording set-up of a test run: simulated needles, and disconnections noted."""

    def __init__(self, n: int) -> None:
        self.model = SimulatedElectrodes(n, 3)
        self.disconnects: list[tuple[int, float]] = []

    def set_lead_off(self, channel: int, off: bool, which: str) -> None:
        if off:
            self.model.set_bad(BadElectrode(channel, which, None))
        else:
            self.model.clear_bad(channel)

    def mains_gain(self) -> np.ndarray:
        return self.model.mains_gain()

    def disconnect(self, index: int, seconds: float) -> None:
        self.disconnects.append((index, seconds))


def start(stop_at_s: float | None = None):
    sc = parse_scenario(CASE, "engine.toml")
    engine = ScenarioEngine(sc, stop_at_s)
    synth = engine.make_synth(sc.sim_config())
    engine.attach(Needles(len(sc.labels)))
    return engine, synth


def render(synth, seconds: float, block: int = 500, first: int | None = None):
    pos = synth.rendered_until if first is None else first
    stop = pos + round(seconds * RATE)
    parts, stims = [], []
    while pos < stop:
        n = min(block, stop - pos)
        data, s = synth.render(pos, n)
        parts.append(data)
        stims += s
        pos += n
    return np.vstack(parts), stims


def mains_uv(x: np.ndarray) -> float:
    """Amplitude of the 50 Hz component."""
    t = np.arange(len(x)) / RATE
    return float(2 * abs(np.mean(x * np.exp(-2j * np.pi * 50 * t))))


def test_scripted_events_land_where_the_scenario_puts_them():
    engine, synth = start()
    x, _ = render(synth, 30)
    truth = engine.truth()
    scripted = [t for t in truth.items if t.source == "scenario"]
    kinds = [(t.kind, t.channel) for t in scripted]
    assert kinds == [
        ("a_train", 2),
        ("lead_off", 1),
        ("lsr_gone", None),
        ("cautery", None),
        ("burst", 0),
    ]
    a_train, lead_off, lsr_gone, cautery, burst = scripted
    assert 3.0 * RATE <= a_train.onset < 3.0 * RATE + 10  # the potential's own rise
    assert (a_train.offset - a_train.onset) / RATE == pytest.approx(1.5, abs=0.02)
    assert a_train.freq_hz == 100.0 and a_train.case_s == pytest.approx(3.0, abs=0.01)
    assert (lead_off.onset, lead_off.offset) == (8 * RATE, 14 * RATE)
    assert lsr_gone.onset == 12 * RATE
    assert 15 * RATE <= cautery.onset < 15.1 * RATE and 21 * RATE <= burst.onset < 21.1 * RATE
    assert [(n.text, n.sample_index) for n in truth.phases] == [
        ("Phase: one", 0),
        ("Phase: two", 10 * RATE),
        ("Phase: three", 20 * RATE),
    ]
    # The LSR is in the truth of each stimulus until it goes, and absent after.
    for s in truth.stims:
        lsr = [r.present for r in s.responses if r.kind == "lsr"]
        assert all(lsr) if s.marker.index < 12 * RATE else not any(lsr)
    # A needle off lets the mains in on its channel, and only while it is off.
    hum = [mains_uv(x[a * RATE : (a + 2) * RATE, 1]) for a in (4, 10, 16)]
    assert hum[1] > 20 * hum[0] and hum[1] > 20 * hum[2]
    # Random activity follows the phases (planned a second ahead): none in phase three.
    assert not [t for t in truth.items if t.source == "random" and t.onset >= 21.2 * RATE]
    assert engine.finished and engine.end_index == 30 * RATE


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(37, 5000), min_size=1, max_size=12))
def test_the_signal_does_not_depend_on_block_sizes(sizes):
    seconds = 16  # phases, a needle off and back, the LSR going, cautery
    ref_engine, ref = start()
    x_ref, stims_ref = render(ref, seconds, block=400)
    engine, synth = start()
    parts, stims, pos, k = [], [], 0, 0
    while pos < seconds * RATE:
        n = min(sizes[k % len(sizes)], seconds * RATE - pos)
        data, s = synth.render(pos, n)
        parts.append(data)
        stims += s
        pos, k = pos + n, k + 1
    np.testing.assert_array_equal(np.vstack(parts), x_ref)
    assert stims == stims_ref
    assert engine.truth().items == ref_engine.truth().items


def test_random_events_keep_clear_of_scripted_ones():
    engine, synth = start()
    render(synth, 30)
    items = engine.truth().items
    scripted = [t for t in items if t.source == "scenario" and t.kind in ("a_train", "burst")]
    for r in (t for t in items if t.source == "random"):
        for s in scripted:
            if r.channel == s.channel:
                assert r.offset <= s.onset or r.onset >= s.offset, (r, s)


def test_pause_holds_the_case_and_resume_goes_on_where_it_was():
    engine, synth = start()
    render(synth, 2.0)
    engine.pause()
    render(synth, 4.0)  # the pause takes effect at the next block
    assert engine.paused and engine.case_seconds == pytest.approx(2.0, abs=0.3)
    paused_at = next(n for n in engine.truth().notices if n.kind == "paused").sample_index
    engine.resume()
    render(synth, 4.0)
    truth = engine.truth()
    resumed_at = next(n for n in truth.notices if n.kind == "resumed").sample_index
    held = resumed_at - paused_at
    assert held >= 3.5 * RATE
    # Nothing new happened while paused; the A-train comes 1 s of case after the pause.
    assert not [t for t in truth.items if paused_at <= t.onset < resumed_at]
    a_train = truth.of_kind("a_train")[0]
    assert a_train.onset - 3.0 * RATE - held == pytest.approx(0, abs=10)
    assert a_train.case_s == pytest.approx(3.0, abs=0.01)
    assert truth.case_s(a_train.onset) == pytest.approx(3.0, abs=0.01)


def test_jump_to_a_phase_sets_needles_and_lsr_as_the_scenario_has_them_then():
    engine, synth = start()
    render(synth, 2.0)
    engine.jump_to_phase("two")
    _, stims = render(synth, 3.0)
    jumped = next(n for n in engine.truth().notices if n.kind == "jumped").sample_index
    assert engine.phase == "two"
    assert engine.case_seconds == pytest.approx(10.0 + 3.0 - (jumped - 2 * RATE) / RATE, abs=0.01)
    truth = engine.truth()
    lead = truth.of_kind("lead_off")[0]
    assert (lead.channel, lead.onset, lead.source) == (1, jumped, "instructor")
    assert engine.truth().phases[-1].text == "Phase: two"
    gone = truth.of_kind("lsr_gone")[0].onset  # case 12 s: 2 s after the jump
    assert gone == jumped + 2 * RATE
    late = [s for s in stims if s.index >= gone]
    assert late and all(
        not r.present
        for s in truth.stims
        if s.marker.index >= gone
        for r in s.responses
        if r.kind == "lsr"
    )
    engine.jump_to_phase("one")  # back: the needle goes back in, the LSR comes back
    render(synth, 1.0)
    truth = engine.truth()
    assert truth.of_kind("lead_off")[0].offset is not None
    assert truth.of_kind("lsr_back") and truth.lsr_gone_index() is None
    with pytest.raises(ValueError, match="no phase 'closure'"):
        engine.jump_to_phase("closure")


def test_events_injected_from_another_thread_appear_at_once_in_the_truth():
    engine, synth = start()
    render(synth, 1.0)
    done = threading.Event()

    def instructor():
        engine.inject("a_train", "oculi", duration_s=0.5, freq_hz=150)
        engine.inject("cautery", duration_s=0.3)
        done.set()

    threading.Thread(target=instructor).start()
    assert done.wait(5)
    before = synth.rendered_until
    render(synth, 1.0)
    injected = [t for t in engine.truth().items if t.source == "instructor"]
    assert {t.kind for t in injected} == {"a_train", "cautery"}
    assert all(before <= t.onset < before + 20 for t in injected)
    assert [n.kind for n in engine.truth().notices].count("injected") == 2
    with pytest.raises(ValueError, match="no channel"):
        engine.inject("spike", "masseter")
    with pytest.raises(ValueError, match="Unknown event"):
        engine.inject("sneeze", 0)
    with pytest.raises(ValueError, match="duration"):
        engine.inject("disconnect")


def test_listeners_hear_every_phase_change_on_the_rendering_thread():
    engine, synth = start()
    heard = []
    engine.add_listener(lambda n: heard.append((n.kind, n.phase, threading.current_thread())))
    render(synth, 21)
    phases = [(k, p) for k, p, _ in heard if k == "phase"]
    assert phases == [("phase", "one"), ("phase", "two"), ("phase", "three")]
    assert {t for *_, t in heard} == {threading.current_thread()}


def test_scheduled_events_are_placed_exactly_and_can_be_cancelled():
    synth = EmgSynth(SimConfig(seed=1, rate=RATE, **QUIET))
    synth.schedule(ScheduledEvent("a_train", 2 * RATE, 1, 1.0, 120.0, 100.0, key=5, tag="x"))
    synth.schedule(ScheduledEvent("spike", 3 * RATE, 2, key=6, tag="y"))
    synth.render(0, round(2.9 * RATE))  # planned 0.2 s ahead: the spike's window too
    assert [tag for tag, _ in synth.scheduled_truth] == ["x", "y"]
    dropped = synth.cancel_after(round(2.9 * RATE))
    assert [t.kind for t in dropped] == ["spike"]
    assert [tag for tag, _ in synth.scheduled_truth] == ["x"]
    with pytest.raises(ValueError, match="rendered"):
        synth.schedule(ScheduledEvent("spike", RATE, 0))
    # The same key gives the same waveform, whatever else the stream holds.
    a = EmgSynth(SimConfig(seed=1, rate=RATE, **{**QUIET, "spikes_per_min": 30.0}))
    a.schedule(ScheduledEvent("a_train", 2 * RATE, 1, 1.0, 120.0, 100.0, key=5))
    a.render(0, 4 * RATE)
    assert a.scheduled_truth[0][1] == synth.scheduled_truth[0][1]
    assert any(t.kind == "spike" for t in a.truth)  # with random spikes around it
