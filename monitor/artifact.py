"""Electrocautery and other high-frequency artifact: synchronous broadband energy."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


class CauteryGate:
    """Decides, hop by hop, whether an artifact is present on the whole montage.

    Cautery reaches every electrode at once with mV-level energy concentrated above
    ~1 kHz, unlike EMG, which is on one or a few channels and mostly below 500 Hz. A hop is
    artifact when, on at least ``min_fraction`` of the channels, the RMS exceeds
    ``k_noise`` x that channel's noise (and ``floor_uv``) *and* the signal is broadband
    (its power-weighted frequency, from the first-difference power, above
    ``broadband_hz``). It switches on after ``on_hops`` such hops (longer with fewer
    than three channels) and off after ``off_hops`` clean ones.

    Thread safety: not thread-safe; owned by one detector on the acquisition thread.
    """

    def __init__(
        self,
        n_channels: int,
        rate: float,
        k_noise: float = 12.0,
        floor_uv: float = 40.0,
        broadband_hz: float = 1000.0,
        min_fraction: float = 0.6,
        on_hops: int | None = None,
        off_hops: int = 20,
    ) -> None:
        self.n_channels = n_channels
        self.k_noise = k_noise
        self.floor_uv = floor_uv
        # First-difference power over power equals (2 sin(pi f / fs))^2 for a tone at f:
        # "broadband" means a power-weighted frequency above ``broadband_hz``.
        f = min(broadband_hz, 0.3 * rate)
        self.hf_ratio = (2 * np.sin(np.pi * f / rate)) ** 2
        self.min_channels = max(1, int(np.ceil(min_fraction * n_channels)))
        if n_channels >= 3:
            self.min_channels = max(2, self.min_channels)
        # With one or two channels "on most channels" says little: ask for longer.
        self.on_hops = on_hops if on_hops is not None else (2 if n_channels >= 3 else 8)
        self.off_hops = off_hops
        self.active = False
        self._run = 0
        self._quiet = 0
        self.onset: int | None = None
        self._run_start = 0
        self._noise_seen: np.ndarray | None = None
        self._limit_sq = np.zeros(n_channels)
        self.peak_uv = 0.0

    def broadband(self, power: np.ndarray, dpower: np.ndarray) -> np.ndarray:
        """Where the power is mostly above ``broadband_hz`` (any shape: hops x channels)."""
        return dpower > self.hf_ratio * np.maximum(power, 1e-12)

    def candidates(self, power: np.ndarray, broadband: np.ndarray) -> np.ndarray:
        """How many channels of each hop could be hot (``power``, ``broadband``: hops x
        channels): broadband and over ``floor_uv``, below every channel's limit."""
        return np.count_nonzero(broadband & (power > self.floor_uv**2), axis=-1)

    def could_start(self, candidates: int) -> bool:
        """Whether a hop with this many :meth:`candidates` needs :meth:`hop` at all: with
        too few to be hot while off, :meth:`hop` would only restart the count of hot hops
        (and :meth:`quiet_hop` does that)."""
        return self.active or candidates >= self.min_channels

    def quiet_hop(self) -> None:
        """:meth:`hop` for a hop :meth:`could_start` says is not needed."""
        self._run = 0

    def hop(
        self,
        power: np.ndarray,
        dpower: np.ndarray,
        ptp: np.ndarray,
        noise_sd: np.ndarray,
        start: int,
        veto: Callable[[np.ndarray], bool] | None = None,
        broadband: np.ndarray | None = None,
    ) -> tuple[bool, bool]:
        """Judge one hop from its per-channel mean power, first-difference power and
        peak-to-peak; return ``(active, changed)``. ``veto(hot_channels)`` may refuse to
        switch on (periodic discharges starting on several channels at once: an A-train
        cluster of brief potentials is broadband and loud too). ``broadband``, when
        given, is :meth:`broadband` of this hop (a detector computes a block's at once)."""
        if broadband is None:
            broadband = self.broadband(power, dpower)
        if noise_sd is not self._noise_seen:  # the estimate changes every few hundred ms
            self._noise_seen = noise_sd
            self._limit_sq = (
                np.maximum(self.k_noise * np.nan_to_num(noise_sd, nan=5.0), self.floor_uv) ** 2
            )
        over = power > self._limit_sq
        hot = int(np.count_nonzero(over & broadband))
        if not self.active:
            if hot >= self.min_channels:
                if self._run == 0:
                    self._run_start = start
                self._run += 1
            else:
                self._run = 0
            if self._run >= self.on_hops and veto is not None and veto(over & broadband):
                self._run = 0
            if self._run >= self.on_hops:
                self.active = True
                self._quiet = 0
                self.onset = self._run_start
                self.peak_uv = float(ptp.max())
                return True, True
            return False, False
        self.peak_uv = max(self.peak_uv, float(ptp.max()))
        # Off as soon as fewer channels than it takes to switch on stay hot: one electrode
        # left noisy after cautery must not hold the whole montage in "artifact".
        calm = hot < self.min_channels
        self._quiet = self._quiet + 1 if calm else 0
        if self._quiet >= self.off_hops:
            self.active = False
            self._run = 0
            return False, True
        return True, False
