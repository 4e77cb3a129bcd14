"""Matching what the monitor reported to the generated truth.

Free-running events are matched on the same channel by overlap in time, with a small
tolerance (:data:`TOLERANCE_S`): a truth A-train is *recalled* when a detected A-train
overlaps it; a detected A-train is *precise* when it overlaps a truth A-train.
*Fragmentation* is the number of detected A-trains overlapping a recalled truth train
(the goal is exactly one event from onset to offset). The *onset error* is the earliest
overlapping detection's onset minus the truth onset; the *latency* is the first report
of kind ``a_train`` (ongoing or final) overlapping the truth, minus the truth onset: when
the alarm would have sounded. Train time is compared per channel: ``(detected - truth) /
truth``.

Evoked results are joined to the truth by stimulus and channel.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from monitor.events import EmgEvent, EventKind
from monitor.evoked import SweepResult
from validation.evoked_signals import (
    ABSENT,
    CONTAMINATED,
    KIND_DIRECT,
    KIND_LSR,
    PRESENT,
    EvokedSignal,
    SweepTruth,
)
from validation.freerun_signals import A_TRAIN, ARTIFACT, TruthEvent

#: Overlap tolerance when matching events to the truth.
TOLERANCE_S = 0.02


def _end(ev: EmgEvent) -> int:
    return ev.offset if ev.offset is not None else max(ev.reported_at, ev.onset + 1)


def _overlaps(on_a: int, off_a: int, on_b: int, off_b: int, tol: int) -> bool:
    return on_a < off_b + tol and on_b < off_a + tol


@dataclass
class _Matched:
    """Truth and detections matched: how many of each, and how many of each matched."""

    n_truth: int = 0
    n_detected: int = 0
    recalled: int = 0
    precise: int = 0

    def add(self, other: _Matched) -> None:
        self.n_truth += other.n_truth
        self.n_detected += other.n_detected
        self.recalled += other.recalled
        self.precise += other.precise

    @property
    def recall(self) -> float:
        return self.recalled / self.n_truth if self.n_truth else float("nan")

    @property
    def precision(self) -> float:
        return self.precise / self.n_detected if self.n_detected else float("nan")


@dataclass
class TrainScore(_Matched):
    """A-train figures of one signal (pool several with :meth:`add`)."""

    fragments: list[int] = field(default_factory=list)
    onset_errors_ms: list[float] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)
    traintime_errors_pct: list[float] = field(default_factory=list)
    missed_as: Counter = field(default_factory=Counter)
    false_a_trains: int = 0
    minutes: float = 0.0

    def add(self, other: TrainScore) -> None:
        super().add(other)
        self.fragments += other.fragments
        self.onset_errors_ms += other.onset_errors_ms
        self.latencies_ms += other.latencies_ms
        self.traintime_errors_pct += other.traintime_errors_pct
        self.missed_as.update(other.missed_as)
        self.false_a_trains += other.false_a_trains
        self.minutes += other.minutes

    @property
    def fragmentation(self) -> float:
        return float(np.mean(self.fragments)) if self.fragments else float("nan")

    @property
    def false_per_min(self) -> float:
        return self.false_a_trains / self.minutes if self.minutes else float("nan")


def score_a_trains(
    truth: Sequence[TruthEvent],
    events: Sequence[EmgEvent],
    reports: Sequence[EmgEvent],
    traintime_s: Sequence[float],
    rate: float,
    seconds: float,
) -> TrainScore:
    """Score the detected A-trains of one signal against its truth.

    Parameters
    ----------
    truth : sequence of TruthEvent
        All truth events (only ``a_train`` ones are used, others say what a missed train
        was taken for).
    events : sequence of EmgEvent
        Final reports.
    reports : sequence of EmgEvent
        Every report, for the latency.
    traintime_s : sequence of float
        The monitor's train time per channel.
    """
    tol = round(TOLERANCE_S * rate)
    trains = [t for t in truth if t.kind == A_TRAIN]
    detected = [e for e in events if e.kind is EventKind.A_TRAIN]
    a_reports = [r for r in reports if r.kind is EventKind.A_TRAIN]
    s = TrainScore(n_truth=len(trains), n_detected=len(detected), minutes=seconds / 60.0)
    for t in trains:
        hits = [
            e
            for e in detected
            if e.channel == t.channel and _overlaps(t.onset, t.offset, e.onset, _end(e), tol)
        ]
        if not hits:
            s.missed_as.update(
                e.kind.value
                for e in events
                if e.channel == t.channel and _overlaps(t.onset, t.offset, e.onset, _end(e), tol)
            )
            continue
        s.recalled += 1
        s.fragments.append(len(hits))
        s.onset_errors_ms.append((min(e.onset for e in hits) - t.onset) * 1000.0 / rate)
        heard = [
            r.reported_at
            for r in a_reports
            if r.channel == t.channel and _overlaps(t.onset, t.offset, r.onset, _end(r), tol)
        ]
        if heard:
            s.latencies_ms.append((min(heard) - t.onset) * 1000.0 / rate)
    for e in detected:
        if any(
            t.channel == e.channel and _overlaps(t.onset, t.offset, e.onset, _end(e), tol)
            for t in trains
        ):
            s.precise += 1
        else:
            s.false_a_trains += 1
    for ch, seconds_detected in enumerate(traintime_s):
        true_s = sum(t.offset - t.onset for t in trains if t.channel == ch) / rate
        if true_s > 0:
            s.traintime_errors_pct.append(100.0 * (seconds_detected - true_s) / true_s)
    return s


@dataclass
class KindScore(_Matched):
    """Recall and precision of one event kind (spike, burst, ...)."""

    missed_uv: list[float] = field(default_factory=list)  # amplitudes of the missed ones

    def add(self, other: KindScore) -> None:
        super().add(other)
        self.missed_uv += other.missed_uv


def score_kind(
    truth: Sequence[TruthEvent],
    events: Sequence[EmgEvent],
    kind: str,
    rate: float,
    min_amplitude_uv: float = 0.0,
) -> KindScore:
    """Recall and precision of events of ``kind`` (same kind, same channel, overlapping).

    With ``min_amplitude_uv`` the recall counts only truth events at least that large
    (peak-to-peak), and the precision only detections that overlap none of the smaller
    ones (they are neither wanted nor false).
    """
    tol = round(TOLERANCE_S * rate)
    small = [t for t in truth if t.kind == kind and t.amplitude_uv < min_amplitude_uv]
    ts = [t for t in truth if t.kind == kind and t.amplitude_uv >= min_amplitude_uv]
    ds = [e for e in events if e.kind.value == kind]

    def same(t: TruthEvent, e: EmgEvent) -> bool:
        return t.channel == e.channel and _overlaps(t.onset, t.offset, e.onset, _end(e), tol)

    ds = [e for e in ds if not any(same(t, e) for t in small)]
    missed = [t.amplitude_uv for t in ts if not any(same(t, e) for e in ds)]
    return KindScore(
        n_truth=len(ts),
        n_detected=len(ds),
        recalled=len(ts) - len(missed),
        precise=sum(any(same(t, e) for t in ts) for e in ds),
        missed_uv=missed,
    )


def confusion(
    truth: Sequence[TruthEvent], events: Sequence[EmgEvent], rate: float
) -> dict[str, Counter]:
    """For each truth kind: the kinds of detected events overlapping its events on the
    same channel (``"none"`` when nothing did). Cautery is matched on any channel."""
    tol = round(TOLERANCE_S * rate)
    out: dict[str, Counter] = defaultdict(Counter)
    for t in truth:
        seen = {
            e.kind.value
            for e in events
            if (t.channel < 0 or e.channel == t.channel)
            and _overlaps(t.onset, t.offset, e.onset, _end(e), tol)
        }
        if t.kind == ARTIFACT:
            seen = {ARTIFACT} & seen
        out[t.kind].update(seen or {"none"})
    return dict(out)


@dataclass
class CauteryScore:
    """Whether cautery is marked as artifact and hides what it would fake."""

    episodes: int = 0
    marked: int = 0
    events_inside: int = 0

    def add(self, other: CauteryScore) -> None:
        self.episodes += other.episodes
        self.marked += other.marked
        self.events_inside += other.events_inside


def score_cautery(
    truth: Sequence[TruthEvent], events: Sequence[EmgEvent], rate: float
) -> CauteryScore:
    tol = round(TOLERANCE_S * rate)
    episodes = [t for t in truth if t.kind == ARTIFACT]
    marks = [e for e in events if e.kind is EventKind.ARTIFACT]
    others = [e for e in events if e.kind is not EventKind.ARTIFACT]
    return CauteryScore(
        episodes=len(episodes),
        marked=sum(
            any(_overlaps(t.onset, t.offset, e.onset, _end(e), tol) for e in marks)
            for t in episodes
        ),
        events_inside=sum(any(t.onset <= e.onset < t.offset for t in episodes) for e in others),
    )


def false_events_per_min(
    truth: Sequence[TruthEvent], events: Sequence[EmgEvent], rate: float, seconds: float
) -> float:
    """Detected non-artifact events that overlap no truth event, per minute."""
    tol = round(TOLERANCE_S * rate)
    false = sum(
        not any(
            (t.channel < 0 or t.channel == e.channel)
            and _overlaps(t.onset, t.offset, e.onset, _end(e), tol)
            for t in truth
        )
        for e in events
        if e.kind is not EventKind.ARTIFACT
    )
    return false / (seconds / 60.0) if seconds else float("nan")


# -- evoked ---------------------------------------------------------------------------------
@dataclass
class EvokedScore:
    """Per-sweep presence, rejection and the course of the LSR for one signal."""

    tp: int = 0
    fn: int = 0
    tn: int = 0
    fp: int = 0
    clean_rejected: int = 0
    clean: int = 0
    contaminated: Counter = field(default_factory=Counter)
    contaminated_rejected: Counter = field(default_factory=Counter)
    contaminated_called_present: int = 0
    direct_tp: int = 0
    direct_present: int = 0
    direct_tn: int = 0
    direct_absent: int = 0
    missing: int = 0
    kind_mismatch: int = 0
    latency_errors_ms: list[float] = field(default_factory=list)
    amplitude_errors_pct: list[float] = field(default_factory=list)
    disappeared_truth_s: float | None = None
    disappeared_called_s: float | None = None
    disappeared_reported_s: float | None = None
    false_disappearance: bool = False
    stim_lost_truth_s: float | None = None
    stim_lost_reported_s: float | None = None
    stim_lost_available: bool = False
    calls: list[str] = field(default_factory=list)

    @property
    def sensitivity(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else float("nan")

    @property
    def specificity(self) -> float:
        return self.tn / (self.tn + self.fp) if self.tn + self.fp else float("nan")


def score_evoked(
    sig: EvokedSignal,
    results: Iterable[SweepResult],
    summary: dict,
    calls: Iterable,
) -> EvokedScore:
    """Score the monitor's sweep results, LSR summary and calls for ``sig``."""
    by_key = {(r.stim_index, r.channel): r for r in results}
    s = EvokedScore(
        disappeared_truth_s=sig.disappeared_at_s,
        stim_lost_truth_s=sig.stim_lost_at_s,
    )
    for t in sig.sweeps:
        r = by_key.get((t.stim_index, t.channel))
        if r is None:
            s.missing += 1
        else:
            _score_sweep(s, t, r)
    _score_course(s, sig, summary, calls)
    return s


