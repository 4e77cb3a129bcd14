"""ReplaySource: every third-party EDF/BDF file, EDF+D gaps, markers, units, faults, pacing."""

from __future__ import annotations

import itertools
import math
import threading
import time
import warnings
from pathlib import Path

import edfio
import numpy as np
import pytest

from drivers.replay import (
    ReplaySource,
    is_trigger_label,
    microvolts_per_unit,
    parse_stim,
)
from monitor.block import Block, NoteMarker
from monitor.source import EndOfStream, SourceError

EDF_DIR = Path(__file__).resolve().parents[3] / "shared" / "data" / "edf"

# Every file in shared/data/edf: (rate, channels) it plays with, or the error it gives.
EXPECTED: dict[str, tuple[float, int] | str] = {
    "edfReader_cran/bdfPlusC.bdf": (200, 11),
    "edfReader_cran/edfAnnonC.edf": (30000, 1),
    "edfReader_cran/edfPlusC.edf": (200, 11),
    "edfReader_cran/edfPlusD.edf": (200, 11),
    "edfio/SC4001EC-Hypnogram.edf": "it holds only annotations, no signal to play.",
    "edfio/short_psg.bdf": (100, 3),
    "edfio/short_psg.edf": (100, 3),
    "edfio/test_subsecond.bdf": (128, 1),
    "mne_python/duplicate_channel_labels.edf": (250, 3),
    "mne_python/test.bdf": (2048, 73),
    "mne_python/test.edf": (512, 139),
    "mne_python/test_bdf_stim_channel.bdf": (500, 4),
    "mne_python/test_edf_stim_channel.edf": (128, 25),
    "mne_python/test_stim_channel.edf": (200, 2),
    "mne_python/test_uneven_samp.edf": (100, 1),
    "mne_testing_data/MB0400FU.EDF": (200, 25),
    "mne_testing_data/chtypes_edf.edf": (200, 42),
    "mne_testing_data/multiple_annotation_chans.bdf": (125, 18),
    "mne_testing_data/subsecond_starttime.edf": (512, 3),
    "mne_testing_data/test_edf_overlapping_annotations.edf": (128, 64),
    "mne_testing_data/test_utf8_annotations.edf": (200, 11),
    "pyedflib/test_generator.bdf": (1000, 1),
    "pyedflib/test_generator_datarec_generator_0_5.bdf": (2000, 1),
    "pyedflib/test_generator_datarec_generator_2.bdf": (500, 1),
    "pyedflib/test_legacy.edf": (200, 11),
    "pyedflib/test_subsecond.edf": (128, 1),
    "pyedflib/test_utf8.edf": (128, 1),
    "wfdb/test_edfann.edf": "it holds only annotations, no signal to play.",
    "wfdb/test_generator_2.edf": (200, 11),
}
EDFPLUSD_GAPS = [(200, 200), (600, 200), (2000, 400), (2600, 400), (3200, 600)]


def play(src: ReplaySource) -> list[Block]:
    """Read every block of an opened source, then close it."""
    blocks = []
    with pytest.raises(EndOfStream):
        while True:
            block = src.read()
            if block is not None:
                blocks.append(block)
    src.close()
    return blocks


def opened(path: Path | str, **kwargs: object) -> ReplaySource:
    src = ReplaySource(path, **kwargs)
    src.open()
    return src


def stitched(blocks: list[Block]) -> tuple[np.ndarray, np.ndarray]:
    """All samples and their absolute indices; checks that blocks follow each other."""
    stop = blocks[0].start
    for b in blocks:
        assert b.start == stop + sum(g.n_missing for g in b.gaps)
        assert all(g.index == stop for g in b.gaps)
        stop = b.stop
    data = np.concatenate([b.data for b in blocks])
    index = np.concatenate([np.arange(b.start, b.stop) for b in blocks])
    return data, index


