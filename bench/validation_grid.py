"""The detectors judged on signals from an independent generator, over the clinical range.

The monitor's own offline pipeline (session filters, ``FreeRunMonitoring``,
``EvokedAnalyzer``, assembled as ``main.py analyze`` does) runs over signals from
``validation/`` — a generator written from the EMG-modelling literature, independently of
the project's simulator — fed in blocks of random size (4-40 ms) by an in-memory source,
and what it reports is matched to the exact truth.

Signal models (references in the module docstrings of ``validation/``):
motor-unit potentials as Hermite-Rodriguez mixtures (Lo Conte et al. 1994) or line-source
(tripole) potentials of Rosenfalck's action potential (Rosenfalck 1969; Nandedkar &
Stålberg 1983; Merletti et al. 1999); Gaussian inter-discharge intervals (Clamann 1969);
C-trains as 10-25 units at 8-20 Hz, CV 0.2 (Fuglevand et al. 1993). **Background noise:**
white plus 1/f below a 50 Hz corner, stated as its RMS in the 20 Hz-3 kHz band (exact per
realisation), nominally 3 µV. **Hum:** 50 or 60 Hz with harmonics 2-7 at 10, 30, 4, 15,
2, 7 % of the fundamental, a wandering mains frequency and a slow amplitude fluctuation;
its level is the fundamental's zero-to-peak amplitude. **Drift:** a smoothed leaky random
walk below 2 Hz. **Cautery:** broadband amplitude-modulated noise on all channels.
**Stimulus artefact:** the pulse then a fast exponential. Evoked sweeps: a direct
M-response in the stimulated branch's muscle, an LSR at ~9-10 ms in the others.

Grid (``validation/grid.py``): one-factor-at-a-time sweeps around a nominal A-train
(120 Hz, overlap 0.5, CV 1 %, 200 µV, 1 s; 3 µV noise, 10 µV hum), 2-D slices (amplitude
x hum, frequency x overlap, duration x frequency, jitter x frequency; at 190 Hz amplitude
x overlap and jitter x overlap), a seeded random sample of 50 cells over the whole range
(60-210 Hz, overlap 0.2-1.5, CV 0-5 %, 30 µV-2 mV, 0.1-30 s, 0-40 µV hum at 50/60 Hz,
1.5-6 µV noise, 0-300 µV drift, 0-30 % waxing, two shapes), distractor-only and quiet
cases, and evoked cases (LSR amplitude x hum, contaminated sweeps, true disappearance
against a slipped stimulating needle). Three channels per case (one cell four), trains
staggered across channels and ending in a cluster.

**Clinical range.** A cell's amplitude-to-noise ratio (ANR) is the train's peak-to-peak
over the background RMS in 20 Hz-3 kHz, hum included. A cell is clinical range when
ANR >= 5: the train's peak-to-peak is at least five times the background RMS, about the
peak-to-peak Gaussian noise itself reaches over a few hundred milliseconds, so that a
neurophysiologist sees it stand out (100 µV in 3 µV noise + 10 µV hum: ANR 12; 200 µV
in 40 µV hum: 6.6; 30 µV in 10 µV hum: 3.7, outside). Every other factor of the grid lies
in the clinical span by construction.

Scores per A-train cell: recall (truth trains overlapped by a detected A-train on their
channel, 20 ms tolerance), precision (detected A-trains overlapping a truth train / all
detected A-trains), fragmentation (detected A-trains per recalled train; goal 1),
onset error (earliest overlapping detection's onset - truth onset; median |.| and worst),
latency (first ``a_train`` report overlapping the train - truth onset; goal <= 200 ms),
train-time error per channel ((detected - truth) / truth; goal within ±10 %), and what
a missed train was reported as. Distractor and quiet cases: false A-trains per minute,
false events per minute, spike/burst/B/C recall and precision, cautery marked. Evoked:
LSR sensitivity/specificity per (LSR amplitude, hum) cell (goal: 100 µV in 40 µV of hum
found; hum alone never called present), contaminated sweeps rejected and clean ones not,
disappearance called, and whether a slipped needle is told from a disappearance
(``stimulation_lost`` fields: "not available" when the monitor has none).

Prints markdown tables (to paste into docs/validation.md) and, last, one JSON line with
the headline figures and the worst cells.

    .venv/bin/python bench/validation_grid.py [--quick] [--rate 10000] [--jobs 2] [--seed 1]
"""

