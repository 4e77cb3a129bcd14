"""The simulated patient's options, declared once for every command line that runs the
simulator: the monitor (``main.py``, ``--sim-device``) and ``main.py simulate-device``.

:func:`add_simulator_options` adds them to a parser or an argument group;
:func:`sim_config` turns the parsed options into the simulator's
:class:`~simulation.emgsynth.SimConfig`. The defaults are the simulator's own; a command
whose default must differ passes it (the monitor leaves ``--channels`` and ``--rate``
unset, so that with ``--port`` the amplifier says them) and the help says so.
"""

from __future__ import annotations

import argparse
from typing import Any

from commands.argtypes import number_in
from commands.badelectrode import HELP as BAD_ELECTRODE_HELP
from commands.badelectrode import bad_electrode_arg
from monitor.montage import default_labels
from simulation.emgsynth import SimConfig

#: The simulated patient's channels and rate when the command line does not say.
DEFAULT_CHANNELS = len(SimConfig.labels)
DEFAULT_RATE = SimConfig.rate
SITES = ("zygomatic", "temporal", "buccal", "marginal mandibular", "Z-L")


def channels_arg(text: str) -> int | tuple[str, ...]:
    """``8`` for 8 channels of the default montage, or a comma-separated label list."""
    if text.strip().isdigit():
        n = int(text)
        if not 1 <= n <= 16:
            raise argparse.ArgumentTypeError("the simulator takes 1 to 16 channels")
        return n
    labels = tuple(t.strip() for t in text.split(",") if t.strip())
    if not 1 <= len(labels) <= 16:
        raise argparse.ArgumentTypeError("give 1 to 16 channel labels, separated by commas")
    return labels


# One object per option type, shared by every parser that takes the options.
RATE_ARG = number_in(500, 20000, "--rate")
STIM_RATE_ARG = number_in(0, 20, "--stim-rate")
STIM_CURRENT_ARG = number_in(0, 100, "--stim-current")
STIM_WIDTH_ARG = number_in(0.05, 1.0, "--stim-width")

#: The options' destinations, and the defaults a command may change.
DEFAULTS: dict[str, Any] = {
    "channels": DEFAULT_CHANNELS,
    "side": "left",
    "rate": DEFAULT_RATE,
    "seed": None,
    "lsr_gone_at": None,
    "stim_rate": SimConfig.stim_rate_hz,
    "stim_current": SimConfig.stim_current_ma,
    "stim_width": SimConfig.stim_width_ms,
    "stim_site": SimConfig.stim_site,
    "bad_electrode": None,
}


def add_simulator_options(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup,
    unset_note: str = "",
    **defaults: Any,
) -> None:
    """Add ``--channels``, ``--side``, ``--rate``, ``--seed``, ``--lsr-gone-at``, the
    ``--stim-*`` options and ``--bad-electrode`` to ``parser`` (or an argument group).

    ``defaults`` change an option's default by its destination (``channels=None``); a
    ``None`` for ``channels`` or ``rate`` means the simulator's own, and ``unset_note``
    then says what else it means for the command (e.g. ``"; with --port the
    amplifier's"``).
    """
    unknown = set(defaults) - set(DEFAULTS)
    if unknown:
        raise TypeError(f"no simulator option {', '.join(sorted(unknown))}")
    d = {**DEFAULTS, **defaults}
    channels = DEFAULT_CHANNELS if d["channels"] is None else d["channels"]
    channels_note = unset_note if d["channels"] is None else ""
    rate = DEFAULT_RATE if d["rate"] is None else d["rate"]
    rate_note = unset_note if d["rate"] is None else ""
    parser.add_argument(
        "--channels",
        type=channels_arg,
        default=d["channels"],
        metavar="N|LABELS",
        help="number of channels (1-16) of the default montage, or a "
        f"comma-separated list of labels (default {channels}"
        + (": orbicularis oculi, orbicularis oris, mentalis, frontalis" if channels == 4 else "")
        + f"{channels_note})",
    )
    parser.add_argument(
        "--side",
        choices=("left", "right"),
        default=d["side"],
        help=f"side of the default montage (default {d['side']})",
    )
    parser.add_argument(
        "--rate",
        type=RATE_ARG,
        default=d["rate"],
        help=f"sampling rate per channel in Hz, up to 20000 (default {rate:g}{rate_note})",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=d["seed"],
        help="random seed; the same seed gives the same simulated case",
    )
    parser.add_argument(
        "--lsr-gone-at",
        type=float,
        default=d["lsr_gone_at"],
        metavar="SECONDS",
        help="make the lateral spread response disappear at this time",
    )
    parser.add_argument(
        "--stim-rate",
        type=STIM_RATE_ARG,
        default=d["stim_rate"],
        metavar="HZ",
        help=f"simulated stimulator rate, 0 for off (default {d['stim_rate']:g} Hz)",
    )
    parser.add_argument(
        "--stim-current",
        type=STIM_CURRENT_ARG,
        default=d["stim_current"],
        metavar="MA",
        help=f"simulated stimulus current (default {d['stim_current']:g} mA)",
    )
    parser.add_argument(
        "--stim-width",
        type=STIM_WIDTH_ARG,
        default=d["stim_width"],
        metavar="MS",
        help=f"simulated pulse width (default {d['stim_width']:g} ms)",
    )
    parser.add_argument(
        "--stim-site",
        choices=SITES,
        default=d["stim_site"],
        help=f"stimulated branch, or Z-L for the offending vessel (default {d['stim_site']})",
    )
    parser.add_argument(
        "--bad-electrode",
        type=bad_electrode_arg,
        action="append",
        default=d["bad_electrode"],
        metavar="CH[:NEEDLE][:KOHM]",
        help=BAD_ELECTRODE_HELP,
    )


def channel_labels(args: argparse.Namespace) -> tuple[str, ...] | None:
    """The labels ``--channels`` names (its list, or N of the default montage on
    ``--side``); ``None`` when it is unset."""
    if isinstance(args.channels, tuple):
        return args.channels
    if args.channels is None:
        return None
    return default_labels(int(args.channels), args.side)


def sim_config(args: argparse.Namespace) -> SimConfig:
    """The simulated patient the options describe; unset channels and rate are the
    simulator's own. ``ValueError`` with a sentence when they do not fit together (a bad
    electrode on a channel that is not there)."""
    return SimConfig(
        rate=float(args.rate or DEFAULT_RATE),
        labels=channel_labels(args) or default_labels(DEFAULT_CHANNELS, args.side),
        seed=args.seed,
        lsr_gone_at_s=args.lsr_gone_at,
        stim_rate_hz=args.stim_rate,
        stim_current_ma=args.stim_current,
        stim_width_ms=args.stim_width,
        stim_site=args.stim_site,
        bad_electrodes=tuple(args.bad_electrode or ()),
    )
