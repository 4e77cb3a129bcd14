"""Repair of EDF/BDF files left by a crashed writer, without ever losing a byte.

A writer that dies leaves one of three patterns (``docs/recording.md``, "Crash safety"):

- the number-of-records field says ``-1`` (pyedflib/EDFlib write it at ``close()`` only);
- the count is one record behind or ahead of the complete records present (our crash-safe
  writer rewrites it after every record; a power cut can lose either write);
- an incomplete last record: fewer bytes than one record after the complete ones.

:func:`recover` repairs exactly these: it sets the count to the complete records present
and cuts the incomplete last record (always less than one record's bytes), so that
readers checking the file size (pyedflib, EDFbrowser) open it. Anything else means the
header itself is damaged, and acting on a damaged header destroys data (a samples-per-record
field of ``99999999`` makes every record "incomplete"). So the file is left untouched,
with one sentence saying why, whenever

- any numeric header field is unreadable or implausible (number of signals, header size,
  record count, record duration, start date and time, ranges, samples per record);
- the count and the complete records present differ by more than one record;
- the file holds no complete record;
- a data record does not begin with its EDF+ time stamp where the header says it does
  (checked on the first and last complete records), i.e. the header's record layout does
  not fit the data.

Before changing anything, the whole file is copied beside it (``NAME.before-recover.edf``,
or ``NAME.before-recover-2.edf`` ... when that exists; an existing file is never replaced),
and the copy is named in the result.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import os
import re
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path

_COUNT_OFFSET = 236  # the 8-byte number-of-records field
_EDF_VERSION = b"0       "
_BDF_VERSION = b"\xffBIOSEMI"
_ANNOTATION_LABELS = ("edf annotations", "bdf annotations")
_SIGNAL_WIDTHS = (16, 80, 8, 8, 8, 8, 8, 80, 8, 32)  # label ... samples per record, reserved
_INTEGER = re.compile(r"[+-]?\d+", re.ASCII)
_DECIMAL = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)", re.ASCII)
_DATE_OR_TIME = re.compile(r"(\d\d)\.(\d\d)\.(\d\d)", re.ASCII)
# The time-keeping TAL opening the first annotation signal of every EDF+ record.
_TIME_STAMP = re.compile(rb"([+-]\d+(?:\.\d*)?)\x14\x14")
_STAMP_TOLERANCE_S = 1e-3
_COPY_CHUNK = 4 * 1024 * 1024
_MAX_BACKUPS = 1000


class RecoverError(Exception):
    """The file was not repaired; ``str()`` is one sentence for the user.

    The file is unchanged, unless the sentence says that writing failed half-way; it then
    names the backup copy holding the original bytes.
    """


@dataclass(frozen=True, slots=True)
class _Layout:
    """What the header says about the data, once every field checked out."""

    header_bytes: int
    record_bytes: int
    stated: int  # the number-of-records field; -1: not given
    duration: float  # seconds per record
    continuous: bool  # EDF+C/BDF+C or plain EDF/BDF: record k starts at k * duration
    stamp_offset: int | None  # where the first annotation signal starts in a record
    stamp_bytes: int  # its size in bytes


def recover(path: str | os.PathLike[str]) -> str:
    """Repair an EDF/BDF file left by a crashed writer, keeping its original bytes.

    Sets the header's number of data records to the complete records present and cuts
    an incomplete last record, only when the file shows one of the crash patterns of the
    module docstring; the original is first copied beside the file.

    Parameters
    ----------
    path : str or os.PathLike
        The recording.

    Returns
    -------
    str
        What was done, in one sentence (naming the backup copy when something changed).

    Raises
    ------
    RecoverError
        Nothing was repaired (the file is unchanged; see :class:`RecoverError`).
    """
    path = Path(path)
    name = path.name or str(path)
    size, mtime = _regular_file(path, name)
    try:
        with path.open("rb") as f:
            layout = _read_layout(f, name, size)
            present, extra = _plan(layout, size, name)
            if present == layout.stated and not extra:
                return f"{name}: nothing to repair; {_holds(present, layout)}."
            _check_time_stamps(f, layout, present, name)
    except OSError as exc:
        raise RecoverError(f"{name} cannot be read ({_reason(exc)})") from None
    return _repair(path, name, layout, present, extra, (size, mtime))


# -- checking -------------------------------------------------------------------------------
def _regular_file(path: Path, name: str) -> tuple[int, int]:
    """Size and modification time of ``path``, or a refusal for anything but a file."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise RecoverError(f"{path} does not exist") from None
    except OSError as exc:
        raise RecoverError(f"{path} cannot be read ({_reason(exc)})") from None
    if stat.S_ISDIR(st.st_mode):
        raise RecoverError(f"{path} is a folder, not a recording")
    if not stat.S_ISREG(st.st_mode):  # a pipe or a device would hang or never end
        raise RecoverError(f"{path} is not a recording file")
    if st.st_size == 0:
        raise RecoverError(f"{name} is empty (0 bytes); there is nothing to recover")
    return st.st_size, st.st_mtime_ns


