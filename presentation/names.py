"""Kinds in words: what a scenario, its ground truth and an instructor call things
(``a_train``, ``lead_off`` ...) as the screen says them (``A-train``, ``needle off``).

The EMG classes are the event log's own words (:data:`presentation.feed.CLASS_NAMES`), so
the instructor's console, the debrief and the monitor name an A-train alike.
"""

from __future__ import annotations

import re

from presentation.feed import CLASS_NAMES

#: Every kind a scenario or its truth knows, in words.
KIND_WORDS: dict[str, str] = {
    **{kind.value: name for kind, name in CLASS_NAMES.items()},
    "cautery": "cautery",
    "lead_off": "needle off",
    "lead_on": "needle back in",
    "disconnect": "disconnection",
    "lsr_gone": "LSR gone",
    "lsr_back": "LSR back",
}

_TOKEN = re.compile(r"\b(" + "|".join(sorted(KIND_WORDS, key=len, reverse=True)) + r")\b")


def kind_words(kind: str) -> str:
    """``a_train`` -> ``A-train``; an unknown kind with its underscores as spaces."""
    return KIND_WORDS.get(kind, kind.replace("_", " "))


def in_words(text: str) -> str:
    """A sentence with every kind's code name said in words (``Injected: a_train on L
    Mentalis`` -> ``Injected: A-train on L Mentalis``); only tokens with an underscore
    are touched, so ``burst`` or ``cautery`` in ordinary words stay as they are."""
    return _TOKEN.sub(lambda m: KIND_WORDS[m.group(1)] if "_" in m.group(1) else m.group(1), text)
