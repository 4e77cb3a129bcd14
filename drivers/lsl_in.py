"""LSL in: EMG from any Lab Streaming Layer stream (``main.py --lsl NAME``).

The stream is found by its name (``--lsl "OR 3 EMG"``) or by a property query
(``--lsl type=EMG``: any text with "=" is ``property=value``); when several streams match,
the first is read and :attr:`LslSource.messages` names the others. See ``docs/lsl-in.md``.

- Samples: float32, double64, int16 or int32, scaled to µV by each channel's
  ``desc/channels/channel/unit`` (V, volts, mV, millivolts, µV, uV, microvolts; none or
  another unit: taken as µV, and said once). Labels from ``desc/channels/channel/label``,
  "Ch 1".. where missing. Kept at full resolution: a recording is BDF+ (24 bits).
- Sample index: the samples delivered, counted. Samples lost in transit are found from the
  LSL timestamps (clock-synchronised to this machine, ``proc_clocksync``): each sample is
  expected at ``offset + index / rate``; a sample later than that by more than the tolerance
  (1.5 sample periods plus twice the jitter seen so far) starts a gap of the samples that
  fit in the difference: the index advances by them and the block carries a
  :class:`~monitor.block.GapMarker`. ``offset`` follows the stream: at once when samples
  come early, slowly when they come late (arrival jitter, a slow clock). liblsl's own
  dejitter is not used: it smooths a jump in the timestamps away, i.e. hides the gap.
- Markers: from ``--lsl-markers NAME``, or else the stream of type "Markers" named like the
  EMG stream with " markers" in place of a trailing " EMG" (what our monitors publish,
  :mod:`drivers.lslmarkers`), on the machine that sends the EMG: a derived name on
  another machine is another room's and is ignored (said once); a name given on the
  command line is taken from another machine only when none is on the EMG's. A marker
  becomes a :class:`~monitor.block.StimMarker` when it is our JSON of kind "stim" or a
  text starting with "stim" ("stim 15 mA 0.2 ms zygomatic"); our JSON "note" and any
  other text become a :class:`~monitor.block.NoteMarker`; our other JSON kinds (event,
  alarm, lsr, status: the publishing monitor's own analysis) are ignored, this monitor
  analyses for itself. Its index is that of the EMG sample with the same timestamp.
- No data for ``silence_s`` (1 s), or liblsl reporting the outlet gone: ``SignalLost``
  ("No signal from the LSL stream NAME"). ``reconnect`` resolves again (at most 0.2 s per
  try) and resumes; the time lost becomes a gap (from the timestamps, or the wall clock
  when those of the new outlet do not follow on).

liblsl is configured to stay on this machine (:func:`drivers.lslconfig.restrict_to_hosts`)
before its first use, unless the process already pointed ``LSLAPICFG`` at a configuration.

Thread safety: ``open``/``read``/``reconnect``/``close`` from the acquisition thread;
``request_stop`` from any thread (``read`` waits at most 0.1 s).
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import re
import threading
import time
from collections.abc import Iterable
from typing import Any

import numpy as np

from drivers import lslmarkers
from drivers.lslconfig import restrict_to_hosts
from monitor.block import Block, GapMarker, NoteMarker, StimMarker
from monitor.source import Capabilities, SignalLost, Source, SourceError, SourceInfo

log = logging.getLogger(__name__)

#: Factors from a channel's unit to µV (keys lower case).
UNIT_TO_UV = {
    "v": 1e6,
    "volt": 1e6,
    "volts": 1e6,
    "mv": 1e3,
    "millivolt": 1e3,
    "millivolts": 1e3,
    "µv": 1.0,  # micro sign
    "μv": 1.0,  # Greek mu
    "uv": 1.0,
    "microvolt": 1.0,
    "microvolts": 1.0,
}
OPEN_RESOLVE_S = 2.0  # the stream must be there within this at open
MATCHES_S = 1.0  # other matching streams are waited for this long (from the start)
RECONNECT_RESOLVE_S = 0.2
MARKER_RESOLVE_S = 0.3  # at open; a marker stream that comes later is opened then
START_JITTER_S = 0.002  # jitter assumed before any is seen
FORGET_S = 2.0  # a stream that stopped answering leaves the resolvers' lists
MAX_CHUNK = 4096
MAX_PENDING = 1000
_STIM_TEXT = re.compile(r"^\s*stim(?:ulus)?\b(?P<rest>.*)$", re.IGNORECASE | re.DOTALL)
_CURRENT = re.compile(r"(?P<v>[-+]?\d+(?:\.\d+)?)\s*mA\b", re.IGNORECASE)
_WIDTH = re.compile(r"(?P<v>[-+]?\d+(?:\.\d+)?)\s*(?:ms|msec)\b", re.IGNORECASE)


def _pylsl() -> Any:
    """pylsl, imported after liblsl was told to stay on this machine (unless the process
    already chose its configuration)."""
    if not os.environ.get("LSLAPICFG"):
        restrict_to_hosts()
    try:
        import pylsl
    except ImportError:  # pragma: no cover - depends on the installation
        raise SourceError(
            "Reading Lab Streaming Layer needs pylsl: pip install 'facial-nerve-monitor[lsl]'."
        ) from None
    return pylsl


def parse_query(text: str) -> tuple[str, str]:
    """``(property, value)`` of ``--lsl``: ``"type=EMG"`` → ``("type", "EMG")``, a plain
    name → ``("name", text)``."""
    if "=" in text:
        prop, value = text.split("=", 1)
        prop, value = prop.strip(), value.strip()
        if not prop or not value:
            raise ValueError(f"--lsl {text!r}: write a stream name or property=value.")
        return prop, value
    if not text.strip():
        raise ValueError("--lsl needs the name of a stream (or property=value).")
    return "name", text.strip()


def unit_factor(unit: str) -> float | None:
    """µV per unit of ``unit``; ``None`` when it is not a known voltage unit."""
    return UNIT_TO_UV.get(unit.strip().lower().replace(" ", ""))


def pick_marker_stream(
    found: Iterable[Any], emg_host: str, explicit: bool, last_uid: str, string_format: int
) -> tuple[Any | None, list[Any]]:
    """The marker stream to read among the streams ``found`` by its name, and the ones
    passed over because they are on another machine.

    Names are set per room, but two rooms can be given the same one: a marker stream on
    another machine than the EMG's would put another room's stimuli into this case. So
    one on the EMG's machine is taken first; a name derived from the EMG stream's
    (``explicit`` False) is never taken from another machine; a name given on the command
    line may be (a separate stimulator computer), when none is on the EMG's machine. Only
    string streams, and unless named on the command line only of type "Markers". Among
    equals, an outlet other than ``last_uid`` (the one read before it vanished) first.
    """
    usable = [
        s
        for s in found
        if s.channel_format() == string_format and (explicit or s.type() == lslmarkers.MARKER_TYPE)
    ]
    here = [s for s in usable if s.hostname() == emg_host]
    elsewhere = [s for s in usable if s.hostname() != emg_host]
    take_elsewhere = explicit and not here
    pool = elsewhere if take_elsewhere else here
    pool.sort(key=lambda s: s.uid() == last_uid)  # a new outlet first (stable otherwise)
    passed_over = [] if take_elsewhere else elsewhere
    return (pool[0] if pool else None), passed_over


def marker_from_text(text: str, index: int) -> StimMarker | NoteMarker | None:
    """What one marker sample means at ``index`` (see the module's docstring)."""
    decoded = lslmarkers.decode(text)
    if decoded is not None:
        kind = decoded.get("kind")
        if kind == "stim":
            return StimMarker(
                index,
                _number(decoded.get("current_ma")),
                _number(decoded.get("width_ms")),
                str(decoded.get("site") or ""),
            )
        if kind == "note":
            note = str(decoded.get("text") or "").strip()
            return NoteMarker(index, note) if note else None
        return None  # the publishing monitor's own analysis: this one analyses for itself
    text = text.strip()
    if not text:
        return None
    stim = _STIM_TEXT.match(text)
    if stim is None:
        return NoteMarker(index, text)
    rest = stim.group("rest")
    current = _CURRENT.search(rest)
    width = _WIDTH.search(rest)
    site = _WIDTH.sub("", _CURRENT.sub("", rest)).strip(" ,;:")
    return StimMarker(
        index,
        float(current.group("v")) if current else math.nan,
        float(width.group("v")) if width else math.nan,
        " ".join(site.split()),
    )


def _number(value: object) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan


class GapFinder:
    """Samples lost in transit, from the timestamps of the samples that did arrive.

    Each sample is expected at ``offset + index / rate``. A sample later than expected by
    more than :meth:`tolerance` (``1.5 / rate + 2 * jitter``) is the first after a gap of
    ``round(lateness * rate)`` samples. ``offset`` moves down at once to samples that come
    early and up slowly (a tenth of the mean lateness per chunk) to samples that come late
    without a gap (arrival jitter, a clock slower than nominal); ``jitter`` is the largest
    such lateness, forgotten with a 10 s half-life, and 2 ms at first (a stream stamped
    on arrival must not begin with false gaps).
    """

    def __init__(self, rate: float, jitter: float = START_JITTER_S) -> None:
        self.rate = rate
        self.offset: float | None = None  # timestamp of sample index 0
        self.jitter = jitter

    def tolerance(self) -> float:
        return 1.5 / self.rate + 2.0 * self.jitter

    def index_of(self, timestamp: float) -> int | None:
        """The sample index of a timestamp (a marker's); None before any sample."""
        if self.offset is None:
            return None
        return round((timestamp - self.offset) * self.rate)

    def expected(self, index: int) -> float:
        """When sample ``index`` is due."""
        assert self.offset is not None
        return self.offset + index / self.rate

    def restart(self, start: int, timestamp: float) -> None:
        """Sample ``start`` was taken at ``timestamp`` (the first sample, or the first
        after a reconnection)."""
        self.offset = timestamp - start / self.rate

    def check(self, start: int, stamps: np.ndarray) -> tuple[int, int]:
        """``(missing, cut)`` for a chunk whose first sample would be ``start``: the
        samples lost before its first sample, and how many of its samples follow on
        without a further gap (the rest are checked again as the next chunk)."""
        if self.offset is None:
            self.restart(start, float(stamps[0]))
        assert self.offset is not None
        index = start + np.arange(len(stamps), dtype=np.float64)
        late = stamps - (self.offset + index / self.rate)
        tol = self.tolerance()
        missing = 0
        if late[0] > tol:
            missing = round(float(late[0]) * self.rate)
            late -= missing / self.rate
        over = np.flatnonzero(late[1:] > tol)
        cut = int(over[0]) + 1 if over.size else len(stamps)
        late = late[:cut]
        low = float(late.min())
        if low < 0:  # early: the stream's clock is ahead of the line; follow at once
            self.offset += low
            late = late - low
        self.jitter = max(self.jitter * 0.5 ** (cut / self.rate / 10.0), float(late.max()))
        self.offset += 0.1 * float(late.mean())
        return missing, cut


class LslSource(Source):
    """EMG from a Lab Streaming Layer stream.

    Parameters
    ----------
    query : str
        The stream's name, or ``property=value`` (``type=EMG``).
    markers : str, optional
        The name of the marker stream; by default the one named after the EMG stream.
    silence_s : float
        No sample for this long means the signal is lost.
    """

    def __init__(self, query: str, markers: str | None = None, silence_s: float = 1.0) -> None:
        self.query = query
        self.prop, self.value = parse_query(query)
        self.marker_name = markers
        self.silence_s = silence_s
        self.messages: list[str] = []
        self._stop = threading.Event()
        self._info: SourceInfo | None = None
        self._inlet: Any = None
        self._marker_inlet: Any = None
        self._stream_name = self.value if self.prop == "name" else query
        self._channels = 0
        self._scale: np.ndarray | None = None
        self._next = 0  # index of the next sample
        self._gaps: GapFinder | None = None
        self._last_data = 0.0  # monotonic time of the last sample
        self._lost_at: float | None = None  # monotonic time the signal was lost
        self._resumed = False  # the next chunk is the first after a reconnection
        self._pending: list[tuple[float, str]] = []  # markers not yet placed
        self._format = 0
        self._carry: tuple[np.ndarray, np.ndarray] | None = None  # samples after a gap
        self._resolver: Any = None
        self._uid = ""
        self._marker_resolver: Any = None
        self._marker_query = ""
        self._marker_uid = ""
        self._marker_tried = 0.0
        self._marker_ignored: set[str] = set()  # other machines' marker streams, said once
        self._marker_elsewhere = False  # the one read is on another machine than the EMG
        self._emg_host = ""

    # -- Source ------------------------------------------------------------------------------
    @property
    def info(self) -> SourceInfo:
        if self._info is None:
            return SourceInfo(f"LSL stream {self._stream_name}", 0.0, (), "lsl")
        return self._info

    def open(self) -> None:
        try:
            self._open()
        except BaseException:
            self.close()
            raise

    def _open(self) -> None:
        self._stop.clear()
        self.messages = []
        pylsl = _pylsl()
        started = time.monotonic()
        self._resolver = pylsl.ContinuousResolver(
            prop=self.prop, value=self.value, forget_after=FORGET_S
        )
        found = self._wait_for(self._resolver, OPEN_RESOLVE_S)
        if not found:
            where = "named " + self.value if self.prop == "name" else f"with {self.query}"
            raise SourceError(
                f"No Lab Streaming Layer stream {where} was found on this machine: start the "
                "program that sends it, and check its name (LSL is kept to this machine)."
            )
        # Others that match answer within a fraction of a second: wait for them, to say.
        self._wait_for(self._resolver, MATCHES_S - (time.monotonic() - started), want=2)
        found = self._resolver.results() or found
        stream = found[0]
        if len(found) > 1:
            others = ", ".join(f"{s.name()} ({s.hostname()})" for s in found[1:])
            self.messages.append(
                f"Several LSL streams match {self.query}: reading {stream.name()} "
                f"({stream.hostname()}), not {others}."
            )
        self._stream_name = stream.name()
        rate = float(stream.nominal_srate())
        if rate <= 0:
            raise SourceError(
                f"The LSL stream {self._stream_name} has no regular sampling rate; the "
                "monitor reads EMG sampled at a fixed rate."
            )
        formats = {
            pylsl.cf_float32: "float32",
            pylsl.cf_double64: "double64",
            pylsl.cf_int16: "int16",
            pylsl.cf_int32: "int32",
        }
        self._format = int(stream.channel_format())
        if self._format not in formats:
            raise SourceError(
                f"The LSL stream {self._stream_name} carries samples the monitor cannot read "
                "as EMG; it reads float32, double64, int16 and int32 samples."
            )
        self._channels = int(stream.channel_count())
        if self._channels < 1:
            raise SourceError(f"The LSL stream {self._stream_name} has no channels.")
        inlet = self._make_inlet(pylsl, stream, timeout=OPEN_RESOLVE_S)
        labels, scale = self._channel_metadata(inlet)
        self._scale = scale
        self._inlet = inlet
        self._gaps = GapFinder(rate)
        self._next = 0
        self._last_data = time.monotonic()
        self._uid = stream.uid()
        self._emg_host = stream.hostname()
        self._start_markers(pylsl, stream)
        self._info = SourceInfo(
            f"LSL stream {self._stream_name}",
            rate,
            labels,
            "lsl",
            description=f"{formats[self._format]} from {stream.hostname()}",
            capabilities=Capabilities(bits=24, montage=False),
        )

    def read(self) -> Block | None:
        if self._stop.is_set() or self._inlet is None:
            return None
        if self._carry is not None:
            data, stamps = self._carry
            self._carry = None
            return self._block(data, stamps, time.monotonic())
        pylsl = _pylsl()
        try:
            data, stamps = self._inlet.pull_chunk(
                timeout=0.1, max_samples=MAX_CHUNK, min_samples=1, as_numpy=True
            )
        except pylsl.util.LostError:
            self._lose()
            raise SignalLost(f"No signal from the LSL stream {self._stream_name}.") from None
        now = time.monotonic()
        if len(stamps) == 0:
            if now - self._last_data > self.silence_s:
                self._lose()
                raise SignalLost(f"No signal from the LSL stream {self._stream_name}.")
            self._pull_markers()
            return None
        block = self._block(np.asarray(data), np.asarray(stamps, dtype=np.float64), now)
        self._last_data = now
        return block

    def reconnect(self) -> None:
        pylsl = _pylsl()
        self._close_inlets()
        if self._stop.is_set() or self._resolver is None:
            raise SignalLost(f"No signal from the LSL stream {self._stream_name}.")
        found = [s for s in self._resolver.results() if s.name() == self._stream_name]
        # A new outlet first: the lost one may still be listed for a moment.
        found.sort(key=lambda s: s.uid() == self._uid)
        if not found:
            raise SignalLost(f"No signal from the LSL stream {self._stream_name}.")
        stream = found[0]
        rate = self.info.rate
        if int(stream.channel_count()) != self._channels or float(stream.nominal_srate()) != rate:
            raise SourceError(
                f"The LSL stream {stream.name()} came back with {stream.channel_count()} "
                f"channels at {stream.nominal_srate():g} Hz instead of {self._channels} at "
                f"{rate:g} Hz; open it again."
            )
        try:
            self._inlet = self._make_inlet(pylsl, stream, timeout=RECONNECT_RESOLVE_S)
        except SourceError:
            raise SignalLost(f"No signal from the LSL stream {self._stream_name}.") from None
        self._uid = stream.uid()
        self._emg_host = stream.hostname()  # the markers to read are on its machine
        self._format = int(stream.channel_format())
        self._resumed = True
        self._last_data = time.monotonic()

    def request_stop(self) -> None:
        self._stop.set()

    def close(self) -> None:
        self._close_inlets()
        self._resolver = None  # pylsl stops a resolver when it is deleted
        self._marker_resolver = None

    # -- inside ------------------------------------------------------------------------------
    def _make_inlet(self, pylsl: Any, stream: Any, timeout: float) -> Any:
        inlet = pylsl.StreamInlet(
            stream,
            max_buflen=30,
            recover=False,  # this source reconnects itself, marking the gap
            processing_flags=pylsl.proc_clocksync,
        )
        try:
            inlet.open_stream(timeout=timeout)
        except (pylsl.util.TimeoutError, pylsl.util.LostError):
            with contextlib.suppress(Exception):
                inlet.close_stream()
            raise SourceError(
                f"The LSL stream {stream.name()} was found but does not answer."
            ) from None
        return inlet

    def _channel_metadata(self, inlet: Any) -> tuple[tuple[str, ...], np.ndarray]:
        """Labels and µV factors from the full description (the inlet's ``info``)."""
        try:
            full = inlet.info(timeout=OPEN_RESOLVE_S)
        except Exception:  # no description: numbered channels in µV
            full = None
        labels: list[str] = []
        units: list[str] = []
        if full is not None:
            channel = full.desc().child("channels").child("channel")
            while not channel.empty() and len(labels) < self._channels:
                labels.append(channel.child_value("label").strip())
                units.append(channel.child_value("unit").strip())
                channel = channel.next_sibling("channel")
        labels += [""] * (self._channels - len(labels))
        units += [""] * (self._channels - len(units))
        labels = [label or f"Ch {i + 1}" for i, label in enumerate(labels)]
        if len(set(labels)) != len(labels):  # the screen and the recording need unique ones
            labels = [f"{label} ({i + 1})" for i, label in enumerate(labels)]
        scale = np.ones(self._channels, dtype=np.float64)
        unknown: list[str] = []
        missing = False
        for i, unit in enumerate(units):
            if not unit:
                missing = True
                continue
            factor = unit_factor(unit)
            if factor is None:
                unknown.append(f"{labels[i]} ({unit})")
            else:
                scale[i] = factor
        if missing:
            self.messages.append(
                "The stream does not say the unit of some channels; they are taken as µV."
            )
        if unknown:
            self.messages.append(f"Units not understood, taken as µV: {', '.join(unknown)}.")
        return tuple(labels), scale

    def _wait_for(self, resolver: Any, seconds: float, want: int = 1) -> list[Any]:
        """The resolver's results once it has ``want`` of them, or after ``seconds`` (or a
        stop request)."""
        until = time.monotonic() + seconds
        while True:
            found = list(resolver.results())
            if len(found) >= want or time.monotonic() >= until or self._stop.is_set():
                return found
            time.sleep(0.05)

    def _start_markers(self, pylsl: Any, stream: Any) -> None:
        """Look for the marker stream: the one named, or the one named after the EMG
        stream; it is opened as soon as it is found (:meth:`_pull_markers`)."""
        name = self.marker_name
        explicit = name is not None
        if name is None:
            base = stream.name()
            base = base[: -len(" EMG")] if base.endswith(" EMG") else base
            name = lslmarkers.marker_stream_name(base)
        self._marker_query = name
        self._marker_resolver = pylsl.ContinuousResolver(
            prop="name", value=name, forget_after=FORGET_S
        )
        # A name given on the command line may answer from two machines: wait for a
        # second so that the first to answer is not taken for want of the other.
        self._wait_for(self._marker_resolver, MARKER_RESOLVE_S, want=2 if explicit else 1)
        self._open_markers()
        if self._marker_inlet is None:
            self.messages.append(
                f"No marker stream named {name} was found (yet): stimuli are marked once it "
                "appears."
            )

    def _open_markers(self) -> None:
        """Open the marker inlet if the marker stream is there (at most every second);
        while it is read from another machine (a name given on the command line), move to
        one on the EMG's machine as soon as one appears."""
        now = time.monotonic()
        if self._marker_resolver is None:
            return
        if self._marker_inlet is not None and not self._marker_elsewhere:
            return
        if now - self._marker_tried < 1.0 and self._marker_tried:
            return
        self._marker_tried = now
        pylsl = _pylsl()
        stream, passed_over = pick_marker_stream(
            self._marker_resolver.results(),
            self._emg_host,
            explicit=self.marker_name is not None,
            last_uid=self._marker_uid,
            string_format=pylsl.cf_string,
        )
        for other in passed_over:
            if other.uid() not in self._marker_ignored:
                self._marker_ignored.add(other.uid())
                text = (
                    f"Marker stream {other.name()} on {other.hostname()} ignored: it is not on "
                    f"the machine sending the EMG ({self._emg_host}); its stimuli would be "
                    "another room's."
                )
                self.messages.append(text)
                log.warning(text)
        if stream is None:
            return
        elsewhere = stream.hostname() != self._emg_host
        old = self._marker_inlet
        if old is not None and elsewhere:
            return  # still none on the EMG's machine: go on with the one read
        try:
            inlet = pylsl.StreamInlet(
                stream, max_buflen=30, recover=False, processing_flags=pylsl.proc_clocksync
            )
            inlet.open_stream(timeout=0.1)
        except (pylsl.util.TimeoutError, pylsl.util.LostError):
            return  # (the one read, if any, is kept: tried again in a second)
        if old is not None:  # moving to the EMG's machine: what the old one holds first
            with contextlib.suppress(Exception):
                self._take_markers(old)
            with contextlib.suppress(Exception):
                old.close_stream()
        self._marker_uid = stream.uid()
        self._marker_inlet = inlet
        self._marker_elsewhere = elsewhere

    def _pull_markers(self) -> None:
        if self._marker_inlet is None or self._marker_elsewhere:
            self._open_markers()
        if self._marker_inlet is None:
            return
        pylsl = _pylsl()
        try:
            self._take_markers(self._marker_inlet)
        except pylsl.util.LostError:
            with contextlib.suppress(Exception):
                self._marker_inlet.close_stream()
            self._marker_inlet = None  # looked for again, once a second
            self._marker_elsewhere = False

    def _take_markers(self, inlet: Any) -> None:
        """Pull what ``inlet`` holds into the markers waiting for their samples."""
        texts, stamps = inlet.pull_chunk(timeout=0.0, max_samples=256)
        for sample, stamp in zip(texts, stamps, strict=False):
            text = sample[0] if isinstance(sample, list | tuple) and sample else sample
            self._pending.append((float(stamp), str(text)))
        del self._pending[:-MAX_PENDING]  # markers far ahead of the signal: the newest kept

    def _block(self, data: np.ndarray, stamps: np.ndarray, now: float) -> Block:
        """The next block from a pulled chunk; samples after a gap inside the chunk are
        kept for the next ``read`` (a block is contiguous)."""
        assert self._gaps is not None and self._scale is not None
        info = self.info
        gaps: list[GapMarker] = []
        if self._resumed:
            self._resumed = False
            missing = self._missing_after_loss(float(stamps[0]), now)
            if missing > 0:
                gaps.append(GapMarker(self._next, missing))
            self._next += missing
            self._gaps.restart(self._next, float(stamps[0]))
        missing, cut = self._gaps.check(self._next, stamps)
        if missing:
            gaps.append(GapMarker(self._next, missing))
            self._next += missing
        if cut < len(stamps):
            self._carry = (data[cut:], stamps[cut:])
        start = self._next
        out = (data[:cut].astype(np.float64) * self._scale).astype(np.float32)
        self._next = start + cut
        self._pull_markers()
        stims, notes = self._place_markers(self._next)
        return Block(
            start,
            out,
            info.rate,
            info.labels,
            stims=tuple(stims),
            gaps=tuple(gaps),
            notes=tuple(notes),
        )

    def _missing_after_loss(self, first_stamp: float, now: float) -> int:
        """Samples lost while the stream was away: from the timestamps when they follow on,
        else from the wall clock."""
        assert self._gaps is not None
        rate = self.info.rate
        lost_at = self._lost_at if self._lost_at is not None else now
        by_clock = max(0, round((now - lost_at) * rate))
        if self._gaps.offset is None:
            return by_clock
        by_stamps = round((first_stamp - self._gaps.expected(self._next)) * rate)
        # The new outlet's timestamps may start elsewhere (a restarted device's own clock):
        # believed only when they agree with the wall clock to a second or half the loss.
        if by_stamps >= 0 and abs(by_stamps - by_clock) <= rate * max(1.0, 0.5 * (now - lost_at)):
            return by_stamps
        return by_clock

    def _place_markers(self, stop: int) -> tuple[list[StimMarker], list[NoteMarker]]:
        """The pending markers up to this block's end; later ones wait for their block."""
        assert self._gaps is not None
        stims: list[StimMarker] = []
        notes: list[NoteMarker] = []
        keep: list[tuple[float, str]] = []
        for stamp, text in self._pending:
            index = self._gaps.index_of(stamp)
            if index is None or index >= stop:
                keep.append((stamp, text))
                continue
            marker = marker_from_text(text, max(0, index))
            if isinstance(marker, StimMarker):
                stims.append(marker)
            elif isinstance(marker, NoteMarker):
                notes.append(marker)
        self._pending = keep
        return stims, notes

    def _lose(self) -> None:
        self._lost_at = self._last_data
        self._close_inlets()

    def _close_inlets(self) -> None:
        for inlet in (self._inlet, self._marker_inlet):
            if inlet is not None:
                with contextlib.suppress(Exception):
                    inlet.close_stream()
        self._inlet = None
        self._marker_inlet = None
        self._marker_elsewhere = False
