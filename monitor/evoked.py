"""Evoked responses: lateral spread response (LSR/AMR), Z-L response and triggered EMG.

A session subscriber (:class:`EvokedAnalyzer`) cuts a sweep around every stimulus marker
once the sweep's end has arrived, measures every channel and keeps the trends; a
tracker per response kind sets the baseline and calls the LSR's disappearance and
reappearance (information for the team, not alarms). :class:`ThresholdRamp` finds the
response threshold of triggered EMG from a current ramp. Numbers and their sources are in
``docs/evoked.md`` and CLINICAL.md §1 and §3.

Method, per stimulus (all causal: a sweep is analysed when its last sample has arrived,
from a buffer of the raw stream addressed by absolute sample index, so the results do not
depend on how the stream is cut into blocks):

1. **Sweep.** Raw samples from ``settle_ms + noise_ms`` before the pulse to the end of the
   epoch. Every known pulse in it is **blanked** (``blank_ms``, the samples replaced by a
   straight line) *before* filtering, so the stimulus artifact cannot ring through the
   filter into the response window (with the monitor's 20 Hz high-pass a 1 mV, 0.25 ms
   artifact leaves a tail of tens of µV for 20 ms). Then the band-pass (``band_hz``),
   started in its steady state.
2. **Noise.** A robust RMS (1.4826 x MAD) of the sweep's own pre-stimulus stretch
   (``noise_ms`` ending 0.5 ms before the pulse): a spontaneous spike there does not
   raise it. A channel whose noise is far above its usual level (cautery), or whose
   pre-stimulus stretch is full of spontaneous EMG (an A-train, which would fill the
   response window too), is *rejected* for that sweep: neither present nor absent.
3. **Window and kind.** The stimulus site (:func:`monitor.stimuli.classify_site`) decides:
   a facial-nerve branch gives LSR mode: channels whose muscle is on a stimulated branch
   (``monitor.montage.muscle_of(label).branch``) carry that branch's own *direct*
   response, measured in ``direct_window_ms`` and never used for the LSR; the others are
   searched in the LSR window (``lsr_window_ms``, per channel in ``windows_ms``). When the
   site is unknown, a response already under way right after the blanking (before
   ``auto_direct_ms``) marks that channel's sweep as direct. A vessel site gives Z-L mode
   (``zl_window_ms`` on all channels); the nerve itself gives triggered mode
   (``triggered_window_ms`` on all channels).
4. **Presence.** Peak-to-peak in the window > ``k_noise`` x the sweep's noise and
   > ``floor_uv``.
5. **Measures** of a present response: onset latency (the first crossing of
   ``max(onset_k x noise, half the peak)``, refined backwards to where the response
   leaves the baseline: within ``max(10 % of the peak, onset_lo_k x noise)`` of it,
   interpolated; a small first phase just before, of either sign, counts when it stands
   out of the noise), peak-to-peak amplitude, rectified area, latency of the largest peak.
6. **Averaging** (optional, ``average_n``): the measures are taken on the mean of the
   last N accepted sweeps at the same site and current.

Disappearance (``criterion``): ``"absent_k"`` absent on every baseline channel on K
consecutive sweeps at the baseline site and intensity; ``"amplitude_pct"`` below
``amplitude_pct`` % of baseline on every baseline channel on K consecutive sweeps;
``"threshold_doubled"`` the LSR threshold (from current ramps) at least
``threshold_factor`` times the baseline threshold. Reappearance: a baseline channel back
(present / above the percentage / threshold below the factor) on ``reappear_n``
consecutive sweeps. The baseline is taken from the first ``baseline_n`` stable sweeps
(same site and current, an LSR clearly above the detection level on at least one channel
in all but one of them; only such channels are watched) or set by the user at any time
(:meth:`EvokedAnalyzer.set_baseline`).
"""

from __future__ import annotations

import itertools
import math
import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import signal

from monitor.block import Block, StimMarker
from monitor.montage import muscle_of
from monitor.stimuli import (
    DETECTED_SITE,
    MODE_LSR,
    MODE_TRIGGERED,
    MODE_ZL,
    StimSite,
    StimulusArtifactDetector,
    classify_site,
)

#: Disappearance criteria (CLINICAL.md §1).
CRITERIA = ("absent_k", "amplitude_pct", "threshold_doubled")
#: Triggered-EMG threshold levels (CLINICAL.md §3, Selesnick et al. 1996; [35] for 0.05 mA).
THRESHOLD_LEVELS_MA = (0.05, 0.1, 0.2, 0.3)
#: Kinds of sweep result.
KIND_LSR, KIND_DIRECT, KIND_ZL, KIND_TRIGGERED = "lsr", "direct", "zl", "triggered"
#: The five columns of ``stim_responses.csv`` (DESIGN.md); ``kind`` and ``rejected`` extra.
STIM_RESPONSE_COLUMNS = ("stim_onset_s", "channel", "present", "latency_ms", "amplitude_uv")

_MODE_NAMES = {MODE_LSR: "LSR", MODE_ZL: "Z-L response"}


RECENT_SWEEPS = 64  # sweeps kept whole (with their epochs) for the screen


