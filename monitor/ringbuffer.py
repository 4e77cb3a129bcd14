"""A fixed-size multichannel ring buffer addressed by absolute sample index."""

from __future__ import annotations

import threading

import numpy as np


class OverwrittenError(LookupError):
    """The requested samples were already overwritten by newer data."""


class NotYetWrittenError(LookupError):
    """The requested samples have not arrived yet."""


class RingBuffer:
    """Holds the most recent ``capacity`` samples of ``n_channels`` channels.

    Memory is allocated once. Samples are addressed by their absolute index (the
    device's sample count). Samples inside a gap read as NaN, so a gap shows as a break
    and never as made-up data.

    Thread safety: every public method is safe to call from any thread. ``write`` is
    meant for one writer (the acquisition thread); readers get copies.
    """

    def __init__(self, capacity: int, n_channels: int, dtype: type = np.float32) -> None:
        if capacity <= 0 or n_channels <= 0:
            raise ValueError("a ring buffer needs a positive capacity and channel count")
        # Left unset: a sample is readable only once written (a gap's samples are set to
        # NaN when the gap is written), so filling it here would only touch every page of
        # a buffer of tens of MB before it is needed.
        self._buf: np.ndarray = np.empty((capacity, n_channels), dtype=dtype)
        self._capacity = capacity
        self._end: int | None = None  # absolute index one past the newest sample
        self._lock = threading.Lock()

    @property
    def capacity(self) -> int:
        return self._capacity

    @property
    def n_channels(self) -> int:
        return self._buf.shape[1]

    @property
    def end(self) -> int:
        """Absolute index one past the newest sample (0 before the first write)."""
        with self._lock:
            return 0 if self._end is None else self._end

    @property
    def begin(self) -> int:
        """Absolute index of the oldest sample still held."""
        with self._lock:
            return self._begin_unlocked()

    def _begin_unlocked(self) -> int:
        if self._end is None:
            return 0
        return max(self._first, self._end - self._capacity)

    def write(self, start: int, data: np.ndarray) -> None:
        """Append ``data`` (``[n, n_channels]``) whose first sample has index ``start``.

        ``start`` must not be before the current end. A ``start`` past the end is a gap;
        the samples in between read as NaN.
        """
        n = data.shape[0]
        if data.ndim != 2 or data.shape[1] != self.n_channels:
            raise ValueError(f"expected shape (n, {self.n_channels}), got {data.shape}")
        with self._lock:
            if self._end is None:
                self._first = start
                self._end = start
            if start < self._end:
                raise ValueError(
                    f"write at index {start} would go back in time (buffer ends at {self._end})"
                )
            if start > self._end:
                self._fill_nan(self._end, start)
            if n >= self._capacity:  # only the newest samples can be kept
                data = data[-self._capacity :]
                start = start + n - self._capacity
                n = self._capacity
            self._put(start, data)
            self._end = start + n

    def _fill_nan(self, start: int, stop: int) -> None:
        start = max(start, stop - self._capacity)
        i0 = start % self._capacity
        n = stop - start
        first = min(n, self._capacity - i0)
        self._buf[i0 : i0 + first] = np.nan
        self._buf[: n - first] = np.nan

    def _put(self, start: int, data: np.ndarray) -> None:
        n = data.shape[0]
        i0 = start % self._capacity
        first = min(n, self._capacity - i0)
        self._buf[i0 : i0 + first] = data[:first]
        if first < n:
            self._buf[: n - first] = data[first:]

    def read(self, start: int, stop: int) -> np.ndarray:
        """Return a copy of samples ``[start, stop)``.

        Raises
        ------
        OverwrittenError
            When part of the range is older than what the buffer still holds.
        NotYetWrittenError
            When part of the range is newer than the last write.
        """
        if stop < start:
            raise ValueError(f"empty range [{start}, {stop})")
        with self._lock:
            return self._read_unlocked(start, stop)

    def _read_unlocked(self, start: int, stop: int) -> np.ndarray:
        end = 0 if self._end is None else self._end
        if stop > end:
            raise NotYetWrittenError(f"samples up to {stop} requested, buffer ends at {end}")
        begin = self._begin_unlocked()
        if start < begin:
            raise OverwrittenError(f"samples from {start} requested, oldest still held is {begin}")
        n = stop - start
        i0 = start % self._capacity
        first = min(n, self._capacity - i0)
        out = np.empty((n, self.n_channels), dtype=self._buf.dtype)
        out[:first] = self._buf[i0 : i0 + first]
        out[first:] = self._buf[: n - first]
        return out

    def latest(self, n: int) -> tuple[int, np.ndarray]:
        """Return ``(start, samples)`` for the newest ``n`` samples (fewer if not yet held)."""
        with self._lock:
            end = 0 if self._end is None else self._end
            start = max(self._begin_unlocked(), end - n)
            return start, self._read_unlocked(start, end)
