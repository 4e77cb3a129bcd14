"""The row of operator actions under the traces: each a button and a key.

Nothing that matters sits in a menu: freeze and measure, mark and compare, note, record.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QWidget

from presentation import theme

_STYLE = (
    "QPushButton {{ background:#262626; color:{fg}; border:2px solid #5a5a5a; "
    "border-radius:4px; padding:3px 6px; }} QPushButton:pressed {{ background:#555; }} "
    "QPushButton:checked {{ background:#ffd600; color:#000; border-color:#ffd600; }} "
    "QPushButton:disabled {{ color:#555; border-color:#333; }}"
)


def action_button(
    text: str, slot: Callable[[], object], font: QFont, checkable: bool = False
) -> QPushButton:
    """A button of the operator's rows: dark, readable, never taking the keyboard (the
    window's one-key shortcuts must keep working)."""
    b = QPushButton(text)
    b.setFont(font)
    b.setCheckable(checkable)
    b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    b.setStyleSheet(_STYLE.format(fg=theme.FOREGROUND))
    b.clicked.connect(lambda _=False, s=slot: s())
    return b


class ActionBar(QFrame):
    """Buttons named with their keys. GUI thread only.

    ``actions`` maps a name to ``(text with key, slot, checkable)``; ``buttons[name]`` is
    the button.
    """

    def __init__(
        self,
        actions: dict[str, tuple[str, Callable[[], object], bool]],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setStyleSheet(f"background:{theme.PANEL};")
        font = QFont()
        font.setPointSize(theme.CAPTION_PT)
        row = QHBoxLayout(self)
        row.setContentsMargins(4, 2, 4, 2)
        row.setSpacing(4)
        self.buttons: dict[str, QPushButton] = {}
        self._font, self._row = font, row
        for name, (text, slot, checkable) in actions.items():
            self.add(name, text, slot, checkable)
        self.caption = QLabel()
        self.caption.setFont(font)
        self.caption.setStyleSheet(f"color:{theme.MUTED};")
        # A long caption is cut, never widens the window (it must fit 1366 px).
        self.caption.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        row.addWidget(self.caption, 1)

    def add(
        self, name: str, text: str, slot: Callable[[], object], checkable: bool = False
    ) -> QPushButton:
        """One more button (after the caption's place if the bar is built)."""
        b = action_button(text, slot, self._font, checkable)
        self._row.insertWidget(len(self.buttons), b)
        self.buttons[name] = b
        return b
