"""Incremental min/max (peak) decimation of the filtered stream for display.

Drawing every sample of 8 channels x 20 kHz x 10 s costs a core; drawing two points
(min and max) per pixel column shows the same picture, spikes included, at a fraction of
the cost. This keeps the envelope up to date block by block on the acquisition thread,
so the screen only copies a few thousand numbers per frame.
"""

from __future__ import annotations

import threading

import numpy as np

from monitor.block import Block
from monitor.extremes import segment_max, segment_min


class Envelope:
    """Per-channel min/max over fixed columns of ``samples_per_column`` samples.

    Column ``k`` covers absolute samples ``[k * spc, (k + 1) * spc)``; the newest column
    may be partial. Columns inside a gap are NaN (drawn as a break).

    Thread safety: ``push`` is called by the session on the acquisition thread;
    ``snapshot`` may be called from any thread (the GUI timer); ``configure`` from any
    thread (takes effect immediately, restarting the envelope).
    """

    def __init__(self, rate: float, n_channels: int, window_s: float = 10.0, columns: int = 1600):
        self.rate = float(rate)
        self.n_channels = n_channels
        self._lock = threading.Lock()
        self.configure(window_s, columns)

    def configure(
        self,
        window_s: float,
        columns: int,
        history: tuple[int, np.ndarray] | None = None,
    ) -> None:
        """Set the window length and the number of columns (about the plot's pixel width).

        ``history`` (``(start, samples)``, e.g. the filtered ring buffer's latest window)
        is folded in at once, so a resize does not blank the screen.
        """
        columns = max(16, int(columns))
        spc = max(1, int(np.ceil(window_s * self.rate / columns)))
        with self._lock:
            self.window_s = window_s
            self.spc = spc
            self.n_cols = int(np.ceil(window_s * self.rate / spc)) + 1
            self._min = np.full((self.n_cols, self.n_channels), np.nan, np.float32)
            self._max = np.full((self.n_cols, self.n_channels), np.nan, np.float32)
            self._end: int | None = None  # absolute sample index one past the newest
        if history is not None and len(history[1]):
            self.push(*history)

    def __call__(self, block: Block, filtered: np.ndarray) -> None:
        self.push(block.start, filtered)

    def push(self, start: int, data: np.ndarray) -> None:
        """Fold samples ``[start, start + n)`` into the columns."""
        with self._lock:
            spc = self.spc
            if self._end is not None and start > self._end:
                if (self._end - 1) // spc == start // spc:
                    pass  # a gap inside one column: keep what the column already holds
                else:
                    self._clear_columns(self._end, start)  # gap: NaN columns
                    if start % spc:
                        self._set_col(start // spc, None, None)
                self._end = start
            elif self._end is None:
                self._end = start
                if start % spc:  # the first column holds only samples from ``start`` on
                    self._set_col(start // spc, None, None)
            n = data.shape[0]
            i = 0
            pos = start
            # 1. finish the partial column we are in
            off = pos % spc
            if off and n:
                take = min(spc - off, n)
                self._fold(pos // spc, data[:take])
                i, pos = take, pos + take
            # 2. whole columns at once
            whole = (n - i) // spc
            if whole:
                chunk = data[i : i + whole * spc].reshape(whole, spc, self.n_channels)
                cols = np.arange(pos // spc, pos // spc + whole) % self.n_cols
                self._min[cols] = segment_min(chunk)
                self._max[cols] = segment_max(chunk)
                i, pos = i + whole * spc, pos + whole * spc
            # 3. start a new partial column with the rest
            if i < n:
                rest = data[i:]
                col = (pos // spc) % self.n_cols
                self._min[col] = rest.min(axis=0)
                self._max[col] = rest.max(axis=0)
                pos += n - i
            self._end = pos

    def _fold(self, col: int, part: np.ndarray) -> None:
        c = col % self.n_cols
        mn, mx = part.min(axis=0), part.max(axis=0)
        cur_min, cur_max = self._min[c], self._max[c]
        self._min[c] = np.where(np.isnan(cur_min), mn, np.minimum(cur_min, mn))
        self._max[c] = np.where(np.isnan(cur_max), mx, np.maximum(cur_max, mx))

    def _set_col(self, col: int, mn: np.ndarray | None, mx: np.ndarray | None) -> None:
        c = col % self.n_cols
        self._min[c] = np.nan if mn is None else mn
        self._max[c] = np.nan if mx is None else mx

    def _clear_columns(self, stop_prev: int, start: int) -> None:
        first = -(-stop_prev // self.spc)  # first column with no sample yet
        last = start // self.spc - (1 if start % self.spc else 0)  # up to the new data
        if last - first >= self.n_cols:
            self._min[:] = np.nan
            self._max[:] = np.nan
            return
        cols = np.arange(first, last + 1) % self.n_cols
        self._min[cols] = np.nan
        self._max[cols] = np.nan

    def snapshot(self) -> tuple[np.ndarray, np.ndarray, int]:
        """Return ``(t, y, end)`` for drawing the last ``window_s`` seconds.

        ``t`` has two entries per column (seconds from the stream start, absolute); ``y`` is
        ``[2 * columns, n_channels]`` with min and max interleaved; ``end`` is the sample
        index one past the newest sample. Empty arrays before the first push.
        """
        with self._lock:
            if self._end is None:
                return np.empty(0), np.empty((0, self.n_channels), np.float32), 0
            last = (self._end - 1) // self.spc  # newest (maybe partial) column
            first = max(0, last - self.n_cols + 2)
            cols = np.arange(first, last + 1)
            idx = cols % self.n_cols
            y = np.empty((2 * len(cols), self.n_channels), np.float32)
            y[0::2] = self._min[idx]
            y[1::2] = self._max[idx]
            end = self._end
        t = np.repeat((cols * self.spc + self.spc / 2) / self.rate, 2)
        return t, y, end
