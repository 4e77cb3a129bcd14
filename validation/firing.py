"""When potentials fire: discharge-time processes.

- **Regular discharge with Gaussian jitter.** Inter-discharge intervals (IDIs) of a motor
  unit firing steadily are close to Gaussian around their mean (Clamann 1969), with a
  coefficient of variation (CV) of 0.1-0.2 in voluntary contraction (Fuglevand, Winter &
  Patla 1993 use 0.2). A-trains are far more regular than voluntary firing (Romstöck et
  al. 2000: "regular, sinusoid-like"), so the validation grid runs the CV from 0 to ~5 %.
- **Irregular clusters.** Bursts are modelled with gamma-distributed intervals of high CV
  (0.5-0.8): a cluster of potentials with no rhythm.
- **Random occurrence.** Isolated events (spikes, bursts, cautery) arrive as a Poisson
  process, placed only where the channel is free (see :class:`Timeline`).

References
----------
Clamann HP. Statistical analysis of motor unit firing patterns in a human skeletal
muscle. Biophys J 1969;9:1233-1251.
Fuglevand AJ, Winter DA, Patla AE. Models of recruitment and rate coding organization in
motor-unit pools. J Neurophysiol 1993;70:2470-2488.
Romstöck J, Strauss C, Fahlbusch R. Continuous electromyography monitoring of motor
cranial nerves during cerebellopontine angle surgery. J Neurosurg 2000;93:586-593.
"""

from __future__ import annotations

import numpy as np

#: An interval is never shorter than this fraction of the mean (a refractory period;
#: it also keeps a large CV from producing negative intervals).
MIN_INTERVAL_FRACTION = 0.3


def gaussian_discharges(
    first_s: float,
    last_s: float,
    rate_hz: float,
    cv: float,
    rng: np.random.Generator,
    rate_change: float = 0.0,
) -> np.ndarray:
    """Discharge times from ``first_s`` while they stay at or before ``last_s``.

    Parameters
    ----------
    rate_hz : float
        Mean discharge rate at the start.
    cv : float
        Coefficient of variation of the inter-discharge interval (0 = perfectly regular).
    rate_change : float
        Relative change of the rate from the first to the last discharge (``0.1`` ends 10 %
        faster): the slow frequency drift seen within long trains.
    """
    if rate_hz <= 0:
        raise ValueError("a discharge rate must be positive")
    times = [first_s]
    span = max(last_s - first_s, 1e-12)
    while True:
        progress = (times[-1] - first_s) / span
        mean = 1.0 / (rate_hz * (1.0 + rate_change * progress))
        interval = max(mean * (1.0 + cv * rng.standard_normal()), MIN_INTERVAL_FRACTION * mean)
        nxt = times[-1] + interval
        if nxt > last_s:
            break
        times.append(nxt)
    return np.asarray(times)


def gamma_discharges(
    first_s: float, n: int, mean_interval_s: float, cv: float, rng: np.random.Generator
) -> np.ndarray:
    """``n`` discharge times from ``first_s`` with gamma intervals of the given CV."""
    shape = 1.0 / cv**2
    intervals = rng.gamma(shape, mean_interval_s / shape, size=max(n - 1, 0))
    intervals = np.maximum(intervals, MIN_INTERVAL_FRACTION * mean_interval_s)
    return first_s + np.concatenate(([0.0], np.cumsum(intervals)))


class Timeline:
    """Which stretches of each channel are taken, so that events never overlap.

    Events on one channel keep ``guard_s`` apart so that each has one unambiguous truth;
    an all-channel event (cautery) takes every channel.
    """

    def __init__(self, n_channels: int, duration_s: float, guard_s: float = 0.5) -> None:
        self.n_channels = n_channels
        self.duration_s = duration_s
        self.guard_s = guard_s
        self._taken: list[list[tuple[float, float]]] = [[] for _ in range(n_channels)]

    def free(self, channel: int, start_s: float, stop_s: float) -> bool:
        """True if ``[start_s, stop_s)`` plus the guard is free on ``channel`` (-1: all)."""
        if start_s < self.guard_s or stop_s > self.duration_s - self.guard_s:
            return False
        channels = range(self.n_channels) if channel < 0 else (channel,)
        g = self.guard_s
        return all(
            stop_s + g <= a or start_s - g >= b for ch in channels for a, b in self._taken[ch]
        )

    def take(self, channel: int, start_s: float, stop_s: float) -> None:
        channels = range(self.n_channels) if channel < 0 else (channel,)
        for ch in channels:
            self._taken[ch].append((start_s, stop_s))

    def find(
        self,
        channel: int,
        length_s: float,
        rng: np.random.Generator,
        earliest_s: float = 0.0,
        tries: int = 200,
    ) -> float | None:
        """A random free start for an event of ``length_s`` (taken at once), or None."""
        hi = self.duration_s - self.guard_s - length_s
        lo = max(earliest_s, self.guard_s)
        if hi <= lo:
            return None
        for _ in range(tries):
            start = float(rng.uniform(lo, hi))
            if self.free(channel, start, start + length_s):
                self.take(channel, start, start + length_s)
                return start
        return None
