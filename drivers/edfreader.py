"""Lazy reading of EDF, EDF+, BDF and BDF+ files: header, annotations, windows of records.

The reader parses the header itself and reads the data records it is asked for with
plain file reads, so a one-hour 10 kHz recording never sits in memory as a whole and a
BDF file is read as lazily as an EDF file. It is forgiving where third-party writers
are sloppy (padded or odd numeric fields, non-ASCII units, an annotation signal in a
file not marked EDF+, a record count of -1 or a last record cut off by a crash) and
strict where the data could not be placed in time or scaled; every fault is an
:class:`EdfFormatError` whose text is a plain clause ("the file is shorter than its
header says (12 of 40 data records present)") that a caller prefixes with the file
name. Oddities that still allow reading are collected in :attr:`EdfFile.notes`.

A damaged header is never read as data: header fields that do not fit the file size
(the channels would be misaligned), absurd record durations or rates refuse the file,
naming the field. ``strict=False`` reads such a file anyway and says what is wrong in
:attr:`EdfFile.notes`. A damaged scale of one data signal (physical minimum equal to
its maximum, a digital range that is inverted or wider than the samples) does not
refuse the file: the signal carries the clause in :attr:`EdfSignal.fault` and the
caller leaves it out or shows it with a warning.

The monitor's own recordings label their channels by the EDF+ convention (``EMG L OOc``)
and keep the human label (``L Orb. oculi``) in the transducer field: :attr:`EdfSignal.label`
is that human label again (:func:`monitor.edflabels.display_labels`), and
:attr:`EdfSignal.header_label` the label as written. Files from other software keep their
labels as written.

Why not edfio or pyedflib: see ``docs/replay.md`` (edfio loads a BDF file whole and
ignores EDF+D record times; pyedflib refuses EDF+D files and some others).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import os
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from monitor.edflabels import display_labels

_EDF_VERSION = b"0       "
_BDF_VERSION = b"\xffBIOSEMI"
_ANNOTATION_LABELS = ("edf annotations", "bdf annotations")
# Column reads fetch whole runs of records when records are small, else one slice per record.
_SMALL_RECORD_BYTES = 64 * 1024
_CHUNK_BYTES = 4 * 1024 * 1024
# Beyond these a header number is damage, not a recording (EMG amplifiers sample at up
# to tens of kHz, records last seconds, and no amplifier takes ±50 V at its input).
MAX_RECORD_SECONDS = 86_400.0
MAX_RATE_HZ = 1e6
MAX_PHYSICAL_UV = 5e7
# Annotation and record times beyond ±31 years are damage; it also keeps sample indices
# (time × rate) far inside 64 bits.
MAX_TIME_S = 1e9
_DIGITAL_LIMITS = {False: (-32768, 32767), True: (-8388608, 8388607)}
_UV_PER_UNIT = {"v": 1e6, "mv": 1e3, "uv": 1.0, "nv": 1e-3}
# A time-keeping TAL ("+12.5\x14\x14") opens the first annotation signal of every record.
_TIMEKEEPING = re.compile(rb"[+-]\d+(?:\.\d*)?\x14")


class EdfFormatError(ValueError):
    """The file cannot be read as EDF/BDF; ``str()`` is a plain clause without the file name."""


def microvolts_per_unit(unit: str) -> float | None:
    """Factor from a physical dimension to µV, or ``None`` for a unit that is not a voltage."""
    u = unit.strip().lower().replace("µ", "u").replace("μ", "u")
    if len(u) == 2 and u[1] == "v" and not u[0].isascii():
        u = "uv"  # a micro sign in some other code page (0xE6 in CP437, ...)
    return _UV_PER_UNIT.get(u)


@dataclass(frozen=True, slots=True)
class EdfSignal:
    """One signal of the header.

    Attributes
    ----------
    index : int
        Position in the header (0-based).
    label : str
        The channel's name: the header's label, or in the monitor's own recordings the
        human label its transducer field keeps (``L Orb. oculi`` for ``EMG L OOc``).
    transducer, unit, prefilter : str
        Header text, stripped (non-ASCII bytes decoded as UTF-8, else Latin-1).
    physical_min, physical_max : float
        Physical range (may be inverted: min > max); NaN when unreadable.
    digital_min, digital_max : float
        Digital range; NaN when unreadable.
    samples_per_record : int
        Samples of this signal in each data record.
    byte_offset : int
        Where the signal starts inside a data record.
    fault : str
        Empty, or the plain clause saying why the header's scale of this data signal
        cannot be trusted (its samples would be flat, inverted or wrongly scaled).
    header_label : str
        The label as the header writes it (``EMG L OOc``); empty means :attr:`label`.
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
    fault: str = ""
    header_label: str = ""

    @property
    def is_annotation(self) -> bool:
        """True for an ``EDF Annotations`` / ``BDF Annotations`` signal."""
        return (self.header_label or self.label).lower() in _ANNOTATION_LABELS

    @property
    def gain(self) -> float:
        """Physical units per digital step (NaN when the digital range is empty)."""
        span = self.digital_max - self.digital_min
        return (self.physical_max - self.physical_min) / span if span else math.nan

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
    """Header text: UTF-8, else Latin-1; control characters (NUL, BEL ...) become spaces,
    so that a damaged label never reaches a screen, a CSV or a report as one."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    return "".join(" " if unicodedata.category(c)[0] == "C" else c for c in text).strip()


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


def _lenient_number(raw: bytes) -> float:
    """A header number, NaN when unreadable (the caller names the field)."""
    try:
        value = float(raw.decode("latin-1").strip())
    except ValueError:
        return math.nan
    return value if math.isfinite(value) else math.nan


def _start_datetime(date: bytes, time: bytes) -> dt.datetime | None:
    try:
        day, month, year = (int(x) for x in date.decode("ascii").split("."))
        hour, minute, second = (int(x) for x in time.decode("ascii").split("."))
        year += 1900 if year >= 85 else 2000
        return dt.datetime(year, month, day, hour, minute, second)
    except (ValueError, UnicodeDecodeError):
        return None


def _scale_fault(signal: EdfSignal, is_bdf: bool, raw: dict[str, bytes]) -> str:
    """Why the header's scale of a data signal cannot be trusted, or ``""``."""
    name = f"signal {signal.index + 1} ({signal.label})"
    values = {
        "physical minimum": signal.physical_min,
        "physical maximum": signal.physical_max,
        "digital minimum": signal.digital_min,
        "digital maximum": signal.digital_max,
    }
    for field, value in values.items():
        if not math.isfinite(value):
            text = raw[field].decode("latin-1").strip()
            return f"the header field '{field} of {name}' is not a number ({text!r})"
    dmin, dmax = signal.digital_min, signal.digital_max
    if dmin >= dmax:
        how = "equal" if dmin == dmax else "the wrong way round"
        return (
            f"the header fields 'digital minimum' ({dmin:g}) and 'digital maximum' ({dmax:g}) "
            f"of {name} are {how}, so its samples cannot be scaled"
        )
    lo, hi = _DIGITAL_LIMITS[is_bdf]
    for field, value in (("digital minimum", dmin), ("digital maximum", dmax)):
        if not lo <= value <= hi:
            return (
                f"the header field '{field} of {name}' ({value:g}) is beyond what "
                f"{24 if is_bdf else 16}-bit samples hold, so its samples would be mis-scaled"
            )
    if signal.physical_min == signal.physical_max:
        return (
            f"the header fields 'physical minimum' and 'physical maximum' of {name} are both "
            f"{signal.physical_min:g}, so every sample would read the same (a flat line)"
        )
    factor = microvolts_per_unit(signal.unit)
    for field in ("physical minimum", "physical maximum"):
        if factor is not None and abs(values[field]) * factor > MAX_PHYSICAL_UV:
            return (
                f"the header field '{field} of {name}' ({values[field]:g} {signal.unit}) is "
                "beyond any amplifier's range, so its samples would be mis-scaled"
            )
    return ""


