"""``main.py deidentify RECORDING --out FILE``: a copy of a recording without the patient.

For teaching and for sharing a case. Works on EDF, EDF+ (C and D), BDF and BDF+; the copy
keeps the format, every sample byte for byte, the channel headers and the machine's own
annotations with their exact onsets. What changes (``docs/export.md`` says why):

- **Patient field**: ``X X X X`` (EDF+: code, sex, birth date and name unknown), ``X`` in
  plain EDF/BDF.
- **Recording field**: EDF+ keeps ``Startdate``, with the shifted date, and the equipment;
  the administration code and the technician become ``X`` (plain EDF: ``X``).
- **Start date**: moved ``--shift-days`` days earlier, by default a number of days drawn
  at random (``os.urandom``) from 365 to 3650 and printed, never stored in the copy. The
  time of day is kept. EDF stores the year in two digits (1985-2084), so the shifted date
  must lie in those years.
- **Annotations**: only the monitor's own texts are kept (:mod:`commands.machine_texts`);
  typed notes and everything from other software are removed. The time-keeping TAL that
  opens each data record (EDF+D record times, sub-second starts) is kept as it was.
- **Reserved fields** are blanked but for the format tag (``EDF+C``, ``24BIT`` ...).

The copy is written to a hidden temporary file next to ``--out``, checked (it must open
and must not hold a word of the old patient or recording field in its header), and only
then renamed to ``--out``: a failure never leaves a half-written file.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import re
import secrets
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from commands.argtypes import CommandParser
from commands.machine_texts import TextPolicy
from drivers.edfreader import EdfFile, EdfFormatError

MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
#: The years EDF's two-digit ``dd.mm.yy`` start date can hold.
EARLIEST = dt.date(1985, 1, 1)
LATEST = dt.date(2084, 12, 31)
#: The default shift: this many days earlier, drawn at random.
RANDOM_SHIFT_DAYS = (365, 3650)
_CHUNK_BYTES = 4 * 1024 * 1024
# A TAL's onset and optional duration (EDF+ section 2.2.4); anything else is not a TAL.
_TAL_HEAD = re.compile(rb"[+-]\d+(?:\.\d*)?(?:\x15\d*(?:\.\d*)?)?")
_FORMAT_TAGS = ("EDF+C", "EDF+D", "BDF+C", "BDF+D", "24BIT")
_NAME_PARTS = re.compile(r"[_,]+")


class DeidentifyError(Exception):
    """The copy cannot be made; ``str()`` is one sentence for the user.

    ``status`` is the exit status: 2 when nothing was attempted (bad input or output),
    1 when writing failed.
    """

    def __init__(self, text: str, status: int = 2) -> None:
        super().__init__(text)
        self.status = status


@dataclass
class Result:
    """What :func:`deidentify_file` did, for the report."""

    path: Path
    format: str
    n_records: int
    seconds: float
    shift_days: int
    random_shift: bool
    new_date: dt.date | None
    kept: int = 0
    removed: int = 0
    equipment_kept: bool = True
    notes: list[str] = field(default_factory=list)


# -- dates ----------------------------------------------------------------------------------
def _header_date(raw: bytes) -> dt.date | None:
    """The header's ``dd.mm.yy`` with EDF's 1985 clipping (``yy`` for after 2084: None)."""
    try:
        day, month, year = (int(x) for x in raw.decode("ascii").strip().split("."))
        return dt.date(year + (1900 if year >= 85 else 2000), month, day)
    except (ValueError, UnicodeDecodeError):
        return None


def _header_time(raw: bytes) -> dt.time | None:
    """The header's ``hh.mm.ss`` (None when unreadable)."""
    try:
        hour, minute, second = (int(x) for x in raw.decode("ascii").strip().split("."))
        return dt.time(hour, minute, second)
    except (ValueError, UnicodeDecodeError):
        return None


def _startdate(text: str) -> dt.date | None:
    """``02-MAR-2002`` of an EDF+ recording field (None for ``X`` or anything unreadable)."""
    try:
        day, month, year = text.split("-")
        return dt.date(int(year), MONTHS.index(month.upper()) + 1, int(day))
    except ValueError:
        return None


