"""Publishing a monitored case over Lab Streaming Layer: the room's EMG and its markers.

:class:`LslPublisher` attaches to a :class:`~monitor.casemodel.CaseModel` and speaks the
contract of :mod:`drivers.lslmarkers`:

- ``"<room> EMG"`` (type ``EMG``): float32 µV, raw or filtered samples as chosen, one
  channel per montage channel, the labels, units and the room in the description, the
  nominal rate of the source. Chunks are stamped from the sample index: ``t0 + index /
  rate``, where ``t0`` is taken (``pylsl.local_clock``) when the first block of the source
  reaches the publisher, so that the newest sample of that block is "now". Markers are
  stamped the same way from their sample index, so a receiver matches them to the
  samples exactly. A source whose clock drifts from the computer's (a real amplifier, a
  replay played faster than real time) drifts its stamps the same way: the stamps follow
  the signal, not the wall clock.
- ``"<room> markers"`` (type ``Markers``, one string channel, irregular): one JSON
  object per sample (:func:`drivers.lslmarkers.encode`): every event report (open and
  final), every alarm transition, every LSR call, every stimulus, every case note, and a
  ``status`` marker once a second (wall clock). Besides the contract's fields, every
  marker but ``status`` has ``t_s`` (the signal time of its sample index), and ``status``
  has ``dropped_samples`` (samples the publisher had to drop so far).

The publisher follows the case through source switches (``add_source_listener``). When
the new source has other channels or another rate, the EMG outlet is destroyed and made
again with the new labels (a receiver resolves the stream's name again: its ``source_id``
names the channels, so an inlet of the old layout never silently reconnects to the new
one); with the same channels and rate it goes on. The marker outlet lives as long as the
publisher. The stamps of a new source start from a new ``t0``.

Threads and queue: the subscriber on the session (acquisition thread) and the
listeners (acquisition thread, or whichever thread raises an alarm) only copy what they
need into a bounded queue and return; one publisher thread (``lsl-publisher``) pushes
into the outlets, polls the case's notes and writes the status marker. When the queue is
full (the publisher thread starved), the oldest EMG chunks (past ``max_queue_s`` seconds
of signal) or the oldest markers (past ``max_markers``) are dropped, counted
(:attr:`LslPublisher.dropped_samples`, :attr:`LslPublisher.dropped_markers`) and said in
the log as a warning. The acquisition thread never waits on the network.

Thread safety: construct and :meth:`LslPublisher.close` on the case's control thread
(the thread that switches sources); the counters may be read from any thread. Call
:func:`drivers.lslconfig.restrict_to_hosts` with the allowed hosts before constructing the
first publisher in the process; when nothing chose a configuration (``LSLAPICFG`` unset)
the publisher keeps LSL on this machine itself.
"""

from __future__ import annotations

import logging
import math
import os
import socket
import threading
import time
import zlib
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from drivers import lslmarkers
from drivers.lslconfig import restrict_to_hosts

if TYPE_CHECKING:
    from monitor.alarms import AlarmTransition
    from monitor.block import Block
    from monitor.casemodel import CaseModel
    from monitor.events import EmgEvent
    from monitor.evoked import LsrCall
    from monitor.pipeline import Pipeline

log = logging.getLogger(__name__)

RAW = "raw"
FILTERED = "filtered"
SIGNALS = (RAW, FILTERED)

#: The EMG outlet keeps this many seconds for a slow receiver before liblsl drops.
EMG_OUTLET_BUFFER_S = 10

#: Drops are said in the log at most this often (seconds), with the running counts.
DROP_WARNING_S = 10.0


def default_room() -> str:
    """The room's name when none is given: this computer's host name."""
    return socket.gethostname() or "monitor"


@dataclass
class _Attachment:
    """The publisher on one source of the case (one per source switch)."""

    pipeline: Pipeline
    source_no: int
    rate: float
    labels: tuple[str, ...]
    subscriber: Any = None
    t0: float | None = None  # LSL time of sample index 0

    def stamp(self, index: int) -> float:
        import pylsl

        if self.t0 is None:
            return pylsl.local_clock()
        return self.t0 + index / self.rate


@dataclass
class _Chunk:
    att: _Attachment
    start: int
    data: np.ndarray


@dataclass
class _Marker:
    stamp: float
    kind: str
    fields: dict[str, Any] = field(default_factory=dict)


