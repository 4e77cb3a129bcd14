"""Starting the Qt application: the window, the screenshot mode and the last-resort handler."""

from __future__ import annotations

import logging
import sys
import threading
import traceback
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from drivers.sources import Simulated, SimulatedAmplifier
from monitor.casemodel import CaseModel, Opened
from monitor.problems import Problem, Severity
from monitor.recorder import RecorderError
from monitor.session import Session
from monitor.source import SourceDescription

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


def run_gui(
    model: CaseModel,
    window_s: float = 10.0,
    screenshot: Path | None = None,
    after_s: float = 3.0,
    size: tuple[int, int] = (1600, 900),
    *,
    switchable: bool = False,
    setup_case: bool = False,
    on_window: Callable[[object], None] | None = None,
    simulator: Simulated | None = None,
) -> int:
    """Open the window on a started case and run until it is closed.

    With ``screenshot``, save the window as PNG after ``after_s`` seconds and quit. With
    ``switchable`` the window offers switching the source and setting up a case
    (``setup_case``: at once, before monitoring); a training scenario does not.
    ``on_window(window)`` is called with the first window once it shows (training adds
    its console there). ``simulator`` is the simulated case the source dialog offers
    until the case runs on a simulated source (the command line's options).
    """
    import pyqtgraph as pg
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from ui.gcpolicy import GuiThreadGarbageCollector
    from ui.qtmessages import send_qt_messages_to_the_log

    send_qt_messages_to_the_log()
    pg.setConfigOptions(antialias=False, useOpenGL=False, background="k")
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Facial Nerve Monitor")
    screen = MonitorScreens(window_s, size, switchable, simulator)
    window = screen.open(model)
    install_error_handlers(lambda: screen.window)
    if on_window is not None:
        on_window(window)
    if setup_case and switchable:
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
        model.close()
    finally:  # the worker threads have stopped: collection may run anywhere again
        collector.stop()
        collector.deleteLater()
    return code


class MonitorScreens:
    """The monitor's window on the case, and moving the case to another source.
    GUI thread only."""

    def __init__(
        self,
        window_s: float,
        size: tuple[int, int],
        switchable: bool,
        simulator: Simulated | None = None,
    ) -> None:
        self.window_s = window_s
        self.size = size
        self.switchable = switchable
        #: The simulated case the source dialog offers: the case's last simulated source,
        #: else the command line's (seed, stimulation, bad needles, speed carry over).
        self.simulator = simulator
        self.window = None
        self.model: CaseModel | None = None
        self._switching = False
        self.last_error = ""  # why the last switch did not happen as asked
        from ui.caseflow import CaseFlow

        self.flow = CaseFlow(self)

    def open(self, model: CaseModel):
        """A window on the case's present source (the first, or after a switch)."""
        from ui.mainwindow import MainWindow

        self.model = model
        d = model.description
        if isinstance(d, Simulated):
            self.simulator = d
        elif isinstance(d, SimulatedAmplifier):
            base = self.simulator or Simulated(d.config)
            self.simulator = replace(base, config=d.config)
        window = MainWindow(model, window_s=self.window_s, audio=open_audio(model.session))
        window.simulator = self.simulator
        if self.switchable:  # a case reopens the source: needs a source to switch
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
        self,
        description: SourceDescription,
        release_first: bool = False,
        fallback: SourceDescription | None = None,
    ) -> bool:
        """Open the described source; on success the case and the screen move to it
        (:meth:`CaseModel.adopt`: the settings go on, a running recording goes on in a new
        file, the old source stops) and the screen keeps its range and volumes. A source
        that cannot be opened is said on the problem line and the present one keeps
        running.

        ``release_first``: the new source needs the device the present one holds (the
        same serial port): the present one stops first, and if the new one cannot open,
        ``fallback`` (the present source) is opened again.
        """
        old, model = self.window, self.model
        assert old is not None and model is not None
        self.last_error = ""
        if self._switching:
            self.last_error = "another source is still being opened"
            return False
        self._switching = True
        was_recording = model.recording
        old.show_problem(Problem(Severity.INFO, "Opening the new signal source…"))
        old.setEnabled(False)  # no keys or buttons meanwhile (F9, R, S ...): shortcuts too
        try:
            if release_first:
                model.release()
            try:
                opened = self._open_in_background(description)
                why = ""
            except ValueError as exc:
                why = self.last_error = str(exc)
                if not (release_first and fallback is not None):
                    old.show_problem(
                        Problem(Severity.WARNING, f"The source was not changed: {why}")
                    )
                    return False
                opened = self._open_in_background(fallback)  # ValueError: said below
            if not old.isVisible():  # the monitor was closed meanwhile: go no further
                opened.discard()
                return False
            self._move_to(old, opened, was_recording)
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

    def _move_to(self, old, opened: Opened, was_recording: bool) -> None:
        """The case onto the opened source, a new window on it; the old window goes."""
        model = self.model
        assert model is not None
        if old.audio is not None:  # one sound stream at a time: some cards cannot mix
            old.audio.stop()
        problem = ""
        try:
            model.adopt(opened, record=was_recording)
        except RecorderError as exc:
            problem = str(exc)
        new = self.open(model)
        carry_view(old, new)
        if opened.filters_refused:
            new.show_problem(
                Problem(
                    Severity.WARNING,
                    f"The filters were not carried over ({opened.filters_refused}); the new "
                    "source runs with the default filters.",
                )
            )
        if problem:
            new.show_problem(Problem(Severity.CRITICAL, problem))
        old.close()
        old.deleteLater()  # its buffers and plots go with it

    def _open_in_background(self, description: SourceDescription) -> Opened:
        """``model.open(description)`` on a worker thread, the screen live meanwhile (a
        port that does not answer takes seconds to give up)."""
        from PySide6.QtCore import QEventLoop, QTimer

        model = self.model
        assert model is not None
        result: dict[str, object] = {}

        def work() -> None:
            try:
                result["ok"] = model.open(description)
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
        return result["ok"]  # type: ignore[return-value]


def carry_view(old, new) -> None:
    """What the user set on the old window's view (range, volumes) onto the new one; the
    case's own settings went on with the model."""
    from ui.caseflow import put_view

    audio = old.audio
    volumes = (audio.emg_volume, audio.alarm_volume) if audio is not None else None
    put_view(new, old.traces.range_uv, volumes)
