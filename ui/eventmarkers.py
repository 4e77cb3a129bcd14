"""Free-running events drawn on the traces: a band per event in its class colour, and names.

Fixed pool of persistent items (PLATFORM.md: creating and deleting pyqtgraph items
leaks): per channel one path item per event class, holding every event of that class in
the window as rectangles, and a few text labels reused frame after frame. The paths are
built in absolute seconds and only rebuilt when their events change; scrolling moves
them with ``setPos``. Artifacts (cautery, on all channels) are a faint grey band on every
channel, named "cautery — detection paused" on the top one; the trace view draws the
signal inside them in grey (``artifact_spans``).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetrics, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsPathItem

from monitor.events import EmgEvent, EventKind
from presentation import theme
from presentation.eventcounts import EventCounts
from presentation.feed import event_label

LABELS_PER_CHANNEL = 4
MIN_BAND_PX = 4.0  # a 3 ms spike is still a visible stripe
_KINDS = tuple(EventKind)
CAUTERY_LABEL = "cautery — detection paused"
CAUTERY_BAND_ALPHA = 45  # faint: the grey signal inside says the rest


class EventMarkers:
    """Event bands and class names over a :class:`~ui.traces.TraceView`'s plots.

    GUI thread only. ``add_final`` takes finished events (from the feed), ``update``
    draws the window ending at ``end_index`` with the ongoing events extended to it.
    """

    def __init__(
        self,
        plots: list[pg.PlotItem],
        rate: float,
        keep: int = 4000,
        counts: EventCounts | None = None,
    ) -> None:
        self.plots = plots
        self.rate = float(rate)
        #: Counts per channel and class, fed with the same finished events.
        self.counts = counts
        #: ``[a, b)`` sample spans of the artifacts of the window last drawn.
        self.artifact_spans: list[tuple[int, int]] = []
        self._recent: deque[EmgEvent] = deque(maxlen=keep)
        self._y = (-200.0, 200.0)
        self._bands: dict[tuple[int, EventKind], QGraphicsPathItem] = {}
        self._band_sig: dict[tuple[int, EventKind], tuple] = {}
        self._labels: list[list[pg.TextItem]] = []
        self._label_state: dict[int, tuple] = {}
        self.font = QFont()
        self.font.setPointSize(theme.MARKER_PT)
        self.font.setBold(True)
        self._metrics = QFontMetrics(self.font)
        for ch, plot in enumerate(plots):
            for kind in _KINDS:
                colour = QColor(theme.event_colour(kind.value))
                fill = QColor(colour)
                fill.setAlpha(theme.EVENT_BAND_ALPHA.get(kind.value, 60))
                pen = QPen(colour)
                pen.setCosmetic(True)
                pen.setWidthF(1.5)
                if kind is EventKind.ARTIFACT:
                    fill.setAlpha(CAUTERY_BAND_ALPHA)
                item = QGraphicsPathItem()
                item.setBrush(QBrush(fill))
                outlined = kind not in (EventKind.SPIKE, EventKind.ARTIFACT)
                item.setPen(pen if outlined else QPen(Qt.PenStyle.NoPen))
                item.setVisible(False)
                plot.addItem(item, ignoreBounds=True)
                item.setZValue(-5 if kind is not EventKind.SPIKE else -4)
                self._bands[(ch, kind)] = item
                self._band_sig[(ch, kind)] = ()
            pool = []
            for _ in range(LABELS_PER_CHANNEL):
                label = pg.TextItem("", color="#000000", anchor=(0, 0), fill="#ffffff")
                label.setFont(self.font)
                label.setVisible(False)
                plot.addItem(label, ignoreBounds=True)
                label.setZValue(20)
                pool.append(label)
            self._labels.append(pool)
        #: What each channel labels now: [(text, x_rel)] (for tests and the log).
        self.shown: list[list[tuple[str, float]]] = [[] for _ in plots]

    # -- input ---------------------------------------------------------------------------
    def add_final(self, events: Iterable[EmgEvent]) -> None:
        events = list(events)
        self._recent.extend(events)
        if self.counts is not None:
            self.counts.add(events)

    def set_range(self, range_uv: float) -> None:
        """The plots' ± µV changed: bands span the new height, labels sit at the new top."""
        self._y = (-1.02 * range_uv, 1.02 * range_uv)
        for key in self._band_sig:
            self._band_sig[key] = ()
        self._label_state.clear()

    # -- drawing ---------------------------------------------------------------------------
    def visible_events(self, ongoing: Iterable[EmgEvent], end: int, window_s: float):
        """Events overlapping the window ``[end - window, end]``: (event, onset, offset)."""
        left = end - round(window_s * self.rate)
        while self._recent and (self._recent[0].offset or end) < left - self.rate:
            self._recent.popleft()  # roughly in time order; a straggler goes a frame later
        finals = {ev.id: ev for ev in self._recent if (ev.offset or end) >= left}
        out = []
        for ev in ongoing:
            if ev.id not in finals:
                out.append((ev, ev.onset, end))
        for ev in finals.values():
            out.append((ev, ev.onset, ev.offset if ev.offset is not None else end))
        return out

    def update(self, ongoing: Iterable[EmgEvent], end: int, window_s: float) -> None:
        """Draw the events of the window ending at sample ``end`` (GUI thread)."""
        if not self.plots:
            return
        end_s = end / self.rate
        width = self.plots[0].vb.width()
        px_per_s = (width if width >= 10 else 1000.0) / window_s  # not laid out yet: a guess
        min_w = MIN_BAND_PX / px_per_s
        n = len(self.plots)
        groups: dict[tuple[int, EventKind], list[tuple[float, float]]] = {}
        per_channel: list[list[tuple[EmgEvent, float, bool]]] = [[] for _ in range(n)]
        self.artifact_spans = []
        for ev, on, off in self.visible_events(ongoing, end, window_s):
            if ev.kind is EventKind.ARTIFACT:
                self.artifact_spans.append((on, off))
            on_s = on / self.rate
            off_s = max(off / self.rate, on_s + min_w)
            rect = (round(on_s, 4), round(off_s, 4))
            chans = range(n) if ev.channel < 0 else (ev.channel,) if ev.channel < n else ()
            for ch in chans:
                groups.setdefault((ch, ev.kind), []).append(rect)
            label_ch = 0 if ev.channel < 0 else ev.channel
            if label_ch < n:
                per_channel[label_ch].append((ev, on_s, ev.offset is None))
        for key, item in self._bands.items():
            rects = groups.get(key)
            if not rects:
                if item.isVisible():
                    item.setVisible(False)
                continue
            sig = tuple(sorted(rects))
            if sig != self._band_sig[key]:
                path = QPainterPath()
                y0, y1 = self._y
                for a, b in sig:
                    path.addRect(QRectF(a, y0, b - a, y1 - y0))
                item.setPath(path)
                self._band_sig[key] = sig
            item.setPos(-end_s, 0)
            if not item.isVisible():
                item.setVisible(True)
        for ch in range(n):
            self._place_labels(ch, per_channel[ch], end_s, window_s, px_per_s)

    def _place_labels(self, ch, events, end_s, window_s, px_per_s) -> None:
        # A-trains first, then newest first; skip a name that would cover another.
        events.sort(key=lambda e: (e[0].kind is not EventKind.A_TRAIN, -e[1]))
        taken: list[tuple[float, float]] = []
        shown = []
        pool = self._labels[ch]
        for ev, on_s, is_ongoing in events:
            if len(shown) == len(pool):
                break
            name = CAUTERY_LABEL if ev.kind is EventKind.ARTIFACT else event_label(ev)
            text = name + (" …" if is_ongoing else "")
            x = max(on_s - end_s, -window_s)
            w = (self._metrics.horizontalAdvance(text) + 10) / px_per_s
            if x + w > 0:
                x = max(-window_s, -w)  # keep the newest name inside the plot
            if any(x < b and a < x + w for a, b in taken):
                continue
            taken.append((x, x + w))
            shown.append((text, x, ev.kind))
        for i, label in enumerate(pool):
            if i < len(shown):
                text, x, kind = shown[i]
                state = (text, kind)
                if self._label_state.get(id(label)) != state:
                    label.setText(text, color=theme.EVENT_TEXT_ON.get(kind.value, "#000000"))
                    label.fill = pg.mkBrush(theme.event_colour(kind.value))
                    self._label_state[id(label)] = state
                label.setPos(x, self._y[1])
                if not label.isVisible():
                    label.setVisible(True)
            elif label.isVisible():
                label.setVisible(False)
        self.shown[ch] = [(t, x) for t, x, _ in shown]

    def bands(self, channel: int, kind: EventKind) -> list[tuple[float, float]]:
        """The ``kind`` bands channel ``channel`` draws now, in seconds before the newest
        sample (as on the x axis)."""
        item = self._bands[(channel, kind)]
        if not item.isVisible():
            return []
        dx = item.pos().x()
        return [(a + dx, b + dx) for a, b in self._band_sig[(channel, kind)]]

    def band_count(self, channel: int, kind: EventKind) -> int:
        """How many events of ``kind`` channel ``channel`` draws now (for tests)."""
        return len(self.bands(channel, kind))
