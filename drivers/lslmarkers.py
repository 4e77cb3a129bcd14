"""What a monitor publishes over Lab Streaming Layer besides the EMG, and how it reads.

A monitor publishing a room (``--lsl-out``) makes two outlets, both with the room's name:

- ``"<room> EMG"``, type ``"EMG"``: float32 samples in µV, one channel per montage
  channel, the labels and units (``"microvolts"``) in the stream's description
  (``desc/channels/channel/label|unit|type``), and ``desc/room`` the room's name;
- ``"<room> markers"``, type ``"Markers"``, one string channel, irregular rate: one JSON
  object per sample (:func:`encode`), stamped with the LSL time of its sample index.

Every marker has ``"kind"`` and ``"room"``; the other fields by kind:

=========  ==================================================================================
kind       fields
=========  ==================================================================================
event      ``channel`` (label or "all channels"), ``event`` (spike, burst, a_train,
           c_train, artifact...), ``onset_s``, ``duration_s`` (None while open),
           ``amplitude_uv``, ``final`` (bool)
alarm      ``key``, ``text``, ``priority`` ("low", "medium", "high"), ``state`` ("active",
           "acknowledged", "latched", "resolved"), ``technical`` (bool)
lsr        ``call`` (the LSR call's kind: disappeared, reappeared, stimulation_lost ...),
           ``text``
stim       ``current_ma``, ``width_ms``, ``site``
note       ``text``
status     once a second: ``t_s`` (signal time), ``state`` (the session's), ``labels``,
           ``train_time_s`` (per channel), ``thresholds_s`` ([warning, high]),
           ``alarm`` (the highest standing alarm's text or ""), ``alarm_priority`` ("" or
           as above), ``lsr`` (the LSR status line), ``recording`` (bool)
=========  ==================================================================================

The remote supervision screen (``main.py remote``) reads only these; a reader ignores
fields it does not know, so a newer monitor can add fields.
"""

from __future__ import annotations

import json
from typing import Any

EMG_TYPE = "EMG"
MARKER_TYPE = "Markers"
KINDS = ("event", "alarm", "lsr", "stim", "note", "status")


def emg_stream_name(room: str) -> str:
    return f"{room} EMG"


def marker_stream_name(room: str) -> str:
    return f"{room} markers"


def encode(kind: str, room: str, **fields: Any) -> str:
    """One marker as the JSON text of an LSL string sample."""
    if kind not in KINDS:
        raise ValueError(f"not a marker kind: {kind!r}")
    return json.dumps({"kind": kind, "room": room, **fields}, separators=(",", ":"))


def decode(text: str) -> dict[str, Any] | None:
    """A marker read back; ``None`` for a sample that is not one of ours (another
    program's marker stream), never an exception."""
    try:
        value = json.loads(text)
    except (TypeError, ValueError):
        return None
    if not isinstance(value, dict) or value.get("kind") not in KINDS:
        return None
    return value
