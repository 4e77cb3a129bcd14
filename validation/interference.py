"""What is not the nerve: background noise, mains hum, drift and operating-room artefacts.

Noise model and its level
-------------------------
**Background** is amplifier and electrode noise: white noise plus a ``1/f`` (flicker)
part below a corner frequency, power spectral density ``S(f) = S0 (1 + f_c / f)``
(electrode-interface noise is of this kind: Huigen, Peper & Grimbergen 2002; Clancy,
Morin & Merletti 2002 review amplifier noise and sampling). Its level is stated as the
**RMS in the 20 Hz-3 kHz band** (the monitor's pass band), made exact for every
realisation: the noise is shaped in the frequency domain and scaled so that the
brick-wall band power of that very realisation is the requested one (see
:func:`band_rms`). With ``f_c = 50 Hz`` about a quarter of the in-band power is flicker.

**Mains hum** (Huhta & Webster 1973; Levkov et al. 2005): the 50 or 60 Hz fundamental
with odd *and* even harmonics (odd ones stronger, from the non-linear loads of an
operating room), a mains frequency that wanders by a few hundredths of a hertz, and a
slow amplitude fluctuation. Its amplitude is stated as the **zero-to-peak amplitude of
the fundamental**; the harmonics are given relative to it (:data:`HUM_HARMONICS`).

**Baseline wander**: a leaky random walk (an Ornstein-Uhlenbeck process: white noise
through a first-order low-pass at ~0.3 Hz) smoothed by a second-order low-pass at 2 Hz,
the slow electrode-potential drift that the monitor's 20 Hz high-pass is there to remove
(De Luca et al. 2010); its level is stated as its RMS (almost none of it is in the band).

Artefacts
---------
- **Electrocautery**: the radio-frequency current of the electrosurgical unit reaches the
  amplifier's input stage and is demodulated there into broadband noise, switched on and
  off with the pencil and amplitude-modulated by the arc (sparking) and tissue contact;
  it appears on all channels at once, a common part plus a part of each channel's own
  (the IONM-with-electrocautery patent US 11596337, docs/clinical.md [50]). Modelled as white
  noise (high-passed at 10 Hz) times an envelope with a 5 ms attack and release and a
  random 5-40 Hz modulation.
- **Stimulus artefact**: the pulse itself while the current flows, then the exponential
  discharge of the electrode-tissue capacitances, tau of a fraction of a millisecond
  (McGill et al. 1982).
- **Movement step**: an electrode displaced in the tissue gives a step of its half-cell
  potential that recovers exponentially through the amplifier's AC coupling (De Luca et
  al. 2010).
- **Saturation**: the amplifier's input range clips the signal at its rails.

References
----------
Huigen E, Peper A, Grimbergen CA. Investigation into the origin of the noise of surface
electrodes. Med Biol Eng Comput 2002;40:332-338.
Clancy EA, Morin EL, Merletti R. Sampling, noise-reduction and amplitude estimation
issues in surface electromyography. J Electromyogr Kinesiol 2002;12:1-16.
Huhta JC, Webster JG. 60-Hz interference in electrocardiography. IEEE Trans Biomed Eng
1973;20:91-101.
Levkov C, Mihov G, Ivanov R, et al. Removal of power-line interference from the ECG: a
review of the subtraction procedure. Biomed Eng Online 2005;4:50.
De Luca CJ, Gilmore LD, Kuznetsov M, Roy SH. Filtering the surface EMG signal: movement
artifact and baseline noise contamination. J Biomech 2010;43:1573-1579.
McGill KC, Cummins KL, Dorfman LJ, et al. On the nature and elimination of stimulus
artifact in nerve signals evoked and recorded using surface electrodes. IEEE Trans
Biomed Eng 1982;29:129-137.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import signal

#: The band in which noise levels are stated (the monitor's default pass band).
NOISE_BAND_HZ = (20.0, 3000.0)
#: Harmonic amplitudes relative to the fundamental, for harmonics 1 to 7.
HUM_HARMONICS = (1.0, 0.10, 0.30, 0.04, 0.15, 0.02, 0.07)


def band_rms(x: np.ndarray, rate: float, band: tuple[float, float] = NOISE_BAND_HZ) -> float:
    """RMS of ``x`` (1-D) within ``band`` (a brick-wall band in the frequency domain)."""
    n = len(x)
    spec = np.fft.rfft(x)
    f = np.fft.rfftfreq(n, 1.0 / rate)
    inside = (f >= band[0]) & (f <= band[1])
    # Parseval for a one-sided spectrum: the in-band bins count twice (no DC/Nyquist there).
    return float(np.sqrt(2.0 * np.sum(np.abs(spec[inside]) ** 2)) / n)


def background_noise(
    n: int,
    rate: float,
    rms_uv: float,
    rng: np.random.Generator,
    corner_hz: float = 50.0,
    band: tuple[float, float] = NOISE_BAND_HZ,
) -> np.ndarray:
    """White plus ``1/f`` noise whose RMS in ``band`` is exactly ``rms_uv``."""
    if rms_uv <= 0 or n == 0:
        return np.zeros(n)
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1.0 / rate)
    f_floor = max(rate / n, 0.05)  # the 1/f part stops rising below ~0.05 Hz
    spec *= np.sqrt(1.0 + corner_hz / np.maximum(f, f_floor))
    spec[0] = 0.0
    x = np.fft.irfft(spec, n)
    return x * (rms_uv / band_rms(x, rate, band))


def hum_rms(amplitude_uv: float, harmonics: Sequence[float] = HUM_HARMONICS) -> float:
    """RMS of hum with fundamental amplitude ``amplitude_uv`` (zero-to-peak)."""
    return float(amplitude_uv * np.sqrt(np.sum(np.square(harmonics)) / 2.0))


def _slow_unit(n: int, rate: float, corner_hz: float, rng: np.random.Generator) -> np.ndarray:
    """A unit-variance Ornstein-Uhlenbeck process (first-order low-passed white noise)."""
    a = np.exp(-2.0 * np.pi * corner_hz / rate)
    x0 = rng.standard_normal()
    y, _ = signal.lfilter([np.sqrt(1.0 - a * a)], [1.0, -a], rng.standard_normal(n), zi=[a * x0])
    return y


def mains_hum(
    n: int,
    rate: float,
    amplitude_uv: float,
    rng: np.random.Generator,
    mains_hz: float = 50.0,
    harmonics: Sequence[float] = HUM_HARMONICS,
    deviation_hz: float = 0.02,
    am_depth: float = 0.05,
) -> np.ndarray:
    """Mains interference: fundamental amplitude ``amplitude_uv`` (zero-to-peak).

    Parameters
    ----------
    harmonics : sequence of float
        Amplitudes of harmonics 1, 2, ... relative to the fundamental; only those below
        the Nyquist frequency are made.
    deviation_hz : float
        RMS wander of the mains frequency (0 = exactly ``mains_hz``).
    am_depth : float
        RMS of the slow relative amplitude fluctuation (0 = constant).
    """
    if amplitude_uv <= 0 or n == 0:
        return np.zeros(n)
    freq = np.full(n, mains_hz)
    if deviation_hz > 0:
        freq += deviation_hz * _slow_unit(n, rate, 0.05, rng)
    phase = 2.0 * np.pi * np.cumsum(freq) / rate
    out = np.zeros(n)
    for k, rel in enumerate(harmonics, start=1):
        if k * mains_hz < rate / 2 and rel:
            out += rel * np.sin(k * phase + rng.uniform(0, 2 * np.pi))
    if am_depth > 0:
        out *= 1.0 + am_depth * _slow_unit(n, rate, 0.2, rng)
    return amplitude_uv * out


def baseline_wander(
    n: int, rate: float, rms_uv: float, rng: np.random.Generator, corner_hz: float = 0.3
) -> np.ndarray:
    """Slow drift of RMS ``rms_uv``: a leaky random walk (corner ``corner_hz``) smoothed
    by a second-order low-pass at 2 Hz, so that it stays below the 20 Hz band edge."""
    if rms_uv <= 0 or n == 0:
        return np.zeros(n)
    walk = _slow_unit(n, rate, corner_hz, rng)
    sos = signal.butter(2, 2.0, "lowpass", fs=rate, output="sos")
    zi = signal.sosfilt_zi(sos) * walk[0]  # start settled: no step at the first sample
    smooth, _ = signal.sosfilt(sos, walk, zi=zi)
    return rms_uv * smooth / np.sqrt(np.mean(smooth**2))


def cautery(
    n: int,
    rate: float,
    n_channels: int,
    episodes: Sequence[tuple[int, int]],
    rms_uv: float,
    rng: np.random.Generator,
    common: float = 0.6,
) -> np.ndarray:
    """Electrocautery noise ``(n, n_channels)`` over the sample ranges ``episodes``.

    ``rms_uv`` is the noise RMS while the pencil is on; ``common`` is the share of the
    power that is the same on every channel.
    """
    out = np.zeros((n, n_channels))
    sos = signal.butter(2, 10.0, "highpass", fs=rate, output="sos")
    edge = max(1, round(0.005 * rate))
    for first, last in episodes:
        start, stop = max(0, first), min(n, last)
        m = stop - start
        if m <= 0:
            continue
        shared = rng.standard_normal(m)
        own = rng.standard_normal((m, n_channels))
        noise = np.sqrt(common) * shared[:, None] + np.sqrt(1 - common) * own
        noise = signal.sosfilt(sos, noise, axis=0)
        env = np.ones(m)
        ramp = 0.5 - 0.5 * np.cos(np.pi * np.arange(min(edge, m)) / edge)
        env[: len(ramp)] *= ramp
        env[m - len(ramp) :] *= ramp[::-1]
        mod_hz = rng.uniform(5.0, 40.0)
        arc = 1.0 + 0.5 * np.clip(_slow_unit(m, rate, mod_hz, rng), -1.8, 1.8)
        gains = rng.uniform(0.6, 1.4, n_channels)
        block = noise * (env * arc)[:, None] * gains[None, :]
        out[start:stop] += block * (rms_uv / np.sqrt(np.mean(block**2)))
    return out


def add_stimulus_artefact(
    trace: np.ndarray,
    rate: float,
    pulse: int,
    amplitude_uv: float,
    width_ms: float,
    tau_ms: float,
) -> None:
    """Add one stimulus artefact to ``trace`` (in place) from sample ``pulse``: a plateau
    for the pulse width, then an exponential decay with time constant ``tau_ms``."""
    width = max(1, round(width_ms * rate / 1000))
    tau = tau_ms * rate / 1000
    stop = min(len(trace), pulse + width + round(12 * tau) + 1)
    if not 0 <= pulse < stop:
        return
    k = np.arange(stop - pulse)
    trace[pulse:stop] += amplitude_uv * np.exp(-np.maximum(k - width + 1, 0) / tau)


def add_step(trace: np.ndarray, rate: float, at: int, amplitude_uv: float, tau_ms: float) -> None:
    """Add a step of ``amplitude_uv`` at sample ``at`` recovering with ``tau_ms`` (in place;
    followed for 12 time constants, where it is below 10 ppm of the step)."""
    tau = tau_ms * rate / 1000
    stop = min(len(trace), at + round(12 * tau) + 1)
    if not 0 <= at < stop:
        return
    trace[at:stop] += amplitude_uv * np.exp(-np.arange(stop - at) / tau)


def clip(x: np.ndarray, rail_uv: float) -> np.ndarray:
    """The amplifier's input range: values beyond ``±rail_uv`` stick to the rail."""
    return np.clip(x, -rail_uv, rail_uv)


