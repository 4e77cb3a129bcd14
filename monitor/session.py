"""The session: one source, an acquisition thread, filters, ring buffers and subscribers.

Acquisition loop (one thread): pull a block from the source, check its continuity,
filter it with persistent state, write raw and filtered samples to the ring buffers,
hand both to the subscribers (detectors, recorder, display envelope). Nothing here waits
for the screen or the disk: readers pull copies from the ring buffers.

What happens when something fails is a fixed rule, each case tested:

============================== ==================================================
failure                        what the session does
============================== ==================================================
``SignalLost`` from the source keep going: warn, mark the gap, call ``reconnect``
                               with back-off (0.25 s doubling to 4 s) until it
                               works or the session is stopped
``SourceError`` (other)        stop: critical problem with the source's sentence
``EndOfStream``                stop: info "finished" (a replay reached its end)
any other exception in source  stop: critical "internal error", detail logged
exception in a subscriber      keep going without that subscriber: warning naming
                               it; the others and the ring buffers carry on
============================== ==================================================
"""

from __future__ import annotations

import logging
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import Enum

import numpy as np

from monitor.block import Block
from monitor.filters import FilterChain, FilterSettings
from monitor.problems import Problem, Severity
from monitor.ringbuffer import RingBuffer
from monitor.source import EndOfStream, SignalLost, Source, SourceError

log = logging.getLogger(__name__)

#: A subscriber gets each raw block and its filtered samples, on the acquisition thread.
Subscriber = Callable[[Block, np.ndarray], None]


class State(Enum):
    IDLE = "idle"
    RUNNING = "running"
    RECONNECTING = "reconnecting"
    FINISHED = "finished"  # the source ended (replay done) or stop() was called
    FAILED = "failed"  # stopped by an error


@dataclass(frozen=True, slots=True)
class SessionStatus:
    """A snapshot of counters for the status bar and the headless status line."""

    state: State
    source_name: str
    source_kind: str
    rate: float
    n_channels: int
    samples: int  # samples received per channel
    end_index: int  # absolute index one past the newest sample
    gaps: int
    gap_samples: int
    overruns: int
    blocks: int
    nonfinite_samples: int

    @property
    def signal_seconds(self) -> float:
        return self.end_index / self.rate if self.rate else 0.0


MAX_RATE_HZ = 100_000.0
_BACKOFF_START_S = 0.25
_BACKOFF_MAX_S = 4.0


