"""The end-of-case report of ``main.py analyze``, on a case recorded the way the monitor does.

The recording is simulated (ground truth known) and written with the monitor's own EDF+
writer and annotation texts: a case id in the header, a patient field that must never
reach the report, typed notes, two A-trains, an LSR that disappears and an electrode
that goes flat near the end.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import html
import io
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from commands.analyze import analyze
from commands.casenotes import is_machine_annotation
from commands.reportfigures import TRACE_POINTS, minmax_decimate, nice_step
from monitor.edfwriter import EdfWriter
from monitor.montage import default_labels
from monitor.recorder import stim_text
from simulation.emgsynth import QUIET, EmgSynth, SimConfig

RATE = 10_000.0
SECONDS = 16.0
START = dt.datetime(2026, 3, 14, 8, 30, 0)
CASE_ID = "MVD-2026-017"
PATIENT_ITEMS = ("PX4471", "02-MAR-1961", "Jane_Roe", "Jane", "Roe", "1961")
NOTES = [
    (6.5, "AICA lifted off the root exit zone & teflon placed"),
    (9.0, "decompression complete"),
]
# Eight A-trains between the 2 Hz stimuli (channel, onset s, duration s, Hz, µV): the
# report shows the six longest.
TRAINS = [
    (1, 3.55, 0.40, 120, 180),
    (2, 4.05, 0.16, 140, 200),
    (3, 4.55, 0.36, 100, 160),
    (2, 5.05, 0.32, 140, 220),
    (0, 5.55, 0.12, 150, 150),
    (1, 6.05, 0.28, 90, 150),
    (2, 7.05, 0.24, 130, 250),
    (1, 12.55, 0.20, 90, 150),
]
SHOWN = 6
FLAT_FROM_S = 12.0  # L Frontalis: the needle comes out


def record_case(path: Path) -> None:
    labels = default_labels(4)
    cfg = SimConfig(
        rate=RATE,
        labels=labels,
        seed=7,
        **(QUIET | {"stim_rate_hz": 2.0}),
        stim_start_s=1.0,
        lsr_gone_at_s=9.0,
    )
    synth = EmgSynth(cfg)
    for ch, onset, duration, freq, amp in TRAINS:
        synth.add_event(
            "a_train", onset, channel=ch, duration_s=duration, freq_hz=freq, amplitude_uv=amp
        )
    n = int(SECONDS * RATE)
    data, stims = [], []
    for i in range(0, n, 10_000):
        block, markers = synth.render(i, min(10_000, n - i))
        data.append(block)
        stims += markers
    signal = np.vstack(data)
    signal[int(FLAT_FROM_S * RATE) :, 3] = 0.0
    w = EdfWriter(
        path,
        RATE,
        labels,
        start=START,
        case_id=CASE_ID,
        patient="PX4471 F 02-MAR-1961 Jane_Roe",
        fsync_interval_s=60,
    )
    for m in stims:
        w.annotate(m.index / RATE, stim_text(m.current_ma, m.width_ms, m.site))
    for t, text in NOTES:
        w.annotate(t, f"note: {text}")
    # What the recorder writes by itself: never a note.
    w.annotate(4.2, "alarm Medium active: A-train on L Mentalis at 140 Hz")
    w.annotate(4.2, "A-train L Mentalis 140 Hz 200 uV", 1.2)
    w.annotate(11.0, "LSR disappeared: absent on L Mentalis on 5 consecutive sweeps, since 0:09.")
    w.write(signal)
    w.close()


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> tuple[str, Path]:
    tmp = tmp_path_factory.mktemp("report")
    rec = tmp / "2026-03-14_083000_MVD-2026-017.edf"
    record_case(rec)
    out = tmp / "out"
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        assert analyze([str(rec), "--out", str(out), "--quiet"]) == 0
    return (out / "report.html").read_text(encoding="utf-8"), out


def section(page: str, title: str) -> str:
    """The HTML of one ``<h2>`` section."""
    start = page.index(f"<h2>{title}")
    end = page.find("<h2>", start + 4)
    return page[start : end if end > 0 else len(page)]


def figures(page: str) -> list[tuple[ET.Element, str]]:
    """Every figure as (parsed SVG, caption)."""
    out = []
    for m in re.finditer(r"<figure>(<svg.*?</svg>)<figcaption>(.*?)</figcaption>", page, re.S):
        out.append((ET.fromstring(m.group(1)), m.group(2)))  # raises if not well-formed
    return out


SVG = "{http://www.w3.org/2000/svg}"


def points(el: ET.Element) -> np.ndarray:
    """A polyline's points in the figure's units (its ``scale(k)`` applied)."""
    pts = np.array([[float(v) for v in p.split(",")] for p in el.get("points").split()])
    scale = re.fullmatch(r"scale\(([\d.]+)\)", el.get("transform", "scale(1)"))
    return pts * float(scale.group(1))


def uv_per_unit(svg: ET.Element, near_y: float | None = None) -> float:
    """µV per SVG unit from a figure's µV scale bar (the one nearest ``near_y``)."""
    bars = [b for b in svg.iter(f"{SVG}line") if b.get("class") == "uv-bar"]
    if near_y is not None:
        bars.sort(key=lambda b: abs((float(b.get("y1")) + float(b.get("y2"))) / 2 - near_y))
    bar = bars[0]
    return float(bar.get("data-uv")) / (float(bar.get("y2")) - float(bar.get("y1")))


