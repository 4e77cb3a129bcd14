"""The recorder: a session subscriber that writes the stream to EDF+C/BDF+C on its own thread.

The acquisition thread only hands each block to :meth:`Recorder.__call__`, which copies
it into a bounded queue and returns; a writer thread drains the queue into a
:class:`~monitor.edfwriter.EdfWriter`. The queue holds at most ``queue_seconds`` of
signal (the memory bound: ``queue_seconds x rate x channels x 4`` bytes). When the disk is
slow the queue fills; past ``high_fraction`` the ``on_backlog(True)`` callback lets the
monitor raise its ``recorder`` technical alarm long before anything is lost; when it is
full, blocks are dropped (counted; the file gets a ``gap`` annotation for them).

A disk error (full disk, no permission, folder gone) stops the writing: what is already
in the file stays intact and readable, ``on_error`` receives a sentence for the
clinician, and monitoring goes on. Nothing here ever raises into the acquisition thread.
"""

from __future__ import annotations

import datetime as dt
import errno
import logging
import math
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

import numpy as np

from monitor.block import Block
from monitor.casesetup import CaseSetupError, check_case_id_is_not_identifying
from monitor.edfwriter import EdfWriter

log = logging.getLogger(__name__)


def default_recording_path(
    folder: str | Path, case_id: str = "", bits: int = 16, now: dt.datetime | None = None
) -> Path:
    """A new file name from the date, time and case id (never a patient name: a case id
    that could identify the patient is left out).

    ``folder/2026-11-25_1403_case-17.edf``; ``.bdf`` for 24-bit; ``_2``, ``_3`` ... when the
    name is taken.
    """
    now = now or dt.datetime.now()
    try:  # every caller checks it already; a file name must never carry a patient's data
        check_case_id_is_not_identifying(case_id, today=now.date())
    except CaseSetupError:
        log.warning("a case id that could identify the patient was left out of a file name")
        case_id = ""
    case = re.sub(r"[^A-Za-z0-9_-]+", "-", case_id).strip("-")[:40]
    stem = now.strftime("%Y-%m-%d_%H%M%S") + (f"_{case}" if case else "")
    suffix = ".bdf" if bits == 24 else ".edf"
    folder = Path(folder)
    path, k = folder / (stem + suffix), 1
    while path.exists():
        k += 1
        path = folder / f"{stem}_{k}{suffix}"
    return path


#: How often the writer thread checks that the file is still where it was made (s).
FILE_CHECK_S = 1.0


def _reason(exc: OSError, folder: Path) -> tuple[str, str]:
    """Why writing failed and what to do, as two clauses."""
    code = exc.errno
    if code == errno.ESTALE and exc.filename and folder.is_dir():
        name = Path(exc.filename).name
        return (
            f"the file {name} in {folder} was replaced by another file",
            "start a new recording (R)",
        )
    if code == errno.ENOENT and exc.filename and folder.is_dir():
        name = Path(exc.filename).name
        return (
            f"the file {name} was deleted or moved from {folder}",
            "start a new recording (R)",
        )
    if code in (errno.ENOSPC, getattr(errno, "EDQUOT", -1)):
        return "the disk is full", "free space or choose another folder"
    if code in (errno.EACCES, errno.EPERM, errno.EROFS):
        return (
            f"the folder {folder} cannot be written to (no permission or read-only)",
            "choose another folder",
        )
    if code in (errno.ENOENT, errno.ENODEV, errno.ENXIO, errno.ESTALE, errno.EIO):
        return (
            f"the folder {folder} is missing (was it deleted, or the drive removed?)",
            "reconnect the drive or choose another folder",
        )
    return f"the disk reported an error ({exc.strerror or exc})", "choose another folder"


def disk_error_sentence(exc: OSError, folder: Path) -> str:
    """What a clinician reads when the recording stops because of ``exc``."""
    why, what = _reason(exc, folder)
    return f"Recording stopped: {why}. Monitoring continues; {what}."


