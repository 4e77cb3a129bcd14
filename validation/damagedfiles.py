"""Damaged EDF/BDF files, made from small valid ones: the reliability tests and
``bench/faults.py`` run every command over them.

:func:`corpus` writes a few hundred small files (deterministic: the same bytes on every
run) derived from three valid recordings written by :class:`monitor.edfwriter.EdfWriter`
(an EDF+C and a BDF+C with stimulus annotations) or stripped from one (a plain EDF):

- truncations at many byte positions (inside the header, the signal headers, records);
- every main header field and every column of a data signal's header set to empty, zero,
  negative, huge, text, ``nan`` and ``inf`` (and the annotation signal's label and
  samples per record);
- annotation signals with random bytes, missing NULs, bad TAL onsets (``+inf``, ``+nan``,
  ``+1e300``) and durations;
- files with bytes added or missing, EDF+D files whose record times jump by 10^6 s or
  cannot be read, and odd but valid files (30 Hz, 200 kHz, 1 channel, 200 channels,
  a single record, a signal without samples).

:func:`field_mutations` is a hypothesis strategy over header fields and values, applied
with :func:`mutate` (hypothesis is a test dependency: imported there only).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from monitor.edfwriter import EdfWriter

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy

#: Main header fields: (offset, width).
MAIN_FIELDS: dict[str, tuple[int, int]] = {
    "version": (0, 8),
    "patient": (8, 80),
    "recording": (88, 80),
    "start date": (168, 8),
    "start time": (176, 8),
    "header bytes": (184, 8),
    "reserved": (192, 44),
    "number of records": (236, 8),
    "record duration": (244, 8),
    "number of signals": (252, 4),
}
#: Columns of the signal headers, in file order: (name, width).
SIGNAL_COLUMNS: tuple[tuple[str, int], ...] = (
    ("label", 16),
    ("transducer", 80),
    ("unit", 8),
    ("physical minimum", 8),
    ("physical maximum", 8),
    ("digital minimum", 8),
    ("digital maximum", 8),
    ("prefilter", 80),
    ("samples per record", 8),
    ("signal reserved", 32),
)
#: The values every field is set to (cut to the field's width).
BAD_VALUES: dict[str, str] = {
    "empty": "",
    "zero": "0",
    "negative": "-1",
    "huge": "99999999",
    "text": "abc",
    "nan": "nan",
    "inf": "inf",
}
NUMERIC_MAIN = ("header bytes", "number of records", "record duration", "number of signals")
NUMERIC_COLUMNS = (
    "physical minimum",
    "physical maximum",
    "digital minimum",
    "digital maximum",
    "samples per record",
)
STIM = "stim 10 mA 0.2 ms"
START = dt.datetime(2026, 1, 1, 9, 0, 0)


@dataclass(frozen=True)
class Layout:
    """Where things are in a valid file (parsed here, independently of the reader)."""

    ns: int
    spr: tuple[int, ...]
    labels: tuple[str, ...]
    sample_bytes: int

    @property
    def header_bytes(self) -> int:
        return 256 * (self.ns + 1)

    @property
    def record_bytes(self) -> int:
        return sum(self.spr) * self.sample_bytes

    def offset(self, signal: int) -> int:
        """Byte offset of ``signal`` inside a record."""
        return sum(self.spr[:signal]) * self.sample_bytes

    @property
    def annotation(self) -> int | None:
        """Index of the first annotation signal."""
        for i, label in enumerate(self.labels):
            if label.lower() in ("edf annotations", "bdf annotations"):
                return i
        return None


def layout(raw: bytes) -> Layout:
    """The layout of a valid EDF/BDF file's bytes."""
    ns = int(raw[252:256])
    start, spr_at = 256, 256 + ns * sum(w for _, w in SIGNAL_COLUMNS[:8])
    labels = tuple(raw[start + 16 * i : start + 16 * (i + 1)].decode().strip() for i in range(ns))
    spr = tuple(int(raw[spr_at + 8 * i : spr_at + 8 * (i + 1)]) for i in range(ns))
    return Layout(ns, spr, labels, 3 if raw[:1] == b"\xff" else 2)


