"""The serial amplifier link: a Source that talks the protocol of ``docs/protocol.md``.

A reader thread owns the port: it parses frames (``drivers.protocol.FrameParser``
resynchronises after garbage and never passes on a frame whose CRC fails), turns data
frames into blocks stamped with the device's sample index, attaches stimulator pulses,
keeps the latest electrode status, and answers command acknowledgements. The session's
acquisition thread takes blocks from a bounded queue.

What the user sees when the link misbehaves:

- lost frames: the next block starts later; a gap marker states the exact number of
  missing samples (the device's 64-bit sample index makes this exact);
- no valid frame for ``silence_s`` (0.4 s, so the user hears of it within 0.5 s):
  ``SignalLost``, which the session turns into a "no signal" message and reconnect
  attempts with back-off; when the device returns the gap is marked;
- a missing, busy or forbidden port: one sentence saying what to do.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import queue
import threading
import time

import numpy as np
import serial
import serial.tools.list_ports

from drivers.protocol import (
    AckPayload,
    AckResult,
    DataPayload,
    DeviceInfo,
    FrameParser,
    FrameType,
    SetAcquisition,
    StatusPayload,
    StimPulse,
    StimulatorSettings,
    encode_frame,
)
from monitor.block import Block, GapMarker, StimMarker
from monitor.electrodes import ChannelElectrodes, ElectrodeReport
from monitor.montage import default_labels
from monitor.source import Capabilities, SignalLost, Source, SourceError, SourceInfo
from monitor.stimulator import StimulatorSettings as CoreStimulator

log = logging.getLogger(__name__)

DEFAULT_BAUD = 921_600
COMMAND_TIMEOUT_S = 1.0
START_GRACE_S = 1.6
QUEUE_BLOCKS = 2000  # a few seconds of blocks: the session is never that far behind


def list_ports() -> list[tuple[str, str]]:
    """``(device, description)`` of the serial ports this machine has."""
    return [(p.device, p.description or "") for p in serial.tools.list_ports.comports()]


def describe_port_error(port: str, exc: BaseException) -> str:
    """A sentence a clinician or technician can act on, for a failed port open."""
    err = getattr(exc, "errno", None)
    text = str(exc)
    if (
        err == errno.ENOENT
        or "No such file" in text
        or ("could not open port" in text and "2]" in text)
    ):
        return (
            f"The amplifier port {port} does not exist: check that the amplifier is plugged in "
            f"and switched on (python main.py --list-ports shows the ports)."
        )
    if err in (errno.EACCES, errno.EPERM) or "Permission denied" in text:
        return (
            f"No permission to open {port}: add your user to the 'dialout' group "
            f"(sudo usermod -aG dialout $USER) and log in again."
        )
    if err == errno.EBUSY or "busy" in text.lower() or "lock" in text.lower():
        return f"The amplifier port {port} is in use by another program; close it and retry."
    return f"Cannot open the amplifier port {port}: {text}"


class SerialSource(Source):
    """EMG from an amplifier on a serial port (USB-CDC or UART).

    Parameters
    ----------
    port : str
        Device path (``/dev/ttyACM0``, ``COM3``, a simulated device's link).
    baud : int
        Line rate for UARTs (USB-CDC ignores it).
    labels : tuple of str, optional
        Channel labels (the montage); the default montage otherwise.
    rate, channels, bits : optional
        Acquisition to request with SET_ACQUISITION before START.
    silence_s : float
        No valid frame for this long means the signal is lost.

    Thread safety: ``open``/``read``/``reconnect``/``close`` from the acquisition thread;
    ``request_stop``, ``status``, ``send_stimulator``, ``electrodes`` and
    ``request_electrode_check`` from any thread (the last two never block).
    """

    #: The port is held while open: release it before opening it again.
    EXCLUSIVE = True

    def __init__(
        self,
        port: str,
        baud: int = DEFAULT_BAUD,
        labels: tuple[str, ...] | None = None,
        rate: int | None = None,
        channels: int | None = None,
        bits: int | None = None,
        silence_s: float = 0.4,
    ) -> None:
        self.port = port
        self.baud = baud
        self._labels = labels
        self._want = (rate, channels, bits)
        self.silence_s = silence_s
        self._ser: serial.Serial | None = None
        self._reader: threading.Thread | None = None
        self._reader_stop = threading.Event()
        self._queue: queue.Queue[Block] = queue.Queue(QUEUE_BLOCKS)
        self._acks: dict[int, AckPayload] = {}
        self._waiting: set[int] = set()  # command numbers whose answer a thread awaits
        self._ack_cond = threading.Condition()
        self._tx_seq = 0
        self._tx_lock = threading.Lock()
        self._stop = threading.Event()
        self._info: SourceInfo | None = None
        self.device: DeviceInfo | None = None
        self.status: StatusPayload | None = None
        self._stimulator: CoreStimulator | None = None
        self._stim_lock = threading.Lock()
        self._latest_status: tuple[StatusPayload, float] | None = None  # with its arrival
        self._check_note = ""  # why the last requested impedance check was refused
        self._check_lock = threading.Lock()
        self._check_thread: threading.Thread | None = None
        self._pending_stims: list[StimPulse] = []
        self._streaming_ok = False  # data is only taken once INFO of this connection is in
        self.bad_frames = 0
        self._expected: int | None = None  # host index one past the last sample
        self._offset = 0  # host index = device index + offset (changes if the device reboots)
        self._last_good = 0.0
        self._last_block_t = 0.0
        self._reader_error: str | None = None
        self._overruns = 0
        self.lost_frames = 0
        self.parser = FrameParser()
        self._rx_seq: int | None = None

    # -- Source ------------------------------------------------------------------------------
    @property
    def info(self) -> SourceInfo:
        if self._info is None:
            return SourceInfo(self.port, 0.0, (), "serial")
        return self._info

    @property
    def overruns(self) -> int:
        return self._overruns

    def open(self) -> None:
        self._stop.clear()
        try:
            self._connect()
        except SignalLost as exc:
            raise SourceError(str(exc)) from None

    def read(self) -> Block | None:
        try:
            return self._queue.get(timeout=0.05)
        except queue.Empty:
            pass
        if self._stop.is_set():
            return None
        if self._reader_error is not None:
            raise SignalLost(self._reader_error)
        silent = time.monotonic() - self._last_good
        if silent > self.silence_s:
            raise SignalLost(f"no data from the amplifier on {self.port} for {silent:.1f} s.")
        return None

    def reconnect(self) -> None:
        self._disconnect()
        self._connect()

    def request_stop(self) -> None:
        self._stop.set()

    def close(self) -> None:
        if self._ser is not None and self._ser.is_open:
            with contextlib.suppress(Exception):
                self._command(FrameType.STOP, b"", timeout=0.3)
        self._disconnect()

    # -- commands (any thread) ---------------------------------------------------------------
    def send_stimulator(self, settings: StimulatorSettings) -> AckPayload:
        """Set the stimulator; raises ``SourceError`` with the device's reason if refused."""
        ack = self._command(FrameType.STIMULATOR, settings.encode())
        if ack.result is not AckResult.OK:
            raise SourceError(f"The amplifier refused the stimulator settings: {ack.message}.")
        return ack

    def stimulator(self) -> CoreStimulator | None:
        """The settings last accepted by the amplifier (None before any). Thread-safe."""
        return self._stimulator

    def set_stimulator(self, settings: CoreStimulator) -> None:
        """Send the screen's stimulator settings; ``SourceError`` if the amplifier refuses
        them or does not answer. Thread-safe; waits for the acknowledgement."""
        with self._stim_lock:  # what is kept is what the device accepted last
            self.send_stimulator(
                StimulatorSettings(
                    settings.current_ma,
                    settings.width_ms,
                    settings.rate_hz,
                    settings.site,
                    settings.on,
                )
            )
            self._stimulator = settings

    def request_impedance(self) -> None:
        """Ask for an impedance measurement and wait for its acknowledgement."""
        ack = self._command(FrameType.IMPEDANCE_CHECK, b"")
        if ack.result is AckResult.BUSY:
            self._check_note = "The amplifier cannot measure impedance now (it is busy)."
        elif ack.result is not AckResult.OK:
            self._check_note = "This amplifier does not measure electrode impedance."
        else:
            self._check_note = ""

    # -- electrode check (any thread, never blocks) ----------------------------------------
    def electrodes(self) -> ElectrodeReport | None:
        """The latest STATUS as an electrode report; None before the first one."""
        latest = self._latest_status  # one read: the status and its time belong together
        if latest is None:
            return None
        status, at = latest
        channels = tuple(
            ChannelElectrodes(
                active_kohm=None if c.active is None else c.active.impedance_kohm,
                reference_kohm=None if c.reference is None else c.reference.impedance_kohm,
                active_off=c.active is not None and c.active.lead_off,
                reference_off=c.reference is not None and c.reference.lead_off,
                channel_kohm=c.impedance_kohm,
                lead_off=c.lead_off,
            )
            for c in status.channels
        )
        index = status.index + self._offset
        return ElectrodeReport(channels, at, status.per_electrode, index, self._check_note)

    def request_electrode_check(self) -> bool:
        """Send IMPEDANCE_CHECK from a helper thread; the result comes as a new STATUS."""
        if self._ser is None:
            return False
        with self._check_lock:
            if self._check_thread is not None and self._check_thread.is_alive():
                return True  # one check at a time; the one under way answers this too
            self._check_thread = threading.Thread(
                target=self._check_in_background, name="impedance-check", daemon=True
            )
            self._check_thread.start()
        return True

    def _check_in_background(self) -> None:
        try:
            self.request_impedance()
        except SourceError:  # SignalLost included: the session reports the link itself
            self._check_note = "The amplifier did not acknowledge the impedance check."

    # -- connection ---------------------------------------------------------------------------
    def _connect(self) -> None:
        try:
            self._ser = serial.Serial(self.port, self.baud, timeout=0.05, exclusive=True)
        except (serial.SerialException, OSError, ValueError) as exc:
            raise SignalLost(describe_port_error(self.port, exc)) from None
        self.parser = FrameParser()
        self._rx_seq = None
        self._reader_error = None
        self._reader_stop.clear()
        self._reader = threading.Thread(target=self._read_loop, name="serial-reader", daemon=True)
        self._reader.start()
        try:
            info = self._get_info()
            rate, channels, bits = self._want
            if any(v is not None for v in self._want):
                want = SetAcquisition(
                    int(rate or info.rate_hz),
                    int(channels or info.n_channels),
                    int(bits or info.bits),
                )
                if (want.rate_hz, want.n_channels, want.bits) != (
                    info.rate_hz,
                    info.n_channels,
                    info.bits,
                ):
                    self._command(FrameType.STOP, b"")
                    ack = self._command(FrameType.SET_ACQUISITION, want.encode())
                    if ack.result is not AckResult.OK:
                        raise SourceError(
                            f"The amplifier cannot record {want.n_channels} channels at "
                            f"{want.rate_hz} Hz, {want.bits} bit: {ack.message}."
                        )
                    info = self._get_info()
            self._set_info(info)
            self._streaming_ok = True
            # A device may take a moment after START: give it a grace before the 0.4 s rule.
            self._last_good = time.monotonic() + START_GRACE_S
            self._command(FrameType.START, b"")
        except BaseException:
            self._disconnect()
            raise

    def _get_info(self) -> DeviceInfo:
        """Ask the device to describe itself (a corrupted answer is asked again)."""
        self._streaming_ok = False
        for _ in range(3):
            self.device = None
            with contextlib.suppress(SignalLost):
                self._command(FrameType.GET_INFO, b"")
            if self.device is not None:
                return self.device
            if self._reader_error:
                break
        raise SignalLost(f"the device on {self.port} did not describe itself.")

    def _set_info(self, info: DeviceInfo) -> None:
        labels = self._labels or default_labels(min(info.n_channels, 16))
        if len(labels) != info.n_channels:
            labels = tuple(labels[: info.n_channels]) + tuple(
                f"Ch {k + 1}" for k in range(len(labels), info.n_channels)
            )
        if self._info is not None and (
            self._info.rate != info.rate_hz or self._info.n_channels != info.n_channels
        ):
            raise SourceError(
                f"The amplifier on {self.port} came back with a different set-up "
                f"({info.n_channels} channels at {info.rate_hz} Hz); restart monitoring."
            )
        self._info = SourceInfo(
            name=self.port,
            rate=float(info.rate_hz),
            labels=tuple(labels),
            kind="serial",
            description=f"{info.firmware}, {info.bits} bit, {info.uv_per_count:g} µV/count",
            capabilities=Capabilities(
                bits=info.bits, stimulator=True, electrode_check=True, exclusive=self.EXCLUSIVE
            ),
        )

    def _disconnect(self) -> None:
        self._reader_stop.set()
        if self._reader is not None and self._reader is not threading.current_thread():
            self._reader.join(1.0)
        self._reader = None
        if self._ser is not None:
            with contextlib.suppress(Exception):
                self._ser.close()
        self._ser = None

    def _command(
        self, ftype: FrameType, payload: bytes, timeout: float = COMMAND_TIMEOUT_S
    ) -> AckPayload:
        ser = self._ser
        if ser is None:
            raise SignalLost(f"the amplifier port {self.port} is not open.")
        with self._tx_lock:
            seq = self._tx_seq
            self._tx_seq = (self._tx_seq + 1) & 0xFFFFFFFF
            with self._ack_cond:
                self._waiting.add(seq)
            try:
                ser.write(encode_frame(ftype, seq, payload))
            except (serial.SerialException, OSError) as exc:
                self._forget(seq)
                raise SignalLost(f"cannot write to {self.port} ({exc}).") from None
        deadline = time.monotonic() + timeout
        try:
            with self._ack_cond:
                while seq not in self._acks:
                    left = deadline - time.monotonic()
                    if left <= 0 or self._reader_error:
                        raise SignalLost(
                            f"the amplifier on {self.port} did not answer ({ftype.name.lower()})."
                        )
                    self._ack_cond.wait(left)
                return self._acks.pop(seq)
        finally:
            self._forget(seq)

    def _forget(self, seq: int) -> None:
        """Stop waiting for ``seq``; drop answers nobody waits for (came after their
        command gave up), never another thread's answer still awaited."""
        with self._ack_cond:
            self._waiting.discard(seq)
            for k in [k for k in self._acks if k not in self._waiting]:
                del self._acks[k]

    # -- reader thread -------------------------------------------------------------------------
    def _read_loop(self) -> None:
        ser = self._ser
        assert ser is not None
        try:
            while not self._reader_stop.is_set():
                waiting = ser.in_waiting
                data = ser.read(waiting if waiting else 1)
                if data:
                    self._handle(self.parser.feed(data))
        except (serial.SerialException, OSError, TypeError) as exc:
            # pyserial raises TypeError from in_waiting on a closed fd during unplug.
            if not self._reader_stop.is_set():
                log.warning("serial read failed: %s", exc)
                self._reader_error = f"the amplifier on {self.port} was disconnected."
        except Exception:
            # A bug or a frame we cannot place must not leave a silent dead reader.
            log.exception("serial reader failed")
            self._reader_error = (
                f"the link to the amplifier on {self.port} failed (details in the log)."
            )
        finally:
            with self._ack_cond:
                self._ack_cond.notify_all()

    def _handle(self, frames) -> None:
        run: list[DataPayload] = []
        for frame in frames:
            self._check_seq(frame.seq)
            try:
                payload = frame.decoded()
            except ValueError as exc:
                log.warning("dropped a frame with a malformed payload: %s", exc)
                continue
            if frame.type is FrameType.DATA:
                if run and payload.first_index != run[-1].first_index + len(run[-1].counts):
                    self._emit(run)
                    run = []
                run.append(payload)
                continue
            if frame.type is FrameType.STIM:
                self._pending_stims.extend(payload.pulses)  # device indices, placed in _emit
            elif frame.type is FrameType.STATUS:
                self.status = payload
                self._latest_status = (payload, time.monotonic())
            elif frame.type is FrameType.INFO:
                self.device = payload
            elif frame.type is FrameType.ACK:
                with self._ack_cond:
                    self._acks[payload.command_seq] = payload
                    self._ack_cond.notify_all()
        if run:
            self._emit(run)

    def _check_seq(self, seq: int) -> None:
        if self._rx_seq is not None:
            missed = (seq - self._rx_seq - 1) & 0xFFFFFFFF
            if 0 < missed < 1 << 31:
                self.lost_frames += missed
        self._rx_seq = seq

    def _emit(self, run: list[DataPayload]) -> None:
        """One block from consecutive data frames."""
        info, dev = self._info, self.device
        if info is None or dev is None or not self._streaming_ok:
            return
        if any(p.counts.shape[1] != info.n_channels for p in run):
            self.bad_frames += len(run)  # not the set-up we were told: never shown
            return
        self._last_good = time.monotonic()
        first = run[0].first_index + self._offset
        counts = run[0].counts if len(run) == 1 else np.concatenate([p.counts for p in run])
        gaps: tuple[GapMarker, ...] = ()
        if self._expected is not None and first != self._expected:
            if first < self._expected:
                # The device's counter went back (it restarted): keep our clock going and
                # mark the gap by the wall-clock estimate; say so in the log.
                est = max(0, round((time.monotonic() - self._last_block_t) * info.rate))
                self._offset += self._expected + est - first
                first = self._expected + est
                log.warning("device sample counter restarted; gap of %d samples estimated", est)
            if first > self._expected:
                gaps = (GapMarker(self._expected, first - self._expected),)
        stop = first + counts.shape[0]
        stims = tuple(
            StimMarker(p.index + self._offset, p.current_ma, p.width_ms, p.site)
            for p in self._pending_stims
            if p.index + self._offset < stop
        )
        data = (counts * np.float32(dev.uv_per_count)).astype(np.float32)
        block = Block(first, data, info.rate, info.labels, stims, gaps)
        self._last_block_t = time.monotonic()
        try:
            self._queue.put_nowait(block)
        except queue.Full:
            self._overruns += 1  # the next block carries the gap marker
            return
        self._pending_stims = [p for p in self._pending_stims if p.index + self._offset >= stop]
        self._expected = stop
