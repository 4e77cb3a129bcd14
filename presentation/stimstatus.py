"""The stimulator's state in words and colours, for the strip always on the main screen.

``Stim ON 2.0 mA 0.2 ms 1 Hz — zygomatic — pulses arriving`` on green; ``Stim OFF``;
``PULSES NOT ARRIVING`` on the technical alarm's yellow when the stimulator is on but the
signal has carried no pulse for more than two pulse periods (a cable off, a device that
took the settings but does not stimulate). Whether pulses arrive is read from the stimulus
markers the blocks carry (:class:`monitor.block.StimMarker`), on the signal's own clock
(sample indices), so a slow screen never calls pulses missing that are on their way.

:class:`PulseWatch` is a session subscriber (acquisition thread); :func:`stim_status` and
:meth:`StimWatch.status` run on any thread. Nothing here imports Qt.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from monitor.block import Block, StimMarker
from monitor.stimulator import StimulatorSettings
from presentation import theme

#: Pulses not seen for more than this many pulse periods: not arriving.
MISSING_PERIODS = 2.0
#: Without settings to go by (a recording's pulses), arriving means one in this long.
UNCONTROLLED_WINDOW_S = 3.0


@dataclass(frozen=True, slots=True)
class StimStatus:
    """What the strip shows: ``state`` is ``"arriving"``, ``"waiting"`` (on, pulses not
    yet due), ``"not_arriving"``, ``"off"`` or ``"none"`` (nothing to say)."""

    state: str
    text: str
    background: str
    foreground: str

    @property
    def alarm(self) -> bool:
        return self.state == "not_arriving"


def current_text(ma: float) -> str:
    """``2.0 mA``, ``15.0 mA``, ``0.05 mA`` (triggered EMG uses hundredths)."""
    return f"{ma:.2f} mA" if 0 < ma < 1 else f"{ma:.1f} mA"


def settings_text(s: StimulatorSettings) -> str:
    """``2.0 mA 0.2 ms 1 Hz — zygomatic``."""
    return f"{current_text(s.current_ma)} {s.width_ms:g} ms {s.rate_hz:g} Hz — {s.site}"


def _status(state: str, text: str) -> StimStatus:
    background, foreground = theme.STIM_COLOURS[state]
    return StimStatus(state, text, background, foreground)


def stim_status(
    settings: StimulatorSettings | None,
    now_index: int,
    rate: float,
    last_pulse: StimMarker | None,
    since_index: int = 0,
) -> StimStatus:
    """The stimulator's state at signal index ``now_index``.

    Parameters
    ----------
    settings : StimulatorSettings or None
        What the stimulator was told (None: the source has no stimulator to set).
    now_index : int
        One past the newest sample of the signal.
    rate : float
        Sampling rate (Hz).
    last_pulse : StimMarker or None
        The newest pulse the signal carried.
    since_index : int
        When the settings took effect (switched on, changed): no pulse is due before
        ``MISSING_PERIODS`` periods after it.
    """
    last = None if last_pulse is None else last_pulse.index
    if settings is None:  # a recording's pulses, or none at all
        window = UNCONTROLLED_WINDOW_S * rate
        if last is not None and now_index - last <= window:
            site = f" — {last_pulse.site}" if last_pulse and last_pulse.site else ""
            return _status("arriving", f"Stimuli in the signal{site} — pulses arriving")
        return _status("none", "No stimulator")
    if not settings.on:
        return _status("off", "Stim OFF")
    head = f"Stim ON {settings_text(settings)}"
    due = MISSING_PERIODS * rate / settings.rate_hz  # samples
    if last is not None and now_index - last <= due:
        return _status("arriving", f"{head} — pulses arriving")
    if now_index - since_index <= due:
        return _status("waiting", f"{head} — waiting for pulses")
    return _status("not_arriving", f"{head} — PULSES NOT ARRIVING")


class PulseWatch:
    """The newest stimulus marker the signal carried: subscribe it to a session
    (``session.subscribe("Stimulator status", watch)``). Called on the acquisition thread;
    :meth:`last` from any thread. It holds no screen object, so it may outlive one."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last: StimMarker | None = None
        self.count = 0

    def __call__(self, block: Block, filtered: np.ndarray | None = None) -> None:
        if not block.stims:
            return
        newest = max(block.stims, key=lambda m: m.index)
        with self._lock:
            self.count += len(block.stims)
            if self._last is None or newest.index >= self._last.index:
                self._last = newest

    def last(self) -> StimMarker | None:
        with self._lock:
            return self._last


class StimWatch:
    """The stimulator's status over time: the pulses seen, and when the settings last
    changed (new settings give the device two periods before pulses are missed). Call
    :meth:`status` from one thread (the screen's)."""

    def __init__(self, pulses: PulseWatch | None = None) -> None:
        self.pulses = pulses or PulseWatch()
        self._settings: StimulatorSettings | None = None
        self._since = 0
        self._first = True

    def status(
        self, settings: StimulatorSettings | None, now_index: int, rate: float
    ) -> StimStatus:
        if self._first or settings != self._settings:
            self._settings, self._since, self._first = settings, now_index, False
        return stim_status(settings, now_index, rate, self.pulses.last(), self._since)
