"""Reviewing a replay: pause, speed, jumps back and forth, holding at the end."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from drivers.replay import ReplaySource
from monitor.block import Block
from monitor.session import Session, State
from tests.drivers.test_replay import emg, write_edf

RATE = 1000.0


@pytest.fixture
def ramp_file(tmp_path: Path) -> Path:
    """20 s whose samples say their own index (a ramp), and one note at 12 s."""
    signal = emg(seconds=20, rate=RATE)
    signal.update_data(np.arange(20_000, dtype=float) / 10)  # 0.1 µV per sample index
    return write_edf(tmp_path / "ramp.edf", [signal], [(12.0, None, "note at 12 s")])


def file_index(block: Block) -> np.ndarray:
    """The file's own sample index of each sample, read back from the ramp."""
    return np.rint(block.data[:, 0] * 10).astype(int)


def next_block(src: ReplaySource) -> Block:
    for _ in range(200):
        block = src.read()
        if block is not None:
            return block
    raise AssertionError("no block")


def offline(path: Path, **kwargs) -> ReplaySource:
    src = ReplaySource(path, realtime=False, block_seconds=0.5, **kwargs)
    src.open()
    return src


def test_jump_back_continues_the_stream_and_maps_to_the_file(ramp_file: Path) -> None:
    src = offline(ramp_file)
    for _ in range(10):
        last = next_block(src)  # 0 .. 5 s
    src.seek(2.0)
    after = next_block(src)
    # The stream goes on (never back), one jump of SEEK_BACK_GAP_S later ...
    assert after.start == last.stop + 1000
    (seek,) = after.gaps
    assert seek.seek and seek.index == last.stop and seek.n_missing == 1000
    # ... and plays the file from 2 s: the samples are the file's at 2 s.
    np.testing.assert_array_equal(file_index(after), np.arange(2000, 2500))
    assert src.recording_index(after.start) == 2000
    assert src.recording_index(last.start) == last.start  # before the jump: unchanged
    assert src.position_s() == pytest.approx(2.5)
    # Markers move with the stream: the note at 12 s comes at its stream index.
    notes = []
    while not notes:
        notes = list(next_block(src).notes)
    assert src.recording_index(notes[0].index) == 12_000


def test_jump_forward_keeps_the_file_index(ramp_file: Path) -> None:
    src = offline(ramp_file)
    first = next_block(src)
    src.seek(15.0)
    block = next_block(src)
    assert block.start == 15_000 and file_index(block)[0] == 15_000
    assert block.gaps[0].seek and block.gaps[0].index == first.stop
    assert block.gaps[0].n_missing == 15_000 - first.stop


def test_a_jump_is_not_a_lost_signal(ramp_file: Path) -> None:
    src = offline(ramp_file)
    session = Session(src)
    session.open()
    for _ in range(4):
        session.process(next_block(src))
    src.seek(0.5)
    session.process(next_block(src))
    src.seek(18.0)
    session.process(next_block(src))
    st = session.status()
    assert st.gaps == 0 and st.gap_samples == 0
    # No "Signal gap" warning for a reviewer's jump.
    assert not [p for p in session.problems if "gap" in p.text.lower()]


def test_pause_holds_and_resume_continues_without_a_hole(ramp_file: Path) -> None:
    src = offline(ramp_file)
    a = next_block(src)
    src.pause()
    assert src.paused
    assert all(src.read() is None for _ in range(3))
    src.resume()
    b = next_block(src)
    assert b.start == a.stop and not b.gaps
    np.testing.assert_array_equal(file_index(b), np.arange(a.stop, b.stop))


def test_speed_changes_while_playing_and_is_checked(ramp_file: Path) -> None:
    src = ReplaySource(ramp_file, speed=1.0, realtime=True)
    src.open()
    a = next_block(src)
    assert a.n_samples == 20  # 20 ms of wall time at 1x
    src.set_speed(10.0)
    b = next_block(src)
    assert b.start == a.stop and not b.gaps and b.n_samples == 200
    with pytest.raises(ValueError, match=r"between 0\.1 and 20"):
        src.set_speed(50.0)
    src.close()


