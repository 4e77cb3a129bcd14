"""Evoked responses against the simulator's truth: presence, latency, amplitude, direct
responses kept out of the LSR, disappearance and reappearance calls, baselines, block-size
blindness, triggered-EMG thresholds, and stimuli found from their artifacts."""

from __future__ import annotations

import dataclasses
import functools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drivers.simulator import SimulatorSource
from monitor.block import Block, StimMarker
from monitor.evoked import (
    STIM_RESPONSE_COLUMNS,
    EvokedAnalyzer,
    EvokedSettings,
    LsrCall,
    Sweep,
    ThresholdRamp,
    ramp_threshold,
)
from monitor.evoked.stimuli import (
    DETECTED_SITE,
    MODE_TRIGGERED,
    StimulusArtifactDetector,
    classify_site,
)
from monitor.session import Session
from simulation.emgsynth import EmgSynth, SimConfig

QUIET = {
    "spikes_per_min": 0.0,
    "bursts_per_min": 0.0,
    "a_trains_per_min": 0.0,
    "b_trains_per_min": 0.0,
    "c_trains_per_min": 0.0,
    "cautery_per_min": 0.0,
}
LABELS = ("L Orb. oculi", "L Orb. oris", "L Mentalis", "L Frontalis")


def feed(
    synth: EmgSynth,
    analyzer: EvokedAnalyzer,
    seconds: float,
    block: int = 100,
    markers: bool = True,
    start: int = 0,
) -> None:
    total = round(seconds * synth.rate)
    for i in range(start, total, block):
        data, stims = synth.render(i, min(block, total - i))
        analyzer.process(i, data, stims if markers else ())


def analyse(cfg: SimConfig, seconds: float, **kw) -> tuple[EmgSynth, EvokedAnalyzer, list]:
    synth = EmgSynth(cfg)
    calls: list[LsrCall] = []
    an = EvokedAnalyzer(cfg.rate, cfg.labels, on_call=calls.append, **kw)
    feed(synth, an, seconds)
    an.flush()
    return synth, an, calls


def by_stim(an: EvokedAnalyzer) -> dict[int, dict[int, object]]:
    out: dict[int, dict[int, object]] = {}
    for r in an.results():
        out.setdefault(r.stim_index, {})[r.channel] = r
    return out


# -- measuring ------------------------------------------------------------------------------
def test_presence_latency_and_amplitude_match_the_simulator():
    synth, an, _ = analyse(SimConfig(seed=1, **QUIET), 12.0)
    res = by_stim(an)
    lat_err, amp_err = [], []
    assert len(synth.stim_truth) == 10
    for stim in synth.stim_truth:
        for ch, truth in enumerate(stim.responses):
            r = res[stim.marker.index][ch]
            assert r.kind == truth.kind, (stim.marker.index, ch)
            assert r.present and truth.present
            lat_err.append(abs(r.latency_ms - truth.latency_ms))
            amp_err.append(abs(r.amplitude_uv - truth.amplitude_uv) / truth.amplitude_uv)
            assert r.peak_latency_ms > r.latency_ms
            assert r.area_uv_ms > 0
    assert np.mean(lat_err) < 0.5
    assert max(lat_err) < 2.0  # a small first phase lost in the noise: ~1.5 ms late
    assert np.median(amp_err) < 0.15


def test_no_response_is_absent_and_no_baseline_is_taken():
    _, an, calls = analyse(SimConfig(seed=2, lsr_gone_at_s=0.0, **QUIET), 10.0)
    lsr = [r for r in an.results() if r.kind == "lsr"]
    assert len(lsr) == 3 * 8
    assert not any(r.present for r in lsr)
    assert all(r.latency_ms is None and r.amplitude_uv is None for r in lsr)
    assert an.baseline() is None and calls == []
    assert an.status_text() == "LSR not seen (8 sweeps)"
    assert an.lsr_summary()["disappeared_at_s"] is None


def test_a_clean_baseline_with_only_noise_gives_no_false_presence():
    """Noise alone crosses the presence level in well under 1 % of windows."""
    _, an, _ = analyse(
        SimConfig(seed=9, lsr_gone_at_s=0.0, stim_rate_hz=4.0, noise_uv=6.0, **QUIET), 40.0
    )
    lsr = [r for r in an.results() if r.kind == "lsr" and r.judged]
    assert len(lsr) > 400
    assert sum(r.present for r in lsr) <= 2


