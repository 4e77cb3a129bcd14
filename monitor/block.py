"""The block: the unit of data that flows from a source through the core.

The sample index is the clock. Every block carries the absolute index of its first
sample as counted by the device (or the file, or the simulator), never the host's
read time. Wall-clock time is derived from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True, slots=True)
class StimMarker:
    """One stimulator pulse.

    Attributes
    ----------
    index : int
        Absolute sample index of the pulse onset.
    current_ma : float
        Stimulus current in mA (``nan`` when unknown, e.g. from a file annotation).
    width_ms : float
        Pulse width in ms (``nan`` when unknown).
    site : str
        Where the stimulus was applied (``"zygomatic"``, ``"Z-L"``, an output name ...).
    """

    index: int
    current_ma: float = float("nan")
    width_ms: float = float("nan")
    site: str = ""


@dataclass(frozen=True, slots=True)
class GapMarker:
    """Samples the source knows it lost: ``[index, index + n_missing)``.

    ``seek`` marks the jump a reviewer asked for (replay moved to another point of the
    recording): nothing was lost, the pipeline restarts as after a gap.
    """

    index: int
    n_missing: int
    seek: bool = False


@dataclass(frozen=True, slots=True)
class NoteMarker:
    """A free-text annotation at a sample index (from a file, an operator or a device)."""

    index: int
    text: str
    duration_s: float = 0.0


@dataclass(frozen=True, slots=True)
class Block:
    """A contiguous run of samples from a source.

    Attributes
    ----------
    start : int
        Absolute index of the first sample. Blocks of one stream are ordered; a block
        whose ``start`` is past the end of the previous one implies a gap of the
        difference, which ``gaps`` should also state.
    data : numpy.ndarray
        float32 samples, shape ``(n_samples, n_channels)``, in µV.
    rate : float
        Sampling rate in Hz (the same for all channels).
    labels : tuple of str
        One label per channel.
    stims, gaps, notes : tuple
        Markers that fall in or just before this block, with absolute indices.
    """

    start: int
    data: np.ndarray
    rate: float
    labels: tuple[str, ...]
    stims: tuple[StimMarker, ...] = field(default=())
    gaps: tuple[GapMarker, ...] = field(default=())
    notes: tuple[NoteMarker, ...] = field(default=())

    def __post_init__(self) -> None:
        if self.data.ndim != 2:
            raise ValueError(
                f"block data must be 2-D (samples, channels), got shape {self.data.shape}"
            )
        if self.data.dtype != np.float32:
            raise ValueError(f"block data must be float32, got {self.data.dtype}")
        if self.data.shape[1] != len(self.labels):
            raise ValueError(
                f"block has {self.data.shape[1]} channels but {len(self.labels)} labels"
            )
        if self.start < 0:
            raise ValueError(f"block start index must be >= 0, got {self.start}")

    @property
    def n_samples(self) -> int:
        return int(self.data.shape[0])

    @property
    def n_channels(self) -> int:
        return int(self.data.shape[1])

    @property
    def stop(self) -> int:
        """Absolute index one past the last sample."""
        return self.start + self.n_samples
