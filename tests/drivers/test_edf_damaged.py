"""Damaged EDF/BDF files: refused in one plain line or played, never a crash, a hang, a
runaway allocation, a changed input file, or a misaligned or made-up signal shown silently."""

from __future__ import annotations

import hashlib
import re
import signal
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from drivers.edfreader import EdfFile, EdfFormatError
from drivers.replay import ReplaySource
from monitor.block import StimMarker
from monitor.source import EndOfStream, SourceError
from validation.damagedfiles import (
    base_recordings,
    corpus,
    discontinuous,
    edit_annotations,
    field_mutations,
    layout,
    mutate,
    raw_edf,
    record_with,
    strip_annotations,
    write_recording,
)

DEMO = Path(__file__).resolve().parents[2] / "recordings" / "demo_mvd.edf"
SECONDS_PER_FILE = 10  # a small file that takes longer than this hangs
MAX_PEAK_MB = 32  # no file of the corpus may make the reader allocate more


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise ``TimeoutError`` in the main thread when the block takes longer."""

    def expire(signum: int, frame: object) -> None:
        raise TimeoutError(f"took more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def play(path: Path, strict: bool = True, **kwargs: object) -> tuple[ReplaySource, np.ndarray]:
    """Open and play a whole file offline; the source (closed) and every sample played."""
    if not strict:
        kwargs["strict"] = False
    src = ReplaySource(path, realtime=False, **kwargs)
    src.open()
    blocks = []
    try:
        while True:
            block = src.read()
            if block is not None:
                blocks.append(block.data)
    except EndOfStream:
        pass
    finally:
        src.close()
    return src, np.concatenate(blocks)


def outcome(path: Path, strict: bool = True) -> str:
    """``"played"`` or the refusal, checked to be one plain line."""
    try:
        play(path, strict)
    except SourceError as err:
        text = str(err)
        assert "\n" not in text and "Traceback" not in text, text
        assert text.startswith(f"Cannot replay {path.name}: ") and text.endswith("."), text
        assert err.__cause__ is None and err.__suppress_context__
        return text
    return "played"


def refusal(path: Path, strict: bool = True) -> str:
    """The clause a refused file gives (after ``Cannot replay <file>: ``)."""
    with pytest.raises(SourceError) as err:
        play(path, strict)
    return str(err.value).split(": ", 1)[1]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def patched(path: Path, name: str, field: str, value: str, sig: int | None = None) -> Path:
    out = path.with_name(name)
    out.write_bytes(mutate(path.read_bytes(), field, value, sig))
    return out


@pytest.fixture(scope="module")
def damaged_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return corpus(tmp_path_factory.mktemp("damaged"))


@pytest.fixture(scope="module")
def bases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return base_recordings(tmp_path_factory.mktemp("bases"))


# -- the whole corpus --------------------------------------------------------------------


@pytest.mark.parametrize("strict", [True, False], ids=["strict", "read-anyway"])
def test_every_damaged_file_plays_or_is_refused_in_one_line(
    damaged_files: list[Path], strict: bool
) -> None:
    assert 150 <= len(damaged_files) <= 400
    results: dict[str, str] = {}
    for path in damaged_files:
        before = digest(path)
        tracemalloc.start()
        try:
            with time_limit(SECONDS_PER_FILE):
                results[path.name] = outcome(path, strict)
            peak_mb = tracemalloc.get_traced_memory()[1] / 1e6
        finally:
            tracemalloc.stop()
        assert peak_mb < MAX_PEAK_MB, f"{path.name} made the reader allocate {peak_mb:.0f} MB"
        assert digest(path) == before, f"{path.name} was changed by reading it"
    played = [name for name, r in results.items() if r == "played"]
    assert 0.3 * len(results) < len(played) < 0.9 * len(results)
    # Reading anyway refuses only what cannot be read at all.
    if not strict:
        assert results["edf-sig2_samples_per_record-zero.edf"] == "played"


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(mutation=field_mutations(4))
def test_no_header_field_value_gives_a_crash_or_a_misaligned_channel(
    bases: dict[str, Path], tmp_path: Path, mutation: tuple[str, int | None, str]
) -> None:
    """Whatever one header field says, the file is refused in one line, or every channel
    it plays that the change did not rescale holds the original samples, in order."""
    field, sig, value = mutation
    original = bases["edf"]
    path = tmp_path / "mutated.edf"
    path.write_bytes(mutate(original.read_bytes(), field, value, sig))
    with time_limit(SECONDS_PER_FILE):
        result = outcome(path)
    if result != "played" or field == "label":
        return
    want_src, want = play(original)
    got_src, got = play(path)
    rescaled = field in ("unit", "physical minimum", "physical maximum", "digital minimum")
    rescaled |= field == "digital maximum"
    for j, label in enumerate(got_src.info.labels):
        if rescaled and label == f"L Ch{(sig or 0) + 1}":
            continue
        k = want_src.info.labels.index(label)
        n = min(len(got), len(want))
        np.testing.assert_array_equal(got[:n, j], want[:n, k], err_msg=f"{label}: {mutation}")


# -- 1. damaged headers are not played as data ---------------------------------------------


@pytest.fixture(scope="module")
def demo_misaligned(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo case with signal 2's samples per record changed from 10000 to 1000."""
    path = tmp_path_factory.mktemp("demo") / "demo_spr.edf"
    path.write_bytes(mutate(DEMO.read_bytes(), "samples per record", "1000", 1))
    return path


