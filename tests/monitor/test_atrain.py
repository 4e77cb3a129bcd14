"""A-trains and train time on signals the detector was not built around.

The signals come from ``validation/`` (an independent generator written from the EMG
modelling literature, not the project's simulator) and run through the monitor's own
offline pipeline in blocks of random size. Each test is one finding of the trial that
showed the old detector failing: overlapping 150-210 Hz trains broken into pieces or
called bursts, a long train under-counted because the threshold learned from the train,
a train in mains hum missed, a train broken by the stimulation.
"""

from __future__ import annotations

import numpy as np
import pytest

from monitor.block import StimMarker
from validation.freerun_signals import A_TRAIN, ATrain, FreeRunCase, generate_freerun
from validation.interference import Background
from validation.pipeline import run_monitor
from validation.source import ArraySource

RATE = 10_000.0


def run(signal, stims=()):
    source = ArraySource(signal.data, signal.rate, signal.labels, stims, block=(40, 400))
    return run_monitor(source)


def trains_on(run_result, channel):
    return [e for e in run_result.events if e.kind.value == A_TRAIN and e.channel == channel]


def case(train: ATrain, background: Background | None = None, trains: int = 1) -> FreeRunCase:
    return FreeRunCase(
        background=background or Background(noise_uv=3.0, hum_uv=0.0),
        a_train=train,
        trains_per_channel=trains,
        n_channels=2,
        rate=RATE,
    )


@pytest.mark.parametrize(("freq", "overlap"), [(150.0, 1.2), (180.0, 1.0), (210.0, 1.5)])
def test_a_long_overlapping_train_is_one_event_with_its_whole_duration(freq, overlap):
    """12.8 s of sinusoid-like A-train was reported as 1.9 s of fragments."""
    train = ATrain(freq_hz=freq, overlap=overlap, jitter_cv=0.02, amplitude_uv=150.0)
    signal = generate_freerun(case(ATrain(**{**_fields(train), "duration_s": 12.8})), seed=4)
    result = run(signal)
    for ch in range(2):
        truth = [e for e in signal.events(A_TRAIN) if e.channel == ch]
        found = trains_on(result, ch)
        assert len(found) == len(truth) == 1, found
        true_s = (truth[0].offset - truth[0].onset) / RATE
        assert result.traintime_s[ch] == pytest.approx(true_s, rel=0.05)
        assert found[0].freq_hz == pytest.approx(freq, rel=0.05)


@pytest.mark.parametrize("duration", [0.15, 0.3, 0.6])
def test_short_fast_trains_are_a_trains_not_bursts(duration):
    train = ATrain(freq_hz=200.0, overlap=1.0, amplitude_uv=120.0, duration_s=duration)
    signal = generate_freerun(case(train, trains=3), seed=5)
    result = run(signal)
    for ch in range(2):
        truth = [e for e in signal.events(A_TRAIN) if e.channel == ch]
        assert len(trains_on(result, ch)) == len(truth) == 3
        true_s = sum(e.offset - e.onset for e in truth) / RATE
        assert result.traintime_s[ch] == pytest.approx(true_s, rel=0.10)
    assert not [e for e in result.events if e.kind.value == "burst"]


@pytest.mark.parametrize("mains", [50.0, 60.0])
def test_a_small_train_in_mains_hum_is_found(mains):
    """A 64 µV train in 15-20 µV of hum was missed: the hum raised the threshold."""
    train = ATrain(freq_hz=150.0, overlap=0.8, amplitude_uv=64.0, duration_s=2.0)
    bg = Background(noise_uv=3.0, hum_uv=20.0, mains_hz=mains)
    signal = generate_freerun(case(train, bg, trains=2), seed=6)
    result = run(signal)
    for ch in range(2):
        truth = [e for e in signal.events(A_TRAIN) if e.channel == ch]
        assert len(trains_on(result, ch)) == len(truth) == 2
        true_s = sum(e.offset - e.onset for e in truth) / RATE
        assert result.traintime_s[ch] == pytest.approx(true_s, rel=0.10)


def test_the_threshold_does_not_learn_from_a_long_train():
    """The adaptive threshold's noise estimate must not climb on the train it detects."""
    from monitor.freerun import FreeRunDetector

    train = ATrain(freq_hz=100.0, overlap=0.4, amplitude_uv=150.0, duration_s=30.0)
    signal = generate_freerun(case(train), seed=7)
    onset = min(e.onset for e in signal.events(A_TRAIN))
    det = FreeRunDetector(RATE, 2, lambda e: None)
    from monitor.filters import FilterChain

    y = FilterChain(RATE, 2).process(signal.data)
    before = None
    for start in range(0, len(y), 1000):
        det.process(start, y[start : start + 1000])
        if before is None and start >= onset:
            before = det.threshold_uv.copy()
        if start >= onset + 28 * RATE:
            break
    assert before is not None
    np.testing.assert_allclose(det.threshold_uv, before, rtol=0.2)


