"""A layout that puts its widgets in a row and starts a new row where the next one would
not fit: nothing is cut, the strip grows a line instead (Qt's flow layout example)."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QRect, QSize, Qt
from PySide6.QtWidgets import QLayout, QLayoutItem, QWidget


class FlowLayout(QLayout):
    """Left to right, top to bottom; every item at its size hint. GUI thread only."""

    def __init__(self, parent: QWidget | None = None, spacing: int = 12, line_gap: int = 0):
        super().__init__(parent)
        self._items: list[QLayoutItem] = []
        self._spacing = spacing
        self._line_gap = line_gap

    # -- QLayout ---------------------------------------------------------------------------
    def addItem(self, item: QLayoutItem) -> None:  # noqa: N802 - Qt override
        self._items.append(item)

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, index: int) -> QLayoutItem | None:  # noqa: N802 - Qt override
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int) -> QLayoutItem | None:  # noqa: N802 - Qt override
        return self._items.pop(index) if 0 <= index < len(self._items) else None

    def expandingDirections(self) -> Qt.Orientation:  # noqa: N802 - Qt override
        return Qt.Orientation(0)

    def hasHeightForWidth(self) -> bool:  # noqa: N802 - Qt override
        return True

    def heightForWidth(self, width: int) -> int:  # noqa: N802 - Qt override
        return self._place(QRect(0, 0, width, 0), move=False)

    def setGeometry(self, rect: QRect) -> None:  # noqa: N802 - Qt override
        super().setGeometry(rect)
        self._place(rect, move=True)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return self.minimumSize()

    def minimumSize(self) -> QSize:  # noqa: N802 - Qt override
        size = QSize()
        for item in self._items:
            size = size.expandedTo(item.minimumSize())
        m = self.contentsMargins()
        return size + QSize(m.left() + m.right(), m.top() + m.bottom())

    # -- placing -------------------------------------------------------------------------------
    def lines(self, width: int) -> int:
        """How many lines the visible items take at ``width``."""
        return len(self._rows(width))

    def _visible(self) -> list[QLayoutItem]:
        return [it for it in self._items if not (it.widget() and it.widget().isHidden())]

    def _rows(self, width: int) -> list[list[QLayoutItem]]:
        m = self.contentsMargins()
        room = width - m.left() - m.right()
        rows: list[list[QLayoutItem]] = [[]]
        x = 0
        for item in self._visible():
            w = item.sizeHint().width()
            if rows[-1] and x + w > room:
                rows.append([])
                x = 0
            rows[-1].append(item)
            x += w + self._spacing
        return [r for r in rows if r]

    def _place(self, rect: QRect, move: bool) -> int:
        m = self.contentsMargins()
        rows = self._rows(rect.width())
        if not rows:
            return m.top() + m.bottom()
        y = rect.y() + m.top()
        for row in rows:
            line_h = max(item.sizeHint().height() for item in row)
            x = rect.x() + m.left()
            for item in row:
                hint = item.sizeHint()
                if move:  # centred on the line
                    top = y + (line_h - hint.height()) // 2
                    item.setGeometry(QRect(QPoint(x, top), hint))
                x += hint.width() + self._spacing
            y += line_h + self._line_gap
        return y - self._line_gap - rect.y() + m.bottom()
