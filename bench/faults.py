"""Faults measured: damaged files through every command, a removed folder, a huge gap, a
scenario that cannot keep its speed.

1. **Damaged files.** The test corpus (``validation/damagedfiles.py``: truncations, every header
   field made empty, zero, negative, huge, non-numeric, NaN or infinite, annotation
   garbage, mismatched sizes, odd rates and channel counts) and every EDF/BDF file in
   ``../shared/data/edf`` go through ``analyze``, the replay (offline, the whole file),
   ``recover`` (on a copy) and ``deidentify``, in this process. Counted per command: used,
   refused in one line, tracebacks (an exception out of the command), input files
   changed, the slowest file and the peak memory of the process.
2. **The recording folder removed** while recording at 4 ch x 10 kHz: seconds until the
   recorder's alarm sentence, over several trials.
3. **A jump of 10^6 s** in the stream while recording: bytes written and time taken.
4. **A scenario at 50x** whose consumer manages about 8x: samples dropped, slow-downs said.

Prints the tables, then one JSON line.

    .venv/bin/python bench/faults.py [--trials 5]
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import itertools
import json
import resource
import shutil
import statistics
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

import main
from drivers.replay import ReplaySource
from monitor.block import Block
from monitor.recorder import Recorder
from monitor.source import EndOfStream, SourceError
from validation.damagedfiles import corpus

ROOT = Path(__file__).resolve().parents[1]
SHARED_EDF = ROOT.parent / "shared" / "data" / "edf"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def edf_files(folder: Path) -> list[Path]:
    """Every EDF/BDF file under ``folder``, recognised by its first bytes."""
    if not folder.is_dir():
        return []
    out = []
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            with path.open("rb") as f:
                if f.read(8) in (b"0       ", b"\xffBIOSEMI"):
                    out.append(path)
    return out


def play(path: Path) -> int:
    """The replay, offline, to the end: 0 played, 2 refused (as ``--replay`` exits)."""
    src = ReplaySource(path, realtime=False)
    try:
        src.open()
        while True:
            src.read()
    except EndOfStream:
        return 0
    except SourceError:
        return 2
    finally:
        src.close()


def command(argv: list[str]) -> int:
    """A sub-command of ``main.py`` in this process, its output swallowed."""
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        try:
            return main.main(argv)
        except SystemExit as exc:  # argparse: a bad command line, one line
            return int(exc.code or 0)


def files_through_commands(files: list[Path], work: Path) -> dict:
    """Each command over each file: used / refused / traceback / input changed."""
    counts = {
        c: {"used": 0, "refused": 0, "tracebacks": 0, "changed": 0, "slowest_s": 0.0}
        for c in ("analyze", "replay", "recover", "deidentify")
    }
    failures: list[str] = []
    work.mkdir(parents=True, exist_ok=True)
    for k, path in enumerate(files):
        copy = work / f"recover-{k}{path.suffix}"
        shutil.copyfile(path, copy)
        runs = {
            "analyze": (
                path,
                lambda p=path, o=work / f"a{k}": command(
                    ["analyze", str(p), "--out", str(o), "--quiet"]
                ),
            ),
            "replay": (path, lambda p=path: play(p)),
            "recover": (copy, lambda c=copy: command(["recover", str(c)])),
            "deidentify": (
                path,
                lambda p=path, o=work / f"d{k}.edf": command(
                    ["deidentify", str(p), "--out", str(o), "--shift-days", "0"]
                ),
            ),
        }
        for name, (target, run) in runs.items():
            before = digest(target)
            t0 = time.perf_counter()
            try:
                status = run()
            except Exception as exc:  # a traceback the user would have seen
                counts[name]["tracebacks"] += 1
                failures.append(f"{name} {path.name}: {type(exc).__name__}: {exc}")
                continue
            finally:
                took = time.perf_counter() - t0
                counts[name]["slowest_s"] = round(max(counts[name]["slowest_s"], took), 2)
            counts[name]["used" if status == 0 else "refused"] += 1
            # recover may change its file only after keeping a backup beside it.
            backups = list(work.glob(f"recover-{k}.before-recover*"))
            if digest(target) != before and not (name == "recover" and backups):
                counts[name]["changed"] += 1
                failures.append(f"{name} changed {path.name}")
            if name == "recover" and backups and digest(backups[0]) != before:
                counts[name]["changed"] += 1
                failures.append(f"recover's backup of {path.name} differs from the file")
    return {"files": len(files), "commands": counts, "failures": failures[:20]}


def _blocks(start: int, n_blocks: int, n: int = 100):
    rng = np.random.default_rng(0)
    for k in range(n_blocks):
        yield Block(
            start + k * n,
            rng.normal(0, 50, (n, 4)).astype(np.float32),
            10_000.0,
            ("A", "B", "C", "D"),
        )


def folder_removed(trials: int) -> dict:
    """Seconds from ``rm -r`` of the recording folder to the recorder's sentence."""
    delays = []
    for _ in range(trials):
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / "case"
            folder.mkdir()
            said = threading.Event()
            rec = Recorder(
                folder / "r.edf",
                10_000.0,
                ("A", "B", "C", "D"),
                on_error=lambda _text, e=said: e.set(),
            )
            rec.start()
            blocks = _blocks(0, 100_000)
            for b in (next(blocks) for _ in range(100)):  # 1 s recorded
                rec(b, None)
            shutil.rmtree(folder)
            t0 = time.monotonic()
            while not said.is_set() and time.monotonic() - t0 < 10:
                rec(next(blocks), None)
                time.sleep(0.01)  # 10 ms of signal per 10 ms: live pace
            delays.append(time.monotonic() - t0 if said.is_set() else float("inf"))
            rec.close()
    return {
        "trials": trials,
        "median_s": round(statistics.median(delays), 2),
        "max_s": round(max(delays), 2),
    }


