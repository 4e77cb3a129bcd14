"""Train time per channel: the seconds of A-train so far, against the 0.5 s and 10 s marks.

One :class:`TrainTimeBar` per channel, lined up with the channel's trace to the right of
the traces (:class:`TrainTimePanel`). The bar is on a log scale (0.1-100 s) because the
risk of palsy grows with the logarithm of the train time (docs/clinical.md §2); its colour is
the level: green below the first threshold, yellow past it, red past the second.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import QPushButton, QToolButton, QWidget

from presentation import theme

SCALE_S = (0.1, 100.0)  # the bar's log-scale ends
PANEL_WIDTH = 210
#: Rows lower than this (many channels) draw the number, the bar and the button on one line.
ONE_LINE_BELOW_PX = 48


def scale_pos(seconds: float) -> float:
    """Where ``seconds`` falls on the bar, 0 (left) to 1 (right)."""
    lo, hi = SCALE_S
    if seconds <= 0:
        return 0.0
    return min(1.0, max(0.0, math.log10(seconds / lo) / math.log10(hi / lo)))


def seconds_text(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds < 100 else f"{seconds:.0f} s"


class TrainTimeBar(QWidget):
    """One channel's train time: large number, log bar, threshold marks, reset button.

    GUI thread only; ``set_seconds`` repaints only when what is shown changes.
    """

    reset_requested = Signal(int)  # channel

    def __init__(
        self, channel: int, label: str, thresholds_s: tuple[float, float], parent=None
    ) -> None:
        super().__init__(parent)
        self.channel = channel
        self.label = label
        self.thresholds_s = thresholds_s
        self.seconds = 0.0
        self._shown: tuple = ()
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setToolTip(
            f"{label}: cumulative A-train time. Marks at {thresholds_s[0]:g} s and "
            f"{thresholds_s[1]:g} s (Prell et al.); log scale."
        )
        self.reset_button = QToolButton(self)
        self.reset_button.setText("Reset")
        self.reset_button.setToolTip(f"Reset the train time of {label} (asks for a reason)")
        self.reset_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        bfont = QFont()
        bfont.setPointSize(theme.CAPTION_PT)
        self.reset_button.setFont(bfont)
        self.reset_button.setStyleSheet(
            f"QToolButton {{ background:#262626; color:{theme.FOREGROUND}; "
            f"border:1px solid #555; border-radius:3px; padding:1px 6px; }}"
            "QToolButton:pressed { background:#444; }"
        )
        self.reset_button.clicked.connect(lambda: self.reset_requested.emit(self.channel))
        self._num_font = QFont()
        self._num_font.setBold(True)
        self._cap_font = QFont()
        self._cap_font.setPointSize(theme.CAPTION_PT)
        self.number_px = 0  # the number's height (px) when last drawn

    @property
    def level(self) -> int:
        return sum(self.seconds >= th for th in self.thresholds_s)

    @property
    def text(self) -> str:
        return seconds_text(self.seconds)

    def set_seconds(self, seconds: float) -> None:
        self.seconds = seconds
        shown = (self.text, self.level, round(scale_pos(seconds) * max(1, self.width())))
        if shown != self._shown:
            self._shown = shown
            self.update()

    @property
    def one_line(self) -> bool:
        return self.height() < ONE_LINE_BELOW_PX

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        b = self.reset_button
        b.adjustSize()
        if self.one_line:
            b.setFixedHeight(min(b.sizeHint().height(), self.height()))
            b.move(self.width() - b.width() - 2, (self.height() - b.height()) // 2)
        else:
            b.setFixedHeight(b.sizeHint().height())
            b.move(self.width() - b.width() - 4, 2)

    def _colour(self) -> QColor:
        return QColor(
            theme.TRAINTIME_COLOURS[min(self.level, 2)] if self.seconds > 0 else theme.MUTED
        )

    def _one_line_font(self) -> QFont:
        """The number's type on a low row: as tall as the row allows (12-26 px)."""
        self.number_px = max(12, min(26, self.height() - 4))
        self._num_font.setPixelSize(self.number_px)
        return self._num_font

    def _paint_one_line(self, p: QPainter, colour: QColor) -> None:
        """A low row: the number, then the bar with its marks, then the button."""
        w, h = self.width(), self.height()
        pad = 6
        p.setFont(self._one_line_font())
        p.setPen(colour)
        num_w = p.fontMetrics().horizontalAdvance("00.0 s")
        p.drawText(
            QRectF(pad, 0, num_w, h),
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            self.text,
        )
        left = pad + num_w + 6
        right = w - self.reset_button.width() - 8
        bar_h = max(4.0, min(10.0, h * 0.3))
        bar = QRectF(left, (h - bar_h) / 2, max(10.0, right - left), bar_h)
        p.fillRect(bar, QColor("#2a2a2a"))
        if self.seconds > 0:
            fill = scale_pos(self.seconds) * bar.width()
            p.fillRect(QRectF(bar.left(), bar.top(), max(3.0, fill), bar.height()), colour)
        pen = QPen(QColor(theme.FOREGROUND))
        pen.setWidth(2)
        p.setPen(pen)
        for th in self.thresholds_s:
            x = bar.left() + scale_pos(th) * bar.width()
            p.drawLine(int(x), int(bar.top() - 3), int(x), int(bar.bottom() + 3))

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt override
        p = QPainter(self)
        w, h = self.width(), self.height()
        p.fillRect(0, 0, w, h, QColor(theme.PANEL))
        colour = self._colour()
        if self.one_line:
            self._paint_one_line(p, colour)
            p.end()
            return
        pad = 8
        y = 2.0
        button_w = self.reset_button.width() + 8
        tall = h >= 96
        if tall:  # caption on the button's line, the number under it
            p.setFont(self._cap_font)
            p.setPen(QColor(theme.MUTED))
            line_h = max(p.fontMetrics().height(), self.reset_button.height()) + 2
            p.drawText(
                QRectF(pad, y, w - 2 * pad - button_w, line_h),
                Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                "A-train time",
            )
            y += line_h
            button_w = 0
        p.setFont(self._cap_font)
        bar_h = max(8.0, min(16.0, h * 0.12))
        ticks_h = p.fontMetrics().height() if h >= 72 else 0
        num_px = self.number_px = int(max(12, min(44, (h - y - bar_h - ticks_h - 8) / 1.2)))
        self._num_font.setPixelSize(num_px)
        p.setFont(self._num_font)
        p.setPen(colour)
        num_top = y
        num_h = num_px * 1.2
        p.drawText(
            QRectF(pad, num_top, w - 2 * pad - button_w, num_h),
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            self.text,
        )
        y = num_top + num_h + 2
        bar = QRectF(pad, y, w - 2 * pad, bar_h)
        p.fillRect(bar, QColor("#2a2a2a"))
        fill = scale_pos(self.seconds) * bar.width()
        if self.seconds > 0:
            p.fillRect(QRectF(bar.left(), bar.top(), max(3.0, fill), bar.height()), colour)
        pen = QPen(QColor(theme.FOREGROUND))
        pen.setWidth(2)
        p.setPen(pen)
        p.setFont(self._cap_font)
        for th in self.thresholds_s:
            x = bar.left() + scale_pos(th) * bar.width()
            p.drawLine(int(x), int(bar.top() - 3), int(x), int(bar.bottom() + 3))
            if ticks_h:
                p.drawText(
                    QRectF(x - 30, bar.bottom() + 2, 60, ticks_h),
                    Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop,
                    f"{th:g} s",
                )
        p.end()


