"""Evoked responses: lateral spread response (LSR/AMR), Z-L response and triggered EMG.

A session subscriber (:class:`EvokedAnalyzer`) cuts a sweep around every stimulus marker
once the sweep's end has arrived, measures every channel and keeps the trends; a
tracker per response kind sets the baseline and calls the LSR's disappearance and
reappearance (information for the team, not alarms), and the stimulated branch's own
direct response is tracked as a control that the stimulus still reaches the nerve (its
loss is a technical alarm, never "LSR disappeared"). Numbers and their sources are in
``docs/evoked.md`` and docs/clinical.md §1, §3 and §4.

The parts live in modules named after what they hold: the settings and vocabulary
(:mod:`monitor.evoked.settings`), a sweep and its results (:mod:`monitor.evoked.sweep`), the
mains-hum estimate (:mod:`monitor.mainshum`), the screening of contaminated sweeps
(:mod:`monitor.contamination`), the measurement of one response
(:mod:`monitor.evoked.responses`), the baselines and calls (:mod:`monitor.evoked.tracker`) and
triggered-EMG thresholds (:mod:`monitor.evoked.ramp`). Their public names are
available from here too.

Method, per stimulus (all causal: a sweep is analysed when its last sample has arrived,
from a buffer of the raw stream addressed by absolute sample index, so the results do not
depend on how the stream is cut into blocks):

1. **Sweep.** Raw samples from ``settle_ms + noise_ms`` before the pulse to the end of the
   epoch.
2. **Mains hum.** Sines of the mains frequency and its harmonics are fitted to the raw
   signal before the pulse and subtracted from the whole sweep (50 or 60 Hz and the exact
   frequency from the data, :mod:`monitor.mainshum`): the notch stays off, and the hum
   neither hides a response nor makes one.
3. **Blanking and band-pass.** Every known pulse in the sweep is **blanked**
   (``blank_ms``, the samples replaced by a straight line) *before* filtering, so the
   stimulus artifact cannot ring through the filter into the response window. Then the
   band-pass (``band_hz``), started in its steady state.
4. **Screening.** A channel-sweep hit by a gap, saturation, movement, cautery or
   spontaneous activity, before or after the pulse, is *rejected*: neither present nor
   absent (:mod:`monitor.contamination`).
5. **Window and kind.** The stimulus site (:func:`monitor.evoked.stimuli.classify_site`) decides:
   a facial-nerve branch gives LSR mode: channels whose muscle is on a stimulated branch,
   on the stimulated side (:func:`monitor.montage.stimulated_side`), carry that branch's
   own *direct* response, measured in ``direct_window_ms`` and never used for the LSR; the
   others are searched in the LSR window (``lsr_window_ms``, per channel in
   ``windows_ms``). When the site is unknown, a response already under way right after the
   blanking (before ``auto_direct_ms``) on the stimulated side marks that channel's sweep
   as direct. Contralateral muscles are never direct. A vessel site gives Z-L mode
   (``zl_window_ms`` on all channels); the nerve itself gives triggered mode
   (``triggered_window_ms`` on all channels).
6. **Presence and measures** (:func:`monitor.evoked.responses.measure_response`): peak-to-peak
   in the window above ``k_noise`` x the sweep's robust pre-stimulus noise and above
   ``floor_uv``; onset latency, amplitude, area, peak latency. A response far beyond
   physiology or its baseline is rejected instead.
7. **Averaging** (optional, ``average_n``): the measures are taken on the mean of the
   last N accepted sweeps at the same site and current.

Disappearance (``criterion``): ``"absent_k"`` absent on every baseline channel on K
consecutive sweeps at the baseline site and intensity; ``"amplitude_pct"`` below
``amplitude_pct`` % of baseline on every baseline channel on K consecutive sweeps;
``"threshold_doubled"`` the LSR threshold (from current ramps) at least
``threshold_factor`` times the baseline threshold. Sweeps whose direct response shows the
stimulation lost do not count, nor does any sweep while a stimulation loss stands (counting
starts again from its restore), and a long gap or a seek ends the runs under way.
Reappearance: a baseline channel back (present / above the
percentage / threshold below the factor) on ``reappear_n`` consecutive sweeps. The
baseline is taken from the first ``baseline_n`` stable sweeps or set by the user at any
time (:meth:`EvokedAnalyzer.set_baseline`).
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import math
import threading
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from typing import Any, cast

import numpy as np
from scipy import signal

from monitor.block import Block, StimMarker
from monitor.contamination import ContaminationScreen, Screening
from monitor.evoked.ramp import (
    THRESHOLD_LEVELS_MA,
    RampThreshold,
    ThresholdRamp,
    ramp_threshold,
    threshold_text,
)
from monitor.evoked.responses import (
    ResponseMeasure,
    measure_response,
    measure_responses,
    presence_level,
    robust_rms,
    robust_rms_columns,
    window_rows,
)
from monitor.evoked.settings import (
    CRITERIA,
    KIND_DIRECT,
    KIND_LSR,
    KIND_TRIGGERED,
    KIND_ZL,
    REJECT_GAP,
    REJECT_REASONS,
    STIM_LOST,
    STIM_OK,
    STIM_UNVERIFIED,
    EvokedSettings,
)
from monitor.evoked.stimuli import (
    DETECTED_SITE,
    MODE_LSR,
    MODE_TRIGGERED,
    MODE_ZL,
    StimSite,
    StimulusArtifactDetector,
    classify_site,
)
from monitor.evoked.sweep import (
    STIM_RESPONSE_COLUMNS,
    Sweep,
    SweepResult,
    rejected_result,
    stim_response_rows,
)
from monitor.evoked.tracker import (
    CALL_DISAPPEARED,
    CALL_REAPPEARED,
    CALL_STIMULATION_LOST,
    CALL_STIMULATION_RESTORED,
    STIMULATION_LOST_TEXT,
    DirectBaseline,
    LsrBaseline,
    LsrCall,
    LsrTracker,
    Observation,
    StimulationControl,
)
from monitor.filters import sos_filter_rows
from monitor.mainshum import HumFit, MainsHum
from monitor.montage import muscle_of, side_of, stimulated_side

SITE_MEMORY = 256  # site texts whose reading is remembered (a handful in a case)

__all__ = [
    "CALL_DISAPPEARED",
    "CALL_REAPPEARED",
    "CALL_STIMULATION_LOST",
    "CALL_STIMULATION_RESTORED",
    "CRITERIA",
    "KIND_DIRECT",
    "KIND_LSR",
    "KIND_TRIGGERED",
    "KIND_ZL",
    "RECENT_SWEEPS",
    "REJECT_REASONS",
    "STIMULATION_LOST_TEXT",
    "STIM_LOST",
    "STIM_OK",
    "STIM_RESPONSE_COLUMNS",
    "STIM_UNVERIFIED",
    "THRESHOLD_LEVELS_MA",
    "DirectBaseline",
    "EvokedAnalyzer",
    "EvokedSettings",
    "LsrBaseline",
    "LsrCall",
    "RampThreshold",
    "ResponseMeasure",
    "Sweep",
    "SweepResult",
    "ThresholdRamp",
    "measure_response",
    "ramp_threshold",
    "robust_rms",
    "seconds_clock",
    "stim_response_rows",
    "threshold_text",
]

RECENT_SWEEPS = 64  # sweeps kept whole (with their epochs) for the screen
#: Below this sampling rate the evoked analysis does not run: the LSR (a few ms of
#: 100-500 Hz activity) and its latency need at least 1 sample per millisecond.
MIN_RATE_HZ = 1000.0
#: The call made once, at the first stimulus, when the analysis is off (not an alarm).
CALL_ANALYSIS_OFF = "analysis_off"

log = logging.getLogger(__name__)
#: After another pulse, its response is left out of a sweep's pre-stimulus stretch (ms).
PREVIOUS_RESPONSE_MS = 25.0


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


class EvokedAnalyzer:
    """Session subscriber that measures the response to every stimulus on every channel.

    Parameters
    ----------
    rate : float
    labels : sequence of str
        Channel labels (the montage decides which muscles a branch supplies, and on which
        side they are).
    on_sweep : callable, optional
        ``on_sweep(sweep)`` with every :class:`Sweep`, in stimulus order.
    on_call : callable, optional
        ``on_call(call)`` with every :class:`LsrCall` (disappeared / reappeared, and
        stimulation_lost / stimulation_restored).
    settings : EvokedSettings, optional
    format_time : callable, optional
        Sample index -> text for the status line and calls (default ``m:ss`` of signal).

    Feed it with ``session.subscribe("Evoked responses", analyzer)`` (it is called with
    ``(block, filtered)`` and uses the block's raw samples and stimulus markers), or
    :meth:`process`. A sweep is analysed as soon as its last sample has arrived; call
    :meth:`flush` at the end of a recording.

    Thread safety: ``__call__``/``process``/``flush`` on the acquisition thread only
    (``on_sweep``/``on_call`` run there, outside the internal lock). ``results``,
    ``sweeps_since``, ``last_sweep``, ``calls``, ``trend``, ``baseline``,
    ``direct_baseline``, ``state``, ``stimulation_state``, ``stimulation_text``,
    ``set_baseline``, ``status_text``, ``lsr_summary`` and ``stim_response_rows`` are safe
    from any thread.
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
        self.stimuli_not_analysed = 0
        self._off_said = False
        #: Why the analysis does not run (a clause), or None while it does.
        self.off_reason, self._off_short = _rate_too_low(self.rate)
        # Off, the parts below are built at the lowest rate they work at and never fed.
        ms = (MIN_RATE_HZ if self.off_reason else self.rate) / 1000.0
        self._ms = ms
        s = self.s
        self._noise_pre = round((s.noise_ms + 0.5) * ms)  # analysis sweep starts here
        self._noise_end = round(0.5 * ms)
        self._pre = self._noise_pre + round(s.settle_ms * ms)  # raw read before the pulse
        setup_rate = ms * 1000.0
        self._hum = MainsHum(setup_rate, s.mains_hz, s.hum_harmonics)
        # The hum is fitted to the stretch before the noise stretch (so the noise level
        # judged there is honest: it holds whatever the fit got wrong, as the response
        # window does; fitted over it too, the fit takes some of its noise away and 8 x
        # that noise is crossed twice as often by noise alone), on a grid of samples fixed
        # relative to the pulse (the fit's design is then the same sweep after sweep).
        self._hum_rows = np.arange(
            -round(s.hum_fit_ms * ms), -self._noise_pre - 1, self._hum.stride
        )
        self._keep_pre = max(self._pre, -int(self._hum_rows[0]))  # raw kept before a pulse
        self._post = round(max(s.epoch_ms[1], s.latest_window_end_ms()) * ms) + 1
        self._blank = max(1, round(s.blank_ms * ms))
        self._prev_resp = round(PREVIOUS_RESPONSE_MS * ms)
        self._disp = (round(s.epoch_ms[0] * ms), round(s.epoch_ms[1] * ms))
        self._sos = _band_sos(s.band_hz, setup_rate)
        self._zi = signal.sosfilt_zi(self._sos)  # its steady state per unit input
        self._muscles = [muscle_of(label) for label in self.labels]
        self._sides = [side_of(label) for label in self.labels]
        self._site_sides: dict[str, str | None] = {}
        self._sites: dict[str, tuple[StimSite, tuple[str, ...]]] = {}
        self._lock = threading.RLock()
        self._buf = np.zeros((0, self.n_channels), np.float32)
        self._buf_start = 0
        self._expected: int | None = None
        self._pending: list[StimMarker] = []
        self._known: deque[int] = deque(maxlen=4096)  # recent pulses, for blanking
        self._real_seen = False
        self._detector = (
            StimulusArtifactDetector(setup_rate, self.n_channels)
            if s.detect_stimuli != "off"
            else None
        )
        self._screen = ContaminationScreen(setup_rate, self.n_channels, s)
        self._avg: dict[tuple, deque[np.ndarray]] = {}
        self._count = 0
        self._results: deque[SweepResult] = deque(maxlen=s.history * max(1, self.n_channels))
        self._last: Sweep | None = None
        self._recent: deque[Sweep] = deque(maxlen=RECENT_SWEEPS)  # for displays
        self._sweeps_total = 0
        self._trackers = {
            mode: LsrTracker(mode, self.labels, s, self._time_text) for mode in (MODE_LSR, MODE_ZL)
        }
        self._control = StimulationControl(self.labels, s, self._time_text)
        self._calls: list[LsrCall] = []
        self.ramp = ThresholdRamp(self.labels, auto_restart=True, kinds=(KIND_TRIGGERED,))
        self.detected = 0  # stimuli found from their artifacts and used

    # -- input (acquisition thread) ------------------------------------------------------------
    def __call__(self, block: Block, filtered: np.ndarray | None = None) -> None:
        try:
            self.process(block.start, block.data, block.stims)
        except Exception:
            # Off for good, said once (the log, the recording, the status box, the
            # summary); it stays subscribed, so later stimuli are counted as not analysed.
            log.exception("the evoked-response analysis failed")
            self._switch_off(
                "it stopped after an internal error (the details are in the log)", block.start
            )

    @property
    def off_said(self) -> bool:
        """True once the call saying the analysis is off was made. Thread-safe."""
        return self._off_said

    def _switch_off(self, reason: str, index: int) -> None:
        """Stop analysing for good and say why now."""
        calls = []
        with self._lock:
            if self.off_reason is None:
                self.off_reason = reason
                self._off_short = "internal error, see the log"
                self._pending.clear()
                calls.append(self._off_call(index))
        self._emit([], calls)

    def _off_call(self, index: int) -> LsrCall:
        """The one call saying the analysis is off (under the lock)."""
        self._off_said = True
        call = LsrCall(
            CALL_ANALYSIS_OFF,
            index,
            0,
            (),
            "",
            f"LSR not measured: {self.off_reason}.",
            reported_at=index,
        )
        self._calls.append(call)
        return call

    def _not_analysed(self, stims: Iterable[StimMarker]) -> None:
        """Count the stimuli the analysis cannot take; say why at the first."""
        calls = []
        with self._lock:
            for m in stims:
                self.stimuli_not_analysed += 1
                if not self._off_said:
                    calls.append(self._off_call(m.index))
        self._emit([], calls)

    def _time_text(self, index: int) -> str:
        # Looked up at each call: a replay's screen may set format_time to the recording's
        # clock after the analyzer was made.
        return self.format_time(index)

    def process(self, start: int, raw: np.ndarray, stims: Iterable[StimMarker] = ()) -> None:
        """Feed raw samples ``[n, channels]`` (µV) from absolute ``start``, and the stimulus
        markers that came with them."""
        if self.off_reason is not None:
            self._not_analysed(stims)
            return
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
                    near = self._pulses_near(m.index - 2 * self._ms - 1, m.index + 2 * self._ms + 1)
                    if not near:
                        self.detected += 1
                        self._add_stim(m)
            end = self._buf_start + len(self._buf)
            while self._pending and self._pending[0].index + self._post <= end:
                self._analyse(self._pending.pop(0), done, calls)
            self._trim()
        self._emit(done, calls)

    def flush(self) -> None:
        """End of the stream: analyse the sweeps whose response windows are complete."""
        if self.off_reason is not None:
            return
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

    def _pulses_near(self, lo: float, hi: float) -> list[int]:
        """Known pulses strictly between ``lo`` and ``hi``. They are kept in about the
        order they came (markers with their blocks, detected ones a few ms late), so the
        search stops a second's worth before ``lo``; an hour at 1 Hz is 3600 of them."""
        out = []
        stop = lo - self.rate
        for k in reversed(self._known):
            if lo < k < hi:
                out.append(k)
            elif k < stop:
                break
        return out

    def _on_gap(self, start: int, done: list[Sweep], calls: list[LsrCall]) -> None:
        assert self._expected is not None
        missing = start - self._expected
        if 0 < missing <= self._keep_pre + self._post:
            hole = np.full((missing, self.n_channels), np.nan, np.float32)
            self._buf = np.concatenate([self._buf, hole]) if len(self._buf) else hole
            return
        # A long gap (or time going back): what was pending cannot be completed.
        for m in self._pending:
            if m.index < start:
                self._reject(m, REJECT_GAP, done, calls)
        self._pending = [m for m in self._pending if m.index >= start]
        # Nor can a run of sweeps go on across it (absent ones towards a disappearance,
        # present ones towards a reappearance, lost or restored stimulation), nor an
        # average mix sweeps from either side; the baselines stay.
        for tracker in self._trackers.values():
            tracker.clear_runs()
        self._control.clear_runs()
        self._avg.clear()
        self._buf = np.zeros((0, self.n_channels), np.float32)
        self._buf_start = start

    def _trim(self) -> None:
        end = self._buf_start + len(self._buf)
        keep_from = end - (self._keep_pre + self._post)
        if self._pending:
            keep_from = min(keep_from, self._pending[0].index - self._keep_pre)
        cut = keep_from - self._buf_start
        if cut > len(self._buf) // 2 and cut > 0:  # trim in halves: amortised copies
            self._buf = self._buf[cut:]
            self._buf_start += cut

    # -- one sweep ---------------------------------------------------------------------------
    def _analyse(self, m: StimMarker, done: list[Sweep], calls: list[LsrCall]) -> None:
        idx = m.index
        if idx < self._buf_start:
            self._reject(m, REJECT_GAP, done, calls)
            return
        a = max(self._buf_start, idx - self._pre)
        b = idx + self._post
        src = self._buf[a - self._buf_start : b - self._buf_start]  # read only
        raw = src.astype(np.float64)
        zero = idx - a
        # Checked on the recorded single-precision samples (half the bytes; the same
        # finiteness), the invalid ones found only when there are any.
        bad = None if np.isfinite(src).all() else ~np.isfinite(raw)
        if bad is not None:
            raw = _hold_last_finite(raw, bad)
        hum = self._remove_hum(idx, raw, zero)
        for k in self._pulses_near(a - self._blank, b):
            _blank(raw, k - a, self._blank)
        # Filtered with the channels along rows (the layout the filter runs in, so nothing
        # is copied back): every per-channel step after it then reads contiguous samples.
        yt = _band_pass(self._sos, self._zi, raw)
        if bad is not None:  # the analysed part is invalid from its first invalid sample on
            a0 = max(0, zero - self._noise_pre)
            sub = bad[a0:]
            for ch in np.flatnonzero(sub.any(axis=0)):
                yt[ch, a0 + int(np.argmax(sub[:, ch])) :] = np.nan
        # The analysis sweep: from the noise stretch to the end, NaN before the data began
        # and before the end of the previous stimulus' response; the raw signal (as
        # recorded, and without its hum) on the same rows for the screening. Views of this
        # sweep's own arrays when the data reach back far enough (the usual case).
        n = self._noise_pre + self._post
        take = min(zero, self._noise_pre)
        first = self._noise_pre - take
        # (The raw signal as recorded stays in its own floating type: only its extremes
        # and how often they occur are asked, the same in either precision.)
        as_recorded = src.dtype if src.dtype.kind == "f" else np.dtype(np.float64)
        if first == 0:
            sweep_t = yt[:, zero - take :]
            raw_t = src[zero - take :].T.astype(as_recorded, order="C")
            clean_a = raw[zero - take :]
        else:
            sweep_t = np.full((self.n_channels, n), np.nan)
            raw_t = np.full((self.n_channels, n), np.nan, as_recorded)
            clean_a = np.full((n, self.n_channels), np.nan)
            sweep_t[:, first:] = yt[:, zero - take :]
            raw_t[:, first:] = src[zero - take :].T
            clean_a[first:] = raw[zero - take :]
        # ``(rows, channels)`` as everywhere, each channel's samples contiguous.
        sweep, raw_a = sweep_t.T, raw_t.T
        prev = self._pulses_near(idx - self._noise_pre - self._post, idx)
        if prev:
            cut = max(prev) + self._prev_resp - (idx - self._noise_pre)
            if cut > 0:
                for arr in (sweep, raw_a, clean_a):
                    arr[: min(cut, self._noise_pre)] = np.nan
        site = self._site(m.site)
        screening = self._screen.check(sweep, raw_a, clean_a, self._noise_pre, self._noise_end)
        self._count += 1
        sweep, results = self._measure_sweep(m, site, sweep, screening, hum)
        z = self._noise_pre
        epoch = sweep[z + self._disp[0] : z + self._disp[1]].astype(np.float32, order="C")
        sw = Sweep(
            m,
            self._count,
            site.mode,
            results,
            epoch,
            self._disp[0] / self._ms,
            self.rate,
            mains_hz=hum.mains_hz,
        )
        self._record(sw, done, calls)

    @functools.cached_property
    def _hum_t(self) -> np.ndarray:
        """The times of the hum fit's rows (s), computed once (never written)."""
        return self._hum_rows / self.rate

    def _remove_hum(self, idx: int, raw: np.ndarray, zero: int) -> HumFit:
        """Fit the mains hum to the raw signal before the pulse (away from invalid samples
        and from any other pulse and its response) and remove it from ``raw`` (the sweep,
        invalid samples held) before blanking, so the blanked stretch holds no hum either."""
        if not self._hum.enabled:
            return HumFit(0.0, np.zeros(self.n_channels))
        rows = self._hum_rows
        if idx + int(rows[0]) < self._buf_start:  # the data began (or resumed) since
            rows = rows[idx + rows >= self._buf_start]
            if len(rows) == 0:
                return HumFit(0.0, np.zeros(self.n_channels))
        # The rows are every ``stride``-th sample: a strided slice, not a gather.
        first = idx + int(rows[0]) - self._buf_start
        x = self._buf[first : first + len(rows) * self._hum.stride : self._hum.stride].astype(
            np.float64
        )
        fin = np.isfinite(x)
        live = None  # every channel is fitted
        keep: np.ndarray | None = None  # every row is
        if not fin.all():
            # A channel without signal over most of the stretch (a dead one) is left out
            # of the fit rather than taking every row away from the others.
            live = fin.mean(axis=0) >= 0.5
            if not live.any():
                return HumFit(0.0, np.zeros(self.n_channels))
            keep = cast(np.ndarray, fin[:, live].all(axis=1))  # a row mask, never a scalar
        for k in self._pulses_near(idx + rows[0] - self._prev_resp, idx):
            near = (rows >= k - idx - self._blank) & (rows < k - idx + self._prev_resp)
            keep = ~near if keep is None else keep & ~near
        if keep is not None and not keep.all():
            rows, x = rows[keep], x[keep]
        # Their times: those of every row computed once (the usual case).
        t = self._hum_t if rows is self._hum_rows else rows / self.rate
        if live is None or live.all():
            return self._hum.remove(x, t, raw, zero)
        part = raw[:, live]
        fit = self._hum.remove(x[:, live], t, part, zero)
        raw[:, live] = part
        amp = np.zeros(self.n_channels)
        amp[live] = fit.amplitude_uv
        return HumFit(fit.mains_hz, amp)

    def _measure_sweep(
        self, m: StimMarker, site: StimSite, sweep: np.ndarray, screening: Screening, hum: HumFit
    ) -> tuple[np.ndarray, tuple[SweepResult, ...]]:
        """Every channel's result, on the sweep or (averaging) on the mean it joins; and
        that sweep or mean."""
        single = self._measure_all(m, site, sweep, 1, screening, hum)
        if self.s.average_n <= 1 or not screening.clean or any(r.rejected for r in single):
            # Judged on its own: a sweep with a rejected channel (an implausible response
            # too) stays out of the average, where it would pass diluted.
            return sweep, single
        mean, n_avg = self._average(m, sweep, True)
        if n_avg <= 1:
            return sweep, single
        return mean, self._measure_all(m, site, mean, n_avg, screening, hum)

    def _average(self, m: StimMarker, sweep: np.ndarray, clean: bool) -> tuple[np.ndarray, int]:
        cur = m.current_ma
        key = (m.site, round(cur, 3) if math.isfinite(cur) else None)
        q = self._avg.setdefault(key, deque(maxlen=self.s.average_n))
        if len(self._avg) > 16:  # forget other stimuli's averages
            for k in list(self._avg)[:-16]:
                del self._avg[k]
        z = self._noise_pre
        if not (clean and np.isfinite(sweep[z:]).all()):
            return sweep, 1  # measured (and rejected) on its own, kept out of the average
        q.append(sweep)
        with np.errstate(invalid="ignore"):
            stack = np.array(q)
            return np.nanmean(stack, axis=0) if len(q) > 1 else stack[0], len(q)

    def _measure_all(
        self,
        m: StimMarker,
        site: StimSite,
        sweep: np.ndarray,
        n_avg: int,
        screening: Screening,
        hum: HumFit,
    ) -> tuple[SweepResult, ...]:
        z = self._noise_pre
        noise_all = screening.noise
        if n_avg > 1:  # the average is quieter than the single sweep
            pre = sweep[: z - self._noise_end]
            noise_all = robust_rms_columns(pre[np.isfinite(pre).all(axis=1)])
        side = self._stimulated_side(m.site)
        tracker = self._trackers.get(site.mode)
        base_amps = tracker.baseline.amplitude_uv if tracker and tracker.baseline else {}
        # Each channel's samples contiguous (the analyzer's own sweeps already are; an
        # average is copied once), and the per-channel numbers as Python floats once.
        yt = sweep.T if sweep.strides[0] == sweep.itemsize else np.ascontiguousarray(sweep.T)
        noises = noise_all.tolist()
        hums = hum.amplitude_uv.tolist()
        # A sweep finite from the pulse to its end has every window complete (the usual
        # case: one check instead of one per channel).
        complete = bool(np.isfinite(yt[:, z:]).all())
        early: list[float] | None = None
        out: list[SweepResult | None] = []
        # The channels to measure, by window: measured together (the same results as one
        # by one), their results put in channel order.
        todo: dict[tuple[float, float], list[int]] = {}
        known: dict[int, tuple[dict[str, Any], str]] = {}
        kinds = self._site_read(m.site)[1]
        for ch, label in enumerate(self.labels):
            kind = kinds[ch]
            common: dict[str, Any] = {
                "stim_number": self._count,
                "stim_index": m.index,
                "channel": ch,
                "label": label,
                "current_ma": m.current_ma,
                "site": m.site,
                "n_averaged": n_avg,
                "hum_uv": round(hums[ch], 2),
            }
            noise = noises[ch]
            if (
                not complete
                and not np.isfinite(
                    yt[ch, z : z + round(self.s.window(label, kind)[1] * self._ms)]
                ).all()
            ):
                out.append(rejected_result(common, kind, REJECT_GAP, noise))
                continue
            why = screening.reasons[ch]
            if why:
                out.append(rejected_result(common, kind, why, noise))
                continue
            if kind == KIND_LSR and not site.known and self._ipsilateral(ch, side):
                # Only whether a response is present there, and its size, are asked: the
                # peak-to-peak of every channel at once, against the presence level.
                if early is None:
                    early = self._early_ptp(yt)
                if early[ch] > presence_level(noise, self.s) and early[ch] > self.s.auto_direct_uv:
                    kind = KIND_DIRECT
            todo.setdefault(self.s.window(label, kind), []).append(ch)
            known[ch] = (common, kind)
            out.append(None)
        for window, chans in todo.items():
            measures = measure_responses(
                yt, chans, z, self.rate, window, [noises[ch] for ch in chans], self.s
            )
            for ch, meas in zip(chans, measures, strict=True):
                common, kind = known[ch]
                out[ch] = self._result(common, kind, meas, noises[ch], base_amps)
        return tuple(cast(list[SweepResult], out))

    def _result(
        self,
        common: dict[str, Any],
        kind: str,
        meas: ResponseMeasure,
        noise: float,
        base_amps: dict[str, float],
    ) -> SweepResult:
        """One channel's measured result, or its rejection as implausible."""
        why = self._screen.implausible(kind, meas.ptp, base_amps.get(common["label"]))
        if why:
            return rejected_result(common, kind, why, noise)
        return SweepResult(
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

    def _early_ptp(self, yt: np.ndarray) -> list[float]:
        """Every channel's peak-to-peak (µV) from the end of the blanking to
        ``auto_direct_ms``: what :func:`measure_response` finds there for presence."""
        i0, i1 = window_rows(self._noise_pre, self.rate, (self.s.blank_ms, self.s.auto_direct_ms))
        seg = yt[:, i0:i1]
        return (np.maximum.reduce(seg, axis=1) - np.minimum.reduce(seg, axis=1)).tolist()

    def _site(self, text: str) -> StimSite:
        """The marker's site read (:func:`classify_site`)."""
        return self._site_read(text)[0]

    def _site_read(self, text: str) -> tuple[StimSite, tuple[str, ...]]:
        """The marker's site read and every channel's :meth:`_kind` there, remembered per
        site text (a few regular expressions and lookups per stimulus otherwise)."""
        key = text or ""
        if key not in self._sites:
            if len(self._sites) >= SITE_MEMORY:  # texts that keep changing: no memory grows
                self._sites.clear()
            site = classify_site(text, self.s.default_site)
            side = self._stimulated_side(text)
            kinds = tuple(self._kind(ch, site, side) for ch in range(self.n_channels))
            self._sites[key] = (site, kinds)
        return self._sites[key]

    def _stimulated_side(self, site: str) -> str | None:
        text = site or self.s.default_site
        if text not in self._site_sides:
            if len(self._site_sides) >= SITE_MEMORY:
                self._site_sides.clear()
            self._site_sides[text] = stimulated_side(text, self.labels)
        return self._site_sides[text]

    def _ipsilateral(self, ch: int, side: str | None) -> bool:
        """On the stimulated side (or either side unknown): a contralateral muscle is a
        silent control in MVD, never a direct response."""
        own = self._sides[ch]
        return side is None or own is None or own == side

    def _kind(self, ch: int, site: StimSite, side: str | None) -> str:
        if site.mode == MODE_ZL:
            return KIND_ZL
        if site.mode == MODE_TRIGGERED:
            return KIND_TRIGGERED
        muscle = self._muscles[ch]
        if muscle is not None and muscle.branch in site.branches and self._ipsilateral(ch, side):
            return KIND_DIRECT
        return KIND_LSR

    def _reject(self, m: StimMarker, why: str, done: list[Sweep], calls: list[LsrCall]) -> None:
        self._count += 1
        site = self._site(m.site)
        side = self._stimulated_side(m.site)
        results = tuple(
            rejected_result(
                {
                    "stim_number": self._count,
                    "stim_index": m.index,
                    "channel": ch,
                    "label": label,
                    "current_ma": m.current_ma,
                    "site": m.site,
                },
                self._kind(ch, site, side),
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
        new: list[LsrCall] = []
        if sw.mode in self._trackers:
            kind = KIND_LSR if sw.mode == MODE_LSR else KIND_ZL
            site = sw.marker.site.strip().lower()
            obs = Observation(
                sw.marker.index,
                sw.stim_number,
                sw.marker.current_ma,
                site,
                {r.channel: r for r in sw.results if r.kind == kind},
            )
            tracker = self._trackers[sw.mode]
            kinds: set[str] = set()
            if sw.mode == MODE_LSR:
                verified, control_calls = self._check_stimulation(sw, obs, tracker)
                new.extend(control_calls)
                obs = _with_stimulation(obs, verified)
                sw = dataclasses.replace(sw, stimulation=verified)
                kinds = {c.kind for c in control_calls}
                # While the stimulation is lost the LSR says nothing: never "LSR
                # disappeared" then, nor a run of absent sweeps across the loss.
                if CALL_STIMULATION_LOST in kinds:
                    tracker.stimulation_lost()
            new.extend(tracker.update(obs))
            if CALL_STIMULATION_RESTORED in kinds:
                new.extend(tracker.stimulation_restored())
        elif sw.mode == MODE_TRIGGERED:
            self.ramp.add_sweep(sw)
        self._results.extend(sw.results)
        self._last = sw
        self._recent.append(sw)
        self._sweeps_total += 1
        done.append(sw)
        self._calls.extend(new)
        calls.extend(new)

    def _check_stimulation(
        self, sw: Sweep, lsr_obs: Observation, tracker: LsrTracker
    ) -> tuple[str, list[LsrCall]]:
        """The sweep's stimulation verification, and the control's calls."""
        present = tracker.watched_present(lsr_obs)
        if present is None:  # no baseline yet: any LSR shows the stimulus got through
            present = any(r.judged and r.present for r in lsr_obs.results.values())
        every = Observation(
            lsr_obs.stim_index,
            lsr_obs.stim_number,
            lsr_obs.current_ma,
            lsr_obs.site,
            {r.channel: r for r in sw.results},
            lsr_obs.stimulation,
        )
        verified = self._control.verify(every, present)
        note = ""
        if tracker.state == "gone" and tracker.since is not None:
            note = (
                f"The LSR, gone since {self._time_text(tracker.since.stim_index)}, cannot be "
                "confirmed gone while the stimulus does not reach the nerve."
            )
        elif tracker.state == "present":
            note = "The LSR cannot be judged meanwhile."
        calls = self._control.update(_with_stimulation(every, verified), note)
        return verified, calls

    # -- reading (any thread) ----------------------------------------------------------------
    def results(self) -> list[SweepResult]:
        """Every result kept, in stimulus order (channels in order within a stimulus)."""
        with self._lock:
            return list(self._results)

    def calls(self) -> list[LsrCall]:
        """Every call so far (disappearance, reappearance, stimulation), oldest first."""
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

    def direct_baseline(self) -> DirectBaseline | None:
        """The direct-response baseline at the latest LSR-mode sweep's stimulus (the
        stimulation control), or None."""
        with self._lock:
            return self._control.last_baseline

    def state(self, mode: str = MODE_LSR) -> str:
        """``"collecting"``, ``"present"``, ``"gone"`` or ``"none"`` (no response at baseline);
        ``"off"`` when the analysis does not run (see :attr:`off_reason`)."""
        with self._lock:
            return "off" if self.off_reason else self._trackers[mode].state

    def stimulation_state(self) -> str:
        """``"ok"``, ``"lost"``, ``"unverified"``, ``"collecting"`` or ``""`` (no LSR-mode
        sweep yet): see :meth:`monitor.evoked.tracker.StimulationControl.state`."""
        with self._lock:
            return self._control.state()

    def stimulation_text(self) -> str:
        """The stimulation control in one line, e.g. ``"Stimulation OK — L Orb. oculi
        1.1 mV"`` or ``"STIMULATION NOT REACHING THE NERVE — check the stimulating
        electrode"`` (``""`` before the first LSR-mode sweep)."""
        with self._lock:
            return self._control.status()

    def stimulation_lost_since(self) -> int | None:
        """Pulse of the first sweep of the standing stimulation loss, or None."""
        with self._lock:
            return self._control.lost_since

    def set_baseline(self, mode: str = MODE_LSR, n: int | None = None) -> LsrBaseline:
        """Take the baseline now from the latest ``n`` sweeps (default ``baseline_n``) at the
        latest stimulus site and current (for the LSR, the direct-response baseline too).
        Watching starts afresh (a "gone" state ends without a call; a stimulation loss
        stands until the direct response is back).
        Raises ``ValueError`` before the first sweep."""
        with self._lock:
            b = self._trackers[mode].set_baseline(n)
            if mode == MODE_LSR:
                self._control.set_baseline(self._control_sweeps(n))
            return b

    def _control_sweeps(self, n: int | None) -> list[Observation]:
        """The latest ``n`` LSR-mode sweeps at the latest stimulus, every channel's result."""
        tracker = self._trackers[MODE_LSR]
        numbers = {o.stim_number for o in tracker.latest_sweeps(n)}
        return [
            Observation(
                sw.marker.index,
                sw.stim_number,
                sw.marker.current_ma,
                sw.marker.site.strip().lower(),
                {r.channel: r for r in sw.results},
                sw.stimulation,
            )
            for sw in self._recent
            if sw.stim_number in numbers
        ]

    def status_text(self, mode: str = MODE_LSR) -> str:
        """One line for the screen, e.g. ``"LSR present — L Mentalis 240 µV at 10.1 ms"``."""
        with self._lock:
            if self.off_reason:
                return f"LSR not measured — {self._off_short}"
            lost = self._control.lost_since if mode == MODE_LSR else None
            return self._trackers[mode].status(lost)

    def lsr_summary(self, mode: str = MODE_LSR) -> dict:
        """``summary.json["lsr"]``: ``baseline_uv`` by label, ``disappeared_at_s`` (the
        pulse of the first absent sweep of a disappearance not followed by a reappearance,
        else None), ``stimulation_lost_at_s`` (the pulse of the first sweep of the latest
        stimulation loss, else None), the calls, and details."""
        with self._lock:
            t = self._trackers[mode]
            b = t.baseline
            since = t.since if t.state == "gone" else None
            gone = since is not None
            out = {
                "baseline_uv": {k: round(v, 1) for k, v in (b.amplitude_uv if b else {}).items()},
                "baseline_latency_ms": {
                    k: round(v, 2) for k, v in (b.latency_ms if b else {}).items()
                },
                "baseline_current_ma": None
                if b is None or not math.isfinite(b.current_ma)
                else b.current_ma,
                "baseline_threshold_ma": None if b is None else b.threshold_ma,
                "disappeared_at_s": None
                if since is None
                else round(since.stim_index / self.rate, 3),
                "disappearance_caveat": t.caveat if gone else "",
                "stimulation_lost_at_s": None,
                "stimulation_restored_at_s": None,
                "stimulation_state": None,
                "direct_baseline_uv": {},
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
                "rejected_sweeps": self._rejected_counts(mode),
                "mains_hz": round(self._hum.mains_hz, 2) or None,
                "stimuli_detected_from_artifacts": self.detected,
                "analysed": self.off_reason is None,
                "reason": None
                if self.off_reason is None
                else f"LSR not measured: {self.off_reason}.",
                "stimuli_not_analysed": self.stimuli_not_analysed,
            }
            if mode == MODE_LSR:
                out.update(self._control.summary(self.rate))
            return out

    def _rejected_counts(self, mode: str) -> dict[str, int]:
        """Stimuli with at least one rejected channel of this mode's kinds, by reason."""
        kinds = (KIND_LSR, KIND_DIRECT) if mode == MODE_LSR else (KIND_ZL,)
        seen: dict[int, str] = {}
        for r in self._results:
            if r.rejected and r.kind in kinds and r.stim_index not in seen:
                seen[r.stim_index] = r.rejected
        counts: dict[str, int] = {}
        for why in seen.values():
            counts[why] = counts.get(why, 0) + 1
        return counts

    def stim_response_rows(self, extra: bool = False) -> list[list[str]]:
        """Rows for ``stim_responses.csv`` (:data:`STIM_RESPONSE_COLUMNS`): one per stimulus
        and channel; latency and amplitude empty when absent. A rejected sweep is written
        ``present=0`` with empty fields and its reason in ``rejected``; ``extra`` appends
        ``kind``."""
        return stim_response_rows(self.results(), self.rate, extra)


def _with_stimulation(obs: Observation, stimulation: str) -> Observation:
    """``dataclasses.replace(obs, stimulation=stimulation)``, without its field lookups."""
    return Observation(
        obs.stim_index, obs.stim_number, obs.current_ma, obs.site, obs.results, stimulation
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
    x[a:b] = x[a - 1] + _ramp(b - a) * (x[b] - x[a - 1])


@functools.lru_cache(maxsize=16)
def _ramp(n: int) -> np.ndarray:
    """``(n, 1)``: 1 / (n + 1) ... n / (n + 1), the blanking line's steps (the same for every
    pulse of a length; read only)."""
    t = (np.arange(1, n + 1) / (n + 1))[:, None]
    t.flags.writeable = False
    return t


def _band_pass(sos: np.ndarray, zi: np.ndarray, raw: np.ndarray) -> np.ndarray:
    """``signal.sosfilt(sos, raw, axis=0, zi=zi[:, :, None] * raw[0])[0].T``: ``raw``
    ``(samples, channels)`` band-passed from its steady state at the first sample, returned
    ``(channels, samples)``, the same values.

    Through :func:`monitor.filters.sos_filter_rows` (SciPy's own loop on this layout,
    without ``sosfilt``'s checks and copies around it: a fifth of the filter here).
    """
    x = np.array(raw.T, dtype=np.float64, order="C")
    start = zi[None, :, :] * raw[0][:, None, None]  # (channels, sections, 2)
    return sos_filter_rows(sos, x, start)


def _rate_too_low(rate: float) -> tuple[str | None, str]:
    """Why the analysis cannot run at ``rate`` (a clause, and a few words for the status
    box), or ``(None, "")``."""
    if rate >= MIN_RATE_HZ:
        return None, ""
    return (
        f"the sampling rate ({rate:g} Hz) is below the {MIN_RATE_HZ:g} Hz it needs",
        f"sampling rate {rate:g} Hz, needs {MIN_RATE_HZ:g} Hz",
    )


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
