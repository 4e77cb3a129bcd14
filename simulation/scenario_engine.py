"""Running a training scenario: its timeline turned into the simulator's signal, live
control for an instructor, and the ground truth a scorer reads.

The engine owns a :class:`ScenarioSynth` (an :class:`~simulation.emgsynth.EmgSynth` that
asks the engine before every stretch it renders). Scripted EMG events are handed to the
synth as :class:`~simulation.emgsynth.ScheduledEvent` (placed exactly, with their own random
draws); everything else on the timeline (a phase and its activity rates, a needle off and
back, a disconnection, the LSR's disappearance, the end) is a *cue* applied exactly at its
sample, the render being split there. So a scenario gives the same samples whatever the
block sizes, in the in-process simulator and through the simulated serial amplifier alike
(:mod:`drivers.scenario_sources`).

Two clocks: the *stream* index the monitor sees (it never goes back) and the *case* time
of the scenario. They advance together until an instructor pauses (the case stops, the
patient's quiet baseline and the stimulator go on, as an amplifier never stops), resumes,
or jumps to a phase (the case time moves, the stream does not). Live commands take effect
at the start of the next block rendered.

The start gate: an engine made with ``wait_for_start=True`` holds the case at its very
beginning from the first sample (nothing scripted or random happens, no phase begins)
until :meth:`ScenarioEngine.start`; the stream index where it started is
:attr:`ScenarioEngine.started_at`, from which the training clock counts.
"""

from __future__ import annotations

import bisect
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from monitor.montage import muscle_of
from simulation.emgsynth import ALL_CHANNELS, EmgSynth, ScheduledEvent, SimConfig, StimTruth
from simulation.scenario_model import EMG_KINDS, EVENT_KINDS, RATE_KEYS, Scenario, clock

SOURCE_SCENARIO = "scenario"  # written in the scenario file
SOURCE_RANDOM = "random"  # the baseline's or a phase's spontaneous activity
SOURCE_INSTRUCTOR = "instructor"  # injected live
_INJECT_KEYS = 1 << 40  # random-draw keys of injected events, apart from the scenario's


@dataclass(frozen=True, slots=True)
class TruthItem:
    """One thing that happened, where it is in the stream.

    Attributes
    ----------
    kind : str
        ``spike``, ``burst``, ``a_train``, ``b_train``, ``c_train``, ``cautery``,
        ``lead_off`` (a needle off until ``offset``), ``disconnect`` (the link down until
        ``offset``), ``lsr_gone`` or ``lsr_back`` (instants).
    onset, offset : int
        Stream sample indices, offset exclusive; ``offset`` None while it goes on
        (a needle still off) and for instants.
    channel : int or None
        From 0; None for every channel (cautery, disconnect, the LSR).
    source : str
        ``"scenario"``, ``"random"`` or ``"instructor"``.
    case_s : float
        Case time of the onset.
    """

    kind: str
    onset: int
    offset: int | None
    channel: int | None
    source: str
    case_s: float
    peak_uv: float | None = None
    freq_hz: float | None = None


@dataclass(frozen=True, slots=True)
class ScenarioNotice:
    """A moment of the timeline, for the instructor's console and the debrief: ``kind``
    is ``phase``, ``started``, ``paused``, ``resumed``, ``jumped``, ``injected``, ``lead_off``,
    ``lead_on``, ``disconnect``, ``reconnected``, ``lsr_gone``, ``lsr_back`` or ``end``."""

    kind: str
    sample_index: int
    case_s: float
    phase: str  # the phase under way after it ("" before the first)
    text: str


