"""A-trains found by their periodicity: regular 60-210 Hz discharge on one channel.

Romstöck et al. describe the A-train as a sudden, sinusoid-like, symmetric run of
near-identical motor-unit potentials at about 60-210 Hz (docs/clinical.md §2). Its defining
property is the *periodicity* of the waveform, whatever the shape of one potential: at
150-210 Hz the potentials overlap and the trace looks like a sinusoid, with no single
peak per discharge to count. So A-trains are found here from the autocovariance of the
signal, not from threshold crossings:

1. **Signal.** The filtered stream averaged over ``D`` samples (about 2 kHz: enough for a
   230 Hz period, and cheap), on the detector's hop grid of absolute sample indices, so
   nothing depends on how the stream is cut into blocks.
2. **Background.** Per channel, the mean and spread of the hop power and the
   autocovariance of a window, learned *only from quiet hops*: a train never teaches the
   background, however long it lasts. Stationary mains hum is part of the background
   autocovariance, whatever its phase, so hum neither hides a train nor passes for one.
3. **Evidence in a hop.** Over the last ``window_ms``: the excess power
   ``E = R(0) - Rbg(0)`` is significant, and the excess autocovariance normalised by it,
   ``rho(tau) = (R(tau) - Rbg(tau)) / E``, has a local maximum at a lag between 1/230 and
   1/55 s that reaches ``rho_on``, with a dip before it (a periodic discharge, not a slow
   wave). A pure sinusoid at the mains frequency is hum switching on, not an A-train.
4. **Tracking.** Evidence on ``confirm_hops`` consecutive hops starts a train; it lasts
   while the excess autocovariance near the tracked period stays above ``rho_keep``, and
   ends ``end_ms`` after the last such hop. One train is one event, however its amplitude
   waxes and wanes, whatever the beat-to-beat jitter, across stimulus blanking.
5. **Edges.** Onset and offset are found on the averaged signal with the hum removed (a
   least-squares fit of 50/60 Hz and harmonics on a quiet stretch beside the edge): the
   first and last sample beyond ``edge_frac`` of the train's cycle amplitude (and
   ``edge_k`` x the residual noise) in an unbroken run of cycles.

Reports are :class:`TrainChange` items: ``start`` (onset), ``extend`` (the train is
certain up to ``index``: live train time counts no further) and ``end`` (offset).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from monitor.medians import median

IDLE, CANDIDATE, TRAIN = 0, 1, 2
RAW, DIFF = 0, 1  # periodicity of the signal, or of its first difference
POSITIVE, NEGATIVE, ENVELOPE = 0, 1, 2  # where a train's discharges show as peaks


@dataclass(frozen=True, slots=True)
class PeriodicitySettings:
    """How an A-train is told by its periodicity; the defaults are the monitor's."""

    hz: tuple[float, float] = (55.0, 230.0)  # discharge rates (Romstöck: ~60-210 Hz)
    window_ms: float = 100.0  # >= 5 periods at 55 Hz
    rho_on: float = 0.4  # normalised excess autocovariance at the period to start
    rho_keep: float = 0.3  # ... to go on (averaged over about 100 ms)
    dip: float = 0.25  # rho must fall this much below its peak at a shorter lag
    harmonic_share: float = 0.7  # the shortest peak this close to the highest is the period
    confirm_hops: int = 2
    min_beats: int = 5  # discharges at a regular interval before a train is called
    max_interval_dev: float = 0.12  # median deviation of the intervals from the period
    max_height_cv: float = 0.3  # the discharges' sizes vary less than this (one unit)
    min_snr: float = 9.0  # cycle peak-to-peak over the residual noise RMS (averaged signal)
    unlearned_min_uv: float = 40.0  # ... with no background learned yet: this peak-to-peak
    end_ms: float = 80.0
    gate_k: float = 4.0  # hop power this many SDs above the background: look closer
    excess_k: float = 5.0  # window excess power this many SDs of the quiet window power
    min_excess_uv: float = 2.0  # ... and at least this RMS of excess
    edge_frac: float = 0.15
    edge_k: float = 4.0
    decimated_hz: float = 4000.0
    background_s: float = 2.0  # time constant of the background estimates
    mains_hz: tuple[float, ...] = (50.0, 60.0)
    mains_tolerance: float = 0.015
    hum_tolerance: float = 0.03  # a period this close to the hum's is the hum (known limit)
    mains_harmonics: int = 6
    extend_every: int = 4  # steps between "extend" reports of a train (80 ms)


@dataclass(frozen=True, slots=True)
class TrainChange:
    """A change of a channel's A-train: ``kind`` is ``"start"``, ``"extend"`` or ``"end"``;
    ``index`` the onset, the certain extent, or the offset (absolute sample index)."""

    kind: str
    channel: int
    index: int
    onset: int
    freq_hz: float
    pp_uv: float


