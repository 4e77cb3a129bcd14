"""The amplifier link protocol, version 1 revision 1: frame encoding and a resynchronising parser.

The normative description, with byte tables and bandwidth arithmetic, is
``docs/protocol.md``; this module is its reference implementation, used by the driver
(host side) and by the simulated device alike.

Frame layout (all integers little-endian)::

    offset size field
    0      2    sync       0xA5 0x5A
    2      1    version    1
    3      1    type       see FrameType
    4      4    seq        uint32, +1 per frame sent by that side (wraps at 2**32)
    8      2    length     payload bytes, at most MAX_PAYLOAD
    10     n    payload
    10+n   4    crc        CRC-32 (IEEE 802.3, as zlib.crc32) of bytes 2 .. 10+n-1

Data frames carry the absolute 64-bit index of their first sample, so lost frames
are counted in samples exactly, whatever their size; ``seq`` detects lost frames of
every other type.
"""

from __future__ import annotations

import enum
import math
import struct
import zlib
from dataclasses import dataclass

import numpy as np

SYNC = b"\xa5\x5a"
VERSION = 1  # the version byte of every frame
#: Revision within version 1 (docs/protocol.md §9): 1 added the per-electrode STATUS block.
#: A revision only appends to payloads, so the version byte and the framing do not change.
REVISION = 1
HEADER = struct.Struct("<2sBBIH")  # sync, version, type, seq, length
CRC = struct.Struct("<I")
HEADER_SIZE = HEADER.size  # 10
OVERHEAD = HEADER_SIZE + CRC.size  # 14
MAX_PAYLOAD = 16_384


class FrameType(enum.IntEnum):
    # device -> host
    DATA = 0x01
    STIM = 0x02
    INFO = 0x03
    STATUS = 0x04
    ACK = 0x05
    # host -> device
    START = 0x81
    STOP = 0x82
    SET_ACQUISITION = 0x83
    IMPEDANCE_CHECK = 0x84
    STIMULATOR = 0x85
    GET_INFO = 0x86


class AckResult(enum.IntEnum):
    OK = 0
    BAD_VALUE = 1  # a setting the device cannot do
    BUSY = 2  # e.g. change of rate while streaming
    UNKNOWN_COMMAND = 3


SITES = ("", "zygomatic", "temporal", "buccal", "marginal mandibular", "cervical", "Z-L", "probe")


# -- payloads ----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class DataPayload:
    """``counts`` int32 ``[n_samples, n_channels]``; µV = counts x ``DeviceInfo.uv_per_count``."""

    first_index: int
    counts: np.ndarray
    bytes_per_sample: int  # 2 or 3

    _HEAD = struct.Struct("<QHBB")  # first index, n samples, n channels, bytes per sample

    def encode(self) -> bytes:
        n, ch = self.counts.shape
        head = self._HEAD.pack(self.first_index, n, ch, self.bytes_per_sample)
        return head + encode_samples(self.counts, self.bytes_per_sample)

    @classmethod
    def decode(cls, p: bytes) -> DataPayload:
        first, n, ch, bps = cls._HEAD.unpack_from(p)
        if bps not in (2, 3) or ch == 0 or len(p) != cls._HEAD.size + n * ch * bps:
            raise ValueError("data payload size does not match its header")
        return cls(first, decode_samples(p[cls._HEAD.size :], n, ch, bps), bps)


@dataclass(frozen=True, slots=True)
class StimPulse:
    index: int  # absolute sample index of the pulse onset
    current_ma: float  # resolution 0.01 mA
    width_ms: float  # resolution 1 µs
    site: str  # one of SITES

    _ITEM = struct.Struct("<QHHB")


