"""``median_rows`` gives np.median's values along rows, bit for bit on finite data."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from monitor.medians import median_rows

finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False, width=64)
rows = st.tuples(st.integers(1, 9), st.integers(1, 60))


@settings(max_examples=300, deadline=None)
@given(arrays(np.float64, rows, elements=finite))
def test_median_rows_is_numpys(x):
    expected = np.median(x, axis=1)
    got = median_rows(x)
    # Bit for bit, a zero's sign aside (np.median's mean of the middle makes -0.0 +0.0).
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)
    nonzero = got != 0
    assert np.array_equal(got[nonzero].view(np.int64), expected[nonzero].view(np.int64))


@settings(max_examples=100, deadline=None)
@given(arrays(np.float64, rows, elements=st.integers(-3, 3).map(float)))
def test_median_rows_with_ties_is_numpys(x):
    np.testing.assert_array_equal(median_rows(x), np.median(x, axis=1))


@settings(max_examples=100, deadline=None)
@given(arrays(np.float64, rows, elements=finite))
def test_overwrite_keeps_every_rows_values(x):
    before = np.sort(x, axis=1)
    median_rows(x, overwrite=True)
    np.testing.assert_array_equal(np.sort(x, axis=1), before)


def test_copies_by_default_and_keeps_float32():
    x = np.array([[3.0, 1.0, 2.0, 5.0], [4.0, 4.0, 0.0, 1.0]], np.float32)
    kept = x.copy()
    out = median_rows(x)
    assert out.dtype == np.median(x, axis=1).dtype
    np.testing.assert_array_equal(out, [2.5, 2.5])
    np.testing.assert_array_equal(x, kept)


def test_a_strided_view():
    x = np.arange(40.0)[::-1].reshape(5, 8)[:, ::3]
    np.testing.assert_array_equal(median_rows(x), np.median(x, axis=1))
