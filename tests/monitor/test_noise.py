"""The running noise estimate: quiet hops taken together equal the same hops one by one,
and its percentile equals numpy's bit for bit."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.noise import RobustNoise, percentile_columns


def _feed_one_by_one(noise: RobustNoise, rms: np.ndarray) -> None:
    for row in rms:
        noise.update_rms(row)


@settings(max_examples=200, deadline=None)
@given(
    memory=st.integers(8, 300),
    every=st.integers(4, 120),
    before=st.integers(0, 400),
    seed=st.integers(0, 2**16),
)
def test_quiet_hops_together_equal_one_by_one(memory, every, before, seed):
    rng = np.random.default_rng(seed)
    rms = (rng.random((before + 400, 3)) * 5 + 1).astype(np.float32)
    a = RobustNoise(3, memory, every=every)
    b = RobustNoise(3, memory, every=every)
    _feed_one_by_one(a, rms[:before])
    _feed_one_by_one(b, rms[:before])
    i = before
    while i < len(rms):
        n = b.updates_before_estimate()
        if n == 0:  # the next hop recomputes the estimate: one by one
            b.update_rms(rms[i])
            _feed_one_by_one(a, rms[i : i + 1])
            i += 1
            continue
        take = rms[i : i + min(n, int(rng.integers(1, n + 1)))]
        sd_before = b.sd
        b.take_quiet(take)
        _feed_one_by_one(a, take)
        assert b.sd is sd_before  # no estimate was due within them
        np.testing.assert_array_equal(a.sd, b.sd)
        i += len(take)
    np.testing.assert_array_equal(a.sd, b.sd)
    np.testing.assert_array_equal(a._ring, b._ring)


def test_the_estimate_holds_the_quiet_level_through_activity():
    noise = RobustNoise(1, 200, every=10)
    for _ in range(200):
        noise.update_rms(np.array([2.0], np.float32))
    busy = np.array([True])
    for _ in range(500):  # a long event: its slots repeat the estimate
        noise.update_rms(np.array([50.0], np.float32), exclude=busy)
    assert noise.sd[0] == 2.0


@settings(max_examples=300, deadline=None)
@given(
    n=st.integers(1, 2500),
    channels=st.integers(1, 17),
    q=st.sampled_from([0.0, 5.0, 25.0, 33.3, 50.0, 75.0, 99.9, 100.0]),
    ties=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_the_percentile_is_numpys_bit_for_bit(n, channels, q, ties, seed):
    # The estimate is a low percentile of each channel's stored hops; a faster path must
    # not move it by a single bit (thresholds, and so every event, follow from it).
    rng = np.random.default_rng(seed)
    x = (rng.gamma(2.0, 3.0, (n, channels)) * rng.uniform(0.1, 100)).astype(np.float32)
    if ties:
        x = np.round(x)
    want = np.percentile(x, q, axis=0)
    got = percentile_columns(x, q)
    assert got.dtype == want.dtype
    assert np.array_equal(got, want)


def test_the_percentile_of_data_with_nan_is_numpys():
    x = np.arange(40, dtype=np.float32).reshape(20, 2)
    x[3, 1] = np.nan
    assert np.array_equal(percentile_columns(x, 25.0), np.percentile(x, 25.0, axis=0), True)


def test_the_percentile_leaves_the_stored_hops_as_they_were():
    # The ring of hops is overwritten oldest first: taking a percentile must not reorder it.
    for channels in (1, 3):
        x = np.random.default_rng(channels).random((50, channels)).astype(np.float32)
        before = x.copy()
        percentile_columns(x, 25.0)
        assert np.array_equal(x, before)