def original_date(head: bytes, plus: bool) -> dt.date | None:
    """The recording's start date: EDF+ ``Startdate`` (full year), else the header's."""
    if plus:
        parts = head[88:168].decode("latin-1").split()
        if len(parts) >= 2 and parts[0] == "Startdate":
            date = _startdate(parts[1])
            if date is not None:
                return date
    return _header_date(head[168:176])


def random_shift(start: dt.date) -> int:
    """Days to move ``start`` earlier: random in :data:`RANDOM_SHIFT_DAYS`, kept after 1985.

    A start too close to 1985 for that is moved later instead (a negative result).
    """
    lo, hi = RANDOM_SHIFT_DAYS
    back = min(hi, (start - EARLIEST).days)
    if back >= lo:
        return lo + secrets.randbelow(back - lo + 1)
    return -(lo + secrets.randbelow(hi - lo + 1))


def shifted(start: dt.date, days: int) -> dt.date:
    """``start`` moved ``days`` earlier; :class:`DeidentifyError` outside 1985-2084."""
    try:
        new = start - dt.timedelta(days=days)
    except OverflowError:
        new = None
    if new is None or not EARLIEST <= new <= LATEST:
        way = f"{days} days earlier" if days >= 0 else f"{-days} days later"
        raise DeidentifyError(
            f"moving the start date ({start:%d.%m.%Y}) {way} leaves the years 1985 to 2084 "
            "that EDF can store; choose a smaller --shift-days"
        )
    return new


# -- header ---------------------------------------------------------------------------------
def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def identifiers(head: bytes, plus: bool) -> tuple[set[str], set[str]]:
    """Words of the original patient and recording fields that could identify someone.

    Returns
    -------
    strong : set of str
        EDF+ patient code, birth date, name (and its ``_``-separated parts) and further
        subfields, administration code and technician: the copy's header must not hold
        them, and annotations holding them are removed.
    weak : set of str
        The words of a plain EDF patient field (free text): annotations holding them are
        removed (the header is not checked for them: free text shares words with labels).
    """
    patient = _decode(head[8:88]).split()
    recording = _decode(head[88:168]).split()
    if plus:
        items = patient[:1] + patient[2:]  # not the sex
        if recording[:1] == ["Startdate"]:
            items += recording[2:4] + recording[5:]  # not the date and the equipment
        else:
            items += recording
        weak_items: list[str] = []
    else:
        items, weak_items = [], patient

    def words(source: list[str]) -> set[str]:
        out = set()
        for item in source:
            parts = _NAME_PARTS.split(item)
            if all(p.upper() in ("X", "") for p in parts):
                continue  # "X", "X,X": unknown
            for word in (item, *parts):
                if len(word) >= 3 and word.upper() != "X" and any(c.isalnum() for c in word):
                    out.add(word)
        return out

    return words(items), words(weak_items)


def _field(text: str, width: int) -> bytes:
    return text.encode("latin-1", "replace")[:width].ljust(width)


def new_header(
    head: bytes,
    plus: bool,
    new_date: dt.date | None,
    n_records: int,
    strong: set[str],
) -> tuple[bytes, bool]:
    """The copy's header; returns it and whether the equipment was kept."""
    out = bytearray(head)
    ns = len(head) // 256 - 1
    out[8:88] = _field("X X X X" if plus else "X", 80)
    equipment_kept = True
    if plus:
        parts = _decode(head[88:168]).split()
        equipment = parts[4] if parts[:1] == ["Startdate"] and len(parts) >= 5 else "X"
        if any(_holds(equipment, word) for word in strong):
            equipment, equipment_kept = "X", False
        when = "X" if new_date is None else f"{new_date.day:02d}-{MONTHS[new_date.month - 1]}"
        if new_date is not None:
            when += f"-{new_date.year:04d}"
        out[88:168] = _field(f"Startdate {when} X X {equipment}", 80)
    else:
        out[88:168] = _field("X", 80)
    # EDF+ asks for 01.01.85 when the start date is unknown.
    date = new_date or EARLIEST
    out[168:176] = _field(f"{date.day:02d}.{date.month:02d}.{date.year % 100:02d}", 8)
    time = _header_time(head[176:184]) or dt.time(0, 0, 0)
    out[176:184] = _field(f"{time:%H.%M.%S}", 8)
    out[184:192] = _field(str(len(head)), 8)
    tag = head[192:236].decode("latin-1").strip().upper()[:5]
    out[192:236] = _field(tag if tag in _FORMAT_TAGS else "", 44)
    out[236:244] = _field(str(n_records), 8)
    reserved = 256 + ns * 224  # the signals' 32-byte reserved fields come last
    out[reserved : reserved + 32 * ns] = b" " * (32 * ns)
    return bytes(out), equipment_kept