from __future__ import annotations

import argparse
import itertools
import json
import multiprocessing
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np

from validation.evaluation import CellResult, evaluate
from validation.evoked_signals import EvokedCase
from validation.freerun_signals import FreeRunCase
from validation.grid import (
    ANR_BANDS,
    CLINICAL_ANR,
    KIND_A_TRAIN,
    KIND_DISTRACTOR,
    KIND_EVOKED,
    Cell,
    build_grid,
)
from validation.scoring import CauteryScore, EvokedScore, KindScore, TrainScore

DASH = "–"


# -- numbers as text ----------------------------------------------------------------------
def num(x: float | None, digits: int = 2) -> str:
    if x is None or not np.isfinite(x):
        return DASH
    return f"{x:.{digits}f}"


def med_abs(xs: Sequence[float]) -> float:
    return float(np.median(np.abs(xs))) if len(xs) else float("nan")


def worst_abs(xs: Sequence[float]) -> float:
    return float(xs[int(np.argmax(np.abs(xs)))]) if len(xs) else float("nan")


def p95(xs: Sequence[float]) -> float:
    return float(np.percentile(xs, 95)) if len(xs) else float("nan")


def median(xs: Sequence[float]) -> float:
    return float(np.median(xs)) if len(xs) else float("nan")


def ratio(k: int, n: int) -> str:
    return f"{k}/{n}" if n else DASH


def table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def counts(c: Counter) -> str:
    return ", ".join(f"{k} {v}" for k, v in c.most_common()) or DASH


# -- A-trains --------------------------------------------------------------------------------
def train_row(r: CellResult) -> list[str]:
    case = r.cell.case
    assert isinstance(case, FreeRunCase) and case.a_train is not None and r.trains is not None
    a, bg, s = case.a_train, case.background, r.trains
    hum = f"{bg.hum_uv:.0f}" + (f" ({bg.mains_hz:g} Hz)" if bg.hum_uv and bg.mains_hz != 50 else "")
    return [
        r.cell.name + (" ⚠" if r.problems else ""),
        f"{a.freq_hz:.0f}",
        f"{a.overlap:.2f}",
        a.shape,
        f"{100 * a.jitter_cv:.1f}",
        f"{a.amplitude_uv:.0f}",
        f"{a.duration_s:.3g}",
        hum,
        f"{bg.noise_uv:.1f}",
        f"{r.cell.anr:.1f}",
        "yes" if r.cell.clinical else "no",
        str(s.n_truth),
        *detection_cells(s),
        traintime_cell(s),
        counts(s.missed_as),
    ]


def detection_cells(s: TrainScore) -> list[str]:
    """Recall, precision, fragmentation, onset error and latency of an A-train score."""
    return [
        num(s.recall),
        num(s.precision),
        num(s.fragmentation),
        f"{num(med_abs(s.onset_errors_ms), 0)} / {num(worst_abs(s.onset_errors_ms), 0)}",
        f"{num(median(s.latencies_ms), 0)} / {num(p95(s.latencies_ms), 0)}",
    ]


def traintime_cell(s: TrainScore) -> str:
    errors = s.traintime_errors_pct
    return f"{num(median(errors), 1)} / {num(worst_abs(errors), 1)}"


