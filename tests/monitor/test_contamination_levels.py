"""The contamination screen's raw levels are the plain means of their stretches, bit for
bit, whatever the number of channels (the movement check compares them with a limit:
a faster sum must not move them, and one channel's column is summed pairwise by numpy)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

# The screen through the evoked package (its module imports the package's settings).
from monitor.evoked import EvokedSettings, analyzer

ContaminationScreen = analyzer.ContaminationScreen


@settings(max_examples=150, deadline=None)
@given(
    channels=st.integers(1, 8),
    level=st.integers(5, 120),
    block=st.integers(5, 120),
    blank=st.integers(1, 80),
    n=st.integers(500, 2500),
    seed=st.integers(0, 2**16),
)
def test_levels_and_block_means_are_the_plain_means(channels, level, block, blank, n, seed):
    rng = np.random.default_rng(seed)
    screen = ContaminationScreen(20_000.0, channels, EvokedSettings())
    screen._level, screen._block, screen._blank = level, block, blank
    clean = rng.standard_normal((n, channels)) * rng.uniform(1, 1000) + rng.uniform(-500, 500)
    zero = int(rng.integers(level, n // 2))
    before, start, end = screen._levels(clean, zero)
    assert np.array_equal(before, clean[zero - level : zero].mean(axis=0))
    assert np.array_equal(start, clean[:level].mean(axis=0))
    assert np.array_equal(end, clean[-level:].mean(axis=0))
    after = clean[zero + blank :]
    k, pre_k = len(after) // block, zero // block
    means = np.concatenate(
        [
            clean[: pre_k * block].reshape(pre_k, block, channels).mean(axis=1),
            after[: k * block].reshape(k, block, channels).mean(axis=1),
        ]
    )
    m = screen.s.movement_uv
    swing = np.nanmax(np.abs(means - before), axis=0)
    step = np.fmax(np.abs(end - before), np.abs(start - before))
    moved = (step > m) | (swing > 2.0 * m)
    assert np.array_equal(screen._moved(clean, zero, before, start, end), moved)
