"""``main.py scenario FILE --headless``: every shipped case runs to its end and the monitor
meets the case's own expectations; a broken expectation fails with a line that names it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import main

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = sorted((ROOT / "scenarios").glob("*.toml"))

SMALL = """\
[case]
title = "A small case"
teaching = "One A-train of a second on the mentalis."
seed = 2
duration = 30

[stimulation]
rate_hz = 0

[[phase]]
name = "opening"
start = 0

[[phase]]
name = "dissection"
start = 10

[[event]]
at = "dissection+5"
kind = "a_train"
channel = "mentalis"
duration_s = 1.0
freq_hz = 120
amplitude_uv = 150

[[event]]
at = "dissection+10"
kind = "lead_off"
channel = 2

[expect]
a_trains_detected = true
train_time_alarm = "{level}"
technical_alarm_within_s = 3
no_false_alarms = true
"""


@pytest.fixture(autouse=True)
def _state_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))  # the log file goes there


def test_the_four_cases_of_the_issue_ship():
    assert {p.stem for p in SHIPPED} >= {
        "routine_mvd",
        "mvd_lsr_persists",
        "nerve_irritation",
        "technical_trouble",
    }


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_every_shipped_scenario_passes_headless(path, capsys):
    status = main.main(["scenario", str(path), "--headless"])
    out = capsys.readouterr().out
    assert status == 0, out
    lines = out.rstrip().splitlines()
    assert lines[-1].startswith("verdict: PASS"), out
    assert "== Against the ground truth ==" in out and "FAIL" not in out
    checks = [ln for ln in lines if ln.startswith("  ok")]
    assert len(checks) >= 4  # each case states what the monitor must do
    assert "End of the case" in out


def write_small(tmp_path: Path, level: str) -> Path:
    path = tmp_path / "small.toml"
    path.write_text(SMALL.format(level=level), encoding="utf-8")
    return path


def test_the_report_sets_the_truth_beside_the_monitor_and_names_a_broken_expectation(
    tmp_path, capsys
):
    path = write_small(tmp_path, "high")  # a 1 s A-train cannot reach 10 s of train time
    status = main.main(["scenario", str(path), "--headless"])
    out = capsys.readouterr().out
    assert status == 1, out
    a_train = re.search(
        r"00:15\.0  L Mentalis +1\.00 s 120 Hz  \(scenario\)  detected at (\S+) \(\+([\d.]+) s\)",
        out,
    )
    assert a_train is not None, out
    assert a_train.group(1).startswith("00:15.") and float(a_train.group(2)) < 1.0
    assert re.search(
        r"L Mentalis +truth  1\.00 s \(0\.5 s at 00:15\.5\), monitor +(0\.9\d|1\.0\d) s; "
        r"alarms: warning at 00:15\.\d",
        out,
    )
    assert "00:20.0  L Orb. oris needle off to the end (scenario)  alarm at 00:2" in out
    technical = SMALL.splitlines().index("technical_alarm_within_s = 3") + 1
    assert f"  ok    technical_alarm_within_s (line {technical})" in out
    line = SMALL.splitlines().index('train_time_alarm = "{level}"') + 1
    assert (
        f"  FAIL  train_time_alarm (line {line}): expected 'high', the monitor's highest "
        "train-time alarm was 'warning' (the truth itself reaches 'warning')"
    ) in out
    assert out.rstrip().splitlines()[-1] == (
        "verdict: FAIL — 1 of 4 expectations not met (train_time_alarm)"
    )


def test_a_bad_scenario_gets_one_line_naming_file_and_line(tmp_path, capsys):
    path = tmp_path / "bad.toml"
    path.write_text(SMALL.format(level="high").replace("channel = 2", "channel = 9"))
    status = main.main(["scenario", str(path), "--headless"])
    err = capsys.readouterr().err
    line = SMALL.splitlines().index("channel = 2") + 1
    assert status == 2
    assert err.startswith(f"error: {path}, line {line}: event 2 (lead_off): there is no channel 9")
    assert err.count("\n") == 1 and "Traceback" not in err


def test_the_serial_path_plays_in_real_time_only(tmp_path, capsys):
    path = write_small(tmp_path, "warning")
    status = main.main(["scenario", str(path), "--headless", "--serial", "--speed", "5"])
    assert status == 2
    assert "real time" in capsys.readouterr().err


def test_paced_runs_and_a_shortened_case_say_so(tmp_path, capsys):
    path = write_small(tmp_path, "warning")
    status = main.main(["scenario", str(path), "--headless", "--speed", "40", "--duration", "12"])
    out = capsys.readouterr().out
    assert "at 40x" in out and "stopped at 00:12.0 of 00:30.0" in out
    assert status == 1  # the A-train at 15 s never came
