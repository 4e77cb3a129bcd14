"""What a training scenario says: the case, its montage, phases, scripted events and
what the monitor is expected to do (``docs/scenarios.md``; parsed by
:mod:`simulation.scenario_parser`, run by :mod:`simulation.scenario_engine`).

Times here are case seconds from the start of the scenario; channels are numbered from 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from simulation.emgsynth import SimConfig

#: The spontaneous-activity rates a baseline or a phase may set, events per minute.
RATE_KEYS = (
    "spikes_per_min",
    "bursts_per_min",
    "a_trains_per_min",
    "b_trains_per_min",
    "c_trains_per_min",
    "cautery_per_min",
)

#: Scenario event kinds that are EMG (or cautery) waveforms, and the simulator's name.
EMG_KINDS = {
    "spike": "spike",
    "burst": "burst",
    "a_train": "a_train",
    "b_train": "b_train",
    "c_train": "c_train",
    "cautery": "artifact",
}
#: Scenario event kinds that change the recording set-up instead.
TECHNICAL_KINDS = ("lead_off", "lead_on", "disconnect")
EVENT_KINDS = (*EMG_KINDS, *TECHNICAL_KINDS)

TRAIN_TIME_LEVELS = ("none", "warning", "high")


@dataclass(frozen=True, slots=True)
class Phase:
    """A surgical phase from ``start_s`` to the next phase (or the end of the case);
    ``rates`` override the baseline's spontaneous activity while it lasts."""

    name: str
    start_s: float
    rates: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ScriptedEvent:
    """One ``[[event]]``: ``count`` occurrences, ``every_s`` apart, from ``at_s``.

    ``channel`` is None for cautery and disconnect (they concern every channel). Unset
    waveform parameters are drawn at random (reproducibly, from the case's seed).
    """

    at_s: float
    kind: str
    channel: int | None = None
    duration_s: float | None = None
    freq_hz: float | None = None
    amplitude_uv: float | None = None
    needle: str = "reference"
    count: int = 1
    every_s: float = 0.0
    line: int = 0  # where it is written, for messages

    def times(self) -> list[float]:
        """Case seconds of each occurrence."""
        return [self.at_s + k * self.every_s for k in range(self.count)]


@dataclass(frozen=True, slots=True)
class Stimulation:
    rate_hz: float = 1.0  # 0: no stimulation
    current_ma: float = 15.0
    width_ms: float = 0.2
    site: str = "zygomatic"
    start_s: float = 2.0


@dataclass(frozen=True, slots=True)
class LsrSpec:
    """The lateral spread response: present from the start, gone at ``gone_at_s`` (None:
    it persists to the end), fading over ``fade_stims`` stimuli before it goes."""

    amplitude_uv: float = 150.0
    latency_ms: float = 10.0
    gone_at_s: float | None = None
    fade_stims: int = 0


@dataclass(frozen=True, slots=True)
class Expectations:
    """What the monitor must do for the case to pass (``[expect]``); None = not checked.

    Attributes
    ----------
    a_trains_detected : bool or None
        Every A-train of the truth detected on its channel within ``detect_within_s``.
    train_time_alarm : str or None
        The highest train-time alarm the monitor must raise: ``"none"``, ``"warning"``
        (0.5 s) or ``"high"`` (10 s); on each of ``train_time_channels`` if given.
    train_time_tolerance_pct : float or None
        Each channel's train time within this % of the truth (and 0.2 s).
    lsr_call_within_s : float or None
        The LSR's disappearance called at most this long after it happened, never
        before; when it persists, never called.
    technical_alarm_within_s : float or None
        Each lead-off and disconnection gives a technical alarm within this time.
    cautery_marked : bool or None
        Every cautery episode marked as artifact, no A-train alarm raised inside one.
    no_false_alarms : bool or None
        Every alarm the monitor raised is explained by the truth.
    lines : dict
        Where each expectation is written.
    """

    a_trains_detected: bool | None = None
    detect_within_s: float = 1.0
    train_time_alarm: str | None = None
    train_time_channels: tuple[int, ...] = ()
    train_time_tolerance_pct: float | None = None
    lsr_call_within_s: float | None = None
    technical_alarm_within_s: float | None = None
    cautery_marked: bool | None = None
    no_false_alarms: bool | None = None
    lines: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Scenario:
    """A whole training case, validated."""

    path: str
    title: str
    teaching: str
    duration_s: float
    labels: tuple[str, ...]
    seed: int = 1
    rate: float = 10_000.0
    side: str = "left"
    noise_uv: float = 3.0
    mains_uv: float = 1.5
    mains_hz: float = 50.0
    drift_uv: float = 40.0
    rates: dict[str, float] = field(default_factory=dict)  # baseline activity
    stimulation: Stimulation = field(default_factory=Stimulation)
    lsr: LsrSpec = field(default_factory=LsrSpec)
    phases: tuple[Phase, ...] = ()
    events: tuple[ScriptedEvent, ...] = ()
    expect: Expectations = field(default_factory=Expectations)
    #: [training]: the trainee's set times in seconds (``ack_within_s``,
    #: ``a_train_call_within_s``, ``lsr_call_within_s``); missing ones keep the defaults.
    training_limits: dict[str, float] = field(default_factory=dict)

    def baseline_rates(self) -> dict[str, float]:
        """Every activity rate of the baseline (unset ones are 0: a quiet patient)."""
        return {k: self.rates.get(k, 0.0) for k in RATE_KEYS}

    def rates_at(self, t_s: float) -> dict[str, float]:
        """The activity rates in force at case time ``t_s``."""
        phase = self.phase_at(t_s)
        return {**self.baseline_rates(), **(phase.rates if phase else {})}

    def phase_at(self, t_s: float) -> Phase | None:
        """The phase under way at ``t_s`` (None before the first one)."""
        current = None
        for p in self.phases:
            if p.start_s <= t_s:
                current = p
        return current

    def phase_named(self, name: str) -> Phase:
        for p in self.phases:
            if p.name == name:
                return p
        names = ", ".join(p.name for p in self.phases) or "none"
        raise ValueError(f"The scenario has no phase {name!r}; its phases: {names}.")

    def sim_config(self) -> SimConfig:
        """The simulator's configuration at the start of the case (the engine changes the
        rates phase by phase and places the scripted events)."""
        s, lsr = self.stimulation, self.lsr
        rates: dict[str, Any] = self.rates_at(0.0)  # SimConfig's *_per_min fields by name
        return SimConfig(
            rate=self.rate,
            labels=self.labels,
            seed=self.seed,
            noise_uv=self.noise_uv,
            mains_uv=self.mains_uv,
            mains_hz=self.mains_hz,
            drift_uv=self.drift_uv,
            **rates,
            stim_rate_hz=s.rate_hz,
            stim_start_s=s.start_s,
            stim_current_ma=s.current_ma,
            stim_width_ms=s.width_ms,
            stim_site=s.site,
            lsr_amplitude_uv=lsr.amplitude_uv,
            lsr_latency_ms=lsr.latency_ms,
            lsr_gone_at_s=lsr.gone_at_s,
            lsr_fade_stims=lsr.fade_stims,
        )


def clock(seconds: float) -> str:
    """Case time as ``mm:ss.s`` (``h:mm:ss.s`` from an hour on)."""
    tenths = round(max(0.0, seconds) * 10)
    s, t = divmod(tenths, 10)
    h, rest = divmod(s, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}.{t}" if h else f"{m:02d}:{s:02d}.{t}"
