"""Reading a scenario file (TOML, ``docs/scenarios.md``) into a
:class:`~simulation.scenario_model.Scenario`.

Every mistake is refused with one sentence that names the file and the line: TOML
syntax errors with tomllib's line and column, everything else (an unknown key, a value out
of range, a channel or phase that does not exist) with the line of the offending key or
table, found by scanning the text (:class:`TomlLines`). Unknown keys get a "did you mean".
What no scenario holds is refused the same way, never with a traceback: a file over
:data:`MAX_FILE_BYTES` (never read whole), one that is not UTF-8 text, nesting tomllib
cannot follow, numbers too large for a float and control characters in a text.
"""

from __future__ import annotations

import difflib
import math
import re
import stat
import tomllib
from pathlib import Path
from typing import Any, cast, overload

from monitor.montage import MUSCLES, channel_label, default_labels, muscle_of
from simulation.scenario_model import (
    EMG_KINDS,
    EVENT_KINDS,
    RATE_KEYS,
    TRAIN_TIME_LEVELS,
    Expectations,
    LsrSpec,
    Phase,
    Scenario,
    ScriptedEvent,
    Stimulation,
)

MAX_DURATION_S = 4 * 3600.0
#: A scenario is a few kB of text; anything larger is not one, and is never read whole.
MAX_FILE_BYTES = 1_000_000
_SHOWN_CHARS = 40  # a message quotes at most this much of a value
STIM_SITES = ("zygomatic", "temporal", "buccal", "marginal mandibular", "Z-L", "facial nerve")
NEEDLES = ("active", "reference")

#: Which keys each event kind takes besides ``at``, ``kind``, ``count`` and ``every_s``.
EVENT_FIELDS: dict[str, tuple[str, ...]] = {
    "spike": ("channel", "amplitude_uv"),
    "burst": ("channel", "duration_s", "amplitude_uv"),
    "a_train": ("channel", "duration_s", "freq_hz", "amplitude_uv"),
    "b_train": ("channel", "duration_s", "freq_hz", "amplitude_uv"),
    "c_train": ("channel", "duration_s", "amplitude_uv"),
    "cautery": ("duration_s", "amplitude_uv"),
    "lead_off": ("channel", "needle"),
    "lead_on": ("channel",),
    "disconnect": ("duration_s",),
}
_COMMON_EVENT_KEYS = ("at", "kind", "count", "every_s")
_ALL_EVENT_KEYS = _COMMON_EVENT_KEYS + tuple(
    sorted({k for keys in EVENT_FIELDS.values() for k in keys})
)
#: Per kind: (duration range s, frequency range Hz, amplitude range µV).
_EVENT_RANGES: dict[str, tuple[tuple[float, float], tuple[float, float], tuple[float, float]]] = {
    "spike": ((0, 0), (0, 0), (10, 5000)),
    "burst": ((0.01, 2), (0, 0), (10, 5000)),
    "a_train": ((0.05, 60), (60, 210), (10, 2000)),
    "b_train": ((0.2, 60), (1, 50), (10, 2000)),
    "c_train": ((0.2, 60), (0, 0), (10, 2000)),
    "cautery": ((0.1, 30), (0, 0), (100, 20_000)),
    "disconnect": ((0.5, 600), (0, 0), (0, 0)),
}

_TABLES = (
    "case",
    "montage",
    "baseline",
    "stimulation",
    "lsr",
    "phase",
    "event",
    "expect",
    "training",
)
#: [training]: the trainee's set times (seconds) and their allowed range.
_TRAINING_KEYS = {
    "ack_within_s": (1, 300),
    "a_train_call_within_s": (1, 120),
    "lsr_call_within_s": (1, 600),
}
_ARRAYS = ("phase", "event")
_CASE_KEYS = ("title", "teaching", "duration", "seed", "rate", "side")
_BASELINE_KEYS = ("noise_uv", "mains_uv", "mains_hz", "drift_uv", *RATE_KEYS)
_STIM_KEYS = ("rate_hz", "current_ma", "width_ms", "site", "start")
_LSR_KEYS = ("amplitude_uv", "latency_ms", "gone_at", "fade_stims")
_PHASE_KEYS = ("name", "start", *RATE_KEYS)
_EXPECT_KEYS = (
    "a_trains_detected",
    "detect_within_s",
    "train_time_alarm",
    "train_time_channels",
    "train_time_tolerance_pct",
    "lsr_call_within_s",
    "technical_alarm_within_s",
    "cautery_marked",
    "no_false_alarms",
)
_PHASE_NAME = re.compile(r"[a-z][a-z0-9_]*")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # all but tab and line breaks