TRAIN_HEADER = (
    "cell",
    "f Hz",
    "overlap",
    "shape",
    "CV %",
    "amp µV",
    "dur s",
    "hum µV",
    "noise µV",
    "ANR",
    "clinical",
    "trains",
    "recall",
    "precision",
    "frag",
    "onset err med / worst ms",
    "latency med / p95 ms",
    "train time err med / worst %",
    "missed trains reported as",
)


def pooled(results: Iterable[CellResult]) -> TrainScore:
    total = TrainScore()
    for r in results:
        if r.trains is not None:
            total.add(r.trains)
    return total


def train_figures(s: TrainScore) -> dict:
    return {
        "trains": s.n_truth,
        "recall": round(s.recall, 3) if s.n_truth else None,
        "precision": round(s.precision, 3) if s.n_detected else None,
        "fragmentation": round(s.fragmentation, 2) if s.fragments else None,
        "onset_error_ms_median": round(med_abs(s.onset_errors_ms), 1) if s.fragments else None,
        "onset_error_ms_worst": round(worst_abs(s.onset_errors_ms), 1) if s.fragments else None,
        "latency_ms_median": round(median(s.latencies_ms), 1) if s.latencies_ms else None,
        "latency_ms_p95": round(p95(s.latencies_ms), 1) if s.latencies_ms else None,
        "latency_over_200ms": (
            round(float(np.mean(np.array(s.latencies_ms) > 200)), 3) if s.latencies_ms else None
        ),
        "traintime_error_pct_median": (
            round(median(s.traintime_errors_pct), 1) if s.traintime_errors_pct else None
        ),
        "traintime_error_pct_worst": (
            round(worst_abs(s.traintime_errors_pct), 1) if s.traintime_errors_pct else None
        ),
        "traintime_within_10pct": (
            round(float(np.mean(np.abs(s.traintime_errors_pct) <= 10)), 3)
            if s.traintime_errors_pct
            else None
        ),
    }


def summary_row(name: str, s: TrainScore, n_cells: int) -> list[str]:
    f = train_figures(s)
    return [
        name,
        str(n_cells),
        str(s.n_truth),
        *detection_cells(s),
        num(f["latency_over_200ms"]),
        traintime_cell(s),
        num(f["traintime_within_10pct"]),
    ]


SUMMARY_HEADER = (
    "cells",
    "n cells",
    "trains",
    "recall",
    "precision",
    "frag",
    "onset err med / worst ms",
    "latency med / p95 ms",
    "share > 200 ms",
    "train time err med / worst %",
    "channels within ±10 %",
)


def print_a_trains(results: list[CellResult]) -> None:
    sections = (
        ("One factor at a time around the nominal case", lambda g: g not in (*SLICES, "random")),
        ("2-D slices", lambda g: g in SLICES),
        ("Seeded random sample over the whole range", lambda g: g == "random"),
    )
    for title, keep in sections:
        rows = [train_row(r) for r in results if keep(r.cell.group)]
        print(f"\n### A-trains: {title}\n")
        print(table(TRAIN_HEADER, rows))
    print("\n### A-trains pooled by amplitude-to-noise ratio\n")
    rows = []
    for lo, hi in itertools.pairwise(ANR_BANDS):
        band = [r for r in results if lo <= r.cell.anr < hi]
        name = f"ANR {lo:g}-{hi:g}" if np.isfinite(hi) else f"ANR >= {lo:g}"
        rows.append(summary_row(name, pooled(band), len(band)))
    clinical = [r for r in results if r.cell.clinical]
    outside = [r for r in results if not r.cell.clinical]
    rows.append(
        summary_row(f"clinical range (ANR >= {CLINICAL_ANR:g})", pooled(clinical), len(clinical))
    )
    rows.append(summary_row("outside the clinical range", pooled(outside), len(outside)))
    rows.append(summary_row("all A-train cells", pooled(results), len(results)))
    print(table(SUMMARY_HEADER, rows))


