"""The running noise estimate: quiet hops taken together equal the same hops one by one."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.noise import RobustNoise


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
