"""``main.py analyze``: the offline contract of DESIGN.md, checked on the demo case."""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "recordings" / "demo_mvd.edf"


def analyze(*args: str, tmp: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "main.py", "analyze", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "XDG_STATE_HOME": str(tmp)},
    )


def truth_of_demo() -> list[tuple[str, str, float, float]]:
    """The demo's own ``truth:`` annotations (kind, channel, onset, duration)."""
    from drivers.edfreader import EdfFile

    f = EdfFile(DEMO)
    notes, _ = f.read_annotations()
    out = []
    for a in notes:
        m = re.match(r"truth: (\w+) (L [\w. ]+?|all channels)( \d+ Hz)? \d+ uV", a.text)
        if m:
            out.append((m.group(1), m.group(2), a.onset_s, a.duration_s or 0.0))
    f.close()
    return out


@pytest.fixture(scope="module")
def demo_out(tmp_path_factory):
    out = tmp_path_factory.mktemp("analysis")
    done = analyze(str(DEMO), "--out", str(out), tmp=out)
    assert done.returncode == 0, done.stderr
    assert "100.0%" in done.stderr  # the progress bar finished
    return out


def test_events_csv_finds_the_demo_cases_events(demo_out):
    with open(demo_out / "events.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["kind", "channel", "onset_s", "offset_s", "peak_uv"]
    truth = truth_of_demo()
    assert {t[0] for t in truth} >= {"a_train", "artifact", "burst"}
    for kind, channel, onset, duration in truth:
        want = "*" if channel == "all channels" else channel
        tol = 0.15 if kind in ("b_train", "c_train") else 0.05  # weak first discharges
        hits = [
            r
            for r in rows
            if r["kind"] == kind and r["channel"] == want and abs(float(r["onset_s"]) - onset) < tol
        ]
        assert hits, f"{kind} on {channel} at {onset:.2f} s not found"
        if kind == "a_train":
            got = float(hits[0]["offset_s"]) - float(hits[0]["onset_s"])
            assert got == pytest.approx(duration, rel=0.1)
    detected_trains = [r for r in rows if r["kind"] == "a_train"]
    assert len(detected_trains) == sum(t[0] == "a_train" for t in truth)


def test_summary_has_train_time_per_channel_and_the_lsr_fields(demo_out):
    s = json.loads((demo_out / "summary.json").read_text())
    assert set(s["traintime_s"]) == {"L Orb. oculi", "L Orb. oris", "L Mentalis", "L Frontalis"}
    assert s["traintime_s"]["L Mentalis"] == pytest.approx(1.5, rel=0.1)
    assert s["traintime_s"]["L Orb. oculi"] == 0.0
    assert "baseline_uv" in s["lsr"] and "disappeared_at_s" in s["lsr"]
    assert any(a["key"] == "a_train:2" for a in s["alarms"])


def test_report_is_a_readable_page(demo_out):
    page = (demo_out / "report.html").read_text()
    assert "Train time" in page and "L Mentalis" in page and "a-train" in page
    # The LSR's trend, the LSR at baseline and gone, then one figure per A-train of the demo.
    captions = re.findall(r"<figcaption>(.*?)</figcaption>", page)
    assert len(captions) == 4 and "The LSR over the case" in captions[0]
    assert "Lateral spread response" in captions[1]
    assert "L Mentalis" in captions[2] and "L Orb. oris" in captions[3]
    assert "decompression: LSR gone from here" in page  # the file's own note
    assert "DEMO" not in page  # the demo's patient code
    assert (
        (demo_out / "stim_responses.csv")
        .read_text()
        .startswith("stim_onset_s,channel,present,latency_ms,amplitude_uv")
    )


def test_a_malformed_file_is_one_line_and_no_traceback(tmp_path):
    bad = tmp_path / "broken.edf"
    bad.write_bytes(b"0       not an edf header at all")
    done = analyze(str(bad), "--out", str(tmp_path / "o"), tmp=tmp_path)
    assert done.returncode == 2
    assert "broken.edf" in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_a_third_party_file_with_gaps_is_analysed(shared_data, tmp_path):
    done = analyze(
        str(shared_data / "edf/edfReader_cran/edfPlusD.edf"),
        "--out",
        str(tmp_path),
        "--quiet",
        tmp=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    s = json.loads((tmp_path / "summary.json").read_text())
    assert s["gaps"] == 5 and s["gap_s"] == pytest.approx(9.0)


def test_stim_responses_and_the_lsr_disappearance_of_the_demo(demo_out):
    with open(demo_out / "stim_responses.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    stims = sorted({float(r["stim_onset_s"]) for r in rows})
    assert stims[0] == pytest.approx(2.0) and len(stims) == 38  # 1 Hz from 2 s to 39 s
    mentalis = [r for r in rows if r["channel"] == "L Mentalis"]
    before = [r for r in mentalis if float(r["stim_onset_s"]) < 29.5]
    after = [r for r in mentalis if float(r["stim_onset_s"]) > 30.5]
    # Sweeps during the mentalis A-train (12-13.5 s) and cautery (17-19 s) are rejected
    # (spontaneous activity or artifact before the stimulus): written absent, no numbers.
    disturbed = [r for r in before if 12 <= float(r["stim_onset_s"]) <= 19.5]
    clean = [r for r in before if r not in disturbed]
    assert len(clean) >= 20
    assert all(r["present"] == "1" and 7 < float(r["latency_ms"]) < 12 for r in clean)
    assert all(r["present"] == "0" and r["latency_ms"] == "" for r in after)
    s = json.loads((demo_out / "summary.json").read_text())
    assert s["lsr"]["disappeared_at_s"] == pytest.approx(30.0, abs=1.0)
    assert s["lsr"]["baseline_uv"]["L Mentalis"] > 100
    assert "LSR disappeared" in (demo_out / "report.html").read_text()


def test_the_demos_cautery_sweeps_are_rejected_not_a_46_mv_lsr(demo_out):
    """Cautery from the 17 s pulse (its pre-stimulus stretch clean) and over 18-19 s: once
    taken as a 4.6 mV LSR that rescaled the trend, and two rows silently dropped."""
    with open(demo_out / "stim_responses.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == [
        "stim_onset_s", "channel", "present", "latency_ms", "amplitude_uv", "rejected",
    ]  # fmt: skip
    for t in (17.0, 18.0, 19.0):
        hit = [r for r in rows if float(r["stim_onset_s"]) == t]
        assert len(hit) == 4 and {r["rejected"] for r in hit} == {"cautery"}, hit
        assert all(r["present"] == "0" and r["amplitude_uv"] == "" for r in hit)
    lsr = [r for r in rows if r["channel"] != "L Orb. oculi" and r["amplitude_uv"]]
    assert max(float(r["amplitude_uv"]) for r in lsr) < 400  # µV of LSR, never mV
    assert all(r["rejected"] == "" for r in rows if r["present"] == "1")
    s = json.loads((demo_out / "summary.json").read_text())["lsr"]
    assert s["rejected_sweeps"]["cautery"] == 3
    assert s["stimulation_lost_at_s"] is None and s["stimulation_state"] == "ok"
    assert "L Orb. oculi" in s["direct_baseline_uv"]
    assert [c["kind"] for c in s["calls"]] == ["disappeared"]
    # The report's table shows those sweeps as rejected, with the reason.
    page = (demo_out / "report.html").read_text()
    table = page[page.index("<h2>LSR per stimulus") :]
    row = re.search(r"<tr><td>0:00:17(?:\.0)?</td>(.*?)</tr>", table)
    assert row is not None and row.group(1).count("rejected (cautery)") == 4
    assert "L Orb. oculi (direct)" in table
    assert "reached the nerve throughout" in page


def test_a_slipped_stimulating_needle_is_reported_as_stimulation_lost(tmp_path):
    """A recording in which the stimulus stops reaching the nerve at 12 s: the summary's
    stimulation_lost_at_s and call, no disappearance, and the report says why."""
    import numpy as np

    from monitor.edfwriter import EdfWriter
    from monitor.recorder import stim_text
    from simulation.emgsynth import EmgSynth, SimConfig

    quiet = dict(
        spikes_per_min=0, bursts_per_min=0, a_trains_per_min=0, b_trains_per_min=0,
        c_trains_per_min=0, cautery_per_min=0,
    )  # fmt: skip
    cfg = SimConfig(seed=5, stim_start_s=1.0, **quiet)
    on = EmgSynth(cfg)
    off = EmgSynth(
        SimConfig(seed=5, stim_start_s=1.0, threshold_ma=1e6, lsr_threshold_ma=1e6, **quiet)
    )
    rate, n = cfg.rate, int(24 * cfg.rate)
    data, stims = [], []
    for i in range(0, n, 5000):
        a, markers = on.render(i, 5000)
        b, _ = off.render(i, 5000)
        data.append(b if i >= 12 * rate else a)
        stims += markers
    rec = tmp_path / "slipped.edf"
    w = EdfWriter(rec, rate, cfg.labels, fsync_interval_s=60)
    for m in stims:
        w.annotate(m.index / rate, stim_text(m.current_ma, m.width_ms, m.site))
    w.write(np.vstack(data))
    w.close()
    out = tmp_path / "out"
    done = analyze(str(rec), "--out", str(out), "--quiet", tmp=tmp_path)
    assert done.returncode == 0, done.stderr
    s = json.loads((out / "summary.json").read_text())["lsr"]
    assert s["stimulation_lost_at_s"] == pytest.approx(12.0)
    assert s["disappeared_at_s"] is None
    assert [c["kind"] for c in s["calls"]] == ["stimulation_lost"]
    assert any(a["key"] == "stimulation_lost" for a in json.loads(
        (out / "summary.json").read_text())["alarms"])  # fmt: skip
    page = (out / "report.html").read_text()
    assert "Stimulation lost at 0:00:12" in page and "LSR disappeared" not in page


def test_at_200_hz_the_summary_report_and_output_say_why_there_is_no_lsr(tmp_path):
    import numpy as np

    from monitor.edfwriter import EdfWriter

    path = tmp_path / "r200.edf"
    with EdfWriter(path, 200.0, ["L Orb. oculi", "L Mentalis"], record_seconds=1.0) as w:
        w.write(np.random.default_rng(0).normal(0, 20, (4000, 2)))
        for k in range(1, 19):
            w.annotate(k, "stim 10 mA 0.2 ms zygomatic")
    out = analyze(str(path), "--out", str(tmp_path / "out"), "--quiet", tmp=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""  # no traceback, no warning
    lsr = json.loads((tmp_path / "out" / "summary.json").read_text())["lsr"]
    assert lsr["analysed"] is False and lsr["stimuli_not_analysed"] == 18
    why = "LSR not measured: the sampling rate (200 Hz) is below the 1000 Hz it needs."
    assert lsr["reason"] == why
    report = (tmp_path / "out" / "report.html").read_text()
    assert why in report
    assert "18 stimuli were not analysed" in report


def test_free_run_detection_survives_a_slow_recording_with_mains_hum(shared_data, tmp_path):
    """This 128 Hz file crashed the A-train tracker ("60.0 is not in list": its hum
    estimate had no 60 Hz term above 64 Hz Nyquist), switching free-run detection off."""
    path = shared_data / "edf" / "mne_testing_data" / "test_edf_overlapping_annotations.edf"
    out = analyze(str(path), "--out", str(tmp_path / "out"), "--quiet", tmp=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "stopped working" not in out.stderr, out.stderr
