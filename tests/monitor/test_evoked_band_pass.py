"""The evoked sweep's band-pass and blanking give the plain SciPy / numpy values bit for bit."""

import numpy as np
import pytest
from scipy import signal

from monitor import filters
from monitor.evoked import analyzer


@pytest.mark.parametrize("direct", [True, False])
@pytest.mark.parametrize(("rate", "n_ch"), [(20000.0, 8), (10000.0, 4), (2000.0, 1)])
def test_band_pass_is_sosfilt(monkeypatch, direct, rate, n_ch):
    if not direct:
        monkeypatch.setattr(filters, "SOS_LOOP", None)
    sos = analyzer._band_sos((20.0, 3000.0), rate)
    zi = signal.sosfilt_zi(sos)
    rng = np.random.default_rng(int(rate) + n_ch)
    raw = rng.normal(0.0, 50.0, (2811, n_ch)) + rng.normal(0.0, 1000.0, n_ch)
    expected = signal.sosfilt(sos, raw, axis=0, zi=zi[:, :, None] * raw[0])[0]
    got = analyzer._band_pass(sos, zi, raw)
    assert got.shape == (n_ch, len(raw))
    assert got.flags.c_contiguous
    assert np.array_equal(got.T.view(np.int64), expected.view(np.int64))


@pytest.mark.parametrize(("at", "n"), [(100, 60), (1, 30), (0, 5), (190, 20), (198, 60)])
def test_blank_is_the_straight_line(at, n):
    x = np.random.default_rng(at).normal(size=(200, 3))
    expected = x.copy()
    a, b = max(at, 1), min(at + n, len(x) - 1)
    if b > a:
        t = (np.arange(a, b) - (a - 1)) / (b - (a - 1))
        expected[a:b] = expected[a - 1] + t[:, None] * (expected[b] - expected[a - 1])
    analyzer._blank(x, at, n)
    assert np.array_equal(x.view(np.int64), expected.view(np.int64))