@dataclass(frozen=True, slots=True)
class StimPayload:
    pulses: tuple[StimPulse, ...]

    def encode(self) -> bytes:
        out = [struct.pack("<B", len(self.pulses))]
        for p in self.pulses:
            site = SITES.index(p.site) if p.site in SITES else 0
            out.append(
                StimPulse._ITEM.pack(
                    p.index, round(p.current_ma * 100), round(p.width_ms * 1000), site
                )
            )
        return b"".join(out)

    @classmethod
    def decode(cls, p: bytes) -> StimPayload:
        (count,) = struct.unpack_from("<B", p)
        size = StimPulse._ITEM.size
        if len(p) != 1 + count * size:
            raise ValueError("stimulus payload size does not match its count")
        pulses = []
        for k in range(count):
            idx, cur, width, site = StimPulse._ITEM.unpack_from(p, 1 + k * size)
            name = SITES[site] if site < len(SITES) else f"output {site}"
            pulses.append(StimPulse(idx, cur / 100.0, width / 1000.0, name))
        return cls(tuple(pulses))


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    n_channels: int
    rate_hz: int
    bits: int  # 16 or 24
    uv_per_count: float
    gain: float
    firmware: str
    serial_number: str = ""

    _HEAD = struct.Struct("<BIBff")

    def encode(self) -> bytes:
        fw = self.firmware.encode()[:64]
        sn = self.serial_number.encode()[:32]
        head = self._HEAD.pack(
            self.n_channels, self.rate_hz, self.bits, self.uv_per_count, self.gain
        )
        return head + bytes([len(fw)]) + fw + bytes([len(sn)]) + sn

    @classmethod
    def decode(cls, p: bytes) -> DeviceInfo:
        ch, rate, bits, uv, gain = cls._HEAD.unpack_from(p)
        pos = cls._HEAD.size
        fw_len = p[pos]
        fw = p[pos + 1 : pos + 1 + fw_len].decode("utf-8", "replace")
        pos += 1 + fw_len
        sn_len = p[pos] if pos < len(p) else 0
        sn = p[pos + 1 : pos + 1 + sn_len].decode("utf-8", "replace")
        if bits not in (16, 24) or not 1 <= ch <= 64 or rate <= 0:
            raise ValueError("device info out of range")
        if not (math.isfinite(uv) and 0 < uv <= 1000.0):
            raise ValueError(f"impossible scale of {uv!r} µV per count")
        return cls(ch, rate, bits, uv, gain, fw, sn)


IMPEDANCE_UNKNOWN = 0xFFFF
IMPEDANCE_OVER = 0xFFFE  # above 6553.4 kΩ
LEAD_OFF = 0x01
SATURATED = 0x02
ACTIVE_OFF = 0x01  # electrode flags of the STATUS electrode block
REFERENCE_OFF = 0x02
#: STATUS extension tags (docs/protocol.md §4.4); receivers skip tags they do not know.
STATUS_EXT_ELECTRODES = 0x01
_EXT_HEAD = struct.Struct("<BH")  # tag, length
_ELECTRODES = struct.Struct("<HHB")  # active, reference (0.1 kΩ), flags


def _kohm_code(kohm: float | None) -> int:
    return IMPEDANCE_UNKNOWN if kohm is None else min(round(kohm * 10), IMPEDANCE_OVER)


def _kohm_value(code: int) -> float | None:
    return None if code == IMPEDANCE_UNKNOWN else code / 10.0


@dataclass(frozen=True, slots=True)
class ElectrodeStatus:
    """One needle of a channel's pair (revision 1)."""

    impedance_kohm: float | None  # None when not measured
    lead_off: bool


@dataclass(frozen=True, slots=True)
class ChannelStatus:
    """One channel of a STATUS frame.

    ``impedance_kohm``/``lead_off`` are the channel's own fields (every revision); a
    revision-1 device sends the higher of its two needles there, and lead off when either
    needle is off, so a revision-0 host still flags the channel. ``active``/``reference``
    are the needles one by one, ``None`` from a device that does not send them.
    """

    impedance_kohm: float | None  # None when not measured
    lead_off: bool
    saturated: bool
    active: ElectrodeStatus | None = None
    reference: ElectrodeStatus | None = None


