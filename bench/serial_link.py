"""Serial link: sustained throughput and latency through a real pseudo-terminal.

The simulated amplifier runs in its own process (as firmware would be another device)
and streams 16 channels x 20 kHz x 24 bit in 2 ms frames; the monitor's session reads
it through ``SerialSource``. Reported: lost frames (device overflows, sequence gaps,
sample gaps, CRC errors), bytes per second, CPU of the serial reader and acquisition
threads, and latency from the moment the device wrote a frame to the moment its
samples were readable in the ring buffer (both clocks are the system's monotonic
clock). Prints its figures last as one JSON line.

    .venv/bin/python bench/serial_link.py [--minutes 10] [--channels 16] [--rate 20000]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil

from drivers.serial_link import SerialSource
from monitor.montage import default_labels
from monitor.session import Session
from simulation.emgsynth import SimConfig


def device_process(
    path: str, channels: int, rate: float, frame_ms: float, sent_t, ready, stop, result
) -> None:
    from drivers.simdevice import SimulatedDevice

    device = SimulatedDevice(
        SimConfig(rate=rate, labels=default_labels(channels), seed=1),
        frame_ms=frame_ms,
        link_path=path,
    )
    frame_n = device._frame_n
    n_slots = len(sent_t)

    def on_frame(index: int, n: int, t: float) -> None:
        sent_t[(index // frame_n) % n_slots] = t

    device.on_frame = on_frame
    device.start()
    ready.set()
    stop.wait()
    device.stop()
    result.put(
        {
            "frames_sent": device.frames_sent,
            "overflows": device.overflows,
            "frames_dropped": device.frames_dropped,
        }
    )


def thread_cpu(native_id: int) -> float:
    for t in psutil.Process().threads():
        if t.id == native_id:
            return t.user_time + t.system_time
    return 0.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--channels", type=int, default=16)
    ap.add_argument("--rate", type=float, default=20_000.0)
    ap.add_argument("--frame-ms", type=float, default=2.0)
    args = ap.parse_args()

    ctx = mp.get_context("fork")
    path = str(Path(tempfile.mkdtemp(prefix="fnm-bench-")) / "amp")
    frame_n = round(args.frame_ms * args.rate / 1000)
    n_slots = 1 << 16
    sent_t = ctx.Array("d", n_slots, lock=False)
    ready, stop, result = ctx.Event(), ctx.Event(), ctx.Queue()
    proc = ctx.Process(
        target=device_process,
        args=(path, args.channels, args.rate, args.frame_ms, sent_t, ready, stop, result),
    )
    proc.start()
    ready.wait(10)

    latencies: list[float] = []
    frames_seen = 0

    def on_block(block, filtered) -> None:
        nonlocal frames_seen
        now = time.monotonic()
        # A block is whole frames; the device files each frame's write time under the
        # frame's first sample index // frame_n (frames need not start on multiples).
        for start in range(block.start, block.stop, frame_n):
            t = sent_t[(start // frame_n) % n_slots]
            if t > 0:
                latencies.append(now - t)
            frames_seen += 1

    source = SerialSource(path)
    session = Session(source)
    session.subscribe("latency", on_block)
    session.start()
    time.sleep(2.0)  # settle, then measure
    latencies.clear()
    acq_id = session._thread.native_id
    reader_id = source._reader.native_id
    cpu0 = {"acq": thread_cpu(acq_id), "reader": thread_cpu(reader_id)}
    s0 = session.status()
    t0 = time.monotonic()
    end = t0 + args.minutes * 60
    while time.monotonic() < end:
        time.sleep(1.0)
    wall = time.monotonic() - t0
    s1 = session.status()
    cpu = {
        "acq": thread_cpu(acq_id) - cpu0["acq"],
        "reader": thread_cpu(reader_id) - cpu0["reader"],
    }
    session.stop()
    stop.set()
    dev = result.get(timeout=10)
    proc.join(10)

    lat = np.array(latencies) * 1000
    samples = s1.samples - s0.samples
    bytes_per_s = samples / wall * (args.channels * 3 + (26 / frame_n))
    out = {
        "bench": "serial_link",
        "channels": args.channels,
        "rate_hz": args.rate,
        "bits": 24,
        "frame_ms": args.frame_ms,
        "minutes": round(wall / 60, 2),
        "samples_per_channel": samples,
        "expected_samples": round(wall * args.rate),
        "gaps": s1.gaps,
        "gap_samples": s1.gap_samples,
        "lost_frames_seq": source.lost_frames,
        "crc_errors": source.parser.crc_errors,
        "device_overflows": dev["overflows"],
        "lost_frames": source.lost_frames + dev["overflows"] + s1.gaps,
        "link_bytes_per_s": round(bytes_per_s),
        "reader_thread_cpu_pct": round(100 * cpu["reader"] / wall, 1),
        "acquisition_thread_cpu_pct": round(100 * cpu["acq"] / wall, 1),
        "latency_ms_median": round(float(np.median(lat)), 2) if lat.size else None,
        "latency_ms_p99": round(float(np.percentile(lat, 99)), 2) if lat.size else None,
        "latency_ms_max": round(float(lat.max()), 2) if lat.size else None,
    }
    print(
        f"{args.channels} ch x {args.rate:g} Hz x 24 bit for {out['minutes']} min: "
        f"{out['lost_frames']} lost frames; latency median {out['latency_ms_median']} ms, "
        f"p99 {out['latency_ms_p99']} ms; reader {out['reader_thread_cpu_pct']} % CPU, "
        f"acquisition {out['acquisition_thread_cpu_pct']} %"
    )
    print(json.dumps(out))


if __name__ == "__main__":
    main()