@dataclass(frozen=True)
class EvokedSettings:
    """Evoked-response settings; the defaults are the monitor's (sources in docs/evoked.md).

    Times are in ms after the pulse onset.

    Attributes
    ----------
    epoch_ms : (float, float)
        The sweep kept for display (:attr:`Sweep.epoch`).
    blank_ms : float
        Blanking after each pulse: replaced by a straight line before filtering, never
        analysed (CLINICAL.md §4: 0-3 ms).
    band_hz : (float or None, float or None)
        Band-pass applied to the blanked sweep (the monitor's display band).
    noise_ms, settle_ms : float
        Pre-stimulus stretch for the noise level (ending 0.5 ms before the pulse), and
        signal read before it so the filter has settled.
    lsr_window_ms, direct_window_ms, zl_window_ms, triggered_window_ms : (float, float)
        Response windows: LSR (~10 ms, CLINICAL.md §1 [D] 6-20 ms), the stimulated
        branch's own direct response, Z-L response (7.3 +/- 0.8 ms [15]), and triggered
        EMG from the nerve (direct responses ~5-6 ms [37]).
    windows_ms : mapping of str to (float, float)
        Per-channel LSR/Z-L window by label, overriding the defaults.
    auto_direct_ms, auto_direct_uv : float
        Site unknown: a response present between the blanking and ``auto_direct_ms``, and
        larger than ``auto_direct_uv`` (direct CMAPs are 0.2-0.7 mV, CLINICAL.md §3 [37];
        the tail of a stimulus artifact is tens of µV), marks the channel's sweep as a
        direct response.
    k_noise, floor_uv : float
        Presence: window peak-to-peak above ``k_noise`` x pre-stimulus noise RMS and above
        ``floor_uv``. k = 8 keeps noise alone below it in > 99 % of windows (bench).
    onset_k, onset_frac, onset_lo_k, onset_pre_k, bridge_ms : float
        Onset: first crossing of ``max(onset_k x noise, onset_frac x the peak)`` (the main
        phase; a slow wander of the baseline rarely reaches it), then back to
        where the signal is within ``max(10 % of the peak, onset_lo_k x noise)`` of the
        baseline; a first phase up to ``bridge_ms`` before that, reaching
        ``onset_pre_k`` x noise, belongs to the response (see the module docstring).
    noisy_factor, noisy_min_uv, noisy_uv : float
        Reject a channel's sweep whose noise is above ``noisy_factor`` x its usual level
        (median of recent sweeps) and above ``noisy_min_uv``, or above ``noisy_uv``.
    activity_k, activity_fraction : float
        Reject a channel's sweep whose pre-stimulus stretch has more than this fraction of
        samples beyond ``activity_k`` x its robust noise: spontaneous EMG (an A-train, a
        burst) that would also be in the response window.
    average_n : int
        Average this many sweeps (same site and current) before measuring; 1 = off.
    criterion : str
        Disappearance criterion, one of :data:`CRITERIA`.
    absent_k : int
        K consecutive sweeps for ``absent_k`` and ``amplitude_pct``.
    amplitude_pct : float
        ``amplitude_pct``: below this % of baseline counts as gone (20 %, i.e. an 80 %
        reduction; some centres use 50 %, CLINICAL.md §1 [L]).
    threshold_factor : float
        ``threshold_doubled``: this many times the baseline threshold (2: "a rise of
        1-fold or more", [8]).
    reappear_n : int
        Consecutive sweeps with a baseline channel back before "reappeared".
    baseline_n : int
        Sweeps for the automatic baseline (and for a user-set one).
    baseline_margin : float
        Automatic baseline: a channel is watched only if its response was present in all
        but one baseline sweep and its median amplitude is this many times its presence
        level (a response at the edge of detection would soon seem to disappear).
    current_tolerance : float
        Currents within this fraction count as the same intensity.
    default_site : str
        Used for markers that do not say where they stimulated (trigger channel, detected).
    detect_stimuli : str
        Stimulus-artifact detection (:mod:`monitor.stimuli`): ``"auto"`` while no marker
        has been seen in the stream, ``"always"``, or ``"off"``.
    history : int
        Stimuli whose results are kept for the trends and ``results`` (live: two hours
        at 1 Hz, about 3 MB per channel; every measurement is also in the recording).
    """

    epoch_ms: tuple[float, float] = (-5.0, 50.0)
    blank_ms: float = 3.0
    band_hz: tuple[float | None, float | None] = (20.0, 3000.0)
    noise_ms: float = 40.0
    settle_ms: float = 50.0
    lsr_window_ms: tuple[float, float] = (6.0, 20.0)
    direct_window_ms: tuple[float, float] = (3.0, 20.0)
    zl_window_ms: tuple[float, float] = (5.0, 15.0)
    triggered_window_ms: tuple[float, float] = (3.0, 15.0)
    windows_ms: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    auto_direct_ms: float = 6.0
    auto_direct_uv: float = 100.0
    k_noise: float = 8.0
    floor_uv: float = 10.0
    onset_k: float = 4.0
    onset_frac: float = 0.5
    onset_lo_k: float = 2.0
    onset_pre_k: float = 3.0
    bridge_ms: float = 1.0
    noisy_factor: float = 4.0
    noisy_min_uv: float = 10.0
    noisy_uv: float = 60.0
    activity_k: float = 4.0
    activity_fraction: float = 0.05
    average_n: int = 1
    criterion: str = "absent_k"
    absent_k: int = 5
    amplitude_pct: float = 20.0
    threshold_factor: float = 2.0
    reappear_n: int = 3
    baseline_n: int = 5
    baseline_margin: float = 1.5
    current_tolerance: float = 0.1
    default_site: str = ""
    detect_stimuli: str = "auto"
    history: int = 7_200

    def __post_init__(self) -> None:
        if self.criterion not in CRITERIA:
            raise ValueError(
                f"Disappearance criterion must be one of {', '.join(CRITERIA)}, "
                f"not {self.criterion!r}."
            )
        if self.detect_stimuli not in ("auto", "always", "off"):
            raise ValueError("Stimulus detection must be 'auto', 'always' or 'off'.")
        windows = [
            self.lsr_window_ms,
            self.direct_window_ms,
            self.zl_window_ms,
            self.triggered_window_ms,
            *self.windows_ms.values(),
        ]
        for lo, hi in windows:
            if not self.blank_ms <= lo < hi <= self.epoch_ms[1]:
                raise ValueError(
                    f"A response window ({lo:g}-{hi:g} ms) must lie between the blanking "
                    f"({self.blank_ms:g} ms) and the end of the sweep ({self.epoch_ms[1]:g} ms)."
                )
        if self.epoch_ms[0] >= 0 or self.epoch_ms[1] <= 0:
            raise ValueError("The sweep must start before the pulse and end after it.")
        if self.absent_k < 1 or self.reappear_n < 1 or self.baseline_n < 1:
            raise ValueError("Sweep counts must be at least 1.")
        if self.average_n < 1:
            raise ValueError("Averaging needs at least 1 sweep.")
        if not 0 < self.amplitude_pct < 100:
            raise ValueError("The amplitude criterion must be between 0 and 100 %.")
        if self.threshold_factor <= 1:
            raise ValueError("The threshold factor must be above 1.")
        if self.k_noise <= 0 or self.floor_uv < 0 or self.noise_ms < 2:
            raise ValueError("Presence needs a positive noise factor and >= 2 ms of noise.")

    def window(self, label: str, kind: str) -> tuple[float, float]:
        """The response window (ms) for a channel and a kind of response."""
        if kind == KIND_DIRECT:
            return self.direct_window_ms
        if kind == KIND_TRIGGERED:
            return self.triggered_window_ms
        if label in self.windows_ms:
            return self.windows_ms[label]
        return self.zl_window_ms if kind == KIND_ZL else self.lsr_window_ms


@dataclass(frozen=True, slots=True)
class SweepResult:
    """One channel's response to one stimulus.

    Attributes
    ----------
    stim_number : int
        1-based count of the stimuli analysed.
    stim_index : int
        Absolute sample index of the pulse.
    channel : int
    label : str
    kind : str
        ``"lsr"``, ``"direct"`` (the stimulated branch's own muscle), ``"zl"`` or
        ``"triggered"``.
    present : bool
    latency_ms : float or None
        Response onset after the pulse (None when absent).
    amplitude_uv : float or None
        Peak-to-peak in the response window (None when absent).
    area_uv_ms : float or None
        Rectified area of the response from onset to its end.
    peak_latency_ms : float or None
        Latency of the largest deflection.
    window_ptp_uv : float
        Peak-to-peak in the window, present or not (NaN when rejected).
    noise_uv : float
        Pre-stimulus noise RMS (robust).
    level_uv : float
        The presence level used (``max(k_noise x noise, floor_uv)``).
    current_ma, site :
        From the marker (``nan`` / ``""`` when unknown).
    n_averaged : int
        Sweeps averaged for this result.
    rejected : str
        ``""``, or why the channel's sweep could not be judged (``"gap"``, ``"noisy"``,
        ``"spontaneous activity"``, ``"no pre-stimulus signal"``); a rejected sweep is
        neither present nor absent.
    """

    stim_number: int
    stim_index: int
    channel: int
    label: str
    kind: str
    present: bool
    latency_ms: float | None
    amplitude_uv: float | None
    area_uv_ms: float | None
    peak_latency_ms: float | None
    window_ptp_uv: float
    noise_uv: float
    level_uv: float
    current_ma: float = float("nan")
    site: str = ""
    n_averaged: int = 1
    rejected: str = ""

    @property
    def judged(self) -> bool:
        return not self.rejected


@dataclass(frozen=True)
class Sweep:
    """One stimulus: its marker, every channel's result and the sweep for display.

    ``epoch`` is ``(n, channels)`` µV (blanked, band-passed; averaged when averaging),
    its first sample ``first_ms`` after the pulse.
    """

    marker: StimMarker
    stim_number: int
    mode: str
    results: tuple[SweepResult, ...]
    epoch: np.ndarray
    first_ms: float
    rate: float

    def times_ms(self) -> np.ndarray:
        return self.first_ms + np.arange(len(self.epoch)) * 1000.0 / self.rate


