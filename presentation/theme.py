"""Colours and font sizes of the operating-room screen (dark, high contrast, legible at 2 m)."""

from __future__ import annotations

BACKGROUND = "#000000"
FOREGROUND = "#e8e8e8"
GRID = "#3a3a3a"
PANEL = "#101010"  # background of the banner, log and train-time column when quiet
MUTED = "#9a9a9a"  # secondary text (captions, "No alarms")
#: Trace colours: bright, distinct on black, none of them alarm red or yellow-amber.
CHANNEL_COLOURS = (
    "#4fc3f7",  # light blue
    "#81c784",  # green
    "#ce93d8",  # lilac
    "#ffb74d",  # orange
    "#4dd0e1",  # cyan
    "#aed581",  # lime
    "#f48fb1",  # pink
    "#90caf9",  # blue
    "#e6ee9c",  # pale lime
    "#80cbc4",  # teal
    "#b39ddb",  # purple
    "#ffcc80",  # light orange
    "#a5d6a7",
    "#9fa8da",
    "#bcaaa4",
    "#eeeeee",
)
LABEL_PT = 20  # channel names
AXIS_PT = 12
STATUS_PT = 15
BANNER_PT = 22  # the alarm banner's condition text
PROBLEM_PT = 16  # the session-problem line under the alarm banner
BUTTON_PT = 15  # Acknowledge / Audio pause / Reset
MARKER_PT = 13  # class names on the traces
LOG_PT = 14  # event log rows
LOG_HEADER_PT = 12
TRAINTIME_PT = 30  # the train-time number (seconds)
CAPTION_PT = 12  # small captions (threshold marks, "A-train time")

SEVERITY_STYLE = {
    "critical": "background:#d50000; color:white;",
    "warning": "background:#ffd600; color:black;",
    "info": "background:#1565c0; color:white;",
}

# -- free-running event classes ---------------------------------------------------------------
#: Marker colour per event class (``EventKind`` value): saturated accents, so they differ
#: from the pastel trace colours; none is alarm red. Artifact is grey (it covers all channels).
EVENT_COLOURS = {
    "spike": "#ffffff",  # white
    "burst": "#1de9b6",  # teal accent
    "a_train": "#ff3df2",  # magenta: the pattern that matters
    "b_train": "#448aff",  # blue accent
    "c_train": "#ff6e40",  # deep orange accent
    "artifact": "#8a8a8a",  # grey
}
#: Text on a marker label (drawn on the class colour).
EVENT_TEXT_ON = {
    "spike": "#000000",
    "burst": "#000000",
    "a_train": "#000000",
    "b_train": "#000000",
    "c_train": "#000000",
    "artifact": "#000000",
}
#: Opacity (0-255) of the band behind the trace over an event's duration.
EVENT_BAND_ALPHA = {
    "spike": 140,
    "burst": 60,
    "a_train": 80,
    "b_train": 55,
    "c_train": 55,
    "artifact": 80,
}

# -- alarms (IEC 60601-1-8, docs/clinical.md §6) ---------------------------------------------------
#: Priority value (``Priority``: 1 low, 2 medium, 3 high) -> (background, text) while lit.
ALARM_ON = {
    3: ("#e00000", "#ffffff"),  # high: red
    2: ("#ffd600", "#000000"),  # medium: yellow
    1: ("#00e5ff", "#000000"),  # low: cyan, constant
}
#: The dark phase of a flashing alarm: text stays legible in the alarm colour.
ALARM_OFF = {
    3: ("#3c0000", "#ff6060"),
    2: ("#332b00", "#ffd600"),
    1: ("#00e5ff", "#000000"),
}
#: Flash frequency (Hz) and duty cycle per priority; 0 Hz = constant (IEC: high 1.4-2.8 Hz,
#: medium 0.4-0.8 Hz, 20-60 % on; low constant).
ALARM_FLASH = {3: (2.0, 0.5), 2: (0.5, 0.5), 1: (0.0, 1.0)}
#: IEC priority marks shown before the condition.
ALARM_MARKS = {3: "!!!", 2: "!!", 1: "!"}
NO_ALARM = (PANEL, MUTED)

#: Train-time level (0 below the first threshold, 1 past it, 2 past the second) -> colour.
TRAINTIME_COLOURS = ("#00e676", "#ffd600", "#ff3030")


#: Colours a case's montage chose, by channel (None: the default for that channel); set
#: by :func:`use_channel_colours` before a window is built. GUI thread only.
_chosen: list[str | None] = []