def test_a_changed_samples_per_record_is_refused_with_the_field_named(
    demo_misaligned: Path,
) -> None:
    assert refusal(demo_misaligned) == (
        "the header field 'number of samples per record of signal 2 (L Orb. oris)' (1000) "
        "does not match the file size (3203840 bytes of data fit its 40 records with 10000), "
        "so the channels would be misaligned."
    )
    with pytest.raises(EdfFormatError, match=r"signal 2 \(L Orb\. oris\)"):
        EdfFile(demo_misaligned)


def test_read_anyway_opens_it_and_says_what_is_wrong(demo_misaligned: Path) -> None:
    src = ReplaySource(demo_misaligned, realtime=False, strict=False)
    src.open()
    src.close()
    assert src.messages[0].startswith(
        "Read anyway, although the header field 'number of samples per record of signal 2 "
        "(L Orb. oris)' (1000) does not match the file size"
    )
    assert src.messages[0] in src.info.description
    f = EdfFile(demo_misaligned, strict=False)
    assert f.faults and "misaligned" in f.faults[0]
    f.close()


@pytest.mark.parametrize("sig", [0, 1, 2, 3, 4])
@pytest.mark.parametrize("value", ["9999", "10001", "0", "20000", "47", "49"])
def test_any_samples_per_record_change_of_the_demo_is_refused(
    demo_misaligned: Path, sig: int, value: str
) -> None:
    raw = DEMO.read_bytes()
    if layout(raw).spr[sig] == int(value):
        return
    path = demo_misaligned.with_name(f"spr_{sig}_{value}.edf")
    path.write_bytes(mutate(raw, "samples per record", value, sig))
    label = layout(raw).labels[sig]
    assert f"samples per record of signal {sig + 1} ({label})' ({value})" in refusal(path)


def test_a_plain_edf_without_record_times_is_checked_by_its_size(bases: dict[str, Path]) -> None:
    """No time-keeping TALs: the one field whose correction fits the size is named."""
    path = patched(bases["plain"], "plain_spr.edf", "samples per record", "150", 1)
    assert "'number of samples per record of signal 2 (L Ch2)' (150)" in refusal(path)
    assert "fit its 30 records with 200" in refusal(path)