def field_span(raw: bytes, field: str, signal: int | None = None) -> tuple[int, int]:
    """(offset, width) of a main header field, or of a column of ``signal``'s header."""
    if signal is None:
        return MAIN_FIELDS[field]
    ns = int(raw[252:256])
    at = 256
    for name, width in SIGNAL_COLUMNS:
        if name == field:
            return at + width * signal, width
        at += width * ns
    raise KeyError(field)


def mutate(raw: bytes, field: str, value: str, signal: int | None = None) -> bytes:
    """``raw`` with one header field set to ``value`` (cut to the width, space-padded)."""
    at, width = field_span(raw, field, signal)
    text = value.encode("latin-1", "replace")[:width].ljust(width)
    return raw[:at] + text + raw[at + width :]


def field_mutations(n_signals: int) -> SearchStrategy[tuple[str, int | None, str]]:
    """Hypothesis strategy: ``(field, signal or None, value)`` for :func:`mutate`."""
    from hypothesis import strategies as st

    values = st.one_of(
        st.sampled_from(sorted(BAD_VALUES.values())),
        st.integers(-(10**9), 10**9).map(str),
        st.floats(allow_nan=True, allow_infinity=True).map(repr),
        st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=8),
    )
    main = st.tuples(st.sampled_from(sorted(MAIN_FIELDS)), st.none(), values)
    column = st.tuples(
        st.sampled_from([name for name, _ in SIGNAL_COLUMNS]),
        st.integers(0, n_signals - 1),
        values,
    )
    return st.one_of(main, column)


# -- valid files --------------------------------------------------------------------------


