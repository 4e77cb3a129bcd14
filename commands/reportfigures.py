"""Figures of the end-of-case report as inline SVG: arrays in, SVG text out.

Black on white, thin lines, a light grey shade for what the figure is about (the
A-train, the LSR window), µV and time (ms) scale bars, and text of at least 11 units in a
720-unit wide drawing, which the report prints 18 cm wide on A4 (about 8 pt). Nothing here
reads files or knows the pipeline: the report hands in traces and sweeps.

Long signals are reduced by :func:`minmax_decimate` (the minimum and the maximum of each
of a few hundred bins, in time order), which keeps every peak, so a figure's peak-to-peak
is the signal's.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

import numpy as np

WIDTH = 720  # SVG units; the report prints it 18 cm wide
FONT = 12  # text size in SVG units (about 8.5 pt on paper)
INK = "#000"
SHADE = "#e4e4e4"  # what the figure is about
SWEEP_INK = "#8c8c8c"  # single sweeps under their mean
TRACE_POINTS = 1600  # points per decimated trace: 800 min/max pairs
SWEEP_POINTS = 200  # points per single LSR sweep drawn under the mean
TENTHS = 10  # polyline points are written in tenths of a unit
_STEPS = (1.0, 2.0, 5.0)
_BOLD_CHANNEL = {"font_weight": "bold", "class_": "channel"}


@dataclass(frozen=True)
class Trace:
    """A signal to draw: ``values`` (µV) at ``times_s`` (s, increasing; NaN = no signal)."""

    times_s: np.ndarray
    values: np.ndarray


@dataclass(frozen=True)
class LsrRow:
    """One channel of the LSR figure: baseline and after-disappearance sweeps.

    ``baseline``/``gone`` are sweeps sampled at ``times_ms`` (ms after the pulse), each a
    1-D array in µV (NaN where there was no signal); ``window_ms`` is the channel's LSR
    window (shaded); ``*_text`` is the line written in the panel (``"170 µV at 9.2 ms"``,
    ``"absent on 5 of 5 sweeps"``).
    """

    label: str
    times_ms: np.ndarray
    baseline: Sequence[np.ndarray]
    gone: Sequence[np.ndarray]
    window_ms: tuple[float, float] = (6.0, 20.0)
    baseline_text: str = ""
    gone_text: str = ""


def minmax_decimate(
    values: np.ndarray, rate: float, t0_s: float = 0.0, n_points: int = TRACE_POINTS
) -> Trace:
    """Reduce a signal to about ``n_points`` points that keep every peak.

    Parameters
    ----------
    values : ndarray
        Samples (µV), NaN where there was no signal.
    rate : float
        Samples per second.
    t0_s : float
        Time of the first sample.
    n_points : int
        Points wanted (two per bin: the bin's minimum and maximum, in time order).

    Returns
    -------
    Trace
        The signal itself when it has no more than ``n_points`` samples.
    """
    y = np.asarray(values, dtype=np.float64)
    n = len(y)
    bins = max(1, n_points // 2)
    if n <= n_points:
        return Trace(t0_s + np.arange(n) / rate, y.copy())
    k = math.ceil(n / bins)
    bins = math.ceil(n / k)
    padded = np.full(bins * k, np.nan)
    padded[:n] = y
    grid = padded.reshape(bins, k)
    holes = np.isnan(grid)
    lo_at = np.argmin(np.where(holes, np.inf, grid), axis=1)
    hi_at = np.argmax(np.where(holes, -np.inf, grid), axis=1)
    first = np.minimum(lo_at, hi_at)
    second = np.maximum(lo_at, hi_at)
    rows = np.arange(bins)
    idx = np.column_stack([rows * k + first, rows * k + second]).reshape(-1)
    vals = np.column_stack([grid[rows, first], grid[rows, second]]).reshape(-1)
    return Trace(t0_s + idx / rate, vals)


def nice_step(span: float, fraction: float = 0.25) -> float:
    """A 1-2-5 number near ``fraction`` of ``span`` (never above it): scale-bar lengths."""
    if not (span > 0 and math.isfinite(span)):
        return 1.0
    target = span * fraction
    power = 10.0 ** math.floor(math.log10(target))
    best = power
    for step in _STEPS:
        if step * power <= target * 1.5:
            best = step * power
    return best


def svg_number(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".")


def svg_text(x: float, y: float, s: str, anchor: str = "start", size: int = FONT, **extra) -> str:
    attrs = "".join(
        f" {k.rstrip('_').replace('_', '-')}={quoteattr(str(v))}" for k, v in extra.items()
    )
    return (
        f'<text x="{svg_number(x)}" y="{svg_number(y)}" font-size="{size}" '
        f'text-anchor="{anchor}"{attrs}>'
        f"{escape(s)}</text>"
    )


def _fit(label: str, width: float) -> str:
    """``label`` shortened with … to fit ``width`` units of bold text."""
    most = max(4, int(width / 7.6))
    return label if len(label) <= most else label[: most - 1] + "…"


def _polylines(xs: np.ndarray, ys: np.ndarray, cls: str, colour: str, width: float) -> str:
    """One ``<polyline>`` per unbroken run of finite points (NaN: no signal, a break).

    Points are written as whole tenths of a unit under ``scale(0.1)``: integers format
    three times faster than decimals, and a report holds tens of thousands of points.
    """
    ok = np.isfinite(xs) & np.isfinite(ys)
    out = []
    edges = np.flatnonzero(np.diff(np.concatenate([[0], ok.astype(np.int8), [0]])))
    for a, b in zip(edges[::2], edges[1::2], strict=True):
        if b - a < 2:
            continue
        xy = np.rint(np.column_stack([xs[a:b], ys[a:b]]) * TENTHS).astype(np.int64)
        pts = ("%d,%d " * (b - a) % tuple(xy.ravel().tolist())).rstrip()
        out.append(
            f'<polyline class="{cls}" transform="scale({1 / TENTHS:g})" points="{pts}" '
            f'fill="none" stroke="{colour}" stroke-width="{width * TENTHS:g}" '
            'stroke-linejoin="round"/>'
        )
    return "".join(out)


@dataclass(frozen=True)
class _Box:
    """A plot area in SVG units and the data range it shows."""

    x0: float
    y0: float
    w: float
    h: float
    t0: float
    t1: float
    half_uv: float  # the box shows -half_uv .. +half_uv around its middle

    def x(self, t: np.ndarray | float) -> np.ndarray | float:
        return self.x0 + (np.asarray(t) - self.t0) * self.w / (self.t1 - self.t0)

    def y(self, uv: np.ndarray | float) -> np.ndarray | float:
        return self.y0 + self.h / 2 - np.asarray(uv) * self.h / (2 * self.half_uv)

    @property
    def px_per_uv(self) -> float:
        return self.h / (2 * self.half_uv)

    def clip(self, t: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Points inside the time range, values held inside the box (never drawn outside)."""
        keep = (t >= self.t0) & (t <= self.t1)
        yy = np.clip(y[keep], -self.half_uv, self.half_uv)
        return np.asarray(self.x(t[keep])), np.asarray(self.y(yy))


def _half_range(arrays: Sequence[np.ndarray], floor_uv: float) -> float:
    peaks = [float(np.nanmax(np.abs(a))) for a in arrays if np.isfinite(a).any()]
    return max([floor_uv, *peaks]) * 1.1


def _uv_bar(x: float, y_mid: float, box: _Box, fraction: float = 0.4) -> str:
    """A vertical µV scale bar centred on ``y_mid``, labelled to its right."""
    uv = nice_step(2 * box.half_uv, fraction)
    length = uv * box.px_per_uv
    top, bottom = y_mid - length / 2, y_mid + length / 2
    return (
        f'<line class="uv-bar" data-uv="{svg_number(uv)}" x1="{svg_number(x)}" y1="{top:.2f}" '
        f'x2="{svg_number(x)}" y2="{bottom:.2f}" stroke="{INK}" stroke-width="2"/>'
        + svg_text(x + 5, y_mid + FONT / 3, f"{svg_number(uv)} µV")
    )


def _time_bar(x_right: float, y: float, box: _Box, scale_ms: float = 1000.0) -> str:
    """A horizontal time scale bar ending at ``x_right``, labelled under it in ms."""
    span_ms = (box.t1 - box.t0) * scale_ms
    ms = nice_step(span_ms, 0.15)
    length = ms / scale_ms * box.w / (box.t1 - box.t0)
    return (
        f'<line class="ms-bar" data-ms="{svg_number(ms)}" x1="{x_right - length:.2f}" '
        f'y1="{svg_number(y)}" '
        f'x2="{svg_number(x_right)}" y2="{svg_number(y)}" stroke="{INK}" stroke-width="2"/>'
        + svg_text(x_right - length / 2, y + FONT + 3, f"{svg_number(ms)} ms", "middle")
    )


def svg_figure(height: float, body: str, title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {svg_number(height)}" '
        f'width="{WIDTH}" height="{svg_number(height)}" font-family="Helvetica, Arial, sans-serif" '
        f'role="img"><title>{escape(title)}</title>'
        f'<rect width="{WIDTH}" height="{svg_number(height)}" fill="#fff"/>{body}</svg>'
    )


def clock(seconds: float) -> str:
    """Signal time ``h:mm:ss.s``."""
    s = int(seconds)
    return f"{s // 3600:d}:{s // 60 % 60:02d}:{s % 60:02d}.{int((seconds - s) * 10)}"


def train_figure(
    trace: Trace,
    label: str,
    span_s: tuple[float, float],
    headline: str = "",
    half_uv: float | None = None,
    height: float = 190.0,
) -> str:
    """One channel around an A-train: the filtered EMG, the train shaded.

    Parameters
    ----------
    trace : Trace
        The channel's filtered EMG (µV) over the figure's time range.
    label : str
        The channel label, written at the top left.
    span_s : (float, float)
        The train's onset and end (s), shaded.
    headline : str
        Written after the label (``"A-train 140 Hz, 1.47 s, 218 µV"``).
    half_uv : float, optional
        The µV from the middle to the top of the plot; by default the largest |µV| shown.
        Sized to the train, a stimulus artifact nearby cannot flatten it (what is
        larger is held at the edge).
    """
    t = np.asarray(trace.times_s, float)
    y = np.asarray(trace.values, float)
    t0, t1 = (float(t[0]), float(t[-1])) if len(t) > 1 else (0.0, 1.0)
    if t1 <= t0:
        t1 = t0 + 1e-3
    half = half_uv if half_uv and half_uv > 0 else _half_range([y], 10.0)
    box = _Box(10, 30, WIDTH - 100, height - 72, t0, t1, half)
    a, b = max(span_s[0], t0), min(span_s[1], t1)
    parts = [svg_text(box.x0, 19, label, **_BOLD_CHANNEL)]
    if headline:
        parts.append(svg_text(box.x0 + 7.5 * len(label) + 14, 19, headline))
    if b > a:
        parts.append(
            f'<rect class="event" x="{box.x(a):.1f}" y="{box.y0}" '
            f'width="{box.x(b) - box.x(a):.1f}" height="{box.h}" fill="{SHADE}"/>'
        )
    xs, ys = box.clip(t, y)
    parts.append(_polylines(xs, ys, "trace", INK, 0.8))
    bottom = box.y0 + box.h
    parts += [
        svg_text(box.x0, bottom + 17, clock(t0)),
        svg_text(box.x0 + box.w, bottom + 17, clock(t1), "end"),
        _time_bar(box.x0 + box.w * 0.62, bottom + 10, box),
        _uv_bar(box.x0 + box.w + 18, box.y0 + box.h / 2, box),
    ]
    return svg_figure(height, "".join(parts), f"{label}: {headline}".rstrip(": "))


def lsr_figure(
    rows: Sequence[LsrRow],
    titles: tuple[str, str] = ("Baseline", "After disappearance"),
    range_ms: tuple[float, float] = (0.0, 20.0),
    row_height: float = 112.0,
    second_kind: str = "gone",
) -> str:
    """The LSR at baseline and after its disappearance, side by side, one row per channel.

    Each panel shows the single sweeps thin and grey and their mean black, from
    ``range_ms``, with the response window shaded and the pulse at 0 ms marked. Both
    panels of a row share one µV scale (the bar at the right), so a vanished response
    looks vanished. ``second_kind`` names the right-hand panels (``data-kind``).
    """
    label_w, gap, right = 104.0, 18.0, 70.0
    panel_w = (WIDTH - label_w - gap - right) / 2
    head, foot = 24.0, 34.0
    height = head + row_height * len(rows) + foot
    parts = []
    for col, title in enumerate(titles):
        x = label_w + col * (panel_w + gap)
        parts.append(svg_text(x, 16, title, font_weight="bold", class_="column"))
    for i, row in enumerate(rows):
        y0 = head + i * row_height
        times = np.asarray(row.times_ms, float)
        shown = (times >= range_ms[0]) & (times <= range_ms[1])
        half = _half_range([np.asarray(s)[shown] for s in [*row.baseline, *row.gone]], 10.0)
        parts.append(
            svg_text(
                6,
                y0 + 22 + (row_height - 28) / 2 + FONT / 3,
                _fit(row.label, label_w - 8),
                **_BOLD_CHANNEL,
            )
        )
        for col, (kind, sweeps, note) in enumerate(
            (("baseline", row.baseline, row.baseline_text), (second_kind, row.gone, row.gone_text))
        ):
            box = _Box(
                label_w + col * (panel_w + gap), y0 + 22, panel_w, row_height - 28, *range_ms, half
            )
            parts.append(_lsr_panel(box, times, sweeps, row.window_ms, kind, row.label, note))
        parts.append(_uv_bar(WIDTH - right + 14, box.y0 + box.h / 2, box))
    parts.append(_ms_axis(label_w, panel_w, gap, head + row_height * len(rows), range_ms))
    return svg_figure(height, "".join(parts), "Lateral spread response: " + " and ".join(titles))


def _lsr_panel(
    box: _Box,
    times: np.ndarray,
    sweeps: Sequence[np.ndarray],
    window_ms: tuple[float, float],
    kind: str,
    label: str,
    note: str,
) -> str:
    a, b = max(window_ms[0], box.t0), min(window_ms[1], box.t1)
    parts = [
        f'<g class="panel" data-kind="{kind}" data-channel={quoteattr(label)}>',
        f'<rect class="window" x="{box.x(a):.1f}" y="{box.y0}" width="{box.x(b) - box.x(a):.1f}" '
        f'height="{box.h}" fill="{SHADE}"/>',
        f'<line x1="{box.x0}" y1="{box.y(0.0):.1f}" x2="{box.x0 + box.w}" y2="{box.y(0.0):.1f}" '
        f'stroke="{SWEEP_INK}" stroke-width="0.5" stroke-dasharray="2 3"/>',
    ]
    x_stim = box.x(0.0)
    if box.t0 <= 0.0 <= box.t1:
        parts.append(
            f'<path d="M{x_stim:.1f},{box.y0 - 3} l-4,-7 h8 z" fill="{INK}"><title>stimulus'
            "</title></path>"
        )
    shown = (times >= box.t0) & (times <= box.t1)
    times = times[shown]
    usable = [np.asarray(s, float)[shown] for s in sweeps if np.isfinite(s).any()]
    rate = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 1.0
    if len(usable) > 1:
        for s in usable:  # thin grey lines: fewer points than the mean (the peaks kept)
            tr = minmax_decimate(s, rate, float(times[0]), SWEEP_POINTS)
            parts.append(_polylines(*box.clip(tr.times_s, tr.values), "sweep", SWEEP_INK, 0.6))
    if usable:
        with np.errstate(invalid="ignore"):
            mean = np.nanmean(np.vstack(usable), axis=0)
        parts.append(_polylines(*box.clip(times, mean), "mean", INK, 1.3))
    else:
        parts.append(svg_text(box.x0 + box.w / 2, box.y0 + box.h / 2, "no sweep", "middle"))
    if note:
        parts.append(svg_text(box.x0 + 12, box.y0 - 6, note, class_="note"))
    parts.append("</g>")
    return "".join(parts)


def _ms_axis(x0: float, panel_w: float, gap: float, y: float, range_ms: tuple[float, float]) -> str:
    """Tick marks and ms labels under both columns of the LSR figure."""
    step = nice_step(range_ms[1] - range_ms[0], 0.25)
    ticks = np.arange(math.ceil(range_ms[0] / step) * step, range_ms[1] + 1e-9, step)
    parts = []
    for col in range(2):
        left = x0 + col * (panel_w + gap)
        scale = panel_w / (range_ms[1] - range_ms[0])
        parts.append(
            f'<line class="ms-axis" x1="{left}" y1="{y + 2}" x2="{left + panel_w:.1f}" '
            f'y2="{y + 2}" stroke="{INK}" stroke-width="1"/>'
        )
        for tick in ticks:
            x = left + (tick - range_ms[0]) * scale
            parts.append(
                f'<line x1="{x:.1f}" y1="{y + 2}" x2="{x:.1f}" y2="{y + 7}" stroke="{INK}"/>'
                + svg_text(x, y + 7 + FONT, svg_number(tick), "middle")
            )
        parts.append(svg_text(left + panel_w, y + 7 + 2 * FONT + 2, "ms after the stimulus", "end"))
    return "".join(parts)


def moment_figure(
    traces: Sequence[tuple[str, Trace]],
    at_s: float,
    headline: str,
    row_height: float = 54.0,
) -> str:
    """Every channel around a moment (an alarm): stacked traces, the moment as a line.

    All rows share one µV scale (the bar at the bottom right), clipped to their row.
    """
    label_w, right, head, foot = 104.0, 70.0, 28.0, 40.0
    height = head + row_height * len(traces) + foot
    times = [np.asarray(tr.times_s, float) for _, tr in traces]
    t0 = min((float(t[0]) for t in times if len(t)), default=at_s - 1)
    t1 = max((float(t[-1]) for t in times if len(t)), default=at_s + 1)
    t1 = max(t1, t0 + 1e-3)
    half = _half_range([np.asarray(tr.values, float) for _, tr in traces], 10.0)
    typical = float(np.nanmedian([_robust_peak(tr) for _, tr in traces]))
    half = min(half, 2.0 * max(10.0, typical))  # the usual signal fills half of its row
    parts = [svg_text(6, 18, headline, font_weight="bold")]
    box = None
    for i, ((label, tr), t) in enumerate(zip(traces, times, strict=True)):
        box = _Box(
            label_w, head + i * row_height, WIDTH - label_w - right, row_height, t0, t1, half
        )
        y = box.y0 + row_height / 2 + FONT / 3
        parts.append(svg_text(6, y, _fit(label, label_w - 8), **_BOLD_CHANNEL))
        parts.append(_polylines(*box.clip(t, np.asarray(tr.values, float)), "trace", INK, 0.7))
    if box is not None:
        x = box.x(at_s)
        top, bottom = head, head + row_height * len(traces)
        parts.append(
            f'<line class="moment" x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{bottom}" '
            f'stroke="{INK}" stroke-width="1" stroke-dasharray="4 3"/>'
        )
        parts += [
            svg_text(label_w, bottom + 17, clock(t0)),
            svg_text(label_w + box.w, bottom + 17, clock(t1), "end"),
            _time_bar(label_w + box.w * 0.62, bottom + 10, box),
            _uv_bar(WIDTH - right + 14, bottom - row_height / 2, box),
        ]
    return svg_figure(height, "".join(parts), headline)


def _robust_peak(trace: Trace) -> float:
    """A channel's size for a shared scale: its 99th percentile of |µV| (one spike of
    cautery on one channel must not flatten the others)."""
    v = np.abs(np.asarray(trace.values, float))
    v = v[np.isfinite(v)]
    return float(np.percentile(v, 99)) if len(v) else 10.0


@dataclass(frozen=True)
class TrendRow:
    """One channel of the LSR trend: a value per stimulus.

    ``values`` holds the response's amplitude where present, 0 where absent and NaN
    where the sweep was rejected (cautery, saturation ...), at ``times_s`` (s of signal);
    ``present`` says which were present. ``scale`` divides µV for the axis (1000 for a
    direct response drawn in mV); ``baseline`` is in the same µV as ``values``.
    """

    label: str
    kind: str  # "lsr" or "direct"
    times_s: np.ndarray
    values: np.ndarray
    present: np.ndarray
    baseline: float | None = None
    unit: str = "µV"
    scale: float = 1.0


TREND_MARKERS_MAX = 400  # stimuli per row drawn as dots; more are a line only


def lsr_trend_figure(
    rows: Sequence[TrendRow],
    span_s: tuple[float, float],
    gone_s: float | None = None,
    lost: Sequence[tuple[float, float]] = (),
    row_height: float = 78.0,
) -> str:
    """The LSR amplitude over the case, one row per channel, the direct response last.

    Each row: the amplitude of every stimulus (a dot where present, a ring on the zero line
    where absent, a break where the sweep was rejected), the baseline dashed with its
    value; the disappearance a dashed vertical line across all rows, a stimulation loss
    (``lost``: from, to) shaded. Each row has its own scale (0 at the bottom, the label of
    the top at the left), set by the baseline and the 99th percentile of the values.
    """
    label_w, right, head, foot = 104.0, 74.0, 26.0, 38.0
    height = head + row_height * len(rows) + foot
    t0, t1 = span_s
    t1 = max(t1, t0 + 1e-3)
    parts: list[str] = []
    bottom = head + row_height * len(rows)
    probe = _Box(label_w, head, WIDTH - label_w - right, row_height, t0, t1, 1.0)
    for start, stop in lost:
        a, b = max(start, t0), min(stop, t1)
        if b > a:
            parts.append(
                f'<rect class="lost" x="{probe.x(a):.1f}" y="{head}" '
                f'width="{probe.x(b) - probe.x(a):.1f}" height="{bottom - head}" fill="{SHADE}"/>'
            )
            x = float(probe.x(a)) + 3
            parts.append(svg_text(x, head - 6, "stimulation lost", size=FONT - 1))
    for i, row in enumerate(rows):
        parts.append(_trend_row(row, label_w, head + i * row_height, row_height, probe))
    if gone_s is not None and t0 <= gone_s <= t1:
        x = float(probe.x(gone_s))
        parts.append(
            f'<line class="gone" data-t="{gone_s:g}" x1="{x:.1f}" y1="{head - 4}" x2="{x:.1f}" '
            f'y2="{bottom}" stroke="{INK}" stroke-width="1.2" stroke-dasharray="5 3"/>'
            + svg_text(x, head - 8, f"LSR gone {clock(gone_s)[:-2]}", "middle", font_weight="bold")
        )
    parts.append(_time_axis(probe, bottom))
    return svg_figure(height, "".join(parts), "Lateral spread response over the case")


def _trend_row(row: TrendRow, label_w: float, y0: float, row_height: float, probe: _Box) -> str:
    t = np.asarray(row.times_s, float)
    v = np.asarray(row.values, float) / row.scale
    present = np.asarray(row.present, bool)
    base = None if row.baseline is None else row.baseline / row.scale
    finite = v[np.isfinite(v)]
    top_data = float(np.percentile(finite, 99)) if len(finite) else 0.0
    top = max(top_data, (base or 0.0) * 1.25, 1e-6)
    step = nice_step(top * 1.15, 0.25)
    top = step * math.ceil(top * 1.15 / step)  # a round number above the largest value
    inner_top, inner_h = y0 + 10, row_height - 22
    box = _Box(probe.x0, inner_top, probe.w, inner_h, probe.t0, probe.t1, top / 2)

    def y(val: np.ndarray | float) -> np.ndarray | float:  # 0 at the bottom, top at the top
        return inner_top + inner_h - np.clip(np.asarray(val), 0, top) * inner_h / top

    zero = float(y(0.0))
    parts = [
        f'<g class="trend-row" data-channel={quoteattr(row.label)} data-kind="{row.kind}" '
        f'data-top="{svg_number(top)}" data-y0="{zero:.2f}" data-y-top="{inner_top:.2f}">',
        svg_text(6, y0 + row_height / 2, _fit(row.label, label_w - 8), **_BOLD_CHANNEL),
        svg_text(
            6,
            y0 + row_height / 2 + FONT + 2,
            "direct response" if row.kind == "direct" else "LSR",
            size=FONT - 1,
        ),
        f'<line x1="{box.x0}" y1="{zero:.1f}" x2="{box.x0 + box.w}" y2="{zero:.1f}" '
        f'stroke="{SWEEP_INK}" stroke-width="0.6"/>',
        f'<line x1="{box.x0}" y1="{inner_top}" x2="{box.x0}" y2="{zero:.1f}" stroke="{INK}" '
        'stroke-width="0.8"/>',
        svg_text(
            box.x0 - 4, inner_top + FONT / 3, f"{svg_number(top)} {row.unit}", "end", size=FONT - 1
        ),
        svg_text(box.x0 - 4, zero + FONT / 3, "0", "end", size=FONT - 1),
    ]
    if base is not None:
        yb = float(y(base))
        parts.append(
            f'<line class="baseline" data-value="{svg_number(base)}" x1="{box.x0}" y1="{yb:.1f}" '
            f'x2="{box.x0 + box.w}" y2="{yb:.1f}" stroke="{INK}" stroke-width="0.8" '
            'stroke-dasharray="2 3"/>'
            + svg_text(box.x0 + box.w + 5, yb - 3, "baseline", size=FONT - 1)
            + svg_text(box.x0 + box.w + 5, yb + FONT - 1, _value(base, row.unit), size=FONT - 1)
        )
    keep = (t >= box.t0) & (t <= box.t1)
    xs, ys = np.asarray(box.x(t[keep])), np.asarray(y(v[keep]))
    ys = np.where(np.isfinite(v[keep]), ys, np.nan)
    parts.append(_polylines(xs, ys, "amplitude", INK, 0.9))
    if keep.sum() <= TREND_MARKERS_MAX:
        for x, yy, here, val in zip(xs, ys, present[keep], v[keep], strict=True):
            if not np.isfinite(yy):
                continue
            if here:
                parts.append(
                    f'<circle class="present" data-value="{svg_number(val)}" cx="{x:.1f}" '
                    f'cy="{yy:.1f}" r="1.9" fill="{INK}"/>'
                )
            else:
                parts.append(
                    f'<circle class="absent" cx="{x:.1f}" cy="{yy:.1f}" r="2.2" fill="#fff" '
                    f'stroke="{INK}" stroke-width="0.8"/>'
                )
    parts.append("</g>")
    return "".join(parts)


def _value(x: float, unit: str) -> str:
    """``170 µV``, ``1.24 mV``: as the report's tables write them."""
    return f"{x:.2f} {unit}" if unit == "mV" else f"{x:.0f} {unit}"


def _time_axis(box: _Box, y: float) -> str:
    """Ticks and ``h:mm:ss`` labels of signal time under the trend's rows."""
    span = box.t1 - box.t0
    step = nice_step(span, 0.2)
    if span > 120:  # whole minutes, then 1-2-5 of them
        step = max(60.0, 60.0 * nice_step(span / 60.0, 0.2))
    parts = [
        f'<line class="time-axis" x1="{box.x0}" y1="{y + 2}" x2="{box.x0 + box.w:.1f}" '
        f'y2="{y + 2}" stroke="{INK}" stroke-width="1"/>'
    ]
    for tick in np.arange(math.ceil(box.t0 / step) * step, box.t1 + 1e-9, step):
        x = float(box.x(tick))
        parts.append(
            f'<line x1="{x:.1f}" y1="{y + 2}" x2="{x:.1f}" y2="{y + 7}" stroke="{INK}"/>'
            + svg_text(x, y + 7 + FONT, clock(float(tick))[:-2], "middle")
        )
    parts.append(svg_text(box.x0 + box.w, y + 7 + 2 * FONT + 2, "time of the recording", "end"))
    return "".join(parts)
