"""Replay of EDF, EDF+ (C and D), BDF and BDF+ recordings as a :class:`~monitor.source.Source`.

The file is read lazily, a window of about two seconds at a time (see
:mod:`drivers.edfreader`), and cut into blocks that are paced by the wall clock
(``realtime=True``, the monitor as it would have looked live) or delivered as fast as
the consumer takes them (``realtime=False``, for offline analysis).

What the file becomes:

- **Channels.** The stream has one rate. Signals at 500 Hz or more (the lowest rate of
  use for EMG) vote: the rate most of them share wins, ties go to the higher rate; if
  none reaches 500 Hz the highest rate wins. Data signals at other rates are left out
  and listed in :attr:`ReplaySource.messages`. Annotation signals are never channels;
  duplicate labels get `` (2)``, `` (3)`` ... appended. A channel of the monitor's own
  recordings is labelled ``EMG L OOc`` in the file and shown by the human label its
  transducer field keeps (``L Orb. oculi``, :attr:`drivers.edfreader.EdfSignal.label`);
  other software's labels are shown as written.
- **Units.** Every channel is converted to µV from its physical dimension (V, mV, uV,
  µV, nV, any case). Channels in other units keep their values, and say so.
- **Stimuli.** Annotations whose text starts with ``stim`` (any case) become
  :class:`~monitor.block.StimMarker` (``"stim 12.5 mA 0.2 ms zygomatic"`` gives current,
  width and site); rising edges through the middle of the range of a channel labelled
  ``Trigger``, ``Stim`` or ``STI*`` become stimuli too, and that channel is not played.
  Other annotations become :class:`~monitor.block.NoteMarker`.
- **Time.** ``Block.start`` is the sample index in recording time. EDF+D record onsets
  are honoured: a jump between records is a :class:`~monitor.block.GapMarker` and the
  next block starts after it (a jump of days is one marker; nothing is held per missing
  sample). Index 0 is the first sample; the first record's offset from the header's
  start time (sub-second starts) is :attr:`ReplaySource.start_offset_s`.
- **Damage.** A header that does not fit the file is refused with the field named (see
  :mod:`drivers.edfreader`); ``strict=False`` plays it anyway and says what is wrong. A
  channel whose header scale is damaged is left out and named; ``strict=False`` shows
  it (in digital steps when the header gives no usable scale). Annotations whose time
  cannot be read are skipped and counted in :attr:`ReplaySource.messages`.
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
import math
import os
import re
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from drivers.edfreader import EdfFile, EdfFormatError, EdfSignal, microvolts_per_unit
from monitor.block import Block, GapMarker, NoteMarker, StimMarker
from monitor.source import Capabilities, EndOfStream, Source, SourceError, SourceInfo

MIN_SPEED = 0.1
MAX_SPEED = 20.0
EMG_MIN_RATE_HZ = 500.0
WALL_SECONDS_PER_BLOCK = 0.02  # real-time blocks: about 20 ms of wall time each
OFFLINE_SECONDS_PER_BLOCK = 1.0
WINDOW_SECONDS = 2.0  # recording time decoded per file read
MAX_GAP_PAUSE_S = 2.0  # a longer EDF+D gap pauses real-time replay this long only
POLL_S = 0.1
MAX_BEHIND_S = 2.0  # wall seconds behind the pace asked before the replay slows down
SEEK_BACK_GAP_S = 1.0  # stream time skipped by a jump back: the detectors see a gap

_CURRENT = re.compile(r"(\d+(?:[.,]\d+)?)\s*ma\b", re.IGNORECASE)
_WIDTH = re.compile(r"(\d+(?:[.,]\d+)?)\s*(ms|us|µs|μs)\b", re.IGNORECASE)
_STIM_WORD = re.compile(r"^\s*stim\w*", re.IGNORECASE)

Marker = StimMarker | NoteMarker


def is_trigger_label(label: str) -> bool:
    """True for a channel labelled ``Trigger``, ``Stim`` or ``STI*`` (any case)."""
    name = label.strip().lower()
    return name == "trigger" or name.startswith("sti")


def parse_stim(text: str) -> tuple[float, float, str]:
    """Current (mA), width (ms) and site of ``"stim 12.5 mA 0.2 ms zygomatic"``.

    Parts the text lacks are ``nan`` (numbers) or ``""`` (site).
    """
    current = width = math.nan
    rest = text
    if m := _CURRENT.search(rest):
        current = float(m[1].replace(",", "."))
        rest = rest[: m.start()] + " " + rest[m.end() :]
    if m := _WIDTH.search(rest):
        width = float(m[1].replace(",", "."))
        if m[2].lower() != "ms":
            width /= 1000.0
        rest = rest[: m.start()] + " " + rest[m.end() :]
    site = " ".join(_STIM_WORD.sub("", rest).split()).strip(" :;,-")
    return current, width, site


def _unique(labels: list[str]) -> tuple[str, ...]:
    used: set[str] = set()
    out = []
    for i, label in enumerate(labels):
        base = label or f"Channel {i + 1}"
        name, k = base, 1
        while name in used:
            k += 1
            name = f"{base} ({k})"
        used.add(name)
        out.append(name)
    return tuple(out)


def _listing(items: list[str], limit: int = 8) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


@dataclass(frozen=True, slots=True)
class _Run:
    """Records that follow each other without a gap."""

    first_record: int
    n_records: int
    start: int  # sample index of its first sample
    stop: int


@dataclass(frozen=True, slots=True)
class _Channel:
    signal: EdfSignal
    scale: float  # µV per digital step (or the file's unit when not a voltage)
    shift: float


class ReplaySource(Source):
    """Plays an EDF/EDF+/BDF/BDF+ file as a stream of blocks.

    Parameters
    ----------
    path : str or os.PathLike
        The recording.
    speed : float
        Playback speed in real time, 0.1 to 20 (checked even when not real time).
    realtime : bool
        Pace blocks by the wall clock; else deliver them as fast as they are read.
    block_seconds : float, optional
        In real time: wall time per block (default 0.02 s; at speed 10 a block holds
        0.2 s of recording). Otherwise: recording time per block (default 1 s).
    start_s : float
        Where to start, in seconds of recording time after the first sample.
    hold_at_end : bool
        At the end, wait (for a jump back) instead of raising ``EndOfStream``.
    strict : bool
        Refuse a file whose header is damaged and leave out channels whose scale is
        (default); ``False`` plays them anyway and :attr:`messages` says what is wrong.

    Attributes
    ----------
    messages : list of str
        Plain sentences about what was left out or changed (valid after ``open``).
    duration_s : float
        Recording time from the first sample to the end, gaps included.
    start_datetime : datetime.datetime or None
        Clock time of sample index 0 (header start time plus :attr:`start_offset_s`).
    start_offset_s : float
        Onset of the first record after the header's start time (EDF+; else 0).
    annotations : list of StimMarker or NoteMarker
        Every note and stimulus of the file (trigger edges included), by index.
    gaps : list of GapMarker
        Every EDF+D gap.

    Review controls
    ---------------
    ``pause``, ``resume``, ``set_speed`` and ``seek`` steer a real-time replay while it
    plays; they take effect at the next ``read``. The stream's sample index must never go
    back (the whole pipeline is addressed by it), so a jump back continues the stream
    :data:`SEEK_BACK_GAP_S` later and maps it onto the earlier part of the file: use
    :meth:`recording_index` to turn a stream index into the file's own index. A jump
    forward keeps the two equal. Every jump reaches the pipeline as a
    :class:`~monitor.block.GapMarker` with ``seek=True``.

    Notes
    -----
    Thread safety: ``request_stop``, ``pause``, ``pause_at``, ``resume``, ``set_speed``, ``seek``,
    ``position_s``, ``paused``, ``at_end``, ``seek_pending`` and ``recording_index`` may
    be called from any thread; everything else from the acquisition thread only. After
    ``request_stop``, ``read`` returns ``None`` at once until the source is opened again.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        speed: float = 1.0,
        realtime: bool = True,
        block_seconds: float | None = None,
        start_s: float = 0.0,
        hold_at_end: bool = False,
        strict: bool = True,
    ) -> None:
        _check_speed(speed)
        if block_seconds is not None and not block_seconds > 0:
            raise ValueError(
                f"Block length must be a positive number of seconds, not {block_seconds!r}."
            )
        if not (math.isfinite(start_s) and start_s >= 0):
            raise ValueError(f"Replay must start at 0 s or later, not at {start_s!r} s.")
        self.path = Path(path)
        self.speed = float(speed)
        self.realtime = realtime
        if block_seconds is None:
            block_seconds = WALL_SECONDS_PER_BLOCK if realtime else OFFLINE_SECONDS_PER_BLOCK
        self.block_file_seconds = block_seconds * self.speed if realtime else block_seconds
        self.start_s = float(start_s)
        self.hold_at_end = hold_at_end
        self.strict = strict
        self._block_seconds = block_seconds
        self.messages: list[str] = []
        self.duration_s = 0.0
        self.start_datetime: dt.datetime | None = None
        self.start_offset_s = 0.0
        self.annotations: list[Marker] = []
        self.gaps: list[GapMarker] = []
        self._info: SourceInfo | None = None
        self._file: EdfFile | None = None
        self._channels: list[_Channel] = []
        self._runs: list[_Run] = []
        self._rate = 0.0
        self._n = 0  # samples per record of the played channels
        self._blocks: Iterator[tuple[Block, float]] | None = None
        self._pending: tuple[Block, float] | None = None
        self._t0: float | None = None
        self._stop = threading.Event()
        # Review controls: written by any thread under the lock, applied in read().
        self._control = threading.Lock()
        self._paused = False
        self._pause_at: int | None = None  # file index where to hold (pause_at)
        self._at_end = False
        self._want_speed: float | None = None
        self._want_seek: int | None = None
        self._offset = 0  # stream index - file index, since the last jump back
        self._segments: list[tuple[int, int]] = [(0, 0)]  # (first stream index, offset)
        self._next_file = 0  # file index after the last block delivered
        self._position = 0  # the same, or where a jump not yet played goes
        self._next_stream = 0  # stream index after the last block delivered
        self._delivered = False
        self._seek_marker: GapMarker | None = None
        self._fell_behind = 0
        self._scratch = np.empty(0)  # one channel of a block in float64, while decoding

    # -- Source contract ------------------------------------------------------------

    @property
    def info(self) -> SourceInfo:
        if self._info is None:
            raise RuntimeError("ReplaySource.info is valid only after open().")
        return self._info

    def open(self) -> None:
        """Read header, annotations and trigger edges; :class:`SourceError` if unplayable."""
        self.close()
        self._stop.clear()
        self._info = None
        self.messages = []
        try:
            self._file = EdfFile(self.path, strict=self.strict)
            self._prepare(self._file)
        except (OSError, ValueError) as exc:
            self.close()
            raise SourceError(f"Cannot replay {self.path.name}: {_reason(exc)}.") from None

    def read(self) -> Block | None:
        """Next block, ``None`` if it is not due within ~0.1 s; :class:`EndOfStream` at the end."""
        if self._blocks is None:
            raise RuntimeError("ReplaySource.read() called before open().")
        if self._stop.is_set():
            return None
        self._apply_controls()
        if self._paused or self._at_end:
            self._t0 = None  # on playing again, pace from then: never race through the hold
            self._stop.wait(POLL_S)
            return None
        if self._pending is None:
            try:
                self._pending = next(self._blocks, None)
            except (OSError, EdfFormatError) as exc:
                raise SourceError(f"Cannot replay {self.path.name}: {_reason(exc)}.") from None
            if self._pending is None:
                if self.hold_at_end:
                    with self._control:  # a jump asked for meanwhile wins over the end
                        self._at_end = self._want_seek is None
                    return None
                raise EndOfStream(f"{self.path.name} has been played to the end.")
        block, at_s = self._pending
        if self._pause_at is not None and block.start >= self._pause_at:
            with self._control:  # held exactly there, whatever the screen's frame rate
                self._paused, self._pause_at = True, None
            return None
        if self.realtime:
            wait = self._due_in(at_s)
            if wait > 0 and (self._stop.wait(min(wait, POLL_S)) or wait > POLL_S):
                return None
        self._pending = None
        self._next_file = block.stop
        with self._control:  # a jump asked for meanwhile keeps its position
            if self._want_seek is None:
                self._position = block.stop
        block = self._to_stream(block)
        self._next_stream = block.stop
        self._delivered = True
        return block

    def _due_in(self, at_s: float) -> float:
        """Wall seconds until recording time ``at_s`` is due at the speed asked."""
        now = time.monotonic()
        if self._t0 is None:
            self._t0 = now - at_s / self.speed
        wait = self._t0 + at_s / self.speed - now
        if wait < -MAX_BEHIND_S:  # the consumer cannot keep this pace: on from here,
            self._t0 = now - at_s / self.speed  # later than asked, nothing skipped
            self._fell_behind += 1
            wait = 0.0
        return wait

    @property
    def fell_behind(self) -> int:
        """Times the replay, more than :data:`MAX_BEHIND_S` behind the speed asked (the
        computer cannot keep up), went on later instead of skipping signal."""
        return self._fell_behind

    # -- review controls (thread-safe) ------------------------------------------------------

    def pause(self) -> None:
        """Hold the replay where it is. Thread-safe."""
        with self._control:
            self._paused = True
            self._pause_at = None

    def pause_at(self, seconds: float) -> None:
        """Hold the replay when it reaches ``seconds`` of recording time (a jump or a
        pause cancels it). Thread-safe."""
        with self._control:
            self._pause_at = round(seconds * self._rate)

    def resume(self) -> None:
        """Play on from where it was held (from the start again after the end). Thread-safe."""
        with self._control:
            if self._at_end and self._want_seek is None:
                self._want_seek = self._position = 0
            self._paused = self._at_end = False

    @property
    def paused(self) -> bool:
        """True while held by :meth:`pause`. Thread-safe."""
        return self._paused

    @property
    def seek_pending(self) -> bool:
        """True from ``seek`` until the acquisition thread has applied it. Thread-safe."""
        return self._want_seek is not None

    @property
    def at_end(self) -> bool:
        """True when a ``hold_at_end`` replay has played everything. Thread-safe."""
        return self._at_end

    def set_speed(self, speed: float) -> None:
        """Play at ``speed`` times real time from now on (0.1 to 20). Thread-safe."""
        _check_speed(speed)
        with self._control:
            self._want_speed = float(speed)

    def seek(self, seconds: float) -> None:
        """Jump to ``seconds`` of recording time (clipped to the recording). Thread-safe.

        Valid after ``open``; the jump happens at the next ``read``.
        """
        if not math.isfinite(seconds):
            raise ValueError(f"Cannot jump to {seconds!r} s.")
        end = self._runs[-1].stop if self._runs else 0
        index = min(max(0, round(seconds * self._rate)), max(0, end - 1))
        with self._control:
            self._want_seek = index
            self._pause_at = None
            self._position = index  # what the screen shows from now on
            self._at_end = False

    def position_s(self) -> float:
        """Recording time reached by the blocks delivered so far (or jumped to), in s.
        Thread-safe."""
        return self._position / self._rate if self._rate else 0.0

    def recording_index(self, stream_index: int) -> int:
        """The file's own sample index of a stream index. Thread-safe."""
        with self._control:
            segments = list(self._segments)
        k = bisect.bisect_right(segments, (stream_index, math.inf)) - 1
        return stream_index - segments[max(k, 0)][1]

    def _apply_controls(self) -> None:
        """Apply what other threads asked for (acquisition thread)."""
        with self._control:
            speed, self._want_speed = self._want_speed, None
            target, self._want_seek = self._want_seek, None
        if speed is not None and speed != self.speed:
            self.speed = speed
            if self.realtime:
                self.block_file_seconds = (self._block_seconds or WALL_SECONDS_PER_BLOCK) * speed
            if target is None:
                # Go on where the replay is: the block waiting (file index), or the jump
                # already applied but not yet played.
                target = self._pending[0].start if self._pending else self._position
                self._restart(target)
                return
        if target is None:
            return
        self._restart(target)
        self._position = target
        if not self._delivered:  # nothing played yet: simply start there
            self._next_file = self._next_stream = target
            return
        if target > self._next_file:
            jump = target + self._offset - self._next_stream
        else:
            jump = max(1, round(SEEK_BACK_GAP_S * self._rate))
            with self._control:
                self._offset = self._next_stream + jump - target
                self._segments.append((self._next_stream + jump, self._offset))
        self._seek_marker = GapMarker(self._next_stream, jump, seek=True)

    def _restart(self, first: int) -> None:
        self._blocks = self._generate(first)
        self._pending = None
        self._t0 = None

    def _to_stream(self, block: Block) -> Block:
        """The block moved from the file's index to the stream's, with a pending jump."""
        seek, self._seek_marker = self._seek_marker, None
        k = self._offset
        if k == 0 and seek is None:
            return block
        gaps = tuple(GapMarker(g.index + k, g.n_missing, g.seek) for g in block.gaps)
        return dataclasses.replace(
            block,
            start=block.start + k,
            stims=tuple(dataclasses.replace(m, index=m.index + k) for m in block.stims),
            gaps=(seek, *gaps) if seek is not None else gaps,
            notes=tuple(dataclasses.replace(m, index=m.index + k) for m in block.notes),
        )

    def request_stop(self) -> None:
        """Make a waiting ``read`` return ``None`` promptly. Thread-safe."""
        self._stop.set()

    def close(self) -> None:
        """Close the file. Idempotent."""
        self._blocks = None
        self._pending = None
        self._t0 = None
        if self._file is not None:
            self._file.close()
            self._file = None

    # -- opening ----------------------------------------------------------------------

    def _prepare(self, f: EdfFile) -> None:
        self.messages.extend(f.notes)
        chosen, triggers = self._select_signals(f)
        n = chosen[0].samples_per_record
        rate = n / f.record_duration
        self._channels = self._scaled(chosen)
        labels = _unique([s.label for s in chosen])
        self._rate, self._n = rate, n

        header_notes = len(f.notes)
        notes, onsets = f.read_annotations()
        self.messages.extend(f.notes[header_notes:])  # annotations that were skipped
        starts = self._record_starts(f, onsets, n, rate)
        self._runs = self._make_runs(starts, n)
        self.duration_s = self._runs[-1].stop / rate
        if f.start_datetime is not None:
            self.start_datetime = f.start_datetime + dt.timedelta(seconds=self.start_offset_s)
        markers = [self._marker(a.onset_s, a.duration_s, a.text) for a in notes]
        for trig in triggers:
            stims = self._trigger_stims(f, trig, starts, n)
            markers.extend(stims)
            self.messages.append(
                f"The trigger channel {trig.label} is not played; its rising edges became "
                f"{len(stims)} stimulus marker{'s' * (len(stims) != 1)}."
            )
        self.annotations = sorted(markers, key=lambda m: m.index)
        end = self._runs[-1].stop
        late = [m for m in self.annotations if m.index >= end]
        if late:
            texts = [getattr(m, "text", "stimulus") for m in late]
            self.messages.append(
                f"{len(late)} annotation{'s lie' if len(late) > 1 else ' lies'} after the end "
                f"of the recording and {'are' if len(late) > 1 else 'is'} not played: "
                f"{_listing(texts, 3)}."
            )
        self.gaps = [
            GapMarker(a.stop, b.start - a.stop)
            for a, b in zip(self._runs, self._runs[1:], strict=False)
        ]
        first = round(self.start_s * rate)
        if first >= end:
            raise EdfFormatError(
                f"the start time {self.start_s:g} s is past the end of the recording "
                f"({self.duration_s:g} s)"
            )
        self._info = SourceInfo(
            name=self.path.name,
            rate=rate,
            labels=labels,
            kind="replay",
            description=" ".join([self._summary(f.format, len(labels)), *self.messages]),
            capabilities=Capabilities(seekable=True, montage=False),
        )
        self._blocks = self._generate(first)
        self._next_file = self._next_stream = self._position = first
        self._delivered = False
        self._offset, self._segments, self._seek_marker = 0, [(0, 0)], None
        self._paused = self._at_end = False

    def _select_signals(self, f: EdfFile) -> tuple[list[EdfSignal], list[EdfSignal]]:
        """The signals to play (one rate) and the trigger channels to scan, with messages."""
        data = [s for s in f.signals if not s.is_annotation]
        labelled = [s for s in data if is_trigger_label(s.label)]
        candidates = [s for s in data if s not in labelled and s.samples_per_record > 0]
        if not candidates:
            raise EdfFormatError(
                "it holds no signal to play besides its trigger channel"
                if labelled
                else "its signals hold no samples (0 samples per record)"
                if data
                else "it holds only annotations, no signal to play"
            )
        if f.record_duration <= 0:
            raise EdfFormatError("its data-record duration is 0 s, so its samples have no time")
        if f.n_records == 0:
            # Read anyway, a damaged header may leave no record: say why, not just that.
            raise EdfFormatError(f.faults[0] if f.faults else "it holds no data records")
        candidates = self._undamaged(candidates)
        n = self._choose_samples_per_record(candidates, f.record_duration)
        left_out = [s for s in candidates if s.samples_per_record != n]
        if left_out:
            names = [
                f"{s.label} ({s.samples_per_record / f.record_duration:g} Hz)" for s in left_out
            ]
            self.messages.append(
                f"Left out {len(left_out)} channel{'s' * (len(left_out) > 1)} recorded at "
                f"another rate: {_listing(names)}."
            )
        return [s for s in candidates if s.samples_per_record == n], self._triggers(labelled)

    def _undamaged(self, signals: list[EdfSignal]) -> list[EdfSignal]:
        """The channels whose header scale can be trusted (all of them when not strict).

        A channel with a damaged scale would show a made-up signal (flat, inverted or
        mis-scaled): it is left out and named; when none is left the file is refused.
        """
        damaged = [s for s in signals if s.fault]
        if not self.strict:
            for s in damaged:
                self.messages.append(
                    f"Read anyway, although {s.fault}; channel {s.label} is shown "
                    f"{'in digital steps' if _raw_steps(s) else 'as its header scales it'}."
                )
            return signals
        kept = [s for s in signals if not s.fault]
        if not kept:
            more = len(damaged) - 1
            raise EdfFormatError(
                damaged[0].fault
                + (f" (and {more} more channel{'s' * (more > 1)} are damaged)" if more else "")
            )
        for s in damaged:
            self.messages.append(f"Left out channel {s.label}: {s.fault}.")
        return kept

    def _triggers(self, labelled: list[EdfSignal]) -> list[EdfSignal]:
        """The trigger channels to scan for edges: those with a trusted scale when strict."""
        if not self.strict:
            return labelled
        for s in labelled:
            if s.fault:
                self.messages.append(f"The trigger channel {s.label} is not used: {s.fault}.")
        return [s for s in labelled if not s.fault]

    def _summary(self, fmt: str, n_channels: int) -> str:
        return (
            f"{fmt} file, {self.duration_s:g} s at {self._rate:g} Hz, "
            f"{n_channels} channel{'s' * (n_channels != 1)}."
        )

    @staticmethod
    def _choose_samples_per_record(signals: list[EdfSignal], record_s: float) -> int:
        counts = Counter(s.samples_per_record for s in signals)
        fast = [n for n in counts if n / record_s >= EMG_MIN_RATE_HZ] or [max(counts)]
        return max(fast, key=lambda n: (counts[n], n))

    def _scaled(self, signals: list[EdfSignal]) -> list[_Channel]:
        channels, odd = [], []
        for s in signals:
            gain, offset = _scale(s)
            factor = microvolts_per_unit(s.unit)
            if _raw_steps(s):
                factor = 1.0  # messages already say it is shown in digital steps
            elif factor is None:
                factor = 1.0
                odd.append(f"{s.label} ({s.unit or 'no unit'})")
            channels.append(_Channel(s, gain * factor, offset * factor))
        if odd:
            self.messages.append(
                f"Kept {len(odd)} channel{'s' * (len(odd) > 1)} in the file's own "
                f"unit{'s' * (len(odd) > 1)}, not µV: {_listing(odd)}."
            )
        return channels

    def _record_starts(self, f: EdfFile, onsets: np.ndarray, n: int, rate: float) -> np.ndarray:
        known = np.flatnonzero(np.isfinite(onsets))
        self.start_offset_s = float(onsets[0]) if known.size and known[0] == 0 else 0.0
        if not f.discontinuous:
            return np.arange(f.n_records, dtype=np.int64) * n
        if known.size == 0:
            self.messages.append(
                "The file is marked discontinuous (EDF+D) but its record times cannot be "
                "read; it is played as one continuous stretch."
            )
            return np.arange(f.n_records, dtype=np.int64) * n
        if known.size < f.n_records:
            self.messages.append(
                f"{f.n_records - known.size} data records have no readable start time; each "
                "is placed right after the record before it."
            )
            # Each unknown onset continues from the last known one (or precedes the first).
            records = np.arange(f.n_records)
            ref = known[np.clip(np.searchsorted(known, records, "right") - 1, 0, None)]
            onsets = onsets[ref] + (records - ref) * f.record_duration
        self.start_offset_s = float(onsets[0])
        return np.rint((onsets - onsets[0]) * rate).astype(np.int64)

    def _make_runs(self, starts: np.ndarray, n: int) -> list[_Run]:
        runs: list[_Run] = []
        first, run_start, stop, overlaps = 0, int(starts[0]), int(starts[0]) + n, 0
        for r in range(1, len(starts)):
            s = int(starts[r])
            if s < stop:
                overlaps += 1
                starts[r] = s = stop  # played back to back; trigger edges follow
            if s > stop:
                runs.append(_Run(first, r - first, run_start, stop))
                first, run_start, stop = r, s, s
            stop += n
        runs.append(_Run(first, len(starts) - first, run_start, stop))
        if overlaps:
            self.messages.append(
                f"{overlaps} data record{'s start' if overlaps > 1 else ' starts'} before the "
                "one before it ends; they are played back to back."
            )
        return runs

    def _marker(self, onset_s: float, duration_s: float, text: str) -> Marker:
        index = max(0, round((onset_s - self.start_offset_s) * self._rate))
        if text.lstrip().lower().startswith("stim"):
            current, width, site = parse_stim(text)
            return StimMarker(index, current, width, site)
        return NoteMarker(index, text, duration_s)

    def _trigger_stims(
        self, f: EdfFile, trig: EdfSignal, starts: np.ndarray, n: int
    ) -> list[StimMarker]:
        nt = trig.samples_per_record
        if nt == 0:
            return []
        step = max(1, 1_000_000 // nt)
        chunks = range(0, f.n_records, step)

        gain, offset = _scale(trig)

        def values(a: int) -> np.ndarray:
            raw = f.column(trig, a, min(a + step, f.n_records))
            return f.decode(raw) * gain + offset

        lo, hi = math.inf, -math.inf
        for a in chunks:
            x = values(a)
            lo, hi = min(lo, float(x.min())), max(hi, float(x.max()))
        if not hi > lo:
            return []
        # A pulse starts where the signal rises through the middle of its range; the next
        # one only after it has fallen below a quarter of the range (no chatter on noise).
        middle, rearm = (lo + hi) / 2, lo + (hi - lo) / 4
        edges = []
        state: float | None = None
        for a in chunks:
            x = values(a)
            level = np.where(x > middle, 1.0, np.where(x < rearm, 0.0, np.nan))
            if state is None:
                state = 0.0 if x[0] <= middle else 1.0
            level = np.concatenate(([state], level))
            held = np.where(np.isnan(level), 0, np.arange(len(level)))
            level = level[np.maximum.accumulate(held)]  # carry the last decided level
            edges.append(np.flatnonzero((level[1:] == 1) & (level[:-1] == 0)) + a * nt)
            state = float(level[-1])
        k = np.concatenate(edges)
        index = starts[k // nt] + np.rint((k % nt) * (n / nt)).astype(np.int64)
        return [StimMarker(int(i), site=trig.label) for i in index]

    # -- playing ------------------------------------------------------------------------

    def _generate(self, first: int) -> Iterator[tuple[Block, float]]:
        """Blocks from sample index ``first`` on, each with its due time in recording seconds."""
        f, n, rate = self._file, self._n, self._rate
        assert f is not None
        labels = self.info.labels
        block_n = max(1, round(self.block_file_seconds * rate))
        window_s = max(WINDOW_SECONDS, 2 * self.block_file_seconds)
        window = max(1, math.ceil(window_s / f.record_duration))
        markers = [m for m in self.annotations if m.index >= first] if first else self.annotations
        mi, skipped_s = 0, 0.0
        gaps: tuple[GapMarker, ...] = ()
        played_to: int | None = None
        for run in self._runs:
            if run.stop <= first:
                continue
            if played_to is not None:
                gaps = (GapMarker(played_to, run.start - played_to),)
                skipped_s += max(0.0, (run.start - played_to) / rate - MAX_GAP_PAUSE_S)
            played_to = run.stop
            skip = max(0, first - run.start)
            pos = run.start + skip
            end = run.first_record + run.n_records
            rows = np.empty((0, f.record_bytes), np.uint8)  # raw records held, from held
            held = run.first_record
            while pos < run.stop:
                # Each block is decoded straight into its own array from the raw records
                # (read a window at a time): no decoded window to copy it out of.
                take = np.empty((min(block_n, run.stop - pos), len(labels)), np.float32)
                done = 0
                while done < len(take):
                    at = pos + done - run.start  # sample of the run
                    record = run.first_record + at // n
                    if not held <= record < held + len(rows):
                        rows = f.read_records(record, min(record + window, end))
                        held = record
                    k = min(len(take) - done, (held - run.first_record + len(rows)) * n - at)
                    self._decode_into(rows, (record - held) * n + at % n, take[done : done + k])
                    done += k
                block_stop = pos + len(take)
                mj = mi
                while mj < len(markers) and markers[mj].index < block_stop:
                    mj += 1
                here = markers[mi:mj]
                mi = mj
                yield (
                    Block(
                        start=pos,
                        data=take,
                        rate=rate,
                        labels=labels,
                        stims=tuple(m for m in here if isinstance(m, StimMarker)),
                        gaps=gaps,
                        notes=tuple(m for m in here if isinstance(m, NoteMarker)),
                    ),
                    (pos - first) / rate - skipped_s,
                )
                gaps = ()
                pos = block_stop

    def _decode_into(self, rows: np.ndarray, a: int, out: np.ndarray) -> None:
        """Samples ``a .. a + len(out)`` (counted from the first of ``rows``, raw records)
        of every played channel, in µV, into ``out``."""
        f, n = self._file, self._n
        assert f is not None
        r0, r1 = a // n, -(-(a + len(out)) // n)  # only the records that hold them
        sub = rows[r0:r1]
        lo = a - r0 * n
        if len(self._scratch) < len(out):
            self._scratch = np.empty(len(out))
        v = self._scratch[: len(out)]  # float64, as digital * scale + shift gives
        for j, ch in enumerate(self._channels):
            np.multiply(f.digital(sub, ch.signal)[lo : lo + len(out)], ch.scale, out=v)
            np.add(v, ch.shift, out=v)
            out[:, j] = v


def _raw_steps(signal: EdfSignal) -> bool:
    """True when the header gives no usable scale: the samples are shown as digital steps."""
    return not (math.isfinite(signal.gain) and math.isfinite(signal.offset))


def _scale(signal: EdfSignal) -> tuple[float, float]:
    """Gain and offset to the header's unit; 1 and 0 (digital steps) when it has none."""
    return (1.0, 0.0) if _raw_steps(signal) else (signal.gain, signal.offset)


def _check_speed(speed: float) -> None:
    if not MIN_SPEED <= speed <= MAX_SPEED:
        raise ValueError(
            f"Replay speed must be between {MIN_SPEED:g} and {MAX_SPEED:g} times real "
            f"time; {speed!r} was asked for."
        )


def _reason(exc: BaseException) -> str:
    """The plain clause for an error while opening or reading a file."""
    if isinstance(exc, FileNotFoundError):
        return "the file does not exist"
    if isinstance(exc, IsADirectoryError):
        return "it is a folder, not a file"
    if isinstance(exc, PermissionError):
        return "permission to read it was denied"
    if isinstance(exc, OSError):
        return f"it could not be read ({exc.strerror or exc})"
    if isinstance(exc, EdfFormatError):
        return str(exc)
    return f"it is not a readable EDF or BDF file ({exc})"