@dataclass(frozen=True, slots=True)
class LsrCall:
    """A change of the LSR (or Z-L response): information for the team, not an alarm.

    Attributes
    ----------
    kind : str
        ``"disappeared"`` or ``"reappeared"``.
    sample_index : int
        Pulse of the first sweep of the change (disappeared: the first of the K sweeps).
    stim_number : int
        Its stimulus number.
    channels : tuple of str
        Channels concerned (the baseline channels; on reappearance those back).
    criterion : str
    text : str
        One sentence for the event log.
    mode : str
        ``"lsr"`` or ``"zl"``.
    reported_at : int
        Pulse of the sweep that made the call.
    """

    kind: str
    sample_index: int
    stim_number: int
    channels: tuple[str, ...]
    criterion: str
    text: str
    mode: str = MODE_LSR
    reported_at: int = 0


@dataclass(frozen=True)
class LsrBaseline:
    """The reference a tracker compares with.

    ``channels`` are the channels with a response at baseline (only they are watched);
    ``amplitude_uv``/``latency_ms`` by label (median over the baseline sweeps).
    """

    mode: str
    channels: tuple[int, ...]
    amplitude_uv: dict[str, float]
    latency_ms: dict[str, float]
    current_ma: float
    site: str
    first_stim: int
    last_stim: int
    set_by: str  # "auto" or "user"
    threshold_ma: float | None = None


@dataclass(frozen=True, slots=True)
class RampThreshold:
    """A channel's response threshold from a current ramp (triggered EMG)."""

    channel: int
    label: str
    threshold_ma: float | None  # None: no response up to max_tested_ma
    confirmed: bool
    max_tested_ma: float
    amplitude_uv: float | None  # at the threshold
    latency_ms: float | None
    level_ma: float | None  # the lowest of THRESHOLD_LEVELS_MA at or above the threshold
    text: str


# -- ramps ----------------------------------------------------------------------------------
def ramp_threshold(
    points: Iterable[tuple[float, bool]], tolerance: float = 0.05
) -> tuple[float | None, bool]:
    """Threshold from ``(current_ma, present)`` pairs.

    The threshold is the lowest tested current from which on every tested current
    responds (present in at least half of its sweeps): an isolated false detection at a
    low current does not make the threshold. It is *confirmed* when a higher current
    responds too, or two sweeps at it did.

    Returns
    -------
    (threshold_ma or None, confirmed)
    """
    groups: list[list[float | int]] = []  # [current, n, n_present]
    for current, present in sorted(
        (float(c), bool(p)) for c, p in points if math.isfinite(float(c))
    ):
        if groups and current <= groups[-1][0] * (1 + tolerance):
            groups[-1][1] += 1
            groups[-1][2] += int(present)
        else:
            groups.append([current, 1, int(present)])
    responds = [g[2] * 2 >= g[1] and g[2] > 0 for g in groups]
    k = len(groups)
    while k > 0 and responds[k - 1]:
        k -= 1
    if k == len(groups):
        return None, False
    g = groups[k]
    confirmed = k + 1 < len(groups) or g[2] >= 2
    return float(g[0]), confirmed


def threshold_text(threshold_ma: float | None, max_tested_ma: float = float("nan")) -> str:
    """What a triggered-EMG threshold means (CLINICAL.md §3, Selesnick et al. 1996)."""
    if threshold_ma is None:
        return f"no response up to {max_tested_ma:g} mA"
    t = threshold_ma
    if t <= 0.05 * 1.001:
        return f"{t:g} mA: responds at 0.05 mA (best range)"
    if t <= 0.1 * 1.001:
        return f"{t:g} mA: at or below 0.1 mA (75 % HB I-II at once, 90 % at 1 year)"
    if t <= 0.2 * 1.001:
        return f"{t:g} mA: at or below 0.2 mA, the breakpoint (42 % / 58 %)"
    if t <= 0.3 * 1.001:
        return f"{t:g} mA: above 0.2 mA (>= 0.3 mA: 18 % / 41 %)"
    return f"{t:g} mA: above 0.3 mA (18 % / 41 % HB I-II)"


class ThresholdRamp:
    """Per-channel response threshold from sweeps at increasing currents (triggered EMG).

    Feed it sweep results (:meth:`add`, :meth:`add_sweep`, or as ``on_sweep`` of an
    analyzer); :meth:`thresholds` gives each channel's threshold, confirmed or not, against
    0.05 / 0.1 / 0.2 / 0.3 mA. With ``auto_restart`` a current lower than the previous one
    starts a new ramp; the finished one goes to ``completed`` and ``on_ramp``.

    Parameters
    ----------
    labels : sequence of str
    tolerance : float
        Currents within this fraction are one step.
    auto_restart : bool
    on_ramp : callable, optional
        Called with the finished ramp's thresholds.
    kinds : tuple of str
        Result kinds taken (default: direct and triggered responses).

    Thread safety: every method takes an internal lock; ``on_ramp`` runs on the caller's
    thread.
    """

    def __init__(
        self,
        labels: Sequence[str],
        tolerance: float = 0.05,
        auto_restart: bool = False,
        on_ramp: Callable[[list[RampThreshold]], None] | None = None,
        kinds: tuple[str, ...] = (KIND_TRIGGERED, KIND_DIRECT),
    ) -> None:
        self.labels = tuple(labels)
        self.tolerance = tolerance
        self.auto_restart = auto_restart
        self.on_ramp = on_ramp
        self.kinds = kinds
        self._points: list[list[SweepResult]] = [[] for _ in self.labels]
        self._last_current: float | None = None
        self._lock = threading.Lock()
        self.completed: list[list[RampThreshold]] = []

    def add_sweep(self, sweep: Sweep) -> None:
        for r in sweep.results:
            self.add(r)

    def add(self, result: SweepResult) -> None:
        """Take one channel's result (rejected ones and other kinds are ignored)."""
        if result.rejected or result.kind not in self.kinds:
            return
        if not math.isfinite(result.current_ma):
            return
        done = None
        with self._lock:
            last = self._last_current
            if (
                self.auto_restart
                and last is not None
                and result.current_ma < last * (1 - self.tolerance)
                and any(self._points)
            ):
                done = self._thresholds_unlocked()
                self.completed.append(done)
                self._points = [[] for _ in self.labels]
            self._last_current = result.current_ma
            pts = self._points[result.channel]
            pts.append(result)
            if len(pts) > 2000:  # steady stimulation, no ramp: keep the recent part
                del pts[:1000]
        if done is not None and self.on_ramp is not None:
            self.on_ramp(done)

    def reset(self) -> None:
        with self._lock:
            self._points = [[] for _ in self.labels]
            self._last_current = None

    def thresholds(self) -> list[RampThreshold]:
        """Each channel's threshold in the ramp so far."""
        with self._lock:
            return self._thresholds_unlocked()

    def _thresholds_unlocked(self) -> list[RampThreshold]:
        out = []
        for ch, pts in enumerate(self._points):
            thr, confirmed = ramp_threshold(
                ((p.current_ma, p.present) for p in pts), self.tolerance
            )
            top = max((p.current_ma for p in pts), default=float("nan"))
            at = [
                p
                for p in pts
                if thr is not None and p.present and abs(p.current_ma - thr) <= thr * self.tolerance
            ]
            amp = float(np.median([p.amplitude_uv for p in at])) if at else None
            lat = float(np.median([p.latency_ms for p in at])) if at else None
            level = next(
                (x for x in THRESHOLD_LEVELS_MA if thr is not None and thr <= x * 1.001), None
            )
            text = f"{self.labels[ch]}: {threshold_text(thr, top)}"
            if thr is not None and not confirmed:
                text += " (not confirmed)"
            out.append(
                RampThreshold(ch, self.labels[ch], thr, confirmed, top, amp, lat, level, text)
            )
        return out


