"""The monitor's main window: live traces, a problem banner and a status bar."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QFont, QKeySequence, QShortcut
from PySide6.QtWidgets import QLabel, QMainWindow, QVBoxLayout, QWidget

from monitor.envelope import Envelope
from monitor.problems import Problem, Severity
from monitor.session import Session, State
from ui import theme
from ui.bridge import SessionBridge
from ui.traces import TraceView

FRAME_MS = 33  # ~30 frames per second
INFO_SHOWN_S = 8.0


class MainWindow(QMainWindow):
    """Shows one session. Owns nothing of the core but a display envelope subscriber.

    All methods run on the GUI thread.
    """

    def __init__(self, session: Session, window_s: float = 10.0) -> None:
        super().__init__()
        self.session = session
        info = session.source.info
        self.setWindowTitle(f"Facial Nerve Monitor — {info.name}")
        self.envelope = Envelope(info.rate, info.n_channels, window_s=window_s, columns=1600)
        session.subscribe("Display", self.envelope)
        self.bridge = SessionBridge(session, self)

        central = QWidget()
        central.setStyleSheet(f"background:{theme.BACKGROUND}; color:{theme.FOREGROUND};")
        layout = QVBoxLayout(central)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        self.banner = QLabel()
        self.banner.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.banner.setWordWrap(True)
        font = QFont()
        font.setPointSize(theme.BANNER_PT)
        font.setBold(True)
        self.banner.setFont(font)
        self.banner.hide()
        layout.addWidget(self.banner)
        self.traces = TraceView(info.labels, info.rate, self.envelope)
        layout.addWidget(self.traces, 1)
        self.setCentralWidget(central)

        self.status_label = QLabel()
        sfont = QFont()
        sfont.setPointSize(theme.STATUS_PT)
        self.status_label.setFont(sfont)
        self.statusBar().setStyleSheet(
            f"background:#101010; color:{theme.FOREGROUND}; border-top:1px solid {theme.GRID};"
        )
        self.statusBar().addWidget(self.status_label, 1)
        self.statusBar().setSizeGripEnabled(False)

        self._banner_until: float | None = None
        self._banner_severity: Severity | None = None
        self.bridge.problem.connect(self.show_problem)
        for key, step in (("+", 1), ("=", 1), ("-", -1)):
            QShortcut(QKeySequence(key), self, activated=lambda s=step: self.traces.step_range(s))

        self.timer = QTimer(self)
        self.timer.setInterval(FRAME_MS)
        self.timer.timeout.connect(self.refresh)
        self.timer.start()
        self.refresh()

    # -- per frame --------------------------------------------------------------------------
    def refresh(self) -> None:
        """Pull the newest data and counters. Never blocks on acquisition."""
        self.traces.refresh()
        self.status_label.setText(self.status_text())
        if self._banner_until is not None and time.monotonic() > self._banner_until:
            self.banner.hide()
            self._banner_until = None
            self._banner_severity = None

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
        return (
            f"{state}   {st.source_name}   {st.n_channels} ch @ {rate}   {clock}   "
            f"{st.samples:,} samples   gaps {st.gaps} ({gap_ms:.0f} ms)   "
            f"overruns {st.overruns}   filter {filt}   ±{self.traces.range_uv:g} µV"
        )

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
        self.banner.setStyleSheet(theme.SEVERITY_STYLE[problem.severity.value] + "padding:6px;")
        self.banner.setText(problem.text)
        self.banner.show()
        self._banner_severity = problem.severity
        self._banner_until = (
            None if problem.severity is Severity.CRITICAL else time.monotonic() + INFO_SHOWN_S
        )

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt override
        self.timer.stop()
        self.session.stop()
        super().closeEvent(event)
