"""The monitor's front end: ``main.py`` with no command (``main.py --help``).

It describes the source a command line names (the simulator, a replay, an amplifier on a
serial port; :mod:`drivers.sources`), opens the case on it (:func:`monitor.casemodel.open_case`:
the monitoring pipeline and, with ``--record``, the recording) and runs it headless (a
status line a second) or on screen (the same case model, with a view).
``main.py`` parses and dispatches; everything else of monitoring is here.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from commands.argtypes import CommandParser, case_id_arg, number_in
from commands.frontend import UsageError, add_screenshot_options, needs_offscreen, parse_size
from commands.simoptions import add_simulator_options, channel_labels, sim_config
from drivers.sources import (
    Amplifier,
    LslStream,
    Recording,
    Simulated,
    SimulatedAmplifier,
    SourceSpec,
)
from monitor.casemodel import CaseModel, open_case
from monitor.filters import FilterSettings, FilterSettingsError
from monitor.logsetup import LEVELS, setup_logging
from monitor.recorder import RecorderError
from monitor.session import State
from monitor.source import SourceError

EPILOG = """\
examples:
  python main.py                                   monitor the simulator
  python main.py --channels 8 --rate 20000         8 simulated channels at 20 kHz
  python main.py --replay recordings/demo_mvd.edf --speed 2
  python main.py simulate-device                   a simulated amplifier on a pty
  python main.py --port /dev/ttyACM0               the amplifier on a serial port
  python main.py --headless --duration 10          no window; a status line per second
  python main.py --screenshot shot.png --after 5   save the window after 5 s and exit