SLICES = (
    "amp x hum",
    "freq x overlap",
    "duration x freq",
    "jitter x freq",
    "amp x overlap",
    "jitter x overlap",
)


# -- distractors -------------------------------------------------------------------------------
def kind_text(s: KindScore | None) -> str:
    if s is None or (s.n_truth == 0 and s.n_detected == 0):
        return DASH
    return f"{num(s.recall)} / {num(s.precision)} ({s.n_truth})"


def confusion_text(conf: dict[str, Counter]) -> str:
    parts = []
    for truth_kind in ("spike", "burst", "b_train", "c_train"):
        c = conf.get(truth_kind)
        if c:
            parts.append(f"{truth_kind} → " + ", ".join(f"{k} {v}" for k, v in c.most_common()))
    return "; ".join(parts) or DASH


def print_distractors(results: list[CellResult]) -> None:
    print("\n### Distractors and quiet signals (no A-trains)\n")
    header = (
        "cell",
        "minutes x channels",
        "false A-trains /min",
        "false events /min",
        "spikes R / P (n)",
        "largest missed spike µV",
        "bursts R / P (n)",
        "B-trains R / P (n)",
        "C-trains R / P (n)",
        "cautery marked",
        "events inside cautery",
        "truth kind → reported kinds",
    )
    rows = []
    for r in results:
        assert r.trains is not None and r.cautery is not None
        case = r.cell.case
        assert isinstance(case, FreeRunCase)
        rows.append(
            [
                r.cell.name + (" ⚠" if r.problems else ""),
                f"{r.seconds / 60:.1f} x {case.n_channels}",
                num(r.trains.false_per_min, 1),
                num(r.false_events_per_min, 1),
                kind_text(r.kinds.get("spike")),
                num(max(r.kinds["spike"].missed_uv), 0)
                if "spike" in r.kinds and r.kinds["spike"].missed_uv
                else DASH,
                kind_text(r.kinds.get("burst")),
                kind_text(r.kinds.get("b_train")),
                kind_text(r.kinds.get("c_train")),
                ratio(r.cautery.marked, r.cautery.episodes),
                str(r.cautery.events_inside) if r.cautery.episodes else DASH,
                confusion_text(r.confusion),
            ]
        )
    print(table(header, rows))


# -- evoked -----------------------------------------------------------------------------------
def print_evoked(results: list[CellResult]) -> None:
    presence = [(c, k, e) for c, k, e in evoked_scores(results) if c.group == "evoked presence"]
    print("\n### Evoked: LSR presence, sensitivity / specificity per LSR amplitude and hum\n")
    amps = sorted({k.lsr_uv for _, k, _ in presence})
    hums = list(dict.fromkeys((k.background.hum_uv, k.background.mains_hz) for _, k, _ in presence))
    grid = {
        (k.lsr_uv, (k.background.hum_uv, k.background.mains_hz)): (c, e) for c, k, e in presence
    }
    header = ["LSR µV \\ hum", *(f"{h:g} µV {m:g} Hz" for h, m in hums)]
    rows = []
    for a in amps:
        row = [f"{a:g}"]
        for h in hums:
            if (a, h) not in grid:
                row.append(DASH)
                continue
            c, e = grid[(a, h)]
            if a == 0:
                row.append(f"spec {num(e.specificity)}")
            else:
                row.append(f"{num(e.sensitivity)} / {num(e.specificity)} (ANR {c.anr:.1f})")
        rows.append(row)
    print(table(header, rows))
    print("\n### Evoked: every cell\n")
    header = (
        "cell",
        "sweeps",
        "sens",
        "spec",
        "TP / FN / TN / FP",
        "direct found / gone when lost",
        "clean rejected",
        "contaminated rejected",
        "contaminated LSR called present",
        "latency err med ms",
        "amp err med %",
        "disappeared: truth / called / told (s)",
        "stimulation lost: truth / reported (s)",
        "calls",
    )
    rows = []
    for cell, case, e in evoked_scores(results):
        flagged = cell.name + (" ⚠" if any(r.problems for r in results if r.cell is cell) else "")
        n_sweeps = case.n_sweeps
        rej = "; ".join(
            f"{k} {e.contaminated_rejected[k]}/{v}" for k, v in sorted(e.contaminated.items())
        )
        lost = f"{num(e.stim_lost_truth_s, 1)} / " + (
            num(e.stim_lost_reported_s, 1) if e.stim_lost_available else "not available"
        )
        rows.append(
            [
                flagged,
                str(n_sweeps),
                num(e.sensitivity),
                num(e.specificity),
                f"{e.tp} / {e.fn} / {e.tn} / {e.fp}",
                ratio(e.direct_tp, e.direct_present)
                + (f" / {ratio(e.direct_tn, e.direct_absent)}" if e.direct_absent else ""),
                ratio(e.clean_rejected, e.clean),
                rej or DASH,
                str(e.contaminated_called_present) if e.contaminated else DASH,
                num(median(e.latency_errors_ms)),
                num(median(e.amplitude_errors_pct), 1),
                f"{num(e.disappeared_truth_s, 1)} / {num(e.disappeared_called_s, 1)}"
                + f" / {num(e.disappeared_reported_s, 1)}"
                + (" (false)" if e.false_disappearance else ""),
                lost,
                ", ".join(e.calls) or DASH,
            ]
        )
    print(table(header, rows))


