"""Starting the Qt application: the window, the screenshot mode and the last-resort handler."""

from __future__ import annotations

import logging
import sys
import threading
import traceback
from collections.abc import Callable
from pathlib import Path

from monitor.evoked import EvokedAnalyzer
from monitor.monitoring import FreeRunMonitoring
from monitor.problems import Problem, Severity
from monitor.session import Session

log = logging.getLogger(__name__)


def open_audio(session: Session):
    """EMG audio and alarm tones on the sound card; a null output with a notice if none."""
    from drivers.soundcard import AudioOutput
    from monitor.emgaudio import EmgAudio

    info = session.source.info
    emg = EmgAudio(info.rate, info.n_channels)
    session.subscribe("EMG audio", emg)
    audio = AudioOutput(emg)
    if not audio.start():
        log.warning("sound output unavailable: %s", audio.notice)
    return audio


def install_error_handlers(current) -> None:
    """Errors in screen callbacks and worker threads are logged and shown on the problem
    line of the ``current()`` window; the monitor neither crashes with a traceback nor
    freezes behind a modal box."""

    def excepthook(exc_type, exc, tb) -> None:
        log.error(
            "unhandled error in the GUI:\n%s",
            "".join(traceback.format_exception(exc_type, exc, tb)),
        )
        current().show_problem(
            Problem(
                Severity.CRITICAL,
                "The display hit an internal error; acquisition goes on. Details are in the log.",
            )
        )

    sys.excepthook = excepthook
    threading.excepthook = lambda args: log.error(
        "unhandled error in thread %s:\n%s",
        args.thread.name if args.thread else "?",
        "".join(traceback.format_exception(args.exc_type, args.exc_value, args.exc_traceback)),
    )


OpenSource = Callable[[list[str]], tuple[Session, FreeRunMonitoring, EvokedAnalyzer, object]]


def run_gui(
    session: Session,
    window_s: float = 10.0,
    screenshot: Path | None = None,
    after_s: float = 3.0,
    size: tuple[int, int] = (1600, 900),
    monitoring: FreeRunMonitoring | None = None,
    evoked: EvokedAnalyzer | None = None,
    recorder=None,
    record_folder: str = "recordings",
    case_id: str = "",
    open_source: OpenSource | None = None,
    setup_case: bool = False,
    on_window: Callable[[object], None] | None = None,
) -> int:
    """Open the window on a started session and run until it is closed.

    ``monitoring`` and ``evoked`` are the session's free-run monitoring and evoked-response
    analyzer, created before the session started (the window attaches them itself when
    None). With ``screenshot``, save the window as PNG after ``after_s`` seconds and quit.
    ``open_source(argv)`` opens the source a command line names (``ValueError`` with a
    sentence if it cannot): with it, the window offers switching the source and setting
    up a case (``setup_case``: at once, before monitoring). ``on_window(window)`` is
    called with the first window once it shows (training adds its console there).
    """
    import pyqtgraph as pg
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from ui.gcpolicy import GuiThreadGarbageCollector

    pg.setConfigOptions(antialias=False, useOpenGL=False, background="k")
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Facial Nerve Monitor")
    screen = MonitorScreens(window_s, size, record_folder, case_id, open_source)
    window = screen.open(session, monitoring, evoked, recorder)
    install_error_handlers(lambda: screen.window)
    if on_window is not None:
        on_window(window)
    if setup_case and open_source is not None:
        QTimer.singleShot(300, screen.flow.begin)
    if screenshot is not None:

        def grab() -> None:
            screen.window.refresh()
            ok = screen.window.grab().save(str(screenshot), "PNG")
            if not ok:
                log.error("could not write screenshot to %s", screenshot)
            app.exit(0 if ok else 1)

        QTimer.singleShot(int(after_s * 1000), grab)
    collector = GuiThreadGarbageCollector(app)  # never free a Qt object on a worker thread
    try:
        code = app.exec()
        # A screenshot (or app.exit) ends the loop with the monitor still open: close it,
        # or its frame timer draws on (a quarter of a core) in a process that goes on after
        # this call, e.g. every later test in the same run. The instructor's console closes
        # with it.
        if screen.window.isVisible():
            screen.window.close()
        for w in {window, screen.window}:
            if w.review is not None:
                w.review.close_down()  # the re-detection child process goes too
            w.session.stop()
    finally:  # the worker threads have stopped: collection may run anywhere again
        collector.stop()
        collector.deleteLater()
    return code


