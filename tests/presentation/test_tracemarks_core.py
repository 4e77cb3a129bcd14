"""What the traces mark, without Qt: event counts per channel, the stimuli the blocks carried
and which display columns are drawn dim."""

from __future__ import annotations

import numpy as np

from monitor.block import Block, StimMarker
from monitor.events import EmgEvent, EventKind
from presentation import theme
from presentation.eventcounts import EventCounts
from presentation.stimmarks import StimTimes, blank_spans, column_mask


def event(i: int, kind: EventKind, channel: int, final: bool = True) -> EmgEvent:
    return EmgEvent(i, kind, channel, 100 * i, 100 * i + 50, 80.0, final=final)


def test_counts_follow_finished_events_per_channel_and_class():
    counts = EventCounts(3)
    counts.add(
        [
            event(1, EventKind.SPIKE, 0),
            event(2, EventKind.SPIKE, 0),
            event(3, EventKind.A_TRAIN, 0),
            event(4, EventKind.BURST, 2),
            event(5, EventKind.A_TRAIN, 1, final=False),  # still going on: not yet
            event(6, EventKind.ARTIFACT, -1),  # cautery is no channel's event
        ]
    )
    assert counts.count(0, EventKind.SPIKE) == 2
    assert counts.count(0, EventKind.A_TRAIN) == 1
    assert counts.count(1, EventKind.A_TRAIN) == 0
    assert counts.text(0) == "A 1 · Sp 2"  # A-trains first
    assert counts.text(1) == ""  # a quiet channel shows nothing
    assert counts.text(2) == "Bu 1"
    assert counts.parts(0)[0] == ("A 1", theme.event_colour("a_train"))
    assert counts.description(0) == "1 A-train, 2 spikes"
    assert counts.description(1) == "no events"
    version = counts.version
    counts.add([event(5, EventKind.A_TRAIN, 1), event(5, EventKind.A_TRAIN, 1)])
    assert counts.count(1, EventKind.A_TRAIN) == 1  # one event, however often reported
    assert counts.version > version
    counts.reset()
    assert counts.text(0) == ""


def test_stim_times_keep_the_markers_the_blocks_carried():
    times = StimTimes(keep=4)
    data = np.zeros((100, 2), np.float32)
    times(Block(0, data, 1000.0, ("a", "b")))  # no stimulus
    assert times.version == 0
    times(Block(100, data, 1000.0, ("a", "b"), stims=(StimMarker(150), StimMarker(120))))
    assert times.between(0, 1000) == [120, 150]
    assert times.between(130, 150) == []  # end excluded
    times.add(range(200, 600, 100))
    assert times.between(0, 10_000) == [200, 300, 400, 500]  # the last ``keep``


def test_blank_spans_cover_the_blanking_window_after_each_stimulus():
    assert blank_spans([1000, 3000], 10_000.0, 30.0) == [(990, 1300), (2990, 3300)]


def test_columns_touching_a_span_are_masked():
    rate, spc = 1000.0, 10  # columns of 10 samples: [0, 10), [10, 20), ...
    cols = np.arange(10)
    t = np.repeat((cols * spc + spc / 2) / rate, 2)  # min and max of each column
    mask = column_mask(t, rate, spc, [(25, 41)])  # samples 25..40: columns 2, 3, 4
    assert mask.tolist() == np.repeat(np.isin(cols, [2, 3, 4]), 2).tolist()
    assert not column_mask(t, rate, spc, []).any()
    assert column_mask(t, rate, spc, [(-50, 1)]).tolist()[:4] == [True, True, False, False]
    # One point per sample (the frozen view).
    t1 = (np.arange(20) + 0.5) / rate
    assert np.flatnonzero(column_mask(t1, rate, 1, [(5, 8)])).tolist() == [5, 6, 7]