class ScenarioError(ValueError):
    """A scenario file that cannot be used; ``str()`` is one line naming file and line."""

    def __init__(self, message: str, path: str, line: int | None = None, column: int | None = None):
        self.message, self.path, self.line, self.column = message, path, line, column
        where = path
        if line is not None:
            where += f", line {line}"
            if column is not None:
                where += f", column {column}"
        super().__init__(f"{where}: {message}")


# -- where things are written ---------------------------------------------------------------
# Possessive quantifiers: a long line that is no header fails at once, never by trying
# every way to split its spaces (which took minutes for a line of 10 000).
_HEADER = re.compile(r"\s*+(\[\[?+)\s*+([A-Za-z0-9_\-.\"' ]++)\s*+\]\]?+\s*+(#.*)?$")
_KEY = re.compile(
    r"\s*((?:[A-Za-z0-9_\-]+|\"[^\"]*\"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_\-]+|\"[^\"]*\"|'[^']*'))*)\s*="
)


def _unquote(name: str) -> str:
    return name.strip().strip("\"'")


def _shown(value: Any) -> str:
    """``repr(value)``, cut short: a message never quotes a whole file."""
    text = repr(value)
    return text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 1] + "…"


def _as_float(value: int | float) -> float:
    """``value`` as a float; an integer too large for one is infinity (out of any range)."""
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


class TomlLines:
    """Line numbers of the tables and keys of a TOML text (1-based).

    Tables are addressed as ``("case",)``, arrays of tables as ``("event", 2)`` (the third
    ``[[event]]``). Lines inside multi-line strings are never taken for keys.
    """

    def __init__(self, text: str) -> None:
        self.tables: dict[tuple, int] = {}
        self.keys: dict[tuple, int] = {}
        counts: dict[str, int] = {}
        table: tuple = ()
        in_string: str | None = None  # the delimiter of an open multi-line string
        for number, line in enumerate(text.splitlines(), start=1):
            if in_string is not None:
                end = line.find(in_string)
                if end >= 0:
                    in_string = _open_multiline(line[end + 3 :])
                continue
            header = _HEADER.match(line)
            if header:
                name = ".".join(_unquote(p) for p in header.group(2).split("."))
                if header.group(1) == "[[":
                    k = counts.get(name, 0)
                    counts[name] = k + 1
                    table = (name, k)
                else:
                    table = (name,)
                self.tables.setdefault(table, number)
                continue
            key = _KEY.match(line)
            if key:
                first = _unquote(key.group(1).split(".")[0])
                self.keys.setdefault((table, first), number)
            in_string = _open_multiline(line)

    def line_of(self, table: tuple, key: str | None = None) -> int | None:
        """The line of ``key`` in ``table`` (or of the table's header), if written."""
        if key is not None and (table, key) in self.keys:
            return self.keys[(table, key)]
        if key is not None and table and (f"{table[0]}.{key}",) in self.tables:
            return self.tables[(f"{table[0]}.{key}",)]  # written as a sub-table [case.key]
        for candidate in (table, table[:1], (table[0], 0) if table else ()):
            if candidate in self.tables:
                return self.tables[candidate]
        return None


