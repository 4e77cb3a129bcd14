"""Core real-time factor: 8 channels x 20 kHz in 10 ms blocks through the session.

Pre-generated blocks go through ``Session.process`` (filters, raw and filtered ring
buffers, a subscriber hand-off); the same blocks through bare ``scipy.signal.sosfilt``
with the same filter give the reference cost. Also: the simulator's own generation speed
at 16 channels x 20 kHz. Prints its figures last as one JSON line.

    .venv/bin/python bench/core_rtf.py [--seconds 60]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from scipy import signal

from monitor.block import Block
from monitor.montage import default_labels
from monitor.session import Session
from monitor.source import Source, SourceInfo
from simulation.emgsynth import EmgSynth, SimConfig


class _Blocks(Source):
    def __init__(self, rate: float, labels: tuple[str, ...]) -> None:
        self._info = SourceInfo("bench", rate, labels, "bench")

    @property
    def info(self) -> SourceInfo:
        return self._info

    def open(self) -> None:
        pass

    def read(self) -> Block | None:
        return None

    def close(self) -> None:
        pass


def best_of(fn, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0)
    args = ap.parse_args()
    rate, n_ch, block_n = 20_000.0, 8, 200
    labels = default_labels(n_ch)
    synth = EmgSynth(SimConfig(rate=rate, labels=labels, seed=1))
    n_blocks = int(args.seconds * rate / block_n)
    blocks = [
        Block(i * block_n, synth.render(i * block_n, block_n)[0], rate, labels)
        for i in range(n_blocks)
    ]
    signal_s = n_blocks * block_n / rate

    def through_session() -> None:
        session = Session(_Blocks(rate, labels), buffer_seconds=20)
        session.open()
        session.subscribe("hand-off", lambda block, filtered: None)
        for b in blocks:
            session.process(b)

    probe = Session(_Blocks(rate, labels))
    probe.open()
    sos = probe.filters.sos

    def bare_sosfilt() -> None:
        zi = np.zeros((sos.shape[0], 2, n_ch))
        for b in blocks:
            _, zi = signal.sosfilt(sos, b.data, axis=0, zi=zi)

    t_session = best_of(through_session)
    t_bare = best_of(bare_sosfilt)

    sim16 = EmgSynth(SimConfig(rate=rate, labels=default_labels(16), seed=2))
    sim_s = 30.0

    def generate() -> None:
        for i in range(int(sim_s * rate / block_n)):
            sim16.render(i * block_n, block_n)

    t_sim = best_of(generate, 1)
    result = {
        "bench": "core_rtf",
        "channels": n_ch,
        "rate_hz": rate,
        "block_ms": block_n / rate * 1000,
        "signal_s": signal_s,
        "session_rtf": round(signal_s / t_session, 1),
        "bare_sosfilt_rtf": round(signal_s / t_bare, 1),
        "session_over_bare": round(t_session / t_bare, 2),
        "session_us_per_block": round(t_session / n_blocks * 1e6, 1),
        "simulator_16ch_20khz_rtf": round(sim_s / t_sim, 1),
    }
    print(
        f"session: {result['session_rtf']}x real time, "
        f"{result['session_over_bare']}x the bare filter cost"
    )
    print(f"simulator 16 ch x 20 kHz: {result['simulator_16ch_20khz_rtf']}x real time")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
