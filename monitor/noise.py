"""A robust running estimate of each channel's baseline noise."""

from __future__ import annotations

import math

import numpy as np


class RobustNoise:
    """Per-channel noise SD from the quiet part of the last ``memory`` hops.

    Each hop contributes its RMS (the SD of the zero-mean filtered signal);
    the estimate is a low percentile of the stored hops, so activity on up to about two
    thirds of the recent signal does not raise it. Hops marked as artifact are not
    stored. The estimate is recomputed every ``every`` hops (the percentile is the costly
    part), always on the same hop boundaries, so it does not depend on block sizes.

    Thread safety: not thread-safe; owned by one detector on the acquisition thread.
    """

    def __init__(self, n_channels: int, memory: int, every: int = 100, percentile: float = 25.0):
        self.n_channels = n_channels
        self.every = every
        self.percentile = percentile
        self._ring = np.full((max(8, memory), n_channels), np.nan, np.float32)
        self._k = 0
        self._count = 0
        self.sd = np.full(n_channels, np.nan, np.float32)
        self._sd_known = np.zeros(n_channels, bool)  # where sd is finite (it changes rarely)

    @property
    def ready(self) -> bool:
        return self._count >= 8

    def update(self, power: np.ndarray, artifact: bool, exclude: np.ndarray | None = None) -> None:
        """Feed one hop's per-channel mean power (mean square). Channels in ``exclude``
        (activity under way) teach nothing: their slot repeats the current estimate, so
        a long run of activity holds the estimate where it was."""
        if not artifact:
            self.update_rms(np.sqrt(power), exclude)

    def updates_before_estimate(self) -> int:
        """How many hops :meth:`update_rms` can take (finite, none excluded) before the
        one that recomputes the estimate; what :meth:`take_quiet` may be given."""
        n, every = len(self._ring), self.every
        t = every - 1 - self._k % every  # until the count of updates reaches a multiple
        c = self._count
        if c >= n:  # the ring is full: the count stays where it is
            if n < every and n % 4 == 0:
                return 0
            return t
        early = (3 - c % 4) % 4  # until the count of stored hops reaches a multiple of 4
        if c + early + 1 < every and c + early + 1 <= n:
            t = min(t, early)
        return t

    def take_quiet(self, rms: np.ndarray) -> None:
        """:meth:`update_rms` of consecutive hops ``(hops, channels)``, all finite and
        none excluded, no more than :meth:`updates_before_estimate`."""
        at = (self._k + np.arange(len(rms))) % len(self._ring)
        self._ring[at] = rms
        self._k += len(rms)
        self._count = min(self._count + len(rms), len(self._ring))

    def update_rms(
        self, rms: np.ndarray, exclude: np.ndarray | None = None, finite: bool | None = None
    ) -> None:
        """:meth:`update` from the hop's RMS (a detector computes a block's at once);
        ``finite``, when known, says whether every value of ``rms`` is finite."""
        if exclude is not None:
            rms = np.where(exclude & self._sd_known, self.sd, rms)
            finite = None if not finite else True  # an excluded slot takes a finite value
        if finite is None:
            finite = bool(np.isfinite(rms).all())
        if not finite:  # a hop with invalid samples says nothing of the noise
            previous = self._ring[(self._k - 1) % len(self._ring)] if self._count else self.sd
            rms = np.where(np.isfinite(rms), rms, previous)
            if not np.isfinite(rms).all():
                return  # nothing known yet to stand in for it
        self._ring[self._k % len(self._ring)] = rms
        self._k += 1
        self._count = min(self._count + 1, len(self._ring))
        if (self._count < self.every and self._count % 4 == 0) or self._k % self.every == 0:
            filled = self._ring[: self._count]
            self.sd = percentile_columns(filled, self.percentile).astype(np.float32)
            self._sd_known = np.isfinite(self.sd)


def percentile_columns(x: np.ndarray, q: float) -> np.ndarray:
    """``np.percentile(x, q, axis=0)`` (linear interpolation), bit for bit, at a fraction
    of its cost on a ring of hops x channels: each channel's values are copied into a
    contiguous row and partitioned at one order statistic (numpy's vectorised path takes
    a single one; ``np.percentile`` partitions at two along the ring's strided axis), the
    other being the largest value left of it. The same interpolation as numpy's (``q`` a
    Python number, so in ``x``'s precision). Data with NaN are left to numpy (which
    propagates them)."""
    n = len(x)
    if n == 0 or not np.isfinite(x).all():
        return np.percentile(x, q, axis=0)
    v = float(np.true_divide(q, 100)) * (n - 1)
    lo = math.floor(v)
    hi = min(lo + 1, n - 1)
    p = np.array(x.T, order="C")  # always a copy: partitioned in place below
    p.partition(hi, axis=1)
    b = p[:, hi]
    a = p[:, :hi].max(axis=1) if hi != lo else b
    t = v - lo
    d = b - a
    return b - d * (1 - t) if t >= 0.5 else a + d * t
