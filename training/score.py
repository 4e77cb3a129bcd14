"""Scoring a trainee against a scenario's ground truth.

What a trainee is scored on (the training issue):

- **Alarms acknowledged.** Every alarm the monitor raised, acknowledged within
  :attr:`Limits.ack_within_s`. An alarm that ended by itself sooner than
  :attr:`Limits.ack_needed_after_s` needed no acknowledgement.
- **A-trains called.** Every A-train that was on screen (not inside a disconnection),
  called with the A-train key from its onset until :attr:`Limits.a_train_call_within_s`
  after its end. One call answers every A-train it overlaps (they often come in runs).
- **The LSR's disappearance called.** With the LSR-gone key, from the moment it went until
  :attr:`Limits.lsr_call_within_s` after.
- **False calls.** An A-train call that answers no A-train, an LSR call with the LSR
  present.
- **Reaction times.** From the onset (alarm raised, A-train began, LSR went) to the action.

Nothing before the instructor's Start counts (alarms raised, calls made while the case
waited). All times are stream sample indices; moments are said on the training clock
(time since the Start, ``h:mm:ss``, :mod:`training.clock`).

The live score (``live=True``, the instructor's console during the case) is what the
debrief would say at this moment, except that an item whose set time has not yet run out
is ``"pending"`` rather than missed.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field

from monitor.alarms import AlarmState, AlarmTransition
from simulation.scenario_engine import ScenarioTruth
from training.actions import A_TRAIN_CALL, LSR_CALL, TraineeAction
from training.clock import clock_text


@dataclass(frozen=True, slots=True)
class Limits:
    """The set times of the scoring (seconds)."""

    ack_within_s: float = 30.0
    ack_needed_after_s: float = 5.0
    a_train_call_within_s: float = 10.0
    lsr_call_within_s: float = 60.0


@dataclass(frozen=True, slots=True)
class Mark:
    """One scored item: what happened, what the trainee did, and how it is judged.

    ``verdict`` is ``"ok"``, ``"late"``, ``"missed"``, ``"false call"``, ``"not needed"``
    or, in a live score, ``"pending"`` (not answered yet, its set time not run out).
    """

    what: str
    kind: str  # "alarm", "a_train", "lsr", "call"
    at: int  # stream index of the onset (or of a false call)
    answered_at: int | None
    verdict: str
    reaction_s: float | None = None


@dataclass(frozen=True, slots=True)
class TraineeScore:
    marks: tuple[Mark, ...]
    limits: Limits = field(default_factory=Limits)

    def count(self, kind: str, verdict: str) -> int:
        return sum(1 for m in self.marks if m.kind == kind and m.verdict == verdict)

    @property
    def false_calls(self) -> int:
        return sum(1 for m in self.marks if m.verdict == "false call")

    @property
    def reaction_times_s(self) -> list[float]:
        return [m.reaction_s for m in self.marks if m.reaction_s is not None]

    @property
    def points(self) -> tuple[int, int]:
        """(earned, possible): one per item judged ok, minus one per false call."""
        judged = [m for m in self.marks if m.verdict in ("ok", "late", "missed")]
        ok = sum(1 for m in judged if m.verdict == "ok")
        return max(0, ok - self.false_calls), len(judged)

    @property
    def pending(self) -> int:
        """Items still open in a live score."""
        return sum(1 for m in self.marks if m.verdict == "pending")

    @property
    def median_reaction_s(self) -> float | None:
        rt = self.reaction_times_s
        return statistics.median(rt) if rt else None

    def summary(self) -> str:
        earned, possible = self.points
        median = self.median_reaction_s
        waiting = f"; {self.pending} still open" if self.pending else ""
        return (
            f"{earned} of {possible} points; alarms acknowledged in time "
            f"{self.count('alarm', 'ok')}/{self._judged('alarm')}, A-trains called "
            f"{self.count('a_train', 'ok')}/{self._judged('a_train')}, LSR call "
            f"{self.count('lsr', 'ok')}/{self._judged('lsr')}, false calls "
            f"{self.false_calls}; median reaction "
            f"{'—' if median is None else f'{median:.1f} s'}{waiting}"
        )

    def lines(self) -> list[str]:
        """The summary in short lines, for a console: points, then each kind."""
        earned, possible = self.points
        median = self.median_reaction_s

        def part(kind: str, name: str) -> str:
            judged = self._judged(kind)
            text = f"{name}: {self.count(kind, 'ok')} of {judged} in time"
            late, missed = self.count(kind, "late"), self.count(kind, "missed")
            extra = [f"{n} {w}" for n, w in ((late, "late"), (missed, "missed")) if n]
            open_ = self.count(kind, "pending")
            if open_:
                extra.append(f"{open_} open")
            return text + (f" ({', '.join(extra)})" if extra else "")

        return [
            f"{earned} of {possible} points",
            part("a_train", "A-trains called"),
            part("alarm", "Alarms acknowledged"),
            part("lsr", "LSR gone called"),
            f"False calls: {self.false_calls}",
            f"Median reaction: {'—' if median is None else f'{median:.1f} s'}",
        ]

    def _judged(self, kind: str) -> int:
        return sum(
            1 for m in self.marks if m.kind == kind and m.verdict in ("ok", "late", "missed")
        )


def score_trainee(
    truth: ScenarioTruth,
    alarm_history: Sequence[AlarmTransition],
    actions: Sequence[TraineeAction],
    limits: Limits | None = None,
    *,
    live: bool = False,
) -> TraineeScore:
    """Judge what the trainee did (calls, acknowledgements) against what happened, from
    the case's start on. ``live``: the case goes on, an unanswered item still within its
    set time is ``"pending"``."""
    lim = limits or Limits()
    start = truth.started_at
    if start is None:  # the case has not started: nothing to score yet
        return TraineeScore((), lim)
    rate = truth.rate
    end = truth.rendered_until
    now = end if live else None
    alarm_history = [t for t in alarm_history if t.sample_index >= start]
    actions = [a for a in actions if not a.before_start and a.sample_index >= start]
    marks = [*_alarms(alarm_history, rate, end, lim, now)]
    calls = sorted((a for a in actions if a.kind == A_TRAIN_CALL), key=lambda a: a.sample_index)
    used: set[int] = set()
    down = truth.link_down()
    for t in truth.of_kind("a_train"):
        off = t.offset if t.offset is not None else t.onset
        if any(a <= t.onset < b for a, b in down):
            continue  # nothing on screen to call
        deadline = off + round(lim.a_train_call_within_s * rate)
        hit = next((c for c in calls if t.onset <= c.sample_index <= deadline), None)
        where = truth.labels[t.channel] if t.channel is not None else "all channels"
        what = f"A-train on {where} at {_at(truth, t.onset)}"
        if hit is None:
            verdict = "pending" if now is not None and now <= deadline else "missed"
            marks.append(Mark(what, "a_train", t.onset, None, verdict))
            continue
        used.add(id(hit))
        marks.append(
            Mark(
                what,
                "a_train",
                t.onset,
                hit.sample_index,
                "ok",
                (hit.sample_index - t.onset) / rate,
            )
        )
    for c in calls:
        if id(c) not in used:
            marks.append(
                Mark(
                    "A-train called, none there",
                    "call",
                    c.sample_index,
                    c.sample_index,
                    "false call",
                )
            )
    marks.extend(_lsr(truth, actions, lim, now))
    return TraineeScore(tuple(sorted(marks, key=lambda m: m.at)), lim)


def _at(truth: ScenarioTruth, index: int) -> str:
    """A moment on the training clock (time since the start)."""
    return clock_text(max(0, index - (truth.started_at or 0)), truth.rate)


def _alarms(
    history: Sequence[AlarmTransition], rate: float, end: int, lim: Limits, now: int | None
):
    """One mark per alarm episode: raised -> acknowledged / resolved."""
    open_: dict[str, AlarmTransition] = {}
    acked: dict[str, AlarmTransition] = {}
    episodes: list[tuple[AlarmTransition, AlarmTransition | None, int]] = []
    for t in history:
        if t.new is AlarmState.ACTIVE and (t.old is None or t.old is AlarmState.RESOLVED):
            open_[t.key] = t
            acked.pop(t.key, None)
        elif t.reason == "acknowledged" and t.key in open_:
            # ACTIVE -> ACKNOWLEDGED, or a latched alarm acknowledged: LATCHED -> RESOLVED.
            acked.setdefault(t.key, t)
            if t.new is AlarmState.RESOLVED:
                episodes.append((open_.pop(t.key), acked.pop(t.key), t.sample_index))
        elif t.new is AlarmState.RESOLVED and t.key in open_:
            episodes.append((open_.pop(t.key), acked.pop(t.key, None), t.sample_index))
    episodes.extend((raised, acked.get(key), end) for key, raised in open_.items())
    for raised, ack, stop in episodes:
        what = f"{raised.priority.label} alarm: {raised.text}"
        if ack is not None:
            reaction = (ack.sample_index - raised.sample_index) / rate
            verdict = "ok" if reaction <= lim.ack_within_s else "late"
            yield Mark(what, "alarm", raised.sample_index, ack.sample_index, verdict, reaction)
        elif now is not None and stop >= end:  # live, still on: the trainee has time?
            due = (now - raised.sample_index) / rate <= lim.ack_within_s
            yield Mark(what, "alarm", raised.sample_index, None, "pending" if due else "missed")
        elif (stop - raised.sample_index) / rate < lim.ack_needed_after_s:
            yield Mark(what, "alarm", raised.sample_index, None, "not needed")
        else:
            yield Mark(what, "alarm", raised.sample_index, None, "missed")


def _lsr(truth: ScenarioTruth, actions: Sequence[TraineeAction], lim: Limits, now: int | None):
    """Each stretch with the LSR gone (an instructor may bring it back and take it away
    again) is scored on its own; an LSR call outside every such stretch is a false call."""
    rate = truth.rate
    calls = sorted((a for a in actions if a.kind == LSR_CALL), key=lambda a: a.sample_index)
    stretches: list[tuple[int, int]] = []  # [gone, back)
    for t in truth.items:
        if t.kind == "lsr_gone" and (not stretches or stretches[-1][1] <= t.onset):
            stretches.append((t.onset, truth.rendered_until + 1))
        elif t.kind == "lsr_back" and stretches and stretches[-1][1] > t.onset:
            stretches[-1] = (stretches[-1][0], t.onset)
    used: set[int] = set()
    for gone, back in stretches:
        inside = [c for c in calls if gone <= c.sample_index < back]
        used.update(id(c) for c in inside)
        what = f"LSR disappeared at {_at(truth, gone)}"
        if not inside:
            late = now is None or (now - gone) / rate > lim.lsr_call_within_s
            yield Mark(what, "lsr", gone, None, "missed" if late else "pending")
            continue
        hit = inside[0]
        reaction = (hit.sample_index - gone) / rate
        verdict = "ok" if reaction <= lim.lsr_call_within_s else "late"
        yield Mark(what, "lsr", gone, hit.sample_index, verdict, reaction)
    for c in calls:
        if id(c) not in used:
            yield Mark(
                "LSR called gone while present",
                "call",
                c.sample_index,
                c.sample_index,
                "false call",
            )