@pytest.mark.parametrize(
    ("site", "direct"),
    [
        ("zygomatic", "L Orb. oculi"),
        ("marginal mandibular", "L Mentalis"),
        ("temporal", "L Frontalis"),
    ],
)
def test_the_stimulated_branch_own_response_is_direct_not_lsr(site, direct):
    _synth, an, _ = analyse(SimConfig(seed=3, stim_site=site, **QUIET), 9.0)
    for r in an.results():
        if r.label == direct:
            assert r.kind == "direct" and r.present
            assert 3.5 < r.latency_ms < 4.6
        else:
            assert r.kind == "lsr"
    base = an.baseline()
    assert base is not None and direct not in base.amplitude_uv
    assert an.state() == "present"


def test_without_a_known_site_an_early_response_is_taken_as_direct():
    cfg = SimConfig(seed=4, **QUIET)
    synth = EmgSynth(cfg)
    an = EvokedAnalyzer(cfg.rate, cfg.labels)
    total = round(9 * cfg.rate)
    for i in range(0, total, 100):
        data, stims = synth.render(i, 100)
        an.process(i, data, [dataclasses.replace(s, site="Trigger") for s in stims])
    kinds = {r.label: r.kind for r in an.results()}
    assert kinds == {"L Orb. oculi": "direct", "L Orb. oris": "lsr", "L Mentalis": "lsr",
                     "L Frontalis": "lsr"}  # fmt: skip
    assert an.baseline() is not None and "L Orb. oculi" not in an.baseline().amplitude_uv


def test_zl_response_on_all_channels_at_about_7_ms():
    cfg = SimConfig(
        seed=5, stim_site="Z-L", stim_current_ma=2.0, lsr_latency_ms=7.3, lsr_amplitude_uv=80.0,
        **QUIET,
    )  # fmt: skip
    synth, an, _ = analyse(cfg, 8.0)
    res = by_stim(an)
    for stim in synth.stim_truth:
        for ch, truth in enumerate(stim.responses):
            r = res[stim.marker.index][ch]
            assert r.kind == "zl" and r.present
            # 40-90 µV: the small first phase is often lost in the noise (then ~1.5 ms late).
            assert -0.5 < r.latency_ms - truth.latency_ms < 2.0
    assert an.status_text("zl").startswith("Z-L response")
    assert an.status_text("lsr") == "LSR: no stimuli yet"


# -- calls --------------------------------------------------------------------------------------
def test_disappearance_is_called_after_k_absent_sweeps_and_not_before():
    cfg = SimConfig(seed=6, lsr_gone_at_s=12.0, **QUIET)
    sweeps: list[Sweep] = []
    synth = EmgSynth(cfg)
    calls: list[LsrCall] = []
    an = EvokedAnalyzer(cfg.rate, cfg.labels, on_sweep=sweeps.append, on_call=calls.append)
    total = round(20 * cfg.rate)
    for i in range(0, total, 100):
        data, stims = synth.render(i, 100)
        an.process(i, data, stims)
        if i < round(15.9 * cfg.rate):  # 4 sweeps without LSR: still no call
            assert calls == [], calls
    first_gone = next(s.marker.index for s in synth.stim_truth if s.marker.index >= 12 * cfg.rate)
    assert [c.kind for c in calls] == ["disappeared"]
    call = calls[0]
    assert call.sample_index == first_gone
    assert call.reported_at == first_gone + 4 * round(cfg.rate)  # the 5th sweep without it
    assert set(call.channels) == {"L Orb. oris", "L Mentalis", "L Frontalis"}
    assert call.criterion == "absent_k" and "disappeared" in call.text and "0:12" in call.text
    assert an.state() == "gone"
    assert an.status_text() == "LSR gone since 0:12"
    summary = an.lsr_summary()
    assert summary["disappeared_at_s"] == pytest.approx(12.0)
    assert set(summary["baseline_uv"]) == {"L Orb. oris", "L Mentalis", "L Frontalis"}
    assert [s.stim_number for s in sweeps] == list(range(1, len(sweeps) + 1))


