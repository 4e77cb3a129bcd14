"""Free-running monitoring of one session: detectors, train time, alarms and the event log.

This is what the live screen, ``--headless`` and ``analyze`` share: attach it to a
session and it subscribes the free-run detector and the signal-quality checks, keeps the
train time, raises and clears alarm conditions, and keeps the event log.

Alarm conditions it raises (policies in :mod:`monitor.alarms`):

- ``a_train:<ch>`` while an A-train lasts (medium);
- ``traintime_warning:<ch>`` / ``traintime_high:<ch>`` when the channel's train time passes
  the first / second threshold (medium / high, latching);
- ``no_signal`` while the source reports no signal (high, technical);
- ``flat:<ch>``, ``mains:<ch>``, ``saturation:<ch>``, ``lead_off:<ch>`` (technical).

An artifact (cautery) suppresses the events and alarms it could fake; it never clears a
technical alarm.
"""

from __future__ import annotations

import logging
import math
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import replace

from monitor.alarms import AlarmManager
from monitor.block import Block
from monitor.events import EmgEvent, EventKind
from monitor.freerun import FreeRunDetector, FreeRunSettings
from monitor.problems import Problem, Severity
from monitor.quality import QualitySettings, SignalQuality
from monitor.session import Session
from monitor.traintime import TrainTime, TrainTimeReset

log = logging.getLogger(__name__)

#: The shortest time an A-train alarm is shown and sounded, from the train's onset.
A_TRAIN_ALARM_MIN_S = 3.0

EventListener = Callable[[EmgEvent], None]


