"""Baselines and calls of the evoked-response engine.

- :class:`LsrTracker` (one per response kind, LSR and Z-L) sets the baseline and calls the
  disappearance and the reappearance (information for the team, not alarms).
- :class:`StimulationControl` tracks the stimulated branch's own *direct* (M) response with
  its own baseline: a sweep whose direct response has gone (with no LSR either) shows
  that the stimulus no longer reaches the nerve (a displaced stimulating needle). Such a
  sweep says nothing about the LSR, so it never counts towards a disappearance, and a few
  of them in a row are a technical alarm (``stimulation_lost``), never "LSR disappeared".

Both are driven by :class:`monitor.evoked.EvokedAnalyzer` under its lock; criteria and
numbers are in ``docs/evoked.md``.
"""

from __future__ import annotations

import itertools
import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from monitor.evoked.ramp import ramp_threshold
from monitor.evoked.settings import (
    KIND_DIRECT,
    STIM_LOST,
    STIM_OK,
    STIM_UNVERIFIED,
    EvokedSettings,
)
from monitor.evoked.stimuli import MODE_LSR, MODE_ZL
from monitor.evoked.sweep import SweepResult
from monitor.medians import median

_MODE_NAMES = {MODE_LSR: "LSR", MODE_ZL: "Z-L response"}

#: Call kinds (``LsrCall.kind``).
CALL_DISAPPEARED = "disappeared"
CALL_REAPPEARED = "reappeared"
CALL_STIMULATION_LOST = "stimulation_lost"  # a technical alarm (monitor.pipeline routes it)
CALL_STIMULATION_RESTORED = "stimulation_restored"
#: The words of the stimulation alarm (its banner and event-log text starts with them).
STIMULATION_LOST_TEXT = "Stimulation is not reaching the nerve: check the stimulating electrode"
#: Per-stimulus direct-response baselines the control keeps (sites x currents in a case).
MAX_DIRECT_BASELINES = 16


@dataclass(frozen=True, slots=True)
class LsrCall:
    """A change of the LSR (or Z-L response), or of the stimulation that tests it.

    Attributes
    ----------
    kind : str
        ``"disappeared"`` or ``"reappeared"`` (information for the team), or
        ``"stimulation_lost"`` / ``"stimulation_restored"`` (the technical alarm
        ``stimulation_lost`` is raised / cleared by ``monitor.pipeline``).
    sample_index : int
        Pulse of the first sweep of the change (disappeared: the first of the K sweeps;
        stimulation lost: the first sweep without the direct response).
    stim_number : int
        Its stimulus number.
    channels : tuple of str
        Channels concerned (the baseline channels; on reappearance those back; for the
        stimulation, the channels whose direct response is the control).
    criterion : str
        The disappearance criterion, or ``"direct response"`` for the stimulation calls.
    text : str
        One sentence for the event log.
    mode : str
        ``"lsr"`` or ``"zl"``.
    reported_at : int
        Pulse of the sweep that made the call.
    """

    kind: str
    sample_index: int
    stim_number: int
    channels: tuple[str, ...]
    criterion: str
    text: str
    mode: str = MODE_LSR
    reported_at: int = 0


@dataclass(frozen=True)
class LsrBaseline:
    """The reference a tracker compares with.

    ``channels`` are the channels with a response at baseline (only they are watched);
    ``amplitude_uv``/``latency_ms`` by label (median over the baseline sweeps).
    """

    mode: str
    channels: tuple[int, ...]
    amplitude_uv: dict[str, float]
    latency_ms: dict[str, float]
    current_ma: float
    site: str
    first_stim: int
    last_stim: int
    set_by: str  # "auto" or "user"
    threshold_ma: float | None = None


@dataclass(frozen=True, slots=True)
class Observation:
    """What a tracker keeps of one sweep: the results of its kind, by channel, and whether
    the sweep's direct response showed the stimulus reaching the nerve."""

    stim_index: int
    stim_number: int
    current_ma: float
    site: str
    results: dict[int, SweepResult]
    stimulation: str = STIM_UNVERIFIED


