"""The cohort of a folder run (``main.py analyze DIR --out OUT``): ``cohort.csv`` and
``cohort.html``.

One row per recording (columns in :data:`COLUMNS`, then one ``train_time_s[<label>]``
column per channel label met in the cohort; docs/archive.md). The CSV holds only what
the recordings say, never wall times or where a case ran, so the same folder gives the
same bytes however it was analysed (local processes or a Dask cluster); the page adds
those. Nothing here runs the analysis: rows in, files out.
"""

from __future__ import annotations

import csv
import io
import math
from html import escape
from pathlib import Path

from commands.report import clean_text
from commands.reportfigures import (
    FONT,
    INK,
    SHADE,
    WIDTH,
    nice_step,
    svg_figure,
    svg_number,
    svg_text,
)

#: The fixed columns of cohort.csv, in order; the per-channel train times follow.
COLUMNS = [
    "file",
    "status",
    "duration_s",
    "rate_hz",
    "channels",
    "channel_labels",
    "train_time_total_s",
    "a_trains",
    "highest_alarm",
    "lsr_baseline",
    "lsr_baseline_s",
    "lsr_disappeared",
    "lsr_disappeared_s",
    "stimulation_lost",
    "stimulation_lost_s",
    "gaps",
    "gap_s",
    "artifact_s",
]
TRAIN_PREFIX = "train_time_s["
PRIORITIES = ("none", "low", "medium", "high")


def _s(value: float | None) -> str:
    """Seconds with 3 decimals, or empty."""
    return "" if value is None else f"{value:.3f}"


def _yes(value: object) -> str:
    return "yes" if value else "no"


def failed_row(file: str, why: str) -> dict[str, str]:
    """The row of a recording that could not be analysed: ``status`` says why."""
    row = dict.fromkeys(COLUMNS, "")
    row["file"] = file
    row["status"] = " ".join(why.split()) or "failed"
    return row


def case_row(file: str, summary: dict, lsr_baseline_s: float | None) -> dict[str, str]:
    """The row of an analysed recording, from its ``summary.json``."""
    lsr = summary.get("lsr") or {}
    labels = [clean_text(lab) for lab in summary["channels"]]
    train = {clean_text(lab): t for lab, t in summary["traintime_s"].items()}
    priorities = [a["priority"].lower() for a in summary["alarms"]]
    highest = max(priorities, key=PRIORITIES.index, default="none")
    a_trains = sum(c.get("a_train", 0) for c in summary["events"].values())
    has_baseline = bool(lsr.get("baseline_uv"))
    row = {
        "file": file,
        "status": "ok",
        "duration_s": _s(summary["duration_s"]),
        "rate_hz": f"{summary['rate_hz']:g}",
        "channels": str(len(labels)),
        "channel_labels": ";".join(labels),
        "train_time_total_s": _s(round(sum(train.values()), 3)),
        "a_trains": str(a_trains),
        "highest_alarm": highest,
        "lsr_baseline": _yes(has_baseline),
        "lsr_baseline_s": _s(lsr_baseline_s) if has_baseline else "",
        "lsr_disappeared": _yes(lsr.get("disappeared_at_s") is not None),
        "lsr_disappeared_s": _s(lsr.get("disappeared_at_s")),
        "stimulation_lost": _yes(lsr.get("stimulation_lost_at_s") is not None),
        "stimulation_lost_s": _s(lsr.get("stimulation_lost_at_s")),
        "gaps": str(summary["gaps"]),
        "gap_s": _s(summary["gap_s"]),
        "artifact_s": _s(summary["artifact_s"]),
    }
    for label, seconds in train.items():
        row[f"{TRAIN_PREFIX}{label}]"] = _s(seconds)
    return row


def header(rows: list[dict[str, str]]) -> list[str]:
    """:data:`COLUMNS`, then each train-time column in the order first met."""
    extra: dict[str, None] = {}
    for row in rows:
        extra.update(dict.fromkeys(k for k in row if k.startswith(TRAIN_PREFIX)))
    return COLUMNS + list(extra)


def cohort_csv(rows: list[dict[str, str]]) -> str:
    """cohort.csv's text: rows sorted by file; a channel a case lacks is empty."""
    rows = sorted(rows, key=lambda r: r["file"])
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=header(rows), restval="", lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


