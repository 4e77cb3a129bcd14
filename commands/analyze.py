"""``main.py analyze RECORDING --out DIR``: the monitor's pipeline over a file, offline.

Runs the same filters and detectors as the live monitor over any EDF, EDF+, BDF or BDF+
file as fast as the CPU allows, with a progress bar, and writes (contract in DESIGN.md):

- ``events.csv``: ``kind,channel,onset_s,offset_s,peak_uv``;
- ``stim_responses.csv``: one row per stimulus and channel (evoked analysis);
- ``summary.json``: train time per channel, event counts, alarms, LSR fields;
- ``report.html``: the end-of-case report a person reads.

Given a folder (``main.py analyze DIR --out OUT``) it analyses every recording in it and in
its sub-folders, on all cores (``--jobs``) or on a Dask cluster (``--scheduler``), each
case's files in ``OUT/<relative path without suffix>/``, and writes the cohort table
``OUT/cohort.csv`` and page ``OUT/cohort.html`` (commands/cohort.py; docs/archive.md).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import dataclasses
import json
import logging
import os
import socket
import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from commands.argtypes import CommandParser
from commands.casedetails import PEOPLE, read_case_details
from commands.casenotes import case_notes
from commands.keymoments import KeyMoments
from commands.report import StimRow, build_figures, clean_text, report_html, wall_clock
from monitor.casemodel import CaseModel, open_case
from monitor.casesetup import parse_recording_note
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
        "report.html. Given a folder, analyse every *.edf and *.bdf file in it and in its "
        "sub-folders (recursively; OUT is skipped if it lies inside), each into "
        "OUT/<relative path without suffix>/, and write OUT/cohort.csv and OUT/cohort.html. "
        "Exit status: 0 every recording analysed, 1 some could not be (their rows in "
        "cohort.csv say why), 2 a bad command line or a folder run that could not start.",
    )
    p.add_argument(
        "recording", type=Path, help="the recording to analyse, or a folder of recordings"
    )
    p.add_argument("--out", type=Path, required=True, help="folder for the results")
    p.add_argument(
        "--jobs",
        type=positive_int,
        default=None,
        metavar="N",
        help="a folder: analyse N recordings at a time, each in its own process "
        "(default: the number of CPUs)",
    )
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        default=None,
        help="a folder: analyse on the Dask cluster whose scheduler is at ADDRESS (e.g. "
        "tcp://10.0.0.5:8786) instead of local processes; needs the 'cluster' extra, and "
        "the workers must be able to read the recordings and write OUT at the same paths",
    )
    p.add_argument(
        "--scheduler-timeout",
        type=float,
        default=10.0,
        metavar="S",
        help="seconds to wait for the Dask scheduler before giving up (default 10)",
    )
    p.add_argument(
        "--threshold",
        choices=("adaptive", "fixed"),
        default="adaptive",
        help="adaptive to each channel's noise (default) or the fixed 100 µV",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    for option, what in (
        ("surgeon", "the surgeon's name"),
        ("neurophysiologist", "the neurophysiologist's name"),
        (
            "anaesthesia",
            "the anaesthesia, relaxant state first ('TIVA, no relaxant after induction, TOF 4/4')",
        ),
    ):
        p.add_argument(
            f"--{option}",
            metavar="TEXT",
            default=None,
            help=f"{what} for the report's case details and sign-off, for a recording whose "
            "case set-up does not give it (given, it replaces the recording's); one recording "
            "only",
        )
    p.add_argument(
        "--read-anyway",
        action="store_true",
        help="analyse a recording whose header is damaged (misaligned channels, made-up "
        "scales) instead of refusing it; the notes say what is wrong",
    )
    return p


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, not {text!r}")
    return value


def log_to_file() -> None:
    """Send log records (a failing detector's traceback) to the monitor's log file, as the
    live monitor does, never to the terminal. Logging already set up is left alone."""
    if logging.getLogger().handlers:
        return
    from monitor.logsetup import setup_logging

    setup_logging()


class CaseFailed(Exception):
    """Why a recording cannot be analysed: one sentence, without ``error:``."""


@dataclass
class CaseResult:
    """What :func:`analyse_file` wrote and what the command says after it."""

    summary: dict
    notes: list[str]  # "note: ..." and "warning: ..." lines
    lsr_baseline_s: float | None  # the stimulus completing the LSR baseline, if any
    wall_s: float


def open_recording(
    recording: Path, out: Path, threshold: str = "adaptive", read_anyway: bool = False
) -> CaseModel:
    """The case on the opened recording, the monitor's pipeline attached (keeping every
    event and sweep), not started: the command reads the file as fast as it can.
    Raises :class:`CaseFailed` saying why it cannot be."""
    from drivers.sources import Recording

    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CaseFailed(f"cannot create the output folder {out}: {exc.strerror}.") from exc
    description = Recording(recording, realtime=False, hold_at_end=False, strict=not read_anyway)
    try:
        return open_case(
            description,
            offline=True,
            freerun=FreeRunSettings(mode=threshold),
            start=False,
        )
    except SourceError as exc:
        raise CaseFailed(str(exc)) from exc
    except FilterSettingsError as exc:  # e.g. sampled too slowly for the band-pass
        raise CaseFailed(f"cannot analyse {recording.name}: {exc}") from exc


def notes(source, session: Session) -> list[str]:
    """What the reader left out, skipped or read anyway, and any detector that stopped."""
    lines = [f"note: {message}" for message in source.messages]
    lines += [
        f"warning: {problem.text}"
        for problem in session.problems_since(0)[1]
        if problem.severity is Severity.CRITICAL
    ]
    return lines


def analyze(argv: list[str]) -> int:
    """The command on a list of arguments (``main.main(["analyze", ...])`` does the same)."""
    return run(build_parser().parse_args(argv))


def run(args: argparse.Namespace) -> int:
    """Analyse the recording (or, given a folder, every recording in it) and write the
    results; the exit status."""
    log_to_file()
    if args.recording.is_dir():
        named = [k for k in PEOPLE if getattr(args, k, None)]
        if named:  # a folder holds many cases: one name for all of them would be wrong
            print(
                f"error: --{named[0]} names one case's people: give one recording.", file=sys.stderr
            )
            return 2
        return run_archive(args)
    for option in ("jobs", "scheduler"):
        if getattr(args, option, None) is not None:
            print(f"error: --{option} needs a folder of recordings.", file=sys.stderr)
            return 2
    people = {k: " ".join(v.split()) for k in PEOPLE if (v := getattr(args, k, None))}
    try:
        result = analyse_file(
            args.recording, args.out, args.threshold, args.read_anyway, not args.quiet, people
        )
    except CaseFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for line in result.notes:
        print(line, file=sys.stderr)
    print(f"Wrote {args.out}/events.csv, stim_responses.csv, summary.json, report.html")
    return 0


def analyse_file(
    recording: Path,
    out: Path,
    threshold: str = "adaptive",
    read_anyway: bool = False,
    show_progress: bool = False,
    people: dict[str, str] | None = None,
) -> CaseResult:
    """Analyse one recording and write its results into ``out``; raises
    :class:`CaseFailed` when it cannot be analysed. ``people`` (``surgeon``,
    ``neurophysiologist``, ``anaesthesia``) replace what the recording says of them."""
    case = open_recording(recording, out, threshold, read_anyway)
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
            if show_progress and now - last_print > 0.2:
                last_print = now
                progress(block.stop / source.info.rate, duration, now - t0)
    except EndOfStream:
        pass
    except SourceError as exc:
        if show_progress:
            print(file=sys.stderr)
        raise CaseFailed(str(exc)) from exc
    finally:
        source.close()
    pipeline.flush()
    moments.finish()
    wall = time.perf_counter() - t0
    if show_progress:
        progress(duration, duration, wall)
        print(file=sys.stderr)
    summary = write_results(
        out, recording, source, session, monitoring, evoked, wall, moments, people
    )
    return CaseResult(summary, notes(source, session), lsr_baseline_time(evoked), wall)


def lsr_baseline_time(evoked: EvokedAnalyzer) -> float | None:
    """When the LSR baseline was complete (its last stimulus, s), or None without one."""
    baseline = evoked.baseline()
    if baseline is None:
        return None
    for r in evoked.results():
        if r.stim_number == baseline.last_stim:
            return round(r.stim_index / evoked.rate, 3)
    return None


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
    people: dict[str, str] | None = None,
) -> dict:
    """The four files; returns the summary (``summary.json``)."""
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
    write_report(out, recording, source, session, summary, events, evoked, moments, people)
    return summary


def write_report(
    out: Path,
    recording: Path,
    source,
    session: Session,
    summary: dict,
    events: list,
    evoked: EvokedAnalyzer,
    moments: KeyMoments | None,
    people: dict[str, str] | None = None,
) -> None:
    """``report.html``: case details, montage, figures and notes besides the summary;
    ``people`` given on the command line replace the recording's."""
    rate, labels = source.info.rate, source.info.labels
    annotations = getattr(source, "annotations", [])
    case = read_case_details(
        recording,
        labels,
        rate,
        summary["duration_s"],
        getattr(source, "start_datetime", None),
        annotations,
    )
    if people:
        case = dataclasses.replace(case, people=case.people | people)
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
        stim_rows(evoked),
        case=case,
        # The case set-up annotation is in the case details, not repeated as a note.
        notes=[n for n in case_notes(annotations, rate) if not parse_recording_note(n.text)],
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