def test_reappearance_is_called_when_the_lsr_comes_back():
    gone = SimConfig(seed=7, lsr_gone_at_s=10.0, **QUIET)
    back = SimConfig(seed=7, **QUIET)
    a, b = EmgSynth(gone), EmgSynth(back)
    calls: list[LsrCall] = []
    an = EvokedAnalyzer(gone.rate, gone.labels, on_call=calls.append)
    switch, total = round(18 * gone.rate), round(26 * gone.rate)
    for i in range(0, total, 100):
        da, sa = a.render(i, 100)
        db, _ = b.render(i, 100)
        an.process(i, da if i < switch else db, sa)
    assert [c.kind for c in calls] == ["disappeared", "reappeared"]
    re = calls[1]
    assert re.reported_at == 20 * round(gone.rate)  # 3rd sweep with LSR (18, 19, 20 s)
    assert "reappeared" in re.text and "µV" in re.text
    assert an.state() == "present" and an.lsr_summary()["disappeared_at_s"] is None
    assert an.status_text().startswith("LSR present — ")


def test_cautery_over_the_sweeps_is_rejected_and_never_looks_like_disappearance():
    cfg = SimConfig(seed=8, **QUIET)
    synth = EmgSynth(cfg)
    synth.add_event("artifact", 9.5, duration_s=7.0, amplitude_uv=1500.0)
    calls: list[LsrCall] = []
    an = EvokedAnalyzer(cfg.rate, cfg.labels, on_call=calls.append)
    feed(synth, an, 20.0)
    during = [r for r in an.results() if 10 <= r.stim_index / cfg.rate <= 16]
    assert during and all(r.rejected for r in during)
    assert calls == [] and an.state() == "present"


def test_amplitude_criterion_calls_a_fading_lsr_no_later_than_absence():
    cfg = SimConfig(seed=3, lsr_gone_at_s=14.0, lsr_fade_stims=4, **QUIET)
    _, _an_pct, pct = analyse(cfg, 22.0, settings=EvokedSettings(criterion="amplitude_pct"))
    _, _an_abs, absent = analyse(cfg, 22.0)
    assert [c.kind for c in pct] == ["disappeared"] == [c.kind for c in absent]
    assert pct[0].reported_at <= absent[0].reported_at
    assert pct[0].reported_at / cfg.rate > 9.5  # not while it was still above 20 %
    assert "20 % of baseline" in pct[0].text


def test_user_set_baseline_replaces_the_automatic_one():
    cfg = SimConfig(seed=10, lsr_gone_at_s=12.0, **QUIET)
    synth = EmgSynth(cfg)
    calls: list[LsrCall] = []
    an = EvokedAnalyzer(cfg.rate, cfg.labels, on_call=calls.append)
    with pytest.raises(ValueError, match="No LSR sweeps"):
        an.set_baseline()
    feed(synth, an, 10.5)
    auto = an.baseline()
    assert auto is not None and auto.set_by == "auto" and auto.first_stim == 1
    user = an.set_baseline(n=3)
    assert user.set_by == "user" and (user.first_stim, user.last_stim) == (7, 9)
    assert set(user.amplitude_uv) == set(auto.amplitude_uv)
    feed(synth, an, 20.0, start=round(10.5 * cfg.rate))
    assert [c.kind for c in calls] == ["disappeared"]
    # A baseline taken after the LSR has gone has nothing to watch: no calls, and says so.
    after = an.set_baseline()
    assert after.channels == () and an.state() == "none"
    assert an.status_text() == "LSR: none at baseline"
    assert an.lsr_summary()["baseline_uv"] == {}


def test_threshold_criterion_calls_when_the_amr_threshold_doubles():
    cfg = SimConfig(
        seed=7, stim_rate_hz=2.0, stim_currents_ma=(2.0, 3.0, 4.0, 6.0, 8.0, 10.0, 12.0, 16.0),
        lsr_threshold_ma=4.0, lsr_threshold_after_ma=10.0, lsr_gone_at_s=20.0, **QUIET,
    )  # fmt: skip
    _, an, calls = analyse(cfg, 32.0, settings=EvokedSettings(criterion="threshold_doubled"))
    assert an.baseline().threshold_ma == 4.0
    assert [c.kind for c in calls] == ["disappeared"]
    assert calls[0].reported_at / cfg.rate >= 20.0
    assert "8 mA" in calls[0].text and "baseline threshold 4 mA" in calls[0].text