# -- measuring one channel ---------------------------------------------------------------------
def robust_rms(x: np.ndarray) -> float:
    """1.4826 x median absolute deviation: the RMS of Gaussian noise, robust to a spike."""
    x = x[np.isfinite(x)]
    if len(x) == 0:
        return float("nan")
    return float(1.4826 * np.median(np.abs(x - np.median(x))))


@dataclass(frozen=True, slots=True)
class ResponseMeasure:
    """What :func:`measure_response` finds in one window (ms after the pulse, µV)."""

    present: bool
    ptp: float
    level: float
    latency_ms: float | None = None
    peak_latency_ms: float | None = None
    area_uv_ms: float | None = None


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
    ms = rate / 1000.0
    s = settings
    i0 = zero + round(window_ms[0] * ms)
    i1 = zero + round(window_ms[1] * ms)
    seg = y[i0:i1]
    ptp = float(seg.max() - seg.min())
    level = max(s.k_noise * noise_uv, s.floor_uv)
    if not ptp > level:
        return ResponseMeasure(False, ptp, level)
    blank_end = zero + round(s.blank_ms * ms)
    ipk = i0 + int(np.argmax(np.abs(seg - np.median(seg))))
    b0 = max(blank_end, i0 - round(1.0 * ms))
    base = float(np.mean(y[b0:i0])) if b0 < i0 else 0.0
    mag = np.abs(seg - base)
    peak = float(mag.max())
    hi = min(peak, max(s.onset_k * noise_uv, s.onset_frac * peak))
    ic = i0 + int(np.argmax(mag >= hi))
    # Back from the first crossing to where the response leaves the baseline (the last
    # sample at or below ``lo``); then, once, over a short return to baseline to a small
    # first phase just before (``bridge_ms``), if that reaches ``onset_pre_k`` x noise.
    lo = max(0.1 * peak, s.onset_lo_k * noise_uv)
    dev = np.abs(y - base)
    j = ic
    while j > blank_end + 1 and dev[j - 1] > lo:
        j -= 1
    a = max(blank_end + 1, j - max(2, round(s.bridge_ms * ms)))
    if a < j:
        pre = dev[a:j]
        k = int(np.argmax(pre))
        if pre[k] > max(lo, s.onset_pre_k * noise_uv):
            j = a + k
            while j > blank_end + 1 and dev[j - 1] > lo:
                j -= 1
    # Interpolate between j-1 (at or below lo) and j (above it).
    v0, v1 = dev[j - 1], dev[j]
    frac = (lo - v0) / (v1 - v0) if v1 > v0 else 1.0
    onset = (j - 1) + min(1.0, max(0.0, frac))
    above = np.flatnonzero(mag > lo)
    end = i0 + int(above[-1]) + 1 if len(above) else ic + 1
    start = max(j, blank_end)
    area = float(np.sum(dev[start:end]) / ms) if end > start else 0.0
    return ResponseMeasure(
        True,
        ptp,
        level,
        latency_ms=(onset - zero) / ms,
        peak_latency_ms=(ipk - zero) / ms,
        area_uv_ms=area,
    )


# -- baseline and calls ----------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Obs:
    """What a tracker keeps of one sweep: the results of its kind, by channel."""

    stim_index: int
    stim_number: int
    current_ma: float
    site: str
    results: dict[int, SweepResult]


