"""``report.html``: the end-of-case report of ``main.py analyze``, made to print on A4.

Sections, in reading order: case details, montage, train time per channel against its
thresholds, the LSR (verdict, figure at baseline and after its disappearance, calls),
figures of the key moments (the longest A-trains, alarms not shown otherwise), the notes
of the case, triggered-EMG thresholds, then the long lists (alarms, events, LSR per
stimulus). The figures are inline SVG (:mod:`commands.reportfigures`): the page is one
file with nothing to fetch, and prints sharp. The patient is never named: the case is
identified by its case id (:mod:`commands.casedetails`). Whatever the file brings (channel
labels, notes, header items) reaches the page without its control characters
(:func:`clean_text`).
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from commands.casedetails import CaseDetails
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
from commands.reportfigures import LsrRow, clock, lsr_figure, moment_figure, train_figure
from monitor.events import EmgEvent
from monitor.evoked.stimuli import DETECTED_SITE

MAX_ROWS = 2000  # of a long table; the CSV files hold every row
MAX_LSR_ROWS = 600
ALARM_FIGURES = 3
LSR_ROWS = 8  # channels in the LSR figure: it fits one A4 page

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
table.case th { width: 9em; }
tr.warn td { background: #fff3b0; } tr.high td { background: #ffc9c9; font-weight: bold; }
figure { margin: 1em 0 1.4em; }
figure svg { display: block; width: 100%; max-width: 18cm; height: auto; }
figcaption { font-size: 0.9em; margin-top: 0.3em; }
.muted { color: #444; }
@page { size: A4; margin: 14mm 12mm; }
@media print {
  body { margin: 0; padding: 0; max-width: none; font-size: 10pt; }
  h2 { break-after: avoid; page-break-after: avoid; }
  figure, tr, .keep { break-inside: avoid; page-break-inside: avoid; }
  thead { display: table-header-group; }
  tr.warn td, tr.high td, th { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
"""


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
    lsr_rows: Sequence[tuple[float, str, str]] = (),
    case: CaseDetails | None = None,
    notes: Sequence[CaseNote] = (),
    figures: Figures | None = None,
    filters: str = "",
) -> str:
    """The whole page (see the module docstring for its sections)."""
    figures = figures or Figures()
    start = case.start if case else None
    wall = wall_clock(start)
    name = Path(summary["recording"]).name
    counter = iter(range(1, 1000))
    body = [
        f"<h1>Facial nerve monitoring report</h1><p class='muted'>{_e(name)}</p>",
        case_section(case, summary) if case else "",
        montage_section(case, filters) if case else "",
        traintime_section(summary),
        "<h2>Lateral spread response</h2>",
        lsr_verdict(summary["lsr"]),
        _figure(figures.lsr, figures.lsr_caption, counter),
        key_moments_section(figures, counter),
        notes_section(notes, wall),
        triggered_section(summary.get("triggered_emg", {})),
        alarms_section(summary["alarms"]),
        events_section(events, labels, rate),
        lsr_table(lsr_rows),
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


def case_section(case: CaseDetails, summary: dict) -> str:
    start = case.start.strftime("%d %b %Y, %H:%M:%S") if case.start else "not in the file"
    rows = [
        ("Case id", _e(case.case_id) or "<span class='muted'>not in the file</span>"),
        ("Start", start),
        ("Duration", _duration(case.duration_s)),
        ("File", f"{_e(case.file_name)} ({_e(case.file_format)})"),
        ("Equipment", _e(case.equipment) or "<span class='muted'>not in the file</span>"),
    ]
    if case.technician:
        rows.append(("Technician", _e(case.technician)))
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


def montage_section(case: CaseDetails, filters: str) -> str:
    rows = [
        f"<tr><td>{_e(c.label)}</td><td>{_e(c.muscle) or '—'}</td><td>{c.side or '—'}</td>"
        f"<td>{_e(c.branch) or '—'}</td><td>{c.rate_hz:g} Hz</td>"
        f"<td>{_e(c.prefilter) or '<span class=muted>not stated</span>'}</td></tr>"
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


def alarms_section(alarms: list[dict]) -> str:
    rows = [
        f"<tr><td>{clock(a['time_s'])}</td><td>{_e(a['priority'])}</td><td>{_e(a['text'])}</td>"
        f"<td>{_e(a['state'])}</td></tr>"
        for a in alarms[:MAX_ROWS]
    ]
    if not rows:
        return "<h2>Alarms</h2><p>No alarm.</p>"
    return "<h2>Alarms</h2>" + _table(["Time", "Priority", "Condition", "State"], rows)


def events_section(events: list[EmgEvent], labels: Sequence[str], rate: float) -> str:
    rows = [
        f"<tr><td>{clock(ev.onset / rate)}</td>"
        f"<td>{_e('*' if ev.channel < 0 else labels[ev.channel])}</td>"
        f"<td>{_e(ev.kind.value.replace('_', '-'))}</td>"
        f"<td>{((ev.offset or ev.onset) - ev.onset) / rate:.2f} s</td>"
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


def lsr_table(rows: Sequence[tuple[float, str, str]]) -> str:
    """The LSR of every stimulus, one column per channel (the direct response's too);
    a rejected sweep says why."""
    if not rows:
        return ""
    by_time: dict[float, dict[str, str]] = {}
    for t, label, value in rows:
        by_time.setdefault(t, {})[label] = value
    labels = sorted({label for _, label, _ in rows})
    body = [
        f"<tr><td>{clock(t)}</td>" + "".join(_lsr_cell(v.get(lab, "")) for lab in labels) + "</tr>"
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
    return "<h2>LSR per stimulus</h2>" + note + _table(["Time", *map(_e, labels)], body) + more


def _lsr_cell(value: str) -> str:
    if value.startswith("rejected"):
        return f"<td class='muted'><i>{_e(value)}</i></td>"
    return f"<td>{_e(value)}</td>"
