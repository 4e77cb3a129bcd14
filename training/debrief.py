"""The debrief: one page with what happened, what the monitor detected and what the
trainee did, on one timeline, and the scored items with reaction times.

HTML with an inline SVG timeline (no dependency; prints to PDF like the case report).
Moments are on the training clock (time since the instructor's Start, ``h:mm:ss``, as the
trainee's monitor showed it); kinds in words through ``words`` (the screen's own names,
:func:`presentation.names.kind_words`, passed in by the front end).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence
from pathlib import Path

from monitor.alarms import AlarmState, AlarmTransition
from monitor.events import EmgEvent
from monitor.monitoring import FreeRunMonitoring
from simulation.scenario_engine import ScenarioEngine, ScenarioTruth
from training.actions import A_TRAIN_CALL, CALL_NAMES, TraineeAction, TraineeLog
from training.clock import clock_text
from training.score import Limits, TraineeScore, score_trainee

WIDTH = 1000
LANE = 46
LEFT = 110
COLOURS = {
    "a_train": "#c000b0",
    "burst": "#00897b",
    "spike": "#555555",
    "b_train": "#1e60d0",
    "c_train": "#e65100",
    "cautery": "#9e9e9e",
    "artifact": "#9e9e9e",
    "lead_off": "#d00000",
    "disconnect": "#d00000",
    "lsr_gone": "#00a040",
    "lsr_back": "#00a040",
}
#: A kind's name in words: the front end passes the screen's; this is the fallback.
Words = Callable[[str], str]


def plain_words(kind: str) -> str:
    return kind.replace("_", " ")


def _at(truth: ScenarioTruth, index: int) -> str:
    """A moment on the training clock (time since the start), ``h:mm:ss``."""
    return clock_text(max(0, index - (truth.started_at or 0)), truth.rate)


PRIORITY = {1: "#00acc1", 2: "#f9a825", 3: "#d00000"}
VERDICT = {
    "ok": "#c8f0c8",
    "late": "#fff0a0",
    "missed": "#ffc0c0",
    "false call": "#ffc0c0",
    "not needed": "#eeeeee",
}


def timeline_svg(
    truth: ScenarioTruth,
    events: Sequence[EmgEvent],
    alarms: Sequence[AlarmTransition],
    actions: Sequence[TraineeAction],
    words: Words = plain_words,
) -> str:
    """Three lanes over the training clock (time since the start; the instructor's pauses
    and jumps do not fold it): Happened, Monitor, Trainee; phases as vertical lines."""
    marks = [truth.rendered_until, *(t.onset for t in truth.items)]
    marks += [t.offset for t in truth.items if t.offset is not None]
    span = max(1.0, *(truth.since_start_s(i) for i in marks))
    scale = (WIDTH - LEFT - 10) / span

    def x(index: int) -> float:
        return LEFT + truth.since_start_s(index) * scale

    start = truth.started_at or 0  # nothing before the start is shown (nor scored)
    events = [ev for ev in events if ev.onset >= start]
    alarms = [a for a in alarms if a.sample_index >= start]

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {3 * LANE + 40}" '
        f'width="100%" font-family="sans-serif" font-size="12">'
    ]
    for i, name in enumerate(("Happened", "Monitor", "Trainee")):
        y = 10 + i * LANE
        parts.append(
            f'<rect x="{LEFT}" y="{y}" width="{WIDTH - LEFT - 10}" height="{LANE - 8}" '
            'fill="#f4f4f4" stroke="#ccc"/>'
        )
        parts.append(f'<text x="6" y="{y + LANE / 2}">{name}</text>')
    for p in truth.phases:
        px = x(p.sample_index)
        parts.append(
            f'<line x1="{px:.1f}" y1="4" x2="{px:.1f}" y2="{3 * LANE + 6}" '
            'stroke="#888" stroke-dasharray="3,3"/>'
        )
        parts.append(f'<text x="{px + 2:.1f}" y="{3 * LANE + 20}">{html.escape(p.phase)}</text>')
    for t in truth.items:
        x0 = x(t.onset)
        x1 = x(t.offset) if t.offset is not None else x0
        colour = COLOURS.get(t.kind, "#333")
        parts.append(
            f'<rect x="{x0:.1f}" y="16" width="{max(2.0, x1 - x0):.1f}" '
            f'height="{LANE - 20}" fill="{colour}"><title>{html.escape(words(t.kind))} '
            f"{_at(truth, t.onset)}</title></rect>"
        )
    for ev in events:
        x0 = x(ev.onset)
        x1 = x(ev.offset if ev.offset is not None else ev.onset)
        colour = COLOURS.get(ev.kind.value, "#333")
        parts.append(
            f'<rect x="{x0:.1f}" y="{16 + LANE}" width="{max(2.0, x1 - x0):.1f}" '
            f'height="{LANE / 2 - 10}" fill="{colour}">'
            f"<title>{html.escape(words(ev.kind.value))} {_at(truth, ev.onset)}</title></rect>"
        )
    for a in alarms:
        if a.new is AlarmState.ACTIVE and a.old in (None, AlarmState.RESOLVED):
            ax, y = x(a.sample_index), 10 + LANE + LANE // 2
            parts.append(
                f'<path d="M{ax:.1f},{y + 14} l6,-12 l6,12 z" '
                f'fill="{PRIORITY.get(int(a.priority), "#333")}">'
                f"<title>{html.escape(a.text)}</title></path>"
            )
    for a in alarms:
        if a.reason == "acknowledged":
            ax, y = x(a.sample_index), 10 + 2 * LANE
            parts.append(f'<text x="{ax - 4:.1f}" y="{y + 30}" fill="#333">✓</text>')
    for c in actions:
        if c.before_start:
            continue  # not scored, not shown
        cx, y = x(c.sample_index), 10 + 2 * LANE + 8
        colour = COLOURS["a_train"] if c.kind == A_TRAIN_CALL else COLOURS["lsr_gone"]
        parts.append(
            f'<path d="M{cx:.1f},{y} l7,8 l-7,8 l-7,-8 z" fill="{colour}">'
            f"<title>{CALL_NAMES[c.kind]}</title></path>"
        )
    parts.append("</svg>")
    return "".join(parts)


def debrief_html(
    title: str,
    teaching: str,
    truth: ScenarioTruth,
    events: Sequence[EmgEvent],
    alarms: Sequence[AlarmTransition],
    actions: Sequence[TraineeAction],
    score: TraineeScore,
    words: Words = plain_words,
) -> str:
    e = html.escape
    rows = "".join(
        f"<tr style='background:{VERDICT.get(m.verdict, '#fff')}'>"
        f"<td>{_at(truth, m.at)}</td><td>{e(m.what)}</td>"
        f"<td>{'' if m.answered_at is None else _at(truth, m.answered_at)}</td>"
        f"<td>{'' if m.reaction_s is None else f'{m.reaction_s:.1f} s'}</td>"
        f"<td><b>{e(m.verdict)}</b></td></tr>"
        for m in score.marks
    )
    lim = score.limits
    # The teaching text's paragraphs (blank-line separated) stay paragraphs on the page.
    paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n", teaching) if p.strip()]
    intro = "\n".join(f"<p>{e(p)}</p>" for p in paragraphs)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Debrief — {e(title)}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; color: #111; }}
table {{ border-collapse: collapse; }} td, th {{ border: 1px solid #aaa; padding: .3em .6em; }}
@media print {{ body {{ margin: .5cm; }} tr {{ page-break-inside: avoid; }} }}
</style></head><body>
<h1>Debrief — {e(title)}</h1>
{intro}
<h2>Score</h2><p><b>{e(score.summary())}</b></p>
<p>Set times: alarms acknowledged within {lim.ack_within_s:g} s; A-trains called by
{lim.a_train_call_within_s:g} s after their end; the LSR's disappearance called within
{lim.lsr_call_within_s:g} s.</p>
<h2>Timeline</h2>
{timeline_svg(truth, events, alarms, actions, words)}
<p>Happened: the scenario's ground truth (A-trains magenta, cautery grey, lead-off and
disconnection red, LSR gone green; dashed lines are the phases). Monitor: the events it
detected and the alarms it raised (triangles by priority). Trainee: calls (diamonds) and
acknowledgements (✓).</p>
<h2>Item by item</h2>
<p>Times are the case clock: since the instructor's Start, as the monitor showed it.</p>
<table><tr><th>Case time</th><th>What</th><th>Trainee</th><th>Reaction</th><th>Verdict</th></tr>
{rows}</table>
</body></html>
"""


def write_debrief(
    path: Path,
    engine: ScenarioEngine,
    monitoring: FreeRunMonitoring,
    trainee: TraineeLog,
    limits: Limits | None = None,
    words: Words = plain_words,
) -> Path:
    """Score the trainee on the case so far and write the debrief page to ``path``; the
    set times are ``limits``, else the scenario's ``[training]`` table, else the defaults.
    ``words`` names the kinds (the front end passes the screen's own names)."""
    sc = engine.scenario
    truth = engine.truth()
    actions = trainee.actions()
    history = list(monitoring.alarms.history)
    score = score_trainee(truth, history, actions, limits or Limits(**sc.training_limits))
    events = monitoring.events()
    page = debrief_html(sc.title, sc.teaching, truth, events, history, actions, score, words)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path