def test_case_details_show_the_case_id_never_the_patient(report):
    page, _ = report
    case = section(page, "Case details")
    assert CASE_ID in case
    assert "14 Mar 2026, 08:30:00" in case
    assert "2026-03-14_083000_MVD-2026-017.edf" in case and "EDF+C" in case
    assert "Facial Nerve Monitor" in case  # equipment, underscores back to spaces
    assert "16.0 s" in case
    text = re.sub(r'points="[^"]*"', "", page)  # coordinates may hold any digits
    for item in PATIENT_ITEMS:
        assert item not in text
    assert "not shown in this report" in case


def test_montage_rows_name_muscle_side_rate_and_filter(report):
    page, _ = report
    montage = section(page, "Montage")
    rows = re.findall(
        r"<tr><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td>", montage
    )
    assert [r[:3] for r in rows] == [
        ("L Orb. oculi", "Orbicularis oculi", "left"),
        ("L Orb. oris", "Orbicularis oris", "left"),
        ("L Mentalis", "Mentalis", "left"),
        ("L Frontalis", "Frontalis", "left"),
    ]
    assert rows[2][3] == "marginal mandibular" and all(r[4] == "10000 Hz" for r in rows)
    assert "band-pass 20 Hz – 3000 Hz" in montage


def test_typed_notes_are_listed_with_their_time_and_machine_annotations_are_not(report):
    page, _ = report
    notes = section(page, "Notes")
    for t, text in NOTES:
        clock = (START + dt.timedelta(seconds=t)).strftime("%H:%M:%S")
        row = re.search(
            rf"<tr><td>[^<]*</td><td>{clock}</td><td>typed during the case</td><td>(.*?)</td>",
            notes,
        )
        assert row and row.group(1) == html.escape(text)
    assert "0:00:06.5" in notes
    assert "A-train L Mentalis" not in notes and "alarm Medium" not in notes
    assert "LSR disappeared" not in notes


