"""Argument types shared by the command lines of main.py and its sub-commands."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable


def number_in(lo: float, hi: float, what: str) -> Callable[[str], float]:
    """An argparse type: a number from ``lo`` to ``hi``, refused in words otherwise."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{what} must be a number, not {text!r}") from None
        if not (math.isfinite(value) and lo <= value <= hi):
            raise argparse.ArgumentTypeError(f"{what} must be between {lo:g} and {hi:g}")
        return value

    return parse
