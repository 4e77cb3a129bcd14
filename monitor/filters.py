"""The causal, stateful filter chain applied to every block before display and detection."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
from scipy import signal


class FilterSettingsError(ValueError):
    """A filter setting that cannot work at this sampling rate (message is user-facing)."""


@dataclass(frozen=True, slots=True)
class FilterSettings:
    """Band-pass and optional mains notch.

    Defaults follow needle facial EMG practice (docs/clinical.md §2): 20 Hz high-pass removes
    electrode drift, 3 kHz low-pass keeps the fast components of motor-unit potentials.
    The notch is off by default because it rings and distorts waveforms.
    """

    highpass_hz: float | None = 20.0
    lowpass_hz: float | None = 3000.0
    order: int = 2  # per edge; Butterworth
    notch_hz: float | None = None  # 50 or 60
    notch_q: float = 30.0

    def describe(self) -> str:
        hp = f"{self.highpass_hz:g} Hz" if self.highpass_hz else "DC"
        lp = f"{self.lowpass_hz:g} Hz" if self.lowpass_hz else "Nyquist"
        notch = f", notch {self.notch_hz:g} Hz" if self.notch_hz else ""
        return f"{hp} – {lp}{notch}"


def _check_numbers(settings: FilterSettings) -> None:
    values = (
        ("High-pass", settings.highpass_hz),
        ("Low-pass", settings.lowpass_hz),
        ("Notch", settings.notch_hz),
        ("Notch quality", settings.notch_q),
    )
    for name, value in values:
        if value is not None and not (math.isfinite(value) and value > 0):
            raise FilterSettingsError(f"{name} must be a positive number, not {value!r}.")
    if settings.order < 1 or settings.order > 8:
        raise FilterSettingsError(f"Filter order must be 1 to 8, not {settings.order}.")


def design_sos(settings: FilterSettings, rate: float) -> tuple[np.ndarray, list[str]]:
    """Return second-order sections for ``settings`` at ``rate`` and notes on adjustments.

    Raises
    ------
    FilterSettingsError
        When the settings make no sense (high-pass above low-pass, notch above Nyquist).
    """
    nyq = rate / 2.0
    notes: list[str] = []
    hp, lp = settings.highpass_hz, settings.lowpass_hz
    _check_numbers(settings)
    if lp is not None and lp >= 0.95 * nyq:
        new_lp = round(0.9 * nyq, 1)
        notes.append(
            f"Low-pass {lp:g} Hz is too close to half the sampling rate ({nyq:g} Hz); "
            f"using {new_lp:g} Hz."
        )
        lp = new_lp
    if hp is not None and hp >= 0.9 * nyq:
        raise FilterSettingsError(
            f"High-pass {hp:g} Hz is too high for a sampling rate of {rate:g} Hz."
        )
    if hp is not None and lp is not None and hp >= lp:
        raise FilterSettingsError(f"High-pass ({hp:g} Hz) must be below low-pass ({lp:g} Hz).")
    sections = []
    if hp is not None and lp is not None:
        sections.append(signal.butter(settings.order, [hp, lp], "bandpass", fs=rate, output="sos"))
    elif hp is not None:
        sections.append(signal.butter(settings.order, hp, "highpass", fs=rate, output="sos"))
    elif lp is not None:
        sections.append(signal.butter(settings.order, lp, "lowpass", fs=rate, output="sos"))
    if settings.notch_hz:
        if settings.notch_hz >= nyq:
            raise FilterSettingsError(
                f"Notch {settings.notch_hz:g} Hz is above half the sampling rate ({nyq:g} Hz)."
            )
        b, a = signal.iirnotch(settings.notch_hz, settings.notch_q, fs=rate)
        sections.append(signal.tf2sos(b, a))
    if not sections:
        return np.array([[1.0, 0, 0, 1.0, 0, 0]]), notes
    return np.vstack(sections), notes


def _checked_sos_loop() -> Callable[..., None] | None:
    """SciPy's own filter loop (``sosfilt`` runs it on every signal after checking, moving
    and copying its arguments into its layout: channels along rows, the state as
    channels x sections x 2), if this SciPy has it and it still does what ``sosfilt``
    does. A private function: checked once against the public one on a small signal, so
    that another SciPy falls back to ``sosfilt`` instead of failing mid-case."""
    try:
        from scipy.signal._sosfilt import _sosfilt as loop

        # Three channels, two sections, a different state in every slot: the samples and
        # the final state (what carries to the next block) must both be sosfilt's.
        sos = signal.butter(2, [0.05, 0.4], "bandpass", output="sos")
        x = np.sin(np.arange(64.0))[None, :] * np.array([[1.0], [-3.0], [0.5]])
        zi = np.arange(1.0, 1.0 + 3 * len(sos) * 2).reshape(3, len(sos), 2) / 7.0
        want, zf = signal.sosfilt(sos, x, axis=-1, zi=zi.transpose(1, 0, 2))
        got, state = x.copy(), zi.copy()
        loop(np.ascontiguousarray(sos), got, state)
        ok = np.array_equal(got, want) and np.array_equal(state, zf.transpose(1, 0, 2))
        return loop if ok else None
    except Exception:  # any surprise: the public function instead
        return None


#: SciPy's filter loop ``(sos, x, zi)``, in place, or None (use ``signal.sosfilt``).
SOS_LOOP = _checked_sos_loop()


def sos_filter_rows(sos: np.ndarray, x: np.ndarray, zi: np.ndarray) -> np.ndarray:
    """Filter each row of ``x`` (channels x samples, float64) by ``sos`` from the states
    ``zi`` (channels x sections x 2, float64, C-ordered), as ``signal.sosfilt(sos, x,
    axis=-1, zi=...)`` does, bit for bit; the final states are left in ``zi``. Returns the
    filtered rows: use the returned array (``x`` may or may not be overwritten).

    The loop checks nothing (a state of the wrong shape would read and write past it):
    shapes, types and order are checked here, on either path, and a mismatch is a
    ``ValueError`` as with ``sosfilt``.
    """
    sections = len(sos)
    if x.ndim != 2 or zi.shape != (x.shape[0], sections, 2) or sos.shape != (sections, 6):
        raise ValueError(
            f"Filter state {zi.shape} does not fit {x.shape[0]} channels and {sections} sections."
        )
    if x.dtype != np.float64 or zi.dtype != np.float64:
        raise ValueError("The filter takes double-precision samples and states.")
    if not zi.flags.c_contiguous:
        raise ValueError("The filter state must be one C-ordered array (it is updated).")
    if SOS_LOOP is None:
        y, zf = signal.sosfilt(sos, x, axis=-1, zi=zi.transpose(1, 0, 2))
        zi[...] = zf.transpose(1, 0, 2)
        return y
    x = np.ascontiguousarray(x)
    SOS_LOOP(np.ascontiguousarray(sos, dtype=np.float64), x, zi)
    return x


class FilterChain:
    """Causal IIR filtering with persistent state, so block boundaries do not matter.

    The output of ``process`` over any partition of a stream equals filtering the whole
    stream at once (within float32 rounding): the state ``zi`` carries over.

    Thread safety: ``process`` and ``reset`` belong to the acquisition thread.
    ``set_settings`` and ``settings`` may be called from any thread; a new setting takes
    effect at the next block, without stopping the stream.
    """

    def __init__(self, rate: float, n_channels: int, settings: FilterSettings | None = None):
        self.rate = float(rate)
        self.n_channels = n_channels
        self._lock = threading.Lock()
        self._pending: FilterSettings | None = None
        self._settings = settings or FilterSettings()
        self._sos, self.notes = design_sos(self._settings, self.rate)
        self._zi: np.ndarray | None = None

    @property
    def settings(self) -> FilterSettings:
        with self._lock:
            return self._pending or self._settings

    @property
    def sos(self) -> np.ndarray:
        return self._sos

    def set_settings(self, settings: FilterSettings | None = None, **changes: object) -> list[str]:
        """Validate and queue new settings; return notes on adjustments made.

        Raises :class:`FilterSettingsError` (and keeps the current settings) when invalid.
        """
        new = replace(settings or self.settings, **changes)  # type: ignore[arg-type]
        _, notes = design_sos(new, self.rate)  # validate now, in the caller's thread
        with self._lock:
            self._pending = new
        return notes

    def reset(self) -> None:
        """Forget the state (after a gap the signal is discontinuous)."""
        self._zi = None

    def _apply_pending(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, None
        if pending is not None:
            self._settings = pending
            self._sos, self.notes = design_sos(pending, self.rate)
            self._zi = None

    def process(self, data: np.ndarray) -> np.ndarray:
        """Filter ``data`` (``[n, channels]`` float32) and return float32 of the same shape."""
        if self._pending is not None:
            self._apply_pending()
        if data.shape[0] == 0:
            return data.copy()
        if self._zi is None:
            # Start in the steady state of the first sample: no step transient from DC.
            # The state is kept as SciPy's loop holds it: channels x sections x 2.
            zi0 = signal.sosfilt_zi(self._sos)  # (sections, 2)
            self._zi = (zi0[None, :, :] * data[0][:, None, None]).astype(np.float64)
        # What sosfilt does along the first axis, without its checks and layout moves
        # around the loop on every block: the same loop on the same float64 copy.
        x = np.array(data.T, dtype=np.float64, order="C")
        return sos_filter_rows(self._sos, x, self._zi).T.astype(np.float32)
