"""EMG audio: pitch, block-size invariance, bounded latency, underruns, mute, channels."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from monitor.emgaudio import CLIP_KNEE, EmgAudio, Resampler, soft_clip

OUT = 48000


def sine(f: float, rate: float, seconds: float, amp_uv: float, channels: int = 1) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    return np.repeat((amp_uv * np.sin(2 * np.pi * f * t))[:, None], channels, axis=1).astype(
        np.float32
    )


def push_blocks(audio: EmgAudio, x: np.ndarray, block: int) -> None:
    for i in range(0, len(x), block):
        audio.push(x[i : i + block])


def render_all(audio: EmgAudio) -> np.ndarray:
    return audio.render(round(audio.buffered_s * audio.rate_out))


def tone_amp(y: np.ndarray, f: float, rate: float = OUT) -> float:
    """Amplitude of the ``f`` component over the longest whole number of 10 ms spans."""
    n = len(y) // round(0.01 * rate) * round(0.01 * rate)
    t = np.arange(n) / rate
    return float(2 * np.abs(np.mean(y[:n] * np.exp(-2j * np.pi * f * t))))


def spectrum(y: np.ndarray, rate: float) -> tuple[np.ndarray, np.ndarray]:
    mag = np.abs(np.fft.rfft(y * np.hanning(len(y)))) / (np.sum(np.hanning(len(y))) / 2)
    return np.fft.rfftfreq(len(y), 1 / rate), mag


def test_300_hz_at_10_khz_comes_out_at_300_hz_at_48_khz():
    audio = EmgAudio(10_000, 1, OUT, max_latency_s=1.0)
    push_blocks(audio, sine(300.0, 10_000, 0.5, 100.0), 100)
    y = render_all(audio)
    assert len(y) == pytest.approx(0.5 * OUT, abs=OUT * 0.002)
    freqs, mag = spectrum(y[2000:], OUT)
    assert freqs[np.argmax(mag)] == pytest.approx(300.0, abs=3.0)
    assert tone_amp(y[2000:], 300.0) == pytest.approx(100.0 / 500.0, rel=0.01)  # 500 µV: 1.0
    # No images of the 10 kHz input rate (9.7, 10.3, 19.7 kHz ...): at least 60 dB down.
    assert mag[freqs > 5000].max() < mag.max() * 1e-3


@settings(max_examples=40, deadline=None)
@given(
    sizes=st.lists(st.integers(min_value=1, max_value=700), min_size=1, max_size=30),
    rate_in=st.sampled_from([1000, 2048, 7777, 10_000, 16_000, 20_000, 9999.5]),
    seed=st.integers(min_value=0, max_value=2**16),
)
def test_output_does_not_depend_on_block_size(sizes, rate_in, seed):
    n = round(0.1 * rate_in)
    x = (np.random.default_rng(seed).standard_normal((n, 2)) * 150.0).astype(np.float32)
    whole = EmgAudio(rate_in, 2, OUT, max_latency_s=1.0, prefill_s=0.0)
    whole.push(x)
    ref = render_all(whole)
    cut = EmgAudio(rate_in, 2, OUT, max_latency_s=1.0, prefill_s=0.0)
    pos = 0
    for size in sizes:
        if pos >= n:
            break
        cut.push(x[pos : pos + size])
        pos += size
    if pos < n:
        cut.push(x[pos:])
    got = render_all(cut)
    assert len(got) == len(ref)
    assert len(ref) > 0.08 * OUT
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-5)


def test_resampler_has_no_click_at_block_boundaries():
    """A sine cut into odd blocks stays smooth: no sample step above the sine's own."""
    r = Resampler(10_000, OUT)
    x = np.sin(2 * np.pi * 440 * np.arange(5000) / 10_000)
    y = np.concatenate([r.process(x[i : i + 37]) for i in range(0, 5000, 37)])
    steady = y[200:]
    assert np.max(np.abs(np.diff(steady))) <= 2 * np.pi * 440 / OUT * 1.01


