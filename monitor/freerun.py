"""Free-running EMG detection: spikes, bursts, A-, B- and C-trains, and artifact.

Causal and in real time, on the filtered stream, hop by hop (10 ms hops on a grid of
absolute sample indices, so the result does not depend on how the stream is cut into
blocks):

1. **Potentials.** Samples whose magnitude exceeds the channel's threshold are grouped
   (1 ms refractory) into potentials with a peak time, a peak-to-peak amplitude and a
   short waveform snippet. The threshold adapts to each channel's baseline noise
   (``k_sigma`` x a robust running SD, never below ``floor_uv``), or is the classic fixed
   100 µV of commercial monitors (``mode="fixed"``).
2. **Episodes.** Potentials closer than ``episode_gap_ms`` form one episode = one event.
3. **Classes** (Romstöck et al., docs/clinical.md §2):
   - **A-train**: a periodic discharge at 55-230 Hz, found from the signal's
     autocovariance by :class:`~monitor.atrain.PeriodicityTracker` (overlapping,
     sinusoid-like potentials included, in mains hum, with jitter and waxing and waning
     amplitude); it owns the channel's episode from its onset to its offset, whatever
     potentials cross the threshold meanwhile;
   - **spike**: a single potential;
   - **burst**: an irregular cluster shorter than ``burst_max_s``;
   - **C-train**: longer irregular activity at a high rate (interference-like);
   - **B-train**: longer sequences at a low rate.
4. **Reporting.** A spike is reported after ``spike_wait_ms`` of silence (< 50 ms after
   onset); a second potential makes it a burst at once; periodicity makes it an A-train
   within about three periods and two hops (< 200 ms at 55 Hz). Each report is an
   :class:`~monitor.events.EmgEvent` with the same id; the last one is ``final``; an
   ongoing A-train's reports carry ``extent``, how far it is certain (train time counts
   no further until it ends).
5. **Artifact.** Electrocautery (:class:`~monitor.artifact.CauteryGate`) is reported as
   an ``artifact`` event on all channels; while it lasts no potential is taken and open
   episodes are closed; the noise estimate is frozen. Potentials in the blanking window
   after each stimulus marker are ignored (evoked responses are not spontaneous EMG).
6. **Noise.** The adaptive threshold's noise estimate learns only from hops where
   nothing is going on (no open event, no A-train, no blanking): a long train cannot
   raise its own threshold.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from monitor.artifact import CauteryGate
from monitor.atrain import PeriodicitySettings, PeriodicityTracker, TrainChange
from monitor.block import Block
from monitor.events import ALL_CHANNELS, EmgEvent, EventKind
from monitor.extremes import segment_max
from monitor.noise import RobustNoise


@dataclass(frozen=True, slots=True)
class FreeRunSettings:
    """Detection settings; the defaults are the monitor's."""

    mode: str = "adaptive"  # or "fixed"
    k_sigma: float = 7.0
    floor_uv: float = 20.0
    fixed_uv: float = 100.0  # peak magnitude in fixed mode
    refractory_ms: float = 2.0  # crossings closer than this are phases of one potential
    merge_ms: float = 8.0  # a much smaller peak this soon after is the same potential's tail
    burst_min_span_ms: float = 15.0  # two peaks closer than this are one polyphasic potential
    spike_wait_ms: float = 30.0
    episode_gap_ms: float = 120.0
    a_train: PeriodicitySettings = field(default_factory=PeriodicitySettings)
    burst_max_s: float = 1.0
    c_train_min_hz: float = 40.0
    b_train_gap_s: float = 1.0  # spikes/bursts this close in a row form a sequence ...
    b_train_min: int = 4  # ... and this many of them a B-train
    stim_blank_ms: float = 30.0
    hop_ms: float = 10.0
    noise_memory_s: float = 20.0
    noise_frozen_max_s: float = 60.0  # a channel busy this long: its background changed

    def __post_init__(self) -> None:
        if self.mode not in ("adaptive", "fixed"):
            raise ValueError(f"Detection mode must be 'adaptive' or 'fixed', not {self.mode!r}.")
        if self.k_sigma <= 0 or self.floor_uv < 0 or self.fixed_uv <= 0:
            raise ValueError("Detection thresholds must be positive.")