def _unchanged(name: str, why: str) -> RecoverError:
    return RecoverError(f"{name} was not changed: {why}")


def _text(raw: bytes) -> str:
    return raw.decode("latin-1").strip()


def _number(raw: bytes, what: str, name: str, whole: bool = False) -> float:
    """A numeric header field, strictly: plain digits (with a point unless ``whole``)."""
    text = _text(raw)
    if not (_INTEGER if whole else _DECIMAL).fullmatch(text):
        raise _unchanged(name, f"its header cannot be trusted ({what} reads {text!r})")
    return int(text) if whole else float(text)


def _read_layout(f, name: str, size: int) -> _Layout:
    """Parse and check every numeric field of the header (see the module)."""
    head = f.read(256)
    if len(head) < 256 or not (head[:8] == _BDF_VERSION or head[:8].strip() == b"0"):
        raise RecoverError(f"{name} is not an EDF or BDF file")
    bits = 24 if head[:8] == _BDF_VERSION else 16
    _check_start(head, name)
    ns = int(_number(head[252:256], "the number of signals", name, whole=True))
    if ns < 1:
        raise _unchanged(name, f"its header cannot be trusted (it lists {ns} signals)")
    header_bytes = 256 * (ns + 1)
    if header_bytes > size:
        raise _unchanged(
            name,
            f"its header is cut off ({size} bytes of the {header_bytes} that {ns} signals need)",
        )
    stated_size = int(_number(head[184:192], "the header size", name, whole=True))
    if stated_size != header_bytes:
        raise _unchanged(
            name,
            f"its header cannot be trusted (it gives its size as {stated_size} bytes, but "
            f"{ns} signals take {header_bytes})",
        )
    stated = int(_number(head[236:244], "the number of data records", name, whole=True))
    if stated < -1:
        raise _unchanged(name, f"its header cannot be trusted ({stated} data records)")
    duration = _number(head[244:252], "the duration of a data record", name)
    columns = _signal_columns(f.read(256 * ns), ns)
    labels = [_text(x).lower() for x in columns[0]]
    spr = [_check_signal(columns, i, bits, labels[i], name) for i in range(ns)]
    annotations = [i for i, label in enumerate(labels) if label in _ANNOTATION_LABELS]
    if not duration > 0 and len(annotations) < ns:
        raise _unchanged(name, f"its header cannot be trusted (a data record lasts {duration:g} s)")
    sample_bytes = bits // 8
    record_bytes = sum(spr) * sample_bytes
    if record_bytes == 0:
        raise _unchanged(name, "its header cannot be trusted (its data records hold no samples)")
    reserved = _text(head[192:236]).upper()
    first = annotations[0] if annotations else None
    return _Layout(
        header_bytes=header_bytes,
        record_bytes=record_bytes,
        stated=stated,
        duration=duration,
        continuous=reserved[3:5] != "+D" and duration > 0,
        stamp_offset=None if first is None else sum(spr[:first]) * sample_bytes,
        stamp_bytes=0 if first is None else spr[first] * sample_bytes,
    )