def _holds(text: str, word: str) -> bool:
    return re.search(rf"(?<![\w]){re.escape(word)}(?![\w])", text, re.IGNORECASE) is not None


# -- annotations ----------------------------------------------------------------------------
def filter_tals(raw: bytes, time_keeping: bool, policy: TextPolicy) -> tuple[bytes, int, int]:
    """One record's annotation bytes with only the texts ``policy`` keeps, zero-padded.

    TALs keep their onset and duration bytes as written. With ``time_keeping`` the first
    TAL, when it opens with an empty text (the record's time stamp), is kept even when no
    text remains. A piece not closed by ``\\x14\\x00`` (EDF+ section 2.2.2) is not a TAL and
    goes, so the bytes kept always fit where they came from. Returns the new bytes and the
    numbers of texts kept and removed.
    """
    out = bytearray()
    kept = removed = 0
    first = time_keeping
    pieces = raw.split(b"\x00")
    last = len(pieces) - 1  # the piece after the last NUL is not closed
    for k, chunk in enumerate(pieces):
        if not chunk:
            continue
        head, *texts = chunk.split(b"\x14")
        closed = k < last and chunk.endswith(b"\x14")
        if closed:
            texts.pop()  # the empty piece after the terminator
        stamp = first and bool(texts) and texts[0] == b""
        first = False
        if not closed or not texts or not _TAL_HEAD.fullmatch(head):
            removed += max(1, sum(1 for t in texts if t.strip()))  # not a TAL: all of it
            continue
        keep = [b""] if stamp else []
        for text in texts[1:] if stamp else texts:
            if not text.strip():
                continue
            if policy.keeps(text.decode("utf-8", "replace")):
                keep.append(text)
                kept += 1
            else:
                removed += 1
        if keep:
            out += head + b"\x14" + b"\x14".join(keep) + b"\x14\x00"
    assert len(out) <= len(raw)  # only removed: it always fits
    return bytes(out.ljust(len(raw), b"\x00")), kept, removed


# -- the file -------------------------------------------------------------------------------
def _cut_short_note(path: Path, f: EdfFile, stated: str) -> str | None:
    """A sentence when the copy holds other records than the header said."""
    size = path.stat().st_size - f.header_bytes
    present, extra = divmod(max(size, 0), f.record_bytes or 1)
    copied = f"the copy holds the {f.n_records} complete data records"
    copied += f" ({f.n_records * f.record_duration:g} s)"
    try:
        said = int(float(stated))
    except (ValueError, OverflowError):  # "nan", "inf": not given
        said = -1
    if said <= 0:
        return (
            "The header did not give the number of data records (the recording was probably "
            f"not closed properly); {copied}."
        )
    if said > f.n_records:
        part = f" and an incomplete last one ({extra} bytes) was left out" if extra else ""
        return (
            f"The file was cut short: its header promised {said} data records, {present} "
            f"are complete{part}; {copied}."
        )
    if present > f.n_records or extra:
        return (
            "The file holds more data than its header says; the copy holds the "
            f"{f.n_records} data records ({f.n_records * f.record_duration:g} s) it gives."
        )
    return None


def _check_paths(src: Path, out: Path, overwrite: bool) -> None:
    if not src.exists():
        raise DeidentifyError(f"{src} does not exist")
    if src.is_dir():
        raise DeidentifyError(f"{src} is a folder, not a recording")
    if not src.is_file():  # a pipe or a device: opening it could wait forever
        raise DeidentifyError(f"{src} is not a recording file")
    if out.exists() and (out.resolve() == src.resolve() or os.path.samefile(out, src)):
        raise DeidentifyError(
            "the output is the recording itself; give --out another file name (the original "
            "is never changed)"
        )
    if out.is_dir():
        raise DeidentifyError(f"{out} is a folder; give --out a file name, e.g. {out}/case.edf")
    if out.exists() and not overwrite:
        raise DeidentifyError(f"{out} already exists; choose another name or add --overwrite")
    folder = out.parent
    if not folder.is_dir():
        raise DeidentifyError(f"the folder {folder} does not exist; create it first")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise DeidentifyError(f"the folder {folder} cannot be written to (no permission)")


