"""One stimulus as the evoked-response engine saw it: every channel's result and the sweep.

Also the rows of ``stim_responses.csv`` (the ``analyze`` contract, DESIGN.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from monitor.block import StimMarker

#: The columns of ``stim_responses.csv`` (DESIGN.md): the five of the first contract, then
#: ``rejected`` (empty, or why the sweep was neither present nor absent).
STIM_RESPONSE_COLUMNS = (
    "stim_onset_s",
    "channel",
    "present",
    "latency_ms",
    "amplitude_uv",
    "rejected",
)


@dataclass(frozen=True, slots=True)
class SweepResult:
    """One channel's response to one stimulus.

    Attributes
    ----------
    stim_number : int
        1-based count of the stimuli analysed.
    stim_index : int
        Absolute sample index of the pulse.
    channel : int
    label : str
    kind : str
        ``"lsr"``, ``"direct"`` (the stimulated branch's own muscle), ``"zl"`` or
        ``"triggered"``.
    present : bool
    latency_ms : float or None
        Response onset after the pulse (None when absent).
    amplitude_uv : float or None
        Peak-to-peak in the response window (None when absent).
    area_uv_ms : float or None
        Rectified area of the response from onset to its end.
    peak_latency_ms : float or None
        Latency of the largest deflection.
    window_ptp_uv : float
        Peak-to-peak in the window, present or not (NaN when rejected).
    noise_uv : float
        Pre-stimulus noise RMS (robust), after the mains hum was removed.
    level_uv : float
        The presence level used (``max(k_noise x noise, floor_uv)``).
    current_ma, site :
        From the marker (``nan`` / ``""`` when unknown).
    n_averaged : int
        Sweeps averaged for this result.
    rejected : str
        ``""``, or why the channel's sweep could not be judged (one of
        ``monitor.evoked.settings.REJECT_REASONS``: ``"cautery"``, ``"saturation"``,
        ``"movement"``, ``"spontaneous activity"``, ``"gap"`` ...); a rejected sweep is
        neither present nor absent.
    hum_uv : float
        Amplitude of the mains hum removed from this channel's sweep (µV, 0 when none).
    """

    stim_number: int
    stim_index: int
    channel: int
    label: str
    kind: str
    present: bool
    latency_ms: float | None
    amplitude_uv: float | None
    area_uv_ms: float | None
    peak_latency_ms: float | None
    window_ptp_uv: float
    noise_uv: float
    level_uv: float
    current_ma: float = float("nan")
    site: str = ""
    n_averaged: int = 1
    rejected: str = ""
    hum_uv: float = 0.0

    @property
    def judged(self) -> bool:
        return not self.rejected


@dataclass(frozen=True)
class Sweep:
    """One stimulus: its marker, every channel's result and the sweep for display.

    ``epoch`` is ``(n, channels)`` µV (mains hum removed, blanked, band-passed; averaged
    when averaging), its first sample ``first_ms`` after the pulse. ``stimulation`` says
    whether the direct response showed that the stimulus reached the nerve (``"ok"``,
    ``"lost"``, ``"unverified"``; ``""`` outside LSR mode), ``mains_hz`` the mains
    frequency whose hum was removed (0 when none).
    """

    marker: StimMarker
    stim_number: int
    mode: str
    results: tuple[SweepResult, ...]
    epoch: np.ndarray
    first_ms: float
    rate: float
    stimulation: str = ""
    mains_hz: float = 0.0

    def times_ms(self) -> np.ndarray:
        return self.first_ms + np.arange(len(self.epoch)) * 1000.0 / self.rate

    def rejected(self) -> dict[int, str]:
        """Channel -> reason, for the channels rejected in this sweep."""
        return {r.channel: r.rejected for r in self.results if r.rejected}


def rejected_result(common: dict, kind: str, why: str, noise: float) -> SweepResult:
    """A channel's sweep that could not be judged."""
    return SweepResult(
        kind=kind,
        present=False,
        latency_ms=None,
        amplitude_uv=None,
        area_uv_ms=None,
        peak_latency_ms=None,
        window_ptp_uv=float("nan"),
        noise_uv=noise,
        level_uv=float("nan"),
        rejected=why,
        **common,
    )


def stim_response_rows(
    results: Iterable[SweepResult], rate: float, extra: bool = False
) -> list[list[str]]:
    """Rows for ``stim_responses.csv`` (:data:`STIM_RESPONSE_COLUMNS`): one per stimulus
    and channel; latency and amplitude empty when absent. A rejected sweep is written
    ``present=0`` with empty latency and amplitude and its reason in ``rejected``.
    ``extra`` appends ``kind``."""
    rows = []
    for r in results:
        row = [
            f"{r.stim_index / rate:.4f}",
            r.label,
            "1" if r.present else "0",
            "" if r.latency_ms is None else f"{r.latency_ms:.2f}",
            "" if r.amplitude_uv is None else f"{r.amplitude_uv:.1f}",
            r.rejected,
        ]
        if extra:
            row.append(r.kind)
        rows.append(row)
    return rows