def test_an_annotation_signal_of_another_size_is_found_by_its_record_times(
    bases: dict[str, Path],
) -> None:
    a = layout(bases["edf"].read_bytes()).annotation
    path = patched(bases["edf"], "ann_spr.edf", "samples per record", "257", a)
    assert "signal 4 (EDF Annotations)' (257)" in refusal(path)


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("physical minimum", "6553.4", "'physical minimum' and 'physical maximum' of signal 2"),
        ("digital minimum", "32767", "'digital minimum' (32767) and 'digital maximum' (32767)"),
        ("digital maximum", "-40000", "are the wrong way round"),
        ("digital maximum", "99999999", "beyond what 16-bit samples hold"),
        ("physical maximum", "99999999", "(1e+08 uV) is beyond any amplifier's range"),
        ("physical minimum", "nan", "'physical minimum of signal 2 (L Ch2)' is not a number"),
    ],
)
def test_a_channel_with_a_damaged_scale_is_left_out_and_named(
    bases: dict[str, Path], field: str, value: str, words: str
) -> None:
    path = patched(bases["edf"], "scale.edf", field, value, 1)
    src, data = play(path)
    assert src.info.labels == ("L Ch1", "L Ch3")
    assert src.messages[0].startswith("Left out channel L Ch2: the header field")
    assert words in src.messages[0]
    # Read anyway, it is shown and the messages say what is wrong with it.
    src, data = play(path, strict=False)
    assert src.info.labels == ("L Ch1", "L Ch2", "L Ch3")
    assert src.messages[0].startswith("Read anyway, although the header field")
    assert words in src.messages[0]
    assert np.isfinite(data).all()


def test_a_flat_channel_is_never_made_up_from_equal_physical_limits(tmp_path: Path) -> None:
    one = write_recording(tmp_path / "one.edf", 1000, 1, 1.0)
    path = patched(one, "flat.edf", "physical minimum", "6553.4", 0)
    assert refusal(path) == (
        "the header fields 'physical minimum' and 'physical maximum' of signal 1 (L Ch1) are "
        "both 6553.4, so every sample would read the same (a flat line)."
    )
    src, _ = play(path, strict=False)
    assert "(a flat line); channel L Ch1 is shown as its header scales it." in src.messages[0]
    path = patched(one, "inverted.edf", "digital minimum", "40000", 0)
    inverted = "'digital minimum' (40000) and 'digital maximum' (32767) of signal 1 (L Ch1)"
    assert f"{inverted} are the wrong way round" in refusal(path)
    path = patched(one, "nodigital.edf", "digital maximum", "-32768", 0)
    src, _ = play(path, strict=False)
    assert "channel L Ch1 is shown in digital steps" in src.messages[0]


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("record duration", "99999999", "'duration of a data record' (1e+08 s) is longer than a"),
        ("record duration", "1e-07", "make 2e+09 samples a second, far more than any amplifier"),
        ("number of signals", "9999", "'number of signals' (9999) does not match the header"),
    ],
)
def test_absurd_durations_rates_and_signal_counts_are_refused(
    bases: dict[str, Path], field: str, value: str, words: str
) -> None:
    assert words in refusal(patched(bases["edf"], "absurd.edf", field, value))


def test_a_signal_count_beyond_the_file_reads_no_more_than_the_file(
    demo_misaligned: Path,
) -> None:
    path = demo_misaligned.with_name("demo_ns.edf")
    path.write_bytes(mutate(DEMO.read_bytes(), "number of signals", "9999"))
    tracemalloc.start()
    try:
        text = refusal(path)
        peak_mb = tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()
    assert text.startswith("the header field 'number of signals' (9999) does not match")
    assert peak_mb < 16


