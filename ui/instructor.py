"""The instructor's console: a second window that steers the scenario the trainee monitors.

Start the case (it waits for Start: nothing of it happens before), pause and resume it,
jump to a phase, inject an event now (A-train, burst, spike, cautery, a needle off or back,
a disconnection), follow the truth beside what the monitor and the trainee do, and the
trainee's score so far. The trainee's window shows nothing of it but "waiting for the
instructor" before the Start: the console opens beside the monitor (on the other screen
if there are two, :func:`arrange`). "End and debrief" writes the debrief page.

The case clock is the one the trainee's monitor shows: time since the Start, at the
newest sample on screen (:class:`training.clock.CaseClock`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtCore import QRect, QSize, Qt, QTimer
from PySide6.QtGui import QColor, QFont, QGuiApplication, QPainter, QPixmap
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

from monitor.monitoring import FreeRunMonitoring
from presentation.names import in_words, kind_words
from simulation.scenario_engine import ScenarioEngine
from simulation.scenario_model import clock
from training.actions import CALL_NAMES, TraineeLog
from training.clock import CaseClock
from training.score import Limits, TraineeScore, score_trainee

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

#: What the trainee's monitor says until the instructor starts the case.
WAITING_TEXT = "Waiting for the instructor to start the case"

SCORE_EVERY = 4  # the live score every 4th refresh: once a second


class InstructorConsole(QWidget):
    """Steers a :class:`~simulation.scenario_engine.ScenarioEngine`. GUI thread only (the
    engine's controls are thread-safe).

    ``debrief()`` (set by the application) writes the debrief and returns its path.
    ``monitoring``: the case's free-run monitoring, for the live score's alarms.
    ``case_clock``: the trainee's clock (default: since the start, at the newest sample
    rendered). ``on_start()``: what Start does besides starting the engine (the command
    starts the acquisition there: the monitor shows no signal before).
    """

    def __init__(
        self,
        engine: ScenarioEngine,
        trainee: TraineeLog | None = None,
        debrief: Callable[[], Path] | None = None,
        parent: QWidget | None = None,
        monitor: QWidget | None = None,
        *,
        monitoring: FreeRunMonitoring | None = None,
        case_clock: CaseClock | None = None,
        on_start: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(parent)
        self.engine = engine
        self.monitor = monitor  # the trainee's window: the console closes with it
        self.trainee = trainee
        self.debrief = debrief
        self.monitoring = monitoring
        self.case_clock = case_clock or CaseClock(engine)
        self.on_start = on_start
        self.score: TraineeScore | None = None
        sc = engine.scenario
        self.limits = Limits(**sc.training_limits)
        self.setWindowTitle(f"Instructor — {sc.title}")
        self._build(sc)
        self._notices_seen = 0
        self._items_seen = 0
        self._actions_seen = 0
        self._ticks = 0
        self.waiting_notice = WaitingNotice(monitor) if monitor is not None else None
        self._fields()
        self.timer = QTimer(self)
        self.timer.setInterval(250)
        self.timer.timeout.connect(self.refresh)
        self.timer.start()
        self.refresh()

    def _build(self, sc) -> None:
        """The header (state, clock, scenario position), the controls, the inject form,
        the live score, the timeline."""
        font = QFont()
        font.setPointSize(13)
        self.setFont(font)
        layout = QVBoxLayout(self)
        bold = QFont(font)
        bold.setPointSize(16)
        bold.setBold(True)
        top = QHBoxLayout()
        self.state = QLabel()
        self.state.setFont(bold)
        top.addWidget(self.state, 1)
        self.clock = QLabel()
        big = QFont(bold)
        big.setPointSize(22)
        self.clock.setFont(big)
        self.clock.setToolTip("The case clock: since Start, as on the trainee's monitor")
        top.addWidget(self.clock)
        layout.addLayout(top)
        self.position = QLabel()  # where the scenario is (its own time, the phase)
        self.position.setWordWrap(True)
        layout.addWidget(self.position)

        row = QHBoxLayout()
        self.pause_button = QPushButton("Start case")
        self.pause_button.setFont(bold)
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

        layout.addWidget(self._score_box())

        layout.addWidget(QLabel("Timeline (case clock): the scenario, the trainee"))
        self.timeline = QListWidget()
        layout.addWidget(self.timeline, 1)
        end = QPushButton("End and debrief")
        end.clicked.connect(self.end_and_debrief)
        layout.addWidget(end)

    def _score_box(self) -> QGroupBox:
        """The trainee's score so far (shown when a trainee is scored)."""
        self.score_box = QGroupBox("Trainee's score so far")
        score_layout = QVBoxLayout(self.score_box)
        self.score_label = QLabel()
        self.score_label.setTextFormat(Qt.TextFormat.PlainText)
        score_layout.addWidget(self.score_label)
        self.score_box.setVisible(self.trainee is not None)
        return self.score_box

    def _inject_box(self, labels: tuple[str, ...]) -> QGroupBox:
        box = QGroupBox("Inject now")
        form = QFormLayout(box)
        self.kind = QComboBox()
        for kind in INJECTABLE:
            self.kind.addItem(kind_words(kind), kind)  # shown in words, kept by code name
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
        self.kind.currentIndexChanged.connect(self._fields)
        return box

    @staticmethod
    def _spin(lo: float, hi: float, value: float, suffix: str) -> QDoubleSpinBox:
        box = QDoubleSpinBox()
        box.setRange(lo, hi)
        box.setValue(value)
        box.setSuffix(suffix)
        return box

    def select_kind(self, kind: str) -> None:
        """Choose the event to inject by its code name (``a_train``)."""
        self.kind.setCurrentIndex(self.kind.findData(kind))

    def _fields(self, *_) -> None:
        used = INJECTABLE.get(self.kind.currentData(), ())
        self.channel.setEnabled("channel" in used)
        self.duration.setEnabled("duration" in used)
        self.freq.setEnabled("freq" in used)
        self.amplitude.setEnabled("amplitude" in used)

    # -- actions --------------------------------------------------------------------------
    def start(self) -> None:
        """Start the case (the Start button): from now on it runs, the clocks count."""
        if not self.engine.waiting_for_start:
            return
        self.engine.start()
        if self.on_start is not None:
            self.on_start()
        self.answer.setText("Case started.")
        self.refresh()

    def toggle_pause(self) -> None:
        if self.engine.waiting_for_start:
            self.start()
            return
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
        kind = self.kind.currentData()
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
        self.answer.setText(f"Injected {kind_words(kind)}.")

    def end_and_debrief(self) -> None:
        if self.debrief is None:
            self.answer.setText("No debrief in this run (start it with --trainee).")
            return
        path = self.debrief()
        self.answer.setText(f"Debrief written: {path}")

    # -- timer ----------------------------------------------------------------------------
    def state_text(self) -> str:
        e = self.engine
        if e.finished:
            return "FINISHED"
        if e.waiting_for_start:
            return "WAITING FOR START"
        return "PAUSED" if e.paused else "RUNNING"

    def refresh(self) -> None:
        if self.monitor is not None and not self.monitor.isVisible():
            self.close()  # the case is over when the trainee's monitor closes
            return
        e = self.engine
        waiting = e.waiting_for_start
        self.state.setText(self.state_text())
        self.clock.setText(self.case_clock.text(tenths=True))
        if waiting:
            self.position.setText("Not started; the trainee's monitor says it waits for you.")
            self.pause_button.setText("Start case")
        else:
            phase = e.phase or "before the first phase"
            held = " (held)" if e.paused and not e.finished else ""
            self.position.setText(f"Scenario at {clock(e.case_seconds)}{held} — {phase}")
            self.pause_button.setText("Resume case" if e.paused else "Pause case")
        if self.waiting_notice is not None:
            self.waiting_notice.set_waiting(waiting)
        truth = e.truth()
        self._notices_seen, notices = e.notices_since(self._notices_seen)
        for n in notices:
            self.timeline.addItem(f"{self._at(n.sample_index)}  {in_words(n.text)}")
        new = [t for t in truth.items[self._items_seen :] if t.kind in SHOWN_TRUTH]
        self._items_seen = len(truth.items)
        for t in new:
            where = "" if t.channel is None else f" on {truth.labels[t.channel]}"
            self.timeline.addItem(f"{self._at(t.onset)}  {kind_words(t.kind)}{where}")
        if self.trainee is not None:
            actions = self.trainee.actions()
            for a in actions[self._actions_seen :]:
                early = " (before the start: not scored)" if a.before_start else ""
                self.timeline.addItem(
                    f"{self._at(a.sample_index)}  trainee: {CALL_NAMES[a.kind]}{early}"
                )
            self._actions_seen = len(actions)
            if self._ticks % SCORE_EVERY == 0 or notices or new:
                self.update_score(truth)
        self._ticks += 1
        self.timeline.scrollToBottom()

    def _at(self, index: int) -> str:
        return self.case_clock.text(index)

    def update_score(self, truth=None) -> None:
        """The trainee's score at this moment, as the debrief would give it (items still
        within their set time are open, not missed)."""
        if self.trainee is None:
            return
        truth = truth or self.engine.truth()
        history = list(self.monitoring.alarms.history) if self.monitoring is not None else []
        self.score = score_trainee(truth, history, self.trainee.actions(), self.limits, live=True)
        if truth.started_at is None:
            self.score_label.setText("Nothing scored before the start.")
            return
        self.score_label.setText("\n".join(self.score.lines()))

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt override
        self.timer.stop()
        if self.waiting_notice is not None:
            self.waiting_notice.set_waiting(False)
        super().closeEvent(event)


