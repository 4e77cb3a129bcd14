"""The stimulator from the screen, and the LSR workflow step by step.

Current, pulse width, rate, site and on/off go to the source's stimulator (the amplifier's,
or the simulator's); a device's refusal is shown in its words. Beside them, the LSR
workflow of an MVD is a checklist that follows what the evoked analysis sees:

1. Stimulate a branch (zygomatic, ~15 mA, 0.2 ms, 1 Hz; docs/clinical.md §1).
2. Wait for a stable LSR in the other branches' muscles (mentalis, orbicularis oris ...).
3. Take the baseline (B).
4. Track it through the decompression: the LSR panel calls its disappearance.
5. Gone: confirm at the baseline intensity before the surgeon closes.

In the monitor's window it is a dock at the right: the traces, train time and LSR column
shrink beside it, nothing of the screen is covered. Without a main window (tests, another
tool) it is a window of its own.

Keys: T opens it; Enter sends; O switches the stimulator on or off (and sends) while the
panel has the keyboard; Esc closes it from anywhere in the monitor's window.
"""

from __future__ import annotations

import logging
import queue
import threading

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QHideEvent, QKeySequence, QShortcut, QShowEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDockWidget,
    QDoubleSpinBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from monitor.evoked import EvokedAnalyzer
from monitor.source import Source, SourceError
from monitor.stimulator import SITES, StimulatorError, StimulatorSettings
from presentation import theme
from ui.dialogtheme import apply_dialog_theme

log = logging.getLogger(__name__)

WIDTHS_MS = ("0.1", "0.2", "0.3", "0.5")
RATES_HZ = ("0.5", "1", "2", "3")
STEPS = (
    "Stimulate a branch: zygomatic, about 15 mA, 0.2 ms, 1 Hz",
    "Wait for a stable LSR in the other branches' muscles",
    "Take the baseline (B)",
    "Track the LSR through the decompression",
    "LSR gone: confirm at the baseline intensity",
)
#: The dock's width range (px): as wide as the window leaves beside the screen's narrowest
#: layout, within these; the checklist scrolls if it is then taller than the window.
PANEL_WIDTH_PX = (220, 340)
DOCK_FRAME_PX = 8
#: The checklist's step being done now / done.
STEP_NOW = "color:#000000; background:#ffd600; font-weight:bold;"
STEP_DONE = f"color:{theme.DIALOG_MUTED};"


def lsr_step(evoked: EvokedAnalyzer | None, stimulating: bool) -> int:
    """Which step (0-4) of the LSR workflow the case is at."""
    if evoked is None or not stimulating or not evoked.sweeps_since(0)[0]:
        return 0
    state = evoked.state()
    if evoked.baseline() is None:
        return 2 if state == "present" else 1
    return 4 if state == "gone" else 3


