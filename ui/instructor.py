"""The instructor's console: a second window that steers the scenario the trainee monitors.

Start/pause the case, jump to a phase, inject an event now (A-train, burst, spike, cautery,
a needle off or back, a disconnection), and follow the truth beside what the monitor and the
trainee do. The trainee's window shows nothing of it: put this one on the instructor's
screen. "End and debrief" writes the debrief page.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from simulation.scenario_engine import ScenarioEngine
from simulation.scenario_model import clock
from training.actions import CALL_NAMES, TraineeLog

log = logging.getLogger(__name__)

#: What can be injected, with the fields it takes.
INJECTABLE = {
    "a_train": ("channel", "duration", "freq", "amplitude"),
    "burst": ("channel", "amplitude"),
    "spike": ("channel", "amplitude"),
    "c_train": ("channel", "duration"),
    "cautery": ("duration",),
    "lead_off": ("channel",),
    "lead_on": ("channel",),
    "disconnect": ("duration",),
}


#: Truth items listed as they happen (spikes and bursts would drown the list).
SHOWN_TRUTH = ("a_train", "c_train", "cautery", "lead_off", "disconnect")


class InstructorConsole(QWidget):
    """Steers a :class:`~simulation.scenario_engine.ScenarioEngine`. GUI thread only (the
    engine's controls are thread-safe).

    ``debrief()`` (set by the application) writes the debrief and returns its path.
    """

    def __init__(
        self,
        engine: ScenarioEngine,
        trainee: TraineeLog | None = None,
        debrief: Callable[[], Path] | None = None,
        parent: QWidget | None = None,
        monitor: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.engine = engine
        self.monitor = monitor  # the trainee's window: the console closes with it
        self.trainee = trainee
        self.debrief = debrief
        sc = engine.scenario
        self.setWindowTitle(f"Instructor — {sc.title}")
        font = QFont()
        font.setPointSize(13)
        self.setFont(font)
        layout = QVBoxLayout(self)
        self.state = QLabel()
        bold = QFont(font)
        bold.setPointSize(16)
        bold.setBold(True)
        self.state.setFont(bold)
        layout.addWidget(self.state)

        row = QHBoxLayout()
        self.pause_button = QPushButton("Pause case")
        self.pause_button.clicked.connect(self.toggle_pause)
        row.addWidget(self.pause_button)
        self.phase_box = QComboBox()
        self.phase_box.addItems([p.name for p in sc.phases])
        row.addWidget(self.phase_box, 1)
        jump = QPushButton("Jump to phase")
        jump.clicked.connect(lambda: self.jump(self.phase_box.currentText()))
        row.addWidget(jump)
        layout.addLayout(row)

        layout.addWidget(self._inject_box(sc.labels))
        self.answer = QLabel()
        self.answer.setWordWrap(True)
        layout.addWidget(self.answer)

        layout.addWidget(QLabel("Timeline (scenario, trainee)"))
        self.timeline = QListWidget()
        layout.addWidget(self.timeline, 1)
        end = QPushButton("End and debrief")
        end.clicked.connect(self.end_and_debrief)
        layout.addWidget(end)
        self._notices_seen = 0
        self._items_seen = 0
        self._actions_seen = 0
        self._fields(self.kind.currentText())
        self.timer = QTimer(self)
        self.timer.setInterval(250)
        self.timer.timeout.connect(self.refresh)
        self.timer.start()
        self.refresh()

    def _inject_box(self, labels: tuple[str, ...]) -> QGroupBox:
        box = QGroupBox("Inject now")
        form = QFormLayout(box)
        self.kind = QComboBox()
        self.kind.addItems(list(INJECTABLE))
        self.channel = QComboBox()
        self.channel.addItems(list(labels))
        self.duration = self._spin(0.1, 120.0, 2.0, " s")
        self.freq = self._spin(20.0, 250.0, 100.0, " Hz")
        self.amplitude = self._spin(10.0, 5000.0, 150.0, " µV")
        for name, w in (
            ("Event", self.kind),
            ("Channel", self.channel),
            ("Duration", self.duration),
            ("Frequency", self.freq),
            ("Amplitude", self.amplitude),
        ):
            form.addRow(name, w)
        inject = QPushButton("Inject")
        inject.clicked.connect(self.inject_from_form)
        form.addRow("", inject)
        self.kind.currentTextChanged.connect(self._fields)
        return box

    @staticmethod
    def _spin(lo: float, hi: float, value: float, suffix: str) -> QDoubleSpinBox:
        box = QDoubleSpinBox()
        box.setRange(lo, hi)
        box.setValue(value)
        box.setSuffix(suffix)
        return box

    def _fields(self, kind: str) -> None:
        used = INJECTABLE.get(kind, ())
        self.channel.setEnabled("channel" in used)
        self.duration.setEnabled("duration" in used)
        self.freq.setEnabled("freq" in used)
        self.amplitude.setEnabled("amplitude" in used)

    # -- actions --------------------------------------------------------------------------
    def toggle_pause(self) -> None:
        if self.engine.paused:
            self.engine.resume()
        else:
            self.engine.pause()
        self.refresh()

    def jump(self, phase: str) -> None:
        try:
            self.engine.jump_to_phase(phase)
            self.answer.setText(f"Jumping to {phase}.")
        except ValueError as exc:
            self.answer.setText(str(exc))

    def inject_from_form(self) -> None:
        kind = self.kind.currentText()
        used = INJECTABLE[kind]
        self.inject(
            kind,
            self.channel.currentIndex() if "channel" in used else None,
            self.duration.value() if "duration" in used else None,
            self.freq.value() if "freq" in used else None,
            self.amplitude.value() if "amplitude" in used else None,
        )

    def inject(self, kind: str, channel=None, duration_s=None, freq_hz=None, amplitude_uv=None):
        """Inject an event now; a refusal is shown in words."""
        try:
            self.engine.inject(kind, channel, duration_s, freq_hz, amplitude_uv)
        except ValueError as exc:
            self.answer.setText(str(exc))
            return
        self.answer.setText(f"Injected {kind.replace('_', '-')}.")

    def end_and_debrief(self) -> None:
        if self.debrief is None:
            self.answer.setText("No debrief in this run (start it with --trainee).")
            return
        path = self.debrief()
        self.answer.setText(f"Debrief written: {path}")

    # -- timer ----------------------------------------------------------------------------
    def refresh(self) -> None:
        if self.monitor is not None and not self.monitor.isVisible():
            self.close()  # the case is over when the trainee's monitor closes
            return
        e = self.engine
        state = "FINISHED" if e.finished else "PAUSED" if e.paused else "RUNNING"
        self.state.setText(
            f"{state} — {e.phase or 'before the first phase'} — {clock(e.case_seconds)}"
        )
        if e.paused:
            self.pause_button.setText("Start case" if e.case_seconds < 0.05 else "Resume case")
        else:
            self.pause_button.setText("Pause case")
        self._notices_seen, notices = e.notices_since(self._notices_seen)
        for n in notices:
            self.timeline.addItem(f"{clock(n.case_s)}  {n.text}")
        truth = e.truth()
        new = [t for t in truth.items[self._items_seen :] if t.kind in SHOWN_TRUTH]
        self._items_seen = len(truth.items)
        for t in new:
            where = "" if t.channel is None else f" on {truth.labels[t.channel]}"
            self.timeline.addItem(f"{clock(t.case_s)}  {t.kind.replace('_', '-')}{where}")
        if self.trainee is not None:
            actions = self.trainee.actions()
            for a in actions[self._actions_seen :]:
                self.timeline.addItem(
                    f"{clock(truth.case_s(a.sample_index))}  trainee: {CALL_NAMES[a.kind]}"
                )
            self._actions_seen = len(actions)
        self.timeline.scrollToBottom()
