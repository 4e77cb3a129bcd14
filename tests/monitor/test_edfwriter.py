"""The crash-safe EDF+C/BDF+C writer: exact samples and every annotation in three readers
(a file cut at any byte, and ``recover``: ``test_recover.py``)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from drivers.edfreader import EdfFile
from monitor.edfwriter import EdfWriteError, EdfWriter, unique_labels

RATE = 2000.0
LABELS = ("L Orb. oculi", "L Orb. oculi", "L Mentalis with a very long label")
#: A start with a fraction of a second: the header holds 09:30:05, the first record's
#: time-keeping TAL +0.375, and every onset in the file counts from 09:30:05.
START = dt.datetime(2026, 11, 25, 9, 30, 5, 375000)


def _signal(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 200, (n, len(LABELS)))
    x[::97, 0] = 3000.0  # big spikes, still in range
    return x.astype(np.float32)


def _write(path, bits, x, gap_at=None, gap=0, notes=()):
    w = EdfWriter(
        path, RATE, LABELS, bits=bits, annotation_bytes=128, case_id="case 17", start=START
    )
    if gap_at is None:
        w.write(x)
    else:
        w.write(x[:gap_at])
        w.write_gap(gap)
        w.write(x[gap_at + gap :])
    for onset, text in notes:
        w.annotate(onset, text)
    w.close()
    return w


def _expected(x, gap_at, gap):
    ref = x.astype(np.float64)
    if gap_at is not None:
        ref[gap_at : gap_at + gap] = 0.0
    return ref


def _read_ours(path):
    """The file, its samples, its annotations and record onsets in seconds after the first
    sample (our reader gives them as written: after the header's whole second)."""
    f = EdfFile(path)
    rows = f.read_records(0, f.n_records)
    data = np.stack([f.physical(rows, s) for s in f.signals if not s.is_annotation], 1)
    notes, onsets = f.read_annotations()
    f.close()
    first = onsets[0]
    assert 0 <= first < 1  # EDF+: the fraction of the header's second
    return f, data, [(round(a.onset_s - first, 6), a.text) for a in notes], onsets - first


@pytest.mark.parametrize("bits", [16, 24])
def test_samples_and_annotations_read_back_in_three_readers(tmp_path, bits):
    edfio = pytest.importorskip("edfio")
    pyedflib = pytest.importorskip("pyedflib")
    path = tmp_path / ("r.bdf" if bits == 24 else "r.edf")
    x = _signal(5123)
    # 60 annotations within 0.05 s: far more than one record's 128 bytes hold -> carried over
    notes = [(0.2 + k * 0.001, f"note {k} µV") for k in range(50)]
    notes += [(1.0, "stim 15 mA 0.2 ms zygomatic"), (2.5617, "after the last sample")]
    w = _write(path, bits, x, gap_at=1000, gap=300, notes=notes)
    ref = _expected(x, 1000, 300)
    want = sorted(
        [(round(o, 6), t) for o, t in notes]
        + [(0.5, "gap 300 samples"), (round(5123 / RATE, 6), "recording end (padding follows)")]
    )
    tol = w.gain / 2 + 1e-6

    f, data, got, onsets = _read_ours(path)
    assert f.format == ("BDF+C" if bits == 24 else "EDF+C") and not f.notes
    assert f.start_datetime == START.replace(microsecond=0)
    assert [s.label for s in f.signals][:3] == [
        "L Orb. oculi",
        "L Orb. oculi 2",
        "L Mentalis with a very long label",
    ]
    assert [s.header_label for s in f.signals] == [
        "EMG L OOc",
        "EMG L OOc 2",
        "EMG L Ment wit a",
        "BDF Annotations" if bits == 24 else "EDF Annotations",
    ]
    assert np.abs(data[:5123] - ref).max() <= tol
    assert np.all(data[5123:] == 0.0)  # padding of the last record
    assert sorted(got) == want
    assert np.allclose(onsets, np.arange(len(onsets)) * w.record_seconds)

    e = (edfio.read_bdf if bits == 24 else edfio.read_edf)(path)
    assert e.starttime == START.time()
    for ch in range(3):
        assert np.abs(e.signals[ch].data[:5123] - ref[:, ch]).max() <= tol
    assert sorted((round(a.onset, 6), a.text) for a in e.annotations) == want
    assert e.annotations[0].text.startswith("note")

    r = pyedflib.EdfReader(str(path))
    try:
        assert r.starttime_subsecond == 3_750_000  # in 100 ns, as EDFlib counts
        for ch in range(3):
            assert np.abs(r.readSignal(ch)[:5123] - ref[:, ch]).max() <= tol
        onset, _, text = r.readAnnotations()
        assert sorted(zip(np.round(onset, 6), text, strict=True)) == want
        assert r.getPatientCode() in ("X", "")
    finally:
        r.close()


def test_labels_and_header_fields(tmp_path):
    labels = unique_labels(["EDF Annotations", "a", "A", "Ch µV"])
    assert labels == ["EDF Annotation 2", "a", "A 2", "Ch uV"]
    path = tmp_path / "h.edf"
    w = EdfWriter(
        path,
        9765.625,
        ["EDF Annotations", "a", "A", "Ch µV", ""],
        record_seconds=0.128,
        case_id="OR 3 case",
        prefilter="HP:20Hz LP:3000Hz N:off",
    )
    assert w.labels == ["EMG EDF Annotati", "EMG a", "EMG A 2", "EMG Ch uV", "EMG Ch5"]
    assert w.transducers == ["EDF Annotations", "a", "A 2", "Ch uV", "Ch5"]
    w.close()
    f = EdfFile(path)
    assert [s.label for s in f.signals] == [*w.transducers, "EDF Annotations"]
    assert [s.is_annotation for s in f.signals] == [False] * 5 + [True]
    assert [s.prefilter for s in f.signals] == ["HP:20Hz LP:3000Hz N:off"] * 5 + [""]
    f.close()
    with pytest.raises(EdfWriteError, match="prefilter"):
        EdfWriter(tmp_path / "p.edf", 1000.0, ["A"], prefilter="HP:1Hz " * 20)
    head = path.read_bytes()[:256].decode("ascii")
    assert head[8:88].strip() == "X X X X"
    assert head[88:168].split()[0] == "Startdate" and head[88:168].split()[2] == "OR_3_case"
    assert head[192:197] == "EDF+C" and head[236:244].strip() == "0"
    with pytest.raises(EdfWriteError):
        EdfWriter(tmp_path / "x.edf", 1000.01, ["A"])


@pytest.mark.parametrize("bits", [16, 24])
def test_a_huge_gap_costs_one_record_not_the_disk(tmp_path, bits):
    """A source whose index jumps by 10⁶ s (a counter glitch, an EDF+D file replayed) must
    not write 10⁶ s of zeros: the file turns EDF+D and the signal after the gap keeps its
    true time."""
    from drivers.replay import ReplaySource

    path = tmp_path / ("g.bdf" if bits == 24 else "g.edf")
    x = _signal(3 * int(RATE) + 123)
    gap = int(1e6 * RATE)
    w = EdfWriter(path, RATE, LABELS, bits=bits)
    w.write(x[:1500])  # 0.75 s: the gap starts inside a record
    w.write_gap(gap)
    w.write(x[1500:])
    w.annotate(w.time_s, "after the gap")
    w.close()
    assert path.stat().st_size < 200_000
    f, data, notes, onsets = _read_ours(path)
    assert f.discontinuous and f.format.endswith("+D")
    assert (0.75, f"gap {gap} samples") in notes
    after = 1500 + gap
    assert (round((after + len(x) - 1500) / RATE, 6), "after the gap") in notes
    # Records after the gap start at their true time (0.1 s records: 7 whole, 1 padded).
    assert onsets[7] == pytest.approx(0.7) and onsets[8] == pytest.approx(after / RATE)
    np.testing.assert_allclose(data[:1500], x[:1500], atol=0.2 if bits == 16 else 0.01)
    # The replay puts the samples after the gap at their stream index.
    src = ReplaySource(path, realtime=False)
    src.open()
    got = {}
    from monitor.source import EndOfStream

    try:
        while True:
            b = src.read()
            if b is not None:
                got[b.start] = b.data
    except EndOfStream:
        pass
    src.close()
    assert [g.n_missing for g in src.gaps] == [after - 1600]  # the padding is in the gap
    tail = np.concatenate([got[k] for k in sorted(got) if k >= after])
    np.testing.assert_allclose(tail[: len(x) - 1500], x[1500:], atol=0.2 if bits == 16 else 0.01)


def test_a_gap_up_to_the_limit_stays_edf_c_with_zeros(tmp_path):
    from monitor.edfwriter import MAX_FILLED_GAP_S

    path = tmp_path / "z.edf"
    x = _signal(4000)
    gap = int(MAX_FILLED_GAP_S * RATE)
    _write(path, 16, x, gap_at=1000, gap=gap)
    f, data, notes, _ = _read_ours(path)
    assert not f.discontinuous
    assert np.all(data[1000 : 1000 + gap] == 0)
    assert (0.5, f"gap {gap} samples") in notes


def test_record_times_stay_exact_over_a_long_case(tmp_path):
    """Record onsets summed as floats drifted: after 6 h 18 min of 0.1 s records the
    time-keeping TAL read +22711.2999999 instead of +22711.3, and pyedflib (which checks
    EDF+C onsets exactly) refused the file. A start with a fraction of a second (every
    onset offset by it) keeps them exact too."""
    path = tmp_path / "long.edf"
    n = 227_200  # 10 Hz, one sample per 0.1 s record: 6 h 18 min
    start = START.replace(microsecond=123457)
    with EdfWriter(path, 10.0, ["A"], annotation_bytes=64, fsync_interval_s=3600, start=start) as w:
        assert w.record_seconds == 0.1
        w.write(np.zeros((n, 1)))
    f = EdfFile(path)
    _, onsets = f.read_annotations()
    f.close()
    k = np.arange(len(onsets))
    assert np.abs(onsets - 0.123457 - k * 0.1).max() < 5e-8
    pyedflib = pytest.importorskip("pyedflib")
    reader = pyedflib.EdfReader(str(path))
    assert reader.datarecords_in_file == n
    reader.close()
