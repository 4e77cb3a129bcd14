"""Free-run detection scores on labelled simulator cases, and a look at the real EMG.

Builds cases with the simulator's ground truth, runs the same pipeline as the monitor
(session filters + ``FreeRunDetector``) as fast as it can, matches detections to the
truth and prints a score table:

- quiet baseline: false events per minute (goal <= 0.5);
- spikes and bursts: recall and precision (goal >= 0.9);
- A-trains of 0.1 to 10 s: recall, precision (goal >= 0.95), median onset error
  (goal <= 50 ms), train time error (goal within 10 %), report latency;
- cautery: every episode marked, no spike or train reported inside;
- the same at 20 kHz and with 2 to 16 channels.

Then it runs the detector on the real recordings in ../shared/data/emg and prints what
it finds there. Prints its figures last as one JSON line.

    .venv/bin/python bench/detection_score.py [--minutes 10] [--quick]
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from monitor.events import EmgEvent, EventKind
from monitor.filters import FilterChain
from monitor.freerun import FreeRunDetector
from monitor.montage import default_labels
from simulation.emgsynth import ALL_CHANNELS, QUIET, EmgSynth, SimConfig, TruthEvent

TOLERANCE_S = 0.02


@dataclass
class Run:
    truth: list[TruthEvent]
    events: list[EmgEvent]  # final reports
    first_reports: dict[int, EmgEvent]
    kind_reports: dict[tuple[int, EventKind], EmgEvent]
    rate: float
    seconds: float
    wall_s: float


def run_case(cfg: SimConfig, seconds: float, block_s: float = 0.01, setup=None) -> Run:
    synth = EmgSynth(cfg)
    if setup is not None:
        setup(synth)
    n_ch = len(cfg.labels)
    chain = FilterChain(cfg.rate, n_ch)
    finals: list[EmgEvent] = []
    first: dict[int, EmgEvent] = {}
    by_kind: dict[tuple[int, EventKind], EmgEvent] = {}

    def on_event(ev: EmgEvent) -> None:
        first.setdefault(ev.id, ev)
        by_kind.setdefault((ev.id, ev.kind), ev)
        if ev.final:
            finals.append(ev)

    det = FreeRunDetector(cfg.rate, n_ch, on_event)
    block = round(block_s * cfg.rate)
    total = round(seconds * cfg.rate)
    t0 = time.perf_counter()
    for start in range(0, total, block):
        data, stims = synth.render(start, min(block, total - start))
        det.process(start, chain.process(data), [s.index for s in stims])
    det.flush(total)
    return Run(synth.truth, finals, first, by_kind, cfg.rate, seconds, time.perf_counter() - t0)


def overlaps(a0: int, a1: int, b0: int, b1: int, tol: int) -> bool:
    return a0 < b1 + tol and b0 < a1 + tol


def score(run: Run, kinds: tuple[str, ...]) -> dict:
    """Recall/precision per kind (truth kind == detected kind, same channel, overlapping)."""
    tol = round(TOLERANCE_S * run.rate)
    out = {}
    for kind in kinds:
        truth = [t for t in run.truth if t.kind == kind]
        dets = [e for e in run.events if e.kind.value == kind]
        hit_t, hit_d = set(), set()
        onset_err, tt_err, latency, kind_latency = [], [], [], []
        for i, t in enumerate(truth):
            for j, e in enumerate(dets):
                same_ch = t.channel == e.channel or kind == "artifact"
                if same_ch and overlaps(t.onset, t.offset, e.onset, e.offset, tol):
                    hit_t.add(i)
                    hit_d.add(j)
                    onset_err.append(abs(e.onset - t.onset) / run.rate)
                    tt_err.append(
                        ((e.offset - e.onset) - (t.offset - t.onset)) / (t.offset - t.onset)
                    )
                    first = run.first_reports[e.id]
                    latency.append((first.reported_at - t.onset) / run.rate)
                    as_kind = run.kind_reports[(e.id, e.kind)]
                    kind_latency.append((as_kind.reported_at - t.onset) / run.rate)
                    break
        out[kind] = {
            "truth": len(truth),
            "detected": len(dets),
            "recall": round(len(hit_t) / len(truth), 3) if truth else None,
            "precision": round(len(hit_d) / len(dets), 3) if dets else None,
            "onset_err_ms_median": round(1000 * float(np.median(onset_err)), 1)
            if onset_err
            else None,
            "duration_err_pct_median": round(100 * float(np.median(np.abs(tt_err))), 1)
            if tt_err
            else None,
            "first_report_ms_max": round(1000 * float(np.max(latency)), 1) if latency else None,
            "reported_as_kind_ms_max": (
                round(1000 * float(np.max(kind_latency)), 1) if kind_latency else None
            ),
        }
    return out


def confusion(run: Run) -> dict:
    """What each truth kind was detected as (overlap on the same channel)."""
    tol = round(TOLERANCE_S * run.rate)
    table: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for t in run.truth:
        got = [
            e.kind.value
            for e in run.events
            if t.channel in (e.channel, ALL_CHANNELS)
            and overlaps(t.onset, t.offset, e.onset, e.offset, tol)
        ]
        table[t.kind][got[0] if got else "missed"] += 1
    return {k: dict(v) for k, v in table.items()}


SHARED_EMG = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "emg"
REAL = (
    # file, rate, factor to µV, what it is
    ("physionet_emgdb/emg_healthy.csv", 4000.0, 1000.0, "needle, healthy tibialis anterior"),
    ("physionet_emgdb/emg_myopathy.csv", 4000.0, 1000.0, "needle, myopathy"),
    ("physionet_emgdb/emg_neuropathy.csv", 4000.0, 1000.0, "needle, neuropathy (clips)"),
    ("emghelper_mouse_diaphragm/EMG_data.csv", 5000.0, 1000.0, "mouse diaphragm + ECG"),
    ("spikerbox_biceps_44k/amp_on_baseline.csv", 44100.0, 1.0, "surface, relaxed (counts)"),
    ("spikerbox_biceps_44k/pulse_1.csv", 44100.0, 1.0, "surface, contractions (counts)"),
    ("tugraz_biceps_tattoo/bbcontractions.csv", 1000.0, 1.0, "tattoo surface, a.u."),
)


def real_emg() -> dict:
    """Run the detector on each real recording and count what it reports."""
    if not SHARED_EMG.is_dir():
        return {"skipped": "../shared/data/emg not present"}
    out = {}
    for name, rate, factor, what in REAL:
        path = SHARED_EMG / name
        header = 0 if "bbcontractions" in name else 1
        raw = np.loadtxt(path, delimiter=",", skiprows=header, ndmin=2)[:, -1:] * factor
        x = raw.astype(np.float32)
        chain = FilterChain(rate, 1)
        reports: list[EmgEvent] = []
        det = FreeRunDetector(rate, 1, reports.append)
        for start in range(0, len(x), 1000):
            det.process(start, chain.process(x[start : start + 1000]))
        det.flush(len(x))
        finals = [e for e in reports if e.final]
        counts: dict[str, int] = defaultdict(int)
        for e in finals:
            counts[e.kind.value] += 1
        a_time = sum(e.offset - e.onset for e in finals if e.kind is EventKind.A_TRAIN) / rate
        out[name.split("/")[-1]] = {
            "what": what,
            "seconds": round(len(x) / rate, 1),
            "events": dict(counts),
            "a_train_s": round(a_time, 2),
            "noise_sd": round(float(det.noise_uv[0]), 2),
            "threshold": round(float(det.threshold_uv[0]), 1),
        }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=10.0, help="length of each case")
    ap.add_argument("--quick", action="store_true", help="short cases (a smoke run)")
    args = ap.parse_args()
    minutes = 1.0 if args.quick else args.minutes
    results: dict[str, dict] = {}

    quiet = run_case(SimConfig(seed=1, **QUIET), 60 * minutes)
    results["quiet"] = {
        "minutes": minutes,
        "false_events": len(quiet.events),
        "false_per_min": round(len(quiet.events) / minutes, 2),
        "x_realtime": round(quiet.seconds / quiet.wall_s, 1),
    }
    mixed = {**QUIET, "spikes_per_min": 20.0, "bursts_per_min": 8.0}
    sb = run_case(SimConfig(seed=2, **mixed), 60 * minutes)
    results["spikes_bursts"] = score(sb, ("spike", "burst"))
    results["spikes_bursts"]["confusion"] = confusion(sb)

    def trains(synth: EmgSynth) -> None:
        rng = np.random.default_rng(5)
        t = 2.0
        while t < 60 * minutes - 12:
            dur = float(np.exp(rng.uniform(np.log(0.1), np.log(10.0))))
            synth.add_event("a_train", t, channel=int(rng.integers(0, 4)), duration_s=dur)
            t += dur + rng.uniform(1.0, 4.0)

    at = run_case(SimConfig(seed=3, **{**QUIET, "spikes_per_min": 6.0}), 60 * minutes, setup=trains)
    results["a_trains"] = score(at, ("a_train",))
    results["a_trains"]["confusion"] = confusion(at)
    truth_tt = sum(t.offset - t.onset for t in at.truth if t.kind == "a_train") / at.rate
    det_tt = sum(e.offset - e.onset for e in at.events if e.kind is EventKind.A_TRAIN) / at.rate
    results["a_trains"]["traintime_truth_s"] = round(truth_tt, 2)
    results["a_trains"]["traintime_detected_s"] = round(det_tt, 2)
    results["a_trains"]["traintime_err_pct"] = round(100 * (det_tt - truth_tt) / truth_tt, 1)

    caut = run_case(
        SimConfig(
            seed=4,
            **{**QUIET, "cautery_per_min": 3.0, "spikes_per_min": 10.0, "a_trains_per_min": 2.0},
        ),
        60 * minutes,
    )
    art = [t for t in caut.truth if t.kind == "artifact"]
    marked = sum(
        any(
            e.kind is EventKind.ARTIFACT and overlaps(t.onset, t.offset, e.onset, e.offset, 0)
            for e in caut.events
        )
        for t in art
    )
    inside = sum(
        1
        for e in caut.events
        if e.kind is not EventKind.ARTIFACT and any(t.onset <= e.onset < t.offset for t in art)
    )
    results["cautery"] = {
        "episodes": len(art),
        "marked": marked,
        "events_inside": inside,
        **score(caut, ("artifact", "a_train")),
    }

    variants = {}
    for name, rate, n_ch in (
        ("20kHz_4ch", 20_000.0, 4),
        ("10kHz_2ch", 10_000.0, 2),
        ("10kHz_16ch", 10_000.0, 16),
    ):
        cfg = SimConfig(
            seed=6,
            rate=rate,
            labels=default_labels(n_ch),
            **{
                **QUIET,
                "spikes_per_min": 10.0 * n_ch / 4,
                "bursts_per_min": 3.0,
                "a_trains_per_min": 3.0,
            },
        )
        r = run_case(cfg, 60 * min(minutes, 3.0))
        variants[name] = {
            **score(r, ("spike", "burst", "a_train")),
            "x_realtime": round(r.seconds / r.wall_s, 1),
        }
    results["variants"] = variants
    results["real_emg"] = real_emg()

    print(json.dumps(results, indent=1))
    print(json.dumps({"bench": "detection_score", **results}))


if __name__ == "__main__":
    main()
