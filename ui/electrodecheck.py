"""The electrode check dialog: every needle's impedance, judged, before monitoring and on demand.

One row per channel: its label, the active and reference needles in kΩ, their
difference, and the verdict in words on its colour (green ok, amber look at it, red fix
it), large enough to read from 2 m. Under the table each problem is one sentence that
says what to do. "Check again" (key C) asks the source for a fresh measurement;
"Start monitoring" accepts (the signal :attr:`ElectrodeCheckDialog.start_monitoring`),
"Close" closes. The rule and its limits are :mod:`monitor.electrodes`.

Use::

    dialog = ElectrodeCheckDialog(session.source, session.source.info.labels, window)
    dialog.start_monitoring.connect(start)
    dialog.open()

``offer_start=False`` gives the on-demand check (Close only).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from monitor.electrodes import (
    DEFAULT_LIMITS,
    ChannelJudgement,
    ElectrodeCheck,
    ElectrodeLimits,
    ElectrodeReport,
    Verdict,
    judge,
    kohm_text,
)
from monitor.source import Source
from presentation import theme

TITLE_PT = 26
TABLE_PT = 22  # the numbers and verdicts, read from across the table
HEADER_PT = 15
PROBLEM_PT = 18
NOTE_PT = 13
POLL_MS = 250
#: A requested measurement that has not come after this long is reported.
CHECK_TIMEOUT_S = 5.0

#: Severity (monitor.electrodes.SEVERITY) -> (background, text) of the verdict cell.
VERDICT_COLOURS = {
    0: ("#00c853", "#000000"),  # green: ok
    1: ("#ffd600", "#000000"),  # amber: look at it
    2: ("#e00000", "#ffffff"),  # red: fix it
}
VERDICT_WORDS = {
    Verdict.OK: "OK",
    Verdict.IMBALANCE: "IMBALANCE",
    Verdict.HIGH: "HIGH",
    Verdict.LEAD_OFF: "LEAD OFF",
    Verdict.UNKNOWN: "NOT MEASURED",
}
COLUMNS = ("Channel", "Active kΩ", "Reference kΩ", "Imbalance kΩ", "Verdict")
#: From a device that reports one value per channel, the needle columns become one.
PAIR_COLUMNS = ("Channel", "Pair kΩ", "", "Imbalance kΩ", "Verdict")
_BUTTON_STYLE = (
    "QPushButton { background:#202020; color:%s; border:2px solid #777; border-radius:4px; "
    "padding:6px 16px; } QPushButton:pressed { background:#555; } "
    "QPushButton:default { border-color:#e8e8e8; }"
)


class ElectrodeCheckDialog(QDialog):
    """The electrode check of ``source`` for channels named ``labels``.

    Parameters
    ----------
    source : Source
        Asked with ``electrodes()`` and ``request_electrode_check()`` (both never block).
    labels : sequence of str
        Channel names, in the source's channel order.
    parent : QWidget, optional
    limits : ElectrodeLimits
        When a needle or a pair is flagged (5 kΩ, 2 kΩ by default).
    offer_start : bool
        Show "Start monitoring" (before monitoring); False for a check on demand.
    clock : callable
        ``time.monotonic`` (tests pass their own).

    Signals: ``start_monitoring`` when the user presses "Start monitoring" (the dialog
    then closes as accepted). GUI thread only; it polls the source with its own timer.
    """

    start_monitoring = Signal()

    def __init__(
        self,
        source: Source,
        labels,
        parent=None,
        limits: ElectrodeLimits = DEFAULT_LIMITS,
        offer_start: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(parent)
        self.source = source
        self.labels = tuple(labels)
        self.limits = limits
        self.clock = clock
        self.check: ElectrodeCheck | None = None
        self.report: ElectrodeReport | None = None
        self.measuring = False
        self._requested_at: float | None = None
        self._shown_at: float | None = None  # measured_at of the report on screen
        self.can_measure = True
        self.setWindowTitle("Electrode check")
        self.setModal(True)
        self._build(offer_start)
        self.timer = QTimer(self)
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(self.poll)
        self.timer.start()
        self.check_again()

    # -- layout ----------------------------------------------------------------------------
    def _build(self, offer_start: bool) -> None:
        self.setStyleSheet(f"QDialog {{ background:{theme.BACKGROUND}; }}")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 14, 18, 14)
        layout.setSpacing(10)

        self.summary = QLabel()
        self.summary.setFont(_font(TITLE_PT, bold=True))
        self.summary.setWordWrap(True)
        layout.addWidget(self.summary)

        layout.addWidget(self._build_table(), 1)
        layout.addSpacing(12)

        self.problems = QLabel()
        self.problems.setFont(_font(PROBLEM_PT))
        self.problems.setWordWrap(True)
        self.problems.setStyleSheet(f"color:{theme.FOREGROUND};")
        layout.addWidget(self.problems)

        self.note = QLabel()
        self.note.setFont(_font(NOTE_PT))
        self.note.setWordWrap(True)
        self.note.setStyleSheet(f"color:{theme.MUTED};")
        layout.addWidget(self.note)

        layout.addLayout(self._build_buttons(offer_start))
        self._fill_rows(None)
        self.resize(1000, self.sizeHint().height())

    def _build_buttons(self, offer_start: bool) -> QHBoxLayout:
        buttons = QHBoxLayout()
        buttons.setSpacing(12)
        self.check_button = QPushButton("Check again  (C)")
        self.start_button = QPushButton("Start monitoring")
        self.close_button = QPushButton("Close")
        for b in (self.check_button, self.start_button, self.close_button):
            b.setFont(_font(theme.BUTTON_PT + 3, bold=True))
            b.setStyleSheet(_BUTTON_STYLE % theme.FOREGROUND)
            b.setAutoDefault(False)
        buttons.addWidget(self.check_button)
        buttons.addStretch(1)
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.close_button)
        self.start_button.setVisible(offer_start)
        self.start_button.setDefault(offer_start)
        self.check_button.setToolTip("Measure every needle's impedance again (key C)")
        self.check_button.clicked.connect(self.check_again)
        self.start_button.clicked.connect(self._start)
        self.close_button.clicked.connect(self.reject)
        return buttons

    def _build_table(self) -> QTableWidget:
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setFont(_font(TABLE_PT))
        self.table.horizontalHeader().setFont(_font(HEADER_PT, bold=True))
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.table.setShowGrid(False)
        self.table.setStyleSheet(
            f"QTableWidget {{ background:{theme.PANEL}; color:{theme.FOREGROUND}; border:none; }}"
            f"QHeaderView::section {{ background:{theme.BACKGROUND}; color:{theme.MUTED}; "
            "border:none; padding:4px 10px; }"
            "QScrollBar:vertical { background:#202020; width:18px; }"
            "QScrollBar::handle:vertical { background:#777; min-height:40px; }"
        )
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for col in range(1, len(COLUMNS)):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        self.table.verticalHeader().setDefaultSectionSize(round(TABLE_PT * 2.3))
        return self.table

    def _fit_table(self) -> None:
        """Tall enough for every row up to 10; a longer montage scrolls."""
        rows = min(max(self.table.rowCount(), 1), 10)
        height = self.table.horizontalHeader().sizeHint().height()
        height += rows * self.table.verticalHeader().defaultSectionSize() + 4
        self.table.setMinimumHeight(height)

    # -- actions ---------------------------------------------------------------------------
    def check_again(self) -> None:
        """Ask the source for a fresh measurement; "Measuring…" until it arrives."""
        asked = self.clock()  # before asking: a source may answer at once
        self.can_measure = bool(self.source.request_electrode_check())
        self._requested_at = asked if self.can_measure else None
        self.measuring = self.can_measure
        self.poll()

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt override
        if event.key() == Qt.Key.Key_C and not event.modifiers():
            self.check_again()
            return
        super().keyPressEvent(event)

    def _start(self) -> None:
        self.start_monitoring.emit()
        self.accept()

    def done(self, result: int) -> None:  # Qt override: stop polling once closed
        self.timer.stop()
        super().done(result)

    # -- polling (GUI thread timer) ---------------------------------------------------------
    def poll(self) -> None:
        """Show the source's latest measurement if it is new; update the waiting line."""
        report = self.source.electrodes()
        now = self.clock()
        if report is not None and report.measured_at != self._shown_at:
            self._shown_at = report.measured_at
            self.report = report
            self.check = judge(report, self.labels, self.limits)
            self._fill_rows(self.check)
            self._show_problems(self.check)
        if (
            self.measuring
            and report is not None
            and self._requested_at is not None
            and report.measured_at >= self._requested_at
        ):
            self.measuring = False
        self._show_summary(now)

    def _show_summary(self, now: float) -> None:
        check = self.check
        late = (
            self.measuring
            and self._requested_at is not None
            and now - self._requested_at > CHECK_TIMEOUT_S
        )
        if not self.can_measure and check is None:
            text, sev = "This source does not measure electrode impedance.", 1
        elif check is None:
            text, sev = "Measuring the electrodes…", None
            if late:
                text, sev = "No electrode measurement has come from the amplifier.", 1
        else:
            bad = [c for c in check.channels if c.verdict is not Verdict.OK]
            if check.all_good:
                text, sev = "All electrodes good", 0
            else:
                n = len(bad)
                text = f"{n} channel{'s' if n != 1 else ''} need{'s' if n == 1 else ''} attention"
                sev = check.severity
            if self.measuring and not late:
                text += " — measuring again…"
        colour = theme.FOREGROUND if sev is None else VERDICT_COLOURS[sev][0]
        self.summary.setText(text)
        self.summary.setStyleSheet(f"color:{colour};")
        self._show_note(now, late)

    def _show_note(self, now: float, late: bool) -> None:
        parts = []
        if self.report is not None:
            age = max(0.0, now - self.report.measured_at)
            parts.append("Measured just now." if age < 1.5 else f"Measured {age:.0f} s ago.")
        if late and self.check is not None:
            parts.append("No new measurement came; the table shows the last one.")
        if self.check is not None and self.check.note:
            parts.append(self.check.note)
        parts.append(
            f"Flagged: a needle over {self.limits.max_kohm:g} kΩ (ACNS Guideline 11B), or the "
            f"two needles of a pair more than {self.limits.max_imbalance_kohm:g} kΩ apart."
        )
        self.note.setText(" ".join(parts))

    def _show_problems(self, check: ElectrodeCheck) -> None:
        self.problems.setText("\n".join(check.problems))
        self.problems.setVisible(bool(check.problems))
        self._grow_to_fit()

    def _grow_to_fit(self) -> None:
        """Grow (never shrink) so that new sentences do not squeeze the table."""
        self.layout().activate()
        want = self.layout().totalHeightForWidth(self.width())
        if want > self.height():
            self.resize(self.width(), want)

    def _fill_rows(self, check: ElectrodeCheck | None) -> None:
        per_electrode = check is None or check.per_electrode
        self.table.setHorizontalHeaderLabels(COLUMNS if per_electrode else PAIR_COLUMNS)
        self.table.setColumnHidden(2, not per_electrode)
        n = len(check.channels) if check is not None else len(self.labels)
        if n != self.table.rowCount():
            self.table.setRowCount(n)
            self._fit_table()
        for row in range(n):
            if check is None:
                label = self.labels[row]
                cells = (label, "—", "—", "—", "")
                self._set_row(row, cells, None, None)
            else:
                c = check.channels[row]
                self._set_row(row, _cells(c), c, VERDICT_COLOURS[c.severity])

    def _set_row(self, row: int, cells, judgement: ChannelJudgement | None, colours) -> None:
        for col, text in enumerate(cells):
            item = self.table.item(row, col)
            if item is None:
                item = QTableWidgetItem()
                self.table.setItem(row, col, item)
            item.setText(text)
            align = Qt.AlignmentFlag.AlignVCenter
            align |= Qt.AlignmentFlag.AlignLeft if col == 0 else Qt.AlignmentFlag.AlignCenter
            item.setTextAlignment(align)
            item.setBackground(QColor(theme.PANEL))
            item.setForeground(QColor(theme.FOREGROUND))
        if judgement is None:
            return
        verdict = self.table.item(row, 4)
        verdict.setBackground(QColor(colours[0]))
        verdict.setForeground(QColor(colours[1]))
        verdict.setFont(_font(TABLE_PT, bold=True))
        # The needle at fault in the verdict's colour too, so the eye finds it in the row.
        for col, flagged in (
            (1, _active_flagged(judgement, self.limits)),
            (2, _reference_flagged(judgement, self.limits)),
        ):
            if flagged:
                self.table.item(row, col).setForeground(QColor(_text_colour(colours[0])))
        imbalance = judgement.imbalance_kohm
        if imbalance is not None and imbalance > self.limits.max_imbalance_kohm:
            self.table.item(row, 3).setForeground(QColor(VERDICT_COLOURS[1][0]))

    # -- for tests and the window ------------------------------------------------------------
    def verdict_colour(self, row: int) -> str:
        """The background colour of a row's verdict cell, ``#rrggbb``."""
        return self.table.item(row, 4).background().color().name()

    def row_texts(self, row: int) -> list[str]:
        return [self.table.item(row, col).text() for col in range(len(COLUMNS))]


