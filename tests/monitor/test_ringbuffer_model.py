"""The ring buffer against a plain model: whatever sequence of writes and gaps, every
readable sample is the one last written there or NaN in a gap, never memory that was not
written (the buffer is allocated without being filled)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.ringbuffer import RingBuffer

CAPACITY = 64


@settings(max_examples=200, deadline=None)
@given(
    st.integers(-50, 50),
    st.lists(st.tuples(st.integers(0, 90), st.integers(1, 150)), min_size=1, max_size=12),
)
def test_reads_give_the_written_samples_or_nan_in_gaps(first, writes):
    rb = RingBuffer(CAPACITY, 2)
    model: dict[int, float] = {}
    pos = first  # the buffer starts at its first write: a "gap" before it is no gap
    for gap, n in writes:
        start = pos + gap
        if not model:
            first = pos = start
        for i in range(pos, start):
            model[i] = np.nan
        data = np.stack([np.arange(start, start + n) + 0.5, -np.arange(start, start + n) - 0.5], 1)
        rb.write(start, data.astype(np.float32))
        for k in range(n):
            model[start + k] = start + k + 0.5
        pos = start + n
    begin = max(first, pos - CAPACITY)
    assert (rb.begin, rb.end) == (begin, pos)
    got = rb.read(begin, pos)
    expected = np.array([model[i] for i in range(begin, pos)], np.float32)
    np.testing.assert_array_equal(got[:, 0], expected)
    np.testing.assert_array_equal(got[:, 1], -expected)
    n = min(pos - begin, 10)
    start, latest = rb.latest(n)
    assert start == pos - n
    np.testing.assert_array_equal(latest[:, 0], expected[len(expected) - n :])