class TrainTimePanel(QWidget):
    """The column of train-time bars, each lined up with its channel's plot.

    ``align`` takes each row's top and bottom (in this widget's pixels) from the trace
    view; a "Reset all" button sits under the last row. GUI thread only.
    """

    reset_requested = Signal(int)  # channel, or -1 for all channels

    def __init__(
        self, labels: tuple[str, ...], thresholds_s: tuple[float, float], parent=None
    ) -> None:
        super().__init__(parent)
        self.setFixedWidth(PANEL_WIDTH)
        self.bars = [TrainTimeBar(i, lab, thresholds_s, self) for i, lab in enumerate(labels)]
        for bar in self.bars:
            bar.reset_requested.connect(self.reset_requested)
        self.reset_all = QPushButton("Reset all…", self)
        self.reset_all.setToolTip("Reset the train time of every channel (asks for a reason)")
        self.reset_all.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        font = QFont()
        font.setPointSize(theme.CAPTION_PT + 1)
        self.reset_all.setFont(font)
        self.reset_all.setStyleSheet(
            f"QPushButton {{ background:#262626; color:{theme.FOREGROUND}; "
            f"border:1px solid #555; border-radius:3px; padding:2px 8px; }}"
            "QPushButton:pressed { background:#444; }"
        )
        self.reset_all.clicked.connect(lambda: self.reset_requested.emit(-1))
        self._spans: list[tuple[int, int]] = []

    def align(self, spans: list[tuple[int, int]]) -> None:
        if spans == self._spans:
            return
        self._spans = list(spans)
        for bar, (top, bottom) in zip(self.bars, spans, strict=False):
            bar.setGeometry(0, top, self.width(), max(10, bottom - top))
        if spans:  # under the last row, inside the panel (a low time-axis row: smaller)
            b = self.reset_all
            b.adjustSize()
            room = self.height() - spans[-1][1] - 2
            b.setFixedHeight(max(12, min(b.sizeHint().height(), room)))
            b.move(8, spans[-1][1] + max(2, min(8, room - b.height())))

    def set_seconds(self, seconds: list[float]) -> None:
        for bar, s in zip(self.bars, seconds, strict=False):
            bar.set_seconds(s)

    def set_thresholds(self, thresholds_s: tuple[float, float]) -> None:
        """New warning levels (a user's settings): the marks and colours follow."""
        for bar in self.bars:
            bar.thresholds_s = tuple(thresholds_s)
            bar.setToolTip(
                f"{bar.label}: cumulative A-train time. Marks at {thresholds_s[0]:g} s and "
                f"{thresholds_s[1]:g} s (Prell et al.); log scale."
            )
            bar.update()