keys in the window: + / - change the µV range; A or F2 acknowledges the alarms;
P or F3 pauses the alarm sound for 2 minutes (again: resume); B takes the LSR
baseline now (the panel appears with the first stimulus)."""


def build_parser(prog: str = "main.py", description: str | None = None) -> argparse.ArgumentParser:
    """The monitor's command line (``main.py`` builds its own with the list of commands as
    the description)."""
    p = CommandParser(
        prog=prog,
        description=description,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(p)
    return p


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The monitor's options: source, simulator, filters, display and running, recording."""
    src = p.add_argument_group("source (default: the built-in simulator)")
    src.add_argument(
        "--replay",
        metavar="FILE",
        type=Path,
        help="play an EDF, EDF+, BDF or BDF+ file through the monitor",
    )
    src.add_argument(
        "--port",
        metavar="PORT",
        help="read the amplifier on this serial port (e.g. /dev/ttyACM0, or the path "
        "printed by 'main.py simulate-device')",
    )
    src.add_argument(
        "--baud", type=int, default=921_600, help="serial line rate for UARTs (default 921600)"
    )
    src.add_argument(
        "--sim-device",
        action="store_true",
        help="the simulated amplifier, read through the serial protocol as a real one "
        "(simulator options apply)",
    )
    src.add_argument(
        "--list-ports", action="store_true", help="list this machine's serial ports and exit"
    )
    src.add_argument(
        "--lsl",
        metavar="NAME",
        default=None,
        help="read a Lab Streaming Layer EMG stream by name, or by property=value "
        "(e.g. type=EMG); LSL stays on this machine (docs/lsl-in.md)",
    )
    src.add_argument(
        "--lsl-markers",
        metavar="NAME",
        default=None,
        help="with --lsl: the marker stream with the stimuli (default: the stream named "
        "like the EMG stream with ' markers' for a trailing ' EMG')",
    )
    src.add_argument(
        "--read-anyway",
        action="store_true",
        help="with --replay: play a recording whose header is damaged (misaligned channels, "
        "made-up scales) instead of refusing it; the messages say what is wrong",
    )
    src.add_argument(
        "--speed",
        type=number_in(0.1, 20, "--speed"),
        default=1.0,
        help="replay (or simulator) speed, 0.1 to 20 times real time (default 1)",
    )
    sim = p.add_argument_group("simulator")
    add_simulator_options(sim, unset_note="; with --port the amplifier's", channels=None, rate=None)
    filt = p.add_argument_group("filters")
    filt.add_argument(
        "--highpass",
        type=float,
        default=20.0,
        metavar="HZ",
        help="high-pass corner (default 20 Hz)",
    )
    filt.add_argument(
        "--lowpass",
        type=float,
        default=3000.0,
        metavar="HZ",
        help="low-pass corner (default 3000 Hz)",
    )
    filt.add_argument(
        "--notch",
        type=float,
        choices=(50.0, 60.0),
        default=None,
        metavar="HZ",
        help="mains notch at 50 or 60 Hz (off by default: it distorts waveforms)",
    )
    disp = p.add_argument_group("display and running")
    disp.add_argument(
        "--window",
        type=number_in(1, 60, "--window"),
        default=10.0,
        metavar="SECONDS",
        help="seconds of signal on screen (default 10)",
    )
    disp.add_argument(
        "--headless",
        action="store_true",
        help="run without a window, printing a status line every second",
    )
    disp.add_argument(
        "--duration",
        type=number_in(0.1, 1e7, "--duration"),
        default=None,
        metavar="SECONDS",
        help="stop after this many seconds (headless)",
    )
    add_screenshot_options(disp)
    disp.add_argument(
        "--size",
        default="1600x900",
        metavar="WxH",
        help="window size for the screenshot (default 1600x900)",
    )
    disp.add_argument(
        "--log",
        type=Path,
        default=None,
        metavar="FILE",
        help="log file (default: the platform's log folder, e.g. "
        "~/.local/state/facial-nerve-monitor/monitor.log; rotated at 5 MB)",
    )
    disp.add_argument(
        "--log-level",
        choices=LEVELS,
        default="info",
        help="what the log keeps (default info)",
    )
    rec = p.add_argument_group("recording")
    rec.add_argument(
        "--record",
        nargs="?",
        const="recordings",
        default=None,
        metavar="FOLDER",
        help="record the case crash-safely as EDF+ (BDF+ for 24-bit amplifiers) into FOLDER "
        "(default recordings/), named from date, time and case id",
    )
    rec.add_argument(
        "--setup",
        action="store_true",
        help="on screen: set up the case first (case, procedure, side, montage, the user's "
        "settings, electrode check), then monitor and record; F9 does it at any time",
    )
    rec.add_argument(
        "--case-id",
        type=case_id_arg,
        default="",
        metavar="ID",
        help="case identifier for the file name and header: letters, digits, - and _, at most "
        "20 (never the patient's name or birth date)",
    )
    add_publishing_options(p)


def add_publishing_options(p: argparse.ArgumentParser) -> None:
    """``--lsl-out``, ``--room``, ``--lsl-hosts``: the room published over Lab Streaming
    Layer (``docs/remote.md``)."""
    pub = p.add_argument_group("publishing (Lab Streaming Layer)")
    pub.add_argument(
        "--lsl-out",
        nargs="?",
        const="filtered",
        default=None,
        choices=("raw", "filtered"),
        help="publish the room's EMG (filtered by default, or raw) and its markers (events, "
        "alarms, LSR calls, stimuli, notes, a status a second) over Lab Streaming Layer; "
        "off by default",
    )
    pub.add_argument(
        "--room",
        default=None,
        metavar="NAME",
        help="the room's name in the published streams ('NAME EMG', 'NAME markers'; "
        "default: this computer's host name)",
    )
    pub.add_argument(
        "--lsl-hosts",
        type=lsl_hosts_arg,
        default=("127.0.0.1",),
        metavar="IP[,IP...]",
        help="the hosts allowed to see the streams, IPv4 addresses (default 127.0.0.1: "
        "this machine only); LSL is unencrypted: name only hosts of the isolated network",
    )