def _open_multiline(line: str) -> str | None:
    """The delimiter of a multi-line string this line opens and leaves open, if any."""
    i = 0
    while i < len(line):
        c = line[i]
        if c == "#":
            return None
        if line.startswith(('"""', "'''"), i):
            delim = line[i : i + 3]
            end = line.find(delim, i + 3)
            if end < 0:
                return delim
            i = end + 3
            continue
        if c in "\"'":
            j = i + 1
            while j < len(line) and line[j] != c:
                j += 2 if (c == '"' and line[j] == "\\") else 1
            i = j + 1
            continue
        i += 1
    return None


# -- values ---------------------------------------------------------------------------------
_CLOCK = re.compile(r"(?:(\d+):)?(\d+):(\d+(?:\.\d*)?)")
_TIME_CHARS = 40


def parse_time(value: Any) -> float:
    """Seconds from ``90``, ``90.5``, ``"90"``, ``"1:30"``, ``"1:30.5"`` or ``"1:01:30"``;
    ``ValueError`` with a sentence otherwise."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"a time is seconds or mm:ss, not {_shown(value)}")
    if isinstance(value, str):
        text = value.strip().removesuffix("s").strip()
        if len(text) > _TIME_CHARS:  # digits beyond any case's length (and int()'s limit)
            raise ValueError(f"{_shown(value)} is not a time (seconds or mm:ss)")
        m = _CLOCK.fullmatch(text)
        if m:
            h, mm, ss = int(m.group(1) or 0), int(m.group(2)), float(m.group(3))
            if ss >= 60 or (m.group(1) and mm >= 60):
                raise ValueError(f"{_shown(value)} is not a time (minutes and seconds go up to 59)")
            seconds = 3600 * h + 60 * mm + ss
        else:
            try:
                seconds = float(text)
            except ValueError:
                raise ValueError(f"a time is seconds or mm:ss, not {_shown(value)}") from None
    else:
        seconds = _as_float(value)
    if math.isnan(seconds) or seconds < 0:
        raise ValueError(f"a time must be 0 or more seconds, not {_shown(value)}")
    if math.isinf(seconds):
        raise ValueError(f"{_shown(value)} is not a time: too many seconds for any case")
    return seconds


_WHEN = re.compile(r"\s*([a-z][a-z0-9_]*)\s*(?:([+-])\s*(.+))?")


def parse_when(value: Any, phases: dict[str, float]) -> float:
    """A moment of the case: a time, a phase name (its start) or ``"phase+offset"``."""
    if isinstance(value, str):
        m = _WHEN.fullmatch(value)
        if m and not _CLOCK.fullmatch(value.strip()):
            name, sign, offset = m.group(1), m.group(2), m.group(3)
            if name not in phases:
                if not phases:
                    raise ValueError(
                        f"{_shown(value)} is not a time (seconds or mm:ss), and the scenario has "
                        "no [[phase]] to name"
                    )
                hint = _did_you_mean(name, phases)
                raise ValueError(
                    f"there is no phase {_shown(name)}{hint} (the phases: {', '.join(phases)})"
                )
            delta = parse_time(offset) if offset else 0.0
            return phases[name] + (delta if sign != "-" else -delta)
    return parse_time(value)


def _did_you_mean(word: str, choices) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


# -- the reader -----------------------------------------------------------------------------
class _Reader:
    """Validates the decoded TOML table by table, raising :class:`ScenarioError`."""

    def __init__(self, path: str, text: str) -> None:
        self.path = path
        self.lines = TomlLines(text)

    def fail(self, message: str, where: tuple = (), key: str | None = None) -> ScenarioError:
        return ScenarioError(message, self.path, self.lines.line_of(where, key))

    def known_keys(self, table: dict, allowed, where: tuple, what: str) -> None:
        for key in table:
            if key not in allowed:
                hint = _did_you_mean(key, allowed)
                raise self.fail(
                    f"{what} has no setting {_shown(key)}{hint or ' (see docs/scenarios.md)'}",
                    where,
                    key,
                )

    @overload
    def number(
        self,
        table: dict,
        key: str,
        where: tuple,
        lo: float,
        hi: float,
        default: float,
        unit: str = "",
    ) -> float: ...

    @overload
    def number(
        self,
        table: dict,
        key: str,
        where: tuple,
        lo: float,
        hi: float,
        default: float | None = None,
        unit: str = "",
    ) -> float | None: ...

    def number(
        self,
        table: dict,
        key: str,
        where: tuple,
        lo: float,
        hi: float,
        default: float | None = None,
        unit: str = "",
    ) -> float | None:
        if key not in table:
            return default
        v = table[key]
        if isinstance(v, bool) or not isinstance(v, int | float) or math.isnan(_as_float(v)):
            raise self.fail(f"{key} must be a number, not {_shown(v)}", where, key)
        value = _as_float(v)
        if not lo <= value <= hi:
            shown = f"{value:g}{unit}" if math.isfinite(value) else _shown(v)
            raise self.fail(f"{key} must be from {lo:g} to {hi:g}{unit}, not {shown}", where, key)
        return value

    def integer(self, table: dict, key: str, where: tuple, lo: int, hi: int, default: int) -> int:
        if key not in table:
            return default
        v = table[key]
        if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
            raise self.fail(
                f"{key} must be a whole number from {lo} to {hi}, not {_shown(v)}", where, key
            )
        return int(v)

    def text(self, table: dict, key: str, where: tuple, required: bool = False) -> str:
        if key not in table:
            if required:
                raise self.fail(f'[{where[0]}] needs {key} = "..."', where)
            return ""
        v = table[key]
        if not isinstance(v, str) or (required and not v.strip()):
            raise self.fail(
                f"{key} must be a non-empty text in quotes, not {_shown(v)}", where, key
            )
        if _CONTROL.search(v):  # an escape such as \u001b would reach the terminal
            raise self.fail(f"{key} holds a control character; write plain text", where, key)
        return v.strip()

    def choice(self, table: dict, key: str, where: tuple, choices, default: str) -> str:
        if key not in table:
            return default
        v = table[key]
        if not isinstance(v, str) or v not in choices:
            hint = _did_you_mean(str(v), choices)
            raise self.fail(
                f"{key} must be one of {', '.join(map(repr, choices))}, not {_shown(v)}{hint}",
                where,
                key,
            )
        return v

    def flag(self, table: dict, key: str, where: tuple) -> bool | None:
        if key not in table:
            return None
        v = table[key]
        if not isinstance(v, bool):
            raise self.fail(f"{key} must be true or false, not {_shown(v)}", where, key)
        return v

    def time(self, table: dict, key: str, where: tuple, phases=None) -> float:
        try:
            return parse_when(table[key], phases) if phases is not None else parse_time(table[key])
        except ValueError as exc:
            raise self.fail(f"{key}: {exc}", where, key) from None

    def channel(self, value: Any, labels: tuple[str, ...], where: tuple, key: str) -> int:
        """A channel given as its number (from 1), its label or its muscle."""
        listing = ", ".join(f"{i + 1} {label}" for i, label in enumerate(labels))
        if isinstance(value, int) and not isinstance(value, bool):
            if 1 <= value <= len(labels):
                return value - 1
            raise self.fail(
                f"there is no channel {_shown(value)}; the channels are {listing}", where, key
            )
        if isinstance(value, str):
            low = value.strip().casefold()
            for i, label in enumerate(labels):
                if label.casefold() == low:
                    return i
            for i, label in enumerate(labels):
                m = muscle_of(label)
                if m is not None and low in (m.key, m.short.casefold(), m.name.casefold()):
                    return i
            hint = _did_you_mean(value, [*labels, *MUSCLES])
            raise self.fail(
                f"there is no channel {_shown(value)}{hint} (the channels are {listing})",
                where,
                key,
            )
        raise self.fail(
            f"a channel is its number, label or muscle, not {_shown(value)}; "
            f"the channels are {listing}",
            where,
            key,
        )

    def rates(self, table: dict, where: tuple) -> dict[str, float]:
        out = {}
        for key in RATE_KEYS:
            v = self.number(table, key, where, 0, 600, unit=" per minute")
            if v is not None:
                out[key] = v
        return out


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file; :class:`ScenarioError` (one line) if it is bad."""
    name = str(path)
    try:
        raw = _read_capped(Path(path), name)
    except FileNotFoundError:
        raise ScenarioError("no such scenario file", name) from None
    except OSError as exc:
        raise ScenarioError(f"cannot be read ({exc.strerror or exc})", name) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ScenarioError("not a text file (a scenario is TOML text, UTF-8)", name) from None
    return parse_scenario(text, name)


