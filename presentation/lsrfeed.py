"""Reading the evoked-response analyzer incrementally, and saying what it found in words.

Qt-free, so that ``--headless`` prints the same LSR lines the screen's event log shows.
Everything here runs on the GUI thread (frame timer) or the headless loop, and only uses
the analyzer's thread-safe readers (:meth:`~monitor.evoked.EvokedAnalyzer.calls`,
:meth:`~monitor.evoked.EvokedAnalyzer.baseline`,
:meth:`~monitor.evoked.EvokedAnalyzer.sweeps_since`); nothing is called on the acquisition
thread.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

from monitor.evoked import (
    CALL_DISAPPEARED,
    CALL_REAPPEARED,
    CALL_STIMULATION_LOST,
    CALL_STIMULATION_RESTORED,
    KIND_DIRECT,
    KIND_LSR,
    KIND_ZL,
    EvokedAnalyzer,
    LsrBaseline,
    LsrCall,
    Sweep,
)
from monitor.evoked.stimuli import MODE_LSR
from presentation import theme

#: ``LsrCall.kind`` of the event-log lines this feed makes about rejected sweeps.
CALL_REJECTED = "sweeps_rejected"
#: A run of rejected sweeps is summed up in the log at most this often (s of signal).
REJECTED_SUMMARY_S = 10.0
#: The event log's colours for the feed's lines (the LSR panel's marks).
CALL_COLOURS = {
    CALL_DISAPPEARED: theme.LSR_GONE_MARK,
    CALL_REAPPEARED: theme.LSR_BACK_MARK,
    CALL_REJECTED: theme.MUTED,
    CALL_STIMULATION_LOST: theme.ALARM_ON[2][0],
    CALL_STIMULATION_RESTORED: theme.LSR_BACK_MARK,
}


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


def call_colour(call: LsrCall) -> str:
    """The event log's colour for a call or a rejected-sweeps line."""
    return CALL_COLOURS.get(call.kind, theme.FOREGROUND)


def call_line(call: LsrCall, rate: float) -> str:
    """The headless line: ``lsr 20.00s  LSR disappeared: ...``."""
    return f"lsr {call.sample_index / rate:.2f}s  {call.text}"


@dataclass
class _RejectedRun:
    """Rejected sweeps since the last line about them."""

    first: Sweep
    last: Sweep
    count: int = 1
    reasons: Counter = field(default_factory=Counter)
    channels: set[str] = field(default_factory=set)


class LsrFeed:
    """What is new since the last poll: LSR calls, a changed baseline, rejected sweeps.

    Rejected sweeps come as lines of kind :data:`CALL_REJECTED`: the first of a run at
    once, then one summary when the run ends or every ``REJECTED_SUMMARY_S`` of signal,
    so that cautery at 2 Hz stimulation does not flood the log. The stimulation calls are
    left out: they are the technical alarm ``stimulation_lost`` (``monitor.pipeline``),
    which the log shows as alarm lines.

    Thread safety: use from one thread (the GUI timer, or the headless loop).
    """

    def __init__(self, analyzer: EvokedAnalyzer, mode: str = MODE_LSR) -> None:
        self.analyzer = analyzer
        self.mode = mode
        self._calls_seen = 0
        self._sweeps_seen = 0
        self._baseline: LsrBaseline | None = None
        self._run: _RejectedRun | None = None
        self._kinds = (KIND_LSR, KIND_DIRECT) if mode == MODE_LSR else (KIND_ZL,)

    def new_calls(self) -> list[LsrCall]:
        """Disappearance/reappearance calls of this mode and lines about rejected sweeps
        since the last call, oldest first."""
        calls = self.analyzer.calls()
        new = calls[self._calls_seen :]
        self._calls_seen = len(calls)
        out = [
            c
            for c in new
            if c.mode == self.mode
            and c.kind not in (CALL_STIMULATION_LOST, CALL_STIMULATION_RESTORED)
        ]
        lines = self._rejections()
        return sorted(out + lines, key=lambda c: c.sample_index)

    def new_baseline(self) -> LsrBaseline | None:
        """The baseline, if it was set (automatically or by the user) since the last poll."""
        b = self.analyzer.baseline(self.mode)
        if b is None or b is self._baseline:
            return None
        self._baseline = b
        return b

    # -- rejected sweeps ---------------------------------------------------------------------
    def _rejections(self) -> list[LsrCall]:
        self._sweeps_seen, sweeps = self.analyzer.sweeps_since(self._sweeps_seen)
        out: list[LsrCall] = []
        for sw in sweeps:
            rejected = [r for r in sw.results if r.rejected and r.kind in self._kinds]
            if not rejected:
                if self._run is not None:
                    out += self._summary()
                continue
            if self._run is None:
                self._run = _RejectedRun(sw, sw)
                self._run.reasons.update(r.rejected for r in rejected)
                out.append(self._first_line(sw, rejected))
                self._run.count = 0  # the summary counts the sweeps after the first
                continue
            run = self._run
            run.last = sw
            run.count += 1
            run.reasons.update(r.rejected for r in rejected)
            run.channels.update(r.label for r in rejected)
            if (sw.marker.index - run.first.marker.index) / self.analyzer.rate >= (
                REJECTED_SUMMARY_S
            ):
                out += self._summary()
                self._run = _RejectedRun(sw, sw, 0)
        return out

    def _first_line(self, sw: Sweep, rejected: list) -> LsrCall:
        why = ", ".join(sorted({r.rejected for r in rejected}))
        n = len(sw.results)
        where = "all channels" if len(rejected) == n else ", ".join(r.label for r in rejected)
        text = f"{self._name()} sweep rejected ({why}): {where}."
        labels = tuple(r.label for r in rejected)
        return LsrCall(
            CALL_REJECTED,
            sw.marker.index,
            sw.stim_number,
            labels,
            "",
            text,
            self.mode,
            sw.marker.index,
        )

    def _summary(self) -> list[LsrCall]:
        run, self._run = self._run, None
        if run is None or run.count == 0:
            return []
        fmt = self.analyzer.format_time
        why = ", ".join(reason for reason, _ in run.reasons.most_common())
        sweeps = "sweep" if run.count == 1 else "sweeps"
        text = (
            f"{self._name()}: {run.count} more {sweeps} rejected to "
            f"{fmt(run.last.marker.index)} ({why})."
        )
        return [
            LsrCall(
                CALL_REJECTED,
                run.last.marker.index,
                run.last.stim_number,
                tuple(sorted(run.channels)),
                "",
                text,
                self.mode,
                run.last.marker.index,
            )
        ]

    def _name(self) -> str:
        return "LSR" if self.mode == MODE_LSR else "Z-L"
