"""Alarm tones: measured from the samples against docs/clinical.md §6 (IEC 60601-1-8)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from monitor.alarms import Priority
from monitor.tones import BURSTS, AlarmTones, alarm_burst

RATE = 48000


def envelope(x: np.ndarray, rate: float, f0: float) -> np.ndarray:
    """Amplitude envelope: RMS over one period of ``f0`` (centred), scaled to peak 1."""
    n = max(1, round(rate / f0))
    c = np.concatenate(([0.0], np.cumsum(np.asarray(x, np.float64) ** 2)))
    ms = (c[n:] - c[:-n]) / n
    env = np.zeros(len(x))
    env[n // 2 : n // 2 + len(ms)] = np.sqrt(np.maximum(ms, 0.0))
    return env / env.max() if env.max() > 0 else env


def pulses(env: np.ndarray, level: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Sample indices where the envelope rises through and falls through ``level``."""
    above = np.concatenate(([False], env >= level, [False]))
    d = np.diff(above.astype(np.int8))
    return np.flatnonzero(d == 1), np.flatnonzero(d == -1)


def fundamental(x: np.ndarray, rate: float) -> float:
    """Frequency of the lowest spectral peak within 20 dB of the strongest one."""
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x)), 1 << 18))
    freqs = np.fft.rfftfreq(1 << 18, 1 / rate)
    strong = spec > spec.max() * 0.1
    is_peak = (spec[1:-1] > spec[:-2]) & (spec[1:-1] >= spec[2:]) & strong[1:-1]
    return float(freqs[1 + np.flatnonzero(is_peak)[0]])


def level_db(x: np.ndarray, rate: float, f: float) -> float:
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x)), 1 << 18))
    freqs = np.fft.rfftfreq(1 << 18, 1 / rate)
    near = np.abs(freqs - f) < 5.0
    return 20 * np.log10(spec[near].max())


def first_pulse_plateau(p: Priority) -> tuple[np.ndarray, float]:
    x = alarm_burst(p, RATE)
    f0 = fundamental(x[: round(0.05 * RATE)], RATE)  # rough f0 for the envelope window
    env = envelope(x, RATE, f0)
    rises, falls = pulses(env, 0.9)
    return x[rises[0] : falls[0]], f0


EXPECTED_PULSES = {Priority.HIGH: 10, Priority.MEDIUM: 3, Priority.LOW: 1}


@pytest.mark.parametrize("priority", list(Priority))
def test_pulse_count_duration_and_spacing(priority):
    x = alarm_burst(priority, RATE)
    assert x.dtype == np.float32
    assert np.max(np.abs(x)) <= 1.0
    f0 = fundamental(x[: round(0.05 * RATE)], RATE)
    rises, falls = pulses(envelope(x, RATE, f0))
    assert len(rises) == EXPECTED_PULSES[priority]
    durations = (falls - rises) / RATE
    lo, hi = (0.075, 0.200) if priority is Priority.HIGH else (0.125, 0.250)
    assert np.all((durations >= lo) & (durations <= hi)), durations
    spacing = (rises[1:] - falls[:-1]) / RATE
    if priority is Priority.HIGH:
        spacing = np.delete(spacing, 4)  # the pause between the two groups of five
    lo, hi = (0.050, 0.125) if priority is Priority.HIGH else (0.125, 0.250)
    assert np.all((spacing >= lo) & (spacing <= hi)), spacing


def test_high_priority_is_five_pause_five():
    x = alarm_burst(Priority.HIGH, RATE)
    rises, falls = pulses(envelope(x, RATE, 660.0))
    gaps = (rises[1:] - falls[:-1]) / RATE
    assert len(gaps) == 9
    assert int(np.argmax(gaps)) == 4
    others = np.delete(gaps, 4)
    assert gaps[4] > 3 * others.max()
    assert others.max() - others.min() < 0.005  # even spacing inside each group


@pytest.mark.parametrize("priority", list(Priority))
def test_fundamental_and_harmonics(priority):
    plateau, _ = first_pulse_plateau(priority)
    f0 = fundamental(plateau, RATE)
    assert 150.0 <= f0 <= 1000.0
    ref = level_db(plateau, RATE, f0)
    within = [
        k
        for k in range(2, 30)
        if 300.0 <= k * f0 <= 4000.0 and abs(level_db(plateau, RATE, k * f0) - ref) <= 15.0
    ]
    assert len(within) >= 4, within
    # ... and every harmonic in 300-4000 Hz is within ±15 dB, not just four of them.
    in_band = [k for k in range(2, 30) if 300.0 <= k * f0 <= 4000.0]
    assert within == in_band


def test_priorities_have_distinct_pitches():
    f0s = sorted(first_pulse_plateau(p)[1] for p in Priority)
    assert all(b / a > 1.1 for a, b in itertools.pairwise(f0s)), f0s


@pytest.mark.parametrize("priority", list(Priority))
def test_rise_and_fall_are_10_to_20_percent_of_the_pulse(priority):
    x = alarm_burst(priority, RATE)
    f0 = fundamental(x[: round(0.05 * RATE)], RATE)
    env = envelope(x, RATE, f0)
    r10, f10 = pulses(env, 0.1)
    r50, f50 = pulses(env, 0.5)
    r90, f90 = pulses(env, 0.9)
    td = (f50[0] - r50[0]) / RATE
    rise = (r90[0] - r10[0]) / RATE
    fall = (f10[0] - f90[0]) / RATE
    assert 0.10 <= rise / td <= 0.20, (rise, td)
    assert 0.10 <= fall / td <= 0.20, (fall, td)


