"""Lab Streaming Layer link: a published room read back on loopback.

A simulated case (16 channels x 20 kHz by default, paced by the wall clock) runs the
whole live pipeline with an :class:`drivers.lsl_out.LslPublisher` attached; our own
receiver (two pylsl inlets on threads of this process, the EMG pulled as numpy into a
ring buffer) reads it back. Every few seconds an alarm condition is raised or cleared.
Reported: samples lost (gaps in the received sample indices from the first sample
received to the last one pushed, and samples the publisher dropped; goal 0),
latency from a chunk pushed into the outlet to its newest sample received (p50/p99/max,
goal p99 ≤ 100 ms) and from the sample's stamp (its acquisition: ``t0 + index / rate``,
``t0`` anchored on the first block's arrival, so it can be slightly negative) to
reception, latency
from an alarm change to its marker received (goal ≤ 500 ms), status markers a second,
and the CPU of the process. Prints its figures last as one JSON line.

    .venv/bin/python bench/lsl_link.py [--minutes 10] [--channels 16] [--rate 20000]
"""

from __future__ import annotations

import argparse
import bisect
import json
import sys
import threading
import time
import uuid

from drivers.lslconfig import restrict_to_hosts

restrict_to_hosts()  # loopback only, before the first pylsl call

import numpy as np  # noqa: E402
import psutil  # noqa: E402
import pylsl  # noqa: E402

from drivers import lslmarkers  # noqa: E402
from drivers.lsl_out import LslPublisher  # noqa: E402
from drivers.sources import Simulated  # noqa: E402
from monitor.casemodel import open_case  # noqa: E402
from monitor.montage import default_labels  # noqa: E402
from simulation.emgsynth import SimConfig  # noqa: E402

ALARM_KEY = "bench:1"


def resolve(name: str) -> pylsl.StreamInlet:
    infos = pylsl.resolve_byprop("name", name, 1, 10.0)
    if not infos:
        raise SystemExit(f"stream {name!r} not found")
    inlet = pylsl.StreamInlet(infos[0], max_buflen=30)
    inlet.open_stream(10.0)
    return inlet


class EmgReceiver(threading.Thread):
    """Pulls the EMG into a ring buffer; keeps the received indices' continuity and the
    latency of each pull's newest sample."""

    def __init__(self, inlet, rate: float, channels: int, stop: threading.Event) -> None:
        super().__init__(name="bench-emg-receiver", daemon=True)
        self.inlet, self.rate, self.stop_ = inlet, rate, stop
        self.ring = np.zeros((int(rate * 10), channels), np.float32)
        self.pos = 0
        self.received = 0
        self.first_stamp: float | None = None
        self.last_stamp: float | None = None
        self.gaps = 0
        self.gap_samples = 0
        self.pulls: list[tuple[float, float]] = []  # (newest stamp, received at)

    def run(self) -> None:
        step = 1.0 / self.rate
        while not self.stop_.is_set():
            data, stamps = self.inlet.pull_chunk(
                timeout=0.5, max_samples=16384, min_samples=1, as_numpy=True
            )
            now = pylsl.local_clock()
            n = len(stamps)
            if not n:
                continue
            if self.first_stamp is None:
                self.first_stamp = float(stamps[0])
            elif self.last_stamp is not None:
                missing = round((stamps[0] - self.last_stamp) / step) - 1
                if missing:
                    self.gaps += 1
                    self.gap_samples += missing
            self.last_stamp = float(stamps[-1])
            self.received += n
            self.pulls.append((float(stamps[-1]), now))
            k = min(n, len(self.ring))
            idx = (self.pos + np.arange(k)) % len(self.ring)
            self.ring[idx] = data[-k:]
            self.pos = (self.pos + k) % len(self.ring)


