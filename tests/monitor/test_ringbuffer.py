"""The ring buffer: absolute indexing, wrap-around, gaps, and honest failure on old data."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.ringbuffer import NotYetWrittenError, OverwrittenError, RingBuffer


def _ramp(start: int, n: int, channels: int = 2) -> np.ndarray:
    idx = np.arange(start, start + n, dtype=np.float32)
    return np.stack([idx + 1000 * c for c in range(channels)], axis=1)


def test_reads_by_absolute_index_across_the_wrap():
    rb = RingBuffer(100, 2)
    pos = 0
    for n in (30, 30, 30, 30, 25):  # wraps once, at 100
        rb.write(pos, _ramp(pos, n))
        pos += n
    assert rb.end == 145
    assert rb.begin == 45
    np.testing.assert_array_equal(rb.read(90, 120), _ramp(90, 30))
    np.testing.assert_array_equal(rb.read(45, 145), _ramp(45, 100))


def test_overwritten_samples_are_refused_not_returned_wrong():
    rb = RingBuffer(100, 2)
    rb.write(0, _ramp(0, 250))
    with pytest.raises(OverwrittenError):
        rb.read(100, 160)
    np.testing.assert_array_equal(rb.read(150, 250), _ramp(150, 100))


def test_future_samples_are_refused():
    rb = RingBuffer(100, 1)
    rb.write(0, _ramp(0, 10, 1))
    with pytest.raises(NotYetWrittenError):
        rb.read(5, 11)


def test_a_gap_reads_as_nan_and_the_buffer_starts_at_the_first_write():
    rb = RingBuffer(100, 1)
    rb.write(1000, _ramp(1000, 10, 1))
    assert rb.begin == 1000
    with pytest.raises(OverwrittenError):
        rb.read(990, 1005)
    rb.write(1020, _ramp(1020, 10, 1))
    got = rb.read(1005, 1025)
    assert np.isnan(got[5:15]).all()
    np.testing.assert_array_equal(got[:5, 0], np.arange(1005, 1010))
    np.testing.assert_array_equal(got[15:, 0], np.arange(1020, 1025))


def test_writing_backwards_in_time_is_an_error():
    rb = RingBuffer(10, 1)
    rb.write(0, _ramp(0, 5, 1))
    with pytest.raises(ValueError, match="back in time"):
        rb.write(3, _ramp(3, 5, 1))


def test_latest_returns_the_newest_samples():
    rb = RingBuffer(50, 2)
    rb.write(0, _ramp(0, 120))
    start, data = rb.latest(30)
    assert start == 90
    np.testing.assert_array_equal(data, _ramp(90, 30))
    start, data = rb.latest(500)
    assert start == 70 and len(data) == 50


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=120), min_size=1, max_size=30))
def test_any_block_sequence_keeps_the_newest_capacity_samples(sizes):
    rb = RingBuffer(64, 2)
    pos = 0
    for n in sizes:
        rb.write(pos, _ramp(pos, n))
        pos += n
    begin = max(0, pos - 64)
    np.testing.assert_array_equal(rb.read(begin, pos), _ramp(begin, pos - begin))


def test_concurrent_reader_never_sees_torn_or_wrong_data():
    rb = RingBuffer(1000, 1)
    stop = threading.Event()
    errors: list[str] = []

    def reader() -> None:
        while not stop.is_set():
            start, data = rb.latest(200)
            expected = np.arange(start, start + len(data), dtype=np.float32)
            if not np.array_equal(data[:, 0], expected):
                errors.append(f"wrong data at {start}")

    t = threading.Thread(target=reader)
    t.start()
    pos = 0
    for _ in range(3000):
        rb.write(pos, _ramp(pos, 37, 1))
        pos += 37
    stop.set()
    t.join()
    assert not errors
