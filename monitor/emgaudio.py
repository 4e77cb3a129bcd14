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
    """Stateful windowed-sinc (Kaiser) resampler between any two rates, with a fine speed trim.

    Output sample ``j`` lies at input time ``j * rate_in / rate_out`` exactly (integer
    arithmetic) while the speed is 1, and is computed from the ``2 * half_width`` nearest
    input samples with the kernel's phase for that fractional position. ``set_speed``
    scales the input advanced per output sample (``1.0001``: 100 ppm more input per
    output), from the next output sample on: that is how the EMG audio follows the sound
    card's clock (docs/audio.md). Positions are kept in units of ``1 / (L * 2**shift)`` of an
    input sample (``L`` the reduced ratio's denominator), so the trim resolution is well
    below 1 ppm. Phases come from a table of a multiple of ``L`` phases (at least
    ``min_phases``, at most ``max_phases``), linearly interpolated: exact at the nominal
    speed for ratios with at most ``max_phases`` phases (every integer rate from 1 to
    20 kHz into 48 kHz), and fine enough for any phase a trimmed speed reaches. The
    output is therefore the same however the input is cut into blocks, for the same
    speed changes at the same output samples. The delay is ``half_width`` input samples
    (1.6 ms at 10 kHz).

    Thread safety: none; one thread calls ``process`` and ``set_speed``.

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
    max_phases, min_phases : int
        Bounds of the phase table's size.
    """

    def __init__(
        self,
        rate_in: float,
        rate_out: float,
        zero_crossings: int = 16,
        beta: float = 8.0,
        rolloff: float = 0.9,
        max_phases: int = 4096,
        min_phases: int = 512,
    ) -> None:
        if not rate_in > 0 or not rate_out > 0:
            raise ValueError(f"Sample rates must be positive, not {rate_in!r} and {rate_out!r}.")
        ratio = Fraction(rate_in).limit_denominator(1000) / Fraction(rate_out).limit_denominator(
            1000
        )
        big_l = ratio.denominator
        # Fixed point: 2**shift sub-units per exact phase, a position within 2**40 units.
        self.shift = max(0, 40 - big_l.bit_length())
        self.unit = big_l << self.shift  # position units per input sample
        self.nominal_step = ratio.numerator << self.shift  # per output sample at speed 1
        self.step = self.nominal_step
        scale = min(1.0, float(rate_out) / float(rate_in))  # < 1 when decimating
        self.half_width = max(2, math.ceil(zero_crossings / scale))
        self.n_phases = min(max_phases, big_l * max(1, -(-min_phases // big_l)))
        fc = 0.5 * rolloff * scale  # cycles per input sample
        taps = 2 * self.half_width
        frac = np.arange(self.n_phases + 1)[:, None] / self.n_phases
        tau = frac + self.half_width - 1 - np.arange(taps)[None, :]  # t - m, in input samples
        window = np.i0(beta * np.sqrt(np.clip(1.0 - (tau / self.half_width) ** 2, 0.0, 1.0)))
        table = 2 * fc * np.sinc(2 * fc * tau) * window / np.i0(beta)
        self._table = table / table.sum(axis=1, keepdims=True)  # exact unity gain at DC
        self._taps = np.arange(taps)
        self.reset()

    @property
    def speed(self) -> float:
        """Input advanced per output sample, relative to ``rate_in / rate_out``."""
        return self.step / self.nominal_step

    def set_speed(self, speed: float) -> None:
        """Trim the ratio (``1 + e``, ``|e|`` small) from the next output sample on."""
        self.step = max(1, round(self.nominal_step * float(speed)))

    def reset(self) -> None:
        """Forget the input history (the next input starts after silence); speed 1."""
        self._buf = np.zeros(self.half_width - 1)
        self._i0 = self.half_width - 1  # buffer index of the next output's input sample
        self._r = 0  # its fractional position, 0 .. unit - 1
        self.step = self.nominal_step

    def process(self, x: np.ndarray) -> np.ndarray:
        """Take input samples, return every output sample they complete (float64)."""
        buf = np.concatenate((self._buf, np.asarray(x, np.float64)))
        hw, unit, step = self.half_width, self.unit, self.step
        last_n = len(buf) - 1 - hw - self._i0  # largest usable input offset of an output
        if last_n < 0:
            self._buf = buf
            return np.zeros(0)
        count = ((last_n + 1) * unit - self._r + step - 1) // step
        num = self._r + np.arange(count, dtype=np.int64) * step
        n = self._i0 + num // unit
        scaled = (num % unit) * self.n_phases  # < 2**40 * 4096: no overflow
        s0 = scaled // unit
        w = ((scaled % unit) / unit)[:, None]
        coef = self._table[s0] * (1.0 - w) + self._table[np.minimum(s0 + 1, self.n_phases)] * w
        idx = n[:, None] - (hw - 1) + self._taps[None, :]
        y = np.sum(buf[idx] * coef, axis=1)
        end = self._r + count * step
        i0 = self._i0 + end // unit
        self._r = end % unit
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

    def discard(self, n: int) -> int:
        """Drop up to ``n`` of the oldest samples; return how many."""
        n = max(0, min(n, self.count))
        self._read = (self._read + n) % self.capacity
        self.count -= n
        return n

    def clear(self) -> None:
        self._read = 0
        self.count = 0


#: The FIFO's low level is the least audio left after a callback over each window this
#: long (s): longer than a block and a callback, so it is the true trough of the sawtooth.
WINDOW_S = 0.04
#: Time constant of the averaged low level that the drift control acts on (s).
AVERAGE_S = 0.5
#: The drift control removes an error of the low level in about this time (s).
CORRECT_S = 2.0
#: Largest speed trim of the resampler (±2 %: a catch-up, not a steady state).
MAX_TRIM = 0.02
#: Audio beyond the target by more than this after a callback is dropped at once (s).
RESYNC_S = 0.025
#: The target grows by this after an underrun, and steps back down after RELAX_S (s).
TARGET_STEP_S = 0.004
RELAX_S = 30.0
#: The longest audio callback the start level allows for (longer reads take what is there).
LONGEST_CALLBACK_S = 0.025


class EmgAudio:
    """Filtered EMG → audio samples for the sound card, with a short FIFO that follows
    the sound card's clock.

    The FIFO holds little: the drift control trims the resampler's speed (at most
    ``MAX_TRIM``) so that the least audio left after the callbacks in each ``WINDOW_S``,
    averaged over ``AVERAGE_S``, stays at ``target_s``, whatever the two clocks' drift.
    The total delay is then about one acquisition block + ``target_s`` + a callback + the
    resampler's 16 input samples (docs/audio.md). After an underrun the target grows by
    ``TARGET_STEP_S`` (up to ``max_target_s``) and steps back down after ``RELAX_S``
    without one, so that a jittery machine glitches once, not every few seconds.

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
        Audio to queue before playing (at start and after an underrun); by default
        ``target_s`` plus the last pushed block plus this callback (at most one block more),
        so that playing starts at the steady state.
    fade_s : float
        Time for the gain to go from 0 to 1 (mute, unmute, volume changes).
    channels : sequence of int, optional
        Channels to listen to; all by default.
    target_s : float
        Least audio to keep in the FIFO after the callbacks (each ``WINDOW_S``, averaged):
        the margin for blocks and callbacks later than usual (the jitter of both threads).
    max_target_s : float
        Largest the target grows after underruns.
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
        target_s: float = 0.006,
        max_target_s: float = 0.03,
    ) -> None:
        if n_channels < 1:
            raise ValueError(f"EMG audio needs at least one channel, not {n_channels}.")
        if not max_latency_s > 0:
            raise ValueError(f"The audio latency must be positive, not {max_latency_s!r} s.")
        if not 0 <= target_s <= max_target_s:
            raise ValueError(f"The audio target must be 0 to {max_target_s:g} s, not {target_s!r}.")
        self.rate_in = float(rate_in)
        self.rate_out = float(rate_out)
        self.n_channels = int(n_channels)
        self.max_latency_s = float(max_latency_s)
        self._resampler = Resampler(rate_in, rate_out)
        self._fifo = _Fifo(round(max_latency_s * self.rate_out))
        self._prefill = (
            None
            if prefill_s is None
            else min(self._fifo.capacity, max(0, round(prefill_s * self.rate_out)))
        )
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
        self._resyncs = 0
        # Drift control (under the lock): the consumer notes the least audio left after
        # its reads, the producer averages it once per block and sets the speed trim.
        self._base_target = round(target_s * self.rate_out)
        self._max_target = round(max_target_s * self.rate_out)
        self._target = self._base_target
        self._relax = round(RELAX_S * self.rate_out)
        self._since_underrun = 0  # samples rendered since the last underrun or step down
        self._low = math.inf  # least FIFO level after a read in this window
        self._window = 0.0  # input seconds pushed in this window
        self._avg: float | None = None  # averaged low level (samples)
        self._trim = 0.0
        self._last_block = 0  # output samples of the last pushed block

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
        """Output samples dropped: the FIFO was full, or far above its target (resync)."""
        with self._lock:
            return self._dropped

    @property
    def resyncs(self) -> int:
        """Times audio far beyond the target was dropped at once (after a stall)."""
        with self._lock:
            return self._resyncs

    @property
    def buffered_s(self) -> float:
        """Audio waiting in the FIFO, in seconds."""
        with self._lock:
            return self._fifo.count / self.rate_out

    @property
    def target_s(self) -> float:
        """The audio the drift control keeps after each callback now (grows on underruns)."""
        with self._lock:
            return self._target / self.rate_out

    @property
    def speed_trim(self) -> float:
        """The resampler's present speed trim (``1e-4``: 100 ppm more input per output)."""
        with self._lock:
            return self._trim

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
            self._low, self._avg, self._trim, self._window = math.inf, None, 0.0, 0.0

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
            self._steer(len(x) / self.rate_in)
            self._dropped += self._fifo.write(y)
            self._last_block = len(y)
            trim = self._trim
        self._resampler.set_speed(1.0 + trim)  # from the next block's first output on

    def _steer(self, dt: float) -> None:
        """Drift control, once per pushed block of ``dt`` seconds (lock held)."""
        if not self._playing:
            self._avg, self._low, self._trim, self._window = None, math.inf, 0.0, 0.0
            return
        self._window += dt
        if self._window < WINDOW_S or self._low == math.inf:
            return  # the window is not over (or no callback yet): nothing new to judge
        low, self._low = self._low, math.inf
        dt, self._window = self._window, 0.0
        excess = low - self._target
        if excess > RESYNC_S * self.rate_out:
            # A stall piled audio up: drop it now rather than play the past for seconds.
            self._dropped += self._fifo.discard(int(excess))
            self._resyncs += 1
            low -= excess
            self._avg = None
        a = 1.0 - math.exp(-dt / AVERAGE_S)
        self._avg = low if self._avg is None else self._avg + a * (low - self._avg)
        error_s = (self._avg - self._target) / self.rate_out
        self._trim = min(MAX_TRIM, max(-MAX_TRIM, error_s / CORRECT_S))

    # -- consumer (audio callback) ---------------------------------------------------------
    def render(self, n: int) -> np.ndarray:
        """The next ``n`` audio samples, float32 within ±1 (zeros when starved)."""
        out = np.zeros(n, np.float32)
        with self._lock:
            if not self._playing:
                # Start at the top of the steady state's sawtooth: the target plus what
                # is drained before more comes, a block (or a callback's worth when
                # blocks are shorter than callbacks); more would only be latency that
                # the drift control must then take away (a request longer than any
                # callback's is a read of what there is, not a callback).
                callback = min(n, round(LONGEST_CALLBACK_S * self.rate_out))
                auto = self._target + max(self._last_block, callback)
                prefill = auto if self._prefill is None else self._prefill
                if self._fifo.count >= max(1, prefill):
                    self._playing = True
            got = self._fifo.read(n) if self._playing else np.zeros(0, np.float32)
            if self._playing and len(got) < n:
                self._playing = False  # ran dry: wait for the prefill again
                self._underruns += 1
                self._target = min(self._max_target, self._target + self._target_step())
                self._since_underrun = 0
            elif self._playing:
                self._low = min(self._low, self._fifo.count)
                self._since_underrun += n
                if self._since_underrun >= self._relax and self._target > self._base_target:
                    self._target = max(self._base_target, self._target - self._target_step())
                    self._since_underrun = 0
            target = 0.0 if self._muted else self._volume
        out[: len(got)] = got
        return self._apply_gain(out, target)

    def _target_step(self) -> int:
        return max(1, round(TARGET_STEP_S * self.rate_out))

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
