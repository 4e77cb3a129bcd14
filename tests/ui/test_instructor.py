"""The instructor's console: the case waits for Start, the console sits beside the monitor,
kinds in words, the trainee's live score, one case clock on both screens."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QRect, QSize

from drivers.scenario_sources import ScenarioSource
from monitor.session import Session, State
from simulation.scenario_engine import ScenarioEngine
from simulation.scenario_parser import load_scenario
from training.clock import clock_text
from ui.instructor import (
    CONSOLE_MIN_WIDTH,
    CONSOLE_SIZE,
    MONITOR_MIN_WIDTH,
    WAITING_TEXT,
    arrange,
)

ROUTINE = Path(__file__).resolve().parents[2] / "scenarios" / "routine_mvd.toml"
SCREEN = QRect(0, 0, 1920, 1080)


def open_training(
    qtbot, *, acquire_first: bool, stop_at_s: float | None = None, speed: float = 4.0
):
    """The monitor and the console as ``main.py scenario --instructor --trainee`` opens
    them: the case held for its Start; the acquisition started at once (the simulated
    amplifier's way) or by the Start (in-process)."""
    from monitor.casemodel import CaseModel
    from training.actions import TraineeLog
    from ui.instructor import open_console
    from ui.mainwindow import MainWindow

    engine = ScenarioEngine(load_scenario(ROUTINE), stop_at_s=stop_at_s, wait_for_start=True)
    session = Session(ScenarioSource(engine, speed=speed))
    session.open()
    if acquire_first:
        session.start()
    window = MainWindow(CaseModel.on_session(session))
    qtbot.addWidget(window)
    window.resize(1600, 900)
    window.show()
    trainee = TraineeLog(engine)
    window.enable_training(trainee)

    def start_acquisition() -> None:
        if session.state is State.IDLE:
            session.start()

    console = open_console(
        window,
        engine,
        window.monitoring,
        lambda: session.status().end_index,
        trainee,
        on_start=start_acquisition,
    )
    qtbot.addWidget(console)
    return engine, session, window, console, trainee


def close(opened) -> None:
    _, session, window, console, _ = opened
    console.close()
    window.close()
    session.stop()


@pytest.fixture
def training(qtbot):
    opened = open_training(qtbot, acquire_first=True)
    yield opened
    close(opened)


def monitor_clock(window) -> str:
    window.refresh()
    found = re.search(r"\s(\d+:\d\d:\d\d)\s", window.status_text())
    assert found, window.status_text()
    return found.group(1)


def test_nothing_of_the_case_advances_before_start(training, qtbot):
    engine, session, window, console, _ = training
    # The signal runs (the quiet baseline), the case does not.
    qtbot.waitUntil(lambda: session.status().signal_seconds > 1.5, timeout=15_000)
    window.trainee_call("a_train")  # pressed while waiting: kept, not scored
    console.refresh()
    console.update_score()
    truth = engine.truth()
    assert engine.waiting_for_start and engine.case_seconds == 0 and engine.phase == ""
    assert truth.items == () and truth.notices == () and truth.started_at is None
    assert console.state.text() == "WAITING FOR START"
    assert console.clock.text() == "0:00:00.0" and console.pause_button.text() == "Start case"
    assert console.score is not None and console.score.marks == ()
    assert console.score_label.text() == "Nothing scored before the start."
    assert console.waiting_notice.shown
    label = console.waiting_notice.label  # the console's own, or the monitor's stale line
    assert (label.text() if label is not None else window.stale_text()) == WAITING_TEXT
    console.inject("a_train", 2)
    assert console.answer.text() == "The case has not started yet: press Start first."
    listed = [console.timeline.item(i).text() for i in range(console.timeline.count())]
    assert listed == ["0:00:00  trainee: A-train called (before the start: not scored)"]

    console.pause_button.click()  # Start
    qtbot.waitUntil(lambda: engine.case_seconds > 0.5, timeout=10_000)
    console.refresh()
    assert not engine.waiting_for_start and engine.started_at > 0
    assert console.state.text() == "RUNNING" and console.pause_button.text() == "Pause case"
    assert not console.waiting_notice.shown
    assert all(t.onset >= engine.started_at for t in engine.truth().items)
    assert console.timeline.item(1).text().startswith("0:00:00  Started at 00:00.0")


def test_the_acquisition_waits_for_start_in_process(qtbot):
    engine, session, window, console, _ = open_training(qtbot, acquire_first=False)
    try:
        assert session.state is State.IDLE and monitor_clock(window) == "0:00:00"
        assert console.waiting_notice.shown
        console.start()
        qtbot.waitUntil(lambda: engine.case_seconds > 0.3, timeout=10_000)
        assert session.state is State.RUNNING and engine.started_at == 0
    finally:
        console.close()
        window.close()
        session.stop()


def test_both_clocks_show_the_same_case_time(qtbot):
    engine, session, window, console, _ = open_training(qtbot, acquire_first=False, stop_at_s=4)
    try:
        console.start()
        qtbot.waitUntil(lambda: engine.case_seconds > 1.0, timeout=10_000)
        console.toggle_pause()  # the instructor holds the case: both clocks go on
        qtbot.waitUntil(lambda: engine.paused, timeout=5000)
        held = session.status().signal_seconds
        qtbot.waitUntil(lambda: session.status().signal_seconds > held + 1.0, timeout=10_000)
        console.toggle_pause()
        qtbot.waitUntil(lambda: session.state is State.FINISHED, timeout=15_000)
        console.refresh()
        on_console = console.clock.text()
        assert re.fullmatch(r"\d+:\d\d:\d\d\.\d", on_console)
        assert on_console[:-2] == monitor_clock(window)  # h:mm:ss on both, the same
        end = session.status().end_index
        assert end / engine.rate > engine.case_seconds + 0.9  # the scenario itself was held
        assert on_console == clock_text(end, engine.rate, tenths=True)
    finally:
        console.close()
        window.close()
        session.stop()


def test_kinds_are_in_words_on_the_console_and_in_the_debrief(training, qtbot, tmp_path):
    from presentation.names import kind_words
    from training.debrief import write_debrief

    engine, _, window, console, trainee = training
    kinds = [console.kind.itemText(i) for i in range(console.kind.count())]
    assert kinds[:4] == ["A-train", "burst", "spike", "C-train"] and "needle off" in kinds
    console.start()
    qtbot.waitUntil(lambda: not engine.waiting_for_start, timeout=10_000)
    console.select_kind("a_train")
    console.channel.setCurrentIndex(2)
    console.duration.setValue(0.5)
    console.inject_from_form()
    assert console.answer.text() == "Injected A-train."
    console.select_kind("c_train")
    console.inject_from_form()
    qtbot.waitUntil(lambda: len(engine.truth().of_kind("a_train", "c_train")) == 2, timeout=10_000)
    console.refresh()
    listed = "\n".join(console.timeline.item(i).text() for i in range(console.timeline.count()))
    assert "Injected: A-train on " in listed and "Injected: C-train on " in listed
    assert re.search(r"\d:\d\d:\d\d  A-train on ", listed)
    assert not re.search(r"a_train|c_train|a-train|c-train", listed)
    page = write_debrief(tmp_path / "d.html", engine, window.monitoring, trainee, words=kind_words)
    text = page.read_text()
    assert "<title>A-train " in text and "<title>C-train " in text
    assert "a_train" not in text and "c_train" not in text


def test_the_live_score_follows_the_case(qtbot):
    # In real time: the call below comes well within the A-train's 10 s set time.
    opened = open_training(qtbot, acquire_first=False, speed=1.0)
    try:
        check_the_live_score(qtbot, *opened)
    finally:
        close(opened)


def check_the_live_score(qtbot, engine, session, window, console, trainee):
    console.start()
    qtbot.waitUntil(lambda: not engine.waiting_for_start, timeout=10_000)
    console.inject("a_train", 2, 2.0)
    qtbot.waitUntil(lambda: bool(engine.truth().of_kind("a_train")), timeout=10_000)
    onset = engine.truth().of_kind("a_train")[0].onset
    qtbot.waitUntil(lambda: session.status().end_index > onset, timeout=10_000)  # on screen
    console.update_score()
    assert "A-trains called: 0 of 0 in time (1 open)" in console.score_label.text()
    window.trainee_call("a_train")  # F5 while the A-train is due
    console.refresh()
    assert console.score.count("a_train", "ok") == 1
    lines = console.score_label.text().splitlines()
    assert "A-trains called: 1 of 1 in time" in lines and "False calls: 0" in lines
    window.trainee_call("lsr_gone")  # the LSR is still there: a false call
    console.update_score()
    assert "False calls: 1" in console.score_label.text().splitlines()


def test_the_console_goes_beside_the_monitor_on_one_screen():
    mon, con = arrange([SCREEN], QRect(0, 0, 1600, 900), CONSOLE_SIZE)
    assert not mon.intersects(con)
    assert SCREEN.contains(mon) and SCREEN.contains(con)
    assert mon.width() >= MONITOR_MIN_WIDTH and con.width() >= CONSOLE_MIN_WIDTH
    assert con.left() > mon.right() and con.height() >= 800


def test_the_console_goes_to_the_other_screen_when_there_are_two():
    second = QRect(1920, 0, 1280, 1024)
    mon, con = arrange([SCREEN, second], QRect(100, 50, 1600, 900), CONSOLE_SIZE)
    assert mon == QRect(100, 50, 1600, 900) and second.contains(con)
    assert con.size() == CONSOLE_SIZE
    # The monitor on the second screen: the console goes to the first.
    mon, con = arrange([SCREEN, second], QRect(2000, 40, 1200, 800), QSize(520, 860))
    assert second.contains(mon) and SCREEN.contains(con)


def test_on_a_small_screen_the_console_covers_no_trace():
    small = QRect(0, 0, 1366, 768)
    mon, con = arrange([small], QRect(0, 0, 1600, 900), CONSOLE_SIZE)
    assert small.contains(mon) and small.contains(con)
    # Only the monitor's right edge (train time, LSR), never the traces on its left.
    assert con.left() >= mon.left() + 0.85 * mon.width()


def test_the_console_opens_beside_the_monitor(training):
    _, _, window, console, _ = training
    assert not window.geometry().intersects(console.geometry())
    # Offscreen it is placed as on one 1920x1080 screen: both fit on it side by side.
    assert SCREEN.contains(window.geometry()) and SCREEN.contains(console.geometry())
    assert console.window() is not window and console.parent() is None
