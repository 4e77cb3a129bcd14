"""The case waits for the instructor's Start: nothing of the scenario advances before it,
and the training clock counts from it."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.alarms import AlarmState, AlarmTransition, Priority
from simulation.scenario_engine import ScenarioEngine
from simulation.scenario_parser import load_scenario
from training.actions import A_TRAIN_CALL, TraineeLog
from training.clock import CaseClock, clock_text, seconds_text
from training.score import score_trainee

IRRITATION = Path(__file__).resolve().parents[2] / "scenarios" / "nerve_irritation.toml"
BLOCK = 1000


def play(engine: ScenarioEngine, synth, pos: int, seconds: float) -> int:
    """Render ``seconds`` of stream from ``pos`` as a source does; the next index."""
    stop = pos + round(seconds * engine.rate)
    while pos < stop:
        engine.prepare(pos)
        synth.render(pos, BLOCK)
        pos += BLOCK
    return pos


def test_nothing_of_the_case_advances_before_start():
    sc = load_scenario(IRRITATION)
    engine = ScenarioEngine(sc, wait_for_start=True)
    synth = engine.make_synth(sc.sim_config())
    trainee = TraineeLog(engine)
    clock = CaseClock(engine)
    pos = play(engine, synth, 0, 20.0)  # the stream runs: the quiet baseline only
    truth = engine.truth()
    assert engine.waiting_for_start and engine.started_at is None and truth.started_at is None
    assert engine.case_seconds == 0 and engine.phase == "" and engine.end_index is None
    assert truth.items == () and truth.notices == () and clock.text(tenths=True) == "0:00:00.0"
    with pytest.raises(ValueError, match="press Start first"):
        engine.inject("a_train", 0)
    early = trainee.call(A_TRAIN_CALL, pos)  # the trainee presses F5 while waiting
    assert early.before_start
    assert score_trainee(truth, [], trainee.actions()).marks == ()

    engine.resume()  # the console's Start button: starts the case
    end = play(engine, synth, pos, 110.0)
    truth = engine.truth()
    assert engine.started_at == pos and not engine.waiting_for_start
    assert truth.notices[0].kind == "started" and truth.notices[1].text == "Phase: opening"
    assert all(t.onset >= pos for t in truth.items)
    # The first scripted A-train ("dissection+0:15": 0:50 in the case) comes 0:50 after
    # the start, not 0:50 after the stream began.
    first = next(t for t in truth.of_kind("a_train") if t.source == "scenario")
    assert abs(first.onset - (pos + round(50.0 * engine.rate))) <= 1
    assert truth.since_start_s(first.onset) == pytest.approx(50.0, abs=1e-3)
    assert clock.text(first.onset) == "0:00:50" and clock.text(end, tenths=True) == "0:01:50.0"
    # An alarm raised while waiting and the early call are not scored; later ones are.
    history = [
        AlarmTransition("flat:0", "Flat", Priority.LOW, None, AlarmState.ACTIVE, 5, 0.0, "x"),
        AlarmTransition("a_train:2", "A-train", Priority.MEDIUM, None, AlarmState.ACTIVE,
                        first.onset + 500, 0.0, "condition"),
    ]  # fmt: skip
    trainee.call(A_TRAIN_CALL, first.onset + 3000)
    score = score_trainee(truth, history, trainee.actions(), live=True)
    kinds = [(m.kind, m.verdict) for m in score.marks]
    assert ("alarm", "missed") in kinds and ("a_train", "ok") in kinds
    assert not any(m.what.startswith("Low") for m in score.marks)
    assert score.false_calls == 0


def test_an_engine_without_the_gate_starts_at_once():
    sc = load_scenario(IRRITATION)
    engine = ScenarioEngine(sc)
    assert engine.started_at == 0 and not engine.waiting_for_start
    engine.start()  # nothing to start: no notice
    synth = engine.make_synth(sc.sim_config())
    play(engine, synth, 0, 1.0)
    assert [n.kind for n in engine.truth().notices] == ["phase"]


def test_the_clock_reads_as_the_monitors_status_bar():
    assert clock_text(0, 10_000.0) == "0:00:00"
    assert clock_text(23_999, 10_000.0, tenths=True) == "0:00:02.3"
    assert clock_text(3725 * 10_000 + 9_999, 10_000.0) == "1:02:05"
    assert seconds_text(158.69, tenths=True) == "0:02:38.6"
    assert seconds_text(-1) == "0:00:00"
