"""The monitor's log file: in the platform's folder for logs, rotated, at a chosen level.

Technical details (tracebacks, device chatter) go to the log, never to the clinician's
screen or terminal. The file rotates at :data:`MAX_BYTES`, keeping :data:`BACKUPS` older
files, so a monitor left running for weeks never fills the disk with its log.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys
from pathlib import Path

APP = "facial-nerve-monitor"
LOG_NAME = "monitor.log"
MAX_BYTES = 5 * 2**20
BACKUPS = 4
LEVELS = ("debug", "info", "warning", "error")


def default_log_path() -> Path:
    """Where the log goes on this platform.

    Linux and other Unix: ``$XDG_STATE_HOME/facial-nerve-monitor/monitor.log`` (default
    ``~/.local/state``); macOS: ``~/Library/Logs/facial-nerve-monitor/monitor.log``;
    Windows: ``%LOCALAPPDATA%\\facial-nerve-monitor\\Logs\\monitor.log``.
    """
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
        return base / APP / "Logs" / LOG_NAME
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Logs" / APP / LOG_NAME
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / APP / LOG_NAME


def setup_logging(path: Path | None = None, level: str = "info") -> Path:
    """Send the process's log records to the rotating log file (or, if it cannot be
    opened, to stderr); returns the file's path. Call once per process, first thing."""
    path = path or default_log_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8"
        )
    except OSError:
        handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=getattr(logging, level.upper()), handlers=[handler])
    return path