def write_cohort(
    out: Path,
    results: list[dict],
    folders: dict[str, str],
    folder: str = "",
    where: str = "",
    wall_s: float | None = None,
) -> None:
    """``out/cohort.csv`` and ``out/cohort.html`` from the per-case results
    (``commands.analyze.analyse_case``); ``folders``: each file's results folder."""
    rows = [r["row"] for r in results]
    (out / "cohort.csv").write_text(cohort_csv(rows), encoding="utf-8", newline="")
    page = cohort_html(results, folders, folder, where, wall_s)
    (out / "cohort.html").write_text(page, encoding="utf-8")


# --- The page ---------------------------------------------------------------------------

STYLE = """
body { font-family: Helvetica, Arial, sans-serif; margin: 2em auto; padding: 0 1em;
       max-width: 1100px; color: #000; }
table { border-collapse: collapse; font-size: 12px; }
th, td { border: 1px solid #bbb; padding: 2px 5px; text-align: left; vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.failed td { background: #f3f3f3; }
.scroll { overflow-x: auto; }
figure { margin: 1em 0; }
figcaption { font-size: 13px; color: #333; }
"""

ROW_H = 18  # SVG units per case in the figures
LEFT = 230  # room for the file names
RIGHT = 70


def _fit(s: str, chars: int = 34) -> str:
    return s if len(s) <= chars else "…" + s[-(chars - 1) :]


def _axis(top: float, bottom: float, span: float, unit: str) -> tuple[list[str], float]:
    """Grid lines and tick labels along x for 0..span; returns (parts, units per value)."""
    plot_w = WIDTH - LEFT - RIGHT
    step = nice_step(span, 0.2)
    span = max(span, step)
    scale = plot_w / span
    parts = []
    k = 0
    while k * step <= span * 1.0001:
        x = LEFT + k * step * scale
        parts.append(
            f'<line x1="{svg_number(x)}" y1="{svg_number(top)}" '
            f'x2="{svg_number(x)}" y2="{svg_number(bottom)}" '
            f'stroke="{SHADE}" stroke-width="1"/>'
        )
        parts.append(svg_text(x, bottom + 14, f"{k * step:g}", "middle", FONT - 1))
        k += 1
    parts.append(svg_text(WIDTH - RIGHT, bottom + 28, unit, "end", FONT - 1))
    return parts, scale


def _num(row: dict[str, str], key: str) -> float | None:
    try:
        value = float(row.get(key) or "nan")
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def train_time_figure(rows: list[dict[str, str]]) -> str:
    """Total train time per case as horizontal bars (failed cases say so)."""
    top, bottom = 10, 10 + ROW_H * len(rows)
    values = [_num(r, "train_time_total_s") or 0.0 for r in rows]
    parts, scale = _axis(top, bottom, max([*values, 1.0]), "total train time (s)")
    for i, (row, v) in enumerate(zip(rows, values, strict=True)):
        y = top + i * ROW_H
        parts.append(svg_text(LEFT - 6, y + 13, _fit(row["file"]), "end"))
        if row["status"] != "ok":
            parts.append(svg_text(LEFT + 4, y + 13, "not analysed", size=FONT - 1))
            continue
        parts.append(
            f'<rect x="{LEFT}" y="{svg_number(y + 3)}" width="{svg_number(max(v * scale, 0.5))}" '
            f'height="{ROW_H - 6}" fill="{INK}"/>'
        )
        parts.append(svg_text(LEFT + v * scale + 4, y + 13, f"{v:.1f} s", size=FONT - 1))
    return svg_figure(bottom + 36, "".join(parts), "Total train time per case")


