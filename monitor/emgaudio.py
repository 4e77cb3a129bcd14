"""The filtered EMG made audible, as commercial nerve monitors do.

The surgeon listens to the EMG: a nerve touched by an instrument bursts, a stretched
nerve gives trains, a quiet nerve is near silence. This module turns filtered blocks
(µV, ``rate_in``) into audio samples (``rate_out``, full scale ±1) for the sound card:

1. the selected channels are summed and divided by ``sqrt(k)`` (uncorrelated noise keeps
   its level, a response seen on several channels gets louder);
2. ``full_scale_uv`` (±500 µV by default) becomes full scale;
3. a stateful windowed-sinc resampler converts ``rate_in`` (any rate; 1-20 kHz in
   practice) to ``rate_out`` with no clicks at block boundaries: the output does not
   depend on how the input is cut into blocks;
4. soft clipping (linear up to 0.6, then a tanh knee approaching ±1) keeps a large
   artefact from becoming a square wave;
5. a bounded FIFO between the acquisition thread and the audio callback: when the
   callback falls behind the oldest audio is dropped, so the delay never exceeds
   ``max_latency_s``; when it runs dry it plays zeros and counts an underrun, then waits
   until ``prefill_s`` of audio is queued again before playing;
6. volume and mute (used during electrocautery) are applied in the callback through a
   gain that ramps over ``fade_s`` (10 ms): no click when muting or unmuting.

Nothing here depends on Qt or on an audio device; ``drivers/soundcard.py`` plays the samples.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from fractions import Fraction

import numpy as np

from monitor.block import Block

#: Soft clipping is linear below this magnitude.
CLIP_KNEE = 0.6


def soft_clip(x: np.ndarray, knee: float = CLIP_KNEE) -> np.ndarray:
    """Linear below ``knee``, then a tanh curve that approaches ±1 (slope continuous).

    Parameters
    ----------
    x : numpy.ndarray
        Samples, full scale ±1.
    knee : float
        Magnitude below which samples pass unchanged (0 < knee < 1).

    Returns
    -------
    numpy.ndarray
        Samples within ±1 (reaching it only far beyond full scale), same dtype as ``x``.
    """
    a = np.abs(x)
    over = a > knee
    if not np.any(over):
        return x
    y = x.copy()
    room = 1.0 - knee
    y[over] = np.sign(x[over]) * (knee + room * np.tanh((a[over] - knee) / room))
    return y


class Resampler:
    """Stateful windowed-sinc (Kaiser) resampler between any two rates.

    Output sample ``j`` lies at input time ``j * rate_in / rate_out`` exactly (integer
    arithmetic), and is computed from the ``2 * half_width`` nearest input samples with
    the kernel's phase for that fractional position. Phases come from a precomputed
    table: exact when the reduced output/input ratio has at most 4096 phases (every
    integer rate from 1 to 20 kHz into 48 kHz), linearly interpolated otherwise. The
    output is therefore the same however the input is cut into blocks. The delay is
    ``half_width`` input samples (1.6 ms at 10 kHz).

    Thread safety: none; one thread calls ``process``.

    Parameters
    ----------
    rate_in, rate_out : float
        Sample rates in Hz.
    zero_crossings : int
        Half-width of the kernel in zero crossings of the sinc (quality vs. delay).
    beta : float
        Kaiser window parameter.
    rolloff : float
        Cut-off as a fraction of the lower Nyquist frequency.
    max_phases : int
        Size of the phase table.
    """

    def __init__(
        self,
        rate_in: float,
        rate_out: float,
        zero_crossings: int = 16,
        beta: float = 8.0,
        rolloff: float = 0.9,
        max_phases: int = 4096,
    ) -> None:
        if not rate_in > 0 or not rate_out > 0:
            raise ValueError(f"Sample rates must be positive, not {rate_in!r} and {rate_out!r}.")
        ratio = Fraction(rate_in).limit_denominator(1000) / Fraction(rate_out).limit_denominator(
            1000
        )
        self.step = ratio.numerator  # input advance per output, in units of 1/phases_exact
        self.phases_exact = ratio.denominator
        scale = min(1.0, float(rate_out) / float(rate_in))  # < 1 when decimating
        self.half_width = max(2, math.ceil(zero_crossings / scale))
        self.n_phases = min(self.phases_exact, max_phases)
        fc = 0.5 * rolloff * scale  # cycles per input sample
        taps = 2 * self.half_width
        frac = np.arange(self.n_phases + 1)[:, None] / self.n_phases
        tau = frac + self.half_width - 1 - np.arange(taps)[None, :]  # t - m, in input samples
        window = np.i0(beta * np.sqrt(np.clip(1.0 - (tau / self.half_width) ** 2, 0.0, 1.0)))
        table = 2 * fc * np.sinc(2 * fc * tau) * window / np.i0(beta)
        self._table = table / table.sum(axis=1, keepdims=True)  # exact unity gain at DC
        self._taps = np.arange(taps)
        self.reset()

    def reset(self) -> None:
        """Forget the input history (the next input starts after silence)."""
        self._buf = np.zeros(self.half_width - 1)
        self._i0 = self.half_width - 1  # buffer index of the next output's input sample
        self._r = 0  # its phase numerator, 0 .. phases_exact - 1

    def process(self, x: np.ndarray) -> np.ndarray:
        """Take input samples, return every output sample they complete (float64)."""
        buf = np.concatenate((self._buf, np.asarray(x, np.float64)))
        hw, big_l, step = self.half_width, self.phases_exact, self.step
        last_n = len(buf) - 1 - hw - self._i0  # largest usable input offset of an output
        if last_n < 0:
            self._buf = buf
            return np.zeros(0)
        count = ((last_n + 1) * big_l - self._r + step - 1) // step
        num = self._r + np.arange(count, dtype=np.int64) * step
        n = self._i0 + num // big_l
        p = num % big_l
        scaled = p * self.n_phases
        s0 = scaled // big_l
        w = ((scaled % big_l) / big_l)[:, None]
        coef = self._table[s0] * (1.0 - w) + self._table[np.minimum(s0 + 1, self.n_phases)] * w
        idx = n[:, None] - (hw - 1) + self._taps[None, :]
        y = np.sum(buf[idx] * coef, axis=1)
        end = self._r + count * step
        i0 = self._i0 + end // big_l
        self._r = end % big_l
        keep_from = i0 - (hw - 1)
        self._buf = buf[keep_from:]
        self._i0 = i0 - keep_from
        return y


class _Fifo:
    """Ring buffer of float32 samples that drops the oldest when full (lock held outside)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = max(1, capacity)
        self._data = np.zeros(self.capacity, np.float32)
        self._read = 0
        self.count = 0

    def write(self, x: np.ndarray) -> int:
        """Append ``x``; return how many old samples were dropped to make room."""
        if len(x) >= self.capacity:
            dropped = self.count + len(x) - self.capacity
            self._data[:] = x[-self.capacity :]
            self._read, self.count = 0, self.capacity
            return dropped
        dropped = max(0, self.count + len(x) - self.capacity)
        if dropped:
            self._read = (self._read + dropped) % self.capacity
            self.count -= dropped
        start = (self._read + self.count) % self.capacity
        first = min(len(x), self.capacity - start)
        self._data[start : start + first] = x[:first]
        self._data[: len(x) - first] = x[first:]
        self.count += len(x)
        return dropped

    def read(self, n: int) -> np.ndarray:
        """Remove and return up to ``n`` of the oldest samples."""
        n = min(n, self.count)
        idx = (self._read + np.arange(n)) % self.capacity
        out = self._data[idx]
        self._read = (self._read + n) % self.capacity
        self.count -= n
        return out

    def clear(self) -> None:
        self._read = 0
        self.count = 0


