"""Every source the monitor can open, as a typed description.

A description is a small frozen dataclass that names a source (the simulator with its
case, an amplifier on a port, the simulated amplifier, a recording, a training scenario)
and makes it (:meth:`make`). The command line, the screen's source dialog and the case
set-up build descriptions; the case model (:mod:`monitor.casemodel`) opens, reopens with
the case's montage and switches sources through them. What a source *can do* is stated
by the opened source itself (:class:`monitor.source.Capabilities`), not by its
description.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from monitor.source import Source

if TYPE_CHECKING:  # the simulator is imported when a simulated source is made
    from simulation.emgsynth import SimConfig
    from simulation.scenario_engine import ScenarioEngine

DEFAULT_BAUD = 921_600


@dataclass(frozen=True, slots=True)
class Simulated:
    """The built-in simulator: a simulated patient's EMG, paced by the wall clock.

    ``speed`` is signal seconds per wall second.
    """

    config: SimConfig
    speed: float = 1.0

    @property
    def title(self) -> str:
        return "Simulator"

    def make(self) -> Source:
        from drivers.simulator import SimulatorSource

        return SimulatorSource(self.config, speed=self.speed)

    def with_channels(self, labels: tuple[str, ...], rate: float) -> Simulated:
        return replace(self, config=replace(self.config, labels=tuple(labels), rate=rate))


@dataclass(frozen=True, slots=True)
class SimulatedAmplifier:
    """The simulated amplifier on a pseudo-terminal, read through the real serial driver
    (framing, CRC, reconnection, stimulator commands, electrode status)."""

    config: SimConfig

    @property
    def title(self) -> str:
        return "Simulated amplifier"

    def make(self) -> Source:
        from drivers.simamplifier import SimulatedAmplifierSource

        return SimulatedAmplifierSource(self.config)

    def with_channels(self, labels: tuple[str, ...], rate: float) -> SimulatedAmplifier:
        return replace(self, config=replace(self.config, labels=tuple(labels), rate=rate))


@dataclass(frozen=True, slots=True)
class Amplifier:
    """An EMG amplifier on a serial port. ``labels`` and ``rate`` are requested from the
    device (its own defaults when None)."""

    port: str
    baud: int = DEFAULT_BAUD
    labels: tuple[str, ...] | None = None
    rate: int | None = None

    @property
    def title(self) -> str:
        return f"Amplifier on {self.port}"

    def make(self) -> Source:
        from drivers.serial_link import SerialSource

        return SerialSource(
            self.port,
            self.baud,
            labels=self.labels,
            rate=self.rate,
            channels=None if self.labels is None else len(self.labels),
        )

    def with_channels(self, labels: tuple[str, ...], rate: float) -> Amplifier:
        # The rate stays the device's own unless asked: a case's montage names muscles.
        return replace(self, labels=tuple(labels))


@dataclass(frozen=True, slots=True)
class Recording:
    """A recorded case (EDF, EDF+, BDF, BDF+) played through the monitor.

    ``hold_at_end``: on screen the replay holds at its end to be reviewed; headless it
    ends. ``strict`` refuses a damaged header (``--read-anyway`` turns it off).
    ``realtime`` False reads as fast as possible (``analyze``).
    """

    path: Path
    speed: float = 1.0
    hold_at_end: bool = True
    strict: bool = True
    realtime: bool = True

    @property
    def title(self) -> str:
        return f"Recording {Path(self.path).name}"

    def make(self) -> Source:
        from drivers.replay import ReplaySource

        return ReplaySource(
            self.path,
            speed=self.speed,
            hold_at_end=self.hold_at_end,
            strict=self.strict,
            realtime=self.realtime,
        )

    def with_channels(self, labels: tuple[str, ...], rate: float) -> None:
        return None  # a recording keeps the channels it was recorded with


@dataclass(frozen=True, slots=True)
class TrainingScenario:
    """A training scenario's simulated case: in-process at ``speed`` (infinity: as fast
    as possible), or through the simulated serial amplifier (``serial``, real time)."""

    engine: ScenarioEngine
    serial: bool = False
    speed: float = 1.0
    #: Signal per block when played as fast as possible: fewer, larger blocks.
    fast_block_s: float = 0.1

    @property
    def title(self) -> str:
        return f"Scenario {Path(self.engine.scenario.path).stem}"

    def make(self) -> Source:
        from drivers.scenario_sources import ScenarioAmplifierSource, ScenarioSource

        if self.serial:
            return ScenarioAmplifierSource(self.engine)
        if math.isinf(self.speed):
            return ScenarioSource(self.engine, block_seconds=self.fast_block_s, realtime=False)
        return ScenarioSource(self.engine, speed=self.speed)

    def with_channels(self, labels: tuple[str, ...], rate: float) -> None:
        return None  # the scenario's script names its channels


@dataclass(frozen=True, slots=True)
class LslStream:
    """A Lab Streaming Layer EMG stream, by name or ``property=value`` (``type=EMG``), with
    its stimulus markers from ``markers`` (by default the marker stream named after it).
    The stream names its own channels."""

    name: str
    markers: str | None = None

    @property
    def title(self) -> str:
        return f"LSL stream {self.name}"

    def make(self) -> Source:
        from drivers.lsl_in import LslSource

        return LslSource(self.name, markers=self.markers)

    def with_channels(self, labels: tuple[str, ...], rate: float) -> None:
        return None  # the stream's labels and rate are its own


#: Any source description.
SourceSpec = Simulated | SimulatedAmplifier | Amplifier | Recording | TrainingScenario | LslStream
