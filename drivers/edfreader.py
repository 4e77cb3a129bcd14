"""Lazy reading of EDF, EDF+, BDF and BDF+ files: header, annotations, windows of records.

The reader parses the header itself and reads the data records it is asked for with
plain file reads, so a one-hour 10 kHz recording never sits in memory as a whole and a
BDF file is read as lazily as an EDF file. It is forgiving where third-party writers
are sloppy (padded or odd numeric fields, non-ASCII units, an annotation signal in a
file not marked EDF+, a record count of -1 or a last record cut off by a crash) and
strict where the data could not be placed in time; every fault is an
:class:`EdfFormatError` whose text is a plain clause ("the file is shorter than its
header says (12 of 40 data records present)") that a caller prefixes with the file
name. Oddities that still allow reading are collected in :attr:`EdfFile.notes`.

Why not edfio or pyedflib: see ``docs/replay.md`` (edfio loads a BDF file whole and
ignores EDF+D record times; pyedflib refuses EDF+D files and some others).
"""

from __future__ import annotations

import datetime as dt
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

_EDF_VERSION = b"0       "
_BDF_VERSION = b"\xffBIOSEMI"
_ANNOTATION_LABELS = ("edf annotations", "bdf annotations")
# Column reads fetch whole runs of records when records are small, else one slice per record.
_SMALL_RECORD_BYTES = 64 * 1024
_CHUNK_BYTES = 4 * 1024 * 1024


class EdfFormatError(ValueError):
    """The file cannot be read as EDF/BDF; ``str()`` is a plain clause without the file name."""


@dataclass(frozen=True, slots=True)
class EdfSignal:
    """One signal of the header.

    Attributes
    ----------
    index : int
        Position in the header (0-based).
    label, transducer, unit, prefilter : str
        Header text, stripped (non-ASCII bytes decoded as UTF-8, else Latin-1).
    physical_min, physical_max : float
        Physical range (may be inverted: min > max).
    digital_min, digital_max : float
        Digital range.
    samples_per_record : int
        Samples of this signal in each data record.
    byte_offset : int
        Where the signal starts inside a data record.
    """

    index: int
    label: str
    transducer: str
    unit: str
    physical_min: float
    physical_max: float
    digital_min: float
    digital_max: float
    prefilter: str
    samples_per_record: int
    byte_offset: int

    @property
    def is_annotation(self) -> bool:
        """True for an ``EDF Annotations`` / ``BDF Annotations`` signal."""
        return self.label.lower() in _ANNOTATION_LABELS

    @property
    def gain(self) -> float:
        """Physical units per digital step."""
        return (self.physical_max - self.physical_min) / (self.digital_max - self.digital_min)

    @property
    def offset(self) -> float:
        """Physical value of digital 0."""
        return self.physical_min - self.digital_min * self.gain


@dataclass(frozen=True, slots=True)
class EdfAnnotation:
    """One EDF+ annotation: onset in seconds after the header's start time."""

    onset_s: float
    duration_s: float
    text: str


def _text(raw: bytes) -> str:
    try:
        return raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        return raw.decode("latin-1").strip()


def _number(raw: bytes, what: str) -> float:
    text = raw.decode("latin-1").strip()
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise EdfFormatError(f"the header field '{what}' is not a number ({text!r})")
    return value


def _whole(raw: bytes, what: str) -> int:
    value = _number(raw, what)
    if value != int(value):
        raise EdfFormatError(f"the header field '{what}' is not a whole number ({value:g})")
    return int(value)


def _start_datetime(date: bytes, time: bytes) -> dt.datetime | None:
    try:
        day, month, year = (int(x) for x in date.decode("ascii").split("."))
        hour, minute, second = (int(x) for x in time.decode("ascii").split("."))
        year += 1900 if year >= 85 else 2000
        return dt.datetime(year, month, day, hour, minute, second)
    except (ValueError, UnicodeDecodeError):
        return None


def parse_tals(raw: bytes) -> list[tuple[float, float, list[str]]]:
    """Split the bytes of one annotation signal of one record into TALs.

    Returns ``(onset_s, duration_s, texts)`` per time-stamped annotation list; TALs
    whose onset is unreadable are skipped.
    """
    tals = []
    for chunk in raw.split(b"\x00"):
        parts = chunk.split(b"\x14")
        if len(parts) < 2:
            continue
        head = parts[0].split(b"\x15")
        try:
            if head[0][:1] not in (b"+", b"-"):
                continue
            onset = float(head[0])
            duration = float(head[1]) if len(head) > 1 and head[1].strip() else 0.0
        except ValueError:
            continue
        texts = [p.decode("utf-8", "replace") for p in parts[1:]]
        if texts and not texts[-1]:
            texts.pop()
        tals.append((onset, duration, texts))
    return tals


