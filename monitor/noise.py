"""A robust running estimate of each channel's baseline noise."""

from __future__ import annotations

import numpy as np


class RobustNoise:
    """Per-channel noise SD from the quiet part of the last ``memory_s`` seconds.

    Every ``window`` samples, each channel's median absolute value / 0.6745 (the SD of
    Gaussian noise) is stored; the estimate is a low percentile of the stored windows, so
    activity on up to three quarters of the recent windows does not raise it. Windows
    marked as artifact are not stored.

    Thread safety: not thread-safe; owned by one detector on the acquisition thread.
    """

    def __init__(
        self,
        n_channels: int,
        window: int,
        memory_s: float,
        rate: float,
        percentile: float = 25.0,
    ) -> None:
        self.window = window
        self.n_channels = n_channels
        self.percentile = percentile
        n_windows = max(4, int(memory_s * rate / window))
        self._ring = np.full((n_windows, n_channels), np.nan, np.float32)
        self._k = 0
        self._count = 0
        self._acc: list[np.ndarray] = []
        self._acc_n = 0
        self.sd = np.full(n_channels, np.nan, np.float32)

    @property
    def ready(self) -> bool:
        return self._count >= 2

    def update(self, x: np.ndarray, artifact: bool) -> None:
        """Feed consecutive samples ``[n, channels]``; completed windows update the estimate."""
        if artifact:
            self._acc.clear()
            self._acc_n = 0
            return
        self._acc.append(x)
        self._acc_n += len(x)
        if self._acc_n < self.window:
            return
        data = np.concatenate(self._acc) if len(self._acc) > 1 else self._acc[0]
        self._acc.clear()
        self._acc_n = 0
        self._ring[self._k % len(self._ring)] = np.median(np.abs(data), axis=0) / 0.6745
        self._k += 1
        self._count = min(self._count + 1, len(self._ring))
        # Recompute on every 4th window: the percentile over the ring is the costly part.
        if self._count <= 8 or self._k % 4 == 0:
            filled = self._ring[: self._count]
            self.sd = np.percentile(filled, self.percentile, axis=0).astype(np.float32)
