"""The signal clock: sample indices as the event log and every call text show them."""

from __future__ import annotations

from collections.abc import Callable


def hhmmss(seconds: float) -> str:
    """``01:02:05`` for 3725 s (the event log's clock)."""
    s = max(0, int(seconds))
    return f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}"


def signal_clock(rate: float) -> Callable[[int], str]:
    """Sample index -> ``hh:mm:ss`` of signal: the clock of the event log and of every LSR
    call text ("LSR gone since 00:14:32"), live and offline alike."""

    def fmt(index: int) -> str:
        return hhmmss(index / rate)

    return fmt
