"""The fast per-segment extremes give exactly what numpy's max/min give."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.extremes import segment_fmax, segment_max, segment_min


@settings(max_examples=200, deadline=None)
@given(
    segments=st.integers(1, 6),
    samples=st.integers(1, 70),
    channels=st.integers(1, 5),
    seed=st.integers(0, 2**32 - 1),
    nan_at=st.one_of(st.none(), st.integers(0, 10_000)),
)
def test_equal_to_numpy_nan_included(segments, samples, channels, seed, nan_at):
    x = np.random.default_rng(seed).standard_normal((segments, samples, channels))
    x = x.astype(np.float32)
    if nan_at is not None:  # an invalid sample propagates, as with max()
        x.flat[nan_at % x.size] = np.nan
    pairs = (
        (segment_max, x.max(axis=1)),
        (segment_min, x.min(axis=1)),
        (segment_fmax, np.fmax.reduce(x, axis=1)),  # invalid samples left out instead
    )
    for fast, slow in pairs:
        got = fast(x)
        assert got.dtype == slow.dtype and got.shape == slow.shape
        np.testing.assert_array_equal(got, slow)


def test_result_is_not_a_view_of_the_input():
    x = np.zeros((3, 1, 2), np.float32)
    segment_max(x)[:] = 5.0
    assert not x.any()


def test_empty_segments_are_refused():
    with pytest.raises(ValueError):
        segment_max(np.zeros((2, 0, 3)))
