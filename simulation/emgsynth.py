"""Synthetic intraoperative facial EMG with ground-truth labels.

What an anaesthetised patient's facial needle EMG looks like to the amplifier:

- a quiet baseline of band-limited noise (a few µV RMS), mains hum and slow electrode
  drift on every channel;
- spontaneous motor-unit potentials: single **spikes**, short irregular **bursts**;
- **A-trains**: sudden, regular 60-210 Hz runs of near-identical potentials lasting
  0.1-10 s (the pattern that predicts facial palsy, docs/clinical.md §2);
- **B-trains** (low-rate, irregular sequences of spikes) and **C-trains**
  (continuous irregular interference-like activity);
- **electrocautery**: mV-level broadband noise on all channels at once;
- **stimulation**: a stimulus artifact on all channels, the stimulated branch's own direct
  response (~4 ms) and the lateral spread response in the other branches' muscles
  (~10 ms), which disappears at a set time (at once, or fading over a few stimuli, or by
  its threshold rising). A site naming the nerve itself (``"facial nerve"``, ``"root"``)
  gives a direct response in every muscle (triggered EMG); with a current sequence
  (``stim_currents_ma``) and thresholds, responses appear only from their threshold on,
  growing from half to full size at twice the threshold.

Every event is recorded as a :class:`TruthEvent` (and every stimulus as a
:class:`StimTruth`) placed exactly where its waveform is. The output depends only on the
seed and the configuration, never on how the stream is cut into blocks: noise is drawn
sequentially from dedicated generators, filters keep their state, and random events are
planned per one-second window with a generator seeded from the window number.

Scripted events (:class:`ScheduledEvent`, :meth:`EmgSynth.schedule`) are placed at a
chosen sample with their own generator (seeded from their ``key``) and planned with the
random events of their window, in onset order: the same schedule gives the same signal
whatever the block sizes, and random events keep clear of scripted ones on the same
channel, so that the ground truth stays clean.
"""

from __future__ import annotations

import bisect
import heapq
import math
from dataclasses import dataclass, field

import numpy as np
from scipy import signal

from monitor.block import StimMarker
from monitor.montage import muscle_of, side_of, stimulated_side
from simulation.electrodes import BadElectrode

KINDS = ("spike", "burst", "a_train", "b_train", "c_train", "artifact")
ALL_CHANNELS = -1  # TruthEvent.channel for events on every channel (cautery)


#: SimConfig settings for a patient with no spontaneous activity and no stimulation, to
#: which tests and benches add exactly the events they want.
QUIET: dict[str, float] = {
    "spikes_per_min": 0.0,
    "bursts_per_min": 0.0,
    "a_trains_per_min": 0.0,
    "b_trains_per_min": 0.0,
    "c_trains_per_min": 0.0,
    "cautery_per_min": 0.0,
    "stim_rate_hz": 0.0,
}


@dataclass(frozen=True, slots=True)
class TruthEvent:
    """A generated event and where it is.

    ``onset``/``offset`` are absolute sample indices (offset exclusive) of the first and
    last non-negligible sample; ``channel`` is a channel number or ``ALL_CHANNELS``.
    """

    kind: str
    channel: int
    onset: int
    offset: int
    peak_uv: float  # peak-to-peak of the event's waveform on its main channel
    freq_hz: float | None = None  # trains: discharge frequency


@dataclass(frozen=True, slots=True)
class ScheduledEvent:
    """An event to place at a chosen sample (:meth:`EmgSynth.schedule`).

    Parameters
    ----------
    kind : str
        One of :data:`KINDS` (``"artifact"`` is electrocautery, on every channel).
    onset : int
        Absolute sample index where the waveform starts.
    channel : int
        Channel from 0 (ignored for an artifact).
    duration_s, freq_hz, amplitude_uv : float, optional
        As :meth:`EmgSynth.add_event`; unset ones are drawn like a spontaneous event's.
    key : int
        Seeds the event's own random draws (shape, jitter): the same key gives the same
        waveform, whatever else the stream holds.
    tag : object
        Handed back with the event's truth in :attr:`EmgSynth.scheduled_truth` (who
        scheduled it, for the caller's ground truth).
    """

    kind: str
    onset: int
    channel: int = 0
    duration_s: float | None = None
    freq_hz: float | None = None
    amplitude_uv: float | None = None
    key: int = 0
    tag: object = None


@dataclass(frozen=True, slots=True)
class ResponseTruth:
    present: bool
    latency_ms: float | None  # response onset after the stimulus
    amplitude_uv: float | None  # peak-to-peak
    kind: str = "lsr"  # "lsr" or "direct"


@dataclass(frozen=True, slots=True)
class StimTruth:
    marker: StimMarker
    responses: tuple[ResponseTruth, ...]  # one per channel


