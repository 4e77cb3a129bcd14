"""``main.py deidentify``: the copy holds no patient, a shifted date, only the monitor's own
annotations with their onsets, the same samples byte for byte, and opens everywhere the
original did; bad input and bad output paths are refused in one line with nothing left."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import io
import os
import re
import tempfile
import threading
import warnings
from pathlib import Path

import edfio
import numpy as np
import pyedflib
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import main
from commands import deidentify as deid
from commands.machine_texts import TextPolicy
from drivers.edfreader import EdfFile
from drivers.replay import ReplaySource
from drivers.simulator import SimulatorSource
from monitor.caserecording import record_case
from monitor.edfwriter import EdfWriter
from monitor.pipeline import attach_pipeline
from monitor.recorder import stim_text
from monitor.session import Session
from simulation.emgsynth import SimConfig

EDF_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "edf"
PATIENT = "MCH-0234567 M 02-AUG-1951 Smith_John"
SECRETS = (b"smith", b"john", b"mch-0234567", b"02-aug-1951", b"jones", b"psg-1234")
TYPED = (
    "note: John Smith is anxious",
    "note: Mr Smith moved the left eyelid",
    "stim by Jones",
    "alarm High active: Recording stopped: the folder /home/jones/smith cannot be written to",
)
RESET_REASON = "Smith coughed"


def _typed(text: str) -> bool:
    """Texts a person typed (or that name a folder): the copy must not keep them."""
    return text in TYPED or text.endswith(RESET_REASON)


# -- making recordings ----------------------------------------------------------------------
def _set_field(path: Path, offset: int, width: int, text: str) -> None:
    with path.open("r+b") as f:
        f.seek(offset)
        f.write(text.encode("ascii").ljust(width))


def _name_everyone(path: Path) -> None:
    """Put a patient in the patient field and a technician in the recording field."""
    head = path.read_bytes()[:256].decode("latin-1")
    date = head[88:168].split()[1]
    _set_field(path, 8, 80, PATIENT)
    _set_field(path, 88, 80, f"Startdate {date} PSG-1234/2002 Jones Facial_Nerve_Monitor")


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> Path:
    """A simulated case recorded through the monitor's own recorder (every kind of machine
    annotation it writes: events, alarms, stimuli, evoked measurements, the LSR call,
    settings changed), with typed notes and a train-time reset with its typed reason."""
    path = tmp_path_factory.mktemp("case") / "case.edf"
    config = SimConfig(
        rate=4000,
        seed=3,
        spikes_per_min=60,
        bursts_per_min=30,
        a_trains_per_min=12,
        b_trains_per_min=6,
        c_trains_per_min=6,
        cautery_per_min=12,
        stim_start_s=1,
        lsr_gone_at_s=8,
    )
    source = SimulatorSource(config, realtime=False, duration_s=15.0)
    session = Session(source)
    session.open()
    pipeline = attach_pipeline(session)
    monitoring, evoked = pipeline.monitoring, pipeline.evoked
    rec = record_case(session, monitoring, evoked, path, "case 17")
    for k, text in enumerate(TYPED):
        rec.annotate(4000 * (2 + k), text)
    session.set_filter(highpass_hz=30.0)
    monitoring.set_thresholds(mode="fixed", fixed_uv=80.0)
    monitoring.set_traintime_thresholds(1.0, 8.0)
    monitoring.reset_traintime(RESET_REASON, None, 4000 * 7)
    session.start()
    assert session.join(60)
    session.stop()
    rec.close()
    assert not rec.failed
    _name_everyone(path)
    return path


@pytest.fixture(scope="module")
def recorded_bdf(recorded, tmp_path_factory) -> Path:
    """The same case as BDF+ (24 bit), written with our writer, annotations and all."""
    f = EdfFile(recorded)
    rows = f.read_records(0, f.n_records)
    data = np.stack([f.physical(rows, s) for s in f.signals if not s.is_annotation], 1)
    notes, _ = f.read_annotations()
    labels = [s.label for s in f.signals if not s.is_annotation]
    rate = f.signals[0].samples_per_record / f.record_duration
    start = f.start_datetime
    f.close()
    path = tmp_path_factory.mktemp("bdf") / "case.bdf"
    w = EdfWriter(path, rate, labels, bits=24, start=start, patient=PATIENT, case_id="x")
    for a in notes:
        w.annotate(a.onset_s, a.text, a.duration_s)
    w.write(data)
    w.close()
    _name_everyone(path)
    return path


def _annotations(path: Path) -> list[tuple[float, float, str]]:
    f = EdfFile(path)
    notes, _ = f.read_annotations()
    f.close()
    return [(a.onset_s, a.duration_s, a.text) for a in notes]


def _data_bytes(path: Path, n_records: int | None = None) -> tuple[bytes, list[bytes]]:
    """The data signals' bytes of the first ``n_records`` records (default all), and every
    annotation signal's."""
    f = EdfFile(path)
    n = f.n_records if n_records is None else n_records
    data = b"".join(f.column(s, 0, n).tobytes() for s in f.signals if not s.is_annotation)
    notes = [f.column(s, 0, n).tobytes() for s in f.signals if s.is_annotation]
    f.close()
    return data, notes


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    status = main.main(["deidentify", *map(str, argv)])
    out, err = capsys.readouterr()
    return status, out, err