MAX_HELD_POTENTIALS = 4096  # per open episode; beyond, the middle is thinned out


@dataclass(frozen=True, slots=True)
class _HopStats:
    """Per-hop, per-channel statistics, shape ``(hops, channels)``, and per-hop summaries
    (lists: one Python value per hop). A block's at once: numpy's cost is per call, and
    a hop's own arrays are eight numbers."""

    power: np.ndarray
    dpower: np.ndarray
    segments: np.ndarray  # the hops' samples (hops, hop, channels)
    maxabs: np.ndarray
    gate: np.ndarray  # the periodicity tracker's gate power per hop
    rms: np.ndarray  # sqrt(power): what the noise estimate learns
    rms_finite: list[bool]  # every channel's RMS finite
    broadband: np.ndarray  # the cautery gate's broadband test
    cautery_candidates: list[int]  # channels that could be hot for the cautery gate
    top: list[float]  # the largest magnitude over the channels (NaN ignored)


@dataclass(slots=True)
class _Potential:
    index: int  # peak
    onset: int
    pp: float
    mag: float  # |peak|
    snippet: np.ndarray


@dataclass(slots=True)
class _Episode:
    event_id: int
    potentials: list[_Potential] = field(default_factory=list)
    kind: EventKind | None = None  # None until first reported
    dropped: int = 0  # potentials dropped from the middle of a very long episode
    max_pp: float = 0.0  # largest peak-to-peak of the episode (of the train, once called)
    train_onset: int | None = None  # an A-train's onset (the periodicity tracker's)
    freq_hz: float | None = None
    extent: int | None = None  # an ongoing A-train is certain up to here


