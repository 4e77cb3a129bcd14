"""The key moments of a case, captured while ``analyze`` runs, for the report's figures.

What the report draws is taken from the analysis pass itself, so no part of the recording
is read or filtered twice: EMG windows come from the session's filtered ring buffer (the
monitor's own filter, what its screen shows), LSR sweeps from the evoked analyzer.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from commands.reportfigures import Trace, minmax_decimate
from monitor.alarms import AlarmState, AlarmTransition, Priority
from monitor.events import EmgEvent, EventKind
from monitor.evoked import EvokedAnalyzer, LsrBaseline, LsrCall, Sweep
from monitor.evoked.stimuli import MODE_LSR
from monitor.monitoring import FreeRunMonitoring
from monitor.session import Session

log = logging.getLogger(__name__)
T = TypeVar("T")

A_TRAIN_PRE_S = 0.5  # EMG shown before an A-train's onset ...
A_TRAIN_POST_S = 0.5  # ... and after its end
A_TRAIN_MAX_WINDOW_S = 8.0  # a longer train shows its first seconds
A_TRAINS_SHOWN = 6
ALARM_PRE_S = 1.0
ALARM_POST_S = 1.0
ALARMS_KEPT = 8  # per priority: the first ones of a case
ALARM_CHANNELS = 8  # rows of an alarm's figure: its channel first, then the others in order
LSR_SWEEPS_KEPT = 48  # recent LSR sweeps held to pick the baseline and disappearance from
CURRENT_TOLERANCE = 0.1  # a baseline sweep is at the baseline's current within 10 %


@dataclass
class _Window:
    """Stream samples ``[start, stop)`` to capture from the filtered ring buffer."""

    start: int
    stop: int
    channels: tuple[int, ...]
    traces: list[Trace] = field(default_factory=list)
    taken: bool = False


@dataclass
class TrainMoment:
    """One A-train and the filtered EMG of its channel around it.

    Times are sample indices of the stream; ``offset`` is None until the train ended.
    """

    event_id: int
    channel: int
    onset: int
    offset: int | None
    peak_uv: float
    freq_hz: float | None
    window: _Window
    final: bool = False
    alarms: list[str] = field(default_factory=list)  # train-time alarms it raised

    @property
    def trace(self) -> Trace | None:
        return self.window.traces[0] if self.window.traces else None

    def rank(self, rate: float) -> tuple[float, float]:
        """Longest first, then largest."""
        end = self.offset if self.offset is not None else self.window.stop
        return ((end - self.onset) / rate, self.peak_uv)


@dataclass
class AlarmMoment:
    """An alarm raised, and every channel around the moment."""

    key: str
    text: str
    priority: Priority
    index: int
    window: _Window


class KeyMoments:
    """Collects the signal of the report's figures during the analysis pass.

    - **A-trains**: the filtered EMG of the train's channel from ``A_TRAIN_PRE_S`` before
      its onset to ``A_TRAIN_POST_S`` after its end (at most ``A_TRAIN_MAX_WINDOW_S``); the
      ``A_TRAINS_SHOWN`` longest (then largest) are kept, and always every train that took
      a channel's train time past a threshold (the moment of that alarm).
    - **Alarms**: the channels (the alarm's own and others, ``ALARM_CHANNELS`` in all)
      ``ALARM_PRE_S`` before to ``ALARM_POST_S`` after the first
      ``ALARMS_KEPT`` medium- and high-priority alarms raised, except A-train and train-time
      alarms, whose moment is an A-train.
    - **LSR**: the sweeps the baseline was taken from and those that made the latest
      disappearance call.

    A window is read from ``session.filtered`` once its last sample has arrived and
    reduced at once to :data:`~commands.reportfigures.TRACE_POINTS` points per channel,
    so memory stays small however long the case; a block with nothing due costs one
    comparison.

    Thread safety: none needed: every method runs on the thread that drives the session
    (``analyze``'s loop); read the results after :meth:`finish`.
    """

    def __init__(self, session: Session, monitoring: FreeRunMonitoring) -> None:
        self.session = session
        self.rate = monitoring.rate
        self.n_channels = len(monitoring.labels)
        self._trains: dict[int, TrainMoment] = {}
        self._last_train: dict[int, TrainMoment] = {}  # by channel, for train-time alarms
        self._alarms: list[AlarmMoment] = []
        self._pending: list[_Window] = []
        self._next_due: int | None = None
        self._evoked: EvokedAnalyzer | None = None
        self._recent: deque[Sweep] = deque(maxlen=LSR_SWEEPS_KEPT)
        self.baseline: LsrBaseline | None = None
        self.baseline_sweeps: list[Sweep] = []
        self.gone_call: LsrCall | None = None
        self.gone_sweeps: list[Sweep] = []
        monitoring.add_listener(_guarded(self.on_event))
        monitoring.alarms.add_listener(_guarded(self.on_alarm))
        session.subscribe("Report figures", self)

    def watch(self, evoked: EvokedAnalyzer) -> None:
        """Take the LSR sweeps from ``evoked`` (chained before its own callbacks)."""
        self._evoked = evoked
        sweep_cb, call_cb = evoked.on_sweep, evoked.on_call
        mine_sweep, mine_call = _guarded(self.on_sweep), _guarded(self.on_call)

        def on_sweep(sweep: Sweep) -> None:
            mine_sweep(sweep)
            if sweep_cb is not None:
                sweep_cb(sweep)

        def on_call(call: LsrCall) -> None:
            mine_call(call)
            if call_cb is not None:
                call_cb(call)

        evoked.on_sweep, evoked.on_call = on_sweep, on_call

    # -- detectors ---------------------------------------------------------------------------
    def on_event(self, ev: EmgEvent) -> None:
        """Start, update or drop an A-train's capture."""
        moment = self._trains.get(ev.id)
        if ev.kind is not EventKind.A_TRAIN or ev.channel < 0:
            if moment is not None and ev.final:  # it ended as something else
                del self._trains[ev.id]
                if moment.window in self._pending:
                    self._pending.remove(moment.window)
                if self._last_train.get(moment.channel) is moment:
                    del self._last_train[moment.channel]
            return
        if moment is None:
            start = ev.onset - round(A_TRAIN_PRE_S * self.rate)
            window = _Window(start, start + round(A_TRAIN_MAX_WINDOW_S * self.rate), (ev.channel,))
            moment = TrainMoment(ev.id, ev.channel, ev.onset, None, 0.0, None, window)
            self._trains[ev.id] = self._last_train[ev.channel] = moment
            self._add(window)
        moment.peak_uv = max(moment.peak_uv, ev.peak_uv)
        moment.freq_hz = ev.freq_hz or moment.freq_hz
        if ev.final:
            moment.final = True
            moment.offset = ev.offset if ev.offset is not None else ev.onset
            if not moment.window.taken:
                end = moment.offset + round(A_TRAIN_POST_S * self.rate)
                moment.window.stop = min(moment.window.stop, end)
                self._next_due = None
            self._prune()

    def on_alarm(self, t: AlarmTransition) -> None:
        """Capture the moment a medium or high alarm is raised (for train time: its train)."""
        raised = t.new is AlarmState.ACTIVE and t.old in (None, AlarmState.RESOLVED)
        kind, _, channel = t.key.partition(":")
        if not raised or t.priority < Priority.MEDIUM or kind == "a_train":
            return
        if kind.startswith("traintime"):
            # Train time is checked at block ends: the alarm comes with or after the train
            # that took it over the threshold, the last one of the channel.
            train = self._last_train.get(int(channel)) if channel.isdigit() else None
            if train is not None:
                train.alarms.append(f"{t.priority.label.lower()}-priority alarm “{t.text}”")
                self._trains[train.event_id] = train  # kept, even if pruned meanwhile
            return
        if sum(a.priority == t.priority for a in self._alarms) >= ALARMS_KEPT:
            return
        window = _Window(
            t.sample_index - round(ALARM_PRE_S * self.rate),
            t.sample_index + round(ALARM_POST_S * self.rate),
            _alarm_channels(channel, self.n_channels),
        )
        self._alarms.append(AlarmMoment(t.key, t.text, t.priority, t.sample_index, window))
        self._add(window)

    def on_sweep(self, sweep: Sweep) -> None:
        if sweep.mode != MODE_LSR:
            return
        self._recent.append(sweep)
        if self.baseline is None and self._evoked is not None:
            b = self._evoked.baseline(MODE_LSR)
            if b is not None and sweep.stim_number >= b.last_stim:
                self.baseline = b
                self.baseline_sweeps = [s for s in self._recent if _is_baseline_sweep(s, b)]

    def on_call(self, call: LsrCall) -> None:
        if call.mode != MODE_LSR or call.kind != "disappeared":
            return
        self.gone_call = call
        b = self.baseline
        self.gone_sweeps = [
            s
            for s in self._recent
            if call.sample_index <= s.marker.index <= call.reported_at
            and (b is None or _at_baseline_stimulus(s, b))  # as the criterion compares
        ]

    # -- the stream ----------------------------------------------------------------------------
    def __call__(self, block, filtered=None) -> None:
        """Session subscriber: read the windows whose last sample has arrived."""
        if self._next_due is not None and block.stop < self._next_due:
            return
        self._take_due(block.stop)

    def finish(self) -> None:
        """At the end of the stream: read what the open windows have."""
        end = self.session.filtered.end if self.session.filtered is not None else 0
        for window in list(self._pending):
            window.stop = min(window.stop, end)
        self._take_due(end)
        self._prune()

    def _add(self, window: _Window) -> None:
        self._pending.append(window)
        self._next_due = None

    def _take_due(self, end: int) -> None:
        due = [w for w in self._pending if w.stop <= end]
        for window in due:
            self._pending.remove(window)
            self._read(window)
        self._next_due = min((w.stop for w in self._pending), default=None)
        if due:
            self._prune()

    def _read(self, window: _Window) -> None:
        ring = self.session.filtered
        window.taken = True
        if ring is None:
            return
        a, b = max(window.start, ring.begin), min(window.stop, ring.end)
        if b - a < 2:
            return
        try:
            data = ring.read(a, b)
        except LookupError:  # overwritten meanwhile (a long gap): nothing to show
            return
        window.traces = [
            minmax_decimate(data[:, ch], self.rate, a / self.rate) for ch in window.channels
        ]

    def _prune(self) -> None:
        """Keep the best finished A-trains (and every one still being captured)."""
        done = [m for m in self._trains.values() if m.final and m.window.taken and not m.alarms]
        if len(done) <= 2 * A_TRAINS_SHOWN:
            return
        done.sort(key=lambda m: m.rank(self.rate), reverse=True)
        for m in done[A_TRAINS_SHOWN:]:
            del self._trains[m.event_id]

    # -- results -------------------------------------------------------------------------------
    def trains(self) -> list[TrainMoment]:
        """The A-trains to show: those that raised a train-time alarm, then the longest
        (then largest) up to ``A_TRAINS_SHOWN`` in all."""
        ready = [m for m in self._trains.values() if m.trace is not None]
        ready.sort(key=lambda m: (bool(m.alarms), m.rank(self.rate)), reverse=True)
        pinned = sum(bool(m.alarms) for m in ready)
        return ready[: max(A_TRAINS_SHOWN, pinned)]

    def last_sweeps(self, n: int) -> list[Sweep]:
        """The last ``n`` LSR sweeps at the baseline's stimulus (none without a baseline)."""
        b = self.baseline
        if b is None:
            return []
        return [s for s in self._recent if _at_baseline_stimulus(s, b)][-n:]

    def alarms(self) -> list[AlarmMoment]:
        """The alarm moments captured, in time order."""
        return [a for a in self._alarms if a.window.traces]


def _guarded(method: Callable[[T], None]) -> Callable[[T], None]:
    """``method`` made harmless to its caller: a figure is never worth losing the alarms,
    detectors or evoked analysis that call it (their callers do not all catch)."""

    def call(arg: T) -> None:
        try:
            method(arg)
        except Exception:
            log.exception("the report's figures lost a moment")

    return call


def _alarm_channels(channel: str, n_channels: int) -> tuple[int, ...]:
    """Every channel, or with many the alarm's own (``"3"`` of ``flat:3``) among the first."""
    chans = list(range(n_channels))
    if n_channels <= ALARM_CHANNELS:
        return tuple(chans)
    own = int(channel) if channel.isdigit() and int(channel) < n_channels else None
    if own is None:
        return tuple(chans[:ALARM_CHANNELS])
    others = [c for c in chans if c != own][: ALARM_CHANNELS - 1]
    return tuple(sorted([own, *others]))


def _is_baseline_sweep(s: Sweep, b: LsrBaseline) -> bool:
    return b.first_stim <= s.stim_number <= b.last_stim and _at_baseline_stimulus(s, b)


def _at_baseline_stimulus(s: Sweep, b: LsrBaseline) -> bool:
    """The sweep's stimulus is the baseline's: same site, same current within 10 %."""
    if s.marker.site.strip().lower() != b.site:
        return False
    cur, ref = s.marker.current_ma, b.current_ma
    if not (math.isfinite(cur) and math.isfinite(ref)):  # unknown current: both or neither
        return math.isfinite(cur) == math.isfinite(ref)
    return abs(cur - ref) <= CURRENT_TOLERANCE * max(cur, ref)
