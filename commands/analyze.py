"""``main.py analyze RECORDING --out DIR``: the monitor's pipeline over a file, offline.

Runs the same filters and detectors as the live monitor over any EDF, EDF+, BDF or BDF+
file as fast as the CPU allows, with a progress bar, and writes (contract in DESIGN.md):

- ``events.csv``: ``kind,channel,onset_s,offset_s,peak_uv``;
- ``stim_responses.csv``: one row per stimulus and channel (evoked analysis);
- ``summary.json``: train time per channel, event counts, alarms, LSR fields;
- ``report.html``: the end-of-case report a person reads.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import sys
import time
from collections import Counter
from pathlib import Path

from commands.argtypes import CommandParser
from commands.casedetails import read_case_details
from commands.casenotes import case_notes
from commands.keymoments import KeyMoments
from commands.report import build_figures, clean_text, report_html, wall_clock
from monitor.casemodel import CaseModel, open_case
from monitor.events import EventKind
from monitor.evoked import KIND_DIRECT, KIND_LSR, STIM_RESPONSE_COLUMNS, EvokedAnalyzer
from monitor.filters import FilterSettingsError
from monitor.freerun import FreeRunSettings
from monitor.monitoring import FreeRunMonitoring
from monitor.problems import Severity
from monitor.session import Session
from monitor.source import EndOfStream, SourceError


def build_parser(prog: str = "main.py analyze") -> argparse.ArgumentParser:
    p = CommandParser(
        prog=prog,
        description="Run the monitor's detectors over a recording (EDF, EDF+, BDF, BDF+) as "
        "fast as possible and write events.csv, stim_responses.csv, summary.json and "
        "report.html.",
    )
    p.add_argument("recording", type=Path, help="the recording to analyse")
    p.add_argument("--out", type=Path, required=True, help="folder for the results")
    p.add_argument(
        "--threshold",
        choices=("adaptive", "fixed"),
        default="adaptive",
        help="adaptive to each channel's noise (default) or the fixed 100 µV",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument(
        "--read-anyway",
        action="store_true",
        help="analyse a recording whose header is damaged (misaligned channels, made-up "
        "scales) instead of refusing it; the notes say what is wrong",
    )
    return p


def log_to_file() -> None:
    """Send log records (a failing detector's traceback) to the monitor's log file, as the
    live monitor does, never to the terminal. Logging already set up is left alone."""
    if logging.getLogger().handlers:
        return
    from monitor.logsetup import setup_logging

    setup_logging()


def open_recording(args: argparse.Namespace) -> CaseModel | None:
    """The case on the opened recording, the monitor's pipeline attached (keeping every
    event and sweep), not started: the command reads the file as fast as it can.
    ``None`` after printing why it cannot be."""
    from drivers.sources import Recording

    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        print(
            f"error: cannot create the output folder {args.out}: {exc.strerror}.", file=sys.stderr
        )
        return None
    description = Recording(
        args.recording, realtime=False, hold_at_end=False, strict=not args.read_anyway
    )
    try:
        return open_case(
            description,
            offline=True,
            freerun=FreeRunSettings(mode=args.threshold),
            start=False,
        )
    except SourceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None
    except FilterSettingsError as exc:  # e.g. sampled too slowly for the band-pass
        print(f"error: cannot analyse {args.recording.name}: {exc}", file=sys.stderr)
        return None


def print_notes(source, session: Session) -> None:
    """What the reader left out, skipped or read anyway, and any detector that stopped."""
    for message in source.messages:
        print(f"note: {message}", file=sys.stderr)
    for problem in session.problems_since(0)[1]:
        if problem.severity is Severity.CRITICAL:
            print(f"warning: {problem.text}", file=sys.stderr)


def analyze(argv: list[str]) -> int:
    """The command on a list of arguments (``main.main(["analyze", ...])`` does the same)."""
    return run(build_parser().parse_args(argv))


def run(args: argparse.Namespace) -> int:
    """Analyse the recording and write the results; the exit status."""
    log_to_file()
    case = open_recording(args)
    if case is None:
        return 2
    session, source = case.session, case.session.source
    # The live monitor's pipeline; offline it keeps every event and sweep for the files.
    pipeline = case.pipeline
    monitoring, evoked = pipeline.monitoring, pipeline.evoked
    moments = KeyMoments(session, monitoring)  # the report's figures, from this same pass
    moments.watch(evoked)
    duration = max(source.duration_s, 1e-9)
    t0 = time.perf_counter()
    last_print = 0.0
    try:
        while True:
            block = source.read()
            if block is None:
                continue
            session.process(block)
            now = time.perf_counter()
            if not args.quiet and now - last_print > 0.2:
                last_print = now
                progress(block.stop / source.info.rate, duration, now - t0)
    except EndOfStream:
        pass
    except SourceError as exc:
        print(f"\nerror: {exc}", file=sys.stderr)
        return 2
    finally:
        source.close()
    pipeline.flush()
    moments.finish()
    wall = time.perf_counter() - t0
    if not args.quiet:
        progress(duration, duration, wall)
        print(file=sys.stderr)
    write_results(args.out, args.recording, source, session, monitoring, evoked, wall, moments)
    print_notes(source, session)
    print(f"Wrote {args.out}/events.csv, stim_responses.csv, summary.json, report.html")
    return 0


def progress(done_s: float, total_s: float, wall_s: float) -> None:
    frac = min(1.0, done_s / total_s)
    bar = "#" * int(30 * frac)
    speed = done_s / wall_s if wall_s > 0 else 0.0
    print(
        f"\ranalyze [{bar:<30}] {100 * frac:5.1f}%  {done_s:7.1f} of {total_s:.1f} s  "
        f"{speed:6.0f}x real time",
        end="",
        file=sys.stderr,
        flush=True,
    )


def _label(monitoring: FreeRunMonitoring, channel: int) -> str:
    """The channel's label for events.csv, without the control characters a file's header
    may hold."""
    return "*" if channel < 0 else clean_text(monitoring.labels[channel])


def write_results(
    out: Path,
    recording: Path,
    source,
    session: Session,
    monitoring: FreeRunMonitoring,
    evoked: EvokedAnalyzer,
    wall_s: float,
    moments: KeyMoments | None = None,
) -> None:
    rate = source.info.rate
    events = sorted(monitoring.events(), key=lambda e: (e.onset, e.channel))
    with open(out / "events.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["kind", "channel", "onset_s", "offset_s", "peak_uv"])
        for e in events:
            w.writerow(
                [
                    e.kind.value,
                    _label(monitoring, e.channel),
                    f"{e.onset / rate:.4f}",
                    f"{(e.offset or e.onset) / rate:.4f}",
                    f"{e.peak_uv:.1f}",
                ]
            )
    with open(out / "stim_responses.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(STIM_RESPONSE_COLUMNS)
        w.writerows(evoked.stim_response_rows())
    counts: dict[str, Counter] = {label: Counter() for label in monitoring.labels}
    for e in events:
        if e.channel >= 0:
            counts[monitoring.labels[e.channel]][e.kind.value] += 1
    artifact_s = (
        sum(((e.offset or e.onset) - e.onset) for e in events if e.kind is EventKind.ARTIFACT)
        / rate
    )
    st = session.status()
    summary = {
        "recording": str(recording),
        "duration_s": round(st.end_index / rate, 3),
        "rate_hz": rate,
        "channels": list(monitoring.labels),
        "traintime_s": {
            lab: round(t, 3)
            for lab, t in zip(monitoring.labels, monitoring.traintime.seconds(), strict=True)
        },
        "traintime_thresholds_s": list(monitoring.traintime.thresholds_s),
        "events": {lab: dict(c) for lab, c in counts.items()},
        "artifact_s": round(artifact_s, 3),
        "gaps": st.gaps,
        "gap_s": round(st.gap_samples / rate, 3),
        "alarms": [
            {
                "key": t.key,
                "text": t.text,
                "priority": t.priority.label,
                "state": t.new.value,
                "time_s": round(t.sample_index / rate, 3),
            }
            for t in monitoring.alarms.history
        ],
        "lsr": evoked.lsr_summary(),
        "triggered_emg": triggered_summary(evoked),
        "reader_messages": list(getattr(source, "messages", [])),
        "analysis_x_realtime": round(st.end_index / rate / wall_s, 1) if wall_s > 0 else None,
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")
    write_report(out, recording, source, session, summary, events, evoked, moments)


def write_report(
    out: Path,
    recording: Path,
    source,
    session: Session,
    summary: dict,
    events: list,
    evoked: EvokedAnalyzer,
    moments: KeyMoments | None,
) -> None:
    """``report.html``: case details, montage, figures and notes besides the summary."""
    rate, labels = source.info.rate, source.info.labels
    case = read_case_details(
        recording, labels, rate, summary["duration_s"], getattr(source, "start_datetime", None)
    )
    figures = None
    if moments is not None:
        figures = build_figures(
            moments,
            labels,
            rate,
            summary["lsr"],
            lambda label: evoked.s.window(label, KIND_LSR),
            wall_clock(case.start),
        )
    filters = session.filters.settings.describe() if session.filters is not None else ""
    page = report_html(
        summary,
        events,
        labels,
        rate,
        lsr_trend_rows(evoked),
        case=case,
        notes=case_notes(getattr(source, "annotations", []), rate),
        figures=figures,
        filters=f"band-pass {filters}, causal Butterworth" if filters else "",
    )
    (out / "report.html").write_text(page, encoding="utf-8")


def triggered_summary(evoked: EvokedAnalyzer) -> dict:
    """Response thresholds from triggered-EMG current ramps, against 0.05/0.1/0.2/0.3 mA."""
    has_ramp = any(r.kind == "triggered" for r in evoked.results())
    if not has_ramp:
        return {}
    return {
        t.label: {"threshold_ma": t.threshold_ma, "level_ma": t.level_ma, "text": t.text}
        for t in evoked.ramp.thresholds()
    }


def lsr_trend_rows(evoked: EvokedAnalyzer) -> list[tuple[float, str, str]]:
    """(time s, column, value) for the report's LSR table: per stimulus, each LSR channel
    ('µV at ms', 'absent' or 'rejected (cautery)') and the stimulated branch's direct
    response, the stimulation control ('label (direct)': 'mV', 'absent' or 'rejected
    (...)'). A rejected sweep is a row that says so, never a row left out."""
    rows = []
    for r in evoked.results():
        if r.kind not in (KIND_LSR, KIND_DIRECT):
            continue
        if r.rejected:
            value = f"rejected ({r.rejected})"
        elif not r.present or r.amplitude_uv is None:
            value = "absent"
        elif r.kind == KIND_DIRECT:
            value = f"{r.amplitude_uv / 1000:.2f} mV"
        else:
            value = f"{r.amplitude_uv:.0f} µV at {r.latency_ms:.1f} ms"
        column = f"{r.label} (direct)" if r.kind == KIND_DIRECT else r.label
        rows.append((r.stim_index / evoked.rate, column, value))
    return rows


if __name__ == "__main__":
    sys.exit(analyze(sys.argv[1:]))
