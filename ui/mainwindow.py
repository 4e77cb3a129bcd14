"""The monitor's main window: alarm banner, live traces with their events, train time per
channel, the LSR panel, the event log, a line for session problems and a status bar.

Layout (fits 1366x768 and up without scrolling)::

    ┌ alarm banner: !! text in words ···· +n more · [Acknowledge (A)] [Audio pause (P)] ─────┐
    ├ problem line (session problems, only while there is one) ─────────────────────────────┤
    │ label │ trace with event bands and class names │ train time bar │ LSR sweeps │ trend  │
    │  ...  │                                        │      ...       │    ...     │  ...   │
    ├ replay only: [Play] [◀ Event] [Event ▶] speed  0:12 / 0:40  timeline of the file ──────┤
    ├ event log: time, channel, class, µV, duration, Hz; alarm, LSR ──┬ LSR status (big)    │
    │                                                                  │ [Set baseline (B)] │
    └ status bar ───────────────────────────────────────────────────────────────────────────┘

The LSR column and status box (:mod:`ui.lsrpanel`) appear with the first stimulus; until
then the screen is the free-run screen.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QPoint, Qt, QTimer
from PySide6.QtGui import QFont, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QMainWindow,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from monitor.envelope import Envelope
from monitor.evoked import EvokedAnalyzer
from monitor.monitoring import FreeRunMonitoring
from monitor.pipeline import attach_pipeline
from monitor.problems import Problem, Severity
from monitor.session import Session, State
from presentation import theme
from presentation.feed import MonitoringFeed, hhmmss
from presentation.lsrfeed import LsrFeed, baseline_note, call_channel, call_colour
from ui.actionbar import ActionBar
from ui.alarmbanner import AlarmBanner, countdown
from ui.bridge import SessionBridge
from ui.eventlog import EventLog
from ui.freeze import FreezeView
from ui.lsrpanel import LsrPanel
from ui.reviewbar import ReviewBar, is_reviewable
from ui.traces import TraceView
from ui.traintimebars import TrainTimePanel

if TYPE_CHECKING:
    from drivers.soundcard import AudioOutput
    from monitor.recorder import Recorder

FRAME_MS = 33  # ~30 frames per second
INFO_SHOWN_S = 8.0
STALE_S = 1.0  # a live source with no new samples for this long is shown as not live
ACK_KEYS = ("A", "F2")
PAUSE_KEYS = ("P", "F3")
BASELINE_KEYS = ("B",)
LSR_COLUMN_SHARE = 0.31  # of the window width, within the limits below
LSR_COLUMN_PX = (400, 560)


class MainWindow(QMainWindow):
    """Shows one session, its free-run monitoring and its evoked responses (LSR).

    Owns nothing of the core but a display envelope subscriber. With no ``monitoring`` or
    ``evoked`` given it attaches them itself (better: create them before the session
    starts, so that they see every block). All methods run on the GUI thread; everything
    the core produces is pulled by the frame timer.
    """

    def __init__(
        self,
        session: Session,
        monitoring: FreeRunMonitoring | None = None,
        window_s: float = 10.0,
        audio: AudioOutput | None = None,
        evoked: EvokedAnalyzer | None = None,
        recorder: Recorder | None = None,
        record_folder: str = "recordings",
        case_id: str = "",
    ) -> None:
        super().__init__()
        self.audio = audio
        self.recorder = recorder
        #: ``switch_source(argv)``, set by the application: open the source that command
        #: line names and move the screen to it (None: not offered).
        self.switch_source: Callable[[list[str]], None] | None = None
        #: The case set up for this session (``monitor.casesetup.CaseSetup``), if any, and
        #: the application's case workflow (``ui.caseflow.CaseFlow``; None: not offered).
        self.case = None
        self.case_flow = None
        self.stim_panel = None  # ui.stimpanel.StimulatorPanel, made on first use (T)
        self.trainee = None  # training.actions.TraineeLog in trainee mode
        self.record_folder = record_folder
        self.case_id = case_id
        self.session = session
        if monitoring is None or evoked is None:
            # A window made on a bare session (tests, tools): the monitor's own pipeline.
            pipeline = attach_pipeline(session)
            monitoring = monitoring or pipeline.monitoring
            evoked = evoked or pipeline.evoked
        self.monitoring = monitoring
        self.alarms = self.monitoring.alarms
        self.feed = MonitoringFeed(self.monitoring)
        info = session.source.info
        self.evoked = evoked
        self.lsr_feed = LsrFeed(evoked)
        self.setWindowTitle(f"Facial Nerve Monitor — {info.name}")
        self.envelope = Envelope(info.rate, info.n_channels, window_s=window_s, columns=1600)
        session.subscribe("Display", self.envelope, essential=True)
        self.bridge = SessionBridge(session, self)
        self._build(info.labels, info.rate)
        self._build_status_bar()

        self._banner_until: float | None = None
        self._banner_severity: Severity | None = None
        self.bridge.problem.connect(self.show_problem)
        for key, step in (("+", 1), ("=", 1), ("-", -1)):
            QShortcut(QKeySequence(key), self, activated=lambda s=step: self.traces.step_range(s))
        for key in ACK_KEYS:
            QShortcut(QKeySequence(key), self, activated=self.acknowledge)
        for key in PAUSE_KEYS:
            QShortcut(QKeySequence(key), self, activated=self.toggle_audio_pause)
        QShortcut(QKeySequence("R"), self, activated=self.toggle_recording)
        QShortcut(QKeySequence("N"), self, activated=self.add_note)
        for key in BASELINE_KEYS:
            QShortcut(QKeySequence(key), self, activated=self.set_lsr_baseline)

        self.timer = QTimer(self)
        self.timer.setInterval(FRAME_MS)
        self.timer.timeout.connect(self.refresh)
        self.timer.start()
        self.refresh()

    def _build(self, labels: tuple[str, ...], rate: float) -> None:
        central = QWidget()
        central.setObjectName("central")
        central.setStyleSheet(
            f"#central {{ background:{theme.BACKGROUND}; }}QLabel {{ color:{theme.FOREGROUND}; }}"
        )
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)

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

        middle = QHBoxLayout()
        middle.setContentsMargins(4, 4, 0, 0)
        middle.setSpacing(0)
        self.traces = TraceView(labels, rate, self.envelope)
        self.traces.history = self.session.filtered.latest if self.session.filtered else None
        # Over the traces when they are not live: a frozen trace must never look like a
        # quiet nerve.
        self.stale_label = QLabel(self.traces)
        stale_font = QFont()
        stale_font.setPointSize(theme.BANNER_PT + 6)
        stale_font.setBold(True)
        self.stale_label.setFont(stale_font)
        self.stale_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.stale_label.setStyleSheet(
            "background: rgba(0, 0, 0, 170); color: #ffd600; padding: 18px; "
            "border: 3px solid #ffd600;"
        )
        self.stale_label.hide()
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
            self.review = ReviewBar(self.session.source, self)
            layout.addWidget(self.review)
            # The LSR's own texts ("gone since ...") in the recording's time too.
            self.evoked.format_time = lambda index: hhmmss(self.seconds_of(index))
        self._build_lsr_and_log(middle, layout, labels)
        self.setCentralWidget(central)

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
            "record": ("Record (R)", self.toggle_recording, False),
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
        self.event_log.add_note(
            self.seconds_of(index), "", f"Trainee: {CALL_NAMES[kind]}", theme.FOREGROUND
        )

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
        from ui.sourcedialog import SourceDialog, current_kind

        if self.switch_source is None:
            self.show_problem(
                Problem(Severity.INFO, "The source can be changed only from the monitor's window.")
            )
            return
        info = self.session.source.info
        dialog = SourceDialog(current_kind(info.kind, info.description), self)
        if dialog.exec():
            self.switch_source(dialog.argv())

    def seconds_of(self, index: int) -> float:
        """Recording time of a sample index (a replay that jumped back maps it)."""
        source = self.session.source
        if getattr(self, "review", None) is not None:
            return source.recording_index(index) / source.info.rate
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
            self.event_log.add_note(
                self.seconds_of(snap.end), "", "Moment marked for comparison", theme.FOREGROUND
            )
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
            source, rate = self.review.source, self.session.source.info.rate
            self.event_log.seconds_of = lambda index: source.recording_index(index) / rate
        bottom.addWidget(self.event_log, 1)
        bottom.addWidget(self.lsr.status)
        layout.addLayout(bottom)

    def _build_status_bar(self) -> None:
        self.status_label = QLabel()
        sfont = QFont()
        sfont.setPointSize(theme.STATUS_PT)
        self.status_label.setFont(sfont)
        self.statusBar().setStyleSheet(
            f"background:{theme.PANEL}; color:{theme.FOREGROUND}; "
            f"border-top:1px solid {theme.GRID};"
        )
        self.statusBar().addWidget(self.status_label, 1)
        self.statusBar().setSizeGripEnabled(False)
        self.rec_label = QLabel()
        self.rec_label.setFont(sfont)
        self.statusBar().addPermanentWidget(self.rec_label)
        if self.audio is not None:
            self._build_audio_controls(sfont)

    def _build_audio_controls(self, font: QFont) -> None:
        """Which EMG to hear and the two volumes; a notice that stays when there is no sound."""
        audio = self.audio
        assert audio is not None
        bar = self.statusBar()
        if not audio.available:
            notice = QLabel("NO SOUND — alarms are visual only")
            notice.setToolTip(audio.notice)
            notice.setFont(font)
            notice.setStyleSheet(theme.SEVERITY_STYLE["warning"] + "padding:2px 8px;")
            bar.addPermanentWidget(notice)
            self.audio_notice = notice
            return
        labels = self.session.source.info.labels
        self.hear = QComboBox()
        self.hear.setFont(font)
        self.hear.addItems(["Hear: all", *[f"Hear: {lab}" for lab in labels], "EMG sound off"])
        self.hear.currentIndexChanged.connect(self._hear_changed)
        bar.addPermanentWidget(self.hear)
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
            slider.valueChanged.connect(setter)
            bar.addPermanentWidget(label)
            bar.addPermanentWidget(slider)

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
        self.update_alarms()
        self._update_recording()
        self._update_actions()
        if self.review is not None:
            self.review.refresh()
        self._update_stale()
        self._update_audio()
        self.status_label.setText(self.status_text())
        if self._banner_until is not None and time.monotonic() > self._banner_until:
            self.banner.hide()
            self._banner_until = None
            self._banner_severity = None

    def _update_recording(self) -> None:
        rec = self.recorder
        if rec is None:
            self.rec_label.setText("not recording (R)")
            self.rec_label.setStyleSheet(f"color:{theme.MUTED}; padding:0 8px;")
            return
        st = rec.stats()
        if st["error"]:
            self.rec_label.setText("REC STOPPED — see alarm")
            self.rec_label.setStyleSheet(theme.SEVERITY_STYLE["warning"] + "padding:0 8px;")
            return
        secs = int(st["seconds_written"])
        queue = f"  queue {100 * st['queue_fraction']:.0f} %" if st["queue_fraction"] > 0.1 else ""
        self.rec_label.setText(
            f"● REC {secs // 3600:d}:{secs // 60 % 60:02d}:{secs % 60:02d}{queue}"
        )
        self.rec_label.setStyleSheet("color:#ff5252; font-weight:bold; padding:0 8px;")

    def toggle_recording(self) -> None:
        """Start recording into the recordings folder, or stop it (R)."""
        index = self._now_index()
        seconds = self.seconds_of(index)
        if self.recorder is not None and not self.recorder.failed:
            rec, self.recorder = self.recorder, None
            self.session.unsubscribe(rec)
            rec.close()
            self.event_log.add_note(seconds, "", f"Recording stopped: {rec.path}", theme.FOREGROUND)
            return
        from monitor.caserecording import record_case
        from monitor.recorder import RecorderError, default_recording_path

        bits = 24 if "24 bit" in self.session.source.info.description else 16
        path = default_recording_path(self.record_folder, self.case_id, bits)
        case = self.case
        try:
            self.recorder = record_case(
                self.session,
                self.monitoring,
                self.evoked,
                path,
                self.case_id,
                header=case.edf_header() if case is not None else None,
                start_note=case.recording_note() if case is not None else "",
            )
        except RecorderError as exc:
            self.show_problem(Problem(Severity.CRITICAL, str(exc)))
            return
        self.event_log.add_note(seconds, "", f"Recording to {path}", theme.FOREGROUND)

    def add_note(self) -> None:
        """A note typed during the case, kept at the time of the keypress (N)."""
        index = self._now_index()
        text, ok = QInputDialog.getText(self, "Note", "Note for the record:")
        if not ok or not text.strip():
            return
        if self.recorder is not None:
            self.recorder.annotate(index, f"note: {text.strip()}")
        self.event_log.add_note(
            self.seconds_of(index), "", f"Note: {text.strip()}", theme.FOREGROUND
        )

    def stale_text(self) -> str | None:
        """Why the traces are not live (None when they are)."""
        st = self.session.status()
        now = time.monotonic()
        if st.end_index != self._last_end:
            self._last_end, self._last_end_change = st.end_index, now
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
        self.stale_label.setText(text)
        self.stale_label.adjustSize()
        area = self.traces.rect()
        self.stale_label.move(
            (area.width() - self.stale_label.width()) // 2,
            (area.height() - self.stale_label.height()) // 2,
        )
        self.stale_label.show()
        self.stale_label.raise_()

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

    def status_text(self) -> str:
        st = self.session.status()
        secs = int(st.signal_seconds)
        clock = f"{secs // 3600:d}:{secs // 60 % 60:02d}:{secs % 60:02d}"
        rate = f"{st.rate / 1000:g} kHz" if st.rate >= 1000 else f"{st.rate:g} Hz"
        gap_ms = st.gap_samples / st.rate * 1000 if st.rate else 0
        filt = self.session.filters.settings.describe() if self.session.filters else ""
        state = {
            State.RUNNING: "●  LIVE" if st.source_kind != "replay" else "▶  REPLAY",
            State.RECONNECTING: "⚠  NO SIGNAL — reconnecting",
            State.FINISHED: "■  STOPPED",
            State.FAILED: "✖  STOPPED BY ERROR",
            State.IDLE: "…",
        }[st.state]
        if self.freeze.frozen is not None:
            state = "❚❚ FROZEN (acquisition goes on)"
        return (
            f"{state}   {st.source_name}   {st.n_channels} ch @ {rate}   {clock}   "
            f"{st.samples:,} samples   gaps {st.gaps} ({gap_ms:.0f} ms)   "
            f"overruns {st.overruns}   filter {filt}   ±{self.traces.range_uv:g} µV"
        )

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        # The log takes about a fifth of the height: 4-6 rows, the traces keep the rest.
        rows = 4 if self.height() < 850 else 5
        self.event_log.setFixedHeight(
            self.event_log.horizontalHeader().height() + rows * self.event_log.row_height + 4
        )
        self.lsr.status.setFixedHeight(self.event_log.height())
        self._size_lsr()

    # -- operator actions -----------------------------------------------------------------------
    def _now_index(self) -> int:
        return self.session.status().end_index

    def acknowledge(self) -> None:
        """Acknowledge every active or latched alarm (button, A or F2)."""
        self.alarms.acknowledge(None, self._now_index())
        self.update_alarms()

    def toggle_audio_pause(self) -> None:
        """Pause alarm sound for the pause time, or resume it if paused (button, P or F3)."""
        seconds = self.seconds_of(self._now_index())
        if self.alarms.audio_paused_remaining() > 0:
            self.alarms.resume_audio()
            self.event_log.add_note(seconds, "", "Alarm sound resumed", theme.FOREGROUND)
        else:
            self.alarms.pause_audio()
            left = countdown(self.alarms.audio_paused_remaining())
            self.event_log.add_note(seconds, "", f"Alarm sound paused for {left}", theme.FOREGROUND)
        self.update_alarms()

    def set_lsr_baseline(self) -> None:
        """Take the LSR baseline now from the latest sweeps (button or B)."""
        try:
            self.evoked.set_baseline()
        except ValueError as exc:
            self.show_problem(Problem(Severity.WARNING, f"LSR baseline not set: {exc}"))
            return
        self._refresh_lsr()

    def reset_train_time(self, channel: int) -> None:
        """Ask why, then reset one channel's train time (or all with ``channel`` -1)."""
        label = "every channel" if channel < 0 else self.monitoring.label(channel)
        reason, ok = QInputDialog.getText(
            self,
            "Reset train time",
            f"Why is the train time of {label} reset?\nThe reason goes into the record.",
        )
        if not ok:
            return
        if not reason.strip():
            self.show_problem(
                Problem(Severity.WARNING, "Train time not reset: a reason is needed.")
            )
            return
        index = self._now_index()
        r = self.monitoring.reset_traintime(reason, None if channel < 0 else channel, index)
        self.event_log.add_note(
            self.seconds_of(index),
            "all channels" if channel < 0 else label,
            f"Train time reset (was {r.seconds_before:.1f} s): {r.reason}",
            theme.FOREGROUND,
        )
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
        if self.recorder is not None:
            self.session.stop()  # the last blocks reach the recorder before it closes
            self.recorder.close()
        if self.audio is not None:
            self.audio.stop()
        self.session.stop()
        super().closeEvent(event)