def test_latency_is_bounded_when_nobody_renders():
    audio = EmgAudio(10_000, 1, OUT, max_latency_s=0.15)
    x = sine(300.0, 10_000, 2.0, 200.0)
    push_blocks(audio, x, 100)
    assert audio.buffered_s <= 0.15 + 1 / OUT
    assert audio.buffered_s >= 0.15 - 0.002
    assert audio.latency_s < 0.16
    assert audio.dropped_samples > 1.8 * OUT
    # What is left is the newest audio.
    ref = EmgAudio(10_000, 1, OUT, max_latency_s=3.0)
    push_blocks(ref, x, 100)
    want = render_all(ref)
    got = render_all(audio)
    np.testing.assert_array_equal(got, want[-len(got) :])


def test_underrun_gives_zeros_and_is_counted():
    audio = EmgAudio(10_000, 1, OUT)
    assert not np.any(audio.render(960))
    assert audio.underruns == 0  # nothing pushed yet: not an underrun
    push_blocks(audio, sine(300.0, 10_000, 0.1, 200.0), 100)
    have = round(audio.buffered_s * OUT)
    y = audio.render(have + 960)
    assert np.count_nonzero(y[:have]) > 0.9 * have
    assert not np.any(y[have:])
    assert audio.underruns == 1
    assert not np.any(audio.render(960))
    assert audio.underruns == 1  # waiting for audio again is not a new underrun


def test_playback_waits_for_the_prefill():
    audio = EmgAudio(10_000, 1, OUT, prefill_s=0.05)
    push_blocks(audio, sine(300.0, 10_000, 0.02, 200.0), 100)
    assert not np.any(audio.render(480))
    push_blocks(audio, sine(300.0, 10_000, 0.04, 200.0), 100)
    assert np.any(audio.render(480))


def dc_audio(level_uv: float = 250.0) -> EmgAudio:
    audio = EmgAudio(10_000, 1, OUT, max_latency_s=2.0, prefill_s=0.0)
    audio.push(np.full((10_000, 1), level_uv, np.float32))
    audio.render(4800)  # past the start-up transient
    return audio


def test_mute_fades_to_zero_in_10_ms_without_a_click():
    audio = dc_audio()
    before = audio.render(480)
    np.testing.assert_allclose(before, 0.5, atol=1e-4)
    audio.set_muted(True)
    y = audio.render(4800)
    fade = round(0.010 * OUT)
    assert not np.any(y[fade:])
    steps = np.abs(np.diff(np.concatenate((before[-1:], y))))
    assert steps.max() <= 0.5 / fade * 1.01  # 0.001 per sample: no click
    audio.set_muted(False)
    z = audio.render(4800)
    assert np.abs(np.diff(np.concatenate((y[-1:], z)))).max() <= 0.5 / fade * 1.01
    np.testing.assert_allclose(z[fade:], 0.5, atol=1e-4)
    assert audio.muted is False


def test_mute_keeps_draining_the_fifo():
    audio = dc_audio()
    audio.set_muted(True)
    left = audio.buffered_s
    audio.render(4800)
    assert audio.buffered_s == pytest.approx(left - 0.1, abs=1e-6)


def test_volume_scales_with_a_ramp():
    audio = dc_audio()
    audio.volume = 0.5
    y = audio.render(4800)
    np.testing.assert_allclose(y[480:], 0.25, atol=1e-4)
    assert np.abs(np.diff(y)).max() < 0.002
    audio.volume = 7.0
    assert audio.volume == 1.0


