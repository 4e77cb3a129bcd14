"""What a recording's header says about the case and its montage, for the report.

The EDF+ recording field is ``Startdate dd-MMM-yyyy <admin code> <technician>
<equipment> ...`` (``X`` for an unknown item, ``_`` for a space); our recorder puts the
case id in the admin code (``monitor/edfwriter.py``). The patient field (``code sex
birthdate name``) is never read into the report beyond whether it holds anything: the
report identifies the case, never the patient. A plain EDF recording field is free text
that may name anyone, so it is not shown either.

What the header has no room for, our recorder writes as annotations at the first sample
and this module reads back: the case set-up (``case <id>: <procedure>, <side> side,
surgeon ..., monitored by ...; neurophysiologist: ...; anaesthesia: ...``,
:func:`monitor.casesetup.parse_recording_note`) and the filter the monitor used (``setting:
filter 20 Hz – 3000 Hz``, then ``setting: filter A -> B`` at each change): the file holds
the raw samples, so its prefilter fields are empty on purpose. The operator's alarm
actions (acknowledgements, audio pauses) are annotations too (:func:`alarm_actions`).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from drivers.edfreader import EdfFile, EdfFormatError, EdfSignal
from monitor.block import NoteMarker
from monitor.casesetup import parse_recording_note
from monitor.montage import muscle_of

_SIDES = {"l": "left", "left": "left", "r": "right", "right": "right"}
_DUPLICATE = re.compile(r"^(.*) \((\d+)\)$")  # "L Mentalis (2)": the replay's second one
_FILTER = "setting: filter "
# caserecording: "alarm <Priority> <state>: <text>"; casemodel: "alarm audio paused for 2:00"
_ALARM = re.compile(r"alarm (Low|Medium|High) (active|acknowledged|latched|resolved): (.*)")
_PAUSED = re.compile(r"alarm audio paused for (\d+):(\d{2})")
_RESUMED = "alarm audio resumed"
#: The people a report is signed by, and what the case set-up may say about them.
PEOPLE = ("surgeon", "neurophysiologist", "anaesthesia")


@dataclass(frozen=True, slots=True)
class ChannelRow:
    """One channel of the montage table."""

    label: str
    muscle: str  # "" when the label names none
    side: str  # "left", "right" or ""
    branch: str  # the facial-nerve branch supplying the muscle, or ""
    rate_hz: float
    prefilter: str  # as the header says, "" when it says nothing
    transducer: str


@dataclass(frozen=True, slots=True)
class AlarmAction:
    """What the operator did about the alarms during the case, as the recording says.

    ``kind`` is ``"acknowledged"`` (``text``: the alarm; ``priority`` its priority),
    ``"audio paused"`` (``pause_s``: for how long) or ``"audio resumed"``.
    """

    time_s: float
    kind: str
    text: str = ""
    priority: str = ""
    pause_s: float = 0.0


@dataclass(frozen=True, slots=True)
class CaseDetails:
    """The case as the header and the first annotations describe it (``None``/``""`` for
    what they do not say).

    ``filters`` is the monitor's filter when recorded: ``(time_s, text)`` of the first
    (``20 Hz – 3000 Hz``) and of each change (``20 Hz – 3000 Hz -> 30 Hz – 3000 Hz``);
    ``people`` holds ``surgeon``, ``neurophysiologist``, ``anaesthesia`` where known.
    """

    file_name: str
    file_format: str
    case_id: str
    start: dt.datetime | None
    duration_s: float
    equipment: str
    technician: str
    patient_data_in_file: bool
    channels: tuple[ChannelRow, ...]
    procedure: str = ""
    side: str = ""
    monitored_by: str = ""
    people: dict[str, str] = field(default_factory=dict)
    filters: tuple[tuple[float, str], ...] = ()
    alarm_actions: tuple[AlarmAction, ...] = ()


def parse_recording_field(text: str) -> dict[str, str]:
    """The items of an EDF+ recording field: ``startdate``, ``case_id``, ``technician``,
    ``equipment`` (``""`` when unknown); ``{}`` when the field is not EDF+ structured."""
    items = text.split()
    if len(items) < 5 or items[0] != "Startdate":
        return {}

    def item(raw: str) -> str:
        return "" if raw == "X" else raw.replace("_", " ")

    return {
        "startdate": item(items[1]),
        "case_id": item(items[2]),
        "technician": item(items[3]),
        "equipment": item(items[4]),
    }


def side_of(label: str) -> str:
    """``"left"``/``"right"`` from a label's first word (``L``, ``R``, ``Left``, ``Right``)."""
    words = label.replace(".", " ").split()
    return _SIDES.get(words[0].lower(), "") if words else ""