class MarkerReceiver(threading.Thread):
    def __init__(self, inlet, stop: threading.Event) -> None:
        super().__init__(name="bench-marker-receiver", daemon=True)
        self.inlet, self.stop_ = inlet, stop
        self.alarms: list[tuple[str, float]] = []  # (state, received at)
        self.status = 0
        self.kinds: dict[str, int] = {}

    def run(self) -> None:
        while not self.stop_.is_set():
            sample, _ = self.inlet.pull_sample(timeout=0.5)
            if sample is None:
                continue
            now = pylsl.local_clock()
            m = lslmarkers.decode(sample[0])
            if m is None:
                continue
            self.kinds[m["kind"]] = self.kinds.get(m["kind"], 0) + 1
            if m["kind"] == "alarm" and m.get("key") == ALARM_KEY:
                self.alarms.append((m["state"], now))


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--channels", type=int, default=16)
    ap.add_argument("--rate", type=float, default=20000.0)
    ap.add_argument("--alarm-every", type=float, default=5.0, metavar="SECONDS")
    args = ap.parse_args()

    room = f"bench-{uuid.uuid4().hex[:6]}"
    config = SimConfig(rate=args.rate, labels=default_labels(args.channels), seed=1)
    case = open_case(Simulated(config, speed=1.0))
    publisher = LslPublisher(case, room=room, signal="filtered")
    pushes: list[tuple[float, float]] = []  # (newest stamp of the chunk, pushed at)
    push = publisher._push_chunk

    def timed_push(chunk) -> None:
        push(chunk)
        assert chunk.att.t0 is not None
        last = chunk.att.t0 + (chunk.start + len(chunk.data) - 1) / chunk.att.rate
        pushes.append((last, pylsl.local_clock()))

    publisher._push_chunk = timed_push  # type: ignore[method-assign]
    stop = threading.Event()
    emg = EmgReceiver(resolve(lslmarkers.emg_stream_name(room)), args.rate, args.channels, stop)
    markers = MarkerReceiver(resolve(lslmarkers.marker_stream_name(room)), stop)
    emg.start()
    markers.start()
    proc = psutil.Process()
    proc.cpu_percent(None)
    raised: list[tuple[str, float]] = []  # (state, changed at)
    start = time.monotonic()
    end = start + args.minutes * 60
    on = False
    next_alarm = start + args.alarm_every
    next_print = start + 60
    while time.monotonic() < end:
        time.sleep(0.05)
        now = time.monotonic()
        if now >= next_alarm:
            next_alarm += args.alarm_every
            t = pylsl.local_clock()
            if on:
                case.alarms.clear_condition(ALARM_KEY, case.now_index())
                raised.append(("resolved", t))
            else:
                case.alarms.raise_condition(ALARM_KEY, "Bench alarm", case.now_index())
                raised.append(("active", t))
            on = not on
        if now >= next_print:
            next_print += 60
            print(
                f"{(now - start) / 60:.0f} min: {emg.received} samples received, "
                f"{emg.gap_samples} missing, {publisher.dropped_samples} dropped",
                flush=True,
            )
    cpu = proc.cpu_percent(None)
    case.session.stop()  # no more blocks; the publisher pushes what it holds
    time.sleep(1.5)  # and the receivers read the last of it
    elapsed = time.monotonic() - start
    stop.set()
    emg.join(2)
    markers.join(2)
    emg.inlet = markers.inlet = None  # the receivers go before the streams do
    status = case.session.status()
    publisher.close()
    case.close()

    # pushed -> received: the push of the chunk holding each pull's newest sample
    push_stamps = [p[0] for p in pushes]
    push_lat, stamp_lat = [], []
    for stamp, got in emg.pulls:
        i = bisect.bisect_left(push_stamps, stamp - 1e-9)
        if i < len(pushes):
            push_lat.append((got - pushes[i][1]) * 1000)
        stamp_lat.append((got - stamp) * 1000)
    # alarm change -> marker: the n-th change and the n-th marker of the key
    alarm_lat = [
        (got - t) * 1000
        for (state, t), (got_state, got) in zip(raised, markers.alarms, strict=False)
        if state == got_state
    ]
    expected = (
        round((emg.last_stamp - emg.first_stamp) * args.rate) + 1
        if emg.first_stamp is not None and emg.last_stamp is not None
        else 0
    )
    # every sample pushed after the first one received reached the receiver?
    tail = round((pushes[-1][0] - emg.last_stamp) * args.rate) if pushes and emg.last_stamp else 0
    lost = expected - emg.received + max(0, tail)
    out = {
        "bench": "lsl_link",
        "minutes": args.minutes,
        "channels": args.channels,
        "rate_hz": args.rate,
        "samples_received": emg.received,
        "samples_not_received_at_the_end": tail,
        "samples_lost": lost,
        "gaps": emg.gaps,
        "publisher_dropped_samples": publisher.dropped_samples,
        "publisher_dropped_markers": publisher.dropped_markers,
        "source_gaps": status.gaps,
        "push_to_receive_ms_p50": round(pct(push_lat, 50), 2),
        "push_to_receive_ms_p99": round(pct(push_lat, 99), 2),
        "push_to_receive_ms_max": round(max(push_lat, default=float("nan")), 2),
        "acquired_to_receive_ms_p50": round(pct(stamp_lat, 50), 2),
        "acquired_to_receive_ms_p99": round(pct(stamp_lat, 99), 2),
        "alarm_changes": len(raised),
        "alarm_markers": len(markers.alarms),
        "alarm_to_marker_ms_median": round(pct(alarm_lat, 50), 2),
        "alarm_to_marker_ms_max": round(max(alarm_lat, default=float("nan")), 2),
        "status_markers_per_s": round(markers.kinds.get("status", 0) / elapsed, 3),
        "markers_by_kind": markers.kinds,
        "process_cpu_percent": round(cpu, 1),
        "held": bool(
            lost == 0
            and publisher.dropped_samples == 0
            and pct(push_lat, 99) <= 100
            and alarm_lat
            and max(alarm_lat) <= 500
            and len(markers.alarms) == len(raised)
        ),
    }
    print(
        f"{args.channels} ch x {args.rate:g} Hz for {args.minutes:g} min on loopback: "
        f"{emg.received} samples received, {lost} lost (gaps {emg.gaps}), "
        f"{publisher.dropped_samples} dropped by the publisher"
    )
    print(
        f"chunk pushed -> newest sample received: p50 {out['push_to_receive_ms_p50']} ms, "
        f"p99 {out['push_to_receive_ms_p99']} ms (goal <= 100), max "
        f"{out['push_to_receive_ms_max']} ms; acquired -> received p99 "
        f"{out['acquired_to_receive_ms_p99']} ms"
    )
    print(
        f"alarm change -> marker received: {len(markers.alarms)}/{len(raised)}, median "
        f"{out['alarm_to_marker_ms_median']} ms, max {out['alarm_to_marker_ms_max']} ms "
        f"(goal <= 500); {out['status_markers_per_s']} status markers/s; process CPU "
        f"{out['process_cpu_percent']} % of a core"
    )
    print(json.dumps(out))
    return 0 if out["held"] else 1


if __name__ == "__main__":
    sys.exit(main())