# -- headline --------------------------------------------------------------------------------
def worst_cells(results: list[CellResult], n: int = 5) -> list[dict]:
    """The clinical-range A-train cells that miss a goal, worst first, per goal."""
    clinical = [r for r in results if r.cell.clinical and r.trains and r.trains.n_truth]
    out = []

    def pick(
        metric: str,
        key: Callable[[TrainScore], float],
        fails: Callable[[float], bool],
        reverse: bool,
    ) -> None:
        scored = [(key(r.trains), r) for r in clinical if r.trains is not None]
        scored = [(v, r) for v, r in scored if np.isfinite(v) and fails(v)]
        scored.sort(key=lambda t: t[0], reverse=reverse)
        out.extend(
            {"metric": metric, "cell": r.cell.name, "value": round(v, 3)} for v, r in scored[:n]
        )

    pick("recall", lambda s: s.recall, lambda v: v < 1.0, False)
    pick("precision", lambda s: s.precision, lambda v: v < 1.0, False)
    pick("fragmentation", lambda s: s.fragmentation, lambda v: v > 1.0, True)
    pick("latency_p95_ms", lambda s: p95(s.latencies_ms), lambda v: v > 200.0, True)
    pick(
        "traintime_error_pct_worst",
        lambda s: abs(worst_abs(s.traintime_errors_pct)),
        lambda v: v > 10.0,
        True,
    )
    return out


def evoked_scores(results: list[CellResult]) -> list[tuple[Cell, EvokedCase, EvokedScore]]:
    return [
        (r.cell, r.cell.case, r.evoked)
        for r in results
        if r.evoked is not None and isinstance(r.cell.case, EvokedCase)
    ]


