"""Choosing where the signal comes from, on screen: simulator, amplifier, simulated
amplifier or a recording.

The dialog's answer is a typed source description (:mod:`drivers.sources`), the same
kind the command line builds, so the screen and the command line open sources through
one path (the case model) and say the same things when a source cannot be opened. The
simulated case (seed, stimulation, LSR) and the replay speed carry over from the present
source unless the dialog changes them.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from PySide6.QtGui import QKeySequence, QShortcut
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

from drivers.sources import (
    Amplifier,
    LslStream,
    Recording,
    Simulated,
    SimulatedAmplifier,
    SourceSpec,
)
from monitor.montage import default_labels
from monitor.source import SourceDescription
from simulation.emgsynth import SimConfig
from ui.dialogtheme import apply_dialog_theme

KINDS = ("simulator", "port", "sim-device", "replay", "lsl")
TITLES = {
    "simulator": "Simulator (built in)",
    "port": "Amplifier on a serial port",
    "sim-device": "Simulated amplifier (serial protocol)",
    "replay": "Recording (EDF, EDF+, BDF, BDF+)",
    "lsl": "Lab Streaming Layer stream",
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
    """Pick a source; :meth:`description` describes it. GUI thread only.

    Keys: Alt+1 to Alt+4 choose the kind of source, Enter opens it, Esc keeps the current one.
    """

    def __init__(
        self,
        current: SourceDescription | None = None,
        parent: QWidget | None = None,
        simulator: Simulated | None = None,
    ) -> None:
        super().__init__(parent)
        #: The simulated case the simulator choices start from: the present source's when
        #: it is simulated, else ``simulator`` (the case's last one, or the command line's).
        if isinstance(current, Simulated):
            simulator = current
        elif isinstance(current, SimulatedAmplifier):
            simulator = replace(simulator or Simulated(current.config), config=current.config)
        simulator = simulator or Simulated(SimConfig())
        self.sim_config = simulator.config
        self.speed = simulator.speed
        self.setWindowTitle("Signal source")
        apply_dialog_theme(self)
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
        self.error.setObjectName("error")
        self.error.setWordWrap(True)
        layout.addWidget(self.error)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Open | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.choose(current_kind(current))

    def _page(self, kind: str) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        if kind == "simulator":
            self.sim_channels = QSpinBox()
            self.sim_channels.setRange(1, 16)
            self.sim_channels.setValue(len(self.sim_config.labels))
            self.sim_lsr_gone = QDoubleSpinBox()
            self.sim_lsr_gone.setRange(0, 36000)
            self.sim_lsr_gone.setDecimals(0)
            self.sim_lsr_gone.setSpecialValueText("never")
            self.sim_lsr_gone.setSuffix(" s")
            self.sim_lsr_gone.setValue(self.sim_config.lsr_gone_at_s or 0)
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
            self.dev_channels.setValue(len(self.sim_config.labels))
            form.addRow("Channels", self.dev_channels)
        elif kind == "lsl":
            self.lsl_name = QLineEdit()
            self.lsl_name.setPlaceholderText("the stream's name, or type=EMG")
            form.addRow("Stream", self.lsl_name)
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
        dialog = QFileDialog(
            self,
            "Open a recording",
            str(Path("recordings").resolve()),
            "EDF/BDF recordings (*.edf *.EDF *.bdf *.BDF);;All files (*)",
        )
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        # Qt's own dialog, so that it takes the theme (a desktop's native one stays light).
        dialog.setOption(QFileDialog.Option.DontUseNativeDialog, True)
        apply_dialog_theme(dialog)
        if dialog.exec() and dialog.selectedFiles():
            self.replay_file.setText(dialog.selectedFiles()[0])
        dialog.deleteLater()

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

    def description(self) -> SourceSpec:
        """The chosen source; ``ValueError`` (a sentence) if incomplete."""
        kind = self.kind
        if kind == "simulator":
            gone = self.sim_lsr_gone.value()
            config = replace(self._simulated(self.sim_channels.value()), lsr_gone_at_s=gone or None)
            return Simulated(config, speed=self.speed)
        if kind == "port":
            text = self.port.currentText()
            k = self.port.findText(text)  # a listed port, or a path typed in
            port = (self.port.itemData(k) if k >= 0 else text).strip()
            if not port:
                raise ValueError("Choose the amplifier's serial port.")
            return Amplifier(port, int(self.baud.currentText()))
        if kind == "sim-device":
            return SimulatedAmplifier(self._simulated(self.dev_channels.value()))
        if kind == "lsl":
            name = self.lsl_name.text().strip()
            if not name:
                raise ValueError("Name the LSL stream (or type=EMG for any EMG stream).")
            return LslStream(name)
        path = self.replay_file.text().strip()
        if not path:
            raise ValueError("Choose the recording to replay.")
        return Recording(Path(path), speed=float(self.replay_speed.currentText()))

    def _simulated(self, n: int) -> SimConfig:
        """The present simulated case with ``n`` channels: its own labels when the count
        is the same, else the default montage on its side."""
        config = self.sim_config
        if n == len(config.labels):
            return config
        side = "right" if all(lab.startswith("R") for lab in config.labels) else "left"
        return replace(config, labels=default_labels(n, side))

    def accept(self) -> None:
        try:
            self.description()
        except ValueError as exc:
            self.error.setText(str(exc))
            return
        super().accept()


def current_kind(current: SourceDescription | None) -> str:
    """The dialog's kind for the present source's description."""
    if isinstance(current, Recording):
        return "replay"
    if isinstance(current, Amplifier):
        return "port"
    if isinstance(current, SimulatedAmplifier):
        return "sim-device"
    if isinstance(current, LslStream):
        return "lsl"
    return "simulator"