class PeriodicityTracker:
    STALE_S = 3.0  # a hum fit older than this has drifted in phase (mains is not exact)
    SMOOTH_HOPS = 5  # the gate looks at the power of this many hops
    STEP_HOPS = 2  # the periodicity is judged every this many hops (20 ms)
    GROUP = 5  # steps between background updates
    WINDOW_GROUPS = 10  # groups between updates of the background window (1 s)
    UNLEARNED_STEPS = 5  # steps (100 ms) before a channel is judged without a background

    """Finds and follows A-trains on every channel, hop by hop.

    Parameters
    ----------
    rate : float
    n_channels : int
    hop : int
        Samples per hop (the free-run detector's grid).
    settings : PeriodicitySettings, optional

    Thread safety: not thread-safe; owned by the free-run detector on the acquisition
    thread. ``active`` is a plain read.
    """

    def __init__(
        self,
        rate: float,
        n_channels: int,
        hop: int,
        settings: PeriodicitySettings | None = None,
    ) -> None:
        s = self.s = settings or PeriodicitySettings()
        self.rate = float(rate)
        self.n_channels = n_channels
        self.hop_len = hop
        self.D = _decimation(hop, rate, s.decimated_hz)
        self.fs = self.rate / self.D
        self.hop_d = hop // self.D
        self.W = max(8, round(s.window_ms * self.fs / 1000.0))
        self.lmin = max(2, math.ceil(self.fs / s.hz[1]))
        self.lmax = max(self.lmin + 1, math.floor(self.fs / s.hz[0]))
        self.L = self.lmax + 1  # lags 0 .. L (a local maximum at lmax needs L)
        self.end_d = round(s.end_ms * self.fs / 1000.0)
        # Ring of averaged samples: the window, the search back to an onset and the
        # quiet stretch before it for the hum fit.
        self._ring_n = 4 * self.W + 2 * self.L + round(0.3 * self.fs)
        # A linear buffer of twice that, moved back in one copy when full (amortised).
        self._x = np.zeros((2 * self._ring_n, n_channels))
        self._ok = np.zeros(2 * self._ring_n)  # 1: usable, 0: blanked, gap, artifact
        self._n = self._ring_n  # samples in the buffer (the first ones are unusable zeros)
        self._end = 0  # absolute averaged index one past the newest sample
        self._fed = False  # anything taken yet
        alpha = self.hop_len * self.STEP_HOPS / (s.background_s * self.rate)  # per step
        self._alpha = min(1.0, alpha)
        self._init_background()
        self._init_block()
        self._gate = np.full((2, n_channels), np.inf)  # what makes a channel looked at
        self._band = np.full((2, n_channels), np.inf)  # what a quiet step stays under
        self._hops = 0  # steps judged: the background learns every GROUP of them
        self._groups = 0
        self._grp_p = np.zeros((self.GROUP, 2, n_channels))
        self._grp_q = np.zeros((self.GROUP, n_channels), bool)
        self._nfft = 1 << math.ceil(math.log2(self.W + self.L + 5))
        self._pairs = np.maximum(self.W - np.arange(self.L + 5), 1).astype(np.float64)
        self.mode = np.full(n_channels, IDLE)
        #: Channels in a train or about to start one (plain read).
        self.active = np.zeros(n_channels, bool)
        self._count = np.zeros(n_channels, np.int64)
        self._period = np.zeros(n_channels)  # tracked period, averaged samples
        self._first_end = np.zeros(n_channels, np.int64)  # end of the first evidence window
        self._last_good = np.zeros(n_channels, np.int64)
        self._since_report = np.zeros(n_channels, np.int64)
        self._onset = np.zeros(n_channels, np.int64)  # full-rate onset of the train
        self._last_offset = np.zeros(n_channels, np.int64)  # of the channel's last train
        self._keep = np.zeros(n_channels)  # a train's periodicity, averaged over hops
        self._last_strong = np.zeros(n_channels, np.int64)  # last window periodic on its own
        self._excess0 = np.zeros((2, n_channels))  # a train's excess power when called
        self._last_r = np.zeros((n_channels, self.L + 2))  # the last window sought in
        self._extent_reported = np.zeros(n_channels, np.int64)
        self._pp = np.zeros(n_channels)
        self._amp = np.zeros(n_channels)  # cycle amplitude at the onset (level for the end)
        self._init_hum()

    def _init_background(self) -> None:
        """The background a channel's activity is judged against (learned when quiet)."""
        n_channels = self.n_channels
        self._hop_n = np.zeros(n_channels, np.int64)  # quiet hops seen (for a fast start)
        self._hop_mean = np.zeros((2, n_channels))  # power, first-difference power
        self._hop_var = np.zeros((2, n_channels))
        self._hop_ready = False  # every channel's gate learned (hop_n >= GROUP)
        self._bg_r = np.zeros((n_channels, self.L + 2))  # lags 0 .. L+1
        self._bg_rd = np.zeros((n_channels, self.L + 1))  # ... of the first difference
        self._no_bg = np.zeros(self.L + 2)  # (no background learned yet)
        self._bg_n = np.zeros(n_channels)
        self._bg_var = np.zeros(n_channels)  # spread of the quiet window power
        self._bg_sd = np.zeros(n_channels)
        self._bgd_var = np.zeros(n_channels)  # ... and of its first difference
        self._bgd_sd = np.zeros(n_channels)
        self._learn_needed()
        self._view = np.zeros(n_channels, np.int64)  # POSITIVE, NEGATIVE or ENVELOPE
        self._bg_ready = np.zeros(n_channels, bool)
        self._all_ready = False
        self._bg_pow = np.zeros((2, n_channels))  # plain power and first-difference power
        self._calm_steps = np.zeros(n_channels, np.int64)  # quiet steps in a row
        # A window quiet from end to end: calm_steps x STEP_HOPS x hop_d > W, in steps.
        self._calm_needed = self.W // (self.STEP_HOPS * self.hop_d)
        # A channel with invalid samples (NaN: a dead electrode, a lost sample) in its
        # window is neither judged nor learned from until they leave it (averaged index);
        # the other channels carry on.
        self._bad_until = np.zeros(n_channels, np.int64)
        self._bad_max = 0

    def _init_block(self) -> None:
        """What the tracker keeps of the block taken last and of the hops before it."""
        n_channels = self.n_channels
        self._dirty = False  # an unusable sample since the last step
        self._hop_clean: list[bool] = []  # per hop of the block taken last
        self._block_gate = np.zeros((0, 2, n_channels))  # its gate powers (take_block)
        self._last_powers = np.zeros((self.SMOOTH_HOPS - 1, 2, n_channels))
        self._last_sample = np.zeros((1, n_channels))

    def _init_hum(self) -> None:
        """Mains hum per channel, fitted on quiet windows (least squares on 50/60 Hz and
        harmonics; the pseudo-inverse is fixed because the window length is)."""
        s, n_channels = self.s, self.n_channels
        self._freqs = [
            k * f
            for f in s.mains_hz
            for k in range(1, s.mains_harmonics + 1)
            if k * f < 0.45 * self.fs
        ]
        basis = _sin_cos(np.arange(self.W) / self.fs, self._freqs)
        self._hum_basis = basis
        self._hum_pinv = np.linalg.pinv(basis)
        self._hum_coef = np.zeros((basis.shape[1], n_channels))
        self._hum_t0 = np.zeros(n_channels, np.int64)  # averaged index of the fit's start
        self._hum_noise = np.full(n_channels, np.nan)  # residual RMS of the fit
        self._hum_on = np.zeros(n_channels, bool)  # hum worth removing

    # -- state ---------------------------------------------------------------------------
    def _set_mode(self, ch: int, mode: int) -> None:
        self.mode[ch] = mode
        self.active[ch] = mode != IDLE

    def take_block(self, h0: int, segs: np.ndarray, blanked: list[tuple[int, int]]) -> np.ndarray:
        """Take the full-rate samples ``(hops, hop, channels)`` of consecutive hops starting
        at ``h0`` (averaged and kept, not judged yet: :meth:`hop` judges them one hop at a
        time) and the full-rate spans ``[a, b)`` under stimulus blanking. Returns the gate's
        measures at each hop ``(hops, 2, channels)``: the power and the first-difference
        power (its high frequencies: brief potentials stand out of mains hum there) of the
        last ``SMOOTH_HOPS`` hops, steadier than one hop's."""
        h, _, c = segs.shape
        # Summed phase by phase: a sum over the short middle axis is slow in numpy.
        groups = segs.reshape(h * self.hop_d, self.D, c)
        dec = groups[:, 0].astype(np.float64)
        for i in range(1, self.D):
            dec += groups[:, i]
        dec *= 1.0 / self.D
        ok = np.ones(len(dec))
        finite = np.isfinite(dec)
        if not finite.all():  # an invalid sample is unusable, not a number
            finite = self._mark_invalid(h0 // self.D, finite)
            ok[~finite.all(axis=1)] = 0.0
            dec = np.where(np.isfinite(dec), dec, 0.0)
        if blanked:
            idx = h0 + np.arange(len(dec)) * self.D
            for a, b in blanked:
                ok[(idx + self.D > a) & (idx < b)] = 0.0
        self._append(h0 // self.D, dec, ok)
        if blanked or ok.min() < 1:
            dec = dec * ok[:, None]  # the gate sees no stimulus artefact (nor invalid data)
        per_hop = dec.reshape(h, self.hop_d, c)
        diff = np.diff(np.concatenate([self._last_sample, dec]), axis=0).reshape(h, self.hop_d, c)
        self._last_sample = dec[-1:]
        power = (
            np.stack(
                [
                    np.einsum("hnc,hnc->hc", per_hop, per_hop),
                    np.einsum("hnc,hnc->hc", diff, diff),
                ],
                axis=1,
            )
            / self.hop_d
        )  # (hops, 2, channels)
        self._hop_clean = (ok.reshape(h, self.hop_d).min(axis=1) > 0).tolist()
        run = np.concatenate([self._last_powers, power])
        csum = np.cumsum(run, axis=0)
        k = self.SMOOTH_HOPS
        smooth = (csum[k - 1 :] - np.concatenate([np.zeros((1, 2, c)), csum[:-k]])) / k
        self._last_powers = run[-(k - 1) :]
        self._block_gate = smooth[-h:]
        return self._block_gate

    def _mark_invalid(self, first: int, finite: np.ndarray) -> np.ndarray:
        """Invalid averaged samples from index ``first`` (``finite``: samples x channels,
        whole hops). A few (a lost sample now and then) make those samples unusable on
        every channel, as a gap would; a channel invalid for most of a hop (a dead
        electrode) is neither judged nor learned from until that is out of its window,
        and the other channels carry on. Returns ``finite`` with the dead channels'
        samples counted as valid (they are zeroed)."""
        h = len(finite) // self.hop_d
        bad = ~finite.reshape(h, self.hop_d, -1)
        dead = bad.sum(axis=1) * 2 > self.hop_d  # (hops, channels)
        if dead.any():
            hops, chans = np.nonzero(dead)
            until = first + (hops + 1) * self.hop_d + self.W
            np.maximum.at(self._bad_until, chans, until)
            self._bad_max = int(self._bad_until.max())
            bad[hops, :, chans] = False
        return ~bad.reshape(len(finite), -1)

    # -- one hop ---------------------------------------------------------------------------
    def hop(self, k: int, power: np.ndarray, busy: np.ndarray | None = None) -> list[TrainChange]:
        """Judge hop ``k`` of the block taken last, with its gate power per channel;
        ``busy`` channels have other activity under way (not learned as background)."""
        self._n += self.hop_d
        self._end += self.hop_d
        if not self._hop_clean[k]:
            self._dirty = True
        if (self._end // self.hop_d) % self.STEP_HOPS != 0:
            return []  # judged every STEP_HOPS hops, on the grid of absolute hops
        tracking = self.active
        if self._end < self._bad_max:  # invalid samples in some channels' window
            bad = self._end < self._bad_until
            busy = bad if busy is None else busy | bad
            loud = self._learn_step(power, busy)
            look = tracking | (loud & ~bad)  # a train under way ends on its own
        else:
            loud = self._learn_step(power, busy)
            look = tracking | loud
        if not self._all_ready:
            # Until a channel has had a quiet window to learn its background from (a
            # replay that starts, or jumps, into a train has none until the train ends)
            # it is judged against none: its raw periodicity, the mains periods excepted.
            # A train found so is not calm, so it is never learned as the background.
            unlearned = ~self._bg_ready & (self._hops >= self.UNLEARNED_STEPS)
            look = (look | unlearned) & (self._bg_ready | unlearned)
        if not np.count_nonzero(look):  # (a quarter of .any()'s cost, every step)
            return []
        return self._judge(np.flatnonzero(look), tracking)

    def quiet_hop(self, k: int, power: np.ndarray) -> list[TrainChange]:
        """:meth:`hop` when no channel is in a train (nor about to start one) or busy with
        other activity: the usual hop, made cheap when nothing is loud either."""
        hop_d = self.hop_d
        if (
            (self._end + hop_d) // hop_d % self.STEP_HOPS != 0
            or self._end + hop_d < self._bad_max
            or not self._all_ready
        ):
            return self.hop(k, power)
        over = power > self._gate
        if np.count_nonzero(over):
            return self.hop(k, power)  # something to look at
        self._n += hop_d
        self._end += hop_d
        clean = not self._dirty and self._hop_clean[k]
        self._dirty = False
        self._learn_quiet(power[None], clean)
        return []

    def idle_run(self, k: int, n: int) -> int:
        """How many of the ``n`` hops from hop ``k`` of the block taken last
        :meth:`take_idle` can take at once: no channel tracked, every hop clean, nothing
        loud at their steps, up to the step that updates the background (its gate
        changes there). 0 when the tracker is not in a state for it."""
        if (
            self._dirty
            or not self._all_ready
            or self._end + self.hop_d < self._bad_max
            or np.count_nonzero(self.active)
        ):
            return 0
        hop_d, gate, clean = self.hop_d, self._gate, self._hop_clean
        steps = self._hops
        for t in range(n):
            if not clean[k + t]:
                return t
            if (self._end + (t + 1) * hop_d) // hop_d % self.STEP_HOPS == 0:
                if np.count_nonzero(self._block_gate[k + t] > gate):
                    return t  # loud: that hop is judged
                steps += 1
                if steps % self.GROUP == 0:
                    return t + 1  # the background learns at this step
        return n

    def take_idle(self, k: int, m: int) -> None:
        """:meth:`quiet_hop` of ``m`` hops from hop ``k`` at once (no more than
        :meth:`idle_run` said)."""
        hop_d = self.hop_d
        steps = [
            k + t for t in range(m) if (self._end + (t + 1) * hop_d) // hop_d % self.STEP_HOPS == 0
        ]
        self._n += m * hop_d
        self._end += m * hop_d
        if steps:
            self._learn_quiet(self._block_gate[steps], clean=True)

    def _learn_quiet(self, power: np.ndarray, clean: bool) -> None:
        """:meth:`_learn_step` of steps ``(steps, 2, channels)`` with nothing loud, tracked
        or busy: every channel clear if they are ``clean``; no more steps than reach the
        next background update."""
        js = (self._hops + np.arange(len(power))) % self.GROUP
        self._grp_p[js] = power
        if clean:
            self._grp_q[js] = (power <= self._band).all(axis=1)
            self._calm_steps += len(power)
        else:
            self._grp_q[js] = False
            self._calm_steps[:] = 0
        self._hops += len(power)
        if js[-1] == self.GROUP - 1:
            self._learn_group()

    def _learn_step(self, power: np.ndarray, busy: np.ndarray | None) -> np.ndarray:
        """The background learns from this step where it is quiet; returns the channels
        loud over their gate."""
        clean = not self._dirty
        self._dirty = False
        tracking = self.active
        over = power > self._gate  # (signal, first difference) x channels
        loud = over[0] | over[1]
        j = self._hops % self.GROUP
        self._grp_p[j] = power
        if clean:
            clear = ~(tracking | loud)
            if busy is not None:
                clear &= ~busy
        else:
            clear = np.zeros_like(tracking)
        # The gate learns only well inside the background's own spread: a weak train
        # below the gate must not teach the gate (it would climb out of it).
        within = power <= self._band
        self._grp_q[j] = clear & within[0] & within[1]
        self._calm_steps = (self._calm_steps + 1) * clear
        self._hops += 1
        if j == self.GROUP - 1:
            self._learn_group()
        elif not self._all_ready:
            # Until every channel has a background, learn it at every step it can be.
            early = ~self._bg_ready & (self._calm_steps > self._calm_needed)
            if early.any():
                self._learn_window(np.flatnonzero(early))
        return loud

    def _judge(self, chans: np.ndarray, tracking: np.ndarray) -> list[TrainChange]:
        """Seek or follow a train on these channels (loud, tracked or unlearned)."""
        changes: list[TrainChange] = []
        idle_at = ~tracking[chans]
        idle = chans[idle_at]
        if len(idle):
            weak = self._weak(idle)
            if weak.any():
                self._set_idle(idle[weak])
                drop = np.zeros(len(chans), bool)
                drop[idle_at] = weak
                chans = chans[~drop]
                if len(chans) == 0:
                    return changes
        r, cnt_ok = self._autocov(chans)
        for i, ch in enumerate(chans):
            self._step(int(ch), r[i], cnt_ok, changes)
        return changes

    def _weak(self, idle: np.ndarray) -> np.ndarray:
        """Which loud channels cannot be starting a train (no search needed)."""
        # A loud hop that leaves the power of the window's last half near the
        # background, or puts nearly all of it in one quarter (a spike, an artefact),
        # cannot start a train: one that has begun fills them both. The power is cheap,
        # the autocovariance not.
        q = self.W // 4
        rows = slice(self._n - 2 * q - 1, self._n)
        xm = self._x[rows][:, idle] * self._ok[rows, None]  # blanked samples out
        x = xm[1:].reshape(2, q, -1)
        d = (xm[1:] - xm[:-1]).reshape(2, q, -1)
        power_q = np.einsum("hwc,hwc->hc", x, x) / q  # (2 quarters, channels)
        dpower_q = np.einsum("hwc,hwc->hc", d, d) / q
        bg, bg_d = self._bg_pow[:, idle]  # the same (unsmoothed) measures
        if not self._all_ready:
            ready = self._bg_ready[idle]
            bg, bg_d = np.where(ready, bg, 0.0), np.where(ready, bg_d, 0.0)
        p0, p1 = power_q
        need, need_d = self._half_needed[:, idle]
        half = (p0 + p1) * 0.5 - bg <= need
        half_d = (dpower_q[0] + dpower_q[1]) * 0.5 - bg_d <= need_d
        # a transient (a spike, an artefact) puts nearly all its power in one quarter
        transient = np.maximum(p0, p1) > 20 * np.maximum(np.minimum(p0, p1), bg)
        weak = (half & half_d) | transient
        return weak

    def _learn_needed(self) -> None:
        """Half the excess window power that counts as activity, of the signal and of its
        first difference, per channel (kept with the background's spread it follows)."""
        sd = np.stack([self._bg_sd, self._bgd_sd])
        self._half_needed = 0.5 * np.maximum(self.s.excess_k * sd, self.s.min_excess_uv**2)

    def _set_idle(self, chans: np.ndarray) -> None:
        self.mode[chans] = IDLE
        self.active[chans] = False

    def skip(self) -> None:
        """The next hop cannot be analysed (artifact): its samples are unusable."""
        self._ok[self._n : self._n + self.hop_d] = 0.0
        self._n += self.hop_d
        self._end += self.hop_d
        self._dirty = True

    def periodic(self, channels: np.ndarray, window_ms: float = 40.0) -> bool:
        """Whether at least half of these channels discharge periodically at 55-230 Hz over
        the ``window_ms`` up to the end of the hop about to be judged: A-trains starting
        together on several channels (a cluster), not electrocautery, whose broadband
        noise does not correlate at such lags."""
        chans = np.flatnonzero(channels)
        if len(chans) == 0:
            return False
        if (self.mode[chans] == TRAIN).sum() * 2 >= len(chans):
            return True  # trains already followed there: cautery would have broken them
        n = max(2 * self.lmax + 2, round(window_ms * self.fs / 1000.0))
        upto = self._n + self.hop_d
        x = self._x[upto - n : upto][:, chans] * self._ok[upto - n : upto, None]
        x = x - x.mean(axis=0)
        nfft = 1 << math.ceil(math.log2(n + self.lmax + 2))
        f = np.fft.rfft(x, nfft, axis=0)
        r = np.fft.irfft(f * f.conj(), nfft, axis=0)[: self.lmax + 2].T
        r = r / np.maximum(n - np.arange(self.lmax + 2), 1)
        rho = r / np.maximum(r[:, :1], 1e-12)
        seg = rho[:, self.lmin - 1 :]
        a, b, c = seg[:, :-2], seg[:, 1:-1], seg[:, 2:]
        is_peak = (b > a) & (b >= c)
        den = np.minimum(a - 2 * b + c, -1e-12)
        height = b - (a - c) ** 2 / (8 * den)
        best = np.where(is_peak, height, -1.0).max(axis=1)
        # Broadband noise correlates at these lags by about +-0.1 over 40 ms; trains of
        # brief, jittering potentials by 0.4 and more.
        return bool((best >= 0.35).sum() * 2 >= len(chans))

    def cut(self, index: int) -> list[TrainChange]:
        """End every train at full-rate ``index`` at the latest (artifact, gap, end of
        stream); candidates are dropped."""
        changes: list[TrainChange] = []
        for ch in np.flatnonzero(self.mode == TRAIN):
            self._finish(int(ch), changes, limit=index)
        self.mode[self.mode == CANDIDATE] = IDLE
        self.active[:] = self.mode != IDLE
        return changes

    # -- internals -------------------------------------------------------------------------
    def _append(self, start: int, dec: np.ndarray, ok: np.ndarray) -> None:
        """Add averaged samples from absolute averaged index ``start`` beyond the cursor
        (everything taken so far has been judged)."""
        n = len(dec)
        if start != self._end:  # a gap or a restart: nothing before it is usable
            self._ok[: self._n] = 0.0
            self._end = start
            if self._fed:  # after a gap, not at the start of the stream
                self._calm_steps[:] = 0  # no quiet window spans the gap
                self._dirty = True
                self._last_sample = dec[:1] * ok[:1, None]  # a new first difference
        if self._n + n > len(self._x):
            keep = self._ring_n
            size = max(len(self._x), keep + n)
            x = np.zeros((size, self.n_channels))
            m = np.zeros(size)
            x[:keep] = self._x[self._n - keep : self._n]
            m[:keep] = self._ok[self._n - keep : self._n]
            self._x, self._ok, self._n = x, m, keep
        self._x[self._n : self._n + n] = dec
        self._ok[self._n : self._n + n] = ok
        self._fed = True

    def _rows(self, a: int, b: int) -> slice:
        """Buffer rows of absolute averaged indices ``[a, b)`` (clipped to what is kept)."""
        first = self._end - self._n
        return slice(max(a, first) - first, max(b, first) - first)

    def _learn_group(self) -> None:
        """Every ``GROUP`` steps: the background learns from the quiet steps among them
        (mean and spread of the gate's power, exponential and faster at first), and the
        window autocovariance and hum of the channels quiet now."""
        a: float | np.ndarray
        if self._grp_q.all():  # the usual group: every step quiet on every channel
            n = self._hop_n + self.GROUP
            mean = np.add.reduce(self._grp_p, 0) / self.GROUP
            var = np.add.reduce((self._grp_p - mean) ** 2, 0) / self.GROUP
            fast = self._alpha * self.GROUP
            # 5 / n falls as n grows: once under the exponential rate on the channel with
            # fewest steps, it is under it on all, and the rate is one number.
            if self.GROUP / max(int(n.min()), 1) <= fast:
                a = min(fast, 1.0)
            else:
                a = np.minimum(np.maximum(fast, self.GROUP / np.maximum(n, 1)), 1.0)
        else:
            q = self._grp_q[:, None, :]  # (steps, 1, channels)
            nq = self._grp_q.sum(axis=0)
            learn = nq > 0
            if not learn.any():
                return
            p = np.where(q, self._grp_p, 0.0)
            mean = p.sum(axis=0) / np.maximum(nq, 1)
            var = np.where(q, (self._grp_p - mean) ** 2, 0.0).sum(axis=0) / np.maximum(nq, 1)
            n = self._hop_n + nq
            a = np.where(learn, np.maximum(self._alpha * nq, nq / np.maximum(n, 1)), 0.0)
            a = np.minimum(a, 1.0)
        d = mean - self._hop_mean
        self._hop_mean += a * d
        self._hop_var = (1 - a) * (self._hop_var + a * d * d) + a * var
        self._hop_n = n
        sd = np.sqrt(self._hop_var)
        if self._hop_ready:
            self._gate = self._hop_mean + self.s.gate_k * sd
            self._band = self._hop_mean + 2.0 * sd
        else:
            ready = n >= self.GROUP
            self._hop_ready = bool(ready.all())
            self._gate = np.where(ready, self._hop_mean + self.s.gate_k * sd, np.inf)
            self._band = np.where(ready, self._hop_mean + 2.0 * sd, np.inf)
        # The window (autocovariance, hum) every few groups: it changes slowly.
        self._groups += 1
        if self._groups % self.WINDOW_GROUPS != 0 and self._all_ready:
            return  # (until then, channels without a background learn it at each group)
        # Only from a window quiet from end to end: one step after a train, the window
        # still holds the train's end (it would pass for background and hum).
        whole = self._calm_steps > self._calm_needed
        now = whole if self._groups % self.WINDOW_GROUPS == 0 else whole & ~self._bg_ready
        if now.any():
            self._learn_window(np.flatnonzero(now))

    def _learn_window(self, chans: np.ndarray) -> None:
        rows = slice(self._n - self.W, self._n)
        if self._ok[rows].min() > 0:
            y = self._x[rows, chans]
            coef = self._hum_pinv @ y
            resid = y - self._hum_basis @ coef
            noise = np.sqrt(np.mean(resid * resid, axis=0))
            hum = np.sqrt(0.5 * np.sum(coef[:-1] ** 2, axis=0))
            self._hum_coef[:, chans] = coef
            self._hum_t0[chans] = self._end - self.W
            self._hum_noise[chans] = noise
            self._hum_on[chans] = hum > noise
        r, _ = self._autocov(chans)
        y = self._x[rows][:, chans]
        d = np.diff(y, axis=0)
        pw = np.stack([np.einsum("wc,wc->c", y, y) / len(y), np.einsum("wc,wc->c", d, d) / len(d)])
        n = self._bg_n[chans] + 1
        # At most 1 (a weight): at very low sampling rates the learning rate per window
        # would pass it and make the variances negative.
        a = np.minimum(np.maximum(self._alpha * self.GROUP * self.WINDOW_GROUPS, 1.0 / n), 1.0)
        a = a[:, None]
        d0 = r[:, 0] - self._bg_r[chans, 0]
        dd0 = _diff_autocov(r.T)[0] - self._bg_rd[chans, 0]
        self._bg_r[chans] += a * (r - self._bg_r[chans])
        self._bg_rd[chans] = _diff_autocov(self._bg_r[chans].T).T
        self._bg_pow[:, chans] += a[:, 0] * (pw - self._bg_pow[:, chans])
        self._bg_var[chans] = (1 - a[:, 0]) * (self._bg_var[chans] + a[:, 0] * d0 * d0)
        self._bgd_var[chans] = (1 - a[:, 0]) * (self._bgd_var[chans] + a[:, 0] * dd0 * dd0)
        self._bgd_sd[chans] = np.sqrt(self._bgd_var[chans])
        self._bg_n[chans] = n
        self._bg_sd[chans] = np.sqrt(self._bg_var[chans])
        self._bg_ready = self._bg_n >= 3
        self._all_ready = bool(self._bg_ready.all())
        self._learn_needed()

    def _autocov(self, chans: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Autocovariance at lags 0..L+1 of the last window, over the pairs of usable
        samples in it: ``(channels, L+2)`` (one lag more than the periods need, for that of
        the first difference), and the number of such pairs per lag (0..L)."""
        rows = slice(self._n - self.W, self._n)
        m = self._ok[rows]
        x = self._x[rows][:, chans]
        if m.min() > 0:
            cnt = self._pairs
        else:
            x = x * m[:, None]
            mf = np.fft.rfft(m, self._nfft)
            cnt = np.fft.irfft(mf * mf.conj(), self._nfft)[: self.L + 5].round()
        f = np.fft.rfft(x, self._nfft, axis=0)
        r = np.fft.irfft(f * f.conj(), self._nfft, axis=0)[: self.L + 5].T
        r = r / (cnt if cnt is self._pairs else np.maximum(cnt, 1.0))  # (pairs: all >= 1)
        # The autocovariance of the signal smoothed by [1, 2, 1] / 4 (a gentle low-pass,
        # -6 dB at a quarter of the averaged rate): a period of brief potentials whose
        # timing jitters by a fraction of their width still correlates. Even in the lag.
        ext = np.concatenate([r[:, 2:0:-1], r], axis=1)  # R(-2), R(-1), R(0), ...
        smooth = (
            ext[:, :-4] + 4 * ext[:, 1:-3] + 6 * ext[:, 2:-2] + 4 * ext[:, 3:-1] + ext[:, 4:]
        ) / 16
        return smooth[:, : self.L + 2], cnt[: self.L + 1]

    def _step(self, ch: int, r: np.ndarray, cnt: np.ndarray, out: list[TrainChange]) -> None:
        if cnt[0] < 0.5 * self.W:
            return  # mostly blanked (a stimulus): neither evidence nor its absence
        if self.mode[ch] == TRAIN:
            self._follow(ch, r, out)
        else:
            self._seek(ch, r, out)

    def _follow(self, ch: int, r: np.ndarray, out: list[TrainChange]) -> None:
        """A train under way: followed on its periodicity near its period, averaged over
        about 100 ms (the jitter of brief potentials blurs a single window's; irregular
        activity after a train has none to speak of), in whichever view shows it better."""
        s = self.s
        height, lag = 0.0, None
        for path in (RAW, DIFF):
            rho = self._rho(ch, r, path, following=True)
            h, k = self._near_period(ch, rho) if rho is not None else (0.0, None)
            if k is not None and not self._bg_ready[ch] and self._mains_like(ch, k, path):
                h, k = 0.0, None  # no background yet: hum at a mains period
            if k is not None and h > height:
                height, lag = h, k
            if height >= s.rho_keep:
                break  # clear enough in the signal itself
        self._keep[ch] += 0.25 * (height - self._keep[ch])
        if lag is not None and self._keep[ch] >= s.rho_keep:
            if height >= s.rho_keep:  # a weak peak must not drag the period away
                self._period[ch] += 0.2 * (lag - self._period[ch])
                self._last_strong[ch] = self._end
            self._last_good[ch] = self._end
            self._since_report[ch] += 1
            if self._since_report[ch] >= s.extend_every:
                self._since_report[ch] = 0
                out.append(self._change("extend", ch, self._extent(ch)))
        elif self._end - self._last_good[ch] > self.end_d:
            self._finish(ch, out)

    def _seek(self, ch: int, r: np.ndarray, out: list[TrainChange]) -> None:
        """No train yet: evidence of one in the signal or in its first difference, on
        ``confirm_hops`` consecutive steps at one period, then beat-by-beat regularity."""
        self._last_r[ch] = r
        lag = None
        for path in (RAW, DIFF):
            rho = self._rho(ch, r, path)
            lag = self._evidence(ch, rho) if rho is not None else None
            # At the hum's period its swelling is no train; in the first difference, where
            # the hum's harmonics dominate, at theirs neither. Without a background there
            # is no telling hum from a train at the mains period.
            if lag is not None and self._mains_like(ch, lag, path):
                lag = None
            if lag is not None:
                break
        if lag is None:
            self._set_mode(ch, IDLE)
            return
        if self.mode[ch] == IDLE or abs(lag - self._period[ch]) > 0.2 * self._period[ch]:
            self._set_mode(ch, CANDIDATE)
            self._count[ch] = 1
            self._first_end[ch] = self._end
            self._period[ch] = lag
        else:
            self._count[ch] += 1
            self._period[ch] = 0.5 * (self._period[ch] + lag)
        if self._count[ch] >= self.s.confirm_hops and self._regular(ch):
            self._begin(ch, out)  # or not yet, if the run is still too short

    def _rho(self, ch: int, r: np.ndarray, path: int, following: bool = False) -> np.ndarray | None:
        """The window's excess autocovariance over the background, normalised by the excess
        power, or None when the excess is not significant. ``RAW``: of the signal;
        ``DIFF``: of its first difference (its high frequencies: brief potentials stand
        out of mains hum, whose slow amplitude changes blur the raw excess).

        ``following`` a train: a dip of the excess (the hum fading for a moment under a
        small train) neither hides it nor inflates ``rho``: the excess need only stand
        clear of the background's spread, and the normalisation is at least half the
        excess the train started with.
        """
        ready = self._bg_ready[ch]
        if path == DIFF:
            # The background's first-difference autocovariance is kept (it changes with
            # the background); the window's is worked out only if its excess counts.
            bg, sd = (self._bg_rd[ch] if ready else self._no_bg[:-1]), self._bgd_sd[ch]
            excess = (2 * r[0] - r[1] - r[1]) - bg[0]  # _diff_autocov(r)[0] - bg[0]
        else:
            bg, sd = (self._bg_r[ch] if ready else self._no_bg)[:-1], self._bg_sd[ch]
            excess = r[0] - bg[0]
        needed = max(self.s.excess_k * float(sd), self.s.min_excess_uv**2)
        if following:
            needed *= 0.3
        if excess <= needed:
            return None
        if following:
            excess = max(excess, 0.5 * float(self._excess0[path, ch]))
        r = _diff_autocov(r) if path == DIFF else r[:-1]
        return (r - bg) / excess

    def _excess(self, ch: int, r: np.ndarray) -> np.ndarray:
        """The window's excess power over the background, of the signal and of its first
        difference."""
        if self._bg_ready[ch]:
            bg, bgd = self._bg_r[ch], self._bg_rd[ch]
        else:
            bg, bgd = self._no_bg, self._no_bg
        return np.array([r[0] - bg[0], _diff_autocov(r)[0] - bgd[0]])

    def _evidence(self, ch: int, rho: np.ndarray) -> float | None:
        """The period (averaged samples, fractional) if ``rho`` shows a periodic
        discharge, else None."""
        k = self._peak(ch, rho)
        if k is None:
            return None
        a, b, c = rho[k - 1], rho[k], rho[k + 1]
        den = a - 2 * b + c
        lag = k + (0.5 * (a - c) / den if den < 0 else 0.0)
        if self._is_mains(ch, rho, lag):
            return None
        return float(lag)

    def _near_period(self, ch: int, rho: np.ndarray) -> tuple[float, float | None]:
        """A train's periodicity in this window: the interpolated height of the highest
        local maximum of ``rho`` within 20 % of its period, and its lag (0, None: none)."""
        p = self._period[ch]
        lo = max(self.lmin, math.floor(0.8 * p) - 1)
        hi = min(self.lmax, math.ceil(1.2 * p) + 1)
        k = np.arange(lo, hi + 1)
        a, b, c = rho[k - 1], rho[k], rho[k + 1]
        peak = (b > a) & (b >= c)
        if not peak.any():
            return 0.0, None
        den = a - 2 * b + c
        shift = np.where(den < 0, 0.5 * (a - c) / np.minimum(den, -1e-12), 0.0)
        height = np.where(peak, b - 0.25 * (a - c) * shift, -np.inf)
        i = int(np.argmax(height))
        return float(height[i]), float(k[i] + shift[i])

    def _peak(self, ch: int, rho: np.ndarray) -> int | None:
        """The lag of a discharge period's peak of ``rho``: the shortest strong local
        maximum with a dip before it. Peaks are
        compared by their interpolated height: a period that is not a whole number of
        samples splits its peak between two lags, while twice the period may fall on one.
        """
        s = self.s
        lo, hi = self.lmin, self.lmax
        seg = rho[lo - 1 : hi + 2]
        # Most windows have no peak near rho_on: say so from two reductions. A local
        # maximum b between a and c interpolates to at most b + |a - c| / 8 (its curvature
        # |a - 2b + c| is at least |a - c|), so no height can reach past this bound; the
        # margin covers the rounding of the curvature (below, clamped at 1e-12).
        top, bottom = seg.max(), seg.min()
        if top + (top - bottom) * 0.126 + 1e-9 < s.rho_on:
            return None
        peaks = np.flatnonzero((seg[1:-1] > seg[:-2]) & (seg[1:-1] >= seg[2:])) + lo
        if len(peaks) == 0:
            return None
        a, b, c = rho[peaks - 1], rho[peaks], rho[peaks + 1]
        den = a - 2 * b + c
        height = b - np.where(den < 0, (a - c) ** 2 / (8 * np.minimum(den, -1e-12)), 0.0)
        best = float(height.max())
        if best < s.rho_on:
            return None
        i = int(np.argmax(height >= s.harmonic_share * best))
        k = int(peaks[i])
        if rho[1:k].min() > height[i] - s.dip:
            return None  # no dip before it: a slow wave, not a discharge
        return k

    def _hum_harmonic(self, ch: int, lag: float) -> int:
        """The harmonic of the mains humming in the channel's background that a period falls
        on (1: the fundamental), or 0. Hum swells and fades a little (its amplitude is
        not steady): that change correlates at its own periods and passes for activity."""
        if not self._hum_on[ch]:
            return 0
        f = self.fs / lag
        for m in self._mains_of(ch):
            k = round(f / m)
            tolerance = self.s.hum_tolerance if k == 1 else self.s.mains_tolerance
            if k >= 1 and abs(f - k * m) <= tolerance * k * m:
                return k
        return 0

    def _mains_like(self, ch: int, lag: float, path: int) -> bool:
        """A period no train can be told at: the hum's (or, in the first difference, one
        of its harmonics'), or, with no background learned yet, a mains period."""
        harmonic = self._hum_harmonic(ch, lag)
        if harmonic == 1 or (harmonic and path == DIFF):
            return True
        if self._bg_ready[ch]:
            return False
        f = self.fs / lag  # no background yet: the mains frequencies themselves
        return any(abs(f - m) <= 0.05 * m for m in self.s.mains_hz)

    def _is_mains(self, ch: int, rho: np.ndarray, lag: float) -> bool:
        """A pure sinusoid at the mains frequency (hum switching on, a needle coming
        loose), not a discharge. The mains is the one humming in the channel's background
        when it does (a 60 Hz discharge in 50 Hz country is no hum); either when none does.
        """
        f = self.fs / lag
        mains = self._mains_of(ch)
        # Wide: while it fills the window, a sinusoid's period reads a few % off.
        if not any(abs(f - m) <= 0.05 * m for m in mains):
            return False
        half = lag / 2
        i = int(half)
        v = rho[i] + (half - i) * (rho[i + 1] - rho[i])
        return bool(v < -0.7)

    def _regular(self, ch: int) -> bool:
        """Whether the last window holds at least ``min_beats`` discharges at the period
        (a missed beat allowed), seen as the peaks of one polarity (sinusoid-like trains)
        or of the envelope (brief multiphasic potentials, whose largest phase may change
        sign): a burst of a few potentials at random intervals can correlate at some lag
        by chance, an A-train is regular beat by beat. The view that shows it is kept for
        finding the train's edges."""
        period = self._period[ch]
        end = self._end
        x, ok, _, _ = self._clean(ch, end - self.W, end)
        for view in (POSITIVE, NEGATIVE, ENVELOPE):
            y = self._view_of(x, ok, view)
            cand = np.flatnonzero((y[1:-1] > y[:-2]) & (y[1:-1] >= y[2:])) + 1
            if len(cand) < self.s.min_beats:
                continue
            top = float(np.median(np.sort(y[cand])[-self.s.min_beats :]))
            peaks = _peaks(y, 0.4 * top, max(1, round(0.6 * period)))
            if len(peaks) < self.s.min_beats:
                continue
            iv = np.diff(np.asarray(peaks, float))
            beats = np.maximum(1, np.round(iv / period))
            dev = np.abs(iv / beats - period) / period
            heights = y[peaks]
            troughs = np.minimum.reduceat(y[peaks[0] : peaks[-1] + 1], peaks[:-1] - peaks[0])
            if (
                np.std(heights) <= self.s.max_height_cv * np.mean(heights)  # near-identical
                # separate discharges: the trace falls back between them (noise does not)
                and np.median(troughs) <= 0.5 * np.median(heights)
                and beats.max() <= 3
                and (beats > 1).sum() <= 1 + len(iv) // 5
                and np.median(dev) <= self.s.max_interval_dev
                and np.mean(dev <= 0.25) >= 0.75
            ):
                self._view[ch] = view
                return True
        return False

    def _view_of(self, x: np.ndarray, ok: np.ndarray, view: int) -> np.ndarray:
        """The trace whose peaks are the discharges: ``x``, ``-x`` or its envelope (the
        magnitude averaged over about 1 ms)."""
        if view == ENVELOPE:
            n = max(1, round(0.001 * self.fs))
            y = np.convolve(np.abs(x), np.full(n, 1.0 / n), mode="same")
        else:
            y = x if view == POSITIVE else -x
        return np.where(ok, y, 0.0)

    def _mains_of(self, ch: int) -> tuple[float, ...]:
        """The mains frequency humming in the channel's background, or all of them."""
        if not self._hum_on[ch]:
            return self.s.mains_hz
        coef = self._hum_coef[:, ch]
        n = len(self._freqs)
        amp = np.hypot(coef[:n], coef[n : 2 * n])
        fundamentals = {
            m: float(amp[self._freqs.index(m)]) for m in self.s.mains_hz if m in self._freqs
        }
        if not fundamentals:  # sampled too slowly to hold a mains frequency
            return self.s.mains_hz
        return (max(fundamentals, key=fundamentals.__getitem__),)

    def _change(self, kind: str, ch: int, index: int) -> TrainChange:
        p = self._period[ch]
        freq = self.fs / p if p > 0 else float("nan")
        return TrainChange(kind, ch, int(index), int(self._onset[ch]), freq, float(self._pp[ch]))

    def _extent(self, ch: int) -> int:
        """Up to where the train is certain: its discharges followed in rhythm from the
        start of the last window that showed its periodicity. The train's offset is never
        put before an extent once reported (live train time never runs ahead of it)."""
        period = self._period[ch]
        sure = max(int(self._last_strong[ch]) - self.W, int(self._onset[ch]) // self.D)
        x, ok, start, noise = self._clean(ch, sure - max(2, round(period)), self._end)
        last_d, _, _ = self._edge(
            x, ok, start, sure, period, noise, False, self._amp[ch], int(self._view[ch])
        )
        extent = max(int(self._extent_reported[ch]), int(self._onset[ch]), (last_d + 1) * self.D)
        self._extent_reported[ch] = extent
        return extent

    def _begin(self, ch: int, out: list[TrainChange]) -> None:
        period = self._period[ch]
        pn = max(2, round(period))
        a = int(self._first_end[ch]) - 2 * self.W
        sure = int(self._first_end[ch]) - 2 * pn
        x, ok, start, noise = self._clean(ch, a, self._end)
        view = int(self._view[ch])
        onset_d, amp, pp = self._edge(x, ok, start, sure, period, noise, True, None, view)
        onset_d = max(onset_d, int(self._last_offset[ch]) // self.D)  # after the last one
        last_d, _, _ = self._edge(x, ok, start, sure, period, noise, False, amp, view)
        if last_d - onset_d < (self.s.min_beats - 0.5) * period:
            return  # a few cycles of noise that happen to look periodic: not yet a train
        if math.isfinite(noise) and pp < self.s.min_snr * noise:
            return  # within what the noise itself reaches (1/f noise can look periodic)
        if not self._bg_ready[ch] and pp < self.s.unlearned_min_uv:
            return  # no background to judge it against: only a clear train counts
        self._set_mode(ch, TRAIN)
        self._keep[ch] = 1.0  # it just showed its periodicity: start from confidence
        self._last_strong[ch] = self._end
        self._excess0[:, ch] = self._excess(ch, self._last_r[ch])
        self._extent_reported[ch] = 0
        self._last_good[ch] = self._end
        self._since_report[ch] = 0
        self._onset[ch] = onset_d * self.D
        self._amp[ch] = amp
        self._pp[ch] = pp
        out.append(self._change("start", ch, self._onset[ch]))

    def _finish(self, ch: int, out: list[TrainChange], limit: int | None = None) -> None:
        period = self._period[ch]
        pn = max(2, round(period))
        last = int(self._last_good[ch])
        # Cut while still periodic (artifact, gap, end of the stream), the train may have
        # ended in the last ~100 ms the averaged periodicity still covers: its last
        # discharge says where, not the cut.
        still = limit is not None and self._end - last <= self.end_d
        strong = int(self._last_strong[ch])  # the averaged periodicity outlasts the train
        a = strong - self.W - pn
        sure = max(strong - self.W, int(self._onset[ch]) // self.D) + pn // 2
        refit = None if still else (last + pn, self._end)  # quiet after the train
        x, ok, start, noise = self._clean(ch, a, self._end, refit)
        offset_d, _, _ = self._edge(
            x, ok, start, sure, period, noise, False, self._amp[ch], int(self._view[ch])
        )
        offset = max((offset_d + 1) * self.D, int(self._onset[ch]) + self.D)
        if limit is not None:
            offset = min(offset, limit)
        # What was reported live is never taken back (train time must not go down):
        # a cut dated back to the start of a cautery run may precede the extent shown.
        offset = max(offset, int(self._extent_reported[ch]))
        self._last_offset[ch] = offset
        self._set_mode(ch, IDLE)
        out.append(self._change("end", ch, offset))

    def _clean(
        self, ch: int, a: int, b: int, refit: tuple[int, int] | None = None
    ) -> tuple[np.ndarray, np.ndarray, int, float]:
        """Averaged samples ``[a, b)`` of a channel (absolute averaged indices, clipped to
        what is kept) with the mains hum removed, and the residual noise (RMS).

        The hum is the last fit on a quiet window (before the train, so no train is
        fitted as hum, even at a mains harmonic); long after it the phase of real mains
        has drifted, so ``refit`` names a quiet stretch to fit it again on.
        """
        first = self._end - self._n
        a = max(a, first)
        x = self._x[self._rows(a, b), ch].copy()
        ok = self._ok[self._rows(a, b)] > 0
        noise = float(self._hum_noise[ch])
        if not self._hum_on[ch]:
            x[~ok] = 0.0  # blanked or before a restart: no edge may walk into it
            return x, ok, a, noise
        coef, t0 = self._hum_coef[:, ch], int(self._hum_t0[ch])
        if refit is not None and b - t0 > self.STALE_S * self.fs:
            ra, rb = max(refit[0], first), refit[1]
            y = self._x[self._rows(ra, rb), ch]
            m = self._ok[self._rows(ra, rb)] > 0
            if rb - ra >= round(0.03 * self.fs) and m.sum() >= 0.8 * (rb - ra):
                basis = _sin_cos(np.arange(rb - ra)[m] / self.fs, self._freqs)
                coef, *_ = np.linalg.lstsq(basis, y[m], rcond=None)
                t0 = ra
        x -= _sin_cos(np.arange(a - t0, a - t0 + len(x)) / self.fs, self._freqs) @ coef
        x[~ok] = 0.0
        return x, ok, a, noise

    def _edge(
        self,
        x: np.ndarray,
        ok: np.ndarray,
        start: int,
        sure: int,
        period: float,
        noise: float,
        backwards: bool,
        amp: float | None,
        view: int = POSITIVE,
    ) -> tuple[int, float, float]:
        """The first (``backwards``: walking back from ``sure``) or last sample of the
        train: its discharges are followed from ``sure`` while they keep the rhythm (one
        per period, a missed beat allowed), and the edge is where the first (last)
        discharge rises out of (falls back to) a quarter of the cycle amplitude. Activity
        before or after the train that does not keep its rhythm (a burst, a C-train) is
        not the train. Returns the edge (averaged index) with the cycle amplitude and
        peak-to-peak measured on the sure part (onset) or as given (``amp``)."""
        pn = max(2, round(period))
        i_sure = min(max(0, sure - start), len(x) - 1)
        body = x[i_sure:] if backwards else x[: max(pn, i_sure + pn)]
        n_cyc = max(1, len(body) // pn)
        cycles = body[: n_cyc * pn].reshape(n_cyc, pn) if len(body) >= pn else body[None, :]
        # (medians of finite values: the hum-free signal has its unusable samples zeroed)
        cyc_amp = median(np.abs(cycles).max(axis=1))
        cyc_pp = median(np.ptp(cycles, axis=1))
        level_amp = cyc_amp if amp is None else min(amp, max(cyc_amp, 0.5 * amp))
        level = self.s.edge_frac * level_amp
        if math.isfinite(noise):
            level = max(level, self.s.edge_k * noise)
        y = self._view_of(x, ok, view)
        # The discharges' size around the sure point (the train is there, if not on
        # both sides of it); the walk starts from the largest discharge near it.
        around = y[max(0, i_sure - 2 * pn) : i_sure + 2 * pn]
        n_y = max(1, len(around) // pn)
        top = median(around[: n_y * pn].reshape(n_y, -1).max(axis=1))
        floor = level if view != ENVELOPE else 0.0
        peaks = _peaks(y, max(floor, 0.35 * top), max(1, round(0.6 * period)))
        if len(peaks) == 0:
            return start + i_sure, cyc_amp, cyc_pp
        near = np.flatnonzero(np.abs(peaks - i_sure) <= 1.5 * period)
        if len(near):
            k = int(near[np.argmax(y[peaks[near]])])
        else:
            k = int(np.argmin(np.abs(peaks - i_sure)))
        step = -1 if backwards else 1
        while 0 <= k + step < len(peaks):
            nxt = k + step
            if not _in_rhythm(abs(peaks[nxt] - peaks[k]), period):
                # One stray potential (another unit) does not end the run: look past it.
                if 0 <= nxt + step < len(peaks) and _in_rhythm(
                    abs(peaks[nxt + step] - peaks[k]), period
                ):
                    nxt += step
                else:
                    break
            k = nxt
        edge = int(peaks[k])
        mag = np.abs(x)
        reach = max(1, round(period))  # a wide potential rises and falls for most of one
        # The potential's phases before (after) its peak, crossings between them included.
        if backwards:
            lo = max(0, edge - reach)
            hot = np.flatnonzero(mag[lo:edge] > level)
            if len(hot):
                edge = lo + int(hot[0])
        else:
            hi = min(len(x), edge + reach + 1)
            hot = np.flatnonzero(mag[edge:hi] > level)
            if len(hot):
                edge += int(hot[-1])
        return start + edge, cyc_amp, cyc_pp


def _peaks(y: np.ndarray, level: float, min_distance: int) -> np.ndarray:
    """Local maxima of ``y`` above ``level``; of two closer than ``min_distance`` the
    larger stays (in time order)."""
    cand = np.flatnonzero((y[1:-1] > y[:-2]) & (y[1:-1] >= y[2:]) & (y[1:-1] > level)) + 1
    out: list[int] = []
    for i in cand:
        if out and i - out[-1] < min_distance:
            if y[i] > y[out[-1]]:
                out[-1] = int(i)
        else:
            out.append(int(i))
    return np.asarray(out, dtype=np.int64)


def _in_rhythm(interval: float, period: float) -> bool:
    """One or two periods (a missed beat), within 30 % of a period."""
    beats = max(1, round(interval / period))
    return beats <= 2 and abs(interval - beats * period) <= 0.3 * period


def _diff_autocov(r: np.ndarray) -> np.ndarray:
    """The autocovariance of a signal's first difference from the signal's (lags along the
    first axis, one lag fewer): ``2 R(t) - R(t - 1) - R(t + 1)``, with ``R(-1) = R(1)``."""
    prev = np.concatenate([r[1:2], r[:-2]])
    return 2 * r[:-1] - prev - r[1:]


def _decimation(hop: int, rate: float, target_hz: float) -> int:
    """The largest divisor of ``hop`` that keeps the averaged rate at or above the target."""
    best = 1
    for d in range(1, hop + 1):
        if hop % d == 0 and rate / d >= target_hz:
            best = d
    return best


def _sin_cos(t: np.ndarray, freqs: list[float]) -> np.ndarray:
    w = 2 * np.pi * np.asarray(freqs)[None, :] * t[:, None]
    return np.hstack([np.sin(w), np.cos(w), np.ones((len(t), 1))])
