"""A case archive on all cores: ``main.py analyze DIR`` with ``--jobs 1`` vs ``--jobs 2``
and on a Dask LocalCluster of 2 workers.

Writes 8 simulated 8 ch x 20 kHz EDF recordings (default 120 s each, each with its own
simulator seed) to a temporary folder, analyses the folder with one local process, then
two, then on a Dask ``LocalCluster(n_workers=2, processes=True, threads_per_worker=1)``,
and checks that the three cohort.csv files are byte-identical. Goal: --jobs 2 at least
1.8x faster than --jobs 1 on 2 cores. Prints its figures last as one JSON line.

    .venv/bin/python bench/archive.py [--cases 8] [--seconds 120]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import resource
import tempfile
import time
from pathlib import Path

from analyze_speed import write_case  # the same simulated recording, seeded per case

from commands.analyze import analyze


def children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(argv: list[str]) -> tuple[int, float]:
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        code = analyze(argv)
    return code, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=120.0)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="fnm-archive-"))
    folder = tmp / "archive"
    folder.mkdir()
    t0 = time.perf_counter()
    for k in range(args.cases):
        write_case(folder / f"case{k + 1:02d}.edf", args.seconds, seed=100 + k)
    print(f"wrote {args.cases} recordings in {time.perf_counter() - t0:.1f} s ({folder})")

    walls: dict[str, float] = {}
    cpu: dict[str, float] = {}
    codes: dict[str, int] = {}
    load = os.getloadavg()[0]  # others' work on a shared machine makes the speed-up smaller
    print(f"load average before: {load:.2f} on {os.cpu_count()} CPUs")
    for jobs in (1, 2):
        name = f"jobs{jobs}"
        out = tmp / name
        c0 = children_cpu_s()
        codes[name], walls[name] = timed(
            [str(folder), "--out", str(out), "--quiet", "--jobs", str(jobs)]
        )
        cpu[name] = children_cpu_s() - c0
        print(f"--jobs {jobs}: {walls[name]:.2f} s wall, {cpu[name]:.2f} s CPU in the workers")

    from dask.distributed import LocalCluster

    with LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None
    ) as cluster:
        address = cluster.scheduler_address
        codes["dask"], walls["dask"] = timed(
            [str(folder), "--out", str(tmp / "dask"), "--quiet", "--scheduler", address]
        )
    print(f"Dask LocalCluster, 2 workers: {walls['dask']:.2f} s (workers' first imports included)")

    cohort = {name: (tmp / name / "cohort.csv").read_bytes() for name in walls}
    identical = cohort["jobs1"] == cohort["jobs2"] == cohort["dask"]
    speedup = walls["jobs1"] / walls["jobs2"]
    signal_s = args.cases * args.seconds
    result = {
        "bench": "archive",
        "cases": args.cases,
        "channels": 8,
        "rate_hz": 20_000,
        "signal_s_per_case": args.seconds,
        "cpus": os.cpu_count(),
        "exit_codes": codes,
        "wall_s_jobs1": round(walls["jobs1"], 2),
        "wall_s_jobs2": round(walls["jobs2"], 2),
        "wall_s_dask2": round(walls["dask"], 2),
        "cpu_s_jobs1": round(cpu["jobs1"], 2),
        "cpu_s_jobs2": round(cpu["jobs2"], 2),
        "load_average_before": round(load, 2),
        "speedup_jobs2": round(speedup, 2),
        "x_realtime_jobs2": round(signal_s / walls["jobs2"], 1),
        "cohort_csv_identical": identical,
        "goal_speedup": 1.8,
    }
    print(
        f"{args.cases} cases x {args.seconds:g} s, 8 ch x 20 kHz: --jobs 2 is {speedup:.2f}x "
        f"--jobs 1 (goal >= 1.8); cohort.csv identical (1, 2, Dask): {identical}"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
