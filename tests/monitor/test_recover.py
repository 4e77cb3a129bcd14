"""``recover`` repairs what a crash leaves and never destroys a user's bytes: a damaged
header leaves the file byte for byte as it was, and whatever changes is first copied to a
backup beside the file; the command says one line per file, never a traceback."""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import hashlib
import io
import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from commands.recover import recover as recover_command
from drivers.edfreader import EdfFile
from monitor import edfrecover
from monitor.edfrecover import RecoverError, recover
from monitor.edfwriter import EdfWriter

RATE = 2000.0
LABELS = ("L Orb. oculi", "L Orb. oculi", "L Mentalis with a very long label")
SIGNAL_WIDTHS = (16, 80, 8, 8, 8, 8, 8, 80, 8, 32)
SPR_COLUMN = sum(SIGNAL_WIDTHS[:8])  # samples per record, per signal
#: Recordings start at a fraction of a second: the first record is stamped ``+0.75``.
START = dt.datetime(2026, 11, 25, 14, 3, 9, 750000)


def _signal(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 200, (n, len(LABELS)))
    x[::97, 0] = 3000.0
    return x.astype(np.float32)


def _write(path: Path, n: int = 4000, bits: int = 16, notes: int = 20) -> EdfWriter:
    """A valid EDF+C/BDF+C file: 0.1 s records, ``notes`` annotations, a start at a
    fraction of a second."""
    w = EdfWriter(path, RATE, LABELS, bits=bits, annotation_bytes=128, start=START)
    for k in range(notes):
        w.annotate(k * 0.1 + 0.05, f"event {k}")
    w.write(_signal(n, seed=3))
    w.close()
    return w


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _put(data: bytes | bytearray, offset: int, width: int, text: str | bytes) -> bytes:
    raw = text.encode("latin-1") if isinstance(text, str) else text
    out = bytearray(data)
    out[offset : offset + width] = raw[:width].ljust(width)
    return bytes(out)


def _spr_offset(ns: int, signal: int) -> int:
    return 256 + ns * SPR_COLUMN + 8 * signal


def _refused(path: Path, *words: str) -> str:
    """``recover`` refuses with one sentence and leaves the folder as it was."""
    before = {p.name: _sha(p) for p in path.parent.iterdir() if p.is_file()}
    with pytest.raises(RecoverError) as info:
        recover(path)
    after = {p.name: _sha(p) for p in path.parent.iterdir() if p.is_file()}
    assert after == before  # the file byte for byte, and no backup
    text = str(info.value)
    assert "\n" not in text and all(w in text for w in words), text
    return text


