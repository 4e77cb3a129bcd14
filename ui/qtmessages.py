"""Qt's own messages go to the log, not to the clinician's terminal.

Qt writes its warnings to stderr; some are benign noise on every run (the offscreen
platform's "This plugin does not support propagateSizeHints()"). The handler sends them
to the log (the benign ones at debug level) so that the terminal shows only what the
monitor itself has to say. GUI thread: install once, before the first window.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QMessageLogContext, QtMsgType, qInstallMessageHandler

log = logging.getLogger("qt")

#: Messages Qt prints on every run of some platforms, with nothing to act on.
BENIGN = ("This plugin does not support propagateSizeHints()",)

_LEVELS = {
    QtMsgType.QtDebugMsg: logging.DEBUG,
    QtMsgType.QtInfoMsg: logging.INFO,
    QtMsgType.QtWarningMsg: logging.WARNING,
    QtMsgType.QtCriticalMsg: logging.ERROR,
    QtMsgType.QtFatalMsg: logging.CRITICAL,
}


def _handle(mode: QtMsgType, context: QMessageLogContext, message: str) -> None:
    level = logging.DEBUG if any(b in message for b in BENIGN) else _LEVELS.get(mode, 30)
    log.log(level, "%s", message)


def send_qt_messages_to_the_log() -> None:
    """Install the handler (idempotent)."""
    qInstallMessageHandler(_handle)