def _num(x: float | None) -> float | None:
    """A float for JSON: ``None`` for unknown (NaN)."""
    if x is None or not math.isfinite(x):
        return None
    return float(x)


class LslPublisher:
    """Publishes a case's EMG and markers (see the module's docstring).

    Parameters
    ----------
    case : CaseModel
        Started or not; followed through its source switches.
    room : str
        The room's name (default: the host name); the streams are ``"<room> EMG"`` and
        ``"<room> markers"``.
    signal : ``"filtered"`` or ``"raw"``
        The samples published: after the monitor's filters (what the screen shows) or
        as the source gave them.
    max_queue_s : float
        Seconds of signal the queue holds for the publisher thread before the oldest are
        dropped.
    max_markers : int
        Markers the queue holds before the oldest are dropped.
    status_interval_s : float
        Wall seconds between status markers.
    """

    def __init__(
        self,
        case: CaseModel,
        room: str | None = None,
        signal: str = FILTERED,
        *,
        max_queue_s: float = 2.0,
        max_markers: int = 5000,
        status_interval_s: float = 1.0,
    ) -> None:
        if not os.environ.get("LSLAPICFG"):  # nobody chose: this machine only
            restrict_to_hosts()
        import pylsl

        if signal not in SIGNALS:
            raise ValueError(f"--lsl-out publishes raw or filtered samples, not {signal!r}")
        self.case = case
        self.room = room or default_room()
        self.signal = signal
        self.max_queue_s = max_queue_s
        self.max_markers = max_markers
        self.status_interval_s = status_interval_s
        self._pylsl = pylsl
        self._cond = threading.Condition()
        self._chunks: deque[_Chunk] = deque()
        self._queued_samples = 0
        self._markers: deque[_Marker] = deque()
        self._stop = False
        self._closed = False
        self.dropped_samples = 0
        self.dropped_markers = 0
        self._said_drop_at = -math.inf
        self.pushed_samples = 0
        self.pushed_markers = 0
        self._notes_seen = 0
        self._att: _Attachment | None = None
        self._emg_layout: tuple[tuple[str, ...], float] | None = None
        self._emg: Any = None
        self._markers_outlet: Any = pylsl.StreamOutlet(self._marker_info())
        self._attach(case.pipeline)
        assert self._att is not None
        self._make_emg_outlet(self._att.labels, self._att.rate)
        case.add_source_listener(self._follow)
        self._thread: threading.Thread = threading.Thread(
            target=self._run, name="lsl-publisher", daemon=True
        )
        self._thread.start()
        log.info(
            "publishing %s (%s EMG) over Lab Streaming Layer",
            lslmarkers.emg_stream_name(self.room),
            self.signal,
        )

    # -- the case's side (control thread) ------------------------------------------------------
    def _follow(self, pipeline: Pipeline) -> None:
        """The case moved to a new source (control thread)."""
        if self._closed:
            return
        old = self._att
        if old is not None and old.subscriber is not None:
            old.pipeline.session.unsubscribe(old.subscriber)
        self._attach(pipeline)

    def _attach(self, pipeline: Pipeline) -> None:
        info = pipeline.session.source.info
        att = _Attachment(pipeline, self.case.source_no, float(info.rate), tuple(info.labels))
        self._att = att
        monitoring, alarms, evoked = pipeline.monitoring, pipeline.alarms, pipeline.evoked
        filtered_out = self.signal == FILTERED
        pylsl = self._pylsl

        def live() -> bool:
            return att is self._att and not self._closed

        def on_block(block: Block, filtered: np.ndarray) -> None:
            if not live():
                return
            if att.t0 is None:
                att.t0 = pylsl.local_clock() - block.stop / att.rate
            data = np.array(filtered if filtered_out else block.data, dtype=np.float32)
            markers = [
                _Marker(
                    att.stamp(s.index),
                    "stim",
                    {
                        "current_ma": _num(s.current_ma),
                        "width_ms": _num(s.width_ms),
                        "site": s.site,
                        "t_s": s.index / att.rate,
                    },
                )
                for s in block.stims
            ]
            self._enqueue(_Chunk(att, block.start, data), markers)

        def on_event(ev: EmgEvent) -> None:
            if not live():
                return
            duration = None if ev.offset is None else (ev.offset - ev.onset) / att.rate
            fields = {
                "channel": monitoring.label(ev.channel),
                "event": ev.kind.value,
                "onset_s": ev.onset / att.rate,
                "duration_s": duration,
                "amplitude_uv": _num(ev.peak_uv),
                "final": bool(ev.final),
                "freq_hz": _num(ev.freq_hz),
                "id": ev.id,
                "t_s": ev.onset / att.rate,
            }
            self._enqueue(None, [_Marker(att.stamp(ev.onset), "event", fields)])

        def on_transition(t: AlarmTransition) -> None:
            if not live():
                return
            fields = {
                "key": t.key,
                "text": t.text,
                "priority": t.priority.name.lower(),
                "state": t.new.value,
                "technical": bool(alarms.policy(t.key).technical),
                "reason": t.reason,
                "t_s": t.sample_index / att.rate,
            }
            self._enqueue(None, [_Marker(att.stamp(t.sample_index), "alarm", fields)])

        previous = evoked.on_call

        def on_call(call: LsrCall) -> None:
            if live():
                fields = {
                    "call": call.kind,
                    "text": call.text,
                    "channels": list(call.channels),
                    "mode": call.mode,
                    "t_s": call.sample_index / att.rate,
                }
                self._enqueue(None, [_Marker(att.stamp(call.sample_index), "lsr", fields)])
            if previous is not None:
                previous(call)

        att.subscriber = on_block
        monitoring.add_listener(on_event)
        alarms.add_listener(on_transition)
        evoked.on_call = on_call
        pipeline.session.subscribe("Lab Streaming Layer publisher", on_block)

    # -- any thread: into the queue ----------------------------------------------------------
    def _enqueue(self, chunk: _Chunk | None, markers: list[_Marker]) -> None:
        dropped_s = dropped_m = 0
        with self._cond:
            if chunk is not None:
                self._chunks.append(chunk)
                self._queued_samples += len(chunk.data)
                limit = max(1, int(self.max_queue_s * chunk.att.rate))
                while self._queued_samples > limit and len(self._chunks) > 1:
                    old = self._chunks.popleft()
                    self._queued_samples -= len(old.data)
                    dropped_s += len(old.data)
            for m in markers:
                self._markers.append(m)
            while len(self._markers) > self.max_markers:
                self._markers.popleft()
                dropped_m += 1
            self.dropped_samples += dropped_s
            self.dropped_markers += dropped_m
            self._cond.notify()
            now = time.monotonic()
            say = (dropped_s or dropped_m) and now - self._said_drop_at >= DROP_WARNING_S
            if say:
                self._said_drop_at = now
        if say:
            log.warning(
                "Lab Streaming Layer publisher behind: dropped the oldest samples and markers "
                "(%d samples, %d markers so far)",
                self.dropped_samples,
                self.dropped_markers,
            )

    # -- the publisher thread ----------------------------------------------------------------
    def _run(self) -> None:
        next_status = time.monotonic() + self.status_interval_s
        while True:
            with self._cond:
                while not (self._chunks or self._markers or self._stop):
                    left = next_status - time.monotonic()
                    if left <= 0:
                        break
                    self._cond.wait(left)
                chunks = list(self._chunks)
                self._chunks.clear()
                self._queued_samples = 0
                markers = list(self._markers)
                self._markers.clear()
                stop = self._stop
            try:
                for c in chunks:
                    self._push_chunk(c)
                markers += self._new_notes()
                for m in markers:
                    self._push_marker(m)
                now = time.monotonic()
                if now >= next_status and not stop:
                    self._push_marker(self._status())
                    next_status += self.status_interval_s
                    if next_status < now:  # far behind (a suspended machine): no burst
                        next_status = now + self.status_interval_s
            except Exception:
                log.exception("Lab Streaming Layer publisher failed to push; it goes on")
            if stop:
                return

    def _push_chunk(self, c: _Chunk) -> None:
        if self._emg_layout != (c.att.labels, c.att.rate):
            self._make_emg_outlet(c.att.labels, c.att.rate)
        assert c.att.t0 is not None
        last = c.att.t0 + (c.start + len(c.data) - 1) / c.att.rate
        self._emg.push_chunk(c.data, last)
        self.pushed_samples += len(c.data)

    def _push_marker(self, m: _Marker) -> None:
        text = lslmarkers.encode(m.kind, self.room, **m.fields)
        self._markers_outlet.push_sample([text], m.stamp)
        self.pushed_markers += 1

    def _new_notes(self) -> list[_Marker]:
        self._notes_seen, notes = self.case.notes_since(self._notes_seen)
        att = self._att
        out = []
        for n in notes:
            same = att is not None and att.source_no == n.source_no
            stamp = att.stamp(n.index) if same and att is not None else self._pylsl.local_clock()
            out.append(
                _Marker(stamp, "note", {"text": n.text, "channel": n.channel, "t_s": n.seconds})
            )
        return out

    def _status(self) -> _Marker:
        att = self._att
        assert att is not None
        p = att.pipeline
        st = p.session.status()
        standing = p.alarms.alarms()
        top = standing[0] if standing else None
        try:
            lsr = p.evoked.status_text()
        except Exception:  # the status must go out whatever the LSR panel says
            lsr = ""
        fields = {
            "t_s": st.end_index / att.rate,
            "state": st.state.value,
            "labels": list(att.labels),
            "train_time_s": [round(t, 3) for t in p.monitoring.traintime.seconds()],
            "thresholds_s": list(p.monitoring.traintime.thresholds_s),
            "alarm": top.text if top is not None else "",
            "alarm_priority": top.priority.name.lower() if top is not None else "",
            "lsr": lsr,
            "recording": bool(self.case.recording),
            "signal": self.signal,
            "dropped_samples": self.dropped_samples,
        }
        return _Marker(att.stamp(st.end_index), "status", fields)

    # -- outlets -----------------------------------------------------------------------------
    def _marker_info(self) -> Any:
        pylsl = self._pylsl
        name = lslmarkers.marker_stream_name(self.room)
        info = pylsl.StreamInfo(
            name,
            lslmarkers.MARKER_TYPE,
            1,
            pylsl.IRREGULAR_RATE,
            pylsl.cf_string,
            f"{name}@{socket.gethostname()}",
        )
        info.desc().append_child_value("room", self.room)
        return info

    def _make_emg_outlet(self, labels: tuple[str, ...], rate: float) -> None:
        """(Re)make the EMG outlet for these channels; the old one is destroyed first."""
        pylsl = self._pylsl
        self._emg = None  # the last reference: liblsl destroys the old outlet now
        name = lslmarkers.emg_stream_name(self.room)
        layout = zlib.crc32("\n".join(labels).encode())
        info = pylsl.StreamInfo(
            name,
            lslmarkers.EMG_TYPE,
            len(labels),
            rate,
            pylsl.cf_float32,
            f"{name}@{socket.gethostname()} {len(labels)}ch {rate:g}Hz {layout:08x}",
        )
        desc = info.desc()
        desc.append_child_value("room", self.room)
        desc.append_child_value("signal", self.signal)
        desc.append_child_value("manufacturer", "Facial Nerve Monitor")
        channels = desc.append_child("channels")
        for label in labels:
            ch = channels.append_child("channel")
            ch.append_child_value("label", label)
            ch.append_child_value("unit", "microvolts")
            ch.append_child_value("type", "EMG")
        self._emg = pylsl.StreamOutlet(info, 0, EMG_OUTLET_BUFFER_S)
        if self._emg_layout is not None:
            log.info("EMG outlet made again for %d channels: %s", len(labels), ", ".join(labels))
        self._emg_layout = (labels, rate)

    # -- the end -----------------------------------------------------------------------------
    def close(self, timeout: float = 5.0) -> None:
        """Stop publishing: the queue is pushed out, the thread ends and both outlets are
        destroyed (receivers see the streams go). Idempotent."""
        if self._closed:
            return
        self._closed = True
        att = self._att
        if att is not None and att.subscriber is not None:
            att.pipeline.session.unsubscribe(att.subscriber)
        with self._cond:
            self._stop = True
            self._cond.notify()
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.warning("Lab Streaming Layer publisher did not stop within %.0f s", timeout)
        self._emg = None
        self._markers_outlet = None
        if self.dropped_samples or self.dropped_markers:
            log.warning(
                "Lab Streaming Layer publisher dropped %d samples and %d markers in all",
                self.dropped_samples,
                self.dropped_markers,
            )
        log.info("Lab Streaming Layer publishing of %s stopped", self.room)