@dataclass(frozen=True, slots=True)
class StatusPayload:
    index: int  # sample index the status refers to
    channels: tuple[ChannelStatus, ...]

    _HEAD = struct.Struct("<QB")
    _CHANNEL = struct.Struct("<HB")

    @property
    def per_electrode(self) -> bool:
        """True when the frame carries each needle's impedance (the electrode block)."""
        return bool(self.channels) and self.channels[0].active is not None

    def encode(self) -> bytes:
        out = [self._HEAD.pack(self.index, len(self.channels))]
        for c in self.channels:
            flags = (LEAD_OFF if c.lead_off else 0) | (SATURATED if c.saturated else 0)
            out.append(self._CHANNEL.pack(_kohm_code(c.impedance_kohm), flags))
        has = [c.active is not None and c.reference is not None for c in self.channels]
        if any(has):
            if not all(has):
                raise ValueError("either every channel carries its two electrodes or none does")
            parts = []
            for c in self.channels:
                assert c.active is not None and c.reference is not None  # all(has) above
                parts.append(
                    _ELECTRODES.pack(
                        _kohm_code(c.active.impedance_kohm),
                        _kohm_code(c.reference.impedance_kohm),
                        (ACTIVE_OFF if c.active.lead_off else 0)
                        | (REFERENCE_OFF if c.reference.lead_off else 0),
                    )
                )
            block = b"".join(parts)
            out.append(_EXT_HEAD.pack(STATUS_EXT_ELECTRODES, len(block)) + block)
        payload = b"".join(out)
        if len(payload) > MAX_LENGTH[FrameType.STATUS]:
            raise ValueError(f"a status of {len(self.channels)} channels does not fit a frame")
        return payload

    @classmethod
    def decode(cls, p: bytes) -> StatusPayload:
        idx, n = cls._HEAD.unpack_from(p)
        pos = cls._HEAD.size + cls._CHANNEL.size * n
        if len(p) < pos:
            raise ValueError("status payload is shorter than its channel count")
        chans = []
        for k in range(n):
            imp, flags = cls._CHANNEL.unpack_from(p, cls._HEAD.size + cls._CHANNEL.size * k)
            chans.append(
                ChannelStatus(_kohm_value(imp), bool(flags & LEAD_OFF), bool(flags & SATURATED))
            )
        # Extensions (revision 1 on): tag, length, body; unknown tags are skipped.
        while pos < len(p):
            if len(p) - pos < _EXT_HEAD.size:
                raise ValueError("status extension is cut short")
            tag, length = _EXT_HEAD.unpack_from(p, pos)
            pos += _EXT_HEAD.size
            if pos + length > len(p):
                raise ValueError("status extension runs past the payload")
            if tag == STATUS_EXT_ELECTRODES:
                if length != _ELECTRODES.size * n:
                    raise ValueError("electrode block size does not match the channel count")
                for k in range(n):
                    a, r, f = _ELECTRODES.unpack_from(p, pos + _ELECTRODES.size * k)
                    chans[k] = ChannelStatus(
                        chans[k].impedance_kohm,
                        chans[k].lead_off,
                        chans[k].saturated,
                        ElectrodeStatus(_kohm_value(a), bool(f & ACTIVE_OFF)),
                        ElectrodeStatus(_kohm_value(r), bool(f & REFERENCE_OFF)),
                    )
            pos += length
        return cls(idx, tuple(chans))


@dataclass(frozen=True, slots=True)
class AckPayload:
    command: int  # the FrameType of the command
    command_seq: int
    result: AckResult
    message: str = ""

    def encode(self) -> bytes:
        msg = self.message.encode()[:200]
        return struct.pack("<BIB", self.command, self.command_seq, self.result) + msg

    @classmethod
    def decode(cls, p: bytes) -> AckPayload:
        cmd, seq, res = struct.unpack_from("<BIB", p)
        return cls(cmd, seq, AckResult(res), p[6:].decode("utf-8", "replace"))


@dataclass(frozen=True, slots=True)
class SetAcquisition:
    rate_hz: int
    n_channels: int
    bits: int

    _S = struct.Struct("<IBB")

    def encode(self) -> bytes:
        return self._S.pack(self.rate_hz, self.n_channels, self.bits)

    @classmethod
    def decode(cls, p: bytes) -> SetAcquisition:
        return cls(*cls._S.unpack(p))


@dataclass(frozen=True, slots=True)
class StimulatorSettings:
    current_ma: float
    width_ms: float
    rate_hz: float
    site: str
    on: bool

    _S = struct.Struct("<HHHBB")

    def encode(self) -> bytes:
        site = SITES.index(self.site) if self.site in SITES else 0
        return self._S.pack(
            round(self.current_ma * 100),
            round(self.width_ms * 1000),
            round(self.rate_hz * 100),
            site,
            int(self.on),
        )

    @classmethod
    def decode(cls, p: bytes) -> StimulatorSettings:
        cur, width, rate, site, on = cls._S.unpack(p)
        return cls(
            cur / 100, width / 1000, rate / 100, SITES[site] if site < len(SITES) else "", bool(on)
        )


PAYLOADS: dict[FrameType, type] = {
    FrameType.DATA: DataPayload,
    FrameType.STIM: StimPayload,
    FrameType.INFO: DeviceInfo,
    FrameType.STATUS: StatusPayload,
    FrameType.ACK: AckPayload,
    FrameType.SET_ACQUISITION: SetAcquisition,
    FrameType.STIMULATOR: StimulatorSettings,
}


# -- samples -------------------------------------------------------------------------------------
def encode_samples(counts: np.ndarray, bytes_per_sample: int) -> bytes:
    """Interleaved (sample-major) little-endian signed 16- or 24-bit integers."""
    # Out-of-range counts saturate at full scale (as an overdriven ADC does), never wrap.
    lo, hi = full_scale(8 * bytes_per_sample)
    c = np.ascontiguousarray(np.clip(counts, lo, hi), dtype="<i4")
    if bytes_per_sample == 2:
        return c.astype("<i2").tobytes()
    return c.view(np.uint8).reshape(-1, 4)[:, :3].tobytes()


