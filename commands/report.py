"""``report.html``: the end-of-case report of ``main.py analyze``, made to print on A4 and sign.

Sections, in reading order: case details (with the people and the anaesthesia), the
conclusion in words, montage (with the filter when recorded), train time per channel against
its thresholds, the LSR (verdict, the direct-response control beside it, its trend over the
case, figure at baseline and after its disappearance, calls), figures of the key moments
(the longest A-trains, alarms not shown otherwise), the notes of the case, triggered-EMG
thresholds, the sign-off, then the long lists (alarms with the operator's acknowledgements
and audio pauses, events, LSR per stimulus). The figures are inline SVG
(:mod:`commands.reportfigures`): the page is one file with nothing to fetch, and prints
sharp. The patient is never named: the case is identified by its case id
(:mod:`commands.casedetails`). A name the recording and the command line do not give is a
blank line to fill by hand, never a guess. Whatever the file brings (channel labels,
notes, header items) reaches the page without its control characters (:func:`clean_text`).
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from commands.casedetails import AlarmAction, CaseDetails
from commands.casenotes import CaseNote
from commands.keymoments import (
    A_TRAIN_POST_S,
    A_TRAIN_PRE_S,
    A_TRAINS_SHOWN,
    ALARM_PRE_S,
    AlarmMoment,
    KeyMoments,
    TrainMoment,
)
from commands.reportfigures import (
    LsrRow,
    TrendRow,
    clock,
    lsr_figure,
    lsr_trend_figure,
    moment_figure,
    train_figure,
)
from monitor.events import EmgEvent, EventKind
from monitor.evoked import KIND_DIRECT
from monitor.evoked.stimuli import DETECTED_SITE

MAX_ROWS = 2000  # of a long table; the CSV files hold every row
MAX_LSR_ROWS = 600
ALARM_FIGURES = 3
LSR_ROWS = 8  # channels in the LSR figure: it fits one A4 page
PHASE_SWEEPS = 5  # sweeps that say what a channel did at the end of the recording
#: Event classes whose duration is shown in ms (the trains and artifacts in s).
SHORT_EVENTS = (EventKind.SPIKE, EventKind.BURST)
BLANK = "<span class='blank'></span>"  # a line to fill in by hand
OPERATOR = "operator, during the case"

_e = html.escape
# C0 and C1 control characters but tab and line breaks, and lone surrogates (no UTF-8 file
# holds one): a label or a note read from a file may carry any of them.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def clean_text(text: str) -> str:
    """``text`` with each control character (but tab and line breaks) as a space.

    Letters such as µ and é stay. For everything a recording brings into the report or a
    CSV file: a NUL or an escape sequence there would break the page or a terminal.
    """
    return _CONTROL.sub(" ", text)


STYLE = """
body { font-family: Helvetica, Arial, sans-serif; margin: 2em auto; padding: 0 1em;
       max-width: 19cm; color: #000; background: #fff; line-height: 1.35; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; } h2 { font-size: 1.2em; margin-top: 1.6em; }
table { border-collapse: collapse; margin: 0.6em 0 1em; }
td, th { border: 1px solid #888; padding: 0.25em 0.55em; text-align: left; vertical-align: top; }
th { background: #eee; }
table.case th { width: 10em; }
tr.warn td { background: #fff3b0; } tr.high td { background: #ffc9c9; font-weight: bold; }
figure { margin: 1em 0 1.4em; }
figure svg { display: block; width: 100%; max-width: 18cm; height: auto; }
figcaption { font-size: 0.9em; margin-top: 0.3em; }
.muted { color: #444; }
.blank { display: inline-block; min-width: 16em; height: 1.1em; border-bottom: 1px solid #000; }
table.signoff td { height: 2.6em; vertical-align: bottom; min-width: 9em; }
table.signoff td.sign { min-width: 16em; }
.conclusion { border: 1px solid #000; padding: 0.4em 0.9em; }
.line { height: 1.9em; margin: 0; border-bottom: 1px solid #000; }
@page { size: A4; margin: 14mm 12mm; }
@media print {
  body { margin: 0; padding: 0; max-width: none; font-size: 10pt; }
  h2 { break-after: avoid; page-break-after: avoid; }
  figure, tr, .keep { break-inside: avoid; page-break-inside: avoid; }
  thead { display: table-header-group; }
  tr.warn td, tr.high td, th { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
"""


@dataclass(frozen=True, slots=True)
class StimRow:
    """One channel's response to one stimulus (LSR or the direct response, the
    stimulation control), for the LSR table, its trend and the conclusion."""

    time_s: float
    label: str
    kind: str  # "lsr" or "direct"
    present: bool
    amplitude_uv: float | None = None
    latency_ms: float | None = None
    rejected: str = ""  # why the sweep was neither present nor absent

    @property
    def column(self) -> str:
        return f"{self.label} (direct)" if self.kind == KIND_DIRECT else self.label

    @property
    def judged(self) -> bool:
        return not self.rejected

    def cell(self) -> str:
        """``137 µV at 9.4 ms``, ``1.24 mV`` (direct), ``absent`` or ``rejected (cautery)``."""
        if self.rejected:
            return f"rejected ({self.rejected})"
        if not self.present or self.amplitude_uv is None:
            return "absent"
        if self.kind == KIND_DIRECT:
            return f"{self.amplitude_uv / 1000:.2f} mV"
        latency = f" at {self.latency_ms:.1f} ms" if self.latency_ms is not None else ""
        return f"{self.amplitude_uv:.0f} µV{latency}"


@dataclass
class Figures:
    """The report's figures as SVG text with what their captions need."""

    lsr: str = ""
    lsr_caption: str = ""
    trains: list[tuple[str, str]] = field(default_factory=list)  # (svg, caption)
    alarms: list[tuple[str, str]] = field(default_factory=list)


# -- figures ---------------------------------------------------------------------------------
def build_figures(
    moments: KeyMoments,
    labels: Sequence[str],
    rate: float,
    lsr: dict,
    lsr_window: Callable[[str], tuple[float, float]],
    wall: Callable[[float], str],
) -> Figures:
    """The figures of the key moments captured during the analysis."""
    figs = Figures()
    figs.lsr, figs.lsr_caption = _lsr_figure(moments, lsr, lsr_window)
    shown = moments.trains()
    for m in sorted(shown, key=lambda m: m.onset):
        figs.trains.append(_train_figure(m, labels, rate, wall))
    for a, also in _alarm_moments(_uncovered(moments.alarms(), shown)):
        figs.alarms.append(_alarm_figure(a, also, labels, rate, wall))
    return figs


def _train_figure(
    m: TrainMoment, labels: Sequence[str], rate: float, wall: Callable[[float], str]
) -> tuple[str, str]:
    assert m.trace is not None
    onset = m.onset / rate
    end = (m.offset if m.offset is not None else m.window.stop) / rate
    freq = f" at {m.freq_hz:.0f} Hz" if m.freq_hz else ""
    label = labels[m.channel]
    headline = f"A-train{freq}, {end - onset:.2f} s, {m.peak_uv:.0f} µV"
    svg = train_figure(m.trace, label, (onset, end), headline, half_uv=0.7 * m.peak_uv)
    shown_to = float(m.trace.times_s[-1])
    cut = f" The first {shown_to - onset:.1f} s of the train are shown." if shown_to < end else ""
    raised = "".join(f" It raised the {_e(text)}." for text in m.alarms)
    caption = (
        f"A-train on <b>{_e(label)}</b> at {clock(onset)}{wall(onset)}: "
        f"{end - onset:.2f} s{freq}, {m.peak_uv:.0f} µV peak to peak (the train shaded)."
        f"{raised}{cut}"
    )
    return svg, caption


def _uncovered(alarms: list[AlarmMoment], trains: list[TrainMoment]) -> list[AlarmMoment]:
    """Alarms whose moment no A-train figure of the same channel already shows (a lead
    off during a train, say), highest priority first, then in time order."""

    def covered(a: AlarmMoment) -> bool:
        ch = a.key.rsplit(":", 1)[1] if ":" in a.key else ""
        return any(
            str(t.channel) == ch and t.window.start <= a.index <= t.window.stop for t in trains
        )

    out = [a for a in alarms if not covered(a)]
    out.sort(key=lambda a: (-a.priority, a.index))
    return out


def _alarm_moments(
    alarms: list[AlarmMoment],
) -> list[tuple[AlarmMoment, list[AlarmMoment]]]:
    """The first ``ALARM_FIGURES`` alarms to draw, each with the others raised within its
    figure (one picture for alarms that came together)."""
    out: list[tuple[AlarmMoment, list[AlarmMoment]]] = []
    for a in alarms:
        home = next((o for o in out if o[0].window.start <= a.index < o[0].window.stop), None)
        if home is not None:
            home[1].append(a)
        elif len(out) < ALARM_FIGURES:
            out.append((a, []))
    return out


def _alarm_figure(
    a: AlarmMoment,
    also: list[AlarmMoment],
    labels: Sequence[str],
    rate: float,
    wall: Callable[[float], str],
) -> tuple[str, str]:
    at = a.index / rate
    priority = a.priority.label
    rows = [labels[ch] for ch in a.window.channels]
    svg = moment_figure(
        list(zip(rows, a.window.traces, strict=True)), at, f"{priority} alarm: {a.text}"
    )
    together = "; ".join(f"{_e(o.text)} ({clock(o.index / rate)})" for o in also)
    shown = (
        "Every channel" if len(rows) == len(labels) else f"{len(rows)} of {len(labels)} channels"
    )
    caption = (
        f"{priority}-priority alarm at {clock(at)}{wall(at)}: {_e(a.text)}."
        f"{f' Raised with it: {together}.' if together else ''} {shown} "
        f"{ALARM_PRE_S:g} s either side; the moment dashed."
    )
    return svg, caption


def _lsr_figure(
    moments: KeyMoments, lsr: dict, lsr_window: Callable[[str], tuple[float, float]]
) -> tuple[str, str]:
    """Baseline beside the sweeps that called the disappearance (or, when the LSR never
    disappeared, beside the last sweeps of the recording)."""
    b = moments.baseline
    base = moments.baseline_sweeps
    if b is None or not b.channels or not base:
        return "", ""
    later, kind = moments.gone_sweeps, "gone"
    if not later:
        later, kind = moments.last_sweeps(len(base)), "last"

    def size(ch: int) -> float:
        return -b.amplitude_uv.get(base[0].results[ch].label, 0.0)

    shown = sorted(sorted(b.channels, key=size)[:LSR_ROWS])  # the largest, in montage order
    rows = []
    for ch in shown:
        label = base[0].results[ch].label
        amp, lat = lsr["baseline_uv"].get(label), lsr["baseline_latency_ms"].get(label)
        judged = [s for s in later if s.results[ch].judged]
        rows.append(
            LsrRow(
                label=label,
                times_ms=base[0].times_ms(),
                baseline=[s.epoch[:, ch] for s in base if s.results[ch].judged],
                gone=[s.epoch[:, ch] for s in judged],
                window_ms=lsr_window(label),
                baseline_text=f"{amp:.0f} µV at {lat:.1f} ms" if amp and lat else "",
                gone_text=_presence_text([s.results[ch] for s in judged]),
            )
        )
    current = f", {b.current_ma:g} mA" if np.isfinite(b.current_ma) else ""
    site = f" {b.site}" if b.site and b.site != DETECTED_SITE else ""
    if b.site == DETECTED_SITE:
        site = "; stimuli found from their artifacts"
    caption = f"Lateral spread response at baseline ({_stimuli(base)}{current}{site})"
    if kind == "gone":
        titles = (f"Baseline ({_stimuli(base, False)})", f"Gone ({_stimuli(later, False)})")
        caption += f" and after it disappeared ({_stimuli(later)}: the sweeps that made the call)"
    elif later:
        titles = (f"Baseline ({_stimuli(base, False)})", f"Last ({_stimuli(later, False)})")
        caption += f" and at the end of the recording ({_stimuli(later)}); it did not disappear"
    else:
        titles = (f"Baseline ({_stimuli(base, False)})", "Later: no sweep at baseline current")
    if len(shown) < len(b.channels):
        caption += f"; the {len(shown)} of {len(b.channels)} channels with the largest LSR"
    caption += (
        ". Single sweeps grey, their mean black, both panels of a channel on one µV scale; "
        "the LSR window shaded; ▼ the stimulus."
    )
    return lsr_figure(rows, titles, second_kind=kind), caption


def _stimuli(sweeps: Sequence, times: bool = True) -> str:
    """``"stimuli 1–5, 0:00:02.0–0:00:06.0"``."""
    first, last = sweeps[0], sweeps[-1]
    text = f"stimuli {first.stim_number}–{last.stim_number}"
    if times:
        text += f", {clock(first.marker.index / first.rate)}–{clock(last.marker.index / last.rate)}"
    return text


def _presence_text(results: Sequence) -> str:
    """``"absent on 5 of 5 sweeps"`` or ``"present on 4 of 5 sweeps, 120 µV"``."""
    if not results:
        return ""
    present = [r.amplitude_uv for r in results if r.present and r.amplitude_uv is not None]
    if len(present) * 2 <= len(results):
        return f"absent on {len(results) - len(present)} of {len(results)} sweeps"
    return f"present on {len(present)} of {len(results)} sweeps, {np.median(present):.0f} µV"


# -- the page ---------------------------------------------------------------------------------
def wall_clock(start: dt.datetime | None) -> Callable[[float], str]:
    """``t -> " (09:00:12)"``: the clock time of a signal time, when the start is known."""
    if start is None:
        return lambda t: ""
    return lambda t: f" ({(start + dt.timedelta(seconds=t)).strftime('%H:%M:%S')})"


def report_html(
    summary: dict,
    events: list[EmgEvent],
    labels: Sequence[str],
    rate: float,
    stimuli: Sequence[StimRow] = (),
    case: CaseDetails | None = None,
    notes: Sequence[CaseNote] = (),
    figures: Figures | None = None,
    filters: str = "",
    generated: dt.datetime | None = None,
) -> str:
    """The whole page (see the module docstring for its sections).

    ``stimuli`` are the LSR and direct-response measurements of every stimulus, ``case``
    the header and first annotations with the people (any given on the command line
    already in), ``generated`` when the report was made (default now).
    """
    figures = figures or Figures()
    start = case.start if case else None
    wall = wall_clock(start)
    name = Path(summary["recording"]).name
    counter = iter(range(1, 1000))
    trend, trend_caption = lsr_trend(summary, stimuli)
    people = case.people if case else {}
    actions = case.alarm_actions if case else ()
    body = [
        f"<h1>Facial nerve monitoring report</h1><p class='muted'>{_e(name)}</p>",
        case_section(case, summary) if case else "",
        conclusion_section(summary, stimuli, actions, wall),
        montage_section(case, filters) if case else "",
        traintime_section(summary),
        "<h2>Lateral spread response</h2>",
        lsr_verdict(summary["lsr"]),
        control_section(summary["lsr"], stimuli),
        _figure(trend, trend_caption, counter),
        _figure(figures.lsr, figures.lsr_caption, counter),
        key_moments_section(figures, counter),
        notes_section(notes, wall),
        triggered_section(summary.get("triggered_emg", {})),
        signoff_section(people, case.monitored_by if case else "", generated),
        alarms_section(summary["alarms"], actions),
        events_section(events, labels, rate),
        lsr_table(stimuli),
        reading_section(summary["reader_messages"]),
    ]
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Facial nerve monitoring report — {_e(name)}</title>
<style>{STYLE}</style></head><body>
{"".join(body)}
</body></html>
"""
    # One pass over the whole page: the figures' SVG and every text from the file included.
    return clean_text(page)


def _figure(svg: str, caption: str, counter) -> str:
    if not svg:
        return ""
    return (
        f"<figure>{svg}<figcaption><b>Figure {next(counter)}.</b> {caption}</figcaption></figure>"
    )


def _table(head: Sequence[str], rows: Sequence[str], cls: str = "") -> str:
    th = "".join(f"<th>{h}</th>" for h in head)
    attr = f" class='{cls}'" if cls else ""
    return f"<table{attr}><thead><tr>{th}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _duration(seconds: float) -> str:
    s = round(seconds)
    if s < 60:
        return f"{seconds:.1f} s"
    return f"{s // 3600} h {s // 60 % 60:02d} min" if s >= 3600 else f"{s // 60} min {s % 60:02d} s"


def _or_blank(text: str) -> str:
    return _e(text) if text else BLANK


def case_section(case: CaseDetails, summary: dict) -> str:
    start = case.start.strftime("%d %b %Y, %H:%M:%S") if case.start else "not in the file"
    procedure = ", ".join(
        x for x in (case.procedure, f"{case.side} side" if case.side else "") if x
    )
    people = case.people
    rows = [
        ("Case id", _e(case.case_id) or "<span class='muted'>not in the file</span>"),
        ("Procedure", _or_blank(procedure)),
        ("Start", start),
        ("Duration", _duration(case.duration_s)),
        ("Surgeon", _or_blank(people.get("surgeon", ""))),
        ("Neurophysiologist", _or_blank(people.get("neurophysiologist", ""))),
        ("Anaesthesia", _or_blank(people.get("anaesthesia", ""))),
    ]
    monitored = case.monitored_by or case.technician
    if monitored:
        rows.append(("Monitored by", _e(monitored)))
    rows += [
        ("File", f"{_e(case.file_name)} ({_e(case.file_format)})"),
        ("Equipment", _e(case.equipment) or "<span class='muted'>not in the file</span>"),
    ]
    if case.patient_data_in_file:
        rows.append(("Patient", "identified in the file; not shown in this report"))
    rows.append(
        (
            "Signal",
            f"{len(summary['channels'])} channels at {summary['rate_hz']:g} Hz; "
            f"electrocautery/artifact {summary['artifact_s']:.1f} s; signal gaps "
            f"{summary['gaps']} ({summary['gap_s']:.2f} s)",
        )
    )
    cells = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows)
    return f"<h2>Case details</h2><table class='case keep'><tbody>{cells}</tbody></table>"


def _initial_filter(case: CaseDetails) -> str:
    """The monitor's filter at the first sample, as the recording annotates it."""
    return next((text for _, text in case.filters if "->" not in text), "")


def _filter_cell(prefilter: str, initial: str) -> str:
    if prefilter:
        return _e(prefilter)
    if initial:
        return f"{_e(initial)} <span class='muted'>(monitor; samples stored raw)</span>"
    return "<span class=muted>not stated</span>"


def recorded_filter_text(case: CaseDetails, wall: Callable[[float], str]) -> str:
    """What the recording says of the monitor's filter, in a sentence ("" if nothing)."""
    if not case.filters:
        return ""
    initial = _initial_filter(case)
    changes = [
        f"at {clock(t)}{wall(t)} from {_e(a.strip())} to {_e(b.strip())}"
        for t, text in case.filters
        if "->" in text
        for a, b in [text.split("->", 1)]
    ]
    said = (
        f"the monitor's screen and detectors filtered {_e(initial)} from the start"
        if initial
        else "the start's filter is not annotated"
    )
    changed = f"; it was changed {'; '.join(changes)}" if changes else "; it was not changed"
    return (
        f"<p>Filter when recorded: {said}{changed} (the recording's annotations). The file "
        "holds the raw samples: its prefilter fields are empty on purpose.</p>"
    )


def montage_section(case: CaseDetails, filters: str) -> str:
    initial = _initial_filter(case)
    rows = [
        f"<tr><td>{_e(c.label)}</td><td>{_e(c.muscle) or '—'}</td><td>{c.side or '—'}</td>"
        f"<td>{_e(c.branch) or '—'}</td><td>{c.rate_hz:g} Hz</td>"
        f"<td>{_filter_cell(c.prefilter, initial)}</td></tr>"
        for c in case.channels
    ]
    note = (
        f"<p>Filter of this analysis (the monitor's own, as on its screen): {_e(filters)}.</p>"
        if filters
        else ""
    )
    return (
        "<h2>Montage</h2>"
        + _table(
            ["Channel", "Muscle", "Side", "Nerve branch", "Rate", "Filter when recorded"], rows
        )
        + recorded_filter_text(case, wall_clock(case.start))
        + note
    )


def traintime_section(summary: dict) -> str:
    lo, hi = summary["traintime_thresholds_s"]
    rows = []
    for label, t in summary["traintime_s"].items():
        level = "high" if t >= hi else "warn" if t >= lo else "ok"
        n = summary["events"][label]
        rows.append(
            f"<tr class='{level}'><td>{_e(label)}</td><td>{t:.2f} s</td>"
            f"<td>{n.get('a_train', 0)}</td><td>{n.get('spike', 0)}</td>"
            f"<td>{n.get('burst', 0)}</td><td>{n.get('b_train', 0) + n.get('c_train', 0)}</td></tr>"
        )
    return (
        "<h2>Train time (A-trains) per channel</h2>"
        f"<p>Thresholds {lo:g} s and {hi:g} s (Prell et al. 2007): past {hi:g} s a profound "
        "deterioration of facial function is likely.</p>"
        + _table(["Channel", "Train time", "A-trains", "Spikes", "Bursts", "B/C-trains"], rows)
    )


def key_moments_section(figures: Figures, counter) -> str:
    if not figures.trains and not figures.alarms:
        return "<h2>Key moments</h2><p>No A-train and no alarm to show.</p>"
    parts = ["<h2>Key moments</h2>"]
    if figures.trains:
        parts.append(
            f"<p>The longest A-trains (up to {A_TRAINS_SHOWN}) and every train that took a "
            "channel's train time past a threshold, in time order: the channel's EMG as the "
            f"monitor showed it, from {A_TRAIN_PRE_S:g} s before the train to "
            f"{A_TRAIN_POST_S:g} s after it.</p>"
        )
    parts += [_figure(svg, caption, counter) for svg, caption in figures.trains]
    parts += [_figure(svg, caption, counter) for svg, caption in figures.alarms]
    return "".join(parts)


def notes_section(notes: Sequence[CaseNote], wall: Callable[[float], str]) -> str:
    if not notes:
        return "<h2>Notes</h2><p>No notes in this recording.</p>"
    rows = [
        f"<tr><td>{clock(n.time_s)}</td><td>{wall(n.time_s).strip(' ()') or '—'}</td>"
        f"<td>{'typed during the case' if n.typed else 'in the file'}</td>"
        f"<td>{_e(n.text)}</td></tr>"
        for n in notes[:MAX_ROWS]
    ]
    more = f"<p>The first {MAX_ROWS} of {len(notes)} notes.</p>" if len(notes) > MAX_ROWS else ""
    return "<h2>Notes</h2>" + _table(["Time", "Clock", "Source", "Note"], rows) + more


def _action_row(a: AlarmAction) -> tuple[float, str, str, str, str]:
    """(time, priority, condition, state, from) of an operator's action."""
    if a.kind == "audio paused":
        m, sec = divmod(round(a.pause_s), 60)
        until = clock(a.time_s + a.pause_s)
        what = f"Alarm sound paused for {m}:{sec:02d} (until {until} unless resumed)"
        return (a.time_s, "—", what, "audio paused", OPERATOR)
    if a.kind == "audio resumed":
        return (a.time_s, "—", "Alarm sound resumed", "audio resumed", OPERATOR)
    return (a.time_s, a.priority, a.text, "acknowledged", OPERATOR)


def alarms_section(alarms: list[dict], actions: Sequence[AlarmAction] = ()) -> str:
    """The analysis's alarms with the operator's acknowledgements and audio pauses from
    the recording, in time order."""
    merged = [(a["time_s"], a["priority"], a["text"], a["state"], "this analysis") for a in alarms]
    merged += [_action_row(a) for a in actions]
    merged.sort(key=lambda r: r[0])
    rows = [
        f"<tr><td>{clock(t)}</td><td>{_e(priority)}</td><td>{_e(text)}</td>"
        f"<td>{_e(state)}</td><td>{src}</td></tr>"
        for t, priority, text, state, src in merged[:MAX_ROWS]
    ]
    if not rows:
        return "<h2>Alarms</h2><p>No alarm.</p>"
    note = (
        "<p class='muted'>The alarms this analysis raised over the recording, and what the "
        "operator did during the case as the recording has it: acknowledgements (an alarm "
        "silenced until its condition changes) and audio pauses (every alarm sound, for a "
        "limited time).</p>"
    )
    if not actions:
        note = (
            "<p class='muted'>The alarms this analysis raised over the recording. The "
            "recording holds no acknowledgement and no audio pause.</p>"
        )
    more = f"<p>The first {MAX_ROWS} of {len(merged)} rows.</p>" if len(merged) > MAX_ROWS else ""
    return (
        "<h2>Alarms</h2>"
        + note
        + _table(["Time", "Priority", "Condition", "State", "From"], rows)
        + more
    )


def _event_duration(kind: EventKind, seconds: float) -> str:
    """Spikes and bursts in ms (a spike lasts a few), trains and artifacts in s."""
    if kind in SHORT_EVENTS:
        ms = seconds * 1000.0
        return f"{ms:.1f} ms" if ms < 10 else f"{ms:.0f} ms"
    return f"{seconds:.2f} s"


def events_section(events: list[EmgEvent], labels: Sequence[str], rate: float) -> str:
    rows = [
        f"<tr><td>{clock(ev.onset / rate)}</td>"
        f"<td>{_e('*' if ev.channel < 0 else labels[ev.channel])}</td>"
        f"<td>{_e(ev.kind.value.replace('_', '-'))}</td>"
        f"<td>{_event_duration(ev.kind, ((ev.offset or ev.onset) - ev.onset) / rate)}</td>"
        f"<td>{ev.peak_uv:.0f} µV</td>"
        f"<td>{'' if ev.freq_hz is None else f'{ev.freq_hz:.0f} Hz'}</td></tr>"
        for ev in events[:MAX_ROWS]
    ]
    more = (
        f"<p>The first {MAX_ROWS} of {len(events)} events; events.csv holds them all.</p>"
        if len(events) > MAX_ROWS
        else ""
    )
    return (
        "<h2>Events</h2>"
        + _table(["Time", "Channel", "Class", "Duration", "Amplitude", "Frequency"], rows)
        + more
    )


def reading_section(messages: Sequence[str]) -> str:
    if not messages:
        return ""
    items = "".join(f"<li>{_e(m)}</li>" for m in messages)
    return f"<h2>Reading the file</h2><ul>{items}</ul>"


def triggered_section(thresholds: dict) -> str:
    if not thresholds:
        return ""
    rows = [
        f"<tr><td>{_e(label)}</td><td>{_e(t['text'])}</td></tr>" for label, t in thresholds.items()
    ]
    return "<h2>Triggered EMG: response thresholds</h2>" + _table(["Channel", "Threshold"], rows)


# -- conclusion, control, trend, sign-off ----------------------------------------------------
def _ms(x: float) -> str:
    return f"{x / 1000:.2f} mV"


def _names(labels: Sequence[str]) -> str:
    """``A``, ``A and B``, ``A, B and C``."""
    items = [_e(x) for x in labels]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _rows(stimuli: Sequence[StimRow], label: str, kind: str, t0: float, t1: float) -> list:
    """The judged sweeps of one channel and kind within ``[t0, t1]`` s."""
    return [
        r
        for r in stimuli
        if r.label == label and r.kind == kind and r.judged and t0 <= r.time_s <= t1
    ]


def _last_rows(stimuli: Sequence[StimRow], label: str, kind: str) -> list:
    judged = [r for r in stimuli if r.label == label and r.kind == kind and r.judged]
    return judged[-PHASE_SWEEPS:]


def _median_present(rows: Sequence[StimRow]) -> float | None:
    """The median amplitude when most sweeps were present, else None."""
    amps = [r.amplitude_uv for r in rows if r.present and r.amplitude_uv is not None]
    if not rows or len(amps) * 2 <= len(rows):
        return None
    return float(np.median(amps))


def _phase(rows: Sequence[StimRow], direct: bool) -> str:
    """``present on 5 of 5, 150 µV`` / ``absent on 5 of 5`` / ``—`` (no judged sweep)."""
    if not rows:
        return "—"
    amp = _median_present(rows)
    present = sum(r.present for r in rows)
    if amp is None:
        return f"absent on {len(rows) - present} of {len(rows)}"
    return f"present on {present} of {len(rows)}, {_ms(amp) if direct else f'{amp:.0f} µV'}"


def _disappearance_call(lsr: dict) -> dict | None:
    gone = lsr.get("disappeared_at_s")
    calls = [c for c in lsr.get("calls", []) if c["kind"] == "disappeared"]
    return next((c for c in reversed(calls) if c["time_s"] == gone), None)


def _direct_labels(lsr: dict, stimuli: Sequence[StimRow]) -> list[str]:
    labels = list(lsr.get("direct_baseline_uv") or {})
    for r in stimuli:
        if r.kind == KIND_DIRECT and r.label not in labels:
            labels.append(r.label)
    return labels


def _lsr_labels(lsr: dict, stimuli: Sequence[StimRow]) -> list[str]:
    labels = list(lsr.get("baseline_uv") or {})
    if not labels:  # no baseline: the channels with an LSR at some stimulus
        for r in stimuli:
            if r.kind != KIND_DIRECT and r.present and r.label not in labels:
                labels.append(r.label)
    return labels[:LSR_ROWS]


def _direct_state(lsr: dict, stimuli: Sequence[StimRow], t0: float, t1: float | None = None) -> str:
    """How the direct response was over ``[t0, t1]`` s (None: the last sweeps), against its
    baseline: the check that the stimulus reached the nerve."""
    labels = _direct_labels(lsr, stimuli)
    if not labels:
        return (
            "no channel recorded the stimulated branch's direct response, so that the "
            "stimulus still reached the nerve could not be checked"
        )
    kept, lost = [], []
    for label in labels:
        rows = (
            _last_rows(stimuli, label, KIND_DIRECT)
            if t1 is None
            else _rows(stimuli, label, KIND_DIRECT, t0, t1)
        )
        amp = _median_present(rows)
        base = (lsr.get("direct_baseline_uv") or {}).get(label)
        than = f", {_ms(base)} at baseline" if base else ""
        if amp is not None:
            kept.append(f"{_e(label)} {_ms(amp)}{than}")
        elif rows:
            lost.append(_e(label))
    if kept and not lost:
        return f"the direct response maintained ({'; '.join(kept)})"
    if lost and not kept:
        return (
            f"the direct response absent too on {', '.join(lost)}: the stimulation may not "
            "have reached the nerve"
        )
    if kept:
        return f"the direct response maintained on {'; '.join(kept)}, absent on {', '.join(lost)}"
    return "no judged sweep of the direct response to check the stimulation by"


def lsr_conclusion(lsr: dict, stimuli: Sequence[StimRow], wall: Callable[[float], str]) -> str:
    """The LSR's outcome in one or two sentences, with the stimulation control."""
    if not lsr.get("analysed", True):
        return _e(lsr.get("reason") or "The LSR was not measured.")
    if not lsr.get("sweeps"):
        return "No stimulation in this recording: the lateral spread response was not monitored."
    base = lsr.get("baseline_uv") or {}
    if not base:
        return (
            f"No LSR baseline: none of the {lsr['sweeps']} stimuli gave a lateral spread "
            "response to compare with, so its disappearance could not be judged."
        )
    gone = lsr.get("disappeared_at_s")
    parts = []
    if gone is not None:
        call = _disappearance_call(lsr)
        until = call["reported_s"] if call else gone
        channels = f" on {_names(call['channels'])}" if call and call["channels"] else ""
        text = (
            f"<strong>The LSR disappeared at {clock(gone)}{wall(gone)}</strong>{channels} with "
            f"{_direct_state(lsr, stimuli, gone, until)}, and stayed absent to the end of the "
            "recording."
        )
        caveat = lsr.get("disappearance_caveat")
        if caveat:
            text += f" Caveat: {_e(caveat)}."
        parts.append(text)
    else:
        calls = lsr.get("calls", [])
        back = [c for c in calls if c["kind"] == "reappeared"]
        went = [c for c in calls if c["kind"] == "disappeared"]
        before = (
            f"The LSR disappeared at {clock(went[-1]['time_s'])}{wall(went[-1]['time_s'])} but "
            f"reappeared at {clock(back[-1]['time_s'])}{wall(back[-1]['time_s'])}. "
            if went and back
            else ""
        )
        still, faded = [], []
        for label, b in base.items():
            amp = _median_present(_last_rows(stimuli, label, "lsr"))
            if amp is not None:
                still.append(f"{_e(label)} {amp:.0f} µV ({b:.0f} µV at baseline)")
            else:
                faded.append(_e(label))
        end = (
            f"at the end of the recording it was still present on {'; '.join(still)}"
            if still
            else "it was absent on the last sweeps, not long enough to call a disappearance"
        )
        parts.append(
            f"{before}<strong>The LSR did not disappear</strong>: {end}"
            + (f", absent on {', '.join(faded)}" if still and faded else "")
            + f"; {_direct_state(lsr, stimuli, 0.0)} at the end."
        )
    lost = lsr.get("stimulation_lost_at_s")
    if lost is not None:
        restored = lsr.get("stimulation_restored_at_s")
        again = (
            f"; it reached the nerve again from {clock(restored)}{wall(restored)}"
            if restored is not None
            else ", and did not reach it again before the end"
        )
        parts.append(
            f"<strong>Stimulation was lost at {clock(lost)}{wall(lost)}</strong>: the direct "
            f"response disappeared with the LSR{again}. No disappearance is called while the "
            "stimulus does not reach the nerve."
        )
    return " ".join(parts)


def traintime_conclusion(summary: dict) -> str:
    """Train time in a sentence against its thresholds (Prell et al. 2007)."""
    lo, hi = summary["traintime_thresholds_s"]
    tt = summary["traintime_s"]
    n = sum(c.get("a_train", 0) for c in summary["events"].values())
    if not n or not tt:
        return "No A-train: the train time is 0 s on every channel."
    total = sum(tt.values())
    each = ", ".join(
        f"{_e(k)} {t:.2f} s" for k, t in sorted(tt.items(), key=lambda kv: -kv[1]) if t
    )
    over_hi = [f"{_e(k)} ({t:.2f} s)" for k, t in tt.items() if t >= hi]
    over_lo = [f"{_e(k)} ({t:.2f} s)" for k, t in tt.items() if lo <= t < hi]
    text = f"{n} A-train{'s' if n != 1 else ''}, total train time {total:.2f} s ({each})."
    if over_hi:
        return (
            f"{text} <strong>Train time passed {hi:g} s on {', '.join(over_hi)}</strong>: a "
            "profound deterioration of facial function is likely."
        )
    if over_lo:
        return (
            f"{text} Train time passed the {lo:g} s threshold on {', '.join(over_lo)}; no "
            f"channel reached {hi:g} s."
        )
    return f"{text} Below {lo:g} s on every channel."


def alarms_conclusion(alarms: list[dict], actions: Sequence[AlarmAction]) -> str:
    raised = [a for a in alarms if a["state"] == "active"]
    if not raised and not actions:
        return "No alarm."
    counts = {p: sum(a["priority"] == p for a in raised) for p in ("High", "Medium", "Low")}
    how = ", ".join(f"{n} {p.lower()}" for p, n in counts.items() if n)
    text = f"{len(raised)} alarm{'s' if len(raised) != 1 else ''} raised by this analysis" + (
        f" ({how} priority)." if how else "."
    )
    if actions:
        acks = sum(a.kind == "acknowledged" for a in actions)
        pauses = sum(a.kind == "audio paused" for a in actions)
        text += (
            f" During the case the operator acknowledged {acks} alarm{'s' if acks != 1 else ''} "
            f"and paused the alarm sound {pauses} time{'s' if pauses != 1 else ''}."
        )
    return text


def conclusion_section(
    summary: dict,
    stimuli: Sequence[StimRow],
    actions: Sequence[AlarmAction],
    wall: Callable[[float], str],
) -> str:
    """The outcome in words, from the analysis (LSR with its control, train time, alarms)."""
    items = [
        lsr_conclusion(summary["lsr"], stimuli, wall),
        traintime_conclusion(summary),
        alarms_conclusion(summary["alarms"], actions),
    ]
    text = "".join(f"<p>{x}</p>" for x in items if x)
    return (
        "<h2>Conclusion</h2><div class='conclusion keep'>"
        f"{text}<p class='muted'>Written by the analysis from the recording; the "
        "neurophysiologist's interpretation and the signatures are under Sign-off.</p></div>"
    )


def control_section(lsr: dict, stimuli: Sequence[StimRow]) -> str:
    """The LSR beside its stimulation control, the direct response of the stimulated
    branch: at baseline, at the disappearance (the sweeps that made the call) and at the
    end. LSR gone with the direct response present is a disappearance; both gone is the
    stimulation lost."""
    lsr_labels, direct = _lsr_labels(lsr, stimuli), _direct_labels(lsr, stimuli)
    if not stimuli or not (lsr_labels or direct):
        return ""
    call = _disappearance_call(lsr)
    head = ["Channel", "Response", "Baseline"]
    if call:
        head.append(f"At the disappearance ({clock(call['time_s'])}–{clock(call['reported_s'])})")
    head.append(f"End (last {PHASE_SWEEPS} sweeps)")
    rows = []
    for label, kind in [*((x, "lsr") for x in lsr_labels), *((x, KIND_DIRECT) for x in direct)]:
        is_direct = kind == KIND_DIRECT
        if is_direct:
            b = (lsr.get("direct_baseline_uv") or {}).get(label)
            base = _ms(b) if b else "—"
        else:
            b, lat = lsr["baseline_uv"].get(label), lsr["baseline_latency_ms"].get(label)
            base = f"{b:.0f} µV at {lat:.1f} ms" if b and lat else "—"
        cells = [_e(label), "direct response (control)" if is_direct else "LSR", base]
        if call:
            cells.append(
                _phase(_rows(stimuli, label, kind, call["time_s"], call["reported_s"]), is_direct)
            )
        cells.append(_phase(_last_rows(stimuli, label, kind), is_direct))
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return (
        "<p>The LSR beside its control, the stimulated branch's direct response: the LSR "
        "gone with the direct response present is a real disappearance; both gone is the "
        "stimulation lost.</p>" + _table(head, rows, "keep")
    )


def lsr_trend(summary: dict, stimuli: Sequence[StimRow]) -> tuple[str, str]:
    """The LSR trend figure and its caption ("" without stimuli)."""
    lsr = summary["lsr"]
    lsr_labels, direct = _lsr_labels(lsr, stimuli), _direct_labels(lsr, stimuli)
    if not stimuli or not (lsr_labels or direct):
        return "", ""
    rows = []
    for label, kind in [*((x, "lsr") for x in lsr_labels), *((x, KIND_DIRECT) for x in direct)]:
        mine = [r for r in stimuli if r.label == label and r.kind == kind]
        values = np.array(
            [np.nan if r.rejected else (r.amplitude_uv or 0.0) if r.present else 0.0 for r in mine]
        )
        is_direct = kind == KIND_DIRECT
        base = (lsr.get("direct_baseline_uv") if is_direct else lsr.get("baseline_uv")) or {}
        rows.append(
            TrendRow(
                label=label,
                kind=kind,
                times_s=np.array([r.time_s for r in mine]),
                values=values,
                present=np.array([r.present and not r.rejected for r in mine]),
                baseline=base.get(label),
                unit="mV" if is_direct else "µV",
                scale=1000.0 if is_direct else 1.0,
            )
        )
    lost = []
    start = None
    for c in lsr.get("calls", []):
        if c["kind"] == "stimulation_lost" and start is None:
            start = c["time_s"]
        elif c["kind"] == "stimulation_restored" and start is not None:
            lost.append((start, c["time_s"]))
            start = None
    if start is not None:
        lost.append((start, summary["duration_s"]))
    gone = lsr.get("disappeared_at_s")
    svg = lsr_trend_figure(rows, (0.0, summary["duration_s"]), gone, lost)
    caption = (
        "The LSR over the case: the peak-to-peak amplitude at every stimulus, one row per "
        "channel on its own scale (a dot where present, a ring on the zero line where "
        "absent, a break where the sweep was rejected), the baseline dashed"
    )
    if direct:
        caption += (
            "; last, the stimulated branch's direct response (mV), the check that the "
            "stimulus reached the nerve"
        )
    if gone is not None:
        caption += f"; the disappearance at {clock(gone)} a dashed line across"
    if lost:
        caption += "; the stimulation lost shaded"
    return svg, caption + "."


def signoff_section(
    people: dict[str, str], monitored_by: str = "", generated: dt.datetime | None = None
) -> str:
    """Interpretation lines and the signatures: names where the case gave them, blank
    lines to fill by hand where it did not (never a guess)."""
    when = (generated or dt.datetime.now()).strftime("%d %b %Y, %H:%M")
    roles = [
        ("Neurophysiologist", people.get("neurophysiologist", "")),
        ("Surgeon", people.get("surgeon", "")),
    ]
    rows = [
        f"<tr><th>{role}</th><td class='name'>{_or_blank(name)}</td><td>{BLANK}</td>"
        f"<td class='sign'>{BLANK}</td></tr>"
        for role, name in roles
    ]
    by = f" Monitored by {_e(monitored_by)}." if monitored_by else ""
    return (
        "<h2>Sign-off</h2><div class='keep'>"
        "<p>Interpretation (the neurophysiologist's own words):</p>"
        + "<p class='line'>&nbsp;</p>" * 3
        + _table(["Role", "Name", "Date", "Signature"], rows, "signoff")
        + f"<p class='muted'>Report made on {when} by Facial Nerve Monitor from the "
        f"recording.{by} Names come from the case set-up recorded with the case or from "
        "the analyze command line; a blank line is one neither gave.</p></div>"
    )


def lsr_verdict(lsr: dict) -> str:
    """The LSR's outcome, the stimulation control (the direct response) and the calls."""
    if not lsr.get("analysed", True):
        n = lsr.get("stimuli_not_analysed", 0)
        count = f" {n} stimul{'us was' if n == 1 else 'i were'} not analysed." if n else ""
        return f"<p><strong>{_e(lsr.get('reason') or 'LSR not measured.')}</strong>{count}</p>"
    if not lsr.get("sweeps"):
        return "<p>No stimuli in this recording.</p>"
    base = ", ".join(f"{_e(k)} {v:.0f} µV" for k, v in lsr["baseline_uv"].items()) or "none"
    gone = lsr["disappeared_at_s"]
    caveat = lsr.get("disappearance_caveat") or ""
    if gone is not None:
        verdict = (
            f"<p><strong>LSR disappeared at {clock(gone)}</strong> "
            f"(criterion {_e(lsr['criterion'])})"
            + (f"; <strong>{_e(caveat)}</strong>" if caveat else "")
            + ".</p>"
        )
    else:
        verdict = "<p><strong>The LSR did not disappear.</strong></p>"
    calls = "".join(f"<li>{clock(c['time_s'])} — {_e(c['text'])}</li>" for c in lsr["calls"])
    return (
        f"{verdict}{stimulation_text(lsr)}<p>Stimuli: {lsr['sweeps']}. Baseline: {base}."
        f"{rejected_text(lsr)}</p>"
        f"{f'<ul>{calls}</ul>' if calls else ''}"
    )


def stimulation_text(lsr: dict) -> str:
    """Whether the stimulus reached the nerve, as the direct response showed it."""
    direct = lsr.get("direct_baseline_uv") or {}
    lost = lsr.get("stimulation_lost_at_s")
    if lost is not None:
        back = lsr.get("stimulation_restored_at_s")
        until = (
            f"; it reached it again from {clock(back)}"
            if back is not None
            else ", and did not reach it again before the end"
        )
        return (
            f"<p><strong>Stimulation lost at {clock(lost)}</strong>: the direct response "
            f"disappeared with the LSR, so the stimulus no longer reached the nerve (a "
            f"displaced stimulating electrode){until}. No disappearance is called while the "
            "stimulus does not reach the nerve.</p>"
        )
    if direct:
        where = ", ".join(f"{_e(k)} {v / 1000:.2f} mV" for k, v in direct.items())
        return (
            f"<p>Stimulation checked on every stimulus by the stimulated branch's direct "
            f"response (baseline {where}): it reached the nerve throughout.</p>"
        )
    return (
        "<p class='muted'>No channel recorded the stimulated branch's direct response: "
        "that the stimulus reached the nerve could not be checked.</p>"
    )


def rejected_text(lsr: dict) -> str:
    """`` 7 stimuli rejected (cautery 4, spontaneous activity 3).``"""
    counts = lsr.get("rejected_sweeps") or {}
    n = sum(counts.values())
    if not n:
        return ""
    why = ", ".join(f"{_e(k)} {v}" for k, v in sorted(counts.items(), key=lambda kv: -kv[1]))
    stimuli = "stimulus" if n == 1 else "stimuli"
    return (
        f" {n} {stimuli} with channels rejected ({why}): those channels were neither "
        "present nor absent."
    )


def lsr_table(stimuli: Sequence[StimRow]) -> str:
    """The LSR of every stimulus, one column per channel (the direct response's too);
    a rejected sweep says why."""
    if not stimuli:
        return ""
    by_time: dict[float, dict[str, str]] = {}
    columns: dict[str, None] = {}  # in the order the channels come (the montage's)
    for r in stimuli:
        by_time.setdefault(r.time_s, {})[r.column] = r.cell()
        columns.setdefault(r.column)
    body = [
        f"<tr><td>{clock(t)}</td>" + "".join(_lsr_cell(v.get(c, "")) for c in columns) + "</tr>"
        for t, v in list(by_time.items())[:MAX_LSR_ROWS]
    ]
    more = (
        f"<p>The first {MAX_LSR_ROWS} of {len(by_time)} stimuli; stim_responses.csv holds "
        "them all.</p>"
        if len(by_time) > MAX_LSR_ROWS
        else ""
    )
    note = (
        "<p class='muted'>A rejected sweep (cautery, saturation, movement, spontaneous "
        "activity, a gap) was neither present nor absent: it counted towards neither the "
        "baseline nor a disappearance. The (direct) columns are the stimulated branch's own "
        "response, the check that the stimulus reached the nerve.</p>"
    )
    return "<h2>LSR per stimulus</h2>" + note + _table(["Time", *map(_e, columns)], body) + more


def _lsr_cell(value: str) -> str:
    if value.startswith("rejected"):
        return f"<td class='muted'><i>{_e(value)}</i></td>"
    return f"<td>{_e(value)}</td>"
