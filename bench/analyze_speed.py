"""Offline analysis speed: ``main.py analyze`` over 8 channels x 20 kHz.

Writes a simulated 8 x 20 kHz EDF (default 120 s) to a temporary folder, then runs the
whole analyze pipeline in this process (lazy EDF reading, filters, free-run detection,
train time, alarms, signal quality, the output files) and reports the real-time factor
and the CPU time used (one core). Goal: at least 100x real time. Prints its figures last
as one JSON line.

    .venv/bin/python bench/analyze_speed.py [--seconds 120]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import tempfile
import time
from pathlib import Path

import numpy as np
from edfio import Edf, EdfSignal

from commands.analyze import analyze
from monitor.montage import default_labels
from simulation.emgsynth import EmgSynth, SimConfig


def write_case(path: Path, seconds: float, rate: float = 20_000.0, n_ch: int = 8) -> None:
    synth = EmgSynth(SimConfig(rate=rate, labels=default_labels(n_ch), seed=11))
    n = int(seconds * rate)
    data = np.vstack([synth.render(i, min(20_000, n - i))[0] for i in range(0, n, 20_000)])
    signals = [
        EdfSignal(
            np.clip(data[:, c], -8000, 8000).astype(np.float64),
            rate,
            label=lab,
            physical_dimension="uV",
            physical_range=(-8000, 8000),
        )
        for c, lab in enumerate(default_labels(n_ch))
    ]
    Edf(signals, data_record_duration=1.0).write(path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=120.0)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="fnm-analyze-"))
    rec = tmp / "case_8ch_20k.edf"
    write_case(rec, args.seconds)
    out = tmp / "out"
    t0, c0 = time.perf_counter(), time.process_time()
    with contextlib.redirect_stdout(io.StringIO()):
        code = analyze([str(rec), "--out", str(out), "--quiet"])
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    summary = json.loads((out / "summary.json").read_text())
    result = {
        "bench": "analyze_speed",
        "channels": 8,
        "rate_hz": 20_000,
        "signal_s": args.seconds,
        "exit_code": code,
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "x_realtime_wall": round(args.seconds / wall, 1),
        "x_realtime_cpu": round(args.seconds / cpu, 1),
        "events": sum(sum(c.values()) for c in summary["events"].values()),
    }
    print(
        f"analyze 8 ch x 20 kHz: {result['x_realtime_wall']}x real time "
        f"({result['x_realtime_cpu']}x per CPU second)"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