def test_channel_selection_and_mixing():
    rate = 10_000
    x = np.concatenate((sine(300.0, rate, 0.5, 100.0), sine(700.0, rate, 0.5, 100.0)), axis=1)

    def listen(channels):
        audio = EmgAudio(rate, 2, OUT, max_latency_s=1.0, channels=channels)
        push_blocks(audio, x, 250)
        y = render_all(audio)[2000:]
        return tone_amp(y, 300.0), tone_amp(y, 700.0), y

    a300, a700, _ = listen([1])
    assert a700 == pytest.approx(0.2, rel=0.02)
    assert a300 < 1e-4
    a300, a700, _ = listen([0])
    assert a300 == pytest.approx(0.2, rel=0.02)
    assert a700 < 1e-4
    a300, a700, _ = listen([0, 1])  # sum / sqrt(2)
    assert a300 == pytest.approx(0.2 / np.sqrt(2), rel=0.02)
    assert a700 == pytest.approx(0.2 / np.sqrt(2), rel=0.02)
    _, _, y = listen([])
    assert not np.any(y)
    with pytest.raises(ValueError, match="No channel 6"):
        EmgAudio(rate, 2).set_channels([5])
    with pytest.raises(ValueError, match="2 channel"):
        EmgAudio(rate, 2).push(np.zeros((10, 3), np.float32))


def test_full_scale_and_soft_clipping():
    audio = EmgAudio(10_000, 1, OUT, max_latency_s=1.0, full_scale_uv=100.0)
    push_blocks(audio, sine(200.0, 10_000, 0.3, 5000.0), 100)  # 50x full scale
    y = render_all(audio)
    assert np.max(np.abs(y)) <= 1.0
    assert np.max(np.abs(y)) > 0.99
    assert np.mean(np.abs(y) > 0.9) > 0.8  # a large signal saturates smoothly, near ±1
    assert audio.full_scale_uv == 100.0
    with pytest.raises(ValueError, match="above 0"):
        audio.full_scale_uv = 0.0


def test_soft_clip_is_linear_then_smooth():
    x = np.linspace(-10, 10, 200_001)
    y = soft_clip(x)
    linear = np.abs(x) <= CLIP_KNEE
    np.testing.assert_array_equal(y[linear], x[linear])
    assert np.all(np.abs(y) <= 1.0)
    assert np.all(np.abs(y[np.abs(x) < 3]) < 1.0)
    assert np.all(np.diff(y) >= 0)  # monotonic
    assert np.all(np.diff(y[np.abs(x) < 3]) > 0)
    slope = np.diff(y) / np.diff(x)
    assert np.max(np.abs(np.diff(slope))) < 1e-3  # no kink at the knee


def test_non_finite_samples_are_silent():
    audio = EmgAudio(10_000, 1, OUT, max_latency_s=1.0, prefill_s=0.0)
    audio.push(np.full((1000, 1), np.nan, np.float32))
    assert np.all(np.isfinite(render_all(audio)))


def test_session_subscriber_form():
    audio = EmgAudio(10_000, 1, OUT, prefill_s=0.0)
    audio(None, np.ones((500, 1), np.float32))
    assert audio.buffered_s > 0
    audio.reset()
    assert audio.buffered_s == 0


# -- a short FIFO that follows the sound card's clock -----------------------------------------


