"""Which EDF+ annotation texts the monitor writes itself: what a de-identified copy keeps.

A recording's annotations mix what the monitor wrote (events, alarms, stimuli, LSR calls,
gaps) with what people typed during the case (``note: ...``, train-time reset reasons)
and, in files from other software, anything at all. Free text can name the patient, so
``main.py deidentify`` keeps an annotation only when it is plainly one of the monitor's
own (:class:`TextPolicy`):

1. it opens like one of them (:data:`OPENINGS`), and
2. every word in it is a word the monitor writes (:data:`WORDS`), a number, a time, a
   serial port or one of the file's own channel labels, and
3. it contains none of the identifiers read from the original header (patient code,
   name, birth date, administration code, technician).

Anything else is removed. The lists follow the texts made in ``monitor/caserecording.py``
(events, evoked measurements, settings changed), ``monitor/recorder.py`` (stimuli,
overflow), ``monitor/edfwriter.py`` (gaps, end of recording), ``monitor/monitoring.py`` and
``monitor/quality.py`` (alarm texts, threshold changes, train-time resets),
``monitor/session.py`` (filter changes, signal loss), ``drivers/serial_link.py`` (signal
loss), ``monitor/evoked/analyzer.py`` (LSR and Z-L calls) and ``scripts/make_demo.py`` (the
simulator's ``truth:`` annotations). A train-time reset carries the reason typed for it,
so it goes unless that reason is made of the monitor's words.

A text the lists do not know is removed: when the monitor learns to write a new kind of
annotation, its words belong here (the test records a simulated case through the real
recorder and fails when one of its annotations would be removed).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

#: How the monitor's annotations begin (followed by a space, a colon or the end).
OPENINGS: tuple[str, ...] = (
    "stim",  # recorder.stim_text
    "spike",  # caserecording.EVENT_NAMES
    "burst",
    "A-train",
    "B-train",
    "C-train",
    "artifact",
    "alarm",  # caserecording: alarm <priority> <state>: <alarm text>
    "LSR",  # evoked calls (LSR disappeared ...) and measurements (LSR #12: ...)
    "Stimulation",  # evoked stimulation calls (Stimulation is not reaching the nerve ...)
    "Z-L",  # Z-L response calls, Z-L #12: ...
    "EMG",  # triggered-EMG measurements: EMG #12: ...
    "setting",  # caserecording: setting: filter ... / detection threshold ... / train time reset
    "gap",  # edfwriter.write_gap
    "recorder overflow",  # recorder: blocks the queue could not take
    "recording end",  # edfwriter.close
    "truth",  # the simulator's ground truth (scripts/make_demo.py)
)

_EVENTS = "spike burst A-train B-train C-train artifact a_train b_train c_train Hz uV µV"
_STIMULI = (
    "stim mA ms us µs zygomatic temporal buccal marginal mandibular cervical branch "
    "branches facial nerve Z-L detected artifact Trigger trigger vessel trunk root probe"
)
_ALARMS = (
    "alarm Low Medium High active acknowledged latched resolved "
    # casemodel.toggle_alarm_pause: alarm audio paused for 2:00 / alarm audio resumed
    "audio paused resumed "
    # monitoring.py, quality.py
    "A-train on at Hz Train time s over risk of facial palsy electrode off check the needle "
    "flat signal lead heavy mains interference µV impedance and cables amplifier saturated "
    "out range "
    # recorder.py (disk trouble; a folder path is not a word, so that text goes)
    "Recording stopped disk is full Monitoring continues free space or choose another folder "
    "falling behind slow reported an error reconnect drive "
    # session.py, serial_link.py (signal lost)
    "No signal no data from for amplifier device did not describe itself port open answer "
    "Trying to reconnect Internal error in acquisition monitoring has stopped Restart "
    "source details are log back"
)
_EVOKED = (
    "LSR Z-L response disappeared reappeared absent on consecutive sweeps at mA since below "
    "% of baseline no threshold gone µV ms "
    # caserecording.sweep_text: LSR #12: L Mentalis 230 uV 10.2 ms, L Orb. oris not judged (noisy)
    "EMG uV not judged gap noisy spontaneous activity pre-stimulus signal lsr zl triggered "
    # ... L Orb. oris rejected (cautery); direct L Orb. oculi 1230 uV; stimulation lost
    "rejected cautery saturation movement artifact implausible amplitude direct stimulation "
    "lost "
    # lsrtracker: the caveat of a disappearance, the stimulation calls
    "confirmed response to check it by Stimulation is reaching the nerve stimulating "
    "electrode The cannot be meanwhile most its while stimulus does reach reaches again mV "
    # evoked.py: the analysis off (a low sampling rate, an internal error)
    "not measured sampling rate below it needs stopped after an internal error details are in "
    "log"
)
_SETTINGS = (  # session.set_filter, monitoring.set_thresholds / set_traintime_thresholds
    "setting filter Hz DC Nyquist notch -> detection threshold fixed uV adaptive x noise at least "
    "train-time thresholds s train time reset on was all channels"
)
_OTHER = (
    "gap samples recorder overflow not recorded recording end padding follows truth all channels"
)
#: Every word the monitor writes in an annotation (case matters: names are capitalised).
WORDS: frozenset[str] = frozenset(
    [*" ".join((_EVENTS, _STIMULI, _ALARMS, _EVOKED, _SETTINGS, _OTHER)).split(), "—", "-", "–"]
)

_NUMBER = re.compile(r"[-+#]?\d+(?:[.,]\d+)?%?")
_TIME = re.compile(r"\d{1,3}(?::\d{2}){1,2}(?:\.\d+)?")
_PORT = re.compile(r"/dev/tty[A-Za-z0-9]+|\bCOM\d+\b")
_SPLIT = re.compile(r"[\s,;:()/]+")
_ENDS = ".…?!'\""


def _openings_pattern() -> re.Pattern[str]:
    alternatives = "|".join(re.escape(o) for o in sorted(OPENINGS, key=len, reverse=True))
    return re.compile(rf"(?:{alternatives})(?=$|[\s:])")


_OPENING = _openings_pattern()


def starts_like_machine(text: str) -> bool:
    """True when ``text`` begins as one of the monitor's own annotations (its words are not
    checked: the report's test, where nothing private is at stake)."""
    return bool(_OPENING.match(" ".join(text.split())))