# -- block sizes, session, gaps ---------------------------------------------------------------
@functools.cache
def _results_with_blocks(sizes: tuple[int, ...]) -> list[tuple]:
    cfg = SimConfig(seed=11, **{**QUIET, "spikes_per_min": 30.0})
    synth = EmgSynth(cfg)
    an = EvokedAnalyzer(cfg.rate, cfg.labels)
    total, i, k = round(6 * cfg.rate), 0, 0
    while i < total:
        n = min(sizes[k % len(sizes)], total - i)
        data, stims = synth.render(i, n)
        an.process(i, data, stims)
        i, k = i + n, k + 1
    return [
        (r.stim_index, r.channel, r.kind, r.present, r.latency_ms, r.amplitude_uv, r.rejected)
        for r in an.results()
    ]


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(3, 4000), min_size=1, max_size=6))
def test_results_do_not_depend_on_block_sizes(sizes):
    reference = _results_with_blocks((100,))
    assert len(reference) == 4 * 4
    got = _results_with_blocks(tuple(sizes))
    assert len(got) == len(reference)
    for a, b in zip(got, reference, strict=True):
        assert a[:4] == b[:4] and a[6] == b[6]
        for x, y in zip(a[4:6], b[4:6], strict=True):
            assert (x is None and y is None) or x == pytest.approx(y, rel=1e-4, abs=1e-3)


def test_driven_by_a_session_without_a_thread():
    source = SimulatorSource(SimConfig(seed=12, **QUIET), realtime=False, duration_s=6.0)
    session = Session(source)
    session.open()
    an = EvokedAnalyzer(source.info.rate, source.info.labels)
    session.subscribe("Evoked responses", an)
    for _ in range(600):
        session.process(source.read())
    assert [r.stim_index for r in an.results()[::4]] == [20_000, 30_000, 40_000, 50_000]
    assert all(r.present for r in an.results())
    assert session.problems == []


def test_a_gap_over_a_sweep_is_rejected_not_absent():
    cfg = SimConfig(seed=13, **QUIET)
    synth = EmgSynth(cfg)
    an = EvokedAnalyzer(cfg.rate, cfg.labels)
    for i in range(0, round(8 * cfg.rate), 100):
        data, stims = synth.render(i, 100)
        if 30_000 <= i < 30_200:  # 20 ms lost just after the 3 s pulse
            an.process(i, data[:0], stims)
            continue
        an.process(i, data, stims)
    res = by_stim(an)
    assert all(r.rejected == "gap" for r in res[30_000].values())
    assert all(r.present for r in res[40_000].values())


def test_csv_rows_and_summary_follow_the_contract():
    _, an, _ = analyse(SimConfig(seed=14, lsr_gone_at_s=4.5, **QUIET), 12.0)
    rows = an.stim_response_rows()
    assert STIM_RESPONSE_COLUMNS[-1] == "rejected"
    assert len(STIM_RESPONSE_COLUMNS) == 6 and all(len(r) == 6 for r in rows)
    assert rows[0][:3] == ["2.0000", "L Orb. oculi", "1"]  # the direct response
    absent = [r for r in rows if r[2] == "0"]
    assert absent and all(r[3] == "" and r[4] == "" for r in absent)
    present = [r for r in rows if r[2] == "1"]
    assert all(float(r[3]) > 0 and float(r[4]) > 0 for r in present)
    assert all(r[5] == "" for r in rows)  # nothing rejected in a quiet case
    assert an.stim_response_rows(extra=True)[1][5:] == ["", "lsr"]
    s = an.lsr_summary()
    assert set(s) >= {"baseline_uv", "disappeared_at_s"}
    assert s["disappeared_at_s"] is None  # the LSR was gone before a baseline was taken


# -- triggered EMG ----------------------------------------------------------------------------
def test_ramp_threshold_rule():
    assert ramp_threshold([(0.05, False), (0.1, True), (0.2, True)]) == (0.1, True)
    # An isolated false detection at a low current does not make the threshold.
    assert ramp_threshold([(0.05, True), (0.1, False), (0.2, True), (0.3, True)]) == (0.2, True)
    assert ramp_threshold([(0.05, False), (0.1, False)]) == (None, False)
    assert ramp_threshold([(0.05, False), (0.3, True)]) == (0.3, False)
    assert ramp_threshold([(0.3, True), (0.3, True)]) == (0.3, True)