def test_bursts_start_and_end_silent():
    for p in Priority:
        x = alarm_burst(p, RATE)
        assert abs(x[0]) < 1e-3
        assert abs(x[-1]) < 1e-3


def render_span(tones: AlarmTones, seconds: float, chunk: int = 333) -> np.ndarray:
    n = round(seconds * tones.rate)
    parts, done = [], 0
    while done < n:
        k = min(chunk, n - done)
        parts.append(tones.render(k))
        done += k
    return np.concatenate(parts)


def burst_starts(x: np.ndarray, rate: float, f0: float) -> np.ndarray:
    rises, _ = pulses(envelope(x, rate, f0))
    if not len(rises):
        return rises
    new = np.concatenate(([True], np.diff(rises) > 1.5 * rate))  # > 1.5 s after the last
    return rises[new]


@pytest.mark.parametrize(
    ("priority", "seconds", "bounds"),
    [
        (Priority.HIGH, 21.0, (2.5, 15.0)),
        (Priority.MEDIUM, 31.0, (2.5, 30.0)),
        (Priority.LOW, 41.0, (15.0, 1e9)),
    ],
)
def test_interburst_interval_over_a_long_span(priority, seconds, bounds):
    rate = 16000  # enough for harmonics to 4 kHz; keeps the long span quick
    tones = AlarmTones(rate)
    tones.set_priority(priority)
    x = render_span(tones, seconds)
    f0 = BURSTS[priority].f0
    starts = burst_starts(x, rate, f0) / rate
    period = BURSTS[priority].period_s
    assert len(starts) == int(seconds // period) + 1
    assert np.allclose(np.diff(starts), period, atol=2e-3)
    # Silence between bursts (end of the last pulse to the next first pulse) in range too.
    rises, falls = pulses(envelope(x, rate, f0))
    silences = (rises[1:] - falls[:-1]) / rate
    silences = silences[silences > 1.5]
    assert len(silences) == len(starts) - 1
    assert np.all((silences >= bounds[0]) & (silences <= bounds[1])), silences
    assert starts[0] < 0.05  # the first burst starts at once


def test_low_priority_can_sound_once():
    tones = AlarmTones(16000, periods={Priority.LOW: None})
    tones.set_priority(Priority.LOW)
    x = render_span(tones, 45.0)
    assert len(burst_starts(x, 16000, 440.0)) == 1
    assert not np.any(x[16000:])


def test_higher_priority_is_heard_within_half_a_second():
    tones = AlarmTones(RATE)
    tones.set_priority(Priority.LOW)
    low = tones.render(round(0.1 * RATE))  # in the middle of the low-priority pulse
    assert np.max(np.abs(low[-100:])) > 0.1
    tones.set_priority(Priority.HIGH)
    n = round(0.5 * RATE)
    out = tones.render(n)
    high = alarm_burst(Priority.HIGH, RATE)
    fade = round(0.005 * RATE)
    # After a 5 ms fade-out of the low tone, exactly the high-priority burst from its start.
    np.testing.assert_array_equal(out[fade:], high[fade:n])
    rises, _ = pulses(envelope(out, RATE, 660.0))
    assert rises[0] / RATE < 0.5
    tail = out[:fade] - high[:fade]
    assert np.max(np.abs(np.diff(np.concatenate((low[-1:], out[: fade + 1]))))) < 0.2
    assert abs(tail[-1]) < 0.01


def test_lower_priority_replaces_the_burst_at_once():
    tones = AlarmTones(RATE)
    tones.set_priority(Priority.HIGH)
    tones.render(round(0.3 * RATE))
    tones.set_priority(Priority.MEDIUM)
    out = tones.render(RATE)
    fade = round(0.005 * RATE)
    medium = alarm_burst(Priority.MEDIUM, RATE)
    np.testing.assert_array_equal(out[fade : len(medium)], medium[fade:])
    assert not np.any(out[len(medium) :])


def test_setting_the_same_priority_again_changes_nothing():
    a, b = AlarmTones(RATE), AlarmTones(RATE)
    a.set_priority(Priority.HIGH)
    b.set_priority(Priority.HIGH)
    xa = np.concatenate([a.render(4800) for _ in range(30)])
    parts = []
    for _ in range(30):
        b.set_priority(Priority.HIGH)
        parts.append(b.render(4800))
    np.testing.assert_array_equal(xa, np.concatenate(parts))


def test_none_is_silence():
    tones = AlarmTones(RATE)
    assert not np.any(tones.render(RATE))
    tones.set_priority(Priority.HIGH)
    before = tones.render(round(0.05 * RATE))  # inside the first pulse
    assert np.max(np.abs(before)) > 0.3
    tones.set_priority(None)
    out = tones.render(RATE)
    fade = round(0.005 * RATE)
    assert not np.any(out[fade:])
    assert np.max(np.abs(np.diff(np.concatenate((before[-1:], out[:fade]))))) < 0.2
    assert tones.priority is None


def test_render_is_independent_of_chunk_size():
    a, b = AlarmTones(RATE), AlarmTones(RATE)
    a.set_priority(Priority.MEDIUM)
    b.set_priority(Priority.MEDIUM)
    n = round(11 * RATE)
    xa = a.render(n)
    xb = render_span(b, 11.0, chunk=997)
    np.testing.assert_array_equal(xa, xb)


def test_period_shorter_than_the_burst_is_refused():
    with pytest.raises(ValueError, match="shorter"):
        AlarmTones(RATE, periods={Priority.HIGH: 1.0})