def _word_pattern(words: Iterable[str]) -> re.Pattern[str] | None:
    """Any of ``words`` standing alone (not inside a longer word), longest first."""
    alternatives = [re.escape(w) for w in sorted({w for w in words if w}, key=len, reverse=True)]
    if not alternatives:
        return None
    return re.compile(rf"(?<![\w])(?:{'|'.join(alternatives)})(?![\w])")


class TextPolicy:
    """Decides which annotation texts of one file are kept.

    Parameters
    ----------
    labels : iterable of str
        The file's channel labels (the monitor names channels in events and alarms).
    identifiers : iterable of str
        Words from the original patient and recording fields; a text holding one of them
        (any case) is removed whatever else it says.

    Thread safety: immutable after construction; safe from any thread.
    """

    def __init__(self, labels: Iterable[str], identifiers: Iterable[str] = ()) -> None:
        self._labels = _word_pattern(label.strip() for label in labels)
        ids = _word_pattern(identifiers)
        self._identifiers = None if ids is None else re.compile(ids.pattern, re.IGNORECASE)

    def keeps(self, text: str) -> bool:
        """True when ``text`` is one of the monitor's own annotations (see the module)."""
        return _machine_text(text, self._labels, self._identifiers)


def _machine_text(
    text: str,
    labels: re.Pattern[str] | None = None,
    identifiers: re.Pattern[str] | None = None,
) -> bool:
    """True when ``text`` is one of the monitor's own annotation texts.

    Parameters
    ----------
    text : str
        The annotation text.
    labels : re.Pattern, optional
        Matches the file's channel labels (removed before the words are checked).
    identifiers : re.Pattern, optional
        Matches words of the original patient or recording field (the text is refused).
    """
    text = " ".join(text.split())
    if not text or not _OPENING.match(text):
        return False
    if identifiers is not None and identifiers.search(text):
        return False
    rest = _PORT.sub(" ", text)
    if labels is not None:
        rest = labels.sub(" ", rest)
    for token in _SPLIT.split(rest):
        word = token.strip(_ENDS)
        if not word or word in WORDS or _NUMBER.fullmatch(word) or _TIME.fullmatch(word):
            continue
        return False
    return True