def lsl_hosts_arg(text: str) -> tuple[str, ...]:
    """``--lsl-hosts``: comma-separated IPv4 addresses."""
    from drivers.lslconfig import config_text

    hosts = tuple(h.strip() for h in text.split(",") if h.strip())
    try:
        config_text(hosts)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a list of IPv4 addresses (e.g. 127.0.0.1,10.0.0.5)"
        ) from None
    return hosts


def run(args: argparse.Namespace) -> int:
    """Monitor what the command line says, headless or on screen; the exit status."""
    setup_logging(args.log, args.log_level)
    if args.list_ports:
        return print_ports()
    from monitor.recorder import recordings_this_run

    earlier = len(recordings_this_run())  # main() may run more than once in a process
    try:
        size = parse_size(args.size)
        offscreen = False if args.headless else needs_offscreen(args)
        restrict_lsl(args)
        case = open_monitor_case(args)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    publisher = None
    try:
        publisher = publish_case(args, case)
        return run_monitor(args, case, offscreen, size)
    except UsageError as exc:  # publishing could not start
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        if publisher is not None:
            publisher.close()
        case.close()
        print_recordings(recordings_this_run()[earlier:])


def restrict_lsl(args: argparse.Namespace) -> None:
    """Keep Lab Streaming Layer on ``--lsl-hosts`` when the command line uses it; before
    anything of LSL is made (liblsl reads its configuration once)."""
    if args.lsl_out is not None or getattr(args, "lsl", None):
        from drivers.lslconfig import restrict_to_hosts

        restrict_to_hosts(args.lsl_hosts)


def publish_case(args: argparse.Namespace, case: CaseModel):
    """The case's publisher when ``--lsl-out`` asks for one, else None; ``UsageError``
    when it cannot start."""
    if args.lsl_out is None:
        return None
    try:
        from drivers.lsl_out import LslPublisher

        publisher = LslPublisher(case, room=args.room, signal=args.lsl_out)
    except (ImportError, OSError, RuntimeError, ValueError) as exc:
        raise UsageError(f"cannot publish over Lab Streaming Layer: {exc}") from None
    print(
        f"Publishing '{publisher.room} EMG' ({args.lsl_out}) and '{publisher.room} markers' "
        f"over Lab Streaming Layer to {', '.join(args.lsl_hosts)}",
        file=sys.stderr,
    )
    return publisher


def describe_source(args: argparse.Namespace) -> SourceSpec:
    """The source the command line names; ``UsageError`` when it names it badly."""
    lsl = getattr(args, "lsl", None)
    if sum((args.replay is not None, args.port is not None, args.sim_device, lsl is not None)) > 1:
        raise UsageError("choose one source: --replay, --port, --sim-device or --lsl")
    if lsl is not None:
        return LslStream(lsl, markers=getattr(args, "lsl_markers", None))
    if args.bad_electrode and (args.replay is not None or args.port is not None):
        raise UsageError("--bad-electrode is for the simulator, not for --replay or --port")
    if args.replay is not None:
        # On screen a replay holds at its end, to be reviewed; headless it ends.
        return Recording(
            args.replay,
            speed=args.speed,
            hold_at_end=not args.headless,
            strict=not args.read_anyway,
        )
    if args.port is not None:
        return Amplifier(
            args.port,
            args.baud,
            labels=channel_labels(args),
            rate=None if args.rate is None else int(args.rate),
        )
    try:
        config = sim_config(args)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if args.sim_device:
        return SimulatedAmplifier(config)
    return Simulated(config, speed=args.speed)


