"""Memory: resident size after one simulated hour versus after one minute.

Runs the simulator (stimulating at 1 Hz) as fast as it can through the session (filters,
both ring buffers, the display envelope, free-run detection with its event log and alarms,
the evoked-response engine) for one hour of signal, sampling the resident size.
Goal: the hour ends within 50 MB of the one-minute figure. Prints its figures last as
one JSON line.

    .venv/bin/python bench/memory_hour.py [--hours 1] [--channels 8] [--rate 20000]
"""

from __future__ import annotations

import argparse
import json
import time

import psutil

from drivers.simulator import SimulatorSource
from monitor.envelope import Envelope
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
    ap.add_argument("--rate", type=float, default=20_000.0)
    args = ap.parse_args()
    config = SimConfig(rate=args.rate, labels=default_labels(args.channels), seed=1)
    total_s = args.hours * 3600
    source = SimulatorSource(config, block_seconds=0.05, realtime=False, duration_s=total_s)
    session = Session(source)
    session.open()
    session.subscribe("Display", Envelope(args.rate, args.channels))
    FreeRunMonitoring(session)  # detectors, train time, alarms, event log
    session.subscribe("Evoked", EvokedAnalyzer(args.rate, config.labels))
    marks: dict[str, float] = {}
    t0 = time.perf_counter()
    session.start()
    while session.state is State.RUNNING:
        time.sleep(0.2)
        t = session.status().signal_seconds
        if t >= 60 and "1min" not in marks:
            marks["1min"] = rss_mb()
        if t >= 600 and "10min" not in marks:
            marks["10min"] = rss_mb()
    session.join()
    wall = time.perf_counter() - t0
    marks["end"] = rss_mb()
    result = {
        "bench": "memory_hour",
        "channels": args.channels,
        "rate_hz": args.rate,
        "signal_s": session.status().signal_seconds,
        "wall_s": round(wall, 1),
        "rss_mb_1min": round(marks.get("1min", 0), 1),
        "rss_mb_10min": round(marks.get("10min", 0), 1),
        "rss_mb_end": round(marks["end"], 1),
        "growth_mb": round(marks["end"] - marks.get("1min", marks["end"]), 1),
    }
    print(
        f"RSS {result['rss_mb_1min']} MB after 1 min, {result['rss_mb_end']} MB after "
        f"{result['signal_s'] / 3600:.2f} h of signal: +{result['growth_mb']} MB"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
