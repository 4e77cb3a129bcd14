"""Freeze and measure: hold the traces still while acquisition and recording go on.

Frozen, the traces show the last window at full resolution (every sample, not the display
envelope), the mouse wheel zooms in time, and two cursors measure time (ms) and amplitude
(µV) on every channel. A moment can be marked (M) and laid behind the frozen traces in grey
(C), to compare with what the nerve looked like then.

Keys: F freeze/live, M mark this moment, C compare with the mark, Z zoom to the cursors,
X the whole window again.

A frozen screen must never pass for a live one, not even from 2 m: while frozen the
traces have a thick yellow frame and a yellow band above them, ``FROZEN at hh:mm:ss — F to
go live`` (:class:`FrozenFrame`); the rows make room for the band, so it hides nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPen
from PySide6.QtWidgets import QWidget

from presentation import theme
from presentation.feed import hhmmss
from presentation.stimmarks import column_mask
from ui.traces import DIM_COLOUR, TraceView

CURSOR_COLOURS = ("#ffffff", "#ffd600")
MARK_COLOUR = (150, 150, 150, 170)
FROZEN_COLOUR = "#ffd600"  # the status bar's FROZEN, and the frame's
FRAME_PX = 6


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A window of filtered signal: samples ``(n, channels)`` in µV, ending at ``end``."""

    end: int
    samples: np.ndarray
    rate: float

    def times(self) -> np.ndarray:
        """Seconds before the end, one per sample (the traces' x axis)."""
        n = len(self.samples)
        return (np.arange(n) - n) / self.rate


@dataclass(frozen=True, slots=True)
class Reading:
    """Cursor readout on one channel."""

    label: str
    first_uv: float
    second_uv: float

    @property
    def delta_uv(self) -> float:
        return self.second_uv - self.first_uv


class FrozenFrame(QWidget):
    """Over the trace view while frozen: a thick frame and a band with what it says at the
    top. Lets the mouse through (the cursors stay draggable). GUI thread only."""

    def __init__(self, traces: TraceView) -> None:
        super().__init__(traces)
        self.traces = traces
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setAttribute(Qt.WidgetAttribute.WA_NoSystemBackground)
        self.text = ""
        self.font_ = QFont()
        self.font_.setPointSize(theme.BANNER_PT)
        self.font_.setBold(True)
        traces.installEventFilter(self)  # follows the view's size
        self.hide()

    def band_height(self) -> int:
        return QFontMetrics(self.font_).height() + 6

    def show_text(self, text: str) -> None:
        self.text = text
        # The rows give the band its room where they can (never below a readable row).
        room = int(min(self.band_height(), self.traces.spare_height()))
        self.traces.reserve_frame(room, FRAME_PX + 1)
        self.setGeometry(self.traces.rect())
        self.show()
        self.raise_()
        self.update()

    def clear(self) -> None:
        self.text = ""
        self.hide()
        self.traces.reserve_frame(0, 0)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.Resize and self.isVisible():
            self.setGeometry(self.traces.rect())
        return False

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt override
        p = QPainter(self)
        colour = QColor(FROZEN_COLOUR)
        pen = QPen(colour)
        pen.setWidth(FRAME_PX)
        pen.setJoinStyle(Qt.PenJoinStyle.MiterJoin)
        p.setPen(pen)
        half = FRAME_PX / 2
        p.drawRect(QRectF(half, half, self.width() - FRAME_PX, self.height() - FRAME_PX))
        band = QRectF(0, 0, self.width(), self.band_height())
        p.fillRect(band, colour)
        p.setPen(QColor("#000000"))
        p.setFont(self.font_)
        p.drawText(band, Qt.AlignmentFlag.AlignCenter, self.text)
        p.end()


