"""The in-process simulator: synthetic facial EMG delivered as a paced Source."""

from __future__ import annotations

import threading
import time

from drivers.emgsynth import EmgSynth, SimConfig
from monitor.block import Block, GapMarker
from monitor.source import EndOfStream, Source, SourceInfo


class SimulatorSource(Source):
    """Synthetic EMG (see :mod:`drivers.emgsynth`) paced by the wall clock.

    Parameters
    ----------
    config : SimConfig
    block_seconds : float
        Signal per block; 10 ms like a device's USB frames.
    realtime : bool
        False delivers blocks as fast as they are generated (tests, benches, analysis).
    speed : float
        Signal seconds per wall second when ``realtime`` (1 = live).
    duration_s : float, optional
        End the stream (``EndOfStream``) after this much signal.

    Thread safety: ``read``/``open``/``close`` on the acquisition thread only;
    ``request_stop`` from any thread. ``synth`` (and its ground truth lists) belongs to the
    acquisition thread while streaming; read ``truth_snapshot()`` from elsewhere.
    """

    def __init__(
        self,
        config: SimConfig | None = None,
        block_seconds: float = 0.01,
        realtime: bool = True,
        speed: float = 1.0,
        duration_s: float | None = None,
    ) -> None:
        self.config = config or SimConfig()
        if not 0.01 <= speed <= 1000:
            raise ValueError(f"Simulator speed must be 0.01 to 1000, not {speed:g}.")
        self.synth = EmgSynth(self.config)
        self.block_n = max(1, round(block_seconds * self.config.rate))
        self.realtime = realtime
        self.speed = speed
        self.duration_n = None if duration_s is None else round(duration_s * self.config.rate)
        self._next = 0
        self._t0: float | None = None
        self._wake = threading.Event()
        self._truth_lock = threading.Lock()
        self._overruns = 0
        self._info = SourceInfo(
            name="Simulator",
            rate=self.config.rate,
            labels=tuple(self.config.labels),
            kind="simulator",
            description=f"seed {self.synth._seed_entropy}",
        )

    @property
    def info(self) -> SourceInfo:
        return self._info

    @property
    def overruns(self) -> int:
        return self._overruns

    def open(self) -> None:
        self._t0 = None

    def read(self) -> Block | None:
        if self.duration_n is not None and self._next >= self.duration_n:
            raise EndOfStream
        n = self.block_n
        if self.realtime:
            now = time.monotonic()
            if self._t0 is None:
                self._t0 = now - self._next / (self.config.rate * self.speed)
            due = int((now - self._t0) * self.config.rate * self.speed)
            if due < self._next + n:
                wait = (self._next + n - due) / (self.config.rate * self.speed)
                if self._wake.wait(min(wait, 0.1)):
                    self._wake.clear()
                    return None
                if wait > 0.1:
                    return None
            else:
                behind = due - self._next
                if behind > 2 * self.config.rate:
                    # Like a device whose buffer overflowed: skip to now, mark the gap.
                    gap = GapMarker(self._next, behind - n)
                    self._overruns += 1
                    self._next += gap.n_missing
                    return self._block(n, (gap,))
                # Catch up in larger blocks, at most 0.2 s so latency stays bounded.
                n = min(max(n, behind - behind % n), round(0.2 * self.config.rate))
        return self._block(n)

    def _block(self, n: int, gaps: tuple[GapMarker, ...] = ()) -> Block:
        if self.duration_n is not None:
            n = min(n, self.duration_n - self._next)
        with self._truth_lock:
            data, stims = self.synth.render(self._next, n)
        block = Block(self._next, data, self.config.rate, self._info.labels, tuple(stims), gaps)
        self._next += n
        return block

    def truth_snapshot(self) -> tuple[list, list]:
        """Copies of the ground-truth events and stimuli so far. Thread-safe."""
        with self._truth_lock:
            return list(self.synth.truth), list(self.synth.stim_truth)

    def request_stop(self) -> None:
        self._wake.set()

    def close(self) -> None:
        pass