def _read_capped(path: Path, name: str) -> bytes:
    """The file's bytes, never more than :data:`MAX_FILE_BYTES`; :class:`ScenarioError`
    for a folder, a device or a file too large, ``OSError`` when it cannot be read."""
    info = path.stat()  # before opening: opening a pipe would wait for a writer
    if stat.S_ISDIR(info.st_mode):
        raise ScenarioError("is a folder, not a scenario file", name)
    if not stat.S_ISREG(info.st_mode):
        raise ScenarioError("is not a file (a scenario is a TOML text file)", name)
    too_large = ScenarioError(
        f"is too large for a scenario (over {MAX_FILE_BYTES:,} bytes; a scenario is a few kB "
        "of text)",
        name,
    )
    if info.st_size > MAX_FILE_BYTES:
        raise too_large
    with open(path, "rb") as f:
        raw = f.read(MAX_FILE_BYTES + 1)
    if len(raw) > MAX_FILE_BYTES:
        raise too_large
    return raw


_TOML_WHERE = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")
_LONG = re.compile(r"\d{1000}")


def parse_scenario(text: str, path: str = "<scenario>") -> Scenario:
    """Validate a scenario's TOML text; :class:`ScenarioError` (one line) if it is bad."""
    try:
        raw = tomllib.loads(text)
    except RecursionError:  # [[[[...]]]] or {a={a={...}}}: tomllib recurses per level
        raise ScenarioError(
            "the scenario file is nested too deeply (lists or tables inside one another, "
            "hundreds of levels); a scenario needs two or three",
            path,
        ) from None
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        m = _TOML_WHERE.search(message)
        line = column = None
        if m:
            line, column = int(m.group(1)), int(m.group(2))
            message = message[: m.start()]
        elif "end of document" in message:
            line = len(text.splitlines()) or 1
            message = re.sub(r"\s*\(at end of document\)", "", message)
        message = message[:1].lower() + message[1:]
        raise ScenarioError(f"not valid TOML: {message}", path, line, column) from None
    except ValueError:  # an integer of thousands of digits: Python's limit, not TOML's
        line = next((n for n, ln in enumerate(text.splitlines(), 1) if _LONG.search(ln)), None)
        raise ScenarioError("a number has far too many digits", path, line) from None
    return _build(raw, _Reader(path, text))