class StimulatorPanel(QDockWidget):
    """Stimulator settings and the LSR checklist; non-modal. GUI thread only (sending
    runs on a short-lived worker thread: a device answer never freezes the screen).

    Given a main window as ``parent`` it docks itself at the window's right, hidden
    until shown (T), and installs Esc on the window (:meth:`install_escape`).

    Signals
    -------
    baseline_requested()
        The checklist's "Take baseline" button (the window takes it as with B).
    """

    baseline_requested = Signal()

    def __init__(
        self, source: Source, evoked: EvokedAnalyzer | None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("stimulatorPanel")
        self.source = source
        self.evoked = evoked
        self.setWindowTitle("Stimulator  (Esc closes)")  # the dock's title bar
        # Closable only: a floating panel would cover the traces again, and Esc (a
        # shortcut of the monitor's window) would not reach it.
        self.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetClosable)
        self.setAllowedAreas(Qt.DockWidgetArea.RightDockWidgetArea)
        body = QWidget()
        body.setObjectName("dockBody")
        self.scroller = QScrollArea()
        self.scroller.setObjectName("dockBody")
        self.scroller.setWidgetResizable(True)
        self.scroller.setFrameShape(QFrame.Shape.NoFrame)
        self.scroller.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroller.setWidget(body)
        self.setWidget(self.scroller)
        apply_dialog_theme(self)
        self.scroller.setFixedWidth(PANEL_WIDTH_PX[1])
        self._answers: queue.Queue[str] = queue.Queue()
        self.sending = False
        layout = QVBoxLayout(body)
        self._build_form(layout)
        self._build_checklist(layout)
        # The panel's own keys act only while it has the keyboard: a stray O on the
        # monitor's screen must not switch a stimulator on.
        for key, slot in (("O", self.toggle_on), ("Return", self.send), ("Enter", self.send)):
            shortcut = QShortcut(QKeySequence(key), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(slot)
        self.escape: QShortcut | None = None
        self.show_settings(source.stimulator() or StimulatorSettings(on=False))
        self.timer = QTimer(self)
        self.timer.setInterval(250)
        self.timer.timeout.connect(self.refresh)
        self.refresh()
        if isinstance(parent, QMainWindow):
            self.hide()
            parent.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self)
            self.hide()  # until T
            self.install_escape(parent)
        else:
            self.install_escape(self)

    def _build_form(self, layout: QVBoxLayout) -> None:
        form = QFormLayout()
        # A narrow dock (a 1366 px screen) puts each label above its field.
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        self.current = QDoubleSpinBox()
        self.current.setRange(0.0, 30.0)
        self.current.setDecimals(2)
        self.current.setSingleStep(0.5)
        self.current.setSuffix(" mA")
        self.width_box = self._combo(WIDTHS_MS, " ms")
        self.rate = self._combo(RATES_HZ, " Hz")
        self.site = QComboBox()
        self.site.addItems(SITES)
        for box in (self.width_box, self.rate, self.site):  # as narrow as the dock
            box.setSizeAdjustPolicy(
                QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
            )
            box.setMinimumContentsLength(6)
        self.on = QCheckBox("Stimulating (O)")
        for name, w in (
            ("Current", self.current),
            ("Width", self.width_box),
            ("Rate", self.rate),
            ("Site", self.site),
            ("", self.on),
        ):
            form.addRow(name, w)
        layout.addLayout(form)
        row = QHBoxLayout()
        self.send_button = QPushButton("Send (Enter)")
        self.send_button.setDefault(True)
        self.send_button.clicked.connect(self.send)
        row.addWidget(self.send_button)
        layout.addLayout(row)
        self.answer = QLabel()
        self.answer.setWordWrap(True)
        layout.addWidget(self.answer)

    def _build_checklist(self, layout: QVBoxLayout) -> None:
        workflow = QLabel("LSR workflow")
        workflow.setStyleSheet("font-weight:bold; padding-top:8px;")
        layout.addWidget(workflow)
        self.step_labels: list[QLabel] = []
        for i, text in enumerate(STEPS):
            label = QLabel(f"{i + 1}. {text}")
            label.setWordWrap(True)
            layout.addWidget(label)
            self.step_labels.append(label)
        self.baseline_button = QPushButton("Take baseline (B)")
        self.baseline_button.clicked.connect(self.baseline_requested)
        layout.addWidget(self.baseline_button)
        layout.addStretch(1)

    def install_escape(self, window: QWidget) -> QShortcut:
        """Esc closes the panel whatever has the keyboard in ``window`` (the monitor's
        window); active only while the panel shows, so Esc means nothing else there."""
        if self.escape is not None:
            self.escape.setParent(None)
            self.escape.deleteLater()
        self.escape = QShortcut(QKeySequence(Qt.Key.Key_Escape), window)
        self.escape.setContext(Qt.ShortcutContext.WindowShortcut)
        self.escape.activated.connect(self.close)
        self.escape.setEnabled(self.isVisible())
        return self.escape

    def fit_width(self) -> int:
        """As wide as the monitor's window leaves beside its central widget's narrowest
        layout (the window must not grow past the screen), within ``PANEL_WIDTH_PX``."""
        lo, hi = PANEL_WIDTH_PX
        window = self.parentWidget()
        width = hi
        central_widget = window.centralWidget() if isinstance(window, QMainWindow) else None
        if window is not None and central_widget is not None:
            central = central_widget.minimumSizeHint().width()
            # The dock's frame and the window's splitter handle take a few pixels more.
            width = max(lo, min(hi, window.width() - central - DOCK_FRAME_PX))
        self.scroller.setFixedWidth(width)
        return width

    def setVisible(self, visible: bool) -> None:  # noqa: N802 - Qt override
        if visible and not self.isVisible():  # before the window lays the dock out
            self.fit_width()
        super().setVisible(visible)

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        self.timer.start()
        self.refresh()
        if self.escape is not None:
            self.escape.setEnabled(True)

    def hideEvent(self, event: QHideEvent) -> None:  # noqa: N802 - Qt override
        super().hideEvent(event)
        if not self.sending:
            self.timer.stop()  # a closed panel polls nothing
        if self.escape is not None:
            self.escape.setEnabled(False)

    @staticmethod
    def _combo(items: tuple[str, ...], suffix: str) -> QComboBox:
        box = QComboBox()
        box.setEditable(True)
        for item in items:
            box.addItem(item + suffix, item)
        return box

    @staticmethod
    def _number(box: QComboBox) -> float:
        return float(box.currentText().split()[0].replace(",", "."))

    # -- settings ----------------------------------------------------------------------
    def show_settings(self, s: StimulatorSettings) -> None:
        self.current.setValue(s.current_ma)
        self.width_box.setCurrentText(f"{s.width_ms:g} ms")
        self.rate.setCurrentText(f"{s.rate_hz:g} Hz")
        self.site.setCurrentText(s.site)
        self.on.setChecked(s.on)

    def settings(self) -> StimulatorSettings:
        """What the form says; ``StimulatorError`` (a sentence) if it must not be sent."""
        try:
            width, rate = self._number(self.width_box), self._number(self.rate)
        except ValueError:
            raise StimulatorError("Pulse width and rate must be numbers.") from None
        return StimulatorSettings(
            self.current.value(), width, rate, self.site.currentText(), self.on.isChecked()
        )

    def toggle_on(self) -> None:
        """O: the stimulator on or off, sent at once."""
        self.on.toggle()
        self.send()

    def send(self) -> None:
        """Check the form and send it on a worker thread; the answer shows below. One send
        at a time: the device's answer decides what the stimulator is doing."""
        if self.sending:
            return
        try:
            settings = self.settings()
        except StimulatorError as exc:
            self.answer.setText(str(exc))
            self.answer.setStyleSheet(f"color:{theme.ERROR_TEXT};")
            return
        self.sending = True
        self.send_button.setEnabled(False)
        self.answer.setText("Sending…")
        self.answer.setStyleSheet("")

        def work() -> None:
            try:
                self.source.set_stimulator(settings)
                self._answers.put(f"Stimulator set: {settings.describe()}.")
            except SourceError as exc:
                self._answers.put(f"Not set: {exc}")
            except Exception as exc:  # never leave the panel saying "Sending…"
                log.exception("stimulator settings not sent")
                self._answers.put(f"Not set: the stimulator did not answer ({exc}).")

        threading.Thread(target=work, name="stimulator", daemon=True).start()
        self.timer.start()  # the answer is collected even if the panel is closed meanwhile

    # -- timer -------------------------------------------------------------------------
    def refresh(self) -> None:
        try:
            text = self._answers.get_nowait()
        except queue.Empty:
            text = None
        if text is not None:
            self.sending = False
            if not self.isVisible():
                self.timer.stop()
            self.send_button.setEnabled(True)
            self.answer.setText(text)
            refused = not text.startswith("Stimulator set")
            self.answer.setStyleSheet(f"color:{theme.ERROR_TEXT};" if refused else "")
        known = self.source.stimulator()
        if text is not None and not text.startswith("Stimulator set") and known is not None:
            self.on.setChecked(known.on)  # refused: the box says what the stimulator does
        step = lsr_step(self.evoked, known is not None and known.on)
        for i, label in enumerate(self.step_labels):
            style = STEP_DONE if i < step else STEP_NOW if i == step else ""
            if label.styleSheet() != style:  # a new style sheet re-polishes the label
                label.setStyleSheet(style)
        self.baseline_button.setEnabled(step >= 1)

    def current_step(self) -> int:
        known = self.source.stimulator()
        return lsr_step(self.evoked, known is not None and known.on)