class Session:
    """Runs a :class:`~monitor.source.Source` on an acquisition thread.

    Parameters
    ----------
    source : Source
        An unopened source; the session opens and closes it.
    filter_settings : FilterSettings, optional
    buffer_seconds : float
        How much raw and filtered signal the ring buffers hold.
    keep_raw : bool
        Keep the raw ring buffer. Offline analysis reads only the filtered one (the
        report's figures), so it does without the raw copy of every block.

    Thread safety: ``start``, ``stop`` and ``join`` are for the controlling thread.
    ``status``, ``set_filter``, ``subscribe``, ``unsubscribe``, ``add_problem_listener``
    and the ring buffers' read methods are safe from any thread. Subscribers and problem
    listeners are called on the acquisition thread and must return quickly (a Qt bridge
    re-emits them as queued signals).
    """

    def __init__(
        self,
        source: Source,
        filter_settings: FilterSettings | None = None,
        buffer_seconds: float = 20.0,
        keep_raw: bool = True,
    ) -> None:
        self.source = source
        self._filter_settings = filter_settings or FilterSettings()
        self._buffer_seconds = buffer_seconds
        self._keep_raw = keep_raw
        self._subscribers: list[tuple[str, Subscriber, bool]] = []
        self._listeners: list[Callable[[Problem], None]] = []
        self._change_listeners: list[Callable[[str, int], None]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._state = State.IDLE
        self._expected: int | None = None
        self._samples = 0
        self._gaps = 0
        self._fell_behind_said = 0  # the source's fell_behind count when last said
        self._gap_samples = 0
        self._blocks = 0
        self._nonfinite = 0
        self._backoff = _BACKOFF_START_S
        self._backoff_reset_at = 0
        self._nonfinite_episode = False
        self._last_finite: np.ndarray | None = None
        self.problems: list[Problem] = []
        self._problem_total = 0
        self.raw: RingBuffer | None = None
        self.filtered: RingBuffer | None = None
        self.filters: FilterChain | None = None
        self.opened = threading.Event()

    # -- wiring --------------------------------------------------------------------------
    def subscribe(self, name: str, callback: Subscriber, essential: bool = False) -> None:
        """Add a subscriber called with ``(block, filtered)`` for every block.

        If it raises it is switched off; losing an ``essential`` one (the display, the
        recorder) is reported as critical, any other as a warning.
        """
        with self._lock:
            self._subscribers.append((name, callback, essential))

    def unsubscribe(self, callback: Subscriber) -> None:
        with self._lock:
            self._subscribers = [t for t in self._subscribers if t[1] is not callback]

    def add_problem_listener(self, callback: Callable[[Problem], None]) -> None:
        with self._lock:
            self._listeners.append(callback)

    def remove_problem_listener(self, callback: Callable[[Problem], None]) -> None:
        """Stop calling ``callback`` (no effect if it is not a listener). Thread-safe."""
        with self._lock:
            self._listeners = [c for c in self._listeners if c != callback]

    def add_change_listener(self, callback: Callable[[str, int], None]) -> None:
        """Call ``callback(text, sample_index)`` for every setting changed during the case
        (filters, detection and train-time thresholds): the recording annotates them."""
        with self._lock:
            self._change_listeners.append(callback)

    def note_change(self, text: str, sample_index: int | None = None) -> None:
        """Tell the change listeners that a setting changed (now, or at ``sample_index``).
        Thread-safe."""
        log.info("setting changed: %s", text)
        index = (self._expected or 0) if sample_index is None else sample_index
        with self._lock:
            listeners = list(self._change_listeners)
        for listener in listeners:
            try:
                listener(text, index)
            except Exception:
                log.exception("change listener failed")

    def problems_since(self, seen: int) -> tuple[int, list[Problem]]:
        """Problems reported after the first ``seen`` ones, and the new count. Thread-safe."""
        with self._lock:
            first = self._problem_total - len(self.problems)  # index of problems[0]
            return self._problem_total, list(self.problems[max(0, seen - first) :])

    def set_filter(self, settings: FilterSettings | None = None, **changes: object) -> list[str]:
        """Change the filters while streaming; raises ``FilterSettingsError`` if invalid."""
        if self.filters is None:  # not open yet: validated against the rate at open()
            self._filter_settings = replace(settings or self._filter_settings, **changes)  # type: ignore[arg-type]
            return []
        before = self.filters.settings
        notes = self.filters.set_settings(settings, **changes)
        after = replace(settings or before, **changes)  # type: ignore[arg-type]
        if after != before:
            self.note_change(f"filter {before.describe()} -> {after.describe()}")
        return notes

    # -- life cycle ------------------------------------------------------------------------
    def open(self) -> None:
        """Open the source and allocate buffers. Raises ``SourceError`` with a clear sentence."""
        self.source.open()
        try:
            info = self.source.info
            if not 1 <= info.rate <= MAX_RATE_HZ:
                raise SourceError(
                    f"{info.name} says it samples at {info.rate:g} Hz; the monitor takes "
                    f"up to {MAX_RATE_HZ:g} Hz."
                )
            self.filters = FilterChain(info.rate, info.n_channels, self._filter_settings)
            capacity = max(1, round(self._buffer_seconds * info.rate))
            self.raw = RingBuffer(capacity, info.n_channels) if self._keep_raw else None
            self.filtered = RingBuffer(capacity, info.n_channels)
        except BaseException:
            self.source.close()  # nothing is left holding the device or file
            raise
        for note in self.filters.notes:
            self._report(Severity.INFO, note)
        for message in getattr(self.source, "messages", ()):  # e.g. channels left out
            self._report(Severity.INFO, f"{self.source.info.name}: {message}")
        self.opened.set()

    def start(self) -> None:
        """Open the source if needed and start the acquisition thread."""
        if not self.opened.is_set():
            self.open()
        self._stop.clear()
        self._set_state(State.RUNNING)
        self._thread = threading.Thread(target=self._run, name="acquisition", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop acquisition and close the source. Safe to call twice."""
        self._stop.set()
        self.source.request_stop()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        if self._state in (State.RUNNING, State.RECONNECTING, State.IDLE):
            self._set_state(State.FINISHED)
        if self._thread is not None and self._thread.is_alive():
            # Still inside read() or reconnect(): closing under it would race; the thread
            # closes the source itself when it leaves its loop.
            log.warning(
                "acquisition thread still busy after %.1f s; it will close the source", timeout
            )
            return
        self._close_source()

    def _close_source(self) -> None:
        try:
            self.source.close()
        except Exception:  # closing a broken device must not raise at the user
            log.exception("closing the source failed")

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the acquisition thread to end; True when it has."""
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def state(self) -> State:
        return self._state

    @property
    def running(self) -> bool:
        return self._state in (State.RUNNING, State.RECONNECTING)

    def status(self) -> SessionStatus:
        info = self.source.info if self.opened.is_set() else None
        return SessionStatus(
            state=self._state,
            source_name=info.name if info else "",
            source_kind=info.kind if info else "",
            rate=info.rate if info else 0.0,
            n_channels=info.n_channels if info else 0,
            samples=self._samples,
            end_index=self._expected or 0,
            gaps=self._gaps,
            gap_samples=self._gap_samples,
            overruns=self.source.overruns,
            blocks=self._blocks,
            nonfinite_samples=self._nonfinite,
        )

    # -- the acquisition loop ----------------------------------------------------------------
    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                try:
                    block = self.source.read()
                except SignalLost as exc:
                    self._reconnect(exc)
                    continue
                if block is not None:
                    if self._state is State.RECONNECTING:
                        self._set_state(State.RUNNING)
                        self._report(Severity.INFO, f"Signal from {self.source.info.name} is back.")
                        self._backoff_reset_at = block.start
                    self.process(block)
                    self._say_if_behind()
                    if self._backoff > _BACKOFF_START_S and block.stop - self._backoff_reset_at > (
                        5 * self.source.info.rate
                    ):
                        self._backoff = _BACKOFF_START_S  # data has flowed for 5 s again
        except EndOfStream:
            self._report(Severity.INFO, f"{self.source.info.name}: end of recording reached.")
            self._set_state(State.FINISHED)
        except SourceError as exc:
            self._report(Severity.CRITICAL, f"{exc} Monitoring from this source has stopped.")
            self._set_state(State.FAILED)
        except Exception as exc:
            log.exception("acquisition failed")
            self._report(
                Severity.CRITICAL,
                "Internal error in acquisition; monitoring has stopped. "
                "Restart the source; the details are in the log.",
                detail="".join(traceback.format_exception_only(type(exc), exc)).strip(),
            )
            self._set_state(State.FAILED)
        finally:
            if self._stop.is_set() and threading.current_thread() is self._thread:
                self._close_source()  # stop() timed out while we were busy: close now

    def _say_if_behind(self) -> None:
        """A file or scenario that cannot keep its pace plays on later; say so, once."""
        behind = self.source.fell_behind
        if behind and not self._fell_behind_said:
            self._report(
                Severity.WARNING,
                f"{self.source.info.name} plays slower than asked: this computer cannot keep "
                "up with the speed chosen. No signal is dropped.",
            )
        self._fell_behind_said = behind

    def _reconnect(self, lost: SignalLost) -> None:
        """Reopen with back-off. "Back" is announced by the first block that arrives, and
        the back-off keeps growing while reconnections bring no data (a flapping link)."""
        if self._state is not State.RECONNECTING:
            self._set_state(State.RECONNECTING)
            self._report(Severity.WARNING, f"No signal: {lost} Trying to reconnect…")
        while not self._stop.wait(self._backoff):
            self._backoff = min(self._backoff * 2, _BACKOFF_MAX_S)
            try:
                self.source.reconnect()
            except SignalLost:
                continue
            return

    def process(self, block: Block) -> None:
        """Filter one block, store it and hand it on. Called on the acquisition thread.

        Public so that offline analysis can drive the same pipeline without a thread.
        """
        assert self.filters is not None and self.filtered is not None
        if self._expected is not None and block.start != self._expected:
            self._on_discontinuity(block)
        data = block.data
        bad = None
        if not np.isfinite(data).all():
            # Hold the last finite value through the hole (a 0 would be a step into the
            # high-pass filter, i.e. a fake spike); the filtered output is NaN there.
            bad = ~np.isfinite(data)
            if self._nonfinite == 0 or not self._nonfinite_episode:
                self._report(
                    Severity.WARNING,
                    f"Invalid samples from {self.source.info.name} "
                    f"(channels {', '.join(str(c + 1) for c in np.flatnonzero(bad.any(0)))}); "
                    "shown as a break.",
                    sample_index=block.start,
                )
            self._nonfinite += int(bad.sum())
            data = _hold_last_finite(data, bad, self._last_finite)
        self._nonfinite_episode = bad is not None
        filtered = self.filters.process(data)
        if bad is not None:
            filtered[bad] = np.nan
        self._last_finite = data[-1].copy() if len(data) else self._last_finite
        if self.raw is not None:
            self.raw.write(block.start, block.data)
        self.filtered.write(block.start, filtered)
        self._expected = block.stop
        self._samples += block.n_samples
        self._blocks += 1
        with self._lock:
            subscribers = list(self._subscribers)
        for name, callback, essential in subscribers:
            try:
                callback(block, filtered)
            except Exception as exc:
                log.exception("subscriber %s failed", name)
                self.unsubscribe(callback)
                self._report(
                    Severity.CRITICAL if essential else Severity.WARNING,
                    f"{name} stopped working and was switched off"
                    + ("." if essential else "; monitoring continues."),
                    detail="".join(traceback.format_exception_only(type(exc), exc)).strip(),
                )

    def _on_discontinuity(self, block: Block) -> None:
        assert self._expected is not None and self.filters is not None
        missing = block.start - self._expected
        if missing < 0:
            raise SourceError(
                f"{self.source.info.name} sent samples out of order "
                f"(index {block.start} after {self._expected})."
            )
        self.filters.reset()  # the signal is discontinuous; old state would ring
        rate = self.source.info.rate
        if any(g.seek for g in block.gaps):
            return  # a reviewer's jump in a replay: nothing was lost
        self._gaps += 1
        self._gap_samples += missing
        self._report(
            Severity.WARNING,
            f"Signal gap: {missing} samples ({missing / rate * 1000:.0f} ms) missing "
            f"at {self._expected / rate:.2f} s.",
            sample_index=self._expected,
        )

    def _set_state(self, state: State) -> None:
        self._state = state

    def _report(
        self, severity: Severity, text: str, sample_index: int | None = None, detail: str = ""
    ) -> None:
        problem = Problem(
            severity,
            text,
            sample_index=(self._expected or 0) if sample_index is None else sample_index,
            detail=detail,
        )
        log.log(
            {Severity.INFO: logging.INFO, Severity.WARNING: logging.WARNING}.get(
                severity, logging.ERROR
            ),
            "%s%s",
            text,
            f" ({detail})" if detail else "",
        )
        with self._lock:
            self.problems.append(problem)
            self._problem_total += 1
            if len(self.problems) > 1000:
                del self.problems[:500]
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(problem)
            except Exception:
                log.exception("problem listener failed")


def _hold_last_finite(data: np.ndarray, bad: np.ndarray, last: np.ndarray | None) -> np.ndarray:
    """Replace non-finite samples by the last finite sample before them, per channel."""
    out = data.copy()
    n = len(out)
    idx = np.where(bad, 0, np.arange(n)[:, None])
    np.maximum.accumulate(idx, axis=0, out=idx)
    out = out[idx, np.arange(out.shape[1])]
    lead = bad & (np.cumsum(~bad, axis=0) == 0)  # before the first finite sample of the block
    fill = np.zeros(out.shape[1], np.float32) if last is None else last
    out[lead] = np.broadcast_to(fill, out.shape)[lead]
    return out
