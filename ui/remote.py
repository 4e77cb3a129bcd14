"""The supervision screen: one strip per operating room, read-only.

Layout (a room per row, the most urgent readable at two metres)::

    ┌ READ-ONLY SUPERVISION — alarms are acknowledged in the operating room ──────────────┐
    │ OR 3 │ !! A-train on L Orb. oris at 93 Hz         │ OOc 0.0  OOr 0.4  Ment 1.5 … │ LSR │
    │      │ last: A-train L Orb. oris 00:12:04 …       │ (levels 0.5 / 10 s)          │ [Traces]
    ├──────┼─────────────────────────────────────────────┼──────────────────────────────┼─────┤
    │ OR 5 │ NO NEWS for 12 s                            │ …                            │     │
    └─────────────────────────────────────────────────────────────────────────────────────┘

The strips are filled from :class:`drivers.lsl_rooms.RoomWatcher` by a 5 Hz timer.
"Traces" opens a room's EMG in a window of its own (its traces and event bands, analysed
here from the published stream), with no control of the case. GUI thread only.
"""

from __future__ import annotations

import html
import logging
import sys
import time
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from drivers.lsl_rooms import PRIORITIES, Room, RoomWatcher
from monitor.caserecording import EVENT_NAMES
from monitor.edflabels import edf_labels
from presentation import theme

log = logging.getLogger(__name__)

REFRESH_MS = 200
ROOM_PX, TRAINTIME_PX, LSR_PX = 180, 460, 320
READ_ONLY = "READ-ONLY SUPERVISION — alarms are acknowledged in the operating room"


def _font(points: int, bold: bool = False) -> QFont:
    f = QFont()
    f.setPointSize(points)
    f.setBold(bold)
    return f


