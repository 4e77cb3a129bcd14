"""Lazy window reads of a large EDF/BDF file: edfio vs pyedflib vs drivers.edfreader.

Builds, in a temporary folder, a one-hour EDF+C file with 8 channels at 10 kHz (576 MB,
written a minute at a time so memory stays small) and a ten-minute BDF+C file of the
same layout, then times, each in a fresh process (so peak memory is per reader):

- opening the file lazily (header only where the library allows it);
- reading 20 windows of 10 s x 8 channels at random places, in physical units;
- the peak resident memory of that process above its resident memory after imports;
- playing the whole EDF file through ``ReplaySource(realtime=False)``.

Reads hit the page cache (the file was just written): the figures compare the readers'
own costs, not the disk. Prints a few lines of prose, then ONE JSON line with the figures.

Run: ``.venv/bin/python bench/replay_read.py`` (about a minute; needs ~1 GB of /tmp).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

RATE = 10_000
CHANNELS = 8
WINDOW_S = 10.0
N_WINDOWS = 20
ANNOTATION_SAMPLES = 30  # 60 bytes of TALs per one-second record


def _field(value: object, width: int) -> bytes:
    return str(value).encode("ascii").ljust(width)[:width]


def write_file(path: Path, seconds: int, bdf: bool) -> None:
    """An EDF+C/BDF+C file: 1 s records, 8 sine+noise channels in µV, timekeeping TALs."""
    ns = CHANNELS + 1
    labels = [f"EMG {i + 1}" for i in range(CHANNELS)] + [
        "BDF Annotations" if bdf else "EDF Annotations"
    ]
    dmax = 8_388_607 if bdf else 32_767
    head = b"".join(
        [
            b"\xffBIOSEMI" if bdf else _field(0, 8),
            _field("X X X X", 80),
            _field("Startdate 01-JAN-2024 X X X", 80),
            b"01.01.24",
            b"10.00.00",
            _field(256 * (ns + 1), 8),
            _field("BDF+C" if bdf else "EDF+C", 44),
            _field(seconds, 8),
            _field(1, 8),
            _field(ns, 4),
        ]
    )
    per_signal = [
        [_field(label, 16) for label in labels],
        [_field("needle", 80)] * CHANNELS + [_field("", 80)],
        [_field("uV", 8)] * CHANNELS + [_field("", 8)],
        [_field(-5000, 8)] * CHANNELS + [_field(-1, 8)],
        [_field(5000, 8)] * CHANNELS + [_field(1, 8)],
        [_field(-dmax - 1, 8)] * ns,
        [_field(dmax, 8)] * ns,
        [_field("HP:10Hz LP:3kHz", 80)] * CHANNELS + [_field("", 80)],
        [_field(RATE, 8)] * CHANNELS + [_field(ANNOTATION_SAMPLES, 8)],
        [_field("", 32)] * ns,
    ]
    rng = np.random.default_rng(1)
    t = np.arange(RATE * 60) / RATE
    sample_bytes = 3 if bdf else 2
    with path.open("wb") as out:
        out.write(head + b"".join(b"".join(column) for column in per_signal))
        for minute in range(0, seconds, 60):
            n_rec = min(60, seconds - minute)
            uv = 200 * np.sin(2 * np.pi * 50 * t[: n_rec * RATE])[:, None] + rng.normal(
                0, 20, (n_rec * RATE, CHANNELS)
            )
            digital = np.rint(uv / 5000 * dmax).astype(np.int32)
            # (records, channels, samples) in little-endian sample_bytes each
            per_record = digital.reshape(n_rec, RATE, CHANNELS).transpose(0, 2, 1)
            raw = np.ascontiguousarray(per_record, "<i4").view(np.uint8)
            raw = raw.reshape(n_rec, CHANNELS, RATE, 4)
            raw = raw[..., :sample_bytes].reshape(n_rec, -1)
            tals = np.zeros((n_rec, ANNOTATION_SAMPLES * sample_bytes), np.uint8)
            for r in range(n_rec):
                tal = f"+{minute + r}\x14\x14\x00".encode()
                tals[r, : len(tal)] = np.frombuffer(tal, np.uint8)
            out.write(np.hstack((raw, tals)).tobytes())


def _memory_kb(field: str) -> int:
    """``VmRSS`` (now) or ``VmHWM`` (peak) of this process from /proc (Linux), in kB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _windows(duration_s: float) -> list[float]:
    rng = np.random.default_rng(7)
    return [float(x) for x in rng.integers(0, int(duration_s - WINDOW_S), N_WINDOWS)]


