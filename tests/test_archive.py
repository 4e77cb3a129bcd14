"""``main.py analyze DIR``: a folder of recordings on local processes or a Dask cluster,
cohort.csv and cohort.html (commands/analyze.py, commands/cohort.py, docs/archive.md)."""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from commands.analyze import analyze, case_folders, find_recordings
from commands.cohort import COLUMNS

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "recordings" / "demo_mvd.edf"


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> Path:
    """Two good recordings (one in a sub-folder, upper-case suffix) and one whose header
    is cut off."""
    folder = tmp_path_factory.mktemp("archive")
    shutil.copy(DEMO, folder / "case1.edf")
    (folder / "left").mkdir()
    shutil.copy(DEMO, folder / "left" / "Case2.EDF")
    (folder / "broken.bdf").write_bytes(DEMO.read_bytes()[:300])
    (folder / "notes.txt").write_text("not a recording")
    return folder


def read_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def run_folder(folder: Path, out: Path, *options: str) -> int:
    return analyze([str(folder), "--out", str(out), "--quiet", *options])


def test_folder_run_writes_each_case_and_the_cohort(archive, tmp_path, capsys):
    out = archive / "results"  # inside the folder: skipped when looking for recordings
    try:
        assert run_folder(archive, out, "--jobs", "2") == 1  # one recording failed
        rows = read_rows(out / "cohort.csv")
        assert [r["file"] for r in rows] == ["broken.bdf", "case1.edf", "left/Case2.EDF"]
        assert list(rows[0])[: len(COLUMNS)] == COLUMNS
        bad, good = rows[0], rows[1]
        assert "cut off" in bad["status"] and bad["duration_s"] == ""
        assert good["status"] == "ok"
        assert good["duration_s"] == "40.000" and good["channels"] == "4"
        assert good["lsr_baseline"] == "yes" and good["lsr_disappeared"] == "yes"
        assert float(good["lsr_disappeared_s"]) == pytest.approx(30.0)
        assert good["stimulation_lost"] == "no" and good["gaps"] == "0"
        assert good["highest_alarm"] in ("low", "medium", "high")
        per_channel = [float(v) for k, v in good.items() if k.startswith("train_time_s[")]
        assert len(per_channel) == 4
        assert float(good["train_time_total_s"]) == pytest.approx(sum(per_channel), abs=0.01)
        for sub in ("case1", "left/Case2"):
            for name in ("events.csv", "stim_responses.csv", "summary.json", "report.html"):
                assert (out / sub / name).is_file(), f"{sub}/{name}"
        assert not (out / "broken").exists()
        page = (out / "cohort.html").read_text(encoding="utf-8")
        assert page.count("<svg") == 2 and "broken.bdf" in page
        assert 'href="left/Case2/report.html"' in page
        err = capsys.readouterr().err
        assert err.count("error: broken.bdf:") == 1  # --quiet still names the failure
        # A second run does not pick up the results' own files, and --jobs 1 agrees.
        out1 = tmp_path / "one"
        assert run_folder(archive, out1, "--jobs", "1") == 1
        assert (out1 / "cohort.csv").read_bytes() == (out / "cohort.csv").read_bytes()
    finally:
        shutil.rmtree(out, ignore_errors=True)


def test_all_good_is_exit_0_and_progress_is_one_line_per_case(tmp_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(DEMO, folder / "a.edf")
    assert analyze([str(folder), "--out", str(tmp_path / "out"), "--jobs", "1"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert [line for line in err if line.startswith("[")] == [
        line for line in err if line.startswith("[1/1] a.edf: ok")
    ]


def test_no_recording_and_options_without_a_folder_are_exit_2(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert analyze([str(tmp_path / "empty"), "--out", str(tmp_path / "o")]) == 2
    assert analyze([str(DEMO), "--out", str(tmp_path / "o"), "--jobs", "2"]) == 2
    err = capsys.readouterr().err
    assert "no *.edf or *.bdf recording" in err and "--jobs needs a folder" in err


def test_case_folders_keep_an_edf_and_a_bdf_of_the_same_name_apart(tmp_path):
    assert case_folders(["a.edf", "a.BDF", "b/c.edf"]) == ["a_edf", "a_bdf", "b/c"]
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "x.edf").write_bytes(b"")
    (tmp_path / "z.Bdf").write_bytes(b"")
    assert find_recordings(tmp_path, tmp_path / "out") == [tmp_path / "z.Bdf"]


def test_dask_cluster_gives_the_same_cohort_csv(archive, tmp_path):
    distributed = pytest.importorskip("dask.distributed")
    local = tmp_path / "local"
    assert run_folder(archive, local, "--jobs", "2") == 1
    with distributed.LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None
    ) as cluster:
        dask_out = tmp_path / "dask"
        code = run_folder(archive, dask_out, "--scheduler", cluster.scheduler_address)
    assert code == 1
    assert (dask_out / "cohort.csv").read_bytes() == (local / "cohort.csv").read_bytes()
    assert (dask_out / "left" / "Case2" / "report.html").is_file()


def test_unreachable_scheduler_is_one_line_and_exit_2(archive, tmp_path):
    pytest.importorskip("dask.distributed")
    command = [sys.executable, str(ROOT / "main.py"), "analyze", str(archive)]
    command += ["--out", str(tmp_path / "o"), "--scheduler", "tcp://127.0.0.1:9"]
    command += ["--scheduler-timeout", "1"]
    proc = subprocess.run(
        command, capture_output=True, text=True, timeout=60, cwd=ROOT, check=False
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: cannot reach the Dask scheduler")
    assert not (tmp_path / "o" / "cohort.csv").exists()


def test_missing_dask_is_one_sentence_and_exit_2(archive, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "dask.distributed", None)  # import fails
    out = tmp_path / "o"
    assert run_folder(archive, out, "--scheduler", "tcp://127.0.0.1:8786") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--scheduler needs Dask" in err[0]