class FreezeView:
    """Frozen display, cursors and comparison over a :class:`~ui.traces.TraceView`.

    ``history(n)`` returns ``(start, samples)`` of the newest ``n`` filtered samples (the
    session's ring buffer; thread-safe). ``seconds_of(index)`` gives the recording time
    of a sample index for the labels. GUI thread only.
    """

    def __init__(
        self,
        traces: TraceView,
        history: Callable[[int], tuple[int, np.ndarray]],
        seconds_of: Callable[[int], float],
    ) -> None:
        self.traces = traces
        self.history = history
        self.seconds_of = seconds_of
        self.frozen: Snapshot | None = None
        self.mark: Snapshot | None = None
        self.comparing = False
        self._full: list[pg.PlotDataItem] = []
        self._full_dim: list[pg.PlotDataItem] = []  # stimulus blanking and cautery, grey
        self._ghosts: list[pg.PlotDataItem] = []
        self._cursors: list[list[pg.InfiniteLine]] = []  # per plot: [first, second]
        self._readouts: list[pg.TextItem] = []
        self._build()
        self.overlay = FrozenFrame(traces)

    def _build(self) -> None:
        for ch, plot in enumerate(self.traces._plots):
            ghost = pg.PlotDataItem(pen=pg.mkPen(MARK_COLOUR, width=1))
            full = pg.PlotDataItem(pen=pg.mkPen(theme.channel_colour(ch), width=1))
            dim = pg.PlotDataItem(pen=pg.mkPen(DIM_COLOUR, width=1))
            for item in (ghost, full, dim):
                item.setDownsampling(auto=True, method="peak")
                item.setClipToView(True)
                item.hide()
                plot.addItem(item)
            pair = []
            for k, colour in enumerate(CURSOR_COLOURS):
                line = pg.InfiniteLine(
                    pos=-2.0 + k, angle=90, movable=True, pen=pg.mkPen(colour, width=2)
                )
                line.hide()
                line.sigPositionChanged.connect(self._cursor_moved)
                plot.addItem(line)
                pair.append(line)
            readout = pg.TextItem(color=theme.FOREGROUND, anchor=(1, 0), fill=(0, 0, 0, 190))
            readout.setFont(self.traces._axis_font)
            readout.hide()
            plot.addItem(readout, ignoreBounds=True)
            plot.sigXRangeChanged.connect(self._place_readouts)
            self._ghosts.append(ghost)
            self._full.append(full)
            self._full_dim.append(dim)
            self._cursors.append(pair)
            self._readouts.append(readout)

    # -- state --------------------------------------------------------------------------
    def snapshot(self) -> Snapshot | None:
        n = round(self.traces.window_s * self.traces.rate)
        end_start, samples = self.history(n)
        if len(samples) == 0:
            return None
        return Snapshot(end_start + len(samples), samples.copy(), self.traces.rate)

    def freeze(self) -> bool:
        """Hold the traces on the newest window; False when there is nothing to hold."""
        snap = self.snapshot()
        if snap is None:
            return False
        self.frozen = snap
        self.traces.frozen = True
        t = snap.times()
        # The same grey stretches as live (stimulus artifacts, cautery), sample by sample.
        n = len(snap.samples)
        first = snap.end - n
        centres = (first + np.arange(n) + 0.5) / snap.rate
        mask = column_mask(centres, snap.rate, 1, self.traces.dim_spans(snap.end))
        dimmed = bool(mask.any())
        self.traces.hide_dim()
        for ch, (full, curve) in enumerate(zip(self._full, self.traces._curves, strict=True)):
            y = snap.samples[:, ch]
            dim = self._full_dim[ch]
            if dimmed:
                dim.setData(t, np.where(mask, y, np.nan), connect="finite")
                dim.show()
                y = np.where(mask, np.nan, y)
            full.setData(t, y, connect="finite")
            full.show()
            curve.hide()
        self.traces.place_marks(snap.end)
        for plot in self.traces._plots:
            plot.setMouseEnabled(x=True, y=False)
        for ch in range(1, len(self.traces._plots)):
            self.traces._plots[ch].setXLink(self.traces._plots[0])
        for pair in self._cursors:
            for line in pair:
                line.show()
        for readout in self._readouts:
            readout.show()
        self._show_compare()
        self._cursor_moved()
        self.overlay.show_text(self.banner_text())
        return True

    def resume(self) -> None:
        """Back to live."""
        self.frozen = None
        self.traces.frozen = False
        self.overlay.clear()
        for items in (self._full, self._full_dim, self._ghosts, self._readouts):
            for item in items:
                item.hide()
        for pair in self._cursors:
            for line in pair:
                line.hide()
        for plot, curve in zip(self.traces._plots, self.traces._curves, strict=True):
            plot.setXLink(None)
            plot.setMouseEnabled(x=False, y=False)
            curve.show()
        self.traces.set_window(self.traces.window_s)

    def mark_now(self) -> Snapshot | None:
        """Keep the window on screen (frozen) or the newest one (live) to compare with."""
        self.mark = self.frozen or self.snapshot()
        self._show_compare()
        return self.mark

    def toggle_compare(self) -> bool:
        self.comparing = not self.comparing and self.mark is not None
        self._show_compare()
        if self.frozen is not None:
            self.overlay.show_text(self.banner_text())
        return self.comparing

    def _show_compare(self) -> None:
        show = self.comparing and self.mark is not None and self.frozen is not None
        for ch, ghost in enumerate(self._ghosts):
            if show:
                ghost.setData(self.mark.times(), self.mark.samples[:, ch], connect="finite")
                ghost.show()
            else:
                ghost.hide()

    # -- cursors ------------------------------------------------------------------------
    def cursor_times(self) -> tuple[float, float]:
        first, second = self._cursors[0]
        return float(first.value()), float(second.value())

    def set_cursors(self, first_s: float, second_s: float) -> None:
        """Place both cursors (seconds before the frozen end) on every channel."""
        for pair in self._cursors:
            for line, pos in zip(pair, (first_s, second_s), strict=True):
                line.blockSignals(True)
                line.setValue(pos)
                line.blockSignals(False)
        self._cursor_moved()

    def readings(self) -> list[Reading]:
        """µV of each channel at both cursors (the frozen samples, not the envelope)."""
        if self.frozen is None:
            return []
        snap = self.frozen
        n = len(snap.samples)
        idx = [int(np.clip(round(t * snap.rate) + n, 0, n - 1)) for t in self.cursor_times()]
        return [
            Reading(label, float(snap.samples[idx[0], ch]), float(snap.samples[idx[1], ch]))
            for ch, label in enumerate(self.traces.labels)
        ]

    def delta_ms(self) -> float:
        a, b = self.cursor_times()
        return (b - a) * 1000.0

    def _cursor_moved(self, line: pg.InfiniteLine | None = None) -> None:
        if line is not None:  # one cursor dragged on one channel: all channels follow
            k = next(i for i, pair in enumerate(self._cursors) if line in pair)
            which = self._cursors[k].index(line)
            for pair in self._cursors:
                if pair[which] is not line:
                    pair[which].blockSignals(True)
                    pair[which].setValue(line.value())
                    pair[which].blockSignals(False)
        if self.frozen is None:
            return
        dt = self.delta_ms()
        for readout, r in zip(self._readouts, self.readings(), strict=True):
            readout.setText(
                f"Δt {dt:.1f} ms   {r.first_uv:.0f} → {r.second_uv:.0f} µV   Δ {r.delta_uv:.0f} µV"
            )
        self._place_readouts()

    def _place_readouts(self, *_: object) -> None:
        """Top right of each channel's visible part."""
        for plot, readout in zip(self.traces._plots, self._readouts, strict=True):
            (_, x1), (_, y1) = plot.vb.viewRange()
            readout.setPos(x1, y1)

    def zoom_to_cursors(self) -> None:
        a, b = sorted(self.cursor_times())
        pad = max(0.002, (b - a) * 0.25)
        self.traces._plots[0].setXRange(a - pad, b + pad, padding=0)
        self._cursor_moved()

    def zoom_out(self) -> None:
        self.traces._plots[0].setXRange(-self.traces.window_s, 0, padding=0)
        self._cursor_moved()

    def banner_text(self) -> str:
        """What the band over the frozen traces says (read from across the room)."""
        return self._frozen_words("❚❚ ", "F to go live", "  ·  grey: ")

    def caption(self) -> str:
        """What the overlay says while frozen."""
        return self._frozen_words("", "F: live", "   grey: marked at ")

    def _frozen_words(self, mark: str, live: str, compared: str) -> str:
        """``FROZEN at hh:mm:ss — <live>``, and the marked moment compared with (in grey)."""
        if self.frozen is None:
            return ""
        text = f"{mark}FROZEN at {hhmmss(self.seconds_of(self.frozen.end))} — {live}"
        if self.comparing and self.mark is not None:
            text += f"{compared}{hhmmss(self.seconds_of(self.mark.end))}"
        return text