def use_channel_colours(colours: tuple[str | None, ...] | list[str | None]) -> None:
    """Draw the channels of windows built from now on in a montage's colours."""
    _chosen[:] = colours


def channel_colour(i: int) -> str:
    chosen = _chosen[i] if i < len(_chosen) else None
    if chosen:
        return chosen
    return CHANNEL_COLOURS[i % len(CHANNEL_COLOURS)]


def event_colour(kind: str) -> str:
    return EVENT_COLOURS.get(kind, "#ffffff")


# -- evoked responses (LSR panel) -------------------------------------------------------------
#: The LSR status box: (background, text). A disappearance is good news for the team, shown
#: as information (blue), never in an alarm colour; present is green-ish; anything else
#: (waiting for stimuli, collecting the baseline, a few absent sweeps) neutral.
LSR_PRESENT = ("#1b5e20", "#ffffff")
LSR_GONE = ("#0d47a1", "#ffffff")
LSR_NEUTRAL = ("#1c1c1c", FOREGROUND)
LSR_STATUS_PT = 30  # "LSR present" / "LSR gone": the line read from across the room
LSR_DETAIL_PT = 22  # "L Mentalis 240 µV at 10.1 ms" / "since 00:14:32"
#: Marks on the sweeps and the trend.
LSR_BASELINE = "#ffffff"  # the baseline sweep (dashed) and level: white against the colours
LSR_CURSOR = "#ffffff"  # onset line and peak diamond of the newest sweep
LSR_GONE_MARK = "#64b5f6"  # disappearance line and the "gone" stretch of the trend
LSR_BACK_MARK = "#69f0ae"  # reappearance line
LSR_WINDOW_BRUSH = (255, 255, 255, 22)  # the response window behind the sweeps


# -- dialogs and panels (the stimulator, note, source, case setup; confirmations) -------------
#: Body text of every dialog: read at arm's length by a gloved user standing, and from the
#: bed-side 2 m away; the case setup's fields use the same size.
DIALOG_PT = 16
DIALOG_TITLE_PT = LABEL_PT + 2
DIALOG_BACKGROUND = PANEL
FIELD_BACKGROUND = "#202020"  # line edits, spin boxes, combo boxes, buttons
FIELD_BORDER = "#777777"
FOCUS = "#4fc3f7"  # the focused field's frame: the keyboard's place must be seen
SELECTION = "#0d47a1"
ERROR_TEXT = "#ff8a80"  # a refusal in words ("Not set: ...") on the dialog background
DISABLED_TEXT = "#8a8a8a"  # an inactive control: dimmer on purpose (>= 4.5:1)
#: Secondary text in a dialog (placeholders, steps done): lighter than MUTED, for 7:1 on fields.
DIALOG_MUTED = "#b0b0b0"

#: The dialogs' palette, Qt-free: ``QPalette.ColorRole`` name -> colour (ui applies it).
DIALOG_PALETTE = {
    "Window": DIALOG_BACKGROUND,
    "WindowText": FOREGROUND,
    "Base": FIELD_BACKGROUND,
    "AlternateBase": "#181818",
    "Text": FOREGROUND,
    "Button": FIELD_BACKGROUND,
    "ButtonText": FOREGROUND,
    "BrightText": "#ffffff",
    "Highlight": SELECTION,
    "HighlightedText": "#ffffff",
    "ToolTipBase": FIELD_BACKGROUND,
    "ToolTipText": FOREGROUND,
    "PlaceholderText": DIALOG_MUTED,
    "Link": FOCUS,
}
#: Text/background pairs a dialog shows, for the contrast check (body text >= 7:1).
DIALOG_TEXT_PAIRS = {
    "body": (FOREGROUND, DIALOG_BACKGROUND),
    "field": (FOREGROUND, FIELD_BACKGROUND),
    "selection": ("#ffffff", SELECTION),
    "error": (ERROR_TEXT, DIALOG_BACKGROUND),
    "secondary": (DIALOG_MUTED, DIALOG_BACKGROUND),
    "placeholder": (DIALOG_MUTED, FIELD_BACKGROUND),
    "header": (DIALOG_MUTED, FIELD_BACKGROUND),
}


