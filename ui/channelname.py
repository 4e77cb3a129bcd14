"""A channel's name left of its trace, in the largest type its row allows.

pyqtgraph's ``LabelItem`` sets its minimum height to its text's height (plus margins): with
many channels the rows cannot shrink below it and the lowest channels fall off the screen.
This item has no minimum height; the trace view picks its size for the row height.

Under the name (or, on a low row, left of it) the channel's event counts, in the
classes' colours (``A 2 · Sp 14``, :mod:`presentation.eventcounts`); on a low row the
counts that do not fit are left out from the end (spikes first, A-trains last).
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter

from presentation import theme

PAD = 8  # between the name and the trace's axis
COUNT_GAP = 10  # between the counts and the name on one line
COUNT_MAX_PT = 16


def name_font(point_size: int) -> QFont:
    font = QFont()
    font.setPointSize(point_size)
    font.setBold(True)
    return font


def count_point_size(name_point_size: int) -> int:
    """The counts' type: a little smaller than the name, never below the event names'."""
    return max(theme.MARKER_PT, min(COUNT_MAX_PT, name_point_size - 4))


class ChannelName(pg.GraphicsWidget):
    """The name, right-aligned and centred on the row. GUI thread only."""

    def __init__(self, text: str, colour: str, point_size: int, width: int) -> None:
        super().__init__()
        self.text = text
        self.colour = QColor(colour)
        self.font = name_font(point_size)
        self.setFixedWidth(width)
        self.setMinimumHeight(0)
        self.count_font = name_font(count_point_size(point_size))
        #: ``[(text, colour)]`` of the event counts, A-trains first.
        self.counts: list[tuple[str, str]] = []
        #: The counts drawn at the last paint (for tests: what fitted).
        self.counts_drawn: list[str] = []

    def set_counts(self, parts: list[tuple[str, str]], tooltip: str = "") -> None:
        if parts != self.counts:
            self.counts = list(parts)
            self.setToolTip(tooltip)
            self.update()

    @property
    def point_size(self) -> int:
        return self.font.pointSize()

    def set_point_size(self, point_size: int) -> None:
        if point_size != self.font.pointSize():
            self.font = name_font(point_size)
            self.count_font = name_font(count_point_size(point_size))
            self.update()

    def text_fits(self) -> bool:
        """The whole name fits the item (for tests: never cut)."""
        metrics = QFontMetrics(self.font)
        return (
            metrics.horizontalAdvance(self.text) <= self.size().width() - PAD
            and metrics.height() <= self.size().height() + 1
        )

    def paint(self, painter: QPainter, *args) -> None:
        size = self.size()
        w, h = size.width() - PAD, size.height()
        name_h = QFontMetrics(self.font).height()
        count_metrics = QFontMetrics(self.count_font)
        count_h = count_metrics.height()
        two_lines = bool(self.counts) and h >= name_h + count_h
        name_rect = QRectF(0, 0, w, h)
        if two_lines:  # name and counts as one block, centred on the row
            top = (h - name_h - count_h) / 2
            name_rect = QRectF(0, top, w, name_h)
        painter.setFont(self.font)
        painter.setPen(self.colour)
        painter.drawText(
            name_rect, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, self.text
        )
        self.counts_drawn = []
        if not self.counts:
            return
        sep = " · "
        sep_w = count_metrics.horizontalAdvance(sep)
        if two_lines:
            room = w
            row = QRectF(0, name_rect.bottom(), w, count_h)
        else:
            room = w - QFontMetrics(self.font).horizontalAdvance(self.text) - COUNT_GAP
            row = QRectF(0, 0, room, h)
        parts: list[tuple[str, str]] = []
        used = 0.0
        for text, colour in self.counts:
            add = count_metrics.horizontalAdvance(text) + (sep_w if parts else 0)
            if used + add > room:
                break
            parts.append((text, colour))
            used += add
        if not parts:
            return
        # Right-aligned under the name; left of it on a low row, next to it.
        x = row.right() - used
        painter.setFont(self.count_font)
        for i, (text, colour) in enumerate(parts):
            if i:
                painter.setPen(QColor(theme.MUTED))
                painter.drawText(QRectF(x, row.top(), sep_w, row.height()), _V_LEFT, sep)
                x += sep_w
            tw = count_metrics.horizontalAdvance(text)
            painter.setPen(QColor(colour))
            painter.drawText(QRectF(x, row.top(), tw + 1, row.height()), _V_LEFT, text)
            x += tw
        self.counts_drawn = [text for text, _ in parts]


_V_LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
