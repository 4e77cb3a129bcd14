"""The stimulus-artifact detector on its own: its markers do not depend on how the stream
is cut into blocks (NaN holes and gaps included), and its median of the sharpness is
``np.median``'s value bit for bit."""

from __future__ import annotations

import functools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.evoked.stimuli import ArtifactDetectorSettings, StimulusArtifactDetector
from monitor.medians import median_or_nan
from simulation.emgsynth import EmgSynth, SimConfig

SECONDS = 4.0


@functools.cache
def _signal() -> tuple[float, np.ndarray]:
    """Simulated stimuli among spontaneous activity, with a NaN hole on one channel and
    non-finite samples on all of them (a chunk's typical jump is then NaN)."""
    cfg = SimConfig(seed=23, stim_rate_hz=4.0, spikes_per_min=60.0, bursts_per_min=20.0)
    synth = EmgSynth(cfg)
    data, _ = synth.render(0, round(SECONDS * cfg.rate))
    data = data.copy()
    data[round(1.3 * cfg.rate) : round(1.35 * cfg.rate), 1] = np.nan
    data[round(2.6 * cfg.rate) : round(2.6 * cfg.rate) + 5] = np.inf
    return cfg.rate, data


def _markers(sizes: tuple[int, ...], gap_at: int | None = None) -> list[int]:
    """Markers of the stream fed in blocks of ``sizes`` (in turn); from sample ``gap_at``
    on, the indices jump by 1234 (a gap: the detector starts afresh, its scale kept)."""
    rate, data = _signal()
    det = StimulusArtifactDetector(rate, data.shape[1])
    found, i, k = [], 0, 0
    while i < len(data):
        n = min(sizes[k % len(sizes)], len(data) - i)
        if gap_at is not None and i < gap_at < i + n:
            n = gap_at - i  # the block before the gap ends there
        offset = 1234 if gap_at is not None and i >= gap_at else 0
        found += [m.index for m in det.process(i + offset, data[i : i + n])]
        i, k = i + n, k + 1
    return found


def test_the_simulated_stimuli_are_found():
    assert len(_markers((round(_signal()[0]),))) >= 3


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.integers(1, 9000), min_size=1, max_size=6),
    st.one_of(st.none(), st.integers(1, round(SECONDS * 10_000) - 1)),
)
def test_markers_do_not_depend_on_block_sizes(sizes, gap_at):
    rate = round(_signal()[0])
    assert _markers(tuple(sizes), gap_at) == _markers((rate,), gap_at)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.floats(0, 2, width=32),
            st.sampled_from([0.6, 0.59999996, 0.6000001, np.nan, np.inf, 0.0]),
        ),
        min_size=1,
        max_size=16,
    ),
    st.sampled_from([np.float32, np.float64]),
)
def test_the_median_is_numpys(values, dtype):
    x = np.array(values, dtype)
    expected = np.median(x)
    got = median_or_nan(x)
    assert got.dtype == expected.dtype
    assert got.tobytes() == expected.tobytes() or (np.isnan(got) and np.isnan(expected))


def test_a_jump_just_over_a_floor_that_float32_rounds_up_is_found():
    # float32(0.1) is above 0.1: a jump of exactly that is over the floor (compared in
    # float64, as the thresholds are), though not over float32(0.1).
    settings = ArtifactDetectorSettings(k_noise=0.0, floor_uv=0.1)
    det = StimulusArtifactDetector(10_000.0, 4, settings=settings)
    x = np.zeros((3000, 4), np.float32)
    x[1500:1503] = np.float32(0.1)
    x[1503:] = 0.0
    assert [m.index for m in det.process(0, x)] == [1500]


@pytest.mark.parametrize(("n_channels", "invalid"), [(2, [0]), (4, [0, 1]), (8, [3])])
@pytest.mark.parametrize("after_ms", [-4.0, 6.0])
def test_a_stimulus_is_found_with_an_invalid_sample_beside_it(n_channels, invalid, after_ms):
    # A lost sample on some channels a few ms from the pulse (a noisy link) must not hide
    # the pulse: its other samples still jump with the others.
    rate = 10_000.0
    rng = np.random.default_rng(5)
    x = (rng.standard_normal((30_000, n_channels)) * 2).astype(np.float32)
    x[12_000:12_003] += np.float32(800.0)
    x[12_000 + round(after_ms * rate / 1000), invalid] = np.nan
    det = StimulusArtifactDetector(rate, n_channels)
    found = [m.index for a in range(0, len(x), 1000) for m in det.process(a, x[a : a + 1000])]
    assert found == [12_000]
