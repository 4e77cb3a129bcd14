"""Train time accumulates A-train time per channel, live, and resets only with a reason."""

from __future__ import annotations

import pytest

from monitor.events import EmgEvent, EventKind
from monitor.traintime import TrainTime

RATE = 10_000.0


def ev(i, ch, onset, offset=None, final=False, kind=EventKind.A_TRAIN, at=None, extent=None):
    at = at or (offset or onset)
    return EmgEvent(i, kind, ch, onset, offset, 100.0, 120.0, at, final, extent)


def test_finished_and_ongoing_trains_add_up_per_channel():
    tt = TrainTime(3, RATE)
    tt.on_event(ev(1, 0, 0, 5_000, final=True))  # 0.5 s
    tt.on_event(ev(2, 0, 10_000, extent=13_000, at=13_500))  # ongoing, certain for 0.3 s
    tt.advance(13_600)
    tt.on_event(ev(3, 2, 0, 12_000, final=True))
    assert tt.seconds() == pytest.approx([0.8, 0.0, 1.2])
    assert tt.level(0) == 1 and tt.level(1) == 0 and tt.level(2) == 1


def test_an_ongoing_train_counts_only_as_far_as_it_is_certain():
    """Live never runs ahead of the finished train (a 0.4 s train must not pass the
    0.5 s alarm while the detector waits to see that it has ended)."""
    tt = TrainTime(1, RATE)
    tt.on_event(ev(1, 0, 0, extent=3_000, at=3_500))
    tt.advance(5_200)  # the stream goes on; the train is certain up to 0.3 s
    assert tt.seconds() == pytest.approx([0.3])
    tt.on_event(ev(1, 0, 0, extent=4_000, at=6_000))
    assert tt.seconds() == pytest.approx([0.4])
    tt.on_event(ev(1, 0, 0, 4_010, final=True, at=6_000))
    assert tt.seconds() == pytest.approx([0.401])


def test_other_classes_do_not_count():
    tt = TrainTime(1, RATE)
    tt.on_event(ev(1, 0, 0, 50_000, final=True, kind=EventKind.C_TRAIN))
    tt.on_event(ev(2, 0, 0, 500, final=True, kind=EventKind.SPIKE))
    assert tt.seconds() == [0.0]


def test_reset_needs_a_reason_and_is_kept():
    tt = TrainTime(2, RATE)
    tt.on_event(ev(1, 1, 0, 120_000, final=True))
    assert tt.level(1) == 2
    with pytest.raises(ValueError, match="why"):
        tt.reset("  ")
    r = tt.reset("new case phase: dissection finished", channel=1, sample_index=130_000)
    assert tt.seconds() == [0.0, 0.0]
    assert r.seconds_before == pytest.approx(12.0) and tt.resets == [r]


def test_thresholds_are_checked():
    with pytest.raises(ValueError):
        TrainTime(1, RATE, (10.0, 0.5))


def test_a_reset_during_a_train_holds_when_the_train_ends():
    tt = TrainTime(1, RATE)
    tt.on_event(ev(1, 0, 0, extent=30_000, at=30_000))  # a train, 3 s into it
    tt.advance(30_000)
    tt.reset("surgeon asked", sample_index=30_000)
    tt.on_event(ev(1, 0, 0, extent=40_000, at=40_000))
    tt.advance(40_000)
    assert tt.seconds() == pytest.approx([1.0])
    tt.on_event(ev(1, 0, 0, 40_000, final=True))
    assert tt.seconds() == pytest.approx([1.0])