def _build(raw: dict, r: _Reader) -> Scenario:
    for key, value in raw.items():
        if key not in _TABLES:
            if not isinstance(value, dict | list):
                raise r.fail(f"{key} = ... must be inside a table such as [case]", (), key)
            raise r.fail(f"unknown table [{key}]{_did_you_mean(key, _TABLES)}", (key,))
    for key in _TABLES:
        if key not in raw:
            continue
        if key in _ARRAYS and not isinstance(raw[key], list):
            raise r.fail(f"write [[{key}]] (one table per {key}), not [{key}]", (key,))
        if key not in _ARRAYS and not isinstance(raw[key], dict):
            raise r.fail(f"write [{key}] (a single table), not [[{key}]]", (key, 0))

    if "case" not in raw:
        raise ScenarioError("a scenario needs a [case] table (title, teaching, duration)", r.path)
    case = raw["case"]
    w = ("case",)
    r.known_keys(case, _CASE_KEYS, w, "[case]")
    title = r.text(case, "title", w, required=True)
    teaching = r.text(case, "teaching", w, required=True)
    if "duration" not in case:
        raise r.fail('[case] needs duration = "mm:ss" (how long the case runs)', w)
    duration = r.time(case, "duration", w)
    if not 10 <= duration <= MAX_DURATION_S:
        raise r.fail("duration must be from 10 s to 4 hours", w, "duration")
    seed = r.integer(case, "seed", w, 0, 2**63 - 1, 1)
    rate = r.number(case, "rate", w, 500, 20_000, 10_000.0, " Hz")
    side = r.choice(case, "side", w, ("left", "right"), "left")

    labels = _montage(raw.get("montage", {}), side, r)

    base = raw.get("baseline", {})
    w = ("baseline",)
    r.known_keys(base, _BASELINE_KEYS, w, "[baseline]")
    noise = r.number(base, "noise_uv", w, 0.5, 50, 3.0, " µV")
    mains = r.number(base, "mains_uv", w, 0, 500, 1.5, " µV")
    drift = r.number(base, "drift_uv", w, 0, 500, 40.0, " µV")
    mains_hz = base.get("mains_hz", 50)
    if mains_hz not in (50, 60) or isinstance(mains_hz, bool):
        raise r.fail(f"mains_hz must be 50 or 60, not {_shown(mains_hz)}", w, "mains_hz")
    rates = r.rates(base, w)  # here, while w names [baseline] for the line numbers

    phases = _phases(raw.get("phase", []), duration, r)
    starts = {p.name: p.start_s for p in phases}
    stim = _stimulation(raw.get("stimulation", {}), duration, r)
    lsr = _lsr(raw.get("lsr", {}), starts, duration, r)
    events = _events(raw.get("event", []), labels, starts, duration, r)
    expect = _expect(raw.get("expect", {}), labels, stim, r)
    training = raw.get("training", {})
    w = ("training",)
    r.known_keys(training, tuple(_TRAINING_KEYS), w, "[training]")
    limits = {
        # the key is present, so the value is a number, never the None default
        key: cast(float, r.number(training, key, w, lo, hi, None, " s"))
        for key, (lo, hi) in _TRAINING_KEYS.items()
        if key in training
    }
    return Scenario(
        path=r.path,
        title=title,
        teaching=teaching,
        duration_s=duration,
        labels=labels,
        seed=seed,
        rate=rate,
        side=side,
        noise_uv=noise,
        mains_uv=mains,
        mains_hz=float(mains_hz),
        drift_uv=drift,
        rates=rates,
        stimulation=stim,
        lsr=lsr,
        phases=phases,
        events=events,
        expect=expect,
        training_limits=limits,
    )


