"""Signal quality per channel: flat signal, heavy mains, amplifier saturation."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from monitor.block import Block


@dataclass(frozen=True, slots=True)
class QualitySettings:
    window_s: float = 1.0
    flat_uv: float = 0.3  # filtered RMS below this: no physiological signal reaches the amp
    flat_windows: int = 2
    mains_uv: float = 20.0  # RMS of the 50/60 Hz component of the raw signal
    saturation_uv: float | None = None  # amplifier full scale, when the source knows it
    stuck_samples: int = 8  # identical extreme samples in a row = clipping


class SignalQuality:
    """Raises and clears technical conditions per channel from the raw and filtered signal.

    ``on_condition(key, text, present, sample_index)`` is called when a condition
    starts (``present=True``) or ends; keys are ``flat:<ch>``, ``mains:<ch>`` and
    ``saturation:<ch>``.

    Thread safety: ``__call__`` on the acquisition thread only.
    """

    def __init__(
        self,
        rate: float,
        labels: tuple[str, ...],
        on_condition: Callable[[str, str, bool, int], None],
        settings: QualitySettings | None = None,
        mains_hz: tuple[float, ...] = (50.0, 60.0),
    ) -> None:
        self.s = settings or QualitySettings()
        self.rate = float(rate)
        self.labels = labels
        self.on_condition = on_condition
        self.window = max(16, round(self.s.window_s * rate))
        self.mains_hz = mains_hz
        self._raw: list[np.ndarray] = []
        self._filt: list[np.ndarray] = []
        self._n = 0
        self._start = 0
        self._flat_run = np.zeros(len(labels), int)
        self.present: set[str] = set()

    def __call__(self, block: Block, filtered: np.ndarray) -> None:
        if self._n == 0:
            self._start = block.start
        self._raw.append(block.data)
        self._filt.append(filtered)
        self._n += block.n_samples
        if self._n >= self.window:
            # (a block as long as the window, as offline, is used as it is: no copy)
            raw = np.concatenate(self._raw) if len(self._raw) > 1 else self._raw[0]
            filt = np.concatenate(self._filt) if len(self._filt) > 1 else self._filt[0]
            self._raw, self._filt, self._n = [], [], 0
            self._judge(raw, filt, self._start + len(raw))

    def _judge(self, raw: np.ndarray, filt: np.ndarray, index: int) -> None:
        if not np.isfinite(raw).all():
            raw = np.nan_to_num(raw)
        rms = np.sqrt(np.einsum("nc,nc->c", filt, filt) / len(filt))
        self._flat_run = np.where(rms < self.s.flat_uv, self._flat_run + 1, 0)
        # Amplitude of each mains frequency by projection on cached sine/cosine references,
        # of the signal less its mean: one product gives the projections and the sums
        # (the last reference is ones), far cheaper than centring the samples.
        refs, ref_sums = self._references(len(raw))
        proj_sums = refs @ raw  # (2 x n_freqs + 1, channels)
        mean = proj_sums[-1].astype(np.float64) / len(raw)
        proj = proj_sums[:-1] - np.outer(ref_sums, mean)
        amp = np.hypot(proj[0::2], proj[1::2]) * 2 / len(raw)
        mains = amp.max(axis=0) / np.sqrt(2)
        stuck = self._stuck(raw)
        for ch, label in enumerate(self.labels):
            self._set(
                f"flat:{ch}",
                self._flat_run[ch] >= self.s.flat_windows,
                f"{label}: flat signal — check the electrode (lead off?)",
                index,
            )
            self._set(
                f"mains:{ch}",
                mains[ch] > self.s.mains_uv,
                f"{label}: heavy mains interference ({mains[ch]:.0f} µV) — check the "
                "electrode impedance and cables",
                index,
            )
            self._set(
                f"saturation:{ch}",
                bool(stuck[ch]),
                f"{label}: amplifier saturated — signal out of range",
                index,
            )

    def _references(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Cosine and sine of each mains frequency over ``n`` samples, then a row of ones;
        and the sum of each cosine and sine."""
        if getattr(self, "_ref_n", None) != n:
            t = np.arange(n) / self.rate
            rows = []
            for f in self.mains_hz:
                rows += [np.cos(2 * np.pi * f * t), np.sin(2 * np.pi * f * t)]
            rows.append(np.ones(n))
            self._ref = np.array(rows, dtype=np.float32)
            self._ref_sums = self._ref[:-1].sum(axis=1, dtype=np.float64)
            self._ref_n = n
        return self._ref, self._ref_sums

    def _stuck(self, raw: np.ndarray) -> np.ndarray:
        """Channels with a run of identical extreme samples (clipping) or beyond full scale."""
        out = np.zeros(raw.shape[1], bool)
        if self.s.saturation_uv is not None:
            out |= (np.abs(raw) >= self.s.saturation_uv).any(axis=0)
        k = self.s.stuck_samples
        big = np.abs(raw) > 1000.0
        if not big.any():
            return out
        # Repeats of a big sample (equal to the one before it), counted only where there
        # are big samples (few): at their flat positions, the sample before being one row
        # of channels back. Reductions across the 8 channels of each row cost ten times as
        # much.
        n_ch = raw.shape[1]
        at = np.flatnonzero(big[1:]) + n_ch
        flat = raw.reshape(-1)
        same_as_before = flat[at] == flat[at - n_ch]
        repeats = np.bincount(at[same_as_before] % n_ch, minlength=n_ch)
        chans = np.flatnonzero(repeats >= k - 1)
        if len(chans) == 0:
            return out
        same = np.zeros_like(big)
        same[1:] = raw[1:] == raw[:-1]
        run = same & big
        # The longest run of repeats on each of those channels, all at once: each
        # channel's row padded with a zero at both ends, so its edges pair up.
        rows = np.zeros((len(chans), len(raw) + 2), np.int8)
        rows[:, 1:-1] = run[:, chans].T
        edges = np.flatnonzero(np.diff(rows, axis=1).ravel())
        starts, ends = edges[0::2], edges[1::2]
        longest = np.zeros(len(chans), np.int64)
        np.maximum.at(longest, starts // (len(raw) + 1), ends - starts)
        out[chans[longest >= k - 1]] = True  # k equal samples = k-1 repeats
        return out

    def _set(self, key: str, on: bool, text: str, index: int) -> None:
        if on and key not in self.present:
            self.present.add(key)
            self.on_condition(key, text, True, index)
        elif not on and key in self.present:
            self.present.discard(key)
            self.on_condition(key, text, False, index)