def test_holding_at_the_end_then_playing_again_from_the_start(ramp_file: Path) -> None:
    src = offline(ramp_file, hold_at_end=True)
    src.seek(19.0)
    last = None
    while not src.at_end:
        last = src.read() or last
    assert last is not None and last.stop == 20_000
    assert src.read() is None  # held, not finished
    src.resume()
    again = next_block(src)
    assert again.gaps[0].seek and file_index(again)[0] == 0
    assert src.recording_index(again.start) == 0


def test_a_held_session_keeps_running_and_can_seek(ramp_file: Path) -> None:
    src = ReplaySource(ramp_file, speed=20.0, hold_at_end=True)
    session = Session(src)
    session.open()
    session.start()
    try:
        src.seek(19.5)
        deadline = time.monotonic() + 5
        while not src.at_end and time.monotonic() < deadline:
            time.sleep(0.02)
        assert src.at_end and session.state is State.RUNNING
        src.seek(3.0)
        deadline = time.monotonic() + 5
        while not 3.0 < src.position_s() < 19.0 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert 3.0 < src.position_s() < 19.0
        assert session.status().gaps == 0
    finally:
        session.stop()


def test_a_jump_then_a_speed_change_while_paused_keeps_the_jump(ramp_file: Path) -> None:
    src = offline(ramp_file)
    for _ in range(10):
        next_block(src)  # 0 .. 5 s
    src.pause()
    src.seek(15.0)
    assert src.read() is None and src.position_s() == 15.0  # the screen shows the jump
    src.set_speed(2.0)
    assert src.read() is None and src.position_s() == 15.0
    src.resume()
    block = next_block(src)
    assert file_index(block)[0] == 15_000 and block.gaps[0].seek


def test_playing_on_after_a_pause_does_not_race_through_the_held_time(ramp_file: Path) -> None:
    src = ReplaySource(ramp_file, speed=1.0, realtime=True)
    src.open()
    t0 = time.monotonic()
    while time.monotonic() - t0 < 0.3:
        src.read()
    src.pause()
    t0 = time.monotonic()
    while time.monotonic() - t0 < 1.0:
        src.read()
    held = src.position_s()
    src.resume()
    t0 = time.monotonic()
    while time.monotonic() - t0 < 0.2:
        src.read()
    assert src.position_s() - held < 0.4  # about 0.2 s of recording, not 1.2 s
    src.close()


def test_a_speed_change_at_an_edf_plus_d_gap_after_a_jump_back(shared_data: Path) -> None:
    src = ReplaySource(shared_data / "edf/edfReader_cran/edfPlusD.edf", realtime=True)
    session = Session(src)
    session.open()

    def step() -> None:
        block = src.read()
        if block is not None:
            session.process(block)  # raises if the stream ever went back

    while src.position_s() < 2.6:
        step()
    src.seek(0.2)
    while src.position_s() < 0.9:
        step()
    while src._pending is None:  # waiting at the file's gap
        step()
    src.set_speed(2.0)
    end = session.status().end_index
    while session.status().end_index == end:
        step()
    assert src.recording_index(session.status().end_index) > 400  # on, past the gap
    src.close()


def test_pause_at_holds_exactly_there(ramp_file: Path) -> None:
    src = offline(ramp_file)
    src.pause_at(3.2)
    while not src.paused:
        src.read()
    assert 3.2 <= src.position_s() < 3.2 + 0.5  # at the first block from 3.2 s on
    src.resume()
    assert next_block(src).start == round(src.position_s() * RATE) - 500
    src.pause_at(10.0)
    src.seek(1.0)  # a jump cancels the hold
    while src.position_s() < 12.0:
        src.read()
    assert not src.paused