# -- the LSR (and Z-L response) ------------------------------------------------------------------
class LsrTracker:
    """Baseline, trend state and disappearance/reappearance calls for one response kind.

    Sweeps whose stimulation was lost (:data:`STIM_LOST`) are neither absent nor present:
    they do not extend a run of absent sweeps, nor break it, nor count towards a
    reappearance. Once the stimulation control has *called* the stimulation lost
    (:meth:`stimulation_lost`), every sweep is ignored (the pending runs are cleared) until
    it is restored (:meth:`stimulation_restored`): counting starts again from the first
    sweep of the run of confirmed sweeps that ended the loss. A disappearance called on
    sweeps not all confirmed by a direct response says so in its text and in the status
    line.

    Not thread-safe on its own; the analyzer holds its lock around every call.
    """

    def __init__(
        self,
        mode: str,
        labels: tuple[str, ...],
        settings: EvokedSettings,
        format_time: Callable[[int], str],
    ) -> None:
        self.mode = mode
        self.name = _MODE_NAMES[mode]
        self.labels = labels
        self.s = settings
        self.fmt = format_time
        self.state = "collecting"  # collecting, present, gone, none
        self.baseline: LsrBaseline | None = None
        self.sweeps = 0
        self.seen = False  # a response of this kind was ever present
        self.last: Observation | None = None
        self.since: Observation | None = None  # gone since
        #: The caveat of the standing disappearance ("" when the stimulation was confirmed).
        self.caveat = ""
        self._window: deque[Observation] = deque(maxlen=settings.baseline_n)
        self._recent: deque[Observation] = deque(maxlen=max(50, settings.baseline_n))
        self._run: list[Observation] = []
        self._back: dict[int, int] = {}
        self._ramp: list[Observation] = []
        #: A stimulation loss stands: sweeps are not judged (see :meth:`stimulation_lost`).
        self.suspended = False
        #: While suspended, the confirmed (``ok``) sweeps since the last lost one: the run
        #: that may end the loss, judged once it does.
        self._held: list[Observation] = []

    # -- feeding -----------------------------------------------------------------------------
    def update(self, obs: Observation) -> list[LsrCall]:
        self.sweeps += 1
        self.last = obs
        self._recent.append(obs)
        if any(r.present for r in obs.results.values()):
            self.seen = True
        if self.suspended:
            if obs.stimulation == STIM_OK:
                self._held.append(obs)
            elif obs.stimulation == STIM_LOST:
                self._held = []
            return []
        return self._judge(obs)

    def stimulation_lost(self) -> None:
        """The stimulation control called the stimulation lost: until it is restored no
        sweep says anything of the LSR, and the runs under way (absent sweeps towards a
        disappearance, present ones towards a reappearance, a current ramp) are dropped,
        so that sweeps before the loss and after it never make one run."""
        self.suspended = True
        self.clear_runs()

    def stimulation_restored(self) -> list[LsrCall]:
        """The stimulation is back: the sweeps of the run that ended the loss are judged
        now (the disappearance may then be dated from the first of them)."""
        held, self._held, self.suspended = self._held, [], False
        calls: list[LsrCall] = []
        for obs in held:
            calls.extend(self._judge(obs))
        return calls

    def clear_runs(self) -> None:
        """Drop the runs under way (a loss of stimulation, a long gap or a seek); the
        baseline, and a disappearance already called, stay."""
        self._run, self._back, self._held, self._ramp = [], {}, [], []

    def _judge(self, obs: Observation) -> list[LsrCall]:
        if self.s.criterion == "threshold_doubled":
            return self._update_threshold(obs)
        if self.baseline is None:
            if self.state == "collecting":
                self._collect(obs)
            return []
        # A sweep whose stimulus did not reach the nerve says nothing of the LSR.
        if not self._at_baseline(obs) or not self.baseline.channels or obs.stimulation == STIM_LOST:
            return []
        if self.state == "present":
            verdict = self._verdict(obs)
            if verdict == "low":
                self._run.append(obs)
                if len(self._run) >= self.s.absent_k:
                    return [self._gone(self._run[0], obs)]
            elif verdict == "high":
                self._run = []
        elif self.state == "gone":
            return self._check_back(obs)
        return []

    def _collect(self, obs: Observation) -> None:
        if not collect_same_stimulus(self._window, obs, self.s.current_tolerance):
            return
        chans = self._baseline_channels(list(self._window), strict=True)
        if not chans:
            return
        self._set_baseline(list(self._window), "auto", strict=True)
        for o in reversed(self._window):  # it may already be going in the last sweep
            if self._verdict(o) != "low" or o.stimulation == STIM_LOST:
                break
            self._run.insert(0, o)

    def _baseline_channels(self, obs: list[Observation], strict: bool) -> list[int]:
        """Channels with a response at baseline. ``strict`` (automatic baseline): present in
        all but one of the sweeps and clearly above the presence level (``baseline_margin``),
        so that a response at the edge of detection is not watched (its chance misses would
        soon look like a disappearance). Otherwise: present in at least half."""
        return baseline_channels(obs, len(self.labels), self.s.baseline_margin, strict)

    def _set_baseline(
        self,
        obs: list[Observation],
        set_by: str,
        threshold_ma: float | None = None,
        strict: bool = False,
    ) -> LsrBaseline:
        chans = self._baseline_channels(obs, strict)
        amps, lats = baseline_medians(obs, chans, self.labels)
        last = obs[-1]
        self.baseline = LsrBaseline(
            self.mode,
            tuple(chans),
            amps,
            lats,
            last.current_ma,
            last.site,
            obs[0].stim_number,
            last.stim_number,
            set_by,
            threshold_ma,
        )
        self.state = "present" if chans else "none"
        self._run, self._back, self.since, self.caveat = [], {}, None, ""
        return self.baseline

    def set_baseline(self, n: int | None = None) -> LsrBaseline:
        """Baseline from the latest ``n`` sweeps at the latest sweep's site and current."""
        if not self._recent:
            raise ValueError(f"No {self.name} sweeps yet to take a baseline from.")
        last = self._recent[-1]
        if self.s.criterion == "threshold_doubled":
            ramp = self._ramp or [last]
            thr, _ = ramp_threshold((o.current_ma, any_present(o)) for o in ramp)
            top = [o for o in ramp if o.current_ma >= max(x.current_ma for x in ramp) * 0.95]
            return self._set_baseline(top, "user", thr)
        same = [o for o in self._recent if same_stimulus(o, last, self.s.current_tolerance)]
        return self._set_baseline(same[-(n or self.s.baseline_n) :], "user")

    def latest_sweeps(self, n: int | None = None) -> list[Observation]:
        """The latest ``n`` sweeps at the latest sweep's stimulus (for a user baseline)."""
        if not self._recent:
            return []
        last = self._recent[-1]
        same = [o for o in self._recent if same_stimulus(o, last, self.s.current_tolerance)]
        return same[-(n or self.s.baseline_n) :]

    def _at_baseline(self, obs: Observation) -> bool:
        b = self.baseline
        if b is None or obs.site != b.site:
            return False
        c0, c = b.current_ma, obs.current_ma
        return not (math.isfinite(c0) and math.isfinite(c)) or abs(c - c0) <= (
            self.s.current_tolerance * c0
        )

    def _back_on(self, r: SweepResult) -> bool:
        """This channel's response counts as there (not gone)."""
        if self.s.criterion == "amplitude_pct":
            base = self.baseline.amplitude_uv.get(r.label) if self.baseline else None
            amp = r.amplitude_uv if r.present and r.amplitude_uv is not None else 0.0
            if not base:
                return False
            return amp >= self.s.amplitude_pct / 100.0 * base
        return r.present

    def _verdict(self, obs: Observation) -> str:
        """'high' (still there), 'low' (gone on every baseline channel) or 'unknown'."""
        assert self.baseline is not None
        unknown = False
        for ch in self.baseline.channels:
            r = obs.results.get(ch)
            if r is None or not r.judged:
                unknown = True
            elif self._back_on(r):
                return "high"
        return "unknown" if unknown else "low"

    def watched_present(self, obs: Observation) -> bool | None:
        """Whether a watched channel's response is there in ``obs`` (None: no baseline)."""
        if self.baseline is None or not self.baseline.channels:
            return None
        return any(is_present(obs, ch) for ch in self.baseline.channels)

    def _check_back(self, obs: Observation) -> list[LsrCall]:
        assert self.baseline is not None
        for ch in self.baseline.channels:
            r = obs.results.get(ch)
            if r is None or not r.judged:
                continue
            self._back[ch] = self._back.get(ch, 0) + 1 if self._back_on(r) else 0
        ready = [ch for ch, n in self._back.items() if n >= self.s.reappear_n]
        if not ready:
            return []
        return [self._reappeared(obs, ready)]

    # -- threshold criterion -------------------------------------------------------------------
    def _update_threshold(self, obs: Observation) -> list[LsrCall]:
        tol = self.s.current_tolerance
        if self._ramp and (
            obs.site != self._ramp[-1].site
            or (obs.current_ma < self._ramp[-1].current_ma * (1 - tol))
        ):
            self._end_ramp()
            self._ramp = []
        self._ramp.append(obs)
        if len(self._ramp) > 500:  # no ramp: steady stimulation goes on and on
            del self._ramp[:250]
        b = self.baseline
        if b is None or b.threshold_ma is None or not b.channels or obs.site != b.site:
            return []
        limit = self.s.threshold_factor * b.threshold_ma * (1 - tol)
        below = [o for o in self._ramp if o.current_ma < limit]
        if self.state == "present":
            reached = max(o.current_ma for o in self._ramp) >= limit
            if reached and not any(self._any_watched_present(o) for o in below):
                return [self._gone(self._ramp[0], obs)]
        elif self.state == "gone":
            for a, c in itertools.pairwise(below):
                if self._any_watched_present(a) and self._any_watched_present(c):
                    chans = [ch for ch in b.channels if is_present(a, ch) and is_present(c, ch)]
                    return [self._reappeared(obs, chans or list(b.channels))]
        return []

    def _end_ramp(self) -> None:
        if self.baseline is not None or self.state != "collecting":
            return
        ramp = self._ramp
        thr, _ = ramp_threshold((o.current_ma, any_present(o)) for o in ramp)
        if thr is None:
            return
        top_current = max(o.current_ma for o in ramp)
        top = [o for o in ramp if o.current_ma >= top_current * (1 - self.s.current_tolerance)]
        self._set_baseline(top, "auto", thr)

    def _any_watched_present(self, obs: Observation) -> bool:
        assert self.baseline is not None
        return any(is_present(obs, ch) for ch in self.baseline.channels)

    # -- calls ------------------------------------------------------------------------------
    def _gone(self, first: Observation, now: Observation) -> LsrCall:
        assert self.baseline is not None
        b = self.baseline
        self.state, self.since, self._back = "gone", first, {}
        labels = tuple(self.labels[ch] for ch in b.channels)
        where = ", ".join(labels)
        if self.s.criterion == "absent_k":
            why = f"absent on {where} on {self.s.absent_k} consecutive sweeps"
        elif self.s.criterion == "amplitude_pct":
            why = (
                f"below {self.s.amplitude_pct:g} % of baseline on {where} on "
                f"{self.s.absent_k} consecutive sweeps"
            )
        else:
            limit = self.s.threshold_factor * (b.threshold_ma or 0.0)
            why = (
                f"no response below {limit:g} mA on {where} (baseline threshold "
                f"{b.threshold_ma:g} mA)"
            )
        at = "" if not math.isfinite(b.current_ma) else f" at {b.current_ma:g} mA"
        if self.s.criterion == "threshold_doubled":
            at = ""
        self.caveat = self._caveat(self._run) if self.s.criterion != "threshold_doubled" else ""
        note = f" ({self.caveat})" if self.caveat else ""
        text = f"{self.name} disappeared: {why}{at}, since {self.fmt(first.stim_index)}{note}."
        return LsrCall(
            CALL_DISAPPEARED,
            first.stim_index,
            first.stim_number,
            labels,
            self.s.criterion,
            text,
            self.mode,
            now.stim_index,
        )

    def _caveat(self, run: list[Observation]) -> str:
        """Why a disappearance may not be one: sweeps not confirmed by a direct response."""
        if self.mode != MODE_LSR or not run:
            return ""
        ok = sum(o.stimulation == STIM_OK for o in run)
        if ok == len(run):
            return ""
        if ok == 0:
            return "stimulation not confirmed: no direct response to check it by"
        return f"stimulation confirmed on {ok} of {len(run)} sweeps"

    def _reappeared(self, now: Observation, chans: list[int]) -> LsrCall:
        self.state, self._run, self._back, self.caveat = "present", [], {}, ""
        since = self.since
        self.since = None
        labels = tuple(self.labels[ch] for ch in chans)
        parts = []
        for ch in chans:
            r = now.results.get(ch)
            if r is not None and r.present and r.amplitude_uv is not None:
                parts.append(f"{r.label} {r.amplitude_uv:.0f} µV at {r.latency_ms:.1f} ms")
            else:
                parts.append(self.labels[ch])
        gone = f" (gone since {self.fmt(since.stim_index)})" if since is not None else ""
        text = f"{self.name} reappeared: {', '.join(parts)}{gone}."
        return LsrCall(
            CALL_REAPPEARED,
            now.stim_index,
            now.stim_number,
            labels,
            self.s.criterion,
            text,
            self.mode,
            now.stim_index,
        )

    # -- words --------------------------------------------------------------------------------
    def status(self, stimulation_lost_since: int | None = None) -> str:
        """The status line; ``stimulation_lost_since`` (a pulse) when the stimulation
        control has called the stimulation lost."""
        name = self.name
        if stimulation_lost_since is not None and self.sweeps:
            when = self.fmt(stimulation_lost_since)
            if self.state == "gone" and self.since is not None:
                return (
                    f"{name} gone since {self.fmt(self.since.stim_index)} "
                    f"(stimulation lost since {when})"
                )
            return f"{name} cannot be judged — stimulation lost since {when}"
        waiting = self._status_waiting()
        if waiting is not None:
            return waiting
        last = self.last
        assert last is not None and self.baseline is not None
        pres = [
            last.results[ch]
            for ch in self.baseline.channels
            if ch in last.results and last.results[ch].present
        ]
        if pres:
            best = max(pres, key=lambda r: r.amplitude_uv or 0.0)
            return (
                f"{name} present — {best.label} {best.amplitude_uv:.0f} µV "
                f"at {best.latency_ms:.1f} ms"
            )
        if self._run:
            return f"{name} absent on {len(self._run)} of {self.s.absent_k} sweeps"
        return f"{name} present (not in the last sweep)"

    def _status_waiting(self) -> str | None:
        """The status line before there is a baseline to compare with, or when gone."""
        name = self.name
        if self.sweeps == 0:
            return f"{name}: no stimuli yet"
        if self.state == "gone" and self.since is not None:
            caveat = " (stimulation not confirmed)" if self.caveat else ""
            return f"{name} gone since {self.fmt(self.since.stim_index)}{caveat}"
        if self.state == "none":
            return f"{name}: none at baseline"
        if self.state != "collecting":
            return None
        if not self.seen:
            return f"{name} not seen ({self.sweeps} sweeps)"
        return (
            f"{name}: baseline after the first current ramp"
            if self.s.criterion == "threshold_doubled"
            else f"{name}: baseline {len(self._window)} of {self.s.baseline_n} sweeps"
        )