def write_edf(path: Path, signals: list[edfio.EdfSignal], notes=(), duration: float = 1) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        edfio.Edf(
            signals,
            annotations=[edfio.EdfAnnotation(*n) for n in notes] or None,
            data_record_duration=duration,
        ).write(path)
    return path


def emg(seconds: float = 10, rate: float = 1000, unit: str = "uV", label: str = "EMG"):
    t = np.arange(round(seconds * rate)) / rate
    return edfio.EdfSignal(
        100 * np.sin(2 * np.pi * 7 * t), rate, label=label, physical_dimension=unit
    )


def reference(path: Path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return edfio.read_bdf(path) if path.suffix.lower() == ".bdf" else edfio.read_edf(path)


# -- the shared third-party files -------------------------------------------------------


def test_every_shared_file_has_an_expectation(shared_data: Path) -> None:
    found = {
        str(p.relative_to(EDF_DIR))
        for p in EDF_DIR.rglob("*")
        if p.suffix.lower() in (".edf", ".bdf")
    }
    assert found == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_shared_file_plays_or_is_rejected_clearly(shared_data: Path, name: str) -> None:
    path = EDF_DIR / name
    expected = EXPECTED[name]
    src = ReplaySource(path, realtime=False)
    if isinstance(expected, str):
        with pytest.raises(SourceError) as err:
            src.open()
        assert str(err.value) == f"Cannot replay {path.name}: {expected}"
        return
    src.open()
    rate, n_channels = expected
    assert src.info.rate == rate
    assert src.info.n_channels == n_channels
    assert src.info.kind == "replay" and src.info.name == path.name
    assert len(set(src.info.labels)) == n_channels
    blocks = play(src)
    data, _ = stitched(blocks)
    assert data.dtype == np.float32 and data.shape[1] == n_channels
    assert blocks[-1].stop == round(src.duration_s * rate)

    # The same samples as edfio reads, in µV, channel by channel.
    ref = reference(path)
    played = [s for s in ref.signals if s.sampling_frequency == rate]
    played = [s for s in played if not is_trigger_label(s.label)]
    assert len(played) == n_channels
    assert len(data) == len(played[0].data)  # every sample, none invented (gaps excluded)
    for j, sig in enumerate(played):
        factor = microvolts_per_unit(sig.physical_dimension) or 1.0
        full_scale = max(abs(sig.physical_min), abs(sig.physical_max)) * factor
        np.testing.assert_allclose(
            data[:, j], sig.data * factor, rtol=0, atol=2e-6 * full_scale + 1e-9
        )

    # Every annotation reaches the timeline; those inside the recording reach a block.
    notes = [(m.text, m.index) for m in src.annotations if isinstance(m, NoteMarker)]
    ref_notes = [a.text for a in ref.annotations if not a.text.lower().startswith("stim")]
    assert sorted(t for t, _ in notes) == sorted(ref_notes)
    in_blocks = [(n.text, n.index) for b in blocks for n in b.notes]
    assert sorted(in_blocks) == sorted(n for n in notes if n[1] < blocks[-1].stop)
    for b in blocks:
        assert all(m.index < b.stop for m in (*b.notes, *b.stims))


def test_edfplusc_matches_its_reference_export(shared_data: Path) -> None:
    ref = np.loadtxt(EDF_DIR / "edfReader_cran/edfPlusC_data.txt", delimiter=",", skiprows=1)
    data, index = stitched(play(opened(EDF_DIR / "edfReader_cran/edfPlusC.edf", realtime=False)))
    np.testing.assert_allclose(index / 200, ref[:, 0], atol=1e-9)
    np.testing.assert_allclose(data, ref[:, 1:], atol=2e-5)


def test_edfplusd_gaps_are_placed_in_recording_time(shared_data: Path) -> None:
    src = opened(EDF_DIR / "edfReader_cran/edfPlusD.edf", realtime=False, block_seconds=0.3)
    blocks = play(src)
    gaps = [(g.index, g.n_missing) for b in blocks for g in b.gaps]
    assert gaps == EDFPLUSD_GAPS
    assert [(g.index, g.n_missing) for g in src.gaps] == EDFPLUSD_GAPS
    assert src.duration_s == 20.0
    # The records were cut out of edfPlusC: each sample sits where it was there.
    data, index = stitched(blocks)
    full, _ = stitched(play(opened(EDF_DIR / "edfReader_cran/edfPlusC.edf", realtime=False)))
    np.testing.assert_array_equal(data, full[index])


def test_edfplusd_flag_on_a_contiguous_file_gives_no_gaps(shared_data: Path) -> None:
    blocks = play(opened(EDF_DIR / "mne_testing_data/MB0400FU.EDF", realtime=False))
    assert not [g for b in blocks for g in b.gaps]
    assert blocks[-1].stop == 29 * 200


def test_subsecond_start_is_an_offset_not_an_index(shared_data: Path) -> None:
    src = opened(EDF_DIR / "mne_testing_data/subsecond_starttime.edf", realtime=False)
    blocks = play(src)
    assert blocks[0].start == 0
    assert src.start_offset_s == pytest.approx(0.3945312)
    assert src.start_datetime is not None and src.start_datetime.microsecond == 394531


def test_channels_at_other_rates_and_duplicates_are_reported(shared_data: Path) -> None:
    src = opened(EDF_DIR / "mne_python/test_uneven_samp.edf")
    assert src.messages == [
        "Left out 1 channel recorded at another rate: 0.2Hz Blk 1/0uV (12.8 Hz)."
    ]
    assert src.messages[0] in src.info.description
    src.close()
    src = opened(EDF_DIR / "mne_python/duplicate_channel_labels.edf")
    assert src.info.labels == ("EEG F1-Ref", "EEG F2-Ref", "EEG F1-Ref (2)")
    src.close()
    src = opened(EDF_DIR / "wfdb/test_generator_2.edf")
    assert "sine 15 Hz (°)" in src.info.description  # the 0xB0 unit byte, kept as it is
    src.close()


def test_start_s_starts_mid_file(shared_data: Path) -> None:
    path = EDF_DIR / "edfReader_cran/edfPlusD.edf"
    blocks = play(opened(path, realtime=False, start_s=5.5))
    assert blocks[0].start == 1100 and not blocks[0].gaps
    assert [(g.index, g.n_missing) for b in blocks for g in b.gaps] == EDFPLUSD_GAPS[2:]
    with pytest.raises(SourceError, match="past the end of the recording"):
        ReplaySource(path, start_s=20).open()


@pytest.mark.parametrize("block_seconds", [0.013, 0.25, 3.0])
def test_block_size_does_not_change_the_stream(shared_data: Path, block_seconds: float) -> None:
    path = EDF_DIR / "edfReader_cran/edfPlusD.edf"
    one = play(opened(path, realtime=False, block_seconds=1.0))
    other = play(opened(path, realtime=False, block_seconds=block_seconds))
    for got, want in zip(stitched(other), stitched(one), strict=True):
        np.testing.assert_array_equal(got, want)
    markers = [(m.index, m.text) for b in one for m in b.notes]
    assert [(m.index, m.text) for b in other for m in b.notes] == markers
    assert [g for b in other for g in b.gaps] == [g for b in one for g in b.gaps]


# -- markers, units and triggers in files written here -----------------------------------


def test_annotations_become_markers_at_their_index(tmp_path: Path) -> None:
    notes = [
        (-0.5, None, "before the start"),
        (0.0, None, "start"),
        (1.5, None, "stim 10 mA 0.2 ms"),
        (2.25, 0.5, "Dura opened"),
        (3.0, None, "STIM 12.5 mA 0.2 ms zygomatic"),
        (4.0, None, "stimulation"),
        (30.0, None, "after the end"),
    ]
    path = write_edf(tmp_path / "case.edf", [emg(seconds=5)], notes)
    src = opened(path, realtime=False, block_seconds=0.1)
    blocks = play(src)
    stims = {m.index: (m, b) for b in blocks for m in b.stims}
    assert sorted(stims) == [1500, 3000, 4000]
    first, second, bare = (stims[i][0] for i in (1500, 3000, 4000))
    assert (first.current_ma, first.width_ms, first.site) == (10.0, 0.2, "")
    assert (second.current_ma, second.width_ms, second.site) == (12.5, 0.2, "zygomatic")
    assert math.isnan(bare.current_ma) and math.isnan(bare.width_ms)
    for marker, block in stims.values():
        assert block.start <= marker.index < block.stop
    found = [(m.index, m.text, m.duration_s, b.start) for b in blocks for m in b.notes]
    assert found == [
        (0, "before the start", 0.0, 0),
        (0, "start", 0.0, 0),
        (2250, "Dura opened", 0.5, 2200),
    ]
    assert [m.text for m in src.annotations if isinstance(m, NoteMarker)][-1] == "after the end"
    assert any("after the end of the recording" in m for m in src.messages)


def test_units_become_microvolts(tmp_path: Path) -> None:
    signals = [emg(2, unit=u, label=u or "none") for u in ("V", "mV", "uV", "nV", "degC")]
    for s in signals:
        s.update_data(np.linspace(-1, 1, 2000))
    src = opened(write_edf(tmp_path / "units.edf", signals), realtime=False)
    data, _ = stitched(play(src))
    for j, factor in enumerate((1e6, 1e3, 1.0, 1e-3, 1.0)):
        np.testing.assert_allclose(
            data[:, j], np.linspace(-1, 1, 2000) * factor, atol=1e-4 * factor
        )
    assert "Kept 1 channel in the file's own unit, not µV: degC (degC)." in src.messages


@pytest.mark.parametrize(
    ("unit", "factor"),
    [
        ("uV", 1),
        ("µV", 1),
        ("μV", 1),
        ("UV", 1),
        ("\xe6V", 1),
        ("mV", 1e3),
        ("MV", 1e3),
        ("v", 1e6),
        ("nV", 1e-3),
        ("°", None),
        ("", None),
        ("Boolean", None),
    ],
)
def test_unit_names(unit: str, factor: float | None) -> None:
    assert microvolts_per_unit(unit) == factor


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("stim 10 mA 0.2 ms", (10.0, 0.2, "")),
        ("Stim 12.5 mA 0.2 ms zygomatic", (12.5, 0.2, "zygomatic")),
        ("stim: Z-L 200 us 5,5 mA", (5.5, 0.2, "Z-L")),
        ("STIM", (math.nan, math.nan, "")),
    ],
)
def test_stim_text(text: str, expected: tuple[float, float, str]) -> None:
    got = parse_stim(text)
    np.testing.assert_equal(got[:2], expected[:2])
    assert got[2] == expected[2]


