"""Training on screen: the instructor steers the case, the trainee calls, the debrief scores."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

from drivers.scenario_sources import ScenarioSource
from monitor.session import Session
from simulation.scenario_engine import ScenarioEngine
from simulation.scenario_parser import load_scenario

ROUTINE = Path(__file__).resolve().parents[2] / "scenarios" / "routine_mvd.toml"


@pytest.fixture
def training(qtbot):
    from monitor.casemodel import CaseModel
    from training.actions import TraineeLog
    from ui.instructor import InstructorConsole
    from ui.mainwindow import MainWindow

    engine = ScenarioEngine(load_scenario(ROUTINE))
    session = Session(ScenarioSource(engine, speed=4.0))
    session.open()
    session.start()
    window = MainWindow(CaseModel.on_session(session))
    qtbot.addWidget(window)
    window.resize(1366, 768)
    window.show()
    trainee = TraineeLog()
    window.enable_training(trainee)
    console = InstructorConsole(engine, trainee)
    qtbot.addWidget(console)
    yield engine, window, console, trainee
    window.close()
    session.stop()


def test_the_instructor_injects_an_a_train_and_the_trainee_calls_it(training, qtbot, tmp_path):
    from training.debrief import write_debrief

    engine, window, console, trainee = training
    qtbot.waitUntil(lambda: engine.case_seconds > 1.0, timeout=10_000)
    console.select_kind("a_train")
    console.channel.setCurrentIndex(2)
    console.duration.setValue(1.5)
    console.inject_from_form()
    assert console.answer.text() == "Injected A-train."
    # The monitor sees it; the trainee calls it with F5 (on the button here: offscreen).
    qtbot.waitUntil(
        lambda: any(e.kind.value == "a_train" for e in window.monitoring.events()), timeout=15_000
    )
    window.actions.buttons["call_a_train"].click()
    assert [a.kind for a in trainee.actions()] == ["a_train"]
    assert "Trainee: A-train called" in window.event_log.texts(0)[2]
    console.refresh()
    listed = [console.timeline.item(i).text() for i in range(console.timeline.count())]
    assert any("trainee: A-train called" in t for t in listed)
    # A false call with no A-train on screen.
    window.trainee_call("lsr_gone")
    window.acknowledge()
    path = write_debrief(tmp_path / "debrief.html", engine, window.monitoring, trainee)
    page = path.read_text()
    injected = [t for t in engine.truth().of_kind("a_train") if t.source == "instructor"]
    assert injected and f"A-train on {window.monitoring.label(2)}" in page
    assert "false calls 1" in page
    assert "Happened" in page and "Trainee" in page
    # The scenario's [training] set times are the ones scored.
    assert "acknowledged within 20 s" in page and "called within\n45 s" in page


def test_the_instructor_pauses_and_jumps_to_a_phase(training, qtbot):
    engine, window, console, _ = training
    qtbot.waitUntil(lambda: engine.case_seconds > 0.5, timeout=10_000)
    console.toggle_pause()
    qtbot.waitUntil(lambda: engine.paused, timeout=5000)
    console.refresh()
    assert (
        console.state.text().startswith("PAUSED") and console.pause_button.text() == "Resume case"
    )
    console.toggle_pause()
    console.jump("decompression")
    qtbot.waitUntil(lambda: engine.phase == "decompression", timeout=10_000)
    console.jump("no such phase")
    assert console.answer.text() == (
        "The scenario has no phase 'no such phase'; its phases: opening, dissection, "
        "decompression, closure."
    )
    # The trainee's window shows nothing of the instructor's console.
    assert console.window() is not window and console.parent() is None


def test_the_scenario_command_opens_console_and_writes_the_debrief(tmp_path, capsys):
    import main

    shot, page = tmp_path / "shot.png", tmp_path / "debrief.html"
    code = main.main(
        [
            "scenario", str(ROUTINE), "--trainee", "--instructor", "--speed", "10",
            "--screenshot", str(shot), "--after", "1.5", "--debrief", str(page),
        ]
    )  # fmt: skip
    assert code == 0 and shot.stat().st_size > 10_000
    assert f"Debrief: {page}" in capsys.readouterr().out
    assert "Debrief — Routine MVD" in page.read_text()


def test_a_case_held_from_the_start_waits_for_the_instructor(qtbot):
    from ui.instructor import InstructorConsole

    engine = ScenarioEngine(load_scenario(ROUTINE), wait_for_start=True)
    session = Session(ScenarioSource(engine, speed=4.0))
    session.open()
    session.start()
    try:
        console = InstructorConsole(engine)
        qtbot.addWidget(console)
        qtbot.waitUntil(lambda: session.status().signal_seconds > 1.0, timeout=10_000)
        console.refresh()
        assert engine.case_seconds == 0 and console.pause_button.text() == "Start case"
        console.pause_button.click()
        qtbot.waitUntil(lambda: engine.case_seconds > 0.5, timeout=10_000)
        console.refresh()
        assert console.pause_button.text() == "Pause case"
    finally:
        session.stop()


def test_the_console_closes_with_the_trainees_monitor(training, qtbot):
    from ui.instructor import InstructorConsole

    engine, window, _, trainee = training
    console = InstructorConsole(engine, trainee, monitor=window)
    qtbot.addWidget(console)
    console.show()
    window.close()
    console.refresh()
    assert not console.isVisible()
