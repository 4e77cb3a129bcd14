"""The report a surgeon signs: people, anaesthesia, filter when recorded, the operator's
alarm actions, the LSR beside its direct-response control with its trend, a conclusion
in words and the sign-off block.

A case is recorded offline the way the monitor records one (``CaseModel`` with a set-up
case, its recorder, the operator acknowledging and pausing the alarm sound), then
analysed with ``main.py analyze``; the demo case is analysed with names on the command
line.
"""

from __future__ import annotations

import contextlib
import html
import io
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from commands.analyze import analyze
from commands.casedetails import alarm_actions
from drivers.simulator import SimulatorSource
from monitor.block import NoteMarker
from monitor.casemodel import CaseModel
from monitor.casesetup import CaseSetup
from monitor.montage import default_labels
from monitor.session import Session
from simulation.emgsynth import QUIET, EmgSynth, SimConfig

DEMO = Path(__file__).resolve().parents[1] / "recordings" / "demo_mvd.edf"
RATE = 4000.0
SECONDS = 14.0
TRAIN_AT_S, TRAIN_S = 3.0, 1.2  # an A-train on L Mentalis: its alarm is acknowledged
ACK_AT_S, PAUSE_AT_S, RESUME_AT_S = 3.6, 5.0, 6.0
GONE_AT_S = 8.0
SETUP = CaseSetup(
    "MVD-2026-031",
    "left",
    surgeon="Dr Meier",
    user="anna",
    neurophysiologist="Dr Kim",
    anaesthesia="TIVA, no relaxant after induction, TOF 4/4",
)
SVG = "{http://www.w3.org/2000/svg}"


def section(page: str, title: str) -> str:
    """The HTML of one ``<h2>`` section."""
    start = page.index(f"<h2>{title}")
    end = page.find("<h2>", start + 4)
    return page[start : end if end > 0 else len(page)]


