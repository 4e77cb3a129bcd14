"""The operating-room theme of every dialog: dark, high contrast, large type.

A light dialog over the dark screen dazzles a dark-adapted team and its small type cannot
be read from the bed side. Each dialog's constructor calls :func:`apply_dialog_theme` on
itself (the palette and style sheet of :mod:`presentation.theme`, on the dialog's subtree
only: the main screen keeps its own styles). Confirmations and one-line questions go
through :func:`message_box` and :func:`ask_text`, which stand in for ``QMessageBox`` and
``QInputDialog.getText``. GUI thread only.
"""

from __future__ import annotations

from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QInputDialog, QLineEdit, QMessageBox, QWidget

from presentation import theme

TEXT_FIELD_PX = 600


def dark_palette() -> QPalette:
    """The dialogs' palette (active, inactive and disabled groups)."""
    palette = QPalette()
    for role_name, colour in theme.DIALOG_PALETTE.items():
        palette.setColor(getattr(QPalette.ColorRole, role_name), QColor(colour))
    disabled = QPalette.ColorGroup.Disabled
    for role in (
        QPalette.ColorRole.WindowText,
        QPalette.ColorRole.Text,
        QPalette.ColorRole.ButtonText,
    ):
        palette.setColor(disabled, role, QColor(theme.DISABLED_TEXT))
    return palette


def dialog_font() -> QFont:
    font = QFont()
    font.setPointSize(theme.DIALOG_PT)
    return font


def apply_dialog_theme(widget: QWidget, extra_style: str = "") -> None:
    """Dark palette, OR font size and the dialogs' style sheet (plus ``extra_style``, a
    dialog's own rules) on ``widget`` and its children."""
    widget.setPalette(dark_palette())
    widget.setAutoFillBackground(True)
    widget.setFont(dialog_font())
    widget.setStyleSheet(theme.dialog_style_sheet() + extra_style)


def message_box(
    parent: QWidget | None,
    title: str,
    text: str,
    informative: str = "",
    icon: QMessageBox.Icon = QMessageBox.Icon.Question,
) -> QMessageBox:
    """A themed message box; the caller adds its buttons and opens it."""
    box = QMessageBox(parent)
    box.setIcon(icon)
    box.setWindowTitle(title)
    box.setText(text)
    if informative:
        box.setInformativeText(informative)
    apply_dialog_theme(box)
    return box


def fit_text_field(dialog: QInputDialog) -> None:
    """The input dialog's field wide enough for a sentence (a note, a reason)."""
    field = dialog.findChild(QLineEdit)
    if field is not None:
        field.setMinimumWidth(TEXT_FIELD_PX)


def ask_text(parent: QWidget | None, title: str, label: str, text: str = "") -> tuple[str, bool]:
    """``QInputDialog.getText`` in the theme: ``(text, ok)``. The field is wide enough for
    a sentence (a note, a reason for the record)."""
    dialog = QInputDialog(parent)
    dialog.setWindowTitle(title)
    dialog.setLabelText(label)
    dialog.setTextValue(text)
    dialog.setInputMode(QInputDialog.InputMode.TextInput)
    dialog.setTextEchoMode(QLineEdit.EchoMode.Normal)
    apply_dialog_theme(dialog)
    fit_text_field(dialog)
    ok = dialog.exec() == QInputDialog.DialogCode.Accepted
    value = dialog.textValue()
    dialog.deleteLater()
    return value, ok
