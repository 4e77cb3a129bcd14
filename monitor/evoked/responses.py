"""Measuring one channel's response in a prepared sweep: presence, onset, amplitude, area.

The sweep has had its mains hum removed (:mod:`monitor.mainshum`), its pulses blanked and
the band-pass applied (:mod:`monitor.evoked`); the noise level is the robust RMS of its own
pre-stimulus stretch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from monitor.evoked.settings import EvokedSettings
from monitor.medians import median, median_columns


def robust_rms_columns(x: np.ndarray) -> np.ndarray:
    """:func:`robust_rms` of every column of ``x`` (all finite) at once."""
    if len(x) == 0:
        return np.full(x.shape[1], np.nan)
    med = median_columns(x)
    return 1.4826 * median_columns(np.abs(x - med))


def robust_rms(x: np.ndarray) -> float:
    """1.4826 x median absolute deviation: the RMS of Gaussian noise, robust to a spike."""
    x = x[np.isfinite(x)]
    if len(x) == 0:
        return float("nan")
    return float(1.4826 * median(np.abs(x - median(x))))


@dataclass(frozen=True, slots=True)
class ResponseMeasure:
    """What :func:`measure_response` finds in one window (ms after the pulse, µV)."""

    present: bool
    ptp: float
    level: float
    latency_ms: float | None = None
    peak_latency_ms: float | None = None
    area_uv_ms: float | None = None


def measure_response(
    y: np.ndarray,
    zero: int,
    rate: float,
    window_ms: tuple[float, float],
    noise_uv: float,
    settings: EvokedSettings,
) -> ResponseMeasure:
    """Presence and measures of a response in one channel's filtered sweep.

    Parameters
    ----------
    y : ndarray
        The channel's sweep (µV), blanked and filtered.
    zero : int
        Index of the pulse in ``y``.
    window_ms : (float, float)
    noise_uv : float
        Pre-stimulus noise RMS of this sweep.
    """
    ms = rate / 1000.0
    s = settings
    i0 = zero + round(window_ms[0] * ms)
    i1 = zero + round(window_ms[1] * ms)
    seg = y[i0:i1]
    ptp = float(seg.max() - seg.min())
    level = max(s.k_noise * noise_uv, s.floor_uv)
    if not ptp > level:
        return ResponseMeasure(False, ptp, level)
    blank_end = zero + round(s.blank_ms * ms)
    ipk = i0 + int(np.argmax(np.abs(seg - median(seg))))
    b0 = max(blank_end, i0 - round(1.0 * ms))
    base = float(np.mean(y[b0:i0])) if b0 < i0 else 0.0
    mag = np.abs(seg - base)
    peak = float(mag.max())
    hi = min(peak, max(s.onset_k * noise_uv, s.onset_frac * peak))
    ic = i0 + int(np.argmax(mag >= hi))
    # Back from the first crossing to where the response leaves the baseline (the last
    # sample at or below ``lo``); then, once, over a short return to baseline to a small
    # first phase just before (``bridge_ms``), if that reaches ``onset_pre_k`` x noise.
    lo = max(0.1 * peak, s.onset_lo_k * noise_uv)
    dev = np.abs(y - base)
    j = ic
    while j > blank_end + 1 and dev[j - 1] > lo:
        j -= 1
    a = max(blank_end + 1, j - max(2, round(s.bridge_ms * ms)))
    if a < j:
        pre = dev[a:j]
        k = int(np.argmax(pre))
        if pre[k] > max(lo, s.onset_pre_k * noise_uv):
            j = a + k
            while j > blank_end + 1 and dev[j - 1] > lo:
                j -= 1
    # Interpolate between j-1 (at or below lo) and j (above it).
    v0, v1 = dev[j - 1], dev[j]
    frac = (lo - v0) / (v1 - v0) if v1 > v0 else 1.0
    onset = (j - 1) + min(1.0, max(0.0, frac))
    above = np.flatnonzero(mag > lo)
    end = i0 + int(above[-1]) + 1 if len(above) else ic + 1
    start = max(j, blank_end)
    area = float(np.sum(dev[start:end]) / ms) if end > start else 0.0
    return ResponseMeasure(
        True,
        ptp,
        level,
        latency_ms=(onset - zero) / ms,
        peak_latency_ms=(ipk - zero) / ms,
        area_uv_ms=area,
    )