# -- the stimulation-delivery control ------------------------------------------------------------
@dataclass(frozen=True)
class DirectBaseline:
    """The direct response at one stimulus (site and current) the control compares with.

    ``channels`` carry a solid direct response at that stimulus (none: nothing to check the
    stimulation by there); ``amplitude_uv`` by label (median over the baseline sweeps).
    """

    channels: tuple[int, ...]
    amplitude_uv: dict[str, float]
    latency_ms: dict[str, float]
    current_ma: float
    site: str
    first_stim: int
    last_stim: int
    set_by: str


@dataclass
class _Loss:
    """One stimulation loss: its first sweep, how much of the direct response was left,
    and the sweep that ended it."""

    first: Observation
    worst_pct: float = 0.0
    lsr_note: str = ""
    restored: Observation | None = None
    back: Observation | None = None  # the first sweep of the run that ends it
    ok_run: int = 0
    lost_sweeps: int = 0  # lost sweeps in it (they are counted, not kept)


class StimulationControl:
    """Is the stimulus still reaching the nerve? The direct response, tracked as a control.

    A direct-response baseline is taken per stimulus (site and current) from the first
    ``baseline_n`` consecutive sweeps at it, with the same rule as the LSR's (present in
    all but one and clearly above the detection level). A sweep is then:

    - ``"ok"`` when a control channel's direct response reaches ``stim_ok_pct`` % of its
      baseline, or when the LSR is present (the stimulus evidently reached the nerve, with
      or without a direct baseline to compare with);
    - ``"lost"`` when it is below that on every judged control channel and no LSR is seen;
    - ``"unverified"`` when there is nothing to compare with (no control channel at this
      stimulus, no baseline yet, or every control channel rejected) and no LSR.

    A baseline is stored only when it has a control channel: at a stimulus whose first
    sweeps carry no direct response (the needle already out) collection goes on.

    ``stim_lost_k`` lost sweeps in a row call ``stimulation_lost``; ``stim_restored_n`` ok
    sweeps in a row after that call ``stimulation_restored``; unverified sweeps neither
    extend nor break a run. The sweeps of a standing loss are counted, not kept.

    Not thread-safe on its own; the analyzer holds its lock around every call.
    """

    def __init__(
        self, labels: tuple[str, ...], settings: EvokedSettings, format_time: Callable[[int], str]
    ) -> None:
        self.labels = labels
        self.s = settings
        self.fmt = format_time
        self.baselines: list[DirectBaseline] = []
        self.lost: _Loss | None = None  # the standing loss
        self.losses: list[_Loss] = []  # every loss of the case, oldest first
        self.last: Observation | None = None
        self.last_state = ""  # the latest sweep's verification
        self.last_baseline: DirectBaseline | None = None  # the latest sweep's baseline
        self._window: deque[Observation] = deque(maxlen=settings.baseline_n)
        self._recent: deque[Observation] = deque(maxlen=max(50, settings.baseline_n))
        self._run: list[Observation] = []

    # -- feeding -----------------------------------------------------------------------------
    def baseline_for(self, obs: Observation) -> DirectBaseline | None:
        for b in reversed(self.baselines):
            if b.site == obs.site and _same_current(
                b.current_ma, obs.current_ma, self.s.current_tolerance
            ):
                return b
        return None

    def verify(self, obs: Observation, lsr_present: bool) -> str:
        """This sweep's verification (``obs.results``: every channel's result, any kind)."""
        if lsr_present:  # the stimulus evidently reached the nerve
            return STIM_OK
        b = self.baseline_for(obs)
        if b is None or not b.channels:
            return STIM_UNVERIFIED
        ratios = self.ratios(obs, b)
        if not ratios:
            return STIM_UNVERIFIED
        if max(ratios.values()) >= self.s.stim_ok_pct / 100.0:
            return STIM_OK
        return STIM_LOST

    def ratios(self, obs: Observation, b: DirectBaseline) -> dict[int, float]:
        """Per judged control channel, its direct response over its baseline (absent = 0)."""
        out = {}
        for ch in b.channels:
            r = obs.results.get(ch)
            if r is None or not r.judged:
                continue
            amp = r.amplitude_uv if r.kind == KIND_DIRECT and r.present else 0.0
            base = b.amplitude_uv.get(self.labels[ch])
            if base:
                out[ch] = float(amp or 0.0) / base
        return out

    def update(self, obs: Observation, lsr_note: str = "") -> list[LsrCall]:
        """Take the sweep (``obs.stimulation`` already set by :meth:`verify`).
        ``lsr_note``: the LSR's standing state, for the text of a loss ("" when present)."""
        self.last = obs
        self.last_state = obs.stimulation
        self._recent.append(obs)
        self._collect(obs)
        self.last_baseline = self.baseline_for(obs)
        if obs.stimulation == STIM_LOST:
            if self.lost is not None:  # counted, not kept: a loss may last for hours
                self.lost.ok_run, self.lost.back = 0, None
                self.lost.lost_sweeps += 1
                return []
            self._run.append(obs)
            if len(self._run) >= self.s.stim_lost_k:
                return [self._lost(self._run[0], obs, lsr_note)]
        elif obs.stimulation == STIM_OK:
            self._run = []
            if self.lost is not None:
                self.lost.ok_run += 1
                self.lost.back = self.lost.back or obs
                if self.lost.ok_run >= self.s.stim_restored_n:
                    return [self._restored(obs)]
        return []

    def _collect(self, obs: Observation) -> None:
        full = collect_same_stimulus(self._window, obs, self.s.current_tolerance)
        if not full or self.baseline_for(obs) is not None:
            return
        # A baseline without a control channel would leave every later sweep at this
        # stimulus unverified, and a standing loss could then never be restored: keep
        # collecting (the window slides) until the direct response is there.
        direct = [_direct_only(o) for o in self._window]
        if baseline_channels(direct, len(self.labels), self.s.baseline_margin, True):
            self._set(list(self._window), "auto", strict=True)

    def clear_runs(self) -> None:
        """Drop the runs under way (a long gap or a seek): the lost sweeps towards a call,
        the confirmed ones towards a restore. A standing loss and the baselines stay."""
        self._run = []
        if self.lost is not None:
            self.lost.ok_run, self.lost.back = 0, None

    def _set(self, obs: list[Observation], set_by: str, strict: bool) -> DirectBaseline:
        direct = [_direct_only(o) for o in obs]
        chans = baseline_channels(direct, len(self.labels), self.s.baseline_margin, strict)
        amps, lats = baseline_medians(direct, chans, self.labels)
        last = obs[-1]
        b = DirectBaseline(
            tuple(chans),
            amps,
            lats,
            last.current_ma,
            last.site,
            obs[0].stim_number,
            last.stim_number,
            set_by,
        )
        self.baselines = [
            x
            for x in self.baselines
            if not (
                x.site == b.site
                and _same_current(x.current_ma, b.current_ma, self.s.current_tolerance)
            )
        ]
        self.baselines.append(b)
        del self.baselines[:-MAX_DIRECT_BASELINES]
        return b

    def set_baseline(self, obs: list[Observation]) -> DirectBaseline | None:
        """Take the direct baseline now from these sweeps (the user's LSR baseline). Sweeps
        without a direct response leave the baseline there was: a new LSR baseline does
        not put the stimulating needle back, so a standing loss (and its alarm) stays
        until the direct response is back."""
        if not obs:
            return None
        direct = [_direct_only(o) for o in obs]
        if not baseline_channels(direct, len(self.labels), self.s.baseline_margin, False):
            return self.baseline_for(obs[-1])
        self._run = []
        return self._set(obs, "user", strict=False)

    # -- calls ------------------------------------------------------------------------------
    def _lost(self, first: Observation, now: Observation, lsr_note: str) -> LsrCall:
        b = self.baseline_for(first)
        assert b is not None
        worst: dict[int, float] = {}
        for o in self._run:
            for ch, ratio in self.ratios(o, b).items():
                worst[ch] = max(worst.get(ch, 0.0), ratio)
        labels = tuple(self.labels[ch] for ch in b.channels)
        where = ", ".join(labels)
        best = max(worst.values(), default=0.0)
        if best <= 0.0:
            what = f"no direct response on {where}"
        else:
            what = f"direct response on {where} at most {100 * best:.0f} % of its baseline"
        note = f" {lsr_note}" if lsr_note else ""
        text = f"{STIMULATION_LOST_TEXT} ({what} since {self.fmt(first.stim_index)}).{note}"
        self.lost = _Loss(first, 100 * best, lsr_note, lost_sweeps=len(self._run))
        self.losses.append(self.lost)
        self._run = []
        return LsrCall(
            CALL_STIMULATION_LOST,
            first.stim_index,
            first.stim_number,
            labels,
            "direct response",
            text,
            MODE_LSR,
            now.stim_index,
        )

    def _restored(self, now: Observation) -> LsrCall:
        assert self.lost is not None
        loss = self.lost
        loss.restored = loss.back or now
        self.lost = None
        self._run = []
        b = self.baseline_for(now)
        chans = b.channels if b is not None else ()
        parts = []
        for ch in chans:
            r = now.results.get(ch)
            if r is not None and r.present and r.kind == KIND_DIRECT and r.amplitude_uv:
                parts.append(f"{r.label} {_mv(r.amplitude_uv)}")
        what = f": direct response on {', '.join(parts)}" if parts else ""
        text = (
            f"Stimulation reaches the nerve again{what} "
            f"(lost since {self.fmt(loss.first.stim_index)})."
        )
        return LsrCall(
            CALL_STIMULATION_RESTORED,
            loss.restored.stim_index,
            loss.restored.stim_number,
            tuple(self.labels[ch] for ch in chans),
            "direct response",
            text,
            MODE_LSR,
            now.stim_index,
        )

    # -- words --------------------------------------------------------------------------------
    @property
    def lost_since(self) -> int | None:
        """Pulse of the first sweep of the standing loss, or None."""
        return self.lost.first.stim_index if self.lost is not None else None

    def state(self) -> str:
        """``"lost"`` (called), ``"ok"`` (the latest sweep confirmed it), ``"unverified"``
        (nothing to check it by), ``"collecting"`` (no direct baseline yet) or ``""`` (no
        LSR-mode sweep yet)."""
        if self.lost is not None:
            return "lost"
        if self.last is None:
            return ""
        if self.last_baseline is None and not self.baselines:
            # No baseline from a full window with direct responses: none was solid.
            collecting = len(self._window) < self.s.baseline_n and self._has_direct_recently()
            return "collecting" if collecting else "unverified"
        return self.last_state or "unverified"

    def _has_direct_recently(self) -> bool:
        return any(
            r.kind == KIND_DIRECT and r.present for o in self._recent for r in o.results.values()
        )

    def status(self) -> str:
        """One line for the screen, e.g. ``"Stimulation OK — L Orb. oculi 1.1 mV"``."""
        state = self.state()
        if state == "lost":
            return "STIMULATION NOT REACHING THE NERVE"
        if state == "":
            return ""
        if state == "collecting":
            return (
                f"Stimulation: direct-response baseline {len(self._window)} of {self.s.baseline_n}"
            )
        b = self.last_baseline
        if state == "unverified" or b is None or not b.channels:
            return (  # ok here: the LSR showed it, with no direct baseline to compare
                "Stimulation OK (LSR present; no direct response)"
                if state == "ok"
                else "Stimulation not confirmed — no direct response to check it by"
            )
        if self._run:
            return (
                f"Stimulation: direct response low on {len(self._run)} of "
                f"{self.s.stim_lost_k} sweeps"
            )
        return self._ok_text(b)

    def _ok_text(self, b: DirectBaseline) -> str:
        """``Stimulation OK — L Orb. oculi 1.1 mV``: the largest direct response now."""
        assert self.last is not None
        found = [
            r
            for ch in b.channels
            if (r := self.last.results.get(ch)) is not None
            and r.judged
            and r.kind == KIND_DIRECT
            and r.present
            and r.amplitude_uv is not None
        ]
        if not found:
            return "Stimulation OK (LSR present; no direct response)"
        best = max(found, key=lambda r: r.amplitude_uv or 0.0)
        return f"Stimulation OK — {best.label} {_mv(best.amplitude_uv or 0.0)}"

    def summary(self, rate: float) -> dict:
        """The stimulation fields of ``summary.json["lsr"]``."""
        last = self.losses[-1] if self.losses else None
        b = self.last_baseline or (self.baselines[-1] if self.baselines else None)
        return {
            "stimulation_lost_at_s": None
            if last is None
            else round(last.first.stim_index / rate, 3),
            "stimulation_restored_at_s": None
            if last is None or last.restored is None
            else round(last.restored.stim_index / rate, 3),
            "stimulation_state": self.state() or None,
            "direct_baseline_uv": {}
            if b is None
            else {k: round(v, 1) for k, v in b.amplitude_uv.items()},
        }