def run_stream(
    rate_in: float,
    seconds: float,
    block_s: float,
    frames: int,
    drift_ppm: float,
    jitter_s: float,
    seed: int,
    **kwargs,
) -> tuple[EmgAudio, list[float], list[float]]:
    """Blocks and callbacks on simulated clocks, in time order (no thread, no sleeping).

    Block ``k`` arrives when its last sample is due plus a random delay below
    ``jitter_s``; callbacks come every ``frames`` samples of a sound-card clock running
    ``drift_ppm`` fast. Returns the EMG audio, the FIFO level after each callback (s,
    after the first second) and each click's delay from entering to leaving (s, after
    the first two seconds)."""
    rng = np.random.default_rng(seed)
    audio = EmgAudio(rate_in, 1, OUT, **kwargs)
    n = round(block_s * rate_in)
    period = frames / (OUT * (1 + drift_ppm * 1e-6))
    click_every = round(0.25 * rate_in)
    x = np.zeros((round(seconds * rate_in) + n, 1), np.float32)
    x[click_every::click_every] = 400.0
    arrivals = [(k + 1) * n / rate_in + rng.uniform(0, jitter_s) for k in range(len(x) // n)]
    arrivals = list(np.maximum.accumulate(arrivals))  # a later block never overtakes
    levels, delays = [], []
    k, t_cb = 0, period
    while t_cb < seconds:
        while k < len(arrivals) and arrivals[k] <= t_cb:
            audio.push(x[k * n : (k + 1) * n])
            k += 1
        y = audio.render(frames)
        if t_cb > 1.0:
            levels.append(audio.buffered_s)
        for j in np.flatnonzero(np.abs(y) > 0.3):
            if j == 0 or abs(y[j - 1]) <= abs(y[j]) >= abs(y[min(j + 1, frames - 1)]):
                leave = t_cb + j / (OUT * (1 + drift_ppm * 1e-6))
                entered = (np.floor(leave * rate_in / click_every) * click_every + 1) / rate_in
                if leave > 2.0:  # the steady state: past the start's settling
                    delays.append(leave - entered)
        t_cb += period
    return audio, levels, delays


@settings(max_examples=10, deadline=None)
@given(
    rate_in=st.sampled_from([10_000, 20_000]),
    block_ms=st.sampled_from([1, 2, 5, 10]),
    frames=st.sampled_from([128, 256]),
    drift_ppm=st.floats(min_value=-300, max_value=300),
    seed=st.integers(min_value=0, max_value=2**16),
)
# Blocks shorter than a callback: the start must hold a callback's worth (ran dry once).
@example(rate_in=10_000, block_ms=1, frames=256, drift_ppm=0.0, seed=1370)
def test_steady_state_with_jittered_blocks_never_underruns_and_stays_short(
    rate_in, block_ms, frames, drift_ppm, seed
):
    block_s = block_ms / 1000
    audio, levels, delays = run_stream(
        rate_in, 8.0, block_s, frames, drift_ppm, jitter_s=0.004, seed=seed
    )
    assert audio.underruns == 0
    assert audio.dropped_samples == 0
    assert audio.target_s == pytest.approx(0.006)
    # The FIFO never holds more than the target, a block, a callback, the jitter and the
    # control's wander (a few ms).
    assert max(levels) <= 0.006 + block_s + frames / OUT + 0.004 + 0.004
    # The drift control follows the sound card: its trim matches the clocks' drift.
    assert audio.speed_trim == pytest.approx(-drift_ppm * 1e-6, abs=5e-4)
    # Entering the source to leaving the callback: one block + target + half a callback
    # + the jitter's mean + the resampler's delay, never more than 30 ms.
    assert len(delays) >= 20
    assert max(delays) <= 0.030
    assert min(delays) >= 0.006


def test_drift_alone_is_followed_for_minutes_without_a_glitch():
    audio, levels, _ = run_stream(10_000, 90.0, 0.01, 256, 500.0, jitter_s=0.0, seed=1)
    assert audio.underruns == 0 and audio.dropped_samples == 0
    # 500 ppm over 90 s is 45 ms: a fixed ratio would have run dry several times over.
    assert audio.speed_trim == pytest.approx(-500e-6, abs=3e-4)  # wanders with the phase
    assert np.mean(levels[-2000:]) == pytest.approx(0.006 + 0.005, abs=0.003)


def test_playback_starts_at_the_target_plus_what_one_block_or_callback_drains():
    audio = EmgAudio(10_000, 1, OUT)  # target 6 ms, 10 ms blocks: start at 6 + 10 ms
    audio.push(np.ones((100, 1), np.float32))
    assert not np.any(audio.render(256))  # 10 ms: waiting
    audio.push(np.ones((100, 1), np.float32))
    assert audio.buffered_s >= 0.006 + 0.010
    assert np.any(audio.render(256))
    # Blocks shorter than a callback: a callback's worth beyond the target (6 + 5.3 ms).
    audio = EmgAudio(10_000, 1, OUT)
    queued = []
    while not np.any(audio.render(256)):
        queued.append(audio.buffered_s)
        audio.push(np.ones((10, 1), np.float32))  # 1 ms blocks
        assert len(queued) < 50
    assert max(queued) < 0.006 + 256 / OUT <= audio.buffered_s + 256 / OUT


def test_an_underrun_raises_the_target_which_relaxes_later():
    audio, _, _ = run_stream(10_000, 3.0, 0.01, 256, 0.0, jitter_s=0.0, seed=2)
    assert audio.underruns == 0
    audio.render(round(0.05 * OUT))  # a block 40 ms late: ran dry
    assert audio.underruns == 1
    assert audio.target_s == pytest.approx(0.010)
    audio.render(256)
    assert audio.underruns == 1  # waiting for audio again is not a new underrun
    # After RELAX_S of clean playing, the target steps back down.
    for _ in range(round(35 * OUT / 480)):
        audio.push(np.zeros((100, 1), np.float32))
        audio.render(240)
        audio.render(240)
    assert audio.underruns == 1
    assert audio.target_s == pytest.approx(0.006)


def test_the_target_grows_no_further_than_its_maximum():
    audio = EmgAudio(10_000, 1, OUT, max_target_s=0.02, prefill_s=0.0)
    for _ in range(10):
        audio.push(np.ones((400, 1), np.float32))
        audio.render(round(0.2 * OUT))
    assert audio.underruns == 10
    assert audio.target_s == pytest.approx(0.02)
    with pytest.raises(ValueError, match="audio target"):
        EmgAudio(10_000, 1, target_s=0.05, max_target_s=0.03)


def test_a_pile_up_after_a_stalled_callback_is_dropped_at_once():
    audio, _, _ = run_stream(10_000, 2.0, 0.01, 256, 0.0, jitter_s=0.0, seed=3, max_latency_s=0.5)
    for _ in range(20):  # the callback stalls for 200 ms, acquisition goes on
        audio.push(np.zeros((100, 1), np.float32))
    assert audio.buffered_s > 0.2
    audio.render(256)
    audio.push(np.zeros((100, 1), np.float32))
    assert audio.resyncs == 1
    assert audio.buffered_s < 0.006 + 0.010 + 0.001  # back to target + this block
    assert audio.underruns == 0


@settings(max_examples=30, deadline=None)
@given(
    sizes=st.lists(st.integers(min_value=1, max_value=400), min_size=1, max_size=20),
    speeds=st.tuples(st.floats(0.98, 1.02), st.floats(0.98, 1.02)),
    rate_in=st.sampled_from([10_000, 20_000, 7777]),
    seed=st.integers(min_value=0, max_value=2**16),
)
def test_trimmed_speed_output_does_not_depend_on_block_size(sizes, speeds, rate_in, seed):
    """The same speed changes after the same input give the same samples however cut."""
    n = round(0.05 * rate_in)
    x = np.random.default_rng(seed).standard_normal(2 * n)

    def run(cuts: list[int]) -> np.ndarray:
        r = Resampler(rate_in, OUT)
        out = []
        for half, speed in zip((x[:n], x[n:]), speeds, strict=True):
            r.set_speed(speed)
            pos = 0
            for size in [*cuts, len(half)]:
                out.append(r.process(half[pos : pos + size]))
                pos += size
                if pos >= len(half):
                    break
        return np.concatenate(out)

    ref = run([])
    got = run(sizes)
    assert len(got) == len(ref)
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-12)


def test_trimmed_speed_shifts_pitch_without_images():
    r = Resampler(10_000, OUT)
    r.set_speed(1.01)  # 1 % more input per output sample: 1 % higher pitch
    assert r.speed == pytest.approx(1.01, abs=1e-9)
    x = np.sin(2 * np.pi * 300.0 * np.arange(20_000) / 10_000)
    y = r.process(x)[2000:]
    assert len(y) + 2000 == pytest.approx((20_000 - 16) * OUT / 10_000 / 1.01, abs=2)
    freqs, mag = spectrum(y, OUT)
    assert freqs[np.argmax(mag)] == pytest.approx(303.0, abs=2.0)
    far = np.abs(freqs - 303.0) > 30
    assert mag[far].max() < mag.max() * 1e-3  # phases between the table's: > 60 dB clean
    r.set_speed(1.0)
    assert r.step == r.nominal_step
