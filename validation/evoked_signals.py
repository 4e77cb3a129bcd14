"""Stimulated facial EMG with exact truth per sweep: direct response, LSR and contamination.

A continuous multichannel signal with stimulus markers at 0.5-2 Hz on one facial-nerve
branch (zygomatic by default). Per stimulus:

- **Stimulus artefact** on every channel (:func:`validation.interference.stimulus_artefact`:
  the pulse, then a fast exponential, McGill et al. 1982), larger on the channel nearest
  the stimulating needle.
- **Direct M-response** in the stimulated branch's own muscle: a compound muscle action
  potential, the sum of ~10 motor-unit potentials whose latencies spread over ~1.5 ms
  (temporal dispersion), onset 3-5 ms, 1-3 mV.
- **Lateral spread response** (LSR, abnormal muscle response) in the muscles of the other
  branches: a smaller, polyphasic response (3-6 units dispersed over ~3 ms), onset about
  10 ms (8.7 ms mentalis, 9.1 ms orbicularis oculi before decompression: docs/clinical.md §1),
  which varies from sweep to sweep (amplitude ``±lsr_var``, latency jitter
  ``lsr_jitter_ms``) as a late response does (Møller & Jannetta 1986).

The course of a case: the LSR can shrink (``shrink_at_s``, to ``shrink_to``) and
disappear (``lsr_gone_at_s``: decompression) while the direct response stays; or the
stimulation can be lost (``stim_lost_at_s``: the stimulating needle slipped), which takes
the direct response *and* the LSR away and changes the artefact; a monitor must not call
that a disappearance.

Contaminated sweeps (every ``contaminate_every``-th sweep from ``contaminate_from``,
cycling through ``contaminations``), on the channels they touch:

- ``"cautery"``: electrocautery from 300 ms before to 150 ms after the pulse, all channels;
- ``"saturation"``: a large transient drives one channel into the amplifier's rail from
  10 ms before the pulse until ~80 ms after it (clipped flat);
- ``"step"``: a movement step of 1-3 mV on one channel between 5 ms before and 6 ms after
  the pulse, recovering with tau 20-60 ms;
- ``"a_train"``: an A-train (100 Hz, 150 µV) on one LSR channel from 350 ms before to
  80 ms after the pulse, filling the pre-stimulus stretch and the response window.

The truth (:class:`SweepTruth`) says for every stimulus and channel whether the response
is present, absent or contaminated (with the reason), its peak-to-peak amplitude and its
onset latency. Background, hum and drift as in :class:`validation.interference.Background`.

References
----------
Møller AR, Jannetta PJ. Physiological abnormalities in hemifacial spasm studied during
microvascular decompression operations. Exp Neurol 1986;93:584-600.
McGill KC et al. IEEE Trans Biomed Eng 1982;29:129-137 (see :mod:`validation.interference`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from monitor.block import StimMarker
from validation.freerun_signals import ATrain, a_train_wave
from validation.interference import Background, add_step, add_stimulus_artefact, cautery, clip
from validation.waveforms import place, random_shape, support

PRESENT, ABSENT, CONTAMINATED = "present", "absent", "contaminated"
KIND_LSR, KIND_DIRECT = "lsr", "direct"
CONTAMINATIONS = ("cautery", "saturation", "step", "a_train")


@dataclass(frozen=True, slots=True)
class Channel:
    """A recorded muscle: its label and the facial-nerve branch that supplies it."""

    label: str
    branch: str
    lsr_latency_ms: float = 9.5


#: Orbicularis oculi (zygomatic), orbicularis oris (buccal), mentalis (marginal
#: mandibular), frontalis (temporal). LSR onsets: docs/clinical.md §1 for mentalis and oculi,
#: ~10 ms for the others.
FACIAL_CHANNELS = (
    Channel("L Orb. oculi", "zygomatic", 9.1),
    Channel("L Orb. oris", "buccal", 9.4),
    Channel("L Mentalis", "marginal mandibular", 8.7),
    Channel("L Frontalis", "temporal", 10.2),
)


@dataclass(frozen=True, slots=True)
class EvokedCase:
    """One stimulated case (times in s from the start of the signal).

    ``site`` names the stimulated branch; channels on it carry the direct response, the
    others the LSR. ``lsr_uv`` and ``direct_uv`` are peak-to-peak.
    """

    background: Background = field(default_factory=Background)
    channels: tuple[Channel, ...] = FACIAL_CHANNELS
    site: str = "zygomatic"
    rate: float = 10_000.0
    stim_hz: float = 2.0
    n_sweeps: int = 80
    lead_in_s: float = 2.0
    current_ma: float = 15.0
    width_ms: float = 0.2
    lsr_uv: float = 200.0
    lsr_var: float = 0.2
    lsr_jitter_ms: float = 0.3
    direct_uv: float = 2000.0
    direct_latency_ms: float = 3.5
    shrink_at_s: float | None = None
    shrink_to: float = 0.5
    lsr_gone_at_s: float | None = None
    stim_lost_at_s: float | None = None
    contaminate_every: int = 0
    contaminate_from: int = 10
    contaminations: tuple[str, ...] = CONTAMINATIONS
    artefact_uv: float = 1500.0
    artefact_tau_ms: float = 0.4
    rail_uv: float = 5000.0

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(c.label for c in self.channels)

    def stim_times_s(self) -> np.ndarray:
        return self.lead_in_s + np.arange(self.n_sweeps) / self.stim_hz

    def duration_s(self) -> float:
        return self.lead_in_s + self.n_sweeps / self.stim_hz + 0.5


@dataclass(frozen=True, slots=True)
class SweepTruth:
    """What one channel did after one stimulus.

    Attributes
    ----------
    stim_number : int
        1-based.
    stim_index : int
        Sample of the pulse.
    kind : str
        ``"lsr"`` or ``"direct"``.
    state : str
        ``"present"``, ``"absent"`` or ``"contaminated"``.
    reason : str
        The contamination (``"cautery"``, ``"saturation"``, ``"step"``, ``"a_train"``) or
        ``""``.
    amplitude_uv : float
        Peak-to-peak of the response put there (0 when none).
    latency_ms : float or None
        Onset of the response after the pulse.
    stimulated : bool
        False once the stimulation is lost.
    """

    stim_number: int
    stim_index: int
    channel: int
    label: str
    kind: str
    state: str
    reason: str
    amplitude_uv: float
    latency_ms: float | None
    stimulated: bool = True


@dataclass(frozen=True, eq=False)
class EvokedSignal:
    """A generated stimulated case: samples, markers and truth."""

    data: np.ndarray
    rate: float
    labels: tuple[str, ...]
    markers: tuple[StimMarker, ...]
    sweeps: tuple[SweepTruth, ...]
    case: EvokedCase
    disappeared_at_s: float | None  # first sweep of a true LSR disappearance
    stim_lost_at_s: float | None  # first sweep without stimulation

    @property
    def duration_s(self) -> float:
        return len(self.data) / self.rate


def _branches(site: str) -> set[str]:
    s = site.lower()
    return {
        c for c in ("zygomatic", "buccal", "marginal mandibular", "temporal", "cervical") if c in s
    }


@dataclass(frozen=True, eq=False)
class _Response:
    """A channel's response template: units with fixed shapes and relative delays."""

    shapes: tuple
    delays_ms: np.ndarray
    weights: np.ndarray
    durations_ms: np.ndarray

    @staticmethod
    def make(rng: np.random.Generator, units: int, spread_ms: float, dur_ms: tuple) -> _Response:
        return _Response(
            tuple(random_shape(rng, "hermite") for _ in range(units)),
            np.sort(rng.uniform(0.0, spread_ms, units)),
            rng.uniform(0.4, 1.0, units) * rng.choice((-1.0, 1.0), units),
            rng.uniform(*dur_ms, units),
        )

    def render(
        self, out: np.ndarray, rate: float, onset_s: float, ptp: float, rng: np.random.Generator
    ) -> tuple[float, int]:
        """Add one response whose earliest unit starts at ``onset_s`` to the trace ``out``;
        return its peak-to-peak and first sample."""
        weights = self.weights * rng.uniform(0.85, 1.15, len(self.weights))
        centres = onset_s + (self.delays_ms + self.durations_ms / 2) / 1000
        spans = [
            support(rate, c, d / 1000) for c, d in zip(centres, self.durations_ms, strict=True)
        ]
        first, last = min(a for a, _ in spans), max(b for _, b in spans)
        local = np.zeros(last - first)
        for s, c, w, dur in zip(self.shapes, centres, weights, self.durations_ms, strict=True):
            place(local, rate, np.array([c - first / rate]), np.array([w]), s, dur / 1000)
        out[first:last] += local * (ptp / np.ptp(local))
        return ptp, first