def test_the_forgiving_cases_still_play(demo_misaligned: Path) -> None:
    raw = DEMO.read_bytes()
    record = layout(raw).record_bytes
    cases = {
        "crash.edf": raw[: -record // 2],  # killed while writing the last record
        "unclosed.edf": mutate(raw[: -record // 2], "number of records", "-1"),
        "trailing.edf": raw + b"\x00" * (record + 1),  # bytes after the last record
    }
    for name, data in cases.items():
        path = demo_misaligned.with_name(name)
        path.write_bytes(data)
        src, played = play(path)
        assert len(played) in (390_000, 400_000), name
        assert len(src.messages) == 1, (name, src.messages)


# -- 2. annotations --------------------------------------------------------------------------


def tal_changed(raw: bytes, pattern: bytes, new: Callable[[re.Match], bytes]) -> bytes:
    """``raw`` with the first TAL matching ``pattern`` rewritten (its record keeps its size)."""
    found = re.search(pattern, raw)
    assert found is not None
    record = record_with(raw, found[0])
    return edit_annotations(raw, record, lambda b: re.sub(pattern, new, b, count=1))


@pytest.mark.parametrize(
    "onset", ["+inf", "+nan", "-inf", "+1e308", "+1e300", "+1.2.3"], ids=lambda o: o
)
def test_an_annotation_with_an_impossible_onset_is_skipped_with_a_note(
    bases: dict[str, Path], onset: str
) -> None:
    raw = bases["edf"].read_bytes()
    path = bases["edf"].with_name("badonset.edf")
    path.write_bytes(tal_changed(raw, rb"\+0\.5(\x14stim)", lambda m: onset.encode() + m[1]))
    src, _ = play(path)
    stims = [m for m in src.annotations if isinstance(m, StimMarker)]
    assert [m.index for m in stims] == [3000, 5000]  # 1.5 s and 2.5 s at 2 kHz
    assert f"Skipped 1 annotation whose time cannot be read ({onset!r})." in src.messages


@pytest.mark.parametrize("duration", ["nan", "inf", "-5", "1e300", "abc"])
def test_an_annotation_with_an_impossible_duration_lasts_0_s_with_a_note(
    bases: dict[str, Path], duration: str
) -> None:
    raw = bases["edf"].read_bytes()
    path = bases["edf"].with_name("badduration.edf")
    path.write_bytes(
        tal_changed(raw, rb"\x150\.5(\x14Dura)", lambda m: f"\x15{duration}".encode() + m[1])
    )
    src, _ = play(path)
    note = next(m for m in src.annotations if getattr(m, "text", "") == "Dura opened")
    assert note.duration_s == 0.0
    expected = f"1 annotation has a duration that cannot be read ({duration!r}); taken as 0 s."
    assert expected in src.messages


def test_a_jump_of_a_million_seconds_is_one_gap_not_a_million_samples(
    bases: dict[str, Path],
) -> None:
    path = bases["edf"].with_name("jump.edf")
    path.write_bytes(discontinuous(bases["edf"].read_bytes())["d_jump_1e6"])
    tracemalloc.start()
    try:
        src, data = play(path)
        peak_mb = tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()
    assert len(data) == 6000 and peak_mb < 8
    assert [(g.index, g.n_missing) for g in src.gaps] == [(3000, 2_000_000_000)]
    assert src.duration_s == pytest.approx(1e6 + 3)


@pytest.mark.parametrize("onset", ["d_onset_nan", "d_onset_inf", "d_onset_1e300"])
def test_record_times_that_cannot_be_are_unknown_not_a_jump(
    bases: dict[str, Path], onset: str
) -> None:
    path = bases["edf"].with_name(f"{onset}.edf")
    path.write_bytes(discontinuous(bases["edf"].read_bytes())[onset])
    src, data = play(path)
    assert len(data) == 6000 and not src.gaps and src.duration_s == 3.0
    assert any("15 data records have no readable start time" in m for m in src.messages)


# -- the generator's own files ---------------------------------------------------------------


def test_the_base_files_are_valid(bases: dict[str, Path]) -> None:
    for path in bases.values():
        src, data = play(path)
        assert not src.messages and np.isfinite(data).all()
    src, _ = play(bases["edf"])
    assert sum(isinstance(m, StimMarker) for m in src.annotations) == 3
    assert strip_annotations(bases["edf"].read_bytes()) == bases["plain"].read_bytes()
    assert len(raw_edf([("A", 10)], 2)) == 512 + 2 * 10 * 2
