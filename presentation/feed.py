"""Reading the free-run monitoring incrementally, and saying what happened in words.

Qt-free, so that ``--headless`` prints the same lines the screen's event log shows.
The GUI calls :meth:`MonitoringFeed.poll` from its frame timer; nothing here is ever
called on the acquisition thread.
"""

from __future__ import annotations

from dataclasses import dataclass

from monitor.alarms import AlarmState, AlarmTransition
from monitor.clock import hhmmss
from monitor.events import EmgEvent, EventKind
from monitor.monitoring import FreeRunMonitoring
from presentation import theme

CLASS_NAMES = {
    EventKind.SPIKE: "spike",
    EventKind.BURST: "burst",
    EventKind.A_TRAIN: "A-train",
    EventKind.B_TRAIN: "B-train",
    EventKind.C_TRAIN: "C-train",
    EventKind.ARTIFACT: "artifact",
}


def class_name(kind: EventKind) -> str:
    return CLASS_NAMES.get(kind, str(kind))


def event_label(ev: EmgEvent) -> str:
    """The short name drawn on the trace: ``A-train 77 Hz``, ``burst``, ..."""
    name = class_name(ev.kind)
    if ev.kind is EventKind.A_TRAIN and ev.freq_hz:
        name += f" {ev.freq_hz:.0f} Hz"
    return name


def duration_text(samples: int, rate: float) -> str:
    s = samples / rate
    return f"{s * 1000:.0f} ms" if s < 1 else f"{s:.2f} s" if s < 10 else f"{s:.1f} s"


def alarm_state_text(t: AlarmTransition) -> str:
    if t.new is AlarmState.ACTIVE:
        return "alarm" if t.old is None else "alarm again"
    if t.new is AlarmState.ACKNOWLEDGED:
        return "acknowledged"
    if t.new is AlarmState.LATCHED:
        return "ended, held until acknowledged"
    return "acknowledged, cleared" if t.reason == "acknowledged" else "ended"


def alarm_channel(key: str) -> int | None:
    """The channel an alarm key names (``a_train:3`` -> 3), or None."""
    _, _, tail = key.partition(":")
    return int(tail) if tail.isdigit() else None


@dataclass(frozen=True, slots=True)
class EventRow:
    """One event as the log shows it."""

    time: str
    channel: str
    kind: str
    amplitude: str
    duration: str
    frequency: str

    def line(self, with_time: bool = True) -> str:
        parts = [self.channel, self.kind, self.amplitude, self.duration, self.frequency]
        return "  ".join(p for p in ([self.time] if with_time else []) + parts if p)


def event_row(ev: EmgEvent, monitoring: FreeRunMonitoring) -> EventRow:
    rate = monitoring.rate
    end = ev.offset if ev.offset is not None else ev.reported_at
    return EventRow(
        time=hhmmss(ev.onset / rate),
        channel=monitoring.label(ev.channel),
        kind=class_name(ev.kind),
        amplitude=f"{ev.peak_uv:.0f} µV" if ev.kind is not EventKind.ARTIFACT else "",
        duration=duration_text(max(0, end - ev.onset), rate),
        frequency=f"{ev.freq_hz:.0f} Hz" if ev.freq_hz else "",
    )


def transition_text(t: AlarmTransition, technical: bool = False) -> str:
    """``!! Medium alarm: A-train on L Frontalis at 77 Hz — alarm`` (technical ones say so)."""
    marks = theme.ALARM_MARKS.get(int(t.priority), "")
    kind = "technical alarm" if technical else "alarm"
    return f"{marks} {t.priority.label} {kind}: {t.text} — {alarm_state_text(t)}"


class MonitoringFeed:
    """Pulls what is new since the last call: finished events and alarm transitions.

    Thread safety: use from one thread (the GUI timer, or the headless loop).
    """

    def __init__(self, monitoring: FreeRunMonitoring) -> None:
        self.monitoring = monitoring
        self._events_seen = 0
        self._transitions_seen = 0

    def poll(self) -> tuple[list[EmgEvent], list[AlarmTransition]]:
        return self.new_events(), self.new_transitions()

    def new_events(self) -> list[EmgEvent]:
        """Finished events since the last call, oldest first."""
        self._events_seen, new = self.monitoring.events_since(self._events_seen)
        return new

    def new_transitions(self) -> list[AlarmTransition]:
        """Alarm transitions since the last call, oldest first."""
        self._transitions_seen, new = self.monitoring.alarms.transitions_since(
            self._transitions_seen
        )
        return new