def lsr_figure(rows: list[dict[str, str]]) -> str:
    """Each case's length as a grey line, its LSR baseline (open circle), the LSR
    disappearance (black diamond) and a stimulation loss (cross), in minutes."""
    top, bottom = 10, 10 + ROW_H * len(rows)
    minutes = [(_num(r, "duration_s") or 0.0) / 60 for r in rows]
    parts, scale = _axis(top, bottom, max([*minutes, 0.1]), "time in the case (min)")
    for i, (row, length) in enumerate(zip(rows, minutes, strict=True)):
        y = top + i * ROW_H + ROW_H / 2
        parts.append(svg_text(LEFT - 6, y + 4, _fit(row["file"]), "end"))
        if row["status"] != "ok":
            parts.append(svg_text(LEFT + 4, y + 4, "not analysed", size=FONT - 1))
            continue
        parts.append(
            f'<line x1="{LEFT}" y1="{svg_number(y)}" '
            f'x2="{svg_number(LEFT + length * scale)}" y2="{svg_number(y)}" '
            f'stroke="#999" stroke-width="3"/>'
        )
        base = _num(row, "lsr_baseline_s")
        if base is not None:
            x = LEFT + base / 60 * scale
            parts.append(
                f'<circle cx="{svg_number(x)}" cy="{svg_number(y)}" r="4" fill="#fff" '
                f'stroke="{INK}"/>'
            )
        gone = _num(row, "lsr_disappeared_s")
        if gone is not None:
            x = LEFT + gone / 60 * scale
            parts.append(
                f'<path d="M{svg_number(x)} {svg_number(y - 6)}l6 6-6 6-6-6z" fill="{INK}"/>'
                + svg_text(x + 8, y + 4, f"{gone / 60:.1f} min", size=FONT - 1)
            )
        lost = _num(row, "stimulation_lost_s")
        if lost is not None:
            x = LEFT + lost / 60 * scale
            parts.append(
                f'<path d="M{svg_number(x - 5)} {svg_number(y - 5)}l10 10m0-10l-10 10" '
                f'stroke="{INK}" stroke-width="2"/>'
            )
    title = "LSR baseline, disappearance and stimulation loss"
    return svg_figure(bottom + 36, "".join(parts), title)


def _cell(column: str, value: str) -> str:
    text = column in ("file", "status", "channel_labels", "highest_alarm")
    numeric = not text and value not in ("yes", "no")
    return f'<td class="num">{escape(value)}</td>' if numeric else f"<td>{escape(value)}</td>"


def cohort_html(
    results: list[dict],
    folders: dict[str, str],
    folder: str = "",
    where: str = "",
    wall_s: float | None = None,
) -> str:
    """The cohort page: what was run, the two figures and the table with links to each
    case's report."""
    results = sorted(results, key=lambda r: r["file"])
    rows = [r["row"] for r in results]
    columns = header(rows)
    failed = sum(r["status"] != "ok" for r in rows)
    ok_rows = [r for r in rows if r["status"] == "ok"]
    gone = sum(r["lsr_disappeared"] == "yes" for r in ok_rows)
    run = f"{len(rows)} recordings from {escape(folder)}: {len(rows) - failed} analysed"
    run += f", {failed} not analysed" if failed else ""
    if where:
        run += f"; on {escape(where)}"
    if wall_s is not None:
        run += f", in {wall_s:.1f} s wall time"
    head = "".join(f"<th>{escape(c)}</th>" for c in columns) + "<th>wall time (s)</th>"
    body = []
    for result, row in zip(results, rows, strict=True):
        cells = "".join(_cell(c, row.get(c, "")) for c in columns[1:])
        link = f"{folders.get(row['file'], '')}/report.html"
        first = (
            f'<td><a href="{escape(link)}">{escape(row["file"])}</a></td>'
            if row["status"] == "ok"
            else f"<td>{escape(row['file'])}</td>"
        )
        cls = "" if row["status"] == "ok" else ' class="failed"'
        wall = f'<td class="num">{result.get("wall_s", 0.0):.2f}</td>'
        body.append(f"<tr{cls}>{first}{cells}{wall}</tr>")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Cohort: {len(rows)} recordings</title>
<style>{STYLE}</style></head><body>
<h1>Cohort</h1>
<p>{run}. LSR disappeared in {gone} of {len(ok_rows)} analysed cases. Each file links to
its own report; the table is also in <a href="cohort.csv">cohort.csv</a>.</p>
<h2>Total train time per case</h2>
<figure>{train_time_figure(rows)}<figcaption>The sum over channels of the time spent in
A-trains, per case.</figcaption></figure>
<h2>Lateral spread response</h2>
<figure>{lsr_figure(rows)}<figcaption>Grey: the length of the case. Open circle: the LSR
baseline complete; black diamond: the LSR disappeared (time written beside it); cross:
stimulation lost.</figcaption></figure>
<h2>Cases</h2>
<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>
{"".join(body)}
</tbody></table></div>
</body></html>
"""