@dataclass
class SimConfig:
    """Everything that shapes the simulated patient. Rates are events per minute."""

    rate: float = 10_000.0
    labels: tuple[str, ...] = ("L Orb. oculi", "L Orb. oris", "L Mentalis", "L Frontalis")
    seed: int | None = None
    noise_uv: float = 3.0  # RMS of the baseline in the 20 Hz - 3 kHz band
    mains_uv: float = 1.5
    mains_hz: float = 50.0
    drift_uv: float = 40.0
    spikes_per_min: float = 6.0
    bursts_per_min: float = 2.0
    a_trains_per_min: float = 0.6
    b_trains_per_min: float = 0.3
    c_trains_per_min: float = 0.2
    cautery_per_min: float = 0.4
    stim_rate_hz: float = 1.0  # 0 switches the stimulator off
    stim_start_s: float = 2.0
    stim_current_ma: float = 15.0
    stim_width_ms: float = 0.2
    stim_site: str = "zygomatic"
    lsr_amplitude_uv: float = 150.0
    lsr_latency_ms: float = 10.0
    lsr_gone_at_s: float | None = None  # the decompression moment; None = persists
    direct_amplitude_uv: float = 1200.0
    # Triggered EMG and AMR-threshold cases (all optional; the defaults change nothing):
    stim_currents_ma: tuple[float, ...] = ()  # repeating sequence (a ramp); () = stim_current_ma
    direct_latency_ms: float = 4.0
    threshold_ma: float | tuple[float, ...] | None = None  # direct response threshold (per channel)
    lsr_threshold_ma: float | None = None  # the LSR (AMR) threshold
    lsr_threshold_after_ma: float | None = None  # at lsr_gone_at_s the threshold rises to this
    lsr_fade_stims: int = 0  # the LSR fades out over this many stimuli before lsr_gone_at_s
    a_train_interval_cv: float = 0.02  # discharge-interval variability within an A-train
    extra: dict = field(default_factory=dict)
    #: Needles that start bad (high impedance or off): the electrode check shows them and
    #: their channel hums more (simulation/electrodes.py). () = every needle good.
    bad_electrodes: tuple[BadElectrode, ...] = ()

    def __post_init__(self) -> None:
        if not 500 <= self.rate <= 20_000:
            raise ValueError(f"Simulator rate must be 500 Hz to 20 kHz, not {self.rate:g} Hz.")
        if not 1 <= len(self.labels) <= 16:
            raise ValueError(f"Simulator takes 1 to 16 channels, not {len(self.labels)}.")
        for bad in self.bad_electrodes:
            if bad.channel >= len(self.labels):
                raise ValueError(
                    f"There is no channel {bad.channel + 1} for a bad electrode: "
                    f"the simulator has {len(self.labels)} channels."
                )


# -- waveforms ----------------------------------------------------------------------------
def muap(
    rate: float,
    sigma_ms: float,
    shape: float,
    polarity: float = 1.0,
    tail: float = 0.0,
    shift: float = 0.0,
) -> np.ndarray:
    """A motor-unit potential: mix of the first two Hermite functions, peak-to-peak 1.

    ``shape`` 0 gives a biphasic, 1 a triphasic spike; ``tail`` adds the slow terminal
    phase of opposite sign that real potentials have (its size relative to the spike);
    ``shift`` moves the potential by a fraction of a sample (trains keep exact timing).
    """
    sigma = sigma_ms * rate / 1000.0
    tail_sigma = 2.2 * sigma_ms * rate / 1000.0
    tail_at = 2.5 * sigma + 1.5 * tail_sigma
    half = max(2, math.ceil(3.5 * sigma))
    stop = math.ceil(tail_at + 3.0 * tail_sigma) if tail else half
    t = (np.arange(-half, stop + 1) - shift) / sigma
    g = np.exp(-0.5 * t * t)
    w = (1 - shape) * (-t * g) + shape * ((1 - t * t) * g)
    if tail:
        tt = (np.arange(-half, stop + 1) - shift - tail_at) / tail_sigma
        sign = -np.sign(w[np.argmax(np.abs(w))])
        w = w / (w.max() - w.min()) + sign * tail * np.exp(-0.5 * tt * tt)
    w *= polarity / (w.max() - w.min())
    return w


def unit_potential(rng: np.random.Generator, rate: float, sigma_range=(0.3, 0.75)) -> np.ndarray:
    """A random spontaneous motor-unit potential: spike, terminal phase, and in about one
    in eight a polyphasic late component (after the realism check, docs/)."""
    w = muap(
        rate,
        rng.uniform(*sigma_range),
        rng.uniform(0, 1),
        rng.choice([-1, 1]),
        tail=rng.uniform(0.12, 0.25),
    )
    if rng.random() < 0.125:
        extra = muap(rate, rng.uniform(0.2, 0.4), rng.uniform(0, 1), rng.choice([-1, 1]))
        at = int(rng.uniform(1.0, 2.5) * rate / 1000.0) + len(w) // 4
        out = np.zeros(max(len(w), at + len(extra)))
        out[: len(w)] += w
        out[at : at + len(extra)] += rng.uniform(0.2, 0.4) * extra
        w = out / (out.max() - out.min())
    return w


