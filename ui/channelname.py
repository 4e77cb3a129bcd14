"""A channel's name left of its trace, in the largest type its row allows.

pyqtgraph's ``LabelItem`` sets its minimum height to its text's height (plus margins): with
many channels the rows cannot shrink below it and the lowest channels fall off the screen.
This item has no minimum height; the trace view picks its size for the row height.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter

PAD = 8  # between the name and the trace's axis


def name_font(point_size: int) -> QFont:
    font = QFont()
    font.setPointSize(point_size)
    font.setBold(True)
    return font


class ChannelName(pg.GraphicsWidget):
    """The name, right-aligned and centred on the row. GUI thread only."""

    def __init__(self, text: str, colour: str, point_size: int, width: int) -> None:
        super().__init__()
        self.text = text
        self.colour = QColor(colour)
        self.font = name_font(point_size)
        self.setFixedWidth(width)
        self.setMinimumHeight(0)

    @property
    def point_size(self) -> int:
        return self.font.pointSize()

    def set_point_size(self, point_size: int) -> None:
        if point_size != self.font.pointSize():
            self.font = name_font(point_size)
            self.update()

    def text_fits(self) -> bool:
        """The whole name fits the item (for tests: never cut)."""
        metrics = QFontMetrics(self.font)
        return (
            metrics.horizontalAdvance(self.text) <= self.size().width() - PAD
            and metrics.height() <= self.size().height() + 1
        )

    def paint(self, painter: QPainter, *args) -> None:
        painter.setFont(self.font)
        painter.setPen(self.colour)
        size = self.size()
        painter.drawText(
            QRectF(0, 0, size.width() - PAD, size.height()),
            Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
            self.text,
        )