def generate_evoked(case: EvokedCase, seed: int) -> EvokedSignal:
    """Render ``case`` with ``seed``: the same arguments give the same signal."""
    rate = case.rate
    n = round(case.duration_s() * rate)
    n_ch = len(case.channels)
    r_bg, r_shape, r_sweep, r_contam = (
        np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(4)
    )
    data = case.background.render(n, rate, n_ch, r_bg)
    stimulated_branches = _branches(case.site)
    direct = [c.branch in stimulated_branches for c in case.channels]
    templates = [
        _Response.make(r_shape, 10, 1.5, (3.0, 6.0))
        if d
        else _Response.make(r_shape, int(r_shape.integers(3, 7)), 3.0, (2.5, 5.0))
        for d in direct
    ]
    # The nearest channel (a direct one) sees the largest artefact; polarity per channel.
    art_gain = np.where(direct, 1.0, r_shape.uniform(0.2, 0.6, n_ch)) * r_shape.choice(
        (-1.0, 1.0), n_ch
    )
    ac_extra = np.zeros((n, n_ch))  # artefacts added after the background, before clipping
    markers: list[StimMarker] = []
    truths: list[SweepTruth] = []
    contaminated: dict[int, tuple[str, tuple[int, ...]]] = {}
    lsr_channels = [ch for ch in range(n_ch) if not direct[ch]]
    disappeared_at = stim_lost_at = None

    for k, t in enumerate(case.stim_times_s()):
        pulse = round(t * rate)
        stimulated = case.stim_lost_at_s is None or t < case.stim_lost_at_s
        if not stimulated and stim_lost_at is None:
            stim_lost_at = float(t)
        lsr_on = (
            stimulated
            and case.lsr_uv > 0
            and (case.lsr_gone_at_s is None or t < case.lsr_gone_at_s)
        )
        if (
            stimulated
            and not lsr_on
            and case.lsr_uv > 0
            and case.lsr_gone_at_s is not None
            and disappeared_at is None
        ):
            disappeared_at = float(t)
        scale = case.shrink_to if case.shrink_at_s is not None and t >= case.shrink_at_s else 1.0
        markers.append(StimMarker(pulse, case.current_ma, case.width_ms, case.site))
        for ch in range(n_ch):
            amp = case.artefact_uv * art_gain[ch] * (1.0 if stimulated else 0.6)
            add_stimulus_artefact(
                ac_extra[:, ch], rate, pulse, amp, case.width_ms, case.artefact_tau_ms
            )
        if (
            case.contaminate_every
            and k >= case.contaminate_from
            and (k - case.contaminate_from) % case.contaminate_every == 0
        ):
            i = (k - case.contaminate_from) // case.contaminate_every
            reason = case.contaminations[i % len(case.contaminations)]
            chans = _contaminate(reason, ac_extra, rate, pulse, lsr_channels, r_contam, case)
            contaminated[k] = (reason, chans)
        for ch, chan in enumerate(case.channels):
            kind = KIND_DIRECT if direct[ch] else KIND_LSR
            on = stimulated and case.direct_uv > 0 if direct[ch] else lsr_on
            amp, latency = 0.0, None
            if on:
                if direct[ch]:
                    onset_ms = case.direct_latency_ms + r_sweep.normal(0, 0.05)
                    ptp = case.direct_uv * r_sweep.uniform(0.95, 1.05)
                else:
                    onset_ms = chan.lsr_latency_ms + r_sweep.normal(0, case.lsr_jitter_ms)
                    ptp = case.lsr_uv * scale * r_sweep.uniform(1 - case.lsr_var, 1 + case.lsr_var)
                amp, first = templates[ch].render(
                    data[:, ch], rate, t + onset_ms / 1000, ptp, r_sweep
                )
                latency = (first - pulse) * 1000 / rate
            state, why = (PRESENT if on else ABSENT), ""
            if k in contaminated and ch in contaminated[k][1]:
                state, why = CONTAMINATED, contaminated[k][0]
            truths.append(
                SweepTruth(k + 1, pulse, ch, chan.label, kind, state, why, amp, latency, stimulated)
            )
    data = clip(data + ac_extra, case.rail_uv).astype(np.float32)
    return EvokedSignal(
        data,
        rate,
        case.labels,
        tuple(markers),
        tuple(truths),
        case,
        disappeared_at,
        stim_lost_at,
    )


