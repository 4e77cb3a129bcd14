"""The replay controls under the traces: play/pause, speed, jump to events, the timeline.

Keys (also on the buttons): Space play/pause, Left/Right previous/next event, [ and ]
slower/faster, Home back to the start. A jump to an event starts a few seconds before it
so that it scrolls into view; while paused, the replay plays through the event and holds
again just after it.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import cast

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QKeySequence, QShortcut
from PySide6.QtWidgets import QComboBox, QFrame, QHBoxLayout, QLabel, QWidget

from monitor.block import NoteMarker, StimMarker
from monitor.caserecording import EVENT_NAMES
from monitor.source import Seekable, Source
from presentation import theme
from presentation.feed import hhmmss
from ui.actionbar import action_button
from ui.redetect import Redetection
from ui.timeline import Mark, Timeline, next_mark

SPEEDS = (0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0)
PREROLL_S = 3.0  # a jump to an event lands this long before it
HOLD_AFTER_S = 1.0  # a jump while paused plays on until this long after the event
#: Marks starting this close together are one stop for next/previous: a recording's own
#: annotation of an event and the same event found again are one event to the reviewer.
JOIN_S = 0.5


#: Our own recordings name the events they annotate: drawn in the event's colour.
RECORDED_EVENTS = {name: kind for kind, name in EVENT_NAMES.items()}
#: Per-stimulus evoked measurements: as many as the stimuli, shown by the stimulus marks.
_MEASUREMENT = ("LSR #", "Z-L #", "EMG #")


def stops(marks: list[Mark]) -> list[Mark]:
    """What next/previous stop at: the marks by start, each one starting within
    :data:`JOIN_S` of the stop before it merged into that stop (which then covers both)."""
    out: list[Mark] = []
    for m in sorted(marks, key=lambda m: m.start_s):
        if out and m.start_s - out[-1].start_s <= JOIN_S:
            out[-1] = replace(out[-1], stop_s=max(out[-1].stop_s, m.stop_s))
        else:
            out.append(m)
    return out


def file_marks(source: Seekable) -> list[Mark]:
    """The recording's own annotations as timeline marks (recording seconds)."""
    rate = source.info.rate
    marks = []
    for m in source.annotations:
        t = m.index / rate
        if isinstance(m, StimMarker):
            marks.append(Mark(t, t, "stim", "stimulus"))
        elif isinstance(m, NoteMarker) and not m.text.startswith(_MEASUREMENT):
            first = m.text.split(" ", 1)[0]
            kind = "alarm" if first.lower() == "alarm" else RECORDED_EVENTS.get(first, "note")
            marks.append(Mark(t, t + m.duration_s, kind, m.text))
    return marks


