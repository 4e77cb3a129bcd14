"""Choosing where the signal comes from, on screen: simulator, amplifier, simulated
amplifier or a recording.

The dialog's answer is the command line that would open the same source
(``["--replay", "case.edf", "--speed", "2"]``), so the screen and the command line go
through one path (``main.start_session``) and say the same things when a source cannot be
opened.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QFont, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from presentation import theme

KINDS = ("simulator", "port", "sim-device", "replay")
TITLES = {
    "simulator": "Simulator (built in)",
    "port": "Amplifier on a serial port",
    "sim-device": "Simulated amplifier (serial protocol)",
    "replay": "Recording (EDF, EDF+, BDF, BDF+)",
}
BAUDS = ("921600", "460800", "230400", "115200", "2000000", "3000000")


def list_serial_ports() -> list[tuple[str, str]]:
    """The machine's serial ports; none when pyserial cannot list them."""
    try:
        from drivers.serial_link import list_ports

        return list_ports()
    except Exception:  # a broken port driver must not stop the dialog from opening
        return []


class SourceDialog(QDialog):
    """Pick a source; :meth:`argv` is the command line for it. GUI thread only.

    Keys: Alt+1 to Alt+4 choose the kind of source, Enter opens it, Esc keeps the current one.
    """

    def __init__(self, current_kind: str = "simulator", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Signal source")
        font = QFont()
        font.setPointSize(theme.BUTTON_PT)
        self.setFont(font)
        layout = QVBoxLayout(self)
        intro = QLabel(
            "Where does the signal come from? Monitoring of the present source stops when the "
            "new one opens (its recording is closed and kept)."
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)

        self.group = QButtonGroup(self)
        self.radios: dict[str, QRadioButton] = {}
        self.pages: dict[str, QWidget] = {}
        for i, kind in enumerate(KINDS):
            radio = QRadioButton(f"{TITLES[kind]}   (Alt+{i + 1})")
            self.group.addButton(radio, i)
            self.radios[kind] = radio
            layout.addWidget(radio)
            page = self._page(kind)
            page.setContentsMargins(28, 0, 0, 6)
            self.pages[kind] = page
            layout.addWidget(page)
            radio.toggled.connect(self._show_pages)
            QShortcut(QKeySequence(f"Alt+{i + 1}"), self, activated=lambda k=kind: self.choose(k))

        self.error = QLabel()
        self.error.setStyleSheet("color:#ff5c5c;")
        self.error.setWordWrap(True)
        layout.addWidget(self.error)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Open | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.choose(current_kind if current_kind in KINDS else "simulator")

    def _page(self, kind: str) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        if kind == "simulator":
            self.sim_channels = QSpinBox()
            self.sim_channels.setRange(1, 16)
            self.sim_channels.setValue(4)
            self.sim_lsr_gone = QDoubleSpinBox()
            self.sim_lsr_gone.setRange(0, 36000)
            self.sim_lsr_gone.setDecimals(0)
            self.sim_lsr_gone.setSpecialValueText("never")
            self.sim_lsr_gone.setSuffix(" s")
            form.addRow("Channels", self.sim_channels)
            form.addRow("LSR disappears at", self.sim_lsr_gone)
        elif kind == "port":
            self.port = QComboBox()
            self.port.setEditable(True)
            for device, description in list_serial_ports():
                self.port.addItem(f"{device}  {description}".strip(), device)
            self.baud = QComboBox()
            self.baud.addItems(BAUDS)
            form.addRow("Port", self.port)
            form.addRow("Baud rate", self.baud)
            if self.port.count() == 0:
                form.addRow(QLabel("No serial port found on this machine; type a path."))
        elif kind == "sim-device":
            self.dev_channels = QSpinBox()
            self.dev_channels.setRange(1, 16)
            self.dev_channels.setValue(4)
            form.addRow("Channels", self.dev_channels)
        else:
            row = QHBoxLayout()
            self.replay_file = QLineEdit()
            self.replay_file.setPlaceholderText("recordings/demo_mvd.edf")
            browse = QPushButton("Browse…")
            browse.clicked.connect(self._browse)
            row.addWidget(self.replay_file, 1)
            row.addWidget(browse)
            self.replay_speed = QComboBox()
            self.replay_speed.addItems(["0.5", "1", "2", "5", "10", "20"])
            self.replay_speed.setCurrentText("1")
            form.addRow("File", row)
            form.addRow("Speed (x real time)", self.replay_speed)
        return page

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self,
            "Open a recording",
            str(Path("recordings").resolve()),
            "EDF/BDF recordings (*.edf *.EDF *.bdf *.BDF);;All files (*)",
        )
        if path:
            self.replay_file.setText(path)

    def _show_pages(self) -> None:
        for kind, page in self.pages.items():
            page.setEnabled(self.radios[kind].isChecked())

    # -- answer -------------------------------------------------------------------------
    def choose(self, kind: str) -> None:
        self.radios[kind].setChecked(True)
        self._show_pages()

    @property
    def kind(self) -> str:
        return next(k for k, r in self.radios.items() if r.isChecked())

    def argv(self) -> list[str]:
        """The command line of the chosen source; ``ValueError`` (a sentence) if incomplete."""
        kind = self.kind
        if kind == "simulator":
            args = ["--channels", str(self.sim_channels.value())]
            if self.sim_lsr_gone.value() > 0:
                args += ["--lsr-gone-at", f"{self.sim_lsr_gone.value():g}"]
            return args
        if kind == "port":
            text = self.port.currentText()
            k = self.port.findText(text)  # a listed port, or a path typed in
            port = (self.port.itemData(k) if k >= 0 else text).strip()
            if not port:
                raise ValueError("Choose the amplifier's serial port.")
            return ["--port", port, "--baud", self.baud.currentText()]
        if kind == "sim-device":
            return ["--sim-device", "--channels", str(self.dev_channels.value())]
        path = self.replay_file.text().strip()
        if not path:
            raise ValueError("Choose the recording to replay.")
        return ["--replay", path, "--speed", self.replay_speed.currentText()]

    def accept(self) -> None:
        try:
            self.argv()
        except ValueError as exc:
            self.error.setText(str(exc))
            return
        super().accept()


def current_kind(source_kind: str, description: str = "") -> str:
    """The dialog's kind for a running source's ``SourceInfo.kind``."""
    if source_kind == "replay":
        return "replay"
    if source_kind == "serial":
        return "sim-device" if "simulated amplifier" in description.lower() else "port"
    return "simulator"
