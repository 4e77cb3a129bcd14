"""The evoked generator: markers, responses and contamination where the truth says."""

from __future__ import annotations

import numpy as np
import pytest

from monitor.montage import muscle_of
from validation.evoked_signals import (
    ABSENT,
    CONTAMINATED,
    FACIAL_CHANNELS,
    KIND_DIRECT,
    KIND_LSR,
    PRESENT,
    EvokedCase,
    generate_evoked,
)
from validation.interference import Background, hum_rms

SILENT = Background(noise_uv=0.0, hum_uv=0.0, drift_uv=0.0)


def _window(sig, truth, lo_ms, hi_ms):
    a = truth.stim_index + round(lo_ms * sig.rate / 1000)
    b = truth.stim_index + round(hi_ms * sig.rate / 1000)
    return sig.data[a:b, truth.channel].astype(float)


def test_markers_at_the_stimulation_rate_with_site_and_current():
    sig = generate_evoked(EvokedCase(stim_hz=0.5, n_sweeps=6), 1)
    idx = np.array([m.index for m in sig.markers])
    assert np.diff(idx).tolist() == [20_000] * 5
    assert {m.site for m in sig.markers} == {"zygomatic"}
    assert all(m.current_ma == 15.0 and m.width_ms == 0.2 for m in sig.markers)
    assert len(sig.sweeps) == 6 * len(FACIAL_CHANNELS)


def test_branches_agree_with_the_monitors_montage():
    for ch in FACIAL_CHANNELS:
        assert muscle_of(ch.label).branch == ch.branch


def test_direct_response_on_the_stimulated_branch_and_lsr_elsewhere_where_the_truth_says():
    case = EvokedCase(background=SILENT, artefact_uv=0.0, n_sweeps=5, lsr_uv=150.0)
    sig = generate_evoked(case, 2)
    for t in sig.sweeps:
        assert t.state == PRESENT
        assert t.kind == (KIND_DIRECT if t.label == "L Orb. oculi" else KIND_LSR)
        w = _window(sig, t, 0.0, 40.0)
        nz = np.flatnonzero(w)
        assert nz[0] == round(t.latency_ms * sig.rate / 1000)  # the onset is the truth's
        assert np.ptp(w) == pytest.approx(t.amplitude_uv, rel=1e-4)
        if t.kind == KIND_LSR:
            assert 7.5 < t.latency_ms < 11.5 and 120 <= t.amplitude_uv <= 180
        else:
            assert 3.0 < t.latency_ms < 4.0 and t.amplitude_uv > 1500


def test_lsr_shrinks_then_disappears_while_the_direct_response_stays():
    case = EvokedCase(
        background=SILENT,
        artefact_uv=0.0,
        stim_hz=1.0,
        n_sweeps=30,
        lead_in_s=1.0,
        shrink_at_s=10.5,
        shrink_to=0.4,
        lsr_gone_at_s=20.5,
        lsr_var=0.0,
    )
    sig = generate_evoked(case, 3)
    assert sig.disappeared_at_s == 21.0 and sig.stim_lost_at_s is None
    for t in sig.sweeps:
        when = t.stim_index / sig.rate
        if t.kind == KIND_DIRECT:
            assert t.state == PRESENT
        elif when < 10.5:
            assert t.state == PRESENT and t.amplitude_uv == pytest.approx(200.0)
        elif when < 20.5:
            assert t.state == PRESENT and t.amplitude_uv == pytest.approx(80.0)
        else:
            assert t.state == ABSENT and not _window(sig, t, 0.0, 40.0).any()


def test_stimulation_loss_takes_the_direct_response_and_the_lsr_but_not_the_artefact():
    case = EvokedCase(
        background=SILENT, stim_hz=1.0, n_sweeps=20, lead_in_s=1.0, stim_lost_at_s=10.5
    )
    sig = generate_evoked(case, 4)
    assert sig.stim_lost_at_s == 11.0 and sig.disappeared_at_s is None
    for t in sig.sweeps:
        lost = t.stim_index / sig.rate > 10.5
        assert t.stimulated is not lost
        assert (t.state == ABSENT) is lost
        w = _window(sig, t, 5.0, 40.0)  # after the artefact, over the responses
        assert bool(np.abs(w).max() < 1.0) is lost
        assert np.abs(_window(sig, t, 0.0, 0.2)).max() > 100  # the artefact is still there


@pytest.mark.parametrize("reason", ["cautery", "saturation", "step", "a_train"])
def test_contaminated_sweeps_are_labelled_on_the_channels_they_touch(reason):
    case = EvokedCase(
        background=SILENT,
        artefact_uv=0.0,
        lsr_uv=0.0,
        direct_uv=0.0,
        n_sweeps=12,
        contaminate_every=4,
        contaminate_from=2,
        contaminations=(reason,),
    )
    sig = generate_evoked(case, 5)
    bad = [t for t in sig.sweeps if t.state == CONTAMINATED]
    assert {t.stim_number for t in bad} == {3, 7, 11}
    assert {t.reason for t in bad} == {reason}
    per_sweep = {t.stim_number: [] for t in bad}
    for t in bad:
        per_sweep[t.stim_number].append(t.channel)
    for chans in per_sweep.values():
        assert len(chans) == (4 if reason == "cautery" else 1)
    for t in sig.sweeps:
        w = _window(sig, t, -5.0, 30.0)
        assert bool(np.abs(w).max() > 50) is (t.state == CONTAMINATED)
        if t.state == CONTAMINATED and reason == "saturation":
            assert np.all(np.abs(w) == case.rail_uv)  # flat on the rail through the window
        if t.state == CONTAMINATED and reason == "a_train":
            assert np.abs(_window(sig, t, -300.0, -10.0)).max() > 50  # before the pulse too
            assert t.kind == KIND_LSR


def test_hum_in_the_sweeps_has_the_stated_level():
    case = EvokedCase(
        background=Background(noise_uv=0.0, hum_uv=40.0, drift_uv=0.0),
        artefact_uv=0.0,
        lsr_uv=0.0,
        direct_uv=0.0,
        n_sweeps=20,
    )
    sig = generate_evoked(case, 6)
    rms = np.sqrt(np.mean(sig.data.astype(float) ** 2, axis=0))
    np.testing.assert_allclose(rms, hum_rms(40.0), rtol=0.05)


def test_same_seed_same_signal():
    case = EvokedCase(n_sweeps=10, contaminate_every=3, contaminate_from=1)
    a, b, c = (generate_evoked(case, s) for s in (11, 11, 12))
    np.testing.assert_array_equal(a.data, b.data)
    assert a.sweeps == b.sweeps and a.markers == b.markers
    assert not np.array_equal(a.data, c.data)
