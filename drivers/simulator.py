"""The in-process simulator: synthetic facial EMG delivered as a paced Source."""

from __future__ import annotations

import threading
import time

from monitor.block import Block, GapMarker
from monitor.electrodes import ElectrodeReport
from monitor.source import Capabilities, EndOfStream, Source, SourceInfo
from monitor.stimulator import StimulatorSettings
from simulation.electrodes import BadElectrode, SimulatedElectrodes
from simulation.emgsynth import EmgSynth, SimConfig

#: Like an amplifier's STATUS frames: a new electrode measurement each second of signal.
ELECTRODE_PERIOD_S = 1.0


#: The simulated patient has needles to check and a stimulator to set.
SIMULATOR_CAPABILITIES = Capabilities(stimulator=True, electrode_check=True)


class SimulatorSource(Source):
    """Synthetic EMG (see :mod:`simulation.emgsynth`) paced by the wall clock.

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
    synth : EmgSynth, optional
        A prepared generator for ``config`` (a scenario's, with scripted events) instead
        of a plain one.
    drop_when_behind : bool
        When the consumer falls more than 2 s behind the wall clock: True skips to now
        and marks the skipped samples as a gap (a live device whose buffer overflowed,
        counted in :attr:`overruns`); False slows down instead, dropping nothing (a
        scenario, like a file), counted in :attr:`fell_behind`.

    Thread safety: ``read``/``open``/``close`` on the acquisition thread only;
    ``request_stop``, ``electrodes``, ``request_electrode_check``, ``set_bad_electrode``
    and ``clear_bad_electrodes`` from any thread. ``synth`` (and its ground truth lists)
    belongs to the acquisition thread while streaming; read ``truth_snapshot()`` from
    elsewhere.
    """

    def __init__(
        self,
        config: SimConfig | None = None,
        block_seconds: float = 0.01,
        realtime: bool = True,
        speed: float = 1.0,
        duration_s: float | None = None,
        synth: EmgSynth | None = None,
        drop_when_behind: bool = True,
    ) -> None:
        self.config = config or SimConfig()
        if not 0.01 <= speed <= 1000:
            raise ValueError(f"Simulator speed must be 0.01 to 1000, not {speed:g}.")
        self.synth = EmgSynth(self.config) if synth is None else synth
        self.block_n = max(1, round(block_seconds * self.config.rate))
        self.realtime = realtime
        self.speed = speed
        self.duration_n = None if duration_s is None else round(duration_s * self.config.rate)
        self._next = 0
        self._t0: float | None = None
        self._wake = threading.Event()
        self._truth_lock = threading.Lock()
        self._overruns = 0
        self._fell_behind = 0
        self.drop_when_behind = drop_when_behind
        self.electrode_model = SimulatedElectrodes(
            len(self.config.labels), self.synth._seed_entropy, self.config.bad_electrodes
        )
        self._mains_version = 0  # electrode_model.version whose hum the synth has
        self._apply_mains_gain()
        self._electrode_lock = threading.Lock()
        self._electrodes: ElectrodeReport | None = None
        self._info = SourceInfo(
            name="Simulator",
            rate=self.config.rate,
            labels=tuple(self.config.labels),
            kind="simulator",
            description=f"seed {self.synth._seed_entropy}",
            capabilities=SIMULATOR_CAPABILITIES,
        )

    @property
    def info(self) -> SourceInfo:
        return self._info

    @property
    def overruns(self) -> int:
        return self._overruns

    @property
    def fell_behind(self) -> int:
        return self._fell_behind

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
                if behind > 2 * self.config.rate and not self.drop_when_behind:
                    # Like a file: play on from here, later than asked; nothing is lost.
                    self._t0 = now - (self._next + n) / (self.config.rate * self.speed)
                    self._fell_behind += 1
                elif behind > 2 * self.config.rate:
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
            if self.electrode_model.version != self._mains_version:
                self._apply_mains_gain()
            data, stims = self.synth.render(self._next, n)
        block = Block(self._next, data, self.config.rate, self._info.labels, tuple(stims), gaps)
        self._next += n
        return block

    def _apply_mains_gain(self) -> None:
        """Give the synth the hum of the current needles (acquisition thread or __init__)."""
        version = self.electrode_model.version
        if version != self._mains_version:
            self.synth.set_mains_gain(self.electrode_model.mains_gain())
            self._mains_version = version

    # -- electrode check (any thread) --------------------------------------------------------
    def electrodes(self) -> ElectrodeReport:
        """The needles' impedances, measured anew each second of signal."""
        t = self._next / self.config.rate
        with self._electrode_lock:
            last = self._electrodes
            if last is not None:
                assert last.sample_index is not None  # every report here is measured at a sample
                if t - last.sample_index / self.config.rate < ELECTRODE_PERIOD_S:
                    return last
            self._electrodes = report = self.electrode_model.measure(t, self._next)
            return report

    def request_electrode_check(self) -> bool:
        """Measure now (the simulated amplifier answers at once)."""
        with self._electrode_lock:
            self._electrodes = self.electrode_model.measure(
                self._next / self.config.rate, self._next
            )
        return True

    def set_bad_electrode(self, bad: BadElectrode) -> None:
        """Make a needle bad or take it off; shown from the next measurement on."""
        self.electrode_model.set_bad(bad)

    def clear_bad_electrodes(self) -> None:
        self.electrode_model.clear_bad()

    def stimulator(self) -> StimulatorSettings:
        """The simulated stimulator's settings. Thread-safe."""
        c = self.synth.cfg
        with self._truth_lock:
            on = c.stim_rate_hz > 0
            return StimulatorSettings(
                c.stim_current_ma,
                c.stim_width_ms,
                c.stim_rate_hz if on else 1.0,
                c.stim_site or "zygomatic",
                on,
            )

    def set_stimulator(self, settings: StimulatorSettings) -> None:
        """Stimulate with ``settings`` from the next pulse on. Thread-safe."""
        with self._truth_lock:
            self.synth.set_stimulator(
                settings.current_ma,
                settings.width_ms,
                settings.rate_hz,
                settings.site,
                settings.on,
            )

    def truth_snapshot(self) -> tuple[list, list]:
        """Copies of the ground-truth events and stimuli so far. Thread-safe."""
        with self._truth_lock:
            return list(self.synth.truth), list(self.synth.stim_truth)

    def request_stop(self) -> None:
        self._wake.set()

    def close(self) -> None:
        pass
