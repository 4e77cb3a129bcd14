"""LSL in: Lab Streaming Layer outlets made here, read through ``LslSource`` in a session.

liblsl is kept on this machine (loopback) before pylsl is first imported; every stream
has a name of its own, so that other tests on the machine never answer.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

from drivers.lslconfig import restrict_to_hosts

if not os.environ.get("LSLAPICFG"):
    restrict_to_hosts()  # before the first pylsl call of the process

pylsl = pytest.importorskip("pylsl")

from drivers import lslmarkers  # noqa: E402
from drivers.lsl_in import (  # noqa: E402
    GapFinder,
    LslSource,
    marker_from_text,
    pick_marker_stream,
    unit_factor,
)
from drivers.sources import LslStream  # noqa: E402
from monitor.block import NoteMarker, StimMarker  # noqa: E402
from monitor.session import Session, State  # noqa: E402

RATE = 1000.0
ROOT = Path(__file__).resolve().parents[2]


def unique(room: str = "test") -> str:
    return f"{room}-{uuid.uuid4().hex[:8]}"


def emg_outlet(name, fmt="float32", labels=("Zyg L", "Orb L"), unit="mV", rate=RATE):
    info = pylsl.StreamInfo(name, "EMG", len(labels), rate, fmt, uuid.uuid4().hex)
    channels = info.desc().append_child("channels")
    for label in labels:
        ch = channels.append_child("channel")
        ch.append_child_value("label", label)
        if unit:
            ch.append_child_value("unit", unit)
    return pylsl.StreamOutlet(info, chunk_size=0, max_buffered=60)


def marker_outlet(name):
    info = pylsl.StreamInfo(name, "Markers", 1, 0.0, "string", uuid.uuid4().hex)
    return pylsl.StreamOutlet(info)


class Tap:
    """A session subscriber keeping the blocks."""

    def __init__(self) -> None:
        self.blocks = []
        self.lock = threading.Lock()

    def __call__(self, block, filtered) -> None:
        with self.lock:
            self.blocks.append(block)

    def samples(self) -> int:
        with self.lock:
            return sum(b.n_samples for b in self.blocks)

    def all(self):
        with self.lock:
            return list(self.blocks)


def wait_for(condition, timeout=15.0, step=0.02) -> bool:
    until = time.monotonic() + timeout
    while time.monotonic() < until:
        if condition():
            return True
        time.sleep(step)
    return condition()


def push(outlet, t0, first, n, values, rate=RATE, late=0.0):
    """Samples ``first``..``first+n`` stamped as taken at ``t0 + index / rate``."""
    outlet.push_chunk(np.ascontiguousarray(values[:n]), t0 + (first + n - 1) / rate + late)


def session_on(name, **kwargs):
    session = Session(LslSource(name, **kwargs))
    tap = Tap()
    session.subscribe("tap", tap)
    session.start()
    return session, tap


@pytest.mark.parametrize(
    ("fmt", "dtype", "value", "uv"),
    [("float32", np.float32, 0.5, 500.0), ("int16", np.int16, 3, 3000.0)],
)
def test_labels_units_and_samples(fmt, dtype, value, uv):
    name = unique() + " EMG"
    outlet = emg_outlet(name, fmt)
    session, tap = session_on(name)
    try:
        info = session.source.info
        assert info.labels == ("Zyg L", "Orb L")
        assert info.rate == RATE
        assert info.capabilities.bits == 24 and not info.capabilities.montage
        values = np.full((100, 2), value, dtype=dtype)
        t0 = pylsl.local_clock()
        for i in range(5):
            push(outlet, t0, i * 100, 100, values)
        assert wait_for(lambda: tap.samples() >= 500)
        blocks = tap.all()
        data = np.concatenate([b.data for b in blocks])
        assert data.shape == (500, 2)
        np.testing.assert_allclose(data, uv)
        assert blocks[0].start == 0 and sum(len(b.gaps) for b in blocks) == 0
        assert session.status().gaps == 0 and session.status().end_index == 500
    finally:
        session.stop()


def test_a_dropped_chunk_is_a_gap_of_its_samples():
    name = unique() + " EMG"
    outlet = emg_outlet(name)
    session, tap = session_on(name)
    try:
        values = np.zeros((100, 2), np.float32)
        t0 = pylsl.local_clock()
        for i in (0, 1, 2, 4, 5):  # chunk 3 lost in transit
            push(outlet, t0, i * 100, 100, values)
        assert wait_for(lambda: tap.samples() >= 500)
        gaps = [g for b in tap.all() for g in b.gaps]
        assert [(g.index, g.n_missing) for g in gaps] == [(300, 100)]
        status = session.status()
        assert status.gaps == 1 and status.gap_samples == 100 and status.end_index == 600
    finally:
        session.stop()


def test_gap_finder_tolerates_jitter_and_finds_a_gap():
    rng = np.random.default_rng(1)
    finder = GapFinder(RATE)
    index, found = 0, []
    t0 = 1000.0
    for chunk in range(300):
        first = chunk * 20 + (200 if chunk >= 150 else 0)  # 200 samples lost at chunk 150
        stamps = t0 + (first + np.arange(20)) / RATE + rng.uniform(0, 0.003)  # arrival jitter
        stamps *= 1 + 50e-6  # and a clock 50 ppm slow
        missing, cut = finder.check(index, stamps)
        assert cut == 20
        if missing:
            found.append((index, missing))
        index += missing + cut
    assert len(found) == 1
    at, missing = found[0]
    assert abs(at - 3000) <= 5 and abs(missing - 200) <= 5


def test_gap_finder_splits_a_chunk_at_a_gap_inside_it():
    finder = GapFinder(RATE)
    stamps = np.concatenate([np.arange(10), np.arange(30, 40)]) / RATE
    assert finder.check(0, stamps) == (0, 10)
    assert finder.check(10, stamps[10:]) == (20, 10)


def test_stim_markers_arrive_at_their_sample():
    room = unique("OR")
    name = lslmarkers.emg_stream_name(room)
    outlet = emg_outlet(name)
    markers = marker_outlet(lslmarkers.marker_stream_name(room))
    session, tap = session_on(name)
    try:
        t0 = pylsl.local_clock()
        stim = lslmarkers.encode("stim", room, current_ma=15.0, width_ms=0.2, site="zygomatic")
        markers.push_sample([stim], t0 + 250 / RATE)
        markers.push_sample(["stim 5 mA 0.1 ms frontal"], t0 + 1350 / RATE)
        markers.push_sample(["drill on"], t0 + 1400 / RATE)
        markers.push_sample([lslmarkers.encode("status", room, t_s=1.0)], t0 + 1400 / RATE)
        values = np.zeros((100, 2), np.float32)
        chunk = 0

        def stims_and_notes():
            nonlocal chunk
            if chunk < 100:  # keep the signal coming until the markers are placed
                push(outlet, t0, chunk * 100, 100, values)
                chunk += 1
            blocks = tap.all()
            return [s for b in blocks for s in b.stims], [n for b in blocks for n in b.notes]

        def placed() -> bool:
            stims, notes = stims_and_notes()
            return len(stims) >= 2 and len(notes) >= 1

        assert wait_for(placed, step=0.05)
        stims, notes = stims_and_notes()
        first, second = sorted(stims, key=lambda s: s.index)
        assert abs(first.index - 250) <= 2
        assert (first.current_ma, first.width_ms, first.site) == (15.0, 0.2, "zygomatic")
        assert abs(second.index - 1350) <= 2
        assert (second.current_ma, second.width_ms, second.site) == (5.0, 0.1, "frontal")
        assert [n.text for n in notes] == ["drill on"]  # our status markers are ignored
        assert abs(notes[0].index - 1400) <= 2
    finally:
        session.stop()


def test_marker_texts():
    stim = marker_from_text("stim 15 mA 0.2 ms zygomatic", 7)
    assert stim == StimMarker(7, 15.0, 0.2, "zygomatic")
    bare = marker_from_text("stim", 3)
    assert isinstance(bare, StimMarker) and math.isnan(bare.current_ma) and bare.site == ""
    assert marker_from_text("note", 1) == NoteMarker(1, "note")
    assert marker_from_text(lslmarkers.encode("note", "r", text="closing"), 2) == NoteMarker(
        2, "closing"
    )
    assert marker_from_text(lslmarkers.encode("alarm", "r", key="a"), 2) is None
    assert marker_from_text("  ", 2) is None
    assert unit_factor("microvolts") == 1.0 and unit_factor("V") == 1e6
    assert unit_factor("mV") == 1e3 and unit_factor("µV") == 1.0 and unit_factor("kg") is None


class _Found:
    """What the marker stream search sees of a stream (name, machine, format, type)."""

    def __init__(self, uid: str, host: str, fmt: int = pylsl.cf_string, kind: str = "Markers"):
        self._uid, self._host, self._fmt, self._kind = uid, host, fmt, kind

    def uid(self) -> str:
        return self._uid

    def hostname(self) -> str:
        return self._host

    def channel_format(self) -> int:
        return self._fmt

    def type(self) -> str:
        return self._kind

    def name(self) -> str:
        return "OR 3 markers"


def test_the_marker_stream_is_taken_from_the_emg_machine():
    # Two rooms named alike: the one on the EMG's machine is this room's.
    ours, theirs = _Found("a", "or3-pc"), _Found("b", "or5-pc")

    def pick(found, explicit=False, last=""):
        return pick_marker_stream(found, "or3-pc", explicit, last, pylsl.cf_string)

    assert pick([theirs, ours]) == (ours, [theirs])
    # Only another machine's, under the derived name: another room's stimuli, refused.
    assert pick([theirs]) == (None, [theirs])
    # A name given on the command line may come from a stimulator computer ...
    assert pick([theirs], explicit=True) == (theirs, [])
    # ... unless one of that name is on the EMG's machine.
    assert pick([theirs, ours], explicit=True) == (ours, [theirs])
    # Not text, or not of type Markers under the derived name: never read.
    numeric = _Found("c", "or3-pc", fmt=pylsl.cf_float32)
    other_type = _Found("d", "or3-pc", kind="Stim")
    assert pick([numeric, other_type]) == (None, [])
    assert pick([other_type], explicit=True) == (other_type, [])
    # After the stream vanished, a new outlet before the one lost.
    new = _Found("e", "or3-pc")
    assert pick([ours, new], last="a") == (new, [])


class _Inlet:
    """What the source does with a marker inlet: open it, pull from it, close it. The
    stimulator computer's holds one marker not yet read; ``silent`` streams are listed
    but do not answer."""

    silent: ClassVar[set[str]] = set()

    def __init__(self, stream, **_):
        self.stream, self.closed = stream, False
        self.queue = [(["stim 15 mA"], 1.0)] if stream.hostname() == "stim-pc" else []

    def open_stream(self, timeout):
        if self.stream.uid() in _Inlet.silent:
            raise pylsl.util.TimeoutError("no answer")

    def pull_chunk(self, timeout=0.0, max_samples=256):
        queue, self.queue = self.queue, []
        return [text for text, _ in queue], [stamp for _, stamp in queue]

    def close_stream(self):
        self.closed = True


class _Resolver:
    def __init__(self, found):
        self.found = found

    def results(self):
        return list(self.found)


def test_markers_read_from_a_stimulator_computer_move_to_the_emg_machine(monkeypatch):
    # A name given on the command line, answered first by another machine: read from
    # there, until a stream of that name appears on the EMG's machine.
    monkeypatch.setattr(pylsl, "StreamInlet", _Inlet)
    source = LslSource("OR 3 EMG", markers="OR 3 markers")
    source._emg_host = "or3-pc"
    theirs, ours = _Found("b", "stim-pc"), _Found("a", "or3-pc")
    source._marker_resolver = _Resolver([theirs])
    source._open_markers()
    first = source._marker_inlet
    assert first.stream is theirs
    # Listed on the EMG's machine but not answering (yet): the one read is kept.
    monkeypatch.setattr(_Inlet, "silent", {"a"})
    source._marker_resolver.found.append(ours)
    source._marker_tried = 0.0  # (looked at again at most once a second)
    source._open_markers()
    assert source._marker_inlet is first and not first.closed
    # Answering: moved to it, with what the stimulator computer's held kept.
    monkeypatch.setattr(_Inlet, "silent", set())
    source._marker_tried = 0.0
    source._open_markers()
    assert source._marker_inlet.stream is ours and first.closed
    assert source._pending == [(1.0, "stim 15 mA")]
    source._marker_tried = 0.0
    source._open_markers()  # on the EMG's machine now: kept
    assert source._marker_inlet.stream is ours


def test_no_unit_and_no_labels_are_said():
    name = unique() + " EMG"
    info = pylsl.StreamInfo(name, "EMG", 3, RATE, "double64", uuid.uuid4().hex)
    outlet = pylsl.StreamOutlet(info)
    source = LslSource(name)
    source.open()
    try:
        assert source.info.labels == ("Ch 1", "Ch 2", "Ch 3")
        assert any("taken as µV" in m for m in source.messages)
    finally:
        source.close()
        del outlet


class Pusher(threading.Thread):
    """Pushes 20-sample chunks in real time, stamped by sample count, each sample's value
    its number; the outlet can be taken away and replaced; a new outlet goes on from the
    wall clock (the samples of the time lost are never sent)."""

    def __init__(self, outlet) -> None:
        super().__init__(daemon=True)
        self.outlet = outlet
        self.stop = threading.Event()
        self.t0 = pylsl.local_clock()
        self.sent = 0

    def run(self) -> None:
        while not self.stop.wait(0.02):
            outlet = self.outlet
            due = int((pylsl.local_clock() - self.t0) * RATE)
            if outlet is None:
                self.sent = due
                continue
            while self.sent + 20 <= due:
                values = np.repeat(self.sent + np.arange(20, dtype=np.float32)[:, None], 2, 1)
                push(outlet, self.t0, self.sent, 20, values)
                self.sent += 20


def test_a_vanished_stream_is_lost_and_a_new_one_resumes():
    name = unique() + " EMG"
    pusher = Pusher(emg_outlet(name, unit="µV"))
    pusher.start()
    session, tap = session_on(name)
    try:
        assert wait_for(lambda: tap.samples() >= 200)
        pusher.outlet = None  # the sending program quits
        assert wait_for(lambda: session.state is State.RECONNECTING)
        assert any("No signal from the LSL stream" in p.text for p in session.problems)
        before = tap.samples()
        pusher.outlet = emg_outlet(name, unit="µV")  # and starts again
        assert wait_for(lambda: session.state is State.RUNNING and tap.samples() > before + 200)
        status = session.status()
        assert status.gaps >= 1 and status.gap_samples > 0
        # The index follows the time lost: every sample keeps its distance to its number.
        blocks = tap.all()
        distance = {round(float(b.data[0, 0])) - b.start for b in blocks}
        assert max(distance) - min(distance) <= 2, distance
    finally:
        pusher.stop.set()
        session.stop()


def test_open_names_a_missing_stream():
    source = LslSource(unique() + " EMG")
    with pytest.raises(Exception, match="No Lab Streaming Layer stream named"):
        source.open()
    assert LslStream("x EMG").title == "LSL stream x EMG"
    assert LslStream("x EMG").with_channels(("a",), 1000.0) is None


def test_main_headless_reads_a_stream(tmp_path):
    name = unique() + " EMG"
    pusher = Pusher(emg_outlet(name))
    pusher.start()
    try:
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
        result = subprocess.run(
            [
                sys.executable,
                str(ROOT / "main.py"),
                "--lsl",
                name,
                "--headless",
                "--duration",
                "2",
                "--log",
                str(tmp_path / "monitor.log"),
            ],
            check=False,
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        pusher.stop.set()
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if f"LSL stream {name}" in line]
    assert lines, result.stdout + result.stderr
    assert "2ch@1000Hz" in lines[-1] and " running " in lines[-1]


def test_a_query_with_several_matches_reads_the_first_and_names_the_others():
    kind = unique("EMGtest")
    outlets = [
        pylsl.StreamOutlet(pylsl.StreamInfo(f"{kind} {i}", kind, 1, RATE, "int32", f"{kind}{i}"))
        for i in range(2)
    ]
    source = LslSource(f"type={kind}")
    source.open()
    try:
        assert source.info.name in (f"LSL stream {kind} 0", f"LSL stream {kind} 1")
        assert any(m.startswith(f"Several LSL streams match type={kind}") for m in source.messages)
    finally:
        source.close()
        del outlets


def test_the_command_line_describes_an_lsl_source():
    from commands.frontend import UsageError
    from commands.monitor import build_parser, describe_source

    parser = build_parser()
    args = parser.parse_args(["--lsl", "OR 3 EMG", "--lsl-markers", "OR 3 stims"])
    assert describe_source(args) == LslStream("OR 3 EMG", "OR 3 stims")
    with pytest.raises(UsageError, match="choose one source"):
        describe_source(parser.parse_args(["--lsl", "x", "--port", "/dev/null"]))
