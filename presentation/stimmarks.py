"""Stimuli and cautery on the free-running traces: where to mark them and what to dim.

At 1-2 Hz stimulation the stimulus artifacts dominate the free-running traces. The
screen marks each stimulus with a tick and draws the few ms of artifact after it (the
detector's stimulus blanking window) in a dim colour, and the stretches of cautery in
grey: a display choice, the recorded signal is untouched. This module holds the
stimulus times the blocks carried and the arithmetic of which display columns fall in
such a stretch. Qt-free.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable

import numpy as np

from monitor.block import Block

#: The artifact may start a little before the marker (a device's marker latency).
PRE_MS = 1.0


class StimTimes:
    """The sample indices of the latest stimuli: subscribe it to a session
    (``session.subscribe("Stimulus marks", times)``).

    Called on the acquisition thread; :meth:`between` from any thread. Keeps the last
    ``keep`` stimuli (a 10 s window at 2 Hz holds 20). It holds no screen object.
    """

    def __init__(self, keep: int = 256) -> None:
        self._lock = threading.Lock()
        self._indices: deque[int] = deque(maxlen=keep)
        #: Goes up with every stimulus (a screen rebuilds its marks only then).
        self.version = 0

    def __call__(self, block: Block, filtered: np.ndarray | None = None) -> None:
        if block.stims:
            self.add(m.index for m in block.stims)

    def add(self, indices: Iterable[int]) -> None:
        with self._lock:
            for i in indices:
                self._indices.append(int(i))
                self.version += 1

    def between(self, first: int, end: int) -> list[int]:
        """Stimuli at ``first <= index < end``, in time order."""
        with self._lock:
            return sorted(i for i in self._indices if first <= i < end)


def blank_spans(stims: Iterable[int], rate: float, blank_ms: float) -> list[tuple[int, int]]:
    """``[a, b)`` sample spans of the artifact of each stimulus: from :data:`PRE_MS`
    before it to the end of the blanking window after it."""
    pre = round(PRE_MS * rate / 1000.0)
    blank = max(1, round(blank_ms * rate / 1000.0))
    return [(s - pre, s + blank) for s in stims]


def column_mask(
    t: np.ndarray, rate: float, samples_per_column: int, spans: Iterable[tuple[int, int]]
) -> np.ndarray:
    """Which display points lie in a column that holds a sample of one of ``spans``.

    ``t`` is the display envelope's x (seconds of each column's centre, sorted, each
    column twice: min and max); a column covers ``samples_per_column`` samples. A span
    narrower than a column still dims the whole column (a 30 ms blank is a few columns).
    """
    mask = np.zeros(t.shape, bool)
    if t.size == 0:
        return mask
    half = samples_per_column / 2.0
    starts = t * rate - half  # first sample of each point's column
    ends = starts + samples_per_column
    for a, b in spans:
        i0 = int(np.searchsorted(ends, a, side="right"))
        i1 = int(np.searchsorted(starts, b, side="left"))
        if i1 > i0:
            mask[i0:i1] = True
    return mask