def huge_gap() -> dict:
    """A 10^6 s jump while recording 4 ch x 10 kHz: file size and time."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "g.edf"
        rec = Recorder(path, 10_000.0, ("A", "B", "C", "D"))
        rec.start()
        t0 = time.perf_counter()
        for b in _blocks(0, 100):
            rec(b, None)
        for b in _blocks(10_000 + 10**10, 100):
            rec(b, None)
        rec.close()
        return {
            "gap_s": 1e6,
            "file_kb": round(path.stat().st_size / 1024, 1),
            "seconds": round(time.perf_counter() - t0, 2),
            "error": rec.error,
        }


def slow_scenario() -> dict:
    """A scenario asked for 50x whose consumer manages about 8x, for 3 s of wall time."""
    from drivers.scenario_sources import ScenarioSource
    from monitor.session import Session
    from simulation.scenario_engine import ScenarioEngine
    from simulation.scenario_parser import parse_scenario

    text = (ROOT / "scenarios" / "routine_mvd.toml").read_text()
    src = ScenarioSource(ScenarioEngine(parse_scenario(text, "routine_mvd.toml")), speed=50.0)
    session = Session(src)
    session.open()
    spans: list[tuple[int, int, int]] = []

    def slow(block: Block, _filtered) -> None:
        spans.append((block.start, block.stop, sum(g.n_missing for g in block.gaps)))
        time.sleep(block.n_samples / block.rate / 8)

    session.subscribe("slow", slow)
    session.start()
    time.sleep(3.0)
    session.stop()
    dropped = sum(b[0] - a[1] for a, b in itertools.pairwise(spans))
    scripted = sum(s[2] for s in spans)
    said = [p.text for p in session.problems_since(0)[1] if "slower than asked" in p.text]
    return {
        "signal_s": round(spans[-1][1] / src.info.rate, 1),
        "samples_dropped": int(dropped - scripted),
        "slowdowns": src.fell_behind,
        "said": len(said),
    }


def main_bench() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=5)
    args = ap.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        damaged = corpus(work / "corpus")
        shared = edf_files(SHARED_EDF)
        t0 = time.perf_counter()
        results["damaged"] = files_through_commands(damaged, work / "runs-damaged")
        results["shared"] = files_through_commands(shared, work / "runs-shared")
        results["files_seconds"] = round(time.perf_counter() - t0, 1)
    results["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    results["folder_removed"] = folder_removed(args.trials)
    results["huge_gap"] = huge_gap()
    results["slow_scenario"] = slow_scenario()
    for group in ("damaged", "shared"):
        r = results[group]
        print(f"\n{group}: {r['files']} files")
        print(
            f"{'command':<12}{'used':>6}{'refused':>9}{'tracebacks':>12}{'changed':>9}"
            f"{'slowest s':>11}"
        )
        for name, c in r["commands"].items():
            print(
                f"{name:<12}{c['used']:>6}{c['refused']:>9}{c['tracebacks']:>12}"
                f"{c['changed']:>9}{c['slowest_s']:>11}"
            )
        for line in r["failures"]:
            print("  !", line)
    print(json.dumps(results))


if __name__ == "__main__":
    main_bench()
