"""The notes of a case: what people wrote into the recording, told from what machines did.

A recording made by the monitor holds, besides the notes typed during the case
(``note: <text>``, key N), an annotation for every event, alarm change, LSR call,
stimulus and gap (``monitor/caserecording.py``, ``monitor/recorder.py``,
``monitor/edfwriter.py``); the simulator's demo adds its ground truth (``truth: ...``).
The report lists typed notes and every other annotation that none of these wrote (a
third-party file's own notes, "decompression", a train-time reset with its reason).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from monitor.alarms import Priority
from monitor.block import NoteMarker
from monitor.caserecording import EVENT_NAMES

TYPED_PREFIX = "note:"
_MACHINE = re.compile(
    "|".join(
        [
            rf"^(?:{'|'.join(re.escape(n) for n in EVENT_NAMES.values())}) ",  # events
            rf"^alarm (?:{'|'.join(p.label for p in Priority)}) ",  # alarm transitions
            r"^(?:LSR|Z-L response) (?:disappeared|reappeared)\b",  # LSR calls
            r"^gap \d+ samples",
            r"^recorder overflow\b",
            r"^recording end\b",
            r"^truth: ",  # the simulator's ground truth
        ]
    )
)


@dataclass(frozen=True, slots=True)
class CaseNote:
    """A note of the case at ``time_s`` (seconds of signal); ``typed``: typed with N."""

    time_s: float
    text: str
    typed: bool


def is_machine_annotation(text: str) -> bool:
    """True for what the monitor, its recorder or the simulator wrote by themselves."""
    return bool(_MACHINE.match(text.strip()))


def case_notes(annotations: Iterable[object], rate: float) -> list[CaseNote]:
    """Typed notes and other human annotations among a replay's markers, in time order."""
    notes = []
    for m in annotations:
        if not isinstance(m, NoteMarker):
            continue
        text = m.text.strip()
        if text.lower().startswith(TYPED_PREFIX):
            body = text[len(TYPED_PREFIX) :].strip()
            if body:
                notes.append(CaseNote(m.index / rate, body, True))
        elif text and not is_machine_annotation(text):
            notes.append(CaseNote(m.index / rate, text, False))
    notes.sort(key=lambda n: n.time_s)
    return notes