def test_trigger_channel_becomes_stimuli(tmp_path: Path) -> None:
    trigger = np.zeros(2500)  # 500 Hz next to 1 kHz EMG: indices double
    rng = np.random.default_rng(3)
    trigger += rng.normal(0, 0.05, trigger.size)  # noise must not chatter
    for at in (250, 625, 1000, 2400):
        trigger[at : at + 3] = 5.0
    signals = [
        emg(5, label="Oris"),
        edfio.EdfSignal(trigger, 500, label="tRigGer", physical_dimension="V"),
        emg(5, label="Oculi"),
    ]
    src = opened(write_edf(tmp_path / "trig.edf", signals), realtime=False)
    blocks = play(src)
    assert src.info.labels == ("Oris", "Oculi")
    assert [m.index for b in blocks for m in b.stims] == [500, 1250, 2000, 4800]
    assert {m.site for b in blocks for m in b.stims} == {"tRigGer"}
    assert any("trigger channel tRigGer" in m for m in src.messages)


def test_our_recordings_play_with_their_human_labels_others_as_written(tmp_path: Path) -> None:
    """Our writer labels ``EMG L OOc`` and keeps ``L Orb. oculi`` in the transducer field:
    the replay shows the human label (a trigger channel stays one). A file from other
    software keeps its labels, ``EMG`` prefix and all, whatever its transducer says."""
    from monitor.edfwriter import EdfWriter

    trigger = np.zeros((2000, 3))
    trigger[500:505, 2] = 5000.0
    ours = tmp_path / "ours.edf"
    with EdfWriter(ours, 1000.0, ["L Orb. oculi", "R Mentalis", "Trigger"]) as w:
        assert w.labels == ["EMG L OOc", "EMG R Ment", "EMG Trigger"]
        w.write(trigger)
    src = opened(ours, realtime=False)
    blocks = play(src)
    assert src.info.labels == ("L Orb. oculi", "R Mentalis")
    assert [m.index for b in blocks for m in b.stims] == [500]

    signals = [emg(2, label="EMG Chin"), emg(2, label="EMG L OOc"), emg(2, label="Fp1")]
    for s, transducer in zip(signals, ("Chin", "AgAgCl needle", ""), strict=True):
        s.transducer_type = transducer
    src = opened(write_edf(tmp_path / "other.edf", signals), realtime=False)
    src.close()
    assert src.info.labels == ("EMG Chin", "EMG L OOc", "Fp1")