@dataclass(frozen=True, slots=True)
class Background:
    """The steady part of every channel: noise, hum and drift (models above).

    Attributes
    ----------
    noise_uv : float
        Background RMS in the 20 Hz-3 kHz band (white + 1/f).
    hum_uv : float
        Mains fundamental, zero-to-peak (harmonics :data:`HUM_HARMONICS` on top).
    mains_hz : float
        50 or 60.
    drift_uv : float
        RMS of the baseline wander.
    noise_corner_hz : float
        Corner of the 1/f part.
    """

    noise_uv: float = 3.0
    hum_uv: float = 0.0
    mains_hz: float = 50.0
    drift_uv: float = 30.0
    noise_corner_hz: float = 50.0

    def rms_uv(self) -> float:
        """RMS in the 20 Hz-3 kHz band, hum included (drift lies below the band)."""
        return float(np.hypot(self.noise_uv, hum_rms(self.hum_uv)))

    def render(self, n: int, rate: float, n_channels: int, rng: np.random.Generator) -> np.ndarray:
        """``(n, n_channels)`` of background; each channel its own realisation.

        Noise, hum and drift draw from separate streams, so that two backgrounds that
        differ in one level (the hum, say) differ by exactly that component.
        """
        r_noise, r_hum, r_drift = rng.spawn(3)
        out = np.empty((n, n_channels))
        for ch in range(n_channels):
            out[:, ch] = (
                background_noise(n, rate, self.noise_uv, r_noise, self.noise_corner_hz)
                + mains_hum(n, rate, self.hum_uv, r_hum, self.mains_hz)
                + baseline_wander(n, rate, self.drift_uv, r_drift)
            )
        return out