@dataclass(frozen=True, slots=True)
class ScenarioTruth:
    """A snapshot of the ground truth so far (only what has been rendered).

    ``items`` are sorted by onset; ``phases`` are the phase notices (including jumps);
    ``notices`` every notice; ``stims`` every stimulus with its true responses.
    """

    rate: float
    labels: tuple[str, ...]
    items: tuple[TruthItem, ...]
    phases: tuple[ScenarioNotice, ...]
    notices: tuple[ScenarioNotice, ...]
    stims: tuple[StimTruth, ...]
    end_index: int | None  # where the case ends in the stream (None while paused)
    rendered_until: int
    #: The clocks' history: (stream index, case index, running) from each change on.
    clock_history: tuple[tuple[int, int, bool], ...] = ((0, 0, True),)
    #: Stream index where the case was started (None: still waiting for its start).
    started_at: int | None = 0

    def since_start_s(self, index: int) -> float:
        """Seconds from the start of the case to a stream index (0 before it, and while
        the case waits for its start): the training clock, which pauses do not stop."""
        if self.started_at is None:
            return 0.0
        return max(0, index - self.started_at) / self.rate

    def case_s(self, index: int) -> float:
        """Case time (s) of a stream index: what a debrief shows beside each moment."""
        i = bisect.bisect_right(self.clock_history, index, key=lambda h: h[0]) - 1
        s0, c0, running = self.clock_history[max(i, 0)]
        return (c0 + (index - s0 if running else 0)) / self.rate

    def of_kind(self, *kinds: str) -> list[TruthItem]:
        return [t for t in self.items if t.kind in kinds]

    def link_down(self) -> list[tuple[int, int]]:
        """Stream intervals in which the monitor could see nothing (disconnections)."""
        return [
            (t.onset, self.rendered_until if t.offset is None else t.offset)
            for t in self.items
            if t.kind == "disconnect"
        ]

    def lsr_gone_index(self) -> int | None:
        """Where the LSR last disappeared for good (None if it is present at the end)."""
        state: int | None = None
        for t in self.items:
            if t.kind == "lsr_gone":
                state = t.onset
            elif t.kind == "lsr_back":
                state = None
        return state


class ScenarioLink(Protocol):
    """What the engine acts on besides the signal: the recording set-up of one path (the
    in-process source, or the simulated serial amplifier). Called on the rendering thread."""

    def set_lead_off(self, channel: int, off: bool, which: str) -> None: ...

    def mains_gain(self) -> np.ndarray: ...

    def disconnect(self, index: int, seconds: float) -> None: ...


@dataclass(order=True)
class _Cue:
    case: int  # case sample index
    order: int  # at the same moment: phases first, the end last
    kind: str = field(compare=False)
    data: dict = field(compare=False, default_factory=dict)


@dataclass(frozen=True, slots=True)
class _EmgCue:
    case: int
    spec: ScheduledEvent  # onset unset (0): placed by the engine


class ScenarioSynth(EmgSynth):
    """An :class:`EmgSynth` whose rendering the engine steers (see the module docstring).

    Thread safety: as :class:`EmgSynth`; one thread renders.
    """

    def __init__(self, config: SimConfig, engine: ScenarioEngine) -> None:
        super().__init__(config)
        self._engine = engine

    def render(self, start: int, n: int):
        return self._engine._render(self, start, n)

    def _render_plain(self, start: int, n: int):
        return EmgSynth.render(self, start, n)