def test_an_svg_figure_per_key_a_train_with_its_channel_and_amplitude(report):
    page, out = report
    events = [
        line.split(",")
        for line in (out / "events.csv").read_text().splitlines()[1:]
        if line.startswith("a_train")
    ]
    assert len(events) == len(TRAINS)
    longest = sorted(events, key=lambda e: float(e[3]) - float(e[2]), reverse=True)[:SHOWN]
    longest.sort(key=lambda e: float(e[2]))  # figures in time order
    trains = [(svg, cap) for svg, cap in figures(page) if "A-train on" in cap]
    assert len(trains) == SHOWN
    for (_, channel, onset, offset, peak), (svg, caption) in zip(longest, trains, strict=True):
        label = next(t.text for t in svg.iter(f"{SVG}text") if t.get("class") == "channel")
        assert label == channel and channel in caption
        assert f"at 0:00:{int(float(onset) * 10) / 10:04.1f}" in caption  # tenths, cut
        shade = next(r for r in svg.iter(f"{SVG}rect") if r.get("class") == "event")
        x0, x1 = float(shade.get("x")), float(shade.get("x")) + float(shade.get("width"))
        pts = np.vstack([points(p) for p in svg.iter(f"{SVG}polyline")])
        inside = pts[(pts[:, 0] >= x0) & (pts[:, 0] <= x1)]
        span_uv = (inside[:, 1].max() - inside[:, 1].min()) * uv_per_unit(svg)
        assert span_uv == pytest.approx(float(peak), rel=0.1)
        # The train takes its share of the width: 0.5 s of EMG shown either side.
        total = pts[:, 0].max() - pts[:, 0].min()
        duration = float(offset) - float(onset)
        assert (x1 - x0) / total == pytest.approx(duration / (duration + 1.0), rel=0.05)


def test_the_train_that_took_train_time_past_its_threshold_says_so(report):
    page, out = report
    lines = (out / "events.csv").read_text().splitlines()[1:]
    crossing, total = {}, {}
    for kind, channel, onset, offset, _ in (line.split(",") for line in lines):
        if kind == "a_train":
            before = total.get(channel, 0.0)
            total[channel] = before + float(offset) - float(onset)
            if before < 0.5 <= total[channel]:
                crossing[channel] = float(onset)
    assert set(crossing) == {"L Orb. oris", "L Mentalis"}
    said = [cap for _, cap in figures(page) if "It raised the" in cap]
    assert len(said) == len(crossing)
    for channel, onset in crossing.items():
        cap = next(c for c in said if f"Train time {channel}" in c)
        assert f"<b>{channel}</b> at 0:00:{int(onset * 10) / 10:04.1f}" in cap


def test_lsr_figure_at_baseline_and_after_it_disappeared(report):
    page, _ = report
    lsr = [(svg, cap) for svg, cap in figures(page) if "Lateral spread response" in cap]
    assert len(lsr) == 1
    svg, caption = lsr[0]
    assert "after it disappeared" in caption
    panels = {(g.get("data-kind"), g.get("data-channel")): g for g in svg.iter(f"{SVG}g")}
    channels = {ch for _, ch in panels}
    assert "L Mentalis" in channels and "L Orb. oculi" not in channels  # direct response
    for ch in channels:
        means = {}
        for kind in ("baseline", "gone"):
            g = panels[(kind, ch)]
            mean = next(p for p in g.iter(f"{SVG}polyline") if p.get("class") == "mean")
            window = next(r for r in g.iter(f"{SVG}rect") if r.get("class") == "window")
            pts = points(mean)
            x0 = float(window.get("x"))
            inside = pts[(pts[:, 0] >= x0) & (pts[:, 0] <= x0 + float(window.get("width")))]
            means[kind] = np.ptp(inside[:, 1]) * uv_per_unit(svg, near_y=pts[:, 1].mean())
        assert means["baseline"] > 60  # the simulated LSR: 150 µV at ~10 ms
        assert means["gone"] < 0.35 * means["baseline"]


def test_an_alarm_no_a_train_figure_shows_gets_its_own_figure(report):
    page, _ = report
    alarms = [(svg, cap) for svg, cap in figures(page) if "alarm at" in cap]
    assert len(alarms) == 1
    svg, caption = alarms[0]
    assert "L Frontalis" in caption and "flat" in caption
    labels = [t.text for t in svg.iter(f"{SVG}text") if t.get("class") == "channel"]
    assert labels == list(default_labels(4))


