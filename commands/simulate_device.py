"""``main.py simulate-device``: a simulated amplifier on a pseudo-terminal, with faults."""

from __future__ import annotations

import argparse
import sys
import time

from commands.argtypes import CommandParser, number_in
from commands.simoptions import add_simulator_options, sim_config


def build_parser(prog: str = "main.py simulate-device") -> argparse.ArgumentParser:
    p = CommandParser(
        prog=prog,
        description="Run a simulated EMG amplifier on a pseudo-terminal. It speaks the "
        "serial protocol (docs/protocol.md); open the printed path with "
        "'main.py --port PATH'. Runs until Ctrl-C.",
    )
    p.add_argument("--bits", type=int, choices=(16, 24), default=24, help="sample size (24)")
    p.add_argument(
        "--frame-ms",
        type=number_in(0.5, 20, "--frame-ms"),
        default=2.0,
        help="signal per data frame in ms (default 2)",
    )
    p.add_argument(
        "--link",
        default=None,
        metavar="PATH",
        help="stable path of the device (a symlink to the pty; default: temporary)",
    )
    # The monitor's simulator options, with the same defaults (main.py --sim-device
    # simulates the same patient in-process).
    add_simulator_options(p.add_argument_group("simulated patient (as in main.py)"))
    f = p.add_argument_group("faults, for tests and training")
    f.add_argument("--drop-every", type=float, metavar="S", help="lose one data frame every S s")
    f.add_argument("--corrupt-every", type=float, metavar="S", help="corrupt a frame every S s")
    f.add_argument(
        "--garbage-every", type=float, metavar="S", help="send 100 random bytes every S s"
    )
    f.add_argument("--stall-at", type=float, metavar="S", help="go silent at S s ...")
    f.add_argument("--stall-for", type=float, default=2.0, metavar="S", help="... for S s (2)")
    f.add_argument("--unplug-at", type=float, metavar="S", help="disconnect at S s ...")
    f.add_argument(
        "--unplug-for", type=float, default=3.0, metavar="S", help="... and come back after S s (3)"
    )
    f.add_argument("--duration", type=float, default=None, metavar="S", help="exit after S s")
    return p


def run(args: argparse.Namespace) -> int:
    """Run the simulated amplifier until ``--duration`` or Ctrl-C; the exit status."""
    from drivers.simdevice import SimulatedDevice

    try:
        config = sim_config(args)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    device = SimulatedDevice(config, bits=args.bits, frame_ms=args.frame_ms, link_path=args.link)
    path = device.start()
    print(f"Simulated amplifier on {path} (pty {device.pty_name})", flush=True)
    for bad in config.bad_electrodes:
        print(f"Bad electrode: {bad.describe()}", flush=True)
    print(f"Monitor it with: python main.py --port {path}", flush=True)
    try:
        run_faults(device, args)
    except KeyboardInterrupt:
        pass
    finally:
        device.stop()
    print(f"Sent {device.frames_sent} frames; dropped {device.frames_dropped}.", flush=True)
    return 0


def run_faults(device, args: argparse.Namespace) -> None:
    """Inject the requested faults on schedule until ``--duration`` (or Ctrl-C)."""
    actions = {
        "drop": (args.drop_every, lambda: device.drop_frames(1)),
        "corrupt": (args.corrupt_every, lambda: device.corrupt_frames(1)),
        "garbage": (args.garbage_every, lambda: device.send_garbage(100)),
    }
    due = {k: every for k, (every, _) in actions.items() if every}
    once = []
    if args.stall_at is not None:
        once.append(
            (
                args.stall_at,
                f"stalling for {args.stall_for:g} s",
                lambda: device.stall(args.stall_for),
            )
        )
    if args.unplug_at is not None:
        once.append(
            (
                args.unplug_at,
                f"unplugged for {args.unplug_for:g} s",
                lambda: device.unplug(args.unplug_for),
            )
        )
    t0 = time.monotonic()
    while args.duration is None or time.monotonic() - t0 < args.duration:
        time.sleep(0.05)
        t = time.monotonic() - t0
        for kind, when in list(due.items()):
            if t >= when:
                actions[kind][1]()
                due[kind] = when + actions[kind][0]
        for item in [o for o in once if t >= o[0]]:
            once.remove(item)
            item[2]()
            print(f"[{t:.1f} s] {item[1]}", flush=True)


if __name__ == "__main__":
    sys.exit(run(build_parser().parse_args()))