def _split_tals(raw: bytes) -> tuple[list[tuple[float, float, list[str]]], list[str], list[str]]:
    """TALs of one record's annotation signal, the onsets skipped, the durations dropped.

    A TAL whose onset is unreadable, infinite, NaN or beyond :data:`MAX_TIME_S` is skipped
    (its onset text is listed); an unreadable, negative or absurd duration becomes 0 s
    (its text is listed). Padding (NUL bytes) is not a TAL.
    """
    tals, bad_onsets, bad_durations = [], [], []
    for chunk in raw.split(b"\x00"):
        parts = chunk.split(b"\x14")
        if len(parts) < 2:
            continue
        head = parts[0].split(b"\x15")
        onset = _tal_number(head[0])
        if onset is None or head[0][:1] not in (b"+", b"-"):
            bad_onsets.append(head[0][:24].decode("latin-1"))
            continue
        duration = 0.0
        if len(head) > 1 and head[1].strip():
            value = _tal_number(head[1])
            if value is None or value < 0:
                bad_durations.append(head[1][:24].decode("latin-1"))
            else:
                duration = value
        texts = [p.decode("utf-8", "replace") for p in parts[1:]]
        if texts and not texts[-1]:
            texts.pop()
        tals.append((onset, duration, texts))
    return tals, bad_onsets, bad_durations


