"""Free-running facial EMG with exact truth: A-trains and what must not be taken for one.

Patterns after Romstöck, Strauss & Fahlbusch (2000), built from the models of
:mod:`validation.waveforms`, :mod:`validation.firing` and :mod:`validation.interference`:

- **A-train**: one motor unit discharging at 60-210 Hz, sudden onset and end, near-
  identical potentials. The potential's duration is set relative to the period
  (``overlap = MUAP duration / period``): 0.2 gives separated spiky potentials, 1 and more
  overlapping ones whose sum is sinusoid-like. Intervals are Gaussian with a CV of 0-5 %
  (Clamann 1969), each potential's amplitude varies (uniform ``±amp_var``) and the train
  waxes and wanes slowly (``wax_depth`` at ``wax_hz``). The stated amplitude is what one
  sees: the median over the discharges of the peak-to-peak of the noise-free train
  around each potential, overlaps included.
- **Spike**: a single bi- or triphasic potential (2-8 ms, 50-800 µV).
- **Burst** (irregular): 4-16 potentials of 1-3 motor units with gamma intervals of CV
  0.5-0.8 (no rhythm), 30-400 ms.
- **B-train**: one unit's spikes at a low rate (3-30 Hz) for 1-5 s, regular to
  irregular (CV 0.05-0.3).
- **C-train**: an interference pattern: 10-25 units each firing at 8-20 Hz with CV 0.2
  (Fuglevand et al. 1993), recruited over 0.3 s, for 2-10 s.
- **Cautery**: broadband amplitude-modulated noise on all channels for 0.5-3 s
  (:func:`validation.interference.cautery`).

The truth (:class:`TruthEvent`) gives each event's kind, channel (``-1`` for all),
onset and offset sample (the first and one-past-last sample of the potentials' supports,
:func:`validation.waveforms.support`), amplitude (peak-to-peak, noise-free) and frequency.
The same seed gives the same signal; the parts of a case draw from separate random
streams, so that two cases differing in one factor (the hum, say) share the rest.

References
----------
Romstöck J, Strauss C, Fahlbusch R. Continuous electromyography monitoring of motor
cranial nerves during cerebellopontine angle surgery. J Neurosurg 2000;93:586-593.
Clamann HP. Biophys J 1969;9:1233-1251. Fuglevand AJ et al. J Neurophysiol
1993;70:2470-2488 (full references in :mod:`validation.firing`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from validation.firing import Timeline, gamma_discharges, gaussian_discharges
from validation.interference import Background, cautery, clip
from validation.waveforms import SHAPE_FAMILIES, place, random_shape, support

#: Channel labels (the monitor's montage recognises the muscles in them).
LABELS = ("L Orb. oculi", "L Orb. oris", "L Mentalis", "L Frontalis")
#: Truth kinds: the values of ``monitor.events.EventKind``.
A_TRAIN, SPIKE, BURST, B_TRAIN, C_TRAIN, ARTIFACT = (
    "a_train",
    "spike",
    "burst",
    "b_train",
    "c_train",
    "artifact",
)


@dataclass(frozen=True, slots=True)
class TruthEvent:
    """One generated event.

    Attributes
    ----------
    kind : str
        ``"a_train"``, ``"spike"``, ``"burst"``, ``"b_train"``, ``"c_train"`` or
        ``"artifact"`` (cautery).
    channel : int
        Channel number, ``-1`` for all channels.
    onset, offset : int
        First and one-past-last sample.
    amplitude_uv : float
        Peak-to-peak without noise (an A-train: see the module docstring).
    freq_hz : float or None
        Mean discharge rate of a train.
    """

    kind: str
    channel: int
    onset: int
    offset: int
    amplitude_uv: float
    freq_hz: float | None = None


@dataclass(frozen=True, slots=True)
class ATrain:
    """The A-trains of a case.

    Attributes
    ----------
    freq_hz : float
        Discharge rate (60-210 Hz).
    overlap : float
        Potential duration over the period: 0.2 spiky, >= 1 overlapping, sinusoid-like.
    jitter_cv : float
        CV of the inter-discharge interval (0-0.05).
    amplitude_uv : float
        Peak-to-peak (30 µV-2 mV).
    amp_var : float
        Each potential's amplitude varies uniformly within ``±amp_var``.
    wax_depth, wax_hz : float
        Slow sinusoidal waxing and waning of the amplitude.
    duration_s : float
        From the first potential's start to the last one's end (0.1-30 s).
    shape : str
        ``"hermite"`` or ``"tripole"`` (:mod:`validation.waveforms`).
    rate_change : float
        Relative change of the rate over the train.
    """

    freq_hz: float = 120.0
    overlap: float = 0.5
    jitter_cv: float = 0.01
    amplitude_uv: float = 200.0
    amp_var: float = 0.10
    wax_depth: float = 0.10
    wax_hz: float = 0.5
    duration_s: float = 1.0
    shape: str = "hermite"
    rate_change: float = 0.0

    @property
    def muap_s(self) -> float:
        return self.overlap / self.freq_hz


@dataclass(frozen=True, slots=True)
class FreeRunCase:
    """One free-running case: background, A-trains and distractors.

    A-trains (``trains_per_channel`` on each channel) are laid out first: after
    ``lead_in_s``, ``gap_s`` apart on a channel, staggered between channels so that
    trains on different channels overlap in time when they are long, and the last train
    of every channel starting together (an A-train cluster, Rampp et al. 2019). The
    distractors (rates per minute and channel; cautery per minute on all channels) go at
    random into the free stretches.
    """

    background: Background = field(default_factory=Background)
    a_train: ATrain | None = None
    trains_per_channel: int = 4
    n_channels: int = 3
    rate: float = 10_000.0
    duration_s: float = 60.0  # without A-trains; with them the layout sets it
    lead_in_s: float = 4.0
    gap_s: float = 2.0
    spikes_per_min: float = 0.0
    bursts_per_min: float = 0.0
    b_trains_per_min: float = 0.0
    c_trains_per_min: float = 0.0
    cautery_per_min: float = 0.0
    rail_uv: float = 10_000.0

    @property
    def labels(self) -> tuple[str, ...]:
        if not 1 <= self.n_channels <= len(LABELS):
            raise ValueError(f"a free-run case has 1 to {len(LABELS)} channels")
        return LABELS[: self.n_channels]

    def layout_duration_s(self) -> float:
        if self.a_train is None or self.trains_per_channel == 0:
            return self.duration_s
        slot = self.a_train.duration_s + self.gap_s
        return self.lead_in_s + self.trains_per_channel * slot + 0.4 * slot + 2.0


@dataclass(frozen=True, eq=False)
class FreeRunSignal:
    """A generated case: samples ``(n, channels)`` in µV (float32) and the truth."""

    data: np.ndarray
    rate: float
    labels: tuple[str, ...]
    truth: tuple[TruthEvent, ...]
    case: FreeRunCase

    @property
    def duration_s(self) -> float:
        return len(self.data) / self.rate

    def events(self, kind: str) -> list[TruthEvent]:
        return [e for e in self.truth if e.kind == kind]


# -- A-trains -----------------------------------------------------------------------------
def a_train_wave(
    spec: ATrain, onset_s: float, rate: float, n: int, rng: np.random.Generator
) -> tuple[np.ndarray, TruthEvent]:
    """One A-train as a full-length trace (``n`` samples) and its truth (channel 0)."""
    d = spec.muap_s
    first = onset_s + d / 2
    last = onset_s + max(spec.duration_s, d) - d / 2
    centres = gaussian_discharges(first, last, spec.freq_hz, spec.jitter_cv, rng, spec.rate_change)
    phase = rng.uniform(0, 2 * np.pi)
    amps = (1.0 + spec.amp_var * rng.uniform(-1, 1, len(centres))) * (
        1.0 + spec.wax_depth * np.sin(2 * np.pi * spec.wax_hz * (centres - first) + phase)
    )
    shape = random_shape(rng, spec.shape)
    spans = [support(rate, c, d) for c in centres]
    if spans[0][0] < 0 or spans[-1][1] > n:
        raise ValueError("the A-train does not fit in the trace")
    wave = np.zeros(n)
    place(wave, rate, centres, amps, shape, d)
    seen = np.median([np.ptp(wave[a:b]) for a, b in spans])
    wave *= spec.amplitude_uv / seen
    freq = (len(centres) - 1) / (centres[-1] - centres[0]) if len(centres) > 1 else spec.freq_hz
    truth = TruthEvent(A_TRAIN, 0, spans[0][0], spans[-1][1], spec.amplitude_uv, float(freq))
    return wave, truth


def _a_train_onsets(case: FreeRunCase, rng: np.random.Generator) -> list[list[float]]:
    """Onsets per channel: staggered slots, then a cluster (all channels together)."""
    assert case.a_train is not None
    slot = case.a_train.duration_s + case.gap_s
    k = case.trains_per_channel
    onsets: list[list[float]] = []
    for ch in range(case.n_channels):
        stagger = 0.4 * slot * ch / max(case.n_channels - 1, 1)
        times = [case.lead_in_s + i * slot + stagger for i in range(k - 1)]
        times.append(case.lead_in_s + (k - 1) * slot + 0.4 * slot + rng.uniform(0, 0.005))
        onsets.append(times)
    return onsets


# -- distractors ---------------------------------------------------------------------------
def _spike(wave: np.ndarray, rate: float, t: float, rng: np.random.Generator) -> TruthEvent:
    d = rng.uniform(0.002, 0.008)
    amp = float(np.exp(rng.uniform(np.log(50), np.log(800))))
    shape = random_shape(rng, str(rng.choice(SHAPE_FAMILIES)))
    place(wave, rate, np.array([t + d / 2]), np.array([amp]), shape, d)
    a, b = support(rate, t + d / 2, d)
    return TruthEvent(SPIKE, 0, a, b, amp)


def _burst_plan(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, list, float]:
    n = int(rng.integers(4, 17))
    centres = gamma_discharges(0.0, n, rng.uniform(0.008, 0.025), rng.uniform(0.5, 0.8), rng)
    units = [
        (random_shape(rng, "hermite"), float(np.exp(rng.uniform(np.log(80), np.log(600)))))
        for _ in range(int(rng.integers(1, 4)))
    ]
    which = rng.integers(0, len(units), n)
    amps = np.array([units[u][1] for u in which]) * rng.uniform(0.6, 1.4, n)
    return centres, amps, [units[u][0] for u in which], float(rng.uniform(0.002, 0.006))


def _burst(wave: np.ndarray, rate: float, t: float, plan: tuple) -> TruthEvent:
    centres, amps, shapes, d = plan
    local = np.zeros_like(wave)
    for c, a, s in zip(centres, amps, shapes, strict=True):
        place(local, rate, np.array([t + d / 2 + c]), np.array([a]), s, d)
    a0, _ = support(rate, t + d / 2, d)
    _, b0 = support(rate, t + d / 2 + centres[-1], d)
    wave += local
    return TruthEvent(BURST, 0, a0, b0, float(np.ptp(local[a0:b0])))


def _b_train(
    wave: np.ndarray, rate: float, t: float, length: float, rng: np.random.Generator
) -> TruthEvent:
    hz = rng.uniform(3.0, 30.0)
    d = rng.uniform(0.002, 0.006)
    centres = gaussian_discharges(t + d / 2, t + length - d / 2, hz, rng.uniform(0.05, 0.3), rng)
    amp = float(np.exp(rng.uniform(np.log(50), np.log(500))))
    amps = amp * rng.uniform(0.8, 1.2, len(centres))
    place(wave, rate, centres, amps, random_shape(rng, str(rng.choice(SHAPE_FAMILIES))), d)
    a, _ = support(rate, centres[0], d)
    _, b = support(rate, centres[-1], d)
    return TruthEvent(B_TRAIN, 0, a, b, amp, float(hz))


def _c_train(
    wave: np.ndarray, rate: float, t: float, length: float, rng: np.random.Generator
) -> TruthEvent:
    local = np.zeros_like(wave)
    rates = []
    first, last = np.inf, -np.inf
    for _ in range(int(rng.integers(10, 26))):
        hz = rng.uniform(8.0, 20.0)
        d = rng.uniform(0.003, 0.008)
        start = t + rng.uniform(0.0, 0.3) + d / 2
        stop = t + length - rng.uniform(0.0, 0.3) - d / 2
        centres = gaussian_discharges(start, stop, hz, 0.2, rng)
        amp = float(np.exp(rng.uniform(np.log(20), np.log(150))))
        shape = random_shape(rng, str(rng.choice(SHAPE_FAMILIES)))
        place(local, rate, centres, amp * rng.uniform(0.9, 1.1, len(centres)), shape, d)
        first = min(first, support(rate, centres[0], d)[0])
        last = max(last, support(rate, centres[-1], d)[1])
        rates.append(hz)
    wave += local
    a, b = int(first), int(last)
    return TruthEvent(C_TRAIN, 0, a, b, float(np.ptp(local[a:b])), float(np.mean(rates)))


def _count(per_min: float, minutes: float, rng: np.random.Generator) -> int:
    return int(rng.poisson(per_min * minutes)) if per_min > 0 else 0


# -- the case ------------------------------------------------------------------------------
def generate_freerun(case: FreeRunCase, seed: int) -> FreeRunSignal:
    """Render ``case`` with ``seed``: the same arguments give the same signal."""
    rate = case.rate
    duration = case.layout_duration_s()
    n = round(duration * rate)
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(4)]
    r_bg, r_trains, r_place, r_distract = streams
    data = case.background.render(n, rate, case.n_channels, r_bg)
    timeline = Timeline(case.n_channels, duration, guard_s=0.4)
    truth: list[TruthEvent] = []

    if case.a_train is not None and case.trains_per_channel > 0:
        for ch, onsets in enumerate(_a_train_onsets(case, r_trains)):
            for t in onsets:
                wave, ev = a_train_wave(case.a_train, t, rate, n, r_trains)
                data[:, ch] += wave
                truth.append(_on_channel(ev, ch))
                timeline.take(ch, ev.onset / rate, ev.offset / rate)

    minutes = duration / 60.0
    lead = min(case.lead_in_s, 2.0)  # the detector's first seconds learn the noise
    episodes = []  # cautery first: the longest events need the emptiest timeline
    for _ in range(_count(case.cautery_per_min, minutes, r_place)):
        length = r_distract.uniform(0.5, 3.0)
        t = timeline.find(-1, length, r_place, lead)
        if t is not None:
            episodes.append((round(t * rate), round((t + length) * rate)))
    for ch in range(case.n_channels):
        data[:, ch] += _distractors(
            case, ch, n, minutes, lead, timeline, truth, r_place, r_distract
        )
    if episodes:
        noise = cautery(n, rate, case.n_channels, episodes, 1.0, r_distract)
        for a, b in episodes:
            rms = r_distract.uniform(200.0, 1500.0)
            data[a:b] += noise[a:b] * rms / np.sqrt(np.mean(noise[a:b] ** 2))
            truth.append(TruthEvent(ARTIFACT, -1, a, b, float(np.ptp(data[a:b]))))

    data = clip(data, case.rail_uv).astype(np.float32)
    truth.sort(key=lambda e: (e.onset, e.channel))
    return FreeRunSignal(data, rate, case.labels, tuple(truth), case)


def _distractors(
    case: FreeRunCase,
    ch: int,
    n: int,
    minutes: float,
    lead: float,
    timeline: Timeline,
    truth: list[TruthEvent],
    r_place: np.random.Generator,
    r_distract: np.random.Generator,
) -> np.ndarray:
    """One channel's spikes, bursts, B- and C-trains in its free stretches (truth appended)."""
    rate = case.rate
    wave = np.zeros(n)
    # Longest first, so that they still find room between the many short ones.
    for _ in range(_count(case.c_trains_per_min, minutes, r_place)):
        length = r_distract.uniform(2.0, 10.0)
        t = timeline.find(ch, length, r_place, lead)
        if t is not None:
            truth.append(_on_channel(_c_train(wave, rate, t, length, r_distract), ch))
    for _ in range(_count(case.b_trains_per_min, minutes, r_place)):
        length = r_distract.uniform(1.0, 5.0)
        t = timeline.find(ch, length, r_place, lead)
        if t is not None:
            truth.append(_on_channel(_b_train(wave, rate, t, length, r_distract), ch))
    for _ in range(_count(case.bursts_per_min, minutes, r_place)):
        plan = _burst_plan(r_distract)
        t = timeline.find(ch, float(plan[0][-1]) + plan[3], r_place, lead)
        if t is not None:
            truth.append(_on_channel(_burst(wave, rate, t, plan), ch))
    for _ in range(_count(case.spikes_per_min, minutes, r_place)):
        t = timeline.find(ch, 0.01, r_place, lead)
        if t is not None:
            truth.append(_on_channel(_spike(wave, rate, t, r_distract), ch))
    return wave


def _on_channel(ev: TruthEvent, channel: int) -> TruthEvent:
    return TruthEvent(ev.kind, channel, ev.onset, ev.offset, ev.amplitude_uv, ev.freq_hz)
