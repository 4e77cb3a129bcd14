"""The notes of a case: what people wrote into the recording, told from what machines did.

A recording made by the monitor holds, besides the notes typed during the case
(``note: <text>``, key N), an annotation for every event, alarm change, LSR call,
stimulus and gap (``monitor/caserecording.py``, ``monitor/recorder.py``,
``monitor/edfwriter.py``); the simulator's demo adds its ground truth (``truth: ...``).
The report lists typed notes and every other annotation that none of these wrote (a
third-party file's own notes, "decompression", a train-time reset with its reason).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from commands.machine_texts import starts_like_machine
from monitor.block import NoteMarker

TYPED_PREFIX = "note:"
#: A train-time reset carries the reason typed for it: a note for the reader.
_RESET = "setting: train time reset"


@dataclass(frozen=True, slots=True)
class CaseNote:
    """A note of the case at ``time_s`` (seconds of signal); ``typed``: typed with N."""

    time_s: float
    text: str
    typed: bool


def is_machine_annotation(text: str) -> bool:
    """True for what the monitor, its recorder or the simulator wrote by themselves (the
    openings the de-identified export keeps, :mod:`commands.machine_texts`)."""
    text = text.strip()
    return starts_like_machine(text) and not text.startswith(_RESET)


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