def _cells(c: ChannelJudgement) -> tuple[str, ...]:
    if c.channel_kohm is not None:  # one value for the pair
        return (c.label, kohm_text(c.channel_kohm), "", "—", VERDICT_WORDS[c.verdict])
    active = "OFF" if c.active_off else kohm_text(c.active_kohm)
    reference = "OFF" if c.reference_off else kohm_text(c.reference_kohm)
    return (c.label, active, reference, kohm_text(c.imbalance_kohm), VERDICT_WORDS[c.verdict])


def _active_flagged(c: ChannelJudgement, limits: ElectrodeLimits) -> bool:
    value = c.active_kohm if c.channel_kohm is None else c.channel_kohm  # or the pair's
    return c.active_off or (value is not None and value > limits.max_kohm)


def _reference_flagged(c: ChannelJudgement, limits: ElectrodeLimits) -> bool:
    return c.reference_off or (c.reference_kohm is not None and c.reference_kohm > limits.max_kohm)


def _text_colour(background: str) -> str:
    """A verdict colour made legible as text on the dark table (red text is lightened)."""
    return "#ff5252" if background == VERDICT_COLOURS[2][0] else background


def _font(pt: int, bold: bool = False) -> QFont:
    f = QFont()
    f.setPointSize(pt)
    f.setBold(bold)
    return f
