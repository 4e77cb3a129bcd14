"""The rooms a supervisor watches: every monitor that publishes its case over Lab
Streaming Layer (``--lsl-out``), read from its marker stream (:mod:`drivers.lslmarkers`).

A :class:`RoomWatcher` finds the marker streams of our monitors as they appear (a
continuous resolver), reads them on a thread of its own and keeps, per room, what a
supervisor needs at a glance: the highest standing alarm, train time per channel against
its two levels, the LSR state, the last events, and how fresh all that is. It only
listens: nothing here can acknowledge an alarm or touch a stimulator.

Thread safety: :meth:`RoomWatcher.rooms` may be called from any thread (the screen's) and
returns copies; ``start`` and ``stop`` from the thread that owns the watcher.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field, replace
from typing import Any

from drivers.lslmarkers import MARKER_TYPE, decode

log = logging.getLogger(__name__)

#: A room with no marker (not even its status, sent once a second) for this long is stale.
STALE_S = 3.0
#: Priorities in order, as the markers spell them.
PRIORITIES = ("", "low", "medium", "high")
STANDING = ("active", "acknowledged", "latched")
LAST_EVENTS = 5
POLL_S = 0.05


@dataclass
class Room:
    """What one monitor said last (a copy; see :meth:`RoomWatcher.rooms`)."""

    name: str
    last_seen: float = 0.0  # time.monotonic() of its last marker
    status: dict[str, Any] = field(default_factory=dict)
    alarms: dict[str, dict[str, Any]] = field(default_factory=dict)  # key -> last marker
    events: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=LAST_EVENTS))
    lsr_calls: list[str] = field(default_factory=list)
    markers: int = 0
    status_no: int = -1  # the marker count at the last status
    alarm_no: int = -1  # ... and at the last alarm marker

    def stale(self, now: float | None = None) -> bool:
        return (now if now is not None else time.monotonic()) - self.last_seen > STALE_S

    def highest_alarm(self) -> tuple[str, str]:
        """(priority, text) of the highest standing alarm; ("", "") when none stands.

        The alarm markers are taken first (they arrive at once); the status line, sent once
        a second, is the fallback for an alarm raised before the supervisor joined, but only
        when it came after the last alarm marker (an older status would bring a cleared
        alarm back for up to a second)."""
        best = ("", "")
        for marker in self.alarms.values():
            if marker.get("state") not in STANDING:
                continue
            priority = str(marker.get("priority", ""))
            if _rank(priority) > _rank(best[0]):
                best = (priority, str(marker.get("text", "")))
        if best[0] or self.alarm_no > self.status_no:
            return best
        priority = str(self.status.get("alarm_priority", "") or "")
        return (priority, str(self.status.get("alarm", "") or "")) if priority else ("", "")

    def train_time(self) -> list[tuple[str, float]]:
        labels = self.status.get("labels") or []
        seconds = self.status.get("train_time_s") or []
        return list(zip(labels, seconds, strict=False))

    def thresholds(self) -> tuple[float, float]:
        t = self.status.get("thresholds_s") or (0.5, 10.0)
        return float(t[0]), float(t[1])

    def copy(self) -> Room:
        return replace(
            self,
            status=dict(self.status),
            alarms={k: dict(v) for k, v in self.alarms.items()},
            events=deque(self.events, maxlen=LAST_EVENTS),
            lsr_calls=list(self.lsr_calls),
        )

    def take(self, marker: dict[str, Any], now: float) -> None:
        """One marker of this room."""
        self.last_seen = now
        self.markers += 1
        kind = marker.get("kind")
        if kind == "status":
            self.status, self.status_no = marker, self.markers
        elif kind == "alarm":
            self.alarms[str(marker.get("key", ""))] = marker
            self.alarm_no = self.markers
        elif kind == "event" and marker.get("final", True):
            same = [e for e in self.events if _same_event(e, marker)]
            for e in same:  # an event reported final again (e.g. reclassified): keep the last
                self.events.remove(e)
            self.events.append(marker)
        elif kind == "lsr":
            self.lsr_calls.append(str(marker.get("text", "")))


def _same_event(a: dict[str, Any], b: dict[str, Any]) -> bool:
    if a.get("id") is not None and b.get("id") is not None:
        return bool(a.get("id") == b.get("id"))
    return (a.get("channel"), a.get("onset_s")) == (b.get("channel"), b.get("onset_s"))


def _rank(priority: str) -> int:
    return PRIORITIES.index(priority) if priority in PRIORITIES else 0


class RoomWatcher:
    """Finds our monitors' marker streams and keeps each room's state (see the module).

    ``only``: the room names to watch (all found when empty).
    """

    def __init__(self, only: tuple[str, ...] = ()) -> None:
        self.only = tuple(only)
        self._rooms: dict[str, Room] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="LSL rooms", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5.0)

    def rooms(self) -> list[Room]:
        """Every room seen, by name (copies). Thread-safe."""
        with self._lock:
            return [self._rooms[n].copy() for n in sorted(self._rooms)]

    # -- the watcher's thread ----------------------------------------------------------------
    def _run(self) -> None:
        import pylsl  # the caller has restricted LSL to its hosts (drivers.lslconfig)

        resolver = pylsl.ContinuousResolver("type", MARKER_TYPE, forget_after=5.0)
        inlets: dict[str, Any] = {}  # source uid -> inlet
        next_look = 0.0
        try:
            while not self._stop.is_set():
                now = time.monotonic()
                if now >= next_look:
                    next_look = now + 1.0
                    for info in resolver.results():
                        uid = info.uid()
                        if uid not in inlets and self._wanted(info.name()):
                            inlets[uid] = pylsl.StreamInlet(info, max_buflen=10)
                            log.info("watching %s", info.name())
                for uid, inlet in list(inlets.items()):
                    try:
                        samples, _ = inlet.pull_chunk(timeout=0.0)
                    except pylsl.LostError:
                        log.info("a room's marker stream went away")
                        del inlets[uid]
                        continue
                    self._take([s[0] for s in samples if s], time.monotonic())
                self._stop.wait(POLL_S)
        except Exception:  # the supervision screen says "no news" rather than crash
            log.exception("the LSL room watcher stopped")

    def _wanted(self, stream_name: str) -> bool:
        if not stream_name.endswith(" markers"):
            return False
        return not self.only or stream_name.removesuffix(" markers") in self.only

    def _take(self, texts: list[str], now: float) -> None:
        markers = [m for m in (decode(t) for t in texts) if m is not None]
        if not markers:
            return
        with self._lock:
            for marker in markers:
                name = str(marker.get("room", ""))
                if not name or (self.only and name not in self.only):
                    continue
                self._rooms.setdefault(name, Room(name)).take(marker, now)


def status_line(room: Room, now: float | None = None) -> str:
    """One line per room for ``remote --headless``."""
    now = time.monotonic() if now is None else now
    if room.stale(now):
        return f"{room.name}: NO NEWS for {now - room.last_seen:.0f} s"
    priority, text = room.highest_alarm()
    alarm = f"ALARM {priority}: {text}" if priority else "no alarm"
    low, high = room.thresholds()
    times = ", ".join(f"{lab} {s:.1f} s" for lab, s in room.train_time())
    t = float(room.status.get("t_s", 0.0) or 0.0)
    lsr = room.status.get("lsr") or "no LSR yet"
    return (
        f"{room.name}: t={t:.0f}s {alarm}; train time ({low:g}/{high:g} s) {times or '-'}; "
        f"LSR: {lsr}"
    )
