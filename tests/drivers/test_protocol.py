"""Link protocol v1 (docs/protocol.md): payload round trips, CRC, a parser that survives noise."""

from __future__ import annotations

import binascii
import contextlib
import itertools
import struct

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drivers.protocol import (
    HEADER,
    MAX_LENGTH,
    MAX_PAYLOAD,
    OVERHEAD,
    SITES,
    SYNC,
    VERSION,
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
    decode_samples,
    encode_frame,
    encode_samples,
    full_scale,
)

U32 = st.integers(0, 2**32 - 1)
U64 = st.integers(0, 2**64 - 1)
# The worked example of docs/protocol.md: DATA, seq 7, index 1000, 2 x 2 samples at 24 bit.
DOC_EXAMPLE_COUNTS = np.array([[1, -1], [8388607, -8388608]])
DOC_EXAMPLE_HEX = (
    "a5 5a 01 01 07 00 00 00 18 00 e8 03 00 00 00 00 00 00 02 00 02 03 "
    "01 00 00 ff ff ff ff ff 7f 00 00 80 54 4d e2 d0"
)


def crc32_bitwise(data: bytes) -> int:
    """CRC-32 written out as in docs/protocol.md, independent of zlib."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0xEDB88320 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def key(f: Frame) -> tuple[int, int, bytes]:
    return int(f.type), f.seq, f.payload


def feed_in_chunks(parser: FrameParser, data: bytes, sizes) -> list[Frame]:
    out: list[Frame] = []
    pos = 0
    for size in itertools.cycle(sizes):
        if pos >= len(data):
            break
        out += parser.feed(data[pos : pos + size])
        pos += size
    return out


def over_the_link(ftype: FrameType, obj, seq: int = 3):
    """Encode ``obj`` into a frame, parse it back, and decode its payload."""
    frames = FrameParser().feed(encode_frame(ftype, seq, obj.encode()))
    assert len(frames) == 1
    assert frames[0].type == ftype
    assert frames[0].seq == seq
    return frames[0].decoded()


def tail_frames(first_seq: int) -> list[bytes]:
    """Valid frames worth more than MAX_PAYLOAD + 14 bytes: enough to resolve any false sync."""
    frames = [encode_frame(FrameType.DATA, first_seq + k, bytes(6000)) for k in range(3)]
    assert sum(map(len, frames)) > MAX_PAYLOAD + OVERHEAD
    return frames


# -- payload round trips ---------------------------------------------------------------------------
def assert_same_data(a: DataPayload, b: DataPayload) -> None:
    assert (a.first_index, a.bytes_per_sample) == (b.first_index, b.bytes_per_sample)
    assert b.counts.dtype == np.int32
    np.testing.assert_array_equal(a.counts, b.counts)


@given(
    first=U64,
    n=st.integers(0, 40),
    ch=st.integers(1, 16),
    bits=st.sampled_from([16, 24]),
    seed=st.integers(0, 2**32 - 1),
)
def test_data_round_trip(first, n, ch, bits, seed):
    lo, hi = full_scale(bits)
    rng = np.random.default_rng(seed)
    counts = rng.integers(lo, hi, size=(n, ch), endpoint=True).astype(np.int32)
    if n:
        counts.flat[0], counts.flat[-1] = lo, hi
    data = DataPayload(first, counts, bits // 8)
    assert_same_data(data, DataPayload.decode(data.encode()))
    assert_same_data(data, over_the_link(FrameType.DATA, data))


@pytest.mark.parametrize(("bits", "bps"), [(16, 2), (24, 3)])
def test_samples_full_scale_and_layout(bits, bps):
    lo, hi = full_scale(bits)
    assert (lo, hi) == ((-32768, 32767) if bits == 16 else (-(2**23), 2**23 - 1))
    counts = np.array([[lo, hi, -1], [0, 1, lo + 1]], dtype=np.int32)
    raw = encode_samples(counts, bps)
    assert len(raw) == counts.size * bps
    # sample-major, little-endian two's complement
    expected = b"".join(int(v).to_bytes(bps, "little", signed=True) for v in counts.flat)
    assert raw == expected
    np.testing.assert_array_equal(decode_samples(raw, 2, 3, bps), counts)


def test_doc_worked_example():
    data = DataPayload(1000, DOC_EXAMPLE_COUNTS, 3)
    frame = encode_frame(FrameType.DATA, 7, data.encode())
    assert frame == bytes.fromhex(DOC_EXAMPLE_HEX)
    assert struct.unpack("<I", frame[-4:])[0] == 0xD0E24D54 == crc32_bitwise(frame[2:-4])
    assert encode_frame(FrameType.GET_INFO, 0) == bytes.fromhex("a55a0186000000000000 3f004e42")


pulse = st.builds(
    StimPulse,
    index=U64,
    current_ma=st.integers(0, 0xFFFF).map(lambda k: k / 100),
    width_ms=st.integers(0, 0xFFFF).map(lambda k: k / 1000),
    site=st.sampled_from(SITES),
)


@given(st.lists(pulse, max_size=20).map(tuple))
def test_stim_round_trip(pulses):
    stim = StimPayload(pulses)
    assert StimPayload.decode(stim.encode()) == stim
    assert over_the_link(FrameType.STIM, stim) == stim


def utf8_text(max_bytes: int):
    return st.text(max_size=max_bytes).filter(lambda s: len(s.encode()) <= max_bytes)


f32 = st.floats(width=32, allow_nan=False, allow_infinity=False)


@given(
    info=st.builds(
        DeviceInfo,
        n_channels=st.integers(1, 64),
        rate_hz=st.integers(1, 2**32 - 1),
        bits=st.sampled_from([16, 24]),
        uv_per_count=st.floats(0.0009765625, 1000.0, width=32),
        gain=f32,
        firmware=utf8_text(64),
        serial_number=utf8_text(32),
    )
)
def test_info_round_trip(info):
    assert DeviceInfo.decode(info.encode()) == info
    assert over_the_link(FrameType.INFO, info) == info


kohm = st.none() | st.integers(0, 0xFFFE).map(lambda k: k / 10)
channel = st.builds(
    ChannelStatus, impedance_kohm=kohm, lead_off=st.booleans(), saturated=st.booleans()
)
electrode = st.builds(ElectrodeStatus, impedance_kohm=kohm, lead_off=st.booleans())
channel_with_electrodes = st.builds(
    ChannelStatus,
    impedance_kohm=kohm,
    lead_off=st.booleans(),
    saturated=st.booleans(),
    active=electrode,
    reference=electrode,
)
# The doc's STATUS example (§4.4): index 20 000, seq 42; channel 0 active 2.1, reference
# 12.4 kΩ; channel 1 active 1.8 kΩ, reference off (above range).
DOC_STATUS_HEX = (
    "a5 5a 01 04 2a 00 00 00 1c 00 20 4e 00 00 00 00 00 00 02 7c 00 00 fe ff 01 01 0a 00 "
    "15 00 7c 00 00 12 00 fe ff 02 74 98 8c 7c"
)


@given(
    index=U64,
    channels=st.lists(channel, max_size=64) | st.lists(channel_with_electrodes, max_size=64),
)
def test_status_round_trip(index, channels):
    status = StatusPayload(index, tuple(channels))
    assert StatusPayload.decode(status.encode()) == status
    assert over_the_link(FrameType.STATUS, status) == status
    assert status.per_electrode == (bool(channels) and channels[0].active is not None)


def test_status_bytes():
    raw = StatusPayload(5, (ChannelStatus(None, True, False), ChannelStatus(12.3, False, True)))
    assert raw.encode() == bytes.fromhex("0500000000000000 02 ffff01 7b0002")


def test_status_with_electrodes_matches_the_documents_example():
    status = StatusPayload(
        20_000,
        (
            ChannelStatus(
                12.4, False, False, ElectrodeStatus(2.1, False), ElectrodeStatus(12.4, False)
            ),
            ChannelStatus(
                6553.4, True, False, ElectrodeStatus(1.8, False), ElectrodeStatus(6553.4, True)
            ),
        ),
    )
    frame = encode_frame(FrameType.STATUS, 42, status.encode())
    assert frame == bytes.fromhex(DOC_STATUS_HEX)
    assert over_the_link(FrameType.STATUS, status, seq=42) == status


def test_a_revision_0_status_still_decodes_with_one_value_per_channel():
    old = bytes.fromhex("0500000000000000 02 ffff01 7b0002")
    status = StatusPayload.decode(old)
    assert not status.per_electrode
    assert [c.impedance_kohm for c in status.channels] == [None, 12.3]
    assert [c.active for c in status.channels] == [None, None]


def test_unknown_status_extensions_are_skipped():
    status = StatusPayload(
        9,
        (
            ChannelStatus(
                2.5, False, False, ElectrodeStatus(2.5, False), ElectrodeStatus(2.0, False)
            ),
        ),
    )
    unknown = struct.pack("<BH", 0x7E, 4) + b"\x01\x02\x03\x04"
    assert StatusPayload.decode(status.encode() + unknown) == status
    assert StatusPayload.decode(status.encode()[:12] + unknown) == StatusPayload(
        9, (ChannelStatus(2.5, False, False),)
    )


@pytest.mark.parametrize(
    "tail",
    [
        b"\x01",  # a block header cut short
        struct.pack("<BH", 0x01, 10) + bytes(5),  # a block that runs past the payload
        struct.pack("<BH", 0x01, 4) + bytes(4),  # an electrode block of the wrong size
    ],
)
def test_malformed_status_extensions_are_refused(tail):
    base = StatusPayload(1, (ChannelStatus(2.0, False, False),)).encode()
    with pytest.raises(ValueError):
        StatusPayload.decode(base + tail)


def test_status_encoding_refuses_what_the_wire_cannot_carry():
    half = (
        ChannelStatus(2.0, False, False, ElectrodeStatus(2.0, False), ElectrodeStatus(2.0, False)),
        ChannelStatus(2.0, False, False),
    )
    with pytest.raises(ValueError, match="every channel"):
        StatusPayload(0, half).encode()
    full = ChannelStatus(
        2.0, False, False, ElectrodeStatus(2.0, False), ElectrodeStatus(2.0, False)
    )
    assert (
        len(StatusPayload(0, (full,) * 64).encode()) == 12 + 8 * 64 <= MAX_LENGTH[FrameType.STATUS]
    )
    with pytest.raises(ValueError, match="does not fit"):
        StatusPayload(0, (full,) * 200).encode()


@given(
    ack=st.builds(
        AckPayload,
        command=st.sampled_from([int(t) for t in FrameType if t >= 0x80]),
        command_seq=U32,
        result=st.sampled_from(AckResult),
        message=utf8_text(200),
    )
)
def test_ack_round_trip(ack):
    assert AckPayload.decode(ack.encode()) == ack
    assert over_the_link(FrameType.ACK, ack) == ack


@given(
    st.builds(
        SetAcquisition, rate_hz=U32, n_channels=st.integers(0, 255), bits=st.sampled_from([16, 24])
    )
)
def test_set_acquisition_round_trip(cmd):
    assert SetAcquisition.decode(cmd.encode()) == cmd
    assert over_the_link(FrameType.SET_ACQUISITION, cmd) == cmd


@given(
    st.builds(
        StimulatorSettings,
        current_ma=st.integers(0, 0xFFFF).map(lambda k: k / 100),
        width_ms=st.integers(0, 0xFFFF).map(lambda k: k / 1000),
        rate_hz=st.integers(0, 0xFFFF).map(lambda k: k / 100),
        site=st.sampled_from(SITES),
        on=st.booleans(),
    )
)
def test_stimulator_round_trip(cmd):
    assert StimulatorSettings.decode(cmd.encode()) == cmd
    assert over_the_link(FrameType.STIMULATOR, cmd) == cmd


@pytest.mark.parametrize(
    "ftype", [FrameType.START, FrameType.STOP, FrameType.IMPEDANCE_CHECK, FrameType.GET_INFO]
)
def test_empty_commands_round_trip(ftype):
    frames = FrameParser().feed(encode_frame(ftype, 9))
    assert [key(f) for f in frames] == [(int(ftype), 9, b"")]
    assert frames[0].decoded() is None


@given(ftype=st.sampled_from(FrameType), payload=st.binary(max_size=80))
def test_malformed_payload_raises_only_value_error(ftype, payload):
    with contextlib.suppress(ValueError):
        Frame(ftype, 0, payload).decoded()


def test_payload_size_limit():
    frame = encode_frame(FrameType.DATA, 1, bytes(MAX_PAYLOAD))
    assert len(frame) == MAX_PAYLOAD + OVERHEAD
    assert [f.payload for f in FrameParser().feed(frame)] == [bytes(MAX_PAYLOAD)]
    with pytest.raises(ValueError):
        encode_frame(FrameType.DATA, 1, bytes(MAX_PAYLOAD + 1))


# -- CRC -------------------------------------------------------------------------------------------
def test_bitwise_crc_check_value():
    assert crc32_bitwise(b"123456789") == 0xCBF43926


@given(
    ftype=st.sampled_from(FrameType),
    seq=st.integers(-(2**33), 2**33),
    payload=st.binary(max_size=300),
)
def test_frame_layout_and_crc(ftype, seq, payload):
    frame = encode_frame(ftype, seq, payload)
    assert len(frame) == OVERHEAD + len(payload)
    assert frame[:2] == SYNC
    assert HEADER.unpack_from(frame) == (SYNC, VERSION, int(ftype), seq % 2**32, len(payload))
    assert frame[10:-4] == payload
    (crc,) = struct.unpack("<I", frame[-4:])
    assert crc == crc32_bitwise(frame[2:-4]) == binascii.crc32(frame[2:-4])


# -- parser: fuzz ----------------------------------------------------------------------------------
frame_types = st.sampled_from(FrameType)
plausible_header = st.builds(
    lambda t, seq, length: HEADER.pack(SYNC, VERSION, int(t), seq, length),
    frame_types,
    U32,
    st.integers(0, MAX_PAYLOAD),
)
garbage = st.lists(
    st.one_of(
        st.binary(min_size=1, max_size=48),
        st.sampled_from([SYNC, b"\xa5", SYNC + b"\x01", SYNC + b"\x02", b"\xa5\xa5\x5a"]),
        plausible_header,
    ),
    min_size=1,
    max_size=5,
).map(b"".join)
frame_spec = frame_types.flatmap(
    lambda t: st.tuples(st.just(t), st.binary(max_size=min(300, MAX_LENGTH[t])))
)
item = st.one_of(
    st.tuples(st.just("valid"), frame_spec),
    st.tuples(st.just("garbage"), garbage),
    st.tuples(st.just("truncated"), st.tuples(frame_spec, st.integers(0, 2**31))),
    st.tuples(
        st.just("flipped"),
        st.tuples(frame_spec, st.sets(st.integers(0, 2**31), min_size=1, max_size=3)),
    ),
)


def build_stream(items) -> tuple[bytes, list[tuple[int, int, bytes]], int]:
    """The byte stream, the intact valid frames in order, and their total encoded size."""
    parts: list[bytes] = []
    intact: list[tuple[int, int, bytes]] = []
    intact_bytes = 0
    for seq, (kind, spec) in enumerate(items):
        if kind == "garbage":
            parts.append(spec)
            continue
        if kind == "valid":
            (ftype, payload), extra = spec, None
        else:
            (ftype, payload), extra = spec
        frame = encode_frame(ftype, seq, payload)
        if kind == "valid":
            parts.append(frame)
            intact.append((int(ftype), seq, payload))
            intact_bytes += len(frame)
        elif kind == "truncated":
            # Cut into the header or payload, not only the CRC: a frame missing just its
            # last CRC byte, followed by a frame whose sync byte 0xA5 happens to equal that
            # byte, is a valid frame on the wire (found by this test), not a parser error.
            parts.append(frame[: 1 + extra % (len(frame) - 5)])
        else:
            bits = {b % (8 * len(frame)) for b in extra}
            corrupted = bytearray(frame)
            for b in bits:
                corrupted[b // 8] ^= 1 << (b % 8)
            parts.append(bytes(corrupted))
    for frame in tail_frames(len(items)):
        parts.append(frame)
        intact.append((FrameType.DATA, struct.unpack_from("<I", frame, 4)[0], frame[10:-4]))
        intact_bytes += len(frame)
    return b"".join(parts), intact, intact_bytes


@settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    items=st.lists(item, max_size=25),
    chunks=st.lists(st.integers(1, 3000) | st.integers(1, 12), min_size=1, max_size=12),
)
def test_fuzz_parser_emits_exactly_the_intact_frames_in_order(items, chunks):
    stream, intact, intact_bytes = build_stream(items)
    parser = FrameParser()
    emitted = [key(f) for f in feed_in_chunks(parser, stream, chunks)]  # never raises
    allowed = set(intact)
    assert all(k in allowed for k in emitted), "a corrupted or invented frame was emitted"
    assert emitted == intact  # every intact frame, once, in the order fed
    assert parser.frames == len(intact)
    # every byte is accounted for: inside an emitted frame, or skipped
    assert parser.bytes_skipped + intact_bytes == len(stream)


# -- parser: bit flips, splits, counters -----------------------------------------------------------
SMALL_FRAMES = [
    encode_frame(FrameType.ACK, 41, AckPayload(0x81, 12, AckResult.OK).encode()),
    bytes.fromhex(DOC_EXAMPLE_HEX),
]


@pytest.mark.parametrize("victim", SMALL_FRAMES, ids=["ack", "data"])
def test_every_single_bit_flip_is_rejected_and_the_next_frame_survives(victim):
    follower = encode_frame(FrameType.STATUS, 42, StatusPayload(7, ()).encode())
    tail = tail_frames(100)
    for bit in range(8 * len(victim)):
        corrupted = bytearray(victim)
        corrupted[bit // 8] ^= 1 << (bit % 8)
        parser = FrameParser()
        first = [key(f) for f in parser.feed(bytes(corrupted) + follower)]
        (length,) = struct.unpack_from("<H", corrupted, 8)
        impossible = corrupted[2] != VERSION or length > MAX_LENGTH.get(corrupted[3], -1)
        if impossible or OVERHEAD + length <= len(corrupted) + len(follower):
            # nothing to wait for: the follower comes out at once
            assert first == [(FrameType.STATUS, 42, follower[10:-4])], bit
        else:
            # a flip that raises the length makes the parser wait, at most MAX_PAYLOAD + 14 bytes
            assert first == [], bit
        rest = [key(f) for frame in tail for f in parser.feed(frame)]
        expected = [(FrameType.STATUS, 42, follower[10:-4])] + [
            (FrameType.DATA, 100 + k, bytes(6000)) for k in range(len(tail))
        ]
        assert first + rest == expected, bit


def split_stream() -> bytes:
    return b"".join(
        [
            b"\x00\xa5",  # a lone 0xA5 right before a sync
            encode_frame(FrameType.GET_INFO, 0),
            b"\xa5\x5a\x07\x01",  # a false sync with an impossible version
            SMALL_FRAMES[0],
            b"\xa5",
            bytes.fromhex(DOC_EXAMPLE_HEX),
            encode_frame(
                FrameType.STATUS, 3, StatusPayload(9, (ChannelStatus(5.0, False, False),)).encode()
            ),
            b"\x5a\xa5",
        ]
    )


def test_split_at_every_byte_boundary_parses_as_whole():
    stream = split_stream()
    reference = FrameParser()
    whole = [key(f) for f in reference.feed(stream)]
    assert len(whole) == 4
    for cut in range(len(stream) + 1):
        parser = FrameParser()
        parts = [key(f) for f in parser.feed(stream[:cut]) + parser.feed(stream[cut:])]
        assert parts == whole, cut
        assert (parser.frames, parser.crc_errors) == (reference.frames, reference.crc_errors)
    parser = FrameParser()
    one_by_one = [key(f) for i in range(len(stream)) for f in parser.feed(stream[i : i + 1])]
    assert one_by_one == whole
    assert parser.bytes_skipped == reference.bytes_skipped


def test_counters():
    good = SMALL_FRAMES[0]
    bad = bytearray(good)
    bad[-1] ^= 0x10  # corrupt the CRC itself
    parser = FrameParser()
    assert parser.feed(bytes(bad)) == []
    assert (parser.frames, parser.crc_errors) == (0, 1)
    assert [key(f) for f in parser.feed(good)] == [key(Frame(FrameType.ACK, 41, good[10:-4]))]
    assert (parser.frames, parser.crc_errors, parser.bytes_skipped) == (1, 1, len(bad))
    bad[12] ^= 0x01  # corrupt the payload as well
    parser.feed(b"junk" + bytes(bad))
    assert (parser.frames, parser.crc_errors, parser.bytes_skipped) == (1, 2, 2 * len(bad) + 4)


def test_a_plausible_false_header_does_not_hold_back_an_acknowledgement():
    false_sync = HEADER.pack(SYNC, VERSION, int(FrameType.ACK), 0, 0x4000)  # ACK of 16 KB?
    ack = encode_frame(FrameType.ACK, 1, AckPayload(0x81, 0, AckResult.OK).encode())
    assert [f.type for f in FrameParser().feed(false_sync + ack)] == [FrameType.ACK]


@pytest.mark.parametrize("bits", [16, 24])
def test_out_of_range_counts_saturate_instead_of_wrapping(bits):
    lo, hi = full_scale(bits)
    counts = np.array([[hi + 1, lo - 1, hi * 4]], dtype=np.int64)
    back = decode_samples(encode_samples(counts, bits // 8), 1, 3, bits // 8)
    assert back.tolist() == [[hi, lo, hi]]


@pytest.mark.parametrize("scale", [0.0, -0.02, float("nan"), float("inf"), 5000.0])
def test_an_impossible_scale_is_refused(scale):
    info = DeviceInfo(4, 10_000, 24, 0.02, 1.0, "fw")
    raw = bytearray(info.encode())
    struct.pack_into("<f", raw, 6, scale)  # uv_per_count follows channels, rate and bits
    with pytest.raises(ValueError, match="scale"):
        DeviceInfo.decode(bytes(raw))