def test_threshold_ramp_finds_each_muscle_threshold():
    thresholds = (0.05, 0.1, 0.2, 0.3)
    cfg = SimConfig(
        seed=15, stim_site="facial nerve", stim_rate_hz=2.0,
        stim_currents_ma=(0.02, 0.05, 0.1, 0.2, 0.3, 0.5), threshold_ma=thresholds,
        direct_latency_ms=5.5, **QUIET,
    )  # fmt: skip
    assert classify_site(cfg.stim_site).mode == MODE_TRIGGERED
    ramp = ThresholdRamp(cfg.labels)
    _, an, _ = analyse(cfg, 5.0, on_sweep=ramp.add_sweep)
    got = ramp.thresholds()
    assert [t.threshold_ma for t in got] == list(thresholds)
    assert [t.level_ma for t in got] == list(thresholds)
    assert all(t.confirmed for t in got)
    assert "0.1 mA" in got[1].text and "90 %" in got[1].text
    assert all(5.0 < t.latency_ms < 6.5 for t in got)
    # The analyzer keeps its own ramps of triggered responses, restarting at each new ramp.
    assert [t.threshold_ma for t in an.ramp.thresholds()] == list(thresholds)


# -- stimuli from artifacts -------------------------------------------------------------------
def test_artifact_detection_finds_the_simulator_pulses_when_markers_are_stripped():
    cfg = SimConfig(seed=16, **{**QUIET, "spikes_per_min": 60.0})
    synth = EmgSynth(cfg)
    sweeps: list[Sweep] = []
    an = EvokedAnalyzer(cfg.rate, cfg.labels, on_sweep=sweeps.append)
    feed(synth, an, 12.0, block=137, markers=False)
    truth = [s.marker.index for s in synth.stim_truth]
    assert [s.marker.index for s in sweeps] == truth
    assert all(s.marker.site == DETECTED_SITE for s in sweeps)
    assert an.detected == len(truth)
    for stim, sweep in zip(synth.stim_truth, sweeps, strict=True):
        for truth_r, r in zip(stim.responses, sweep.results, strict=True):
            assert r.present and r.kind == truth_r.kind


def test_artifact_detector_ignores_cautery_and_spontaneous_emg():
    cfg = SimConfig(
        seed=17, stim_rate_hz=0.0, spikes_per_min=120.0, bursts_per_min=30.0,
        a_trains_per_min=6.0, cautery_per_min=6.0,
    )  # fmt: skip
    synth = EmgSynth(cfg)
    det = StimulusArtifactDetector(cfg.rate, len(cfg.labels))
    found = []
    for i in range(0, round(30 * cfg.rate), 250):
        found += det.process(i, synth.render(i, 250)[0])
    assert {t.kind for t in synth.truth} >= {"artifact", "a_train", "spike"}
    assert found == []


def test_real_markers_switch_detection_off_in_auto_mode():
    cfg = SimConfig(seed=18, **QUIET)
    synth = EmgSynth(cfg)
    an = EvokedAnalyzer(cfg.rate, cfg.labels)
    feed(synth, an, 6.0)
    assert an.detected == 0
    assert [r.site for r in an.results()[::4]] == ["zygomatic"] * 4


def test_settings_are_checked():
    with pytest.raises(ValueError, match="criterion"):
        EvokedSettings(criterion="vanished")
    with pytest.raises(ValueError, match="window"):
        EvokedSettings(lsr_window_ms=(1.0, 20.0))
    with pytest.raises(ValueError, match="window"):
        EvokedSettings(windows_ms={"L Mentalis": (8.0, 80.0)})
    assert EvokedSettings(windows_ms={"L Mentalis": (8.0, 14.0)}).window("L Mentalis", "lsr") == (
        8.0,
        14.0,
    )


def test_subscriber_form_takes_blocks():
    cfg = SimConfig(seed=19, **QUIET)
    synth = EmgSynth(cfg)
    an = EvokedAnalyzer(cfg.rate, cfg.labels)
    for i in range(0, 40_000, 500):
        data, stims = synth.render(i, 500)
        an(Block(i, data, cfg.rate, LABELS, tuple(stims)), data)
    assert len(an.results()) == 4 * 2
    assert isinstance(an.last_sweep().marker, StimMarker)
    assert an.last_sweep().epoch.shape == (550, 4)
    assert an.last_sweep().times_ms()[0] == pytest.approx(-5.0)