class MonitorScreens:
    """The monitor's window, and moving it to another source. GUI thread only."""

    def __init__(
        self,
        window_s: float,
        size: tuple[int, int],
        record_folder: str,
        case_id: str,
        open_source: OpenSource | None,
    ) -> None:
        self.window_s = window_s
        self.size = size
        self.record_folder = record_folder
        self.case_id = case_id
        self.open_source = open_source
        self.window = None
        self._switching = False
        self.last_error = ""  # why the last switch did not happen as asked
        self.case = None  # the case set up (monitor.casesetup.CaseSetup), kept across sources
        from ui.caseflow import CaseFlow

        self.flow = CaseFlow(self)

    def open(self, session: Session, monitoring, evoked, recorder):
        from ui.mainwindow import MainWindow

        window = MainWindow(
            session,
            monitoring,
            window_s=self.window_s,
            audio=open_audio(session),
            evoked=evoked,
            recorder=recorder,
            record_folder=self.record_folder,
            case_id=self.case_id,
        )
        window.case = self.case
        if self.open_source is not None:  # a case reopens the source: needs open_source
            window.case_flow = self.flow
            window.switch_source = self.switch
        if self.window is not None:
            window.setGeometry(self.window.geometry())
        else:
            window.resize(*self.size)
        window.show()
        self.window = window
        return window

    def switch(
        self, argv: list[str], release_first: bool = False, fallback: list[str] | None = None
    ) -> bool:
        """Open the source ``argv`` names; on success the screen moves to it, with the
        present settings (thresholds, alarm priorities, range, volumes; the filters unless
        ``argv`` names them), the old source stops and a running recording goes on in a
        new file. A source that cannot be opened is said on the problem line and the
        present one keeps running.

        ``release_first``: the new source needs the device the present one holds (the
        same serial port): the present one stops first, and if the new one cannot open,
        ``fallback`` (the present source's command line) is opened again.
        """
        old = self.window
        assert old is not None and self.open_source is not None
        self.last_error = ""
        if self._switching:
            self.last_error = "another source is still being opened"
            return False
        self._switching = True
        was_recording = old.recorder is not None and not old.recorder.failed
        old.show_problem(Problem(Severity.INFO, "Opening the new signal source…"))
        old.setEnabled(False)  # no keys or buttons meanwhile (F9, R, S ...): shortcuts too
        try:
            if release_first:
                if was_recording:
                    old.toggle_recording()  # closed cleanly before its source goes
                old.session.stop()
            try:
                opened = self._open_in_background(argv)
                why = ""
            except ValueError as exc:
                why = self.last_error = str(exc)
                if not (release_first and fallback):
                    old.show_problem(
                        Problem(Severity.WARNING, f"The source was not changed: {why}")
                    )
                    return False
                opened = self._open_in_background(fallback)  # ValueError: said below
            if not old.isVisible():  # the monitor was closed meanwhile: go no further
                opened[0].stop()
                if opened[3] is not None:
                    opened[3].close()
                return False
            self._move_to(old, opened, was_recording, carry_filters="--highpass" not in argv)
            if why:
                self.window.show_problem(
                    Problem(
                        Severity.CRITICAL,
                        f"The source was not changed: {why} The previous source was opened again.",
                    )
                )
            return not why
        except ValueError as exc:  # the fallback failed too: nothing to monitor
            self.last_error = f"{self.last_error}; and again as it was: {exc}"
            old.show_problem(Problem(Severity.CRITICAL, f"No signal source: {exc}"))
            return False
        finally:
            self._switching = False
            if old is self.window:
                old.setEnabled(True)

    def _move_to(self, old, opened, was_recording: bool, carry_filters: bool) -> None:
        """The screen onto the opened source; the old window goes."""
        log.info("source changed to %s", opened[0].source.info.name)
        if old.audio is not None:  # one sound stream at a time: some cards cannot mix
            old.audio.stop()
        new = self.open(*opened)
        carry_settings(old, new, filters=carry_filters)
        carry_case_state(old, new)
        if was_recording and new.recorder is None:
            new.toggle_recording()
        old.close()
        old.deleteLater()  # its buffers and plots go with it

    def _open_in_background(self, argv: list[str]):
        """``open_source(argv)`` on a worker thread, the screen live meanwhile (a port
        that does not answer takes seconds to give up)."""
        from PySide6.QtCore import QEventLoop, QTimer

        result: dict[str, object] = {}

        def work() -> None:
            try:
                result["ok"] = self.open_source(argv)
            except ValueError as exc:
                result["error"] = exc
            except Exception as exc:  # never leave the screen waiting
                log.exception("opening a source failed")
                result["error"] = ValueError(f"it could not be opened ({exc})")

        thread = threading.Thread(target=work, name="open source", daemon=True)
        thread.start()
        loop = QEventLoop()
        poll = QTimer()
        poll.setInterval(20)
        poll.timeout.connect(lambda: None if thread.is_alive() else loop.quit())
        poll.start()
        if thread.is_alive():
            loop.exec()
        poll.stop()
        thread.join()
        if "error" in result:
            raise result["error"]  # type: ignore[misc]
        return result["ok"]


def carry_case_state(old, new) -> None:
    """The case's train time goes on with the new source when its channels are the same
    (a switch must not hide the nerve's A-train history); what cannot go on (the LSR
    baseline, alarms, train time of other channels) is said in the log and the recording."""
    before = old.monitoring.traintime.seconds()
    same = old.monitoring.labels == new.monitoring.labels
    if same and any(before):
        new.monitoring.traintime.carry_over(before)
    parts = []
    if not same and any(before):
        lost = [
            f"{lab} {t:.1f} s"
            for lab, t in zip(old.monitoring.labels, before, strict=True)
            if t > 0
        ]
        parts.append(f"train time ({', '.join(lost)})")
    if old.evoked.baseline() is not None:
        parts.append("the LSR baseline")
    if old.alarms.alarms():
        parts.append("the alarms")
    notes = []
    if same and any(before):
        notes.append("New signal source: train time carried over")
    if parts:
        notes.append(f"New signal source: {', '.join(parts)} start again")
    for text in notes:
        new.event_log.add_note(new.seconds_of(new.session.status().end_index), "", text, None)
        new.session.note_change(text)


def carry_settings(old, new, filters: bool = True) -> None:
    """What the user set on the old window, onto the new one (a source switch keeps the
    case's settings). A setting the new source cannot take is said, not fatal."""
    from ui.caseflow import put_settings

    audio = old.audio
    put_settings(
        new,
        filters=old.session.filters.settings if filters and old.session.filters else None,
        detection=old.monitoring.detector.s,
        thresholds_s=old.monitoring.traintime.thresholds_s,
        policies=old.alarms.policies,
        range_uv=old.traces.range_uv,
        volumes=(audio.emg_volume, audio.alarm_volume) if audio is not None else None,
        failed="A setting was not carried over",
    )
