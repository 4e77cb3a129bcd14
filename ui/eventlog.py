"""The event log: finished events, alarm transitions and operator actions, newest on top.

Fed by the window's frame timer from :class:`~presentation.feed.MonitoringFeed` (never from the
acquisition thread). Bounded: the oldest rows go when ``max_rows`` is reached; the full
record is the monitoring's log and the recording. A line of text (an alarm, an LSR call)
longer than the table is wide wraps onto a taller row: never cut.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

from monitor.alarms import AlarmState, AlarmTransition
from monitor.events import EmgEvent
from monitor.monitoring import FreeRunMonitoring
from presentation import theme
from presentation.feed import alarm_channel, event_row, hhmmss, transition_text

COLUMNS = ("Time", "Channel", "Event", "Amplitude", "Duration", "Frequency")
#: Text colour of an alarm row by priority (legible on black).
ALARM_TEXT = {3: "#ff5c5c", 2: "#ffd600", 1: "#00e5ff"}


class EventLog(QTableWidget):
    """A read-only table, newest row on top. GUI thread only."""

    def __init__(self, labels: tuple[str, ...], max_rows: int = 500, parent=None) -> None:
        super().__init__(0, len(COLUMNS), parent)
        self.max_rows = max_rows
        #: Seconds shown for a sample index; a replay that jumped back maps its stream
        #: index to the recording's time. ``None``: index / rate.
        self.seconds_of: Callable[[int], float] | None = None
        font = QFont()
        font.setPointSize(theme.LOG_PT)
        self.setFont(font)
        self._bold = QFont(font)
        self._bold.setBold(True)
        hfont = QFont()
        hfont.setPointSize(theme.LOG_HEADER_PT)
        hfont.setBold(True)
        self.horizontalHeader().setFont(hfont)
        self.setHorizontalHeaderLabels(COLUMNS)
        self.verticalHeader().hide()
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setShowGrid(False)
        self.setWordWrap(True)  # a long line wraps (its row grows), see _fit_row
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        fm = QFontMetrics(font)
        row_h = fm.height() + 6
        self.verticalHeader().setDefaultSectionSize(row_h)
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        header.setStretchLastSection(True)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        longest = max((fm.horizontalAdvance(lab) for lab in labels), default=100)
        widths = (
            fm.horizontalAdvance("00:00:00") + 28,
            max(longest, fm.horizontalAdvance("all channels")) + 28,
            fm.horizontalAdvance("artifact") + 36,
            fm.horizontalAdvance("00000 µV") + 28,
            fm.horizontalAdvance("000 ms") + 28,
        )
        for col, w in enumerate(widths):
            self.setColumnWidth(col, w)
        self.setStyleSheet(
            f"QTableWidget {{ background:{theme.BACKGROUND}; color:{theme.FOREGROUND}; "
            f"border-top:1px solid {theme.GRID}; }}"
            f"QHeaderView::section {{ background:{theme.PANEL}; color:{theme.MUTED}; "
            f"border:none; border-bottom:1px solid {theme.GRID}; padding:2px 6px; }}"
            f"QTableWidget::item {{ padding:0px 6px; }}"
        )

    @property
    def row_height(self) -> int:
        return self.verticalHeader().defaultSectionSize()

    # -- adding rows ------------------------------------------------------------------------
    def add_event(self, ev: EmgEvent, monitoring: FreeRunMonitoring) -> None:
        r = event_row(ev, monitoring)
        if self.seconds_of is not None:
            r = dataclasses.replace(r, time=hhmmss(self.seconds_of(ev.onset)))
        colour = theme.event_colour(ev.kind.value)
        cells = (r.time, r.channel, r.kind, r.amplitude, r.duration, r.frequency)
        self._insert(
            cells,
            (
                None,
                theme.channel_colour(ev.channel) if ev.channel >= 0 else None,
                colour,
                None,
                None,
                None,
            ),
            bold_col=2,
        )

    def add_transition(
        self, t: AlarmTransition, monitoring: FreeRunMonitoring, technical: bool = False
    ) -> None:
        ch = alarm_channel(t.key)
        channel = monitoring.label(ch) if ch is not None and ch < len(monitoring.labels) else ""
        colour = ALARM_TEXT.get(int(t.priority), theme.FOREGROUND)
        if t.new is AlarmState.RESOLVED:
            colour = theme.MUTED
        seconds = (
            self.seconds_of(t.sample_index)
            if self.seconds_of is not None
            else t.sample_index / monitoring.rate
        )
        self.add_note(seconds, channel, transition_text(t, technical), colour)

    def add_note(self, seconds: float, channel: str, text: str, colour: str | None = None) -> None:
        """A row whose text spans the event columns (alarms, resets, audio pause)."""
        self._insert((hhmmss(seconds), channel, text), (None, None, colour), bold_col=2)
        self.setSpan(0, 2, 1, len(COLUMNS) - 2)
        self._fit_row(0)

    def _text_width(self) -> int:
        """The width of a line's text: the spanned columns, less the cell's padding."""
        return max(50, self.viewport().width() - self.columnWidth(0) - self.columnWidth(1) - 14)

    def _fit_row(self, row: int) -> None:
        """A line's row as tall as its wrapped text (one row's height when it fits)."""
        item = self.item(row, 2)
        if item is None or self.columnSpan(row, 2) == 1:
            return
        bounds = QFontMetrics(self._bold).boundingRect(
            QRect(0, 0, self._text_width(), 100_000), Qt.TextFlag.TextWordWrap, item.text()
        )
        height = max(self.row_height, bounds.height() + 6)
        if self.rowHeight(row) != height:
            self.setRowHeight(row, height)

    def line_fits(self, row: int) -> bool:
        """Row ``row``'s text is shown whole (for tests)."""
        item = self.item(row, 2)
        bounds = QFontMetrics(self._bold).boundingRect(
            QRect(0, 0, self._text_width(), 100_000), Qt.TextFlag.TextWordWrap, item.text()
        )
        return bounds.height() <= self.rowHeight(row) and bounds.width() <= self._text_width()

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        for row in range(self.rowCount()):
            self._fit_row(row)

    def texts(self, row: int) -> list[str]:
        """The cells of ``row`` (0 = newest), for tests."""
        return [self.item(row, c).text() if self.item(row, c) else "" for c in range(len(COLUMNS))]

    def _insert(self, cells, colours, bold_col: int | None = None) -> None:
        self.insertRow(0)
        for col, (text, colour) in enumerate(zip(cells, colours, strict=False)):
            item = QTableWidgetItem(text)
            if colour:
                item.setForeground(QColor(colour))
            if col == bold_col:
                item.setFont(self._bold)
            self.setItem(0, col, item)
        while self.rowCount() > self.max_rows:
            self.removeRow(self.rowCount() - 1)