def test_a_train_across_the_stimulation_stays_one_event():
    """Stimulation at 2 Hz goes on while a train lasts; its blanking must not cut it."""
    train = ATrain(freq_hz=140.0, overlap=0.5, amplitude_uv=160.0, duration_s=4.0)
    signal = generate_freerun(case(train), seed=8)
    stims = [StimMarker(int(t * RATE)) for t in np.arange(1.0, signal.duration_s - 1, 0.5)]
    result = run(signal, stims)
    for ch in range(2):
        truth = [e for e in signal.events(A_TRAIN) if e.channel == ch]
        assert len(trains_on(result, ch)) == 1
        true_s = (truth[0].offset - truth[0].onset) / RATE
        assert result.traintime_s[ch] == pytest.approx(true_s, rel=0.05)


def test_hum_switching_on_is_no_a_train():
    """A needle coming loose: 60 Hz hum appears suddenly on one channel."""
    rng = np.random.default_rng(9)
    n = int(12 * RATE)
    data = rng.normal(0, 3.0, (n, 2)).astype(np.float32)
    t = np.arange(n) / RATE
    data[int(5 * RATE) :, 0] += (80 * np.sin(2 * np.pi * 60 * t[int(5 * RATE) :])).astype(
        np.float32
    )
    source = ArraySource(data, RATE, ("L Orb. oculi", "L Orb. oris"), block=(40, 400))
    result = run_monitor(source)
    assert not [e for e in result.events if e.kind.value == A_TRAIN]


def test_a_stream_that_starts_inside_a_train_still_finds_it():
    """A replay started (or jumped) into a train: there was no quiet moment to learn the
    background from, the train is found anyway."""
    train = ATrain(freq_hz=110.0, overlap=0.6, amplitude_uv=180.0, duration_s=4.0)
    signal = generate_freerun(case(train), seed=11)
    truth = next(e for e in signal.events(A_TRAIN) if e.channel == 0)
    cut = truth.onset + int(1.0 * RATE)  # one second into the train
    data = signal.data[cut:]
    result = run_monitor(ArraySource(data, RATE, signal.labels, block=(40, 400)))
    found = [e for e in trains_on(result, 0) if e.onset < truth.offset - cut]
    assert len(found) == 1
    assert found[0].onset / RATE < 1.0  # found within the first second of the stream
    assert found[0].offset == pytest.approx(truth.offset - cut, abs=0.05 * RATE)


def test_live_train_time_never_runs_ahead_of_the_finished_train():
    """Live, an ongoing train counts as far as it is certain: never past where it will be
    found to end (a 0.4 s train once raised the 0.5 s alarm), and not far behind."""
    train = ATrain(freq_hz=90.0, overlap=0.5, amplitude_uv=150.0, duration_s=0.45)
    signal = generate_freerun(case(train, trains=4), seed=10)
    result = run(signal)
    by_id: dict[int, list] = {}
    for r in result.reports:
        if r.kind.value == A_TRAIN:
            by_id.setdefault(r.id, []).append(r)
    assert len(by_id) == 8
    for reports in by_id.values():
        final = reports[-1]
        assert final.final
        ongoing = reports[:-1]
        assert ongoing and all(r.extent is not None for r in ongoing)
        assert max(r.extent for r in ongoing) <= final.offset
        assert all(r.reported_at - r.extent <= 0.2 * RATE for r in ongoing)


def _detect(data, blocks=100, start=0, stims=(), invalid=None):
    """The free-run detector alone over filtered ``data`` in blocks of ``blocks``; the
    samples ``invalid`` marks come as NaN, as the session passes invalid data on."""
    from monitor.filters import FilterChain
    from monitor.freerun import FreeRunDetector

    y = FilterChain(RATE, data.shape[1]).process(data.astype(np.float32))
    if invalid is not None:
        y[invalid] = np.nan
    out: list = []
    det = FreeRunDetector(RATE, data.shape[1], out.append)
    for pos in range(0, len(y), blocks):
        here = [s for s in stims if pos <= s - start < pos + blocks]
        det.process(start + pos, y[pos : pos + blocks], here)
    det.flush(start + len(y))
    return out


def _finals(out, channel=None):
    return [
        e
        for e in out
        if e.final and e.kind.value == A_TRAIN and (channel is None or e.channel == channel)
    ]


