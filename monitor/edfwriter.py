"""A small crash-safe EDF+C / BDF+C writer.

Why our own: neither edfio nor pyedflib records crash-safely (``PLATFORM.md``, "EDF /
BDF"): pyedflib leaves the record count at ``-1`` and holds every annotation in memory
until ``close()``; edfio writes whole files only. This writer keeps the file valid after
every data record:

1. each complete record (all signals, then the ``EDF Annotations`` / ``BDF Annotations``
   signal holding the time-keeping TAL and the annotations that fall in the record) is
   written with one ``os.pwrite`` at its place;
2. the header's number-of-records field is then rewritten in place (``os.pwrite``);
3. ``os.fsync`` runs at least every ``fsync_interval_s`` seconds (a killed process loses
   nothing the kernel already has; the fsync bounds what a power cut can lose).

A file cut at any byte therefore holds a header whose count is at most one record behind
the complete records present, plus at most one partial record: our reader
(:mod:`drivers.edfreader`) and edfio open it as it is; :func:`monitor.edfrecover.recover`
truncates the partial record and fixes the count so that pyedflib and EDFbrowser (which
check the file size) open it too.

Choices (documented in ``docs/recording.md``):

- **Gaps** (samples the stream lost): a gap of up to :data:`MAX_FILLED_GAP_S` is written
  as 0 µV and annotated ``gap N samples`` at its start with its duration, so the file stays
  EDF+C (which pyedflib needs) and its time axis equal to the stream's sample index. A
  longer gap costs at most one record of padding: the file becomes EDF+D (``+D`` in the
  header) and the next record's time-keeping TAL carries its true onset. A gap therefore
  never writes more than :data:`MAX_FILLED_GAP_S` of file, whatever its length.
- **The last, partial record** at :meth:`EdfWriter.close` is padded with 0 µV and an
  annotation ``recording end (padding follows)`` marks the true end, so no sample is lost.
- **Annotations** never get dropped: those that do not fit in a record's annotation
  signal carry over to the next record (their onset stays exact); a single text too long
  for an empty record is shortened.
- **Out-of-range samples** are clipped to the digital range and counted; non-finite
  samples are written as 0 µV and counted.
- **EDF+ conventions** (:mod:`monitor.edflabels`): every channel is labelled ``EMG`` and a
  systematic short name (``EMG L OOc``, unique, at most 16 characters) so that other
  readers type it as EMG; its human label (``L Orb. oculi``) is kept in the transducer
  field, where our reader finds it again. The prefilter field says what the caller
  passes (the filters the stored samples went through). The header keeps the start to
  the whole second; its fraction is the onset of the first record's time-keeping TAL
  (``+0.123``), and every record and annotation onset counts from the header's second.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from monitor.edflabels import PREFILTER_CHARS, ascii_text, edf_labels, human_labels

#: Default per-record size of the annotation signal, in bytes (about 10 TALs of 50 bytes).
DEFAULT_ANNOTATION_BYTES = 512
#: Physical and digital ranges by sample width: (pmin, pmax, dmin, dmax) in µV.
#: EDF: 0.2 µV steps over ±6.55 mV; BDF: 0.01 µV steps over ±80 mV; digital 0 is 0 µV.
DEFAULT_RANGES = {
    16: (-6553.6, 6553.4, -32768, 32767),
    24: (-80000.0, 80000.0, -8000000, 8000000),
}
_RECORD_SECONDS = (0.1, 0.2, 0.25, 0.5, 1.0, 2.0, 4.0, 5.0, 10.0)
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_COUNT_OFFSET = 236  # the 8-byte number-of-records field
_RESERVED_OFFSET = 192  # the 44-byte reserved field: "EDF+C" or "EDF+D"
#: The longest gap written out as 0 µV; a longer one makes the file discontinuous (EDF+D).
MAX_FILLED_GAP_S = 10.0


class EdfWriteError(ValueError):
    """Arguments that cannot make a valid EDF/BDF file (a plain sentence)."""


_ascii = ascii_text  # printable US-ASCII, as the EDF header requires


def _field(text: str, width: int) -> bytes:
    raw = _ascii(text).encode("ascii")
    if len(raw) > width:
        raise EdfWriteError(f"the header field {text!r} is longer than {width} characters")
    return raw.ljust(width)


def _number_field(value: float) -> str:
    """The shortest text of at most 8 characters for a header number (exact if possible)."""
    if float(value) == int(value) and len(str(int(value))) <= 8:
        return str(int(value))
    for digits in range(10, 0, -1):
        text = f"{value:.{digits}g}"
        if "e" not in text and len(text) <= 8:
            return text
    raise EdfWriteError(f"the number {value!r} does not fit an 8-character header field")


def unique_labels(labels: list[str] | tuple[str, ...]) -> list[str]:
    """Labels cut to 16 ASCII characters and made unique (``"X"``, ``"X 2"`` ...)."""
    out: list[str] = []
    taken = {"edf annotations", "bdf annotations"}
    for i, label in enumerate(labels):
        base = _ascii(label).strip()[:16] or f"Ch{i + 1}"
        name, k = base, 1
        while name.lower() in taken:
            k += 1
            suffix = f" {k}"
            name = base[: 16 - len(suffix)] + suffix
        taken.add(name.lower())
        out.append(name)
    return out


def _tal_time(seconds: float) -> str:
    text = f"{seconds:+.7f}".rstrip("0")
    return text[:-1] if text.endswith(".") else text


def _tal(onset_s: float, text: str, duration_s: float = 0.0) -> bytes:
    clean = text.replace("\x00", " ").replace("\x14", " ").replace("\x15", " ").strip()
    head = _tal_time(onset_s)
    if duration_s > 0:
        head += "\x15" + _tal_time(duration_s)[1:]
    return (head + "\x14" + clean + "\x14\x00").encode("utf-8")


@dataclass(slots=True)
class _Pending:
    onset_s: float
    duration_s: float
    text: str


def choose_record_seconds(rate: float) -> float:
    """The shortest standard record duration holding a whole number of samples."""
    for seconds in _RECORD_SECONDS:
        n = rate * seconds
        if abs(n - round(n)) < 1e-9 and round(n) >= 1:
            return seconds
    raise EdfWriteError(
        f"no record duration up to 10 s holds a whole number of samples at {rate:g} Hz"
    )


class EdfWriter:
    """Write one EDF+C (16-bit) or BDF+C (24-bit) file, crash-safely, record by record.

    Parameters
    ----------
    path : str or os.PathLike
        The file to create (an existing file is replaced).
    rate : float
        Sampling rate in Hz, the same for all channels.
    labels : sequence of str
        Channel labels (human texts), made unique (:func:`monitor.edflabels.human_labels`,
        ``X``, ``X 2``) and kept in the transducer fields; the label fields get their EDF+
        labels (:func:`monitor.edflabels.edf_labels`, ``EMG L OOc``).
    bits : {16, 24}
        16 writes EDF+C, 24 writes BDF+C.
    record_seconds : float, optional
        Duration of a data record; by default the shortest of 0.1, 0.2, 0.25, 0.5, 1 ... s
        holding a whole number of samples. At most one record of signal is in memory.
    physical_range : tuple of 4 numbers, optional
        ``(physical_min, physical_max, digital_min, digital_max)`` for every channel, in
        ``unit``; defaults in :data:`DEFAULT_RANGES`.
    unit : str
        Physical dimension of the channels.
    start : datetime.datetime, optional
        Start of the first sample (local time); default now. The header holds its whole
        second, the first record's time-keeping TAL its fraction (to the microsecond).
    patient : str
        The EDF+ patient field: ``code sex birthdate name``, ``X`` for each unknown item.
        Default ``"X X X X"`` (no patient data in the file).
    case_id : str
        Put in the recording field as the hospital administration code (spaces become
        ``_``); ``X`` when empty.
    equipment : str
        Recording-field equipment item.
    annotation_bytes : int
        Size of the annotation signal in every record.
    fsync_interval_s : float
        ``os.fsync`` after a record when this much wall time has passed since the last
        one (0: after every record).
    technician : str
        The recording field's investigator/technician code (spaces become ``_``); ``X``
        when empty (the default).
    prefilter : str
        The prefilter field of every channel, in EDF+ syntax (``HP:20Hz LP:3000Hz N:off``,
        :func:`monitor.edflabels.prefilter_text`): the filters the stored samples went
        through. Empty (not stated, the default) when they are the amplifier's samples as
        delivered.

    Thread safety: not thread-safe; one thread writes (the recorder's writer thread).

    Raises
    ------
    EdfWriteError
        Invalid arguments.
    OSError
        The file cannot be created or written.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        rate: float,
        labels: list[str] | tuple[str, ...],
        bits: int = 16,
        record_seconds: float | None = None,
        physical_range: tuple[float, float, int, int] | None = None,
        unit: str = "uV",
        start: dt.datetime | None = None,
        patient: str = "X X X X",
        case_id: str = "",
        equipment: str = "Facial_Nerve_Monitor",
        annotation_bytes: int = DEFAULT_ANNOTATION_BYTES,
        fsync_interval_s: float = 1.0,
        technician: str = "",
        prefilter: str = "",
    ) -> None:
        if bits not in (16, 24):
            raise EdfWriteError(f"samples must be 16 (EDF) or 24 (BDF) bits, not {bits}")
        if not labels:
            raise EdfWriteError("a recording needs at least one channel")
        if not rate > 0:
            raise EdfWriteError(f"the sampling rate must be positive, not {rate:g} Hz")
        self.path = Path(path)
        self.rate = float(rate)
        self.bits = bits
        self._set_channels(labels, prefilter)
        self.record_seconds = record_seconds or choose_record_seconds(self.rate)
        spr = self.rate * self.record_seconds
        if abs(spr - round(spr)) > 1e-9 or round(spr) < 1:
            raise EdfWriteError(
                f"a {self.record_seconds:g} s record does not hold a whole number of samples "
                f"at {self.rate:g} Hz"
            )
        self.samples_per_record = round(spr)
        self.sample_bytes = 3 if bits == 24 else 2
        self._set_range(physical_range or DEFAULT_RANGES[bits])
        self.unit = unit
        self.annotation_samples = max(1, math.ceil(max(annotation_bytes, 64) / self.sample_bytes))
        self.annotation_capacity = self.annotation_samples * self.sample_bytes
        self.signal_bytes = self.samples_per_record * self.sample_bytes * self.n_channels
        self.record_bytes = self.signal_bytes + self.annotation_capacity
        self.header_bytes = 256 * (self.n_channels + 2)
        self.fsync_interval_s = fsync_interval_s
        self.start = start or dt.datetime.now()
        self.patient = patient
        self.case_id = case_id
        self.equipment = equipment
        self.technician = technician
        self.records_written = 0
        self.samples_written = 0  # samples per channel, padding excluded
        self.discontinuous = False  # EDF+D since the first gap too long to fill
        self.skipped_samples = 0  # stream time left out of the file by such gaps
        # Onset of the record being filled: the last discontinuity's time plus whole records
        # since (a running float sum drifts, and an EDF+C reader checks onsets exactly).
        self._onset_base_s, self._records_since_base = 0.0, 0
        self.clipped_samples = 0
        self.nonfinite_samples = 0
        self.annotations_written = 0
        self._buffer = np.zeros((self.samples_per_record, self.n_channels), np.float64)
        self._fill = 0
        self._pending: list[_Pending] = []
        self._last_fsync = time.monotonic()
        self._closed = False
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            self._write_all(self._header(), 0)
            os.fsync(self._fd)
        except BaseException:
            os.close(self._fd)
            raise

    def _set_channels(self, labels: list[str] | tuple[str, ...], prefilter: str) -> None:
        """The human labels (transducer fields), EDF+ labels and prefilter text."""
        self.transducers = human_labels(labels)  # the human labels, unique
        self.labels = edf_labels(self.transducers)
        self.n_channels = len(self.labels)
        if len(_ascii(prefilter)) > PREFILTER_CHARS:
            raise EdfWriteError(f"the prefilter {prefilter!r} is longer than 80 characters")
        self.prefilter = _ascii(prefilter).strip()

    def _set_range(self, physical_range: tuple[float, float, int, int]) -> None:
        self._range_text = [_number_field(v) for v in physical_range]
        # Quantise with exactly the numbers a reader will parse back from the header.
        pmin, pmax, dmin, dmax = (float(t) for t in self._range_text)
        self.gain = (pmax - pmin) / (dmax - dmin)
        self.offset = pmin - dmin * self.gain
        self.digital_min, self.digital_max = int(dmin), int(dmax)
        limit = 2 ** (self.bits - 1)
        if not -limit <= self.digital_min < self.digital_max <= limit - 1:
            raise EdfWriteError(f"the digital range does not fit {self.bits}-bit samples")

    # -- header ----------------------------------------------------------------------------
    @property
    def start_offset_s(self) -> float:
        """The fraction of a second from the header's start time to the first sample: the
        onset of the first record's time-keeping TAL."""
        return self.start.microsecond / 1e6

    def _header(self) -> bytes:
        s = self.start.replace(microsecond=0)
        kind = "BDF" if self.bits == 24 else "EDF"
        version = b"\xffBIOSEMI" if self.bits == 24 else b"0       "
        code = "_".join(_ascii(self.case_id).split()) or "X"
        equipment = "_".join(_ascii(self.equipment).split()) or "X"
        technician = "_".join(_ascii(self.technician).split()) or "X"
        recording = (
            f"Startdate {s.day:02d}-{_MONTHS[s.month - 1]}-{s.year:04d} {code} {technician} "
            f"{equipment}"
        )
        ns = self.n_channels + 1
        head = (
            version
            + _field(self.patient[:80], 80)
            + _field(recording[:80], 80)
            + _field(s.strftime("%d.%m.%y"), 8)
            + _field(s.strftime("%H.%M.%S"), 8)
            + _field(str(self.header_bytes), 8)
            + _field(f"{kind}+{'D' if self.discontinuous else 'C'}", 44)
            + _field(str(self.records_written), 8)
            + _field(_number_field(self.record_seconds), 8)
            + _field(str(ns), 4)
        )
        ann_label = f"{kind} Annotations"
        amin, amax = (-8388608, 8388607) if self.bits == 24 else (-32768, 32767)
        pmin, pmax, dmin, dmax = self._range_text
        columns = [
            [_field(x, 16) for x in [*self.labels, ann_label]],
            [_field(x, 80) for x in self.transducers] + [_field("", 80)],
            [_field(self.unit, 8)] * self.n_channels + [_field("", 8)],
            [_field(pmin, 8)] * self.n_channels + [_field("-1", 8)],
            [_field(pmax, 8)] * self.n_channels + [_field("1", 8)],
            [_field(dmin, 8)] * self.n_channels + [_field(str(amin), 8)],
            [_field(dmax, 8)] * self.n_channels + [_field(str(amax), 8)],
            [_field(self.prefilter, 80)] * self.n_channels + [_field("", 80)],
            [_field(str(self.samples_per_record), 8)] * self.n_channels
            + [_field(str(self.annotation_samples), 8)],
            [_field("", 32)] * ns,
        ]
        out = head + b"".join(b"".join(col) for col in columns)
        assert len(out) == self.header_bytes
        return out

    def set_start(self, start: dt.datetime) -> None:
        """Change the start date and time (to the microsecond); only before the first
        record."""
        if self.records_written:
            raise EdfWriteError("the start time cannot change after data were written")
        self.start = start
        self._write_all(self._header(), 0)

    # -- writing -------------------------------------------------------------------------
    def annotate(self, onset_s: float, text: str, duration_s: float = 0.0) -> None:
        """Add an annotation at ``onset_s`` seconds after the first sample.

        It is written in the first record whose end is after its onset, or in a later one
        when that record's annotation signal is full (never dropped).
        """
        if self._closed:
            raise EdfWriteError("the file is closed")
        self._pending.append(_Pending(max(0.0, float(onset_s)), max(0.0, duration_s), text))

    def write(self, data: np.ndarray) -> None:
        """Append samples ``(n, n_channels)`` in ``unit``; whole records go to disk."""
        if self._closed:
            raise EdfWriteError("the file is closed")
        data = np.asarray(data)
        if data.ndim != 2 or data.shape[1] != self.n_channels:
            raise EdfWriteError(
                f"expected samples of shape (n, {self.n_channels}), got {data.shape}"
            )
        pos = 0
        while pos < len(data):
            take = min(len(data) - pos, self.samples_per_record - self._fill)
            self._buffer[self._fill : self._fill + take] = data[pos : pos + take]
            self._fill += take
            pos += take
            self.samples_written += take
            if self._fill == self.samples_per_record:
                self._flush_record()

    @property
    def time_s(self) -> float:
        """Stream time of the next sample, in seconds after the first one (gaps included)."""
        return (self.samples_written + self.skipped_samples) / self.rate

    def write_gap(self, n_missing: int, text: str | None = None) -> None:
        """Record ``n_missing`` lost samples, annotated ``gap N samples`` with its duration.

        Up to :data:`MAX_FILLED_GAP_S` they are written as 0 µV; a longer gap pads the
        record being filled (at most one record of file) and makes the file EDF+D, the
        next record starting at its true time.
        """
        if n_missing <= 0:
            return
        self.annotate(self.time_s, text or f"gap {n_missing} samples", n_missing / self.rate)
        # Longer than a record too, so the padding of the record being filled lies in it.
        if n_missing > max(MAX_FILLED_GAP_S * self.rate, self.samples_per_record):
            self._skip(n_missing)
            return
        chunk = np.zeros((min(n_missing, self.samples_per_record), self.n_channels))
        left = n_missing
        while left > 0:
            n = min(left, len(chunk))
            self.write(chunk[:n])
            left -= n

    def _skip(self, n_missing: int) -> None:
        """Leave ``n_missing`` samples out of the file: an EDF+D discontinuity."""
        if self._closed:
            raise EdfWriteError("the file is closed")
        if not self.discontinuous:
            self.discontinuous = True
            kind = "BDF" if self.bits == 24 else "EDF"
            self._write_all(_field(f"{kind}+D", 44), _RESERVED_OFFSET)
        if self._fill:  # the padding lies inside the gap (longer than a record)
            self._fill = self.samples_per_record
            self._flush_record()
        self.skipped_samples += n_missing
        self._onset_base_s, self._records_since_base = self.time_s, 0

    def _digital(self, block: np.ndarray) -> np.ndarray:
        bad = ~np.isfinite(block)
        if bad.any():
            self.nonfinite_samples += int(bad.sum())
            block = np.where(bad, 0.0, block)
        digital = np.rint((block - self.offset) / self.gain)
        out = np.clip(digital, self.digital_min, self.digital_max)
        self.clipped_samples += int(np.count_nonzero(out != digital))
        return out.astype(np.int32)

    def _annotation_bytes(self, final: bool) -> bytes:
        """The annotation signal of the record being written: time-keeping TAL, then what
        fits. Onsets in the file count from the header's whole second (EDF+), so the
        start's fraction is added to the times the writer keeps from the first sample."""
        shift = self.start_offset_s
        record_start = self._onset_base_s + self._records_since_base * self.record_seconds
        stamp = _tal_time(shift + record_start)
        out = bytearray(stamp.encode("ascii") + b"\x14\x14\x00")
        record_end = record_start + self.record_seconds
        self._pending.sort(key=lambda p: p.onset_s)
        kept: list[_Pending] = []
        full = False
        for p in self._pending:
            if full or (p.onset_s >= record_end and not final):
                kept.append(p)
                continue
            tal = _tal(shift + p.onset_s, p.text, p.duration_s)
            room = self.annotation_capacity - len(out)
            if len(tal) > room and len(out) > 20 + len(stamp):
                full = True  # try again in the next record
                kept.append(p)
                continue
            if len(tal) > room:  # too long even for an empty record: shorten the text
                tal = _tal(
                    shift + p.onset_s,
                    _shorten(p.text, len(p.text.encode()) - (len(tal) - room)),
                    p.duration_s,
                )
            out += tal
            self.annotations_written += 1
        self._pending = kept
        return bytes(out.ljust(self.annotation_capacity, b"\x00"))

    def _flush_record(self, final: bool = False) -> None:
        digital = self._digital(self._buffer[: self.samples_per_record])
        if self.bits == 16:
            signal = digital.T.astype("<i2").tobytes()
        else:
            signal = digital.T.astype("<i4").reshape(-1, 1).view(np.uint8)[:, :3].tobytes()
        record = signal + self._annotation_bytes(final)
        offset = self.header_bytes + self.records_written * self.record_bytes
        self._write_all(record, offset)
        self.records_written += 1
        self._write_all(str(self.records_written).encode("ascii").ljust(8), _COUNT_OFFSET)
        self._buffer[:] = 0.0
        self._fill = 0
        self._records_since_base += 1
        now = time.monotonic()
        if now - self._last_fsync >= self.fsync_interval_s:
            os.fsync(self._fd)
            self._last_fsync = now

    def _write_all(self, data: bytes, offset: int) -> None:
        view = memoryview(data)
        while view:
            n = os.pwrite(self._fd, view, offset)
            view = view[n:]
            offset += n

    def check_file(self) -> None:
        """Raise ``OSError`` when the file being written is no longer where it was made.

        Writing goes on into a deleted file without an error (its inode lives while it is
        open), so a removed folder or file shows only here: ``ENOENT`` when the file (or its
        folder) is gone, ``ESTALE`` when another file took its name.
        """
        if self._closed:
            return
        try:
            here = os.stat(self.path)
        except FileNotFoundError:
            raise OSError(errno.ENOENT, "the recording file was removed", str(self.path)) from None
        except OSError:  # cannot look (a permission changed, a network hiccup): writes decide
            return
        own = os.fstat(self._fd)
        if (here.st_dev, here.st_ino) != (own.st_dev, own.st_ino):
            raise OSError(errno.ESTALE, "the recording file was replaced", str(self.path))

    def sync(self) -> None:
        """Force what was written to the disk now."""
        if not self._closed:
            os.fsync(self._fd)
            self._last_fsync = time.monotonic()

    def close(self) -> None:
        """Write the last partial record (padded with 0 µV, its true end annotated) and
        any annotations still pending, fsync and close. Idempotent.

        Raises ``OSError`` if the disk fails; the file then holds every record written
        before.
        """
        if self._closed:
            return
        try:
            if self._fill or self._pending:
                self.annotate(self.time_s, "recording end (padding follows)")
            while self._fill or self._pending:  # the partial record, then any overflow
                self._fill = self.samples_per_record
                self._flush_record(final=True)
            os.fsync(self._fd)
        finally:
            self._closed = True
            self._buffer = np.empty((0, self.n_channels))  # a closed writer holds no record
            os.close(self._fd)

    def abandon(self) -> None:
        """Close the file descriptor without writing anything more (after a disk error)."""
        if not self._closed:
            self._closed = True
            self._buffer = np.empty((0, self.n_channels))
            with contextlib.suppress(OSError):
                os.close(self._fd)

    def __enter__(self) -> EdfWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _shorten(text: str, max_bytes: int) -> str:
    raw = text.encode("utf-8")[: max(0, max_bytes - 3)]
    return raw.decode("utf-8", "ignore") + "..."
