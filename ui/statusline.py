"""The status strip at the bottom of the monitor: short fields that wrap, never cut.

Each field keeps its whole text; when the fields do not fit the window's width the strip
takes a second line (:class:`~ui.flowlayout.FlowLayout`). Detail that is of no clinical use
(the sample count) is in a field's tooltip.
"""

from __future__ import annotations

from PySide6.QtGui import QFont
from PySide6.QtWidgets import QFrame, QLabel, QWidget

from presentation import theme
from ui.flowlayout import FlowLayout


class StatusLine(QFrame):
    """Named fields (``field(name)``) and other widgets, in order. GUI thread only."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("statusLine")
        self.setStyleSheet(
            f"#statusLine {{ background:{theme.PANEL}; border-top:1px solid {theme.GRID}; }}"
            f"QLabel {{ color:{theme.FOREGROUND}; }}"
        )
        self.font_ = QFont()
        self.font_.setPointSize(theme.STATUS_PT)
        self.flow = FlowLayout(self, spacing=16)
        self.flow.setContentsMargins(8, 2, 8, 2)
        self.fields: dict[str, QLabel] = {}

    def add_field(self, name: str, tooltip: str = "") -> QLabel:
        label = QLabel()
        label.setFont(self.font_)
        label.setToolTip(tooltip)
        self.flow.addWidget(label)
        self.fields[name] = label
        return label

    def add_widget(self, widget: QWidget) -> None:
        self.flow.addWidget(widget)

    def set(self, name: str, text: str, style: str | None = None) -> None:
        """A field's text (and style sheet, when given); the strip re-lays out only when
        something changed."""
        label = self.fields[name]
        if style is not None and style != label.styleSheet():
            label.setStyleSheet(style)
        if text != label.text():
            label.setText(text)
            label.setVisible(bool(text))
            self.flow.invalidate()

    def text(self) -> str:
        """Every field shown, in order (for tests and the log)."""
        return "   ".join(lab.text() for lab in self.fields.values() if lab.text())

    def height_for(self, width: int) -> int:
        return self.flow.heightForWidth(width)
