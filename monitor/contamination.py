"""Which channel-sweeps cannot be judged, and why (CLINICAL.md §4, artifacts).

A sweep hit by electrocautery once became a 4.6 mV "LSR" that rescaled the trend: the
cautery began at the pulse, so the pre-stimulus stretch was clean and only the response
window was wrong. :class:`ContaminationScreen` therefore judges the whole sweep, before
and after the pulse, on every channel at once (numpy over the channel axis):

- **gap**: samples missing (the analyzer checks the response window itself);
- **saturation**: samples held at the sweep's extreme value (an amplifier at its rail);
- **movement**: the raw level (5 ms means) steps away from where it was before the pulse
  and stays there, or swings far (a huge slow artefact);
- **cautery**: broadband interference (steep sample-to-sample steps, far beyond the
  channel's usual ones, over much of the stretch before the pulse or of the sweep after
  it; or noise far above the channel's usual level) on most channels at once: every
  channel of that sweep is rejected;
- **noisy** / **artifact**: the same on one channel only;
- **spontaneous activity**: EMG over the pre-stimulus stretch (an A-train would fill the
  response window too), or activity that starts after the pulse and lasts past every
  response window;

and, once measured (:meth:`ContaminationScreen.implausible`), a response far beyond
physiology or far beyond the channel's baseline. A rejected channel-sweep is neither
present nor absent: it never scales a trend, never counts towards a baseline or a
disappearance.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from monitor.evokedsettings import (
    KIND_DIRECT,
    KIND_LSR,
    KIND_ZL,
    REJECT_ACTIVITY,
    REJECT_ARTIFACT,
    REJECT_CAUTERY,
    REJECT_IMPLAUSIBLE,
    REJECT_MOVEMENT,
    REJECT_NO_SIGNAL,
    REJECT_NOISY,
    REJECT_SATURATION,
    EvokedSettings,
)
from monitor.responses import robust_rms_columns

USUAL_SWEEPS = 30  # sweeps whose noise and step sizes make a channel's usual level
LEVEL_MS = 10.0  # the raw level before the pulse, at the start and at the end of a sweep
BLOCK_MS = 5.0  # raw means over this long, for movement


@dataclass(frozen=True, slots=True)
class Screening:
    """One sweep's verdicts.

    ``reasons[ch]`` is ``""`` or why channel ``ch`` cannot be judged; ``noise`` the robust
    RMS of each channel's pre-stimulus stretch (µV, NaN where there is none).
    """

    reasons: list[str]
    noise: np.ndarray

    @property
    def clean(self) -> bool:
        return not any(self.reasons)


class ContaminationScreen:
    """Decides per channel whether a sweep can be judged; keeps each channel's usual noise
    and sample-to-sample step size (medians of recent accepted sweeps).

    Thread safety: none; the evoked analyzer calls it under its lock.
    """

    def __init__(self, rate: float, n_channels: int, settings: EvokedSettings) -> None:
        self.rate = float(rate)
        self.n_channels = n_channels
        self.s = settings
        ms = self.rate / 1000.0
        self._ms = ms
        self._blank = max(1, round(settings.blank_ms * ms))
        self._sat_n = max(4, round(settings.saturation_ms * ms))
        self._level = max(2, round(LEVEL_MS * ms))
        self._block = max(2, round(BLOCK_MS * ms))
        late = max(settings.late_ms, settings.latest_window_end_ms() + 5.0)
        self._late = round(late * ms)
        self._noise_hist = [deque(maxlen=USUAL_SWEEPS) for _ in range(n_channels)]
        self._step_hist = [deque(maxlen=USUAL_SWEEPS) for _ in range(n_channels)]

    def usual_noise(self, ch: int) -> float | None:
        h = self._noise_hist[ch]
        return float(np.median(h)) if len(h) >= 5 else None

    def check(
        self,
        y: np.ndarray,
        raw: np.ndarray,
        clean: np.ndarray,
        zero: int,
        noise_end: int,
        learn: bool = True,
    ) -> Screening:
        """Screen one sweep.

        Parameters
        ----------
        y : ndarray
            ``(n, channels)`` the analysis sweep: hum removed, blanked, band-passed; NaN
            where there is no signal.
        raw, clean : ndarray
            The same rows of the raw signal, as recorded (NaN where invalid) and with the
            mains hum removed (invalid samples held).
        zero : int
            Row of the pulse.
        noise_end : int
            Rows before the pulse left out of the pre-stimulus stretch.
        learn : bool
            Let the accepted channels' noise and step sizes join their usual levels.
        """
        s = self.s
        n_ch = y.shape[1]
        reasons = [""] * n_ch
        pre = y[: zero - noise_end]
        pre = pre[np.isfinite(pre).all(axis=1)]
        if len(pre) < 2 * self._ms:
            return Screening([REJECT_NO_SIGNAL] * n_ch, np.full(n_ch, np.nan))
        noise = robust_rms_columns(pre)
        dpre = np.abs(np.diff(pre, axis=0))
        step = 1.4826 * np.median(dpre, axis=0)  # robust scale of the steps (mean-free)
        usual_noise = np.array([self.usual_noise(ch) or noise[ch] for ch in range(n_ch)])
        usual_step = np.array(
            [
                float(np.median(h)) if len(h) >= 5 else step[ch]
                for ch, h in enumerate(self._step_hist)
            ]
        )
        usual_step = np.maximum(usual_step, 1e-3)
        noisy = (noise > s.noisy_uv) | (
            (noise > s.noisy_factor * usual_noise) & (noise > s.noisy_min_uv)
        )
        busy_pre = (np.abs(pre - np.median(pre, axis=0)) > s.activity_k * noise).mean(
            axis=0
        ) > s.activity_fraction
        hf_pre = (dpre > s.hf_k * usual_step).mean(axis=0) > s.hf_fraction
        post = y[zero + self._blank :]
        with np.errstate(invalid="ignore"):
            hf_post = (np.abs(np.diff(post, axis=0)) > s.hf_k * usual_step).mean(
                axis=0
            ) > s.hf_fraction
            late = y[zero + self._late :]
            if len(late) >= self._level // 2:
                late_busy = (np.abs(late) > s.activity_k * noise).mean(axis=0) > s.late_fraction
            else:
                late_busy = np.zeros(n_ch, bool)
        saturated = self._saturated(raw, noise)
        moved = self._moved(clean, zero)
        if learn:
            for ch in np.flatnonzero(~(noisy | hf_pre)):
                self._noise_hist[ch].append(float(noise[ch]))
                self._step_hist[ch].append(float(step[ch]))
        interference = noisy | hf_pre | hf_post
        cautery = int(interference.sum()) >= max(2, math.ceil(s.cautery_share * n_ch)) or (
            n_ch == 1 and bool((hf_pre | hf_post)[0])
        )
        # The most specific reason first; cautery, on most channels at once, takes every
        # channel that is not saturated or moved.
        order = (
            (saturated, REJECT_SATURATION),
            (moved, REJECT_MOVEMENT),
            (np.full(n_ch, cautery), REJECT_CAUTERY),
            (noisy, REJECT_NOISY),
            (busy_pre, REJECT_ACTIVITY),
            (hf_pre, REJECT_ARTIFACT),
            (late_busy, REJECT_ACTIVITY),
            (hf_post, REJECT_ARTIFACT),
        )
        for ch in range(n_ch):
            reasons[ch] = next((why for flags, why in order if flags[ch]), "")
        return Screening(reasons, noise)

    def _saturated(self, raw: np.ndarray, noise: np.ndarray) -> np.ndarray:
        """Channels with at least ``saturation_ms`` of samples held at the sweep's extreme
        value, far from its median: an amplifier at its rail (or an ADC at full scale)."""
        s = self.s
        rows = raw[np.isfinite(raw).all(axis=1)]
        if len(rows) < self._sat_n:
            return np.zeros(raw.shape[1], bool)
        hi = rows.max(axis=0)
        lo = rows.min(axis=0)
        med = np.median(rows, axis=0)
        far = np.maximum(s.saturation_min_uv, 20.0 * np.nan_to_num(noise, nan=0.0))
        at_hi = (rows == hi).sum(axis=0) >= self._sat_n
        at_lo = (rows == lo).sum(axis=0) >= self._sat_n
        return (at_hi & (hi - med >= far)) | (at_lo & (med - lo >= far))

    def _moved(self, clean: np.ndarray, zero: int) -> np.ndarray:
        """Channels whose raw level (5 ms means) steps away from the level before the pulse
        and stays there (start or end of the sweep), or swings twice as far anywhere."""
        m = self.s.movement_uv
        n_ch = clean.shape[1]
        before = clean[zero - self._level : zero]
        if len(before) < self._level:
            return np.zeros(n_ch, bool)
        level = before.mean(axis=0)
        start = clean[: self._level].mean(axis=0)
        end = clean[-self._level :].mean(axis=0)
        after = clean[zero + self._blank :]
        k = len(after) // self._block
        blocks = after[: k * self._block].reshape(k, self._block, n_ch).mean(axis=1)
        pre_k = zero // self._block
        pre_blocks = clean[: pre_k * self._block].reshape(pre_k, self._block, n_ch).mean(axis=1)
        swing = np.max(np.abs(np.concatenate([pre_blocks, blocks]) - level), axis=0)
        step = np.maximum(np.abs(end - level), np.abs(start - level))
        return (step > m) | (swing > 2.0 * m)

    def implausible(self, kind: str, ptp: float, baseline_uv: float | None) -> str:
        """``"implausible amplitude"`` for a response far beyond physiology (an LSR or Z-L
        response above ``lsr_ceiling_uv``, a direct one above ``direct_ceiling_uv``) or
        far beyond its baseline; else ``""``."""
        s = self.s
        if kind in (KIND_LSR, KIND_ZL):
            if ptp > s.lsr_ceiling_uv:
                return REJECT_IMPLAUSIBLE
            if baseline_uv and ptp > s.ceiling_factor * baseline_uv and ptp > 1000.0:
                return REJECT_IMPLAUSIBLE
        elif kind == KIND_DIRECT and ptp > s.direct_ceiling_uv:
            return REJECT_IMPLAUSIBLE
        return ""
