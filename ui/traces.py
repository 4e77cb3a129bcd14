"""Live traces: one persistent pyqtgraph plot item per channel, fed by the display envelope."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from monitor.envelope import Envelope
from ui import theme

#: Sensitivity steps (± µV shown per channel), as on an EMG machine's gain knob.
RANGES_UV = (20, 50, 100, 200, 500, 1000, 2000, 5000, 10000)


class TraceView(pg.GraphicsLayoutWidget):
    """Scrolling traces of the last ``window_s`` seconds, newest at the right.

    The x axis is seconds before now (fixed range, so nothing re-lays out per frame).
    Updates come only from the GUI thread (``refresh``); the data are copied from an
    :class:`~monitor.envelope.Envelope` filled on the acquisition thread.
    """

    def __init__(self, labels: tuple[str, ...], rate: float, envelope: Envelope, parent=None):
        super().__init__(parent)
        self.setBackground(theme.BACKGROUND)
        self.labels = labels
        self.rate = rate
        self.envelope = envelope
        self.range_uv = 200
        self.frames = 0
        self._plots: list[pg.PlotItem] = []
        self._curves: list[pg.PlotDataItem] = []
        self._name_items: list[pg.LabelItem] = []
        label_font = f"{theme.LABEL_PT}pt"
        axis_font = pg.QtGui.QFont()
        axis_font.setPointSize(theme.AXIS_PT)
        for i, label in enumerate(labels):
            colour = theme.channel_colour(i)
            name = pg.LabelItem(label, color=colour, size=label_font, bold=True, justify="right")
            name.setFixedWidth(190)
            self.addItem(name, row=i, col=0)
            plot = self.addPlot(row=i, col=1)
            plot.setMenuEnabled(False)
            plot.setMouseEnabled(x=False, y=False)
            plot.disableAutoRange()
            plot.hideButtons()
            plot.showGrid(x=True, y=False, alpha=0.25)
            for side in ("left", "bottom"):
                ax = plot.getAxis(side)
                ax.setTickFont(axis_font)
                ax.setTextPen(theme.FOREGROUND)
                ax.setPen(theme.GRID)
            plot.getAxis("left").setWidth(70)
            if i < len(labels) - 1:
                plot.getAxis("bottom").setStyle(showValues=False)
            else:
                plot.setLabel(
                    "bottom", "seconds", color=theme.FOREGROUND, size=f"{theme.AXIS_PT}pt"
                )
            curve = plot.plot(pen=pg.mkPen(colour, width=1))
            curve.setDownsampling(auto=False)
            curve.setClipToView(False)
            self._plots.append(plot)
            self._curves.append(curve)
            self._name_items.append(name)
        self.set_window(envelope.window_s)
        self.set_range(self.range_uv)

    # -- settings ---------------------------------------------------------------------------
    def set_window(self, window_s: float) -> None:
        for plot in self._plots:
            plot.setXRange(-window_s, 0, padding=0)

    def set_range(self, range_uv: float) -> None:
        """Set the ± µV shown on every channel."""
        self.range_uv = range_uv
        ticks = [[(-range_uv, f"-{range_uv:g}"), (0, "0 µV"), (range_uv, f"{range_uv:g}")]]
        for plot in self._plots:
            plot.setYRange(-range_uv, range_uv, padding=0.02)
            plot.getAxis("left").setTicks(ticks)

    def step_range(self, direction: int) -> None:
        """More (``+1``) or less (``-1``) µV on screen."""
        i = min(range(len(RANGES_UV)), key=lambda k: abs(RANGES_UV[k] - self.range_uv))
        self.set_range(RANGES_UV[int(np.clip(i + direction, 0, len(RANGES_UV) - 1))])

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        if getattr(self, "_plots", None):  # pyqtgraph calls this from its own __init__
            width = int(self._plots[0].vb.width()) or 1600
            if abs(width - self.envelope.n_cols) > 32:
                self.envelope.configure(self.envelope.window_s, width)

    # -- drawing ------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Copy the newest envelope into the curves. Cheap: ~2 points per pixel column."""
        t, y, end = self.envelope.snapshot()
        if t.size == 0:
            return
        x = t - end / self.rate
        has_gap = bool(np.isnan(y).any())
        for ch, curve in enumerate(self._curves):
            if has_gap:
                curve.setData(x, y[:, ch], connect="finite")
            else:
                curve.setData(x, y[:, ch], connect="all", skipFiniteCheck=True)
        self.frames += 1

    def curve_data(self, channel: int) -> tuple[np.ndarray, np.ndarray]:
        """What channel ``channel`` currently draws (for tests)."""
        return self._curves[channel].getData()