def lognormal_amplitude(rng: np.random.Generator, median_uv: float) -> float:
    """Spontaneous potential amplitudes are skewed: log-normal, log10 spread 0.25."""
    return float(np.clip(median_uv * 10 ** rng.normal(0.0, 0.25), 0.25 * median_uv, 6 * median_uv))


def _onset_of(w: np.ndarray, frac: float = 0.1) -> int:
    """First sample where a waveform leaves baseline (|w| > frac of its peak)."""
    return int(np.argmax(np.abs(w) > frac * np.abs(w).max()))


def _band_rms(sos: np.ndarray, rate: float, band: tuple[float, float] | None = (20, 3000)) -> float:
    """RMS of unit white noise through ``sos`` (and through the monitor's default band)."""
    f, h = signal.sosfreqz(sos, worN=1 << 14, fs=rate)
    power = np.abs(h) ** 2
    if band is not None:
        hi = min(band[1], 0.45 * rate)
        mon = signal.butter(2, [band[0], hi], "bandpass", fs=rate, output="sos")
        power *= np.abs(signal.sosfreqz(mon, worN=f, fs=rate)[1]) ** 2
    return float(np.sqrt(np.trapezoid(power, f) / (rate / 2)))


def _mix_for_low_share(
    wide: np.ndarray, low: np.ndarray, rate: float, share: float
) -> tuple[float, float]:
    """Weight of ``low`` added to ``wide`` (same white input) so that ``share`` of the power
    in the monitor's band lies below 150 Hz; also the RMS of the mix in that band."""
    f, hw = signal.sosfreqz(wide, worN=1 << 14, fs=rate)
    hl = signal.sosfreqz(low, worN=f, fs=rate)[1]
    mon = signal.butter(2, [20.0, min(3000.0, 0.45 * rate)], "bandpass", fs=rate, output="sos")
    hm = np.abs(signal.sosfreqz(mon, worN=f, fs=rate)[1]) ** 2
    below = f < 150.0

    def stats(k: float) -> tuple[float, float]:
        p = np.abs(hw + k * hl) ** 2 * hm
        total = np.trapezoid(p, f)
        return float(np.trapezoid(p[below], f[below]) / total), float(np.sqrt(total / (rate / 2)))

    ks = np.linspace(0.0, 40.0, 801)
    k = float(ks[np.argmin([abs(stats(k)[0] - share) for k in ks])])
    return k, stats(k)[1]


_TRUNK_WORDS = ("nerve", "root", "trunk")


def _recruitment(current_ma: float, threshold_ma: float | None) -> float:
    """Response size relative to full: 0 below threshold, 1/2 at it, full from twice it."""
    if threshold_ma is None:
        return 1.0
    if not current_ma >= threshold_ma:
        return 0.0
    return min(1.0, 0.5 + 0.5 * (current_ma - threshold_ma) / threshold_ma)


def _place(buf: np.ndarray, start: int, w: np.ndarray, amp: float) -> None:
    """Add ``amp * w`` into ``buf`` at ``start`` (clipped to the buffer)."""
    a, b = max(0, start), min(len(buf), start + len(w))
    if a < b:
        buf[a:b] += amp * w[a - start : b - start]


@dataclass
class _Rendered:
    """A planned event: its waveform per channel, added to blocks it overlaps."""

    start: int
    waves: dict[int, np.ndarray]  # channel -> samples from start
    stop: int
    truth: TruthEvent | None = None  # None for a stimulus