class EmgAudio:
    """Filtered EMG → audio samples for the sound card.

    Thread safety:

    - ``push`` (and ``__call__``, the session-subscriber form) is called by one producer
      thread, the acquisition thread; it resamples outside the lock and holds the lock
      only to append to the FIFO;
    - ``render`` is called by one consumer thread, the audio callback; it never blocks
      for longer than a FIFO copy;
    - ``set_channels``, ``set_muted``, ``volume``, ``full_scale_uv``, ``reset`` and the
      read-only counters may be called from any thread (the GUI); changes apply from the
      next pushed block (channels, full scale) or the next rendered sample (mute, volume).

    Parameters
    ----------
    rate_in : float
        Sample rate of the filtered EMG in Hz.
    n_channels : int
        Channels in each pushed block.
    rate_out : float
        Audio sample rate in Hz.
    max_latency_s : float
        Most audio the FIFO holds; older audio is dropped.
    full_scale_uv : float
        EMG level (µV, peak) that becomes full scale.
    prefill_s : float, optional
        Audio to queue before playing (at start and after an underrun); by default the
        smaller of 50 ms and half of ``max_latency_s``.
    fade_s : float
        Time for the gain to go from 0 to 1 (mute, unmute, volume changes).
    channels : sequence of int, optional
        Channels to listen to; all by default.
    """

    def __init__(
        self,
        rate_in: float,
        n_channels: int,
        rate_out: float = 48000,
        max_latency_s: float = 0.15,
        full_scale_uv: float = 500.0,
        prefill_s: float | None = None,
        fade_s: float = 0.010,
        channels: Sequence[int] | None = None,
    ) -> None:
        if n_channels < 1:
            raise ValueError(f"EMG audio needs at least one channel, not {n_channels}.")
        if not max_latency_s > 0:
            raise ValueError(f"The audio latency must be positive, not {max_latency_s!r} s.")
        self.rate_in = float(rate_in)
        self.rate_out = float(rate_out)
        self.n_channels = int(n_channels)
        self.max_latency_s = float(max_latency_s)
        self._resampler = Resampler(rate_in, rate_out)
        self._fifo = _Fifo(round(max_latency_s * self.rate_out))
        if prefill_s is None:
            prefill_s = min(0.05, max_latency_s / 2)
        self._prefill = min(self._fifo.capacity, max(0, round(prefill_s * self.rate_out)))
        self._fade_step = 1.0 / max(1, round(fade_s * self.rate_out))
        self._lock = threading.Lock()
        self._channels: tuple[int, ...] = ()
        self.set_channels(range(n_channels) if channels is None else channels)
        self._full_scale_uv = 500.0
        self.full_scale_uv = full_scale_uv
        self._volume = 1.0
        self._muted = False
        self._gain = 1.0  # current (ramping) gain; audio thread only
        self._playing = False  # False: waiting for the prefill
        self._underruns = 0
        self._dropped = 0

    # -- settings (any thread) -------------------------------------------------------------
    @property
    def channels(self) -> tuple[int, ...]:
        """Channels mixed into the audio (0-based)."""
        with self._lock:
            return self._channels

    def set_channels(self, channels: Sequence[int]) -> None:
        """Listen to ``channels`` (0-based); an empty list gives silence."""
        chans = tuple(sorted({int(c) for c in channels}))
        bad = [c for c in chans if not 0 <= c < self.n_channels]
        if bad:
            raise ValueError(
                f"No channel {bad[0] + 1}: the stream has {self.n_channels} channel(s)."
            )
        with self._lock:
            self._channels = chans

    @property
    def full_scale_uv(self) -> float:
        """EMG level (µV) that becomes full-scale audio."""
        with self._lock:
            return self._full_scale_uv

    @full_scale_uv.setter
    def full_scale_uv(self, value: float) -> None:
        if not value > 0:
            raise ValueError(f"The audio full scale must be above 0 µV, not {value!r}.")
        with self._lock:
            self._full_scale_uv = float(value)

    @property
    def volume(self) -> float:
        """Output gain 0-1 (applied with a short ramp)."""
        with self._lock:
            return self._volume

    @volume.setter
    def volume(self, value: float) -> None:
        with self._lock:
            self._volume = min(1.0, max(0.0, float(value)))

    @property
    def muted(self) -> bool:
        with self._lock:
            return self._muted

    def set_muted(self, muted: bool) -> None:
        """Mute (fade to silence over ``fade_s``) or unmute (fade back in)."""
        with self._lock:
            self._muted = bool(muted)

    @property
    def underruns(self) -> int:
        """Times the audio ran dry while playing (each is followed by a prefill wait)."""
        with self._lock:
            return self._underruns

    @property
    def dropped_samples(self) -> int:
        """Output samples dropped because the FIFO was full (the consumer fell behind)."""
        with self._lock:
            return self._dropped

    @property
    def buffered_s(self) -> float:
        """Audio waiting in the FIFO, in seconds."""
        with self._lock:
            return self._fifo.count / self.rate_out

    @property
    def latency_s(self) -> float:
        """Current delay from pushed EMG to rendered audio (FIFO plus resampler)."""
        return self.buffered_s + self._resampler.half_width / self.rate_in

    def reset(self) -> None:
        """Drop queued audio and the resampler's history (a new or restarted stream).

        Call it from the producer thread, or while no ``push`` is running.
        """
        with self._lock:
            self._resampler.reset()
            self._fifo.clear()
            self._playing = False

    # -- producer (acquisition thread) -----------------------------------------------------
    def __call__(self, block: Block, filtered: np.ndarray) -> None:
        """Session subscriber form: ``session.add_subscriber(emg_audio)``."""
        self.push(filtered)

    def push(self, filtered: np.ndarray) -> None:
        """Queue one block of filtered EMG, float32 ``[n, n_channels]`` in µV."""
        x = np.asarray(filtered)
        if x.ndim == 1:
            x = x[:, None]
        if x.shape[1] != self.n_channels:
            raise ValueError(f"Expected {self.n_channels} channel(s) of EMG, got {x.shape[1]}.")
        with self._lock:
            chans, full_scale = self._channels, self._full_scale_uv
        if chans:
            mix = x[:, list(chans)].astype(np.float64).sum(axis=1)
            mix *= 1.0 / (math.sqrt(len(chans)) * full_scale)
            mix[~np.isfinite(mix)] = 0.0
        else:
            mix = np.zeros(len(x))
        y = soft_clip(self._resampler.process(mix)).astype(np.float32)
        if not len(y):
            return
        with self._lock:
            self._dropped += self._fifo.write(y)

    # -- consumer (audio callback) ---------------------------------------------------------
    def render(self, n: int) -> np.ndarray:
        """The next ``n`` audio samples, float32 within ±1 (zeros when starved)."""
        out = np.zeros(n, np.float32)
        with self._lock:
            if not self._playing and self._fifo.count >= max(1, self._prefill):
                self._playing = True
            got = self._fifo.read(n) if self._playing else np.zeros(0, np.float32)
            if self._playing and len(got) < n:
                self._playing = False  # ran dry: wait for the prefill again
                self._underruns += 1
            target = 0.0 if self._muted else self._volume
        out[: len(got)] = got
        return self._apply_gain(out, target)

    def _apply_gain(self, out: np.ndarray, target: float) -> np.ndarray:
        """Ramp the gain towards ``target`` by at most ``fade_step`` per sample."""
        g0 = self._gain
        if g0 == target:
            if target != 1.0:
                out *= target
            return out
        n = len(out)
        steps = np.arange(1, n + 1) * self._fade_step
        ramp = np.minimum(g0 + steps, target) if target > g0 else np.maximum(g0 - steps, target)
        self._gain = float(ramp[-1]) if n else g0
        out *= ramp.astype(np.float32)
        return out