# -- shared rules ---------------------------------------------------------------------------
def baseline_channels(
    obs: list[Observation], n_channels: int, margin: float, strict: bool
) -> list[int]:
    """Channels with a response at baseline (see :meth:`LsrTracker._baseline_channels`)."""
    out = []
    for ch in range(n_channels):
        rs = [o.results[ch] for o in obs if ch in o.results and o.results[ch].judged]
        pres = [r for r in rs if r.present]
        if not pres:
            continue
        if strict:
            amp = _median_of([r.amplitude_uv for r in pres])
            level = _median_of([r.level_uv for r in pres])
            if len(pres) >= max(1, len(obs) - 1) and amp >= margin * level:
                out.append(ch)
        elif len(pres) * 2 >= len(rs):
            out.append(ch)
    return out


def _direct_only(obs: Observation) -> Observation:
    """The sweep with only its direct-response results (other kinds judged absent)."""
    return Observation(
        obs.stim_index,
        obs.stim_number,
        obs.current_ma,
        obs.site,
        {ch: r for ch, r in obs.results.items() if r.kind == KIND_DIRECT},
        obs.stimulation,
    )


def _same_current(a: float, b: float, tolerance: float) -> bool:
    if not (math.isfinite(a) and math.isfinite(b)):
        return math.isfinite(a) == math.isfinite(b)
    return abs(a - b) <= tolerance * max(a, b)