def deidentify_file(
    src: str | os.PathLike[str],
    out: str | os.PathLike[str],
    shift_days: int | None = None,
    overwrite: bool = False,
) -> Result:
    """Write a de-identified copy of ``src`` to ``out`` (see the module).

    Parameters
    ----------
    src, out : path
        The recording and the copy to write (never the same file).
    shift_days : int, optional
        Days to move the start date earlier (negative: later); None draws it at random.
    overwrite : bool
        Replace an existing ``out``.

    Raises
    ------
    DeidentifyError
        With a sentence; nothing is left at ``out`` (an existing file is untouched).
    """
    src, out = Path(src), Path(out)
    _check_paths(src, out, overwrite)
    try:
        f = EdfFile(src)
    except EdfFormatError as exc:
        raise DeidentifyError(f"{src.name} cannot be de-identified: {exc}") from None
    except OSError as exc:
        raise DeidentifyError(f"{src} cannot be read: {exc.strerror or exc}") from None
    except (ValueError, OverflowError, MemoryError):  # numbers in the header beyond any use
        raise DeidentifyError(
            f"{src.name} cannot be de-identified: its header cannot be read"
        ) from None
    try:
        return _copy(f, src, out, shift_days)
    finally:
        f.close()


def _copy(f: EdfFile, src: Path, out: Path, shift_days: int | None) -> Result:
    if f.n_records == 0:
        raise DeidentifyError(f"{src.name} holds no complete data record; there is nothing to copy")
    with src.open("rb") as fh:
        head = fh.read(f.header_bytes)
    plus = "+" in f.format
    start = original_date(head, plus)
    result = Result(out, f.format, f.n_records, f.n_records * f.record_duration, 0, False, None)
    if start is None:
        result.notes.append(
            "The start date could not be read; the copy says 01.01.85 (unknown), as EDF+ asks."
        )
    else:
        result.random_shift = shift_days is None
        result.shift_days = random_shift(start) if shift_days is None else shift_days
        result.new_date = shifted(start, result.shift_days)
    if _header_time(head[176:184]) is None:
        result.notes.append("The start time could not be read; the copy says 00.00.00.")
    strong, weak = identifiers(head, plus)
    header, result.equipment_kept = new_header(head, plus, result.new_date, f.n_records, strong)
    for word in sorted(strong, key=len, reverse=True):
        if _holds(header.decode("latin-1"), word):
            raise DeidentifyError(
                f"{src.name} names {word!r} (from its patient or recording field) in its "
                "channel headers too; no copy was written"
            )
    note = _cut_short_note(src, f, head[236:244].decode("latin-1").strip())
    if note:
        result.notes.append(note)
    labels = [s.label for s in f.signals if not s.is_annotation]
    _write_copy(f, src, out, header, TextPolicy(labels, strong | weak), result)
    return result


