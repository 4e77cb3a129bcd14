"""A long case recorded: memory and file size, at 8 channels x 10 kHz.

Runs the simulator as fast as it can through the whole live pipeline (filters, buffers,
free-run detection, evoked analysis at 1 Hz stimulation, the recorder writing EDF+ with its
annotations) for ``--hours`` of signal. Reports the resident size after one minute and at
the end, the file size against the expected EDF size, and the speed. Prints its figures
last as one JSON line.

    .venv/bin/python bench/record_long.py [--hours 1]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import psutil

from drivers.simulator import SimulatorSource
from monitor.caserecording import record_case
from monitor.evoked import EvokedAnalyzer
from monitor.monitoring import FreeRunMonitoring
from monitor.montage import default_labels
from monitor.session import Session, State
from simulation.emgsynth import SimConfig


def rss_mb() -> float:
    return psutil.Process().memory_info().rss / 2**20


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hours", type=float, default=1.0)
    ap.add_argument("--channels", type=int, default=8)
    ap.add_argument("--rate", type=float, default=10_000.0)
    args = ap.parse_args()
    total_s = args.hours * 3600
    cfg = SimConfig(rate=args.rate, labels=default_labels(args.channels), seed=3)
    source = SimulatorSource(cfg, block_seconds=0.05, realtime=False, duration_s=total_s)
    session = Session(source)
    session.open()
    monitoring = FreeRunMonitoring(session)
    evoked = EvokedAnalyzer(args.rate, cfg.labels)
    session.subscribe("Evoked", evoked)
    folder = Path(tempfile.mkdtemp(prefix="fnm-long-"))
    rec = record_case(session, monitoring, evoked, folder / "long.edf", "bench")
    t0 = time.perf_counter()
    session.start()
    rss_1min = None
    while session.state is State.RUNNING:
        time.sleep(0.5)
        if rss_1min is None and session.status().signal_seconds >= 60:
            rss_1min = rss_mb()
    session.join()
    rec.close()
    wall = time.perf_counter() - t0
    size = rec.path.stat().st_size
    expected = total_s * args.rate * args.channels * 2  # 16-bit samples
    stats = rec.stats()
    out = {
        "bench": "record_long",
        "hours": args.hours,
        "channels": args.channels,
        "rate_hz": args.rate,
        "wall_s": round(wall, 1),
        "x_realtime": round(total_s / wall, 1),
        "rss_mb_1min": round(rss_1min or 0.0, 1),
        "rss_mb_end": round(rss_mb(), 1),
        "file_mb": round(size / 1e6, 1),
        "expected_samples_mb": round(expected / 1e6, 1),
        "overhead_pct": round(100 * (size - expected) / expected, 2),
        "annotations": stats["annotations"],
        "dropped_blocks": stats["dropped_blocks"],
        "error": stats["error"],
    }
    rec.path.unlink()
    print(
        f"{args.hours:g} h recorded at {out['x_realtime']}x real time: RSS "
        f"{out['rss_mb_1min']} -> {out['rss_mb_end']} MB, file {out['file_mb']} MB "
        f"({out['overhead_pct']} % over the samples), {out['annotations']} annotations"
    )
    print(json.dumps(out))


if __name__ == "__main__":
    main()
