"""Sound output: the EMG audio and the alarm tones mixed into one sound-card stream.

``sounddevice`` (PortAudio) is imported only when the stream is started. When it cannot
be imported (``OSError`` without Debian's ``libportaudio2``, ``ImportError`` without the
package) or no stream can be opened (``sounddevice.PortAudioError``: no device, rate or
channel count refused), the output becomes a *null output*: ``available`` is False and
``notice`` holds a sentence for the screen, because a silently mute alarm is not
acceptable (PLATFORM.md "Audio"). Nothing here raises at the user, and nothing needs Qt.
"""

from __future__ import annotations

import logging
import threading
from types import ModuleType
from typing import Any

import numpy as np

from monitor.alarms import Priority
from monitor.emgaudio import EmgAudio, soft_clip
from monitor.tones import AlarmTones

log = logging.getLogger(__name__)

NO_DEVICE_NOTICE = "No sound device: EMG audio and alarm tones are off — watch the screen."
STOPPED_NOTICE = "The sound device stopped: EMG audio and alarm tones are off — watch the screen."
ERROR_NOTICE = "Sound output failed: EMG audio and alarm tones may be off — watch the screen."


def _import_sounddevice() -> ModuleType:
    """Import sounddevice (raises ImportError or OSError when it cannot be used)."""
    import sounddevice

    return sounddevice


