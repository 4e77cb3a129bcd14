"""Python's cyclic garbage collector, run on the GUI thread only.

The collector runs in whichever thread happens to cross its allocation threshold. The
monitor's acquisition, recorder and audio threads allocate all the time, so an unreachable
cycle that holds a Qt object (a closed window and the lambdas connected to its signals, a
dialog, a plot item) would otherwise be destroyed on one of them; Qt objects must be
destroyed on the thread they live on, and a QWidget destroyed on another thread can abort
the process (a fault in shiboken6 or Qt). With the policy on, automatic collection is off
and a timer on the GUI thread collects the generations whose thresholds were passed, so
every cycle is freed there. Reference counting (almost all memory) is untouched.
"""

from __future__ import annotations

import gc
import time

from PySide6.QtCore import QObject, QTimer

#: How often the GUI thread looks at the collector's counts (ms).
CHECK_MS = 500
#: A full collection (every generation) takes a noticeable fraction of a second with a
#: large heap: at most this often (s). Python's own collector also runs it rarely.
FULL_EVERY_S = 300.0


class GuiThreadGarbageCollector(QObject):
    """Switches automatic collection off and collects from a timer on the GUI thread.

    Create it on the GUI thread (it lives there); :meth:`stop` turns automatic collection
    back on. Thread safety: GUI thread only.
    """

    def __init__(self, parent: QObject | None = None, interval_ms: int = CHECK_MS) -> None:
        super().__init__(parent)
        self._thresholds = gc.get_threshold()
        self._was_enabled = gc.isenabled()
        self._last_full = time.monotonic()
        gc.disable()
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.check)
        self._timer.start(interval_ms)

    def check(self) -> int:
        """Collect the oldest generation whose threshold was passed; returns the objects
        freed (0 when nothing was due)."""
        counts = gc.get_count()
        due = [g for g in range(3) if self._thresholds[g] and counts[g] > self._thresholds[g]]
        if not due:
            return 0
        generation = max(due)
        if generation == 2:
            if time.monotonic() - self._last_full < FULL_EVERY_S:
                generation = 1
            else:
                self._last_full = time.monotonic()
        return gc.collect(generation)

    def stop(self) -> None:
        """Collect once more and give collection back to Python."""
        self._timer.stop()
        gc.collect()
        if self._was_enabled:
            gc.enable()