class _Tracker:
    """Baseline, trend state and disappearance/reappearance calls for one response kind.

    Not thread-safe on its own; the analyzer holds its lock around every call.
    """

    def __init__(
        self,
        mode: str,
        labels: tuple[str, ...],
        settings: EvokedSettings,
        format_time: Callable[[int], str],
    ) -> None:
        self.mode = mode
        self.name = _MODE_NAMES[mode]
        self.labels = labels
        self.s = settings
        self.fmt = format_time
        self.state = "collecting"  # collecting, present, gone, none
        self.baseline: LsrBaseline | None = None
        self.sweeps = 0
        self.seen = False  # a response of this kind was ever present
        self.last: _Obs | None = None
        self.since: _Obs | None = None  # gone since
        self._window: deque[_Obs] = deque(maxlen=settings.baseline_n)
        self._recent: deque[_Obs] = deque(maxlen=max(50, settings.baseline_n))
        self._run: list[_Obs] = []
        self._back: dict[int, int] = {}
        self._ramp: list[_Obs] = []

    # -- feeding -----------------------------------------------------------------------------
    def update(self, obs: _Obs) -> list[LsrCall]:
        self.sweeps += 1
        self.last = obs
        self._recent.append(obs)
        if any(r.present for r in obs.results.values()):
            self.seen = True
        if self.s.criterion == "threshold_doubled":
            return self._update_threshold(obs)
        if self.baseline is None:
            if self.state == "collecting":
                self._collect(obs)
            return []
        if not self._at_baseline(obs) or not self.baseline.channels:
            return []
        if self.state == "present":
            verdict = self._verdict(obs)
            if verdict == "low":
                self._run.append(obs)
                if len(self._run) >= self.s.absent_k:
                    return [self._gone(self._run[0], obs)]
            elif verdict == "high":
                self._run = []
        elif self.state == "gone":
            return self._check_back(obs)
        return []

    def _collect(self, obs: _Obs) -> None:
        if not any(r.judged for r in obs.results.values()):
            return
        if self._window and not _same_stimulus(self._window[-1], obs, self.s.current_tolerance):
            self._window.clear()
        self._window.append(obs)
        if len(self._window) < self.s.baseline_n:
            return
        chans = self._baseline_channels(list(self._window), strict=True)
        if not chans:
            return
        self._set_baseline(list(self._window), "auto", strict=True)
        for o in reversed(self._window):  # it may already be going in the last sweep
            if self._verdict(o) != "low":
                break
            self._run.insert(0, o)

    def _baseline_channels(self, obs: list[_Obs], strict: bool) -> list[int]:
        """Channels with a response at baseline. ``strict`` (automatic baseline): present in
        all but one of the sweeps and clearly above the presence level (``baseline_margin``),
        so that a response at the edge of detection is not watched (its chance misses would
        soon look like a disappearance). Otherwise: present in at least half."""
        out = []
        for ch in range(len(self.labels)):
            rs = [o.results[ch] for o in obs if ch in o.results and o.results[ch].judged]
            pres = [r for r in rs if r.present]
            if not pres:
                continue
            if strict:
                amp = float(np.median([r.amplitude_uv for r in pres]))
                level = float(np.median([r.level_uv for r in pres]))
                if len(pres) >= max(1, len(obs) - 1) and amp >= self.s.baseline_margin * level:
                    out.append(ch)
            elif len(pres) * 2 >= len(rs):
                out.append(ch)
        return out

    def _set_baseline(
        self,
        obs: list[_Obs],
        set_by: str,
        threshold_ma: float | None = None,
        strict: bool = False,
    ) -> LsrBaseline:
        chans = self._baseline_channels(obs, strict)
        amps, lats = {}, {}
        for ch in chans:
            pres = [o.results[ch] for o in obs if _present(o, ch)]
            amps[self.labels[ch]] = float(np.median([r.amplitude_uv for r in pres]))
            lats[self.labels[ch]] = float(np.median([r.latency_ms for r in pres]))
        last = obs[-1]
        self.baseline = LsrBaseline(
            self.mode,
            tuple(chans),
            amps,
            lats,
            last.current_ma,
            last.site,
            obs[0].stim_number,
            last.stim_number,
            set_by,
            threshold_ma,
        )
        self.state = "present" if chans else "none"
        self._run, self._back, self.since = [], {}, None
        return self.baseline

    def set_baseline(self, n: int | None = None) -> LsrBaseline:
        """Baseline from the latest ``n`` sweeps at the latest sweep's site and current."""
        if not self._recent:
            raise ValueError(f"No {self.name} sweeps yet to take a baseline from.")
        last = self._recent[-1]
        if self.s.criterion == "threshold_doubled":
            ramp = self._ramp or [last]
            thr, _ = ramp_threshold((o.current_ma, _any_present(o)) for o in ramp)
            top = [o for o in ramp if o.current_ma >= max(x.current_ma for x in ramp) * 0.95]
            return self._set_baseline(top, "user", thr)
        same = [o for o in self._recent if _same_stimulus(o, last, self.s.current_tolerance)]
        return self._set_baseline(same[-(n or self.s.baseline_n) :], "user")

    def _at_baseline(self, obs: _Obs) -> bool:
        b = self.baseline
        if b is None or obs.site != b.site:
            return False
        c0, c = b.current_ma, obs.current_ma
        return not (math.isfinite(c0) and math.isfinite(c)) or abs(c - c0) <= (
            self.s.current_tolerance * c0
        )

    def _back_on(self, r: SweepResult) -> bool:
        """This channel's response counts as there (not gone)."""
        if self.s.criterion == "amplitude_pct":
            base = self.baseline.amplitude_uv.get(r.label) if self.baseline else None
            amp = r.amplitude_uv if r.present and r.amplitude_uv is not None else 0.0
            return bool(base) and amp >= self.s.amplitude_pct / 100.0 * base
        return r.present

    def _verdict(self, obs: _Obs) -> str:
        """'high' (still there), 'low' (gone on every baseline channel) or 'unknown'."""
        assert self.baseline is not None
        unknown = False
        for ch in self.baseline.channels:
            r = obs.results.get(ch)
            if r is None or not r.judged:
                unknown = True
            elif self._back_on(r):
                return "high"
        return "unknown" if unknown else "low"

    def _check_back(self, obs: _Obs) -> list[LsrCall]:
        assert self.baseline is not None
        for ch in self.baseline.channels:
            r = obs.results.get(ch)
            if r is None or not r.judged:
                continue
            self._back[ch] = self._back.get(ch, 0) + 1 if self._back_on(r) else 0
        ready = [ch for ch, n in self._back.items() if n >= self.s.reappear_n]
        if not ready:
            return []
        return [self._reappeared(obs, ready)]

    # -- threshold criterion -------------------------------------------------------------------
    def _update_threshold(self, obs: _Obs) -> list[LsrCall]:
        tol = self.s.current_tolerance
        if self._ramp and (
            obs.site != self._ramp[-1].site
            or (obs.current_ma < self._ramp[-1].current_ma * (1 - tol))
        ):
            self._end_ramp()
            self._ramp = []
        self._ramp.append(obs)
        if len(self._ramp) > 500:  # no ramp: steady stimulation goes on and on
            del self._ramp[:250]
        b = self.baseline
        if b is None or b.threshold_ma is None or not b.channels or obs.site != b.site:
            return []
        limit = self.s.threshold_factor * b.threshold_ma * (1 - tol)
        below = [o for o in self._ramp if o.current_ma < limit]
        if self.state == "present":
            reached = max(o.current_ma for o in self._ramp) >= limit
            if reached and not any(self._watched_present(o) for o in below):
                return [self._gone(self._ramp[0], obs)]
        elif self.state == "gone":
            for a, c in itertools.pairwise(below):
                if self._watched_present(a) and self._watched_present(c):
                    chans = [ch for ch in b.channels if _present(a, ch) and _present(c, ch)]
                    return [self._reappeared(obs, chans or list(b.channels))]
        return []

    def _end_ramp(self) -> None:
        if self.baseline is not None or self.state != "collecting":
            return
        ramp = self._ramp
        thr, _ = ramp_threshold((o.current_ma, _any_present(o)) for o in ramp)
        if thr is None:
            return
        top_current = max(o.current_ma for o in ramp)
        top = [o for o in ramp if o.current_ma >= top_current * (1 - self.s.current_tolerance)]
        self._set_baseline(top, "auto", thr)

    def _watched_present(self, obs: _Obs) -> bool:
        assert self.baseline is not None
        return any(_present(obs, ch) for ch in self.baseline.channels)

    # -- calls ------------------------------------------------------------------------------
    def _gone(self, first: _Obs, now: _Obs) -> LsrCall:
        assert self.baseline is not None
        b = self.baseline
        self.state, self.since, self._back = "gone", first, {}
        labels = tuple(self.labels[ch] for ch in b.channels)
        where = ", ".join(labels)
        if self.s.criterion == "absent_k":
            why = f"absent on {where} on {self.s.absent_k} consecutive sweeps"
        elif self.s.criterion == "amplitude_pct":
            why = (
                f"below {self.s.amplitude_pct:g} % of baseline on {where} on "
                f"{self.s.absent_k} consecutive sweeps"
            )
        else:
            limit = self.s.threshold_factor * (b.threshold_ma or 0.0)
            why = (
                f"no response below {limit:g} mA on {where} (baseline threshold "
                f"{b.threshold_ma:g} mA)"
            )
        at = "" if not math.isfinite(b.current_ma) else f" at {b.current_ma:g} mA"
        if self.s.criterion == "threshold_doubled":
            at = ""
        text = f"{self.name} disappeared: {why}{at}, since {self.fmt(first.stim_index)}."
        return LsrCall(
            "disappeared",
            first.stim_index,
            first.stim_number,
            labels,
            self.s.criterion,
            text,
            self.mode,
            now.stim_index,
        )

    def _reappeared(self, now: _Obs, chans: list[int]) -> LsrCall:
        self.state, self._run, self._back = "present", [], {}
        since = self.since
        self.since = None
        labels = tuple(self.labels[ch] for ch in chans)
        parts = []
        for ch in chans:
            r = now.results.get(ch)
            if r is not None and r.present and r.amplitude_uv is not None:
                parts.append(f"{r.label} {r.amplitude_uv:.0f} µV at {r.latency_ms:.1f} ms")
            else:
                parts.append(self.labels[ch])
        gone = f" (gone since {self.fmt(since.stim_index)})" if since is not None else ""
        text = f"{self.name} reappeared: {', '.join(parts)}{gone}."
        return LsrCall(
            "reappeared",
            now.stim_index,
            now.stim_number,
            labels,
            self.s.criterion,
            text,
            self.mode,
            now.stim_index,
        )

    # -- words --------------------------------------------------------------------------------
    def status(self) -> str:
        name = self.name
        waiting = self._status_waiting()
        if waiting is not None:
            return waiting
        last = self.last
        assert last is not None and self.baseline is not None
        pres = [
            last.results[ch]
            for ch in self.baseline.channels
            if ch in last.results and last.results[ch].present
        ]
        if pres:
            best = max(pres, key=lambda r: r.amplitude_uv or 0.0)
            return (
                f"{name} present — {best.label} {best.amplitude_uv:.0f} µV "
                f"at {best.latency_ms:.1f} ms"
            )
        if self._run:
            return f"{name} absent on {len(self._run)} of {self.s.absent_k} sweeps"
        return f"{name} present (not in the last sweep)"

    def _status_waiting(self) -> str | None:
        """The status line before there is a baseline to compare with, or when gone."""
        name = self.name
        if self.sweeps == 0:
            return f"{name}: no stimuli yet"
        if self.state == "gone" and self.since is not None:
            return f"{name} gone since {self.fmt(self.since.stim_index)}"
        if self.state == "none":
            return f"{name}: none at baseline"
        if self.state != "collecting":
            return None
        if not self.seen:
            return f"{name} not seen ({self.sweeps} sweeps)"
        return (
            f"{name}: baseline after the first current ramp"
            if self.s.criterion == "threshold_doubled"
            else f"{name}: baseline {len(self._window)} of {self.s.baseline_n} sweeps"
        )