def same_stimulus(a: Observation, b: Observation, tolerance: float) -> bool:
    if a.site != b.site:
        return False
    return _same_current(a.current_ma, b.current_ma, tolerance)


def baseline_medians(
    obs: list[Observation], chans: list[int] | tuple[int, ...], labels: tuple[str, ...]
) -> tuple[dict[str, float], dict[str, float]]:
    """A baseline's amplitude and latency by label: the medians over the sweeps where the
    channel's response was present."""
    amps, lats = {}, {}
    for ch in chans:
        pres = [o.results[ch] for o in obs if is_present(o, ch)]
        amps[labels[ch]] = _median_of([r.amplitude_uv for r in pres])
        lats[labels[ch]] = _median_of([r.latency_ms for r in pres])
    return amps, lats


def _median_of(values: list) -> float:
    """``float(np.median(values))`` of finite values (amplitudes, levels, latencies), by
    :func:`monitor.medians.median`: the same value without np.median's overhead (this runs
    for every channel on every sweep while a baseline is being collected)."""
    if not values:
        return float("nan")
    return median(np.array(values, float))


def collect_same_stimulus(window: deque[Observation], obs: Observation, tolerance: float) -> bool:
    """Add a judged sweep to a baseline's window of consecutive sweeps at one stimulus
    (a change of site or current starts it afresh); returns whether the window is full."""
    if not any(r.judged for r in obs.results.values()):
        return False
    if window and not same_stimulus(window[-1], obs, tolerance):
        window.clear()
    window.append(obs)
    return len(window) >= (window.maxlen or 0)


def is_present(obs: Observation, ch: int) -> bool:
    r = obs.results.get(ch)
    return r is not None and r.judged and r.present


def any_present(obs: Observation) -> bool:
    return any(r.judged and r.present for r in obs.results.values())


def _mv(uv: float) -> str:
    """``1.1 mV`` from 1130 µV; ``640 µV`` below 1 mV."""
    return f"{uv / 1000:.1f} mV" if uv >= 1000 else f"{uv:.0f} µV"
