"""``main.py remote``: a read-only supervision screen for monitors in other rooms.

Every monitor started with ``--lsl-out`` publishes its case over Lab Streaming Layer
(``docs/remote.md``). This command watches them (:class:`drivers.lsl_rooms.RoomWatcher`):
on screen a strip per room (highest alarm in words and colour, train time per channel
against its two levels, LSR state, last events; a room's full traces on demand), headless
one status line per room per second. Nothing here acknowledges an alarm or touches a
stimulator: that stays in the operating room, and the screen says so.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from commands.argtypes import CommandParser, number_in
from commands.frontend import UsageError, add_screenshot_options, needs_offscreen, parse_size


def build_parser(prog: str = "main.py remote") -> argparse.ArgumentParser:
    p = CommandParser(
        prog=prog,
        description="Watch the monitors that publish their case over Lab Streaming Layer "
        "(started with --lsl-out): read-only; acknowledging stays in the operating room.",
    )
    p.add_argument(
        "--room",
        action="append",
        default=None,
        metavar="NAME",
        help="a room to watch (repeat for several; default every room found)",
    )
    p.add_argument(
        "--lsl-hosts",
        default="127.0.0.1",
        metavar="IP[,IP...]",
        help="the hosts of the monitors (default 127.0.0.1: this machine only); LSL looks "
        "nowhere else (docs/remote.md)",
    )
    p.add_argument(
        "--headless",
        action="store_true",
        help="no window: one status line per room per second",
    )
    p.add_argument(
        "--duration",
        type=number_in(0.1, 1e7, "--duration"),
        default=None,
        metavar="SECONDS",
        help="stop after this many seconds",
    )
    add_screenshot_options(p)
    p.add_argument("--size", default="1600x900", metavar="WxH", help="window size")
    return p


def run(args: argparse.Namespace) -> int:
    """Watch the rooms, headless or on screen; the exit status."""
    from drivers.lslconfig import restrict_to_hosts
    from monitor.logsetup import setup_logging

    setup_logging()
    try:
        size = parse_size(args.size)
        offscreen = False if args.headless else needs_offscreen(args)
        restrict_to_hosts([h for h in args.lsl_hosts.split(",") if h.strip()])
    except (UsageError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        import pylsl  # noqa: F401 - said in one line when missing

        from drivers.lsl_rooms import RoomWatcher
    except ImportError:
        print(
            "error: Lab Streaming Layer is not installed (pip install 'facial-nerve-monitor[lsl]')",
            file=sys.stderr,
        )
        return 2
    watcher = RoomWatcher(tuple(args.room or ()))
    watcher.start()
    try:
        if args.headless:
            return _headless(watcher, args.duration)
        if offscreen:
            os.environ["QT_QPA_PLATFORM"] = "offscreen"
        from ui.remote import run_remote

        return run_remote(watcher, args.screenshot, args.after, size, args.duration)
    finally:
        watcher.stop()


def _headless(watcher, duration: float | None) -> int:
    from drivers.lsl_rooms import status_line

    start = time.monotonic()
    try:
        while duration is None or time.monotonic() - start < duration:
            time.sleep(1.0)
            rooms = watcher.rooms()
            stamp = time.strftime("%H:%M:%S")
            if not rooms:
                print(f"{stamp} no monitor found yet (started with --lsl-out?)", flush=True)
            for room in rooms:
                print(f"{stamp} {status_line(room)}", flush=True)
    except KeyboardInterrupt:
        pass
    return 0
