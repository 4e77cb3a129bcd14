"""Which channel-sweeps cannot be judged, and why (docs/clinical.md §4, artifacts).

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

import functools
import math
from dataclasses import dataclass

import numpy as np

from monitor.evoked.settings import (
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
from monitor.medians import median_rows

USUAL_SWEEPS = 30  # sweeps whose noise and step sizes make a channel's usual level
LEVEL_MS = 10.0  # the raw level before the pulse, at the start and at the end of a sweep
BLOCK_MS = 5.0  # raw means over this long, for movement
#: Autocorrelation at an A-train's period above which a noisy stretch is spontaneous EMG,
#: looked for where the noise is this many times the channel's usual level.
PERIODIC_R = 0.5
PERIODIC_CHECK = 2.0


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
        # Each channel's noise and step size in its recent accepted sweeps (a ring per
        # channel: rows are sweeps, NaN where none yet).
        self._hist = np.full((2, USUAL_SWEEPS, n_channels), np.nan)
        self._hist_at = np.zeros(n_channels, int)
        self._hist_n = np.zeros(n_channels, int)
        self._usual = np.full((2, n_channels), np.nan)  # their medians, kept up to date

    def usual_levels(self) -> tuple[np.ndarray, np.ndarray]:
        """Each channel's usual noise and step size (µV; NaN before five sweeps)."""
        return self._usual[0], self._usual[1]

    def _learn(self, channels: np.ndarray, noise: np.ndarray, step: np.ndarray) -> None:
        if not len(channels):
            return
        at = self._hist_at[channels]
        self._hist[0, at, channels] = noise[channels]
        self._hist[1, at, channels] = step[channels]
        self._hist_at[channels] = (at + 1) % USUAL_SWEEPS
        self._hist_n[channels] = np.minimum(USUAL_SWEEPS, self._hist_n[channels] + 1)
        if (self._hist_n == USUAL_SWEEPS).all():  # the usual case: no NaN left
            # Over the sweeps: one row per level and channel.
            rows = np.ascontiguousarray(self._hist.transpose(0, 2, 1)).reshape(-1, USUAL_SWEEPS)
            self._usual = median_rows(rows, overwrite=True).reshape(2, -1)
            return
        for ch in channels:  # the first sweeps of a channel
            k = self._hist_n[ch]
            if k >= 5:
                self._usual[:, ch] = median_rows(self._hist[:, :k, ch])

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
        # Channels along rows from here on: every per-channel median and count below then
        # runs over contiguous memory (over the channel axis of a row-major sweep each
        # numpy call steps 8 values at a time and costs several times more). ``y`` as the
        # analyzer passes it (its filter's output) is already laid out so.
        yt = _channel_rows(y)
        # The pre-stimulus stretch, per channel on its own valid rows: one dead channel
        # (NaN throughout) must not take the stretch away from the others.
        groups = self._pre_groups(yt[:, : zero - noise_end])
        no_signal = np.ones(n_ch, bool)
        for chans, _ in groups:
            no_signal[chans] = False
        if no_signal.all():
            return Screening([REJECT_NO_SIGNAL] * n_ch, np.full(n_ch, np.nan))
        noise = np.full(n_ch, np.nan)
        step = np.full(n_ch, np.nan)
        stats = []
        for chans, pre in groups:
            dev = np.abs(pre - median_rows(pre)[:, None])
            # ``dev`` and ``dpre`` are only counted from here on: partitioned in place.
            noise[chans] = 1.4826 * median_rows(dev, overwrite=True)  # robust RMS
            dpre = _abs_steps(pre)
            step[chans] = 1.4826 * median_rows(dpre, overwrite=True)  # robust scale of steps
            stats.append((chans, pre, dev, dpre))
        usual_noise, usual_step = self.usual_levels()
        usual_noise = np.where(np.isfinite(usual_noise), usual_noise, noise)
        usual_step = np.maximum(np.where(np.isfinite(usual_step), usual_step, step), 1e-3)
        busy_pre = np.zeros(n_ch, bool)
        hf_pre = np.zeros(n_ch, bool)
        with np.errstate(invalid="ignore"):
            noisy = (noise > s.noisy_uv) | (
                (noise > s.noisy_factor * usual_noise) & (noise > s.noisy_min_uv)
            )
            periodic_check = noise > PERIODIC_CHECK * usual_noise
        for chans, pre, dev, dpre in stats:
            busy = _share_above(dev, s.activity_k * noise[chans]) > s.activity_fraction
            # An A-train over the whole stretch raises its noise level too (so that few
            # samples stand out of it): a channel noisier than usual whose stretch repeats
            # itself at 60-210 Hz is spontaneous EMG.
            for j in np.flatnonzero(periodic_check[chans] & ~busy):
                busy[j] = self._periodic(pre[j])
            busy_pre[chans] = busy
            hf_pre[chans] = _share_above(dpre, s.hf_k * usual_step[chans]) > s.hf_fraction
        post = yt[:, zero + self._blank :]
        with np.errstate(invalid="ignore", divide="ignore"):
            hf_post = _share_above(_abs_steps(post), s.hf_k * usual_step) > s.hf_fraction
            late = yt[:, zero + self._late :]
            if late.shape[1] >= self._level // 2:
                late_busy = _share_above(np.abs(late), s.activity_k * noise) > s.late_fraction
            else:
                late_busy = np.zeros(n_ch, bool)
        clean = np.ascontiguousarray(clean)
        level, start, end = self._levels(clean, zero)
        # The pulse itself (blanked, never analysed) may drive the amplifier to its rail.
        rt = _channel_rows(raw)
        saturated = self._saturated((rt[:, :zero], rt[:, zero + self._blank :]), noise, level)
        moved = self._moved(clean, zero, level, start, end)
        if learn:
            self._learn(np.flatnonzero(~(noisy | hf_pre | busy_pre | no_signal)), noise, step)
        interference = noisy | hf_pre | hf_post
        cautery = int(interference.sum()) >= max(2, math.ceil(s.cautery_share * n_ch)) or (
            n_ch == 1 and bool((hf_pre | hf_post)[0])
        )
        # The most specific reason first; cautery, on most channels at once, takes every
        # channel that is not saturated or moved.
        order = (
            (no_signal, REJECT_NO_SIGNAL),
            (saturated, REJECT_SATURATION),
            (moved, REJECT_MOVEMENT),
            (np.full(n_ch, cautery), REJECT_CAUTERY),
            (busy_pre, REJECT_ACTIVITY),
            (noisy, REJECT_NOISY),
            (hf_pre, REJECT_ARTIFACT),
            (late_busy, REJECT_ACTIVITY),
            (hf_post, REJECT_ARTIFACT),
        )
        return Screening(_first_reasons(order), noise)

    def _pre_groups(self, pre: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """The pre-stimulus stretch ``(channels, rows)`` as (channels, their valid samples,
        one row per channel), channels with the same valid samples together (all of them
        in the usual case); a channel with less than 2 ms of signal is in none."""
        fin = np.isfinite(pre)
        if fin.all():
            return [(np.arange(pre.shape[0]), pre)] if pre.shape[1] >= 2 * self._ms else []
        by_rows: dict[bytes, list[int]] = {}
        for ch in range(pre.shape[0]):
            by_rows.setdefault(np.packbits(fin[ch]).tobytes(), []).append(ch)
        out = []
        for chans in by_rows.values():
            rows = fin[chans[0]]
            if rows.sum() >= 2 * self._ms:
                out.append((np.array(chans), pre[chans][:, rows]))
        return out

    def _periodic(self, x: np.ndarray) -> bool:
        """The stretch repeats itself at an A-train's rate (60-210 Hz, docs/clinical.md §2):
        its normalised autocorrelation at a lag of 4.8-16.7 ms exceeds ``PERIODIC_R``."""
        x = x - x.mean()
        n = len(x)
        lo, hi = round(self.rate / 210.0), round(self.rate / 60.0)
        if hi >= n // 2:
            return False
        spec = np.fft.rfft(x, 2 * n)
        ac = np.fft.irfft(spec * np.conj(spec))[: hi + 1]
        if ac[0] <= 0:
            return False
        unbiased = ac[lo:] / (n - np.arange(lo, hi + 1))  # per overlapping sample
        return bool(unbiased.max() / (ac[0] / n) > PERIODIC_R)

    def _saturated(
        self, parts: tuple[np.ndarray, np.ndarray], noise: np.ndarray, level: np.ndarray
    ) -> np.ndarray:
        """Channels with at least ``saturation_ms`` of samples held at the sweep's extreme
        value, far from the level before the pulse: an amplifier at its rail (or an ADC
        at full scale). ``parts``: the raw sweep before and after the pulse, each
        ``(channels, samples)`` (taken as one: the extremes and counts of both)."""
        s = self.s
        out = np.zeros(parts[0].shape[0], bool)
        if parts[0].shape[1] + parts[1].shape[1] < self._sat_n:
            return out
        # Per channel on its valid samples (NaN ones are never at the rail; a channel
        # with none has no extreme): of each part, then of the two.
        both = [p for p in parts if p.shape[1]]
        hi = functools.reduce(np.fmax, [np.fmax.reduce(p, axis=1) for p in both])
        lo = functools.reduce(np.fmin, [np.fmin.reduce(p, axis=1) for p in both])
        far = np.maximum(s.saturation_min_uv, 20.0 * np.where(np.isfinite(noise), noise, 0.0))
        # Only channels that reach that far are counted (most do not).
        with np.errstate(invalid="ignore"):
            reach = (hi - level >= far) | (level - lo >= far)
        for ch in np.flatnonzero(reach).tolist():
            out[ch] = (
                hi[ch] - level[ch] >= far[ch] and _count_equal(both, ch, hi[ch]) >= self._sat_n
            ) or (level[ch] - lo[ch] >= far[ch] and _count_equal(both, ch, lo[ch]) >= self._sat_n)
        return out

    def _levels(
        self, clean: np.ndarray, zero: int
    ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        """The raw level (``LEVEL_MS`` means of the row-major ``clean``) before the pulse,
        and, when there is that much before it, at the start and at the end of the sweep.

        Each mean is its rows summed in order, then divided by their number (what ``mean``
        does on a row-major array, without its wrapper); the three stretches side by side
        are summed in one pass over their rows, each column in the same order as alone.
        """
        n = self._level
        if zero < n:  # no movement check: the level only
            before = clean[zero - n : zero]
            with np.errstate(invalid="ignore"):
                return np.add.reduce(before, axis=0) / len(before), None, None
        if clean.shape[1] == 1:
            # One channel: its column is contiguous, and ``mean`` sums it pairwise there,
            # not row by row; the same means as before, bit for bit, take that path.
            with np.errstate(invalid="ignore"):
                level = clean[zero - n : zero].mean(axis=0)
                return level, clean[:n].mean(axis=0), clean[-n:].mean(axis=0)
        three = np.stack([clean[zero - n : zero], clean[:n], clean[-n:]], axis=1)
        level, start, end = np.add.reduce(three, axis=0) / n
        return level, start, end

    def _moved(
        self,
        clean: np.ndarray,
        zero: int,
        level: np.ndarray,
        start: np.ndarray | None,
        end: np.ndarray | None,
    ) -> np.ndarray:
        """Channels whose raw level (5 ms means) steps away from the level before the pulse
        and stays there (``start`` or ``end`` of the sweep), or swings twice as far
        anywhere. ``clean`` is row-major."""
        m = self.s.movement_uv
        n_ch = clean.shape[1]
        if start is None or end is None or not np.isfinite(level).all():
            return np.zeros(n_ch, bool)
        # Every 5 ms block before and after the pulse side by side, so that one pass over
        # a block's rows sums them all (each column in row order, as ``mean`` of the block
        # alone does), then divided by their number.
        b = self._block
        after = clean[zero + self._blank :]
        k = len(after) // b
        pre_k = zero // b
        if n_ch == 1:  # (summed pairwise by ``mean``, as in _levels)
            means = np.concatenate(
                [
                    clean[: pre_k * b].reshape(pre_k, b, n_ch).mean(axis=1),
                    after[: k * b].reshape(k, b, n_ch).mean(axis=1),
                ]
            )
        else:
            blocks = np.empty((b, pre_k + k, n_ch))
            blocks[:, :pre_k] = clean[: pre_k * b].reshape(pre_k, b, n_ch).transpose(1, 0, 2)
            blocks[:, pre_k:] = after[: k * b].reshape(k, b, n_ch).transpose(1, 0, 2)
            means = np.add.reduce(blocks, axis=0) / b
        with np.errstate(invalid="ignore"):
            # ``np.nanmax`` is this reduction plus a check for all-NaN columns.
            swing = np.fmax.reduce(np.abs(means - level), axis=0)
            step = np.fmax(np.abs(end - level), np.abs(start - level))
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


def _share_above(x: np.ndarray, limit: np.ndarray) -> np.ndarray:
    """Per row of ``x``, the share of its values above that row's ``limit`` (NaN is not
    above): ``(x > limit[:, None]).mean(axis=1)``, the same counts over the same
    length, without the float accumulation of a mean of booleans."""
    return np.add.reduce(x > limit[:, None], axis=1) / x.shape[1]


def _first_reasons(order: tuple[tuple[np.ndarray, str], ...]) -> list[str]:
    """Per channel, the reason of the first flags set for it in ``order``, or ``""``
    (one array and two reductions, not a generator per channel)."""
    flags = np.array([f for f, _ in order])
    if not flags.any():  # the usual sweep
        return [""] * flags.shape[1]
    first: list[int] = np.argmax(flags, axis=0).tolist()
    hit: list[bool] = np.logical_or.reduce(flags, axis=0).tolist()
    return [order[k][1] if h else "" for k, h in zip(first, hit, strict=True)]


def _channel_rows(x: np.ndarray) -> np.ndarray:
    """``x.T``, each row (channel) contiguous: a view when it already is, else a copy."""
    return x.T if x.strides[0] == x.itemsize else np.ascontiguousarray(x.T)


def _abs_steps(x: np.ndarray) -> np.ndarray:
    """``np.abs(np.diff(x, axis=1))``: the same subtraction, without the wrapper and with
    the absolute value taken in place."""
    d = np.subtract(x[:, 1:], x[:, :-1])
    return np.abs(d, out=d)


def _count_equal(parts: list[np.ndarray], ch: int, value: float) -> int:
    """How many samples of channel ``ch`` equal ``value`` over all ``parts``."""
    return sum(int(np.count_nonzero(p[ch] == value)) for p in parts)