def _run(*paths: Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = recover_command([str(p) for p in paths])
    return status, out.getvalue(), err.getvalue()


# -- the two files the old recover destroyed -----------------------------------------------
@pytest.mark.parametrize("bits", [16, 24])
def test_a_huge_samples_per_record_field_leaves_the_file_untouched(tmp_path, bits):
    """One samples-per-record field of 99999999 made every record "incomplete": the old
    recover cut the file to its header and set the count from 20 to 0."""
    path = tmp_path / ("r.bdf" if bits == 24 else "r.edf")
    w = _write(path, bits=bits)
    path.write_bytes(_put(path.read_bytes(), _spr_offset(w.n_channels + 1, 1), 8, "99999999"))
    _refused(path, "was not changed", "says 20 data records", "holds 0 complete")
    status, out, err = _run(path)
    assert (status, out) == (1, "") and err.count("\n") == 1 and err.startswith("error: ")


def _annotation_only(path: Path, records: int = 500, spr: int = 60) -> bytes:
    """An EDF+C file holding only an annotation signal (ns = 1, a 512-byte header)."""
    head = (
        b"0       "
        + b"X X X X".ljust(80)
        + b"Startdate 02-MAR-2002 X X X".ljust(80)
        + b"02.03.0210.11.12"
        + b"512     "
        + b"EDF+C".ljust(44)
        + str(records).encode().ljust(8)
        + b"1       "
        + b"1   "
    )
    signal = (
        b"EDF Annotations".ljust(16)
        + b" " * 80
        + b" " * 8
        + b"-1      1       -32768  32767   "
        + b" " * 80
        + str(spr).encode().ljust(8)
        + b" " * 32
    )
    body = b"".join(
        (f"+{k}\x14\x14\x00+{k}.5\x14note {k}\x14\x00".encode()).ljust(2 * spr, b"\x00")
        for k in range(records)
    )
    data = head + signal + body
    path.write_bytes(data)
    return data


def test_a_damaged_annotation_signal_leaves_the_file_untouched(tmp_path):
    """The annotation signal's samples per record damaged: the old recover cut a 60 kB
    file to its 512-byte header."""
    path = tmp_path / "notes.edf"
    data = _annotation_only(path)
    assert len(data) == 512 + 500 * 120
    path.write_bytes(_put(data, _spr_offset(1, 0), 8, "99999"))
    _refused(path, "was not changed", "says 500 data records")
    # Wrong by a little, with no count to compare: the time stamps do not line up.
    path.write_bytes(_put(_put(data, _spr_offset(1, 0), 8, "61"), 236, 8, "-1"))
    _refused(path, "was not changed", "time stamp")
    path.write_bytes(data)
    assert "nothing to repair" in recover(path)


def test_minus_one_signals_and_other_unusable_headers_are_refused(tmp_path):
    path = tmp_path / "r.edf"
    w = _write(path)
    data = path.read_bytes()
    ns = w.n_channels + 1
    cases = [
        ((252, 4, "-1"), "lists -1 signals"),
        ((252, 4, "0"), "lists 0 signals"),
        ((252, 4, "9999"), "header is cut off"),
        ((252, 4, "x"), "the number of signals reads 'x'"),
        ((184, 8, "768"), "gives its size as 768"),
        ((244, 8, "nan"), "the duration of a data record reads 'nan'"),
        ((244, 8, "-0.1"), "lasts -0.1 s"),
        ((244, 8, "0"), "lasts 0 s"),
        ((236, 8, "-7"), "-7 data records"),
        ((236, 8, ""), "the number of data records reads ''"),
        ((168, 8, "32.13.99"), "the start reads"),
        ((_spr_offset(ns, 0), 8, "-5"), "signal 1 has -5 samples per record"),
        ((_spr_offset(ns, 2), 8, "1e3"), "samples per record of signal 3 reads '1e3'"),
        ((256 + ns * 120, 8, "inf"), "digital minimum of signal 1 reads 'inf'"),
        ((256 + ns * 128 + 8, 8, "-40000"), "digital range of signal 2"),
    ]
    for (offset, width, text), words in cases:
        # a crash pattern otherwise: the old recover would have acted on it
        path.write_bytes(_put(data, offset, width, text) + b"\x01" * 10)
        _refused(path, "was not changed", words)


def test_a_count_far_from_the_records_present_is_not_a_crash(tmp_path):
    path = tmp_path / "r.edf"
    w = _write(path)
    data = path.read_bytes()
    half = data[: w.header_bytes + 10 * w.record_bytes + 77]  # e.g. a copy that stopped
    path.write_bytes(half)
    _refused(path, "says 20 data records", "holds 10 complete ones and 77 more bytes")
    path.write_bytes(_put(data, 236, 8, "5"))
    _refused(path, "says 5 data records", "holds 20 complete ones")
    path.write_bytes(_put(data[: w.header_bytes + 900], 236, 8, "0"))
    _refused(path, "holds no complete data record")


# -- what a crash leaves is repaired, the original kept ------------------------------------
@pytest.mark.parametrize(
    ("count", "records", "partial"),
    [
        ("-1", 20, 3),  # pyedflib/EDFlib: the count is written at close()
        ("-1", 20, 0),
        ("19", 20, 500),  # ours, killed between the record and its count
        ("19", 20, 0),
        ("20", 19, 700),  # a power cut lost the end of the last record
        ("20", 20, 1000),  # killed while writing the next record
    ],
)
@pytest.mark.parametrize("bits", [16, 24])
def test_what_a_crash_leaves_is_repaired_and_the_original_kept(
    tmp_path, bits, count, records, partial
):
    pyedflib = pytest.importorskip("pyedflib")
    edfio = pytest.importorskip("edfio")
    path = tmp_path / ("crash.bdf" if bits == 24 else "crash.edf")
    w = _write(path, n=4100, bits=bits)  # 21 records: the 21st is the one cut
    full = path.read_bytes()
    cut = w.header_bytes + records * w.record_bytes
    crashed = _put(full[: cut + partial], 236, 8, count)
    path.write_bytes(crashed)
    status, said, err = _run(path)
    assert (status, err) == (0, "") and said.count("\n") == 1
    backup = tmp_path / f"crash.before-recover{path.suffix}"
    assert backup.read_bytes() == crashed
    assert f"the original is kept as {backup.name}" in said
    assert f"it now holds {records} complete data records ({records / 10:g} s" in said
    assert ("removed the incomplete last data record" in said) == (partial > 0)
    assert ("set the number of data records" in said) == (count != str(records))
    assert path.read_bytes() == _put(full[:cut], 236, 8, str(records))
    f = EdfFile(path)
    assert (f.n_records, f.notes) == (records, [])
    f.close()
    r = pyedflib.EdfReader(str(path))
    assert r.datarecords_in_file == records
    assert len(r.readAnnotations()[0]) == records
    assert r.starttime_subsecond == 7_500_000  # the first record's "+0.75", in 100 ns
    r.close()
    e = (edfio.read_bdf if bits == 24 else edfio.read_edf)(path)
    assert e.num_data_records == records
    assert "nothing to repair" in recover(path)  # and no second backup
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([path.name, backup.name])


def test_an_existing_backup_is_never_overwritten(tmp_path):
    path = tmp_path / "case.edf"
    w = _write(path)
    crashed = _put(path.read_bytes(), 236, 8, "-1") + b"\x07" * 9
    for taken in ("case.before-recover.edf", "case.before-recover-2.edf"):
        (tmp_path / taken).write_bytes(b"keep me")
    path.write_bytes(crashed)
    said = recover(path)
    assert "the original is kept as case.before-recover-3.edf." in said
    assert (tmp_path / "case.before-recover-3.edf").read_bytes() == crashed
    for taken in ("case.before-recover.edf", "case.before-recover-2.edf"):
        assert (tmp_path / taken).read_bytes() == b"keep me"
    assert EdfFile(path).n_records == (len(crashed) - w.header_bytes) // w.record_bytes


def test_a_file_cut_at_any_byte_opens_with_every_complete_record(tmp_path):
    pyedflib = pytest.importorskip("pyedflib")
    path = tmp_path / "full.edf"
    x = _signal(4000, seed=3)
    w = _write(path)
    raw = path.read_bytes()
    rng = np.random.default_rng(7)
    cuts = sorted({*rng.integers(w.header_bytes + w.record_bytes, len(raw), 12).tolist()})
    for cut in [*cuts, len(raw) - 1]:
        part = tmp_path / f"cut{cut}.edf"
        complete = (cut - w.header_bytes) // w.record_bytes
        # A crashed writer's header is at most one record behind what it wrote.
        part.write_bytes(_put(raw[:cut], 236, 8, str(complete)))
        f = EdfFile(part)
        assert f.n_records == complete
        rows = f.read_records(0, f.n_records)
        data = np.stack([f.physical(rows, s) for s in f.signals if not s.is_annotation], 1)
        notes = [a.text for a in f.read_annotations()[0]]
        f.close()
        assert np.abs(data - x[: complete * w.samples_per_record]).max() <= w.gain / 2 + 1e-6
        assert notes == [f"event {k}" for k in range(20) if k < complete]
        said = recover(part)
        assert ("removed the incomplete" in said) == ((cut - w.header_bytes) % w.record_bytes > 0)
        r = pyedflib.EdfReader(str(part))
        assert r.datarecords_in_file == complete
        r.close()


def test_recover_fixes_a_minus_one_header(tmp_path):
    path = tmp_path / "old.edf"
    w = EdfWriter(path, RATE, LABELS)
    w.write(_signal(1000))
    w.close()
    with path.open("r+b") as f:
        f.seek(236)
        f.write(b"-1      ")
        f.seek(0, 2)
        f.write(b"\x01\x02\x03")
    said = recover(path)
    assert "from -1 to 5" in said and "removed the incomplete last data record (3 bytes)" in said
    assert EdfFile(path).n_records == 5
    assert "nothing to repair" in recover(path)
    (tmp_path / "bad.edf").write_bytes(b"hello" * 100)
    with pytest.raises(RecoverError):
        recover(tmp_path / "bad.edf")


def test_recover_command_prints_what_it_did(tmp_path, capsys):
    path = tmp_path / "crashed.edf"
    w = EdfWriter(path, RATE, LABELS)
    w.write(_signal(1000))
    w.close()
    with path.open("ab") as f:
        f.write(b"\x00" * 10)
    assert recover_command([str(path), str(tmp_path / "missing.edf")]) == 1
    out, err = capsys.readouterr()
    assert "crashed.edf: removed the incomplete last data record (10 bytes)" in out
    assert "missing.edf does not exist" in err


def test_a_file_name_the_terminal_cannot_show_is_no_traceback(tmp_path, monkeypatch):
    path = tmp_path / os.fsdecode(b"\xff-case.edf")  # not UTF-8: Python keeps it as-is
    _write(path)
    path.write_bytes(_put(path.read_bytes(), 236, 8, "-1"))
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    monkeypatch.setattr("sys.stdout", out)
    assert recover_command([str(path)]) == 0
    out.seek(0)
    assert out.read().startswith("?-case.edf: set the number of data records from -1 to 20")


# -- files recover cannot use: one line each, nothing changed -------------------------------
def test_what_is_not_a_recording_gets_one_line_each(tmp_path):
    (tmp_path / "folder.edf").mkdir()
    (tmp_path / "empty.edf").write_bytes(b"")
    (tmp_path / "notes.edf").write_text("Patient: John Smith\n" * 40)
    (tmp_path / "short.edf").write_bytes(b"0       header")
    os.mkfifo(tmp_path / "pipe.edf")  # opening it would wait for a writer forever
    names = ["folder.edf", "empty.edf", "notes.edf", "short.edf", "pipe.edf", "none.edf"]
    before = {p.name: _sha(p) for p in tmp_path.iterdir() if p.is_file()}
    status, out, err = _run(*(tmp_path / n for n in names))
    assert (status, out) == (1, "")
    lines = err.splitlines()
    assert len(lines) == len(names) and all(x.startswith("error: ") for x in lines)
    assert "is a folder, not a recording" in lines[0]
    assert "empty.edf is empty" in lines[1]
    assert "notes.edf is not an EDF or BDF file" in lines[2]
    assert "short.edf is not an EDF or BDF file" in lines[3]
    assert "pipe.edf is not a recording file" in lines[4]
    assert "none.edf does not exist" in lines[5]
    assert {p.name: _sha(p) for p in tmp_path.iterdir() if p.is_file()} == before


def _crashed(tmp_path: Path) -> Path:
    path = tmp_path / "case.edf"
    _write(path)
    path.write_bytes(_put(path.read_bytes(), 236, 8, "-1") + b"\x05" * 5)
    return path


def _fail_on(monkeypatch, target, attribute: str, code: int, when=lambda *a, **k: True):
    real = getattr(target, attribute)

    def failing(*args, **kwargs):
        if when(*args, **kwargs):
            raise OSError(code, os.strerror(code))
        return real(*args, **kwargs)

    monkeypatch.setattr(target, attribute, failing)


def test_no_permission_to_read_or_write_changes_nothing(tmp_path, monkeypatch):
    path = _crashed(tmp_path)
    data = path.read_bytes()
    root = os.geteuid() == 0  # root reads and writes anyway: refuse as for a user
    for mode, opening, words in [
        (0o200, "r", "case.edf cannot be read (Permission denied)"),
        (0o444, "+", "case.edf was not changed: it cannot be written (Permission denied)"),
    ]:
        path.chmod(mode)
        with monkeypatch.context() as m:
            if root:
                _fail_on(m, Path, "open", errno.EACCES, lambda _, o="r", *a, c=opening: c in o)
            with pytest.raises(RecoverError) as info:
                recover(path)
        path.chmod(0o644)
        assert words in str(info.value)
        assert path.read_bytes() == data and [p.name for p in tmp_path.iterdir()] == ["case.edf"]


def test_a_read_only_disk_changes_nothing_but_a_sound_file_is_still_checked(tmp_path, monkeypatch):
    path = _crashed(tmp_path)
    sound = tmp_path / "sound.edf"
    _write(sound)
    _fail_on(monkeypatch, Path, "open", errno.EROFS, lambda self, mode="r", *a: "+" in mode)
    _refused(path, "it cannot be written (Read-only file system)")
    assert "sound.edf: nothing to repair" in recover(sound)


def test_a_full_disk_leaves_no_backup_and_an_unchanged_file(tmp_path, monkeypatch):
    path = _crashed(tmp_path)
    _fail_on(monkeypatch, edfrecover.shutil, "copyfileobj", errno.ENOSPC)
    _refused(path, "no backup copy could be made beside it (No space left on device)")


def test_a_file_still_being_written_is_left_alone(tmp_path, monkeypatch):
    path = _crashed(tmp_path)
    real = edfrecover._backup

    def meanwhile(f, p, name):
        backup = real(f, p, name)
        with p.open("ab") as g:  # the recorder appends a record
            g.write(b"\x00" * 100)
        return backup

    monkeypatch.setattr(edfrecover, "_backup", meanwhile)
    data = path.read_bytes()
    with pytest.raises(RecoverError, match="changed while being checked"):
        recover(path)
    assert path.read_bytes() == data + b"\x00" * 100  # only the writer's bytes
    assert [p.name for p in tmp_path.iterdir()] == ["case.edf"]


def test_a_failure_half_way_names_the_backup(tmp_path, monkeypatch):
    path = _crashed(tmp_path)
    data = path.read_bytes()
    _fail_on(monkeypatch, edfrecover.os, "fsync", errno.EIO, lambda fd: fd > 2 and _is(fd, path))
    with pytest.raises(RecoverError, match=r"repairing case\.edf failed .* case\.before-recover"):
        recover(path)
    assert (tmp_path / "case.before-recover.edf").read_bytes() == data


def _is(fd: int, path: Path) -> bool:
    with contextlib.suppress(OSError):
        return os.path.samestat(os.fstat(fd), path.stat())
    return False


# -- any damage: repaired with a backup, or refused with nothing changed --------------------
def _fields(ns: int) -> list[tuple[int, int]]:
    """(offset, width) of every header field of a file with ``ns`` signals."""
    out = [(8, 80), (88, 80), (168, 8), (176, 8), (184, 8), (192, 44), (236, 8), (244, 8)]
    out.append((252, 4))
    base = 256
    for width in SIGNAL_WIDTHS:
        out += [(base + i * width, width) for i in range(ns)]
        base += width * ns
    return out


def _valid_file() -> tuple[bytes, EdfWriter]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "v.edf"
        w = _write(path, n=1000, notes=8)
        return path.read_bytes(), w


VALID, WRITER = _valid_file()
FIELDS = _fields(WRITER.n_channels + 1)
NASTY = ["", "0", "-1", "-2", "99999999", "1e3", "abc", "nan", "inf", "-inf", "0.0", "1 2", "+5"]


@st.composite
def damaged(draw) -> bytes:
    data = VALID
    for _ in range(draw(st.integers(0, 2))):
        offset, width = draw(st.sampled_from(FIELDS))
        text = draw(st.one_of(st.sampled_from(NASTY), st.text(max_size=width)))
        data = _put(data, offset, width, text.encode("utf-8")[:width])
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    count = draw(st.sampled_from([None, "-1", -1, 0, 1]))  # as a crash leaves it
    if count is not None and len(data) >= 244:
        present = (len(data) - WRITER.header_bytes) // WRITER.record_bytes
        data = _put(data, 236, 8, count if isinstance(count, str) else str(present + count))
    return data


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(damaged())
def test_any_damage_is_repaired_with_a_backup_or_refused_unchanged(data):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "r.edf"
        path.write_bytes(data)
        try:
            said = recover(path)
        except RecoverError as exc:
            assert "\n" not in str(exc)
            assert path.read_bytes() == data
            assert [p.name for p in Path(folder).iterdir()] == ["r.edf"]
            repaired = False
            event("refused")
        else:
            repaired = True
            event("nothing to repair" if "nothing to repair" in said else "repaired")
            _check_repaired(path, data, said)
        path.write_bytes(data)
        status, out, err = _run(path)
        assert "Traceback" not in err and (out + err).count("\n") == 1
        assert status == (0 if repaired else 1)


def _check_repaired(path: Path, data: bytes, said: str) -> None:
    """Only the count changed and less than one record was cut; the backup is the input."""
    after = path.read_bytes()
    others = [p for p in path.parent.iterdir() if p != path]
    if after == data:
        assert "nothing to repair" in said and others == []
        return
    (backup,) = others
    assert backup.read_bytes() == data and backup.name in said
    assert after[:236] == data[:236] and after[244:] == data[244 : len(after)]
    f = EdfFile(path)
    try:
        assert f.n_records == int(after[236:244]) and f.notes == []
        assert len(after) == f.header_bytes + f.n_records * f.record_bytes
        assert len(data) - len(after) < f.record_bytes
    finally:
        f.close()
