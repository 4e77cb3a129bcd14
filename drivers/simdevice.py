"""A simulated EMG amplifier that speaks the link protocol over a pseudo-terminal.

It behaves as the firmware of ``docs/protocol.md`` would: answers commands, streams the
simulator's signal at the real rate in data frames, reports stimulator pulses and
electrode status, and can be told to misbehave (corrupt bytes, dropped frames, stalls,
unplugging) so that the whole link is exercised without hardware.

The device keeps a stable path (a symbolic link to the current pty) so that an
"unplugged and replugged" device comes back under the same name, as a USB amplifier
usually does.
"""

from __future__ import annotations

import contextlib
import errno
import os
import select
import shutil
import tempfile
import threading
import time
import tty
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from drivers.protocol import (
    AckPayload,
    AckResult,
    ChannelStatus,
    DataPayload,
    DeviceInfo,
    ElectrodeStatus,
    Frame,
    FrameParser,
    FrameType,
    SetAcquisition,
    StatusPayload,
    StimPayload,
    StimPulse,
    StimulatorSettings,
    encode_frame,
    full_scale,
)
from monitor.montage import default_labels
from simulation.electrodes import BadElectrode, SimulatedElectrodes
from simulation.emgsynth import EmgSynth, SimConfig

UV_PER_COUNT = {24: 0.02, 16: 0.25}  # 24 bit: ±168 mV range; 16 bit: ±8.2 mV


@dataclass
class Faults:
    """Pending misbehaviour; counters are consumed frame by frame."""

    drop_frames: int = 0
    corrupt_frames: int = 0
    garbage_bytes: int = 0
    stall_until: float = 0.0


