"""Sound output: a null output with a notice when there is no sound, and the mix itself."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import numpy as np
import pytest

import drivers.soundcard
from drivers.soundcard import NO_DEVICE_NOTICE, STOPPED_NOTICE, AudioOutput
from monitor.alarms import Priority
from monitor.emgaudio import EmgAudio, soft_clip
from monitor.tones import AlarmTones

RATE = 48000
ROOT = Path(__file__).resolve().parents[2]


def dc_emg(level_uv: float = 100.0) -> EmgAudio:
    emg = EmgAudio(10_000, 1, RATE, max_latency_s=2.0, prefill_s=0.0)
    emg.push(np.full((10_000, 1), level_uv, np.float32))
    emg.render(4800)  # past the resampler's start-up transient
    return emg


def assert_null(out: AudioOutput) -> None:
    assert out.start() is False
    assert out.available is False
    assert out.notice == NO_DEVICE_NOTICE
    assert "watch the screen" in out.notice
    assert out.error_detail
    out.stop()
    out.stop()
    assert out.available is False
    buf = np.zeros((256, 2), np.float32)
    out.fill(buf, 256)  # the mix still works without a device


def test_sounddevice_missing_gives_a_null_output(monkeypatch):
    monkeypatch.setitem(sys.modules, "sounddevice", None)  # import raises ImportError
    assert_null(AudioOutput(dc_emg()))


def test_portaudio_library_missing_gives_a_null_output(monkeypatch):
    def no_library():
        raise OSError("PortAudio library not found")

    monkeypatch.setattr(drivers.soundcard, "_import_sounddevice", no_library)
    out = AudioOutput()
    assert_null(out)
    assert "PortAudio library not found" in out.error_detail


class PortAudioError(Exception):
    pass


def stub_sounddevice(fail: bool) -> tuple[types.ModuleType, list[dict]]:
    calls: list[dict] = []

    class Stream:
        def __init__(self, **kwargs):
            calls.append(kwargs)
            if fail:
                raise PortAudioError("Error querying device -1")
            self.kwargs = kwargs
            self.active = False

        def start(self):
            self.active = True

        def stop(self):
            self.active = False
            self.kwargs["finished_callback"]()

        def close(self):
            pass

    mod = types.ModuleType("sounddevice")
    mod.PortAudioError = PortAudioError
    mod.OutputStream = Stream
    return mod, calls


def test_no_device_gives_a_null_output(monkeypatch):
    mod, calls = stub_sounddevice(fail=True)
    monkeypatch.setitem(sys.modules, "sounddevice", mod)
    out = AudioOutput(channels=2)
    assert_null(out)
    assert [c["channels"] for c in calls] == [2, 1]  # mono tried too
    assert "Error querying device" in out.error_detail


def test_stream_callback_plays_the_mix(monkeypatch):
    mod, calls = stub_sounddevice(fail=False)
    monkeypatch.setitem(sys.modules, "sounddevice", mod)
    out = AudioOutput(dc_emg())
    assert out.start() is True
    assert out.available and out.notice == ""
    kw = calls[0]
    assert kw["samplerate"] == RATE and kw["dtype"] == "float32"
    buf = np.zeros((480, 2), np.float32)
    kw["callback"](buf, 480, None, types.SimpleNamespace(output_underflow=True))
    np.testing.assert_allclose(buf, 0.2, atol=1e-4)  # 100 µV of 500 µV full scale
    assert out.device_underflows == 1
    assert out.underruns == 1
    out.stop()
    assert out.available is False
    assert out.notice == ""  # a deliberate stop is not a failure


def test_stream_that_dies_is_reported(monkeypatch):
    mod, calls = stub_sounddevice(fail=False)
    monkeypatch.setitem(sys.modules, "sounddevice", mod)
    out = AudioOutput()
    out.start()
    calls[0]["finished_callback"]()  # e.g. the USB headset was unplugged
    assert out.available is False
    assert out.notice == STOPPED_NOTICE


def test_callback_error_gives_silence_and_a_notice(monkeypatch):
    out = AudioOutput()

    def broken(n):
        raise RuntimeError("boom")

    monkeypatch.setattr(out.tones, "render", broken)
    buf = np.ones((64, 2), np.float32)
    out._callback(buf, 64, None, None)  # must not raise: that would stop the stream
    assert not np.any(buf)
    assert "watch the screen" in out.notice


def test_fill_mixes_emg_and_alarm_with_separate_volumes():
    emg = dc_emg(100.0)
    out = AudioOutput(emg, AlarmTones(RATE))
    out.emg_volume = 0.5
    out.alarm_volume = 0.6
    out.set_alarm_priority(Priority.HIGH)
    ref = AlarmTones(RATE)
    ref.set_priority(Priority.HIGH)
    frames = 4800
    buf = np.zeros((frames, 2), np.float32)
    out.fill(buf, frames)
    want = soft_clip(ref.render(frames) * 0.6 + 0.2 * 0.5)
    # The EMG volume ramps from 1 to 0.5 over the first 5 ms.
    np.testing.assert_allclose(buf[480:, 0], want[480:], atol=1e-5)
    np.testing.assert_array_equal(buf[:, 0], buf[:, 1])
    assert np.max(np.abs(buf)) <= 1.0


def test_emg_mute_never_mutes_the_alarm():
    emg = dc_emg(100.0)
    out = AudioOutput(emg)
    out.set_alarm_priority(Priority.MEDIUM)
    ref = AlarmTones(RATE)
    ref.set_priority(Priority.MEDIUM)
    emg.set_muted(True)
    frames = 9600
    buf = np.zeros(frames, np.float32)
    out.fill(buf, frames)
    want = soft_clip(ref.render(frames))
    np.testing.assert_allclose(buf[480:], want[480:], atol=1e-6)
    assert np.max(np.abs(buf)) > 0.5


def test_alarm_volume_has_a_floor():
    out = AudioOutput(min_alarm_volume=0.2)
    out.alarm_volume = 0.0
    assert out.alarm_volume == 0.2
    out.alarm_volume = 3.0
    assert out.alarm_volume == 1.0


def test_rates_must_match():
    with pytest.raises(ValueError, match="44100"):
        AudioOutput(EmgAudio(10_000, 1, 44100), rate=RATE)


def test_module_needs_no_qt_and_no_sounddevice_until_started():
    code = (
        "import sys, drivers.soundcard\n"
        "o = drivers.soundcard.AudioOutput()\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'sounddevice')]\n"
        "print(','.join(bad))\n"
    )
    res = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert res.stdout.strip() == ""


def test_real_stream_on_the_alsa_null_device(tmp_path):
    """With PortAudio installed, the callback path runs on ALSA's null device (no clock)."""
    try:
        import sounddevice  # noqa: F401
    except (ImportError, OSError) as exc:
        pytest.skip(f"sounddevice is not usable here: {exc}")
    (tmp_path / ".asoundrc").write_text("pcm.!default { type null }\n")
    code = textwrap.dedent(
        """
        import time
        import numpy as np
        from monitor.alarms import Priority
        from monitor.emgaudio import EmgAudio
        from drivers.soundcard import AudioOutput

        emg = EmgAudio(10_000, 1)
        out = AudioOutput(emg)
        calls = []
        fill = out.fill
        out.fill = lambda buf, n: (calls.append(n), fill(buf, n))
        out.set_alarm_priority(Priority.HIGH)
        ok = out.start()
        deadline = time.monotonic() + 3.0
        while ok and not calls and time.monotonic() < deadline:
            emg.push(np.zeros((100, 1), np.float32))
            time.sleep(0.01)
        out.stop()
        print(ok, len(calls) > 0, repr(out.notice))
        """
    )
    env = {**os.environ, "HOME": str(tmp_path)}
    res = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=60,
    )
    assert res.returncode == 0, res.stderr
    assert res.stdout.split()[:2] == ["True", "True"], res.stdout + res.stderr


def test_the_stream_asks_for_short_callbacks_and_a_refusal_stays_a_clear_message(monkeypatch):
    """Short callbacks let the EMG FIFO run shallow; a device that cannot open them is
    still the null output with its sentence (never an exception, never silent)."""
    mod, calls = stub_sounddevice(fail=True)
    monkeypatch.setitem(sys.modules, "sounddevice", mod)
    out = AudioOutput(EmgAudio(10_000, 1))
    assert_null(out)
    assert {c["blocksize"] for c in calls} == {256}  # 5.3 ms at 48 kHz
    assert {c["latency"] for c in calls} == {"low"}
