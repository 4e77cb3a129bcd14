"""Train time: the cumulative A-train duration per channel (Prell et al., docs/clinical.md §2)."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from monitor.events import EmgEvent, EventKind


@dataclass(frozen=True, slots=True)
class TrainTimeReset:
    channel: int | None  # None: all channels
    sample_index: int
    reason: str
    seconds_before: float


class TrainTime:
    """Accumulates A-train time per channel, live (an ongoing train counts as it grows).

    ``thresholds_s`` are the warning levels (0.5 s and 10 s after Prell et al. 2007).

    Thread safety: ``on_event`` and ``advance`` are called on the acquisition thread;
    ``seconds``, ``level``, ``reset``, ``resets`` and ``carry_over`` may be called from any
    thread.
    """

    def __init__(
        self, n_channels: int, rate: float, thresholds_s: tuple[float, float] = (0.5, 10.0)
    ):
        if not 0 < thresholds_s[0] < thresholds_s[1]:
            raise ValueError("Train-time thresholds must be two increasing positive numbers.")
        self.n_channels = n_channels
        self.rate = float(rate)
        self.thresholds_s = thresholds_s
        self._done = [0] * n_channels  # samples of finished A-trains
        self._open: dict[int, tuple[int, int, int]] = {}  # event id -> (channel, onset, extent)
        self._now = 0
        self._lock = threading.Lock()
        self.resets: list[TrainTimeReset] = []
        #: Changes whenever the counts may have (a plain read: skip re-reading otherwise).
        self.version = 0

    def on_event(self, ev: EmgEvent) -> None:
        if ev.kind is not EventKind.A_TRAIN or ev.channel < 0:
            if ev.final:
                with self._lock:
                    self._open.pop(ev.id, None)
            return
        with self._lock:
            if ev.final:
                # A reset during the train moved its counted start: keep the later one.
                _, onset, _ = self._open.pop(ev.id, (ev.channel, ev.onset, ev.onset))
                end = ev.offset if ev.offset is not None else ev.reported_at
                self._done[ev.channel] += max(0, end - max(ev.onset, onset))
            else:
                # Counted from its (possibly reset) start up to where it is certain: live
                # train time never runs ahead of what the finished train will count.
                _, onset, _ = self._open.get(ev.id, (ev.channel, ev.onset, ev.onset))
                extent = ev.extent if ev.extent is not None else ev.onset
                self._open[ev.id] = (ev.channel, max(onset, ev.onset), extent)
            self._now = max(self._now, ev.reported_at)
            self.version += 1

    def advance(self, now: int) -> None:
        """The stream has reached sample ``now`` (ongoing trains grow to it)."""
        with self._lock:
            self._now = max(self._now, now)

    def carry_over(self, seconds: list[float]) -> None:
        """Start from the train time another source accumulated in this case (a source
        switch must not hide how much A-train activity the nerve has had). Thread-safe."""
        with self._lock:
            for ch, s in enumerate(seconds[: self.n_channels]):
                self._done[ch] += round(max(0.0, s) * self.rate)
            self.version += 1

    def seconds(self) -> list[float]:
        """Train time per channel in seconds, ongoing trains included."""
        with self._lock:
            return self._seconds_unlocked()

    def _seconds_unlocked(self) -> list[float]:
        total = list(self._done)
        for ch, onset, extent in self._open.values():
            total[ch] += max(0, min(self._now, extent) - onset)
        return [t / self.rate for t in total]

    def level(self, channel: int) -> int:
        """0 below the first threshold, 1 past it, 2 past the second."""
        t = self.seconds()[channel]
        return sum(t >= th for th in self.thresholds_s)

    def reset(
        self, reason: str, channel: int | None = None, sample_index: int = 0
    ) -> TrainTimeReset:
        """Start counting again (one channel, or all); the reason is kept for the record."""
        if not reason.strip():
            raise ValueError("Say why the train time is reset; the reason goes into the record.")
        with self._lock:
            before = self._seconds_unlocked()
            chans = range(self.n_channels) if channel is None else [channel]
            for ch in chans:
                self._done[ch] = 0
            for key, (ch, _, extent) in list(self._open.items()):
                if ch in chans:
                    self._open[key] = (ch, self._now, extent)
            r = TrainTimeReset(
                channel,
                sample_index,
                reason.strip(),
                sum(before) if channel is None else before[channel],
            )
            self.resets.append(r)
            self.version += 1
        return r
