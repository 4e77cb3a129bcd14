"""The LSR part of the live screen: recent sweeps, amplitude trends and a big status box.

Layout (the window puts the column right of the train-time bars and the status box right
of the event log; both stay hidden until the first stimulus has been analysed, so the
free-run screen is unchanged without stimulation)::

    ... traces │ train time │ ↕ 75 µV      L Mentalis │ 137 µV 9.4 ms           │
               │            │ ~~~~~~~~^v~~~~~~~~~~~~~ │    ^v^_^v  - - - - - - │
               │            │ ·· 2 rejected: cautery  │ 150        base 171     │
               │            │ ▶~~~~~|~◆~~~ (newest)   │                         │
               │            │ 0 10 20 30 40   ms      │ 0:10 0:20   time        │
    ... log ─────────────────────────────────┬ LSR present                         │
                                             │ L Mentalis 137 µV at 9.4 ms         │
                                             │ Stimulation OK — L Orb. oculi 1.2 mV│
                                             │ Baseline: auto …  [Set baseline (B)] │

Per channel, lined up with the channel's trace: the last ``WATERFALL_N`` sweeps (-5 to
50 ms) stacked with the newest at the bottom (thick, full colour, ▶ at its start; older
ones higher and fading), the baseline sweep dashed white under the newest (so it shows
where the newest differs from it), an onset line and a peak diamond on the newest, the
response window shaded, the offset between sweeps at the top left. A rejected sweep
(cautery, saturation, movement, activity) is grey and dotted within its slot, its reason
at the right, and sets no scale. Beside it the LSR amplitude of every stimulus over the
case (absent = 0 µV, rejected sweeps and sweeps without stimulation left out), the
baseline level dashed, the baseline sweeps shaded grey, each disappearance (blue line,
the time since shaded blue) and reappearance (green line), and the stretches when the
stimulation was lost shaded yellow.

The stimulated branch's own muscle (the analyzer's stimulation control) trends its direct
response instead, against its own baseline, captioned ``stim OK 1.2 mV`` or ``DIRECT
LOST``; the status box has a line for it (``Stimulation OK — …`` green, ``STIMULATION NOT
REACHING THE NERVE`` on the technical alarm's yellow).

Everything is drawn on persistent items (``setData`` on a fixed pool) from the window's
frame timer, which pulls the analyzer's thread-safe readers (``sweeps_since``,
``results``, ``calls``, ``baseline``, ``direct_baseline``, ``state``,
``stimulation_state``, ``stimulation_text``, ``status_text``); nothing here runs on the
acquisition thread.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, QPoint, QPointF, QRect, Qt, Signal
from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from monitor.evoked import (
    CALL_DISAPPEARED,
    CALL_REAPPEARED,
    CALL_STIMULATION_LOST,
    CALL_STIMULATION_RESTORED,
    KIND_DIRECT,
    KIND_LSR,
    KIND_TRIGGERED,
    KIND_ZL,
    STIM_LOST,
    DirectBaseline,
    EvokedAnalyzer,
    LsrBaseline,
    Sweep,
)
from monitor.evoked.stimuli import MODE_LSR
from presentation import theme
from presentation.feed import hhmmss
from presentation.lsrfeed import baseline_text, status_parts

WATERFALL_N = 10  # sweeps stacked per channel (fewer when the rows are low)
HISTORY_N = 60  # sweeps kept for the waterfall and the baseline sweep
EPOCH_MS = (-5.0, 50.0)
TREND_MIN_SPAN_S = 30.0
TREND_MAX_POINTS = 40_000  # per channel: 11 h at 1 Hz
AXIS_W = 40  # the trend's µV axis
PACKED_ROW_PX = 48  # lower rows (many channels) keep only the numbers that matter
COLUMN_GAP = 6  # between the train-time bars and the sweeps
#: Offsets between stacked sweeps and trend ticks are rounded to these (µV).
NICE_UV = (
    5, 10, 15, 20, 25, 30, 40, 50, 75, 100, 150, 200, 250, 300, 400, 500, 750,
    1000, 1500, 2000, 3000, 5000, 7500, 10000,
)  # fmt: skip
#: Trend time-axis steps (s).
CLOCK_STEPS_S = (5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200)
#: The margin (px) around a rejected sweep's label, inside its dark fill.
_LABEL_MARGIN = 1
#: A rejected sweep in the waterfall: grey, its reason beside it.
REJECTED_COLOUR = "#8a8a8a"
#: The stimulation control: (background, text) by state; lost is the medium-priority
#: technical alarm's yellow (it is that alarm).
STIM_COLOURS = {
    "ok": ("#102810", "#69f0ae"),
    "lost": (theme.ALARM_ON[2][0], theme.ALARM_ON[2][1]),
    "": ("#1c1c1c", theme.MUTED),
}
#: A trend's caption steps down to this size to fit its row (16 channels, 1366 px).
CAPTION_MIN_PT = theme.CAPTION_PT - 3
#: The stimulation line's smallest type (read from across the room).
STIM_MIN_PT = 14
#: The stretch of a trend while the stimulation was lost (the LSR could not be judged).
LOST_BRUSH = (255, 214, 0, 45)
BUTTON_STYLE = (
    "QPushButton {{ background:{bg}; color:{fg}; border:2px solid #777; "
    "border-radius:4px; padding:2px 10px; }}"
    "QPushButton:pressed {{ background:#555; }}"
)


def nice_up(x: float) -> float:
    """The smallest of :data:`NICE_UV` at or above ``x``."""
    return float(next((v for v in NICE_UV if v >= x), NICE_UV[-1]))


def nice_down(x: float) -> float:
    """The largest of :data:`NICE_UV` at or below ``x`` (at least the smallest)."""
    return float(next((v for v in reversed(NICE_UV) if v <= x), NICE_UV[0]))


def clock_text(seconds: float) -> str:
    """``m:ss`` (``h:mm:ss`` from one hour) of signal, for the trend's time axis."""
    s = max(0, round(seconds))
    if s >= 3600:
        return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"
    return f"{s // 60}:{s % 60:02d}"


class ClockAxis(pg.AxisItem):
    """Seconds of signal shown as ``m:ss``, at 3-5 round steps (5 s ... 2 h)."""

    def tickSpacing(self, minVal, maxVal, size):  # noqa: N802, N803 - pyqtgraph override
        span = maxVal - minVal
        if not span > 0:
            return super().tickSpacing(minVal, maxVal, size)
        step = next((s for s in CLOCK_STEPS_S if span / s <= 4), CLOCK_STEPS_S[-1])
        return [(float(step), 0.0)]

    def tickStrings(self, values, scale, spacing):  # noqa: N802 - pyqtgraph override
        return [clock_text(v) for v in values]