def decode_samples(raw: bytes, n: int, ch: int, bytes_per_sample: int) -> np.ndarray:
    """Inverse of :func:`encode_samples`: int32 ``[n, ch]``."""
    if bytes_per_sample == 2:
        return np.frombuffer(raw, "<i2").reshape(n, ch).astype(np.int32)
    b = np.frombuffer(raw, np.uint8).reshape(-1, 3).astype(np.int32)
    v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
    v = (v ^ 0x800000) - 0x800000  # sign-extend 24 bits
    return v.reshape(n, ch)


def full_scale(bits: int) -> tuple[int, int]:
    return -(1 << (bits - 1)), (1 << (bits - 1)) - 1


# -- frames ---------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Frame:
    type: FrameType
    seq: int
    payload: bytes

    def decoded(self):
        """The payload as its dataclass (raises ``ValueError`` on a malformed payload)."""
        cls = PAYLOADS.get(self.type)
        if cls is None:
            return None
        try:
            return cls.decode(self.payload)
        except (struct.error, IndexError, UnicodeError) as exc:
            raise ValueError(f"malformed {self.type.name} payload") from exc


def encode_frame(ftype: FrameType, seq: int, payload: bytes = b"") -> bytes:
    if len(payload) > MAX_PAYLOAD:
        raise ValueError(f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD}")
    head = HEADER.pack(SYNC, VERSION, int(ftype), seq & 0xFFFFFFFF, len(payload))
    body = head[2:] + payload
    return SYNC + body + CRC.pack(zlib.crc32(body))


#: Largest payload each frame type can have. A candidate header that claims more is
#: rejected at once, so a false sync in the byte stream never holds back the frames behind
#: it by more than a data frame's length (and not at all on an idle command link).
MAX_LENGTH: dict[int, int] = {
    FrameType.DATA: MAX_PAYLOAD,
    FrameType.STIM: 1 + 255 * StimPulse._ITEM.size,
    FrameType.INFO: DeviceInfo._HEAD.size + 1 + 64 + 1 + 32,
    FrameType.STATUS: 9 + 3 * 255,  # also with the electrode block: 12 + 8 x 64 fits
    FrameType.ACK: 6 + 200,
    FrameType.START: 0,
    FrameType.STOP: 0,
    FrameType.SET_ACQUISITION: SetAcquisition._S.size,
    FrameType.IMPEDANCE_CHECK: 0,
    FrameType.STIMULATOR: StimulatorSettings._S.size,
    FrameType.GET_INFO: 0,
}


class FrameParser:
    """Incremental parser: feed it any bytes, get back only frames whose CRC checks.

    After garbage or a bad CRC it resynchronises at the next sync word, rescanning the
    bytes of the rejected candidate, so a valid frame hidden after a false sync is still
    found. A candidate header is rejected at once when its version, type or length cannot
    be right for its type (``MAX_LENGTH``); a false sync that passes that check holds back
    the following frames until its claimed length has arrived (at most a data frame's
    worth, MAX_PAYLOAD bytes) and is then rejected by its CRC.

    Thread safety: not thread-safe; one reader owns it.
    """

    def __init__(self, max_buffer: int = 1 << 20) -> None:
        self._buf = bytearray()
        self._max_buffer = max_buffer
        self.frames = 0
        self.crc_errors = 0
        self.bytes_skipped = 0

    def feed(self, data: bytes) -> list[Frame]:
        buf = self._buf
        buf += data
        out: list[Frame] = []
        pos = 0
        n = len(buf)
        while True:
            start = buf.find(SYNC, pos)
            if start < 0:
                # Keep a trailing 0xA5: it may be the first half of the next sync.
                keep = 1 if pos < n and buf[-1] == SYNC[0] else 0
                self.bytes_skipped += n - pos - keep
                pos = n - keep
                break
            self.bytes_skipped += start - pos
            pos = start
            if n - pos < HEADER_SIZE:
                break
            _, version, ftype, seq, length = HEADER.unpack_from(buf, pos)
            if version != VERSION or length > MAX_LENGTH.get(ftype, -1):
                pos += 1
                self.bytes_skipped += 1
                continue
            end = pos + HEADER_SIZE + length + CRC.size
            if end > n:
                break
            (crc,) = CRC.unpack_from(buf, end - CRC.size)
            if zlib.crc32(memoryview(buf)[pos + 2 : end - CRC.size]) != crc:
                self.crc_errors += 1
                pos += 1
                self.bytes_skipped += 1
                continue
            out.append(Frame(FrameType(ftype), seq, bytes(buf[pos + HEADER_SIZE : end - CRC.size])))
            self.frames += 1
            pos = end
        del buf[:pos]
        if len(buf) > self._max_buffer:  # cannot happen with MAX_PAYLOAD; a guard
            self.bytes_skipped += len(buf)
            buf.clear()
        return out
