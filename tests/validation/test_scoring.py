"""Matching detections to the truth, on hand-made cases whose scores are known."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from monitor.events import EmgEvent, EventKind
from monitor.evoked import LsrCall, SweepResult
from validation.evoked_signals import EvokedCase, SweepTruth
from validation.evoked_signals import EvokedSignal as Sig
from validation.freerun_signals import TruthEvent
from validation.scoring import (
    confusion,
    false_events_per_min,
    score_a_trains,
    score_cautery,
    score_evoked,
    score_kind,
)

RATE = 10_000.0
A = EventKind.A_TRAIN


def ev(i, kind, ch, on, off, reported_at=None, final=True):
    return EmgEvent(i, kind, ch, on, off, 100.0, 120.0, reported_at or (off or on), final)


def test_recall_precision_fragmentation_onset_latency_and_train_time():
    truth = [
        TruthEvent("a_train", 0, 10_000, 20_000, 200.0, 120.0),
        TruthEvent("a_train", 1, 10_000, 20_000, 200.0, 120.0),
        TruthEvent("a_train", 0, 40_000, 45_000, 200.0, 120.0),  # missed: called a C-train
    ]
    events = [
        ev(1, A, 0, 10_100, 15_000),
        ev(2, A, 0, 15_500, 20_000),  # the same truth train in two pieces
        ev(3, A, 1, 9_900, 20_100),
        ev(4, A, 1, 60_000, 61_000),  # nothing there
        ev(5, EventKind.C_TRAIN, 0, 40_000, 45_000),
    ]
    reports = [
        ev(1, EventKind.SPIKE, 0, 10_100, None, 10_300, False),
        ev(1, A, 0, 10_100, None, 11_000, False),  # the alarm: 100 ms after onset
        *events,
        ev(3, A, 1, 9_900, None, 12_000, False),
    ]
    s = score_a_trains(truth, events, reports, [0.95, 1.1], RATE, 120.0)
    assert (s.n_truth, s.recalled, s.n_detected, s.precise) == (3, 2, 4, 3)
    assert s.recall == pytest.approx(2 / 3) and s.precision == pytest.approx(3 / 4)
    assert s.fragments == [2, 1] and s.fragmentation == 1.5
    assert s.onset_errors_ms == [10.0, -10.0]
    assert s.latencies_ms == [100.0, 200.0]
    assert s.missed_as == Counter({"c_train": 1})
    # channel 0: truth 1.5 s, detected 0.95 s; channel 1: truth 1.0 s, detected 1.1 s
    assert s.traintime_errors_pct == pytest.approx([100 * (0.95 - 1.5) / 1.5, 10.0])
    assert s.false_a_trains == 1 and s.false_per_min == pytest.approx(0.5)


def test_no_match_across_channels_and_tolerance_of_twenty_ms():
    truth = [TruthEvent("a_train", 0, 10_000, 20_000, 200.0, 120.0)]
    other_channel = [ev(1, A, 1, 10_000, 20_000)]
    just_after = [ev(1, A, 0, 20_150, 21_000)]
    too_late = [ev(1, A, 0, 20_300, 21_000)]
    for events, hit in ((other_channel, 0), (just_after, 1), (too_late, 0)):
        assert score_a_trains(truth, events, events, [0, 0], RATE, 60.0).recalled == hit


def test_spikes_bursts_cautery_and_false_events():
    truth = [
        TruthEvent("spike", 0, 1000, 1050, 100.0),
        TruthEvent("spike", 1, 5000, 5040, 100.0),
        TruthEvent("burst", 0, 9000, 11_000, 300.0),
        TruthEvent("artifact", -1, 20_000, 30_000, 5000.0),
        TruthEvent("artifact", -1, 40_000, 45_000, 5000.0),
    ]
    events = [
        ev(1, EventKind.SPIKE, 0, 1010, 1040),
        ev(2, EventKind.BURST, 1, 5000, 5040),  # the spike taken for a burst
        ev(3, EventKind.BURST, 0, 9100, 10_900),
        ev(4, EventKind.ARTIFACT, -1, 20_100, 29_000),
        ev(5, EventKind.SPIKE, 2, 25_000, 25_040),  # inside cautery
        ev(6, EventKind.SPIKE, 2, 50_000, 50_040),  # nothing there
    ]
    spikes = score_kind(truth, events, "spike", RATE)
    assert (spikes.recalled, spikes.n_truth, spikes.precise, spikes.n_detected) == (1, 2, 1, 3)
    assert spikes.missed_uv == [100.0]
    small = [TruthEvent("spike", 2, 50_000, 50_040, 30.0), *truth]
    big = score_kind(small, events, "spike", RATE, min_amplitude_uv=50.0)
    assert (big.recalled, big.n_truth, big.precise, big.n_detected) == (1, 2, 1, 2)
    bursts = score_kind(truth, events, "burst", RATE)
    assert bursts.recall == 1.0 and bursts.precision == 0.5
    c = score_cautery(truth, events, RATE)
    assert (c.episodes, c.marked, c.events_inside) == (2, 1, 1)
    conf = confusion(truth, events, RATE)
    assert conf["spike"] == Counter({"spike": 1, "burst": 1})
    assert conf["artifact"] == Counter({"artifact": 1, "none": 1})
    assert false_events_per_min(truth, events, RATE, 60.0) == 1.0


def _result(t: SweepTruth, present: bool, rejected: str = "", kind: str | None = None):
    return SweepResult(
        t.stim_number,
        t.stim_index,
        t.channel,
        t.label,
        kind or t.kind,
        present,
        10.0 if present else None,
        190.0 if present else None,
        None,
        None,
        0.0,
        3.0,
        30.0,
        rejected=rejected,
    )


def test_evoked_sensitivity_specificity_rejection_and_calls():
    def truth(n, ch, kind, state, reason=""):
        amp = 200.0 if state == "present" else 0.0
        lat = 9.5 if state == "present" else None
        return SweepTruth(n, n * 1000, ch, f"c{ch}", kind, state, reason, amp, lat)

    sweeps = (
        truth(1, 0, "direct", "present"),
        truth(1, 1, "lsr", "present"),
        truth(2, 1, "lsr", "present"),
        truth(3, 1, "lsr", "absent"),
        truth(4, 1, "lsr", "absent"),
        truth(5, 1, "lsr", "contaminated", "cautery"),
        truth(6, 1, "lsr", "contaminated", "step"),
        truth(7, 1, "lsr", "present"),
        truth(8, 0, "direct", "absent"),
    )
    results = [
        _result(sweeps[0], True),
        _result(sweeps[1], True),
        _result(sweeps[2], False),
        _result(sweeps[3], True),
        _result(sweeps[4], False),
        _result(sweeps[5], False, "noisy"),
        _result(sweeps[6], True),
        _result(sweeps[7], True, "noisy"),
        _result(sweeps[8], False),
    ]
    sig = Sig(
        np.zeros((10, 2), np.float32),
        RATE,
        ("c0", "c1"),
        (),
        sweeps,
        EvokedCase(),
        disappeared_at_s=0.4,
        stim_lost_at_s=None,
    )
    calls = [LsrCall("disappeared", 3000, 3, ("c1",), "absent_k", "", reported_at=7000)]
    s = score_evoked(sig, results, {"state": "gone"}, calls)
    assert (s.tp, s.fn, s.tn, s.fp) == (1, 1, 1, 1)
    assert s.sensitivity == 0.5 and s.specificity == 0.5
    assert (s.direct_tp, s.direct_present, s.direct_tn, s.direct_absent) == (1, 1, 1, 1)
    assert s.clean == 7 and s.clean_rejected == 1
    assert s.contaminated == Counter({"cautery": 1, "step": 1})
    assert s.contaminated_rejected == Counter({"cautery": 1})
    assert s.contaminated_called_present == 1
    assert s.latency_errors_ms == [0.5] and s.amplitude_errors_pct == [-5.0]
    assert s.disappeared_called_s == 0.3 and s.false_disappearance  # called before it happened
    assert s.disappeared_reported_s == 0.7
    assert not s.stim_lost_available
    later = score_evoked(sig, results, {"stimulation_lost_at_s": None}, [])
    assert later.stim_lost_available and later.stim_lost_reported_s is None
    assert not later.false_disappearance and later.disappeared_called_s is None