class WaitingNotice:
    """ "Waiting for the instructor to start the case" on the trainee's monitor until the
    Start. A monitor that says it itself (a ``waiting_text`` callable attribute, as its
    stale-signal line) is told so; otherwise a label over its traces says it."""

    def __init__(self, monitor: QWidget) -> None:
        self.monitor = monitor
        self.waiting = False
        self.label: QLabel | None = None

    def set_waiting(self, waiting: bool) -> None:
        if waiting == self.waiting and (self.label is None or not waiting):
            return
        self.waiting = waiting
        if hasattr(self.monitor, "waiting_text"):
            self.monitor.waiting_text = (lambda: WAITING_TEXT) if waiting else None
            return
        if not waiting:
            if self.label is not None:
                try:
                    self.label.hide()
                except RuntimeError:  # gone with the monitor's window
                    self.label = None
            return
        area = getattr(self.monitor, "traces", None) or self.monitor
        if self.label is None:
            self.label = QLabel(WAITING_TEXT, area)
            font = QFont()
            font.setPointSize(26)
            font.setBold(True)
            self.label.setFont(font)
            self.label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            self.label.setStyleSheet(
                "background: rgba(0, 0, 0, 190); color: #80d8ff; padding: 22px; "
                "border: 3px solid #80d8ff;"
            )
        self.label.adjustSize()
        self.label.move(
            (area.width() - self.label.width()) // 2, (area.height() - self.label.height()) // 2
        )
        self.label.show()
        self.label.raise_()

    @property
    def shown(self) -> bool:
        """The monitor says it is waiting (its own line, or the label)."""
        if hasattr(self.monitor, "waiting_text"):
            return self.monitor.waiting_text is not None
        return self.label is not None and self.label.isVisible()


