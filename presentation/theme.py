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