class ReviewBar(QFrame):
    """Controls of a replay, driving a seekable source (:class:`~monitor.source.Seekable`).

    GUI thread only; it talks to the source through the source's thread-safe controls.
    Call :meth:`refresh` from the window's frame timer.
    """

    def __init__(
        self, source: Seekable, parent: QWidget | None = None, redetect: bool = True
    ) -> None:
        super().__init__(parent)
        self.source = source
        self._current: Mark | None = None  # the event last jumped to
        self.setStyleSheet(f"background:{theme.PANEL}; color:{theme.FOREGROUND};")
        font = QFont()
        font.setPointSize(theme.BUTTON_PT)
        row = QHBoxLayout(self)
        row.setContentsMargins(6, 4, 6, 4)
        row.setSpacing(8)

        self.play_button = action_button("❚❚ Pause (Space)", self.toggle_play, font)
        self.prev_button = action_button("◀ Event", lambda: self.jump_event(False), font)
        self.next_button = action_button("Event ▶", lambda: self.jump_event(True), font)
        self.speed = QComboBox()
        self.speed.setFont(font)
        self.speed.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        # The speed asked for on the command line is offered too, if it is not a usual one.
        self.speeds = tuple(sorted({*SPEEDS, source.speed}))
        self.speed.addItems([f"{s:g}x" for s in self.speeds])
        self.speed.setCurrentIndex(self.speeds.index(source.speed))
        self.speed.currentIndexChanged.connect(lambda i: self.source.set_speed(self.speeds[i]))
        self.speed.setToolTip("Replay speed ([ slower, ] faster)")
        self.clock = QLabel()
        self.clock.setFont(font)
        self.timeline = Timeline(source.duration_s)
        self.timeline.seek_requested.connect(self.seek)
        self.timeline.set_file_marks(file_marks(source))
        for w in (self.play_button, self.prev_button, self.next_button, self.speed, self.clock):
            row.addWidget(w)
        row.addWidget(self.timeline, 1)

        for key, slot in (
            ("Space", self.toggle_play),
            ("Left", lambda: self.jump_event(False)),
            ("Right", lambda: self.jump_event(True)),
            ("[", lambda: self.step_speed(-1)),
            ("]", lambda: self.step_speed(1)),
            ("Home", lambda: self.seek(0.0)),
        ):
            QShortcut(QKeySequence(key), self.window() if parent else self, activated=slot)

        self.redetection: Redetection | None = None
        if redetect:
            self.redetection = Redetection(source.path, self)
            self.redetection.progress.connect(
                lambda pct: self.timeline.set_found_text(f"Re-detecting… {pct:.0f} %")
            )
            self.redetection.finished.connect(self._found)
            self.redetection.start()
        self.refresh()

    # -- actions --------------------------------------------------------------------------
    def toggle_play(self) -> None:
        if self.source.paused or self.source.at_end:
            self.source.resume()
        else:
            self.source.pause()
        self.refresh()

    def seek(self, seconds: float) -> None:
        """Jump to ``seconds``. While paused, the few seconds before it are played, so
        that the traces show what led up to that moment, and it holds there again."""
        held = self.source.paused or self.source.at_end
        if held and seconds > 0:
            self.source.seek(max(0.0, seconds - PREROLL_S))
            self.source.pause_at(seconds)
            self.source.resume()
        else:
            self.source.seek(seconds)
        self.timeline.set_position(seconds)

    def step_speed(self, step: int) -> None:
        i = min(max(0, self.speed.currentIndex() + step), len(self.speeds) - 1)
        self.speed.setCurrentIndex(i)

    def marks(self) -> list[Mark]:
        """What next/previous jump between: events found now, and the file's own notes,
        one stop per moment (:func:`stops`)."""
        found = [m for m in self.timeline.found_marks if m.kind not in ("artifact",)]
        notes = [m for m in self.timeline.file_marks if m.kind != "stim"]
        return stops(found + notes)

    def jump_event(self, forward: bool) -> Mark | None:
        """Jump to the next (or previous) event after the one at the replay position."""
        pos, c = self.source.position_s(), self._current
        # Right after a jump the position is before the event jumped to: count from it.
        near = c is not None and c.start_s - PREROLL_S - 1 <= pos <= c.stop_s + HOLD_AFTER_S + 1
        mark = next_mark(self.marks(), c.start_s if near and c else pos, forward)
        if mark is None:
            return None
        was_paused = self.source.paused or self.source.at_end
        self.source.seek(max(0.0, mark.start_s - PREROLL_S))
        self.timeline.set_position(mark.start_s)
        self._current = mark
        if was_paused:
            self.source.pause_at(mark.stop_s + HOLD_AFTER_S)
            self.source.resume()
        return mark

    # -- frame timer ----------------------------------------------------------------------
    def refresh(self) -> None:
        pos = self.source.position_s()
        self.timeline.set_position(pos)
        self.clock.setText(f"{hhmmss(pos)} / {hhmmss(self.source.duration_s)}")
        held = self.source.paused or self.source.at_end
        self.play_button.setText("▶ Play (Space)" if held else "❚❚ Pause (Space)")

    def held_text(self) -> str | None:
        """What the traces say while the replay is held (None while it plays)."""
        if self.source.at_end:
            return "END OF RECORDING — Space plays it again"
        if self.source.paused:
            return "PAUSED — Space plays on"
        return None

    def _found(self, marks: list, text: str) -> None:
        self.timeline.set_found_marks(marks, "" if marks else text)
        self.timeline.setToolTip(f"Click to jump there. Found: {text}")

    def close_down(self) -> None:
        if self.redetection is not None:
            self.redetection.stop()


def is_reviewable(source: Source) -> bool:
    """A file the review bar can steer (``Capabilities.seekable``) that is still there."""
    if not source.info.capabilities.seekable:
        return False
    return Path(cast(Seekable, source).path).exists()
