"""The fast medians give np.median's values bit for bit on finite data."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from monitor.medians import median, median_columns

finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False, width=64)


@settings(max_examples=300, deadline=None)
@given(arrays(np.float64, st.integers(1, 60), elements=finite))
def test_median_is_numpys(x):
    assert median(x) == np.median(x)


@settings(max_examples=200, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(1, 40), st.integers(1, 9)), elements=finite))
def test_median_columns_is_numpys(x):
    np.testing.assert_array_equal(median_columns(x), np.median(x, axis=0))


def test_float32_columns_keep_their_type():
    x = np.arange(12, dtype=np.float32).reshape(4, 3)
    assert median_columns(x).dtype == np.median(x, axis=0).dtype