def _font(pt: int, bold: bool = False) -> QFont:
    f = QFont()
    f.setPointSize(pt)
    f.setBold(bold)
    return f


def _plot_widget(parent: QWidget, bottom: pg.AxisItem | None = None) -> pg.PlotWidget:
    axes = {"bottom": bottom} if bottom is not None else None
    w = pg.PlotWidget(parent=parent, background=theme.BACKGROUND, axisItems=axes)
    w.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    p = w.getPlotItem()
    p.setMenuEnabled(False)
    p.setMouseEnabled(x=False, y=False)
    p.hideButtons()
    p.disableAutoRange()
    p.layout.setContentsMargins(0, 0, 2, 0)
    tick_font = _font(theme.CAPTION_PT - 1)
    for side in ("left", "bottom"):
        ax = p.getAxis(side)
        ax.setTickFont(tick_font)
        ax.setTextPen(theme.FOREGROUND)
        ax.setPen(theme.GRID)
    return w


def _caption(parent: QWidget) -> QLabel:
    label = QLabel(parent)
    label.setFont(_font(theme.CAPTION_PT, bold=True))
    label.setTextFormat(Qt.TextFormat.RichText)
    label.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
    label.setStyleSheet("background: rgba(0, 0, 0, 150); padding: 0px 3px;")
    label.move(2, 1)
    return label


def _span(colour: str, text: str) -> str:
    return f'<span style="color:{colour}">{text}</span>'


class SweepHistory:
    """The sweeps pulled by the frame timer (``sweeps_since``), newest last. GUI thread only."""

    def __init__(self, keep: int = HISTORY_N) -> None:
        self.sweeps: deque[Sweep] = deque(maxlen=keep)
        self._seen = 0

    def poll(self, analyzer: EvokedAnalyzer) -> bool:
        """Take the sweeps made since the last call; True when there were any."""
        self._seen, new = analyzer.sweeps_since(self._seen)
        self.sweeps.extend(new)
        return bool(new)

    def newest(self, n: int) -> list[Sweep]:
        """The latest ``n`` sweeps, newest first."""
        out = []
        for sw in reversed(self.sweeps):
            if len(out) == n:
                break
            out.append(sw)
        return out

    def baseline_sweep(self, b: LsrBaseline) -> tuple[np.ndarray, np.ndarray] | None:
        """``(times_ms, epoch)``: the mean of the baseline's sweeps still held (same
        stimulus site and current), each channel over the sweeps not rejected on it (a
        cautery sweep inside the baseline's span must not draw millivolts as the
        reference, nor set the waterfall's scale), or None."""
        rows = [
            sw
            for sw in self.sweeps
            if b.first_stim <= sw.stim_number <= b.last_stim
            and sw.mode == b.mode
            and sw.marker.site.strip().lower() == b.site
            and _same_current(sw.marker.current_ma, b.current_ma)
        ]
        rows = [sw for sw in rows if np.isfinite(sw.epoch).any()]
        if not rows:
            return None
        n = min(len(sw.epoch) for sw in rows)
        stack = np.stack([sw.epoch[:n] for sw in rows]).astype(float)
        for k, sw in enumerate(rows):
            for ch in sw.rejected():
                if ch < stack.shape[2]:
                    stack[k, :, ch] = np.nan
        return rows[-1].times_ms()[:n], _mean_of_finite(stack)


def _mean_of_finite(stack: np.ndarray) -> np.ndarray:
    """The mean over the first axis of the finite values only; NaN where there are none
    (a channel rejected on every sweep, samples lost in a gap): ``np.nanmean`` would warn
    "Mean of empty slice" there."""
    finite = np.isfinite(stack)
    count = finite.sum(axis=0)
    total = np.where(finite, stack, 0.0).sum(axis=0)
    mean = np.full(total.shape, np.nan)
    np.divide(total, count, out=mean, where=count > 0)
    return mean


def _same_current(a: float, b: float, tolerance: float = 0.1) -> bool:
    if not (math.isfinite(a) and math.isfinite(b)):
        return math.isfinite(a) == math.isfinite(b)
    return abs(a - b) <= tolerance * max(a, b)


