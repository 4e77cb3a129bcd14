"""The simulator: labels sit where the signal has the event; repeatable; block-size blind."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from drivers.simulator import SimulatorSource
from monitor.source import EndOfStream
from simulation.emgsynth import ALL_CHANNELS, QUIET, EmgSynth, SimConfig


def render(synth: EmgSynth, seconds: float) -> np.ndarray:
    n = int(seconds * synth.rate)
    return np.vstack([synth.render(i, min(1000, n - i))[0] for i in range(0, n, 1000)])


def highpass(x: np.ndarray, rate: float) -> np.ndarray:
    from monitor.filters import FilterChain

    return FilterChain(rate, x.shape[1]).process(x)


def test_quiet_baseline_is_a_few_microvolts():
    synth = EmgSynth(SimConfig(seed=1, **QUIET))
    x = highpass(render(synth, 5), synth.rate)[5000:]
    rms = x.std(axis=0)
    assert np.all((rms > 2) & (rms < 6)), rms
    assert synth.truth == []


def test_every_random_event_is_where_its_label_says():
    cfg = SimConfig(
        seed=7,
        spikes_per_min=30,
        bursts_per_min=10,
        a_trains_per_min=6,
        b_trains_per_min=3,
        c_trains_per_min=3,
        cautery_per_min=3,
        stim_rate_hz=0,
    )
    synth = EmgSynth(cfg)
    x = highpass(render(synth, 60), synth.rate)
    assert {e.kind for e in synth.truth} >= {"spike", "burst", "a_train", "artifact"}
    for ev in synth.truth:
        if ev.offset > len(x):
            continue
        ch = 0 if ev.channel == ALL_CHANNELS else ev.channel
        inside = x[ev.onset : ev.offset, ch]
        assert np.ptp(inside) > 0.5 * ev.peak_uv, ev
        # Just before the onset the channel is at baseline (events never overlap there).
        before = x[max(0, ev.onset - 300) : ev.onset - 20, ch]
        if len(before) > 50:
            assert np.ptp(before) < max(60.0, 0.3 * ev.peak_uv), ev


def test_a_train_is_periodic_at_its_labelled_frequency():
    synth = EmgSynth(SimConfig(seed=3, **QUIET))
    ev = synth.add_event("a_train", 1.0, channel=2, duration_s=2.0, freq_hz=150.0)
    x = highpass(render(synth, 4), synth.rate)[ev.onset : ev.offset, 2].astype(np.float64)
    ac = np.correlate(x[:8000], x[:8000], "full")[7999:]
    lag = np.argmax(ac[20:200]) + 20  # search 50-500 Hz
    assert synth.rate / lag == pytest.approx(150.0, rel=0.03)
    assert ev.freq_hz == 150.0
    assert (ev.offset - ev.onset) / synth.rate == pytest.approx(2.0, abs=0.02)


def test_cautery_is_on_all_channels_at_once():
    synth = EmgSynth(
        SimConfig(seed=4, labels=("L Orb. oculi", "L Mentalis", "L Frontalis"), **QUIET)
    )
    ev = synth.add_event("artifact", 1.0, duration_s=1.0, amplitude_uv=2000)
    assert ev.channel == ALL_CHANNELS
    x = highpass(render(synth, 3), synth.rate)
    during = x[ev.onset + 1000 : ev.offset - 1000].std(axis=0)
    assert np.all(during > 500)


def test_stimulus_gives_direct_response_and_lsr_until_it_disappears():
    cfg = SimConfig(seed=5, lsr_gone_at_s=6.0, **{**QUIET, "stim_rate_hz": 1.0})
    synth = EmgSynth(cfg)
    x = highpass(render(synth, 10), synth.rate)
    assert len(synth.stim_truth) == 8  # 2 s ... 9 s
    rate = synth.rate
    for st in synth.stim_truth:
        for ch, resp in enumerate(st.responses):
            label = cfg.labels[ch]
            if "oculi" in label:  # the zygomatic branch's own muscle: direct response
                assert resp.kind == "direct" and resp.present
                assert 3.0 < resp.latency_ms < 5.0
            elif st.marker.index / rate < 6.0:
                assert resp.kind == "lsr" and resp.present
                assert 8.0 < resp.latency_ms < 12.0
                a = st.marker.index + int(resp.latency_ms * rate / 1000)
                seg = x[a : a + int(0.012 * rate), ch]
                assert np.ptp(seg) == pytest.approx(resp.amplitude_uv, rel=0.35)
            else:
                assert not resp.present
                a = st.marker.index + int(0.007 * rate)
                assert np.ptp(x[a : a + int(0.012 * rate), ch]) < 40


@pytest.mark.parametrize(("site", "stimulated"), [("zygomatic", "L"), ("R zygomatic", "R")])
def test_lsr_only_in_ipsilateral_muscles_of_other_branches(site, stimulated):
    """16 channels, both sides: the stimulus reaches one facial nerve. Its branch's own
    muscles answer directly, the other branches' muscles on that side give the LSR, and
    the contralateral muscles (and the trigeminal masseter) carry background only."""
    from monitor.montage import default_labels

    labels = default_labels(16, "left")
    cfg = SimConfig(labels=labels, seed=3, stim_site=site, **{**QUIET, "stim_rate_hz": 1.0})
    synth = EmgSynth(cfg)
    x = highpass(render(synth, 5), synth.rate)
    rate = synth.rate
    assert len(synth.stim_truth) == 3
    for st in synth.stim_truth:
        a = st.marker.index + int(0.007 * rate)  # the LSR's window, past the artefact
        for ch, (label, resp) in enumerate(zip(labels, st.responses, strict=True)):
            window = x[a : a + int(0.012 * rate), ch]
            ipsilateral = label.startswith(stimulated)
            if not ipsilateral or "Masseter" in label:
                assert not resp.present, label
                assert np.ptp(window) < 40, label  # background only (and its artefact tail)
            elif "oculi" in label or "Zygomaticus" in label:  # the zygomatic branch itself
                assert resp.kind == "direct" and resp.present, label
            else:
                assert resp.kind == "lsr" and resp.present, label
                assert np.ptp(window) > 40, label


def test_same_seed_same_case_and_block_sizes_do_not_matter():
    a, b = EmgSynth(SimConfig(seed=11)), EmgSynth(SimConfig(seed=11))
    xa = np.vstack([a.render(i, 100)[0] for i in range(0, 60_000, 100)])
    sizes = [1, 7, 333, 4000, 59, 20_000]
    parts, pos = [], 0
    while pos < 60_000:
        n = min(sizes[len(parts) % len(sizes)], 60_000 - pos)
        parts.append(b.render(pos, n)[0])
        pos += n
    np.testing.assert_array_equal(xa, np.vstack(parts))
    assert a.truth == b.truth
    c = EmgSynth(SimConfig(seed=12))
    assert not np.array_equal(xa[:1000], c.render(0, 1000)[0])


def test_source_delivers_contiguous_labelled_blocks_with_stim_markers():
    src = SimulatorSource(SimConfig(seed=2, rate=20_000), realtime=False, duration_s=4.0)
    src.open()
    blocks = []
    with pytest.raises(EndOfStream):
        while True:
            blocks.append(src.read())
    assert sum(b.n_samples for b in blocks) == 80_000
    assert all(b2.start == b1.stop for b1, b2 in itertools.pairwise(blocks))
    stims = [s.index for b in blocks for s in b.stims]
    assert stims == [40_000, 60_000]
    assert all(b.data.dtype == np.float32 for b in blocks)


@pytest.mark.parametrize("bad", [{"rate": 100.0}, {"labels": ()}, {"rate": 50_000.0}])
def test_bad_configuration_is_refused(bad):
    with pytest.raises(ValueError, match=r"(?i)simulator"):
        SimConfig(**bad)
