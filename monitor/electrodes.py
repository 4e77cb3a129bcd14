"""The electrode check: is each needle pair good enough to monitor with?

Each channel is a bipolar pair of subdermal needles in one muscle: the *active* and the
*reference* needle. A source that can measure (the amplifier, the simulator) reports
each needle's impedance and whether it has lost contact (lead off); this module judges
every channel and says what is wrong in one plain sentence.

The limits (:class:`ElectrodeLimits`, a setting) and where they come from:

- **over 5 kΩ on either needle**: ACNS Guideline 11B asks for electrode impedances below
  5 kΩ (docs/clinical.md §4, reference [54]; the guideline states it for disk electrodes, and
  subdermal needles in muscle normally sit well below it, at 1-4 kΩ);
- **pair imbalance over 2 kΩ**: the project's default (docs/clinical.md §4, a design value
  marked [D], not a published figure). A bipolar amplifier rejects mains hum only as well
  as its two inputs are matched, so a mismatched pair hums even when both needles are
  under 5 kΩ; commercial monitors show this difference on their check screen (NIM,
  docs/clinical.md [43][44], whose test box expects 0.5 ± 0.5 kΩ).

A value exactly at a limit passes ("over 5 kΩ" is flagged). Impedances travel in steps of
0.1 kΩ, so the imbalance is rounded to that step before it is compared: 5.1 - 3.1 is
2.0 kΩ, not 2.0000000000000004.

A device that reports only one value per channel (protocol revision 0) is judged on that
value against the 5 kΩ limit; its pair imbalance cannot be judged, and the check says so.

Thread safety: everything here is immutable data and pure functions; safe from any thread.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass


class Verdict(enum.Enum):
    """One channel's result, worst first in :data:`SEVERITY`."""

    OK = "ok"
    IMBALANCE = "imbalance"
    HIGH = "high"
    LEAD_OFF = "lead off"
    UNKNOWN = "unknown"


#: 0 good (green), 1 look at it (amber), 2 fix it before relying on the channel (red).
SEVERITY = {
    Verdict.OK: 0,
    Verdict.UNKNOWN: 1,
    Verdict.IMBALANCE: 1,
    Verdict.HIGH: 2,
    Verdict.LEAD_OFF: 2,
}


@dataclass(frozen=True, slots=True)
class ElectrodeLimits:
    """When a needle or a pair is flagged.

    Parameters
    ----------
    max_kohm : float
        A needle above this is flagged as high (ACNS Guideline 11B: below 5 kΩ).
    max_imbalance_kohm : float
        A pair whose needles differ by more than this is flagged (project default 2 kΩ).
    """

    max_kohm: float = 5.0
    max_imbalance_kohm: float = 2.0

    def __post_init__(self) -> None:
        for name, value in (("impedance", self.max_kohm), ("imbalance", self.max_imbalance_kohm)):
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"The electrode {name} limit must be above 0 kΩ, not {value:g}.")


#: ACNS 5 kΩ per needle, 2 kΩ between the needles of a pair.
DEFAULT_LIMITS = ElectrodeLimits()


@dataclass(frozen=True, slots=True)
class ChannelElectrodes:
    """One channel's needles as the source measured them.

    ``None`` means not measured. A device that gives one value per channel sets only
    ``channel_kohm`` (and ``lead_off`` without saying which needle).
    """

    active_kohm: float | None = None
    reference_kohm: float | None = None
    active_off: bool = False
    reference_off: bool = False
    channel_kohm: float | None = None
    lead_off: bool = False  # a needle of this pair is off; which one is unknown

    @property
    def per_electrode(self) -> bool:
        """True when the needles were measured one by one."""
        return (
            self.active_kohm is not None
            or self.reference_kohm is not None
            or self.active_off
            or self.reference_off
        )


@dataclass(frozen=True, slots=True)
class ElectrodeReport:
    """The latest measurement of every channel's needles.

    Parameters
    ----------
    channels : tuple of ChannelElectrodes
        In channel order.
    measured_at : float
        ``time.monotonic()`` when the measurement arrived (a newer one has a larger value).
    per_electrode : bool
        False for a device that reports one value per channel: no imbalance then.
    sample_index : int, optional
        The signal's sample index the measurement refers to.
    note : str
        A sentence about the measurement itself ("The amplifier cannot measure now."), or "".
    """

    channels: tuple[ChannelElectrodes, ...]
    measured_at: float
    per_electrode: bool = True
    sample_index: int | None = None
    note: str = ""


@dataclass(frozen=True, slots=True)
class ChannelJudgement:
    """One channel's verdict and what to do about it."""

    label: str
    verdict: Verdict
    active_kohm: float | None
    reference_kohm: float | None
    imbalance_kohm: float | None  # None when it cannot be judged
    problems: tuple[str, ...]  # one sentence per problem; empty when ok
    active_off: bool = False
    reference_off: bool = False
    channel_kohm: float | None = None  # the pair's one value, from a device without needles

    @property
    def severity(self) -> int:
        return SEVERITY[self.verdict]