def evoked_headline(results: list[CellResult]) -> dict:
    ev = evoked_scores(results)
    presence = [(c, k, e) for c, k, e in ev if c.group == "evoked presence"]
    target = [
        e
        for _, k, e in presence
        if (k.lsr_uv, k.background.hum_uv, k.background.mains_hz) == (100.0, 40.0, 50.0)
    ]
    hum_only = [e for _, k, e in presence if k.lsr_uv == 0]
    contam: Counter = Counter()
    contam_rej: Counter = Counter()
    for _, _, e in ev:
        contam.update(e.contaminated)
        contam_rej.update(e.contaminated_rejected)
    gone = [e for _, _, e in ev if e.disappeared_truth_s is not None]
    # Where the monitor found the LSR before it went, the disappearance is there to call.
    found = [e for e in gone if e.sensitivity >= 0.9]
    told_after = [
        (e.disappeared_reported_s - e.disappeared_truth_s) * k.stim_hz
        for _, k, e in ev
        if e.disappeared_truth_s is not None and e.disappeared_reported_s is not None
    ]
    slipped = [e for _, _, e in ev if e.stim_lost_truth_s is not None]
    available = any(e.stim_lost_available for e in slipped)
    return {
        "lsr_100uV_in_40uV_hum_sensitivity": (round(target[0].sensitivity, 3) if target else None),
        "hum_alone_called_present": ratio(
            sum(e.fp for e in hum_only), sum(e.fp + e.tn for e in hum_only)
        ),
        "sensitivity_by_cell": {
            f"{k.lsr_uv:g}uV in {k.background.hum_uv:g}uV@{k.background.mains_hz:g}Hz": (
                round(e.sensitivity, 3) if np.isfinite(e.sensitivity) else None
            )
            for _, k, e in presence
            if k.lsr_uv > 0
        },
        "contaminated_rejected": {k: ratio(contam_rej[k], v) for k, v in sorted(contam.items())},
        "clean_sweeps_rejected": ratio(
            sum(e.clean_rejected for _, _, e in ev), sum(e.clean for _, _, e in ev)
        ),
        "true_disappearance_called": ratio(
            sum(e.disappeared_called_s is not None for e in gone), len(gone)
        ),
        "true_disappearance_called_where_lsr_found": ratio(
            sum(e.disappeared_called_s is not None for e in found), len(found)
        ),
        "disappearance_told_after_sweeps_max": round(max(told_after), 1) if told_after else None,
        "kind_mismatches": sum(e.kind_mismatch for _, _, e in ev),
        "false_disappearance_cells": [c.name for c, _, e in ev if e.false_disappearance],
        "slipped_needle_called_disappeared": ratio(
            sum(e.disappeared_called_s is not None for e in slipped), len(slipped)
        ),
        "stimulation_loss_reported": (
            ratio(sum(e.stim_lost_reported_s is not None for e in slipped), len(slipped))
            if available
            else "not available"
        ),
    }


def distractor_headline(results: list[CellResult]) -> dict:
    quiet = [r for r in results if r.cell.group == "quiet"]
    distract = [r for r in results if r.cell.group == "distractors"]
    by_name = {r.cell.name: r for r in results}
    caut = CauteryScore()
    for r in results:
        if r.cautery:
            caut.add(r.cautery)

    def rate(rs: list[CellResult]) -> float | None:
        total = pooled(rs)
        return round(total.false_a_trains / total.minutes, 2) if total.minutes else None

    def kind(cell: str, k: str) -> dict | None:
        r = by_name.get(cell)
        s = r.kinds.get(k) if r else None
        if s is None or not s.n_truth:
            return None
        return {
            "recall": round(s.recall, 3),
            "precision": round(s.precision, 3) if s.n_detected else None,
            "n": s.n_truth,
        }

    return {
        "false_a_trains_per_min": {"quiet": rate(quiet), "distractors": rate(distract)},
        "false_a_trains_by_cell": {
            r.cell.name: round(r.trains.false_per_min, 2)
            for r in quiet + distract
            if r.trains is not None and r.trains.false_a_trains
        },
        "spikes": kind("spikes", "spike"),
        "spikes_over_5x_rms": kind("spikes", "visible spike"),
        "bursts": kind("bursts", "burst"),
        "mixed_spikes": kind("all distractors", "spike"),
        "mixed_bursts": kind("all distractors", "burst"),
        "cautery_marked": ratio(caut.marked, caut.episodes),
        "events_inside_cautery": caut.events_inside,
    }