def _contaminate(
    reason: str,
    out: np.ndarray,
    rate: float,
    pulse: int,
    lsr_channels: list[int],
    rng: np.random.Generator,
    case: EvokedCase,
) -> tuple[int, ...]:
    """Add one contamination around ``pulse`` to ``out``; return the channels it touches."""
    n, n_ch = out.shape
    if reason == "cautery":
        a, b = pulse - round(0.3 * rate), pulse + round(0.15 * rate)
        out += cautery(n, rate, n_ch, [(a, b)], rng.uniform(300.0, 1500.0), rng)
        return tuple(range(n_ch))
    if reason == "saturation":
        ch = int(rng.choice(lsr_channels))
        sign = rng.choice((-1.0, 1.0))
        add_step(out[:, ch], rate, pulse - round(0.01 * rate), sign * 3 * case.rail_uv, 80.0)
        return (ch,)
    if reason == "step":
        ch = int(rng.integers(0, n_ch))
        at = pulse + round(rng.uniform(-0.005, 0.006) * rate)
        amp = rng.choice((-1.0, 1.0)) * rng.uniform(1000.0, 3000.0)
        add_step(out[:, ch], rate, at, amp, rng.uniform(20.0, 60.0))
        return (ch,)
    if reason == "a_train":
        ch = int(rng.choice(lsr_channels))
        spec = ATrain(freq_hz=100.0, overlap=0.5, amplitude_uv=150.0, duration_s=0.43)
        wave, _ = a_train_wave(spec, pulse / rate - 0.35, rate, n, rng)
        out[:, ch] += wave
        return (ch,)
    raise ValueError(f"unknown contamination {reason!r}; known: {', '.join(CONTAMINATIONS)}")
