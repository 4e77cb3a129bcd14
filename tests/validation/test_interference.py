"""Noise, hum, drift and artefact models: their levels are what they are said to be."""

from __future__ import annotations

import numpy as np
import pytest

from validation.interference import (
    HUM_HARMONICS,
    Background,
    add_step,
    add_stimulus_artefact,
    background_noise,
    band_rms,
    baseline_wander,
    cautery,
    clip,
    hum_rms,
    mains_hum,
)

RATE = 10_000.0


def _amplitude_at(x: np.ndarray, f: float) -> float:
    """Zero-to-peak amplitude of the component at ``f`` (an integer number of cycles)."""
    t = np.arange(len(x)) / RATE
    return float(2 * np.abs(np.mean(x * np.exp(-2j * np.pi * f * t))))


def test_band_rms_of_a_sine_in_and_out_of_the_band():
    t = np.arange(20_000) / RATE
    assert band_rms(10 * np.sin(2 * np.pi * 100 * t), RATE) == pytest.approx(10 / np.sqrt(2))
    assert band_rms(10 * np.sin(2 * np.pi * 5 * t), RATE) == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("rms", [2.0, 4.0])
def test_background_noise_has_exactly_the_stated_rms_in_20_hz_to_3_khz(rms):
    x = background_noise(100_000, RATE, rms, np.random.default_rng(1))
    assert band_rms(x, RATE) == pytest.approx(rms, rel=1e-9)


def test_background_noise_is_flicker_below_its_corner_and_white_above():
    x = background_noise(200_000, RATE, 3.0, np.random.default_rng(2), corner_hz=50.0)
    low = band_rms(x, RATE, (5.0, 15.0)) ** 2 / 10  # power per Hz near 10 Hz
    high = band_rms(x, RATE, (1000.0, 3000.0)) ** 2 / 2000
    assert low / high == pytest.approx(1 + 50 / 10, rel=0.25)


@pytest.mark.parametrize(("amplitude", "mains"), [(10.0, 50.0), (40.0, 60.0)])
def test_hum_fundamental_has_the_stated_amplitude_and_harmonics(amplitude, mains):
    n = 20_000  # 2 s: whole cycles of every harmonic
    x = mains_hum(n, RATE, amplitude, np.random.default_rng(3), mains, deviation_hz=0, am_depth=0)
    assert _amplitude_at(x, mains) == pytest.approx(amplitude, rel=1e-6)
    for k, rel in enumerate(HUM_HARMONICS[:5], start=1):
        assert _amplitude_at(x, k * mains) == pytest.approx(rel * amplitude, rel=1e-6, abs=1e-9)
    assert np.sqrt(np.mean(x**2)) == pytest.approx(hum_rms(amplitude), rel=1e-6)


def test_wandering_mains_keeps_its_amplitude_on_average():
    x = mains_hum(300_000, RATE, 20.0, np.random.default_rng(4))
    assert np.sqrt(np.mean(x**2)) == pytest.approx(hum_rms(20.0), rel=0.05)


def test_background_rms_includes_hum_and_leaves_drift_out():
    bg = Background(noise_uv=3.0, hum_uv=20.0, drift_uv=200.0)
    x = bg.render(200_000, RATE, 2, np.random.default_rng(5))
    for ch in range(2):
        assert band_rms(x[:, ch], RATE) == pytest.approx(bg.rms_uv(), rel=0.05)
    assert bg.rms_uv() == pytest.approx(np.hypot(3.0, hum_rms(20.0)))


def test_baseline_wander_is_slow_with_the_stated_rms():
    x = baseline_wander(600_000, RATE, 100.0, np.random.default_rng(6))
    assert np.sqrt(np.mean(x**2)) == pytest.approx(100.0)
    ends_joined = x - np.linspace(x[0], x[-1], len(x))  # no jump where the FFT wraps around
    assert band_rms(ends_joined, RATE) < 0.1  # µV: nothing next to a few µV of noise


def test_cautery_is_confined_to_its_episodes_on_every_channel_at_its_rms():
    x = cautery(50_000, RATE, 3, [(10_000, 30_000)], 800.0, np.random.default_rng(7))
    assert np.abs(x[:10_000]).max() == 0 and np.abs(x[30_000:]).max() == 0
    assert np.sqrt(np.mean(x[10_000:30_000] ** 2)) == pytest.approx(800.0, rel=1e-6)
    assert (np.sqrt(np.mean(x[10_000:30_000] ** 2, axis=0)) > 200).all()
    c = np.corrcoef(x[10_000:30_000].T)
    assert 0.3 < c[0, 1] < 0.95  # a common part and each channel's own


def test_stimulus_artefact_plateau_then_exponential():
    x = np.zeros(200)
    add_stimulus_artefact(x, RATE, 50, 1000.0, 0.2, 0.5)
    assert x[:50].max() == 0
    assert x[50] == pytest.approx(1000.0) and x[51] == pytest.approx(1000.0)
    # after the 2-sample plateau: e^-1 every tau (5 samples)
    assert x[51 + 5] / x[51] == pytest.approx(np.exp(-1), rel=1e-9)


def test_step_recovers_with_its_time_constant():
    x = np.zeros(5_000)
    add_step(x, RATE, 100, 2000.0, 30.0)
    assert x[99] == 0 and x[100] == 2000.0
    assert x[100 + 300] == pytest.approx(2000.0 * np.exp(-1))


def test_clip_sticks_to_the_rails():
    assert clip(np.array([-9e3, 0.0, 9e3]), 5000.0).tolist() == [-5000.0, 0.0, 5000.0]
