"""A case from start to end, driven on the screen as a neurophysiologist would.

Set up the case, check the electrodes, start monitoring, see an alarm and acknowledge it,
take an LSR baseline, see the LSR go, stop, and find the recording and its report.

The simulated patient runs on the wall clock (8 times real time from the moment a source
opens), the steps on the screen as fast as the machine allows: reopening the source with
the case's montage builds a new window, 0.4-0.8 s on an idle machine, 2.4-3.8 s on a loaded
2-core one, where the simulator also skipped 2 s of signal or more (an overrun) each time
its acquisition thread fell 0.25 s behind. The recording then began 23-36 s into the
signal, so a disappearance of the LSR fixed at 28 s left the file too few sweeps for a
baseline, or came before the baseline was taken. Nothing here waits for a moment of the
simulated case: the LSR goes when the test says (the surgeon's decompression), after its
baseline has been taken from sweeps the recording holds; the alarm is the A-train's,
before or after the source was reopened.
"""

from __future__ import annotations

import json

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from monitor.alarms import AlarmState
from monitor.settingsstore import SettingsStore
from presentation import theme


def visible(kind):
    return [w for w in QApplication.topLevelWidgets() if isinstance(w, kind) and w.isVisible()]


def choose(combo, data):
    index = combo.findData(data)
    assert index >= 0, data
    combo.setCurrentIndex(index)


def test_a_whole_case_on_the_screen(qtbot, tmp_path, monkeypatch, request):
    import main
    from drivers.edfreader import EdfFile
    from drivers.sources import Simulated
    from monitor.casemodel import open_case
    from monitor.montage import default_labels
    from simulation.emgsynth import SimConfig
    from ui.app import MonitorScreens
    from ui.casesetupdialog import CaseSetupDialog
    from ui.electrodecheck import ElectrodeCheckDialog

    monkeypatch.setenv("FACIAL_NERVE_MONITOR_CONFIG", str(tmp_path / "config"))
    # Simulated patient (seed 10): an A-train on channel 1 at 15.6 s of each source's signal
    # (another at 66 s); the LSR stays until step 4 makes it go.
    (tmp_path / "rec").mkdir()
    case = open_case(
        Simulated(SimConfig(seed=10, labels=default_labels(4, "left")), speed=8),
        record_folder=tmp_path / "rec",
    )
    screens = MonitorScreens(10.0, (1366, 768), switchable=True)
    window = screens.open(case)
    assert window is screens.window  # deleted when the case reopens the source
    sessions = [window.session]
    # Whatever happens below, no acquisition thread and no case colour outlive the test.
    request.addfinalizer(lambda: [s.stop() for s in sessions])
    request.addfinalizer(case.close)
    request.addfinalizer(lambda: theme.use_channel_colours([]))

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
    recorded_from = window.session.status().end_index  # the recording started before this
    assert window.case is not None and window.case.case_id == "MVD-17"
    assert window.session.source.info.labels == (
        "L Orb. oculi",
        "L Orb. oris",
        "L Mentalis",
        "L Frontalis",
    )
    assert window.traces._curves[0].opts["pen"].color().name() == "#ff80ff"
    assert window.recorder is not None  # monitoring started: recording
    path = window.recorder.path
    assert "MVD-17" in path.name and "Quaglia" not in path.name

    # 3. An alarm: the A-train's, or the train time it left if it came before the source was
    # reopened (carried over); then its acknowledgement (A).
    def nerve_alarms():
        kinds = ("a_train", "traintime_warning", "traintime_high")
        return [a for a in window.alarms.alarms() if a.key.split(":")[0] in kinds]

    qtbot.waitUntil(lambda: bool(nerve_alarms()), timeout=20_000)
    alarm = nerve_alarms()[0]
    assert "A-train" in alarm.text or "Train time" in alarm.text
    shown = {a.key for a in window.alarms.alarms()}
    window.acknowledge()
    # Every alarm that was on the screen is acknowledged. The acquisition thread goes on
    # meanwhile: a condition raised after the key (the train time's warning follows the
    # A-train's own alarm by 0.5 s of signal) is a new alarm, and rightly active.
    assert all(a.state is not AlarmState.ACTIVE for a in window.alarms.alarms() if a.key in shown)

    # 4. LSR baseline (B) while it is present, from sweeps the recording holds too (the
    # offline analysis takes its own baseline from its first 5), then its disappearance.
    rate = window.session.source.info.rate

    def lsr_sweeps_recorded() -> int:
        return len(
            {
                r.stim_number
                for r in window.evoked.results()
                if r.kind == "lsr" and r.present and r.stim_index >= recorded_from
            }
        )

    qtbot.waitUntil(lambda: lsr_sweeps_recorded() >= 8, timeout=20_000)
    window.set_lsr_baseline()
    baseline = window.evoked.baseline()
    assert baseline is not None and baseline.set_by == "user" and baseline.channels
    # The decompression: no LSR from the next stimulus on (the simulator reads its
    # configuration at each stimulus; one attribute, set whole).
    gone_at = window.session.status().end_index
    window.session.source.config.lsr_gone_at_s = gone_at / rate
    qtbot.waitUntil(
        lambda: any(c.kind == "disappeared" for c in window.evoked.calls()), timeout=30_000
    )
    window.refresh()
    assert "LSR gone" in window.lsr.status.head.text()
    called = next(c for c in window.evoked.calls() if c.kind == "disappeared")
    assert called.sample_index >= gone_at  # not called before it went
    # A few more sweeps into the file, so that the offline analysis has them too.
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
