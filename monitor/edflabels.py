"""EDF+ signal labels, transducer and prefilter texts of the monitor's recordings.

EDF+ ("Standard texts", edfplus.info) wants a signal label of at most 16 ASCII characters
made of the signal type, a space and a systematic short name of the sensor: ``EMG L OOc``.
Independent readers use the type: MNE-Python (``read_raw_edf(..., infer_types=True)``)
types a channel labelled ``EMG ...`` as ``emg`` and any other as ``eeg``.

The monitor's channels have human labels (``L Orb. oculi``, ``R Mentalis``, or whatever
``--channels a,b,c`` gave), so a recording keeps both:

- the **label** is :func:`edf_label`: ``EMG``, the side (``L``/``R``) when the label names
  one, the muscle's code from :data:`MUSCLE_CODES` when it names a muscle of
  :data:`monitor.montage.MUSCLES` (by its name, short name or key, the longest match
  winning), then the label's other words, shortened to fit. :func:`edf_labels` makes the
  labels of a file unique (``EMG L OOc``, ``EMG L OOc 2``);
- the **transducer** field (80 characters) holds the human label (:func:`transducer_text`),
  and :func:`display_labels` gives it back to our reader: a label is taken as ours only
  when :func:`edf_label` of the transducer text gives that label again, so a file from
  other software keeps its labels exactly as written.

:func:`prefilter_text` writes filter settings in the EDF+ prefilter syntax
(``HP:20Hz LP:3000Hz N:off``).

Why codes and not :attr:`monitor.montage.Muscle.short`: ``EMG L Zygomaticus`` (17) and
``EMG L Orb. oculi 2`` (18) do not fit 16 characters, so the short names would be cut
differently from muscle to muscle; one code per muscle is the same on every channel.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Sequence

from monitor.montage import MUSCLES

#: The EDF+ signal type of every channel the monitor records.
SIGNAL_TYPE = "EMG"
PREFIX = SIGNAL_TYPE + " "
#: Width of the EDF label and transducer fields.
LABEL_CHARS = 16
TRANSDUCER_CHARS = 80
PREFILTER_CHARS = 80
#: Systematic short names of the muscles of :data:`monitor.montage.MUSCLES` (by key), as
#: used in intraoperative monitoring (OOc/OOr: orbicularis oculi/oris; DAO: depressor
#: anguli oris). A muscle without a code here is shortened like any other word.
MUSCLE_CODES: dict[str, str] = {
    "oculi": "OOc",
    "oris": "OOr",
    "mentalis": "Ment",
    "frontalis": "Front",
    "platysma": "Plat",
    "nasalis": "Nas",
    "zygomaticus": "Zyg",
    "depressor": "DAO",
    "masseter": "Mass",
}
_SIDES = {"l": "L", "left": "L", "r": "R", "right": "R"}
_MIN_WORD = 3  # words are shortened to no fewer characters while others are longer


def ascii_text(text: str) -> str:
    """Printable US-ASCII, as the EDF header requires (µ → u, accents dropped, other
    characters and control characters → space)."""
    text = text.replace("µ", "u").replace("μ", "u")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return "".join(c if 32 <= ord(c) < 127 else " " for c in text)


def transducer_text(label: str) -> str:
    """The human label as the transducer field keeps it: ASCII, single spaces, at most 80
    characters (idempotent)."""
    return " ".join(ascii_text(label).split())[:TRANSDUCER_CHARS].rstrip()


def human_labels(labels: Sequence[str]) -> list[str]:
    """The channels' human labels as a file keeps them: :func:`transducer_text` of each,
    ``Ch3`` for an empty third one, made unique by a number (``L Orb. oculi``,
    ``L Orb. oculi 2``)."""
    out: list[str] = []
    taken: set[str] = set()
    for i, label in enumerate(labels):
        base = transducer_text(label) or f"Ch{i + 1}"
        name, k = base, 1
        while name.lower() in taken:
            k += 1
            suffix = f" {k}"
            name = base[: TRANSDUCER_CHARS - len(suffix)].rstrip() + suffix
        taken.add(name.lower())
        out.append(name)
    return out


def _phrases() -> list[tuple[re.Pattern[str], str]]:
    """(pattern, muscle key) for every name, short name and key, longest first."""
    out = []
    for m in MUSCLES.values():
        for phrase in {m.name, m.short, m.key}:
            text = " ".join(ascii_text(phrase).lower().split())
            pattern = re.compile(rf"(?<![a-z0-9]){re.escape(text)}(?![a-z0-9])")
            out.append((len(text), pattern, m.key))
    out.sort(key=lambda t: -t[0])
    return [(p, k) for _, p, k in out]


_MUSCLE_PHRASES = _phrases()


def _shorten(words: list[str], fixed: set[int], room: int) -> str:
    """Join ``words``; while too long, cut the longest word not in ``fixed`` (the last of
    equals) by one character, down to :data:`_MIN_WORD`; then cut the text itself."""
    words = list(words)
    while len(" ".join(words)) > room:
        cuttable = [i for i, w in enumerate(words) if i not in fixed and len(w) > _MIN_WORD]
        if not cuttable:
            break
        i = max(cuttable, key=lambda k: (len(words[k]), k))
        words[i] = words[i][:-1]
    return " ".join(words)[:room].rstrip()


def short_name(label: str) -> str:
    """The sensor part of the EDF label (at most 12 characters, may be empty): side,
    muscle code, other words. ``"L Orb. oculi"`` → ``"L OOc"``, ``"Mentalis R"`` →
    ``"R Ment"``, ``"L Orb. oculi 2"`` → ``"L OOc 2"``, ``"chin"`` → ``"chin"``."""
    text = transducer_text(label)
    if text.upper() == SIGNAL_TYPE:
        text = ""
    elif text[: len(PREFIX)].upper() == PREFIX:  # already typed: name what follows
        text = text[len(PREFIX) :].strip()
    words = text.split()
    side = ""
    for k in (0, len(words) - 1) if words else ():
        if words[k].lower() in _SIDES:  # "L ...", "... R", "left ..."
            side = _SIDES[words.pop(k).lower()]
            break
    rest = " ".join(words)
    code = ""
    low = rest.lower()
    for pattern, key in _MUSCLE_PHRASES:
        m = pattern.search(low)
        if m and key in MUSCLE_CODES:
            code = MUSCLE_CODES[key]
            rest = rest[: m.start()] + " " + rest[m.end() :]
            break
    head = [w for w in (side, code) if w]
    words = head + rest.split()
    return _shorten(words, set(range(len(head))), LABEL_CHARS - len(PREFIX))


def edf_label(label: str, fallback: str = "Ch") -> str:
    """The EDF+ label of one channel: ``EMG`` and its :func:`short_name` (``fallback``
    when the label has no name left, as an empty one)."""
    return PREFIX + (short_name(label) or fallback)


def edf_labels(labels: Sequence[str]) -> list[str]:
    """The EDF+ labels of a file's channels: :func:`edf_label` of each (``EMG Ch3`` for an
    empty third label), made unique by a number (``EMG L OOc``, ``EMG L OOc 2``). At most
    16 ASCII characters each; the same labels always give the same result."""
    out: list[str] = []
    taken: set[str] = set()
    for i, label in enumerate(labels):
        base = edf_label(label, f"Ch{i + 1}")
        name, k = base, 1
        while name.lower() in taken:
            k += 1
            suffix = f" {k}"
            name = base[: LABEL_CHARS - len(suffix)].rstrip() + suffix
        taken.add(name.lower())
        out.append(name)
    return out


def _is_label_of(header_label: str, human: str, index: int) -> bool:
    """True when :func:`edf_labels` would give ``human``, channel ``index``, the label
    ``header_label``."""
    base = edf_label(human, f"Ch{index + 1}")
    if header_label == base:
        return True
    m = re.fullmatch(r"(.*) ([2-9]|[1-9]\d+)", header_label)
    if m is None:
        return False
    suffix = " " + m[2]
    return header_label == base[: LABEL_CHARS - len(suffix)].rstrip() + suffix


def display_labels(header_labels: Sequence[str], transducers: Sequence[str]) -> list[str]:
    """The labels to show for a file's data signals (annotation signals excluded).

    A file written by the monitor (every label starts with ``EMG `` and at least one is
    :func:`edf_label` of its transducer text) shows its human labels: the transducer text
    where it gives the label back, else the label without ``EMG `` (a transducer field
    changed since). Any other file keeps its labels as written: other software's
    annotations, and its users, name its channels by them.
    """
    labels = [h.strip() for h in header_labels]
    ours = [
        bool(t.strip()) and _is_label_of(h, t.strip(), i)
        for i, (h, t) in enumerate(zip(labels, transducers, strict=True))
    ]
    if not any(ours) or not all(h.startswith(PREFIX) for h in labels):
        return labels
    return [
        t.strip() if mine else h[len(PREFIX) :].strip() or h
        for h, t, mine in zip(labels, transducers, ours, strict=True)
    ]


def _hz(value: float) -> str:
    return f"{value:g}Hz"


def prefilter_text(
    highpass_hz: float | None, lowpass_hz: float | None, notch_hz: float | None
) -> str:
    """Filter settings in EDF+ prefilter syntax: ``HP:20Hz LP:3000Hz N:off``,
    ``HP:DC LP:3000Hz N:50Hz``; a missing low-pass is left out (``HP:20Hz N:off``).

    For the filters the stored samples went through: a reader such as MNE-Python takes
    them as the data's band.
    """
    for value in (highpass_hz, lowpass_hz, notch_hz):
        if value is not None and not (math.isfinite(value) and value > 0):
            raise ValueError(f"a filter frequency must be a positive number, not {value!r}")
    parts = ["HP:" + (_hz(highpass_hz) if highpass_hz else "DC")]
    if lowpass_hz:
        parts.append("LP:" + _hz(lowpass_hz))
    parts.append("N:" + (_hz(notch_hz) if notch_hz else "off"))
    return " ".join(parts)[:PREFILTER_CHARS]