def _montage(table: dict, side: str, r: _Reader) -> tuple[str, ...]:
    w = ("montage",)
    r.known_keys(table, ("channels",), w, "[montage]")
    if "channels" not in table:
        return default_labels(4, side)
    chans = table["channels"]
    if not isinstance(chans, list) or not 1 <= len(chans) <= 16:
        raise r.fail("channels must be a list of 1 to 16 muscles or labels", w, "channels")
    labels: list[str] = []
    for item in chans:
        if not isinstance(item, str) or not item.strip():
            raise r.fail(
                f"a channel is a muscle or a label in quotes, not {_shown(item)}", w, "channels"
            )
        key = item.strip().casefold()
        if key in MUSCLES:
            label = channel_label(key, side)
        elif muscle_of(item) is not None:
            label = item.strip()
        else:
            hint = _did_you_mean(key, MUSCLES)
            raise r.fail(
                f"unknown muscle {_shown(item)}{hint} (the muscles: {', '.join(MUSCLES)})",
                w,
                "channels",
            )
        if label in labels:
            raise r.fail(f"channel {_shown(label)} is listed twice", w, "channels")
        labels.append(label)
    return tuple(labels)


def _phases(items: list, duration: float, r: _Reader) -> tuple[Phase, ...]:
    phases: list[Phase] = []
    for k, table in enumerate(items):
        w = ("phase", k)
        if not isinstance(table, dict):
            raise r.fail("each phase is a [[phase]] table", ("phase", 0))
        r.known_keys(table, _PHASE_KEYS, w, f"phase {k + 1}")
        name = r.text(table, "name", w, required=True)
        if not _PHASE_NAME.fullmatch(name):
            raise r.fail(
                f"a phase name is one lower-case word (letters, digits, _), not {_shown(name)}",
                w,
                "name",
            )
        if any(p.name == name for p in phases):
            raise r.fail(f"there are two phases named {_shown(name)}", w, "name")
        if "start" not in table:
            raise r.fail(f'phase {_shown(name)} needs start = "mm:ss"', w)
        start = r.time(table, "start", w)
        if phases and start <= phases[-1].start_s:
            raise r.fail(
                f"phase {_shown(name)} must start after {_shown(phases[-1].name)} "
                "(phases go in order)",
                w,
                "start",
            )
        if start >= duration:
            raise r.fail(f"phase {_shown(name)} starts after the end of the case", w, "start")
        phases.append(Phase(name, start, r.rates(table, w)))
    return tuple(phases)