def _same_stimulus(a: _Obs, b: _Obs, tolerance: float) -> bool:
    if a.site != b.site:
        return False
    ca, cb = a.current_ma, b.current_ma
    if not (math.isfinite(ca) and math.isfinite(cb)):
        return math.isfinite(ca) == math.isfinite(cb)
    return abs(ca - cb) <= tolerance * max(ca, cb)


def _present(obs: _Obs, ch: int) -> bool:
    r = obs.results.get(ch)
    return r is not None and r.judged and r.present


def _any_present(obs: _Obs) -> bool:
    return any(r.judged and r.present for r in obs.results.values())


def seconds_clock(rate: float) -> Callable[[int], str]:
    """A ``format_time`` showing the sample index as ``m:ss`` (``h:mm:ss``) of signal."""

    def fmt(index: int) -> str:
        s = int(index / rate)
        return (
            f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"
            if s >= 3600
            else f"{s // 60}:{s % 60:02d}"
        )

    return fmt


# -- the analyzer ---------------------------------------------------------------------------
class EvokedAnalyzer:
    """Session subscriber that measures the response to every stimulus on every channel.

    Parameters
    ----------
    rate : float
    labels : sequence of str
        Channel labels (the montage decides which muscles a branch supplies).
    on_sweep : callable, optional
        ``on_sweep(sweep)`` with every :class:`Sweep`, in stimulus order.
    on_call : callable, optional
        ``on_call(call)`` with every :class:`LsrCall` (disappeared / reappeared).
    settings : EvokedSettings, optional
    format_time : callable, optional
        Sample index -> text for the status line and calls (default ``m:ss`` of signal).

    Feed it with ``session.subscribe("Evoked responses", analyzer)`` (it is called with
    ``(block, filtered)`` and uses the block's raw samples and stimulus markers), or
    :meth:`process`. A sweep is analysed as soon as its last sample has arrived; call
    :meth:`flush` at the end of a recording.

    Thread safety: ``__call__``/``process``/``flush`` on the acquisition thread only
    (``on_sweep``/``on_call`` run there, outside the internal lock). ``results``,
    ``sweeps``, ``calls``, ``trend``, ``baseline``, ``set_baseline``, ``status_text``,
    ``lsr_summary`` and ``stim_response_rows`` are safe from any thread.
    """

    def __init__(
        self,
        rate: float,
        labels: Sequence[str],
        on_sweep: Callable[[Sweep], None] | None = None,
        on_call: Callable[[LsrCall], None] | None = None,
        settings: EvokedSettings | None = None,
        format_time: Callable[[int], str] | None = None,
    ) -> None:
        self.s = settings or EvokedSettings()
        self.rate = float(rate)
        self.labels = tuple(labels)
        self.n_channels = len(self.labels)
        self.on_sweep = on_sweep
        self.on_call = on_call
        self.format_time = format_time or seconds_clock(self.rate)
        ms = self.rate / 1000.0
        self._ms = ms
        s = self.s
        self._noise_pre = round((s.noise_ms + 0.5) * ms)  # analysis sweep starts here
        self._noise_end = round(0.5 * ms)
        self._pre = self._noise_pre + round(s.settle_ms * ms)  # raw read before the pulse
        ends = [
            s.epoch_ms[1],
            s.lsr_window_ms[1],
            s.direct_window_ms[1],
            s.zl_window_ms[1],
            s.triggered_window_ms[1],
            *(w[1] for w in s.windows_ms.values()),
        ]
        self._post = round(max(ends) * ms) + 1
        self._blank = max(1, round(s.blank_ms * ms))
        self._disp = (round(s.epoch_ms[0] * ms), round(s.epoch_ms[1] * ms))
        self._sos = _band_sos(s.band_hz, self.rate)
        self._zi = signal.sosfilt_zi(self._sos)[:, :, None]
        self._muscles = [muscle_of(label) for label in self.labels]
        self._lock = threading.RLock()
        self._buf = np.zeros((0, self.n_channels), np.float32)
        self._buf_start = 0
        self._expected: int | None = None
        self._pending: list[StimMarker] = []
        self._known: deque[int] = deque(maxlen=4096)  # recent pulses, for blanking
        self._real_seen = False
        self._detector = (
            StimulusArtifactDetector(self.rate, self.n_channels)
            if s.detect_stimuli != "off"
            else None
        )
        self._avg: dict[tuple, deque[np.ndarray]] = {}
        self._usual_noise = [deque(maxlen=30) for _ in self.labels]
        self._count = 0
        self._results: deque[SweepResult] = deque(maxlen=s.history * max(1, self.n_channels))
        self._last: Sweep | None = None
        self._recent: deque[Sweep] = deque(maxlen=RECENT_SWEEPS)  # for displays
        self._sweeps_total = 0
        self._trackers = {
            mode: _Tracker(mode, self.labels, s, self._time_text) for mode in (MODE_LSR, MODE_ZL)
        }
        self._calls: list[LsrCall] = []
        self.ramp = ThresholdRamp(self.labels, auto_restart=True, kinds=(KIND_TRIGGERED,))
        self.detected = 0  # stimuli found from their artifacts and used

    # -- input (acquisition thread) ------------------------------------------------------------
    def __call__(self, block: Block, filtered: np.ndarray | None = None) -> None:
        self.process(block.start, block.data, block.stims)

    def _time_text(self, index: int) -> str:
        # Looked up at each call: a replay's screen may set format_time to the recording's
        # clock after the analyzer was made.
        return self.format_time(index)

    def process(self, start: int, raw: np.ndarray, stims: Iterable[StimMarker] = ()) -> None:
        """Feed raw samples ``[n, channels]`` (µV) from absolute ``start``, and the stimulus
        markers that came with them."""
        done: list[Sweep] = []
        calls: list[LsrCall] = []
        with self._lock:
            for m in stims:
                if m.site != DETECTED_SITE:
                    self._real_seen = True
                self._add_stim(m)
            if self._expected is not None and start != self._expected:
                self._on_gap(start, done, calls)
            if len(self._buf) == 0:
                self._buf_start = start
            self._buf = np.concatenate([self._buf, raw]) if len(self._buf) else raw.copy()
            self._expected = start + len(raw)
            det = self._detector
            if det is not None and (self.s.detect_stimuli == "always" or not self._real_seen):
                for m in det.process(start, raw):
                    if not any(abs(m.index - k) <= 2 * self._ms for k in self._known):
                        self.detected += 1
                        self._add_stim(m)
            end = self._buf_start + len(self._buf)
            while self._pending and self._pending[0].index + self._post <= end:
                self._analyse(self._pending.pop(0), done, calls)
            self._trim()
        self._emit(done, calls)

    def flush(self) -> None:
        """End of the stream: analyse the sweeps whose response windows are complete."""
        done: list[Sweep] = []
        calls: list[LsrCall] = []
        with self._lock:
            end = self._buf_start + len(self._buf)
            while self._pending:
                m = self._pending.pop(0)
                need = round(max(self.s.lsr_window_ms[1], self.s.zl_window_ms[1]) * self._ms)
                if m.index + need <= end and m.index >= self._buf_start:
                    pad = m.index + self._post - end
                    if pad > 0:
                        self._buf = np.concatenate(
                            [self._buf, np.full((pad, self.n_channels), np.nan, np.float32)]
                        )
                    self._analyse(m, done, calls)
        self._emit(done, calls)

    def _emit(self, done: list[Sweep], calls: list[LsrCall]) -> None:
        for sweep in done:
            if self.on_sweep is not None:
                self.on_sweep(sweep)
        for call in calls:
            if self.on_call is not None:
                self.on_call(call)

    def _add_stim(self, m: StimMarker) -> None:
        if m.index in self._known:
            return
        self._known.append(m.index)
        k = len(self._pending)
        while k > 0 and self._pending[k - 1].index > m.index:
            k -= 1
        self._pending.insert(k, m)

    def _on_gap(self, start: int, done: list[Sweep], calls: list[LsrCall]) -> None:
        assert self._expected is not None
        missing = start - self._expected
        if 0 < missing <= self._pre + self._post:
            hole = np.full((missing, self.n_channels), np.nan, np.float32)
            self._buf = np.concatenate([self._buf, hole]) if len(self._buf) else hole
            return
        # A long gap (or time going back): what was pending cannot be completed.
        for m in self._pending:
            if m.index < start:
                self._reject(m, "gap", done, calls)
        self._pending = [m for m in self._pending if m.index >= start]
        self._buf = np.zeros((0, self.n_channels), np.float32)
        self._buf_start = start

    def _trim(self) -> None:
        end = self._buf_start + len(self._buf)
        keep_from = end - (self._pre + self._post)
        if self._pending:
            keep_from = min(keep_from, self._pending[0].index - self._pre)
        cut = keep_from - self._buf_start
        if cut > len(self._buf) // 2 and cut > 0:  # trim in halves: amortised copies
            self._buf = self._buf[cut:]
            self._buf_start += cut

    # -- one sweep ---------------------------------------------------------------------------
    def _analyse(self, m: StimMarker, done: list[Sweep], calls: list[LsrCall]) -> None:
        idx = m.index
        if idx < self._buf_start:
            self._reject(m, "gap", done, calls)
            return
        a = max(self._buf_start, idx - self._pre)
        b = idx + self._post
        raw = self._buf[a - self._buf_start : b - self._buf_start].astype(np.float64)
        zero = idx - a
        bad = ~np.isfinite(raw)
        if bad.any():
            raw = _hold_last_finite(raw, bad)
        for k in self._known:
            if a - self._blank < k < b:
                _blank(raw, k - a, self._blank)
        y = signal.sosfilt(self._sos, raw, axis=0, zi=self._zi * raw[0])[0]
        if bad.any():  # the analysed part is invalid from its first invalid sample on
            a0 = max(0, zero - self._noise_pre)
            sub = bad[a0:]
            for ch in np.flatnonzero(sub.any(axis=0)):
                y[a0 + int(np.argmax(sub[:, ch])) :, ch] = np.nan
        # The analysis sweep: from the noise stretch to the end, NaN before the data began
        # and before the end of the previous stimulus' response.
        sweep = np.full((self._noise_pre + self._post, self.n_channels), np.nan)
        take = min(zero, self._noise_pre)
        sweep[self._noise_pre - take :] = y[zero - take :]
        prev = [k for k in self._known if idx - self._noise_pre - self._post < k < idx]
        if prev:
            cut = max(prev) + round(25 * self._ms) - (idx - self._noise_pre)
            if cut > 0:
                sweep[: min(cut, self._noise_pre)] = np.nan
        site = classify_site(m.site, self.s.default_site)
        n_avg = 1
        if self.s.average_n > 1:
            sweep, n_avg = self._average(m, sweep)
        self._count += 1
        results = self._measure_all(m, site, sweep, n_avg)
        z = self._noise_pre
        epoch = sweep[z + self._disp[0] : z + self._disp[1]].astype(np.float32)
        sw = Sweep(m, self._count, site.mode, results, epoch, self._disp[0] / self._ms, self.rate)
        self._record(sw, done, calls)

    def _average(self, m: StimMarker, sweep: np.ndarray) -> tuple[np.ndarray, int]:
        cur = m.current_ma
        key = (m.site, round(cur, 3) if math.isfinite(cur) else None)
        q = self._avg.setdefault(key, deque(maxlen=self.s.average_n))
        if len(self._avg) > 16:  # forget other stimuli's averages
            for k in list(self._avg)[:-16]:
                del self._avg[k]
        z = self._noise_pre
        clean = np.isfinite(sweep[z:]).all() and not any(
            self._unjudgeable(ch, sweep[:, ch], learn=False) for ch in range(self.n_channels)
        )
        if not clean:  # measured (and rejected) on its own, kept out of the average
            return sweep, 1
        q.append(sweep)
        with np.errstate(invalid="ignore"):
            stack = np.array(q)
            return np.nanmean(stack, axis=0) if len(q) > 1 else stack[0], len(q)

    def _measure_all(
        self, m: StimMarker, site: StimSite, sweep: np.ndarray, n_avg: int
    ) -> tuple[SweepResult, ...]:
        z = self._noise_pre
        out = []
        for ch, label in enumerate(self.labels):
            y = sweep[:, ch]
            kind = self._kind(ch, site)
            common = {
                "stim_number": self._count,
                "stim_index": m.index,
                "channel": ch,
                "label": label,
                "current_ma": m.current_ma,
                "site": m.site,
                "n_averaged": n_avg,
            }
            noise = robust_rms(y[: z - self._noise_end])
            if not np.isfinite(y[z : z + round(self.s.window(label, kind)[1] * self._ms)]).all():
                out.append(_rejected(common, kind, "gap", noise))
                continue
            why = self._unjudgeable(ch, y)
            if why:
                out.append(_rejected(common, kind, why, noise))
                continue
            if kind == KIND_LSR and not site.known:
                early = measure_response(
                    y, z, self.rate, (self.s.blank_ms, self.s.auto_direct_ms), noise, self.s
                )
                if early.present and early.ptp > self.s.auto_direct_uv:
                    kind = KIND_DIRECT
            meas = measure_response(y, z, self.rate, self.s.window(label, kind), noise, self.s)
            out.append(
                SweepResult(
                    kind=kind,
                    present=meas.present,
                    latency_ms=meas.latency_ms,
                    amplitude_uv=meas.ptp if meas.present else None,
                    area_uv_ms=meas.area_uv_ms,
                    peak_latency_ms=meas.peak_latency_ms,
                    window_ptp_uv=meas.ptp,
                    noise_uv=noise,
                    level_uv=meas.level,
                    **common,
                )
            )
        return tuple(out)

    def _unjudgeable(self, ch: int, y: np.ndarray, learn: bool = True) -> str:
        """Why a channel's sweep cannot be judged from its pre-stimulus stretch, or ``""``.

        Too little of it; noise far above the channel's usual level (cautery); or
        spontaneous EMG over it (which would be in the response window too). With
        ``learn`` an acceptable noise level joins the channel's usual levels.
        """
        part = y[: self._noise_pre - self._noise_end]
        finite = part[np.isfinite(part)]
        if len(finite) < 2 * self._ms:
            return "no pre-stimulus signal"
        noise = robust_rms(finite)
        usual = self._usual_noise[ch]
        typical = float(np.median(usual)) if len(usual) >= 5 else noise
        if noise > self.s.noisy_uv or (
            noise > self.s.noisy_factor * typical and noise > self.s.noisy_min_uv
        ):
            return "noisy"
        if learn:
            usual.append(noise)
        busy = np.abs(finite - np.median(finite)) > self.s.activity_k * noise
        if busy.mean() > self.s.activity_fraction:
            return "spontaneous activity"
        return ""

    def _kind(self, ch: int, site: StimSite) -> str:
        if site.mode == MODE_ZL:
            return KIND_ZL
        if site.mode == MODE_TRIGGERED:
            return KIND_TRIGGERED
        muscle = self._muscles[ch]
        if muscle is not None and muscle.branch in site.branches:
            return KIND_DIRECT
        return KIND_LSR

    def _reject(self, m: StimMarker, why: str, done: list[Sweep], calls: list[LsrCall]) -> None:
        self._count += 1
        site = classify_site(m.site, self.s.default_site)
        results = tuple(
            _rejected(
                {
                    "stim_number": self._count,
                    "stim_index": m.index,
                    "channel": ch,
                    "label": label,
                    "current_ma": m.current_ma,
                    "site": m.site,
                },
                self._kind(ch, site),
                why,
                float("nan"),
            )
            for ch, label in enumerate(self.labels)
        )
        n = self._disp[1] - self._disp[0]
        epoch = np.full((n, self.n_channels), np.nan, np.float32)
        sw = Sweep(m, self._count, site.mode, results, epoch, self._disp[0] / self._ms, self.rate)
        self._record(sw, done, calls)

    def _record(self, sw: Sweep, done: list[Sweep], calls: list[LsrCall]) -> None:
        self._results.extend(sw.results)
        self._last = sw
        self._recent.append(sw)
        self._sweeps_total += 1
        done.append(sw)
        if sw.mode in self._trackers:
            kind = KIND_LSR if sw.mode == MODE_LSR else KIND_ZL
            obs = _Obs(
                sw.marker.index,
                sw.stim_number,
                sw.marker.current_ma,
                sw.marker.site.strip().lower(),
                {r.channel: r for r in sw.results if r.kind == kind},
            )
            new = self._trackers[sw.mode].update(obs)
            self._calls.extend(new)
            calls.extend(new)
        elif sw.mode == MODE_TRIGGERED:
            self.ramp.add_sweep(sw)

    # -- reading (any thread) ----------------------------------------------------------------
    def results(self) -> list[SweepResult]:
        """Every result kept, in stimulus order (channels in order within a stimulus)."""
        with self._lock:
            return list(self._results)

    def calls(self) -> list[LsrCall]:
        """Every disappearance/reappearance call so far, oldest first."""
        with self._lock:
            return list(self._calls)

    def sweeps_since(self, seen: int) -> tuple[int, list[Sweep]]:
        """Sweeps after the first ``seen`` (at most the last ``RECENT_SWEEPS``) and the new
        total, so a display misses none however fast the stimuli come. Thread-safe."""
        with self._lock:
            first = self._sweeps_total - len(self._recent)
            return self._sweeps_total, list(self._recent)[max(0, seen - first) :]

    def last_sweep(self) -> Sweep | None:
        with self._lock:
            return self._last

    def trend(self, channel: int, kind: str | None = None) -> list[SweepResult]:
        """One channel's results over time (of one kind, if given)."""
        with self._lock:
            return [
                r
                for r in self._results
                if r.channel == channel and (kind is None or r.kind == kind)
            ]

    def baseline(self, mode: str = MODE_LSR) -> LsrBaseline | None:
        with self._lock:
            return self._trackers[mode].baseline

    def state(self, mode: str = MODE_LSR) -> str:
        """``"collecting"``, ``"present"``, ``"gone"`` or ``"none"`` (no response at baseline)."""
        with self._lock:
            return self._trackers[mode].state

    def set_baseline(self, mode: str = MODE_LSR, n: int | None = None) -> LsrBaseline:
        """Take the baseline now from the latest ``n`` sweeps (default ``baseline_n``) at the
        latest stimulus site and current. Watching starts afresh (a "gone" state ends
        without a call). Raises ``ValueError`` before the first sweep."""
        with self._lock:
            return self._trackers[mode].set_baseline(n)

    def status_text(self, mode: str = MODE_LSR) -> str:
        """One line for the screen, e.g. ``"LSR present — L Mentalis 240 µV at 10.1 ms"``."""
        with self._lock:
            return self._trackers[mode].status()

    def lsr_summary(self, mode: str = MODE_LSR) -> dict:
        """``summary.json["lsr"]``: ``baseline_uv`` by label, ``disappeared_at_s`` (the
        pulse of the first absent sweep of a disappearance not followed by a reappearance,
        else None), and details."""
        with self._lock:
            t = self._trackers[mode]
            b = t.baseline
            gone = t.state == "gone" and t.since is not None
            return {
                "baseline_uv": {k: round(v, 1) for k, v in (b.amplitude_uv if b else {}).items()},
                "baseline_latency_ms": {
                    k: round(v, 2) for k, v in (b.latency_ms if b else {}).items()
                },
                "baseline_current_ma": None
                if b is None or not math.isfinite(b.current_ma)
                else b.current_ma,
                "baseline_threshold_ma": None if b is None else b.threshold_ma,
                "disappeared_at_s": round(t.since.stim_index / self.rate, 3) if gone else None,
                "criterion": self.s.criterion,
                "state": t.state,
                "sweeps": t.sweeps,
                "calls": [
                    {
                        "kind": c.kind,
                        "time_s": round(c.sample_index / self.rate, 3),
                        "reported_s": round(c.reported_at / self.rate, 3),
                        "stim_number": c.stim_number,
                        "channels": list(c.channels),
                        "text": c.text,
                    }
                    for c in self._calls
                    if c.mode == mode
                ],
                "stimuli_detected_from_artifacts": self.detected,
                "analysed": True,
            }

    def stim_response_rows(self, extra: bool = False) -> list[list[str]]:
        """Rows for ``stim_responses.csv`` (:data:`STIM_RESPONSE_COLUMNS`): one per stimulus
        and channel; latency and amplitude empty when absent. A rejected sweep is written
        ``present=0`` with empty fields; ``extra`` appends ``kind`` and ``rejected``."""
        return stim_response_rows(self.results(), self.rate, extra)