def _write_copy(
    f: EdfFile, src: Path, out: Path, header: bytes, policy: TextPolicy, result: Result
) -> None:
    """Write the copy to a hidden temporary file, check it, then rename it to ``out``."""
    try:
        fd, tmp_name = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".part")
    except OSError as exc:
        raise DeidentifyError(
            f"the folder {out.parent} cannot be written to ({exc.strerror or exc})"
        ) from None
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as dst:
            dst.write(header)
            _copy_records(f, dst, policy, result)
            dst.flush()
            os.fsync(dst.fileno())
        _verify(tmp, f, result)
        tmp.chmod(0o644)
        os.replace(tmp, out)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise DeidentifyError(
            f"writing {out} failed: {exc.strerror or exc}; no copy was left", status=1
        ) from None
    except EdfFormatError as exc:  # the recording changed while it was being copied
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise DeidentifyError(
            f"reading {src.name} failed: {exc}; no copy was left", status=1
        ) from None
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def _copy_records(f: EdfFile, dst, policy: TextPolicy, result: Result) -> None:
    annotations = [s for s in f.signals if s.is_annotation]
    step = max(1, _CHUNK_BYTES // max(f.record_bytes, 1))
    for first in range(0, f.n_records, step):
        rows = f.read_records(first, min(first + step, f.n_records))
        if annotations:
            rows = rows.copy()
            for k, signal in enumerate(annotations):
                lo = signal.byte_offset
                hi = lo + signal.samples_per_record * f.sample_bytes
                for row in rows:
                    new, kept, removed = filter_tals(row[lo:hi].tobytes(), k == 0, policy)
                    row[lo:hi] = np.frombuffer(new, np.uint8)
                    result.kept += kept
                    result.removed += removed
        dst.write(rows.tobytes())


def _verify(path: Path, f: EdfFile, result: Result) -> None:
    """The copy opens as the same kind of file with the same records."""
    try:
        copy = EdfFile(path)
    except EdfFormatError as exc:
        raise DeidentifyError(
            f"the copy did not check out ({exc}); no copy was left", status=1
        ) from None
    try:
        same = (copy.format, copy.n_records, copy.record_bytes) == (
            f.format,
            f.n_records,
            f.record_bytes,
        )
        if not same or copy.notes:
            raise DeidentifyError("the copy did not check out; no copy was left", status=1)
    finally:
        copy.close()


# -- the command ----------------------------------------------------------------------------
def build_parser(prog: str = "main.py deidentify") -> argparse.ArgumentParser:
    p = CommandParser(
        prog=prog,
        description="Write a de-identified copy of an EDF/EDF+/BDF/BDF+ recording for "
        "teaching: patient field blanked the EDF+ way, administration code and technician "
        "blanked, start date shifted, and every annotation the monitor did not write itself "
        "(typed notes, other software's texts) removed. Samples are copied unchanged. "
        "See docs/export.md.",
    )
    p.add_argument("recording", type=Path, metavar="RECORDING", help="the recording to copy")
    p.add_argument(
        "--out",
        type=Path,
        required=True,
        metavar="FILE",
        help="the copy to write (choose a name that does not name the patient)",
    )
    p.add_argument(
        "--shift-days",
        type=int,
        default=None,
        metavar="N",
        help="move the start date N days earlier (negative: later); default a random "
        f"{RANDOM_SHIFT_DAYS[0]} to {RANDOM_SHIFT_DAYS[1]} days, printed and not stored",
    )
    p.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    return p


def report(result: Result) -> list[str]:
    """The lines printed after a copy."""
    lines = [
        f"Wrote {result.path} ({result.format}, {result.n_records} data records, "
        f"{result.seconds:g} s; samples copied unchanged).",
        "  patient field: blanked" + (" (X X X X)." if "+" in result.format else " (X)."),
    ]
    if "+" in result.format:
        equipment = "equipment kept" if result.equipment_kept else "equipment blanked too"
        lines.append(f"  recording field: administration code and technician blanked, {equipment}.")
    else:
        lines.append("  recording field: blanked (X).")
    if result.new_date is not None:
        days = result.shift_days
        way = f"{days} days earlier" if days >= 0 else f"{-days} days later"
        how = " (drawn at random; not stored in the copy)" if result.random_shift else ""
        lines.append(f"  start date: moved {way}, to {result.new_date:%d.%m.%Y}{how}.")
    lines.append(
        f"  annotations: {result.kept} kept (the monitor's own), {result.removed} removed "
        "(typed notes and other texts)."
    )
    lines.extend(f"  note: {n}" for n in result.notes)
    return lines


def run(args: argparse.Namespace) -> int:
    """Run the command; returns the exit status (0 done, 2 refused, 1 writing failed)."""
    try:
        result = deidentify_file(args.recording, args.out, args.shift_days, args.overwrite)
    except DeidentifyError as exc:
        print(f"error: {exc}.", file=sys.stderr)
        return exc.status
    _say("\n".join(report(result)))
    return 0


def _say(text: str) -> None:
    """Print to stdout; a file name's bytes the terminal cannot show become ``?``."""
    encoding = getattr(sys.stdout, "encoding", None) or "utf-8"
    print(text.encode(encoding, "replace").decode(encoding))