def open_monitor_case(args: argparse.Namespace) -> CaseModel:
    """The case on the source the command line names, with its filters and, with
    ``--record``, its recording; started. Raises ``UsageError`` with one line."""
    description = describe_source(args)
    try:
        return open_case(
            description,
            filters=FilterSettings(
                highpass_hz=args.highpass, lowpass_hz=args.lowpass, notch_hz=args.notch
            ),
            record_folder=args.record or "recordings",
            case_id=args.case_id,
            record=args.record is not None,
        )
    except FilterSettingsError as exc:  # the file's rate does not allow the filters
        where = f"cannot replay {args.replay.name}: " if args.replay is not None else ""
        raise UsageError(f"{where}{exc}") from None
    except (SourceError, ValueError, RecorderError) as exc:
        raise UsageError(str(exc)) from None


def run_headless(case: CaseModel, duration: float | None) -> int:
    """The case without a view: its problems, events, alarms and LSR calls as lines, and a
    status line a second, until ``duration`` or the source's end."""
    from presentation.feed import MonitoringFeed, event_row, transition_text
    from presentation.lsrfeed import LsrFeed, call_line

    session, monitoring, evoked = case.session, case.monitoring, case.evoked
    feed = MonitoringFeed(monitoring)
    lsr_feed = LsrFeed(evoked)
    start = time.monotonic()
    seen = 0
    try:
        while True:
            time.sleep(min(1.0, max(0.05, (duration or 1.0) - (time.monotonic() - start))))
            seen, problems = session.problems_since(seen)
            for problem in problems:
                print(f"[{problem.severity.value}] {problem.text}", flush=True)
            events, transitions = feed.poll()
            for ev in events:
                row = event_row(ev, monitoring).line(with_time=False)
                print(f"event {ev.onset / monitoring.rate:.2f}s  {row}", flush=True)
            for t in transitions:
                technical = monitoring.alarms.policy(t.key).technical
                print(
                    f"alarm {t.sample_index / monitoring.rate:.2f}s  "
                    f"{transition_text(t, technical)}",
                    flush=True,
                )
            for call in lsr_feed.new_calls():
                print(call_line(call, evoked.rate), flush=True)
            st = session.status()
            print(
                f"{time.strftime('%H:%M:%S')} {st.state.value} {st.source_name} "
                f"{st.n_channels}ch@{st.rate:g}Hz t={st.signal_seconds:.1f}s "
                f"samples={st.samples} gaps={st.gaps} gap_samples={st.gap_samples} "
                f"overruns={st.overruns}",
                flush=True,
            )
            if duration is not None and time.monotonic() - start >= duration:
                break
            if st.state in (State.FINISHED, State.FAILED):
                break
    except KeyboardInterrupt:
        pass
    finally:
        case.close()
    return 1 if session.state is State.FAILED else 0


def print_ports() -> int:
    from drivers.serial_link import list_ports

    ports = list_ports()
    for device, description in ports:
        print(f"{device}\t{description}")
    if not ports:
        print("No serial ports found. A simulated amplifier: python main.py simulate-device")
    return 0


def print_recordings(recorders: list) -> None:
    """The run's last lines: what each recording saved, where, and whether it stopped
    early (a full disk, a removed folder); or that nothing was recorded."""
    for rec in recorders:
        rec.close()  # idempotent: a window closes its own first
        print(rec.outcome(), file=sys.stderr)
    if not recorders:
        print(
            "Nothing was recorded (record with --record FOLDER, or R on screen).",
            file=sys.stderr,
        )


def run_monitor(args: argparse.Namespace, case: CaseModel, offscreen: bool, size) -> int:
    if args.headless:
        return run_headless(case, args.duration)
    if offscreen:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from ui.app import run_gui

    return run_gui(
        case,
        args.window,
        args.screenshot,
        args.after,
        size,
        switchable=True,
        setup_case=args.setup,
        simulator=simulator_of(args),
    )


def simulator_of(args: argparse.Namespace) -> Simulated | None:
    """The simulated case the command line describes, whatever its source: the screen's
    source dialog starts from it (seed, stimulation, bad needles, side, speed)."""
    try:
        return Simulated(sim_config(args), speed=args.speed)
    except ValueError:  # options that fit only the source they were given for
        return None
