"""The alarm banner: the most important alarm in words, in the IEC 60601-1-8 colours.

High priority: red, flashing at 2 Hz (50 % on); medium: yellow, flashing at 0.5 Hz;
low: cyan, constant (docs/clinical.md §6). The IEC priority marks (!!!, !!, !) stand before
the text, so the priority does not depend on colour vision. An acknowledged alarm stays
on screen while its condition lasts, lit but no longer flashing; a latched alarm (its
condition has ended) flashes until it is acknowledged. Further alarms are counted.

The banner never runs a timer of its own: the window's frame timer calls ``show_alarms``.
"""

from __future__ import annotations

import math

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout

from monitor.alarms import Alarm, AlarmState, Priority
from presentation import theme

BANNER_HEIGHT = 84
_BUTTON_STYLE = (
    "QPushButton {{ background:{bg}; color:{fg}; border:2px solid {border}; "
    "border-radius:4px; padding:4px 10px; }}"
    "QPushButton:pressed {{ background:#555; }}"
)


def order(alarms: list[Alarm]) -> list[Alarm]:
    """Highest priority first; within a priority, what still needs a response first
    (active or latched before acknowledged), then newest first."""
    return sorted(
        alarms,
        key=lambda a: (-int(a.priority), a.state is AlarmState.ACKNOWLEDGED, -a.since_wall),
    )


def alarm_words(a: Alarm) -> str:
    prefix = "Technical alarm: " if a.technical else ""
    return prefix + a.text


def state_words(a: Alarm) -> str:
    if a.state is AlarmState.ACKNOWLEDGED:
        return "acknowledged"
    if a.state is AlarmState.LATCHED:
        return "ended — acknowledge"
    return ""


class FittingLabel(QLabel):
    """A word-wrapped label that steps its font down until the text fits its height."""

    def __init__(self, text: str, sizes_pt: tuple[int, ...]) -> None:
        super().__init__(text)
        self.sizes_pt = sizes_pt
        self.setWordWrap(True)
        self._fitted: tuple = ()

    def setText(self, text: str) -> None:  # noqa: N802 - Qt override
        super().setText(text)
        self._fit()

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        key = (self.text(), self.width(), self.height())
        if key == self._fitted or self.width() < 50:
            return
        self._fitted = key
        font = QFont(self.font())
        for pt in self.sizes_pt:
            font.setPointSize(pt)
            rect = QFontMetrics(font).boundingRect(
                0, 0, self.width(), 10_000, Qt.TextFlag.TextWordWrap, self.text()
            )
            if rect.height() <= self.height():
                break
        if font.pointSize() != self.font().pointSize():
            self.setFont(font)


def countdown(seconds: float) -> str:
    s = math.ceil(seconds)
    return f"{s // 60}:{s % 60:02d}"


