"""The stimulator's state, always on the main screen: one strip, read from 2 m.

``Stim ON 2.0 mA 0.2 ms 1 Hz — zygomatic — pulses arriving`` on green, ``Stim OFF``,
``... PULSES NOT ARRIVING`` on yellow (words and colours: :mod:`presentation.stimstatus`).
The strip subscribes a :class:`~presentation.stimstatus.PulseWatch` to the session (the
stimulus markers of the blocks) and reads the source's stimulator settings on its own
timer; the window only places it. GUI thread only.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QCloseEvent, QFont
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget

from monitor.session import Session, State
from presentation import theme
from presentation.stimstatus import PulseWatch, StimStatus, StimWatch

REFRESH_MS = 250
NO_SIGNAL_TEXT = "Stimulator: no signal — pulses not known"


class StimStatusStrip(QLabel):
    """The stimulator status strip of one session (one source).

    Attributes
    ----------
    status : StimStatus
        What it shows now.
    """

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("stimStatus")
        self.session = session
        self.pulses = PulseWatch()
        self.watch = StimWatch(self.pulses)
        # Not essential: losing it only loses the strip's "arriving"; monitoring goes on.
        session.subscribe("Stimulator status", self.pulses)
        font = QFont()
        font.setPointSize(theme.STIM_STATUS_PT)
        font.setBold(True)
        self.setFont(font)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setAlignment(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.setMinimumWidth(0)  # a narrow window elides the tail, never widens the screen
        self.status = StimStatus("", "", "", "")
        self.timer = QTimer(self)
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(self.refresh)
        self.timer.start()
        self.refresh()

    def current_status(self) -> StimStatus:
        """The stimulator's state now (settings from the source, pulses from the signal)."""
        try:
            settings = self.session.source.stimulator()
        except Exception:  # a source that cannot say: nothing to show but "no stimulator"
            settings = None
        st = self.session.status()
        if st.state is not State.RUNNING:
            # No samples, no pulses to see: "arriving" would be a stale word.
            return StimStatus("none", NO_SIGNAL_TEXT, theme.PANEL, theme.MUTED)
        return self.watch.status(settings, st.end_index, st.rate or 1.0)

    def refresh(self) -> None:
        status = self.current_status()
        if status == self.status:
            return
        self.status = status
        self.setText(status.text)
        self.setToolTip(status.text)
        self.setStyleSheet(
            f"#stimStatus {{ background:{status.background}; color:{status.foreground};"
            " padding:2px 10px; }"
        )

    def text_shown(self) -> str:
        return self.status.text

    def close_down(self) -> None:
        """Stop polling and leave the session (its window closes; idempotent)."""
        self.timer.stop()
        self.session.unsubscribe(self.pulses)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        self.close_down()
        super().closeEvent(event)
