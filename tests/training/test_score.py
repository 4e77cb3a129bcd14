"""Scoring a trainee: acknowledgements, A-train and LSR calls, false calls, reaction times."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from monitor.alarms import AlarmState, AlarmTransition, Priority
from simulation.scenario_engine import ScenarioNotice, ScenarioTruth, TruthItem
from training.actions import A_TRAIN_CALL, LSR_CALL, TraineeLog
from training.debrief import debrief_html, timeline_svg
from training.score import Limits, score_trainee

RATE = 1000.0
S = int(RATE)


def item(kind, t0, t1=None, ch=0):
    return TruthItem(kind, t0 * S, None if t1 is None else t1 * S, ch, "scenario", float(t0))


def truth(items, end_s=200):
    phases = (
        ScenarioNotice("phase", 0, 0.0, "opening", "opening"),
        ScenarioNotice("phase", 90 * S, 90.0, "decompression", "decompression"),
    )
    return ScenarioTruth(
        RATE,
        ("L Orb. oculi", "L Mentalis"),
        tuple(sorted(items, key=lambda t: t.onset)),
        phases,
        phases,
        (),
        end_s * S,
        end_s * S,
    )


def alarm(key, new, t, old=None, prio=Priority.MEDIUM, reason=""):
    reason = reason or ("acknowledged" if new is AlarmState.ACKNOWLEDGED else "condition")
    return AlarmTransition(key, f"{key} text", prio, old, new, t * S, 0.0, reason)


A, ACK, RES = AlarmState.ACTIVE, AlarmState.ACKNOWLEDGED, AlarmState.RESOLVED


def test_alarms_are_judged_by_when_they_were_acknowledged():
    history = [
        alarm("a_train:0", A, 10),
        alarm("a_train:0", ACK, 15, A),
        alarm("a_train:0", RES, 20, ACK),
        alarm("traintime:1", A, 30),
        alarm("traintime:1", ACK, 75, A),  # 45 s: late
        alarm("flat:0", A, 100),
        alarm("flat:0", RES, 102, A),  # gone in 2 s: not needed
        alarm("no_signal", A, 150, prio=Priority.HIGH),  # never acknowledged: missed
    ]
    score = score_trainee(truth([]), history, [])
    verdicts = [(m.kind, m.verdict, m.reaction_s) for m in score.marks]
    assert verdicts == [
        ("alarm", "ok", 5.0),
        ("alarm", "late", 45.0),
        ("alarm", "not needed", None),
        ("alarm", "missed", None),
    ]
    assert score.points == (1, 3)


def test_a_train_calls_match_a_trains_on_screen_and_the_rest_are_false():
    items = [
        item("a_train", 20, 22),
        item("a_train", 23, 24, ch=1),  # a run: one call answers both
        item("a_train", 40, 41),  # never called
        item("disconnect", 50, 60, ch=None),
        item("a_train", 55, 56),  # not on screen
    ]
    log = TraineeLog()
    log.call(A_TRAIN_CALL, 25 * S)
    log.call(A_TRAIN_CALL, 70 * S)  # nothing there
    score = score_trainee(truth(items), [], log.actions())
    got = [(m.kind, m.verdict, m.reaction_s) for m in score.marks]
    assert got == [
        ("a_train", "ok", 5.0),
        ("a_train", "ok", 2.0),
        ("a_train", "missed", None),
        ("call", "false call", None),
    ]
    assert score.false_calls == 1 and score.points == (1, 3)


def test_the_lsr_call_counts_only_after_the_lsr_went():
    log = TraineeLog()
    log.call(LSR_CALL, 90 * S)  # too early: it was still there
    log.call(LSR_CALL, 112 * S)
    score = score_trainee(truth([item("lsr_gone", 100, ch=None)]), [], log.actions())
    assert [(m.verdict, m.reaction_s) for m in score.marks] == [("false call", None), ("ok", 12.0)]
    late = score_trainee(
        truth([item("lsr_gone", 100, ch=None)]), [], log.actions(), Limits(lsr_call_within_s=5)
    )
    assert late.marks[-1].verdict == "late"
    persists = score_trainee(truth([]), [], [log.actions()[1]])
    assert [m.verdict for m in persists.marks] == ["false call"]
    with pytest.raises(ValueError, match="Unknown call"):
        log.call("bradycardia", 0)


def test_the_debrief_shows_the_three_lanes_and_every_item():
    items = [item("a_train", 20, 22), item("lsr_gone", 100, ch=None)]
    history = [alarm("a_train:0", A, 20), alarm("a_train:0", ACK, 26, A)]
    log = TraineeLog()
    log.call(A_TRAIN_CALL, 24 * S)
    log.call(LSR_CALL, 104 * S)
    t = truth(items)
    score = score_trainee(t, history, log.actions())
    svg = timeline_svg(t, [], history, log.actions())
    root = ET.fromstring(svg)
    texts = [el.text for el in root.iter("{http://www.w3.org/2000/svg}text")]
    assert {"Happened", "Monitor", "Trainee", "decompression"} <= set(texts)
    page = debrief_html("Routine MVD", "The LSR goes.", t, [], history, log.actions(), score)
    assert "3 of 3 points" in page and "A-train on L Orb. oculi at 0:00:20" in page
    assert "LSR disappeared at 0:01:40" in page and page.count("<b>ok</b>") == 3


def test_acknowledging_a_latched_alarm_counts_from_the_real_alarm_manager():
    from monitor.alarms import AlarmManager

    alarms = AlarmManager()
    alarms.raise_condition("traintime_high:0", "Train time 10 s", 10 * S)  # high: latches
    alarms.clear_condition("traintime_high:0", 12 * S)  # the condition went; it stays
    alarms.acknowledge(None, 18 * S)
    score = score_trainee(truth([]), alarms.history, [])
    assert [(m.verdict, m.reaction_s) for m in score.marks] == [("ok", 8.0)]


def test_each_time_the_lsr_goes_is_scored_on_its_own():
    items = [
        item("lsr_gone", 100, ch=None),
        item("lsr_back", 120, ch=None),  # the instructor jumped back before decompression
        item("lsr_gone", 160, ch=None),
    ]
    log = TraineeLog()
    log.call(LSR_CALL, 105 * S)
    log.call(LSR_CALL, 140 * S)  # present again then: a false call
    log.call(LSR_CALL, 170 * S)
    score = score_trainee(truth(items), [], log.actions())
    assert [(m.kind, m.verdict, m.reaction_s) for m in score.marks] == [
        ("lsr", "ok", 5.0),
        ("call", "false call", None),
        ("lsr", "ok", 10.0),
    ]
