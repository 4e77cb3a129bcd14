"""What a recording's header says about the case and its montage, for the report.

The EDF+ recording field is ``Startdate dd-MMM-yyyy <admin code> <technician>
<equipment> ...`` (``X`` for an unknown item, ``_`` for a space); our recorder puts the
case id in the admin code (``monitor/edfwriter.py``). The patient field (``code sex
birthdate name``) is never read into the report beyond whether it holds anything: the
report identifies the case, never the patient. A plain EDF recording field is free text
that may name anyone, so it is not shown either.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

from drivers.edfreader import EdfFile, EdfFormatError, EdfSignal
from monitor.montage import muscle_of

_SIDES = {"l": "left", "left": "left", "r": "right", "right": "right"}
_DUPLICATE = re.compile(r"^(.*) \((\d+)\)$")  # "L Mentalis (2)": the replay's second one


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
class CaseDetails:
    """The case as the header describes it (``None``/``""`` for what it does not say)."""

    file_name: str
    file_format: str
    case_id: str
    start: dt.datetime | None
    duration_s: float
    equipment: str
    technician: str
    patient_data_in_file: bool
    channels: tuple[ChannelRow, ...]


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


def read_case_details(
    path: Path,
    labels: tuple[str, ...],
    rate: float,
    duration_s: float,
    start: dt.datetime | None,
) -> CaseDetails:
    """Case details and montage of a recording the analysis has already read.

    ``labels``, ``rate``, ``duration_s`` and ``start`` are the replay's (channels as
    played, start with any sub-second offset). A header that cannot be read again leaves
    its items empty; the report is written all the same.
    """
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
    )