class ScenarioEngine:
    """Runs one scenario once.

    Parameters
    ----------
    scenario : Scenario
    stop_at_s : float, optional
        End the case earlier than its duration (case seconds).
    wait_for_start : bool
        Hold the case from its first sample until :meth:`start` (an instructor's Start):
        the stream may run meanwhile (the quiet baseline), the case does not.

    Thread safety: ``start``, ``pause``, ``resume``, ``jump_to_phase``, ``inject``, ``truth``,
    ``notices_since``, ``add_listener`` and the read-only properties are safe from any
    thread. Rendering (through the synth from :meth:`make_synth`), ``prepare`` and
    ``next_stop`` run on the one thread that renders: the acquisition thread in-process,
    the device's thread on the serial path. Listeners are called on that thread, after
    the engine's lock is released; they must return quickly.
    """

    def __init__(
        self, scenario: Scenario, stop_at_s: float | None = None, wait_for_start: bool = False
    ) -> None:
        self.scenario = scenario
        self.rate = float(scenario.rate)
        end_s = scenario.duration_s if stop_at_s is None else min(stop_at_s, scenario.duration_s)
        self._end_case = max(1, round(end_s * self.rate))
        self._lock = threading.RLock()
        self._commands: list[tuple] = []
        self._synth: ScenarioSynth | None = None
        self._link: ScenarioLink | None = None
        # The two clocks: since stream index _seg_stream, case index _seg_case (+ elapsed
        # samples while running). History kept to give every stream index its case time.
        self._seg_stream = 0
        self._seg_case = 0
        self._running = not wait_for_start
        self._history: list[tuple[int, int, bool]] = [(0, 0, self._running)]
        # The start gate: asked (any thread, at once) and done (at a stream index).
        self._start_asked = not wait_for_start
        self._started_at: int | None = None if wait_for_start else 0
        self._cues, self._emg = self._timeline(scenario)
        self._next_cue = 0
        self._items: list[TruthItem] = []  # technical and LSR truth (EMG truth: the synth)
        self._open_leads: dict[int, int] = {}  # channel -> index in _items
        self._open_disconnect: int | None = None
        self._lsr_gone = False
        self._injected = 0
        self._notices: list[ScenarioNotice] = []
        self._to_notify: list[ScenarioNotice] = []
        self._listeners: list[Callable[[ScenarioNotice], None]] = []
        self._phase = ""
        self._finished = False

    # -- wiring (before streaming) ------------------------------------------------------------
    def make_synth(self, config: SimConfig) -> ScenarioSynth:
        """The signal generator for this scenario (a synth factory for the simulated
        device; the in-process source calls it too). Called once, before streaming."""
        with self._lock:
            if self._synth is not None and self._synth.rendered_until > 0:
                raise RuntimeError("A scenario engine runs one scenario once.")
            synth = ScenarioSynth(config, self)
            self._synth = synth
            if not self._running:  # waiting for the start: the quiet baseline only
                self._set_rates({})
                self._lsr_config(0)
            self._feed(self._seg_case)
            return synth

    @property
    def _live_synth(self) -> ScenarioSynth:
        """The synth being rendered: the timeline and the commands act only from its
        rendering, so after :meth:`make_synth`."""
        synth = self._synth
        assert synth is not None
        return synth

    def attach(self, link: ScenarioLink) -> None:
        """The path's recording set-up (needles, link) the engine acts on."""
        self._link = link

    # -- live control (any thread) ----------------------------------------------------------
    def start(self) -> None:
        """Start a case held for its start (``wait_for_start``), at the next block
        rendered; nothing if it has started."""
        with self._lock:
            if self._start_asked:
                return
            self._start_asked = True
        self._command("start")

    def pause(self) -> None:
        """Hold the case: no more scripted or random events, phases stop; the baseline and
        the stimulator go on."""
        self._command("pause")

    def resume(self) -> None:
        """Go on after a pause; before the start, :meth:`start`."""
        if not self._start_asked:
            self.start()
            return
        self._command("resume")

    def jump_to_phase(self, name: str) -> None:
        """Go on from the start of phase ``name`` (forward or back); ``ValueError`` if the
        scenario has no such phase. Needles, activity and the LSR become what the
        scenario has at that moment."""
        self.scenario.phase_named(name)  # raises with the phases' names
        self._command("jump", name)

    def inject(
        self,
        kind: str,
        channel: int | str | None = None,
        duration_s: float | None = None,
        freq_hz: float | None = None,
        amplitude_uv: float | None = None,
        needle: str = "reference",
    ) -> None:
        """Make something happen now: an EMG event, cautery, a needle off or back, or a
        disconnection (``duration_s``). ``channel`` from 0, or a label or muscle.
        ``ValueError`` with a sentence if it cannot be."""
        if not self._start_asked:
            raise ValueError("The case has not started yet: press Start first.")
        if kind not in EVENT_KINDS:
            raise ValueError(f"Unknown event {kind!r}; one of {', '.join(EVENT_KINDS)}.")
        ch = None
        if kind not in ("cautery", "disconnect"):
            if channel is None:
                raise ValueError(f"A {kind} needs a channel.")
            ch = self._channel_index(channel)
        if kind == "disconnect" and not (duration_s and duration_s > 0):
            raise ValueError("A disconnection needs its duration in seconds.")
        for name, v in (
            ("duration", duration_s),
            ("frequency", freq_hz),
            ("amplitude", amplitude_uv),
        ):
            if v is not None and not (math.isfinite(v) and v > 0):
                raise ValueError(f"The {name} must be a positive number, not {v!r}.")
        self._command("inject", kind, ch, duration_s, freq_hz, amplitude_uv, needle)

    def add_listener(self, callback: Callable[[ScenarioNotice], None]) -> None:
        """``callback(notice)`` for every phase change and other timeline moment."""
        with self._lock:
            self._listeners.append(callback)

    def notices_since(self, seen: int) -> tuple[int, list[ScenarioNotice]]:
        """Notices after the first ``seen``, and the new total."""
        with self._lock:
            return len(self._notices), self._notices[seen:]

    @property
    def phase(self) -> str:
        return self._phase

    @property
    def paused(self) -> bool:
        return not self._running

    @property
    def waiting_for_start(self) -> bool:
        """The case is held for its start (the start may have been asked for, not yet
        taken effect)."""
        return self._started_at is None

    @property
    def started_at(self) -> int | None:
        """Stream index where the case started (0 for an engine that did not wait), or
        None while it waits."""
        return self._started_at

    def since_start_s(self, index: int) -> float:
        """Seconds from the start of the case to a stream index (0 before it): the
        training clock, which the instructor's pauses and jumps do not stop."""
        started = self._started_at
        return 0.0 if started is None else max(0, index - started) / self.rate

    @property
    def finished(self) -> bool:
        """The case has reached its end (or ``stop_at_s``)."""
        return self._finished

    @property
    def case_seconds(self) -> float:
        """Case time of the newest sample rendered."""
        with self._lock:
            pos = 0 if self._synth is None else self._synth.rendered_until
            return self._case_at(pos) / self.rate

    def case_s_of(self, index: int) -> float:
        """Case time (s) of a stream index."""
        with self._lock:
            return self._case_s(index)

    @property
    def end_index(self) -> int | None:
        """Stream index where the case ends (None while paused)."""
        with self._lock:
            return self._stream_of(self._end_case)

    def truth(self) -> ScenarioTruth:
        """The ground truth so far (a consistent snapshot)."""
        with self._lock:
            synth = self._synth
            rendered = 0 if synth is None else synth.rendered_until
            items = list(self._items)
            stims: tuple[StimTruth, ...] = ()
            if synth is not None:
                # our own tags, (source, number)
                tags: dict[int, Any] = {id(t): tag for tag, t in synth.scheduled_truth}
                for t in synth.truth:
                    if t.onset >= rendered:
                        continue  # planned, not yet happened
                    tag = tags.get(id(t))
                    items.append(
                        TruthItem(
                            "cautery" if t.kind == "artifact" else t.kind,
                            t.onset,
                            t.offset,
                            None if t.channel == ALL_CHANNELS else t.channel,
                            SOURCE_RANDOM if tag is None else tag[0],
                            self._case_s(t.onset),
                            t.peak_uv,
                            t.freq_hz,
                        )
                    )
                stims = tuple(s for s in synth.stim_truth if s.marker.index < rendered)
            items.sort(key=lambda t: (t.onset, t.kind))
            return ScenarioTruth(
                rate=self.rate,
                labels=self.scenario.labels,
                items=tuple(items),
                phases=tuple(n for n in self._notices if n.kind == "phase"),
                notices=tuple(self._notices),
                stims=stims,
                end_index=self._stream_of(self._end_case),
                rendered_until=rendered,
                clock_history=tuple(self._history),
                started_at=self._started_at,
            )

    # -- the rendering thread -----------------------------------------------------------------
    def prepare(self, pos: int) -> int | None:
        """Apply the live commands and the cues due at stream index ``pos`` (the next
        sample to render); return where the source must cut its next block (a
        disconnection or the end), or None."""
        with self._lock:
            self._advance_to(pos)
            stop = self.next_stop(pos)
        self._notify()
        return stop

    def next_stop(self, pos: int) -> int | None:
        """Stream index of the next disconnection or end after ``pos``, or None."""
        with self._lock:
            for cue in self._cues[self._next_cue :]:
                if cue.kind in ("disconnect", "end"):
                    at = self._stream_of(cue.case)
                    return None if at is None else max(at, pos + 1)
            return None

    def _render(self, synth: ScenarioSynth, start: int, n: int):
        with self._lock:
            if synth is not self._synth:
                raise RuntimeError("This synth belongs to an earlier run of the scenario.")
            self._advance_to(start)
            parts, stims = [], []
            pos, stop = start, start + n
            if n <= 0:
                parts.append(synth._render_plain(start, 0)[0])
            while pos < stop:
                self._apply_cues(pos)
                cut = self._next_cue_stream()
                chunk = stop if cut is None else min(stop, max(cut, pos + 1))
                data, st = synth._render_plain(pos, chunk - pos)
                parts.append(data)
                stims.extend(st)
                pos = chunk
            self._apply_cues(stop)  # what is due at the next sample (a cut, the end) is known now
            out = parts[0] if len(parts) == 1 else np.concatenate(parts)
        self._notify()
        return out, stims

    def _advance_to(self, pos: int) -> None:
        """Everything before ``pos`` rendered (what a link outage skipped is rendered
        and thrown away: every sample stays a function of its index), then the commands."""
        synth = self._synth
        assert synth is not None
        skip_from = synth.rendered_until
        while synth.rendered_until < pos:
            at = synth.rendered_until
            self._apply_cues(at)
            cut = self._next_cue_stream()
            stop = min(pos, at + round(self.rate), pos if cut is None else max(cut, at + 1))
            synth._render_plain(at, stop - at)
        if self._open_disconnect is not None and pos > skip_from:
            self._close_disconnect(pos)
        self._apply_commands(pos)
        self._apply_cues(pos)

    # -- the timeline -----------------------------------------------------------------------
    def _timeline(self, sc: Scenario) -> tuple[list[_Cue], list[_EmgCue]]:
        rate = self.rate
        cues = [_Cue(round(p.start_s * rate), 0, "phase", {"phase": p}) for p in sc.phases]
        emg: list[_EmgCue] = []
        for k, ev in enumerate(sc.events):
            for j, t in enumerate(ev.times()):
                case = round(t * rate)
                if case >= self._end_case:
                    continue
                if ev.kind in EMG_KINDS:
                    spec = ScheduledEvent(
                        EMG_KINDS[ev.kind],
                        0,
                        ev.channel or 0,
                        ev.duration_s,
                        ev.freq_hz,
                        ev.amplitude_uv,
                        key=k * 100_000 + j,
                        tag=(SOURCE_SCENARIO, k, j),
                    )
                    emg.append(_EmgCue(case, spec))
                else:
                    data = {"channel": ev.channel, "needle": ev.needle, "seconds": ev.duration_s}
                    cues.append(_Cue(case, 1, ev.kind, data))
        if sc.lsr.gone_at_s is not None and sc.stimulation.rate_hz > 0:
            cues.append(_Cue(round(sc.lsr.gone_at_s * rate), 2, "lsr_gone"))
        cues.append(_Cue(self._end_case, 3, "end"))
        cues = sorted(c for c in cues if c.case <= self._end_case)
        emg.sort(key=lambda c: c.case)
        return cues, emg

    def _case_at(self, stream: int) -> int:
        return self._seg_case + (stream - self._seg_stream if self._running else 0)

    def _stream_of(self, case: int) -> int | None:
        if not self._running or case < self._seg_case:
            return None
        return self._seg_stream + case - self._seg_case

    def _case_s(self, stream: int) -> float:
        """Case time of any stream index (from the clock's history)."""
        i = bisect.bisect_right(self._history, stream, key=lambda h: h[0]) - 1
        s0, c0, running = self._history[max(i, 0)]
        return (c0 + (stream - s0 if running else 0)) / self.rate

    def _set_clock(self, pos: int, case: int, running: bool) -> None:
        self._seg_stream, self._seg_case, self._running = pos, case, running
        if self._history and self._history[-1][0] == pos:
            self._history[-1] = (pos, case, running)
        else:
            self._history.append((pos, case, running))

    def _next_cue_stream(self) -> int | None:
        if self._next_cue >= len(self._cues):
            return None
        return self._stream_of(self._cues[self._next_cue].case)

    def _apply_cues(self, pos: int) -> None:
        while self._next_cue < len(self._cues):
            at = self._stream_of(self._cues[self._next_cue].case)
            if at is None or at > pos:
                return
            cue = self._cues[self._next_cue]
            self._next_cue += 1
            self._apply(cue, pos)

    def _apply(self, cue: _Cue, pos: int) -> None:
        d = cue.data
        if cue.kind == "phase":
            phase = d["phase"]
            self._phase = phase.name
            self._set_rates(self.scenario.rates_at(phase.start_s))
            self._say("phase", pos, f"Phase: {phase.name}")
        elif cue.kind in ("lead_off", "lead_on"):
            self._set_lead(d["channel"], cue.kind == "lead_off", d["needle"], pos, SOURCE_SCENARIO)
        elif cue.kind == "disconnect":
            self._disconnect(pos, d["seconds"], SOURCE_SCENARIO)
        elif cue.kind == "lsr_gone":
            self._set_lsr(True, pos, SOURCE_SCENARIO)
        elif cue.kind == "end":
            self._finished = True
            self._say("end", pos, "End of the case")

    def _feed(self, case_from: int) -> None:
        """Hand the synth every scripted EMG event from case index ``case_from`` on."""
        synth = self._synth
        if synth is None or not self._running:
            return
        for cue in self._emg:
            if cue.case >= case_from:
                onset = self._stream_of(cue.case)
                if onset is not None and onset >= synth.rendered_until:
                    synth.schedule(_placed(cue.spec, onset))

    def _set_rates(self, rates: dict[str, float]) -> None:
        cfg = self._live_synth.cfg
        for key in RATE_KEYS:
            setattr(cfg, key, float(rates.get(key, 0.0)))

    def _set_lead(self, ch: int, off: bool, needle: str, pos: int, source: str) -> None:
        label = self.scenario.labels[ch]
        if off and ch in self._open_leads:
            return  # already off
        if not off and ch not in self._open_leads:
            return
        if self._link is not None:
            self._link.set_lead_off(ch, off, needle)
            self._live_synth.set_mains_gain(self._link.mains_gain())
        if off:
            self._open_leads[ch] = len(self._items)
            self._items.append(TruthItem("lead_off", pos, None, ch, source, self._case_s(pos)))
            self._say("lead_off", pos, f"{label}: {needle} needle off")
        else:
            i = self._open_leads.pop(ch)
            self._items[i] = _replace_offset(self._items[i], pos)
            self._say("lead_on", pos, f"{label}: needle back in")

    def _disconnect(self, pos: int, seconds: float, source: str) -> None:
        if self._open_disconnect is not None:
            return  # the link is down already
        self._open_disconnect = len(self._items)
        self._items.append(TruthItem("disconnect", pos, None, None, source, self._case_s(pos)))
        self._say("disconnect", pos, f"Amplifier disconnected for {seconds:g} s")
        if self._link is not None:
            self._link.disconnect(pos, seconds)

    def _close_disconnect(self, pos: int) -> None:
        i, self._open_disconnect = self._open_disconnect, None
        assert i is not None  # called only while the link is down
        self._items[i] = _replace_offset(self._items[i], pos)
        lost = (pos - self._items[i].onset) / self.rate
        self._say("reconnected", pos, f"Amplifier back after {lost:.1f} s")

    def _set_lsr(self, gone: bool, pos: int, source: str) -> None:
        """Record the LSR going or coming back at ``pos`` (the synth's configuration
        makes it so, see ``_lsr_config``)."""
        if gone == self._lsr_gone:
            return
        self._lsr_gone = gone
        kind = "lsr_gone" if gone else "lsr_back"
        self._items.append(TruthItem(kind, pos, None, None, source, self._case_s(pos)))
        self._say(kind, pos, "LSR gone" if gone else "LSR back")

    def _lsr_config(self, pos: int) -> None:
        """Where the synth makes the LSR disappear, after a change of the clocks."""
        gone_s = self.scenario.lsr.gone_at_s
        cfg = self._live_synth.cfg
        if gone_s is None or self.scenario.stimulation.rate_hz <= 0:
            return
        gone_case = round(gone_s * self.rate)
        if self._case_at(pos) >= gone_case:
            cfg.lsr_gone_at_s = min(cfg.lsr_gone_at_s or math.inf, pos / self.rate)
            self._set_lsr(True, pos, SOURCE_INSTRUCTOR)
        else:
            at = self._stream_of(gone_case)
            cfg.lsr_gone_at_s = None if at is None else at / self.rate
            self._set_lsr(False, pos, SOURCE_INSTRUCTOR)

    # -- commands ---------------------------------------------------------------------------
    def _command(self, *cmd) -> None:
        with self._lock:
            self._commands.append(cmd)

    def _apply_commands(self, pos: int) -> None:
        commands, self._commands = self._commands, []
        for cmd in commands:
            if self._finished:
                return
            getattr(self, f"_do_{cmd[0]}")(pos, *cmd[1:])

    def _do_pause(self, pos: int) -> None:
        if not self._running:
            return
        case = self._case_at(pos)
        self._live_synth.cancel_after(pos)
        self._set_clock(pos, case, False)
        self._set_rates({})
        self._lsr_config(pos)
        self._say("paused", pos, f"Paused at {clock(case / self.rate)}")

    def _do_start(self, pos: int) -> None:
        if self._started_at is not None:
            return
        self._started_at = pos
        if not self._running:
            self._do_resume(pos, "started")

    def _do_resume(self, pos: int, kind: str = "resumed") -> None:
        if self._running:
            return
        case = self._seg_case
        self._set_clock(pos, case, True)
        self._set_rates(self.scenario.rates_at(case / self.rate))
        self._lsr_config(pos)
        self._feed(case)
        self._say(kind, pos, f"{kind.capitalize()} at {clock(case / self.rate)}")

    def _do_jump(self, pos: int, name: str) -> None:
        phase = self.scenario.phase_named(name)
        case = round(phase.start_s * self.rate)
        self._live_synth.cancel_after(pos)
        self._set_clock(pos, case, self._running)
        # Cues from the target on; phases first, so that the jump's own phase is announced.
        self._next_cue = bisect.bisect_left(self._cues, (case,), key=lambda c: (c.case,))
        self._phase = phase.name
        self._set_rates(self.scenario.rates_at(phase.start_s) if self._running else {})
        for ch, (off, needle) in self._leads_at(case).items():
            self._set_lead(ch, off, needle, pos, SOURCE_INSTRUCTOR)
        self._lsr_config(pos)
        self._feed(case)
        self._say("jumped", pos, f"Jumped to {phase.name} ({clock(phase.start_s)})")
        self._say("phase", pos, f"Phase: {phase.name}")
        while (
            self._next_cue < len(self._cues)
            and self._cues[self._next_cue].kind == "phase"
            and self._cues[self._next_cue].case == case
        ):
            self._next_cue += 1  # announced above

    def _leads_at(self, case: int) -> dict[int, tuple[bool, str]]:
        """Every channel's needle as the scenario has it at case index ``case``."""
        state = {ch: (False, "reference") for ch in range(len(self.scenario.labels))}
        for cue in self._cues:
            if cue.case >= case:
                break
            if cue.kind in ("lead_off", "lead_on"):
                state[cue.data["channel"]] = (cue.kind == "lead_off", cue.data["needle"])
        return state

    def _do_inject(self, pos, kind, ch, duration_s, freq_hz, amplitude_uv, needle) -> None:
        self._injected += 1
        what = kind if ch is None else f"{kind} on {self.scenario.labels[ch]}"
        self._say("injected", pos, f"Injected: {what}")
        if kind in EMG_KINDS:
            spec = ScheduledEvent(
                EMG_KINDS[kind],
                pos,
                ch or 0,
                duration_s,
                freq_hz,
                amplitude_uv,
                key=_INJECT_KEYS + self._injected,
                tag=(SOURCE_INSTRUCTOR, self._injected),
            )
            self._live_synth.schedule(spec)
        elif kind in ("lead_off", "lead_on"):
            self._set_lead(ch, kind == "lead_off", needle, pos, SOURCE_INSTRUCTOR)
        else:
            self._disconnect(pos, duration_s, SOURCE_INSTRUCTOR)

    # -- notices -----------------------------------------------------------------------------
    def _say(self, kind: str, pos: int, text: str) -> None:
        notice = ScenarioNotice(kind, pos, self._case_at(pos) / self.rate, self._phase, text)
        self._notices.append(notice)
        self._to_notify.append(notice)

    def _notify(self) -> None:
        with self._lock:
            due, self._to_notify = self._to_notify, []
            listeners = list(self._listeners)
        for notice in due:
            for cb in listeners:
                cb(notice)

    def _channel_index(self, channel: int | str) -> int:
        labels = self.scenario.labels
        if isinstance(channel, int) and not isinstance(channel, bool):
            if 0 <= channel < len(labels):
                return channel
        elif isinstance(channel, str):
            low = channel.strip().casefold()
            for i, label in enumerate(labels):
                m = muscle_of(label)
                if label.casefold() == low or (m is not None and m.key == low):
                    return i
        raise ValueError(f"There is no channel {channel!r}; the channels: {', '.join(labels)}.")


def _placed(spec: ScheduledEvent, onset: int) -> ScheduledEvent:
    return ScheduledEvent(
        spec.kind,
        onset,
        spec.channel,
        spec.duration_s,
        spec.freq_hz,
        spec.amplitude_uv,
        spec.key,
        spec.tag,
    )


def _replace_offset(item: TruthItem, offset: int) -> TruthItem:
    return TruthItem(
        item.kind,
        item.onset,
        offset,
        item.channel,
        item.source,
        item.case_s,
        item.peak_uv,
        item.freq_hz,
    )
