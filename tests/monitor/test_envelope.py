"""The display envelope shows every peak, whatever the block sizes."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.envelope import Envelope

RATE = 10_000.0


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=700), min_size=1, max_size=60))
def test_envelope_does_not_depend_on_block_sizes(sizes):
    x = np.random.default_rng(0).standard_normal((20_000, 3)).astype(np.float32)
    whole = Envelope(RATE, 3, window_s=1.0, columns=300)
    whole.push(0, x)
    parts = Envelope(RATE, 3, window_s=1.0, columns=300)
    pos = 0
    for n in sizes:
        parts.push(pos, x[pos : pos + n])
        pos += n
    if pos < len(x):
        parts.push(pos, x[pos:])
    tw, yw, ew = whole.snapshot()
    tp, yp, ep = parts.snapshot()
    assert ew == ep == len(x)
    np.testing.assert_array_equal(tw, tp)
    np.testing.assert_array_equal(yw, yp)


def test_a_one_sample_spike_survives_decimation():
    x = np.zeros((50_000, 1), np.float32)
    x[43_210, 0] = 500.0
    env = Envelope(RATE, 1, window_s=2.0, columns=200)  # 100 samples per column
    env.push(0, x)
    t, y, _ = env.snapshot()
    assert y.max() == 500.0
    assert abs(t[np.argmax(y[:, 0])] - 43_210 / RATE) < 100 / RATE


def test_window_covers_the_last_window_seconds():
    env = Envelope(RATE, 2, window_s=10.0, columns=1000)
    env.push(0, np.zeros((250_000, 2), np.float32))
    t, _, end = env.snapshot()
    assert end == 250_000
    assert t[-1] <= 25.0 and t[0] >= 15.0 - 0.02
    assert t[-1] - t[0] > 9.9


def test_gap_shows_as_a_break():
    env = Envelope(RATE, 1, window_s=1.0, columns=100)
    env.push(0, np.ones((5000, 1), np.float32))
    env.push(7000, np.ones((3000, 1), np.float32))
    t, y, _ = env.snapshot()
    in_gap = (t > 0.51) & (t < 0.69)
    assert np.isnan(y[in_gap]).all()
    assert not np.isnan(y[t > 0.71]).any()


def test_a_gap_inside_one_column_keeps_the_samples_before_it():
    env = Envelope(RATE, 1, window_s=1.0, columns=159)  # 63 samples per column
    x = np.zeros((100, 1), np.float32)
    x[80:90] = 500.0
    env.push(0, x)
    env.push(120, np.zeros((100, 1), np.float32))  # 20 samples lost inside column 1
    _, y, _ = env.snapshot()
    assert np.nanmax(y) == 500.0


def test_reconfiguring_with_history_keeps_the_picture():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((30_000, 2)).astype(np.float32)
    x[29_000, 1] = 900.0
    env = Envelope(RATE, 2, window_s=2.0, columns=400)
    env.push(0, x)
    env.configure(2.0, 800, history=(10_000, x[10_000:]))
    t, y, end = env.snapshot()
    assert end == 30_000 and y[:, 1].max() == 900.0
    assert t[-1] - t[0] > 1.9