class FreeRunMonitoring:
    """Wires a session to the detectors and an :class:`~monitor.alarms.AlarmManager`.

    Thread safety: the detector callbacks run on the acquisition thread. ``events``,
    ``ongoing``, ``traintime``, ``alarms`` and ``add_listener`` are safe from any thread.
    """

    def __init__(
        self,
        session: Session,
        alarms: AlarmManager | None = None,
        settings: FreeRunSettings | None = None,
        quality: QualitySettings | None = None,
        traintime_thresholds_s: tuple[float, float] = (0.5, 10.0),
        log_size: int | None = 5000,
    ) -> None:
        info = session.source.info
        self.session = session
        self.labels = info.labels
        self.rate = info.rate
        self.alarms = alarms or AlarmManager()
        self.traintime = TrainTime(info.n_channels, info.rate, traintime_thresholds_s)
        self.detector = FreeRunDetector(
            info.rate, info.n_channels, self._on_event, settings, on_hop=self._on_hop
        )
        self.quality = SignalQuality(info.rate, info.labels, self._on_quality, quality)
        self._lock = threading.Lock()
        self._log: deque[EmgEvent] = deque(maxlen=log_size)
        self._ongoing: dict[int, EmgEvent] = {}
        self._finished = 0  # events ever finished (the log keeps the last log_size)
        self._a_train_clear: dict[str, int] = {}  # alarm key -> sample index to clear it
        self._listeners: list[EventListener] = []
        self._levels = [0] * info.n_channels
        self._shown = [0.0] * info.n_channels  # train time last written into the alarm text
        self._lead_off: set[int] = set()
        self._traintime_seen: tuple = ()
        # Losing detection is critical (an alarm), never a passing warning.
        session.subscribe("Free-run detection", self._on_block, essential=True)
        session.subscribe("Signal quality", self.quality, essential=True)
        session.add_problem_listener(self._on_problem)

    # -- settings during the case (any thread) ---------------------------------------------
    def set_thresholds(self, **changes: object) -> None:
        """Change the detection threshold (``mode``, ``k_sigma``, ``floor_uv``,
        ``fixed_uv``) from the next hop on; ``ValueError`` (a sentence) if invalid.
        The change is annotated in the recording."""
        unknown = set(changes) - {"mode", "k_sigma", "floor_uv", "fixed_uv"}
        if unknown:
            raise ValueError(f"Not a detection threshold: {', '.join(sorted(unknown))}.")
        before = self.detector.s
        after = replace(before, **changes)  # type: ignore[arg-type]  # validates
        self.detector.s = after  # one reference swap: the detector reads it per hop
        if after != before:
            self.session.note_change(
                f"detection threshold {_threshold_text(before)} -> {_threshold_text(after)}"
            )

    def set_traintime_thresholds(self, low_s: float, high_s: float) -> None:
        """Change the two train-time alarm levels; ``ValueError`` if not 0 < low < high."""
        if not (math.isfinite(low_s) and math.isfinite(high_s) and 0 < low_s < high_s):
            raise ValueError(
                "Train-time thresholds must be two increasing positive numbers of seconds."
            )
        before = self.traintime.thresholds_s
        self.traintime.thresholds_s = (float(low_s), float(high_s))
        if self.traintime.thresholds_s != before:
            self.session.note_change(
                f"train-time thresholds {before[0]:g}/{before[1]:g} s -> {low_s:g}/{high_s:g} s"
            )

    def reset_traintime(
        self, reason: str, channel: int | None, sample_index: int
    ) -> TrainTimeReset:
        """Reset one channel's train time (``None``: all), with the reason for the record."""
        r = self.traintime.reset(reason, channel, sample_index)
        where = "all channels" if channel is None else self.label(channel)
        self.session.note_change(
            f"train time reset on {where} (was {r.seconds_before:.1f} s): {reason}", sample_index
        )
        return r

    # -- reading (any thread) ----------------------------------------------------------------
    def add_listener(self, callback: EventListener) -> None:
        """``callback(event)`` for every event report, on the acquisition thread."""
        with self._lock:
            self._listeners.append(callback)

    def events(self, n: int | None = None) -> list[EmgEvent]:
        """Finished events, oldest first (the last ``n``)."""
        with self._lock:
            items = list(self._log)
        return items if n is None else items[-n:]

    def events_since(self, seen: int) -> tuple[int, list[EmgEvent]]:
        """Finished events after the first ``seen`` ones, and the new total."""
        with self._lock:
            first = self._finished - len(self._log)  # index of _log[0]
            items = list(self._log)[max(0, seen - first) :] if seen < self._finished else []
            return self._finished, items

    def ongoing(self) -> list[EmgEvent]:
        with self._lock:
            return list(self._ongoing.values())

    def label(self, channel: int) -> str:
        return "all channels" if channel < 0 else self.labels[channel]

    # -- acquisition thread ----------------------------------------------------------------
    def _on_block(self, block: Block, filtered) -> None:
        jump = next((g.index for g in block.gaps if g.seek), None)
        if jump is not None:
            self._end_at_jump(jump)
        self.detector(block, filtered)
        self._check_lead_off(block.stop)

    def _end_at_jump(self, index: int) -> None:
        """A reviewer's jump in a replay: what was going on ends where the replay left
        (``index``), and so do the A-train alarms held on after it, rather than at a time
        of the recording the replay has not reached (or has long passed)."""
        self.detector.flush(index)
        with self._lock:
            pending, self._a_train_clear = self._a_train_clear, {}
        for key, at in pending.items():
            self.alarms.clear_condition(key, min(at, index))

    def _on_hop(self, now: int) -> None:
        """After every detector hop: the same judgements at the same samples whatever
        the block sizes (the screen, a replay at any speed and ``analyze`` agree)."""
        if self._a_train_clear:
            self._clear_due_a_train_alarms(now)
        self.traintime.advance(now)
        self._check_traintime(now)

    def _clear_due_a_train_alarms(self, now: int) -> None:
        with self._lock:
            due = [(k, at) for k, at in self._a_train_clear.items() if now >= at]
            for k, _ in due:
                del self._a_train_clear[k]
        for key, at in due:
            self.alarms.clear_condition(key, at)

    def flush(self) -> None:
        """End open events at the end of the stream (offline analysis)."""
        end = self.session.status().end_index
        self.detector.flush(end)
        self.traintime.advance(end)
        self._check_traintime(end)

    def _on_event(self, ev: EmgEvent) -> None:
        if ev.kind is EventKind.A_TRAIN and not ev.final and self._a_train_clear:
            self._clear_due_a_train_alarms(ev.reported_at)  # before a new train raises it
        with self._lock:
            if ev.final:
                self._ongoing.pop(ev.id, None)
                self._log.append(ev)
                self._finished += 1
            else:
                self._ongoing[ev.id] = ev
            listeners = list(self._listeners)
        self.traintime.on_event(ev)
        if ev.kind is EventKind.A_TRAIN and ev.channel >= 0:
            key = f"a_train:{ev.channel}"
            if ev.final:
                # Shown (and sounded) at least A_TRAIN_ALARM_MIN_S, even for a 0.1 s train.
                with self._lock:
                    self._a_train_clear[key] = ev.onset + round(A_TRAIN_ALARM_MIN_S * self.rate)
            else:
                with self._lock:  # a new train: the last one's pending end is void
                    self._a_train_clear.pop(key, None)
                freq = f" at {ev.freq_hz:.0f} Hz" if ev.freq_hz else ""
                self.alarms.raise_condition(
                    key, f"A-train on {self.labels[ev.channel]}{freq}", ev.onset
                )
        for cb in listeners:
            try:
                cb(ev)
            except Exception:  # one bad listener must not switch detection off
                log.exception("event listener failed")

    def _check_traintime(self, now: int) -> None:
        seen = (self.traintime.version, self.traintime.thresholds_s)
        if seen == self._traintime_seen:
            return  # counts change only with A-train reports (and resets)
        self._traintime_seen = seen
        seconds = self.traintime.seconds()
        lo, hi = self.traintime.thresholds_s
        for ch, t in enumerate(seconds):
            level = (t >= lo) + (t >= hi)
            if level == self._levels[ch]:
                if level and self._shown[ch] != round(t, 1):  # keep the banner's number live
                    self._shown[ch] = round(t, 1)
                    key, text = self._traintime_alarm(ch, t, level)
                    self.alarms.raise_condition(key, text, now)
                continue
            self._shown[ch] = round(t, 1)
            if level >= 1 > self._levels[ch]:
                self.alarms.raise_condition(*self._traintime_alarm(ch, t, 1), now)
            if level >= 2 > self._levels[ch]:
                self.alarms.raise_condition(*self._traintime_alarm(ch, t, 2), now)
            if level < 2 <= self._levels[ch]:
                self.alarms.clear_condition(f"traintime_high:{ch}", now)
            if level < 1 <= self._levels[ch]:
                self.alarms.clear_condition(f"traintime_warning:{ch}", now)
            self._levels[ch] = level

    def _traintime_alarm(self, ch: int, t: float, level: int) -> tuple[str, str]:
        lo, hi = self.traintime.thresholds_s
        label = self.labels[ch]
        if level >= 2:
            return (
                f"traintime_high:{ch}",
                f"Train time {label}: {t:.1f} s — over {hi:g} s, risk of facial palsy",
            )
        return f"traintime_warning:{ch}", f"Train time {label}: {t:.1f} s (over {lo:g} s)"

    def _check_lead_off(self, now: int) -> None:
        status = getattr(self.session.source, "status", None)
        chans = getattr(status, "channels", None)
        if not chans:
            return
        off = {ch for ch, c in enumerate(chans) if c.lead_off and ch < len(self.labels)}
        for ch in off - self._lead_off:
            self.alarms.raise_condition(
                f"lead_off:{ch}", f"{self.labels[ch]}: electrode off — check the needle", now
            )
        for ch in self._lead_off - off:
            self.alarms.clear_condition(f"lead_off:{ch}", now)
        self._lead_off = off

    def _on_quality(self, key: str, text: str, present: bool, index: int) -> None:
        if present:
            self.alarms.raise_condition(key, text, index)
        else:
            self.alarms.clear_condition(key, index)

    def _on_problem(self, problem: Problem) -> None:
        if problem.severity is Severity.WARNING and problem.text.startswith("No signal"):
            self.alarms.raise_condition("no_signal", problem.text, problem.sample_index)
        elif "is back" in problem.text:
            self.alarms.clear_condition("no_signal", problem.sample_index)
        elif problem.severity is Severity.CRITICAL:
            self.alarms.raise_condition("no_signal", problem.text, problem.sample_index)


def _threshold_text(s: FreeRunSettings) -> str:
    if s.mode == "fixed":
        return f"fixed {s.fixed_uv:g} uV"
    return f"adaptive {s.k_sigma:g} x noise (at least {s.floor_uv:g} uV)"