@dataclass(frozen=True, slots=True)
class ElectrodeCheck:
    """The verdict on every channel of a report."""

    channels: tuple[ChannelJudgement, ...]
    per_electrode: bool
    note: str = ""  # e.g. why the imbalance is not judged

    @property
    def problems(self) -> tuple[str, ...]:
        return tuple(p for c in self.channels for p in c.problems)

    @property
    def all_good(self) -> bool:
        return bool(self.channels) and all(c.verdict is Verdict.OK for c in self.channels)

    @property
    def severity(self) -> int:
        return max((c.severity for c in self.channels), default=1)


def kohm_text(value: float | None) -> str:
    """``12.4`` for a measured value, ``—`` when not measured."""
    return "—" if value is None else f"{value:.1f}"


def judge_channel(
    label: str, ch: ChannelElectrodes, limits: ElectrodeLimits = DEFAULT_LIMITS
) -> ChannelJudgement:
    """Judge one channel; see the module docstring for the rule and its sources."""
    if not ch.per_electrode:
        return _judge_pair_value(label, ch, limits)
    a, r = ch.active_kohm, ch.reference_kohm
    lim = f"{limits.max_kohm:g} kΩ"
    problems: list[str] = []
    verdict = Verdict.OK
    imbalance = None
    off = [
        name for name, flag in (("active", ch.active_off), ("reference", ch.reference_off)) if flag
    ]
    if off:
        verdict = Verdict.LEAD_OFF
        if len(off) == 2:
            problems.append(
                f"{label}: both needles are off (no contact); re-insert them and check the cable."
            )
        else:
            problems.append(f"{label}: {off[0]} needle is off (no contact); re-insert it.")
    else:
        high = [
            (n, v)
            for n, v in (("active", a), ("reference", r))
            if v is not None and v > limits.max_kohm
        ]
        if len(high) == 2:
            verdict = Verdict.HIGH
            problems.append(
                f"{label}: both needles over {lim} (active {a:.1f}, reference {r:.1f} kΩ); "
                "check both needles."
            )
        elif high:
            verdict = Verdict.HIGH
            name, value = high[0]
            problems.append(
                f"{label}: {name} needle {value:.1f} kΩ — over {lim}; check the needle."
            )
        if a is not None and r is not None:
            imbalance = round(abs(a - r), 1)  # at the measurement's 0.1 kΩ step
            if verdict is Verdict.OK and imbalance > limits.max_imbalance_kohm:
                verdict = Verdict.IMBALANCE
                worse = "active" if a > r else "reference"
                problems.append(
                    f"{label}: needles differ by {imbalance:.1f} kΩ (active {a:.1f}, reference "
                    f"{r:.1f} kΩ) — over {limits.max_imbalance_kohm:g} kΩ, so mains hum will not "
                    f"cancel; check the {worse} needle."
                )
        missing = [n for n, v in (("active", a), ("reference", r)) if v is None]
        if missing and verdict is Verdict.OK:
            verdict = Verdict.UNKNOWN
            which = "both needles" if len(missing) == 2 else f"the {missing[0]} needle"
            problems.append(f"{label}: impedance of {which} not measured.")
    return ChannelJudgement(
        label, verdict, a, r, imbalance, tuple(problems), ch.active_off, ch.reference_off
    )


def _judge_pair_value(
    label: str, ch: ChannelElectrodes, limits: ElectrodeLimits
) -> ChannelJudgement:
    """A device that gives one value per channel: no imbalance, no telling which needle."""
    v = ch.channel_kohm
    if ch.lead_off:
        verdict = Verdict.LEAD_OFF
        text = f"{label}: a needle is off (the amplifier does not say which); check both needles."
    elif v is None:
        verdict, text = Verdict.UNKNOWN, f"{label}: impedance not measured."
    elif v > limits.max_kohm:
        verdict = Verdict.HIGH
        text = (
            f"{label}: {v:.1f} kΩ for the pair — over {limits.max_kohm:g} kΩ; check both needles."
        )
    else:
        verdict, text = Verdict.OK, ""
    return ChannelJudgement(
        label, verdict, None, None, None, (text,) if text else (), channel_kohm=v
    )


def judge(
    report: ElectrodeReport,
    labels: tuple[str, ...] | list[str],
    limits: ElectrodeLimits = DEFAULT_LIMITS,
) -> ElectrodeCheck:
    """Judge every channel of ``report``; channels without a label are named "Ch N"."""
    names = [labels[k] if k < len(labels) else f"Ch {k + 1}" for k in range(len(report.channels))]
    channels = tuple(
        judge_channel(n, c, limits) for n, c in zip(names, report.channels, strict=True)
    )
    note = report.note
    if not report.per_electrode:
        extra = (
            "The amplifier reports one value per channel, not per needle: "
            "pair imbalance cannot be judged."
        )
        note = f"{note} {extra}".strip()
    return ElectrodeCheck(channels, report.per_electrode, note)
