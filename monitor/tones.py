"""Auditory alarm signals after IEC 60601-1-8 (docs/clinical.md §6), as numpy sample arrays.

Each priority has its own burst and its own pitch, so that high, medium and low alarms are
told apart by rhythm *and* by pitch:

======== ========== ================= =========== ========== ============ =================
priority f0 (Hz)    pulses            pulse td    spacing ts rise tr      burst repeats
======== ========== ================= =========== ========== ============ =================
HIGH     660        10 (5 + 0.5 s +5) 100 ms      75 ms      15 ms (15 %) every 5 s
MEDIUM   520        3                 150 ms      150 ms     22.5 ms      every 10 s
LOW      440        1                 200 ms      —          30 ms        every 20 s (or once)
======== ========== ================= =========== ========== ============ =================

Conventions (docs/audio.md has the references and the reasoning):

- the pulse duration ``td`` runs from the 50 % point of the rise to the 50 % point of the
  fall, the pulse spacing ``ts`` from the 50 % point of one fall to the 50 % point of the
  next rise, the rise/fall time ``tr`` from 10 % to 90 % of the pulse amplitude;
- the rise and fall are raised-cosine ramps (no click), symmetric;
- a pulse is the fundamental plus every harmonic up to 4 kHz, harmonic ``k`` at amplitude
  ``1/sqrt(k)`` (within 10 dB of the fundamental for every ``k`` used), with Schroeder
  phases to keep the crest factor low;
- bursts are normalised to a peak of ``amplitude`` (0.8 by default, headroom for mixing).

Nothing here depends on Qt or an audio device: :class:`AlarmTones` only renders samples;
``drivers/soundcard.py`` plays them.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

import numpy as np

from monitor.alarms import Priority

#: Rise time 10-90 % of a raised-cosine ramp, as a fraction of the ramp's length.
_RC_10_90 = (math.acos(-0.8) - math.acos(0.8)) / math.pi  # 0.5903...

#: Upper frequency of the harmonics (docs/clinical.md §6: harmonics in 300-4000 Hz).
HARMONIC_LIMIT_HZ = 4000.0


@dataclass(frozen=True, slots=True)
class BurstSpec:
    """The timing and pitch of one priority's burst.

    Attributes
    ----------
    f0 : float
        Fundamental frequency in Hz (150-1000 Hz).
    pulses : int
        Pulses per burst.
    pulse_s : float
        Pulse duration ``td`` in seconds, 50 % rise to 50 % fall.
    spacing_s : float
        Pulse spacing ``ts`` in seconds, 50 % fall to 50 % rise of the next pulse.
    rise_fraction : float
        Rise (and fall) time 10-90 % as a fraction of ``pulse_s`` (0.10-0.20).
    group : int
        Pulses per group; 0 for one group. HIGH uses 5 (5 + pause + 5).
    group_pause_s : float
        Spacing between groups (50 % fall to 50 % rise), in seconds.
    period_s : float | None
        Burst start to next burst start, in seconds; None sounds the burst once.
    """

    f0: float
    pulses: int
    pulse_s: float
    spacing_s: float
    rise_fraction: float = 0.15
    group: int = 0
    group_pause_s: float = 0.0
    period_s: float | None = None

    @property
    def rise_s(self) -> float:
        """Rise time 10-90 % in seconds."""
        return self.rise_fraction * self.pulse_s

    @property
    def ramp_s(self) -> float:
        """Length of the raised-cosine ramp (0 % to 100 %) in seconds."""
        return self.rise_s / _RC_10_90

    def onsets_s(self) -> list[float]:
        """Start of each pulse's rise, the first at 0 (its 50 % point is half a ramp later)."""
        times, t = [], 0.0
        for i in range(self.pulses):
            times.append(t)
            last_in_group = self.group and (i + 1) % self.group == 0
            t += self.pulse_s + (self.group_pause_s if last_in_group else self.spacing_s)
        return times

    def duration_s(self) -> float:
        """From the start of the first rise to the end of the last fall."""
        return self.onsets_s()[-1] + self.pulse_s + self.ramp_s