# -- where the console goes -------------------------------------------------------------------
CONSOLE_SIZE = QSize(520, 860)  # preferred
CONSOLE_MIN_WIDTH = 440
MONITOR_MIN_WIDTH = 1024  # narrower, the traces get too short for an A-train to read
GAP = 8  # room for the window frames between the two
TITLE_BAR = 32  # a window manager's title bar above the client area
NOMINAL_SCREEN = QRect(0, 0, 1920, 1080)  # offscreen (screenshots): a common instructor screen


def arrange(
    screens: Sequence[QRect], monitor: QRect, console: QSize = CONSOLE_SIZE
) -> tuple[QRect, QRect]:
    """Where the monitor and the console go: ``(monitor, console)`` geometries.

    ``screens`` are the screens' available geometries, ``monitor`` the monitor window's
    present geometry. With two screens or more the monitor stays where it is and the
    console goes on another screen. On one screen the monitor keeps the left part (at
    least :data:`MONITOR_MIN_WIDTH` wide) and the console goes right of it; on a screen
    too narrow for both, the console covers the monitor's right edge (train time and LSR),
    never its traces.
    """
    if not screens:
        screens = [NOMINAL_SCREEN]
    centre = monitor.center()
    home = next((s for s in screens if s.contains(centre)), screens[0])
    others = [s for s in screens if s != home]
    if others:
        other = others[0]
        w = min(console.width(), other.width())
        h = min(console.height(), other.height() - TITLE_BAR)
        placed = QRect(other.left(), other.top() + TITLE_BAR, w, h)
        return _fit(monitor, home), placed
    h_avail = home.height() - TITLE_BAR
    cw = max(CONSOLE_MIN_WIDTH, min(console.width(), home.width() - MONITOR_MIN_WIDTH - GAP))
    mw = min(monitor.width(), home.width() - cw - GAP)
    mw = max(mw, min(MONITOR_MIN_WIDTH, home.width()))
    mh = min(monitor.height(), h_avail)
    mon = QRect(home.left(), home.top() + TITLE_BAR, mw, mh)
    cx = max(mon.right() + 1 + GAP, home.left())
    cw_fit = home.right() + 1 - cx
    if cw_fit < CONSOLE_MIN_WIDTH:  # too narrow for both: over the monitor's right edge
        cw_fit = min(cw, home.width())
        cx = home.right() + 1 - cw_fit
    con = QRect(cx, home.top() + TITLE_BAR, cw_fit, min(console.height(), h_avail))
    return mon, con