def _check_start(head: bytes, name: str) -> None:
    """The start date ``dd.mm.yy`` and time ``hh.mm.ss`` must be a real moment."""
    date = _DATE_OR_TIME.fullmatch(_text(head[168:176]))
    time = _DATE_OR_TIME.fullmatch(_text(head[176:184]))
    try:
        if date is None or time is None:
            raise ValueError
        day, month, year = (int(x) for x in date.groups())
        hour, minute, second = (int(x) for x in time.groups())
        dt.datetime(2000 + year, month, day, hour, minute, second)
    except ValueError:
        raise _unchanged(
            name,
            f"its header cannot be trusted (the start reads {_text(head[168:176])!r} "
            f"{_text(head[176:184])!r})",
        ) from None


def _signal_columns(raw: bytes, ns: int) -> list[list[bytes]]:
    columns, pos = [], 0
    for width in _SIGNAL_WIDTHS:
        columns.append([raw[pos + i * width : pos + (i + 1) * width] for i in range(ns)])
        pos += width * ns
    return columns


def _check_signal(columns: list[list[bytes]], i: int, bits: int, label: str, name: str) -> int:
    """Check signal ``i``'s ranges; returns its samples per record."""
    what = f"signal {i + 1}"
    _number(columns[3][i], f"the physical minimum of {what}", name)
    _number(columns[4][i], f"the physical maximum of {what}", name)
    dmin = _number(columns[5][i], f"the digital minimum of {what}", name)
    dmax = _number(columns[6][i], f"the digital maximum of {what}", name)
    limit = 2 ** (bits - 1)
    fits = dmin == int(dmin) and dmax == int(dmax) and -limit <= dmin and dmax < limit
    if not fits or (dmin >= dmax and label not in _ANNOTATION_LABELS):
        raise _unchanged(
            name,
            f"its header cannot be trusted (the digital range of {what} is {dmin:g} to {dmax:g})",
        )
    spr = _number(columns[8][i], f"the samples per record of {what}", name, whole=True)
    if spr < 0:
        raise _unchanged(
            name, f"its header cannot be trusted ({what} has {spr} samples per record)"
        )
    return int(spr)


def _plan(layout: _Layout, size: int, name: str) -> tuple[int, int]:
    """Complete records present and bytes after them, when the file is a crash pattern."""
    present, extra = divmod(size - layout.header_bytes, layout.record_bytes)
    stated = layout.stated
    if stated == present and not extra:
        return present, extra
    if stated != -1 and abs(stated - present) > 1:
        part = f" and {extra} more bytes" if extra else ""
        raise _unchanged(
            name,
            f"its header says {stated} data records but the file holds {present} complete "
            f"ones{part}; a crash does not leave that, so the header or the file is damaged",
        )
    if present == 0:
        raise _unchanged(
            name,
            f"it holds no complete data record ({extra} bytes after the header, one record "
            f"takes {layout.record_bytes}); there is nothing to recover",
        )
    return present, extra


def _check_time_stamps(f, layout: _Layout, present: int, name: str) -> None:
    """Records 0 and ``present - 1`` must open with their EDF+ time stamps, if any.

    Only their difference is checked: the first record's stamp is the start's fraction of
    a second after the header's time (``+0.375`` in our recordings), or any onset at all
    in an EDF+D file or another writer's.
    """
    if layout.stamp_offset is None or layout.stamp_bytes == 0:
        return
    onsets = []
    for record in sorted({0, present - 1}):
        f.seek(layout.header_bytes + record * layout.record_bytes + layout.stamp_offset)
        stamp = _TIME_STAMP.match(f.read(min(layout.stamp_bytes, 64)))
        onset = float(stamp.group(1)) if stamp else math.nan
        if not math.isfinite(onset):
            raise _unchanged(
                name,
                f"data record {record + 1} does not start with its time stamp, so the "
                "header's record layout does not fit the data",
            )
        onsets.append(onset)
    expected = (present - 1) * layout.duration
    if layout.continuous and abs(onsets[-1] - onsets[0] - expected) > _STAMP_TOLERANCE_S:
        raise _unchanged(
            name,
            f"data record {present} is stamped {onsets[-1] - onsets[0]:g} s after the first "
            f"instead of {expected:g} s, so the header's record layout does not fit the data",
        )


