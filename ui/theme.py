"""Colours and font sizes of the operating-room screen (dark, high contrast, legible at 2 m)."""

from __future__ import annotations

BACKGROUND = "#000000"
FOREGROUND = "#e8e8e8"
GRID = "#3a3a3a"
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
BANNER_PT = 22

SEVERITY_STYLE = {
    "critical": "background:#d50000; color:white;",
    "warning": "background:#ffd600; color:black;",
    "info": "background:#1565c0; color:white;",
}


def channel_colour(i: int) -> str:
    return CHANNEL_COLOURS[i % len(CHANNEL_COLOURS)]
