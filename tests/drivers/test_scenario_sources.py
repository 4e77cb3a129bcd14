"""A scenario as a source: in-process and through the simulated serial amplifier, with the
same samples, needles coming off, the link going down and coming back, and an end."""

from __future__ import annotations

import contextlib
import itertools
import time

import numpy as np
import pytest

from drivers.scenario_sources import ScenarioAmplifierSource, ScenarioSource
from monitor.source import EndOfStream, SignalLost
from simulation.scenario_engine import ScenarioEngine
from simulation.scenario_parser import parse_scenario

CASE = """
[case]
title = "Source test"
teaching = "A needle off, the link down, an A-train and cautery."
seed = 8
rate = {rate}
duration = {duration}

[montage]
channels = ["oculi", "oris", "mentalis"]

[baseline]
spikes_per_min = 30

[stimulation]
rate_hz = 2
start = 0.3

[lsr]
gone_at = 1.6

[[phase]]
name = "opening"
start = 0

[[event]]
at = 0.5
kind = "a_train"
channel = "mentalis"
duration_s = 0.4
freq_hz = 130

[[event]]
at = 0.9
kind = "lead_off"
channel = "oris"

[[event]]
at = 1.3
kind = "cautery"
duration_s = 0.3

[[event]]
at = 1.5
kind = "disconnect"
duration_s = 0.5

[[event]]
at = 2.3
kind = "lead_on"
channel = "oris"
"""


def engine(rate: int = 5000, duration: float = 10) -> ScenarioEngine:
    text = CASE.format(rate=rate, duration=duration)
    return ScenarioEngine(parse_scenario(text, "source.toml"))


def read_all(src: ScenarioSource) -> tuple[list, list[int]]:
    blocks, lost = [], []
    while True:
        try:
            block = src.read()
        except SignalLost:
            lost.append(src._next)
            src.reconnect()
            continue
        except EndOfStream:
            return blocks, lost
        if block is not None:
            blocks.append((block, src.status.channels[1].lead_off))


def test_in_process_a_disconnection_cuts_the_stream_and_it_comes_back_after_a_gap():
    rate = 5000
    src = ScenarioSource(engine(rate), block_seconds=0.25, realtime=False)
    src.open()
    blocks, lost = read_all(src)
    assert lost == [round(1.5 * rate)]  # the block before ends exactly there
    back = next(b for b, _ in blocks if b.gaps)
    assert back.start == round(2.0 * rate) and back.gaps[0].index == round(1.5 * rate)
    assert back.gaps[0].n_missing == round(0.5 * rate)
    assert blocks[-1][0].stop == 10 * rate  # and it ends with the case
    # The needle's flag, as an amplifier's status shows it, is up while it is off.
    off_at, on_at = round(0.9 * rate), round(2.3 * rate)
    assert all(off == (off_at <= b.stop < on_at) for b, off in blocks)  # as at its end
    truth = src.engine.truth()
    down = truth.of_kind("disconnect")[0]
    assert (down.onset, down.offset) == (round(1.5 * rate), round(2.0 * rate))
    assert [n.kind for n in truth.notices][-1] == "end"


def _read_serial(src: ScenarioAmplifierSource, until: int, timeout: float = 15.0) -> list:
    blocks, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            block = src.read()
        except SignalLost:
            time.sleep(0.1)
            with contextlib.suppress(SignalLost):
                src.reconnect()
            continue
        if block is not None:
            blocks.append(block)
            if block.stop >= until:
                return blocks
    pytest.fail("the simulated amplifier did not deliver the scenario in time")


def test_the_serial_path_gives_the_same_samples_as_the_in_process_one():
    rate, until = 5000, round(2.35 * 5000)
    serial = ScenarioAmplifierSource(engine(rate))
    serial.open()
    try:
        got = _read_serial(serial, until)
    finally:
        serial.close()
    ref_src = ScenarioSource(engine(rate), block_seconds=0.1, realtime=False)
    ref_src.open()
    blocks = [b for b, _ in read_all(ref_src)[0]]
    ref = np.full((blocks[-1].stop, 3), np.nan, np.float32)  # by sample index, gaps unknown
    for b in blocks:
        ref[b.start : b.stop] = b.data
    stims_ref = {s.marker.index for s in ref_src.engine.truth().stims}
    compared = 0
    for block in got:
        if block.start >= len(ref):
            break
        stop = min(block.stop, len(ref))
        mine, theirs = block.data[: stop - block.start], ref[block.start : stop]
        known = ~np.isnan(theirs[:, 0])  # the two links came back at different samples
        # 24-bit counts of 0.02 µV: the serial path rounds each sample to a count.
        np.testing.assert_allclose(mine[known], theirs[known], rtol=1e-6, atol=0.011)
        compared += int(known.sum())
        assert {s.index for s in block.stims} <= stims_ref
    assert compared > 1.4 * rate
    # Both paths saw the needle come off, the link go down and come back, at the same samples.
    a, b = serial.engine.truth(), ref_src.engine.truth()
    assert a.of_kind("lead_off")[0].onset == b.of_kind("lead_off")[0].onset == round(0.9 * rate)
    assert a.of_kind("disconnect")[0].onset == b.of_kind("disconnect")[0].onset
    assert [t for t in a.of_kind("a_train", "cautery")] == [
        t for t in b.of_kind("a_train", "cautery")
    ]


def test_a_scenario_that_falls_behind_slows_down_and_drops_nothing():
    """``scenario --speed 50`` on a busy machine dropped seconds of signal as gaps and then
    failed its verdict. Behind the clock a scenario now goes on later, like a file."""
    from drivers.simulator import SimulatorSource
    from monitor.session import Session

    src = ScenarioSource(engine(rate=5000, duration=60), speed=50.0)
    session = Session(src)
    session.open()
    blocks = []

    def slow_consumer(block, filtered):  # about 8x real time, far below the 50x asked
        blocks.append((block.start, block.stop, block.gaps))
        time.sleep(block.n_samples / 5000 / 8)

    session.subscribe("slow", slow_consumer)
    session.start()
    time.sleep(1.5)
    session.stop()
    assert src.fell_behind >= 1 and src.overruns == 0
    # The only gap is the script's own disconnection of 0.5 s at 1.5 s.
    gaps = [g for _, _, gs in blocks for g in gs]
    assert [(g.index, g.n_missing) for g in gaps] == [(7500, 2500)]
    assert all(a[1] == b[0] or b[2] for a, b in itertools.pairwise(blocks))
    assert blocks[-1][1] > 8 * 5000  # it went on, past the disconnection
    _, problems = session.problems_since(0)
    assert [p.text for p in problems if "slower than asked" in p.text] == [
        f"{src.info.name} plays slower than asked: this computer cannot keep up with the "
        "speed chosen. No signal is dropped."
    ]
    # A live (simulated) device still overruns as a device would, and says so in gaps.
    live = SimulatorSource(speed=50.0)
    live.open()
    live.read()
    time.sleep(0.2)  # 10 s of signal due, not taken
    block = live.read()
    assert live.overruns == 1 and block.gaps and live.fell_behind == 0