def dialog_style_sheet() -> str:
    """The style sheet of every dialog and panel, set on the dialog itself (its subtree
    only). Sizes are here, not in ``setFont``: under a style sheet Qt children do not
    inherit a parent's font."""
    return f"""
QWidget {{ font-size:{DIALOG_PT}pt; color:{FOREGROUND}; }}
QDialog, QMessageBox, QInputDialog, QFileDialog, QWidget#dockBody {{
    background:{DIALOG_BACKGROUND}; }}
QLabel, QCheckBox, QRadioButton, QGroupBox {{ color:{FOREGROUND}; background:transparent; }}
QLabel:disabled, QCheckBox:disabled, QRadioButton:disabled {{ color:{DISABLED_TEXT}; }}
QLabel#title {{ font-size:{DIALOG_TITLE_PT}pt; font-weight:bold; }}
QLabel#error {{ color:{ERROR_TEXT}; font-weight:bold; }}
QLineEdit, QComboBox, QSpinBox, QDoubleSpinBox, QPlainTextEdit, QTextEdit, QListView,
QTreeView, QTableView {{ background:{FIELD_BACKGROUND}; color:{FOREGROUND};
    border:1px solid {FIELD_BORDER}; padding:4px 8px; selection-background-color:{SELECTION};
    selection-color:#ffffff; }}
QLineEdit:focus, QComboBox:focus, QSpinBox:focus, QDoubleSpinBox:focus,
QPlainTextEdit:focus {{ border:2px solid {FOCUS}; }}
QLineEdit:disabled, QComboBox:disabled, QSpinBox:disabled, QDoubleSpinBox:disabled {{
    color:{DISABLED_TEXT}; }}
QComboBox QAbstractItemView {{ background:{FIELD_BACKGROUND}; color:{FOREGROUND};
    selection-background-color:{SELECTION}; }}
QHeaderView::section {{ background:{FIELD_BACKGROUND}; color:{DIALOG_MUTED}; border:none;
    padding:4px; }}
QPushButton {{ background:{FIELD_BACKGROUND}; color:{FOREGROUND};
    border:1px solid {FIELD_BORDER}; padding:6px 14px; min-height:1.4em; }}
QPushButton:default {{ border:2px solid {FOREGROUND}; }}
QPushButton:focus {{ border:2px solid {FOCUS}; }}
QPushButton:pressed, QPushButton:checked {{ background:#30475e; }}
QPushButton:disabled {{ color:{DISABLED_TEXT}; border-color:#444444; }}
QCheckBox::indicator, QRadioButton::indicator {{ width:20px; height:20px;
    border:2px solid {DIALOG_MUTED}; background:{FIELD_BACKGROUND}; }}
QRadioButton::indicator {{ border-radius:12px; }}
QCheckBox::indicator:checked, QRadioButton::indicator:checked {{ background:{FOCUS};
    border:2px solid {FOREGROUND}; }}
QCheckBox::indicator:focus, QRadioButton::indicator:focus {{ border:2px solid {FOCUS}; }}
QCheckBox::indicator:disabled, QRadioButton::indicator:disabled {{ border-color:#444444; }}
QMenu {{ background:{FIELD_BACKGROUND}; color:{FOREGROUND}; border:1px solid {FIELD_BORDER}; }}
QMenu::item:selected {{ background:{SELECTION}; color:#ffffff; }}
QToolTip {{ background:{FIELD_BACKGROUND}; color:{FOREGROUND}; border:1px solid {DIALOG_MUTED}; }}
QDockWidget {{ color:{FOREGROUND}; font-weight:bold; }}
QDockWidget::title {{ background:#202020; padding:6px 8px; text-align:left; }}
"""


def _luminance(colour: str) -> float:
    """Relative luminance of ``#rrggbb`` (WCAG 2)."""
    value = colour.lstrip("#")
    channels = [int(value[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast_ratio(foreground: str, background: str) -> float:
    """WCAG 2 contrast ratio of two ``#rrggbb`` colours (1 to 21; 7 is AAA for body text)."""
    a, b = sorted((_luminance(foreground), _luminance(background)), reverse=True)
    return (a + 0.05) / (b + 0.05)


# -- the stimulator status strip (ui.stimstatus, presentation.stimstatus) ---------------------
STIM_STATUS_PT = 16  # as large as the case line it shares: read from 2 m
#: (background, text) by state. On and pulses arriving: green, as the LSR present; off and
#: waiting: neutral; on with no pulses: the medium (technical) alarm's yellow.
STIM_COLOURS = {
    "arriving": ("#1b5e20", "#ffffff"),
    "waiting": ("#1c1c1c", FOREGROUND),
    "not_arriving": ALARM_ON[2],
    "off": ("#1c1c1c", FOREGROUND),
    "none": (PANEL, DIALOG_MUTED),
}