class LsrRow:
    """One channel: the waterfall and the amplitude trend, on a fixed pool of items."""

    def __init__(self, channel: int, label: str, parent: QWidget) -> None:
        self.channel = channel
        self.label = label
        self.colour = theme.channel_colour(channel)
        self.spacing = 50.0
        self.shown = 0  # sweeps drawn
        self.n_slots = WATERFALL_N
        self._build_waterfall(parent)
        self._build_trend(parent)
        self.trend_x: list[float] = []
        self.trend_y: list[float] = []
        #: The direct-response amplitude of every stimulus (the stimulation control).
        self.direct_x: list[float] = []
        self.direct_y: list[float] = []
        #: True while the row shows the direct response (its channel is the control).
        self.control = False
        self.gone_x: list[float] = []
        self.back_x: list[float] = []
        self.lost_spans: list[tuple[float, float]] = []
        self.baseline_uv: float | None = None
        self._last_axis: bool | None = None
        self.packed = False
        #: Response window (ms) by result kind, from the analyzer's settings.
        self.windows: dict[str, tuple[float, float]] = {}

    # -- building ------------------------------------------------------------------------------
    def _build_waterfall(self, parent: QWidget) -> None:
        self.waterfall = _plot_widget(parent)
        p = self.wplot = self.waterfall.getPlotItem()
        p.hideAxis("left")
        p.getAxis("bottom").setTicks([[(v, f"{v:g}") for v in (0, 10, 20, 30, 40, 50)]])
        p.getAxis("bottom").setLabel(
            "ms  ▶ newest   - - baseline", color=theme.MUTED, size=f"{theme.CAPTION_PT - 1}pt"
        )
        p.setXRange(*EPOCH_MS, padding=0)
        self.window = pg.LinearRegionItem(
            (6.0, 20.0),
            movable=False,
            brush=pg.mkBrush(*theme.LSR_WINDOW_BRUSH),
            pen=pg.mkPen(None),
        )
        self.window.setZValue(-10)
        p.addItem(self.window)
        p.addItem(pg.InfiniteLine(0.0, angle=90, pen=pg.mkPen(theme.GRID, width=1)))
        colour = pg.mkColor(self.colour)
        self.curves: list[pg.PlotDataItem] = []
        for age in range(WATERFALL_N):
            c = pg.mkColor(colour)
            if age == 0:
                pen = pg.mkPen(c, width=2)
            else:
                c.setAlpha(int(210 - 130 * (age - 1) / max(1, WATERFALL_N - 2)))
                pen = pg.mkPen(c, width=1)
            curve = p.plot(pen=pen)
            curve.setZValue(WATERFALL_N - age)
            self.curves.append(curve)
        # Under the newest sweep (which stays readable in its own colour), over the others.
        self.base_curve = p.plot(
            pen=pg.mkPen(theme.LSR_BASELINE, width=1.5, style=Qt.PenStyle.DashLine)
        )
        self.base_curve.setZValue(WATERFALL_N - 0.5)
        self.onset_line = p.plot(pen=pg.mkPen(theme.LSR_CURSOR, width=2))
        self.onset_line.setZValue(WATERFALL_N + 2)
        self.peak_mark = pg.ScatterPlotItem(
            size=11, symbol="d", brush=pg.mkBrush(theme.LSR_CURSOR), pen=pg.mkPen("#000000")
        )
        self.peak_mark.setZValue(WATERFALL_N + 3)
        p.addItem(self.peak_mark)
        self.newest_mark = pg.ScatterPlotItem(
            size=12, symbol="t2", brush=pg.mkBrush(self.colour), pen=pg.mkPen(None)
        )
        self.newest_mark.setZValue(WATERFALL_N + 3)
        p.addItem(self.newest_mark)
        self.reject_texts: list[pg.TextItem] = []
        for _ in range(WATERFALL_N):
            text = pg.TextItem(
                "", color=REJECTED_COLOUR, anchor=(1.0, 0.5), fill=pg.mkBrush(0, 0, 0, 190)
            )
            text.setFont(_font(theme.CAPTION_PT - 1, bold=True))
            text.textItem.document().setDocumentMargin(_LABEL_MARGIN)
            text.setZValue(WATERFALL_N + 1)
            text.hide()
            p.addItem(text)
            self.reject_texts.append(text)
        self._grey: list[bool] = [False] * WATERFALL_N
        self._labels: dict[int, str] = {}  # slot -> the reason its sweep was rejected
        self._pens = [curve.opts["pen"] for curve in self.curves]
        self._grey_pen = pg.mkPen(REJECTED_COLOUR, width=1, style=Qt.PenStyle.DotLine)
        self.wcaption = _caption(self.waterfall)
        self.scale_label = _caption(self.waterfall)
        self.scale_label.setFont(_font(theme.CAPTION_PT - 1))

    def _build_trend(self, parent: QWidget) -> None:
        self.trend = _plot_widget(parent, ClockAxis("bottom"))
        p = self.tplot = self.trend.getPlotItem()
        p.getAxis("left").setWidth(AXIS_W)
        p.getAxis("bottom").setLabel(
            "time (min:s)", color=theme.MUTED, size=f"{theme.CAPTION_PT - 1}pt"
        )
        p.showGrid(x=True, y=False, alpha=0.2)
        self.base_region = pg.LinearRegionItem(
            (0.0, 0.0), movable=False, brush=pg.mkBrush(255, 255, 255, 30), pen=pg.mkPen(None)
        )
        self.base_region.setZValue(-10)
        self.base_region.hide()
        p.addItem(self.base_region)
        gone = pg.mkColor(theme.LSR_GONE_MARK)
        gone.setAlpha(55)
        self.gone_region = pg.LinearRegionItem(
            (0.0, 0.0), movable=False, brush=pg.mkBrush(gone), pen=pg.mkPen(None)
        )
        self.gone_region.setZValue(-9)
        self.gone_region.hide()
        p.addItem(self.gone_region)
        self.lost_regions: list[pg.LinearRegionItem] = []
        self.base_level = pg.InfiniteLine(
            0.0, angle=0, pen=pg.mkPen(theme.LSR_BASELINE, width=1, style=Qt.PenStyle.DashLine)
        )
        self.base_level.hide()
        p.addItem(self.base_level)
        self.base_text = pg.TextItem("", color=theme.MUTED, anchor=(1.0, 0.0))
        self.base_text.setFont(_font(theme.CAPTION_PT - 2, bold=True))
        self.base_text.textItem.document().setDocumentMargin(_LABEL_MARGIN)
        self.base_text.hide()
        p.addItem(self.base_text)
        self.trend_curve = p.plot(pen=pg.mkPen(self.colour, width=2))
        self.last_dot = pg.ScatterPlotItem(
            size=9, symbol="o", brush=pg.mkBrush(self.colour), pen=pg.mkPen(None)
        )
        p.addItem(self.last_dot)
        self.gone_lines = p.plot(pen=pg.mkPen(theme.LSR_GONE_MARK, width=2))
        self.back_lines = p.plot(pen=pg.mkPen(theme.LSR_BACK_MARK, width=2))
        self.gone_text = pg.TextItem("gone", color=theme.LSR_GONE_MARK, anchor=(0.0, 0.0))
        self.gone_text.setFont(_font(theme.CAPTION_PT - 1, bold=True))
        self.gone_text.textItem.document().setDocumentMargin(_LABEL_MARGIN)
        self.gone_text.hide()
        p.addItem(self.gone_text)
        self._gone_at: float | None = None  # the latest disappearance line (s), if drawn
        # Placed in pixels: again when the plot changes size (the rows lined up anew).
        p.getViewBox().sigResized.connect(self._words_again)
        self.tcaption = _caption(self.trend)
        self.tcaption.move(AXIS_W + 2, 1)
        self._caption_fit: tuple = ()  # (text, room) the caption's size was fitted for

    # -- geometry --------------------------------------------------------------------------------
    def set_geometry(
        self, left: int, top: int, height: int, wf_width: int, trend_width: int
    ) -> None:
        self.waterfall.setGeometry(left, top, wf_width, height)
        self.trend.setGeometry(left + wf_width + 4, top, trend_width, height)
        self._place_captions()

    def _place_captions(self) -> None:
        """Channel name at the top right, the sweep offset at the top left (over the oldest
        sweep's quiet ends; the newest is at the bottom)."""
        self.wcaption.move(self.waterfall.width() - self.wcaption.width() - 4, 1)
        self.scale_label.move(2, 1)

    def show_axes(self, bottom: bool) -> None:
        """The ms and time axes only under the last row (its extra height holds them)."""
        if bottom == self._last_axis:
            return
        self._last_axis = bottom
        for p in (self.wplot, self.tplot):
            p.showAxis("bottom", bottom)

    def set_packed(self, packed: bool) -> None:
        """A low row (many channels) keeps the trend's number and the sweeps: the channel
        name (on the trace beside it), the baseline's value (in the log), the trend's tick
        numbers and the axes' titles go, so that nothing overlaps or is cut."""
        if packed == self.packed:
            return
        self.packed = packed
        self.wcaption.setVisible(not packed)
        if packed:
            self.base_text.hide()
        self.wplot.getAxis("bottom").showLabel(not packed)
        self.tplot.getAxis("bottom").showLabel(not packed)
        # A tick's number taller than half the row is cut at the row's edge: the caption
        # has the number, the dashed line the baseline.
        self.tplot.getAxis("left").setStyle(showValues=not packed)

    # -- waterfall ---------------------------------------------------------------------------------
    def draw_sweeps(
        self,
        sweeps: list[Sweep],
        n_slots: int,
        base: tuple[np.ndarray, np.ndarray] | None,
        baseline_uv: float | None,
        analyzer: EvokedAnalyzer,
    ) -> None:
        """Stack ``sweeps`` (newest first) with the newest at the bottom; baseline over it."""
        ch = self.channel
        self.n_slots = n_slots
        shown = sweeps[:n_slots]
        # One offset for the row: from the baseline response, else the sweeps' size, so
        # that a vanished LSR does not blow the noise up to the same height. A rejected
        # sweep (cautery: millivolts) never sets the scale.
        ptps = []
        for sw in shown:
            if sw.results[ch].rejected:
                continue
            y = sw.epoch[:, ch]
            t = sw.times_ms()
            seg = y[(t >= analyzer.s.blank_ms) & np.isfinite(y)]
            if len(seg):
                ptps.append(float(seg.max() - seg.min()))
        ref = baseline_uv if baseline_uv else (float(np.median(ptps)) if ptps else 0.0)
        if base is not None and baseline_uv is None:
            t, y = base
            seg = y[(t >= analyzer.s.blank_ms) & np.isfinite(y[:, ch]), ch]
            if len(seg):
                ref = max(ref, float(seg.max() - seg.min()))
        # The response spans about three offsets: sweeps overlap a little, as on paper.
        spacing = nice_up(max(ref, 60.0) / 3.0)
        if spacing != self.spacing:
            self.spacing = spacing
        self.wplot.setYRange(-1.4 * spacing, (n_slots - 0.4) * spacing, padding=0)
        reasons = [sw.results[ch].rejected for sw in shown]
        for age, curve in enumerate(self.curves):  # newest at the bottom (offset 0)
            why = reasons[age] if age < len(shown) else ""
            self._grey_pen_for(age, bool(why))
            if age < len(shown):
                sw = shown[age]
                y = sw.epoch[:, ch]
                if why:  # grey, kept within its own slot
                    y = np.clip(y, -0.45 * spacing, 0.45 * spacing)
                y = y + age * spacing
                finite = bool(np.isfinite(y).all())
                curve.setData(
                    sw.times_ms(), y, connect="all" if finite else "finite", skipFiniteCheck=finite
                )
            else:
                curve.setData([], [])
        self._label_rejected(reasons, spacing)
        self.shown = len(shown)
        if base is not None:
            t, y = base
            self.base_curve.setData(t, y[:, ch], connect="finite")
        else:
            self.base_curve.setData([], [])
        self.newest_mark.setData([EPOCH_MS[0] + 0.6] if shown else [], [0.0] if shown else [])
        self.scale_label.setText(_span(theme.MUTED, f"↕ {spacing:g} µV"))
        self.scale_label.adjustSize()
        self._draw_cursors(shown[0] if shown else None)

    def _grey_pen_for(self, age: int, grey: bool) -> None:
        """Slot ``age`` in grey dots (a rejected sweep) or in its own pen."""
        if grey != self._grey[age]:
            self.curves[age].setPen(self._grey_pen if grey else self._pens[age])
            self._grey[age] = grey

    def _label_rejected(self, reasons: list[str], spacing: float) -> None:
        """One label per reason, with how many of the sweeps shown it rejected, at the
        middle of the newest run of them (a slot is about 10 px: a label on each would
        overlap), at the right end, on one line that fits the waterfall, each clear of
        the captions at the top and of the label below it."""
        newest: dict[str, tuple[int, int]] = {}  # reason -> its newest run (first age, count)
        count: dict[str, int] = {}
        for age, why in enumerate(reasons):
            if not why:
                continue
            count[why] = count.get(why, 0) + 1
            first, n = newest.get(why, (age, 0))
            if first + n == age:  # still the newest run
                newest[why] = (first, n + 1)
        self._labels = {age: why for age, why in enumerate(reasons) if why}
        # Slots are about 10 px, a label about two of them: placed from the newest up,
        # each clear of the one below, all below the captions at the top (and left out,
        # if the waterfall is too short for them all: the log has every rejection).
        px = self.wplot.getViewBox().sceneBoundingRect().height() / (self.n_slots + 1.0)
        px = px if px >= 4 else 10.0  # not laid out yet: placed again at the next sweep
        metrics = QFontMetrics(self.reject_texts[0].textItem.font())
        height = (metrics.height() + 2 * _LABEL_MARGIN + 2) / px
        top = self.n_slots - 0.4 - (self.scale_label.sizeHint().height() + 2) / px - height / 2
        floor = -math.inf
        ordered = sorted(newest.items(), key=lambda item: item[1][0])
        for k, text in enumerate(self.reject_texts):
            why, (first, n) = ordered[k] if k < len(ordered) else ("", (0, 0))
            slot = min(max(first + (n - 1) / 2, floor + height), top)
            if not why or slot < floor + height:
                text.hide()
                continue
            floor = slot
            c = count[why]
            label = self._fit_label(text, f"rejected: {why}" if c == 1 else f"{c} rejected: {why}")
            if text.toPlainText() != label:
                text.setText(label)
            text.setPos(EPOCH_MS[1] - 0.5, slot * spacing)
            text.show()

    def _fit_label(self, text: pg.TextItem, label: str) -> str:
        """``label``, shortened with an ellipsis where the waterfall is too narrow for it:
        never cut at the plot's edge (the log has the words in full)."""
        room = int(self.wplot.getViewBox().sceneBoundingRect().width()) - 4 - 2 * _LABEL_MARGIN
        if room <= 0:
            return label
        metrics = QFontMetrics(text.textItem.font())
        return metrics.elidedText(label, Qt.TextElideMode.ElideRight, room)

    def rejected_shown(self) -> list[str]:
        """The reason shown for each sweep drawn, newest first ("" for a judged sweep)."""
        return [self._labels.get(age, "") for age in range(self.shown)]

    def _draw_cursors(self, sw: Sweep | None) -> None:
        r = sw.results[self.channel] if sw is not None else None
        kind = r.kind if r is not None else KIND_LSR
        if r is not None:
            self.window.setRegion(self.windows.get(kind, (0.0, 0.0)))
        self.wcaption.setText(_span(self.colour, self.label))
        self.wcaption.adjustSize()
        self._place_captions()
        if r is None or r.rejected or not r.present or r.latency_ms is None:
            self.onset_line.setData([], [])
            self.peak_mark.setData([], [])
            return
        s = self.spacing
        self.onset_line.setData([r.latency_ms] * 2, [-0.9 * s, 0.9 * s])
        if r.peak_latency_ms is not None:
            t = sw.times_ms()
            i = int(np.clip(np.searchsorted(t, r.peak_latency_ms), 0, len(t) - 1))
            y = float(sw.epoch[i, self.channel])
            self.peak_mark.setData([r.peak_latency_ms], [y if math.isfinite(y) else 0.0])
        else:
            self.peak_mark.setData([], [])

    # -- trend --------------------------------------------------------------------------------
    def draw_trend(
        self,
        x_range: tuple[float, float],
        baseline: LsrBaseline | None,
        baseline_span: tuple[float, float] | None,
        gone_since: float | None,
        last_x: float,
        newest: Sweep | None,
        direct: DirectBaseline | None = None,
        stim_state: str = "",
    ) -> None:
        """The amplitude of every stimulus over the case: the LSR, or, on the row of the
        stimulation control's channel, its direct response against its own baseline."""
        p = self.tplot
        if self.control:
            x = np.asarray(self.direct_x, float)
            y = np.asarray(self.direct_y, float)
            watched = direct is not None and self.channel in direct.channels
            self.baseline_uv = direct.amplitude_uv.get(self.label) if watched else None
        else:
            x = np.asarray(self.trend_x, float)
            y = np.asarray(self.trend_y, float)
            watched = baseline is not None and self.channel in baseline.channels
            self.baseline_uv = baseline.amplitude_uv.get(self.label) if watched else None
        self.trend_curve.setData(x, y, connect="finite")
        last = np.flatnonzero(np.isfinite(y))[-1:]  # the latest judged stimulus
        self.last_dot.setData(x[last], y[last])
        recent = y[-2000:]
        top = max([50.0, *recent[np.isfinite(recent)].tolist(), self.baseline_uv or 0.0])
        ymax = top * 1.25
        p.setYRange(-0.04 * ymax, ymax, padding=0)
        p.setXRange(*x_range, padding=0)
        tick = nice_down(top)
        ticks = [(tick, f"{tick:g}")] if self.packed else [(0.0, "0"), (tick, f"{tick:g}")]
        p.getAxis("left").setTicks([ticks])
        if self.baseline_uv is not None:
            self.base_level.setValue(self.baseline_uv)
            self.base_level.show()
            self.base_text.setText(f"base {_uv_text(self.baseline_uv)}")
            self.base_text.setPos(x_range[1], self.baseline_uv)
            self.base_text.setVisible(not self.packed)
        else:
            self.base_level.hide()
            self.base_text.hide()
        self._draw_marks(x_range, baseline_span, gone_since, last_x, bool(len(x)), ymax)
        self._draw_lost()
        if self.control:
            self._control_caption(newest, stim_state)
        else:
            self._trend_caption(newest)
        self._fit_caption()
        self._place_gone_text()

    # -- the trend's words: the caption and "gone", clear of each other and of the edges ---
    def plot_rect(self) -> QRect:
        """The trend's plotting area in the trend widget's pixels."""
        vb = self.tplot.getViewBox()
        return self.trend.mapFromScene(vb.sceneBoundingRect()).boundingRect()

    def gone_rect(self) -> QRect:
        """Where "gone" is drawn, in the trend widget's pixels (empty when hidden)."""
        if not self.gone_text.isVisible():
            return QRect()
        return self.trend.mapFromScene(self.gone_text.sceneBoundingRect()).boundingRect()

    def _words_again(self, *_) -> None:
        self._fit_caption()
        self._place_gone_text()

    def _fit_caption(self) -> None:
        """The caption in one line within the trend and its row: smaller type in a low or
        narrow row (16 channels), so that it is never cut at the edge nor reaches into the
        next row's caption."""
        label = self.tcaption
        plot = self.plot_rect()
        room = (
            self.trend.width() - label.x() - 2,
            max(plot.bottom(), 0) - label.y() if plot.height() > 4 else self.trend.height(),
        )
        key = (label.text(), room)
        if key == self._caption_fit:
            return
        self._caption_fit = key
        for pt in range(theme.CAPTION_PT, CAPTION_MIN_PT - 1, -1):
            label.setFont(_font(pt, bold=True))
            label.adjustSize()
            if label.width() <= room[0] and label.height() <= room[1]:
                break

    def _place_gone_text(self) -> None:
        """ "gone" beside the latest disappearance line, clear of the caption and of the
        baseline's value: right of the line, as high as it fits (above the zero the trend
        has fallen to at the lowest), else left of it; as a last resort right of the
        caption at the top (over the line). Left out when nothing fits (the blue line, the
        shading and the status box say it)."""
        if self._gone_at is None:
            self.gone_text.hide()
            return
        vb = self.tplot.getViewBox()
        plot = self.plot_rect()
        line = self.trend.mapFromScene(vb.mapViewToScene(QPointF(self._gone_at, 0.0)))
        size = self.gone_text.textItem.boundingRect().size().toSize()
        w, h = size.width(), size.height()
        cap = self.tcaption.geometry() if self.tcaption.isVisible() else QRect()
        words = [cap]
        if self.base_text.isVisible():
            words.append(self.trend.mapFromScene(self.base_text.sceneBoundingRect()).boundingRect())
        beside = [*words, QRect(line.x() - 1, plot.top(), 3, plot.height())]  # and the line
        lowest = min(plot.bottom(), line.y() - 2) - h + 1
        tries = [
            (x, y, beside)
            for x in (line.x() + 2, line.x() - 2 - w)
            for y in range(plot.top(), lowest + 1, 2)
        ]
        tries.append((cap.right() + 2, plot.top(), words))
        for x, y, taken in tries:
            at = QRect(x, y, w, h)
            if plot.contains(at) and not any(at.intersects(r) for r in taken):
                view = vb.mapSceneToView(self.trend.mapToScene(QPoint(x, y)))
                self.gone_text.setPos(view.x(), view.y())
                self.gone_text.show()
                return
        self.gone_text.hide()

    def _draw_marks(
        self,
        x_range: tuple[float, float],
        baseline_span: tuple[float, float] | None,
        gone_since: float | None,
        last_x: float,
        has_data: bool,
        ymax: float,
    ) -> None:
        """The baseline sweeps shaded, the disappearance and reappearance lines and the
        time since the LSR went (not on the control's row: they are the LSR's)."""
        if baseline_span is not None and has_data and not self.control:
            self.base_region.setRegion(baseline_span)
            self.base_region.show()
        else:
            self.base_region.hide()
        has_lsr = has_data and not self.control
        gx = self.gone_x if has_lsr else []
        bx = self.back_x if has_lsr else []
        self.gone_lines.setData(*_verticals(gx, ymax), connect="finite")
        self.back_lines.setData(*_verticals(bx, ymax), connect="finite")
        if gone_since is not None and has_lsr:
            self.gone_region.setRegion((gone_since, max(last_x, gone_since)))
            self.gone_region.show()
        else:
            self.gone_region.hide()
        self._gone_at = gx[-1] if gx else None  # its word is placed with the caption

    def _draw_lost(self) -> None:
        """The stretches without stimulation, shaded yellow (items made as needed, kept)."""
        while len(self.lost_regions) < len(self.lost_spans):
            region = pg.LinearRegionItem(
                (0.0, 0.0), movable=False, brush=pg.mkBrush(*LOST_BRUSH), pen=pg.mkPen(None)
            )
            region.setZValue(-8)
            self.tplot.addItem(region)
            self.lost_regions.append(region)
        for k, region in enumerate(self.lost_regions):
            if k < len(self.lost_spans):
                region.setRegion(self.lost_spans[k])
                region.show()
            else:
                region.hide()

    def _trend_caption(self, newest: Sweep | None) -> None:
        r = newest.results[self.channel] if newest is not None else None
        if r is None:
            text = _span(theme.MUTED, "LSR µV")
        elif r.rejected:
            text = _span(REJECTED_COLOUR, f"rejected ({r.rejected})")
        elif r.kind == KIND_DIRECT:
            text = _span(theme.MUTED, "direct: no LSR")
        elif newest is not None and newest.stimulation == STIM_LOST:
            text = _span(STIM_COLOURS["lost"][0], "not judged")
        elif r.present and r.amplitude_uv is not None:
            text = _span(self.colour, f"{r.amplitude_uv:.0f} µV {r.latency_ms:.1f} ms")
        else:
            text = _span(theme.FOREGROUND, "absent")
        self.tcaption.setText(text)
        self.tcaption.adjustSize()

    def _control_caption(self, newest: Sweep | None, stim_state: str) -> None:
        """``stim OK 1.2 mV`` / ``DIRECT LOST`` on the control's row."""
        r = newest.results[self.channel] if newest is not None else None
        amp = r.amplitude_uv if r is not None and r.kind == KIND_DIRECT and r.present else None
        if r is not None and r.rejected:
            text = _span(REJECTED_COLOUR, f"rejected ({r.rejected})")
        elif stim_state == "lost":
            bg, fg = STIM_COLOURS["lost"]
            what = "DIRECT LOST" if amp is None else f"DIRECT LOW {_uv_text(amp)}"
            text = f'<span style="background:{bg}; color:{fg}">&nbsp;{what}&nbsp;</span>'
        elif amp is not None:
            ok = "stim OK " if stim_state == "ok" else "direct "
            text = _span(STIM_COLOURS["ok"][1], ok) + _span(self.colour, _uv_text(amp))
        else:
            text = _span(theme.FOREGROUND, "direct: absent")
        self.tcaption.setText(text)
        self.tcaption.adjustSize()


