"""How many events of each class each channel has had: the small count beside a trace.

A count a neurophysiologist reads from 2 m (``A 2 · Bu 5 · Sp 14``): the trains by their
letters (Romstöck's A, B, C), bursts and spikes shortened; classes with no event left out
so that a quiet channel shows nothing. Fed with finished events only (an ongoing event is
counted once, when it ends). Qt-free.
"""

from __future__ import annotations

from collections.abc import Iterable

from monitor.events import EmgEvent, EventKind
from presentation import theme
from presentation.feed import class_name

#: What is counted, in the order shown, and its short name on screen.
COUNTED = (
    (EventKind.A_TRAIN, "A"),
    (EventKind.B_TRAIN, "B"),
    (EventKind.C_TRAIN, "C"),
    (EventKind.BURST, "Bu"),
    (EventKind.SPIKE, "Sp"),
)
SEPARATOR = " · "
_SHORT = dict(COUNTED)


class EventCounts:
    """Finished events per channel and class since the screen opened.

    Artifacts (cautery, on every channel) are not a channel's events and are not counted.
    An event reported final twice (the same ``id``) counts once. One thread only (the
    screen's, which polls the feed).
    """

    def __init__(self, n_channels: int) -> None:
        self.n_channels = n_channels
        self._counts = [dict.fromkeys(_SHORT, 0) for _ in range(n_channels)]
        self._seen: set[int] = set()
        self._seen_order: list[int] = []
        #: Goes up with every change: a screen redraws the counts only when it moved.
        self.version = 0

    def add(self, events: Iterable[EmgEvent]) -> None:
        for ev in events:
            if not ev.final or ev.kind not in _SHORT or not 0 <= ev.channel < self.n_channels:
                continue
            if ev.id in self._seen:
                continue
            self._remember(ev.id)
            self._counts[ev.channel][ev.kind] += 1
            self.version += 1

    def _remember(self, event_id: int) -> None:
        # Bounded: a repeated final report comes within a frame or two of the first.
        self._seen.add(event_id)
        self._seen_order.append(event_id)
        if len(self._seen_order) > 4096:
            for old in self._seen_order[:2048]:
                self._seen.discard(old)
            del self._seen_order[:2048]

    def reset(self) -> None:
        for counts in self._counts:
            for kind in counts:
                counts[kind] = 0
        self.version += 1

    def count(self, channel: int, kind: EventKind) -> int:
        return self._counts[channel].get(kind, 0)

    def parts(self, channel: int) -> list[tuple[str, str]]:
        """``[(text, colour)]`` of the classes channel ``channel`` has had, A-trains first:
        ``[("A 2", magenta), ("Sp 14", white)]``."""
        counts = self._counts[channel]
        return [
            (f"{short} {counts[kind]}", theme.event_colour(kind.value))
            for kind, short in COUNTED
            if counts[kind]
        ]

    def text(self, channel: int) -> str:
        """The count as one line (``A 2 · Sp 14``; empty for a quiet channel)."""
        return SEPARATOR.join(text for text, _ in self.parts(channel))

    def description(self, channel: int) -> str:
        """The same in words, for a tooltip: ``2 A-trains, 14 spikes``."""
        counts = self._counts[channel]
        words = [
            f"{counts[kind]} {class_name(kind)}{'s' if counts[kind] != 1 else ''}"
            for kind, _ in COUNTED
            if counts[kind]
        ]
        return ", ".join(words) if words else "no events"
