"""What the monitor found in a scenario, against the scenario's own ground truth.

:class:`MonitorRecord` collects the monitor's output while a scenario runs (every event
report, every alarm transition); :func:`score` matches it to the truth the way
``bench/detection_score.py`` does (same channel, overlapping within 20 ms) and checks
the scenario's ``[expect]`` table. Each truth item gets a line (detected when and how, or
MISSED), then the false detections, the alarms nothing explains, and one line per
expectation; the verdict says whether the monitor met them all.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from monitor.alarms import AlarmState, AlarmTransition
from monitor.events import EmgEvent, EventKind
from monitor.evoked import LsrCall
from monitor.monitoring import FreeRunMonitoring
from simulation.scenario_engine import ScenarioTruth, TruthItem
from simulation.scenario_model import Expectations, clock

OVERLAP_TOL_S = 0.02  # as bench/detection_score.py
TECHNICAL_KEYS = ("lead_off", "mains", "flat", "saturation")
LEVELS = ("none", "warning", "high")


@dataclass
class _Track:
    """One detected event, over all its reports."""

    kind: EventKind
    channel: int
    onset: int
    offset: int | None
    first_report: int
    a_train_report: int | None = None  # when it was first called an A-train
    freq_hz: float | None = None


class MonitorRecord:
    """Everything the monitor reported during a run.

    Thread safety: the callbacks run on the acquisition thread; ``tracks`` and
    ``transitions`` are read after the session has stopped (or under ``lock``).
    """

    def __init__(self, monitoring: FreeRunMonitoring) -> None:
        self.monitoring = monitoring
        self.lock = threading.Lock()
        self.tracks: dict[int, _Track] = {}
        self.transitions: list[AlarmTransition] = []
        monitoring.add_listener(self._on_event)
        monitoring.alarms.add_listener(self._on_alarm)

    def _on_event(self, ev: EmgEvent) -> None:
        with self.lock:
            t = self.tracks.get(ev.id)
            if t is None:
                t = self.tracks[ev.id] = _Track(
                    ev.kind, ev.channel, ev.onset, ev.offset, ev.reported_at
                )
            t.kind, t.onset, t.offset = ev.kind, ev.onset, ev.offset
            if ev.kind is EventKind.A_TRAIN:
                t.freq_hz = ev.freq_hz or t.freq_hz
                if t.a_train_report is None:
                    t.a_train_report = ev.reported_at

    def _on_alarm(self, t: AlarmTransition) -> None:
        with self.lock:
            self.transitions.append(t)


@dataclass
class Check:
    key: str
    ok: bool
    text: str
    line: int = 0

    def row(self) -> str:
        where = f" (line {self.line})" if self.line else ""
        return f"  {'ok  ' if self.ok else 'FAIL'}  {self.key}{where}: {self.text}"


@dataclass
class Scorecard:
    lines: list[str] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(c.ok for c in self.checks)

    def verdict(self) -> str:
        if not self.checks:
            return "verdict: no expectations stated in the scenario ([expect]); nothing to pass"
        failed = [c for c in self.checks if not c.ok]
        if not failed:
            return f"verdict: PASS — the monitor met all {len(self.checks)} expectations"
        names = ", ".join(c.key for c in failed)
        return f"verdict: FAIL — {len(failed)} of {len(self.checks)} expectations not met ({names})"


def _overlaps(a0: int, a1: int, b0: int, b1: int, tol: int) -> bool:
    return a0 < b1 + tol and b0 < a1 + tol


class _Scorer:
    def __init__(
        self,
        truth: ScenarioTruth,
        record: MonitorRecord,
        lsr_calls: list[LsrCall],
        traintime_s: list[float],
        thresholds_s: tuple[float, float],
        expect: Expectations,
    ) -> None:
        self.t = truth
        self.rate = truth.rate
        self.labels = truth.labels
        # The case's end, or where it was stopped (a serial amplifier renders past the end).
        self.end = min(truth.end_index or truth.rendered_until, truth.rendered_until)
        with record.lock:
            self.tracks = list(record.tracks.values())
            self.transitions = list(record.transitions)
        self.calls = lsr_calls
        self.traintime = traintime_s
        self.thresholds = thresholds_s
        self.expect = expect
        self.tol = round(OVERLAP_TOL_S * self.rate)
        self.down = truth.link_down()
        self.card = Scorecard()
        self.raises = [
            t
            for t in self.transitions
            if t.new is AlarmState.ACTIVE and t.old in (None, AlarmState.LATCHED)
        ]

    # -- helpers ------------------------------------------------------------------------------
    def at(self, index: int) -> str:
        return clock(self.t.case_s(index))

    def label(self, ch: int | None) -> str:
        return "all channels" if ch is None or ch < 0 else self.labels[ch]

    def visible(self, item: TruthItem) -> bool:
        """Within the case and not hidden by a disconnection."""
        if item.onset >= self.end:
            return False
        off = item.offset if item.offset is not None else item.onset + 1
        margin = round(0.5 * self.rate)
        return not any(_overlaps(item.onset, off, a - margin, b + margin, 0) for a, b in self.down)

    def emg(self, kind: str) -> list[TruthItem]:
        return [t for t in self.t.of_kind(kind) if self.visible(t)]

    def say(self, text: str = "") -> None:
        self.card.lines.append(text)

    def check(self, key: str, ok: bool, text: str) -> None:
        self.card.checks.append(Check(key, ok, text, self.expect.lines.get(key, 0)))

    # -- the parts ------------------------------------------------------------------------------
    def run(self) -> Scorecard:
        self.say("== Against the ground truth ==")
        self.a_trains()
        self.train_time()
        self.lsr()
        self.cautery()
        self.technical()
        self.others()
        self.unexplained()
        return self.card

    def a_trains(self) -> None:
        truth = self.emg("a_train")
        called = [k for k in self.tracks if k.a_train_report is not None]
        self.say(f"A-trains: {len(truth)} in the truth, {len(called)} called by the monitor")
        within = self.expect.detect_within_s
        used: set[int] = set()
        missed = late = 0
        for item in truth:
            off = item.offset or item.onset + 1
            match = next(
                (
                    k
                    for k in called
                    if k.channel == item.channel
                    and _overlaps(item.onset, off, k.onset, k.offset or self.end, self.tol)
                ),
                None,
            )
            what = (
                f"  {self.at(item.onset)}  {self.label(item.channel):<14} "
                f"{(off - item.onset) / self.rate:5.2f} s {item.freq_hz or 0:3.0f} Hz  "
                f"({item.source})"
            )
            if match is None:
                missed += 1
                self.say(f"{what}  MISSED")
                continue
            used.add(id(match))
            delay = (match.a_train_report - item.onset) / self.rate
            late += delay > within
            dur = ((match.offset or self.end) - match.onset) / self.rate
            self.say(
                f"{what}  detected at {self.at(match.a_train_report)} ({delay:+.2f} s), {dur:.2f} s"
            )
        self.false_trains = [k for k in called if id(k) not in used]
        if self.expect.a_trains_detected:
            ok = missed == 0 and late == 0
            text = f"{len(truth) - missed} of {len(truth)} A-trains detected"
            if late:
                text += f", {late} later than {within:g} s"
            self.check("a_trains_detected", ok, text + f" (within {within:g} s)")

    def train_time(self) -> None:
        lo, hi = self.thresholds
        self.say(f"Train time (A-train seconds per channel; alarms at {lo:g} s and {hi:g} s):")
        reached = [0] * len(self.labels)
        truth_level = [0] * len(self.labels)
        tol = self.expect.train_time_tolerance_pct
        off_tolerance = []
        for ch, label in enumerate(self.labels):
            total, crossings, truth_level[ch] = self._truth_train_time(ch)
            monitor = self.traintime[ch] if ch < len(self.traintime) else 0.0
            alarms = []
            for key, level in (("traintime_warning", 1), ("traintime_high", 2)):
                first = next((r for r in self.raises if r.key == f"{key}:{ch}"), None)
                if first is not None:
                    reached[ch] = max(reached[ch], level)
                    alarms.append(f"{LEVELS[level]} at {self.at(first.sample_index)}")
            if total == 0 and monitor == 0 and not alarms:
                continue
            cross = f" ({', '.join(crossings)})" if crossings else ""
            alarm = "; alarms: " + ", ".join(alarms) if alarms else "; no train-time alarm"
            self.say(f"  {label:<14} truth {total:5.2f} s{cross}, monitor {monitor:5.2f} s{alarm}")
            if tol is not None and abs(monitor - total) > max(0.2, tol / 100 * total):
                off_tolerance.append(f"{label}: monitor {monitor:.2f} s, truth {total:.2f} s")
        if tol is not None:
            self.check(
                "train_time_tolerance_pct",
                not off_tolerance,
                "; ".join(off_tolerance) + f" (more than {tol:g} % apart)"
                if off_tolerance
                else f"every channel's train time within {tol:g} % of the truth",
            )
        if self.expect.train_time_alarm is not None:
            self._check_level(reached, max(truth_level, default=0))

    def _truth_train_time(self, ch: int) -> tuple[float, list[str], int]:
        """A channel's A-train seconds in the truth, when they crossed each threshold, and
        the level reached."""
        lo, hi = self.thresholds
        total, crossings, level = 0.0, [], 0
        for t in (t for t in self.emg("a_train") if t.channel == ch):
            dur = (min(t.offset or self.end, self.end) - t.onset) / self.rate
            for lvl, thr in ((1, lo), (2, hi)):
                if total < thr <= total + dur:
                    at = self.at(t.onset + round((thr - total) * self.rate))
                    crossings.append(f"{thr:g} s at {at}")
                    level = lvl
            total += dur
        return total, crossings, level

    def _check_level(self, reached: list[int], truth_top: int) -> None:
        want = self.expect.train_time_alarm
        level = LEVELS.index(want)
        top = max(reached, default=0)
        chans = self.expect.train_time_channels
        short = [ch for ch in chans if reached[ch] < level]
        ok = top == level and not short
        where = ", ".join(self.labels[ch] for ch in chans) if chans else "any channel"
        if ok:
            text = f"highest train-time alarm {want!r} as expected ({where})"
        elif short:
            text = f"expected {want!r} on {where}; " + ", ".join(
                f"{self.labels[ch]} reached {LEVELS[reached[ch]]!r}" for ch in short
            )
        else:
            text = f"expected {want!r}, the monitor's highest train-time alarm was {LEVELS[top]!r}"
        if not ok and truth_top != level:
            text += f" (the truth itself reaches {LEVELS[truth_top]!r})"
        self.check("train_time_alarm", ok, text)

    def lsr(self) -> None:
        gone = self.t.lsr_gone_index()
        calls = [c for c in self.calls if c.mode == "lsr" and c.reported_at < self.end]
        disappeared = [c for c in calls if c.kind == "disappeared"]
        if not self.t.stims:
            return
        for c in calls:
            self.say(f"  LSR call: {c.kind} at {self.at(c.reported_at)} — {c.text}")
        within = self.expect.lsr_call_within_s
        if gone is None:
            self.say(
                f"LSR: present to the end in the truth; the monitor called its disappearance "
                f"{len(disappeared)} time(s)"
            )
            if within is not None:
                self.check(
                    "lsr_call_within_s",
                    not disappeared,
                    "no disappearance called, as the LSR stays"
                    if not disappeared
                    else f"the LSR stays, but the monitor called it gone at "
                    f"{self.at(disappeared[0].reported_at)}",
                )
            return
        early = [c for c in disappeared if c.reported_at < gone]
        after = [c for c in disappeared if c.reported_at >= gone]
        if after:
            delay = (after[0].reported_at - gone) / self.rate
            self.say(
                f"LSR: gone at {self.at(gone)} in the truth; the monitor called it at "
                f"{self.at(after[0].reported_at)} ({delay:+.1f} s)"
            )
        else:
            delay = None
            self.say(f"LSR: gone at {self.at(gone)} in the truth; the monitor did NOT call it")
        if within is not None:
            if early:
                ok, text = False, f"called gone at {self.at(early[0].reported_at)}, before it went"
            elif delay is None:
                ok, text = False, f"the LSR went at {self.at(gone)} and no disappearance was called"
            else:
                ok = delay <= within
                text = f"called {delay:.1f} s after it went (limit {within:g} s)"
            self.check("lsr_call_within_s", ok, text)

    def cautery(self) -> None:
        items = self.emg("cautery")
        if not items:
            return
        marked = inside = 0
        alarms_inside = []
        for c in items:
            off = c.offset or c.onset + 1
            if any(
                k.kind is EventKind.ARTIFACT
                and _overlaps(c.onset, off, k.onset, k.offset or self.end, 0)
                for k in self.tracks
            ):
                marked += 1
            inside += sum(
                1
                for k in self.tracks
                if k.kind is not EventKind.ARTIFACT and c.onset <= k.onset < off
            )
            alarms_inside += [
                r
                for r in self.raises
                if r.key.startswith("a_train:") and c.onset <= r.sample_index < off
            ]
        self.say(
            f"Cautery: {len(items)} episodes, {marked} marked as artifact, {inside} events "
            f"reported inside, {len(alarms_inside)} A-train alarms inside"
        )
        if self.expect.cautery_marked:
            ok = marked == len(items) and not alarms_inside
            text = f"{marked} of {len(items)} episodes marked"
            if alarms_inside:
                text += (
                    f"; A-train alarm at {self.at(alarms_inside[0].sample_index)} during cautery"
                )
            self.check("cautery_marked", ok, text)

    def technical(self) -> None:
        within = self.expect.technical_alarm_within_s
        worst: list[str] = []
        rows: list[str] = []
        n = 0
        for item in self.t.of_kind("lead_off", "disconnect"):
            if item.onset >= self.end:
                continue
            n += 1
            off = item.offset if item.offset is not None else self.end
            if item.kind == "lead_off":
                keys = tuple(f"{k}:{item.channel}" for k in TECHNICAL_KEYS)
                what = f"{self.label(item.channel)} needle off"
            else:
                keys = ("no_signal",)
                what = "amplifier disconnected"
            until = f" until {self.at(off)}" if item.offset is not None else " to the end"
            early = round(0.5 * self.rate)
            first = next(
                (
                    r
                    for r in self.raises
                    if r.key in keys and item.onset - early <= r.sample_index <= off
                ),
                None,
            )
            head = f"  {self.at(item.onset)}  {what}{until} ({item.source})"
            if first is None:
                rows.append(f"{head}  NO technical alarm")
                worst.append(f"{what} at {self.at(item.onset)}: no technical alarm")
                continue
            delay = (first.sample_index - item.onset) / self.rate
            rows.append(
                f"{head}  alarm at {self.at(first.sample_index)} ({delay:+.1f} s): {first.text}"
            )
            if within is not None and delay > within:
                worst.append(f"{what} at {self.at(item.onset)}: alarm after {delay:.1f} s")
        if n:
            self.say(f"Technical: {n} lead-off or disconnection episode(s)")
            for row in rows:
                self.say(row)
        if within is not None:
            ok = not worst
            text = (
                f"all {n} lead-off and disconnection episodes alarmed within {within:g} s"
                if ok
                else "; ".join(worst)
            )
            self.check("technical_alarm_within_s", ok, text)

    def others(self) -> None:
        parts = []
        for kind, ek in (
            ("spike", EventKind.SPIKE),
            ("burst", EventKind.BURST),
            ("b_train", EventKind.B_TRAIN),
            ("c_train", EventKind.C_TRAIN),
        ):
            items = self.emg(kind)
            if not items:
                continue
            found = sum(
                any(
                    k.kind is ek
                    and k.channel == t.channel
                    and _overlaps(
                        t.onset, t.offset or t.onset + 1, k.onset, k.offset or self.end, self.tol
                    )
                    for k in self.tracks
                )
                for t in items
            )
            parts.append(f"{kind.replace('_', '-')}s {found} of {len(items)}")
        if parts:
            self.say("Other events found (same class, same channel): " + ", ".join(parts))
        if self.false_trains:
            self.say("False A-train detections (no A-train there in the truth):")
            for k in self.false_trains:
                self.say(f"  {self.at(k.a_train_report)}  {self.label(k.channel)}")
        else:
            self.say("False A-train detections: none")

    def unexplained(self) -> None:
        bad = [r for r in self.raises if r.sample_index < self.end and not self.explained(r)]
        if bad:
            self.say("Alarms the truth does not explain:")
            for r in bad:
                self.say(f"  {self.at(r.sample_index)}  {r.text}")
        else:
            self.say("Alarms the truth does not explain: none")
        if self.expect.no_false_alarms:
            text = "every alarm is explained by the truth"
            if bad:
                first = bad[0]
                text = (
                    f"{len(bad)} unexplained, first at {self.at(first.sample_index)}: {first.text}"
                )
            self.check("no_false_alarms", not bad, text)

    def explained(self, r: AlarmTransition) -> bool:
        kind, _, ch_text = r.key.partition(":")
        ch = int(ch_text) if ch_text.isdigit() else None
        s = round(self.rate)
        idx = r.sample_index
        if kind == "a_train":
            return any(
                t.channel == ch and t.onset - s // 5 <= idx <= (t.offset or self.end) + s
                for t in self.t.of_kind("a_train")
            )
        if kind in ("traintime_warning", "traintime_high"):
            thr = self.thresholds[kind == "traintime_high"]
            total = sum(
                (min(t.offset or self.end, idx + s) - t.onset) / self.rate
                for t in self.t.of_kind("a_train")
                if t.channel == ch and t.onset <= idx + s
            )
            return total >= 0.8 * thr
        down = [(a - s, b + 3 * s) for a, b in self.down]
        if kind == "no_signal":
            return any(a <= idx <= b for a, b in down)
        if kind in TECHNICAL_KEYS:
            if any(a <= idx <= b for a, b in down):
                return True  # the link just came back: the filters restart
            return any(
                t.channel == ch and t.onset - s <= idx <= (t.offset or self.end) + 3 * s
                for t in self.t.of_kind("lead_off")
            )
        return False


def score(
    truth: ScenarioTruth,
    record: MonitorRecord,
    lsr_calls: list[LsrCall],
    traintime_s: list[float],
    thresholds_s: tuple[float, float],
    expect: Expectations,
) -> Scorecard:
    """Match the monitor's output to the truth and check the expectations."""
    return _Scorer(truth, record, lsr_calls, traintime_s, thresholds_s, expect).run()