def _short_stimulation(text: str) -> str:
    """The stimulation line for a narrow box: ``STIMULATION LOST``, ``Stim. OK — ...``."""
    if text.startswith("STIMULATION NOT REACHING"):
        return "STIMULATION LOST"
    return text.replace("Stimulation ", "Stim. ", 1)


def _uv_text(uv: float) -> str:
    """``150`` (µV) below 1 mV, ``1.2 mV`` from 1 mV: the trend's numbers."""
    return f"{uv / 1000:.1f} mV" if uv >= 1000 else f"{uv:.0f}"


def _keep_recent(x: list[float], y: list[float]) -> bool:
    """Drop the oldest quarter of a trend past ``TREND_MAX_POINTS``; True when it did."""
    if len(x) <= TREND_MAX_POINTS:
        return False
    del x[: TREND_MAX_POINTS // 4], y[: TREND_MAX_POINTS // 4]
    return True


def _verticals(xs: list[float], ymax: float) -> tuple[np.ndarray, np.ndarray]:
    """Vertical lines from 0 to ``ymax`` at ``xs`` as one NaN-separated curve."""
    if not xs:
        return np.zeros(0), np.zeros(0)
    x = np.repeat(np.asarray(xs, float), 3)
    y = np.tile([0.0, ymax, np.nan], len(xs))
    x[2::3] = np.nan
    return x, y


class LsrColumn(QWidget):
    """The per-channel rows, each lined up with its channel's trace (see ``align``)."""

    def __init__(self, labels: tuple[str, ...], parent=None) -> None:
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground)
        self.setStyleSheet(f"background:{theme.BACKGROUND};")
        self.rows = [LsrRow(i, lab, self) for i, lab in enumerate(labels)]
        self._geometry: tuple = ()
        self.n_slots = WATERFALL_N

    def align(self, spans: list[tuple[int, int]], bottom: int) -> bool:
        """Place row ``i`` over ``spans[i]`` (top, bottom in this widget's pixels); the last
        row reaches down to ``bottom`` to hold the axes. True when something moved."""
        key = (tuple(spans), bottom, self.width())
        if key == self._geometry or not spans:
            return False
        self._geometry = key
        w = self.width() - COLUMN_GAP
        wf = int(w * 0.52)
        tw = w - wf - 4
        last = len(spans) - 1
        packed = min(b - t for t, b in spans) < PACKED_ROW_PX
        for i, (row, (top, bot)) in enumerate(zip(self.rows, spans, strict=False)):
            height = (max(bottom, bot) if i == last else bot) - top
            row.set_packed(packed)
            row.show_axes(i == last)
            row.set_geometry(COLUMN_GAP, int(top), max(20, int(height)), wf, tw)
        # About 10 px per sweep at least: fewer sweeps in low rows.
        row_h = min(b - t for t, b in spans)
        self.n_slots = int(min(WATERFALL_N, max(4, row_h // 10)))
        return True


class LsrStatusBox(QFrame):
    """The big status line, its detail, the stimulation control, the baseline and the
    "Set baseline" button."""

    baseline_clicked = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("lsrStatus")
        self.text = ""
        self.state = ""
        self.colours = theme.LSR_NEUTRAL
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 4, 8, 6)
        layout.setSpacing(0)
        self.head = QLabel()
        self.detail = QLabel()
        for label in (self.head, self.detail):
            label.setWordWrap(False)
            label.setTextFormat(Qt.TextFormat.PlainText)
        layout.addWidget(self.head)
        layout.addWidget(self.detail)
        layout.addStretch(1)
        # The stimulation control, on its own strip: green when the direct response shows
        # the stimulus reaching the nerve, the technical alarm's yellow when it does not.
        self.stim = QLabel()
        self.stim.setTextFormat(Qt.TextFormat.PlainText)
        self.stim.setWordWrap(False)
        self.stim.hide()
        self.stim_text = ""
        self.stim_state = ""
        layout.addWidget(self.stim)
        bottom = QHBoxLayout()
        bottom.setSpacing(8)
        self.baseline_label = QLabel()
        self.baseline_label.setFont(_font(theme.CAPTION_PT - 1))
        self.baseline_label.setTextFormat(Qt.TextFormat.PlainText)
        self.baseline_label.setWordWrap(True)
        bottom.addWidget(self.baseline_label, 1)
        self.button = QPushButton("Set baseline  (B)")
        self.button.setFont(_font(theme.CAPTION_PT + 1, bold=True))
        self.button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.button.setToolTip(
            "Take the LSR baseline now from the latest sweeps at the current stimulus "
            "site and intensity (key B)"
        )
        self.button.clicked.connect(self.baseline_clicked)
        bottom.addWidget(self.button)
        layout.addLayout(bottom)
        self._baseline_full = ""
        self._apply_colours()

    def set_status(self, text: str, state: str) -> None:
        if (text, state) == (self.text, self.state):
            return
        self.text, self.state = text, state
        if state == "gone":
            colours = theme.LSR_GONE
        elif text.startswith("LSR present"):
            colours = theme.LSR_PRESENT
        else:
            colours = theme.LSR_NEUTRAL
        if colours != self.colours:
            self.colours = colours
            self._apply_colours()
        self._fit()

    def set_stimulation(self, text: str, state: str) -> None:
        """The stimulation control's line (``""`` hides it) and its state (``"ok"``,
        ``"lost"``, or anything else for neutral)."""
        if (text, state) == (self.stim_text, self.stim_state):
            return
        self.stim_text, self.stim_state = text, state
        bg, fg = STIM_COLOURS.get(state, STIM_COLOURS[""])
        self.stim.setStyleSheet(
            f"QLabel {{ background:{bg}; color:{fg}; padding:1px 6px; border-radius:3px; }}"
        )
        self.stim.setVisible(bool(text))
        self._fit()

    def set_baseline(self, b: LsrBaseline | None, at: str = "") -> None:
        """The short baseline line (the values are on the trends and in the event log)."""
        if b is None:
            self._baseline_full = "Baseline: not yet"
        else:
            who = "set by you" if b.set_by == "user" else "auto"
            when = f" at {at}" if at else ""
            current = f", {b.current_ma:g} mA" if math.isfinite(b.current_ma) else ""
            self._baseline_full = f"Baseline: {who}{when}{current}"
        self.baseline_label.setToolTip(baseline_text(b))
        self._fit()

    def _apply_colours(self) -> None:
        bg, fg = self.colours
        self.setStyleSheet(
            f"#lsrStatus {{ background:{bg}; border-left:1px solid {theme.GRID}; "
            f"border-top:1px solid {theme.GRID}; }}"
            f"QLabel {{ color:{fg}; background:transparent; }}"
        )
        self.button.setStyleSheet(BUTTON_STYLE.format(bg="#202020", fg=theme.FOREGROUND))

    def _fit(self) -> None:
        """Largest font (down to a floor) at which each line fits the box's width."""
        head, detail = status_parts(self.text)
        width = max(50, self.width() - 24)
        extra = 6 if self.height() >= 160 else 0  # a taller box (5 log rows): larger type
        for label, text, top, floor in (
            (self.head, head, theme.LSR_STATUS_PT + extra, 16),
            (self.detail, detail, theme.LSR_DETAIL_PT + extra // 2, 12),
        ):
            font = _font(top, bold=True)
            while font.pointSize() > floor and QFontMetrics(font).horizontalAdvance(text) > width:
                font.setPointSize(font.pointSize() - 1)
            label.setFont(font)
            # Still too long at the floor: a second line, never a cut word.
            label.setWordWrap(QFontMetrics(font).horizontalAdvance(text) > width)
            label.setText(text)
        # The stimulation line: in its own words if they fit in large type, else shorter.
        for text in (self.stim_text, _short_stimulation(self.stim_text)):
            font = _font(theme.LSR_DETAIL_PT - 4 + extra // 2, bold=True)
            while (
                font.pointSize() > STIM_MIN_PT
                and QFontMetrics(font).horizontalAdvance(text) > width - 12
            ):
                font.setPointSize(font.pointSize() - 1)
            if QFontMetrics(font).horizontalAdvance(text) <= width - 12:
                break
        self.stim.setFont(font)
        self.stim.setWordWrap(QFontMetrics(font).horizontalAdvance(text) > width - 12)
        self.stim.setText(text)
        self.baseline_label.setText(self._baseline_full)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._fit()


class LsrPanel(QObject):
    """The LSR column and status box for one analyzer; ``refresh`` from the frame timer.

    Both widgets stay hidden until the analyzer has its first sweep. GUI thread only.
    """

    def __init__(self, analyzer: EvokedAnalyzer, labels: tuple[str, ...], parent=None) -> None:
        super().__init__(parent)
        self.analyzer = analyzer
        self.labels = labels
        self.history = SweepHistory()
        self.column = LsrColumn(labels)
        self.status = LsrStatusBox()
        self.column.hide()
        self.status.hide()
        self.started = False
        self._baseline: LsrBaseline | None = None
        self._base_sweep: tuple[np.ndarray, np.ndarray] | None = None
        self._seen_stim = 0  # results taken into the trends up to this stimulus
        self._stim_x: dict[int, float] = {}
        self._first_x: float | None = None
        self._last_x = 0.0
        self._dirty = False
        self._stim_state = ""
        self._direct: DirectBaseline | None = None
        for row in self.column.rows:
            row.windows = {
                kind: analyzer.s.window(row.label, kind)
                for kind in (KIND_LSR, KIND_DIRECT, KIND_ZL, KIND_TRIGGERED)
            }

    # -- per frame --------------------------------------------------------------------------------
    def refresh(self) -> bool:
        """Pull what is new; returns True when the panel was just shown (the layout changes)."""
        a = self.analyzer
        new = self.history.poll(a)
        just_started = False
        if not self.started:
            off = a.off_reason is not None and a.off_said
            if not off and not self.history.sweeps:
                return False
            self.started = just_started = True
            self.status.show()
            if off:  # stimuli the analysis cannot take: why, with no rows, no baseline to set
                self.status.button.hide()
            else:
                self.column.show()
        if a.off_reason is not None:
            self.status.set_status(a.status_text(MODE_LSR), a.state(MODE_LSR))
            return just_started
        if new:
            self._take_results()
        b = a.baseline(MODE_LSR)
        if b is not self._baseline:
            self._baseline = b
            self._base_sweep = self.history.baseline_sweep(b) if b is not None else None
            at = self._stim_x.get(b.last_stim) if b is not None else None
            self.status.set_baseline(b, "" if at is None else hhmmss(at))
            new = True
        self.status.set_status(a.status_text(MODE_LSR), a.state(MODE_LSR))
        stim_state = a.stimulation_state()
        if stim_state != self._stim_state:
            self._stim_state = stim_state
            new = True
        self.status.set_stimulation(a.stimulation_text(), stim_state)
        if new or self._dirty:
            self._dirty = False
            self.redraw()
        return just_started

    def relayout(self) -> None:
        """After the rows changed size (more or fewer sweeps fit): draw again."""
        self._dirty = True

    def _take_results(self) -> None:
        """Append the results of the new stimuli to each row's trends: the LSR (rejected
        sweeps left out: they never scale a trend) and the direct response."""
        results = self.analyzer.results()
        k = len(results)
        while k > 0 and results[k - 1].stim_number > self._seen_stim:
            k -= 1
        rate = self.analyzer.rate
        self._direct = self.analyzer.direct_baseline() or self._direct
        control = set(self._direct.channels) if self._direct is not None else set()
        lost = {sw.stim_number: sw.stimulation == STIM_LOST for sw in self.history.sweeps}
        for r in results[k:]:
            x = r.stim_index / rate
            self._stim_x[r.stim_number] = x
            if self._first_x is None:
                self._first_x = x
            self._last_x = max(self._last_x, x)
            if r.rejected or r.channel >= len(self.column.rows):
                continue
            row = self.column.rows[r.channel]
            amp = float(r.amplitude_uv or 0.0) if r.present else 0.0
            # The control's channel without an early response (site unknown) is an LSR
            # channel in that sweep: for the control, its direct response is absent.
            if r.kind == KIND_DIRECT or (r.kind == KIND_LSR and r.channel in control):
                row.direct_x.append(x)
                row.direct_y.append(amp if r.kind == KIND_DIRECT else 0.0)
                _keep_recent(row.direct_x, row.direct_y)
            if r.kind != KIND_LSR:
                continue
            # Without stimulation the LSR says nothing: a break in its trend, not a zero.
            row.trend_x.append(x)
            row.trend_y.append(np.nan if lost.get(r.stim_number) else amp)
            if _keep_recent(row.trend_x, row.trend_y):  # hours at a high rate
                self._first_x = row.trend_x[0]
        if len(results) > k:
            self._seen_stim = results[-1].stim_number
        if len(self._stim_x) > 4 * HISTORY_N:  # only recent ones are looked up
            for key in sorted(self._stim_x)[: -2 * HISTORY_N]:
                if self._baseline is None or key not in (
                    self._baseline.first_stim,
                    self._baseline.last_stim,
                ):
                    del self._stim_x[key]

    def redraw(self) -> None:
        a = self.analyzer
        sweeps = self.history.newest(WATERFALL_N)
        b = self._baseline
        gone_x, back_x, lost = [], [], []
        for c in a.calls():
            if c.mode != MODE_LSR:
                continue
            t = c.sample_index / a.rate
            if c.kind == CALL_DISAPPEARED:
                gone_x.append(t)
            elif c.kind == CALL_REAPPEARED:
                back_x.append(t)
            elif c.kind == CALL_STIMULATION_LOST:
                lost.append([t, None])
            elif c.kind == CALL_STIMULATION_RESTORED and lost and lost[-1][1] is None:
                lost[-1][1] = t
        gone_since = gone_x[-1] if a.state(MODE_LSR) == "gone" and gone_x else None
        first = self._first_x if self._first_x is not None else 0.0
        last = max(self._last_x, first)
        span = max(TREND_MIN_SPAN_S, last - first)
        x_range = (first - 0.02 * span, first + 1.04 * span)
        lost_spans = [(t0, max(t0, last) if t1 is None else t1) for t0, t1 in lost]
        base_span = None
        if b is not None and b.first_stim in self._stim_x and b.last_stim in self._stim_x:
            base_span = (self._stim_x[b.first_stim] - 0.3, self._stim_x[b.last_stim] + 0.3)
        newest = sweeps[0] if sweeps else None
        direct = self._direct
        for row in self.column.rows:
            row.control = (
                row.channel in direct.channels
                if direct is not None and direct.channels
                else newest is not None and newest.results[row.channel].kind == KIND_DIRECT
            )
            base_uv = b.amplitude_uv.get(row.label) if b is not None else None
            if row.control and direct is not None:
                base_uv = direct.amplitude_uv.get(row.label, base_uv)
            row.draw_sweeps(sweeps, self.column.n_slots, self._base_sweep, base_uv, a)
            row.gone_x, row.back_x, row.lost_spans = gone_x, back_x, lost_spans
            row.draw_trend(
                x_range, b, base_span, gone_since, last, newest, direct, self._stim_state
            )

    def stim_seconds(self, stim_number: int) -> float | None:
        """Signal time (s) of a recent stimulus, by its number."""
        return self._stim_x.get(stim_number)

    # -- reading (tests, the window) --------------------------------------------------------------
    @property
    def status_text(self) -> str:
        return self.status.text

    def sweeps_drawn(self, channel: int) -> int:
        """How many sweeps channel ``channel``'s waterfall shows."""
        return sum(
            1
            for c in self.column.rows[channel].curves
            if c.getData()[0] is not None and len(c.getData()[0]) > 0
        )

    def rejected_shown(self, channel: int) -> list[str]:
        """The reasons written beside channel ``channel``'s sweeps, newest first."""
        return self.column.rows[channel].rejected_shown()

    def trend_data(self, channel: int) -> tuple[np.ndarray, np.ndarray]:
        x, y = self.column.rows[channel].trend_curve.getData()
        return (np.zeros(0), np.zeros(0)) if x is None else (x, y)

    def disappearance_marks(self, channel: int) -> list[float]:
        """Times (s) of the disappearance lines on channel ``channel``'s trend."""
        x, _ = self.column.rows[channel].gone_lines.getData()
        if x is None:
            return []
        return sorted({float(v) for v in x if np.isfinite(v)})
