"""The case model: one factory for every front end, and the case's operations (record,
notes, settings, source switch) without any view."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from drivers.sources import Recording, Simulated, SimulatedAmplifier
from monitor.casemodel import CaseModel, open_case
from monitor.filters import FilterSettings
from monitor.montage import default_labels
from monitor.session import Session, State
from simulation.emgsynth import SimConfig

DEMO = Path(__file__).resolve().parents[2] / "recordings" / "demo_mvd.edf"


def simulator(channels: int = 2, seed: int = 1) -> Simulated:
    return Simulated(SimConfig(seed=seed, labels=default_labels(channels, "left")), speed=4.0)


def wait_for(predicate, timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.02)


@pytest.fixture
def case(tmp_path):
    model = open_case(simulator(), record_folder=tmp_path, case_id="T-1")
    yield model
    model.close()


def texts(model: CaseModel) -> list[str]:
    return [n.text for n in model.notes_since(0)[1]]


def test_the_factory_opens_a_started_case_with_the_monitor_pipeline(case):
    assert case.session.state is State.RUNNING
    assert case.monitoring.labels == case.evoked.labels == default_labels(2, "left")
    assert case.alarms is case.monitoring.alarms
    wait_for(lambda: case.session.status().samples > 2000)
    caps = case.capabilities
    assert caps.stimulator and caps.electrode_check and not caps.seekable and caps.bits == 16


def test_recording_is_an_operation_of_the_case(case, tmp_path):
    path = case.start_recording()
    assert case.recording and path.parent == tmp_path and "T-1" in path.name
    wait_for(lambda: case.recorder.stats()["seconds_written"] >= 1.0)
    case.add_note("vessel moved", case.now_index())
    assert case.stop_recording() == path and not case.recording
    assert path.stat().st_size > 256
    said = texts(case)
    assert said[0] == f"Recording to {path}" and said[-1] == f"Recording stopped: {path}"
    assert "Note: vessel moved" in said


def test_a_switch_carries_the_settings_the_train_time_and_the_recording(case):
    case.monitoring.set_thresholds(mode="fixed", fixed_uv=70.0)
    case.monitoring.set_traintime_thresholds(0.4, 6.0)
    case.session.set_filter(FilterSettings(highpass_hz=40.0, lowpass_hz=2500.0))
    case.monitoring.traintime.carry_over([0.0, 3.0])
    first = case.start_recording()
    old = case.pipeline
    case.switch_source(simulator(seed=2))
    assert case.pipeline is not old and case.source_no == 1
    assert old.session.state is State.FINISHED
    assert case.session.state is State.RUNNING
    assert case.monitoring.detector.s.fixed_uv == 70.0
    assert case.monitoring.traintime.thresholds_s == (0.4, 6.0)
    assert case.session.filters.settings == FilterSettings(highpass_hz=40.0, lowpass_hz=2500.0)
    assert case.monitoring.traintime.seconds()[1] == pytest.approx(3.0, abs=0.01)
    assert case.recording and case.recorder.path != first  # goes on in a new file
    new_notes = [n for n in case.notes_since(0)[1] if n.source_no == 1]
    assert "New signal source: train time carried over" in [n.text for n in new_notes]


def test_a_switch_to_other_channels_says_what_starts_again(case):
    case.monitoring.traintime.carry_over([1.5, 0.0])
    case.switch_source(simulator(channels=3))
    assert case.monitoring.traintime.seconds() == [0.0, 0.0, 0.0]
    said = [t for t in texts(case) if t.startswith("New signal source: train time (L Orb. oculi")]
    assert len(said) == 1 and said[0].endswith("start again"), texts(case)


def test_a_source_that_cannot_open_leaves_the_case_running_as_it_was(case):
    before = case.pipeline
    with pytest.raises(ValueError, match="does not exist"):
        case.switch_source(Recording(Path("/no/such/case.edf")))
    assert case.pipeline is before and case.session.state is State.RUNNING


def test_a_recording_keeps_its_channels_and_is_seekable():
    model = open_case(Recording(DEMO, realtime=False, hold_at_end=False), start=False)
    try:
        caps = model.capabilities
        assert caps.seekable and not caps.montage and not caps.stimulator
        assert model.montage_description(("A", "B")) is None
        assert model.seconds_of(1000) == pytest.approx(1000 / model.session.source.info.rate)
    finally:
        model.close()


def test_the_montage_reopens_a_live_source_with_the_cases_labels(case):
    labels = ("R Orb. oculi", "R Mentalis")
    again = case.montage_description(labels)
    assert again == Simulated(
        SimConfig(seed=1, labels=labels, rate=case.session.source.info.rate), speed=4.0
    )


def test_the_simulated_amplifier_states_its_24_bits():
    config = SimConfig(seed=1, labels=default_labels(2, "left"))
    model = open_case(SimulatedAmplifier(config))
    try:
        caps = model.capabilities
        assert caps.bits == 24 and caps.stimulator and caps.electrode_check
        assert not caps.exclusive  # each opening makes its own simulated device
    finally:
        model.close()


def test_a_case_on_a_session_made_by_hand_cannot_be_reopened():
    from drivers.simulator import SimulatorSource

    session = Session(SimulatorSource(SimConfig(seed=1), realtime=False, duration_s=1.0))
    session.open()
    model = CaseModel.on_session(session)
    try:
        assert model.description is None and model.montage_description(("A",)) is None
    finally:
        model.close()


def test_the_operators_actions_leave_their_notes(case):
    wait_for(lambda: case.session.status().samples > 1000)
    assert case.toggle_alarm_pause()
    assert not case.toggle_alarm_pause()
    with pytest.raises(ValueError, match="reason"):
        case.reset_train_time("  ", None)
    case.reset_train_time("bovie test", 0)
    said = texts(case)
    assert said[0].startswith("Alarm sound paused for 2:0") and said[1] == "Alarm sound resumed"
    assert said[2] == "Train time reset (was 0.0 s): bovie test"
    assert case.notes_since(0)[1][2].channel == "L Orb. oculi"


def test_a_recording_that_cannot_go_on_after_a_switch_leaves_the_case_monitored(case, tmp_path):
    import shutil

    from monitor.recorder import RecorderError

    case.start_recording()
    case.monitoring.traintime.carry_over([0.0, 2.0])
    shutil.rmtree(tmp_path)  # the recordings folder is gone
    tmp_path.touch()  # and a file now stands where it was: no folder can be made there
    with pytest.raises(RecorderError):
        case.switch_source(simulator(seed=2))
    assert case.source_no == 1 and case.session.state is State.RUNNING
    assert not case.recording
    said = texts(case)
    assert any(t.startswith("Recording not started again") for t in said)
    assert "New signal source: train time carried over" in said  # said all the same


def test_a_follower_hears_of_each_new_source(case):
    seen = []
    case.add_source_listener(seen.append)
    case.switch_source(simulator(seed=3))
    assert seen == [case.pipeline] and seen[0].session.state is State.RUNNING
