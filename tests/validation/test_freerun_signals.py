"""The free-running generator: its truth says where every waveform is."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from monitor.montage import muscle_of
from validation.freerun_signals import (
    A_TRAIN,
    ARTIFACT,
    B_TRAIN,
    BURST,
    C_TRAIN,
    SPIKE,
    ATrain,
    FreeRunCase,
    a_train_wave,
    generate_freerun,
)
from validation.interference import Background, band_rms, hum_rms

SILENT = Background(noise_uv=0.0, hum_uv=0.0, drift_uv=0.0)
RATE = 10_000.0


def _peak_times(x: np.ndarray) -> np.ndarray:
    """Sub-sample times (in samples) of the largest phase of each separated potential."""
    y = x * np.sign(x[np.argmax(np.abs(x))])  # the largest phase's polarity only
    level = 0.6 * y.max()
    peaks = np.flatnonzero((y[1:-1] > level) & (y[1:-1] >= y[:-2]) & (y[1:-1] > y[2:])) + 1
    a, b, c = y[peaks - 1], y[peaks], y[peaks + 1]
    return peaks + 0.5 * (a - c) / (a - 2 * b + c)


def test_a_train_truth_brackets_the_waveform_exactly():
    sig = generate_freerun(FreeRunCase(background=SILENT, a_train=ATrain(duration_s=0.5)), 1)
    for ch in range(sig.data.shape[1]):
        trains = [e for e in sig.truth if e.channel == ch]
        inside = np.zeros(len(sig.data), bool)
        for e in trains:
            nz = np.flatnonzero(sig.data[e.onset : e.offset, ch])
            assert nz[0] <= 2 and nz[-1] >= e.offset - e.onset - 3
            inside[e.onset : e.offset] = True
        assert not sig.data[~inside, ch].any()
        assert all(e.kind == A_TRAIN for e in trains) and len(trains) == 4


def test_a_train_duration_and_cluster_layout():
    spec = ATrain(duration_s=1.0)
    sig = generate_freerun(FreeRunCase(background=SILENT, a_train=spec, n_channels=3), 2)
    trains = sig.events(A_TRAIN)
    for e in trains:
        assert (e.offset - e.onset) / RATE == pytest.approx(1.0, abs=1.5 / spec.freq_hz)
    last = sorted(trains, key=lambda e: e.onset)[-3:]  # the cluster: all channels together
    assert {e.channel for e in last} == {0, 1, 2}
    assert max(e.onset for e in last) - min(e.onset for e in last) < 0.01 * RATE
    first_onsets = sorted(e.onset for e in trains)[:3]
    assert first_onsets[1] - first_onsets[0] > 0.3 * RATE  # the others staggered


@pytest.mark.parametrize("overlap", [0.2, 0.6])
def test_a_train_amplitude_is_the_peak_to_peak_one_sees(overlap):
    spec = ATrain(overlap=overlap, amp_var=0.0, wax_depth=0.0, amplitude_uv=300.0)
    x, truth = a_train_wave(spec, 0.01, RATE, int(1.2 * RATE), np.random.default_rng(3))
    assert truth.amplitude_uv == 300.0
    assert np.ptp(x) == pytest.approx(300.0, rel=0.02)


def test_a_train_amplitude_varies_by_the_stated_amount():
    spec = ATrain(overlap=0.2, amp_var=0.1, wax_depth=0.1, amplitude_uv=300.0, duration_s=4.0)
    x, _ = a_train_wave(spec, 0.01, RATE, int(4.2 * RATE), np.random.default_rng(4))
    half = int(np.ceil(spec.muap_s * RATE))  # wider than the potential, short of the next
    ptps = [np.ptp(x[round(p) - half : round(p) + half]) for p in _peak_times(x)]
    spread = (max(ptps) - min(ptps)) / np.median(ptps)
    assert 0.25 < spread < 0.45  # up to ±10 % per potential on top of ±10 % waxing


@pytest.mark.parametrize(("freq", "cv"), [(60.0, 0.0), (150.0, 0.03), (210.0, 0.05)])
def test_a_train_rate_and_interval_jitter_as_specified(freq, cv):
    spec = ATrain(
        freq_hz=freq,
        overlap=0.2,
        jitter_cv=cv,
        amp_var=0.0,
        wax_depth=0.0,
        duration_s=8.0,
        amplitude_uv=500.0,
    )
    x, truth = a_train_wave(spec, 0.01, RATE, int(8.2 * RATE), np.random.default_rng(5))
    intervals = np.diff(_peak_times(x)) / RATE
    assert 1 / intervals.mean() == pytest.approx(freq, rel=0.01)
    assert truth.freq_hz == pytest.approx(freq, rel=0.01)
    assert intervals.std() / intervals.mean() == pytest.approx(cv, abs=max(0.15 * cv, 0.003))


def test_overlapping_potentials_make_a_sinusoid_like_train():
    def harmonic_share(overlap):
        spec = ATrain(
            freq_hz=100.0,
            overlap=overlap,
            jitter_cv=0.0,
            amp_var=0.0,
            wax_depth=0.0,
            duration_s=1.0,
        )
        x, _ = a_train_wave(spec, 0.0, RATE, int(1.05 * RATE), np.random.default_rng(6))
        p = np.abs(np.fft.rfft(x)) ** 2
        f = np.fft.rfftfreq(len(x), 1 / RATE)
        return p[(f > 90) & (f < 110)].sum() / p.sum()

    assert harmonic_share(1.5) > 0.8
    assert harmonic_share(0.2) < 0.3


def test_same_seed_same_signal_other_seed_other_signal():
    case = FreeRunCase(a_train=ATrain(duration_s=0.3), spikes_per_min=10, cautery_per_min=2)
    a, b, c = (generate_freerun(case, s) for s in (7, 7, 8))
    np.testing.assert_array_equal(a.data, b.data)
    assert a.truth == b.truth
    assert not np.array_equal(a.data, c.data)


def test_cases_differing_only_in_hum_differ_only_by_the_hum():
    base = FreeRunCase(background=Background(noise_uv=3.0), a_train=ATrain(duration_s=0.3))
    hummed = FreeRunCase(
        background=Background(noise_uv=3.0, hum_uv=20.0), a_train=ATrain(duration_s=0.3)
    )
    a, b = generate_freerun(base, 9), generate_freerun(hummed, 9)
    assert a.truth == b.truth
    diff = b.data[:, 1].astype(float) - a.data[:, 1]
    assert band_rms(diff, RATE) == pytest.approx(hum_rms(20.0), rel=0.06)


def test_distractors_lie_inside_their_truth_and_never_overlap_on_a_channel():
    case = FreeRunCase(
        background=SILENT,
        duration_s=120.0,
        n_channels=2,
        spikes_per_min=20,
        bursts_per_min=6,
        b_trains_per_min=2,
        c_trains_per_min=2,
        cautery_per_min=2,
    )
    sig = generate_freerun(case, 10)
    kinds = {e.kind for e in sig.truth}
    assert kinds == {SPIKE, BURST, B_TRAIN, C_TRAIN, ARTIFACT}
    for ch in range(2):
        mine = sorted((e for e in sig.truth if e.channel in (ch, -1)), key=lambda e: e.onset)
        inside = np.zeros(len(sig.data), bool)
        for e in mine:
            inside[e.onset : e.offset] = True
        assert not sig.data[~inside, ch].any()
        for a, b in itertools.pairwise(mine):
            assert b.onset - a.offset >= 0.4 * RATE - 1  # the guard between events
    for e in sig.events(B_TRAIN):
        assert 3.0 <= e.freq_hz <= 30.0
    for e in sig.events(C_TRAIN):
        assert 8.0 <= e.freq_hz <= 20.0 and (e.offset - e.onset) / RATE >= 1.4
    for e in sig.events(ARTIFACT):
        seg = sig.data[e.onset : e.offset]
        assert e.channel == -1 and (np.sqrt(np.mean(seg.astype(float) ** 2, axis=0)) > 50).all()


def test_labels_name_muscles_the_monitor_knows():
    assert all(muscle_of(label) is not None for label in FreeRunCase(n_channels=4).labels)