def test_the_page_prints(report):
    page, _ = report
    assert "@media print" in page and "break-inside: avoid" in page
    assert "<thead>" in page  # long tables repeat their header on every page
    assert not re.search(r"background:\s*#[0-7]", page)  # no dark backgrounds


def test_minmax_decimation_keeps_every_peak():
    rng = np.random.default_rng(1)
    y = rng.normal(0, 5, 100_003)
    y[77_777] = 400.0
    y[12_345] = -300.0
    tr = minmax_decimate(y, 20_000.0, t0_s=3.0)
    assert len(tr.values) <= TRACE_POINTS
    assert tr.values.max() == 400.0 and tr.values.min() == -300.0
    assert np.all(np.diff(tr.times_s) >= 0) and tr.times_s[0] >= 3.0


@pytest.mark.parametrize(("span", "want"), [(1000, 200), (218, 50), (2.5, 0.5), (20, 5)])
def test_scale_bars_are_round_numbers(span, want):
    assert nice_step(span, 0.25) == want


@pytest.mark.parametrize(
    ("text", "machine"),
    [
        ("A-train L Mentalis 140 Hz 200 uV", True),
        ("alarm High latched: Train time L Mentalis: 10.2 s", True),
        ("LSR reappeared: L Mentalis 120 µV at 9.8 ms.", True),
        ("gap 200 samples", True),
        ("truth: spike L Orb. oris 83 uV", True),
        ("LSR #12: L Mentalis 230 uV 10.2 ms, L Orb. oris absent", True),
        ("setting: filter 20 Hz – 3000 Hz -> 30 Hz – 3000 Hz", True),
        ("setting: train time reset on L Mentalis (was 3.2 s): cautery artifact", False),
        ("decompression: LSR gone from here", False),
        ("Eyes closed", False),
    ],
)
def test_machine_annotations_are_told_from_human_ones(text, machine):
    assert is_machine_annotation(text) is machine


CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def test_control_characters_from_the_file_reach_neither_the_report_nor_events_csv(tmp_path):
    labels = default_labels(2)
    cfg = SimConfig(
        rate=RATE,
        labels=labels,
        seed=3,
        **QUIET,
    )
    synth = EmgSynth(cfg)
    synth.add_event("a_train", 1.5, channel=1, duration_s=0.6, freq_hz=120, amplitude_uv=250)
    signal, _ = synth.render(0, int(4 * RATE))
    rec = tmp_path / "odd.edf"
    w = EdfWriter(rec, RATE, labels, start=START, case_id="c-1", fsync_interval_s=60)
    w.annotate(2.5, "note: cautery \x07near\x1b[31m the nerve\x01, 5 µV, réveil")
    w.write(signal)
    w.close()
    # The writer never writes a control character into a label: put them there by hand,
    # as another program's file may have them (the second signal's 16-byte label field).
    data = bytearray(rec.read_bytes())
    data[256 + 16 : 256 + 32] = "L Orb.\x00or\x07is é".encode().ljust(16)
    rec.write_bytes(data)
    out = tmp_path / "out"
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        assert analyze([str(rec), "--out", str(out), "--quiet"]) == 0
    page = (out / "report.html").read_text(encoding="utf-8")
    events = (out / "events.csv").read_text(encoding="utf-8")
    assert not CONTROL.search(page) and not CONTROL.search(events)
    # Cleaned where the file is read: every output and the screen get the clean label.
    assert not CONTROL.search((out / "stim_responses.csv").read_text(encoding="utf-8"))
    from drivers.edfreader import EdfFile

    f = EdfFile(rec)
    assert f.signals[1].label == "L Orb. or is é"
    f.close()
    assert "L Orb. or is é" in page and "cautery  near [31m the nerve , 5 µV, réveil" in page
    assert "a_train,L Orb. or is é," in events
    figures(page)  # the SVG is still well-formed
