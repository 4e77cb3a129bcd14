"""Triggered EMG: the response threshold of each muscle from a current ramp.

Numbers and their sources: docs/clinical.md §3 (Selesnick et al. 1996; [35] for 0.05 mA) and
``docs/evoked.md``.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from monitor.evoked.settings import KIND_DIRECT, KIND_TRIGGERED
from monitor.evoked.sweep import Sweep, SweepResult

#: Triggered-EMG threshold levels (docs/clinical.md §3, Selesnick et al. 1996; [35] for 0.05 mA).
THRESHOLD_LEVELS_MA = (0.05, 0.1, 0.2, 0.3)


@dataclass(frozen=True, slots=True)
class RampThreshold:
    """A channel's response threshold from a current ramp (triggered EMG)."""

    channel: int
    label: str
    threshold_ma: float | None  # None: no response up to max_tested_ma
    confirmed: bool
    max_tested_ma: float
    amplitude_uv: float | None  # at the threshold
    latency_ms: float | None
    level_ma: float | None  # the lowest of THRESHOLD_LEVELS_MA at or above the threshold
    text: str


def ramp_threshold(
    points: Iterable[tuple[float, bool]], tolerance: float = 0.05
) -> tuple[float | None, bool]:
    """Threshold from ``(current_ma, present)`` pairs.

    The threshold is the lowest tested current from which on every tested current
    responds (present in at least half of its sweeps): an isolated false detection at a
    low current does not make the threshold. It is *confirmed* when a higher current
    responds too, or two sweeps at it did.

    Returns
    -------
    (threshold_ma or None, confirmed)
    """
    groups: list[list[float | int]] = []  # [current, n, n_present]
    for current, present in sorted(
        (float(c), bool(p)) for c, p in points if math.isfinite(float(c))
    ):
        if groups and current <= groups[-1][0] * (1 + tolerance):
            groups[-1][1] += 1
            groups[-1][2] += int(present)
        else:
            groups.append([current, 1, int(present)])
    responds = [g[2] * 2 >= g[1] and g[2] > 0 for g in groups]
    k = len(groups)
    while k > 0 and responds[k - 1]:
        k -= 1
    if k == len(groups):
        return None, False
    g = groups[k]
    confirmed = k + 1 < len(groups) or g[2] >= 2
    return float(g[0]), confirmed


def threshold_text(threshold_ma: float | None, max_tested_ma: float = float("nan")) -> str:
    """What a triggered-EMG threshold means (docs/clinical.md §3, Selesnick et al. 1996)."""
    if threshold_ma is None:
        return f"no response up to {max_tested_ma:g} mA"
    t = threshold_ma
    if t <= 0.05 * 1.001:
        return f"{t:g} mA: responds at 0.05 mA (best range)"
    if t <= 0.1 * 1.001:
        return f"{t:g} mA: at or below 0.1 mA (75 % HB I-II at once, 90 % at 1 year)"
    if t <= 0.2 * 1.001:
        return f"{t:g} mA: at or below 0.2 mA, the breakpoint (42 % / 58 %)"
    if t <= 0.3 * 1.001:
        return f"{t:g} mA: above 0.2 mA (>= 0.3 mA: 18 % / 41 %)"
    return f"{t:g} mA: above 0.3 mA (18 % / 41 % HB I-II)"


class ThresholdRamp:
    """Per-channel response threshold from sweeps at increasing currents (triggered EMG).

    Feed it sweep results (:meth:`add`, :meth:`add_sweep`, or as ``on_sweep`` of an
    analyzer); :meth:`thresholds` gives each channel's threshold, confirmed or not, against
    0.05 / 0.1 / 0.2 / 0.3 mA. With ``auto_restart`` a current lower than the previous one
    starts a new ramp; the finished one goes to ``completed`` and ``on_ramp``.

    Parameters
    ----------
    labels : sequence of str
    tolerance : float
        Currents within this fraction are one step.
    auto_restart : bool
    on_ramp : callable, optional
        Called with the finished ramp's thresholds.
    kinds : tuple of str
        Result kinds taken (default: direct and triggered responses).

    Thread safety: every method takes an internal lock; ``on_ramp`` runs on the caller's
    thread.
    """

    def __init__(
        self,
        labels: Sequence[str],
        tolerance: float = 0.05,
        auto_restart: bool = False,
        on_ramp: Callable[[list[RampThreshold]], None] | None = None,
        kinds: tuple[str, ...] = (KIND_TRIGGERED, KIND_DIRECT),
    ) -> None:
        self.labels = tuple(labels)
        self.tolerance = tolerance
        self.auto_restart = auto_restart
        self.on_ramp = on_ramp
        self.kinds = kinds
        self._points: list[list[SweepResult]] = [[] for _ in self.labels]
        self._last_current: float | None = None
        self._lock = threading.Lock()
        self.completed: list[list[RampThreshold]] = []

    def add_sweep(self, sweep: Sweep) -> None:
        for r in sweep.results:
            self.add(r)

    def add(self, result: SweepResult) -> None:
        """Take one channel's result (rejected ones and other kinds are ignored)."""
        if result.rejected or result.kind not in self.kinds:
            return
        if not math.isfinite(result.current_ma):
            return
        done = None
        with self._lock:
            last = self._last_current
            if (
                self.auto_restart
                and last is not None
                and result.current_ma < last * (1 - self.tolerance)
                and any(self._points)
            ):
                done = self._thresholds_unlocked()
                self.completed.append(done)
                self._points = [[] for _ in self.labels]
            self._last_current = result.current_ma
            pts = self._points[result.channel]
            pts.append(result)
            if len(pts) > 2000:  # steady stimulation, no ramp: keep the recent part
                del pts[:1000]
        if done is not None and self.on_ramp is not None:
            self.on_ramp(done)

    def reset(self) -> None:
        with self._lock:
            self._points = [[] for _ in self.labels]
            self._last_current = None

    def thresholds(self) -> list[RampThreshold]:
        """Each channel's threshold in the ramp so far."""
        with self._lock:
            return self._thresholds_unlocked()

    def _thresholds_unlocked(self) -> list[RampThreshold]:
        out = []
        for ch, pts in enumerate(self._points):
            thr, confirmed = ramp_threshold(
                ((p.current_ma, p.present) for p in pts), self.tolerance
            )
            top = max((p.current_ma for p in pts), default=float("nan"))
            at = [
                p
                for p in pts
                if thr is not None and p.present and abs(p.current_ma - thr) <= thr * self.tolerance
            ]
            amp = float(np.median([p.amplitude_uv for p in at])) if at else None
            lat = float(np.median([p.latency_ms for p in at])) if at else None
            level = next(
                (x for x in THRESHOLD_LEVELS_MA if thr is not None and thr <= x * 1.001), None
            )
            text = f"{self.labels[ch]}: {threshold_text(thr, top)}"
            if thr is not None and not confirmed:
                text += " (not confirmed)"
            out.append(
                RampThreshold(ch, self.labels[ch], thr, confirmed, top, amp, lat, level, text)
            )
        return out
