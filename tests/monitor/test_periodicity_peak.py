"""The periodicity search's shortcut: a window ruled out at once is one the full search
would also have found no discharge period in.

The search (``PeriodicityTracker._peak``) first bounds how high any interpolated peak of
the normalised autocovariance could reach and gives up when that bound is below
``rho_on``; most windows end there. This checks the shortcut against the search without
it on windows built to sit near the bound: sharp and flat peaks, peaks just above and
below ``rho_on``, plateaus and noise.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.atrain import PeriodicityTracker


def _full_search(tracker: PeriodicityTracker, rho: np.ndarray) -> int | None:
    """The search as it was before the shortcut (the oracle)."""
    s = tracker.s
    lo, hi = tracker.lmin, tracker.lmax
    seg = rho[lo - 1 : hi + 2]
    peaks = np.flatnonzero((seg[1:-1] > seg[:-2]) & (seg[1:-1] >= seg[2:])) + lo
    if len(peaks) == 0:
        return None
    a, b, c = rho[peaks - 1], rho[peaks], rho[peaks + 1]
    den = a - 2 * b + c
    height = b - np.where(den < 0, (a - c) ** 2 / (8 * np.minimum(den, -1e-12)), 0.0)
    best = float(height.max())
    if best < s.rho_on:
        return None
    i = int(np.argmax(height >= s.harmonic_share * best))
    k = int(peaks[i])
    if rho[1:k].min() > height[i] - s.dip:
        return None
    return k


TRACKER = PeriodicityTracker(20_000.0, 1, 200)


@settings(max_examples=400, deadline=None)
@given(
    period=st.floats(4.0, 80.0),
    height=st.floats(0.0, 0.6),
    width=st.floats(0.3, 6.0),
    noise=st.sampled_from([0.0, 1e-6, 0.01, 0.1, 0.3]),
    offset=st.floats(-0.5, 0.3),
    flat=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_the_shortcut_never_changes_the_period_found(
    period, height, width, noise, offset, flat, seed
):
    rng = np.random.default_rng(seed)
    lags = np.arange(TRACKER.L + 1, dtype=np.float64)
    rho = offset + height * np.exp(-0.5 * ((lags - period) / width) ** 2)
    rho += noise * rng.standard_normal(len(lags))
    if flat:  # a plateau: neighbours equal, curvature zero (the clamp's case)
        k = int(np.clip(round(period), TRACKER.lmin, TRACKER.lmax))
        rho[k - 1 : k + 2] = rho[k]
    rho[0] = 1.0
    assert TRACKER._peak(0, rho) == _full_search(TRACKER, rho)


def test_a_peak_just_over_rho_on_is_still_found():
    lags = np.arange(TRACKER.L + 1, dtype=np.float64)
    rho = 0.02 * np.cos(lags)  # a little ripple under it
    k = 40
    rho[k - 1], rho[k], rho[k + 1] = 0.10, TRACKER.s.rho_on - 0.01, 0.385
    rho[0] = 1.0
    # The sample itself is under rho_on; its interpolated height is over it.
    assert _full_search(TRACKER, rho) == k
    assert TRACKER._peak(0, rho) == k
