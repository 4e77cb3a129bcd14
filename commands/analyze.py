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
import html
import json
import sys
import time
from collections import Counter
from pathlib import Path

from monitor.alarms import AlarmManager
from monitor.events import EmgEvent, EventKind
from monitor.evoked import EvokedAnalyzer, EvokedSettings
from monitor.freerun import FreeRunSettings
from monitor.monitoring import FreeRunMonitoring
from monitor.session import Session
from monitor.source import EndOfStream, SourceError


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="main.py analyze",
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
    return p


def analyze(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    from drivers.replay import ReplaySource

    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        print(
            f"error: cannot create the output folder {args.out}: {exc.strerror}.", file=sys.stderr
        )
        return 2
    source = ReplaySource(args.recording, realtime=False)
    session = Session(source)
    try:
        session.open()
    except SourceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    monitoring = FreeRunMonitoring(
        session, AlarmManager(), FreeRunSettings(mode=args.threshold), log_size=None
    )  # offline: keep every event for events.csv
    # Offline every sweep is kept for stim_responses.csv (live, the last 20 000 stimuli).
    evoked = EvokedAnalyzer(
        source.info.rate, source.info.labels, settings=EvokedSettings(history=10**9)
    )
    session.subscribe("Evoked responses", evoked)
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
    monitoring.flush()
    evoked.flush()
    wall = time.perf_counter() - t0
    if not args.quiet:
        progress(duration, duration, wall)
        print(file=sys.stderr)
    write_results(args.out, args.recording, source, session, monitoring, evoked, wall)
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
    return "*" if channel < 0 else monitoring.labels[channel]


def write_results(
    out: Path,
    recording: Path,
    source,
    session: Session,
    monitoring: FreeRunMonitoring,
    evoked: EvokedAnalyzer,
    wall_s: float,
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
        w.writerow(["stim_onset_s", "channel", "present", "latency_ms", "amplitude_uv"])
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
    (out / "report.html").write_text(
        report_html(summary, events, monitoring, rate, lsr_trend_rows(evoked)), encoding="utf-8"
    )


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
    """(time s, channel, 'µV at ms' or 'absent') for the report's LSR table."""
    rows = []
    for r in evoked.results():
        if r.kind != "lsr" or r.rejected:
            continue
        value = f"{r.amplitude_uv:.0f} µV at {r.latency_ms:.1f} ms" if r.present else "absent"
        rows.append((r.stim_index / evoked.rate, r.label, value))
    return rows


def report_html(
    summary: dict,
    events: list[EmgEvent],
    monitoring: FreeRunMonitoring,
    rate: float,
    lsr_rows: list[tuple[float, str, str]] = (),
) -> str:
    e = html.escape
    lo, hi = summary["traintime_thresholds_s"]
    rows = []
    for label, t in summary["traintime_s"].items():
        level = "high" if t >= hi else "warn" if t >= lo else "ok"
        n = summary["events"][label]
        rows.append(
            f"<tr class='{level}'><td>{e(label)}</td><td>{t:.2f} s</td>"
            f"<td>{n.get('a_train', 0)}</td><td>{n.get('spike', 0)}</td>"
            f"<td>{n.get('burst', 0)}</td><td>{n.get('b_train', 0) + n.get('c_train', 0)}</td></tr>"
        )
    timeline = "".join(
        f"<tr><td>{_clock(ev.onset / rate)}</td><td>{e(_label(monitoring, ev.channel))}</td>"
        f"<td>{e(ev.kind.value.replace('_', '-'))}</td>"
        f"<td>{((ev.offset or ev.onset) - ev.onset) / rate:.2f} s</td>"
        f"<td>{ev.peak_uv:.0f} µV</td>"
        f"<td>{'' if ev.freq_hz is None else f'{ev.freq_hz:.0f} Hz'}</td></tr>"
        for ev in events[:2000]
    )
    alarms = "".join(
        f"<tr><td>{_clock(a['time_s'])}</td><td>{e(a['priority'])}</td><td>{e(a['text'])}</td>"
        f"<td>{e(a['state'])}</td></tr>"
        for a in summary["alarms"][:2000]
    )
    notes = "".join(f"<li>{e(m)}</li>" for m in summary["reader_messages"])
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Facial nerve monitoring report — {e(Path(summary["recording"]).name)}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; color: #111; }}
h1 {{ font-size: 1.6em; }} table {{ border-collapse: collapse; margin: 1em 0; }}
td, th {{ border: 1px solid #999; padding: 0.3em 0.6em; text-align: left; }}
tr.warn td {{ background: #fff3b0; }} tr.high td {{ background: #ffb3b3; font-weight: bold; }}
@media print {{ body {{ margin: 0.5cm; }} h2 {{ page-break-after: avoid; }} }}
</style></head><body>
<h1>Facial nerve monitoring — {e(Path(summary["recording"]).name)}</h1>
<p>Duration {summary["duration_s"]:.1f} s; {len(summary["channels"])} channels at
{summary["rate_hz"]:g} Hz; electrocautery/artifact {summary["artifact_s"]:.1f} s;
signal gaps {summary["gaps"]} ({summary["gap_s"]:.2f} s).</p>
<h2>Train time (A-trains) per channel</h2>
<p>Thresholds {lo:g} s and {hi:g} s (Prell et al. 2007): past {hi:g} s a profound
deterioration of facial function is likely.</p>
<table><tr><th>Channel</th><th>Train time</th><th>A-trains</th><th>Spikes</th><th>Bursts</th>
<th>B/C-trains</th></tr>{"".join(rows)}</table>
<h2>Lateral spread response</h2>{lsr_section(summary["lsr"], lsr_rows)}
{triggered_section(summary.get("triggered_emg", {}))}
<h2>Alarms</h2><table><tr><th>Time</th><th>Priority</th><th>Condition</th><th>State</th></tr>
{alarms}</table>
<h2>Events</h2><table><tr><th>Time</th><th>Channel</th><th>Class</th><th>Duration</th>
<th>Amplitude</th><th>Frequency</th></tr>{timeline}</table>
{f"<h2>Reading the file</h2><ul>{notes}</ul>" if notes else ""}
</body></html>
"""


def triggered_section(thresholds: dict) -> str:
    if not thresholds:
        return ""
    e = html.escape
    rows = "".join(
        f"<tr><td>{e(label)}</td><td>{e(t['text'])}</td></tr>" for label, t in thresholds.items()
    )
    return (
        "<h2>Triggered EMG: response thresholds</h2>"
        f"<table><tr><th>Channel</th><th>Threshold</th></tr>{rows}</table>"
    )


def lsr_section(lsr: dict, rows: list[tuple[float, str, str]]) -> str:
    e = html.escape
    if not lsr.get("sweeps"):
        return "<p>No stimuli in this recording.</p>"
    base = ", ".join(f"{e(k)} {v:.0f} µV" for k, v in lsr["baseline_uv"].items()) or "none"
    gone = lsr["disappeared_at_s"]
    verdict = (
        f"<p><strong>LSR disappeared at {_clock(gone)}</strong> "
        f"(criterion {e(lsr['criterion'])}).</p>"
        if gone is not None
        else "<p><strong>The LSR did not disappear.</strong></p>"
    )
    calls = "".join(f"<li>{_clock(c['time_s'])} — {e(c['text'])}</li>" for c in lsr["calls"])
    by_time: dict[float, dict[str, str]] = {}
    for t, label, value in rows:
        by_time.setdefault(t, {})[label] = value
    labels = sorted({label for _, label, _ in rows})
    head = "".join(f"<th>{e(lab)}</th>" for lab in labels)
    body = "".join(
        f"<tr><td>{_clock(t)}</td>"
        + "".join(f"<td>{e(v.get(lab, ''))}</td>" for lab in labels)
        + "</tr>"
        for t, v in list(by_time.items())[:600]
    )
    return (
        f"{verdict}<p>Stimuli: {lsr['sweeps']}. Baseline: {base}.</p>"
        f"{f'<ul>{calls}</ul>' if calls else ''}"
        f"<table><tr><th>Time</th>{head}</tr>{body}</table>"
    )


def _clock(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600:d}:{s // 60 % 60:02d}:{s % 60:02d}.{int((seconds - s) * 10)}"


if __name__ == "__main__":
    sys.exit(analyze(sys.argv[1:]))
