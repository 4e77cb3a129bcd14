"""Alarm conditions, priorities and states after IEC 60601-1-8 (docs/clinical.md §6).

An *alarm condition* (an A-train, train time past its limit, no signal, a lead off) is
raised and cleared by the detectors; this manager turns conditions into alarm states the
user sees and hears:

- **active**: condition present, not acknowledged: shown, and sounded unless audio is
  paused;
- **acknowledged**: the user has responded: still shown while the condition lasts, no
  sound for it until it clears and comes back;
- **latched**: a latching (by default high-priority) alarm whose condition has ended but
  which nobody has acknowledged: it stays on screen and sounding until acknowledged;
- **resolved**: gone from the list.

Audio paused is global and time-limited (2 minutes by default, with a countdown): alarms
stay visible, no alarm sounds; a new high-priority condition is still shown. Every state
change is an :class:`AlarmTransition` with sample index and wall time, for the event log
and the recording.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import Enum, IntEnum


class Priority(IntEnum):
    LOW = 1
    MEDIUM = 2
    HIGH = 3

    @property
    def label(self) -> str:
        return self.name.capitalize()


class AlarmState(Enum):
    ACTIVE = "active"
    ACKNOWLEDGED = "acknowledged"
    LATCHED = "latched"
    RESOLVED = "resolved"


@dataclass(frozen=True, slots=True)
class AlarmPolicy:
    """How one kind of condition alarms (configurable per kind)."""

    priority: Priority
    technical: bool = False
    latching: bool | None = None  # None: latching when high priority

    @property
    def latches(self) -> bool:
        return self.priority is Priority.HIGH if self.latching is None else self.latching


#: Default policies by condition kind (the part of the key before ':').
DEFAULT_POLICIES: dict[str, AlarmPolicy] = {
    "a_train": AlarmPolicy(Priority.MEDIUM),
    "traintime_warning": AlarmPolicy(Priority.MEDIUM),
    "traintime_high": AlarmPolicy(Priority.HIGH),
    "no_signal": AlarmPolicy(Priority.HIGH, technical=True, latching=False),
    "lead_off": AlarmPolicy(Priority.MEDIUM, technical=True),
    "flat": AlarmPolicy(Priority.MEDIUM, technical=True),
    "mains": AlarmPolicy(Priority.LOW, technical=True),
    "saturation": AlarmPolicy(Priority.MEDIUM, technical=True),
    "recorder": AlarmPolicy(Priority.HIGH, technical=True, latching=False),
    # The LSR cannot be judged while the stimulus does not reach the nerve.
    "stimulation_lost": AlarmPolicy(Priority.MEDIUM, technical=True),
}


@dataclass(frozen=True, slots=True)
class Alarm:
    key: str  # "a_train:2", "no_signal", ...
    text: str  # what the banner says, in words
    priority: Priority
    technical: bool
    state: AlarmState
    since_index: int
    since_wall: float
    condition_present: bool


@dataclass(frozen=True, slots=True)
class AlarmTransition:
    key: str
    text: str
    priority: Priority
    old: AlarmState | None
    new: AlarmState
    sample_index: int
    wall_time: float
    reason: str = ""  # "condition", "acknowledged", "cleared" ...


class AlarmManager:
    """Holds every alarm's state.

    Thread safety: every method may be called from any thread (detectors call
    ``raise_condition``/``clear_condition`` on the acquisition thread, the GUI calls
    ``acknowledge``/``pause_audio``/``alarms``); listeners are called without the lock
    held, on the calling thread.
    """

    def __init__(
        self,
        policies: dict[str, AlarmPolicy] | None = None,
        audio_pause_s: float = 120.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.policies = dict(DEFAULT_POLICIES if policies is None else policies)
        self.audio_pause_s = audio_pause_s
        self._clock = clock
        self._alarms: dict[str, Alarm] = {}
        self._paused_until: float | None = None
        self._paused_at = 0.0
        self._lock = threading.Lock()
        self._listeners: list[Callable[[AlarmTransition], None]] = []
        self.history: list[AlarmTransition] = []
        self._transitions = 0

    def add_listener(self, callback: Callable[[AlarmTransition], None]) -> None:
        with self._lock:
            self._listeners.append(callback)

    def policy(self, key: str) -> AlarmPolicy:
        return self.policies.get(key.split(":", 1)[0], AlarmPolicy(Priority.MEDIUM))

    # -- conditions ---------------------------------------------------------------------------
    def raise_condition(self, key: str, text: str, sample_index: int = 0) -> None:
        """The condition is present (idempotent; a changed text updates the banner)."""
        pol = self.policy(key)
        with self._lock:
            old = self._alarms.get(key)
            if old is not None and old.condition_present:
                if old.text != text:
                    self._alarms[key] = _replace(old, text=text)
                return
            if old is not None and old.state is AlarmState.LATCHED:
                new = _replace(old, text=text, state=AlarmState.ACTIVE, condition_present=True)
            else:
                new = Alarm(
                    key,
                    text,
                    pol.priority,
                    pol.technical,
                    AlarmState.ACTIVE,
                    sample_index,
                    time.time(),
                    True,
                )
            self._alarms[key] = new
            t = self._transition(key, old.state if old else None, new, sample_index, "condition")
        self._notify(t)

    def clear_condition(self, key: str, sample_index: int = 0) -> None:
        """The condition has ended: resolve, or latch a latching unacknowledged alarm."""
        pol = self.policy(key)
        with self._lock:
            old = self._alarms.get(key)
            if old is None or not old.condition_present:
                return
            if pol.latches and old.state is AlarmState.ACTIVE:
                self._alarms[key] = _replace(old, state=AlarmState.LATCHED, condition_present=False)
                new_state = AlarmState.LATCHED
            else:
                del self._alarms[key]
                new_state = AlarmState.RESOLVED
            t = self._transition(
                key, old.state, _replace(old, state=new_state), sample_index, "condition ended"
            )
        self._notify(t)

    # -- operator actions ------------------------------------------------------------------------
    def acknowledge(self, key: str | None = None, sample_index: int = 0) -> int:
        """Acknowledge one alarm, or all sounding ones; return how many changed."""
        changed = []
        with self._lock:
            keys = [key] if key is not None else list(self._alarms)
            for k in keys:
                a = self._alarms.get(k)
                if a is None or a.state not in (AlarmState.ACTIVE, AlarmState.LATCHED):
                    continue
                if a.state is AlarmState.LATCHED:
                    del self._alarms[k]
                    new = _replace(a, state=AlarmState.RESOLVED)
                else:
                    new = _replace(a, state=AlarmState.ACKNOWLEDGED)
                    self._alarms[k] = new
                changed.append(self._transition(k, a.state, new, sample_index, "acknowledged"))
        for t in changed:
            self._notify(t)
        return len(changed)

    def pause_audio(self, seconds: float | None = None) -> None:
        """Silence every alarm for ``seconds`` (default ``audio_pause_s``)."""
        with self._lock:
            self._paused_until = self._clock() + (
                self.audio_pause_s if seconds is None else seconds
            )
            self._paused_at = time.time()

    def resume_audio(self) -> None:
        with self._lock:
            self._paused_until = None

    def audio_paused_remaining(self) -> float:
        """Seconds of audio pause left (0 when not paused)."""
        with self._lock:
            if self._paused_until is None:
                return 0.0
            left = self._paused_until - self._clock()
            if left <= 0:
                self._paused_until = None
                return 0.0
            return left

    # -- what to show and sound ---------------------------------------------------------------
    def alarms(self) -> list[Alarm]:
        """Alarms to show, highest priority first, newest first within a priority."""
        with self._lock:
            items = list(self._alarms.values())
        return sorted(items, key=lambda a: (-a.priority, -a.since_wall))

    def sounding_priority(self) -> Priority | None:
        """The priority whose tone should sound now, or None.

        While audio is paused nothing sounds, except a high-priority alarm that began after
        the pause was pressed: a new emergency is never silenced in advance.
        """
        paused = self.audio_paused_remaining() > 0
        with self._lock:
            loud = [
                a.priority
                for a in self._alarms.values()
                if a.state in (AlarmState.ACTIVE, AlarmState.LATCHED)
                and (not paused or (a.priority is Priority.HIGH and a.since_wall > self._paused_at))
            ]
        return max(loud) if loud else None

    # -- internals -------------------------------------------------------------------------------
    def _transition(self, key, old_state, new: Alarm, index: int, reason: str) -> AlarmTransition:
        t = AlarmTransition(
            key, new.text, new.priority, old_state, new.state, index, time.time(), reason
        )
        self.history.append(t)
        self._transitions += 1
        if len(self.history) > 10_000:
            del self.history[:5_000]
        return t

    def transitions_since(self, seen: int) -> tuple[int, list[AlarmTransition]]:
        """Transitions after the first ``seen`` ones, and the new total. Thread-safe."""
        with self._lock:
            first = self._transitions - len(self.history)
            return self._transitions, self.history[max(0, seen - first) :]

    def _notify(self, t: AlarmTransition) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for cb in listeners:
            cb(t)


def _replace(a: Alarm, **changes) -> Alarm:
    return replace(a, **changes)