class AudioOutput:
    """Plays :class:`EmgAudio` and :class:`AlarmTones` through one output stream.

    The mix is ``emg * emg_volume + tones * alarm_volume``, soft-clipped to ±1, on every
    output channel. The EMG mute (``EmgAudio.set_muted``, used during electrocautery)
    acts on the EMG only: alarm tones are never muted by it. ``alarm_volume`` cannot go
    below ``min_alarm_volume``, so alarms cannot be turned inaudible from a volume knob.

    Thread safety: ``start`` and ``stop`` are called from one thread (the GUI thread);
    ``fill`` runs on the audio callback thread (or in tests, directly); ``emg_volume``,
    ``alarm_volume``, ``set_alarm_priority``, ``available``, ``notice``, ``underruns``
    and ``device_underflows`` may be used from any thread.

    Parameters
    ----------
    emg : EmgAudio, optional
        EMG audio source; its ``rate_out`` must equal ``rate``.
    tones : AlarmTones, optional
        Alarm tone source; its ``rate`` must equal ``rate``. None: one is made.
    rate : float
        Output sample rate in Hz.
    channels : int
        Output channels to open (the same signal on each); mono is tried if refused.
    device : int or str, optional
        PortAudio device; the system default when None.
    blocksize : int
        Frames per callback; 0 lets PortAudio choose. The default, 256 (5.3 ms at
        48 kHz), keeps each callback shorter than an acquisition block, so the EMG FIFO
        can run a few milliseconds deep (docs/audio.md, "Latency").
    latency : str or float
        PortAudio output latency ("low", "high" or seconds).
    min_alarm_volume : float
        Lowest alarm volume that can be set (0-1).
    """

    def __init__(
        self,
        emg: EmgAudio | None = None,
        tones: AlarmTones | None = None,
        rate: float = 48000,
        channels: int = 2,
        device: int | str | None = None,
        blocksize: int = 256,
        latency: str | float = "low",
        min_alarm_volume: float = 0.2,
    ) -> None:
        self.rate = float(rate)
        if emg is not None and emg.rate_out != self.rate:
            raise ValueError(f"EMG audio is at {emg.rate_out:g} Hz, the output at {rate:g} Hz.")
        self.tones = AlarmTones(self.rate) if tones is None else tones
        if self.tones.rate != self.rate:
            raise ValueError(
                f"Alarm tones are at {self.tones.rate:g} Hz, the output at {rate:g} Hz."
            )
        self.emg = emg
        self.channels = int(channels)
        self.device = device
        self.blocksize = int(blocksize)
        self.latency = latency
        self.min_alarm_volume = float(min_alarm_volume)
        self._lock = threading.Lock()
        self._emg_volume = 1.0 if emg is None else emg.volume
        self._alarm_volume = 1.0
        self._stream: Any = None
        self._stopping = False
        self._failed = False
        self._notice = ""
        self.error_detail = ""  # the technical reason behind ``notice``, for the log
        self._device_underflows = 0
        self._callback_errors = 0

    # -- volumes and alarm ---------------------------------------------------------------
    @property
    def emg_volume(self) -> float:
        """EMG loudness 0-1 (ramped over 10 ms by the EMG audio)."""
        return self.emg.volume if self.emg is not None else self._emg_volume

    @emg_volume.setter
    def emg_volume(self, value: float) -> None:
        value = min(1.0, max(0.0, float(value)))
        if self.emg is not None:
            self.emg.volume = value
        self._emg_volume = value

    @property
    def alarm_volume(self) -> float:
        """Alarm loudness, ``min_alarm_volume`` to 1."""
        with self._lock:
            return self._alarm_volume

    @alarm_volume.setter
    def alarm_volume(self, value: float) -> None:
        with self._lock:
            self._alarm_volume = min(1.0, max(self.min_alarm_volume, float(value)))

    def set_alarm_priority(self, priority: Priority | None) -> None:
        """Sound this alarm priority (``AlarmManager.sounding_priority()``), or none."""
        self.tones.set_priority(priority)

    # -- state -----------------------------------------------------------------------------
    @property
    def available(self) -> bool:
        """True while a stream is open and playing."""
        with self._lock:
            return self._stream is not None and not self._failed

    @property
    def notice(self) -> str:
        """A sentence for the screen when sound is off or failing; empty otherwise."""
        with self._lock:
            return self._notice

    @property
    def device_underflows(self) -> int:
        """Callbacks that PortAudio reported as late (the device ran dry)."""
        with self._lock:
            return self._device_underflows

    @property
    def underruns(self) -> int:
        """EMG audio underruns plus device underflows."""
        emg = self.emg.underruns if self.emg is not None else 0
        return emg + self.device_underflows

    # -- the stream -------------------------------------------------------------------------
    def start(self) -> bool:
        """Open and start the stream; on failure become a null output. Never raises.

        Returns
        -------
        bool
            True if sound is playing.
        """
        if self._stream is not None:
            return self.available
        try:
            sd = _import_sounddevice()
        except (ImportError, OSError) as exc:
            self._become_null(NO_DEVICE_NOTICE, f"sounddevice cannot be imported: {exc}")
            return False
        last_error: BaseException | None = None
        for channels in dict.fromkeys((self.channels, 1)):
            try:
                stream = sd.OutputStream(
                    samplerate=self.rate,
                    channels=channels,
                    dtype="float32",
                    device=self.device,
                    blocksize=self.blocksize,
                    latency=self.latency,
                    callback=self._callback,
                    finished_callback=self._finished,
                )
            except Exception as exc:  # PortAudioError, ValueError: no such device/format
                last_error = exc
                continue
            try:
                with self._lock:
                    self._stream, self._failed, self._stopping = stream, False, False
                    self._notice, self.error_detail = "", ""
                stream.start()
            except Exception as exc:
                last_error = exc
                with self._lock:
                    self._stream = None
                _close_quietly(stream)
                continue
            log.info("Sound output: %s, %d channel(s) at %g Hz", stream, channels, self.rate)
            return True
        self._become_null(NO_DEVICE_NOTICE, f"no output stream could be opened: {last_error}")
        return False

    def stop(self) -> None:
        """Stop and close the stream (nothing happens for a null output). Never raises."""
        with self._lock:
            stream, self._stream = self._stream, None
            self._stopping = True
        if stream is not None:
            _close_quietly(stream)

    def fill(self, outdata: np.ndarray, frames: int) -> None:
        """Write the next ``frames`` mixed samples into ``outdata`` ``[frames, channels]``.

        This is the body of the stream callback, public so that it can be tested without
        a device.
        """
        mix = self.tones.render(frames)
        with self._lock:
            alarm_volume = self._alarm_volume
        if alarm_volume != 1.0:
            mix *= alarm_volume
        if self.emg is not None:
            mix += self.emg.render(frames)  # the EMG volume and mute are applied inside
        mix = soft_clip(mix)
        if outdata.ndim == 1:
            outdata[:frames] = mix
        else:
            outdata[:frames] = mix[:, None]

    def _callback(self, outdata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        if getattr(status, "output_underflow", False):
            with self._lock:
                self._device_underflows += 1
        try:
            self.fill(outdata, frames)
        except Exception as exc:  # an exception here would stop the stream: keep going
            outdata.fill(0)
            with self._lock:
                self._callback_errors += 1
                first = self._callback_errors == 1
                self._notice = ERROR_NOTICE
                self.error_detail = f"audio callback failed: {exc!r}"
            if first:
                log.exception("Audio callback failed")

    def _finished(self) -> None:
        """PortAudio's finished callback: unexpected unless ``stop`` was called."""
        with self._lock:
            if self._stopping:
                return
            self._failed = True
            self._notice = STOPPED_NOTICE
            self.error_detail = "the output stream finished unexpectedly"
        log.warning("Sound output stream finished unexpectedly")

    def _become_null(self, notice: str, detail: str) -> None:
        with self._lock:
            self._stream = None
            self._notice = notice
            self.error_detail = detail
        log.warning("Sound is off: %s", detail)


def _close_quietly(stream: Any) -> None:
    for method in ("stop", "close"):
        try:
            getattr(stream, method)()
        except Exception as exc:
            log.warning("Closing the sound stream: %s", exc)
