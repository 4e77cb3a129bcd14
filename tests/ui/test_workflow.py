"""A case from start to end, driven on the screen as a neurophysiologist would.

Set up the case, check the electrodes, start monitoring, see an alarm and acknowledge it,
take an LSR baseline, see the LSR go, stop, and find the recording and its report.
"""

from __future__ import annotations

import json

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from monitor.alarms import AlarmState
from monitor.settingsstore import SettingsStore
from ui import theme


def visible(kind):
    return [w for w in QApplication.topLevelWidgets() if isinstance(w, kind) and w.isVisible()]


def choose(combo, data):
    index = combo.findData(data)
    assert index >= 0, data
    combo.setCurrentIndex(index)


def test_a_whole_case_on_the_screen(qtbot, tmp_path, monkeypatch):
    import main
    from drivers.edfreader import EdfFile
    from ui.app import MonitorScreens
    from ui.casesetupdialog import CaseSetupDialog
    from ui.electrodecheck import ElectrodeCheckDialog

    monkeypatch.setenv("FACIAL_NERVE_MONITOR_CONFIG", str(tmp_path / "config"))
    # Simulated patient: an A-train on channel 1 at 15.6 s (seed 10), LSR gone at 28 s.
    base = main.build_parser().parse_args(
        ["--seed", "10", "--speed", "8", "--lsr-gone-at", "28", "--log", "/dev/null"]
    )
    screens = MonitorScreens(10.0, (1366, 768), str(tmp_path / "rec"), "", None)
    screens.open_source = lambda argv: main.open_source(base, argv)
    (tmp_path / "rec").mkdir()
    window = screens.open(*main.start_session(base))
    window.switch_source = screens.switch
    assert window is screens.window  # deleted when the case reopens the source
    sessions = [window.session]

    # 1. Case setup (F9): MVD for hemifacial spasm, left side, a patient name kept private.
    def fill_setup() -> None:
        dialogs = visible(CaseSetupDialog)
        if not dialogs:
            QTimer.singleShot(100, fill_setup)
            return
        d = dialogs[0]
        d.case_edit.setText("MVD-17")
        choose(d.side_combo, "left")
        d.name_edit.setText("Josefine Quaglia")
        d.set_colour(0, "#ff80ff")  # the orbicularis oculi drawn in pink
        d.accept()

    # 2. The electrode check opens next; start monitoring once the needles are measured.
    def start_when_measured() -> None:
        dialogs = visible(ElectrodeCheckDialog)
        if not dialogs or dialogs[0].report is None:
            QTimer.singleShot(100, start_when_measured)
            return
        checks = dialogs[0].check
        seen["verdicts"] = [c.verdict.value for c in checks.channels] if checks else None
        dialogs[0].start_button.click()

    seen: dict[str, object] = {}
    QTimer.singleShot(100, fill_setup)
    QTimer.singleShot(200, start_when_measured)
    window.begin_case()
    assert seen["verdicts"] == ["ok"] * 4  # plausible needles, none flagged
    window = screens.window  # the source reopened with the case's montage
    qtbot.addWidget(window)
    sessions.append(window.session)
    assert window.case is not None and window.case.case_id == "MVD-17"
    assert window.session.source.info.labels == (
        "L Orb. oculi",
        "L Orb. oris",
        "L Mentalis",
        "L Frontalis",
    )
    assert window.traces._curves[0].opts["pen"].color().name() == "#ff80ff"
    theme.use_channel_colours([])  # the next windows (other tests) in the default colours
    assert window.recorder is not None  # monitoring started: recording
    path = window.recorder.path
    assert "MVD-17" in path.name and "Quaglia" not in path.name

    # 3. An alarm: the A-train, then its acknowledgement (A).
    qtbot.waitUntil(lambda: bool(window.alarms.alarms()), timeout=20_000)
    alarm = window.alarms.alarms()[0]
    assert "A-train" in alarm.text or "Train time" in alarm.text
    window.acknowledge()
    assert all(a.state is not AlarmState.ACTIVE for a in window.alarms.alarms())

    # 4. LSR baseline (B) while it is present, then its disappearance.
    qtbot.waitUntil(lambda: window.evoked.baseline() is not None, timeout=20_000)
    window.set_lsr_baseline()
    qtbot.waitUntil(
        lambda: any(c.kind == "disappeared" for c in window.evoked.calls()), timeout=30_000
    )
    window.refresh()
    assert "LSR gone" in window.lsr.status.head.text()
    # A few more sweeps into the file, so that the offline analysis has them too.
    called = next(c for c in window.evoked.calls() if c.kind == "disappeared")
    rate = window.session.source.info.rate
    qtbot.waitUntil(
        lambda: window.session.status().end_index > called.sample_index + 8 * rate,
        timeout=20_000,
    )

    # 5. Stop: the recording closes; the file holds the case; the report is made from it.
    window.traces.step_range(1)  # the user liked a larger range: kept for the next case
    window.toggle_recording()
    window.close()
    kept = SettingsStore().load(window.case.user, window.case.procedure)
    assert kept.display.range_uv == window.traces.range_uv == 500
    for s in sessions:
        s.stop()
    assert "Josefine_Quaglia" in path.read_bytes()[8:88].decode()  # EDF+ patient field only
    f = EdfFile(path)
    notes, _ = f.read_annotations()
    texts = [a.text for a in notes]
    f.close()
    assert any(t.startswith("case MVD-17: MVD for hemifacial spasm, left side") for t in texts)
    assert any(t.startswith("alarm ") and "acknowledged" in t for t in texts)
    assert any(t.startswith("LSR disappeared") for t in texts)
    out = tmp_path / "report"
    assert main.main(["analyze", str(path), "--out", str(out), "--quiet"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["lsr"]["disappeared_at_s"] is not None, summary["lsr"]
    report = (out / "report.html").read_text()
    assert "MVD-17" in report and "Quaglia" not in report