@pytest.mark.parametrize(
    ("label", "trigger"),
    [("Trigger", True), ("STIM", True), ("STI 014", True), ("Status", False), ("EMG", False)],
)
def test_trigger_labels(label: str, trigger: bool) -> None:
    assert is_trigger_label(label) is trigger


# -- faulty files ------------------------------------------------------------------------


@pytest.fixture
def good_file(tmp_path: Path) -> Path:
    return write_edf(tmp_path / "good.edf", [emg(seconds=20)], [(1.0, None, "note")])


def patched(path: Path, at: int, value: bytes, name: str) -> Path:
    raw = bytearray(path.read_bytes())
    raw[at : at + len(value)] = value
    out = path.with_name(name)
    out.write_bytes(bytes(raw))
    return out


def error_of(path: Path | str) -> str:
    with pytest.raises(SourceError) as err:
        ReplaySource(path).open()
    text = str(err.value)
    assert "\n" not in text and text.startswith(f"Cannot replay {Path(path).name}: ")
    assert err.value.__cause__ is None and err.value.__suppress_context__
    return text.split(": ", 1)[1]


def test_faulty_files_give_one_plain_line(good_file: Path, tmp_path: Path) -> None:
    raw = good_file.read_bytes()
    record = (len(raw) - 768) // 20
    cut = tmp_path / "short.edf"
    cut.write_bytes(raw[: 768 + 12 * record])
    assert (
        error_of(cut) == "the file is shorter than its header says (12 of 20 data records present)."
    )
    assert error_of(tmp_path / "missing.edf") == "the file does not exist."
    assert error_of(tmp_path) == "it is a folder, not a file."
    (tmp_path / "notes.txt").write_text("Patient notes, not a recording\n" * 20)
    assert "not an EDF or BDF file" in error_of(tmp_path / "notes.txt")
    (tmp_path / "empty.edf").write_bytes(b"")
    assert error_of(tmp_path / "empty.edf") == "it is too short to be an EDF or BDF file (0 bytes)."
    (tmp_path / "head.edf").write_bytes(raw[:600])
    assert error_of(tmp_path / "head.edf") == "its header is cut off (600 of 768 bytes present)."
    bad = patched(good_file, 236, b"abc     ", "nonnumeric.edf")
    assert error_of(bad) == "the header field 'number of data records' is not a number ('abc')."
    bad = patched(good_file, 252, b"0   ", "nosignals.edf")
    assert error_of(bad) == "its header lists no signals."
    bad = patched(good_file, 256 + 2 * 216, b"1.5     ", "halfsample.edf")
    assert "is not a whole number (1.5)" in error_of(bad)