def stim_rows(evoked: EvokedAnalyzer) -> list[StimRow]:
    """Every stimulus's LSR and direct response (the stimulation control), channel by
    channel, for the report's LSR table, trend and conclusion. A rejected sweep is a row
    that says why, never a row left out."""
    return [
        StimRow(
            time_s=r.stim_index / evoked.rate,
            label=r.label,
            kind=r.kind,
            present=bool(r.present and r.amplitude_uv is not None),
            amplitude_uv=r.amplitude_uv,
            latency_ms=r.latency_ms,
            rejected=r.rejected or "",
        )
        for r in evoked.results()
        if r.kind in (KIND_LSR, KIND_DIRECT)
    ]


# --- A folder of recordings --------------------------------------------------------------

#: What a folder run analyses (any case): EDF, EDF+, BDF and BDF+ files.
RECORDING_SUFFIXES = (".edf", ".bdf")


def find_recordings(folder: Path, out: Path) -> list[Path]:
    """Every ``*.edf``/``*.bdf`` (any case) in ``folder`` and its sub-folders, by relative
    path; ``out`` (where the results go) is skipped if it lies inside. Symbolic links to
    folders are not followed."""
    out_abs = out.resolve()
    found = []
    for root, dirs, files in os.walk(folder):
        here = Path(root)
        dirs[:] = sorted(d for d in dirs if (here / d).resolve() != out_abs)
        found += [here / f for f in files if Path(f).suffix.lower() in RECORDING_SUFFIXES]
    return sorted(found, key=lambda p: p.relative_to(folder).as_posix())