def _quiet_edfio(path: Path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return (edfio.read_bdf if path.suffix.lower() == ".bdf" else edfio.read_edf)(path)


# -- the copy -------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["edf", "bdf"])
def test_the_copy_has_no_patient_a_shifted_date_and_the_machine_annotations(
    kind, recorded, recorded_bdf, tmp_path, capsys
):
    src = recorded if kind == "edf" else recorded_bdf
    out = tmp_path / f"teaching.{kind}"
    status, said, err = _run(capsys, src, "--out", out, "--shift-days", 400)
    assert status == 0, err
    assert "moved 400 days earlier" in said

    raw = out.read_bytes()
    head = raw[:256].decode("latin-1")
    original = EdfFile(src)
    copy = EdfFile(out)
    assert copy.format == original.format == ("EDF+C" if kind == "edf" else "BDF+C")
    assert head[8:88].strip() == "X X X X"
    assert copy.start_datetime == original.start_datetime - dt.timedelta(days=400)
    new = copy.start_datetime
    months = deid.MONTHS[new.month - 1]
    assert head[88:168].split() == [
        "Startdate",
        f"{new.day:02d}-{months}-{new.year}",
        "X",
        "X",
        "Facial_Nerve_Monitor",
    ]
    for secret in SECRETS:
        assert secret not in raw.lower(), secret
    assert len(raw) == src.stat().st_size

    # Every sample byte is the original's; only the annotation signal changed.
    data, notes = _data_bytes(out)
    data_in, notes_in = _data_bytes(src)
    assert data == data_in
    assert notes != notes_in
    # The machine's annotations stay with their onsets and durations, typed ones go.
    before = _annotations(src)
    kept = _annotations(out)
    assert kept == [a for a in before if not _typed(a[2])]
    assert len(kept) == len(before) - len(TYPED) - 1
    kinds = {a[2].split()[0] for a in kept}
    assert {"stim", "spike", "burst", "alarm", "LSR", "setting:"} <= kinds
    assert any(re.match(r"LSR #\d+: ", a[2]) for a in kept)
    assert f"annotations: {len(kept)} kept" in said and f"{len(TYPED) + 1} removed" in said
    # Record times (the time-keeping TAL of every record) are those of the original.
    assert np.array_equal(copy.read_annotations()[1], original.read_annotations()[1])
    original.close()
    copy.close()

    # Other readers open it and see the same.
    r = pyedflib.EdfReader(str(out))
    try:
        assert r.getPatientName() in ("", "X")
        # The copy keeps the start's fraction of a second (pyedflib rounds it oddly).
        assert r.getStartdatetime().replace(microsecond=0) == new
        assert r.datarecords_in_file == EdfFile(src).n_records
        assert len(r.readAnnotations()[0]) == len(kept)
    finally:
        r.close()
    e = _quiet_edfio(out)
    assert e.patient.name == "X" and e.recording.equipment_code == "Facial_Nerve_Monitor"
    assert e.startdate == new.date()
    assert sorted(a.text for a in e.annotations) == sorted(a[2] for a in kept)
    replay = ReplaySource(out, realtime=False)
    replay.open()
    stims = [m for m in replay.annotations if not hasattr(m, "text")]
    assert len(stims) == sum(a[2].startswith("stim") for a in kept)
    replay.close()


def test_the_default_shift_is_random_reported_and_within_its_range(recorded, tmp_path, capsys):
    out = tmp_path / "copy.edf"
    status, said, _ = _run(capsys, recorded, "--out", out)
    assert status == 0
    days = int(re.search(r"moved (\d+) days earlier", said).group(1))
    assert 365 <= days <= 3650
    assert "drawn at random" in said
    assert EdfFile(out).start_datetime == EdfFile(recorded).start_datetime - dt.timedelta(days)
    assert str(days).encode() not in out.read_bytes()[:256]
    # Near 1985 (EDF's first year) the shift goes the other way rather than out of range.
    draws = {deid.random_shift(dt.date(1985, 6, 1)) for _ in range(200)}
    assert all(-3650 <= d <= -365 for d in draws) and len(draws) > 100
    draws = {deid.random_shift(dt.date(1986, 6, 1)) for _ in range(200)}
    assert all(365 <= d <= 516 for d in draws) and len(draws) > 50


def test_an_edfio_file_with_notes_in_other_words(tmp_path, capsys):
    """A file from other software: its own annotations go, even those that look close."""
    src = tmp_path / "other.edf"
    t = np.arange(2000) / 1000
    notes = [
        (0.5, None, "stim 10 mA 0.2 ms zygomatic"),
        (0.7, 0.1, "spike EMG R 120 uV"),
        (0.9, None, "Lights off"),
        (1.0, None, "Frau Müller ängstlich"),  # UTF-8
        (1.2, None, "spike Smith 120 uV"),
        (1.3, None, "stim John"),
        (1.5, None, "Recording starts"),
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        edfio.Edf(
            [edfio.EdfSignal(50 * np.sin(40 * t), 1000, label="EMG R", physical_dimension="uV")],
            patient=edfio.Patient(
                code="MCH-0234567", sex="M", birthdate=dt.date(1951, 8, 2), name="Smith_John"
            ),
            recording=edfio.Recording(
                startdate=dt.date(2024, 3, 2),
                hospital_administration_code="PSG-1234/2002",
                investigator_technician_code="Jones",
                equipment_code="Telemetry03",
            ),
            starttime=dt.time(9, 30, 5),
            annotations=[edfio.EdfAnnotation(*n) for n in notes],
        ).write(src)
    out = tmp_path / "copy.edf"
    status, _, err = _run(capsys, src, "--out", out, "--shift-days", -30)
    assert status == 0, err
    e = _quiet_edfio(out)
    assert (e.startdate, e.starttime) == (dt.date(2024, 4, 1), dt.time(9, 30, 5))
    assert e.patient.code == "X" and e.patient.name == "X"
    assert e.recording.investigator_technician_code == "X"
    assert e.recording.equipment_code == "Telemetry03"
    assert [(a.onset, a.text) for a in e.annotations] == [
        (0.5, "stim 10 mA 0.2 ms zygomatic"),
        (0.7, "spike EMG R 120 uV"),
    ]
    assert e.annotations[1].duration == pytest.approx(0.1)
    raw = out.read_bytes().lower()
    assert not any(s in raw for s in SECRETS) and "müller".encode() not in raw
    assert _data_bytes(out)[0] == _data_bytes(src)[0]


# -- TALs, several annotation signals, EDF+D, plain EDF ------------------------------------
def _raw_edf(path: Path, records, plus: str = "EDF+D", patient: str = PATIENT) -> None:
    """A tiny hand-made EDF: one data signal of 4 samples and two annotation signals of
    40 bytes; ``records`` holds (samples, first annotation bytes, second annotation bytes)."""
    labels = ["EMG", "EDF Annotations", "EDF Annotations"]
    spr = [4, 20, 20]
    head = (
        b"0       "
        + patient.encode().ljust(80)
        + b"Startdate 02-MAR-2002 PSG-1234/2002 Jones Telemetry03".ljust(80)
        + b"02.03.0210.11.12"
        + b"1024    "
        + plus.encode().ljust(44)
        + str(len(records)).encode().ljust(8)
        + b"1       "
        + b"3   "
    )
    cols = [
        [x.encode().ljust(16) for x in labels],
        [b" " * 80] * 3,
        [b"uV      ", b" " * 8, b" " * 8],
        [b"-3276.8 ", b"-1      ", b"-1      "],
        [b"3276.7  ", b"1       ", b"1       "],
        [b"-32768  "] * 3,
        [b"32767   "] * 3,
        [b" " * 80] * 3,
        [str(n).encode().ljust(8) for n in spr],
        [b"tech Jones".ljust(32)] * 3,
    ]
    body = b"".join(
        np.asarray(s, "<i2").tobytes() + a.ljust(40, b"\x00") + b.ljust(40, b"\x00")
        for s, a, b in records
    )
    path.write_bytes(head + b"".join(b"".join(c) for c in cols) + body)


def test_tals_in_two_annotation_signals_of_an_edf_plus_d_file(tmp_path, capsys):
    src = tmp_path / "d.edf"
    records = [
        (
            [1, -2, 3, -4],
            b"+0\x14\x14note Smith\x14\x00",
            b"+0.5\x150.2\x14spike EMG 50 uV\x14\x00",
        ),
        ([5, 6, 7, 8], b"+10\x14\x14\x00+10.25\x14Smith\x14gap 3 samples\x14\x00", b""),
        ([9, 9, 9, 9], b"+20.5\x14\x14\x00", b"Smith\x14\x00+21\x14stim 5 mA\x14\x00"),
    ]
    _raw_edf(src, records)
    out = tmp_path / "copy.edf"
    status, said, err = _run(capsys, src, "--out", out, "--shift-days", 1)
    assert status == 0, err
    _, (first, second) = _data_bytes(out)
    cut = [first[k * 40 : (k + 1) * 40] for k in range(3)]
    assert cut == [
        b"+0\x14\x14\x00".ljust(40, b"\x00"),  # the time stamp stays, its note goes
        b"+10\x14\x14\x00+10.25\x14gap 3 samples\x14\x00".ljust(40, b"\x00"),
        b"+20.5\x14\x14\x00".ljust(40, b"\x00"),
    ]
    assert [second[k * 40 : (k + 1) * 40].rstrip(b"\x00") for k in range(3)] == [
        b"+0.5\x150.2\x14spike EMG 50 uV\x14",
        b"",
        b"+21\x14stim 5 mA\x14",  # a piece that is not a TAL goes
    ]
    assert "3 kept" in said and "3 removed" in said
    f = EdfFile(out)
    assert f.format == "EDF+D" and list(f.read_annotations()[1]) == [0, 10, 20.5]
    raw = out.read_bytes()
    assert b"Smith" not in raw and b"Jones" not in raw
    assert raw[168:176] == b"01.03.02"
    assert raw[256 + 3 * 224 : 256 + 3 * 256] == b" " * 96  # the signals' reserved fields


def test_a_plain_edf_gets_x_in_both_fields(tmp_path, capsys):
    src = tmp_path / "plain.edf"
    _raw_edf(src, [([1, 2, 3, 4], b"", b"")], plus="", patient="John Smith born 1951")
    out = tmp_path / "copy.edf"
    assert _run(capsys, src, "--out", out, "--shift-days", 366)[0] == 0
    raw = out.read_bytes()
    assert raw[8:168] == b"X".ljust(80) * 2 and raw[168:176] == b"01.03.01"
    assert EdfFile(out).format == "EDF"


def test_which_texts_are_the_monitors_own():
    policy = TextPolicy(["L Orb. oculi", "L Mentalis"], {"Jones"})
    keep = [
        stim_text(15, 0.2, "zygomatic"),
        stim_text(float("nan"), float("nan"), "detected artifact"),
        "A-train L Orb. oculi 111 Hz 244 uV",
        "alarm Medium acknowledged: A-train on L Orb. oculi at 111 Hz",
        "alarm High active: Train time L Mentalis: 10.2 s — over 10 s, risk of facial palsy",
        "alarm Medium active: L Mentalis: flat signal — check the electrode (lead off?)",
        "alarm High active: No signal: no data from the amplifier on /dev/ttyACM0 for 0.4 s. "
        "Trying to reconnect…",
        "LSR disappeared: absent on L Orb. oculi, L Mentalis on 5 consecutive sweeps at 15 mA, "
        "since 00:00:09.",
        "Z-L response reappeared: L Mentalis 80 µV at 9.5 ms (gone since 0:41).",
        "LSR #12: L Mentalis 230 uV 10.2 ms, L Orb. oculi not judged (spontaneous activity)",
        "EMG #3: L Mentalis absent",
        "setting: filter 20 Hz – 3000 Hz -> 30 Hz – 3000 Hz, notch 50 Hz",
        "setting: detection threshold adaptive 5 x noise (at least 20 uV) -> fixed 100 uV",
        "setting: train-time thresholds 0.5/10 s -> 1/8 s",
        "gap 300 samples",
        "recording end (padding follows)",
        "truth: a_train L Mentalis 140 Hz 219 uV",
    ]
    remove = [
        "note: anything",
        "spike L Orb. oculi Smith 50 uV",
        "spike L Nasalis 50 uV",  # not a channel of this file
        "stim 15 mA Jones",
        "stim 15 mA JONES",
        "Stim 15 mA",
        "stimulated by Smith",
        "alarm High active: Recording stopped: the folder /media/smith cannot be written to",
        "decompression: LSR gone from here",
        "setting: train time reset on L Mentalis (was 3.2 s): Mrs Smith moved",
        "EMG of Mrs Smith",
        "",
    ]
    assert [t for t in keep if not policy.keeps(t)] == []
    assert [t for t in remove if policy.keeps(t)] == []


# -- files cut short ------------------------------------------------------------------------
@pytest.mark.parametrize("count", ["-1", "38"])
def test_a_file_cut_short_gives_its_whole_records(recorded, tmp_path, capsys, count):
    """A crashed recording: a partial last record, and a header count of -1 (older
    writers) or one record ahead of the data (ours, killed between two writes)."""
    src = tmp_path / "cut.edf"
    f = EdfFile(recorded)
    whole = 37
    src.write_bytes(recorded.read_bytes()[: f.header_bytes + whole * f.record_bytes + 100])
    f.close()
    _set_field(src, 236, 8, count)
    out = tmp_path / "copy.edf"
    status, said, err = _run(capsys, src, "--out", out, "--shift-days", 400)
    assert status == 0, err
    assert "data records" in said.split("note:")[1] and f"the {whole} complete" in said
    r = pyedflib.EdfReader(str(out))
    assert r.datarecords_in_file == whole
    r.close()
    assert _data_bytes(out)[0] == _data_bytes(recorded, whole)[0]


# -- refusals -------------------------------------------------------------------------------
def _refused(capsys, folder: Path, *argv, status: int = 2) -> str:
    before = set(folder.iterdir())
    got, out, err = _run(capsys, *argv)
    assert got == status
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("error: ") and "Traceback" not in err
    assert set(folder.iterdir()) == before  # no copy, no temporary file
    return err


def test_bad_input_and_bad_output_are_refused_in_one_line(recorded, tmp_path, capsys):
    text = tmp_path / "notes.edf"
    text.write_text("Patient: John Smith\n" * 40)
    out = tmp_path / "copy.edf"
    err = _refused(capsys, tmp_path, text, "--out", out)
    assert "is not an EDF or BDF file" in err
    assert "does not exist" in _refused(capsys, tmp_path, tmp_path / "none.edf", "--out", out)
    same = tmp_path / "sub" / ".." / "case.edf"
    (tmp_path / "sub").mkdir()
    local = tmp_path / "case.edf"
    local.write_bytes(recorded.read_bytes())
    err = _refused(capsys, tmp_path, local, "--out", same)
    assert "the output is the recording itself" in err
    assert local.read_bytes() == recorded.read_bytes()
    err = _refused(capsys, tmp_path, local, "--out", tmp_path / "missing" / "c.edf")
    assert "folder" in err and "does not exist" in err
    assert "is a folder" in _refused(capsys, tmp_path, local, "--out", tmp_path / "sub")
    err = _refused(capsys, tmp_path, local, "--out", out, "--shift-days", 20000)
    assert "1985 to 2084" in err
    out.write_bytes(b"keep me")
    assert "already exists" in _refused(capsys, tmp_path, local, "--out", out)
    assert out.read_bytes() == b"keep me"
    assert _run(capsys, local, "--out", out, "--overwrite")[0] == 0
    assert EdfFile(out).n_records == EdfFile(local).n_records


def test_an_unwritable_folder_is_refused(recorded, tmp_path, capsys, monkeypatch):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    if os.geteuid() == 0:  # root writes anyway: the folder refuses as a read-only disk would

        def read_only(*args, **kwargs):
            raise PermissionError(13, "Permission denied")

        monkeypatch.setattr(deid.tempfile, "mkstemp", read_only)
    try:
        err = _refused(capsys, folder, recorded, "--out", folder / "c.edf")
        assert f"the folder {folder} cannot be written to" in err
    finally:
        folder.chmod(0o700)


def test_a_failure_while_writing_leaves_nothing_half_written(
    recorded, tmp_path, capsys, monkeypatch
):
    out = tmp_path / "copy.edf"
    out.write_bytes(b"the previous copy")

    def full_disk(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(deid, "_copy_records", full_disk)
    err = _refused(capsys, tmp_path, recorded, "--out", out, "--overwrite", status=1)
    assert "No space left on device" in err
    assert out.read_bytes() == b"the previous copy"


# -- the shared third-party files -----------------------------------------------------------
def _opens(path: Path) -> dict[str, bool]:
    said = {}
    try:
        src = ReplaySource(path, realtime=False)
        src.open()
        src.close()
        said["replay"] = True
    except Exception:
        said["replay"] = False
    try:
        r = pyedflib.EdfReader(str(path))
        r.readAnnotations()
        r.close()
        said["pyedflib"] = True
    except Exception:
        said["pyedflib"] = False
    try:
        _quiet_edfio(path).annotations  # noqa: B018 - reading them is the test
        said["edfio"] = True
    except Exception:
        said["edfio"] = False
    return said


def test_every_shared_file_gives_a_copy_that_opens_where_it_did(shared_data, tmp_path):
    files = sorted(p for p in EDF_DIR.rglob("*") if p.suffix.lower() in (".edf", ".bdf"))
    assert files
    problems = []
    for path in files:
        name = str(path.relative_to(EDF_DIR))
        out = tmp_path / name.replace("/", "_")
        result = deid.deidentify_file(path, out, shift_days=500)
        before, after = _opens(path), _opens(out)
        lost = [reader for reader, ok in before.items() if ok and not after[reader]]
        if lost:
            problems.append(f"{name}: no longer opens in {lost}")
        if _data_bytes(out)[0] != _data_bytes(path)[0]:
            problems.append(f"{name}: samples changed")
        plus = "+" in result.format
        if out.read_bytes()[8:88].strip() != (b"X X X X" if plus else b"X"):
            problems.append(f"{name}: patient field not blank")
        kept = _annotations(out)
        if not set(kept) <= set(_annotations(path)):
            problems.append(f"{name}: annotations moved or changed")
        f, g = EdfFile(path), EdfFile(out)
        if f.start_datetime and g.start_datetime != f.start_datetime - dt.timedelta(500):
            problems.append(f"{name}: start {g.start_datetime} for {f.start_datetime}")
    assert problems == []


# -- damaged recordings: a copy or one line, the input never changed ------------------------
def test_a_tal_not_closed_is_removed_and_the_rest_still_fits():
    """An annotation signal that ends inside a TAL (no closing 20 0 bytes) made the
    filter write more bytes than it read (an assertion failed: a traceback)."""
    policy = TextPolicy(["EMG"], set())
    for raw in (b"+0\x14\x14\x00+1\x14gap 3 samples", b"+0\x14\x14\x00+1\x14gap 3 samples\x14"):
        new, kept, removed = deid.filter_tals(raw, True, policy)
        assert new == b"+0\x14\x14\x00".ljust(len(raw), b"\x00") and (kept, removed) == (0, 1)
    raw = b"+0\x14\x14\x00+1\x14gap 3 samples\x14\x00\x00"  # closed: kept
    assert deid.filter_tals(raw, True, policy) == (raw, 1, 0)


def test_an_unreadable_start_time_gives_a_copy_that_opens(tmp_path, capsys):
    src = tmp_path / "t.edf"
    _small_recording(src)
    _set_field(src, 176, 8, "25.61.99")
    before = src.read_bytes()
    out = tmp_path / "copy.edf"
    status, said, err = _run(capsys, src, "--out", out, "--shift-days", 400)
    assert status == 0, err
    assert "note: The start time could not be read; the copy says 00.00.00." in said
    assert out.read_bytes()[176:184] == b"00.00.00" and EdfFile(out).notes == []
    assert src.read_bytes() == before


def test_a_pipe_is_refused_without_waiting_for_it(tmp_path, capsys):
    pipe = tmp_path / "pipe.edf"
    os.mkfifo(pipe)
    result = []
    worker = threading.Thread(
        target=lambda: result.append(
            main.main(["deidentify", str(pipe), "--out", str(tmp_path / "c")])
        ),
        daemon=True,
    )
    worker.start()
    worker.join(10)
    if worker.is_alive():  # it waits to read the pipe: let it go before failing
        os.close(os.open(pipe, os.O_WRONLY | os.O_NONBLOCK))
        worker.join(10)
        pytest.fail("deidentify waited for a pipe")
    assert result == [2]
    assert capsys.readouterr().err == f"error: {pipe} is not a recording file.\n"


def _small_recording(path: Path) -> None:
    """A 1 s EDF+C recording with a patient, machine annotations and typed notes."""
    w = EdfWriter(path, 2000.0, ["EMG R", "EMG L"], annotation_bytes=128, patient=PATIENT)
    for k in range(10):
        w.annotate(k * 0.1 + 0.01, "stim 15 mA 0.2 ms zygomatic" if k % 2 else "note: Smith")
    w.write(np.random.default_rng(0).normal(0, 100, (2000, 2)))
    w.close()


@functools.cache
def _small() -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "s.edf"
        _small_recording(path)
        return path.read_bytes()


def _header_fields(ns: int) -> list[tuple[int, int]]:
    out = [(8, 80), (88, 80), (168, 8), (176, 8), (184, 8), (192, 44), (236, 8), (244, 8)]
    out.append((252, 4))
    base = 256
    for width in (16, 80, 8, 8, 8, 8, 8, 80, 8, 32):
        out += [(base + i * width, width) for i in range(ns)]
        base += width * ns
    return out


NASTY = ["", "0", "-1", "-2", "99999999", "1e3", "abc", "nan", "inf", "-inf", "1 2", "+5", "1e308"]
TAL_BITS = [b"+1\x14", b"+0.5\x150.1\x14", b"-", b".5", b"\x14", b"\x15", b"\x00", b"gap 3 samples"]
TAL_BITS += [b"Smith", b"stim 15 mA"]


@st.composite
def damaged_recordings(draw) -> bytes:
    data = bytearray(_small())
    header, ns = 256 * 4, 3
    for _ in range(draw(st.integers(0, 2))):  # header fields
        offset, width = draw(st.sampled_from(_header_fields(ns)))
        text = draw(st.one_of(st.sampled_from(NASTY), st.text(max_size=width)))
        data[offset : offset + width] = text.encode("utf-8")[:width].ljust(width)
    record = (len(data) - header) // 10
    for _ in range(draw(st.integers(0, 3))):  # garbage in the annotation signal
        piece = b"".join(draw(st.lists(st.sampled_from(TAL_BITS), min_size=1, max_size=6)))
        end = header + draw(st.integers(1, 10)) * record  # where an annotation signal ends
        if draw(st.booleans()):  # a full annotation signal, up to its last byte
            piece = (piece * 128)[-128:]
        at = draw(st.sampled_from([end - len(piece), end - 128 + draw(st.integers(0, 127))]))
        data[at : at + len(piece)] = piece
    data = data[: header + 10 * record]  # the garbage stays inside the annotation signal
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    return bytes(data)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(damaged_recordings())
def test_any_damaged_recording_gives_a_copy_or_one_line(data):
    with tempfile.TemporaryDirectory() as folder:
        src, out = Path(folder) / "case.edf", Path(folder) / "copy.edf"
        src.write_bytes(data)
        said, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(said), contextlib.redirect_stderr(err):
            status = main.main(["deidentify", str(src), "--out", str(out), "--shift-days", "400"])
        assert src.read_bytes() == data
        if status == 0:
            event("copied")
            assert err.getvalue() == "" and said.getvalue().startswith(f"Wrote {out}")
            assert _data_bytes(out)[0] == _data_bytes(src, EdfFile(out).n_records)[0]
            assert sorted(p.name for p in Path(folder).iterdir()) == ["case.edf", "copy.edf"]
        else:
            event("refused")
            assert said.getvalue() == "" and err.getvalue().count("\n") == 1
            assert err.getvalue().startswith("error: ") and "Traceback" not in err.getvalue()
            assert [p.name for p in Path(folder).iterdir()] == ["case.edf"]


def test_a_file_name_the_terminal_cannot_show_is_no_traceback(tmp_path, monkeypatch):
    src = tmp_path / os.fsdecode(b"\xff-case.edf")  # not UTF-8: Python keeps it as-is
    _small_recording(src)
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    monkeypatch.setattr("sys.stdout", out)
    copy = tmp_path / os.fsdecode(b"\xfe-copy.edf")
    assert main.main(["deidentify", str(src), "--out", str(copy), "--shift-days", "400"]) == 0
    out.seek(0)
    assert out.read().startswith(f"Wrote {tmp_path}/?-copy.edf (EDF+C")
