"""Simulated needle impedances: plausible values, slowly varying, and a bad electrode on demand.

Subdermal needles in a facial muscle measure about 1-4 kΩ, the two needles of a pair
within a kilohm of each other, and they drift a little over minutes as the tissue
settles. Every value here is a function of the seed, the channel, the needle and the
signal time alone, so the same seed gives the same measurements, however often and
from whichever thread they are asked for. A normal pair always passes the check of
:mod:`monitor.electrodes`: each needle is 0.8-4.3 kΩ (a base of 1-4 kΩ, ±0.15 kΩ of
drift over 2-10 minutes, ±0.1 kΩ of measurement noise) and the needles of a pair differ
by at most 1.5 kΩ.

A bad electrode (:class:`BadElectrode`) replaces one needle's value, or takes it off.
It also raises the mains hum of its channel (:meth:`SimulatedElectrodes.mains_gain`):
a bipolar pair cancels the mains only as well as its needles are matched. The gain is
qualitative: a 10 kΩ mismatch gives about 5x the hum, a needle off 100x, which the
signal-quality check reports as heavy mains.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import SupportsInt, cast

import numpy as np

from monitor.electrodes import ChannelElectrodes, ElectrodeReport

NEEDLES = ("active", "reference")
BAD_KOHM = 12.0  # the default bad needle: clearly over the 5 kΩ limit
OFF_KOHM = 999.0  # what an open input measures like
LEAD_OFF_MAINS_GAIN = 100.0  # an open input hums far above the 20 µV mains alarm


@dataclass(frozen=True, slots=True)
class BadElectrode:
    """One needle to make bad in the simulated patient.

    Parameters
    ----------
    channel : int
        Channel index from 0 (the top trace).
    which : str
        ``"active"`` or ``"reference"``.
    kohm : float or None
        Its impedance; ``None`` takes the needle off (lead off).
    """

    channel: int
    which: str = "reference"
    kohm: float | None = BAD_KOHM

    def __post_init__(self) -> None:
        if self.which not in NEEDLES:
            raise ValueError(f"A needle is 'active' or 'reference', not {self.which!r}.")
        if self.channel < 0:
            raise ValueError(f"Channels are numbered from 1, not {self.channel + 1}.")
        if self.kohm is not None and not (math.isfinite(self.kohm) and 0 <= self.kohm <= 6000):
            raise ValueError(f"A needle's impedance must be 0 to 6000 kΩ, not {self.kohm:g}.")

    def describe(self) -> str:
        state = "off" if self.kohm is None else f"{self.kohm:.1f} kΩ"
        return f"channel {self.channel + 1} {self.which} needle {state}"


class SimulatedElectrodes:
    """The needles of a simulated patient.

    Parameters
    ----------
    n_channels : int
    seed : int or sequence of int
        The simulated case's seed entropy (``EmgSynth._seed_entropy``).
    bad : iterable of BadElectrode
        Needles that start bad.

    Thread safety: all methods are thread-safe.
    """

    DRIFT_KOHM = 0.15  # slow variation of each needle
    NOISE_KOHM = 0.03  # measurement noise

    def __init__(self, n_channels: int, seed, bad=()) -> None:
        self.n_channels = n_channels
        self._seed = [int(cast(SupportsInt, seed))] if np.isscalar(seed) else [int(s) for s in seed]
        rng = np.random.default_rng([*self._seed, 11])
        pair = rng.uniform(1.5, 3.5, n_channels)
        self._base = np.clip(pair[:, None] + rng.uniform(-0.5, 0.5, (n_channels, 2)), 1.0, 4.0)
        self._period_s = rng.uniform(120.0, 600.0, (n_channels, 2))
        self._phase = rng.uniform(0, 2 * np.pi, (n_channels, 2))
        self._lock = threading.Lock()
        self._bad: dict[tuple[int, int], float | None] = {}
        self.version = 0  # goes up with every change of a bad needle
        for b in bad:
            self.set_bad(b)

    def set_bad(self, bad: BadElectrode) -> None:
        """Make a needle bad (or take it off); replaces an earlier setting of that needle."""
        if bad.channel >= self.n_channels:
            raise ValueError(
                f"There is no channel {bad.channel + 1}: the simulator has {self.n_channels}."
            )
        with self._lock:
            self._bad[(bad.channel, NEEDLES.index(bad.which))] = bad.kohm
            self.version += 1

    def clear_bad(self, channel: int | None = None) -> None:
        """Make the needles of ``channel`` (of every channel with None) normal again."""
        with self._lock:
            for key in [k for k in self._bad if channel is None or k[0] == channel]:
                del self._bad[key]
            self.version += 1

    def bad(self) -> list[BadElectrode]:
        """The needles set bad, as given."""
        with self._lock:
            return [BadElectrode(ch, NEEDLES[k], kohm) for (ch, k), kohm in self._bad.items()]

    def measure(self, t_s: float, sample_index: int | None = None) -> ElectrodeReport:
        """Every needle as measured at signal time ``t_s`` (seconds), at 0.1 kΩ resolution."""
        with self._lock:
            bad = dict(self._bad)
        values = self._values(t_s, bad)
        channels = []
        for ch in range(self.n_channels):
            off = [(ch, k) in bad and bad[(ch, k)] is None for k in (0, 1)]
            a, r = float(values[ch, 0]), float(values[ch, 1])
            channels.append(
                ChannelElectrodes(a, r, off[0], off[1], channel_kohm=max(a, r), lead_off=any(off))
            )
        return ElectrodeReport(tuple(channels), time.monotonic(), True, sample_index)

    def values(self, t_s: float) -> np.ndarray:
        """``[n_channels, 2]`` kΩ (active, reference) at ``t_s``; an off needle reads OFF_KOHM."""
        with self._lock:
            bad = dict(self._bad)
        return self._values(t_s, bad)

    def _values(self, t_s: float, bad: dict[tuple[int, int], float | None]) -> np.ndarray:
        drift = self.DRIFT_KOHM * np.sin(2 * np.pi * t_s / self._period_s + self._phase)
        noise_rng = np.random.default_rng([*self._seed, 12, round(t_s * 1000)])
        noise = np.clip(noise_rng.normal(0, self.NOISE_KOHM, (self.n_channels, 2)), -0.1, 0.1)
        out = np.round(self._base + drift + noise, 1)
        for (ch, k), kohm in bad.items():
            out[ch, k] = OFF_KOHM if kohm is None else round(kohm, 1)
        return out

    def mains_gain(self) -> np.ndarray:
        """Per channel, how many times the normal mains hum a bad needle lets in (1 if none)."""
        gain = np.ones(self.n_channels)
        with self._lock:
            bad = dict(self._bad)
        for (ch, k), kohm in bad.items():
            if kohm is None:
                gain[ch] = max(gain[ch], LEAD_OFF_MAINS_GAIN)
            else:
                mismatch = abs(kohm - float(self._base[ch, 1 - k]))
                gain[ch] = max(gain[ch], mismatch / 2.0)
        return gain
