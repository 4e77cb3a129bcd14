"""Per-segment maxima and minima of ``(segments, samples, channels)`` arrays.

``x.max(axis=1)`` on such an array walks the middle axis with a stride of the channel
count, a few channels at a time: at 8 channels it costs ten times what the same
comparisons cost on whole rows. Halving the middle axis with ``np.maximum`` does them on
long contiguous runs instead. The results are exactly those of ``max``/``min`` (NaN
propagates the same way).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def _halve(x: np.ndarray, op: Callable[..., np.ndarray]) -> np.ndarray:
    if x.shape[1] == 1:
        return x[:, 0].copy()  # a new array, as max() gives
    while x.shape[1] > 1:
        n = x.shape[1]
        h = n // 2
        r = op(x[:, :h], x[:, h : 2 * h])
        if n % 2:
            op(r[:, :1], x[:, 2 * h :], out=r[:, :1])
        x = r
    return x[:, 0]


def segment_max(x: np.ndarray) -> np.ndarray:
    """``x.max(axis=1)`` for ``x`` of shape ``(segments, samples >= 1, channels)``."""
    if x.shape[1] == 0:
        raise ValueError("segments of no samples have no maximum")
    return _halve(x, np.maximum)


def segment_min(x: np.ndarray) -> np.ndarray:
    """``x.min(axis=1)`` for ``x`` of shape ``(segments, samples >= 1, channels)``."""
    if x.shape[1] == 0:
        raise ValueError("segments of no samples have no minimum")
    return _halve(x, np.minimum)


def segment_fmax(x: np.ndarray) -> np.ndarray:
    """``np.fmax.reduce(x, axis=1)``: the maximum of each segment's valid values (NaN
    only where a segment has none), for ``x`` of shape ``(segments, samples >= 1,
    channels)``."""
    if x.shape[1] == 0:
        raise ValueError("segments of no samples have no maximum")
    return _halve(x, np.fmax)