def measure(reader: str, path: Path) -> dict[str, float]:
    """Run in a child process: open lazily, read the windows, report times and memory."""
    warnings.simplefilter("ignore")
    import edfio
    import pyedflib

    from drivers.edfreader import EdfFile

    base = _memory_kb("VmRSS")
    t0 = time.perf_counter()
    if reader == "edfio":
        f = edfio.read_bdf(path) if path.suffix == ".bdf" else edfio.read_edf(path, True)
        signals = f.signals
        duration = f.duration

        def window(s: float) -> list[np.ndarray]:
            return [sig.get_data_slice(s, s + WINDOW_S) for sig in signals]

    elif reader == "pyedflib":
        f = pyedflib.EdfReader(str(path))
        duration = f.getFileDuration()

        def window(s: float) -> list[np.ndarray]:
            start, n = int(s * RATE), int(WINDOW_S * RATE)
            return [f.readSignal(i, start, n) for i in range(CHANNELS)]

    else:
        f = EdfFile(path)
        duration = f.n_records * f.record_duration
        data = [s for s in f.signals if not s.is_annotation]

        def window(s: float) -> list[np.ndarray]:
            rows = f.read_records(int(s), int(s + WINDOW_S))
            return [f.physical(rows, sig) for sig in data]

    opened = time.perf_counter() - t0
    times = []
    for s in _windows(duration):
        t1 = time.perf_counter()
        got = window(s)
        times.append(time.perf_counter() - t1)
        assert len(got) == CHANNELS and len(got[0]) == WINDOW_S * RATE
    peak = _memory_kb("VmHWM")
    return {
        "open_s": round(opened, 4),
        "window_median_s": round(statistics.median(times), 4),
        "window_max_s": round(max(times), 4),
        "peak_rss_mb": round((peak - base) / 1024, 1),
    }


def measure_replay(path: Path) -> dict[str, float]:
    """Run in a child process: play the whole file offline through ReplaySource."""
    from drivers.replay import ReplaySource
    from monitor.source import EndOfStream

    base = _memory_kb("VmRSS")
    t0 = time.perf_counter()
    src = ReplaySource(path, realtime=False)
    src.open()
    opened = time.perf_counter() - t0
    samples = 0
    try:
        while True:
            block = src.read()
            samples += block.n_samples if block is not None else 0
    except EndOfStream:
        pass
    elapsed = time.perf_counter() - t0
    src.close()
    peak = _memory_kb("VmHWM")
    return {
        "open_s": round(opened, 4),
        "play_s": round(elapsed, 2),
        "x_realtime": round(samples / RATE / elapsed, 1),
        "peak_rss_mb": round((peak - base) / 1024, 1),
    }


def _child(*args: str) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", *args], capture_output=True, text=True, check=False
    )
    if out.returncode:
        return {"error": (out.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    figures: dict[str, object] = {
        "layout": f"{CHANNELS} ch x {RATE} Hz, 1 s records, {WINDOW_S:g} s windows x {N_WINDOWS}"
    }
    with tempfile.TemporaryDirectory() as tmp:
        for name, seconds, bdf in (("edf_1h", 3600, False), ("bdf_10min", 600, True)):
            path = Path(tmp) / f"{name}.{'bdf' if bdf else 'edf'}"
            t0 = time.perf_counter()
            write_file(path, seconds, bdf)
            size_mb = round(path.stat().st_size / 1e6)
            print(f"wrote {path.name}: {size_mb} MB in {time.perf_counter() - t0:.1f} s")
            result: dict[str, object] = {"size_mb": size_mb}
            for reader in ("edfio", "pyedflib", "edfreader"):
                result[reader] = _child(reader, str(path))
                print(f"  {reader:9s} {result[reader]}")
            if not bdf:
                result["replay_offline"] = _child("replay", str(path))
                print(f"  replay    {result['replay_offline']}")
            figures[name] = result
    print(json.dumps(figures))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        what, file = sys.argv[2], Path(sys.argv[3])
        print(json.dumps(measure_replay(file) if what == "replay" else measure(what, file)))
    else:
        main()
