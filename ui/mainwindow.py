"""The monitor's main window: alarm banner, live traces with their events, train time per
channel, the LSR panel, the event log, a line for session problems and a status bar.

Layout (fits 1366x768 and up without scrolling)::

    ┌ case: Case MVD-0417 · LEFT side · MVD for hemifacial spasm (also in the title) ───────┐
    ├ alarm banner: !! text in words ···· +n more · [Acknowledge (A)] [Audio pause (P)] ─────┤
    ├ problem line (session problems, only while there is one) ─────────────────────────────┤
    ├ channels not on screen, in words (only when the montage does not fit the window) ─────┤
    │ label │ trace with event bands and class names │ train time bar │ LSR sweeps │ trend  │
    │  ...  │                                        │      ...       │    ...     │  ...   │
    ├ replay only: [Play] [◀ Event] [Event ▶] speed  0:12 / 0:40  timeline of the file ──────┤
    ├ event log: time, channel, class, µV, duration, Hz; alarm, LSR ──┬ LSR status (big)    │
    │                                                                  │ [Set baseline (B)] │
    └ status: state, source, rate, signal time, time of day, gaps, filter, range, recording,
      sound (2 lines if need be)

The LSR column and status box (:mod:`ui.lsrpanel`) appear with the first stimulus; until
then the screen is the free-run screen. With many channels the rows pack (``ui.traces``);
16 channels fit 1366x768.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, cast

from PySide6.QtCore import QPoint, QRect, Qt, QTimer
from PySide6.QtGui import QFont, QFontMetrics, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QSizePolicy,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from monitor.casemodel import CaseModel
from monitor.envelope import Envelope
from monitor.problems import Problem, Severity
from monitor.recorder import RecorderError
from monitor.session import SessionStatus, State
from monitor.source import Seekable
from presentation import theme
from presentation.feed import MonitoringFeed, hhmmss
from presentation.lsrfeed import LsrFeed, baseline_note, call_channel, call_colour
from ui.actionbar import ActionBar
from ui.alarmbanner import AlarmBanner
from ui.bridge import SessionBridge
from ui.dialogtheme import ask_text, message_box
from ui.eventlog import EventLog
from ui.freeze import FreezeView
from ui.lsrpanel import LsrPanel
from ui.reviewbar import ReviewBar, is_reviewable
from ui.statusline import StatusLine
from ui.stimstatus import StimStatusStrip
from ui.traces import TraceView
from ui.traintimebars import TrainTimePanel

if TYPE_CHECKING:
    from drivers.soundcard import AudioOutput
    from monitor.casesetup import CaseSetup
    from monitor.recorder import Recorder
    from monitor.source import SourceDescription

FRAME_MS = 33  # ~30 frames per second
INFO_SHOWN_S = 8.0
STALE_S = 1.0  # a live source with no new samples for this long is shown as not live
ACK_KEYS = ("A", "F2")
PAUSE_KEYS = ("P", "F3")
BASELINE_KEYS = ("B",)
LSR_COLUMN_SHARE = 0.31  # of the window width, within the limits below
LSR_COLUMN_PX = (400, 560)
#: The not-live label's type sizes, largest first (stepped down to fit the plots' width).
STALE_PT = (theme.BANNER_PT + 6, theme.BANNER_PT + 4, theme.BANNER_PT + 2, theme.BANNER_PT)
STALE_MIN_PT = theme.CAPTION_PT + 2  # wrapped in a narrow window, never smaller than this
#: The not-live label: yellow on dark, a frame; less padding in a narrow window.
STALE_STYLE = (
    "background: rgba(0, 0, 0, 170); color: #ffd600; border: 3px solid #ffd600; padding: {pad}px;"
)


def case_identity(case_id: str, setup: CaseSetup | None) -> str:
    """The case in a few words for the title and the header: ``Case MVD-0417 · LEFT side
    · MVD for hemifacial spasm``; what is not set up yet is said, never left blank."""
    if setup is not None:
        return f"Case {setup.case_id} · {setup.side.upper()} side · {setup.procedure.title}"
    if case_id:
        return f"Case {case_id} · side and procedure not set up (F9)"
    return "No case set up (F9)"


class MainWindow(QMainWindow):
    """A view of a case (:class:`~monitor.casemodel.CaseModel`) on one of its sources:
    the traces, free-run monitoring and evoked responses (LSR) of that source, the case's
    notes, recording and alarms; the operator's actions go to the model.

    Owns nothing of the core but a display envelope subscriber. A source switch moves the
    model to a new pipeline and the application opens a new window on it; this one then
    closes without touching the case. All methods run on the GUI thread; everything the
    core produces is pulled by the frame timer.
    """

    def __init__(
        self,
        model: CaseModel,
        window_s: float = 10.0,
        audio: AudioOutput | None = None,
    ) -> None:
        super().__init__()
        self.model = model
        self.audio = audio
        #: ``switch_source(description)``, set by the application: open the described
        #: source and move the case and the screen to it (None: not offered).
        self.switch_source: Callable[[SourceDescription], object] | None = None
        #: The application's case workflow (``ui.caseflow.CaseFlow``; None: not offered).
        self.case_flow = None
        #: The simulated case the source dialog offers (``drivers.sources.Simulated``):
        #: the case's last, or the command line's; set by the application.
        self.simulator = None
        self.stim_panel = None  # ui.stimpanel.StimulatorPanel, made on first use (T)
        self.trainee = None  # training.actions.TraineeLog in trainee mode
        #: The training case's clock (``training.clock.CaseClock``), set by the instructor's
        #: console: the status bar then shows it, so trainee and instructor read one time.
        self.case_clock = None
        #: ``waiting_text()`` -> what the traces say instead of the signal's state (the
        #: console's "waiting for the instructor"), or None/"" for nothing; set from outside.
        self.waiting_text: Callable[[], str | None] | None = None
        # The source this window draws; the model may move on to another (a switch).
        self.pipeline = model.pipeline
        self._source_no = model.source_no
        self._notes_seen = 0
        self.session = session = self.pipeline.session
        self.monitoring = self.pipeline.monitoring
        self.alarms = self.monitoring.alarms
        self.feed = MonitoringFeed(self.monitoring)
        info = session.source.info
        self.evoked = evoked = self.pipeline.evoked
        self.lsr_feed = LsrFeed(evoked)
        self._identity = ""  # the case's words in the title and header, as last shown
        self.envelope = Envelope(info.rate, info.n_channels, window_s=window_s, columns=1600)
        session.subscribe("Display", self.envelope, essential=True)
        self.bridge = SessionBridge(session, self)
        self._build(info.labels, info.rate)
        self._build_status_bar()
        self._update_identity()

        self._banner_until: float | None = None
        self._banner_severity: Severity | None = None
        #: When the operator stopped the recording (None: it runs, or none was made).
        self._rec_stopped_at: str | None = None
        #: The open "Stop recording?" question (non-blocking), if any.
        self.stop_question: QMessageBox | None = None
        self.bridge.problem.connect(self.show_problem)
        for key, step in (("+", 1), ("=", 1), ("-", -1)):
            QShortcut(QKeySequence(key), self, activated=lambda s=step: self.traces.step_range(s))
        for key in ACK_KEYS:
            QShortcut(QKeySequence(key), self, activated=self.acknowledge)
        for key in PAUSE_KEYS:
            QShortcut(QKeySequence(key), self, activated=self.toggle_audio_pause)
        QShortcut(QKeySequence("R"), self, activated=self.record_key)
        QShortcut(QKeySequence("N"), self, activated=self.add_note)
        for key in BASELINE_KEYS:
            QShortcut(QKeySequence(key), self, activated=self.set_lsr_baseline)

        self.timer = QTimer(self)
        self.timer.setInterval(FRAME_MS)
        self.timer.timeout.connect(self.refresh)
        self.timer.start()
        self.refresh()

    # -- the case (the model's) ------------------------------------------------------------
    @property
    def recorder(self) -> Recorder | None:
        return self.model.recorder if self.is_current else None

    @property
    def is_current(self) -> bool:
        """This window shows the case's present source (not one it switched away from)."""
        return self.model.pipeline is self.pipeline

    @property
    def case(self) -> CaseSetup | None:
        """The case set up on screen, if any."""
        return self.model.setup

    @property
    def case_id(self) -> str:
        return self.model.case_id

    @property
    def record_folder(self) -> str:
        return str(self.model.record_folder)

    def _pull_notes(self) -> None:
        """The case's new notes of this window's source into the event log."""
        self._notes_seen, notes = self.model.notes_since(self._notes_seen)
        for n in notes:
            if n.source_no == self._source_no:
                self.event_log.add_note(n.seconds, n.channel, n.text, theme.FOREGROUND)

    def _build(self, labels: tuple[str, ...], rate: float) -> None:
        central = QWidget()
        central.setObjectName("central")
        central.setStyleSheet(
            f"#central {{ background:{theme.BACKGROUND}; }}QLabel {{ color:{theme.FOREGROUND}; }}"
        )
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)

        self._build_case_header(layout)
        self.alarm_banner = AlarmBanner()
        self.alarm_banner.acknowledge_clicked.connect(self.acknowledge)
        self.alarm_banner.audio_pause_clicked.connect(self.toggle_audio_pause)
        layout.addWidget(self.alarm_banner)

        # Session problems (source lost, gaps, replay finished): a smaller line.
        self.banner = QLabel()
        self.banner.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.banner.setWordWrap(True)
        font = QFont()
        font.setPointSize(theme.PROBLEM_PT)
        font.setBold(True)
        self.banner.setFont(font)
        self.banner.hide()
        layout.addWidget(self.banner)
        self._build_fit_notice(layout, font)

        middle = QHBoxLayout()
        middle.setContentsMargins(4, 4, 0, 0)
        middle.setSpacing(0)
        self.traces = TraceView(labels, rate, self.envelope)
        self.traces.history = self.session.filtered.latest if self.session.filtered else None
        self.traces.watch(self.monitoring.detector, self.session)  # threshold, stimuli
        self._build_stale_label()
        self._last_end = -1
        self._last_end_change = time.monotonic()
        middle.addWidget(self.traces, 1)
        self.traintime = TrainTimePanel(labels, self.monitoring.traintime.thresholds_s)
        self.traintime.reset_requested.connect(self.reset_train_time)
        middle.addWidget(self.traintime)
        layout.addLayout(middle, 1)
        self._build_actions(layout)
        self.review: ReviewBar | None = None
        if is_reviewable(self.session.source):
            self.review = ReviewBar(cast(Seekable, self.session.source), self)
            layout.addWidget(self.review)
            # The LSR's own texts ("gone since ...") in the recording's time too.
            self.evoked.format_time = lambda index: hhmmss(self.seconds_of(index))
        self._build_lsr_and_log(middle, layout, labels)
        self.setCentralWidget(central)

    def _build_stale_label(self) -> None:
        """Over the traces when they are not live: a frozen trace must never look like a
        quiet nerve."""
        self.stale_label = QLabel(self.traces)
        stale_font = QFont()
        stale_font.setPointSize(STALE_PT[0])
        stale_font.setBold(True)
        self.stale_label.setFont(stale_font)
        self.stale_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.stale_label.setStyleSheet(STALE_STYLE.format(pad=18))
        self.stale_label.hide()
        self._stale_placed: tuple[str, QRect] | None = None  # its text and area, as placed

    def _build_case_header(self, layout: QVBoxLayout) -> None:
        """One line above the alarms naming the case: id, side, procedure (a wrong-side
        or wrong-case screen must be seen from across the room)."""
        self.case_header = QLabel()
        self.case_header.setObjectName("caseHeader")
        font = QFont()
        font.setPointSize(theme.PROBLEM_PT)
        font.setBold(True)
        self.case_header.setFont(font)
        self.case_header.setTextFormat(Qt.TextFormat.PlainText)
        self.case_header.setStyleSheet(
            f"#caseHeader {{ background:{theme.PANEL}; color:{theme.FOREGROUND}; "
            f"border-bottom:1px solid {theme.GRID}; padding:0px 10px; }}"
        )
        # Its width is set to its words (_fit_header): a long procedure is cut at the
        # right, never widens the window (1366 px).
        self.case_header.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        # The stimulator's state on the same line: always on screen, no row of its own
        # (every row of height goes to the traces at 1366x768 with 16 channels).
        self.stim_status = StimStatusStrip(self.session)
        height = max(self.case_header.fontMetrics().height(), self.stim_status.sizeHint().height())
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(0)
        for widget in (self.case_header, self.stim_status):
            widget.setFixedHeight(height + 2)
        row.addWidget(self.case_header)
        row.addWidget(self.stim_status, 1)
        layout.addLayout(row)

    def _update_identity(self) -> None:
        """The case's id, side and procedure in the title and the header (set up with F9
        at any time: followed per frame, set only when it changed)."""
        words = case_identity(self.model.case_id, self.case)
        if words == self._identity:
            return
        self._identity = words
        self.case_header.setText(words)
        self._fit_header()
        self.case_header.setToolTip(self.case.describe() if self.case is not None else "")
        name = self.session.source.info.name
        self.setWindowTitle(f"Facial Nerve Monitor — {words} — {name}")

    def _build_fit_notice(self, layout: QVBoxLayout, font: QFont) -> None:
        """Channels that do not fit the window (a montage too large for the screen): said
        in words over the foot of the traces for as long as it lasts, never a silently
        missing channel. The rows keep a readable height; the ones that do not fit are
        named. Over the traces, not a row of the layout: a row of its own would take the
        height of the channel it names (and keep itself shown)."""
        self.fit_notice = QLabel(layout.parentWidget())
        self.fit_notice.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.fit_notice.setWordWrap(True)
        self.fit_notice.setFont(font)
        self.fit_notice.setStyleSheet(theme.SEVERITY_STYLE["warning"] + "padding:2px;")
        self.fit_notice.hide()

    def _build_actions(self, layout: QVBoxLayout) -> None:
        """Freeze and measure, mark and compare, note, record: buttons with their keys."""
        history = self.session.filtered.latest if self.session.filtered else None
        self.freeze = FreezeView(self.traces, history or (lambda n: (0, [])), self.seconds_of)
        actions = {
            "freeze": ("Freeze (F)", self.toggle_freeze, True),
            "zoom": ("Zoom (Z)", self.freeze_zoom, False),
            "whole": ("Whole (X)", self.freeze_whole, False),
            "mark": ("Mark (M)", self.mark_moment, False),
            "compare": ("Compare (C)", self.toggle_compare, True),
            "note": ("Note (N)", self.add_note, False),
            "record": ("Record (R)", self.record_key, False),
            "stimulator": ("Stim (T)", self.open_stimulator, False),
            "source": ("Source (S)", self.choose_source, False),
            "case": ("Case (F9)", self.begin_case, False),
            "electrodes": ("Electrodes (E)", self.check_electrodes, False),
        }
        self.actions = ActionBar(actions, self)
        layout.addWidget(self.actions)
        for key, slot in (
            ("F", self.toggle_freeze),
            ("Z", self.freeze_zoom),
            ("X", self.freeze_whole),
            ("M", self.mark_moment),
            ("C", self.toggle_compare),
            ("S", self.choose_source),
            ("T", self.open_stimulator),
            ("F9", self.begin_case),
            ("E", self.check_electrodes),
        ):
            QShortcut(QKeySequence(key), self, activated=slot)
        self._update_actions()

    def open_stimulator(self) -> None:
        """The stimulator's settings and the LSR workflow checklist (T); non-modal."""
        from ui.stimpanel import StimulatorPanel

        if self.stim_panel is None:
            self.stim_panel = StimulatorPanel(self.session.source, self.evoked, self)
            self.stim_panel.baseline_requested.connect(self.set_lsr_baseline)
        self.stim_panel.show()
        self.stim_panel.raise_()

    def enable_training(self, trainee) -> None:
        """Trainee mode: F5 calls an A-train, F6 calls the LSR gone (``training.actions``);
        each call is kept with the sample index on screen and shown in the log."""
        from training.actions import A_TRAIN_CALL, LSR_CALL

        self.trainee = trainee
        for name, key, text, kind in (
            ("call_a_train", "F5", "A-train! (F5)", A_TRAIN_CALL),
            ("call_lsr", "F6", "LSR gone! (F6)", LSR_CALL),
        ):
            self.actions.add(name, text, lambda k=kind: self.trainee_call(k))
            QShortcut(QKeySequence(key), self, activated=lambda k=kind: self.trainee_call(k))

    def trainee_call(self, kind: str) -> None:
        from training.actions import CALL_NAMES

        index = self._now_index()
        self.trainee.call(kind, index)
        self.model.note(f"Trainee: {CALL_NAMES[kind]}", index=index)
        self._pull_notes()

    def begin_case(self) -> None:
        """Set up a case (F9): case, montage, settings, electrode check, then monitoring."""
        if self.case_flow is None:
            self.show_problem(
                Problem(Severity.INFO, "A case can be set up only from the monitor's window.")
            )
            return
        self.case_flow.begin()

    def check_electrodes(self) -> None:
        """The electrode check, on demand (E)."""
        if self.case_flow is not None:
            self.case_flow.check_electrodes()
            return
        from ui.electrodecheck import ElectrodeCheckDialog

        info = self.session.source.info
        ElectrodeCheckDialog(self.session.source, info.labels, self, offer_start=False).exec()

    def choose_source(self) -> None:
        """Switch to another signal source (S): simulator, amplifier, simulated amplifier
        or a recording. The present one keeps running until the new one has opened."""
        from ui.sourcedialog import SourceDialog

        if self.switch_source is None:
            self.show_problem(
                Problem(Severity.INFO, "The source can be changed only from the monitor's window.")
            )
            return
        dialog = SourceDialog(self.model.description, self, simulator=self.simulator)
        if dialog.exec():
            self.switch_source(dialog.description())

    def seconds_of(self, index: int) -> float:
        """Recording time of a sample index on this window's source (a replay that
        jumped back maps it)."""
        source = self.session.source
        if source.info.capabilities.seekable:
            return cast(Seekable, source).recording_index(index) / source.info.rate
        return index / source.info.rate

    def toggle_freeze(self) -> None:
        """Hold the traces still (F); acquisition, detection, alarms and recording go on."""
        if self.freeze.frozen is None:
            if not self.freeze.freeze():
                self.show_problem(Problem(Severity.INFO, "Nothing to freeze yet."))
            else:  # the event bands on the frozen samples' time, not the last frame's
                end = self.freeze.frozen.end
                self.traces.markers.update(self.monitoring.ongoing(), end, self.traces.window_s)
        else:
            self.freeze.resume()
        self._update_actions()

    def freeze_zoom(self) -> None:
        if self.freeze.frozen is not None:
            self.freeze.zoom_to_cursors()

    def freeze_whole(self) -> None:
        if self.freeze.frozen is not None:
            self.freeze.zoom_out()

    def mark_moment(self) -> None:
        """Keep this moment (M) to compare with later (C)."""
        snap = self.freeze.mark_now()
        if snap is not None:
            self.model.note("Moment marked for comparison", index=snap.end)
            self._pull_notes()
        self._update_actions()

    def toggle_compare(self) -> None:
        if self.freeze.mark is None:
            self.show_problem(
                Problem(Severity.INFO, "Mark a moment first (M), then compare with it (C).")
            )
        self.freeze.toggle_compare()
        self._update_actions()

    def _update_actions(self) -> None:
        frozen = self.freeze.frozen is not None
        b = self.actions.buttons
        b["freeze"].setChecked(frozen)
        b["freeze"].setText("Live (F)" if frozen else "Freeze (F)")
        b["zoom"].setEnabled(frozen)
        b["whole"].setEnabled(frozen)
        b["compare"].setEnabled(self.freeze.mark is not None)
        b["compare"].setChecked(self.freeze.comparing)
        recording = self.recorder is not None and not self.recorder.failed
        b["record"].setText("Stop recording (R)" if recording else "Record (R)")
        mark = self.freeze.mark
        if frozen:
            self.actions.caption.setText(
                self.freeze.caption() + "   drag the cursors; wheel zooms in time"
            )
        elif mark is not None:
            self.actions.caption.setText(f"marked: {hhmmss(self.seconds_of(mark.end))}")
        else:
            self.actions.caption.setText("")

    def _build_lsr_and_log(
        self, middle: QHBoxLayout, layout: QVBoxLayout, labels: tuple[str, ...]
    ) -> None:
        """The LSR column right of the train time, the event log with the LSR status box
        beside it; the LSR parts stay hidden until the first stimulus (ui.lsrpanel)."""
        self.lsr = LsrPanel(self.evoked, labels, self)
        self.lsr.status.baseline_clicked.connect(self.set_lsr_baseline)
        middle.addWidget(self.lsr.column)
        bottom = QHBoxLayout()
        bottom.setContentsMargins(0, 0, 0, 0)
        bottom.setSpacing(0)
        self.event_log = EventLog(labels)
        # The log must never take the keyboard: a table eats letters (type-ahead search)
        # and the window's one-key shortcuts (A, P, R, N, B) would stop working.
        self.event_log.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        if self.review is not None:  # times in the log are the recording's, across jumps
            self.event_log.seconds_of = self.seconds_of
        bottom.addWidget(self.event_log, 1)
        bottom.addWidget(self.lsr.status)
        layout.addLayout(bottom)

    def _build_status_bar(self) -> None:
        """The status strip under the log (not QMainWindow's status bar, which cuts what
        does not fit): one line when it fits, two when not."""
        self.status_line = line = StatusLine()
        for name, tip in (
            ("state", ""),
            ("source", ""),
            ("channels", ""),
            ("clock", "Signal time since the start"),
            ("daytime", "Time of day (in a replay: when it was recorded)"),
            ("gaps", "Samples lost in the signal, and blocks the monitor could not keep up with"),
            ("filter", "The display and detection filter"),
            ("range", "± µV shown per channel (+ and - change it)"),
            ("recording", ""),
        ):
            line.add_field(name, tip)
        self.rec_label = line.fields["recording"]
        if self.audio is not None:
            self._build_audio_controls(line.font_)
        self.centralWidget().layout().addWidget(line)
        self.statusBar().hide()

    def _build_audio_controls(self, font: QFont) -> None:
        """Which EMG to hear and the two volumes; a notice that stays when there is no sound."""
        audio = self.audio
        assert audio is not None
        line = self.status_line
        if not audio.available:
            notice = QLabel("NO SOUND — alarms are visual only")
            notice.setToolTip(audio.notice)
            notice.setFont(font)
            notice.setStyleSheet(theme.SEVERITY_STYLE["warning"] + "padding:2px 8px;")
            line.add_widget(notice)
            self.audio_notice = notice
            return
        group = QWidget()  # the three controls stay together on a line
        row = QHBoxLayout(group)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(6)
        labels = self.session.source.info.labels
        self.hear = QComboBox()
        self.hear.setFont(font)
        self.hear.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the one-key shortcuts stay
        self.hear.addItems(["Hear: all", *[f"Hear: {lab}" for lab in labels], "EMG sound off"])
        self.hear.currentIndexChanged.connect(self._hear_changed)
        row.addWidget(self.hear)
        for name, value, low, setter in (
            ("EMG", audio.emg_volume, 0, self._set_emg_volume),
            ("Alarm", audio.alarm_volume, 20, self._set_alarm_volume),
        ):
            label = QLabel(f"{name} vol")
            label.setFont(font)
            slider = QSlider(Qt.Orientation.Horizontal)
            slider.setRange(low, 100)
            slider.setValue(round(100 * value))
            slider.setFixedWidth(110)
            slider.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            slider.valueChanged.connect(setter)
            row.addWidget(label)
            row.addWidget(slider)
        line.add_widget(group)

    def _fit_status(self) -> None:
        """The strip's height for the window's width (a second line rather than a cut)."""
        height = self.status_line.height_for(self.width())
        if height != self.status_line.height():
            self.status_line.setFixedHeight(height)

    def _hear_changed(self, index: int) -> None:
        emg = self.audio.emg if self.audio is not None else None
        if emg is None:
            return
        n = self.session.source.info.n_channels
        if index == 0:
            emg.set_channels(range(n))
        elif index <= n:
            emg.set_channels([index - 1])
        self._emg_off = index > n

    def _set_emg_volume(self, value: int) -> None:
        if self.audio is not None:
            self.audio.emg_volume = value / 100

    def _set_alarm_volume(self, value: int) -> None:
        if self.audio is not None:
            self.audio.alarm_volume = value / 100

    # -- per frame --------------------------------------------------------------------------
    def refresh(self) -> None:
        """Pull the newest data, events, alarms and counters. Never blocks on acquisition."""
        ongoing = self.monitoring.ongoing()  # before the log: an event ending in between
        events, transitions = self.feed.poll()  # is then drawn twice, never missed
        self.traces.markers.add_final(events)
        self.traces.refresh(ongoing)
        for ev in events:
            self.event_log.add_event(ev, self.monitoring)
        for t in transitions:
            technical = self.alarms.policy(t.key).technical
            self.event_log.add_transition(t, self.monitoring, technical)
        self._align_train_time()
        self.traintime.set_seconds(self.monitoring.traintime.seconds())
        self._refresh_lsr()
        self._pull_notes()
        self.update_alarms()
        self._update_recording()
        self._update_actions()
        if self.review is not None:
            self.review.refresh()
        self._update_stale()
        self._update_audio()
        self._update_status()
        self._update_fit_notice()
        self._update_identity()
        if self._banner_until is not None and time.monotonic() > self._banner_until:
            self.banner.hide()
            self._banner_until = None
            self._banner_severity = None

    def _update_recording(self) -> None:
        """The recording's state in the status strip: running in red, failed or stopped
        during live monitoring on yellow (a case going unrecorded must be seen)."""
        rec = self.recorder
        pad = "padding:1px 8px; font-weight:bold;"
        if rec is None:
            if self._rec_stopped_at is not None:
                text = f"NOT RECORDING — stopped at {self._rec_stopped_at} (R records)"
                style = theme.SEVERITY_STYLE["warning"] + pad
            elif self.review is not None:  # a replay: the file is the record
                text, style = "not recording (R)", f"color:{theme.MUTED}; padding:1px 8px;"
            else:
                text = "Not recording (R records)"
                style = f"color:{theme.FOREGROUND}; border:2px solid {theme.MUTED}; {pad}"
            self.status_line.set("recording", text, style)
            return
        st = rec.stats()
        if st["error"]:
            style = theme.SEVERITY_STYLE["warning"] + pad
            self.status_line.set("recording", "REC STOPPED — see alarm", style)
            return
        secs = int(st["seconds_written"])
        queue = f"  queue {100 * st['queue_fraction']:.0f} %" if st["queue_fraction"] > 0.1 else ""
        self.status_line.set(
            "recording",
            f"● REC {secs // 3600:d}:{secs // 60 % 60:02d}:{secs % 60:02d}{queue}",
            "color:#ff5252; font-weight:bold; padding:1px 8px;",
        )

    def record_key(self) -> None:
        """R and the Record button: start recording at once; stopping asks first (a
        stray key must not end the case's record)."""
        if not self.is_current:
            return
        if self.model.recording:
            self.ask_stop_recording()
        else:
            self.toggle_recording()

    def ask_stop_recording(self) -> None:
        """Ask whether to stop the recording; the answer comes back through the box's
        ``finished`` (non-blocking: the screen, alarms and recording go on meanwhile)."""
        if self.stop_question is not None:
            self.stop_question.raise_()
            return
        rec = self.recorder
        box = message_box(
            self,
            "Stop recording?",
            "Stop recording the case?",
            "Monitoring goes on, but nothing more is recorded until R is pressed again."
            + (f"\nThe recording so far is kept in {rec.path.name}." if rec is not None else ""),
        )
        stop = box.addButton("Stop recording", QMessageBox.ButtonRole.DestructiveRole)
        keep = box.addButton("Keep recording", QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(keep)
        box.setEscapeButton(keep)
        box.setWindowModality(Qt.WindowModality.WindowModal)
        box.stop_button, box.keep_button = stop, keep  # type: ignore[attr-defined]
        box.finished.connect(lambda _=0: self._stop_answered(box.clickedButton() is stop))
        self.stop_question = box
        box.open()

    def _stop_answered(self, stop: bool) -> None:
        box, self.stop_question = self.stop_question, None
        if box is not None:
            box.deleteLater()
        if stop and self.model.recording and self.is_current:
            self.toggle_recording()

    def toggle_recording(self) -> None:
        """Start recording into the recordings folder, or stop it, without asking (the
        case workflow's own stops and starts; the operator's go through ``record_key``)."""
        if not self.is_current:
            return
        was_recording = self.model.recording
        try:
            self.model.toggle_recording()
        except RecorderError as exc:
            self.show_problem(Problem(Severity.CRITICAL, str(exc)))
        if self.model.recorder is not None:
            self._rec_stopped_at = None
        elif was_recording:
            self._rec_stopped_at = hhmmss(self.seconds_of(self._now_index()))
        self._pull_notes()
        self._update_recording()
        self._update_actions()

    def add_note(self) -> None:
        """A note typed during the case, kept at the time of the keypress (N)."""
        index = self._now_index()
        text, ok = ask_text(self, "Note", "Note for the record:")
        if not ok or not text.strip():
            return
        self.model.add_note(text, index)
        self._pull_notes()

    def stale_text(self) -> str | None:
        """Why the traces are not live (None when they are)."""
        st = self.session.status()
        now = time.monotonic()
        if st.end_index != self._last_end:
            self._last_end, self._last_end_change = st.end_index, now
        if self.waiting_text is not None and (w := self.waiting_text()):
            return w
        return self._signal_state_text(st, now)

    def _signal_state_text(self, st: SessionStatus, now: float) -> str | None:
        """:meth:`stale_text` from the session's state and the replay's."""
        if st.state is State.RECONNECTING:
            return "NO SIGNAL — reconnecting"
        if st.state is State.FAILED:
            return "STOPPED — monitoring has stopped"
        if st.state is State.FINISHED:
            return "END OF RECORDING" if st.source_kind == "replay" else "STOPPED"
        if self.review is not None and (held := self.review.held_text()):
            return held
        if st.state is State.RUNNING and now - self._last_end_change > STALE_S:
            return "NO DATA"
        return None

    def _update_stale(self) -> None:
        text = self.stale_text()
        if text is None:
            self.stale_label.hide()
            return
        if self.session.state is State.RECONNECTING and self.banner.isVisible():
            self._banner_until = None  # the "No signal" line stays while it lasts
        area = self.plot_area()
        if (text, area) != self._stale_placed:
            self._stale_placed = (text, area)
            self._place_stale(text, area)
        self.stale_label.show()
        self.stale_label.raise_()

    def _place_stale(self, text: str, area: QRect) -> None:
        """On the plots, centred, never over the channel names: on one line if it fits
        the plots' width in large type, else the state and what to do on two lines
        ("END OF RECORDING" / "Space plays it again"); in a narrow window, wrapped word
        by word with less padding, in smaller type until every word fits."""
        label = self.stale_label
        label.setStyleSheet(STALE_STYLE.format(pad=18))
        label.ensurePolished()  # its padding and border count in its size
        label.setWordWrap(False)
        room = max(120, area.width() - 8)
        two_lines = text.replace(" — ", "\n", 1)
        tries = [(text, pt) for pt in STALE_PT[:3]]
        if two_lines != text:
            tries += [(two_lines, pt) for pt in STALE_PT]
        font = label.font()
        for shown, pt in tries:
            font.setPointSize(pt)
            label.setFont(font)
            label.setText(shown)
            if label.sizeHint().width() <= room:
                break
        width, height = label.sizeHint().width(), label.sizeHint().height()
        if width > room:
            label.setStyleSheet(STALE_STYLE.format(pad=6))
            label.setText(text)
            label.ensurePolished()
            frame = label.sizeHint().width() - label.fontMetrics().horizontalAdvance(text)
            width = room
            label.setWordWrap(True)
            for pt in range(STALE_PT[-1], STALE_MIN_PT - 1, -1):
                font.setPointSize(pt)
                label.setFont(font)
                widest = max(QFontMetrics(font).horizontalAdvance(w) for w in text.split())
                height = max(label.sizeHint().height(), label.heightForWidth(width))
                if widest + frame <= width and height <= area.height() - 8:
                    break
        label.resize(width, height)
        centre = area.center()
        label.move(centre.x() + 1 - width // 2, centre.y() + 1 - height // 2)

    def plot_area(self) -> QRect:
        """The traces' plotting area (right of the channel names and µV axes, above the time
        axis; the rows on screen), in the traces widget's pixels."""
        area = QRect()
        for plot in self.traces._plots:
            rect = self.traces.mapFromScene(plot.vb.sceneBoundingRect()).boundingRect()
            area = area.united(rect)
        area = area.intersected(self.traces.rect())
        return area if area.width() > 0 and area.height() > 0 else self.traces.rect()

    def _update_audio(self) -> None:
        """Alarm tone for the highest sounding alarm; EMG muted during cautery."""
        if self.audio is None:
            return
        self.audio.set_alarm_priority(self.alarms.sounding_priority())
        if self.audio.emg is not None:
            off = getattr(self, "_emg_off", False)
            self.audio.emg.set_muted(off or self.monitoring.detector.artifact_active)

    def update_alarms(self) -> None:
        self.alarm_banner.show_alarms(
            self.alarms.alarms(), self.alarms.audio_paused_remaining(), time.monotonic()
        )

    def _align_train_time(self) -> None:
        origin = QPoint(0, 0)
        dy = self.traces.mapTo(self, origin).y() - self.traintime.mapTo(self, origin).y()
        self.traintime.align([(int(a) + dy, int(b) + dy) for a, b in self.traces.row_spans()])

    def _refresh_lsr(self) -> None:
        """The LSR panel (shown with the first stimulus), its calls and baselines in the log."""
        if self.lsr.refresh():  # just shown: lay out now, so the rows line up at once
            self._size_lsr()
            self.centralWidget().layout().activate()
            self.traces.refresh(self.monitoring.ongoing())
        if self.lsr.started:
            origin = QPoint(0, 0)
            column = self.lsr.column
            dy = self.traces.mapTo(self, origin).y() - column.mapTo(self, origin).y()
            spans = [(int(a) + dy, int(b) + dy) for a, b in self.traces.row_spans()]
            if column.align(spans, self.traces.height() + dy):
                self.lsr.relayout()
        rate = self.evoked.rate
        baseline = self.lsr_feed.new_baseline()
        if baseline is not None:
            at = self.lsr.stim_seconds(baseline.last_stim)  # signal time of the stream
            at_index = self._now_index() if at is None else round(at * rate)
            self.event_log.add_note(
                self.seconds_of(at_index),
                "",
                baseline_note(baseline),
                theme.FOREGROUND,
            )
        for call in self.lsr_feed.new_calls():
            self.event_log.add_note(
                self.seconds_of(call.sample_index), call_channel(call), call.text, call_colour(call)
            )

    def _size_lsr(self) -> None:
        lo, hi = LSR_COLUMN_PX
        width = int(min(hi, max(lo, LSR_COLUMN_SHARE * self.width())))
        self.lsr.column.setFixedWidth(width)
        self.lsr.status.setFixedWidth(width)

    def status_fields(self) -> dict[str, tuple[str, str]]:
        """The status strip's fields but the recording: ``name -> (text, style sheet)``.
        Short words; a field is never cut (the strip wraps instead)."""
        st = self.session.status()
        secs = int(st.signal_seconds)
        clock = f"{secs // 3600:d}:{secs // 60 % 60:02d}:{secs % 60:02d}"
        if self.case_clock is not None:  # training: the instructor's clock, the same sample
            clock = self.case_clock.text(st.end_index)
        rate = f"{st.rate / 1000:g} kHz" if st.rate >= 1000 else f"{st.rate:g} Hz"
        gap_ms = st.gap_samples / st.rate * 1000 if st.rate else 0
        filt = self.session.filters.settings.describe() if self.session.filters else "off"
        state = {
            State.RUNNING: "●  LIVE" if st.source_kind != "replay" else "▶  REPLAY",
            State.RECONNECTING: "⚠  NO SIGNAL — reconnecting",
            State.FINISHED: "■  STOPPED",
            State.FAILED: "✖  STOPPED BY ERROR",
            State.IDLE: "…",
        }[st.state]
        bold = "font-weight:bold;"
        state_style = bold
        if st.state is State.RECONNECTING:
            state_style = theme.SEVERITY_STYLE["warning"] + bold + "padding:0 6px;"
        elif st.state is State.FAILED:
            state_style = theme.SEVERITY_STYLE["critical"] + bold + "padding:0 6px;"
        if self.freeze.frozen is not None:
            state = "❚❚ FROZEN (acquisition goes on)"
            state_style = f"color:#000; background:#ffd600; {bold} padding:0 6px;"
        gaps = f"gaps {st.gaps}" + (f" ({gap_ms:.0f} ms)" if st.gaps else "")
        if st.overruns:
            gaps += f", overruns {st.overruns}"
        lost = st.gaps or st.overruns
        return {
            "state": (state, state_style),
            "source": (st.source_name, ""),
            "channels": (f"{st.n_channels} ch @ {rate}", ""),
            "clock": (clock, ""),
            "daytime": (self.time_of_day(st.end_index), f"color:{theme.MUTED};"),
            "gaps": (gaps, f"color:{theme.ALARM_ON[2][0]}; {bold}" if lost else ""),
            "filter": (f"filter {filt}", ""),
            "range": (f"±{self.traces.range_uv:g} µV", ""),
        }

    def time_of_day(self, index: int) -> str:
        """``14:32:07``: now, or in a replay the recording's own time of day at the sample
        on screen (the wall clock would say when it is watched, not when it happened)."""
        start = getattr(self.session.source, "start_datetime", None)
        if self.review is not None and isinstance(start, dt.datetime):
            return (start + dt.timedelta(seconds=self.seconds_of(index))).strftime("%H:%M:%S")
        return dt.datetime.now().strftime("%H:%M:%S")

    def _update_status(self) -> None:
        for name, (text, style) in self.status_fields().items():
            self.status_line.set(name, text, style)
        samples = self.session.status().samples
        self.status_line.fields["clock"].setToolTip(f"Signal time; {samples:,} samples")
        self._fit_status()

    def status_text(self) -> str:
        """The status strip's words, in order."""
        return self.status_line.text()

    def _update_fit_notice(self) -> None:
        """Say in words which channels the window cannot show (a montage too large)."""
        missing = self.traces.channels_not_shown()
        if not missing:
            if self.fit_notice.isVisible():
                self.fit_notice.hide()
            return
        labels = self.session.source.info.labels
        names = ", ".join(labels[ch] for ch in missing)
        text = (
            f"NOT ON SCREEN: {names} — the window is too small for {len(labels)} channels "
            "(16 fit 1366x768)"
        )
        if text != self.fit_notice.text():
            self.fit_notice.setText(text)
        area = self.traces.geometry()  # in the central widget, the notice's parent
        height = self.fit_notice.heightForWidth(area.width())
        self.fit_notice.setGeometry(area.x(), area.bottom() - height, area.width(), height)
        self.fit_notice.show()
        self.fit_notice.raise_()

    def _fit_header(self) -> None:
        """The case's words whole (up to 55 % of the width), the stimulator's the rest."""
        want = self.case_header.fontMetrics().horizontalAdvance(self.case_header.text()) + 24
        self.case_header.setFixedWidth(max(1, min(want, int(0.55 * self.width()))))

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._fit_header()
        # The log takes about a fifth of the height: 4-6 rows, the traces keep the rest.
        rows = 4 if self.height() < 850 else 5
        self.event_log.setFixedHeight(
            self.event_log.horizontalHeader().height() + rows * self.event_log.row_height + 4
        )
        self.lsr.status.setFixedHeight(self.event_log.height())
        self._size_lsr()
        self._fit_status()

    # -- operator actions -----------------------------------------------------------------------
    def _now_index(self) -> int:
        return self.session.status().end_index

    def acknowledge(self) -> None:
        """Acknowledge every active or latched alarm (button, A or F2)."""
        self.model.acknowledge()
        self.update_alarms()

    def toggle_audio_pause(self) -> None:
        """Pause alarm sound for the pause time, or resume it if paused (button, P or F3)."""
        self.model.toggle_alarm_pause()
        self._pull_notes()
        self.update_alarms()

    def set_lsr_baseline(self) -> None:
        """Take the LSR baseline now from the latest sweeps (button or B)."""
        try:
            self.model.set_lsr_baseline()
        except ValueError as exc:
            self.show_problem(Problem(Severity.WARNING, f"LSR baseline not set: {exc}"))
            return
        self._refresh_lsr()

    def reset_train_time(self, channel: int) -> None:
        """Ask why, then reset one channel's train time (or all with ``channel`` -1)."""
        label = "every channel" if channel < 0 else self.monitoring.label(channel)
        reason, ok = ask_text(
            self,
            "Reset train time",
            f"Why is the train time of {label} reset?\nThe reason goes into the record.",
        )
        if not ok:
            return
        try:
            self.model.reset_train_time(reason, None if channel < 0 else channel)
        except ValueError as exc:
            self.show_problem(Problem(Severity.WARNING, f"Train time not reset: {exc}."))
            return
        self._pull_notes()
        self.traintime.set_seconds(self.monitoring.traintime.seconds())

    # -- problems -----------------------------------------------------------------------------
    def show_problem(self, problem: Problem) -> None:
        """Show the newest problem; a critical message stays until a newer one replaces it."""
        rank = {Severity.INFO: 0, Severity.WARNING: 1, Severity.CRITICAL: 2}
        if (
            self._banner_severity is not None
            and self.banner.isVisible()
            and rank[problem.severity] < rank[self._banner_severity]
            and problem.severity is not Severity.INFO
        ):
            return
        self.banner.setStyleSheet(theme.SEVERITY_STYLE[problem.severity.value] + "padding:4px;")
        self.banner.setText(problem.text)
        self.banner.show()
        self._banner_severity = problem.severity
        self._banner_until = (
            None if problem.severity is Severity.CRITICAL else time.monotonic() + INFO_SHOWN_S
        )

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt override
        self.timer.stop()
        self.bridge.detach()  # the session may outlive this window (a source switch)
        if self.case_flow is not None:
            self.case_flow.remember(self)
        if self.stim_panel is not None:  # bound to this window's source: goes with it
            self.stim_panel.close()
        if self.review is not None:
            self.review.close_down()
        if self.is_current:  # the case ends with its window; a switched-from one is done
            self.model.close()
        if self.audio is not None:
            self.audio.stop()
        self.stim_status.close_down()
        self.session.stop()
        super().closeEvent(event)
