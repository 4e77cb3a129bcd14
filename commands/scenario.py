"""``main.py scenario FILE``: play a training scenario (``docs/scenarios.md``).

On screen it opens the monitor on the scenario's source. With ``--headless`` it runs the
case to its end (or ``--duration``) as fast as ``--speed`` allows, prints the phases,
alarms and LSR calls as they come, then the monitor's detections and alarms against the
scenario's own ground truth and a verdict: exit status 0 when the monitor met every
expectation of the case, 1 when it did not, 2 when the scenario could not be run.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

from commands.argtypes import CommandParser, number_in
from commands.frontend import UsageError, add_screenshot_options, needs_offscreen, parse_size
from commands.scenario_score import MonitorRecord, score
from drivers.sources import TrainingScenario
from monitor.casemodel import CaseModel, open_case
from monitor.session import State
from monitor.source import SourceError
from simulation.scenario_engine import ScenarioEngine
from simulation.scenario_model import Scenario, clock
from simulation.scenario_parser import ScenarioError, load_scenario

STALL_S = 30.0  # no new signal for this long (wall time): the run is given up
FAST_BLOCK_S = 0.2  # signal per block when running as fast as possible


def speed_arg(text: str) -> float:
    """``max`` (infinity: as fast as the computer allows) or a factor from 0.1 to 1000."""
    if text.strip().lower() == "max":
        return math.inf
    return number_in(0.1, 1000, "--speed")(text)


def build_parser(prog: str = "main.py scenario") -> argparse.ArgumentParser:
    p = CommandParser(
        prog=prog,
        description="Play a training scenario (a TOML file, see docs/scenarios.md) through "
        "the monitor: on screen, or headless with the monitor's detections and alarms "
        "checked against the scenario's ground truth.",
        epilog="examples:\n"
        "  python main.py scenario scenarios/routine_mvd.toml\n"
        "  python main.py scenario scenarios/nerve_irritation.toml --headless\n"
        "  python main.py scenario scenarios/technical_trouble.toml --headless --serial",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("file", type=Path, metavar="FILE", help="the scenario (.toml)")
    p.add_argument(
        "--headless",
        action="store_true",
        help="no window: run the case to its end, then print the monitor's findings "
        "against the ground truth and a verdict (exit 0 when every expectation is met)",
    )
    p.add_argument(
        "--speed",
        type=speed_arg,
        default=None,
        metavar="N|max",
        help="case seconds per second, 0.1 to 1000, or max (default: 1 on screen, max headless)",
    )
    p.add_argument(
        "--serial",
        action="store_true",
        help="play the case through the simulated amplifier on a pty and the serial "
        "driver, as a real amplifier (in real time)",
    )
    p.add_argument(
        "--duration",
        type=number_in(1, 4 * 3600, "--duration"),
        default=None,
        metavar="SECONDS",
        help="stop the case after this many seconds",
    )
    p.add_argument(
        "--verbose", action="store_true", help="headless: print every event the monitor reports"
    )
    train = p.add_argument_group("training (on screen)")
    train.add_argument(
        "--instructor",
        action="store_true",
        help="open the instructor's console beside the monitor: the case waits for its "
        "Start there; pause, jump to a phase, inject events, follow the truth and the "
        "trainee's score",
    )
    train.add_argument(
        "--trainee",
        action="store_true",
        help="score the trainee: F5 calls an A-train, F6 the LSR gone; alarms acknowledged "
        "with A; a debrief page is written at the end (--debrief)",
    )
    train.add_argument(
        "--debrief",
        type=Path,
        default=None,
        metavar="FILE",
        help="where the debrief goes (default debriefs/<scenario>-<date>-<time>.html)",
    )
    add_screenshot_options(p)
    p.add_argument(
        "--size",
        default="1600x900",
        metavar="WxH",
        help="the monitor window's size on screen and in a screenshot (default 1600x900); "
        "with --instructor the monitor is narrowed where the console would not fit beside "
        "it on the screen",
    )
    return p


class _Refused(Exception):
    """A command line or scenario that cannot be run; the message is one line."""


def run(args: argparse.Namespace) -> int:
    """Run the command; returns the exit status."""
    from monitor.logsetup import setup_logging  # the log file, not the terminal

    setup_logging()
    try:
        size = parse_size(args.size)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        sc = load_scenario(args.file)
        speed = _speed(args)
        held = _waits_for_start(args)
        engine = ScenarioEngine(sc, stop_at_s=args.duration, wait_for_start=held)
        # In-process, the acquisition itself waits for the Start: the monitor shows no
        # signal and its clock stays at 0:00:00 until then. The simulated amplifier
        # streams from its opening: its quiet baseline runs, the case is held.
        case, record = _start(engine, args.serial, speed, acquire=args.serial or not held)
    except (_Refused, ScenarioError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not args.headless:
        print(describe(sc), flush=True)
        return _on_screen(args, case, engine, size)
    session, monitoring, evoked = case.session, case.monitoring, case.evoked
    how = "through the simulated serial amplifier" if args.serial else "in-process"
    pace = "as fast as possible" if math.isinf(speed) else f"at {speed:g}x"
    print(f"Scenario: {sc.title} ({sc.path})")
    print(
        f"Source: {how}, {pace}; {len(sc.labels)} channels at {sc.rate:g} Hz, seed {sc.seed}; "
        f"case {clock(engine.end_index / sc.rate if engine.end_index else sc.duration_s)}",
        flush=True,
    )
    t0 = time.monotonic()
    try:
        stalled = _follow(session, engine, monitoring, evoked, args.verbose)
    except KeyboardInterrupt:  # stopped by hand: the report covers what ran
        stalled = None
    session.stop()
    monitoring.flush()
    evoked.flush()
    if stalled:
        print(f"error: {stalled}", file=sys.stderr)
        return 2
    if session.source.fell_behind:
        print(
            f"Played slower than the {speed:g}x asked: this computer could not keep up. No "
            "signal was dropped.",
            flush=True,
        )
    return _report(sc, engine, monitoring, record, evoked, time.monotonic() - t0)


def _speed(args: argparse.Namespace) -> float:
    """Case seconds per second (infinity: as fast as possible)."""
    speed = args.speed
    if args.serial and speed not in (None, 1.0):
        raise _Refused(
            "--serial plays the case in real time (the simulated amplifier streams at its "
            "sampling rate); leave out --speed."
        )
    if speed is None:
        speed = 1.0 if args.serial or not args.headless else math.inf
    if math.isinf(speed) and not args.headless:
        raise _Refused("--speed max is for --headless; on screen give a factor.")
    return speed


def _waits_for_start(args: argparse.Namespace) -> bool:
    """On screen with the instructor's console the case waits for its Start (not for a
    screenshot: that shows the case running)."""
    return bool(args.instructor and not args.headless and args.screenshot is None)


def _start(
    engine: ScenarioEngine, serial: bool, speed: float, acquire: bool = True
) -> tuple[CaseModel, MonitorRecord]:
    """The case on the scenario's source (the monitor's pipeline, every event kept for
    the score) and the record the score reads; acquisition started unless not
    ``acquire`` (then the instructor's Start starts it)."""
    description = TrainingScenario(engine, serial=serial, speed=speed, fast_block_s=FAST_BLOCK_S)
    try:
        case = open_case(description, offline=True, start=False)  # scored: keep every event
    except (SourceError, ValueError, OSError) as exc:
        raise _Refused(str(exc)) from None
    record = MonitorRecord(case.monitoring)  # before the first block
    if acquire:
        case.session.start()
    return case, record


def _report(sc: Scenario, engine, monitoring, record, evoked, wall: float) -> int:
    """Print the findings against the truth and the verdict; the exit status."""
    truth = engine.truth()
    case_s = min(truth.end_index or truth.rendered_until, truth.rendered_until) / sc.rate
    print(f"Ran {clock(case_s)} of the case in {wall:.1f} s ({case_s / max(wall, 1e-9):.0f}x).")
    print()
    card = score(
        truth,
        record,
        evoked.calls(),
        monitoring.traintime.seconds(),
        monitoring.traintime.thresholds_s,
        sc.expect,
    )
    for line in card.lines:
        print(line)
    print("== Expectations ==")
    for check in card.checks:
        print(check.row())
    if case_s < sc.duration_s:
        print(f"  (the case was stopped at {clock(case_s)} of {clock(sc.duration_s)})")
    print(card.verdict(), flush=True)
    return 0 if card.passed else 1


def _follow(session, engine, monitoring, evoked, verbose: bool) -> str | None:
    """Print the timeline, alarms and LSR calls as they happen until the case ends;
    return why it stopped early, if it did."""
    from presentation.feed import event_row, transition_text  # Qt-free, the screen's own words

    seen = {"notices": 0, "alarms": 0, "calls": 0, "events": 0, "problems": 0}
    last_end, last_move = -1, time.monotonic()

    def at(index: int) -> str:
        return clock(engine.case_s_of(index))

    while True:
        state = session.state
        time.sleep(0.02)
        seen["notices"], notices = engine.notices_since(seen["notices"])
        for n in notices:
            print(f"{clock(n.case_s)}  {n.text}", flush=True)
        seen["problems"], problems = session.problems_since(seen["problems"])
        for p in problems:
            if not p.text.endswith("end of recording reached."):  # said as "End of the case"
                print(f"{at(p.sample_index)}  [{p.severity.value}] {p.text}", flush=True)
        seen["alarms"], transitions = monitoring.alarms.transitions_since(seen["alarms"])
        for t in transitions:
            technical = monitoring.alarms.policy(t.key).technical
            print(f"{at(t.sample_index)}  {transition_text(t, technical)}", flush=True)
        calls = evoked.calls()
        for c in calls[seen["calls"] :]:
            print(f"{at(c.reported_at)}  {c.text}", flush=True)
        seen["calls"] = len(calls)
        if verbose:
            seen["events"], events = monitoring.events_since(seen["events"])
            for ev in events:
                print(f"{at(ev.onset)}  event {event_row(ev, monitoring).line(False)}", flush=True)
        if state in (State.FINISHED, State.FAILED):
            if state is State.FAILED:
                return "the source failed; see the lines above."
            return None
        end = session.status().end_index
        now = time.monotonic()
        if end != last_end:
            last_end, last_move = end, now
        elif now - last_move > STALL_S and state is State.RUNNING:
            return f"the case stopped advancing at {at(end)} (no signal for {STALL_S:g} s)."


def _on_screen(
    args: argparse.Namespace, case: CaseModel, engine: ScenarioEngine, size: tuple[int, int]
) -> int:
    """The monitor's window on the scenario's source; with ``--instructor`` the console
    beside it, with ``--trainee`` the training keys and a debrief at the end."""
    import os

    try:
        offscreen = needs_offscreen(args)
    except UsageError as exc:  # no display
        case.close()
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if offscreen:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from monitor.session import State
    from presentation.names import kind_words
    from training.actions import TraineeLog
    from training.debrief import write_debrief
    from ui.app import run_gui

    trainee = TraineeLog(engine) if args.trainee else None
    debrief_path = args.debrief or Path("debriefs") / (
        f"{Path(args.file).stem}-{time.strftime('%Y%m%d-%H%M%S')}.html"
    )
    kept: list[object] = []

    def debrief() -> Path:
        return write_debrief(debrief_path, engine, case.monitoring, trainee, words=kind_words)

    def start_acquisition() -> None:
        if case.session.state is State.IDLE:
            case.session.start()

    def training(window) -> None:
        if trainee is not None:
            window.enable_training(trainee)
        if args.instructor:
            from ui.instructor import open_console, screenshot_later

            console = open_console(
                window,
                engine,
                case.monitoring,
                lambda: case.session.status().end_index,
                trainee,
                debrief if trainee else None,
                on_start=start_acquisition,
            )
            kept.append(console)  # a top-level window of its own, not the trainee's
            if args.screenshot is not None:  # both windows as placed, in one picture
                screenshot_later(args.after, [window, console], args.screenshot)

    # With the console, the screenshot is of both windows (taken above), not the monitor's.
    shot = None if args.instructor else args.screenshot
    try:
        code = run_gui(case, 10.0, shot, args.after, size, on_window=training)
    finally:
        for console in kept:
            console.close()  # type: ignore[attr-defined]
        case.close()
    if trainee is not None:
        try:
            print(f"Debrief: {debrief()}")
        except OSError as exc:
            print(f"error: the debrief could not be written: {exc.strerror}", file=sys.stderr)
    return code


def describe(sc: Scenario) -> str:
    """Title, phases and teaching text, for the start of a run on screen."""
    phases = ", ".join(f"{p.name} {clock(p.start_s)}" for p in sc.phases)
    return f"{sc.title}\nPhases: {phases}\n\n{sc.teaching}"