class RoomStrip(QFrame):
    """One room: name, highest alarm, train time per channel, LSR, last event, Traces."""

    def __init__(self, name: str, open_traces, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self.setObjectName("strip")
        self.setStyleSheet(
            f"#strip {{ background:{theme.PANEL}; border:1px solid {theme.GRID}; }}"
            f"QLabel {{ color:{theme.FOREGROUND}; }}"
        )
        grid = QGridLayout(self)
        grid.setContentsMargins(10, 6, 10, 6)
        self.room = QLabel(name)
        self.room.setFont(_font(theme.BANNER_PT, bold=True))
        self.alarm = QLabel()
        self.alarm.setFont(_font(theme.BANNER_PT - 2, bold=True))
        self.alarm.setWordWrap(True)
        self.events = QLabel()
        self.events.setFont(_font(theme.LOG_PT))
        self.traintime = QLabel()
        self.traintime.setFont(_font(theme.LOG_PT + 2, bold=True))
        self.traintime.setTextFormat(Qt.TextFormat.RichText)
        self.lsr = QLabel()
        self.lsr.setFont(_font(theme.LOG_PT + 2, bold=True))
        self.lsr.setWordWrap(True)
        self.traces = QPushButton("Traces")
        self.traces.setFont(_font(theme.BUTTON_PT))
        self.traces.setStyleSheet(
            f"QPushButton {{ background:{theme.GRID}; color:{theme.FOREGROUND}; "
            f"border:1px solid {theme.MUTED}; padding:8px 14px; }}"
        )
        self.traces.clicked.connect(lambda: open_traces(name))
        grid.addWidget(self.room, 0, 0, 2, 1)
        grid.addWidget(self.alarm, 0, 1)
        grid.addWidget(self.events, 1, 1)
        grid.addWidget(self.traintime, 0, 2, 2, 1)
        grid.addWidget(self.lsr, 0, 3, 2, 1)
        grid.addWidget(self.traces, 0, 4, 2, 1)
        # The same columns in every strip, so that a room's alarm is where the eye expects.
        self.room.setWordWrap(True)
        for label, width in (
            (self.room, ROOM_PX),
            (self.traintime, TRAINTIME_PX),
            (self.lsr, LSR_PX),
        ):
            label.setFixedWidth(width)
        for label in (self.alarm, self.events):
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        grid.setColumnStretch(1, 1)

    def show_room(self, room: Room, now: float) -> None:
        if room.stale(now):
            self.alarm.setText(f"NO NEWS for {now - room.last_seen:.0f} s — call the room")
            self.alarm.setStyleSheet(theme.SEVERITY_STYLE["warning"] + "padding:4px;")
        else:
            priority, text = room.highest_alarm()
            if priority:
                rank = PRIORITIES.index(priority)
                bg, fg = theme.ALARM_ON[rank]
                self.alarm.setText(f"{theme.ALARM_MARKS[rank]} {text}")
                self.alarm.setStyleSheet(f"background:{bg}; color:{fg}; padding:4px;")
            else:
                self.alarm.setText("No alarms")
                self.alarm.setStyleSheet(f"color:{theme.MUTED}; padding:4px;")
        self.traintime.setText(traintime_html(room))
        lsr = str(room.status.get("lsr") or "no stimulation yet")
        self.lsr.setText(lsr if lsr.startswith("LSR") else f"LSR: {lsr}")
        last = list(room.events)[-2:]
        self.events.setText(
            "   ".join(
                f"{EVENT_NAMES.get(str(e.get('event')), str(e.get('event')))} "
                f"{e.get('channel', '')} at {float(e.get('onset_s', 0.0)):.1f} s"
                for e in reversed(last)
            )
            or "no events yet"
        )


def traintime_html(room: Room) -> str:
    """Train time per channel in two columns, coloured by level, and the levels."""
    low, high = room.thresholds()
    times = room.train_time()
    # The systematic short names of the recordings (L OOc, L Ment ...): 16 channels fit.
    short = [name.removeprefix("EMG ") for name in edf_labels([lab for lab, _ in times])]
    cells = []
    for label, (_, seconds) in zip(short, times, strict=True):
        level = 2 if seconds >= high else 1 if seconds >= low else 0
        colour = theme.TRAINTIME_COLOURS[level]
        cells.append(
            f'<td>{html.escape(label)}</td><td align="right" style="color:{colour}">'
            f"&nbsp;{seconds:.1f} s&nbsp;</td>"
        )
    per_row = 2 if len(cells) <= 4 else 3
    rows = "".join(
        f"<tr>{''.join(cells[i : i + per_row])}</tr>" for i in range(0, len(cells), per_row)
    )
    return (
        f'<table cellspacing="0" cellpadding="0">{rows or "<tr><td>—</td></tr>"}</table>'
        f'<span style="color:{theme.MUTED}; font-weight:normal">'
        f"A-train time, levels {low:g} / {high:g} s</span>"
    )


class RemoteWindow(QMainWindow):
    """The supervision screen over a :class:`RoomWatcher`. GUI thread only."""

    def __init__(self, watcher: RoomWatcher) -> None:
        super().__init__()
        self.watcher = watcher
        self.setWindowTitle("Facial Nerve Monitor — supervision (read-only)")
        central = QWidget()
        central.setObjectName("central")
        central.setStyleSheet(f"#central {{ background:{theme.BACKGROUND}; }}")
        layout = QVBoxLayout(central)
        banner = QLabel(READ_ONLY)
        banner.setFont(_font(theme.PROBLEM_PT, bold=True))
        banner.setAlignment(Qt.AlignmentFlag.AlignCenter)
        banner.setStyleSheet(theme.SEVERITY_STYLE["info"] + "padding:6px;")
        layout.addWidget(banner)
        self.empty = QLabel("Looking for monitors started with --lsl-out …")
        self.empty.setFont(_font(theme.BANNER_PT))
        self.empty.setStyleSheet(f"color:{theme.MUTED};")
        layout.addWidget(self.empty)
        holder = QWidget()
        self.strips_layout = QVBoxLayout(holder)
        self.strips_layout.setContentsMargins(0, 0, 0, 0)
        self.strips_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(holder)
        scroll.setStyleSheet(f"background:{theme.BACKGROUND}; border:none;")
        layout.addWidget(scroll, 1)
        self.setCentralWidget(central)
        self.strips: dict[str, RoomStrip] = {}
        self.trace_windows: dict[str, QWidget] = {}
        self.timer = QTimer(self)
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(self.refresh)
        self.timer.start()

    def refresh(self) -> None:
        now = time.monotonic()
        rooms = self.watcher.rooms()
        self.empty.setVisible(not rooms)
        for room in rooms:
            strip = self.strips.get(room.name)
            if strip is None:
                strip = RoomStrip(room.name, self.open_traces)
                self.strips[room.name] = strip
                # Rooms in name order: each stays where the supervisor last saw it.
                at = sorted(self.strips).index(room.name)
                self.strips_layout.insertWidget(at, strip)
            strip.show_room(room, now)

    def open_traces(self, name: str) -> None:
        """The room's EMG in a window of its own (read-only)."""
        if name in self.trace_windows and self.trace_windows[name].isVisible():
            self.trace_windows[name].raise_()
            return
        try:
            window = RoomTraces(name)
        except ValueError as exc:
            self.strips[name].events.setText(f"Traces not available: {exc}")
            return
        window.resize(1200, 700)
        window.show()
        self.trace_windows[name] = window

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt override
        self.timer.stop()
        for window in self.trace_windows.values():
            window.close()
        super().closeEvent(event)


class RoomTraces(QWidget):
    """A room's published EMG: traces and event bands, analysed here, no controls."""

    def __init__(self, name: str) -> None:
        from drivers import sources
        from drivers.lslmarkers import emg_stream_name
        from monitor.casemodel import open_case
        from monitor.envelope import Envelope
        from monitor.source import SourceError
        from ui.traces import TraceView

        super().__init__()
        describe = getattr(sources, "LslStream", None)
        if describe is None:
            raise ValueError("this installation cannot read LSL streams")
        try:
            self.case = open_case(describe(emg_stream_name(name)), start=False)
        except (SourceError, ValueError, OSError) as exc:
            raise ValueError(str(exc)) from None
        info = self.case.session.source.info
        self.setWindowTitle(f"{name} — traces (read-only)")
        self.setStyleSheet(f"background:{theme.BACKGROUND}; color:{theme.FOREGROUND};")
        self.envelope = Envelope(info.rate, info.n_channels, window_s=10.0, columns=1600)
        self.case.session.subscribe("Display", self.envelope, essential=True)
        layout = QHBoxLayout(self)
        self.view = TraceView(info.labels, info.rate, self.envelope)
        layout.addWidget(self.view)
        self.case.session.start()
        self.timer = QTimer(self)
        self.timer.setInterval(33)
        self.timer.timeout.connect(lambda: self.view.refresh(self.case.monitoring.ongoing()))
        self.timer.start()

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt override
        self.timer.stop()
        self.case.close()
        super().closeEvent(event)


def run_remote(
    watcher: RoomWatcher,
    screenshot: Path | None = None,
    after_s: float = 3.0,
    size: tuple[int, int] = (1600, 900),
    duration: float | None = None,
) -> int:
    """The supervision screen until it is closed (or the screenshot is taken)."""
    import pyqtgraph as pg
    from PySide6.QtWidgets import QApplication

    from ui.gcpolicy import GuiThreadGarbageCollector
    from ui.qtmessages import send_qt_messages_to_the_log

    send_qt_messages_to_the_log()
    pg.setConfigOptions(antialias=False, useOpenGL=False, background="k")
    app = QApplication.instance() or QApplication(sys.argv[:1])
    window = RemoteWindow(watcher)
    window.resize(*size)
    window.show()
    if screenshot is not None:

        def grab() -> None:
            window.refresh()
            ok = window.grab().save(str(screenshot), "PNG")
            app.exit(0 if ok else 1)

        QTimer.singleShot(int(after_s * 1000), grab)
    elif duration is not None:
        QTimer.singleShot(int(duration * 1000), window.close)
    collector = GuiThreadGarbageCollector(app)
    try:
        code = app.exec()
        if window.isVisible():
            window.close()
    finally:
        collector.stop()
        collector.deleteLater()
    return code