#: The burst of each priority (docs/clinical.md §6; docs/audio.md).
BURSTS: dict[Priority, BurstSpec] = {
    Priority.HIGH: BurstSpec(
        f0=660.0,
        pulses=10,
        pulse_s=0.100,
        spacing_s=0.075,
        group=5,
        group_pause_s=0.500,
        period_s=5.0,
    ),
    Priority.MEDIUM: BurstSpec(f0=520.0, pulses=3, pulse_s=0.150, spacing_s=0.150, period_s=10.0),
    Priority.LOW: BurstSpec(f0=440.0, pulses=1, pulse_s=0.200, spacing_s=0.200, period_s=20.0),
}


def harmonic_amplitudes(f0: float, rate: float) -> np.ndarray:
    """Amplitudes of partials 1..K: every harmonic up to 4 kHz (and below Nyquist).

    Harmonic ``k`` has amplitude ``1/sqrt(k)``: -3 dB at the 2nd, -10 dB at the 10th, so
    every harmonic used is within ±15 dB of the fundamental.
    """
    if not 150.0 <= f0 <= 1000.0:
        raise ValueError(f"An alarm fundamental must be 150-1000 Hz, not {f0:g} Hz.")
    top = min(HARMONIC_LIMIT_HZ, 0.45 * rate)
    k = np.arange(1, int(top // f0) + 1)
    return 1.0 / np.sqrt(k)


def pulse_tone(f0: float, n: int, rate: float) -> np.ndarray:
    """``n`` samples of the harmonic complex (unit envelope, not normalised)."""
    amps = harmonic_amplitudes(f0, rate)
    k = np.arange(1, len(amps) + 1)
    phases = np.pi * k * (k - 1) / len(amps)  # Schroeder: low crest factor
    t = np.arange(n) / rate
    return np.sin(2 * np.pi * f0 * np.outer(t, k) + phases) @ amps


def burst_envelope(spec: BurstSpec, rate: float) -> np.ndarray:
    """The amplitude envelope (0-1) of one burst, starting at the first rise."""
    ramp_n = max(2, round(spec.ramp_s * rate))
    ramp = 0.5 * (1.0 - np.cos(np.pi * (np.arange(ramp_n) + 0.5) / ramp_n))
    env = np.zeros(round(spec.duration_s() * rate) + 1)
    for onset in spec.onsets_s():
        # The burst starts with the first ramp, so each 50 % point is half a ramp in.
        start = round(onset * rate)
        stop = round((onset + spec.pulse_s + spec.ramp_s) * rate)
        env[start : start + ramp_n] = ramp
        env[start + ramp_n : stop - ramp_n] = 1.0
        env[stop - ramp_n : stop] = ramp[::-1]
    return env


def alarm_burst(priority: Priority, rate: float = 48000, amplitude: float = 0.8) -> np.ndarray:
    """One burst of the priority's auditory alarm signal.

    Parameters
    ----------
    priority : Priority
        HIGH (10 pulses, 5 + pause + 5), MEDIUM (3 pulses) or LOW (1 pulse).
    rate : float
        Sample rate in Hz.
    amplitude : float
        Peak amplitude of the burst (full scale is 1.0).

    Returns
    -------
    numpy.ndarray
        float32 samples from the start of the first rise to the end of the last fall.
    """
    spec = BURSTS[Priority(priority)]
    env = burst_envelope(spec, rate)
    tone = pulse_tone(spec.f0, len(env), rate)
    tone *= amplitude / np.max(np.abs(tone))
    return (env * tone).astype(np.float32)


class AlarmTones:
    """Renders the sounding alarm priority as a continuous stream of samples.

    - A burst starts at once whenever the priority changes to another priority (rising
      or falling): the sound always tells the *current* priority, and a newly raised
      higher priority is heard in the next rendered block.
    - Bursts repeat with the priority's period (burst start to burst start); a period of
      None sounds the burst once per change of priority.
    - ``set_priority(None)`` silences at once; a burst cut short (by None or by another
      priority) fades out over ``fade_s`` (5 ms) instead of clicking.
    - Setting the priority that is already sounding changes nothing, so a GUI timer may
      call ``set_priority(alarm_manager.sounding_priority())`` as often as it likes.

    Thread safety: every method may be called from any thread; ``render`` is meant for
    the audio callback (it only slices precomputed arrays under a short lock).

    Parameters
    ----------
    rate : float
        Output sample rate in Hz.
    amplitude : float
        Peak amplitude of a burst.
    periods : dict, optional
        Burst start-to-start period in seconds (or None: once) per priority, overriding
        :data:`BURSTS`; e.g. ``{Priority.LOW: None}`` sounds low-priority alarms once.
    fade_s : float
        Fade-out of a burst cut short.
    """

    def __init__(
        self,
        rate: float = 48000,
        amplitude: float = 0.8,
        periods: dict[Priority, float | None] | None = None,
        fade_s: float = 0.005,
    ) -> None:
        self.rate = float(rate)
        self._bursts = {p: alarm_burst(p, rate, amplitude) for p in Priority}
        self._periods: dict[Priority, int | None] = {}
        for p, spec in BURSTS.items():
            period = spec.period_s if periods is None or p not in periods else periods[p]
            if period is None:
                self._periods[p] = None
            else:
                n = round(period * self.rate)
                if n < len(self._bursts[p]):
                    raise ValueError(
                        f"The {p.label.lower()}-priority period ({period:g} s) is shorter "
                        "than its burst."
                    )
                self._periods[p] = n
        self._fade_n = max(1, round(fade_s * self.rate))
        self._lock = threading.Lock()
        self._priority: Priority | None = None
        self._pos = 0  # samples since the start of the current burst cycle
        self._tail = np.zeros(0, np.float32)  # fade-out of a burst that was cut short

    @property
    def priority(self) -> Priority | None:
        """The priority being sounded, or None."""
        with self._lock:
            return self._priority

    def set_priority(self, priority: Priority | None) -> None:
        """Sound ``priority`` from the next rendered sample on (None: silence)."""
        priority = None if priority is None else Priority(priority)
        with self._lock:
            if priority == self._priority:
                return
            self._tail = self._cut_tail()
            self._priority = priority
            self._pos = 0

    def render(self, n: int) -> np.ndarray:
        """The next ``n`` samples (float32)."""
        out = np.zeros(n, np.float32)
        with self._lock:
            if len(self._tail):
                k = min(n, len(self._tail))
                out[:k] += self._tail[:k]
                self._tail = self._tail[k:]
            if self._priority is None:
                return out
            burst = self._bursts[self._priority]
            period = self._periods[self._priority]
            i, pos = 0, self._pos
            while i < n:
                if pos < len(burst):
                    k = min(n - i, len(burst) - pos)
                    out[i : i + k] += burst[pos : pos + k]
                elif period is None:
                    break
                else:
                    k = min(n - i, period - pos)
                pos += k
                i += k
                if period is not None and pos >= period:
                    pos = 0
            self._pos = pos
        return out

    def _cut_tail(self) -> np.ndarray:
        """Fade-out of what the current burst would play next (lock held)."""
        old = self._tail
        if self._priority is None:
            return old
        burst = self._bursts[self._priority]
        seg = burst[self._pos : self._pos + self._fade_n].astype(np.float32)
        seg *= np.linspace(1.0, 0.0, self._fade_n + 1, dtype=np.float32)[1 : len(seg) + 1]
        if len(old) > len(seg):
            seg, old = old.copy(), seg
        seg[: len(old)] += old
        return seg