class EmgSynth:
    """Generates the signal sample by sample index; see the module docstring.

    Thread safety: not thread-safe; one owner (the simulator source) calls ``render``.
    ``add_event``, ``schedule`` and ``cancel_after`` must be called from that same thread
    or before streaming.
    """

    PLAN_WINDOW_S = 1.0

    def __init__(self, config: SimConfig) -> None:
        self.cfg = config
        self.rate = float(config.rate)
        self.n_channels = len(config.labels)
        root = np.random.SeedSequence(config.seed)
        # Built from an int or from None (fresh entropy), the sequence keeps an int.
        assert isinstance(root.entropy, int)
        self._seed_entropy: int = root.entropy
        noise_seq, drift_seq, mains_seq = root.spawn(3)
        self._noise_rng = np.random.default_rng(noise_seq)
        self._drift_rng = np.random.default_rng(drift_seq)
        mains_rng = np.random.default_rng(mains_seq)
        hi = min(4000.0, 0.45 * self.rate)
        self._noise_sos = signal.butter(2, [10.0, hi], "bandpass", fs=self.rate, output="sos")
        self._noise_zi = np.zeros((self._noise_sos.shape[0], 2, self.n_channels))
        # Real quiet baselines carry far more power below 150 Hz than white noise does
        # (docs/simulator-realism.md): add a low-passed share of the same white noise.
        self._low_sos = signal.butter(1, [10.0, 120.0], "bandpass", fs=self.rate, output="sos")
        self._low_zi = np.zeros((self._low_sos.shape[0], 2, self.n_channels))
        self._low_mix, rms = _mix_for_low_share(self._noise_sos, self._low_sos, self.rate, 0.35)
        self._noise_gain = config.noise_uv / rms
        # Electrode drift: a few slow sinusoids per channel (0.03-0.8 Hz), RMS drift_uv.
        self._drift_f = self._drift_rng.uniform(0.03, 0.8, (4, self.n_channels))
        self._drift_ph = self._drift_rng.uniform(0, 2 * np.pi, (4, self.n_channels))
        weights = self._drift_rng.dirichlet(np.ones(4), self.n_channels).T
        self._drift_a = config.drift_uv * np.sqrt(2 * weights)
        self._mains_phase = mains_rng.uniform(0, 2 * np.pi, self.n_channels)
        self._mains_amp = config.mains_uv * mains_rng.uniform(0.5, 1.5, self.n_channels)
        self._mains_normal = self._mains_amp.copy()
        self._planned_until = 0  # windows planned: [0, _planned_until)
        self._busy_until = np.zeros(self.n_channels, dtype=np.int64)
        self._active: list[_Rendered] = []
        self._next_stim = 0
        self.truth: list[TruthEvent] = []
        self.stim_truth: list[StimTruth] = []
        self._roles = self._channel_roles()
        self._rendered_until = 0  # one past the last sample rendered
        self._scheduled: list[ScheduledEvent] = []  # not yet planned, by onset
        #: ``(tag, truth)`` of every scheduled event placed so far, in planning order.
        self.scheduled_truth: list[tuple[object, TruthEvent]] = []

    # -- public -------------------------------------------------------------------------
    def render(self, start: int, n: int) -> tuple[np.ndarray, list[StimMarker]]:
        """Samples ``[start, start + n)`` as float32 µV, and the stimuli in that range."""
        stop = start + n
        self._plan_until(stop + int(0.2 * self.rate))
        out = self._baseline(start, n)
        stims = self._stims_until(stop)
        for ev in self._active:
            if ev.stop <= start or ev.start >= stop:
                continue
            for ch, w in ev.waves.items():
                _place(out[:, ch], ev.start - start, w, 1.0)
        self._active = [ev for ev in self._active if ev.stop > stop]
        self._rendered_until = max(self._rendered_until, stop)
        return out.astype(np.float32), [s for s in stims if start <= s.index < stop]

    @property
    def rendered_until(self) -> int:
        """One past the last sample rendered so far."""
        return self._rendered_until

    def set_mains_gain(self, gain: np.ndarray) -> None:
        """Scale each channel's mains hum (a badly matched needle pair picks up more);
        ones restore the normal hum. Same thread as ``render``."""
        self._mains_amp = self._mains_normal * np.asarray(gain, dtype=float)

    def set_stimulator(
        self, current_ma: float, width_ms: float, rate_hz: float, site: str, on: bool
    ) -> None:
        """Change the stimulator while streaming (same thread as ``render``). The pulses
        go on from the next one at the new rate: the schedule is re-anchored at the
        samples rendered so far, so a faster rate never replays pulses in the past."""
        c = self.cfg
        c.stim_current_ma, c.stim_width_ms, c.stim_site = current_ma, width_ms, site
        c.stim_currents_ma = ()
        new_rate = rate_hz if on else 0.0
        if new_rate > 0:
            # The next pulse (number _next_stim) comes one new period after the last
            # rendered sample at the earliest: t_k = start + k / rate.
            now_s = self._rendered_until / self.rate
            c.stim_start_s = now_s + 1.0 / new_rate - self._next_stim / new_rate
        c.stim_rate_hz = new_rate

    def add_event(
        self,
        kind: str,
        onset_s: float,
        channel: int = 0,
        duration_s: float | None = None,
        freq_hz: float | None = None,
        amplitude_uv: float | None = None,
    ) -> TruthEvent:
        """Schedule one event at a chosen time (for tests, benches and scenarios).

        Unset parameters are drawn at random like a spontaneous event's. The event is
        placed even where it overlaps another; it must lie after what was rendered.
        """
        rng = np.random.default_rng([self._seed_entropy, 7, len(self.truth), int(onset_s * 1e3)])
        onset = round(onset_s * self.rate)
        return self._make(kind, onset, channel, rng, duration_s, freq_hz, amplitude_uv, True)

    def schedule(self, event: ScheduledEvent) -> None:
        """Place a scripted event exactly at ``event.onset``, deterministically.

        It is planned with the random events of its one-second window, in onset order,
        so the signal does not depend on when it was scheduled (as long as it was before
        its window was planned) nor on block sizes. Raises ``ValueError`` for an unknown
        kind or channel, or an onset already rendered.
        """
        if event.kind not in KINDS:
            raise ValueError(f"Unknown event kind {event.kind!r}; use one of {', '.join(KINDS)}.")
        if not 0 <= event.channel < self.n_channels:
            raise ValueError(
                f"Channel {event.channel} does not exist ({self.n_channels} channels)."
            )
        if event.onset < self._rendered_until:
            raise ValueError(
                f"Cannot schedule an event at sample {event.onset}: the signal is rendered "
                f"up to {self._rendered_until}."
            )
        win = int(self.PLAN_WINDOW_S * self.rate)
        if event.onset < self._planned_until * win:
            self._place_scheduled(event)  # its window is planned already: place it now
            return
        bisect.insort(self._scheduled, event, key=lambda e: e.onset)

    def cancel_after(self, index: int) -> list[TruthEvent]:
        """Drop every event (random or scheduled) that starts at or after ``index`` and
        has not been rendered, and every scheduled one not yet planned; return the truth
        of those dropped. Events already under way go on; stimuli are kept."""
        if index < self._rendered_until:
            raise ValueError(f"Sample {index} is rendered already.")
        dropped = [ev for ev in self._active if ev.truth is not None and ev.start >= index]
        gone = {id(ev.truth) for ev in dropped}
        self._active = [
            ev for ev in self._active if not (ev.truth is not None and ev.start >= index)
        ]
        self.truth = [t for t in self.truth if id(t) not in gone]
        self.scheduled_truth = [(tag, t) for tag, t in self.scheduled_truth if id(t) not in gone]
        self._scheduled = [e for e in self._scheduled if e.onset < index]
        busy = np.minimum(self._busy_until, index)  # events still under way keep theirs
        for ev in self._active:
            if ev.truth is not None:
                for ch in range(self.n_channels) if ev.truth.channel == ALL_CHANNELS else ev.waves:
                    busy[ch] = max(busy[ch], ev.stop)
        self._busy_until = busy
        return [ev.truth for ev in dropped if ev.truth is not None]

    def _place_scheduled(self, event: ScheduledEvent) -> None:
        rng = np.random.default_rng([self._seed_entropy, 9, event.key])
        channel = 0 if event.kind == "artifact" else event.channel
        truth = self._make(
            event.kind,
            event.onset,
            channel,
            rng,
            event.duration_s,
            event.freq_hz,
            event.amplitude_uv,
            forced=True,
        )
        self.scheduled_truth.append((event.tag, truth))

    def _collides_with_scheduled(self, chans, start: int, stop: int) -> bool:
        """A scheduled event not yet planned starts in ``[start, stop)`` on one of ``chans``."""
        if not self._scheduled:
            return False
        chans = set(chans)
        i = bisect.bisect_left(self._scheduled, start, key=lambda e: e.onset)
        for e in self._scheduled[i:]:
            if e.onset >= stop:
                return False
            if e.kind == "artifact" or e.channel in chans:
                return True
        return False

    # -- baseline ---------------------------------------------------------------------------
    def _baseline(self, start: int, n: int) -> np.ndarray:
        shape = (n, self.n_channels)
        white = self._noise_rng.standard_normal(shape, dtype=np.float32)
        noise, self._noise_zi = signal.sosfilt(self._noise_sos, white, axis=0, zi=self._noise_zi)
        low, self._low_zi = signal.sosfilt(self._low_sos, white, axis=0, zi=self._low_zi)
        noise += self._low_mix * low
        out = noise * self._noise_gain
        out += self._drift(start, n)
        # Mains with its 3rd harmonic; per-channel phase by the angle-sum identity, so the
        # sines are computed once per block and not once per channel.
        w = 2 * np.pi * self.cfg.mains_hz * (start + np.arange(n)) / self.rate
        for h, rel in ((1, 1.0), (3, 0.3)):
            ph = h * self._mains_phase
            amp = rel * self._mains_amp
            out += np.sin(h * w)[:, None] * (amp * np.cos(ph)) + np.cos(h * w)[:, None] * (
                amp * np.sin(ph)
            )
        return out

    def _drift(self, start: int, n: int) -> np.ndarray:
        """Drift on a coarse grid of absolute indices, linearly interpolated (cheap, and
        a function of the index alone, so block sizes do not matter)."""
        step = 256
        g0 = start // step
        g1 = (start + n - 1) // step + 2
        grid_t = np.arange(g0, g1)[:, None, None] * (step / self.rate)
        coarse = (self._drift_a * np.sin(2 * np.pi * self._drift_f * grid_t + self._drift_ph)).sum(
            1
        )
        pos = (start + np.arange(n)) / step - g0
        i = pos.astype(np.int64)
        frac = (pos - i)[:, None]
        return coarse[i] * (1 - frac) + coarse[i + 1] * frac

    # -- random planning ----------------------------------------------------------------------
    def _plan_until(self, stop: int) -> None:
        win = int(self.PLAN_WINDOW_S * self.rate)
        while self._planned_until * win < stop:
            self._plan_window(self._planned_until, win)
            self._planned_until += 1

    def _plan_window(self, k: int, win: int) -> None:
        rng = np.random.default_rng([self._seed_entropy, 1, k])
        c = self.cfg
        per_window = self.PLAN_WINDOW_S / 60.0
        todo: list[tuple[int, str]] = []
        for kind, per_min in (
            ("spike", c.spikes_per_min),
            ("burst", c.bursts_per_min),
            ("a_train", c.a_trains_per_min),
            ("b_train", c.b_trains_per_min),
            ("c_train", c.c_trains_per_min),
            ("artifact", c.cautery_per_min),
        ):
            for _ in range(rng.poisson(per_min * per_window)):
                todo.append((k * win + int(rng.integers(0, win)), kind))
        # Scheduled events of this window are planned with the random ones, in onset order.
        end = (k + 1) * win
        cut = bisect.bisect_left(self._scheduled, end, key=lambda e: e.onset)
        due, self._scheduled = self._scheduled[:cut], self._scheduled[cut:]
        planned = heapq.merge(
            ((onset, kind, None) for onset, kind in sorted(todo)),
            ((e.onset, e.kind, e) for e in due),
            key=lambda item: item[0],
        )
        for onset, kind, scheduled in planned:
            if scheduled is not None:
                self._place_scheduled(scheduled)
                continue
            if onset < 1 * self.rate:  # a quiet first second
                continue
            channel = int(rng.integers(0, self.n_channels))
            self._make(kind, onset, channel, rng)

    def _make(
        self,
        kind: str,
        onset: int,
        channel: int,
        rng: np.random.Generator,
        duration_s: float | None = None,
        freq_hz: float | None = None,
        amplitude_uv: float | None = None,
        forced: bool = False,
    ) -> TruthEvent:
        if kind not in KINDS:
            raise ValueError(f"Unknown event kind {kind!r}; use one of {', '.join(KINDS)}.")
        if not 0 <= channel < self.n_channels:
            raise ValueError(f"Channel {channel} does not exist ({self.n_channels} channels).")
        maker = getattr(self, f"_w_{kind}")
        waves, peak, freq = maker(rng, channel, duration_s, freq_hz, amplitude_uv)
        length = max(len(w) for w in waves.values())
        main = waves[channel] if channel in waves else next(iter(waves.values()))
        nz = np.flatnonzero(np.abs(main) > 0.02 * np.abs(main).max())
        first, last = (int(nz[0]), int(nz[-1]) + 1) if nz.size else (0, length)
        ev = TruthEvent(
            kind=kind,
            channel=ALL_CHANNELS if kind == "artifact" else channel,
            onset=onset + first,
            offset=onset + last,
            peak_uv=float(peak),
            freq_hz=freq,
        )
        chans = range(self.n_channels) if kind == "artifact" else waves.keys()
        guard = int(0.2 * self.rate)
        if not forced and (
            any(self._busy_until[ch] > onset - guard for ch in chans)
            or self._collides_with_scheduled(chans, onset - guard, onset + length + guard)
        ):
            return ev  # random events never overlap on a channel: the truth stays clean
        for ch in chans:
            self._busy_until[ch] = max(self._busy_until[ch], onset + length)
        self._active.append(_Rendered(onset, waves, onset + length, ev))
        self.truth.append(ev)
        return ev

    # -- event waveforms ------------------------------------------------------------------
    # Each returns ({channel: waveform in µV}, peak-to-peak µV, frequency or None).
    def _w_spike(self, rng, ch, duration_s, freq_hz, amp):
        amp = amp or lognormal_amplitude(rng, 170.0)
        w = unit_potential(rng, self.rate)
        return {ch: amp * w}, amp, None

    def _w_burst(self, rng, ch, duration_s, freq_hz, amp):
        amp = amp or lognormal_amplitude(rng, 220.0)
        dur = duration_s or float(rng.uniform(0.03, 0.3))
        n = max(int(dur * self.rate), 1)
        units = [unit_potential(rng, self.rate) for _ in range(3)]
        out = np.zeros(n + max(len(u) for u in units))
        t = 0
        while t < n:
            u = units[int(rng.integers(0, len(units)))]
            _place(out, t, u, amp * rng.uniform(0.4, 1.0) * rng.choice([-1, 1]))
            t += int(rng.uniform(0.003, 0.03) * self.rate)
        return {ch: out}, float(out.max() - out.min()), None

    def _w_a_train(self, rng, ch, duration_s, freq_hz, amp):
        freq = freq_hz or float(rng.uniform(60, 210))
        dur = duration_s or float(np.exp(rng.uniform(np.log(0.1), np.log(10.0))))
        amp = amp or float(rng.uniform(60, 250))
        period_ms = 1000.0 / freq
        # One unit firing: a template that fits in 70 % of the period, so potentials stay
        # separate; each discharge at its exact (sub-sample) time, with slight shape and
        # amplitude jitter, a little interval jitter and a slow frequency drift.
        sigma = min(rng.uniform(0.35, 0.8), 0.7 * period_ms / 7.0)
        shape, polarity = rng.uniform(0, 1), rng.choice([-1, 1])
        jitter = self.cfg.a_train_interval_cv
        n = int(dur * self.rate)
        out = np.zeros(n + int(8 * sigma * self.rate / 1000) + 4)
        t = 0.0
        mod_f = rng.uniform(0.3, 2.0)
        drift = rng.uniform(-0.05, 0.05)  # relative frequency change over the train
        while t < n:
            frac = t - int(t)
            w = muap(self.rate, sigma * rng.normal(1.0, 0.03), shape, polarity, shift=frac)
            gain = 1.0 + 0.08 * math.sin(2 * math.pi * mod_f * t / self.rate)
            _place(out, int(t), w, amp * gain * rng.normal(1.0, 0.05))
            f_now = freq * (1.0 + drift * t / max(n, 1))
            t += self.rate / f_now * rng.normal(1.0, jitter)
        return {ch: out}, float(out.max() - out.min()), freq

    def _w_b_train(self, rng, ch, duration_s, freq_hz, amp):
        freq = freq_hz or float(rng.uniform(3, 30))
        dur = duration_s or float(rng.uniform(0.8, 4.0))
        amp = amp or float(rng.uniform(60, 300))
        units = [unit_potential(rng, self.rate) for _ in range(2)]
        n = int(dur * self.rate)
        out = np.zeros(n + max(len(u) for u in units))
        t = 0.0
        while t < n:
            u = units[int(rng.integers(0, 2))]
            _place(out, int(t), u, amp * rng.uniform(0.5, 1.0) * rng.choice([-1, 1]))
            t += self.rate / freq * rng.uniform(0.6, 1.4)
        return {ch: out}, float(out.max() - out.min()), freq

    def _w_c_train(self, rng, ch, duration_s, freq_hz, amp):
        dur = duration_s or float(rng.uniform(1.0, 6.0))
        amp = amp or float(rng.uniform(30, 150))
        n = int(dur * self.rate)
        out = np.zeros(n + int(0.01 * self.rate))
        for _ in range(int(rng.integers(6, 15))):
            u = unit_potential(rng, self.rate)
            a = amp * rng.uniform(0.3, 1.0)
            t = rng.uniform(0, 0.1) * self.rate
            rate_hz = rng.uniform(8, 30)
            while t < n:
                _place(out, int(t), u, a)
                t += rng.exponential(self.rate / rate_hz)
        return {ch: out}, float(out.max() - out.min()), None

    def _w_artifact(self, rng, ch, duration_s, freq_hz, amp):
        dur = duration_s or float(rng.uniform(0.3, 4.0))
        amp = amp or float(rng.uniform(800, 5000))  # RMS-ish µV
        n = int(dur * self.rate)
        env = np.ones(n)
        ramp = min(int(0.02 * self.rate), n // 2)
        if ramp:
            env[:ramp] = np.linspace(0, 1, ramp)
            env[-ramp:] = np.linspace(1, 0, ramp)
        # Sparking: the energy comes in irregular surges.
        env *= 0.6 + 0.4 * np.abs(np.sin(2 * np.pi * rng.uniform(2, 8) * np.arange(n) / self.rate))
        hp = signal.butter(2, min(800.0, 0.3 * self.rate), "highpass", fs=self.rate, output="sos")
        waves = {}
        for c in range(self.n_channels):
            x = signal.sosfilt(hp, rng.standard_normal(n))
            waves[c] = amp * rng.uniform(0.6, 1.2) * env * x / (x.std() + 1e-12)
        main = waves[ch]
        return waves, float(main.max() - main.min()), None

    # -- stimulation -------------------------------------------------------------------------
    def _channel_roles(self) -> list[str]:
        """For each channel: 'direct' if its muscle is on the stimulated branch (or the
        nerve itself is stimulated), 'control' if it is on the other side (contralateral
        muscles carry background only: the stimulus reaches one facial nerve), else 'lsr'."""
        site = self.cfg.stim_site.lower()
        trunk = any(w in site for w in _TRUNK_WORDS)
        side = stimulated_side(self.cfg.stim_site, self.cfg.labels)
        roles = []
        for label in self.cfg.labels:
            m = muscle_of(label)
            contralateral = side is not None and side_of(label) not in (None, side)
            if contralateral or (m is not None and m.branch == "trigeminal motor"):
                roles.append("control")  # no facial-nerve response reaches it
                continue
            direct = trunk or (m is not None and m.branch in site)
            roles.append("direct" if direct else "lsr")
        return roles

    def _channel_threshold(self, ch: int) -> float | None:
        thr = self.cfg.threshold_ma
        if isinstance(thr, tuple):
            return thr[ch] if ch < len(thr) else None
        return thr

    def _lsr_state(self, t_s: float) -> tuple[float | None, float]:
        """(LSR threshold or None, amplitude factor 0-1) for a stimulus at ``t_s``."""
        c = self.cfg
        gone = c.lsr_gone_at_s is not None and t_s >= c.lsr_gone_at_s
        if c.lsr_threshold_after_ma is not None:
            return (c.lsr_threshold_after_ma if gone else c.lsr_threshold_ma), 1.0
        if gone:
            return c.lsr_threshold_ma, 0.0
        fade = 1.0
        if c.lsr_fade_stims > 0 and c.lsr_gone_at_s is not None and c.stim_rate_hz > 0:
            left = math.ceil(round((c.lsr_gone_at_s - t_s) * c.stim_rate_hz, 6))
            if left <= c.lsr_fade_stims:
                fade = left / (c.lsr_fade_stims + 1)
        return c.lsr_threshold_ma, fade

    def _lsr_gain(self, label: str) -> tuple[float, float]:
        """Relative LSR amplitude and latency offset per muscle (mentalis most often largest)."""
        m = muscle_of(label)
        key = m.key if m else ""
        return {
            "mentalis": (1.0, -0.8),
            "oris": (0.8, -0.3),
            "depressor": (0.7, -0.5),
            "frontalis": (0.5, 0.6),
            "platysma": (0.4, 0.9),
            "nasalis": (0.6, 0.0),
            "oculi": (0.5, 0.2),
            "zygomaticus": (0.6, 0.1),
        }.get(key, (0.3, 0.0))

    def _stims_until(self, stop: int) -> list[StimMarker]:
        c = self.cfg
        if c.stim_rate_hz <= 0:
            return []
        out: list[StimMarker] = []
        while True:
            t = c.stim_start_s + self._next_stim / c.stim_rate_hz
            idx = round(t * self.rate)
            if idx >= stop:
                return out
            out.append(self._stimulate(idx, self._next_stim))
            self._next_stim += 1

    def _stimulate(self, idx: int, k: int) -> StimMarker:
        c = self.cfg
        rng = np.random.default_rng([self._seed_entropy, 3, k])
        seq = c.stim_currents_ma
        current = seq[k % len(seq)] if seq else c.stim_current_ma
        marker = StimMarker(idx, current, c.stim_width_ms, c.stim_site)
        t_s = idx / self.rate
        lsr_threshold, fade = self._lsr_state(t_s)
        lsr_gain = fade * _recruitment(current, lsr_threshold)
        self._roles = self._channel_roles()  # the site may change while streaming
        waves: dict[int, np.ndarray] = {}
        responses = []
        length = int(0.06 * self.rate)
        art_tau = 0.25e-3 * self.rate
        t = np.arange(length)
        artifact = np.exp(-t / art_tau) - 0.05 * np.exp(-t / (6 * art_tau))
        for ch, label in enumerate(c.labels):
            w = np.zeros(length)
            w += artifact * rng.uniform(400, 1500) * (current / 15.0)
            if self._roles[ch] == "direct":
                recruit = _recruitment(current, self._channel_threshold(ch))
                if recruit <= 0:
                    responses.append(ResponseTruth(False, None, None, "direct"))
                    waves[ch] = w
                    continue
                amp = c.direct_amplitude_uv * recruit * rng.normal(1.0, 0.05)
                lat = c.direct_latency_ms + rng.normal(0, 0.1)
                resp = muap(self.rate, 1.1, 0.7)
                responses.append(self._put_response(w, resp, lat, amp, "direct"))
            elif lsr_gain > 0 and self._roles[ch] == "lsr":
                gain, offset = self._lsr_gain(label)
                amp = c.lsr_amplitude_uv * lsr_gain * gain * rng.normal(1.0, 0.12)
                lat = c.lsr_latency_ms + offset + rng.normal(0, 0.15)
                a = muap(self.rate, 0.9, 0.6)
                b = muap(self.rate, 0.7, 0.2, -1)
                shift = int(1.6e-3 * self.rate)
                resp = np.zeros(len(a) + shift + len(b))
                resp[: len(a)] += a
                resp[shift : shift + len(b)] += 0.6 * b
                resp /= resp.max() - resp.min()
                responses.append(self._put_response(w, resp, lat, amp, "lsr"))
            else:
                responses.append(ResponseTruth(False, None, None, "lsr"))
            waves[ch] = w
        self._active.append(_Rendered(idx, waves, idx + length))
        self.stim_truth.append(StimTruth(marker, tuple(responses)))
        return marker

    def _put_response(
        self, buf: np.ndarray, resp: np.ndarray, latency_ms: float, amp: float, kind: str
    ) -> ResponseTruth:
        """Place ``resp`` so that its onset is at ``latency_ms``; return the truth."""
        onset = _onset_of(resp)
        start = round(latency_ms * self.rate / 1000.0) - onset
        _place(buf, start, resp, amp)
        true_latency = (start + onset) * 1000.0 / self.rate
        return ResponseTruth(True, true_latency, float(abs(amp)), kind)