def _stimulation(table: dict, duration: float, r: _Reader) -> Stimulation:
    w = ("stimulation",)
    r.known_keys(table, _STIM_KEYS, w, "[stimulation]")
    start = r.time(table, "start", w) if "start" in table else 2.0
    if start >= duration:
        raise r.fail("stimulation starts after the end of the case", w, "start")
    return Stimulation(
        rate_hz=r.number(table, "rate_hz", w, 0, 20, 1.0, " Hz"),
        current_ma=r.number(table, "current_ma", w, 0, 100, 15.0, " mA"),
        width_ms=r.number(table, "width_ms", w, 0.05, 1.0, 0.2, " ms"),
        site=r.choice(table, "site", w, STIM_SITES, "zygomatic"),
        start_s=start,
    )


def _lsr(table: dict, phases: dict[str, float], duration: float, r: _Reader) -> LsrSpec:
    w = ("lsr",)
    r.known_keys(table, _LSR_KEYS, w, "[lsr]")
    gone = None
    if table.get("gone_at", "persists") != "persists":
        gone = r.time(table, "gone_at", w, phases)
        if gone >= duration:
            raise r.fail(
                'gone_at is after the end of the case (write gone_at = "persists" if the '
                "LSR stays)",
                w,
                "gone_at",
            )
    return LsrSpec(
        amplitude_uv=r.number(table, "amplitude_uv", w, 0, 2000, 150.0, " µV"),
        latency_ms=r.number(table, "latency_ms", w, 5, 20, 10.0, " ms"),
        gone_at_s=gone,
        fade_stims=r.integer(table, "fade_stims", w, 0, 30, 0),
    )


def _events(
    items: list, labels: tuple[str, ...], phases: dict[str, float], duration: float, r: _Reader
) -> tuple[ScriptedEvent, ...]:
    events = []
    for k, table in enumerate(items):
        try:
            events.append(_event(k, table, labels, phases, duration, r))
        except ScenarioError as exc:
            if exc.message.startswith("event "):
                raise
            what = f"event {k + 1}"
            if isinstance(table, dict) and table.get("kind") in EVENT_KINDS:
                what += f" ({table['kind']})"
            raise ScenarioError(f"{what}: {exc.message}", exc.path, exc.line) from None
    return tuple(sorted(events, key=lambda e: e.at_s))


