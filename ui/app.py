"""Starting the Qt application: the window, the screenshot mode and the last-resort handler."""

from __future__ import annotations

import logging
import sys
import traceback
from pathlib import Path

from monitor.monitoring import FreeRunMonitoring
from monitor.session import Session

log = logging.getLogger(__name__)


def run_gui(
    session: Session,
    window_s: float = 10.0,
    screenshot: Path | None = None,
    after_s: float = 3.0,
    size: tuple[int, int] = (1600, 900),
    monitoring: FreeRunMonitoring | None = None,
) -> int:
    """Open the window on a started session and run until it is closed.

    ``monitoring`` is the session's free-run monitoring, created before the session
    started (the window attaches one itself when it is None). With ``screenshot``, save
    the window as PNG after ``after_s`` seconds and quit.
    """
    import pyqtgraph as pg
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox

    from ui.mainwindow import MainWindow

    pg.setConfigOptions(antialias=False, useOpenGL=False, background="k")
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Facial Nerve Monitor")
    window = MainWindow(session, monitoring, window_s=window_s)
    window.resize(*size)
    window.show()

    def excepthook(exc_type, exc, tb) -> None:
        # A bug in a screen callback must not take the monitor down with a traceback.
        log.error(
            "unhandled error in the GUI:\n%s",
            "".join(traceback.format_exception(exc_type, exc, tb)),
        )
        QMessageBox.warning(
            window,
            "Display error",
            "The display hit an internal error; monitoring and recording continue. "
            "Details are in the log.",
        )

    sys.excepthook = excepthook
    if screenshot is not None:

        def grab() -> None:
            window.refresh()
            ok = window.grab().save(str(screenshot), "PNG")
            if not ok:
                log.error("could not write screenshot to %s", screenshot)
            app.exit(0 if ok else 1)

        QTimer.singleShot(int(after_s * 1000), grab)
    code = app.exec()
    session.stop()
    return code
