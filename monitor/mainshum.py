"""Mains hum in an evoked-response sweep: estimated before the pulse, removed everywhere.

The monitor's notch is off by default (it rings and distorts waveforms, docs/clinical.md §4), so
a channel may carry tens of µV of 50/60 Hz hum. Left in the sweep, the hum inflates the
pre-stimulus noise that presence is judged against (8 x that noise) and fills the response
window with a sine: a 120 µV LSR in 20 µV of hum was called absent on every sweep.

:class:`MainsHum` fits, per sweep and for all channels at once, sines and cosines of the
mains frequency and its harmonics (7 by default), plus a quadratic for the electrode drift,
to the raw signal of the 200 ms before the sweep's noise stretch (least squares on about
800 samples through a pseudo-inverse cached per frequency), and subtracts the fitted sines
from the whole sweep, noise stretch and response window included, before the pulse is
blanked and the band-pass applied. Presence and noise are then judged on what is left.

Two choices keep hum removal from making responses out of noise:

- **The fit stops where the noise stretch begins.** A fitted sine also holds the noise
  that happened to lie at its frequency; carried past the fit it adds to the window what it
  took from the noise level if the noise stretch was fitted too. On the simulator's
  low-frequency-rich baseline that doubled the share of noise-only windows above the
  presence level (0.32 % against 0.20 % with no hum removal); fitted before the noise
  stretch, the noise level holds the fit's error as the window does (0.17 %).
- **Only clear harmonics are removed**: a harmonic whose amplitude is below half the
  fit's residual RMS, or below 2.5 µV, stays, and is then part of the noise level.

The fit is extrapolated over 90 ms, so the frequency must be right (0.2 Hz off at 40 µV
leaves enough in the window to be taken for a response now and then). Both come from the
data:

- **50 or 60 Hz.** Every sweep is fitted at both until one clearly explains more of the
  signal; afterwards the other is tried every ``RECHECK_SWEEPS`` sweeps.
- **The exact frequency** is tracked: when the fundamental is clear, a second fit carries
  two extra terms, ``t sin`` and ``t cos`` (the first-order change of a sine whose
  frequency is slightly off), whose ratio to the sine and cosine terms gives the offset;
  the tracked frequency moves halfway to it, and the sweep is fitted again at the new
  frequency. The extra terms are never subtracted (they would carry more noise into the
  window).

A fit that cannot be trusted removes nothing and teaches the tracking nothing: fewer rows
than ``MIN_ROWS_PER_COLUMN`` per column of the design, rows spanning less than one period
of the lowest mains frequency (a pulse just after the stream began or resumed), a design
worse conditioned than ``MAX_CONDITION`` (stimulation at 25 Hz with 50 Hz mains leaves
rows at one phase of the hum only, between the pulses and their responses), or a fitted hum
larger than ``MAX_HUM_RATIO`` x the signal it was fitted to. Such a fit once subtracted
10^8 µV of "hum". Whatever hum the fit leaves stays in the noise level, which then rises:
it can hide a weak response but not make one.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

#: A family tried besides the chosen one every this many sweeps.
RECHECK_SWEEPS = 10
#: Sweeps in which every family is fitted before a choice is kept.
DECIDE_SWEEPS = 3
#: How far the tracked frequency may move from the family's nominal value (Hz).
MAX_OFFSET_HZ = 2.0
#: The frequency used for a fit is the tracked one rounded to this (Hz): over the 0.25 s
#: from the start of the fit to the end of the sweep, 0.01 Hz is 0.016 rad (0.6 µV at
#: 40 µV), and the cached designs are reused while the tracked value jitters.
FREQ_STEP_HZ = 0.02
#: Samples per second kept for the fit (the harmonics fitted lie far below half of it).
FIT_RATE = 4000.0
#: Time unit of the drift and frequency terms (s), for a well-conditioned design.
T_UNIT = 0.1
#: A fundamental clearer than this (µV, and 10 standard errors) moves the tracked frequency
#: (smaller hum leaves too little in the window for its frequency to matter).
TRACK_MIN_UV = 5.0
#: A harmonic is removed from a channel when its amplitude exceeds this (µV: below it, a
#: needle's own noise floor, removing it buys nothing and moves results by noise) and
#: ``HUM_GATE`` x the fit's residual RMS (noise alone rarely gives a sine that large).
HUM_MIN_UV = 2.5
HUM_GATE = 0.5
#: Designs kept (pseudo-inverses and the sweep's sines, per frequency and geometry).
CACHE_SIZE = 24
#: A fit needs at least this many rows per column of its design (17-19 columns)...
MIN_ROWS_PER_COLUMN = 4
#: ... over at least this many periods of the lowest mains frequency ...
MIN_PERIODS = 1.0
#: ... and a design no worse conditioned than this (largest over smallest singular value,
#: columns scaled to unit norm). The full 200 ms stretch: about 30; stimulation at 5-30 Hz
#: (rows between the pulses' responses): 27-50, except where the rows fall at one phase of
#: the hum: 7800 at 25 Hz with 50 Hz mains, 1e8 at 30 Hz with 60 Hz; 20 ms of rows: 3e4.
MAX_CONDITION = 1000.0
#: A fitted hum (root of the summed squared amplitudes) above this many times the RMS of the
#: signal it was fitted to is not hum (a hum of amplitude A has an RMS of A / sqrt 2).
MAX_HUM_RATIO = 4.0


@dataclass(frozen=True, slots=True)
class HumFit:
    """What one sweep's fit removed.

    Attributes
    ----------
    mains_hz : float
        The frequency fitted (0 when nothing was removed).
    amplitude_uv : ndarray
        Per channel, the amplitude of the hum removed (µV, root of the summed squared
        amplitudes of the fundamental and harmonics).
    """

    mains_hz: float
    amplitude_uv: np.ndarray


class MainsHum:
    """Per-sweep least-squares hum removal with the mains frequency chosen and tracked.

    Parameters
    ----------
    rate : float
        Sampling rate (Hz).
    families : tuple of float
        Nominal mains frequencies to choose from (50 and 60 Hz).
    harmonics : int
        Harmonics fitted (1 = the fundamental only); those above 40 % of the rate are left
        out. 0 switches hum removal off.

    Thread safety: none; one owner (the evoked analyzer, under its lock) calls
    :meth:`remove`. ``mains_hz`` may be read anywhere (a float).
    """

    def __init__(
        self, rate: float, families: tuple[float, ...] = (50.0, 60.0), harmonics: int = 5
    ) -> None:
        self.rate = float(rate)
        self.families = tuple(families)
        self.harmonics = harmonics
        #: Every this many samples is fitted.
        self.stride = max(1, int(self.rate // FIT_RATE))
        #: Tracked frequency per family (starts at the nominal value).
        self._freq = {f: f for f in self.families}
        #: Running share of the signal each family explained.
        self._score = {f: 0.0 for f in self.families}
        self._family: float | None = None
        self._sweeps = 0
        self._cache: OrderedDict[tuple, object] = OrderedDict()

    @property
    def enabled(self) -> bool:
        return bool(self.harmonics and self.families)

    @property
    def mains_hz(self) -> float:
        """The tracked mains frequency (0 until a family was chosen)."""
        return self._freq[self._family] if self._family is not None else 0.0

    def remove(self, fit_x: np.ndarray, fit_t: np.ndarray, sweep: np.ndarray, zero: int) -> HumFit:
        """Fit the hum to ``fit_x`` and subtract it from ``sweep`` in place.

        Parameters
        ----------
        fit_x : ndarray
            ``(m, channels)`` raw samples before the pulse (µV, finite).
        fit_t : ndarray
            ``(m,)`` their times relative to the pulse (s, negative).
        sweep : ndarray
            ``(n, channels)`` raw sweep (µV, finite), changed in place.
        zero : int
            Row of the pulse in ``sweep``.

        Returns
        -------
        HumFit
        """
        fit = None
        if self.enabled and self._enough_rows(fit_t):
            try:
                fit = self._remove(fit_x, fit_t, sweep, zero)
            except (np.linalg.LinAlgError, ValueError, FloatingPointError):
                fit = None  # never out of the analyzer: the sweep is judged with its hum
        return HumFit(0.0, np.zeros(sweep.shape[1])) if fit is None else fit

    def _enough_rows(self, t: np.ndarray) -> bool:
        if len(t) < 2:
            return False
        columns = 2 * self._n_harmonics(min(self.families)) + 3
        span = float(t[-1] - t[0]) + self.stride / self.rate
        return len(t) >= MIN_ROWS_PER_COLUMN * columns and span >= MIN_PERIODS / min(self.families)

    def _remove(
        self, fit_x: np.ndarray, fit_t: np.ndarray, sweep: np.ndarray, zero: int
    ) -> HumFit | None:
        """:meth:`remove`; None when the fit cannot be trusted (nothing removed)."""
        n_ch = sweep.shape[1]
        geometry = hash(fit_t.tobytes())
        spread: list[np.ndarray] = []  # fit_x.std(axis=0), once a fit needs it
        fits = {
            f: self._fit(self._used(f), fit_t, geometry, fit_x, taylor=False, spread=spread)
            for f in self._to_try(self._sweeps + 1)
        }
        # The choice of family learns only from sweeps where every family tried could be
        # fitted: one poor fit would make the other look better than it is.
        if all(fit is not None for fit in fits.values()):
            self._sweeps += 1
            for f, fit in fits.items():
                coef, h = fit.coef, fit.h  # type: ignore[union-attr]
                energy = float(np.add.reduce(coef[: 2 * h] ** 2, axis=None))
                self._score[f] = 0.7 * self._score[f] + energy
            best = max(self.families, key=lambda f: self._score[f])
            if self._family is None or (
                best != self._family and self._score[best] > 2.0 * self._score[self._family]
            ):
                self._family = best
        family = self._family
        if family is None:
            return None
        f0 = self._used(family)
        if family not in fits:  # the choice moved to a family this sweep did not fit
            fits[family] = self._fit(f0, fit_t, geometry, fit_x, taylor=False, spread=spread)
        fit = fits[family]
        if fit is None:
            return None
        coef, h = fit.coef, fit.h
        if h == 0:
            return None
        sines = coef[: 2 * h].reshape(h, 2, n_ch)
        amp = np.sqrt(np.add.reduce(sines**2, axis=1))  # (h, channels); np.sum's reduction
        again = self._retune(family, f0, fit, amp[0], fit_t, geometry, fit_x, spread)
        if again is not None:  # fitted again at the frequency found
            f0 = self._used(family)
            fit = again
            coef, h = fit.coef, fit.h
            sines = coef[: 2 * h].reshape(h, 2, n_ch)
            amp = np.sqrt(np.add.reduce(sines**2, axis=1))
        # Only the harmonics that stand out of the noise are removed: a fitted sine is also
        # the noise that happened to lie at its frequency before the pulse, and carried
        # past the pulse it adds to the window what it took from the noise level. (None
        # up to HUM_MIN_UV, whatever sigma.)
        if (amp <= HUM_MIN_UV).all():
            return HumFit(f0, np.zeros(n_ch))
        keep = amp > np.maximum(HUM_MIN_UV, HUM_GATE * fit.sigma())
        if not keep.any():
            return HumFit(f0, np.zeros(n_ch))
        sines = sines * keep[:, None, :]
        sweep -= self._sweep_sines(f0, h, len(sweep), zero) @ sines.reshape(2 * h, n_ch)
        return HumFit(f0, np.sqrt(np.sum((amp * keep) ** 2, axis=0)))

    def _retune(
        self,
        family: float,
        f0: float,
        fit: _Fit,
        fundamental: np.ndarray,
        fit_t: np.ndarray,
        geometry: int,
        fit_x: np.ndarray,
        spread: list[np.ndarray],
    ) -> _Fit | None:
        """Track the family's exact frequency from this sweep's fit at ``f0`` (amplitude of
        its ``fundamental`` per channel); the fit at the frequency found when it moved the
        frequency used, else None."""
        # The exact frequency, from the sweeps with a clear fundamental only (its standard
        # error is about sigma * sqrt(2 / m)): with little hum the offset is noise, and the
        # frequency would wander for nothing. (A fundamental up to TRACK_MIN_UV is never
        # clear, whatever sigma: the residual is computed only for a larger one.)
        if (fundamental <= TRACK_MIN_UV).all():
            return None
        limit = 10.0 * fit.sigma() * math.sqrt(2.0 / len(fit_t))
        clear = fundamental > np.maximum(TRACK_MIN_UV, limit)
        if not clear.any():
            return None
        taylor = self._fit(f0, fit_t, geometry, fit_x, taylor=True, spread=spread)
        if taylor is None:
            return None
        self._track(family, taylor.coef, fit.h, clear)
        if self._used(family) == f0:
            return None
        return self._fit(self._used(family), fit_t, geometry, fit_x, taylor=False, spread=spread)

    # -- the fits ------------------------------------------------------------------------------
    def _to_try(self, sweeps: int) -> tuple[float, ...]:
        """The families to fit on the ``sweeps``-th sweep that teaches the choice."""
        if self._family is None or sweeps <= DECIDE_SWEEPS:
            return self.families
        if sweeps % RECHECK_SWEEPS == 0:
            return self.families
        return (self._family,)

    def _used(self, family: float) -> float:
        return round(self._freq[family] / FREQ_STEP_HZ) * FREQ_STEP_HZ

    def _n_harmonics(self, f: float) -> int:
        return max(0, min(self.harmonics, int(0.4 * self.rate // max(f, 1.0))))

    def _fit(
        self,
        f0: float,
        t: np.ndarray,
        geometry: int,
        x: np.ndarray,
        taylor: bool,
        spread: list[np.ndarray],
    ) -> _Fit | None:
        """Least squares of ``x`` on the hum at ``f0`` (with the frequency terms when
        ``taylor``) and a quadratic; None when the design is too poorly conditioned, or the
        fitted hum is far larger (``MAX_HUM_RATIO``) than the signal's RMS on some channel
        (``x.std(axis=0)``: kept in ``spread``, the sweep's fits share it, once one needs
        it)."""
        key = ("fit", f0, geometry, taylor)
        cached = self._cache.get(key)
        if cached is None:
            h = self._n_harmonics(f0)
            u = t / T_UNIT
            cols = [_sines(f0, h, t)]
            if taylor and h:
                cols.append(cols[0][:, :2] * u[:, None])
            cols.append(np.stack([np.ones_like(u), u, u * u], axis=1))
            design = np.concatenate(cols, axis=1)
            # The normal equations: the columns are scaled and nearly orthogonal, and an
            # SVD costs a hundred times more; solved only when their conditioning (that of
            # the design, squared) is checked.
            gram = design.T @ design
            pinv = None
            if len(t) > design.shape[1] and _condition(gram) <= MAX_CONDITION:
                pinv = np.linalg.solve(gram, design.T)
            cached = (design, pinv, h)
            self._remember(key, cached)
        else:
            self._cache.move_to_end(key)
        design, pinv, h = cached  # type: ignore[misc]
        if pinv is None:
            return None
        coef = pinv @ x
        # ``np.add.reduce`` is ``np.sum``'s own reduction, without the wrapper (this runs
        # once or twice per sweep).
        hum = np.sqrt(np.add.reduce(coef[: 2 * h] ** 2, axis=0)) if h else None
        # A hum up to HUM_MIN_UV passes whatever the signal's spread (never negative): its
        # standard deviation, two passes over the rows, is taken only for a larger one.
        if hum is not None and (hum > HUM_MIN_UV).any():
            if not spread:
                spread.append(x.std(axis=0))
            if (hum > MAX_HUM_RATIO * spread[0] + HUM_MIN_UV).any():
                return None
        return _Fit(coef, h, design, x)

    def _sweep_sines(self, f0: float, h: int, n: int, zero: int) -> np.ndarray:
        key = ("sweep", f0, h, n, zero)
        cached = self._cache.get(key)
        if cached is None:
            cached = _sines(f0, h, (np.arange(n) - zero) / self.rate)
            self._remember(key, cached)
        else:
            self._cache.move_to_end(key)
        return cached  # type: ignore[return-value]

    def _remember(self, key: tuple, value: object) -> None:
        self._cache[key] = value
        while len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)

    def _track(self, family: float, coef: np.ndarray, h: int, clear: np.ndarray) -> None:
        """Move the family's tracked frequency towards the offset the frequency terms of
        the fit (``coef``, with them) show on the ``clear`` channels."""
        a, b = coef[0][clear], coef[1][clear]  # sin and cos of the fundamental
        c = coef[2 * h][clear] / T_UNIT  # t sin, t cos (per second)
        d = coef[2 * h + 1][clear] / T_UNIT
        den = 2.0 * math.pi * float(np.sum(a * a + b * b))
        offset = float(np.sum(d * a - c * b)) / den
        offset = max(-1.0, min(1.0, offset))
        f = self._freq[family] + 0.5 * offset
        self._freq[family] = min(family + MAX_OFFSET_HZ, max(family - MAX_OFFSET_HZ, f))


class _Fit:
    """One least-squares fit of the hum: its coefficients (sines first, ``coef``), the
    number of harmonics fitted (``h``), and the residual RMS per channel (:meth:`sigma`),
    computed when first asked: a sweep whose fitted hum stays below every gate that uses
    it never asks."""

    __slots__ = ("_design", "_sigma", "_x", "coef", "h")

    def __init__(self, coef: np.ndarray, h: int, design: np.ndarray, x: np.ndarray) -> None:
        self.coef = coef
        self.h = h
        self._design = design
        self._x = x
        self._sigma: np.ndarray | None = None

    def sigma(self) -> np.ndarray:
        if self._sigma is None:
            dof = max(1, len(self._x) - self._design.shape[1])
            resid = self._x - self._design @ self.coef
            self._sigma = np.sqrt(np.add.reduce(resid**2, axis=0) / dof)
        return self._sigma


def _condition(gram: np.ndarray) -> float:
    """Condition number of a design (columns scaled to unit norm) from its Gram matrix."""
    d = np.sqrt(np.diag(gram))
    if not np.all(d > 0):
        return math.inf
    ev = np.linalg.eigvalsh(gram / np.outer(d, d))
    if not ev[0] > 0:
        return math.inf
    return math.sqrt(float(ev[-1] / ev[0]))


def _sines(f0: float, h: int, t: np.ndarray) -> np.ndarray:
    """``(len(t), 2h)``: sin and cos of the first ``h`` harmonics, by complex powers."""
    out = np.empty((len(t), 2 * h))
    if h == 0:
        return out
    z1 = np.exp(2j * math.pi * f0 * t)
    z = z1
    for k in range(h):
        if k:
            z = z * z1
        out[:, 2 * k] = z.imag
        out[:, 2 * k + 1] = z.real
    return out
