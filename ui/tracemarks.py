"""Marks over the live traces besides the events: the detection threshold and the stimuli.

- **Threshold**: a thin dashed line at +threshold and -threshold on each channel, where
  the detector's adaptive threshold is now (hidden while it is not known yet), so that
  what crosses it, and is detected, is seen.
- **Stimuli**: a tick at the top of each row at every stimulus (the artifact after it is
  drawn dim by the trace view, :mod:`presentation.stimmarks`).

Fixed pools of persistent items (PLATFORM.md: creating and deleting pyqtgraph items
leaks): two lines per channel, one path per channel for all the ticks of the window,
built in absolute seconds and rebuilt only when the stimuli change; scrolling moves it
with ``setPos``. GUI thread only.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsPathItem

THRESHOLD_COLOUR = (220, 220, 220, 130)  # light and thin: a guide, not a signal
#: Lines closer than this to the zero line cannot be told from the trace: not drawn (a
#: finer µV scale shows them).
THRESHOLD_MIN_PX = 4.0
STIM_TICK_COLOUR = "#fff176"  # pale yellow: a trigger mark, apart from the pastel traces
#: The tick spans the top of the row down to this fraction of the + range.
TICK_BOTTOM = 0.45
THRESHOLD_STEP_UV = 0.5  # the lines move in steps (no redraw for a 0.01 µV change)


class ThresholdLines:
    """Dashed ±threshold lines, one pair per plot. ``update`` takes the detector's
    ``threshold_uv`` (µV per channel, NaN while not known)."""

    def __init__(self, plots: list[pg.PlotItem]) -> None:
        pen = pg.mkPen(THRESHOLD_COLOUR, width=1, style=Qt.PenStyle.DashLine)
        self.lines: list[tuple[pg.InfiniteLine, pg.InfiniteLine]] = []
        for plot in plots:
            pair = []
            for _sign in (1, -1):
                line = pg.InfiniteLine(pos=0.0, angle=0, movable=False, pen=pen)
                line.setZValue(-2)  # under the trace
                line.setVisible(False)
                plot.addItem(line, ignoreBounds=True)
                pair.append(line)
            self.lines.append((pair[0], pair[1]))
        self._shown: list[float | None] = [None] * len(plots)

    def update(self, threshold_uv: np.ndarray | None, min_uv: float = 0.0) -> None:
        """Lines at ``±threshold_uv``; none where it is unknown or below ``min_uv`` (the
        µV of :data:`THRESHOLD_MIN_PX` at the rows' scale)."""
        for ch, (upper, lower) in enumerate(self.lines):
            value = None
            if threshold_uv is not None and ch < len(threshold_uv):
                v = float(threshold_uv[ch])
                if np.isfinite(v) and v > 0 and v >= min_uv:
                    value = round(v / THRESHOLD_STEP_UV) * THRESHOLD_STEP_UV
            if value == self._shown[ch]:
                continue
            self._shown[ch] = value
            if value is None:
                upper.setVisible(False)
                lower.setVisible(False)
                continue
            upper.setValue(value)
            lower.setValue(-value)
            upper.setVisible(True)
            lower.setVisible(True)

    def shown(self, channel: int) -> float | None:
        """The threshold channel ``channel`` draws (µV), or None (for tests)."""
        return self._shown[channel]


class StimTicks:
    """A tick at the top of every row at each stimulus of the window."""

    def __init__(self, plots: list[pg.PlotItem], rate: float) -> None:
        self.rate = float(rate)
        self._top = 200.0
        pen = QPen(QColor(STIM_TICK_COLOUR))
        pen.setCosmetic(True)
        pen.setWidthF(2.0)
        self.items: list[QGraphicsPathItem] = []
        for plot in plots:
            item = QGraphicsPathItem()
            item.setPen(pen)
            item.setVisible(False)
            plot.addItem(item, ignoreBounds=True)
            item.setZValue(10)  # over the trace, under the event names
            self.items.append(item)
        self._sig: tuple[int, ...] = ()
        #: Seconds before the newest sample of each tick drawn now (for tests).
        self.shown: list[float] = []

    def set_range(self, range_uv: float) -> None:
        self._top = float(range_uv)
        self._sig = ()  # rebuilt at the new height

    def update(self, stims: list[int], end: int) -> None:
        """Draw ``stims`` (sample indices) in the window ending at sample ``end``."""
        end_s = end / self.rate
        self.shown = [s / self.rate - end_s for s in stims]
        if not stims:
            if self._sig:
                self._sig = ()
                for item in self.items:
                    item.setVisible(False)
            return
        sig = tuple(stims)
        if sig != self._sig:
            self._sig = sig
            path = QPainterPath()
            y0, y1 = 1.02 * self._top, TICK_BOTTOM * self._top
            for s in stims:
                x = s / self.rate
                path.moveTo(x, y0)
                path.lineTo(x, y1)
            for item in self.items:
                item.setPath(path)
                item.setVisible(True)
        for item in self.items:
            item.setPos(-end_s, 0)