def _event(
    k: int,
    table: dict,
    labels: tuple[str, ...],
    phases: dict[str, float],
    duration: float,
    r: _Reader,
) -> ScriptedEvent:
    w = ("event", k)
    if not isinstance(table, dict):
        raise r.fail("each event is an [[event]] table", ("event", 0))
    r.known_keys(table, _ALL_EVENT_KEYS, w, f"event {k + 1}")
    what = f"event {k + 1}"
    if "kind" not in table:
        raise r.fail(f"{what} needs kind = one of {', '.join(EVENT_KINDS)}", w)
    kind = table["kind"]
    if kind not in EVENT_KINDS:
        hint = _did_you_mean(str(kind), EVENT_KINDS)
        raise r.fail(
            f"{what}: unknown kind {_shown(kind)}{hint} (the kinds: {', '.join(EVENT_KINDS)})",
            w,
            "kind",
        )
    what = f"{what} ({kind})"
    for key in table:
        if key not in _COMMON_EVENT_KEYS and key not in EVENT_FIELDS[kind]:
            takes = ", ".join(EVENT_FIELDS[kind]) or "nothing more"
            raise r.fail(f"{what}: {key} does not apply to a {kind} (it takes {takes})", w, key)
    if "at" not in table:
        raise r.fail(f'{what} needs at = "mm:ss" or "phase+mm:ss"', w)
    at = r.time(table, "at", w, phases)
    channel = None
    if "channel" in EVENT_FIELDS[kind]:
        if "channel" not in table:
            raise r.fail(f"{what} needs channel = its number, label or muscle", w)
        channel = r.channel(table["channel"], labels, w, "channel")
    dur_r, freq_r, amp_r = _EVENT_RANGES.get(kind, ((0, 0), (0, 0), (0, 0)))
    dur = r.number(table, "duration_s", w, *dur_r, unit=" s")
    if kind == "disconnect" and dur is None:
        raise r.fail(f"{what} needs duration_s = how long the link is down", w)
    count = r.integer(table, "count", w, 1, 1000, 1)
    every = r.number(table, "every_s", w, 0.1, 3600, 0.0, " s")
    if count > 1 and not every:
        raise r.fail(f"{what}: count = {count} needs every_s = seconds between them", w, "count")
    if count > 1 and dur is not None and every <= dur:
        raise r.fail(f"{what}: every_s must be longer than duration_s", w, "every_s")
    ev = ScriptedEvent(
        at_s=at,
        kind=kind,
        channel=channel,
        duration_s=dur,
        freq_hz=r.number(table, "freq_hz", w, *freq_r, unit=" Hz"),
        amplitude_uv=r.number(table, "amplitude_uv", w, *amp_r, unit=" µV"),
        needle=r.choice(table, "needle", w, NEEDLES, "reference"),
        count=count,
        every_s=every,
        line=r.lines.line_of(w) or 0,
    )
    last = ev.times()[-1] + (dur or 0.0)
    if ev.times()[-1] >= duration or (kind in EMG_KINDS and last > duration):
        raise r.fail(f"{what} runs past the end of the case", w, "at")
    return ev


def _expect(table: dict, labels: tuple[str, ...], stim: Stimulation, r: _Reader) -> Expectations:
    w = ("expect",)
    r.known_keys(table, _EXPECT_KEYS, w, "[expect]")
    chans = table.get("train_time_channels", [])
    if not isinstance(chans, list):
        chans = [chans]
    level = None
    if "train_time_alarm" in table:
        level = r.choice(table, "train_time_alarm", w, TRAIN_TIME_LEVELS, "none")
    lsr_within = r.number(table, "lsr_call_within_s", w, 1, 600, None, " s")
    if lsr_within is not None and stim.rate_hz <= 0:
        raise r.fail(
            "lsr_call_within_s needs stimulation ([stimulation] rate_hz above 0)",
            w,
            "lsr_call_within_s",
        )
    return Expectations(
        a_trains_detected=r.flag(table, "a_trains_detected", w),
        detect_within_s=r.number(table, "detect_within_s", w, 0.05, 30, 1.0, " s"),
        train_time_alarm=level,
        train_time_channels=tuple(r.channel(c, labels, w, "train_time_channels") for c in chans),
        train_time_tolerance_pct=r.number(table, "train_time_tolerance_pct", w, 0, 100, None, " %"),
        lsr_call_within_s=lsr_within,
        technical_alarm_within_s=r.number(
            table, "technical_alarm_within_s", w, 0.1, 60, None, " s"
        ),
        cautery_marked=r.flag(table, "cautery_marked", w),
        no_false_alarms=r.flag(table, "no_false_alarms", w),
        lines={key: r.lines.line_of(w, key) or 0 for key in table},
    )