class SimulatedDevice:
    """The amplifier, on a pty. Start it, open ``path`` with the serial driver.

    Parameters
    ----------
    config : SimConfig
        The simulated patient (rate and channel count are the device's acquisition).
    bits : int
        16 or 24 bits per sample.
    frame_ms : float
        Signal per data frame (the protocol recommends 1-5 ms).
    link_path : path, optional
        Where to keep the stable symbolic link; a temporary folder by default.
    record : bool
        Keep every frame's samples (for tests that compare what arrived).
    electrode_block : bool
        Send each needle's impedance in STATUS (protocol revision 1); False plays a
        revision-0 device with one value per channel.
    synth_factory : callable, optional
        Builds the signal generator for a configuration (a scenario's, with scripted
        events); :class:`~simulation.emgsynth.EmgSynth` by default.

    Thread safety: ``start``/``stop`` from the owning thread; the fault methods
    (``drop_frames``, ``corrupt_frames``, ``send_garbage``, ``stall``, ``unplug``,
    ``set_lead_off``, ``set_impedance``) from any thread.
    """

    def __init__(
        self,
        config: SimConfig | None = None,
        bits: int = 24,
        frame_ms: float = 2.0,
        link_path: str | os.PathLike[str] | None = None,
        record: bool = False,
        firmware: str = "FNM simulated amplifier 1.0",
        electrode_block: bool = True,
        synth_factory: Callable[[SimConfig], EmgSynth] | None = None,
    ) -> None:
        if bits not in (16, 24):
            raise ValueError("The device sends 16- or 24-bit samples.")
        self.config = config or SimConfig()
        self.bits = bits
        self.frame_ms = frame_ms
        self.firmware = firmware
        self._tmpdir: str | None = None
        if link_path is None:
            self._tmpdir = tempfile.mkdtemp(prefix="fnm-amp-")
            link_path = Path(self._tmpdir) / "amplifier"
        self.path = str(link_path)
        self.record = record
        self.electrode_block = electrode_block
        self._synth_factory = synth_factory or EmgSynth
        # Made by _build_synth:
        self.electrode_model: SimulatedElectrodes
        self._mains_version: int
        self._uv_per_count: float
        self._frame_n: int
        self._saturated: np.ndarray
        self._next: int
        self.sent: list[tuple[int, np.ndarray]] = []  # (first index, counts) when recording
        self.on_frame: Callable[[int, int, float], None] | None = None  # (index, n, t_write)
        self.frames_sent = 0
        self.frames_dropped = 0
        self.samples_dropped = 0
        self.overflows = 0  # frames lost because the host did not read
        self._faults = Faults()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._master: int | None = None
        self._slave: int | None = None
        self._unplugged_until: float | None = None
        self._tx_seq = 0
        self._streaming = False
        self._stim = StimulatorSettings(
            self.config.stim_current_ma,
            self.config.stim_width_ms,
            self.config.stim_rate_hz,
            self.config.stim_site,
            self.config.stim_rate_hz > 0,
        )
        self._build_synth(None)

    # -- life cycle ---------------------------------------------------------------------------
    def start(self) -> str:
        """Open the pty, start answering; return the path to open."""
        self._plug()
        self._t_power = time.monotonic()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="simulated-device", daemon=True)
        self._thread.start()
        return self.path

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        self._unplug_now()
        if self._tmpdir is not None:  # the folder of the stable path, if we made it
            shutil.rmtree(self._tmpdir, ignore_errors=True)

    @property
    def pty_name(self) -> str:
        return os.ttyname(self._slave) if self._slave is not None else ""

    # -- faults (any thread) -------------------------------------------------------------------
    def drop_frames(self, n: int) -> None:
        with self._lock:
            self._faults.drop_frames += n

    def corrupt_frames(self, n: int) -> None:
        with self._lock:
            self._faults.corrupt_frames += n

    def send_garbage(self, n_bytes: int) -> None:
        with self._lock:
            self._faults.garbage_bytes += n_bytes

    def stall(self, seconds: float) -> None:
        """Send and answer nothing for ``seconds`` (the sample counter keeps counting)."""
        with self._lock:
            self._faults.stall_until = time.monotonic() + seconds

    def unplug(self, seconds: float | None = None) -> None:
        """The port disappears; with ``seconds``, it comes back (same path) after that."""
        with self._lock:
            self._unplugged_until = time.monotonic() + (seconds if seconds is not None else 1e12)

    def set_lead_off(self, channel: int, off: bool = True, which: str = "reference") -> None:
        """Take a needle of ``channel`` (from 0) off; ``off=False`` makes both needles good."""
        if off:
            self.electrode_model.set_bad(BadElectrode(channel, which, None))
        else:
            self.electrode_model.clear_bad(channel)

    def set_impedance(self, channel: int, kohm: float, which: str = "reference") -> None:
        """Give a needle of ``channel`` (from 0) this impedance from the next STATUS on."""
        self.electrode_model.set_bad(BadElectrode(channel, which, kohm))

    # -- the device loop ------------------------------------------------------------------------
    def _run(self) -> None:
        parser = FrameParser()
        next_status = 0.0
        while not self._stop.is_set():
            now = time.monotonic()
            with self._lock:
                unplugged_until = self._unplugged_until
                stall_until = self._faults.stall_until
            if unplugged_until is not None:
                if self._master is not None:
                    self._unplug_now()
                    self._streaming = False  # a USB device restarts its link on replug
                if now < unplugged_until:
                    self._stop.wait(min(0.02, unplugged_until - now))
                    continue
                with self._lock:
                    self._unplugged_until = None
                self._plug()
                parser = FrameParser()
            if now < stall_until:
                self._stop.wait(min(0.02, stall_until - now))
                self._skip_to(self._device_index(time.monotonic()))
                continue
            timeout = self.frame_ms / 1000.0
            master = self._master
            assert master is not None  # opened by start() and by the replug above
            try:
                ready, _, _ = select.select([master], [], [], timeout)
            except (OSError, ValueError):
                ready = []
            if ready:
                try:
                    data = os.read(master, 65536)
                except OSError:
                    data = b""
                for frame in parser.feed(data):
                    self._command(frame)
            if self._streaming:
                self._stream(time.monotonic())
                if time.monotonic() >= next_status:
                    self._send_status()
                    next_status = time.monotonic() + 1.0

    def _device_index(self, now: float) -> int:
        return int((now - self._t_power) * self.rate)

    def _skip_to(self, index: int) -> None:
        """Samples the device counted but could not send (stall): lost on the wire."""
        if self._streaming and index > self._next:
            self.samples_dropped += index - self._next
            self._next = index

    def _stream(self, now: float) -> None:
        due = self._device_index(now)
        n = self._frame_n
        if self.electrode_model.version != self._mains_version:
            self._mains_version = self.electrode_model.version
            self.synth.set_mains_gain(self.electrode_model.mains_gain())
        while self._next + n <= due:
            data, stims = self.synth.render(self._next, n)
            if stims:
                pulses = tuple(StimPulse(s.index, s.current_ma, s.width_ms, s.site) for s in stims)
                self._send(FrameType.STIM, StimPayload(pulses).encode())
            counts = np.clip(np.rint(data / self._uv_per_count), *full_scale(self.bits))
            counts = counts.astype(np.int32)
            self._saturated |= np.any(np.abs(counts) >= full_scale(self.bits)[1], axis=0)
            payload = DataPayload(self._next, counts, self.bits // 8).encode()
            drop, corrupt, garbage = self._take_faults()
            if garbage:
                self._write(os.urandom(garbage))
            if drop:
                self.frames_dropped += 1
                self.samples_dropped += n
                self._tx_seq += 1  # the frame was "sent" and lost on the way
            else:
                frame = encode_frame(FrameType.DATA, self._tx_seq, payload)
                self._tx_seq += 1
                if corrupt:
                    buf = bytearray(frame)
                    buf[len(buf) // 2] ^= 0x5A
                    frame = bytes(buf)
                # Recorded before writing: the host may read the frame before write() returns.
                if self.record and not corrupt:
                    self.sent.append((self._next, counts))
                if self.on_frame is not None:
                    self.on_frame(self._next, n, time.monotonic())
                if self._write(frame):
                    self.frames_sent += 1
                else:
                    # The host is not reading: like a real device, drop what is due, count
                    # it, and carry on from now instead of sending a stale backlog later.
                    self.overflows += 1
                    self._next += n
                    self._skip_to(self._device_index(time.monotonic()))
                    return
            self._next += n
            if self._stop.is_set():
                return

    def _take_faults(self) -> tuple[bool, bool, int]:
        """Consume the faults due on this frame: (drop it, corrupt it, garbage bytes)."""
        with self._lock:
            f = self._faults
            drop = f.drop_frames > 0
            corrupt = not drop and f.corrupt_frames > 0
            garbage, f.garbage_bytes = f.garbage_bytes, 0
            f.drop_frames -= drop
            f.corrupt_frames -= corrupt
        return drop, corrupt, garbage

    # -- commands -------------------------------------------------------------------------------
    def _command(self, frame: Frame) -> None:
        handler = {
            FrameType.GET_INFO: self._on_get_info,
            FrameType.START: self._on_start,
            FrameType.STOP: self._on_stop,
            FrameType.SET_ACQUISITION: self._on_set_acquisition,
            FrameType.IMPEDANCE_CHECK: self._send_status,
            FrameType.STIMULATOR: self._on_stimulator,
        }.get(frame.type)
        result, message = AckResult.UNKNOWN_COMMAND, f"type {int(frame.type):#x}"
        if handler is not None:
            try:
                result, message = handler(frame.payload) or (AckResult.OK, "")
            except ValueError as exc:
                result, message = AckResult.BAD_VALUE, str(exc)
        self._send(FrameType.ACK, AckPayload(int(frame.type), frame.seq, result, message).encode())

    def _on_get_info(self, _: bytes) -> None:
        self._send(FrameType.INFO, self._info().encode())

    def _on_start(self, _: bytes) -> None:
        if not self._streaming:
            self._streaming = True
            self._next = self._device_index(time.monotonic())
            self._send_status()

    def _on_stop(self, _: bytes) -> None:
        self._streaming = False

    def _on_set_acquisition(self, payload: bytes) -> tuple[AckResult, str] | None:
        req = SetAcquisition.decode(payload)
        if self._streaming:
            return AckResult.BUSY, "stop before changing the acquisition"
        if not (1 <= req.n_channels <= 16 and 500 <= req.rate_hz <= 20_000) or req.bits not in (
            16,
            24,
        ):
            return AckResult.BAD_VALUE, "1-16 channels, 500-20000 Hz, 16 or 24 bit"
        self.config.rate = float(req.rate_hz)
        self.config.labels = default_labels(req.n_channels)
        self.bits = req.bits
        self._build_synth(self.electrode_model)
        return None

    def _on_stimulator(self, payload: bytes) -> tuple[AckResult, str] | None:
        s = StimulatorSettings.decode(payload)
        if not (0 <= s.current_ma <= 100 and 0.05 <= s.width_ms <= 1.0 and s.rate_hz <= 20):
            return AckResult.BAD_VALUE, "0-100 mA, 0.05-1 ms, up to 20 Hz"
        self._stim = s
        # Commands are answered on the device's own thread, the one that renders.
        self.synth.set_stimulator(s.current_ma, s.width_ms, s.rate_hz, s.site, s.on)
        return None

    def _info(self) -> DeviceInfo:
        return DeviceInfo(
            n_channels=len(self.config.labels),
            rate_hz=int(self.rate),
            bits=self.bits,
            uv_per_count=self._uv_per_count,
            gain=1.0,
            firmware=self.firmware,
            serial_number="SIM-0001",
        )

    def _send_status(self, _: bytes = b"") -> None:
        index = self._device_index(time.monotonic())
        report = self.electrode_model.measure(index / self.rate, index)
        chans = []
        for ch, el in enumerate(report.channels):
            active = ElectrodeStatus(el.active_kohm, el.active_off)
            reference = ElectrodeStatus(el.reference_kohm, el.reference_off)
            chans.append(
                ChannelStatus(
                    el.channel_kohm,
                    el.lead_off,
                    bool(self._saturated[ch]),
                    active if self.electrode_block else None,
                    reference if self.electrode_block else None,
                )
            )
        self._saturated[:] = False
        self._send(FrameType.STATUS, StatusPayload(index, tuple(chans)).encode())

    # -- plumbing -------------------------------------------------------------------------------
    def _build_synth(self, old: SimulatedElectrodes | None) -> None:
        """``old``: the needles so far (None at first); a new acquisition keeps those that
        still exist."""
        self.synth = self._synth_factory(self.config)
        n = len(self.config.labels)
        bad = self.config.bad_electrodes if old is None else [b for b in old.bad() if b.channel < n]
        self.electrode_model = SimulatedElectrodes(n, self.synth._seed_entropy, bad)
        self._mains_version = 0
        if self.electrode_model.version:
            self._mains_version = self.electrode_model.version
            self.synth.set_mains_gain(self.electrode_model.mains_gain())
        self.rate = float(self.config.rate)
        self._uv_per_count = UV_PER_COUNT[self.bits]
        self._frame_n = max(1, round(self.frame_ms * self.rate / 1000.0))
        self._saturated = np.zeros(len(self.config.labels), dtype=bool)
        self._next = 0

    def _send(self, ftype: FrameType, payload: bytes) -> None:
        self._write(encode_frame(ftype, self._tx_seq, payload))
        self._tx_seq += 1

    def _write(self, data: bytes) -> bool:
        """Write all of ``data`` or nothing useful; False when the host is not reading."""
        if self._master is None:
            return False
        view = memoryview(data)
        deadline = time.monotonic() + 0.05
        while view:
            try:
                k = os.write(self._master, view)
                view = view[k:]
            except BlockingIOError:
                if time.monotonic() > deadline:
                    return False  # the device's buffer overflowed: a real device drops it
                time.sleep(0.0005)
            except OSError as exc:
                if exc.errno in (errno.EIO, errno.EBADF):
                    return False
                raise
        return True

    def _plug(self) -> None:
        master, slave = os.openpty()
        tty.setraw(slave)
        os.set_blocking(master, False)
        self._master, self._slave = master, slave
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)  # again after a stop
        tmp = f"{self.path}.{os.getpid()}.tmp"
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        os.symlink(os.ttyname(slave), tmp)
        os.replace(tmp, self.path)

    def _unplug_now(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        for fd in (self._master, self._slave):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._master = self._slave = None
