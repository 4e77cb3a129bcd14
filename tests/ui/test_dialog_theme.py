"""Every dialog of the monitor is dark, with text at the operating-room size."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QTimer
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QLabel,
    QLineEdit,
    QMessageBox,
    QWidget,
)

from drivers.simamplifier import SimulatedAmplifierSource
from presentation import theme
from simulation.emgsynth import SimConfig

FIELDS = (QLineEdit, QComboBox, QAbstractSpinBox)
TEXT_WIDGETS = (QLabel, QAbstractButton, *FIELDS)


def assert_dark_and_large(dialog: QWidget) -> None:
    """Dark window, light text (7:1), and every text widget at least the OR size."""
    dialog.ensurePolished()
    palette = dialog.palette()
    window = palette.color(QPalette.ColorRole.Window).name()
    text = palette.color(QPalette.ColorRole.WindowText).name()
    assert theme.contrast_ratio(window, "#000000") < 1.5, window  # dark, not grey or white
    assert theme.contrast_ratio(text, window) >= 7.0, (text, window)
    widgets = [w for w in dialog.findChildren(QWidget) if isinstance(w, TEXT_WIDGETS)]
    assert widgets
    for w in widgets:
        w.ensurePolished()
        assert w.font().pointSizeF() >= theme.DIALOG_PT, (type(w).__name__, w.objectName())
        if isinstance(w, FIELDS):  # labels may be lit on purpose (the step being done)
            base = w.palette().color(QPalette.ColorRole.Base).name()
            assert theme.contrast_ratio(base, "#000000") < 1.5, (type(w).__name__, base)


def test_stimulator_panel(qtbot):
    from ui.stimpanel import StimulatorPanel

    source = SimulatedAmplifierSource(SimConfig(seed=2))
    panel = StimulatorPanel(source, None)
    qtbot.addWidget(panel)
    assert_dark_and_large(panel)


def test_source_dialog(qtbot):
    from ui.sourcedialog import SourceDialog

    dialog = SourceDialog()
    qtbot.addWidget(dialog)
    assert_dark_and_large(dialog)


def test_case_setup_dialog(qtbot, tmp_path):
    from monitor.settingsstore import SettingsStore
    from ui.casesetupdialog import CaseSetupDialog

    dialog = CaseSetupDialog(SettingsStore(tmp_path))
    qtbot.addWidget(dialog)
    assert_dark_and_large(dialog)


def test_confirmation_box(qtbot):
    from ui.dialogtheme import message_box

    box = message_box(None, "Stop recording?", "Stop recording the case?", "Monitoring goes on.")
    box.addButton("Stop recording", QMessageBox.ButtonRole.DestructiveRole)
    box.addButton("Keep recording", QMessageBox.ButtonRole.RejectRole)
    qtbot.addWidget(box)
    assert_dark_and_large(box)


def test_note_and_reason_questions(qtbot):
    """``ask_text`` (the note, a reset's reason, a preset's name): themed and modal; the
    answer comes back, Esc is no answer."""
    from ui.dialogtheme import ask_text

    seen: list[QWidget] = []

    def answer(text: str | None) -> None:
        dialog = QApplication.activeModalWidget()
        seen.append(dialog)
        assert_dark_and_large(dialog)
        if text is None:
            dialog.reject()
        else:
            dialog.findChild(QLineEdit).setText(text)
            dialog.accept()

    QTimer.singleShot(0, lambda: answer("vessel moved"))
    assert ask_text(None, "Note", "Note for the record:") == ("vessel moved", True)
    QTimer.singleShot(0, lambda: answer(None))
    assert ask_text(None, "Note", "Note for the record:")[1] is False
    assert len(seen) == 2