def test_a_dead_electrode_blinds_only_its_own_channel():
    """NaN samples (invalid data) on one channel stopped A-train detection on every
    channel; a lost sample now and then on a channel must not hide its trains either."""
    train = ATrain(freq_hz=120.0, overlap=0.5, amplitude_uv=150.0, duration_s=2.0)
    signal = generate_freerun(case(train, trains=2), seed=4)
    truth = signal.events(A_TRAIN)
    dead = np.zeros(signal.data.shape, bool)
    dead[int(2 * RATE) :, 1] = True  # channel 1 invalid from 2 s on
    found = _finals(_detect(signal.data, invalid=dead), 0)
    assert len(found) == len([e for e in truth if e.channel == 0]) == 2
    sparse = np.zeros(signal.data.shape, bool)
    sparse[int(2 * RATE) :: 50, 1] = True  # every 50th sample lost on channel 1
    found = _finals(_detect(signal.data, invalid=sparse))
    assert sorted((e.channel, round(e.onset / RATE, 1)) for e in found) == sorted(
        (e.channel, round(e.onset / RATE, 1)) for e in truth
    )


@pytest.mark.parametrize("after_ms", [20, 80, 150])
def test_a_stream_ending_just_after_a_train_does_not_stretch_it(after_ms):
    """The averaged periodicity outlasts a train by ~100 ms: a stream (or a cut by a gap
    or cautery) ending then must not count the silence up to the cut as train time."""
    train = ATrain(freq_hz=120.0, overlap=0.5, amplitude_uv=150.0, duration_s=2.0)
    signal = generate_freerun(case(train), seed=3)
    truth = next(e for e in signal.events(A_TRAIN) if e.channel == 0)
    data = signal.data[: truth.offset + round(after_ms * RATE / 1000)]
    [found] = _finals(_detect(data), 0)
    assert abs(found.offset - truth.offset) <= RATE / 120.0  # within one period


def test_a_train_after_a_restart_begins_in_the_new_stream():
    """After a gap (or a seek) the edge walk must not reach into what came before it."""
    train = ATrain(freq_hz=120.0, overlap=0.5, amplitude_uv=150.0, duration_s=4.0)
    signal = generate_freerun(case(train, trains=2), seed=3)
    first, second = sorted(
        (e for e in signal.events(A_TRAIN) if e.channel == 0), key=lambda e: e.onset
    )
    from monitor.filters import FilterChain
    from monitor.freerun import FreeRunDetector

    cut, restart = 43_814, 130_223  # a geometry where the edge once walked back
    assert first.onset < cut < first.offset  # the stream stops inside the first train ...
    assert second.onset < restart < second.offset  # ... and resumes inside the second
    out: list = []
    det = FreeRunDetector(RATE, 2, out.append)
    for a, b in ((0, cut), (restart, restart + int(3 * RATE))):
        y = FilterChain(RATE, 2).process(signal.data[a:b].astype(np.float32))
        for pos in range(0, len(y), 100):
            det.process(a + pos, y[pos : pos + 100])
    det.flush(restart + int(3 * RATE))
    after = [e for e in _finals(out, 0) if e.offset > restart]
    assert len(after) == 1 and after[0].onset >= restart


def test_a_train_cut_by_cautery_keeps_the_train_time_shown_live():
    """Cautery is dated back to the start of its run: the train it cuts must not end
    before the extent already shown (train time on the screen never goes down)."""
    from validation.interference import cautery

    train = ATrain(freq_hz=120.0, overlap=0.5, amplitude_uv=150.0, duration_s=6.0)
    signal = generate_freerun(
        FreeRunCase(
            background=Background(noise_uv=3.0, hum_uv=0.0),
            a_train=train,
            trains_per_channel=1,
            n_channels=4,
            rate=RATE,
        ),
        seed=3,
    )
    truth = next(e for e in signal.events(A_TRAIN) if e.channel == 0)
    quiet = generate_freerun(
        FreeRunCase(background=Background(noise_uv=3.0, hum_uv=0.0), a_train=None,
                    n_channels=4, rate=RATE, duration_s=len(signal.data) / RATE),
        seed=99,
    )  # fmt: skip
    data = signal.data.astype(np.float64)
    data[:, 1:] = quiet.data[: len(data), 1:]  # the train on channel 0 alone
    c0 = truth.onset + 5000 + 10 * 1230  # a placement where the extent ran ahead
    noise = cautery(len(data), RATE, 4, [(c0, c0 + 8000)], 1.0, np.random.default_rng(10))
    part = noise[c0 : c0 + 8000]
    data[c0 : c0 + 8000] += part * 600 / np.sqrt(np.mean(part**2))
    out = _detect(data)
    reports = [e for e in out if e.kind.value == A_TRAIN and e.channel == 0]
    assert any(e.kind.value == "artifact" and e.final for e in out)
    for evid in {e.id for e in reports}:
        these = [e for e in reports if e.id == evid]
        final = these[-1]
        assert final.final
        shown = [e.extent for e in these[:-1] if e.extent is not None]
        assert not shown or max(shown) <= final.offset


def _fields(train: ATrain) -> dict:
    return {name: getattr(train, name) for name in ATrain.__dataclass_fields__}
