"""The command line: help, headless runs, screenshots, and clear errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_STATE_HOME": "/tmp/fnm-test-state"}
    return subprocess.run(
        [sys.executable, "main.py", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )


def test_help_explains_every_option():
    out = run("--help")
    assert out.returncode == 0
    for option in (
        "--replay",
        "--speed",
        "--channels",
        "--rate",
        "--screenshot",
        "--after",
        "--headless",
        "--duration",
        "--seed",
        "--notch",
        "--window",
        "--stim-rate",
        "--stim-current",
        "--stim-site",
        "--lsr-gone-at",
    ):
        assert option in out.stdout


def test_headless_prints_a_status_line_every_second():
    out = run("--headless", "--duration", "2.2", "--channels", "8", "--rate", "20000")
    assert out.returncode == 0, out.stderr
    lines = [ln for ln in out.stdout.splitlines() if "Simulator" in ln]
    assert len(lines) >= 2
    assert "8ch@20000Hz" in lines[-1]
    assert "gaps=0" in lines[-1]
    assert "Traceback" not in out.stderr


def test_screenshot_writes_a_png_of_the_window(tmp_path):
    shot = tmp_path / "shot.png"
    out = run("--screenshot", str(shot), "--after", "1.5", "--size", "1200x700")
    assert out.returncode == 0, out.stderr
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    import struct

    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (1200, 700)


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("--channels", "17"), "1 to 16"),
        (("--rate", "50000"), "between"),
        (("--speed", "50"), "between"),
        (("--replay", "/nonexistent/case.edf", "--headless"), "case.edf"),
        (("--size", "huge", "--headless"), "--size"),
        (("--highpass", "4000", "--lowpass", "300", "--headless"), "High-pass"),
    ],
)
def test_bad_input_gets_one_clear_line_and_no_traceback(args, words):
    out = run(*args)
    assert out.returncode == 2
    assert words in out.stderr
    assert "Traceback" not in out.stderr


def test_record_writes_an_annotated_edf_that_other_software_opens(tmp_path):
    pyedflib = pytest.importorskip("pyedflib")
    out = run(
        "--headless",
        "--duration",
        "4",
        "--seed",
        "204",
        "--record",
        str(tmp_path),
        "--case-id",
        "case 7",
    )
    assert out.returncode == 0, out.stderr
    (rec,) = tmp_path.glob("*_case-7.edf")
    f = pyedflib.EdfReader(str(rec))
    try:
        assert f.getSignalLabels()[:2] == ["L Orb. oculi", "L Orb. oris"]
        assert f.getFileDuration() >= 3
        texts = list(f.readAnnotations()[2])
    finally:
        f.close()
    assert sum(t.startswith("stim 15 mA") for t in texts) >= 2


def test_recover_repairs_a_file_cut_short(tmp_path):
    out = run("--headless", "--duration", "2", "--record", str(tmp_path))
    assert out.returncode == 0, out.stderr
    (rec,) = tmp_path.glob("*.edf")
    data = rec.read_bytes()
    rec.write_bytes(data[: len(data) - 1234])  # a crash in the middle of a record
    fixed = run("recover", str(rec))
    assert fixed.returncode == 0, fixed.stderr
    assert "Traceback" not in fixed.stderr
