"""The Source contract that every driver implements, and the errors it may raise.

The session calls a source only from its acquisition thread: ``open`` once, then
``read`` in a loop, ``reconnect`` after a :class:`SignalLost`, ``close`` at the end.
The error classes carry a sentence a clinician understands; the session decides what
happens next from the class (see :mod:`monitor.session`).
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

from monitor.block import Block
from monitor.electrodes import ElectrodeReport
from monitor.stimulator import StimulatorSettings


class SourceError(Exception):
    """The source cannot go on; monitoring from it stops.

    ``str(error)`` is shown to the user, so it must read as a plain sentence
    ("The file demo.edf is not an EDF file: its header is too short.").
    """


class SignalLost(SourceError):
    """The source stopped delivering but may come back (unplugged cable, silent device).

    The session marks the gap, tells the user, and calls ``reconnect`` with back-off.
    """


class EndOfStream(Exception):
    """A finite source (a replayed file) has delivered its last sample."""


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a source can do beyond delivering blocks; the screen and the case model offer
    only what is stated here (never guessed from the source's class or description).

    Attributes
    ----------
    seekable : bool
        A file that can be paused, sought and played at another speed: the source also
        implements :class:`Seekable`.
    bits : int
        Resolution of the samples (16 or 24): a 24-bit source is recorded as BDF+, so that
        no resolution is lost; 16 bits as EDF+.
    stimulator : bool
        ``stimulator()`` and ``set_stimulator()`` reach a stimulator.
    electrode_check : bool
        ``request_electrode_check()`` and ``electrodes()`` measure the needles.
    exclusive : bool
        The source holds a device (a serial port) that must be released before the same
        device can be opened again, e.g. with the case's montage.
    montage : bool
        The source can be opened again with other channel labels (a live source); a
        recording keeps the channels it was recorded with.
    """

    seekable: bool = False
    bits: int = 16
    stimulator: bool = False
    electrode_check: bool = False
    exclusive: bool = False
    montage: bool = True


@dataclass(frozen=True, slots=True)
class SourceInfo:
    """What a source delivers; fixed for the life of an opened source."""

    name: str
    rate: float
    labels: tuple[str, ...]
    kind: str  # "simulator", "replay", "serial", ...
    description: str = ""
    capabilities: Capabilities = field(default_factory=Capabilities)

    @property
    def n_channels(self) -> int:
        return len(self.labels)


@runtime_checkable
class SourceDescription(Protocol):
    """Where the signal comes from, as data: one small frozen dataclass per kind of source
    (:mod:`drivers.sources`). The case model opens, reopens and switches sources through
    it; the core never needs to know the drivers."""

    @property
    def title(self) -> str:
        """A few words for the screen: "Simulator", "Amplifier on /dev/ttyACM0"..."""
        ...

    def make(self) -> Source:
        """A new, unopened source of this description. Raises :class:`SourceError` or
        ``ValueError`` with a sentence."""
        ...

    def with_channels(self, labels: tuple[str, ...], rate: float) -> SourceDescription | None:
        """The same source with these channel labels (a case's montage) at this rate;
        ``None`` when the source keeps its own channels (a recording)."""
        ...


class Seekable(Protocol):
    """A source that is a file under the user's control (``Capabilities.seekable``).

    Thread safety: every method may be called from the GUI thread while the acquisition
    thread reads; none blocks.
    """

    path: Path
    speed: float
    messages: list[str]
    duration_s: float
    annotations: list

    @property
    def position_s(self) -> float: ...

    @property
    def paused(self) -> bool: ...

    @property
    def at_end(self) -> bool: ...

    def pause(self) -> None: ...

    def resume(self) -> None: ...

    def pause_at(self, seconds: float) -> None: ...

    def seek(self, seconds: float) -> None: ...

    def set_speed(self, speed: float) -> None: ...

    def recording_index(self, stream_index: int) -> int: ...


class Source(abc.ABC):
    """A stream of :class:`~monitor.block.Block` objects.

    Thread safety: all methods are called from one thread (the session's acquisition
    thread), except ``request_stop``, which may be called from any thread and must make
    a blocked ``read`` return (or raise) promptly, and the optional electrode check
    (``electrodes``, ``request_electrode_check``), which the screen calls from its own
    thread and which must return at once.
    """

    @property
    @abc.abstractmethod
    def info(self) -> SourceInfo:
        """Rate, labels and name. Valid after ``open``."""

    @abc.abstractmethod
    def open(self) -> None:
        """Acquire the device or file. Raises :class:`SourceError` with a clear sentence."""

    @abc.abstractmethod
    def read(self) -> Block | None:
        """Return the next block, blocking at most ~0.1 s.

        Returns ``None`` when nothing arrived in that time (so the caller can check for
        stop requests). Raises :class:`EndOfStream`, :class:`SignalLost` or
        :class:`SourceError`.
        """

    def reconnect(self) -> None:
        """Try once to get the signal back after :class:`SignalLost`; raise if not yet."""
        raise SourceError(f"{self.info.name} cannot reconnect.")

    def request_stop(self) -> None:  # noqa: B027 - optional hook
        """Ask a blocked ``read`` to return soon. Thread-safe."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release the device or file. Idempotent."""

    def electrodes(self) -> ElectrodeReport | None:
        """The latest impedance of every channel's needles (see :mod:`monitor.electrodes`).

        ``None`` when the source has no measurement (yet), or cannot measure at all, as a
        replayed file. Thread-safe; never blocks.
        """
        return None

    def request_electrode_check(self) -> bool:
        """Ask for a fresh impedance measurement; it arrives with a later ``electrodes()``.

        Returns False when this source cannot measure. Thread-safe; never blocks.
        """
        return False

    def stimulator(self) -> StimulatorSettings | None:
        """The stimulator's present settings; ``None`` when the source has none (a
        replayed file). Thread-safe; never blocks."""
        return None

    def set_stimulator(self, settings: StimulatorSettings) -> None:
        """Send new stimulator settings; raises :class:`SourceError` (a sentence) when the
        source has no stimulator or the device refuses them. Thread-safe; may wait for the
        device's answer (a fraction of a second): call it off the GUI thread."""
        raise SourceError(f"{self.info.name} has no stimulator to set.")

    @property
    def overruns(self) -> int:
        """Blocks the source had to discard because the consumer was too slow."""
        return 0

    @property
    def fell_behind(self) -> int:
        """Times a file or scenario source, unable to keep its pace, went on later than
        asked instead of dropping samples (a live source counts :attr:`overruns`)."""
        return 0
