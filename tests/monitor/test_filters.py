"""The filter chain: causal, stateful, and blind to how the stream is cut into blocks."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import signal

from monitor.filters import FilterChain, FilterSettings, FilterSettingsError, design_sos

RATE = 10_000.0


def _stream(n: int, channels: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, channels)) * 5.0
    x += 200.0 * np.sin(2 * np.pi * 0.3 * np.arange(n) / RATE)[:, None]  # drift and offset
    return x.astype(np.float32)


def _cuts(draw_sizes: list[int], n: int) -> list[int]:
    edges, pos = [0], 0
    for size in draw_sizes:
        pos += size
        if pos >= n:
            break
        edges.append(pos)
    return [*edges, n]


@settings(max_examples=60, deadline=None)
@given(
    sizes=st.lists(st.integers(min_value=1, max_value=900), min_size=1, max_size=40),
    channels=st.integers(min_value=1, max_value=6),
    notch=st.sampled_from([None, 50.0, 60.0]),
    seed=st.integers(min_value=0, max_value=2**16),
)
def test_output_does_not_depend_on_block_sizes(sizes, channels, notch, seed):
    n = 4000
    x = _stream(n, channels, seed)
    cfg = FilterSettings(notch_hz=notch)
    whole = FilterChain(RATE, channels, cfg).process(x)
    chain = FilterChain(RATE, channels, cfg)
    edges = _cuts(sizes, n)
    parts = np.vstack([chain.process(x[a:b]) for a, b in itertools.pairwise(edges)])
    assert parts.shape == whole.shape
    np.testing.assert_allclose(parts, whole, rtol=0, atol=1e-3)


def test_equals_filtering_the_whole_signal_with_scipy():
    x = _stream(20_000, 3, 1)
    chain = FilterChain(RATE, 3)
    out = np.vstack([chain.process(x[i : i + 100]) for i in range(0, len(x), 100)])
    sos = chain.sos
    zi = signal.sosfilt_zi(sos)[:, :, None] * x[0][None, None, :]
    ref, _ = signal.sosfilt(sos, x.astype(np.float64), axis=0, zi=zi)
    np.testing.assert_allclose(out, ref, atol=1e-3)


def test_passband_and_stopband():
    t = np.arange(20_000) / RATE
    chain = FilterChain(RATE, 1)
    tone = lambda f: np.sin(2 * np.pi * f * t)[:, None].astype(np.float32)  # noqa: E731
    gain = lambda f: chain.__class__(RATE, 1).process(tone(f))[5000:].std() / tone(f).std()  # noqa: E731
    assert gain(300) == pytest.approx(1.0, abs=0.05)
    assert gain(1) < 0.01  # electrode drift removed
    assert gain(4900) < 0.5


def test_drift_offset_gives_no_start_transient():
    x = np.full((5000, 2), 3000.0, np.float32)  # 3 mV electrode offset
    out = FilterChain(RATE, 2).process(x)
    assert np.abs(out).max() < 1.0


def test_notch_removes_mains_when_switched_on():
    t = np.arange(30_000) / RATE
    x = (20 * np.sin(2 * np.pi * 50 * t))[:, None].astype(np.float32)
    off = FilterChain(RATE, 1).process(x)[10_000:]
    on = FilterChain(RATE, 1, FilterSettings(notch_hz=50.0)).process(x)[10_000:]
    assert off.std() > 10
    assert on.std() < 0.5


def test_settings_change_while_streaming_keeps_the_stream_going():
    chain = FilterChain(RATE, 2)
    x = _stream(10_000, 2, 3)
    first = chain.process(x[:5000])
    chain.set_settings(highpass_hz=100.0, notch_hz=50.0)
    second = chain.process(x[5000:])
    assert first.shape == (5000, 2) and second.shape == (5000, 2)
    assert np.isfinite(second).all()
    assert chain.settings.highpass_hz == 100.0
    assert chain.settings.notch_hz == 50.0


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"highpass_hz": 4000.0, "lowpass_hz": 3000.0}, "must be below"),
        ({"highpass_hz": -5.0}, "positive"),
        ({"order": 0}, "order"),
        ({"notch_hz": 6000.0}, "notch"),
    ],
)
def test_bad_settings_are_refused_with_a_sentence_and_the_old_ones_stay(changes, words):
    chain = FilterChain(RATE, 1)
    before = chain.settings
    with pytest.raises(FilterSettingsError, match=f"(?i){words}"):
        chain.set_settings(**changes)
    assert chain.settings == before


def test_lowpass_above_nyquist_is_lowered_with_a_note():
    sos, notes = design_sos(FilterSettings(lowpass_hz=3000.0), 4000.0)
    assert sos.shape[1] == 6
    assert notes and "1800" in notes[0]


@pytest.mark.parametrize(
    "changes",
    [
        {"lowpass_hz": float("nan")},
        {"notch_hz": -50.0},
        {"highpass_hz": float("inf")},
        {"notch_q": 0.0},
    ],
)
def test_non_numbers_are_refused_in_words(changes):
    with pytest.raises(FilterSettingsError, match=r"(?i)positive"):
        FilterChain(RATE, 1).set_settings(**changes)


@pytest.mark.parametrize("scipy_loop", [True, False])
def test_blocks_are_filtered_as_sosfilt_filters_them_bit_for_bit(monkeypatch, scipy_loop):
    # The chain runs SciPy's own loop when that loop checks out (else sosfilt itself):
    # either way every block must be what sosfilt gives, to the last bit.
    from monitor import filters

    if not scipy_loop:
        monkeypatch.setattr(filters, "SOS_LOOP", None)
    elif filters.SOS_LOOP is None:
        pytest.skip("this SciPy has no usable private filter loop")
    x = _stream(6000, 5, 3)
    chain = FilterChain(RATE, 5, FilterSettings(notch_hz=50.0))
    cuts = [0, 1, 700, 701, 3000, 6000]
    out = [chain.process(x[a:b]) for a, b in itertools.pairwise(cuts)]
    state = signal.sosfilt_zi(chain.sos)[:, :, None] * x[0][None, None, :]
    for (a, b), got in zip(itertools.pairwise(cuts), out, strict=True):
        want, state = signal.sosfilt(chain.sos, x[a:b], axis=0, zi=state)
        assert got.dtype == np.float32
        assert np.array_equal(got, want.astype(np.float32))


def test_a_block_that_does_not_fit_the_filter_state_is_refused():
    # SciPy's own loop checks nothing: a block with more channels than the state would
    # be filtered past the state's memory. Refused in words instead, as sosfilt did.
    chain = FilterChain(RATE, 2)
    chain.process(_stream(100, 2, 1))
    with pytest.raises(ValueError, match="does not fit"):
        chain.process(_stream(100, 8, 2))


def test_a_scipy_whose_private_loop_disagrees_is_not_used(monkeypatch):
    import scipy.signal._sosfilt as private

    from monitor import filters

    real = private._sosfilt

    def wrong(sos, x, zi):
        x *= 2.0

    def broken(sos, x, zi):
        raise TypeError("another signature")

    def state_not_kept(sos, x, zi):  # right samples, but nothing carries to the next block
        real(sos, x, zi.copy())

    def state_transposed(sos, x, zi):  # takes the state's values in another order
        mixed = np.ascontiguousarray(zi.transpose(1, 0, 2)).reshape(zi.shape)
        real(sos, x, mixed)
        zi[...] = mixed

    for loop in (wrong, broken, state_not_kept, state_transposed):
        monkeypatch.setattr(private, "_sosfilt", loop)
        assert filters._checked_sos_loop() is None