def test_averaging_finds_a_response_that_single_sweeps_miss():
    cfg = SimConfig(seed=20, noise_uv=8.0, lsr_amplitude_uv=60.0, **QUIET)
    _, single, _ = analyse(cfg, 16.0)
    _, averaged, _ = analyse(cfg, 16.0, settings=EvokedSettings(average_n=4))
    late = [r for r in averaged.trend(2) if r.stim_number >= 4]  # L Mentalis, ~60 µV
    assert all(r.n_averaged == 4 for r in late)
    assert sum(r.present for r in late) >= 0.9 * len(late)
    alone = [r for r in single.trend(2) if r.stim_number >= 4]
    assert sum(r.present for r in alone) <= 0.75 * len(alone)


def test_below_1000_hz_the_lsr_is_not_measured_and_says_why_once():
    """At 200 Hz the LSR analysis once crashed, was switched off with a traceback, and the
    summary still said ``analysed: true``. It now does not run and says why."""
    from monitor.block import StimMarker
    from monitor.evoked import CALL_ANALYSIS_OFF, EvokedAnalyzer

    calls = []
    a = EvokedAnalyzer(200.0, ("L Orb. oculi", "L Mentalis"), on_call=calls.append)
    x = np.random.default_rng(1).normal(0, 20, (200, 2)).astype(np.float32)
    for k in range(10):
        a.process(k * 200, x, [StimMarker(k * 200 + 50, 10.0)])
    a.flush()
    assert a.results() == [] and a.state() == "off"
    assert [c.kind for c in calls] == [CALL_ANALYSIS_OFF]
    assert calls[0].text == (
        "LSR not measured: the sampling rate (200 Hz) is below the 1000 Hz it needs."
    )
    summary = a.lsr_summary()
    assert summary["analysed"] is False and summary["stimuli_not_analysed"] == 10
    assert summary["reason"] == calls[0].text
    assert a.status_text() == "LSR not measured — sampling rate 200 Hz, needs 1000 Hz"


def test_an_internal_error_switches_the_analysis_off_and_the_summary_says_so(monkeypatch):
    """Through the session, as it runs: the analyzer once re-raised, was unsubscribed and
    never said anything more (no call, no count, the status box never shown)."""
    from monitor.evoked import CALL_ANALYSIS_OFF, EvokedAnalyzer
    from monitor.session import Session

    cfg = SimConfig(rate=10_000.0, seed=4, stim_rate_hz=2.0, stim_start_s=0.2)
    session = Session(SimulatorSource(cfg, realtime=False, duration_s=3.0))
    session.open()
    calls = []
    a = EvokedAnalyzer(cfg.rate, cfg.labels, on_call=calls.append)
    session.subscribe("Evoked responses", a)

    def broken(*_args, **_kwargs):
        raise ValueError("zero-size array")

    monkeypatch.setattr(a, "_analyse", broken)
    while True:
        try:
            block = session.source.read()
        except Exception:
            break
        session.process(block)
    assert [c.kind for c in calls] == [CALL_ANALYSIS_OFF] and a.off_said
    assert calls[0].text.startswith("LSR not measured: it stopped after an internal error")
    assert a.state() == "off" and a.stimuli_not_analysed >= 3  # counted after the failure
    summary = a.lsr_summary()
    assert summary["analysed"] is False and "internal error" in summary["reason"]
    _, problems = session.problems_since(0)
    assert not [p for p in problems if "stopped working" in p.text]  # still subscribed


def test_site_texts_that_keep_changing_grow_no_memory():
    # A recording whose stimulus annotations all differ (a counter in the text) must not
    # make the analysis hold one reading per stimulus for hours; the readings stay right.
    from monitor.evoked import analyzer

    ev = EvokedAnalyzer(10_000.0, ("L Orb. oculi", "L Orb. oris", "R Mentalis"))
    for i in range(3 * analyzer.SITE_MEMORY):
        site, kinds = ev._site_read(f"zygomatic left #{i}")
        assert site == classify_site(f"zygomatic left #{i}", ev.s.default_site)
        assert len(kinds) == 3
    assert len(ev._sites) <= analyzer.SITE_MEMORY
    assert len(ev._site_sides) <= analyzer.SITE_MEMORY
