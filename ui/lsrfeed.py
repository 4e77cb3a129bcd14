"""Reading the evoked-response analyzer incrementally, and saying what it found in words.

Qt-free, so that ``--headless`` prints the same LSR lines the screen's event log shows.
Everything here runs on the GUI thread (frame timer) or the headless loop, and only uses
the analyzer's thread-safe readers (:meth:`~monitor.evoked.EvokedAnalyzer.calls`,
:meth:`~monitor.evoked.EvokedAnalyzer.baseline`); nothing is called on the acquisition
thread.
"""

from __future__ import annotations

import math

from monitor.evoked import EvokedAnalyzer, LsrBaseline, LsrCall
from monitor.stimuli import MODE_LSR


def status_parts(text: str) -> tuple[str, str]:
    """Split a status line for the big display: ``"LSR present — L Mentalis 240 µV at
    10.1 ms"`` -> ``("LSR present", "L Mentalis 240 µV at 10.1 ms")``, ``"LSR gone since
    00:14:32"`` -> ``("LSR gone", "since 00:14:32")``; other lines stay whole."""
    for sep, keep in ((" — ", ""), (" since ", "since ")):
        head, found, tail = text.partition(sep)
        if found:
            return head, keep + tail
    head, found, tail = text.partition(": ")  # "LSR: baseline 3 of 5 sweeps"
    if found:
        return head, tail[:1].upper() + tail[1:]
    return text, ""


def baseline_text(b: LsrBaseline | None) -> str:
    """``L Mentalis 152 µV at 10.0 ms, L Orb. oris 121 µV at 10.4 ms; 15 mA`` (or why none)."""
    if b is None:
        return "none yet"
    if not b.amplitude_uv:
        return "no LSR at baseline: nothing is watched"
    parts = [
        f"{label} {amp:.0f} µV at {b.latency_ms.get(label, float('nan')):.1f} ms"
        for label, amp in b.amplitude_uv.items()
    ]
    current = f"; {b.current_ma:g} mA" if math.isfinite(b.current_ma) else ""
    return ", ".join(parts) + current


def baseline_note(b: LsrBaseline) -> str:
    """The event-log row for a new baseline: ``LSR baseline (auto, 15 mA): L Orb. oris
    121, L Mentalis 152 µV``."""
    who = "set by user" if b.set_by == "user" else "auto"
    current = f", {b.current_ma:g} mA" if math.isfinite(b.current_ma) else ""
    if not b.amplitude_uv:
        return f"LSR baseline ({who}{current}): no LSR, nothing is watched"
    values = ", ".join(f"{label} {amp:.0f}" for label, amp in b.amplitude_uv.items())
    return f"LSR baseline ({who}{current}): {values} µV"


def call_channel(call: LsrCall) -> str:
    """The event log's channel cell for a call (the text names every channel)."""
    if len(call.channels) == 1:
        return call.channels[0]
    return f"{len(call.channels)} channels" if call.channels else ""


def call_line(call: LsrCall, rate: float) -> str:
    """The headless line: ``lsr 20.00s  LSR disappeared: ...``."""
    return f"lsr {call.sample_index / rate:.2f}s  {call.text}"


class LsrFeed:
    """What is new since the last poll: LSR calls and a changed baseline.

    Thread safety: use from one thread (the GUI timer, or the headless loop).
    """

    def __init__(self, analyzer: EvokedAnalyzer, mode: str = MODE_LSR) -> None:
        self.analyzer = analyzer
        self.mode = mode
        self._calls_seen = 0
        self._baseline: LsrBaseline | None = None

    def new_calls(self) -> list[LsrCall]:
        """Disappearance/reappearance calls of this mode since the last call, oldest first."""
        calls = self.analyzer.calls()
        new = calls[self._calls_seen :]
        self._calls_seen = len(calls)
        return [c for c in new if c.mode == self.mode]

    def new_baseline(self) -> LsrBaseline | None:
        """The baseline, if it was set (automatically or by the user) since the last poll."""
        b = self.analyzer.baseline(self.mode)
        if b is None or b is self._baseline:
            return None
        self._baseline = b
        return b