class AlarmBanner(QFrame):
    """Top of the screen: the alarm, the count of others, Acknowledge and Audio pause.

    GUI thread only. Signals ``acknowledge_clicked`` and ``audio_pause_clicked`` are
    emitted by the buttons; the window connects them (and the keys) to the alarm manager.
    """

    acknowledge_clicked = Signal()
    audio_pause_clicked = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("alarmBanner")
        self.setFixedHeight(BANNER_HEIGHT)
        self.top: Alarm | None = None
        self.count = 0
        self.lit = True
        self._style_key: tuple = ()
        self._phase_key: tuple = ()
        self._phase_t0 = 0.0
        self._paused_text = ""
        self._pause_style: tuple = ()
        self._build()
        self._set_pause_look(0.0)
        self._apply_style(*theme.NO_ALARM)

    def _build(self) -> None:
        big = QFont()
        big.setPointSize(theme.BANNER_PT)
        big.setBold(True)
        small = QFont()
        small.setPointSize(theme.BUTTON_PT)
        small.setBold(True)

        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 4, 8, 4)
        layout.setSpacing(12)
        self.marks_label = QLabel()
        self.marks_label.setFont(big)
        self.marks_label.setFixedWidth(70)
        self.marks_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(self.marks_label)
        self.text_label = FittingLabel("No alarms", (theme.BANNER_PT, 20, 18, 16, 14, 12))
        self.text_label.setFont(big)
        self.text_label.setAlignment(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(self.text_label, 1)
        side = QVBoxLayout()
        side.setSpacing(0)
        self.state_label = QLabel()
        self.state_label.setFont(small)
        self.state_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.more_label = QLabel()
        self.more_label.setFont(small)
        self.more_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        side.addWidget(self.state_label)
        side.addWidget(self.more_label)
        layout.addLayout(side)
        side_w = 190
        self.state_label.setFixedWidth(side_w)
        self.more_label.setFixedWidth(side_w)

        self.ack_button = QPushButton("Acknowledge  (A)")
        self.pause_button = QPushButton("Audio pause  (P)")
        for b, w in ((self.ack_button, 230), (self.pause_button, 250)):
            b.setFont(small)
            b.setFixedSize(w, BANNER_HEIGHT - 16)
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            layout.addWidget(b)
        self.ack_button.setToolTip("Acknowledge the alarms: their sound stops (keys A, F2)")
        self.pause_button.setToolTip(
            "Pause all alarm sound for 2 minutes; press again to resume (keys P, F3)"
        )
        self.ack_button.clicked.connect(self.acknowledge_clicked)
        self.pause_button.clicked.connect(self.audio_pause_clicked)
        self.ack_button.setStyleSheet(
            _BUTTON_STYLE.format(bg="#202020", fg=theme.FOREGROUND, border="#777")
        )

    # -- per frame ------------------------------------------------------------------------
    def show_alarms(self, alarms: list[Alarm], paused_s: float, now: float) -> None:
        """Show ``alarms`` (any order) at monotonic time ``now`` with ``paused_s`` of audio
        pause left. Cheap when nothing changed: no text or style is set twice."""
        ordered = order(alarms)
        self.top = ordered[0] if ordered else None
        self.count = len(ordered)
        self._set_pause_look(paused_s)
        top = self.top
        if top is None:
            self._set_texts("", "No alarms", "", "")
            self.lit = True
            self._apply_style(*theme.NO_ALARM)
            return
        prio = int(top.priority)
        more = len(ordered) - 1
        more_text = f"+{more} more alarm{'s' if more > 1 else ''}" if more else ""
        self._set_texts(theme.ALARM_MARKS[prio], alarm_words(top), state_words(top), more_text)
        if more:
            tip = "\n".join(f"{theme.ALARM_MARKS[int(a.priority)]} {a.text}" for a in ordered[1:])
            if self.more_label.toolTip() != tip:
                self.more_label.setToolTip(tip)
        freq, duty = theme.ALARM_FLASH[prio]
        flashing = freq > 0 and top.state is not AlarmState.ACKNOWLEDGED
        phase_key = (top.key, top.state, prio)
        if phase_key != self._phase_key:  # a new alarm starts lit
            self._phase_key = phase_key
            self._phase_t0 = now
        self.lit = not flashing or ((now - self._phase_t0) * freq) % 1.0 < duty
        bg, fg = (theme.ALARM_ON if self.lit else theme.ALARM_OFF)[prio]
        self._apply_style(bg, fg)

    @property
    def priority(self) -> Priority | None:
        return None if self.top is None else self.top.priority

    @property
    def colour(self) -> str:
        """The IEC colour of the alarm shown (its lit background), or the quiet panel's."""
        return theme.NO_ALARM[0] if self.top is None else theme.ALARM_ON[int(self.top.priority)][0]

    @property
    def background(self) -> str:
        """The background painted now (the dark phase while a flash is off)."""
        return self._style_key[0]

    @property
    def paused_text(self) -> str:
        return self._paused_text

    # -- internals --------------------------------------------------------------------------
    def _set_texts(self, marks: str, text: str, state: str, more: str) -> None:
        for label, value in (
            (self.marks_label, marks),
            (self.text_label, text),
            (self.state_label, state),
            (self.more_label, more),
        ):
            if label.text() != value:
                label.setText(value)

    def _apply_style(self, bg: str, fg: str) -> None:
        if (bg, fg) == self._style_key:
            return
        self._style_key = (bg, fg)
        self.setStyleSheet(
            f"#alarmBanner {{ background:{bg}; border-bottom:1px solid {theme.GRID}; }}"
            f"QLabel {{ color:{fg}; background:transparent; }}"
        )

    def _set_pause_look(self, paused_s: float) -> None:
        if paused_s > 0:
            text = f"Audio paused {countdown(paused_s)}"
            style = ("#e8e8e8", "#000000", "#ffffff")  # bright, and no alarm colour
        else:
            text = "Audio pause  (P)"
            style = ("#202020", theme.FOREGROUND, "#777")
        if text != self._paused_text:
            self._paused_text = text
            self.pause_button.setText(text)
        key = ("pause", *style)
        if self._pause_style != key:
            self._pause_style = key
            bg, fg, border = style
            self.pause_button.setStyleSheet(_BUTTON_STYLE.format(bg=bg, fg=fg, border=border))