def _score_sweep(s: EvokedScore, t: SweepTruth, r: SweepResult) -> None:
    if r.kind != t.kind:
        s.kind_mismatch += 1
    if t.state == CONTAMINATED:
        s.contaminated[t.reason] += 1
        if r.rejected:
            s.contaminated_rejected[t.reason] += 1
        elif r.present and t.kind == KIND_LSR:
            s.contaminated_called_present += 1
        return
    s.clean += 1
    if r.rejected:
        s.clean_rejected += 1
    elif t.kind == KIND_DIRECT:
        s.direct_present += t.state == PRESENT
        s.direct_tp += t.state == PRESENT and r.present
        s.direct_absent += t.state == ABSENT
        s.direct_tn += t.state == ABSENT and not r.present
    elif t.state == PRESENT and r.present:
        s.tp += 1
        if r.latency_ms is not None and t.latency_ms is not None:
            s.latency_errors_ms.append(r.latency_ms - t.latency_ms)
        if r.amplitude_uv is not None and t.amplitude_uv > 0:
            s.amplitude_errors_pct.append(
                100.0 * (r.amplitude_uv - t.amplitude_uv) / t.amplitude_uv
            )
    elif t.state == PRESENT:
        s.fn += 1
    elif t.state == ABSENT:
        s.fp += r.present
        s.tn += not r.present


def _score_course(s: EvokedScore, sig: EvokedSignal, summary: dict, calls: Iterable) -> None:
    """Disappearance and stimulation-loss calls against the truth. The stimulation-loss
    fields may not exist in this monitor: ``stim_lost_available`` says whether they do."""
    rate = sig.rate
    for c in calls:
        s.calls.append(f"{c.kind}@{c.sample_index / rate:.1f}s")
        if c.kind == "disappeared":
            when = c.sample_index / rate
            if s.disappeared_called_s is None:
                s.disappeared_called_s = when
                s.disappeared_reported_s = c.reported_at / rate
            if sig.disappeared_at_s is None or when < sig.disappeared_at_s - 1e-9:
                s.false_disappearance = True
        if c.kind == "stimulation_lost":
            s.stim_lost_available = True
            if s.stim_lost_reported_s is None:
                s.stim_lost_reported_s = c.sample_index / rate
    if "stimulation_lost_at_s" in summary:
        s.stim_lost_available = True
        lost = summary.get("stimulation_lost_at_s")
        if lost is not None and s.stim_lost_reported_s is None:
            s.stim_lost_reported_s = float(lost)
