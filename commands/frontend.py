"""What the screen front ends (the monitor and ``main.py scenario``) share: a usage error
said in one line, the window size, whether to draw off screen, the screenshot options."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from commands.argtypes import number_in


class UsageError(Exception):
    """A bad command line; the message is printed as one line."""


def parse_size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise UsageError(f"--size must look like 1600x900, not {text!r}") from None
    if min(w, h) < 200:
        raise UsageError(f"--size must be at least 200x200, not {text!r}")
    return w, h


def needs_offscreen(args: argparse.Namespace) -> bool:
    """True when there is no display: only a screenshot can be made then."""
    if "QT_QPA_PLATFORM" in os.environ or not sys.platform.startswith("linux"):
        return False
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return False
    if args.screenshot is None:
        raise UsageError("no display found; use --headless, or --screenshot FILE")
    return True


def add_screenshot_options(group: argparse._ActionsContainer) -> None:
    """``--screenshot FILE`` and ``--after SECONDS``, for every command with a window."""
    group.add_argument(
        "--screenshot",
        type=Path,
        default=None,
        metavar="FILE",
        help="save the window as PNG (after --after seconds) and exit",
    )
    group.add_argument(
        "--after",
        type=number_in(0, 3600, "--after"),
        default=3.0,
        metavar="SECONDS",
        help="when to take the screenshot (default 3)",
    )