_started: list[Recorder] = []
_started_lock = threading.Lock()


def recordings_this_run() -> list[Recorder]:
    """Every recorder started in this process, oldest first (for the run's last lines).
    Thread-safe."""
    with _started_lock:
        return list(_started)


def _duration(seconds: float) -> str:
    """``2 h 03 min 05 s``, ``3 min 05 s``, ``12.3 s``."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    whole = int(seconds)
    h, m, s = whole // 3600, whole // 60 % 60, whole % 60
    return f"{h} h {m:02d} min {s:02d} s" if h else f"{m} min {s:02d} s"


class RecorderError(Exception):
    """The recording could not start; ``str()`` is a sentence for the user."""


def stim_text(current_ma: float, width_ms: float, site: str) -> str:
    """``stim 15 mA 0.2 ms zygomatic`` (unknown parts left out)."""
    parts = ["stim"]
    if math.isfinite(current_ma):
        parts.append(f"{current_ma:g} mA")
    if math.isfinite(width_ms):
        parts.append(f"{width_ms:g} ms")
    if site:
        parts.append(site)
    return " ".join(parts)


class Recorder:
    """Record a session's raw stream and its annotations to one EDF+C or BDF+C file.

    Parameters
    ----------
    path : str or Path
        The file to write (see :func:`default_recording_path`).
    rate : float
        Sampling rate in Hz.
    labels : sequence of str
        Channel labels.
    bits : {16, 24}
        16 for EDF+ (0.2 µV steps, ±6.5 mV), 24 for BDF+ (0.01 µV steps, ±80 mV).
    queue_seconds : float
        Signal the queue may hold before blocks are dropped (the memory bound).
    high_fraction : float
        Queue fill level at which ``on_backlog(True)`` is called; ``on_backlog(False)``
        follows when it is back under half of that.
    on_error : callable(str), optional
        Called once, on the writer thread, with a clinician sentence when recording stops
        on a disk error.
    on_backlog : callable(bool), optional
        Called (on the acquisition thread) when the queue passes ``high_fraction`` and when
        it has drained again.
    fsync_interval_s : float
        Passed to the writer: the longest time between two ``os.fsync``.
    writer_options
        Passed to :class:`~monitor.edfwriter.EdfWriter` (``case_id``, ``record_seconds``,
        ``physical_range``, ``annotation_bytes``, ``prefilter`` ...); the start is the wall
        time of the first sample, to the microsecond. ``**case.edf_header()`` of a
        :class:`~monitor.casesetup.CaseSetup` gives ``patient``, ``case_id`` and
        ``technician``.

    Thread safety: ``__call__`` is for the acquisition thread (one producer) and never
    blocks or raises. ``annotate``, ``annotate_time``, ``queue_fraction``, ``stats`` and the
    counters are safe from any thread. ``start`` and ``close`` are for the controlling
    thread.
    """

    def __init__(
        self,
        path: str | Path,
        rate: float,
        labels: list[str] | tuple[str, ...],
        bits: int = 16,
        queue_seconds: float = 30.0,
        high_fraction: float = 0.5,
        on_error: Callable[[str], None] | None = None,
        on_backlog: Callable[[bool], None] | None = None,
        fsync_interval_s: float = 1.0,
        **writer_options: object,
    ) -> None:
        self.path = Path(path)
        self.rate = float(rate)
        self.labels = tuple(labels)
        self.bits = bits
        self.capacity = max(1, round(queue_seconds * rate))  # samples per channel
        self.high_fraction = high_fraction
        self.on_error = on_error
        self.on_backlog = on_backlog
        self.fsync_interval_s = fsync_interval_s
        self._writer_options = writer_options
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._queue: deque[tuple[int, np.ndarray]] = deque()
        self._queued = 0  # samples per channel in the queue
        self._annotations: list[tuple[int, str, float]] = []
        self._first: int | None = None  # stream index of the file's first sample
        self._first_wall: dt.datetime | None = None  # wall time of that sample
        self._closing = False
        self._failed = False
        self._replaced = False  # another file took the recording's name
        self._backlog = False
        self.error: str | None = None
        self.dropped_blocks = 0
        self.dropped_samples = 0
        self.writer: EdfWriter | None = None
        self._thread: threading.Thread | None = None

    # -- life cycle (controlling thread) ---------------------------------------------------
    def start(self) -> None:
        """Create the file and start the writer thread.

        Raises
        ------
        RecorderError
            The file cannot be created (with a sentence saying why).
        """
        try:
            self.writer = EdfWriter(
                self.path,
                self.rate,
                self.labels,
                bits=self.bits,
                fsync_interval_s=self.fsync_interval_s,
                **self._writer_options,  # type: ignore[arg-type]
            )
        except OSError as exc:
            why, what = _reason(exc, self.path.parent)
            raise RecorderError(f"Cannot record to {self.path.name}: {why}; {what}.") from exc
        self._thread = threading.Thread(target=self._run, name="recorder", daemon=True)
        self._thread.start()
        with _started_lock:
            _started.append(self)

    def close(self, timeout: float = 30.0) -> None:
        """Write what is queued, finish the file and stop the thread. Idempotent."""
        with self._lock:
            self._closing = True
            self._wake.notify()
        if self._thread is not None:
            self._thread.join(timeout)

    # -- acquisition thread -----------------------------------------------------------------
    def __call__(self, block: Block, filtered: np.ndarray | None = None) -> None:
        """Queue a block (a copy of its raw samples) and its markers; returns at once."""
        try:
            self._enqueue(block)
        except Exception:  # never into the acquisition thread
            log.exception("recorder could not queue a block")

    def _enqueue(self, block: Block) -> None:
        for s in block.stims:
            self.annotate(s.index, stim_text(s.current_ma, s.width_ms, s.site))
        for note in block.notes:
            self.annotate(note.index, note.text, note.duration_s)
        n = block.n_samples
        signal = None
        with self._lock:
            if self._failed or self._closing:
                return
            if self._first is None:
                self._first = block.start
                self._first_wall = dt.datetime.now() - dt.timedelta(seconds=n / self.rate)
            if self._queued + n > self.capacity:
                self.dropped_blocks += 1
                self.dropped_samples += n
                self._annotations.append(
                    (block.start, f"recorder overflow: {n} samples not recorded", 0.0)
                )
            else:
                self._queue.append((block.start, block.data.copy()))
                self._queued += n
                self._wake.notify()
            fraction = self._queued / self.capacity
            if not self._backlog and fraction >= self.high_fraction:
                self._backlog = signal = True
            elif self._backlog and fraction < self.high_fraction / 2:
                self._backlog = False
                signal = False
        if signal is not None and self.on_backlog is not None:
            try:
                self.on_backlog(signal)
            except Exception:
                log.exception("recorder backlog callback failed")

    # -- any thread ---------------------------------------------------------------------------
    def annotate(self, sample_index: int, text: str, duration_s: float = 0.0) -> None:
        """Annotate the recording at an absolute stream sample index. Thread-safe.

        For events, alarms, acknowledgements, stimuli, gaps and notes; never dropped.
        """
        with self._lock:
            if not self._failed and not self._closing:  # a stopped recording takes no more
                self._annotations.append((int(sample_index), str(text), float(duration_s)))

    @property
    def queue_fraction(self) -> float:
        """How full the queue is, 0 to 1."""
        with self._lock:
            return self._queued / self.capacity

    @property
    def backlog(self) -> bool:
        """True while the queue is past ``high_fraction`` (until it drains to half that)."""
        return self._backlog

    @property
    def failed(self) -> bool:
        return self._failed

    def stats(self) -> dict[str, object]:
        """Counters for the status bar and the log."""
        w = self.writer
        return {
            "path": str(self.path),
            "seconds_written": (w.samples_written / self.rate) if w else 0.0,
            "records": w.records_written if w else 0,
            "annotations": w.annotations_written if w else 0,
            "queue_fraction": self.queue_fraction,
            "dropped_blocks": self.dropped_blocks,
            "dropped_samples": self.dropped_samples,
            "clipped_samples": w.clipped_samples if w else 0,
            "error": self.error,
        }

    # -- writer thread ------------------------------------------------------------------------
    def _run(self) -> None:
        assert self.writer is not None
        expected: int | None = None
        started = False
        checked = time.monotonic()
        try:
            while True:
                if time.monotonic() - checked >= FILE_CHECK_S:
                    self.writer.check_file()
                    checked = time.monotonic()
                with self._lock:
                    if not self._queue and not self._closing:
                        self._wake.wait(0.5)
                    if not self._queue and not self._closing:
                        continue  # nothing yet: check the file again when due
                    item = self._queue.popleft() if self._queue else None
                    if item is not None:
                        self._queued -= len(item[1])
                    notes, self._annotations = self._annotations, []
                    first = self._first
                started = self._pass_notes(notes, first, started)
                if item is None:
                    break  # closing and drained
                expected = self._write_block(*item, expected)
            self.writer.close()
        except OSError as exc:
            self._fail(exc)
        except Exception as exc:  # a bug must not leave the file half-finished silently
            log.exception("recorder failed")
            self._fail(OSError(errno.EIO, f"internal error: {exc}"))

    def _pass_notes(
        self, notes: list[tuple[int, str, float]], first: int | None, started: bool
    ) -> bool:
        """Hand annotations to the writer once the first sample is known; True from then."""
        assert self.writer is not None
        if first is None:
            if notes:
                with self._lock:  # no sample yet: keep them for the first block
                    self._annotations[:0] = notes
            return started
        if not started:
            self.writer.set_start(self._first_wall or dt.datetime.now())
        for index, text, duration in notes:
            self.writer.annotate((index - first) / self.rate, text, duration)
        return True

    def _write_block(self, start: int, data: np.ndarray, expected: int | None) -> int:
        """Write one queued block after the gap before it; returns the next index due."""
        assert self.writer is not None
        if expected is not None and start > expected:
            self.writer.write_gap(start - expected)
        elif expected is not None and start < expected:
            data = data[expected - start :]  # overlap: keep the time axis
            start = expected
        self.writer.write(data)
        return start + len(data)

    def outcome(self) -> str:
        """What this recording left on disk, in one sentence for the end of a run: where,
        how much, and whether it stopped early (call after :meth:`close`)."""
        w = self.writer
        seconds = (w.samples_written / self.rate) if w else 0.0
        where = str(self.path.resolve()) if self.path.parent.exists() else str(self.path)
        if self._replaced:
            return f"Recording lost: {where} was replaced by another file while recording."
        if not self.path.exists():
            return (
                f"Recording lost: {where} no longer exists (its file or folder was removed "
                "while recording)."
            )
        if self.error:
            seconds = w.records_written * w.record_seconds if w else 0.0  # what reached disk
            return (
                f"Recording stopped early after {_duration(seconds)}: "
                f"{self.error.removeprefix('Recording stopped: ').split('. ')[0]}. "
                f"What was recorded is saved in {where}."
            )
        dropped = (
            f"; {_duration(self.dropped_samples / self.rate)} not recorded (disk too slow)"
            if self.dropped_samples
            else ""
        )
        return f"Recorded {_duration(seconds)} to {where}{dropped}."

    def _fail(self, exc: OSError) -> None:
        self._replaced = exc.errno == errno.ESTALE and exc.filename == str(self.path)
        text = disk_error_sentence(exc, self.path.parent)
        log.error("%s (%s)", text, exc)
        with self._lock:
            self._failed = True
            self.error = text
            self._queue.clear()
            self._queued = 0
            self._annotations.clear()
        if self.writer is not None:
            self.writer.abandon()
        if self.on_error is not None:
            try:
                self.on_error(text)
            except Exception:
                log.exception("recorder error callback failed")