def _tal_number(raw: bytes) -> float | None:
    """A TAL time in seconds, or ``None`` when unreadable, not finite or absurd."""
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if math.isfinite(value) and abs(value) <= MAX_TIME_S else None


def parse_tals(raw: bytes) -> list[tuple[float, float, list[str]]]:
    """Split the bytes of one annotation signal of one record into TALs.

    Returns ``(onset_s, duration_s, texts)`` per time-stamped annotation list; TALs
    whose onset is unreadable, infinite, NaN or absurd are skipped, and an unreadable
    duration is 0 s.
    """
    return _split_tals(raw)[0]


def _examples(items: list[str], limit: int = 3) -> str:
    shown = ", ".join(repr(t) for t in items[:limit])
    return shown + (", ..." if len(items) > limit else "")


class EdfFile:
    """An EDF/BDF file opened for lazy reading.

    Opening reads and checks the header only; data are read per window of records.
    Not thread-safe: one thread reads at a time (the file position is shared).

    Parameters
    ----------
    path : str or os.PathLike
        The file to open.
    strict : bool
        Refuse a file whose header does not fit its data (default). ``False`` reads it
        anyway as the header describes it, and :attr:`notes` says what is wrong; faults
        that leave nothing to read (a non-numeric number of signals, say) still refuse it.

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
    faults : list of str
        The header faults read anyway (``strict=False``), as plain clauses.
    """

    def __init__(self, path: str | os.PathLike[str], strict: bool = True) -> None:
        self.path = Path(path)
        self.strict = strict
        self.notes: list[str] = []
        self.faults: list[str] = []
        self._annotation_notes_done = False
        self._file = self.path.open("rb")
        try:
            self._read_header()
        except BaseException:
            self._file.close()
            raise

    def _fault(self, clause: str) -> None:
        """A header fault: refuse the file, or note it when reading anyway."""
        if self.strict:
            raise EdfFormatError(clause)
        self.faults.append(clause)
        self.notes.append(f"Read anyway, although {clause}.")

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
        n_header = self._record_count(head[236:244])
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
        try:
            self._read_signals(ns)
        except EdfFormatError as exc:
            # A damaged signal count shows as garbage in the signal headers; say so.
            raise EdfFormatError(self._signal_count_fault(ns, stated) or str(exc)) from None
        if stated != str(self.header_bytes):
            self.notes.append(
                f"The header gives its own size as {stated!r} bytes; the {self.header_bytes} "
                f"bytes that {ns} signals take are used instead."
            )
        self._check_duration()
        self._set_record_count(n_header)
        self._check_rates()

    def _record_count(self, raw: bytes) -> int:
        """The header's number of data records; -1 (unknown) when unreadable and not strict."""
        try:
            return _whole(raw, "number of data records")
        except EdfFormatError as exc:
            self._fault(str(exc))
            return -1

    def _signal_count_fault(self, ns: int, stated: str) -> str | None:
        """The clause blaming the number of signals when the header size disagrees with it."""
        try:
            size = int(stated)
        except ValueError:
            return None
        if size == self.header_bytes or size < 512 or size % 256:
            return None
        return (
            f"the header field 'number of signals' ({ns}) does not match the header size "
            f"the file gives ({size} bytes, room for {size // 256 - 1} signals)"
        )

    def _read_signals(self, ns: int) -> None:
        size = os.fstat(self._file.fileno()).st_size
        # Never ask for more than the file holds: a damaged count may promise gigabytes.
        raw = self._file.read(min(256 * ns, max(size - 256, 0)))
        if len(raw) < 256 * ns:
            raise EdfFormatError(
                f"its header is cut off ({len(raw) + 256} of {self.header_bytes} bytes present)"
            )
        self.signals = self._parse_signals(raw, ns)
        self.sample_bytes = 3 if self.is_bdf else 2
        self.record_bytes = sum(s.samples_per_record for s in self.signals) * self.sample_bytes

    def _parse_signals(self, raw: bytes, ns: int) -> tuple[EdfSignal, ...]:
        widths = (16, 80, 8, 8, 8, 8, 8, 80, 8, 32)
        columns: list[list[bytes]] = []
        pos = 0
        for width in widths:
            columns.append([raw[pos + i * width : pos + (i + 1) * width] for i in range(ns)])
            pos += width * ns
        signals = []
        offset = 0
        header_labels = [_text(raw) for raw in columns[0]]
        transducers = [_text(raw) for raw in columns[1]]
        data = [i for i, h in enumerate(header_labels) if h.lower() not in _ANNOTATION_LABELS]
        labels = list(header_labels)
        shown = display_labels([header_labels[i] for i in data], [transducers[i] for i in data])
        for i, label in zip(data, shown, strict=True):
            labels[i] = label
        for i in range(ns):
            label = labels[i]
            name = f"signal {i + 1} ({label})"
            n = _whole(columns[8][i], f"number of samples per record of {name}")
            if n < 0:
                raise EdfFormatError(f"{name} has a negative number of samples per record")
            scale = {
                "physical minimum": columns[3][i],
                "physical maximum": columns[4][i],
                "digital minimum": columns[5][i],
                "digital maximum": columns[6][i],
            }
            pmin, pmax, dmin, dmax = (_lenient_number(v) for v in scale.values())
            signal = EdfSignal(
                index=i,
                label=label,
                transducer=transducers[i],
                unit=_text(columns[2][i]),
                physical_min=pmin,
                physical_max=pmax,
                digital_min=dmin,
                digital_max=dmax,
                prefilter=_text(columns[7][i]),
                samples_per_record=n,
                byte_offset=offset,
                header_label=header_labels[i],
            )
            if not signal.is_annotation:
                fault = _scale_fault(signal, self.is_bdf, scale)
                signal = dataclasses.replace(signal, fault=fault) if fault else signal
            signals.append(signal)
            offset += n * (3 if self.is_bdf else 2)
        return tuple(signals)

    def _check_duration(self) -> None:
        if self.record_duration > MAX_RECORD_SECONDS:
            self._fault(
                f"the header field 'duration of a data record' ({self.record_duration:g} s) "
                "is longer than a day"
            )

    def _check_rates(self) -> None:
        if self.record_duration <= 0:
            return
        for s in self.signals:
            rate = s.samples_per_record / self.record_duration
            if not s.is_annotation and rate > MAX_RATE_HZ:
                self._fault(
                    f"the header fields 'number of samples per record of signal {s.index + 1} "
                    f"({s.label})' ({s.samples_per_record}) and 'duration of a data record' "
                    f"({self.record_duration:g} s) make {rate:.3g} samples a second, far more "
                    "than any amplifier takes"
                )
                return

    def _set_record_count(self, n_header: int) -> None:
        data_bytes = os.fstat(self._file.fileno()).st_size - self.header_bytes
        if self.record_bytes == 0:
            self.n_records = 0
            return
        misfit = self._layout_fault(max(data_bytes, 0), n_header)
        if misfit:
            self._fault(misfit)
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
            self.n_records = present
            self._fault(
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

    # -- does the header's record layout fit the file? ----------------------------------

    def _layout_fault(self, data_bytes: int, n_header: int) -> str | None:
        """Why the records cannot lie where the header's samples per record put them.

        A file whose size is a whole number of the header's records (the header's count
        of them, or any count when it is unknown) fits. Otherwise the size alone cannot
        tell a crash or trailing bytes from a damaged field, so the time-keeping TALs
        decide in an EDF+ file: they open every record exactly where the header says.
        Without them, only a single samples-per-record field that, corrected, gives the
        exact file size and the rate the other signals share is named as damaged.
        """
        whole = data_bytes % self.record_bytes == 0
        if whole and (n_header <= 0 or data_bytes == n_header * self.record_bytes):
            return None
        annotations = [s for s in self.signals if s.is_annotation and s.samples_per_record]
        present = data_bytes // self.record_bytes
        if not annotations or present == 0:
            # With no record to check, a refusal is due anyway when none is present.
            return self._damaged_field(data_bytes, n_header, None, consensus=present > 0)
        timekeeper = annotations[0]
        # The records that would be played: bytes after the header's count are not.
        last = min(present, n_header) - 1 if n_header > 0 else present - 1
        records = sorted({0, min(1, last), last})
        found = [self._has_timekeeping(timekeeper, r) for r in records]
        if all(found):
            return None
        named = self._damaged_field(data_bytes, n_header, (timekeeper, found[0]), False)
        if named:
            return named
        bad = records[found.index(False)] + 1
        return (
            "the header fields 'number of samples per record' do not match the data in the "
            f"file (data record {bad} does not start its annotations with a record time "
            "where they say), so the channels would be misaligned"
        )

    def _has_timekeeping(self, signal: EdfSignal, record: int) -> bool:
        self._file.seek(self.header_bytes + record * self.record_bytes + signal.byte_offset)
        width = min(signal.samples_per_record * self.sample_bytes, 40)
        return _TIMEKEEPING.match(self._file.read(width)) is not None

    def _damaged_field(
        self,
        data_bytes: int,
        n_header: int,
        timekeeping: tuple[EdfSignal, bool] | None,
        consensus: bool,
    ) -> str | None:
        """The one samples-per-record field whose correction makes the file size exact.

        ``timekeeping`` is the time-keeping signal and whether record 1 holds its TAL
        where the header says (then the fields before it are right). With ``consensus``
        only a field whose corrected value is shared by other data signals (and whose
        written value is not) is named.
        """
        if n_header <= 0:
            return None
        step = n_header * self.sample_bytes
        diff = data_bytes - n_header * self.record_bytes
        if diff % step:
            return None
        candidates = []
        for s in self.signals:
            if timekeeping is not None:
                keeper, first_ok = timekeeping
                if first_ok != (s.index >= keeper.index):
                    continue
            corrected = s.samples_per_record + diff // step
            if corrected >= 1:
                candidates.append((s, corrected))
        agreed = [c for c in candidates if self._restores_consensus(*c)]
        pick = agreed if len(agreed) == 1 or consensus else candidates
        if len(pick) != 1:
            return None
        s, corrected = pick[0]
        return (
            f"the header field 'number of samples per record of signal {s.index + 1} "
            f"({s.label})' ({s.samples_per_record}) does not match the file size ({data_bytes} "
            f"bytes of data fit its {n_header} records with {corrected}), so the channels "
            "would be misaligned"
        )

    def _restores_consensus(self, signal: EdfSignal, corrected: int) -> bool:
        """True when the corrected value is the one the other data signals share (or when
        an annotation signal, which always holds bytes, says it holds none)."""
        if signal.is_annotation:
            return signal.samples_per_record == 0
        others = [
            s.samples_per_record
            for s in self.signals
            if not s.is_annotation and s.index != signal.index
        ]
        return corrected in others and signal.samples_per_record not in others

    # -- reading ------------------------------------------------------------------------

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
        start time, as written. Annotations whose onset cannot be read (or is infinite,
        NaN or absurd) are skipped and durations that cannot be read are 0 s; the first
        call adds a sentence to :attr:`notes` that counts them.
        """
        onsets = np.full(self.n_records, np.nan)
        notes: list[EdfAnnotation] = []
        bad_onsets: list[str] = []
        bad_durations: list[str] = []
        annotation_signals = [s for s in self.signals if s.is_annotation]
        for k, signal in enumerate(annotation_signals):
            rows: np.ndarray | list[np.ndarray] = (
                self.column(signal, 0, self.n_records) if self.n_records else []
            )
            for record, row in enumerate(rows):
                tals, skipped, zeroed = _split_tals(row.tobytes())
                bad_onsets += skipped
                bad_durations += zeroed
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
        self._note_bad_annotations(bad_onsets, bad_durations)
        return notes, onsets

    def _note_bad_annotations(self, onsets: list[str], durations: list[str]) -> None:
        if self._annotation_notes_done:
            return
        self._annotation_notes_done = True
        if onsets:
            n = len(onsets)
            self.notes.append(
                f"Skipped {n} annotation{'s' * (n > 1)} whose time cannot be read "
                f"({_examples(onsets)})."
            )
        if durations:
            n = len(durations)
            self.notes.append(
                f"{n} annotation{'s have' if n > 1 else ' has'} a duration that cannot be read "
                f"({_examples(durations)}); taken as 0 s."
            )

    def close(self) -> None:
        """Close the file. Idempotent."""
        self._file.close()