def test_a_file_cut_short_by_a_crash_plays_its_complete_records(
    good_file: Path, tmp_path: Path
) -> None:
    raw = good_file.read_bytes()
    record = (len(raw) - 768) // 20
    cut = tmp_path / "crash.edf"
    cut.write_bytes(raw[: 768 + 19 * record + record // 2])  # killed while writing record 20
    src = opened(cut, realtime=False)
    data, _ = stitched(play(src))
    assert len(data) == 19_000
    assert "cut short" in src.messages[0] and "19 complete records" in src.messages[0]
    unknown = patched(cut, 236, b"-1      ", "unclosed.edf")  # pyedflib's count until close()
    src = opened(unknown, realtime=False)
    assert len(stitched(play(src))[0]) == 19_000
    assert "does not give the number of data records" in src.messages[0]


# -- pacing, stop, arguments -------------------------------------------------------------


def test_realtime_at_speed_10_takes_a_tenth_of_the_time(tmp_path: Path) -> None:
    src = ReplaySource(write_edf(tmp_path / "ten.edf", [emg(seconds=10)]), speed=10)
    src.open()
    blocks, longest, t0 = [], 0.0, time.monotonic()
    with pytest.raises(EndOfStream):
        while True:
            t1 = time.monotonic()
            block = src.read()
            longest = max(longest, time.monotonic() - t1)
            if block is not None:
                blocks.append(block)
    elapsed = time.monotonic() - t0
    src.close()
    assert 0.8 < elapsed < 1.6
    assert longest < 0.15
    assert {b.n_samples for b in blocks[:-1]} == {200}  # 20 ms of wall time each


def test_request_stop_wakes_a_waiting_read(tmp_path: Path) -> None:
    src = ReplaySource(write_edf(tmp_path / "slow.edf", [emg()]), speed=0.1, block_seconds=1.0)
    src.open()
    assert src.read() is not None  # the first block is due at once; the next in 1 s
    threading.Timer(0.02, src.request_stop).start()
    t0 = time.monotonic()
    assert src.read() is None
    assert time.monotonic() - t0 < 0.08
    assert src.read() is None
    src.close()
    src.close()


@pytest.mark.parametrize("speed", [0.05, 0, 25, -1, math.nan])
def test_bad_speed_is_refused(speed: float) -> None:
    with pytest.raises(ValueError, match=r"between 0\.1 and 20 times real time"):
        ReplaySource("any.edf", speed=speed)


def test_reads_stay_lazy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from drivers.edfreader import EdfFile

    sizes: list[int] = []
    read_records = EdfFile.read_records

    def spy(self: EdfFile, first: int, stop: int) -> np.ndarray:
        sizes.append(stop - first)
        return read_records(self, first, stop)

    monkeypatch.setattr(EdfFile, "read_records", spy)
    play(opened(write_edf(tmp_path / "long.edf", [emg(seconds=60)]), realtime=False))
    assert sum(sizes) == 60 and max(sizes) <= 2


def test_a_replay_that_cannot_keep_its_speed_slows_down_says_so_and_skips_nothing():
    """A file played faster than the computer can take it goes on later than asked (and
    the session says so once); it never drops samples it has."""
    from monitor.session import Session

    demo = Path(__file__).resolve().parents[2] / "recordings" / "demo_mvd.edf"
    src = ReplaySource(demo, speed=20.0)
    session = Session(src)
    session.open()
    spans = []

    def slow(block, _filtered):  # about 4x real time, far below the 20x asked
        spans.append((block.start, block.stop, block.gaps))
        time.sleep(block.n_samples / block.rate / 4)

    session.subscribe("slow", slow)
    session.start()
    time.sleep(3.5)
    session.stop()
    assert src.fell_behind >= 1
    assert all(a[1] == b[0] and not b[2] for a, b in itertools.pairwise(spans))
    _, problems = session.problems_since(0)
    assert sum("plays slower than asked" in p.text for p in problems) == 1