def _emg(n: int, channels: int, rate: float, seed: int) -> np.ndarray:
    """A few hundred µV of deterministic EMG-like signal with a spike per second."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / rate
    x = 20 * rng.standard_normal((n, channels)) + 30 * np.sin(2 * np.pi * 7 * t)[:, None]
    x[:: int(rate)] += 400
    return x


def write_recording(
    path: Path,
    rate: float,
    channels: int,
    seconds: float,
    bits: int = 16,
    notes: tuple[tuple[float, str], ...] = (),
    record_seconds: float | None = None,
) -> Path:
    """A valid EDF+C (16 bits) or BDF+C (24 bits) file written by EdfWriter."""
    labels = [f"L Ch{i + 1}" for i in range(channels)]
    w = EdfWriter(
        path,
        rate,
        labels,
        bits=bits,
        record_seconds=record_seconds,
        start=START,
        fsync_interval_s=3600,
    )
    with w:
        for onset, text in notes:
            w.annotate(onset, text, 0.5 if text == "Dura opened" else 0.0)
        w.write(_emg(round(seconds * rate), channels, rate, seed=channels))
    return path


def strip_annotations(raw: bytes) -> bytes:
    """A plain EDF (no annotation signal, reserved field blank) from an EDF+ file's bytes."""
    lay = layout(raw)
    a = lay.annotation
    assert a is not None
    ns = lay.ns
    head = bytearray(raw[:256])
    head[184:192] = str(256 * ns).ljust(8).encode()
    head[192:236] = b" " * 44
    head[252:256] = str(ns - 1).ljust(4).encode()
    columns = b""
    at = 256
    for _, width in SIGNAL_COLUMNS:
        cells = [raw[at + width * i : at + width * (i + 1)] for i in range(ns)]
        columns += b"".join(c for i, c in enumerate(cells) if i != a)
        at += width * ns
    records = []
    lo, hi = lay.offset(a), lay.offset(a) + lay.spr[a] * lay.sample_bytes
    data = raw[lay.header_bytes :]
    for r in range(len(data) // lay.record_bytes):
        rec = data[r * lay.record_bytes : (r + 1) * lay.record_bytes]
        records.append(rec[:lo] + rec[hi:])
    return bytes(head) + columns + b"".join(records)


def raw_edf(signals: list[tuple[str, int]], n_records: int, duration: float = 0.1) -> bytes:
    """A plain EDF with ``(label, samples per record)`` signals, samples a slow ramp."""
    ns = len(signals)
    head = (
        b"0".ljust(8)
        + b"X X X X".ljust(80)
        + b"Startdate 01-JAN-2026 X X X".ljust(80)
        + b"01.01.26"
        + b"09.00.00"
        + str(256 * (ns + 1)).ljust(8).encode()
        + b" " * 44
        + str(n_records).ljust(8).encode()
        + f"{duration:g}".ljust(8).encode()
        + str(ns).ljust(4).encode()
    )
    cells = {
        "label": [label for label, _ in signals],
        "unit": ["uV"] * ns,
        "physical minimum": ["-3276.8"] * ns,
        "physical maximum": ["3276.7"] * ns,
        "digital minimum": ["-32768"] * ns,
        "digital maximum": ["32767"] * ns,
        "samples per record": [str(n) for _, n in signals],
    }
    for name, width in SIGNAL_COLUMNS:
        head += b"".join(v.ljust(width).encode() for v in cells.get(name, [""] * ns))
    per_record = sum(n for _, n in signals)
    samples = (np.arange(per_record * n_records) % 2000 - 1000).astype("<i2")
    return head + samples.tobytes()


# -- damage --------------------------------------------------------------------------------


def edit_annotations(raw: bytes, record: int, edit: Callable[[bytes], bytes]) -> bytes:
    """``raw`` with one record's annotation signal replaced by ``edit`` of it (same size)."""
    lay = layout(raw)
    a = lay.annotation
    assert a is not None
    at = lay.header_bytes + record * lay.record_bytes + lay.offset(a)
    width = lay.spr[a] * lay.sample_bytes
    new = edit(raw[at : at + width])[:width].ljust(width, b"\x00")
    return raw[:at] + new + raw[at + width :]


def record_with(raw: bytes, text: bytes) -> int:
    """The first record whose annotation signal holds ``text``."""
    lay = layout(raw)
    a = lay.annotation
    assert a is not None
    lo, width = lay.offset(a), lay.spr[a] * lay.sample_bytes
    for r in range((len(raw) - lay.header_bytes) // lay.record_bytes):
        at = lay.header_bytes + r * lay.record_bytes + lo
        if text in raw[at : at + width]:
            return r
    raise ValueError(f"no annotation holds {text!r}")


def _retime(raw: bytes, first: int, shift: Callable[[float], str]) -> bytes:
    """An EDF+D copy whose time-keeping TALs from record ``first`` on read ``shift(onset)``."""
    out = raw[:192] + b"EDF+D".ljust(44) + raw[236:]
    if raw[:1] == b"\xff":
        out = raw[:192] + b"BDF+D".ljust(44) + raw[236:]
    lay = layout(raw)
    for r in range(first, (len(raw) - lay.header_bytes) // lay.record_bytes):

        def edit(b: bytes) -> bytes:
            onset, rest = b.split(b"\x14\x14\x00", 1)
            return shift(float(onset)).encode() + b"\x14\x14\x00" + rest

        out = edit_annotations(out, r, edit)
    return out


def truncations(raw: bytes) -> dict[str, bytes]:
    """The file cut at many byte positions."""
    lay = layout(raw)
    hb, rb, size = lay.header_bytes, lay.record_bytes, len(raw)
    cuts = [0, 8, 100, 255, 256, 257, 300, hb - 1, hb, hb + 1, hb + rb // 2, hb + rb]
    cuts += [hb + rb + 1, hb + 5 * rb + 7, size - rb - 1, size - rb, size - 1]
    return {f"cut{c}": raw[:c] for c in sorted(set(cuts)) if 0 <= c < size}


def size_mismatches(raw: bytes) -> dict[str, bytes]:
    """Bytes added at the end, or missing from it."""
    rb = layout(raw).record_bytes
    out = {f"extra{n}": raw + bytes(range(256)) * (n // 256) + bytes(n % 256) for n in (1, 3)}
    out |= {f"extra{n}": raw + b"\x00" * n for n in (rb - 1, rb, rb + 1, 10 * rb + 3)}
    out |= {f"missing{n}": raw[:-n] for n in (1, rb - 1, rb, rb + 1, 2 * rb, 2 * rb + 1)}
    return out


def header_damage(
    raw: bytes, main: tuple[str, ...], columns: tuple[str, ...], signals: tuple[int, ...]
) -> dict[str, bytes]:
    """Each of ``main`` fields, and ``columns`` of each of ``signals``, set to each bad value."""
    out = {}
    for value_name, value in BAD_VALUES.items():
        for field in main:
            out[f"{field.replace(' ', '_')}-{value_name}"] = mutate(raw, field, value)
        for s in signals:
            for field in columns:
                key = f"sig{s + 1}_{field.replace(' ', '_')}-{value_name}"
                out[key] = mutate(raw, field, value, s)
    return out


def annotation_damage(raw: bytes) -> dict[str, bytes]:
    """Garbage in the annotation signal and TALs with unreadable times."""
    rng = np.random.default_rng(7)
    lay = layout(raw)
    n_records = (len(raw) - lay.header_bytes) // lay.record_bytes
    r = record_with(raw, b"stim")
    out = {}
    noise = edit_annotations(raw, r, lambda b: rng.bytes(len(b)))
    out["ann_random_one_record"] = noise
    every = raw
    for k in range(n_records):
        every = edit_annotations(every, k, lambda b: rng.bytes(len(b)))
    out["ann_random_every_record"] = every
    no_nul = raw
    for k in range(n_records):
        no_nul = edit_annotations(no_nul, k, lambda b: b.replace(b"\x00", b" "))
    out["ann_no_nul"] = no_nul
    stim_onset = re.compile(rb"\+[0-9.]+(\x14stim)")
    for name, onset in {
        "inf": b"+inf",
        "nan": b"+nan",
        "minus_inf": b"-inf",
        "1e300": b"+1e300",
        "1e308": b"+1e308",
        "garbage": b"+1.2.3",
    }.items():
        out[f"tal_onset_{name}"] = edit_annotations(
            raw, r, lambda b, o=onset: stim_onset.sub(lambda m: o + m[1], b, count=1)
        )
    stim_tal = re.compile(rb"(\+[0-9.]+)(\x14stim)")
    for name, duration in {
        "huge": b"1e300",
        "nan": b"nan",
        "inf": b"inf",
        "negative": b"-5",
        "text": b"abc",
    }.items():
        out[f"tal_duration_{name}"] = edit_annotations(
            raw,
            r,
            lambda b, d=duration: stim_tal.sub(lambda m: m[1] + b"\x15" + d + m[2], b, count=1),
        )
    return out


def discontinuous(raw: bytes) -> dict[str, bytes]:
    """EDF+D variants: a 10^6 s jump (a gap, valid) and record times that cannot be."""
    mid = (len(raw) - layout(raw).header_bytes) // layout(raw).record_bytes // 2
    return {
        "d_jump_1e6": _retime(raw, mid, lambda t: f"+{t + 1e6:.4f}"),
        "d_jump_back": _retime(raw, mid, lambda t: f"+{max(t - 1.0, 0):g}"),
        "d_onset_nan": _retime(raw, mid, lambda t: "+nan"),
        "d_onset_inf": _retime(raw, mid, lambda t: "+inf"),
        "d_onset_1e300": _retime(raw, mid, lambda t: "+1e300"),
        "d_onset_minus_1e300": _retime(raw, mid, lambda t: "-1e300"),
    }


# -- the corpus -----------------------------------------------------------------------------


def base_recordings(folder: Path) -> dict[str, Path]:
    """The valid files the corpus is made from: EDF+C, BDF+C and a plain EDF."""
    notes = ((0.5, STIM), (1.0, "Dura opened"), (1.5, f"{STIM} zygomatic"), (2.5, STIM))
    edf = write_recording(folder / "base.edf", 2000, 3, 3.0, 16, notes)
    bdf = write_recording(folder / "base.bdf", 1000, 2, 2.0, 24, notes[:3])
    plain = folder / "base_plain.edf"
    plain.write_bytes(strip_annotations(edf.read_bytes()))
    return {"edf": edf, "bdf": bdf, "plain": plain}


def odd_recordings(folder: Path) -> dict[str, bytes]:
    """Valid files at the edges: rates, channel counts, one record, empty signals."""
    notes = ((0.05, STIM),)
    made = {
        "rate30": write_recording(folder / "o30.edf", 30, 2, 4.0, notes=notes),
        "rate200k": write_recording(folder / "o200k.edf", 200_000, 1, 0.2),
        "rate100k": write_recording(folder / "o100k.bdf", 100_000, 1, 0.2, 24, notes),
        "one_channel": write_recording(folder / "o1.edf", 1000, 1, 1.0, notes=notes),
        "channels200": write_recording(folder / "o200.edf", 1000, 200, 0.3, notes=notes),
        "one_record": write_recording(folder / "orec.edf", 1000, 2, 0.1, notes=notes),
    }
    out = {name: path.read_bytes() for name, path in made.items()}
    for path in made.values():
        path.unlink()
    out["zero_sample_signal"] = raw_edf([("EMG", 100), ("Empty", 0)], 5)
    out["all_signals_empty"] = raw_edf([("A", 0), ("B", 0)], 5)
    out["plain_one_record"] = raw_edf([("EMG", 100)], 1)
    return out


def damaged(bases: dict[str, Path]) -> dict[str, bytes]:
    """Every damaged variant of the base files, by name."""
    edf, bdf, plain = (bases[k].read_bytes() for k in ("edf", "bdf", "plain"))
    columns = tuple(name for name, _ in SIGNAL_COLUMNS)
    annotation = layout(edf).annotation
    assert annotation is not None
    parts = {
        "edf": truncations(edf)
        | size_mismatches(edf)
        | header_damage(edf, tuple(MAIN_FIELDS), columns, (1,))
        | header_damage(edf, (), ("label", "samples per record"), (annotation,))
        | annotation_damage(edf)
        | discontinuous(edf),
        "bdf": truncations(bdf)
        | header_damage(bdf, ("number of records", "record duration"), NUMERIC_COLUMNS, (0,))
        | annotation_damage(bdf)
        | discontinuous(bdf),
        "plain": truncations(plain)
        | size_mismatches(plain)
        | header_damage(plain, ("number of records",), ("samples per record",), (1,)),
    }
    return {
        f"{base}-{name}": data
        for base, variants in parts.items()
        for name, data in variants.items()
    }


def corpus(folder: Path) -> list[Path]:
    """Write the damaged and odd files into ``folder``; their paths, sorted by name.

    The same bytes on every run. The base files themselves are not in the list.
    """
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "bases").mkdir(exist_ok=True)
    bases = base_recordings(folder / "bases")
    files = damaged(bases) | {f"odd-{k}": v for k, v in odd_recordings(folder).items()}
    paths = []
    for name, data in sorted(files.items()):
        ext = ".bdf" if name.startswith("bdf-") or data[:1] == b"\xff" else ".edf"
        path = folder / f"{name}{ext}"
        path.write_bytes(data)
        paths.append(path)
    return paths