class EdfFile:
    """An EDF/BDF file opened for lazy reading.

    Opening reads and checks the header only; data are read per window of records.
    Not thread-safe: one thread reads at a time (the file position is shared).

    Parameters
    ----------
    path : str or os.PathLike
        The file to open.

    Raises
    ------
    EdfFormatError
        When the header is missing, malformed or promises data the file lacks.
    OSError
        When the file cannot be opened or read.

    Attributes
    ----------
    format : str
        ``"EDF"``, ``"EDF+C"``, ``"EDF+D"``, ``"BDF"``, ``"BDF+C"`` or ``"BDF+D"``.
    is_bdf, discontinuous : bool
        24-bit samples; EDF+D/BDF+D record times.
    start_datetime : datetime.datetime or None
        The header's start date and time (``None`` when unreadable).
    record_duration : float
        Seconds per data record.
    n_records : int
        Complete data records that will be read (see :attr:`notes` when that differs
        from the header).
    signals : tuple of EdfSignal
        All signals, annotation signals included.
    notes : list of str
        Plain sentences about oddities that did not prevent reading.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.notes: list[str] = []
        self._file = self.path.open("rb")
        try:
            self._read_header()
        except BaseException:
            self._file.close()
            raise

    def _read_header(self) -> None:
        head = self._file.read(256)
        if len(head) < 256:
            raise EdfFormatError(f"it is too short to be an EDF or BDF file ({len(head)} bytes)")
        if head[:8] == _BDF_VERSION:
            self.is_bdf = True
        elif head[:8].strip() == b"0":
            self.is_bdf = False
        else:
            raise EdfFormatError(
                "it is not an EDF or BDF file (its first bytes are not an EDF version)"
            )
        kind = "BDF" if self.is_bdf else "EDF"
        reserved = head[192:236].decode("latin-1").strip().upper()
        self.discontinuous = reserved.startswith(f"{kind}+D")
        self.format = reserved[:5] if reserved[:5] in (f"{kind}+C", f"{kind}+D") else kind
        self.start_datetime = _start_datetime(head[168:176], head[176:184])
        if self.start_datetime is None:
            self.notes.append("The start date or time in the header cannot be read.")
        n_header = _whole(head[236:244], "number of data records")
        self.record_duration = _number(head[244:252], "duration of a data record")
        ns = _whole(head[252:256], "number of signals")
        if ns < 1:
            raise EdfFormatError("its header lists no signals")
        if self.record_duration < 0:
            raise EdfFormatError(
                f"its data-record duration is negative ({self.record_duration:g} s)"
            )
        self.header_bytes = 256 * (ns + 1)
        stated = head[184:192].decode("latin-1").strip()
        if stated != str(self.header_bytes):
            self.notes.append(
                f"The header gives its own size as {stated!r} bytes; the {self.header_bytes} "
                f"bytes that {ns} signals take are used instead."
            )
        raw = self._file.read(256 * ns)
        if len(raw) < 256 * ns:
            raise EdfFormatError(
                f"its header is cut off ({len(raw) + 256} of {self.header_bytes} bytes present)"
            )
        self.signals = self._parse_signals(raw, ns)
        self.sample_bytes = 3 if self.is_bdf else 2
        self.record_bytes = sum(s.samples_per_record for s in self.signals) * self.sample_bytes
        self._set_record_count(n_header)

    def _parse_signals(self, raw: bytes, ns: int) -> tuple[EdfSignal, ...]:
        widths = (16, 80, 8, 8, 8, 8, 8, 80, 8, 32)
        columns: list[list[bytes]] = []
        pos = 0
        for width in widths:
            columns.append([raw[pos + i * width : pos + (i + 1) * width] for i in range(ns)])
            pos += width * ns
        signals = []
        offset = 0
        for i in range(ns):
            label = _text(columns[0][i])
            name = f"signal {i + 1} ({label})"
            n = _whole(columns[8][i], f"number of samples per record of {name}")
            if n < 0:
                raise EdfFormatError(f"{name} has a negative number of samples per record")
            signal = EdfSignal(
                index=i,
                label=label,
                transducer=_text(columns[1][i]),
                unit=_text(columns[2][i]),
                physical_min=_number(columns[3][i], f"physical minimum of {name}"),
                physical_max=_number(columns[4][i], f"physical maximum of {name}"),
                digital_min=_number(columns[5][i], f"digital minimum of {name}"),
                digital_max=_number(columns[6][i], f"digital maximum of {name}"),
                prefilter=_text(columns[7][i]),
                samples_per_record=n,
                byte_offset=offset,
            )
            if not signal.is_annotation and signal.digital_min == signal.digital_max:
                raise EdfFormatError(f"{name} has the same digital minimum and maximum")
            signals.append(signal)
            offset += n * (3 if self.is_bdf else 2)
        return tuple(signals)

    def _set_record_count(self, n_header: int) -> None:
        data_bytes = os.fstat(self._file.fileno()).st_size - self.header_bytes
        if self.record_bytes == 0:
            self.n_records = 0
            return
        present, extra = divmod(max(data_bytes, 0), self.record_bytes)
        seconds = f"{present * self.record_duration:g} s"
        if n_header <= 0:
            self.n_records = present
            if present:
                self.notes.append(
                    "The header does not give the number of data records (the recording was "
                    f"probably not closed properly); playing the {present} complete records "
                    f"found ({seconds})."
                )
        elif present < n_header - 1 or present == 0:
            raise EdfFormatError(
                f"the file is shorter than its header says ({present} of {n_header} data "
                "records present)"
            )
        elif present < n_header:
            self.n_records = present
            self.notes.append(
                f"The file ends one data record short of what its header says ({present} of "
                f"{n_header} present; the recording was probably cut short); playing the "
                f"{present} complete records ({seconds})."
            )
        else:
            self.n_records = n_header
            if present > n_header or extra:
                self.notes.append(
                    f"The file holds more data than its header says ({data_bytes} bytes "
                    f"after the header for {n_header} data records); the rest is not played."
                )

    def read_records(self, first: int, stop: int) -> np.ndarray:
        """Raw bytes of records ``[first, stop)``, shape ``(stop - first, record_bytes)``."""
        count = stop - first
        self._file.seek(self.header_bytes + first * self.record_bytes)
        buf = self._file.read(count * self.record_bytes)
        if len(buf) < count * self.record_bytes:
            raise EdfFormatError("the file became shorter while it was being read")
        return np.frombuffer(buf, dtype=np.uint8).reshape(count, self.record_bytes)

    def column(self, signal: EdfSignal, first: int, stop: int) -> np.ndarray:
        """Raw bytes of one signal in records ``[first, stop)``, one row per record.

        Reads only that signal's bytes when records are large, so scanning an annotation
        or trigger signal over a long file stays cheap.
        """
        width = signal.samples_per_record * self.sample_bytes
        lo, hi = signal.byte_offset, signal.byte_offset + width
        if self.record_bytes <= _SMALL_RECORD_BYTES:
            step = max(1, _CHUNK_BYTES // self.record_bytes)
            rows = [
                self.read_records(a, min(a + step, stop))[:, lo:hi]
                for a in range(first, stop, step)
            ]
            return np.concatenate(rows) if rows else np.empty((0, width), np.uint8)
        out = np.empty((stop - first, width), np.uint8)
        for row, record in enumerate(range(first, stop)):
            self._file.seek(self.header_bytes + record * self.record_bytes + lo)
            buf = self._file.read(width)
            if len(buf) < width:
                raise EdfFormatError("the file became shorter while it was being read")
            out[row] = np.frombuffer(buf, np.uint8)
        return out

    def digital(self, rows: np.ndarray, signal: EdfSignal) -> np.ndarray:
        """Digital samples of ``signal`` from raw whole records, flattened in time order."""
        width = signal.samples_per_record * self.sample_bytes
        return self.decode(rows[:, signal.byte_offset : signal.byte_offset + width])

    def decode(self, raw: np.ndarray) -> np.ndarray:
        """Digital samples from the raw bytes of one signal (as :meth:`column` returns)."""
        raw = np.ascontiguousarray(raw)
        if not self.is_bdf:
            return raw.view("<i2").reshape(-1)
        b = raw.reshape(-1, 3).astype(np.int32)
        value = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        return value - ((value & 0x800000) << 1)

    def physical(self, rows: np.ndarray, signal: EdfSignal) -> np.ndarray:
        """Physical samples (float64, the header's unit) of ``signal`` from raw records."""
        return self.digital(rows, signal) * signal.gain + signal.offset

    def read_annotations(self) -> tuple[list[EdfAnnotation], np.ndarray]:
        """All annotations, and the onset of every record (NaN where unknown).

        The record onsets come from the time-keeping TAL that opens the first annotation
        signal of each record; the onsets of annotations are seconds after the header's
        start time, as written.
        """
        onsets = np.full(self.n_records, np.nan)
        notes: list[EdfAnnotation] = []
        annotation_signals = [s for s in self.signals if s.is_annotation]
        for k, signal in enumerate(annotation_signals):
            rows = self.column(signal, 0, self.n_records) if self.n_records else []
            for record, row in enumerate(rows):
                tals = parse_tals(row.tobytes())
                if k == 0 and tals and tals[0][2] and not tals[0][2][0]:
                    onsets[record] = tals[0][0]
                    tals[0][2].pop(0)
                notes.extend(
                    EdfAnnotation(onset, duration, text.strip())
                    for onset, duration, texts in tals
                    for text in texts
                    if text.strip()
                )
        notes.sort(key=lambda a: a.onset_s)
        return notes, onsets

    def close(self) -> None:
        """Close the file. Idempotent."""
        self._file.close()