def _fit(rect: QRect, screen: QRect) -> QRect:
    """``rect`` moved (and shrunk if need be) into ``screen``."""
    w, h = min(rect.width(), screen.width()), min(rect.height(), screen.height() - TITLE_BAR)
    x = min(max(rect.left(), screen.left()), screen.right() + 1 - w)
    y = min(max(rect.top(), screen.top() + TITLE_BAR), screen.bottom() + 1 - h)
    return QRect(x, y, w, h)


def screen_geometries() -> list[QRect]:
    """The screens' available geometries; offscreen, one nominal 1920x1080 screen."""
    app = QGuiApplication.instance()
    if app is None or QGuiApplication.platformName() == "offscreen":
        return [NOMINAL_SCREEN]
    return [s.availableGeometry() for s in QGuiApplication.screens()] or [NOMINAL_SCREEN]


def place_beside(monitor: QWidget, console: QWidget) -> tuple[QRect, QRect]:
    """Put the console beside the monitor (:func:`arrange` on this computer's screens)."""
    mon, con = arrange(screen_geometries(), monitor.geometry(), CONSOLE_SIZE)
    monitor.setGeometry(mon)
    console.setGeometry(con)
    return mon, con


def grab_screen(windows: Sequence[QWidget], path: Path | str) -> bool:
    """Save the windows as they are placed, in one picture (their bounding box): the
    monitor and the console side by side, as the instructor's screen shows them."""
    shown = [w for w in windows if w.isVisible()]
    if not shown:
        return False
    box = shown[0].geometry()
    for w in shown[1:]:
        box = box.united(w.geometry())
    picture = QPixmap(box.size())
    picture.fill(QColor("#303030"))
    painter = QPainter(picture)
    for w in shown:
        painter.drawPixmap(w.geometry().topLeft() - box.topLeft(), w.grab())
    painter.end()
    return picture.save(str(path), "PNG")


def screenshot_later(after_s: float, windows: Sequence[QWidget], path: Path | str) -> None:
    """After ``after_s`` seconds, :func:`grab_screen` the windows (each refreshed first)
    and end the application's loop (status 1 if the picture could not be written)."""
    from PySide6.QtWidgets import QApplication

    def grab() -> None:
        for w in windows:
            refresh = getattr(w, "refresh", None)
            if callable(refresh):
                refresh()
        ok = grab_screen(windows, path)
        if not ok:
            log.error("could not write screenshot to %s", path)
        app = QApplication.instance()
        if app is not None:
            app.exit(0 if ok else 1)

    QTimer.singleShot(int(after_s * 1000), grab)


def open_console(
    window: QWidget,
    engine: ScenarioEngine,
    monitoring: FreeRunMonitoring,
    now_index: Callable[[], int],
    trainee: TraineeLog | None = None,
    debrief: Callable[[], Path] | None = None,
    on_start: Callable[[], None] | None = None,
) -> InstructorConsole:
    """The console for the trainee's monitor ``window``, beside it, shown; the clock is
    the monitor's (``now_index``: the newest sample it shows). A top-level window of its
    own: nothing of it is drawn in the trainee's."""
    console = InstructorConsole(
        engine,
        trainee,
        debrief,
        monitor=window,
        monitoring=monitoring,
        case_clock=CaseClock(engine, now_index),
        on_start=on_start,
    )
    # The monitor's status bar shows this clock where it reads ``case_clock`` (through the
    # simulated amplifier its signal began before the Start; in-process they are the same).
    window.case_clock = console.case_clock
    place_beside(window, console)
    console.show()
    return console
