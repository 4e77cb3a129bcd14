"""Several channels measured together give each channel's own measure, bit for bit."""

import dataclasses

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.evoked.responses import measure_response, measure_responses
from monitor.evoked.settings import EvokedSettings

RATE = 20000.0
ZERO = 810


def _exact(m) -> tuple:
    """Every field with its type and its exact value."""
    return tuple(
        (f.name, type(getattr(m, f.name)).__name__, repr(getattr(m, f.name)))
        for f in dataclasses.fields(m)
    )


def _sweeps(seed: int, n_ch: int) -> tuple[np.ndarray, list[float]]:
    """Filtered-looking noise with a biphasic response of random size and latency on
    some channels (channels along rows)."""
    rng = np.random.default_rng(seed)
    n = ZERO + 1001
    noise = rng.uniform(2.0, 20.0, n_ch)
    yt = rng.normal(0.0, 1.0, (n_ch, n)) * noise[:, None]
    t = np.arange(n)
    for ch in range(n_ch):
        if rng.random() < 0.7:
            at = ZERO + rng.integers(40, 360)
            width = rng.uniform(10, 80)
            amp = rng.uniform(0.0, 40.0) * noise[ch]
            yt[ch] += amp * np.sin(2 * np.pi * (t - at) / width) * ((t >= at) & (t < at + width))
    return yt, [float(v) for v in noise * rng.uniform(0.5, 1.5, n_ch)]


@settings(max_examples=150, deadline=None)
@given(
    st.integers(0, 2**32 - 1),
    st.integers(1, 8),
    st.sampled_from([(6.0, 20.0), (3.0, 20.0), (5.0, 15.0), (3.0, 6.0), (1.0, 12.0), (-1.0, 8.0)]),
)
def test_measured_together_as_alone(seed, n_ch, window):
    yt, noises = _sweeps(seed, n_ch)
    s = EvokedSettings()
    chans = list(range(n_ch))[::-1] if seed % 2 else list(range(n_ch))
    together = measure_responses(yt, chans, ZERO, RATE, window, [noises[c] for c in chans], s)
    alone = [measure_response(yt[c], ZERO, RATE, window, noises[c], s) for c in chans]
    assert [_exact(m) for m in together] == [_exact(m) for m in alone]


def test_invalid_samples_measured_alone():
    yt, noises = _sweeps(3, 4)
    yt[2, ZERO + 200] = np.nan
    s = EvokedSettings()
    together = measure_responses(yt, [0, 1, 2, 3], ZERO, RATE, (6.0, 20.0), noises, s)
    alone = [measure_response(yt[c], ZERO, RATE, (6.0, 20.0), noises[c], s) for c in range(4)]
    assert [_exact(m) for m in together] == [_exact(m) for m in alone]
