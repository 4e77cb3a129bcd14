"""Switching the signal source from the screen: an operation of the case model, with the
same source descriptions as the command line."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

from dataclasses import replace

from PySide6.QtGui import QShortcut

from drivers.sources import Amplifier, LslStream, Recording, Simulated, SimulatedAmplifier
from monitor.alarms import Priority
from monitor.casemodel import CaseModel, open_case
from monitor.filters import FilterSettings
from monitor.montage import default_labels
from monitor.session import State
from simulation.emgsynth import SimConfig

DEMO = Path(__file__).resolve().parents[2] / "recordings" / "demo_mvd.edf"


def simulator(channels: int = 4, **config) -> Simulated:
    return Simulated(SimConfig(labels=default_labels(channels, "left"), **config))


@pytest.fixture
def screens(qtbot):
    from ui.app import MonitorScreens

    case = open_case(simulator(), filters=FilterSettings(highpass_hz=30))
    screens = MonitorScreens(10.0, (1366, 768), switchable=True)
    win = screens.open(case)
    assert win is screens.window  # replaced (and deleted) by a switch: not qtbot's
    yield screens, case
    case.close()
    if screens.window is not None:
        screens.window.close()


def test_switching_to_a_recording_moves_the_screen_and_stops_the_old_source(screens, qtbot):
    screens, _ = screens
    old = screens.window
    assert old.session.source.info.kind == "simulator"
    assert screens.switch(Recording(DEMO, speed=2))
    new = screens.window
    qtbot.addWidget(new)
    assert new is not old and new.session.source.info.kind == "replay"
    assert new.review is not None  # a replay gets its review bar
    assert old.session.state is State.FINISHED
    # The case's filters carry over to the new source.
    assert new.session.filters.settings.highpass_hz == 30
    qtbot.waitUntil(lambda: new.session.status().samples > 0, timeout=5000)


def test_a_source_that_cannot_open_keeps_the_present_one_and_says_why(screens, qtbot):
    screens, _ = screens
    old = screens.window
    assert not screens.switch(Recording(Path("/no/such/case.edf")))
    assert screens.window is old
    assert old.session.state is State.RUNNING
    qtbot.waitUntil(old.banner.isVisible, timeout=2000)
    assert "The source was not changed" in old.banner.text()
    assert "does not exist" in old.banner.text()


def test_the_simulated_amplifier_runs_through_the_serial_protocol(screens, qtbot):
    screens, _ = screens
    assert screens.switch(SimulatedAmplifier(simulator(2).config))
    new = screens.window
    qtbot.addWidget(new)
    assert new.session.source.info.kind == "serial"
    qtbot.waitUntil(lambda: new.session.status().samples > 5000, timeout=10_000)
    assert new.session.source.info.n_channels == 2


def test_the_dialog_answers_with_a_source_description(qtbot, tmp_path):
    from ui.sourcedialog import SourceDialog

    present = Simulated(SimConfig(seed=7, lsr_gone_at_s=30.0), speed=2.0)
    dialog = SourceDialog(present)
    qtbot.addWidget(dialog)
    keys = {s.key().toString(): s for s in dialog.findChildren(QShortcut)}
    assert set(keys) == {"Alt+1", "Alt+2", "Alt+3", "Alt+4", "Alt+5"}

    def press(key: str) -> None:  # offscreen windows are never active: fire the shortcut
        keys[key].activated.emit()

    assert dialog.description() == present  # the simulated case carries over
    dialog.sim_channels.setValue(2)
    two = dialog.description()
    assert two.config.labels == default_labels(2, "left") and two.config.seed == 7
    press("Alt+4")
    assert dialog.kind == "replay"
    with pytest.raises(ValueError, match="Choose the recording"):
        dialog.description()
    dialog.accept()  # incomplete: says so and stays open
    assert "Choose the recording" in dialog.error.text() and dialog.result() == 0
    dialog.replay_file.setText(str(DEMO))
    dialog.replay_speed.setCurrentText("5")
    assert dialog.description() == Recording(DEMO, speed=5.0)
    press("Alt+3")
    assert dialog.description() == SimulatedAmplifier(present.config)
    press("Alt+2")
    dialog.port.setEditText("/dev/ttyACM0")
    assert dialog.description() == Amplifier("/dev/ttyACM0", 921_600)
    press("Alt+5")
    with pytest.raises(ValueError, match="Name the LSL stream"):
        dialog.description()
    dialog.lsl_name.setText("type=EMG")
    assert dialog.description() == LslStream("type=EMG")


def test_a_switch_keeps_what_the_user_set(screens, qtbot):
    screens, _ = screens
    old = screens.window
    old.monitoring.set_thresholds(mode="fixed", fixed_uv=60.0)
    old.monitoring.set_traintime_thresholds(0.3, 5.0)
    old.alarms.policies["a_train"] = replace(old.alarms.policies["a_train"], priority=Priority.HIGH)
    old.traces.set_range(500)
    assert screens.switch(simulator(2))
    new = screens.window
    qtbot.addWidget(new)
    assert new.monitoring.detector.s.mode == "fixed" and new.monitoring.detector.s.fixed_uv == 60
    assert new.monitoring.traintime.thresholds_s == (0.3, 5.0)
    assert new.alarms.policies["a_train"].priority is Priority.HIGH
    assert new.traces.range_uv == 500 and new.session.filters.settings.highpass_hz == 30


def test_case_setup_on_an_amplifier_port_lets_the_port_go_first(qtbot, tmp_path, monkeypatch):
    from drivers.simdevice import SimulatedDevice
    from monitor.casesetup import CaseSetup
    from ui.app import MonitorScreens

    monkeypatch.setenv("FACIAL_NERVE_MONITOR_CONFIG", str(tmp_path / "config"))
    device = SimulatedDevice(SimConfig(seed=1), bits=24)
    path = device.start()
    screens = MonitorScreens(10.0, (1366, 768), switchable=True)
    first = screens.open(open_case(Amplifier(path), record_folder=tmp_path))
    assert first.model.capabilities.exclusive and first.model.capabilities.bits == 24
    sessions = [first.session]
    try:
        qtbot.waitUntil(lambda: first.session.status().samples > 5000, timeout=5000)
        setup = CaseSetup("MVD-3", "right", user="drx")
        settings = screens.flow.store.load("drx", setup.procedure)
        screens.flow.apply(setup, settings.montage("right"), settings)
        new = screens.window
        sessions.append(new.session)
        assert new is not first and new.case is setup
        assert new.session.source.info.labels[0].startswith("R ")  # the case's montage
        qtbot.waitUntil(lambda: new.session.status().samples > 5000, timeout=5000)
    finally:
        for s in sessions:
            s.stop()
        screens.window.close()
        device.stop()


def test_a_case_whose_montage_cannot_be_applied_still_applies_and_keeps_recording(
    qtbot, tmp_path, monkeypatch
):
    from monitor.casesetup import CaseSetup
    from ui.app import MonitorScreens

    monkeypatch.setenv("FACIAL_NERVE_MONITOR_CONFIG", str(tmp_path / "config"))
    case = open_case(simulator(seed=3), record_folder=tmp_path)

    def failing(description):
        raise ValueError("the device on /dev/ttyACM0 did not describe itself.")

    case.open = failing  # type: ignore[method-assign]
    screens = MonitorScreens(10.0, (1366, 768), switchable=True)
    win = screens.open(case)
    try:
        win.toggle_recording()
        before = win.recorder.path
        setup = CaseSetup("MVD-2", "left", user="drx")
        settings = screens.flow.store.load("drx", setup.procedure)
        screens.flow.apply(setup, settings.montage("left"), settings)
        assert screens.window is win and win.case is setup
        assert win.recorder is not None and win.recorder.path != before  # its own file
        assert "MVD-2" in win.recorder.path.name
        qtbot.waitUntil(win.banner.isVisible, timeout=2000)
        assert "montage could not be applied" in win.banner.text()
    finally:
        win.close()
        win.session.stop()


def test_the_cases_filters_apply_even_a_high_pass_that_is_off(qtbot, tmp_path, monkeypatch):
    from monitor.casesetup import CaseSetup
    from ui.app import MonitorScreens

    monkeypatch.setenv("FACIAL_NERVE_MONITOR_CONFIG", str(tmp_path / "config"))
    case = open_case(
        simulator(), filters=FilterSettings(highpass_hz=100, notch_hz=50), record_folder=tmp_path
    )
    screens = MonitorScreens(10.0, (1366, 768), switchable=True)
    first = screens.open(case)
    sessions = [first.session]
    try:
        setup = CaseSetup("MVD-4", "right", user="drx")
        settings = replace(
            screens.flow.store.load("drx", setup.procedure),
            filters=FilterSettings(highpass_hz=None, lowpass_hz=3000.0),
        )
        assert screens.flow.apply(setup, settings.montage("right"), settings)
        new = screens.window
        sessions.append(new.session)
        assert new.session.source.info.labels[0].startswith("R ")
        qtbot.waitUntil(
            lambda: new.session.filters.settings == FilterSettings(None, 3000.0), timeout=5000
        )
    finally:
        for s in sessions:
            s.stop()
        screens.window.close()


def test_no_source_left_stops_the_case_start_and_records_nothing(qtbot, tmp_path, monkeypatch):
    from drivers.simdevice import SimulatedDevice
    from monitor.casesetup import CaseSetup
    from ui.app import MonitorScreens

    monkeypatch.setenv("FACIAL_NERVE_MONITOR_CONFIG", str(tmp_path / "config"))
    device = SimulatedDevice(SimConfig(seed=1), bits=24)
    path = device.start()
    screens = MonitorScreens(10.0, (1366, 768), switchable=True)
    win = screens.open(open_case(Amplifier(path), record_folder=tmp_path))
    try:
        qtbot.waitUntil(lambda: win.session.status().samples > 2000, timeout=5000)
        device.stop()  # the amplifier goes away: neither the case nor the old way opens
        setup = CaseSetup("MVD-5", "left", user="drx")
        settings = screens.flow.store.load("drx", setup.procedure)
        assert not screens.flow.apply(setup, settings.montage("left"), settings)
        assert screens.window is win and win.recorder is None
        assert "No signal source" in win.banner.text()
    finally:
        win.close()
        win.session.stop()


def test_a_window_without_source_switching_offers_no_case_setup(qtbot):
    from drivers.simulator import SimulatorSource
    from monitor.session import Session
    from ui.app import MonitorScreens

    screens = MonitorScreens(10.0, (1366, 768), switchable=False)
    session = Session(SimulatorSource(SimConfig(seed=1)))
    session.open()
    win = screens.open(CaseModel.on_session(session))
    try:
        assert win.case_flow is None and win.switch_source is None
        win.begin_case()  # F9: says so, changes nothing
        assert "only from the monitor's window" in win.banner.text()
    finally:
        win.close()
        session.stop()


def test_the_screen_stays_live_but_takes_no_keys_while_a_source_opens(screens, qtbot):
    import time as _time

    from PySide6.QtCore import QTimer

    screens, case = screens
    old = screens.window
    slow = case.open

    def opening_slowly(description):
        _time.sleep(0.6)  # a port that takes its time to answer
        return slow(description)

    case.open = opening_slowly
    seen: list[tuple[bool, int]] = []
    frames = old.traces.frames
    QTimer.singleShot(300, lambda: seen.append((old.isEnabled(), old.traces.frames)))
    assert screens.switch(simulator(2))
    qtbot.addWidget(screens.window)
    ((enabled, frames_then),) = seen
    assert not enabled  # F9, R, S ... could not start a second change meanwhile
    assert frames_then > frames  # the old screen kept drawing


def test_the_cases_train_time_goes_on_with_the_new_source(screens, qtbot):
    screens, _ = screens
    old = screens.window
    labels = old.session.source.info.labels
    old.monitoring.traintime.carry_over([0.0, 4.0, 0.0, 0.0])  # as if 4 s of A-trains
    assert screens.switch(simulator(len(labels)))
    new = screens.window
    qtbot.addWidget(new)
    assert new.monitoring.traintime.seconds()[1] == pytest.approx(4.0, abs=0.01)
    texts = [new.event_log.texts(r)[2] for r in range(new.event_log.rowCount())]
    assert "New signal source: train time carried over" in texts
    # Other channels: it cannot go on; the log says what starts again.
    assert screens.switch(simulator(2))
    other = screens.window
    qtbot.addWidget(other)
    assert other.monitoring.traintime.seconds() == [0.0, 0.0]
    texts = [other.event_log.texts(r)[2] for r in range(other.event_log.rowCount())]
    assert any("train time (" in t and "4.0 s" in t and "start again" in t for t in texts)


def test_a_montage_the_simulated_case_cannot_take_is_said_and_the_case_goes_on(
    qtbot, tmp_path, monkeypatch
):
    """A simulated bad needle on channel 7 of 8, then a 4-muscle case: the montage cannot
    be applied (no channel 7); the case, its settings and the screen go on and say why."""
    from monitor.casesetup import CaseSetup
    from simulation.electrodes import BadElectrode
    from ui.app import MonitorScreens

    monkeypatch.setenv("FACIAL_NERVE_MONITOR_CONFIG", str(tmp_path / "config"))
    config = SimConfig(
        seed=1, labels=default_labels(8, "left"), bad_electrodes=(BadElectrode(channel=6),)
    )
    case = open_case(Simulated(config), record_folder=tmp_path)
    screens = MonitorScreens(10.0, (1366, 768), switchable=True)
    win = screens.open(case)
    try:
        setup = CaseSetup("MVD-6", "left", user="drx")
        settings = screens.flow.store.load("drx", setup.procedure)
        assert screens.flow.apply(setup, settings.montage("left"), settings)
        assert screens.window is win and win.case is setup
        assert "montage could not be applied" in win.banner.text()
        assert "channel" in win.banner.text()
    finally:
        win.close()
        case.close()


def test_the_dialog_offers_the_command_lines_simulated_case_from_a_recording(qtbot):
    from ui.sourcedialog import SourceDialog

    command_line = Simulated(SimConfig(seed=5, stim_rate_hz=0.0), speed=1.0)
    dialog = SourceDialog(Recording(DEMO, speed=10.0), simulator=command_line)
    qtbot.addWidget(dialog)
    assert dialog.kind == "replay"
    dialog.choose("simulator")
    back = dialog.description()
    assert back.config.seed == 5 and back.config.stim_rate_hz == 0.0
    assert back.speed == 1.0  # the replay's 10x is the recording's, not the simulator's


def test_the_screen_switches_to_an_lsl_stream(screens, qtbot):
    """S, "Lab Streaming Layer stream": the case moves to a stream another program (or
    monitor) publishes, with the stream's own channels."""
    import os
    import threading
    import time as _time

    import numpy as np

    from drivers.lslconfig import restrict_to_hosts

    if "LSLAPICFG" not in os.environ:
        restrict_to_hosts()  # this machine only, before liblsl is first used
    pylsl = pytest.importorskip("pylsl")
    screens, _ = screens
    name = f"switch test {_time.monotonic_ns()}"
    info = pylsl.StreamInfo(name, "EMG", 2, 1000.0, "float32", name)
    channels = info.desc().append_child("channels")
    for label in ("R Chin", "R Lip"):
        ch = channels.append_child("channel")
        ch.append_child_value("label", label)
        ch.append_child_value("unit", "microvolts")
    outlet = pylsl.StreamOutlet(info)
    stop = threading.Event()

    def stream() -> None:
        while not stop.is_set():
            outlet.push_chunk(np.random.default_rng().normal(0, 5, (20, 2)).tolist())
            _time.sleep(0.02)

    pusher = threading.Thread(target=stream, daemon=True)
    pusher.start()
    try:
        assert screens.switch(LslStream(name))
        new = screens.window
        qtbot.addWidget(new)
        assert new.session.source.info.labels == ("R Chin", "R Lip")
        assert not new.model.capabilities.montage  # the stream names its channels
        qtbot.waitUntil(lambda: new.session.status().samples > 500, timeout=10_000)
    finally:
        stop.set()
        pusher.join()
