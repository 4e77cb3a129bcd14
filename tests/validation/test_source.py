"""The in-memory source serves the same samples and markers however it cuts them."""

from __future__ import annotations

import numpy as np
import pytest

from monitor.block import StimMarker
from monitor.source import EndOfStream, SourceError
from validation.evoked_signals import EvokedCase, generate_evoked
from validation.pipeline import run_monitor
from validation.source import ArraySource


def _drain(src: ArraySource) -> list:
    src.open()
    blocks = []
    with pytest.raises(EndOfStream):
        while True:
            blocks.append(src.read())
    src.close()
    return blocks


@pytest.fixture
def stream():
    rng = np.random.default_rng(0)
    data = rng.standard_normal((10_007, 3)).astype(np.float32)
    stims = [StimMarker(i, 10.0, 0.2, "zygomatic") for i in (0, 99, 100, 5000, 10_006)]
    return data, stims


@pytest.mark.parametrize("block", [1, 100, 333, (1, 50), (40, 400), 20_000])
def test_blocks_join_into_the_signal_with_each_marker_once_in_its_block(stream, block):
    data, stims = stream
    blocks = _drain(ArraySource(data, 10_000.0, ("a", "b", "c"), stims, block=block, seed=3))
    np.testing.assert_array_equal(np.concatenate([b.data for b in blocks]), data)
    assert [b.start for b in blocks[1:]] == [b.stop for b in blocks[:-1]]
    delivered = [m for b in blocks for m in b.stims]
    assert delivered == stims
    for b in blocks:
        assert all(b.start <= m.index < b.stop for m in b.stims)
        assert b.data.dtype == np.float32 and b.labels == ("a", "b", "c")
    if isinstance(block, tuple):
        sizes = [b.n_samples for b in blocks[:-1]]
        assert min(sizes) >= block[0] and max(sizes) <= block[1] and len(set(sizes)) > 1


def test_random_block_sizes_repeat_with_the_seed_and_on_reopening(stream):
    data, _ = stream
    src = ArraySource(data, 10_000.0, ("a", "b", "c"), block=(10, 500), seed=5)
    first = [b.n_samples for b in _drain(src)]
    again = [b.n_samples for b in _drain(src)]
    other = [
        b.n_samples
        for b in _drain(ArraySource(data, 1e4, ("a", "b", "c"), block=(10, 500), seed=6))
    ]
    assert first == again != other


def test_reading_a_closed_source_and_bad_shapes_are_refused(stream):
    data, _ = stream
    with pytest.raises(SourceError):
        ArraySource(data, 1e4, ("a", "b", "c")).read()
    with pytest.raises(ValueError):
        ArraySource(data, 1e4, ("a", "b"))
    with pytest.raises(ValueError):
        ArraySource(data, 1e4, ("a", "b", "c"), block=(10, 5))


def test_the_monitor_runs_on_it_and_analyses_every_stimulus():
    sig = generate_evoked(EvokedCase(n_sweeps=6, stim_hz=2.0), 1)
    run = run_monitor(ArraySource(sig.data, sig.rate, sig.labels, sig.markers, block=(40, 400)))
    assert run.seconds == pytest.approx(sig.duration_s, abs=1e-3)
    assert {r.stim_index for r in run.sweeps} == {m.index for m in sig.markers}
    assert len(run.sweeps) == 6 * len(sig.labels)
    assert len(run.traintime_s) == len(sig.labels)