def stim_response_rows(
    results: Iterable[SweepResult], rate: float, extra: bool = False
) -> list[list[str]]:
    """Rows for ``stim_responses.csv`` from sweep results (see
    :meth:`EvokedAnalyzer.stim_response_rows`)."""
    rows = []
    for r in results:
        row = [
            f"{r.stim_index / rate:.4f}",
            r.label,
            "1" if r.present else "0",
            "" if r.latency_ms is None else f"{r.latency_ms:.2f}",
            "" if r.amplitude_uv is None else f"{r.amplitude_uv:.1f}",
        ]
        if extra:
            row += [r.kind, r.rejected]
        rows.append(row)
    return rows


def _rejected(common: dict, kind: str, why: str, noise: float) -> SweepResult:
    return SweepResult(
        kind=kind,
        present=False,
        latency_ms=None,
        amplitude_uv=None,
        area_uv_ms=None,
        peak_latency_ms=None,
        window_ptp_uv=float("nan"),
        noise_uv=noise,
        level_uv=float("nan"),
        rejected=why,
        **common,
    )


def _hold_last_finite(x: np.ndarray, bad: np.ndarray) -> np.ndarray:
    """Invalid samples replaced by the last valid one before them (0 at the start)."""
    idx = np.where(bad, 0, np.arange(len(x))[:, None])
    np.maximum.accumulate(idx, axis=0, out=idx)
    out = x[idx, np.arange(x.shape[1])]
    lead = bad & (np.cumsum(~bad, axis=0) == 0)
    out[lead] = 0.0
    return out


def _blank(x: np.ndarray, at: int, n: int) -> None:
    """Replace ``x[at : at + n]`` by a straight line from ``x[at - 1]`` to ``x[at + n]``."""
    a, b = max(at, 1), min(at + n, len(x) - 1)
    if b <= a:
        return
    t = (np.arange(a, b) - (a - 1)) / (b - (a - 1))
    x[a:b] = x[a - 1] + t[:, None] * (x[b] - x[a - 1])


def _band_sos(band: tuple[float | None, float | None], rate: float) -> np.ndarray:
    hp, lp = band
    if lp is not None:
        lp = min(lp, 0.45 * rate)
    if hp and lp:
        return signal.butter(2, [hp, lp], "bandpass", fs=rate, output="sos")
    if hp:
        return signal.butter(2, hp, "highpass", fs=rate, output="sos")
    if lp:
        return signal.butter(2, lp, "lowpass", fs=rate, output="sos")
    return np.array([[1.0, 0.0, 0.0, 1.0, 0.0, 0.0]])
