"""The simulated amplifier as a source: a :class:`~drivers.simdevice.SimulatedDevice` on a
pseudo-terminal, read through the real serial driver.

What ``main.py simulate-device`` and ``main.py --port PATH`` do in two processes, in one:
the whole device link (framing, CRC, gaps, reconnection, stimulator commands, electrode
status) runs as with a real amplifier, without a second command.
"""

from __future__ import annotations

from drivers.serial_link import SerialSource
from drivers.simdevice import SimulatedDevice
from monitor.stimulator import StimulatorSettings as CoreStimulator
from simulation.emgsynth import SimConfig


class SimulatedAmplifierSource(SerialSource):
    """A :class:`~drivers.serial_link.SerialSource` on a simulated device it owns.

    The device starts with ``open`` and stops with ``close``; reconnections (the serial
    driver's own) keep it running. Thread safety as :class:`SerialSource`.
    """

    #: Each opening makes its own simulated device: nothing to release first.
    EXCLUSIVE = False

    def __init__(
        self, config: SimConfig, bits: int = 24, device: SimulatedDevice | None = None
    ) -> None:
        self.amplifier = device or SimulatedDevice(config, bits=bits)
        self._running = False
        super().__init__(
            self.amplifier.path,
            labels=config.labels,
            rate=int(config.rate),
            channels=len(config.labels),
        )

    def stimulator(self) -> CoreStimulator | None:
        """What the device was told last, else the simulated case's stimulator."""
        known = super().stimulator()
        if known is not None:
            return known
        c = self.amplifier.config
        return CoreStimulator(
            c.stim_current_ma,
            c.stim_width_ms,
            c.stim_rate_hz or 1.0,
            c.stim_site,
            c.stim_rate_hz > 0,
        )

    def open(self) -> None:
        if not self._running:
            self.amplifier.start()
            self._running = True
        try:
            super().open()
        except BaseException:  # no device thread or pty left behind
            self.close()
            raise

    def close(self) -> None:
        super().close()
        if self._running:
            self.amplifier.stop()
            self._running = False