def case_folders(relative: list[str]) -> list[str]:
    """The results folder of each recording: its relative path without the suffix, or, when
    two recordings would share it (``a.edf`` and ``a.bdf``), with ``_edf``/``_bdf``."""
    stems = [r.rsplit(".", 1)[0] for r in relative]
    taken = Counter(s.casefold() for s in stems)
    return [
        s if taken[s.casefold()] == 1 else s + "_" + r.rsplit(".", 1)[1].lower()
        for s, r in zip(stems, relative, strict=True)
    ]


def analyse_case(
    recording: str, out: str, file: str, threshold: str = "adaptive", read_anyway: bool = False
) -> dict:
    """One recording of a folder run, in a worker process (local or Dask): its results
    written into ``out``; returns ``{"file", "row", "notes", "wall_s", "worker"}``, the row
    for cohort.csv. Never raises for a recording that cannot be analysed: the row says
    why. Module-level so that it pickles."""
    from commands.cohort import case_row, failed_row

    log_to_file()
    worker = f"{socket.gethostname()}:{os.getpid()}"
    t0 = time.perf_counter()
    try:
        result = analyse_file(Path(recording), Path(out), threshold, read_anyway)
    except CaseFailed as exc:
        row, found = failed_row(file, str(exc)), []
    except Exception as exc:  # a bug must cost one case, never the run
        logging.getLogger("monitor").exception("analysing %s failed", recording)
        row, found = failed_row(file, f"internal error: {type(exc).__name__}: {exc}"), []
    else:
        row, found = case_row(file, result.summary, result.lsr_baseline_s), result.notes
    wall = round(time.perf_counter() - t0, 3)
    if row["status"] != "ok":
        with contextlib.suppress(OSError):
            Path(out).rmdir()  # the folder made for it, if nothing was written there
    return {"file": file, "row": row, "notes": found, "wall_s": wall, "worker": worker}


