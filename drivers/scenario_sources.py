"""Sources that play a scenario: in-process (:class:`ScenarioSource`) and through the
simulated serial amplifier (:class:`ScenarioAmplifierSource`).

Both render the same :class:`~simulation.scenario_engine.ScenarioSynth`, so the same
scenario gives the same samples on either path. A needle off shows as the amplifier
would show it: a lead-off flag in the status and the mains hum of an open input; a
disconnection stops the signal (the session reports "No signal" and reconnects).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from drivers.protocol import ChannelStatus, ElectrodeStatus, StatusPayload
from drivers.simamplifier import SimulatedAmplifierSource
from drivers.simdevice import SimulatedDevice
from drivers.simulator import SIMULATOR_CAPABILITIES, SimulatorSource
from monitor.block import Block, GapMarker
from monitor.source import EndOfStream, SignalLost, SourceInfo
from simulation.electrodes import BadElectrode
from simulation.scenario_engine import ScenarioEngine


class ScenarioSource(SimulatorSource):
    """A scenario in the in-process simulator.

    Parameters
    ----------
    engine : ScenarioEngine
        A fresh engine (one run).
    block_seconds, realtime, speed
        As :class:`~drivers.simulator.SimulatorSource`; ``realtime=False`` runs the case
        as fast as the CPU allows (a disconnection then lasts no wall time).

    Thread safety: as :class:`SimulatorSource`; ``status`` may be read from any thread.
    """

    def __init__(
        self,
        engine: ScenarioEngine,
        block_seconds: float = 0.01,
        realtime: bool = True,
        speed: float = 1.0,
    ) -> None:
        self.engine = engine
        config = engine.scenario.sim_config()
        # A scenario is played like a file: behind the clock it slows down, never drops.
        super().__init__(
            config,
            block_seconds,
            realtime,
            speed,
            synth=engine.make_synth(config),
            drop_when_behind=False,
        )
        self._info = SourceInfo(
            name=f"Scenario {Path(engine.scenario.path).stem}",
            rate=config.rate,
            labels=tuple(config.labels),
            kind="simulator",
            description=f"{engine.scenario.path}, seed {engine.scenario.seed}",
            capabilities=SIMULATOR_CAPABILITIES,
        )
        #: Lead-off flags per channel, as an amplifier's STATUS (the monitor's lead-off alarm).
        self.status: StatusPayload | None = None
        self._down: tuple[int, int, float] | None = None  # (lost at, back at, wall time back)
        self._gap: GapMarker | None = None
        self._update_status(0)
        engine.attach(self)

    # -- ScenarioLink (rendering thread) --------------------------------------------------------
    def set_lead_off(self, channel: int, off: bool, which: str) -> None:
        if off:
            self.electrode_model.set_bad(BadElectrode(channel, which, None))
        else:
            self.electrode_model.clear_bad(channel)
        self._update_status(self._next)

    def mains_gain(self) -> np.ndarray:
        return self.electrode_model.mains_gain()

    def disconnect(self, index: int, seconds: float) -> None:
        wall = time.monotonic() + (seconds / self.speed if self.realtime else 0.0)
        self._down = (index, index + round(seconds * self.config.rate), wall)

    def _update_status(self, index: int) -> None:
        report = self.electrode_model.measure(index / self.config.rate, index)
        self.status = StatusPayload(
            index,
            tuple(
                ChannelStatus(
                    c.channel_kohm,
                    c.lead_off,
                    False,
                    ElectrodeStatus(c.active_kohm, c.active_off),
                    ElectrodeStatus(c.reference_kohm, c.reference_off),
                )
                for c in report.channels
            ),
        )

    # -- Source --------------------------------------------------------------------------------
    def read(self) -> Block | None:
        if self._down is None:
            self.engine.prepare(self._next)
        if self._down is not None:
            raise SignalLost("the amplifier was disconnected.")
        if self.engine.finished:
            raise EndOfStream
        return super().read()

    def reconnect(self) -> None:
        assert self._down is not None
        _, back, wall = self._down
        now = time.monotonic()
        if now < wall:
            raise SignalLost("the amplifier is still disconnected.")
        if self.realtime and self._t0 is not None:
            # The scripted gap, however long reconnecting took: paced on from here, as
            # a file that fell behind would be (never a longer gap than the script's).
            self._t0 = now - back / (self.config.rate * self.speed)
        self._gap = GapMarker(self._next, back - self._next)
        self._next = back
        self._down = None

    def _block(self, n: int, gaps: tuple[GapMarker, ...] = ()) -> Block:
        stop = self.engine.next_stop(self._next)
        if stop is not None:
            n = min(n, stop - self._next)
        if self._gap is not None:
            gaps, self._gap = (*gaps, self._gap), None
        return super()._block(max(1, n), gaps)


class _DeviceLink:
    """The simulated amplifier's needles and cable, for the engine (device thread)."""

    def __init__(self, device: SimulatedDevice) -> None:
        self.device = device

    def set_lead_off(self, channel: int, off: bool, which: str) -> None:
        self.device.set_lead_off(channel, off, which)

    def mains_gain(self) -> np.ndarray:
        return self.device.electrode_model.mains_gain()

    def disconnect(self, index: int, seconds: float) -> None:
        self.device.unplug(seconds)


class ScenarioAmplifierSource(SimulatedAmplifierSource):
    """A scenario played by the simulated amplifier on a pty, read through the real serial
    driver (framing, CRC, status, reconnection). The device streams in real time.

    Thread safety: as :class:`~drivers.serial_link.SerialSource`.
    """

    def __init__(self, engine: ScenarioEngine, bits: int = 24, record: bool = False) -> None:
        self.engine = engine
        config = engine.scenario.sim_config()
        device = SimulatedDevice(config, bits=bits, record=record, synth_factory=engine.make_synth)
        engine.attach(_DeviceLink(device))
        self._delivered = 0
        super().__init__(config, bits, device)

    def read(self) -> Block | None:
        end = self.engine.end_index if self.engine.finished else None
        if end is not None and self._delivered >= end:
            raise EndOfStream
        block = super().read()
        if block is None:
            return None
        end = self.engine.end_index if self.engine.finished else None
        if end is not None and block.stop > end:
            if block.start >= end:
                raise EndOfStream
            keep = end - block.start
            block = Block(
                block.start,
                block.data[:keep],
                block.rate,
                block.labels,
                tuple(s for s in block.stims if s.index < end),
                block.gaps,
                block.notes,
            )
        self._delivered = block.stop
        return block
