"""``main.py analyze`` and ``main.py --replay`` over damaged and third-party files: a file
that cannot be used gives one line and a non-zero exit status (never a traceback), a file
that can is used, and the file itself is never changed."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

import main
from validation.damagedfiles import corpus, field_mutations, mutate

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "recordings" / "demo_mvd.edf"
# Corpus files replayed through the command line: one of each kind of damage and outcome.
REPLAY_SAMPLE = (
    "bdf-record_duration-huge.bdf",
    "edf-ann_random_every_record.edf",
    "edf-cut2136.edf",
    "edf-d_jump_1e6.edf",
    "edf-sig2_physical_minimum-nan.edf",
    "edf-sig2_samples_per_record-huge.edf",
    "edf-tal_onset_1e308.edf",
    "odd-channels200.edf",
    "odd-rate200k.edf",
    "odd-rate30.edf",
)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def edf_files(folder: Path) -> list[Path]:
    """Every EDF or BDF file under ``folder``, whatever its extension (by its first bytes)."""
    found = []
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            with path.open("rb") as f:
                head = f.read(8)
            if head in (b"0       ", b"\xffBIOSEMI"):
                found.append(path)
    return found


def check(
    path: Path, status: int, out: str, err: str, statuses: tuple[int, ...], named: bool = True
) -> None:
    """A run's exit status is expected, it shows no traceback, and a failure is one line
    (naming the file, unless ``named`` is false)."""
    assert status in statuses, f"{path.name}: status {status}: {err}"
    assert "Traceback" not in out + err, f"{path.name}: {out}{err}"
    if status != 0:
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), f"{path.name}: {err}"
        assert path.name in lines[0] or not named, lines[0]


def run(*args: str, state: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "main.py", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_STATE_HOME": str(state)},
    )


def replay_here(path: Path, capsys: pytest.CaptureFixture, seconds: str = "1", *extra: str):
    """``main.py --replay FILE --headless --duration SECONDS`` in this process: exit
    status, stdout, stderr."""
    status = main.main(["--replay", str(path), "--headless", "--duration", seconds, *extra])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.fixture(scope="module")
def damaged_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return corpus(tmp_path_factory.mktemp("damaged"))


@pytest.fixture(scope="module")
def demo_misaligned(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo case with signal 2's samples per record changed from 10000 to 1000."""
    path = tmp_path_factory.mktemp("demo") / "demo_spr.edf"
    path.write_bytes(mutate(DEMO.read_bytes(), "samples per record", "1000", 1))
    return path


def analyze_here(path: Path, out: Path, capsys: pytest.CaptureFixture, *extra: str):
    """``main.py analyze`` in this process: exit status, stdout, stderr."""
    status = main.main(["analyze", str(path), "--out", str(out), "--quiet", *extra])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


# -- analyze ------------------------------------------------------------------------------