def run_archive(args: argparse.Namespace) -> int:
    """Every recording in the folder ``args.recording``, then cohort.csv and cohort.html;
    0 when every one was analysed, 1 when some could not be, 2 when the run cannot start."""
    from commands.cohort import write_cohort

    folder, out = args.recording, args.out
    found = find_recordings(folder, out)
    if not found:
        print(f"error: no *.edf or *.bdf recording in {folder}.", file=sys.stderr)
        return 2
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        print(f"error: cannot create the output folder {out}: {exc.strerror}.", file=sys.stderr)
        return 2
    relative = [p.relative_to(folder).as_posix() for p in found]
    folders = case_folders(relative)
    out_abs = out.resolve()
    tasks = [
        (str(p.resolve()), str(out_abs / sub), rel)
        for p, sub, rel in zip(found, folders, relative, strict=True)
    ]
    options = {"threshold": args.threshold, "read_anyway": args.read_anyway}
    done: list[dict] = []

    def finished(result: dict) -> None:
        done.append(result)
        if not args.quiet:
            print(progress_line(len(done), len(tasks), result), file=sys.stderr, flush=True)
            for line in result["notes"]:
                print(f"  {line}", file=sys.stderr)
        elif result["row"]["status"] != "ok":
            print(f"error: {result['file']}: {result['row']['status']}", file=sys.stderr)

    t0 = time.perf_counter()
    if args.scheduler:
        where = run_on_dask(args.scheduler, args.scheduler_timeout, tasks, options, finished)
        if where is None:
            return 2
    else:
        jobs = min(args.jobs or os.cpu_count() or 1, len(tasks))
        run_local(jobs, tasks, options, finished)
        where = f"{jobs} local process{'es' if jobs > 1 else ''}"
    wall = time.perf_counter() - t0
    dict_folders = dict(zip(relative, folders, strict=True))
    write_cohort(out, done, dict_folders, folder=str(folder), where=where, wall_s=wall)
    failed = sum(r["row"]["status"] != "ok" for r in done)
    print(
        f"Wrote {out}/cohort.csv, cohort.html: {len(done) - failed} of {len(done)} "
        f"recordings analysed{f', {failed} failed' if failed else ''} in {wall:.1f} s"
    )
    return 1 if failed else 0


def progress_line(n: int, total: int, result: dict) -> str:
    row = result["row"]
    if row["status"] != "ok":
        return f"[{n}/{total}] {result['file']}: FAILED: {row['status']}"
    return (
        f"[{n}/{total}] {result['file']}: ok, {row['duration_s']} s of signal, train time "
        f"{row['train_time_total_s']} s, in {result['wall_s']:.1f} s"
    )


def crashed(task: tuple[str, str, str], exc: BaseException) -> dict:
    """The result of a case whose worker died or could not run it."""
    from commands.cohort import failed_row

    why = " ".join(str(exc).split()) or "no reason given"
    row = failed_row(task[2], f"the analysis process failed: {type(exc).__name__}: {why}")
    return {"file": task[2], "row": row, "notes": [], "wall_s": 0.0, "worker": ""}


def run_local(jobs: int, tasks: list, options: dict, finished) -> None:
    """The cases on ``jobs`` local processes, ``finished(result)`` as each one ends."""
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        futures = {pool.submit(analyse_case, *task, **options): task for task in tasks}
        for future in as_completed(futures):
            try:
                result = future.result()
            except Exception as exc:  # e.g. BrokenProcessPool: a worker was killed
                result = crashed(futures[future], exc)
            finished(result)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__).rstrip(".")


def run_on_dask(address: str, timeout_s: float, tasks: list, options: dict, finished):
    """The cases on the Dask cluster at ``address``; a description of where they ran, or
    None after saying in one line why the cluster cannot be used."""
    try:
        from dask.distributed import Client
        from dask.distributed import as_completed as dask_completed
    except ImportError:
        print(
            "error: --scheduler needs Dask: pip install 'facial-nerve-monitor[cluster]' "
            "(dask[distributed]).",
            file=sys.stderr,
        )
        return None
    try:
        from distributed.comm.addressing import parse_address
        from distributed.comm.registry import get_backend

        scheme, location = parse_address(address)
        get_backend(scheme).get_address_host_port(location)
    except Exception as exc:  # ValueError: unknown scheme, no port, bad host
        print(
            f"error: {address} is not a Dask scheduler address such as tcp://HOST:8786 "
            f"({_first_line(exc)}).",
            file=sys.stderr,
        )
        return None
    quiet_logs = [logging.getLogger(n) for n in ("distributed", "tornado")]
    levels = [lg.level for lg in quiet_logs]
    for lg in quiet_logs:
        lg.setLevel(logging.CRITICAL)
    try:
        client = Client(address, timeout=timeout_s, set_as_default=False)
    except Exception as exc:  # OSError, TimeoutError
        print(
            f"error: cannot reach the Dask scheduler at {address} within {timeout_s:g} s "
            f"({_first_line(exc)}).",
            file=sys.stderr,
        )
        return None
    finally:
        for lg, level in zip(quiet_logs, levels, strict=True):
            lg.setLevel(level)
    try:
        workers = len(client.scheduler_info().get("workers", {}))
        futures = [client.submit(analyse_case, *task, **options, pure=False) for task in tasks]
        by_key = {f.key: task for f, task in zip(futures, tasks, strict=True)}
        for future in dask_completed(futures, loop=client.loop):
            try:
                result = future.result()
            except Exception as exc:  # a worker died, or cannot import the package
                result = crashed(by_key[future.key], exc)
            finished(result)
    finally:
        client.close()
    return f"the Dask cluster at {address} ({workers} workers when the run started)"


if __name__ == "__main__":
    sys.exit(analyze(sys.argv[1:]))