def text_of(fragment: str) -> str:
    """The words of an HTML fragment, tags and figures out, entities read."""
    fragment = re.sub(r"<svg.*?</svg>", " ", fragment, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def case_row(page: str, name: str) -> str:
    m = re.search(rf"<tr><th>{name}</th><td>(.*?)</td></tr>", section(page, "Case details"))
    assert m, name
    return m.group(1)


def run_analyze(*args: str) -> None:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        assert analyze([*args, "--quiet"]) == 0


def record_monitored_case(folder: Path) -> Path:
    """A simulated MVD case recorded by the monitor: set-up case, acknowledgement, audio
    paused and resumed, stimulation at 2 Hz with the LSR gone at ``GONE_AT_S``."""
    cfg = SimConfig(
        rate=RATE,
        labels=default_labels(4),
        seed=11,
        **(QUIET | {"stim_rate_hz": 2.0}),
        stim_start_s=0.5,
        lsr_gone_at_s=GONE_AT_S,
    )
    synth = EmgSynth(cfg)
    synth.add_event(
        "a_train", TRAIN_AT_S, channel=2, duration_s=TRAIN_S, freq_hz=130, amplitude_uv=250
    )
    source = SimulatorSource(cfg, realtime=False, duration_s=SECONDS, synth=synth)
    session = Session(source)
    session.open()
    model = CaseModel.on_session(session, record_folder=folder, case_id=SETUP.case_id)
    model.setup = SETUP
    path = model.start_recording()
    actions = [
        (ACK_AT_S, model.acknowledge),
        (PAUSE_AT_S, model.toggle_alarm_pause),
        (RESUME_AT_S, model.toggle_alarm_pause),
    ]
    done = 0.0
    while done < SECONDS:
        block = source.read()
        if block is None:
            continue
        session.process(block)
        done = block.stop / RATE
        while actions and done >= actions[0][0]:
            actions.pop(0)[1]()
    assert not actions
    model.stop_recording()
    session.stop()
    return path


@pytest.fixture(scope="module")
def monitored(tmp_path_factory) -> tuple[str, Path, Path]:
    tmp = tmp_path_factory.mktemp("signoff")
    rec = record_monitored_case(tmp)
    out = tmp / "out"
    run_analyze(str(rec), "--out", str(out))
    return (out / "report.html").read_text(encoding="utf-8"), rec, out


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> str:
    out = tmp_path_factory.mktemp("demo") / "out"
    run_analyze(
        str(DEMO),
        "--out",
        str(out),
        "--surgeon",
        "Dr  A. Meier",
        "--anaesthesia",
        "TIVA; no relaxant",
    )
    return (out / "report.html").read_text(encoding="utf-8")


# -- the case set-up and its people -----------------------------------------------------------
def test_the_recorded_case_set_up_gives_the_people_and_the_anaesthesia(monitored):
    page, _, _ = monitored
    assert case_row(page, "Procedure") == "MVD for hemifacial spasm, left side"
    assert case_row(page, "Surgeon") == "Dr Meier"
    assert case_row(page, "Neurophysiologist") == "Dr Kim"
    assert case_row(page, "Anaesthesia") == "TIVA, no relaxant after induction, TOF 4/4"
    assert case_row(page, "Monitored by") == "anna"
    signoff = section(page, "Sign-off")
    assert re.search(r"<th>Neurophysiologist</th><td class='name'>Dr Kim</td>", signoff)
    assert re.search(r"<th>Surgeon</th><td class='name'>Dr Meier</td>", signoff)
    # The set-up annotation is in the case details, not repeated among the notes.
    assert "monitored by anna" not in section(page, "Notes")


def test_names_given_on_the_command_line_appear_and_absent_ones_are_blank_lines(demo):
    assert case_row(demo, "Surgeon") == "Dr A. Meier"  # spaces tidied
    assert case_row(demo, "Anaesthesia") == "TIVA; no relaxant"
    blank = "<span class='blank'></span>"
    assert case_row(demo, "Neurophysiologist") == blank  # the demo names none
    assert case_row(demo, "Procedure") == blank
    signoff = section(demo, "Sign-off")
    rows = dict(re.findall(r"<tr><th>(\w+)</th><td class='name'>(.*?)</td>", signoff))
    assert rows == {"Neurophysiologist": blank, "Surgeon": "Dr A. Meier"}
    # Date and signature are always lines to fill in by hand; nothing is made up.
    assert signoff.count(blank) == 2 + 2 + 1
    assert "<th>Date</th>" in signoff and "<th>Signature</th>" in signoff
    assert signoff.count("<p class='line'>") == 3  # the interpretation, by hand
    assert "Dr Kim" not in demo and "anna" not in demo


def test_command_line_names_replace_the_recordings(monitored, tmp_path):
    _, rec, _ = monitored
    out = tmp_path / "out"
    run_analyze(str(rec), "--out", str(out), "--neurophysiologist", "Dr Roe")
    page = (out / "report.html").read_text(encoding="utf-8")
    assert case_row(page, "Neurophysiologist") == "Dr Roe"
    assert case_row(page, "Surgeon") == "Dr Meier"  # the recording's, not replaced


def test_names_are_refused_for_a_folder_of_recordings(tmp_path, capsys):
    (tmp_path / "in").mkdir()
    assert analyze([str(tmp_path / "in"), "--out", str(tmp_path / "o"), "--surgeon", "X"]) == 2
    assert "give one recording" in capsys.readouterr().err


# -- filter when recorded ------------------------------------------------------------------------
def test_the_filter_when_recorded_comes_from_the_recordings_annotation(monitored):
    page, rec, _ = monitored
    montage = section(page, "Montage")
    cells = re.findall(
        r"<td>([^<]*)<span class='muted'>\(monitor; samples stored raw\)</span></td>", montage
    )
    assert cells == ["20 Hz – 3000 Hz "] * 4
    assert "not stated" not in montage
    said = text_of(montage)
    assert "the monitor's screen and detectors filtered 20 Hz – 3000 Hz from the start" in said
    assert "prefilter fields are empty on purpose" in said
    # The file itself states no filter: the annotation is where the report found it.
    assert b"20Hz" not in rec.read_bytes()[: 256 + 5 * 256]


def test_the_demo_shows_its_own_header_filter(demo):
    montage = section(demo, "Montage")
    assert montage.count("<td>none (simulated)</td>") == 4 and "not stated" not in montage


# -- alarms --------------------------------------------------------------------------------------
def test_acknowledgements_and_audio_pauses_are_in_the_alarm_table(monitored):
    page, _, _ = monitored
    rows = re.findall(
        r"<tr><td>(\d:\d\d:\d\d\.\d)</td><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td></tr>",
        section(page, "Alarms"),
    )
    operator = [r for r in rows if r[4] == "operator, during the case"]
    states = [r[3] for r in operator]
    assert states == ["acknowledged", "audio paused", "audio resumed"]
    ack, pause, resume = operator
    assert ack[1] == "Medium" and "L Mentalis" in ack[2]
    assert abs(_seconds(ack[0]) - ACK_AT_S) <= 0.3
    assert abs(_seconds(pause[0]) - PAUSE_AT_S) <= 0.3 and "paused for 2:00" in pause[2]
    assert abs(_seconds(resume[0]) - RESUME_AT_S) <= 0.3
    # In time order among the analysis's own alarms.
    assert [r[0] for r in rows] == sorted(r[0] for r in rows)
    assert any(r[4] == "this analysis" and "A-train on L Mentalis" in r[2] for r in rows)


def _seconds(clock: str) -> float:
    h, m, s = clock.split(":")
    return 3600 * int(h) + 60 * int(m) + float(s)


def test_a_latched_alarm_resolved_was_acknowledged():
    notes = [
        NoteMarker(100, "alarm High active: No signal"),
        NoteMarker(200, "alarm High latched: No signal"),
        NoteMarker(300, "alarm High resolved: No signal"),  # by an acknowledgement
        NoteMarker(400, "alarm Medium active: Lead off"),
        NoteMarker(500, "alarm Medium resolved: Lead off"),  # the condition ended
    ]
    got = alarm_actions(notes, 100.0)
    assert [(a.time_s, a.kind, a.text, a.priority) for a in got] == [
        (3.0, "acknowledged", "No signal", "High")
    ]


# -- durations -------------------------------------------------------------------------------------
def test_spike_and_burst_durations_are_in_ms_trains_in_seconds(demo):
    rows = re.findall(
        r"<tr><td>[^<]*</td><td>[^<]*</td><td>([\w-]+)</td><td>([^<]*)</td>",
        section(demo, "Events"),
    )
    by_kind: dict[str, list[str]] = {}
    for kind, duration in rows:
        by_kind.setdefault(kind, []).append(duration)
    assert by_kind["spike"] and all(re.fullmatch(r"\d\.\d ms", d) for d in by_kind["spike"])
    assert all(float(d.split()[0]) > 1 for d in by_kind["spike"])  # never "0.00 s"
    assert by_kind["burst"] == ["149 ms"]  # the demo's 0.15 s burst
    assert all(d.endswith(" s") for k in ("a-train", "b-train") for d in by_kind[k])
    assert "0.00 s" not in section(demo, "Events")


# -- the LSR, its control, its trend and the conclusion --------------------------------------------
def test_the_lsr_sits_beside_its_direct_response_control(demo):
    lsr = section(demo, "Lateral spread response")
    rows = re.findall(
        r"<tr><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td></tr>",
        lsr,
    )
    table = {r[0]: r[1:] for r in rows}
    assert table["L Mentalis"] == (
        "LSR",
        "170 µV at 9.2 ms",
        "absent on 5 of 5",
        "absent on 5 of 5",
    )
    role, base, at_call, end = table["L Orb. oculi"]
    assert role == "direct response (control)" and base == "1.24 mV"
    assert at_call.startswith("present on 5 of 5, 1.2") and end.startswith("present on 5 of 5")


def test_the_trend_figure_shows_amplitude_baseline_and_disappearance(demo):
    figs = re.findall(r"<figure>(<svg.*?</svg>)<figcaption>(.*?)</figcaption>", demo, re.S)
    svg, caption = figs[0]
    assert "The LSR over the case" in caption and "direct response" in caption
    root = ET.fromstring(svg)
    rows = {g.get("data-channel"): g for g in root.iter(f"{SVG}g") if g.get("class") == "trend-row"}
    assert list(rows) == ["L Orb. oris", "L Mentalis", "L Frontalis", "L Orb. oculi"]
    assert rows["L Orb. oculi"].get("data-kind") == "direct"
    gone = next(line for line in root.iter(f"{SVG}line") if line.get("class") == "gone")
    assert float(gone.get("data-t")) == 30.0
    gone_x = float(gone.get("x1"))
    mentalis = rows["L Mentalis"]
    baseline = next(x for x in mentalis.iter(f"{SVG}line") if x.get("class") == "baseline")
    assert float(baseline.get("data-value")) == pytest.approx(169.6)
    present = [c for c in mentalis.iter(f"{SVG}circle") if c.get("class") == "present"]
    absent = [c for c in mentalis.iter(f"{SVG}circle") if c.get("class") == "absent"]
    # Present before the disappearance, at the size stim_responses.csv gives; absent after.
    assert all(float(c.get("cx")) < gone_x for c in present)
    assert absent and all(float(c.get("cx")) >= gone_x - 0.5 for c in absent)
    values = np.array([float(c.get("data-value")) for c in present])
    assert np.median(values) == pytest.approx(169.6, rel=0.15)
    # Absent on the zero line; present drawn to the row's scale.
    zero, top_y = float(mentalis.get("data-y0")), float(mentalis.get("data-y-top"))
    top = float(mentalis.get("data-top"))
    assert all(float(c.get("cy")) == pytest.approx(zero, abs=0.06) for c in absent)
    for c in present:
        want = zero - float(c.get("data-value")) * (zero - top_y) / top
        assert float(c.get("cy")) == pytest.approx(want, abs=0.06)
    # The direct response stays present after the disappearance: the stimulation reached.
    direct = [c for c in rows["L Orb. oculi"].iter(f"{SVG}circle")]
    assert all(c.get("class") == "present" for c in direct)
    assert any(float(c.get("cx")) > gone_x for c in direct)


def test_the_conclusion_names_the_disappearance_and_the_direct_response(demo, monitored):
    said = text_of(section(demo, "Conclusion"))
    assert re.search(
        r"The LSR disappeared at 0:00:30\.0 \(09:00:30\) on L Orb\. oris, L Mentalis and "
        r"L Frontalis with the direct response maintained \(L Orb\. oculi 1\.\d\d mV, 1\.24 mV at "
        r"baseline\)",
        said,
    )
    assert "2 A-trains, total train time 1.87 s (L Mentalis 1.47 s, L Orb. oris 0.40 s)." in said
    assert "passed the 0.5 s threshold on L Mentalis (1.47 s); no channel reached 10 s" in said
    page, _, _ = monitored
    said = text_of(section(page, "Conclusion"))
    assert re.search(r"The LSR disappeared at 0:00:0[89]\.\d", said)
    assert "with the direct response maintained (L Orb. oculi" in said
    assert "the operator acknowledged 1 alarm and paused the alarm sound 1 time" in said


def test_sections_come_in_the_order_a_signed_report_reads(demo):
    heads = re.findall(r"<h2>(.*?)</h2>", demo)
    assert heads[:3] == ["Case details", "Conclusion", "Montage"]
    assert heads.index("Sign-off") < heads.index("Alarms") < heads.index("Events")