def test_analyze_of_damaged_files_is_one_line_or_results(
    damaged_files: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    # Every other file of the corpus (and every odd one): the kinds of damage alternate.
    sample = [p for i, p in enumerate(damaged_files) if i % 2 or p.name.startswith("odd-")]
    written = 0
    for path in sample:
        before = digest(path)
        out = tmp_path / path.stem
        status, stdout, stderr = analyze_here(path, out, capsys)
        check(path, status, stdout, stderr, (0, 2))
        if status == 0:
            written += 1
            assert (out / "summary.json").is_file() and (out / "report.html").is_file()
        assert digest(path) == before, f"{path.name} was changed by analysing it"
    assert 0.3 * len(sample) < written < 0.9 * len(sample)


def test_analyze_of_a_million_second_gap_holds_nothing_per_missing_sample(
    damaged_files: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    jump = next(p for p in damaged_files if p.name == "edf-d_jump_1e6.edf")
    tracemalloc.start()
    try:
        status, _, stderr = analyze_here(jump, tmp_path, capsys)
        peak_mb = tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()
    assert status == 0, stderr
    assert peak_mb < 64
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert (summary["gaps"], summary["gap_s"]) == (1, 1e6)


def test_analyze_refuses_a_misaligned_file_and_reads_it_anyway_when_asked(
    demo_misaligned: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    field = "the header field 'number of samples per record of signal 2 (L Orb. oris)' (1000)"
    done = run("analyze", str(demo_misaligned), "--out", str(tmp_path / "a"), state=tmp_path)
    check(demo_misaligned, done.returncode, done.stdout, done.stderr, (2,))
    assert field in done.stderr
    status, _, stderr = analyze_here(demo_misaligned, tmp_path / "b", capsys, "--read-anyway")
    assert status == 0, stderr
    assert f"note: Read anyway, although {field}" in stderr
    assert (tmp_path / "b" / "summary.json").is_file()


def test_analyze_of_a_recording_too_slow_to_filter_is_one_line(
    damaged_files: list[Path], tmp_path: Path
) -> None:
    slow = next(p for p in damaged_files if p.name == "odd-rate30.edf")
    done = run("analyze", str(slow), "--out", str(tmp_path), state=tmp_path)
    check(slow, done.returncode, done.stdout, done.stderr, (2,))
    assert done.stderr == (
        "error: cannot analyse odd-rate30.edf: High-pass 20 Hz is too high for a sampling "
        "rate of 30 Hz.\n"
    )


def test_analyze_of_every_shared_file(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    files = edf_files(shared_data / "edf")
    assert len(files) >= 20
    for path in files:
        before = digest(path)
        status, stdout, stderr = analyze_here(path, tmp_path / path.stem, capsys)
        check(path, status, stdout, stderr, (0, 2))
        assert digest(path) == before


# -- replay ---------------------------------------------------------------------------------


def test_replay_of_damaged_files_is_one_line_or_plays(
    damaged_files: list[Path], capsys: pytest.CaptureFixture
) -> None:
    sample = [p for p in damaged_files if p.name in REPLAY_SAMPLE]
    assert len(sample) == len(REPLAY_SAMPLE)
    played = 0
    for path in sample:
        before = digest(path)
        status, stdout, stderr = replay_here(path, capsys)
        check(path, status, stdout, stderr, (0, 2))
        if status == 0:
            played += 1
            assert f" {path.name} " in stdout  # the status line names the file
        assert digest(path) == before
    assert 3 <= played <= len(sample) - 3


def test_replay_of_every_shared_file(shared_data: Path, capsys: pytest.CaptureFixture) -> None:
    # 0.2 s of each, not 1 s: opening is what differs between files, and time is short.
    for path in edf_files(shared_data / "edf"):
        before = digest(path)
        status, stdout, stderr = replay_here(path, capsys, "0.2")
        check(path, status, stdout, stderr, (0, 2))
        assert digest(path) == before


def test_replay_refuses_a_misaligned_file_and_plays_it_anyway_when_asked(
    demo_misaligned: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    args = ("--replay", str(demo_misaligned), "--headless", "--duration", "1")
    refused = run(*args, state=tmp_path)
    check(demo_misaligned, refused.returncode, refused.stdout, refused.stderr, (2,))
    assert "'number of samples per record of signal 2 (L Orb. oris)' (1000)" in refused.stderr
    status, stdout, stderr = replay_here(demo_misaligned, capsys, "1", "--read-anyway")
    assert status == 0, stderr
    assert "[info] demo_spr.edf: Read anyway, although the header field" in stdout


# -- header fields, any value -----------------------------------------------------------------


@pytest.fixture(scope="module")
def base_edf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from validation.damagedfiles import base_recordings

    return base_recordings(tmp_path_factory.mktemp("base"))["edf"]


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(mutation=field_mutations(4))
def test_analyze_takes_any_header_field_value_in_one_line_or_results(
    base_edf: Path, tmp_path: Path, capsys: pytest.CaptureFixture, mutation
) -> None:
    """Whatever one header field says, ``analyze`` writes its results or refuses in one
    line; never a traceback, never a change to the file."""
    field, sig, value = mutation
    path = tmp_path / "mutated.edf"
    path.write_bytes(mutate(base_edf.read_bytes(), field, value, sig))
    before = digest(path)
    out = tmp_path / "out"
    shutil.rmtree(out, ignore_errors=True)
    status, stdout, stderr = analyze_here(path, out, capsys)
    check(path, status, stdout, stderr, (0, 2))
    assert status != 0 or (out / "summary.json").is_file()
    assert digest(path) == before