# -- changing -------------------------------------------------------------------------------
def _repair(
    path: Path, name: str, layout: _Layout, present: int, extra: int, seen: tuple[int, int]
) -> str:
    """Back the file up, then cut ``extra`` bytes and set the count to ``present``."""
    try:
        f = path.open("r+b")
    except OSError as exc:
        raise _unchanged(name, f"it cannot be written ({_reason(exc)})") from None
    with f:
        backup = _backup(f, path, name)
        try:
            st = os.fstat(f.fileno())
        except OSError as exc:
            _discard(backup)
            raise _unchanged(name, f"it cannot be read ({_reason(exc)})") from None
        if (st.st_size, st.st_mtime_ns) != seen:
            _discard(backup)
            raise _unchanged(name, "it changed while being checked (is it still being recorded?)")
        done = []
        try:
            if extra:
                f.truncate(layout.header_bytes + present * layout.record_bytes)
                done.append(f"removed the incomplete last data record ({extra} bytes)")
            if layout.stated != present:
                f.seek(_COUNT_OFFSET)
                f.write(str(present).encode("ascii").ljust(8))
                done.append(f"set the number of data records from {layout.stated} to {present}")
            f.flush()
            os.fsync(f.fileno())
        except OSError as exc:
            raise RecoverError(
                f"repairing {name} failed ({_reason(exc)}); its original bytes are kept in "
                f"{backup.name}"
            ) from None
    return (
        f"{name}: {'; '.join(done)}; it now holds {_holds(present, layout)}; the original is "
        f"kept as {backup.name}."
    )


def backup_path(path: Path, k: int) -> Path:
    """The ``k``-th candidate name for the backup of ``path`` (1, 2, ...)."""
    tag = ".before-recover" if k == 1 else f".before-recover-{k}"
    return path.with_name(f"{path.stem}{tag}{path.suffix}")


def _backup(f, path: Path, name: str) -> Path:
    """Copy the whole file beside it under a free name; returns the copy's path."""
    for k in range(1, _MAX_BACKUPS + 1):
        candidate = backup_path(path, k)
        try:
            fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            continue
        except OSError as exc:
            raise _unchanged(
                name, f"no backup copy could be made beside it ({_reason(exc)})"
            ) from None
        try:
            with os.fdopen(fd, "wb") as out:
                f.seek(0)
                shutil.copyfileobj(f, out, _COPY_CHUNK)
                out.flush()
                os.fsync(out.fileno())
                if out.tell() != os.fstat(f.fileno()).st_size:
                    raise OSError(0, "the copy came out shorter than the file")
        except OSError as exc:
            _discard(candidate)
            raise _unchanged(
                name, f"no backup copy could be made beside it ({_reason(exc)})"
            ) from None
        except BaseException:
            _discard(candidate)
            raise
        with contextlib.suppress(OSError):
            shutil.copystat(path, candidate)  # keep the original's times (not on every disk)
        _sync_folder(candidate.parent)
        return candidate
    raise _unchanged(name, f"{_MAX_BACKUPS} backup copies of it exist already; remove some")


def _sync_folder(folder: Path) -> None:
    """Make the backup's name durable before the original changes (where possible)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _discard(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()


def _holds(present: int, layout: _Layout) -> str:
    records = "record" if present == 1 else "records"
    return f"{present} complete data {records} ({present * layout.duration:g} s of signal)"


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc) or type(exc).__name__