def print_problems(results: list[CellResult]) -> list[dict]:
    """Problems the monitor itself reported (a detector switched off after raising)."""
    found = [
        {"cell": r.cell.name, "problem": p} for r in results for p in dict.fromkeys(r.problems)
    ]
    if found:
        print("\n### Problems the monitor reported while running (cells marked ⚠)\n")
        print(table(("cell", "problem"), ([f["cell"], f["problem"]] for f in found)))
    return found


def provenance() -> dict:
    """The commit the detectors come from, and the core files changed since (other people
    edit the checkout while this runs: the figures belong to exactly this state)."""
    root = Path(__file__).resolve().parents[1]

    def git(*args: str) -> str:
        try:
            out = subprocess.run(
                ["git", *args], cwd=root, capture_output=True, text=True, check=True, timeout=10
            )
        except (OSError, subprocess.SubprocessError):
            return ""
        return out.stdout

    changed = [line[3:] for line in git("status", "--porcelain", "--", "monitor").splitlines()]
    return {"commit": git("rev-parse", "--short", "HEAD").strip(), "monitor_uncommitted": changed}


# -- main -------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a smaller grid (~1 minute)")
    ap.add_argument("--rate", type=float, default=10_000.0, help="sample rate, Hz")
    ap.add_argument("--jobs", type=int, default=2, help="worker processes")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--random", type=int, default=None, help="random-sample cells")
    args = ap.parse_args(argv)

    cells: list[Cell] = build_grid(args.rate, args.seed, args.quick, args.random)
    source_state = provenance()
    t0 = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(max(1, args.jobs)) as pool:
        results = []
        for i, r in enumerate(pool.imap(evaluate, cells, chunksize=1), start=1):
            results.append(r)
            print(
                f"\r{i}/{len(cells)} cells  {time.perf_counter() - t0:5.0f} s",
                end="",
                file=sys.stderr,
                flush=True,
            )
    print(file=sys.stderr)
    wall = time.perf_counter() - t0
    errors = [r for r in results if r.error]

    a_cells = [r for r in results if r.cell.kind == KIND_A_TRAIN and not r.error]
    d_cells = [r for r in results if r.cell.kind == KIND_DISTRACTOR and not r.error]
    e_cells = [r for r in results if r.cell.kind == KIND_EVOKED]
    signal_s = sum(r.seconds for r in results)
    print(
        f"## Validation grid: {len(cells)} cells, {signal_s / 60:.0f} min of signal at "
        f"{args.rate:g} Hz, {wall:.0f} s on {args.jobs} processes"
        + (" (quick)" if args.quick else "")
    )
    dirty = source_state["monitor_uncommitted"]
    print(
        f"\nDetectors at commit {source_state['commit'] or '?'}"
        + (f", with uncommitted changes to {', '.join(dirty)}" if dirty else "")
        + "."
    )
    print_a_trains(a_cells)
    print_distractors(d_cells)
    print_evoked(e_cells)
    problems = print_problems(results)
    for r in errors:
        print(f"\nERROR in cell {r.cell.name!r}: {r.error}")

    clinical = pooled(r for r in a_cells if r.cell.clinical)
    headline = {
        "bench": "validation_grid",
        "rate_hz": args.rate,
        "quick": args.quick,
        **source_state,
        "cells": len(cells),
        "cell_errors": len(errors),
        "signal_min": round(signal_s / 60, 1),
        "wall_s": round(wall, 1),
        "clinical_range": f"ANR >= {CLINICAL_ANR:g} (train p-p / in-band background RMS)",
        "a_train_clinical": {
            "cells": sum(r.cell.clinical for r in a_cells),
            **train_figures(clinical),
        },
        "a_train_outside_clinical": train_figures(
            pooled(r for r in a_cells if not r.cell.clinical)
        ),
        **distractor_headline(d_cells),
        "evoked": evoked_headline(e_cells),
        "monitor_problems": problems,
        "worst_cells": worst_cells(a_cells),
    }
    print()
    print(json.dumps(headline, ensure_ascii=False))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
