"""Free-run detection on signals whose truth we know."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.events import ALL_CHANNELS, EmgEvent, EventKind
from monitor.filters import FilterChain
from monitor.freerun import FreeRunDetector, FreeRunSettings
from simulation.emgsynth import QUIET, EmgSynth, SimConfig

RATE = 10_000.0


def detect(synth: EmgSynth, seconds: float, block: int = 100, settings=None):
    """Run the detector; return (final events, every report)."""
    chain = FilterChain(synth.rate, synth.n_channels)
    reports: list[EmgEvent] = []
    det = FreeRunDetector(synth.rate, synth.n_channels, reports.append, settings)
    total = int(seconds * synth.rate)
    for start in range(0, total, block):
        data, stims = synth.render(start, min(block, total - start))
        det.process(start, chain.process(data), [s.index for s in stims])
    det.flush(total)
    return [r for r in reports if r.final], reports


def quiet_synth(seed: int = 1, **kw) -> EmgSynth:
    return EmgSynth(SimConfig(seed=seed, **{**QUIET, **kw}))


def first_report_of(reports, ev_id, kind=None):
    return next(r for r in reports if r.id == ev_id and (kind is None or r.kind is kind))


def test_a_quiet_baseline_gives_no_events():
    finals, _ = detect(quiet_synth(), 120)
    assert finals == []


def test_a_spike_is_reported_within_50_ms_as_a_spike():
    synth = quiet_synth()
    truth = synth.add_event("spike", 3.0, channel=2, amplitude_uv=150)
    finals, reports = detect(synth, 5)
    assert [(e.kind, e.channel) for e in finals] == [(EventKind.SPIKE, 2)]
    first = first_report_of(reports, finals[0].id)
    assert (first.reported_at - truth.onset) / RATE <= 0.050
    assert abs(finals[0].onset - truth.onset) / RATE < 0.002
    assert finals[0].peak_uv == pytest.approx(150, rel=0.25)


def test_a_burst_is_a_burst_reported_within_50_ms():
    synth = quiet_synth(2)
    truth = synth.add_event("burst", 2.0, channel=0, duration_s=0.2, amplitude_uv=300)
    finals, reports = detect(synth, 4)
    assert [(e.kind, e.channel) for e in finals] == [(EventKind.BURST, 0)]
    first = first_report_of(reports, finals[0].id)
    assert (first.reported_at - truth.onset) / RATE <= 0.050


@pytest.mark.parametrize(("freq", "duration"), [(60.0, 0.12), (120.0, 2.0), (205.0, 0.5)])
def test_a_train_is_called_by_its_regularity_within_200_ms(freq, duration):
    synth = quiet_synth(3)
    truth = synth.add_event(
        "a_train", 1.5, channel=1, duration_s=duration, freq_hz=freq, amplitude_uv=120
    )
    finals, reports = detect(synth, duration + 3)
    trains = [e for e in finals if e.kind is EventKind.A_TRAIN]
    assert len(trains) == 1 and len(finals) == 1
    ev = trains[0]
    assert ev.channel == 1
    assert ev.freq_hz == pytest.approx(freq, rel=0.05)
    called = first_report_of(reports, ev.id, EventKind.A_TRAIN)
    assert (called.reported_at - truth.onset) / RATE <= 0.200
    assert abs(ev.onset - truth.onset) / RATE <= 0.050
    dur_true = (truth.offset - truth.onset) / RATE
    assert (ev.offset - ev.onset) / RATE == pytest.approx(dur_true, rel=0.10, abs=0.01)


def test_irregular_activity_is_not_an_a_train():
    synth = quiet_synth(4)
    synth.add_event("c_train", 1.0, channel=0, duration_s=3.0, amplitude_uv=150)
    synth.add_event("b_train", 6.0, channel=1, duration_s=3.0, freq_hz=10, amplitude_uv=150)
    finals, _ = detect(synth, 10)
    kinds = {e.kind for e in finals}
    assert EventKind.A_TRAIN not in kinds
    assert EventKind.C_TRAIN in kinds
    assert any(e.kind is EventKind.B_TRAIN and e.channel == 1 for e in finals)


def test_cautery_is_marked_on_all_channels_and_hides_what_it_would_fake():
    synth = quiet_synth(5)
    caut = synth.add_event("artifact", 2.0, duration_s=1.5, amplitude_uv=2000)
    synth.add_event("spike", 2.6, channel=1, amplitude_uv=300)  # inside: must not be reported
    after = synth.add_event("spike", 5.0, channel=1, amplitude_uv=300)
    finals, _ = detect(synth, 7)
    arts = [e for e in finals if e.kind is EventKind.ARTIFACT]
    assert len(arts) == 1 and arts[0].channel == ALL_CHANNELS
    assert abs(arts[0].onset - caut.onset) / RATE < 0.05
    assert arts[0].offset >= caut.offset - int(0.05 * RATE)
    assert arts[0].offset - caut.offset < int(0.3 * RATE)  # ends cleanly
    others = [e for e in finals if e.kind is not EventKind.ARTIFACT]
    assert [(e.kind, abs(e.onset - after.onset) < 50) for e in others] == [(EventKind.SPIKE, True)]


def test_evoked_responses_after_a_stimulus_are_blanked():
    synth = EmgSynth(SimConfig(seed=6, **{**QUIET, "stim_rate_hz": 2.0}))  # LSR at ~10 ms
    finals, _ = detect(synth, 6)
    assert finals == []


def test_fixed_threshold_mode_ignores_what_stays_under_100_uv():
    synth = quiet_synth(7)
    synth.add_event("spike", 2.0, channel=0, amplitude_uv=90)  # ~45 µV peak
    adaptive, _ = detect(synth, 3)
    synth = quiet_synth(7)
    synth.add_event("spike", 2.0, channel=0, amplitude_uv=90)
    fixed, _ = detect(synth, 3, settings=FreeRunSettings(mode="fixed"))
    assert len(adaptive) == 1
    assert fixed == []


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="adaptive"):
        FreeRunSettings(mode="loud")


@settings(max_examples=8, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=2500), min_size=1, max_size=30))
def test_events_do_not_depend_on_block_sizes(sizes):
    def run(cut):
        synth = EmgSynth(
            SimConfig(
                seed=9,
                **{
                    **QUIET,
                    "spikes_per_min": 60,
                    "bursts_per_min": 20,
                    "a_trains_per_min": 20,
                    "cautery_per_min": 6,
                    "stim_rate_hz": 2.0,
                },
            )
        )
        chain = FilterChain(RATE, 4)
        out: list[EmgEvent] = []
        hops: list[int] = []
        det = FreeRunDetector(RATE, 4, out.append, on_hop=hops.append)
        pos, k = 0, 0
        total = 60_000
        while pos < total:
            n = min(cut[k % len(cut)], total - pos)
            data, stims = synth.render(pos, n)
            det.process(pos, chain.process(data), [s.index for s in stims])
            pos, k = pos + n, k + 1
        det.flush(total)
        # Every report, ongoing ones and how far a train is certain included, and the
        # hop grid the alarms are judged on.
        reports = [
            (e.id, e.kind, e.channel, e.onset, e.offset, e.reported_at, e.final, e.extent)
            for e in out
        ]
        return reports, [round(e.peak_uv, 3) for e in out], hops

    assert run(sizes) == run([1000])


def test_a_gap_ends_what_was_going_on():
    synth = quiet_synth(8)
    synth.add_event("a_train", 0.5, channel=0, duration_s=3.0, freq_hz=100, amplitude_uv=150)
    chain = FilterChain(RATE, 4)
    out: list[EmgEvent] = []
    det = FreeRunDetector(RATE, 4, out.append)
    for start in range(0, 15_000, 500):
        data, _ = synth.render(start, 500)
        det.process(start, chain.process(data))
    det.process(40_000, chain.process(synth.render(40_000, 500)[0]))  # 2.5 s later
    finals = [e for e in out if e.final]
    assert len(finals) == 1 and finals[0].kind is EventKind.A_TRAIN
    assert finals[0].offset <= 15_000


def test_irregular_activity_after_an_a_train_does_not_count_as_train_time():
    synth = quiet_synth(10)
    train = synth.add_event(
        "a_train", 1.0, channel=1, duration_s=0.3, freq_hz=100, amplitude_uv=150
    )
    synth.add_event("c_train", 1.33, channel=1, duration_s=4.0, amplitude_uv=150)
    finals, _ = detect(synth, 7)
    trains = [e for e in finals if e.kind is EventKind.A_TRAIN]
    assert len(trains) == 1
    assert (trains[0].offset - trains[0].onset) / RATE < 0.45
    assert abs(trains[0].onset - train.onset) / RATE < 0.02


def test_an_invalid_sample_does_not_blind_the_channel():
    synth = quiet_synth(11)
    synth.add_event("a_train", 6.0, channel=0, duration_s=1.0, freq_hz=120, amplitude_uv=150)
    chain = FilterChain(RATE, 4)
    out: list[EmgEvent] = []
    det = FreeRunDetector(RATE, 4, out.append)
    for start in range(0, 90_000, 500):
        data, _ = synth.render(start, 500)
        filtered = chain.process(data)
        if start == 30_000:
            filtered[10, 0] = np.nan  # what the session writes for an invalid sample
        det.process(start, filtered)
    det.flush(90_000)
    assert np.isfinite(det.threshold_uv).all()
    assert [(e.kind, e.channel) for e in out if e.final] == [(EventKind.A_TRAIN, 0)]
