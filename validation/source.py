"""A :class:`monitor.source.Source` that serves samples held in memory.

The monitor's real pipeline (session, filters, detectors) runs on a generated signal
through this source exactly as on a device: blocks of a chosen size, or of random sizes
(as a serial link delivers them), each with the stimulus markers whose pulse falls in it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from monitor.block import Block, StimMarker
from monitor.source import EndOfStream, Source, SourceError, SourceInfo


class ArraySource(Source):
    """Serve ``data`` (``(n, channels)`` µV) in blocks, then :class:`EndOfStream`.

    Parameters
    ----------
    data : numpy.ndarray
        Samples; converted to float32.
    rate : float
    labels : sequence of str
    stims : sequence of StimMarker
        Delivered with the block that holds their pulse.
    block : int or (int, int)
        Samples per block, or the inclusive range random sizes are drawn from.
    seed : int
        For random block sizes: the same seed cuts the stream the same way.
    name : str

    Thread safety: as :class:`~monitor.source.Source` (one thread; ``request_stop`` from any).
    """

    def __init__(
        self,
        data: np.ndarray,
        rate: float,
        labels: Sequence[str],
        stims: Sequence[StimMarker] = (),
        block: int | tuple[int, int] = 100,
        seed: int = 0,
        name: str = "validation signal",
    ) -> None:
        self._data = np.ascontiguousarray(data, dtype=np.float32)
        if self._data.ndim != 2 or self._data.shape[1] != len(labels):
            raise ValueError("data must be (samples, channels) with one label per channel")
        lo, hi = (block, block) if isinstance(block, int) else block
        if not 1 <= lo <= hi:
            raise ValueError(f"block sizes must be positive and ordered, not {block!r}")
        self._sizes = (int(lo), int(hi))
        self._seed = seed
        self._info = SourceInfo(name, float(rate), tuple(labels), "validation")
        self._stims = sorted(stims, key=lambda m: m.index)
        self._pos = 0
        self._next_stim = 0
        self._rng = np.random.default_rng(seed)
        self._open = False

    @property
    def info(self) -> SourceInfo:
        return self._info

    @property
    def duration_s(self) -> float:
        return len(self._data) / self._info.rate

    def open(self) -> None:
        if self._open:
            raise SourceError(f"{self._info.name} is already open.")
        self._open = True
        self._pos = 0
        self._next_stim = 0
        self._rng = np.random.default_rng(self._seed)

    def read(self) -> Block | None:
        if not self._open:
            raise SourceError(f"{self._info.name} is not open.")
        n = len(self._data)
        if self._pos >= n:
            raise EndOfStream
        lo, hi = self._sizes
        size = lo if lo == hi else int(self._rng.integers(lo, hi + 1))
        start, stop = self._pos, min(n, self._pos + size)
        stims = []
        while self._next_stim < len(self._stims) and self._stims[self._next_stim].index < stop:
            stims.append(self._stims[self._next_stim])
            self._next_stim += 1
        self._pos = stop
        return Block(
            start, self._data[start:stop], self._info.rate, self._info.labels, tuple(stims)
        )

    def close(self) -> None:
        self._open = False
