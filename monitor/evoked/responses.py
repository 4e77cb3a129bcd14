"""Measuring one channel's response in a prepared sweep: presence, onset, amplitude, area.

The sweep has had its mains hum removed (:mod:`monitor.mainshum`), its pulses blanked and
the band-pass applied (:mod:`monitor.evoked`); the noise level is the robust RMS of its own
pre-stimulus stretch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import numpy as np

from monitor.evoked.settings import EvokedSettings
from monitor.medians import median, median_columns, median_rows


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


def window_rows(zero: int, rate: float, window_ms: tuple[float, float]) -> tuple[int, int]:
    """First and end row of a response window (ms after the pulse at row ``zero``)."""
    ms = rate / 1000.0
    return zero + round(window_ms[0] * ms), zero + round(window_ms[1] * ms)


def presence_level(noise_uv: float, settings: EvokedSettings) -> float:
    """The peak-to-peak a response must exceed to be present (µV)."""
    return max(settings.k_noise * noise_uv, settings.floor_uv)


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
    i0, i1 = window_rows(zero, rate, window_ms)
    seg = y[i0:i1]
    return measure_window(y, zero, rate, (i0, i1), float(seg.max() - seg.min()), noise_uv, settings)


def measure_window(
    y: np.ndarray,
    zero: int,
    rate: float,
    rows: tuple[int, int],
    ptp: float,
    noise_uv: float,
    settings: EvokedSettings,
) -> ResponseMeasure:
    """:func:`measure_response` once the window's rows (:func:`window_rows`) and its
    peak-to-peak (``max - min`` of ``y`` over them) are known."""
    ms = rate / 1000.0
    s = settings
    i0, i1 = rows
    level = presence_level(noise_uv, s)
    if not ptp > level:
        return ResponseMeasure(False, ptp, level)
    seg = y[i0:i1]
    blank_end = zero + round(s.blank_ms * ms)
    ipk = i0 + int(np.argmax(np.abs(seg - median(seg))))
    b0 = max(blank_end, i0 - round(1.0 * ms))
    # np.mean's own sum and division, without its wrapper.
    base = float(np.add.reduce(y[b0:i0]) / (i0 - b0)) if b0 < i0 else 0.0
    mag = np.abs(seg - base)
    peak = float(mag.max())
    hi = min(peak, max(s.onset_k * noise_uv, s.onset_frac * peak))
    ic = i0 + int(np.argmax(mag >= hi))
    lo = max(0.1 * peak, s.onset_lo_k * noise_uv)
    dev = _deviation(y, base, min(i0, blank_end) - 1, i1)
    above = np.flatnonzero(mag > lo)
    end = i0 + int(above[-1]) + 1 if len(above) else ic + 1
    onset, area = _onset_and_area(dev, 0, ic, lo, end, noise_uv, blank_end, ms, s)
    return ResponseMeasure(
        True,
        ptp,
        level,
        latency_ms=(onset - zero) / ms,
        peak_latency_ms=(ipk - zero) / ms,
        area_uv_ms=area,
    )


def measure_responses(
    yt: np.ndarray,
    chans: Sequence[int],
    zero: int,
    rate: float,
    window_ms: tuple[float, float],
    noises: Sequence[float],
    settings: EvokedSettings,
) -> list[ResponseMeasure]:
    """:func:`measure_response` of several channels in the same window: the same results.

    Parameters
    ----------
    yt : ndarray
        ``(channels, samples)`` the sweep with each channel's samples in a row.
    chans : sequence of int
        The rows measured.
    noises : sequence of float
        Their pre-stimulus noise RMS, in the same order.

    The steps over the whole window (peak-to-peak, median, mean before it, maxima and
    the first and last crossings) run once on all of them, each row as
    :func:`measure_response` takes it on its own (sums along a row are the same pairwise
    sums as over that row alone); the onset search back from the first crossing stays per
    channel. Windows that reach invalid samples, or before the blanking's end, are
    measured channel by channel.
    """
    ms = rate / 1000.0
    s = settings
    i0, i1 = window_rows(zero, rate, window_ms)
    blank_end = zero + round(s.blank_ms * ms)
    first = min(i0, blank_end) - 1  # the first sample the onset search may read
    part = yt[chans, max(first, 0) : i1]
    if first < zero or i1 <= i0 or not np.isfinite(part).all():
        return [
            measure_response(yt[ch], zero, rate, window_ms, noise, s)
            for ch, noise in zip(chans, noises, strict=True)
        ]
    seg = part[:, i0 - first :]
    # The ufuncs' reductions: what the ``max``/``min``/``any`` methods call, without them.
    ptps = (np.maximum.reduce(seg, axis=1) - np.minimum.reduce(seg, axis=1)).tolist()
    levels = [presence_level(noise, s) for noise in noises]
    out: list[ResponseMeasure | None] = [
        None if ptp > level else ResponseMeasure(False, ptp, level)
        for ptp, level in zip(ptps, levels, strict=True)
    ]
    present = [k for k, r in enumerate(out) if r is None]
    if not present:
        return cast(list[ResponseMeasure], out)
    if len(present) < len(out):
        part, seg = part[present], seg[present]
    nz = [noises[k] for k in present]
    # (The argmax method: np.argmax's own call, without its wrapper.)
    ipks = (i0 + np.abs(seg - median_rows(seg)[:, None]).argmax(axis=1)).tolist()
    b0 = max(blank_end, i0 - round(1.0 * ms))
    if b0 < i0:  # np.mean's own sum and division, row by row
        bases = np.add.reduce(part[:, b0 - first : i0 - first], axis=1) / (i0 - b0)
    else:
        bases = np.zeros(len(present))
    mag = np.abs(seg - bases[:, None])
    peaks = np.maximum.reduce(mag, axis=1).tolist()
    his = [min(pk, max(s.onset_k * n, s.onset_frac * pk)) for pk, n in zip(peaks, nz, strict=True)]
    ics = (i0 + (mag >= np.array(his)[:, None]).argmax(axis=1)).tolist()
    los = [max(0.1 * pk, s.onset_lo_k * n) for pk, n in zip(peaks, nz, strict=True)]
    above = mag > np.array(los)[:, None]
    any_above = np.logical_or.reduce(above, axis=1).tolist()
    # The last crossing: the first one from the end.
    ends = (i0 + seg.shape[1] - above[:, ::-1].argmax(axis=1)).tolist()
    dev = np.abs(part - bases[:, None])  # |y - base| from ``first`` on
    for r, k in enumerate(present):
        end = ends[r] if any_above[r] else ics[r] + 1
        onset, area = _onset_and_area(dev[r], first, ics[r], los[r], end, nz[r], blank_end, ms, s)
        out[k] = ResponseMeasure(
            True,
            ptps[k],
            levels[k],
            latency_ms=(onset - zero) / ms,
            peak_latency_ms=(ipks[r] - zero) / ms,
            area_uv_ms=area,
        )
    return cast(list[ResponseMeasure], out)


def _onset_and_area(
    dev: np.ndarray,
    first: int,
    ic: int,
    lo: float,
    end: int,
    noise_uv: float,
    blank_end: int,
    ms: float,
    s: EvokedSettings,
) -> tuple[float, float]:
    """A present response's onset (a fractional row) and area (µV ms) up to row ``end``.

    ``dev`` is ``|y - base|`` from row ``first`` on, ``ic`` the first row at or above the
    onset level and ``lo`` the baseline's edge: back from ``ic`` to where the response
    leaves the baseline (the last sample at or below ``lo``); then, once, over a short
    return to baseline to a small first phase just before (``bridge_ms``), if that
    reaches ``onset_pre_k`` x noise.
    """
    j = ic
    while j > blank_end + 1 and dev[j - 1 - first] > lo:
        j -= 1
    a = max(blank_end + 1, j - max(2, round(s.bridge_ms * ms)))
    if a < j:
        pre = dev[a - first : j - first]
        k = int(pre.argmax())  # (np.argmax's own call, without its wrapper)
        if pre[k] > max(lo, s.onset_pre_k * noise_uv):
            j = a + k
            while j > blank_end + 1 and dev[j - 1 - first] > lo:
                j -= 1
    # Interpolate between j-1 (at or below lo) and j (above it).
    v0, v1 = dev[j - 1 - first], dev[j - first]
    frac = (lo - v0) / (v1 - v0) if v1 > v0 else 1.0
    onset = (j - 1) + min(1.0, max(0.0, frac))
    start = max(j, blank_end)
    area = float(np.add.reduce(dev[start - first : end - first]) / ms) if end > start else 0.0
    return onset, area


def _deviation(y: np.ndarray, base: float, first: int, end: int) -> np.ndarray:
    """``|y - base|``, computed on rows ``first`` to ``end`` only when ``first >= 0``.

    :func:`measure_window` reads it from the row before the earlier of the window's start
    and the blanking's end (the onset search stops there) to the window's end, nowhere
    else: the rest of the sweep (two thirds of it) is left uncomputed.
    """
    if first < 0:
        return np.abs(y - base)
    dev = np.empty_like(y)
    part = dev[first:end]
    np.subtract(y[first:end], base, out=part)
    np.abs(part, out=part)
    return dev
