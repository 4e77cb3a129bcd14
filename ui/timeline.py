"""The review timeline: the whole recording at a glance, with where the replay is.

Two rows over the recording's full length: on top what the file itself says (its notes,
stimuli, the recorded alarms), below what the detectors find when they run over it again
(A-trains, bursts, spikes ... in their screen colours, the LSR disappearance). A white line
is the replay's position; a click moves it there.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QMouseEvent, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from presentation import theme
from presentation.feed import hhmmss

LEFT = 84  # like the traces' µV axis, so times line up with the traces above
ROW_H = 22
TICK_H = 16


@dataclass(frozen=True, slots=True)
class Mark:
    """One thing on the timeline.

    Attributes
    ----------
    start_s, stop_s : float
        Recording time it covers (equal for a moment).
    kind : str
        ``"note"``, ``"stim"``, ``"alarm"`` (from the file) or an event class
        (``"a_train"``, ``"burst"`` ...) or ``"lsr_gone"`` (found now).
    text : str
        What a tooltip or a jump announces.
    """

    start_s: float
    stop_s: float
    kind: str
    text: str = ""


FILE_COLOURS = {"note": "#ffffff", "stim": "#607d8b", "alarm": "#ffd600"}
LSR_GONE = "#00e676"


class Timeline(QWidget):
    """Recording-wide timeline with the file's marks, the re-detected events and the
    replay position. GUI thread only.

    Signals
    -------
    seek_requested(float)
        Recording seconds the user clicked.
    """

    seek_requested = Signal(float)

    def __init__(self, duration_s: float, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.duration_s = max(float(duration_s), 1e-6)
        self.position_s = 0.0
        self.file_marks: list[Mark] = []
        self.found_marks: list[Mark] = []
        self.found_text = "Re-detecting…"
        self._font = QFont()
        self._font.setPointSize(theme.CAPTION_PT)
        self.setMinimumHeight(2 * ROW_H + TICK_H + 8)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip("Click to jump there")

    # -- data ---------------------------------------------------------------------------
    def set_file_marks(self, marks: list[Mark]) -> None:
        self.file_marks = sorted(marks, key=lambda m: m.start_s)
        self.update()

    def set_found_marks(self, marks: list[Mark], text: str = "") -> None:
        self.found_marks = sorted(marks, key=lambda m: m.start_s)
        self.found_text = text
        self.update()

    def set_found_text(self, text: str) -> None:
        self.found_text = text
        self.update()

    def set_position(self, seconds: float) -> None:
        seconds = min(max(0.0, seconds), self.duration_s)
        if abs(seconds - self.position_s) * self._px_per_s() >= 1:
            self.position_s = seconds
            self.update()

    # -- geometry -----------------------------------------------------------------------
    def _px_per_s(self) -> float:
        return max(1, self.width() - LEFT - 8) / self.duration_s

    def x_of(self, seconds: float) -> float:
        return LEFT + seconds * self._px_per_s()

    def seconds_at(self, x: float) -> float:
        return min(max(0.0, (x - LEFT) / self._px_per_s()), self.duration_s)

    # -- Qt -----------------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        if event.button() == Qt.MouseButton.LeftButton and event.position().x() >= LEFT - 4:
            self.seek_requested.emit(self.seconds_at(event.position().x()))

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt override
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(theme.PANEL))
        p.setFont(self._font)
        right = self.width() - 8
        rows = ((4, "File", self.file_marks), (4 + ROW_H, "Found", self.found_marks))
        for top, name, marks in rows:
            p.setPen(QColor(theme.MUTED))
            p.drawText(QRectF(4, top, LEFT - 8, ROW_H), Qt.AlignmentFlag.AlignVCenter, name)
            p.fillRect(QRectF(LEFT, top + 2, right - LEFT, ROW_H - 4), QColor("#1c1c1c"))
            self._draw_marks(p, marks, top)
        if not self.found_marks and self.found_text:
            p.setPen(QColor(theme.MUTED))
            p.drawText(
                QRectF(LEFT + 6, 4 + ROW_H, right - LEFT, ROW_H),
                Qt.AlignmentFlag.AlignVCenter,
                self.found_text,
            )
        self._draw_ticks(p, 4 + 2 * ROW_H)
        x = self.x_of(self.position_s)
        p.setPen(QPen(QColor("#ffffff"), 3))
        p.drawLine(QPointF(x, 2), QPointF(x, 4 + 2 * ROW_H))
        p.end()

    def _draw_marks(self, p: QPainter, marks: list[Mark], top: int) -> None:
        # Stimuli first and thin (there may be thousands), then everything else over them.
        for stims_pass in (True, False):
            for m in marks:
                if (m.kind == "stim") is not stims_pass:
                    continue
                colour = QColor(
                    LSR_GONE
                    if m.kind == "lsr_gone"
                    else FILE_COLOURS.get(m.kind) or theme.event_colour(m.kind)
                )
                x0 = self.x_of(m.start_s)
                w = max(2.0 if m.kind != "stim" else 1.0, self.x_of(m.stop_s) - x0)
                inset = 6 if m.kind == "stim" else 3
                p.fillRect(QRectF(x0, top + inset, w, ROW_H - 2 * inset), colour)

    def _draw_ticks(self, p: QPainter, top: int) -> None:
        p.setPen(QColor(theme.MUTED))
        span = self.duration_s
        step = next(
            (s for s in (1, 2, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600) if span / s <= 8),
            7200,
        )
        t = 0.0
        while t <= span + 1e-9:
            x = self.x_of(t)
            p.drawLine(QPointF(x, top), QPointF(x, top + 4))
            text = hhmmss(t) if span >= 60 else f"{t:g} s"
            p.drawText(QRectF(x - 40, top + 2, 80, TICK_H), Qt.AlignmentFlag.AlignCenter, text)
            t += step


def next_mark(marks: list[Mark], seconds: float, forward: bool) -> Mark | None:
    """The first mark starting after ``seconds`` (forward), or the last one starting
    before it (back); ``marks`` sorted by start."""
    if forward:
        return next((m for m in marks if m.start_s > seconds), None)
    return next((m for m in reversed(marks) if m.start_s < seconds), None)
