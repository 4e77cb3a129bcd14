"""Starting the Qt application: the window, the screenshot mode and the last-resort handler."""

from __future__ import annotations

import logging
import sys
import threading
import traceback
from pathlib import Path

from monitor.evoked import EvokedAnalyzer
from monitor.monitoring import FreeRunMonitoring
from monitor.problems import Problem, Severity
from monitor.session import Session

log = logging.getLogger(__name__)


def open_audio(session: Session):
    """EMG audio and alarm tones on the sound card; a null output with a notice if none."""
    from monitor.emgaudio import EmgAudio
    from ui.audio import AudioOutput

    info = session.source.info
    emg = EmgAudio(info.rate, info.n_channels)
    session.subscribe("EMG audio", emg)
    audio = AudioOutput(emg)
    if not audio.start():
        log.warning("sound output unavailable: %s", audio.notice)
    return audio


def install_error_handlers(window) -> None:
    """Errors in screen callbacks and worker threads are logged and shown on the problem
    line; the monitor neither crashes with a traceback nor freezes behind a modal box."""

    def excepthook(exc_type, exc, tb) -> None:
        log.error(
            "unhandled error in the GUI:\n%s",
            "".join(traceback.format_exception(exc_type, exc, tb)),
        )
        window.show_problem(
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
) -> int:
    """Open the window on a started session and run until it is closed.

    ``monitoring`` and ``evoked`` are the session's free-run monitoring and evoked-response
    analyzer, created before the session started (the window attaches them itself when
    None). With ``screenshot``, save the window as PNG after ``after_s`` seconds and quit.
    """
    import pyqtgraph as pg
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from ui.mainwindow import MainWindow

    pg.setConfigOptions(antialias=False, useOpenGL=False, background="k")
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Facial Nerve Monitor")
    window = MainWindow(
        session,
        monitoring,
        window_s=window_s,
        audio=open_audio(session),
        evoked=evoked,
        recorder=recorder,
        record_folder=record_folder,
        case_id=case_id,
    )
    window.resize(*size)
    window.show()

    install_error_handlers(window)
    if screenshot is not None:

        def grab() -> None:
            window.refresh()
            ok = window.grab().save(str(screenshot), "PNG")
            if not ok:
                log.error("could not write screenshot to %s", screenshot)
            app.exit(0 if ok else 1)

        QTimer.singleShot(int(after_s * 1000), grab)
    code = app.exec()
    if window.review is not None:
        window.review.close_down()  # the re-detection child process goes too
    session.stop()
    return code