class FreeRunDetector:
    """Session subscriber that detects free-running EMG events on every channel.

    Parameters
    ----------
    rate : float
    n_channels : int
    on_event : callable
        Called with each :class:`~monitor.events.EmgEvent` report (acquisition thread).
    settings : FreeRunSettings
    on_hop : callable, optional
        Called with the sample index at the end of every hop, after its events: what
        is judged on it (train time against its thresholds) happens on the same grid
        however the stream is cut into blocks, live and offline alike.

    Thread safety: ``__call__``/``process`` on the acquisition thread only.
    ``threshold_uv``/``noise_uv``/``artifact_active`` are plain reads, safe anywhere.
    """

    def __init__(
        self,
        rate: float,
        n_channels: int,
        on_event: Callable[[EmgEvent], None],
        settings: FreeRunSettings | None = None,
        on_hop: Callable[[int], None] | None = None,
    ) -> None:
        self.s = settings or FreeRunSettings()
        self.on_hop = on_hop
        self.rate = float(rate)
        self.n_channels = n_channels
        self.on_event = on_event
        ms = self.rate / 1000.0
        self.hop = max(8, round(self.s.hop_ms * ms))
        self.half = max(3, round(1.5 * ms))  # potential window: ±1.5 ms around the peak
        self.refractory = max(1, round(self.s.refractory_ms * ms))
        self.merge = round(self.s.merge_ms * ms)
        self.burst_min_span = round(self.s.burst_min_span_ms * ms)
        self.spike_wait = round(self.s.spike_wait_ms * ms)
        self.gap = round(self.s.episode_gap_ms * ms)
        self.blank = round(self.s.stim_blank_ms * ms)
        self.b_gap = round(self.s.b_train_gap_s * self.rate)
        self.noise = RobustNoise(n_channels, round(self.s.noise_memory_s * self.rate / self.hop))
        self.cautery = CauteryGate(n_channels, self.rate)
        self.trains = PeriodicityTracker(self.rate, n_channels, self.hop, self.s.a_train)
        self._busy_hops = np.zeros(n_channels, np.int64)  # hops kept out of the noise estimate
        self._busy_seen = False
        self._thresholds_for: tuple = ()  # (settings, noise estimate) the thresholds are for
        self._threshold_min = np.inf  # the lowest threshold (none is known yet)
        self._frozen_max = round(self.s.noise_frozen_max_s * self.rate / self.hop)
        self._buf = np.zeros((0, n_channels), np.float32)
        self._buf_start = 0  # absolute index of _buf[0]
        self._next_hop: int | None = None  # absolute index of the next hop to analyse
        self._episodes: list[_Episode | None] = [None] * n_channels
        self._open = 0  # episodes in progress
        self._quiet_due = 0  # no episode or sequence can end or be reported before this
        self._sequences: list[list[tuple[int, int, float]]] = [[] for _ in range(n_channels)]
        self._last_peak = [-(10**12)] * n_channels
        self._stims: list[int] = []
        self._next_id = 1
        self._artifact_event: EmgEvent | None = None
        self.threshold_uv = np.full(n_channels, np.nan, np.float32)

    # -- input -----------------------------------------------------------------------------
    def __call__(self, block: Block, filtered: np.ndarray) -> None:
        self.process(block.start, filtered, [s.index for s in block.stims])

    def process(self, start: int, data: np.ndarray, stims: list[int] | tuple = ()) -> None:
        """Feed filtered samples ``[n, channels]`` starting at absolute index ``start``."""
        self._stims.extend(stims)
        end = self._buf_start + len(self._buf)
        if self._next_hop is None or start != end:
            if self._next_hop is not None:
                self.flush(end)  # a gap: what was going on has ended
            self._buf = np.zeros((0, self.n_channels), np.float32)
            self._buf_start = start
            self._next_hop = start + self.half  # keep look-behind for the first potentials
        self._buf = np.concatenate([self._buf, data]) if len(self._buf) else data.copy()
        n_hops = (self._buf_start + len(self._buf) - self.half - self._next_hop) // self.hop
        if n_hops > 0:
            # Per-hop statistics for all complete hops at once; the loop below only
            # looks closer where something crosses a threshold.
            i0 = self._next_hop - self._buf_start
            seg = self._buf[i0 : i0 + n_hops * self.hop].reshape(n_hops, self.hop, -1)
            # The largest magnitude per hop (one pass of maxima rather than two); the
            # peak-to-peak only where the cautery gate asks for it (_cautery_hop).
            maxabs = segment_max(np.abs(seg))
            d = seg[:, 1:] - seg[:, :-1]
            power = np.einsum("hnc,hnc->hc", seg, seg) / self.hop
            dpower = np.einsum("hnc,hnc->hc", d, d) / (self.hop - 1)
            rms = np.sqrt(power)
            broadband = self.cautery.broadband(power, dpower)
            with np.errstate(invalid="ignore"):
                top = np.fmax.reduce(maxabs, axis=1)
            stats = _HopStats(
                power=power,
                dpower=dpower,
                segments=seg,
                maxabs=maxabs,
                gate=self.trains.take_block(self._next_hop, seg, self._blank_spans(n_hops)),
                rms=rms,
                rms_finite=np.isfinite(rms).all(axis=1).tolist(),
                broadband=broadband,
                cautery_candidates=self.cautery.candidates(power, broadband).tolist(),
                top=top.tolist(),
            )
            k = 0
            while k < n_hops:
                idle = self._idle_run(stats, k, n_hops - k)
                if idle:  # most hops: nothing going on, taken together
                    self._take_idle(stats, k, idle)
                    k += idle
                    continue
                self._analyse_hop(self._next_hop, stats, k)
                self._next_hop += self.hop
                if self.on_hop is not None:
                    self.on_hop(self._next_hop)
                k += 1
        keep_from = self._next_hop - self.half - self._buf_start
        if keep_from > 0:
            self._buf = self._buf[keep_from:]
            self._buf_start += keep_from
        horizon = self._next_hop - self.blank - self.gap  # A-train rhythm looks back a gap
        self._stims = [s for s in self._stims if s >= horizon]

    def flush(self, now: int) -> None:
        """End every open event at ``now`` (end of stream, or a gap)."""
        self._apply_trains(self.trains.cut(now), now)
        for ch in range(self.n_channels):
            if self._episodes[ch] is not None:
                self._finish(ch, now, limit=now)
            self._sequence_close(ch)
        if self._artifact_event is not None:
            self._end_artifact(now)
            self.cautery.active = False

    @property
    def noise_uv(self) -> np.ndarray:
        return self.noise.sd

    @property
    def artifact_active(self) -> bool:
        return self.cautery.active

    # -- one hop ----------------------------------------------------------------------------
    def _analyse_hop(self, h0: int, st: _HopStats, k: int) -> None:
        now = h0 + self.hop
        if self._cautery_hop(h0, st, k):  # the noise estimate learns nothing from it
            self.trains.skip()
            return
        blanked = bool(self._stims) and self._blanked_hop(h0)
        busy = self.trains.active
        if self._open:
            busy = busy | np.array([ep is not None for ep in self._episodes])
        # (count_nonzero: a quarter of .any()'s cost on a few channels, every hop)
        idle = not np.count_nonzero(busy)  # no train, no event under way: the usual hop
        if idle and not blanked:
            self._update_noise_idle(st, k)
        else:
            self._update_noise(st, k, np.ones_like(busy) if blanked else busy)
        self._set_thresholds()
        # Most hops cross no threshold: one comparison of Python floats says so.
        hot = (
            np.flatnonzero(st.maxabs[k] > self.threshold_uv)
            if st.top[k] > self._threshold_min
            else ()
        )
        if len(hot):
            i0 = h0 - self._buf_start
            for ch in hot:
                self._potentials(int(ch), h0, i0)
        changes = (
            self.trains.quiet_hop(k, st.gate[k]) if idle else self.trains.hop(k, st.gate[k], busy)
        )
        if changes:
            self._apply_trains(changes, now)
        if self._open or any(self._sequences):
            self._close_quiet(now)

    def _idle_run(self, st: _HopStats, k: int, n: int) -> int:
        """How many of the ``n`` hops from hop ``k`` nothing happens in: what
        :meth:`_analyse_hop` would do on them is only learning the background (noise,
        periodicity) and :meth:`_take_idle` does that for them at once. 0 unless no
        event, train or artifact is under way."""
        if self._open or self.cautery.active:
            return 0
        n = min(n, self.noise.updates_before_estimate())  # thresholds stay as they are
        h0 = self._next_hop
        assert h0 is not None
        for s in self._stims:  # no hop under stimulus blanking
            if s + self.blank > h0:
                n = min(n, max(0, (s - h0) // self.hop))
        due = self._quiet_due if any(self._sequences) else 1 << 62
        n = min(n, max(0, (due - h0) // self.hop - 1))  # a spike or sequence to report
        if n > 0:
            n = self.trains.idle_run(k, n)  # (short: up to its next background update)
        most, floor = self.cautery.min_channels, self._threshold_min
        cand, top, fin = st.cautery_candidates, st.top, st.rms_finite
        m = 0
        while m < n and cand[k + m] < most and not top[k + m] > floor and fin[k + m]:
            m += 1
        return m

    def _take_idle(self, st: _HopStats, k: int, m: int) -> None:
        """:meth:`_analyse_hop` of ``m`` hops that :meth:`_idle_run` found idle."""
        self.cautery.quiet_hop()
        if self._busy_seen:
            self._busy_hops[:] = 0
            self._busy_seen = False
        self.noise.take_quiet(st.rms[k : k + m])
        self.trains.take_idle(k, m)
        assert self._next_hop is not None  # set by the first block
        for _ in range(m):
            self._next_hop += self.hop
            if self.on_hop is not None:
                self.on_hop(self._next_hop)

    def _cautery_hop(self, h0: int, st: _HopStats, k: int) -> bool:
        """The cautery gate's judgement of hop ``k``: whether it is artifact."""
        if not self.cautery.could_start(st.cautery_candidates[k]):
            self.cautery.quiet_hop()
            return False
        active, changed = self.cautery.hop(
            st.power[k],
            st.dpower[k],
            st.segments[k].max(axis=0) - st.segments[k].min(axis=0),
            self.noise.sd,
            h0,
            self.trains.periodic,
            st.broadband[k],
        )
        if changed:
            if active:
                self._start_artifact(h0)
            else:
                self._end_artifact(h0 + self.hop)
        return active

    def _close_quiet(self, now: int) -> None:
        """Episodes and sequences that have been silent long enough end; a lone
        potential is reported as a spike once it has stayed alone long enough."""
        if now < self._quiet_due:
            return  # nothing can be due before then (unless something changes: _touch)
        self._quiet_due = due = 1 << 62
        for ch in range(self.n_channels):
            seq = self._sequences[ch]
            if seq and self._episodes[ch] is None:
                if now - seq[-1][1] > self.b_gap:
                    self._sequence_close(ch)
                else:
                    due = min(due, seq[-1][1] + self.b_gap + 1)
            ep = self._episodes[ch]
            if ep is None or ep.kind is EventKind.A_TRAIN or not ep.potentials:
                continue  # an A-train ends when its periodicity does
            last = ep.potentials[-1].index
            if now - last > self.gap:
                self._finish(ch, last + self.half)
                continue
            if ep.kind is None:
                if now - ep.potentials[0].index >= self.spike_wait:
                    self._report(ch, ep, EventKind.SPIKE, now)
                else:
                    due = min(due, ep.potentials[0].index + self.spike_wait)
            due = min(due, last + self.gap + 1)
        if self._quiet_due != 0:  # (what was ended above touched it: look again next hop)
            self._quiet_due = due

    def _touch(self) -> None:
        """An episode or sequence changed: :meth:`_close_quiet` looks at the next hop."""
        self._quiet_due = 0

    def _update_noise(self, st: _HopStats, k: int, busy: np.ndarray) -> None:
        """Learn the noise from channels with nothing going on; a channel busy for longer
        than ``noise_frozen_max_s`` is learned again (its background has changed)."""
        if not np.count_nonzero(busy):
            self._update_noise_idle(st, k)
            return
        self._busy_seen = True
        hops = self._busy_hops
        hops += 1
        hops *= busy  # counts the hops each channel has been busy in a row
        exclude = busy & (hops <= self._frozen_max)
        self.noise.update_rms(
            st.rms[k], exclude if np.count_nonzero(exclude) else None, finite=st.rms_finite[k]
        )

    def _update_noise_idle(self, st: _HopStats, k: int) -> None:
        """:meth:`_update_noise` with no channel busy."""
        if self._busy_seen:
            self._busy_hops[:] = 0
            self._busy_seen = False
        self.noise.update_rms(st.rms[k], finite=st.rms_finite[k])

    def _blank_spans(self, n_hops: int) -> list[tuple[int, int]]:
        """Stimulus blanking ``[a, b)`` over the next ``n_hops`` hops."""
        a0 = self._next_hop
        assert a0 is not None  # set by the first block, before any hop
        a1 = a0 + n_hops * self.hop
        return [(s, s + self.blank) for s in self._stims if s < a1 and s + self.blank > a0]

    def _blanked_hop(self, h0: int) -> bool:
        h1 = h0 + self.hop
        return any(s < h1 and s + self.blank > h0 for s in self._stims)

    # -- A-trains (from the periodicity tracker) ----------------------------------------------
    def _apply_trains(self, changes: list[TrainChange], now: int) -> None:
        self._touch()
        for c in changes:
            if c.kind == "start":
                self._train_start(c, now)
            elif c.kind == "extend":
                ep = self._episodes[c.channel]
                if ep is not None and ep.kind is EventKind.A_TRAIN:
                    ep.extent = max(ep.extent or c.index, c.index)
                    ep.freq_hz = c.freq_hz
                    self._report(c.channel, ep, EventKind.A_TRAIN, now)
            else:
                self._train_end(c, now)

    def _train_start(self, c: TrainChange, now: int) -> None:
        ch = c.channel
        ep = self._episodes[ch]
        if ep is not None and ep.potentials and ep.potentials[0].index < c.onset - self.gap:
            # Something else came first (a burst): it ends where the train begins.
            before = [p for p in ep.potentials if p.index < c.onset]
            after = [p for p in ep.potentials if p.index >= c.onset]
            ep.potentials = before
            self._finish(ch, min(c.onset, before[-1].index + self.half), limit=c.onset)
            ep = None
            pots = after
        else:
            pots = ep.potentials if ep is not None else []
        if ep is None:
            ep = _Episode(self._next_id, potentials=pots)
            self._next_id += 1
            self._episodes[ch] = ep
            self._open += 1
        ep.train_onset = c.onset
        ep.freq_hz = c.freq_hz
        ep.extent = max(c.onset, min(now, c.index))
        ep.max_pp = max([p.pp for p in ep.potentials if p.index >= c.onset], default=c.pp_uv)
        self._report(ch, ep, EventKind.A_TRAIN, now)

    def _train_end(self, c: TrainChange, now: int) -> None:
        ch = c.channel
        ep = self._episodes[ch]
        if ep is None or ep.kind is not EventKind.A_TRAIN:
            return
        later = [p for p in ep.potentials if p.index >= c.index]
        ep.potentials = [p for p in ep.potentials if p.index < c.index]
        ep.freq_hz = c.freq_hz
        self._finish(ch, c.index, offset=c.index)
        for p in later:  # what followed the train is classified on its own
            self._add(ch, p, now)

    def _set_thresholds(self) -> None:
        # Settings and noise estimate change by replacement: identity says it all.
        done = self._thresholds_for
        if done and done[0] is self.s and done[1] is self.noise.sd:
            return
        if self.s.mode == "fixed":
            self.threshold_uv = np.full(self.n_channels, self.s.fixed_uv, np.float32)
        elif self.noise.ready:
            self.threshold_uv = np.maximum(self.s.k_sigma * self.noise.sd, self.s.floor_uv)
        else:
            return
        thr = self.threshold_uv
        # Below the lowest threshold nothing crosses; with an unknown one, look every hop.
        self._threshold_min = float(thr.min()) if not np.isnan(thr).any() else -np.inf
        self._thresholds_for = (self.s, self.noise.sd)

    def _potentials(self, ch: int, h0: int, i0: int) -> None:
        """The potentials of channel ``ch`` crossing its threshold in the hop at ``h0``
        (buffer row ``i0``)."""
        self._touch()
        half = self.half
        # The hop and the snippets' reach on either side, as one contiguous copy: the
        # buffer's column is strided, and each potential looks at it several times.
        x = self._buf[i0 - half : i0 + self.hop + half, ch].copy()
        mags = np.abs(x)
        idx = np.flatnonzero(mags[half : half + self.hop] > self.threshold_uv[ch])
        # Groups of crossings (first, last), no more than the refractory time apart.
        if idx[-1] - idx[0] <= self.refractory:  # the usual hop: one potential's phases
            groups = [(int(idx[0]), int(idx[-1]))]
        else:
            at = idx.tolist()
            cut = np.flatnonzero(idx[1:] - idx[:-1] > self.refractory).tolist()
            starts = [at[0], *(at[c + 1] for c in cut)]
            ends = [*(at[c] for c in cut), at[-1]]
            groups = list(zip(starts, ends, strict=True))
        for first, last in groups:
            # The peak over the group's whole span: the samples between its crossings are
            # under the threshold, so it is the largest crossing, the first if tied (and a
            # hop with an invalid sample on the channel is never looked at here).
            peak_rel = first + int(mags[half + first : half + last + 1].argmax())
            peak = h0 + peak_rel
            if self._stims and self._blanked(peak):
                continue
            snippet = x[peak_rel : peak_rel + 2 * half + 1].copy()
            pp = float(np.maximum.reduce(snippet) - np.minimum.reduce(snippet))
            top = mags[half + peak_rel]  # float32, as the threshold of the onset below
            mag = float(top)
            ep = self._episodes[ch]
            prev = ep.potentials[-1] if ep is not None and ep.potentials else None
            if peak - self._last_peak[ch] <= self.refractory:
                if prev is not None and mag > prev.mag:
                    assert ep is not None  # prev is its last potential
                    ep.potentials[-1] = _Potential(peak, prev.onset, max(pp, prev.pp), mag, snippet)
                continue
            if prev is not None and peak - prev.index <= self.merge and mag < 0.6 * prev.mag:
                continue  # the slow terminal phase of the same potential, not a new one
            self._last_peak[ch] = peak
            lead = mags[peak_rel : peak_rel + half + 1] > 0.15 * top
            onset = peak - half + int(lead.argmax())
            self._add(ch, _Potential(peak, onset, pp, mag, snippet), h0 + self.hop)

    def _blanked(self, index: int) -> bool:
        return any(0 <= index - s < self.blank for s in self._stims)

    # -- episodes and classes -----------------------------------------------------------------
    def _add(self, ch: int, p: _Potential, now: int) -> None:
        self._touch()
        ep = self._episodes[ch]
        if (
            ep is not None
            and ep.kind is not EventKind.A_TRAIN
            and p.index - ep.potentials[-1].index > self.gap
        ):
            self._finish(ch, ep.potentials[-1].index + self.half)
            ep = None
        if ep is None:
            ep = _Episode(self._next_id)
            self._next_id += 1
            self._episodes[ch] = ep
            self._open += 1
        ep.potentials.append(p)
        ep.max_pp = max(ep.max_pp, p.pp)
        if len(ep.potentials) > MAX_HELD_POTENTIALS:
            self._thin(ep)
        if ep.kind is EventKind.A_TRAIN:
            return  # the periodicity tracker decides its course
        if ep.kind is not EventKind.BURST and self._is_cluster(ep.potentials):
            self._report(ch, ep, EventKind.BURST, now)

    @staticmethod
    def _thin(ep: _Episode) -> None:
        """Bound the memory of a never-ending episode: drop potentials from its middle,
        keeping its start and its recent end; counts stay right."""
        keep_head = 8
        cut = MAX_HELD_POTENTIALS // 2
        del ep.potentials[keep_head : keep_head + cut]
        ep.dropped += cut

    def _is_cluster(self, pots: list[_Potential]) -> bool:
        """More than one motor-unit potential: three peaks, or two well apart (two close
        peaks are one polyphasic potential with a satellite)."""
        return len(pots) >= 3 or (
            len(pots) == 2 and pots[1].index - pots[0].index >= self.burst_min_span
        )

    def _report(
        self,
        ch: int,
        ep: _Episode,
        kind: EventKind,
        now: int,
        final: bool = False,
        offset: int | None = None,
    ) -> None:
        ep.kind = kind
        pots = ep.potentials
        if kind is EventKind.A_TRAIN:
            onset = ep.train_onset if ep.train_onset is not None else pots[0].onset
            pp = ep.max_pp
            freq = ep.freq_hz
            extent = None if final else ep.extent
        else:
            onset = pots[0].onset
            pp = ep.max_pp or max(p.pp for p in pots)
            freq = None
            extent = None
        self.on_event(EmgEvent(ep.event_id, kind, ch, onset, offset, pp, freq, now, final, extent))

    def _finish(
        self, ch: int, end: int, limit: int | None = None, offset: int | None = None
    ) -> None:
        """Report the episode's final class; ``limit`` caps the offset (gap, artifact);
        ``offset`` is an A-train's own (from the periodicity tracker)."""
        self._touch()
        ep = self._episodes[ch]
        self._episodes[ch] = None
        if ep is None:
            return
        self._open -= 1
        pots = ep.potentials
        if ep.kind is EventKind.A_TRAIN:
            kind = EventKind.A_TRAIN
            if offset is not None:
                end = offset
        elif not self._is_cluster(pots):
            kind = EventKind.SPIKE
        else:
            duration = (pots[-1].index - pots[0].index) / self.rate
            if duration < self.s.burst_max_s:
                kind = EventKind.BURST
            else:
                rate = (len(pots) - 1 + ep.dropped) / duration
                kind = EventKind.C_TRAIN if rate >= self.s.c_train_min_hz else EventKind.B_TRAIN
        if limit is not None:
            end = min(end, limit)
        self._report(ch, ep, kind, end, final=True, offset=end)
        if kind in (EventKind.SPIKE, EventKind.BURST):
            self._sequence_add(ch, pots[0].onset, end, max(p.pp for p in pots))
        else:
            self._sequence_close(ch)

    # -- B-trains: sequences of spikes and bursts -----------------------------------------------
    def _sequence_add(self, ch: int, onset: int, offset: int, pp: float) -> None:
        self._touch()
        seq = self._sequences[ch]
        if seq and onset - seq[-1][1] > self.b_gap:
            self._sequence_close(ch)
            seq = self._sequences[ch]
        seq.append((onset, offset, pp))

    def _sequence_close(self, ch: int) -> None:
        """A sequence of at least ``b_train_min`` spikes/bursts, each within ``b_train_gap_s``
        of the last, is reported as a B-train over them (they stay reported too)."""
        self._touch()
        seq, self._sequences[ch] = self._sequences[ch], []
        if len(seq) < self.s.b_train_min or seq[-1][0] - seq[0][0] < self.b_gap:
            return
        onset, offset = seq[0][0], seq[-1][1]
        freq = (len(seq) - 1) * self.rate / (seq[-1][0] - seq[0][0])
        ev = EmgEvent(
            self._next_id,
            EventKind.B_TRAIN,
            ch,
            onset,
            offset,
            max(p for _, _, p in seq),
            freq,
            offset + self.b_gap,
            True,
        )
        self._next_id += 1
        self.on_event(ev)

    # -- artifact ------------------------------------------------------------------------------
    def _start_artifact(self, h0: int) -> None:
        self._touch()
        onset = self.cautery.onset if self.cautery.onset is not None else h0
        self._apply_trains(self.trains.cut(onset), h0)
        for ch in range(self.n_channels):
            ep = self._episodes[ch]
            if ep is None:
                continue
            if ep.kind is EventKind.A_TRAIN:  # ended by the tracker's cut, if it had begun
                self._finish(ch, onset, limit=onset)
            elif ep.kind is None and ep.potentials[0].index >= onset - self.hop:
                # The artifact's own leading edge, not yet reported: never was an event.
                self._episodes[ch] = None
                self._open -= 1
            else:  # what was going on is cut short by the artifact
                self._finish(ch, min(onset, ep.potentials[-1].index + self.half), limit=onset)
        ev = EmgEvent(
            self._next_id,
            EventKind.ARTIFACT,
            ALL_CHANNELS,
            onset,
            None,
            self.cautery.peak_uv,
            None,
            h0 + self.hop,
        )
        self._next_id += 1
        self._artifact_event = ev
        self.on_event(ev)

    def _end_artifact(self, end: int) -> None:
        ev = self._artifact_event
        if ev is None:
            return
        self._artifact_event = None
        self.on_event(
            ev.with_(offset=end, peak_uv=self.cautery.peak_uv, reported_at=end, final=True)
        )
