"""Live traces: one persistent pyqtgraph plot item per channel, fed by the display envelope.

Free-running events are drawn over them by :class:`~ui.eventmarkers.EventMarkers`, the
detection threshold and the stimuli by :mod:`ui.tracemarks`; the event counts are beside
the channel names. The few ms of stimulus artifact after each stimulus (the detector's
blanking window) and the stretches of cautery are drawn in grey (a display choice: the
recorded signal is untouched), so that 1-2 Hz stimulation does not dominate the traces.

Every channel stays on screen: when the rows get low (many channels, a small screen) the
view packs them (less space between rows, smaller names down to :data:`MIN_LABEL_PT`).
Rows never get lower than :data:`MIN_ROW_PX`: in a window too small for its montage the
last ones fall off the view, and ``channels_not_shown`` names them for the window to say
so.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyqtgraph as pg

from monitor.envelope import Envelope
from monitor.events import EmgEvent
from monitor.freerun import FreeRunDetector
from monitor.session import Session
from presentation import theme
from presentation.eventcounts import EventCounts
from presentation.stimmarks import PRE_MS, StimTimes, blank_spans, column_mask
from ui.channelname import PAD, ChannelName, name_font
from ui.eventmarkers import EventMarkers
from ui.tracemarks import THRESHOLD_MIN_PX, StimTicks, ThresholdLines

#: Sensitivity steps (± µV shown per channel), as on an EMG machine's gain knob.
RANGES_UV = (20, 50, 100, 200, 500, 1000, 2000, 5000, 10000)
AXIS_WIDTH = 84  # the µV axis left of each trace
MIN_LABEL_PT = 14  # the smallest channel name, packed rows (bold, read from 2 m)
MIN_ROW_PX = 20  # a channel's plot lower than this does not fit: the window says so
PACKED_BELOW_PX = 60  # rows lower than this at the normal spacing are packed
#: Space between rows and around the plots (px): normal, packed.
ROW_GAP = (6, 1)
MARGIN = (9, 2)
PLOT_MARGIN = 2  # a plot item's own margins (1 px above and below its view)
COUNT_ROOM = 48  # packed rows: the name column widens for the counts left of the names
DIM_COLOUR = "#5a5a5a"  # the signal under stimulus blanking and cautery


class SecondsAxis(pg.AxisItem):
    """The time axis, its unit on each tick ("-3 s"): no label row under it."""

    def tickStrings(self, values, scale, spacing):  # noqa: N802 - pyqtgraph override
        return [f"{v:g} s" if v else "0" for v in values]


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
        #: ``n -> (start, samples)`` of the newest filtered signal, to redraw after a resize.
        self.history: Callable[[int], tuple[int, np.ndarray]] | None = None
        self.range_uv = 200
        self.frames = 0
        self.frozen = False  # held by ui.freeze: refresh leaves the curves alone
        self.end_index = 0  # sample index one past the newest sample drawn
        #: The free-run detector whose threshold and stimulus blanking are drawn, and the
        #: stimuli the blocks carried (``watch``).
        self.detector: FreeRunDetector | None = None
        self.stim_times: StimTimes | None = None
        self.blank_stimuli = True  # draw the stimulus artifacts dim (a display choice)
        self.counts = EventCounts(len(labels))
        self._counts_shown = -1
        self._reserve = (0, 0)  # (top, sides) px kept free around the rows (the freeze frame)
        self._plots: list[pg.PlotItem] = []
        self._curves: list[pg.PlotDataItem] = []
        self._dim_curves: list[pg.PlotDataItem] = []
        self._dimmed = False
        self._name_items: list[ChannelName] = []
        self._compact = False  # rows too low for three tick labels: one "±N µV" label
        self.packed = False  # many channels: rows packed, names smaller
        self._axis_font = pg.QtGui.QFont()
        self._axis_font.setPointSize(theme.AXIS_PT)
        self._name_w = name_width = self._name_width(labels)
        for i, label in enumerate(labels):
            colour = theme.channel_colour(i)
            name = ChannelName(label, colour, theme.LABEL_PT, name_width)
            self.addItem(name, row=i, col=0)
            plot = self._add_plot(i)
            curve = plot.plot(pen=pg.mkPen(colour, width=1))
            curve.setDownsampling(auto=False)
            curve.setClipToView(False)
            dim = plot.plot(pen=pg.mkPen(DIM_COLOUR, width=1))
            dim.setDownsampling(auto=False)
            dim.setClipToView(False)
            dim.setVisible(False)
            self._plots.append(plot)
            self._curves.append(curve)
            self._dim_curves.append(dim)
            self._name_items.append(name)
        if self._plots:
            self._add_time_axis(len(labels))
        self.markers = EventMarkers(self._plots, rate, counts=self.counts)
        self.thresholds = ThresholdLines(self._plots)
        self.ticks = StimTicks(self._plots, rate)
        self.set_window(envelope.window_s)
        self.set_range(self.range_uv)

    @staticmethod
    def _name_width(labels: tuple[str, ...]) -> int:
        metrics = pg.QtGui.QFontMetrics(name_font(theme.LABEL_PT))
        widest = max((metrics.horizontalAdvance(lab) for lab in labels), default=100)
        return int(min(260, max(150, widest + 16 + PAD)))

    def _add_plot(self, row: int) -> pg.PlotItem:
        plot = self.addPlot(row=row, col=1)
        plot.setMenuEnabled(False)
        plot.setMouseEnabled(x=False, y=False)
        plot.disableAutoRange()
        plot.hideButtons()
        plot.showGrid(x=True, y=False, alpha=0.25)
        for side in ("left", "bottom"):
            ax = plot.getAxis(side)
            ax.setTickFont(self._axis_font)
            ax.setTextPen(theme.FOREGROUND)
            ax.setPen(theme.GRID)
        plot.getAxis("left").setWidth(AXIS_WIDTH)
        plot.getAxis("bottom").setStyle(showValues=False)
        # Rows never shrink past readable: the ones that do not fit fall off the foot of
        # the view and are named by the window (``channels_not_shown``).
        plot.setMinimumHeight(MIN_ROW_PX + PLOT_MARGIN)
        return plot

    def _add_time_axis(self, row: int) -> None:
        """The time axis has a row of its own, so that every channel gets the same height."""
        self.time_axis = SecondsAxis("bottom")
        self.time_axis.setTickFont(self._axis_font)
        self.time_axis.setTextPen(theme.FOREGROUND)
        self.time_axis.setPen(theme.GRID)
        self.time_axis.linkToView(self._plots[-1].vb)
        layout = self.addLayout(row=row, col=1)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        pad = layout.addLabel("", row=0, col=0)
        pad.setFixedWidth(AXIS_WIDTH + 1)  # under the plots' left axis and margin
        layout.addItem(self.time_axis, row=0, col=1)
        layout.setSizePolicy(
            pg.QtWidgets.QSizePolicy.Policy.Preferred, pg.QtWidgets.QSizePolicy.Policy.Fixed
        )

    # -- settings ---------------------------------------------------------------------------
    def set_window(self, window_s: float) -> None:
        self.window_s = window_s
        for plot in self._plots:
            plot.setXRange(-window_s, 0, padding=0)

    def set_range(self, range_uv: float) -> None:
        """Set the ± µV shown on every channel."""
        self.range_uv = range_uv
        for plot in self._plots:
            plot.setYRange(-range_uv, range_uv, padding=0.02)
        self._set_ticks()
        self.markers.set_range(range_uv)
        self.ticks.set_range(range_uv)

    def watch(self, detector: FreeRunDetector, session: Session) -> None:
        """Draw ``detector``'s threshold and stimulus blanking, and the stimuli of
        ``session``'s blocks (subscribed here; not essential: losing it loses the marks)."""
        self.detector = detector
        if self.stim_times is None:
            self.stim_times = StimTimes()
            session.subscribe("Stimulus marks", self.stim_times)

    def _set_ticks(self) -> None:
        r = self.range_uv
        if self._compact:
            ticks = [[(0, f"±{r / 1000:g} mV" if r >= 1000 else f"±{r:g} µV")]]
        else:
            ticks = [[(-r, f"-{r:g}"), (0, "0 µV"), (r, f"{r:g}")]]
        for plot in self._plots:
            plot.getAxis("left").setTicks(ticks)

    def step_range(self, direction: int) -> None:
        """More (``+1``) or less (``-1``) µV on screen."""
        i = min(range(len(RANGES_UV)), key=lambda k: abs(RANGES_UV[k] - self.range_uv))
        self.set_range(RANGES_UV[int(np.clip(i + direction, 0, len(RANGES_UV) - 1))])

    # -- fitting the rows -------------------------------------------------------------------
    def row_height(self, packed: bool) -> float:
        """Height (px) of each channel's plot at this view height, normal or packed."""
        n = len(self._plots)
        if n == 0:
            return 0.0
        axis = self.time_axis.height() or self.time_axis.minimumHeight()
        gap, margin = ROW_GAP[packed], MARGIN[packed]
        top, sides = self._reserve
        free = self.height() - 2 * max(margin, sides) - top - axis - n * gap - n * PLOT_MARGIN
        return free / n

    def spare_height(self) -> float:
        """Pixels the rows could give up and stay at least :data:`MIN_ROW_PX` high."""
        if not self._plots:
            return 0.0
        return max(0.0, (self.row_height(self.packed) - MIN_ROW_PX) * len(self._plots))

    def reserve_frame(self, top: int, sides: int) -> None:
        """Keep ``top`` px above the rows and ``sides`` px around them free (a frame drawn
        over the view, e.g. the frozen screen's); ``(0, 0)`` gives them back."""
        if (top, sides) == self._reserve:
            return
        self._reserve = (top, sides)
        self._apply_margins()
        self._fit_rows()

    def _apply_margins(self) -> None:
        margin = MARGIN[self.packed]
        top, sides = self._reserve
        edge = max(margin, sides)
        self.ci.layout.setContentsMargins(edge, edge + top, edge, edge)

    def _fit_rows(self) -> None:
        """Pack the rows when they get low, and size the names for the row height."""
        if not self._plots:
            return
        packed = self.row_height(False) < PACKED_BELOW_PX
        if packed != self.packed:
            self.packed = packed
            self.ci.layout.setVerticalSpacing(ROW_GAP[packed])
            self._apply_margins()
            for name in self._name_items:  # room for the counts left of the names
                name.setFixedWidth(self._name_w + (COUNT_ROOM if packed else 0))
        row = self.row_height(packed) + PLOT_MARGIN
        point = theme.LABEL_PT
        while point > MIN_LABEL_PT and pg.QtGui.QFontMetrics(name_font(point)).height() > row:
            point -= 1
        for name in self._name_items:
            name.set_point_size(point)

    def channels_not_shown(self) -> list[int]:
        """Channels whose plot is off the view or lower than :data:`MIN_ROW_PX`."""
        height = self.height()
        return [
            ch
            for ch, (top, bottom) in enumerate(self.row_spans())
            if top < 0 or bottom > height + 1 or bottom - top < MIN_ROW_PX - 1
        ]

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        if getattr(self, "_plots", None):  # pyqtgraph calls this from its own __init__
            self._fit_rows()
        super().resizeEvent(event)
        if getattr(self, "_plots", None):
            width = int(self._plots[0].vb.width()) or 1600
            if abs(width - self.envelope.n_cols) > 32:
                window = self.envelope.window_s
                past = self.history(round(window * self.rate)) if self.history else None
                self.envelope.configure(window, width, past)

    # -- drawing ------------------------------------------------------------------------------
    def refresh(self, ongoing: list[EmgEvent] | tuple = ()) -> None:
        """Copy the newest envelope into the curves (cheap: ~2 points per pixel column) and
        draw the events of the window, ``ongoing`` ones extended to the newest sample, the
        stimuli and the threshold; the counts follow the events even while frozen."""
        self._update_counts()
        if self.frozen:
            return
        t, y, end = self.envelope.snapshot()
        if t.size == 0:
            return
        self.end_index = end
        compact = self._plots[0].vb.height() < 160  # else "-200" and "200" of rows touch
        if compact != self._compact:
            self._compact = compact
            self._set_ticks()
        self.markers.update(ongoing, end, self.window_s)
        self.place_marks(end)
        # The newest column may be partial: its centre can fall after the newest sample.
        x = np.minimum(t - end / self.rate, 0.0)
        mask = column_mask(t, self.rate, self.envelope.spc, self.dim_spans(end))
        dimmed = bool(mask.any())
        has_gap = bool(np.isnan(y).any())
        if dimmed:
            # Only the grey stretches' own points, joined where they follow each other; the
            # coloured curve runs flat under them (NaN breaks would cost it its fast path).
            finite = np.isfinite(y).all(axis=1) if has_gap else True
            idx = np.flatnonzero(mask & finite)
            link = np.zeros(len(idx), bool)
            link[:-1] = np.diff(idx) == 1
            dim_x, dim_y = x[idx], y[idx]
            y = y.copy()
            y[mask] = 0.0
        for ch, curve in enumerate(self._curves):
            if has_gap:
                curve.setData(x, y[:, ch], connect="finite")
            else:
                curve.setData(x, y[:, ch], connect="all", skipFiniteCheck=True)
        if dimmed:
            for ch, curve in enumerate(self._dim_curves):
                curve.setData(dim_x, dim_y[:, ch], connect=link, skipFiniteCheck=True)
        if dimmed != self._dimmed:
            self._dimmed = dimmed
            for curve in self._dim_curves:
                curve.setVisible(dimmed)
        self.frames += 1

    def hide_dim(self) -> None:
        """Hide the grey stretches of the live curves (the frozen view draws its own)."""
        self._dimmed = False
        for curve in self._dim_curves:
            curve.setVisible(False)

    def stims_in_window(self, end: int) -> list[int]:
        """Sample indices of the stimuli of the window ending at ``end``."""
        if self.stim_times is None:
            return []
        return self.stim_times.between(end - round(self.window_s * self.rate), end)

    def dim_spans(self, end: int) -> list[tuple[int, int]]:
        """``[a, b)`` sample spans drawn in grey in the window ending at ``end``: each
        stimulus's blanking window, and the cautery (``markers.update`` first)."""
        spans = list(self.markers.artifact_spans)
        if self.blank_stimuli and self.detector is not None:
            first = end - round((self.window_s + PRE_MS / 1000.0) * self.rate)
            stims = self.stim_times.between(first, end) if self.stim_times else []
            spans += blank_spans(stims, self.rate, self.detector.s.stim_blank_ms)
        return spans

    def place_marks(self, end: int) -> None:
        """The stimulus ticks and threshold lines for the window ending at ``end``."""
        self.ticks.update(self.stims_in_window(end), end)
        height = self._plots[0].vb.height() if self._plots else 0.0
        min_uv = THRESHOLD_MIN_PX * 2.04 * self.range_uv / height if height > 1 else 0.0
        self.thresholds.update(self.detector.threshold_uv if self.detector else None, min_uv)

    def _update_counts(self) -> None:
        if self.counts.version == self._counts_shown:
            return
        self._counts_shown = self.counts.version
        for ch, name in enumerate(self._name_items):
            name.set_counts(
                self.counts.parts(ch), f"{name.text}: {self.counts.description(ch)} so far"
            )

    def row_spans(self) -> list[tuple[int, int]]:
        """Top and bottom (widget pixels) of each channel's plotting area, for the widgets
        that line up with the rows (train-time bars)."""
        spans = []
        for plot in self._plots:
            r = self.mapFromScene(plot.vb.sceneBoundingRect()).boundingRect()
            spans.append((r.top(), r.bottom()))
        return spans

    def curve_data(self, channel: int) -> tuple[np.ndarray, np.ndarray]:
        """What channel ``channel`` currently draws (for tests)."""
        return self._curves[channel].getData()