def _signal_for(label: str, signals: list[EdfSignal]) -> EdfSignal | None:
    """The header signal behind a replay label (the k-th of a repeated label for ``X (k)``)."""
    name, k = label, 1
    m = _DUPLICATE.match(label)
    if m and not any(s.label == label for s in signals):
        name, k = m.group(1), int(m.group(2))
    same = [s for s in signals if s.label == name]
    return same[k - 1] if len(same) >= k else None


def channel_rows(
    labels: tuple[str, ...], rate: float, signals: list[EdfSignal]
) -> list[ChannelRow]:
    rows = []
    for label in labels:
        muscle = muscle_of(label)
        sig = _signal_for(label, signals)
        rows.append(
            ChannelRow(
                label=label,
                muscle=muscle.name if muscle else "",
                side=side_of(label),
                branch=muscle.branch if muscle else "",
                rate_hz=rate,
                prefilter=sig.prefilter if sig else "",
                transducer=sig.transducer if sig else "",
            )
        )
    return rows


def case_note(annotations: Iterable[object]) -> dict[str, str]:
    """The fields of the first case set-up annotation (:func:`parse_recording_note`)."""
    for m in annotations:
        if isinstance(m, NoteMarker):
            fields = parse_recording_note(m.text)
            if fields:
                return fields
    return {}


def recorded_filters(annotations: Iterable[object], rate: float) -> list[tuple[float, str]]:
    """The monitor's filter as the recording annotates it: ``(time_s, text)`` of the one in
    use at the first sample and of each change (``"A -> B"``), in time order."""
    out = []
    for m in annotations:
        if isinstance(m, NoteMarker) and m.text.startswith(_FILTER):
            out.append((m.index / rate, m.text[len(_FILTER) :].strip()))
    return sorted(out, key=lambda f: f[0])


def alarm_actions(annotations: Iterable[object], rate: float) -> list[AlarmAction]:
    """Acknowledgements and audio pauses recorded during the case, in time order.

    A latched alarm that is resolved was acknowledged: the alarm manager leaves the latched
    state only by an acknowledgement (the recorder writes the new state, ``resolved``), or
    by the condition coming back (``active``).
    """
    latched: set[str] = set()
    out = []
    for m in sorted((m for m in annotations if isinstance(m, NoteMarker)), key=lambda m: m.index):
        t, text = m.index / rate, " ".join(m.text.split())
        if text == _RESUMED:
            out.append(AlarmAction(t, "audio resumed"))
        elif paused := _PAUSED.fullmatch(text):
            out.append(AlarmAction(t, "audio paused", pause_s=60 * int(paused[1]) + int(paused[2])))
        elif alarm := _ALARM.fullmatch(text):
            priority, state, what = alarm.groups()
            acknowledged = state == "acknowledged" or (state == "resolved" and what in latched)
            if acknowledged:
                out.append(AlarmAction(t, "acknowledged", what, priority))
            if state == "latched":
                latched.add(what)
            else:
                latched.discard(what)
    return out


def read_case_details(
    path: Path,
    labels: tuple[str, ...],
    rate: float,
    duration_s: float,
    start: dt.datetime | None,
    annotations: Iterable[object] = (),
) -> CaseDetails:
    """Case details and montage of a recording the analysis has already read.

    ``labels``, ``rate``, ``duration_s`` and ``start`` are the replay's (channels as
    played, start with any sub-second offset), ``annotations`` its markers. A header that
    cannot be read again leaves its items empty; the report is written all the same.
    """
    annotations = list(annotations)
    head, signals, fmt = b"", [], ""
    try:
        with open(path, "rb") as f:
            head = f.read(256)
        edf = EdfFile(path)
        signals = [s for s in edf.signals if not s.is_annotation]
        fmt = edf.format
        edf.close()
    except (OSError, EdfFormatError):
        pass
    recording = head[88:168].decode("latin-1") if len(head) >= 168 else ""
    patient = head[8:88].decode("latin-1").split() if len(head) >= 88 else []
    fields = (
        parse_recording_field(recording) if "+" in fmt or recording.startswith("Startdate") else {}
    )
    note = case_note(annotations)
    return CaseDetails(
        file_name=Path(path).name,
        file_format=fmt,
        case_id=fields.get("case_id", ""),
        start=start,
        duration_s=duration_s,
        equipment=fields.get("equipment", ""),
        technician=fields.get("technician", ""),
        patient_data_in_file=any(item != "X" for item in patient),
        channels=tuple(channel_rows(labels, rate, signals)),
        procedure=note.get("procedure", ""),
        side=note.get("side", ""),
        monitored_by=note.get("user", ""),
        people={k: note[k] for k in PEOPLE if k in note},
        filters=tuple(recorded_filters(annotations, rate)),
        alarm_actions=tuple(alarm_actions(annotations, rate)),
    )
