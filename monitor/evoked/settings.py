"""The evoked-response engine's settings and vocabulary (kinds of result, rejection reasons).

Every number here is the monitor's default; the sources are in ``docs/evoked.md`` and
docs/clinical.md §1 (LSR), §3 (triggered EMG) and §4 (artifacts).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

#: Disappearance criteria (docs/clinical.md §1).
CRITERIA = ("absent_k", "amplitude_pct", "threshold_doubled")
#: Kinds of sweep result.
KIND_LSR, KIND_DIRECT, KIND_ZL, KIND_TRIGGERED = "lsr", "direct", "zl", "triggered"

#: Why a channel's sweep was neither present nor absent (``SweepResult.rejected``).
REJECT_GAP = "gap"  # samples missing in the sweep
REJECT_NO_SIGNAL = "no pre-stimulus signal"  # too little signal before the pulse to judge
REJECT_SATURATION = "saturation"  # the amplifier clipped (samples held at a rail)
REJECT_MOVEMENT = "movement"  # a step or a huge slow swing of the raw signal
REJECT_CAUTERY = "cautery"  # broadband interference on most channels at once
REJECT_NOISY = "noisy"  # one channel far noisier than usual
REJECT_ACTIVITY = "spontaneous activity"  # EMG (an A-train, a burst) before or after the pulse
REJECT_ARTIFACT = "artifact"  # broadband interference on one channel after the pulse
REJECT_IMPLAUSIBLE = "implausible amplitude"  # far beyond physiology or the baseline
REJECT_REASONS = (
    REJECT_GAP,
    REJECT_NO_SIGNAL,
    REJECT_SATURATION,
    REJECT_MOVEMENT,
    REJECT_CAUTERY,
    REJECT_NOISY,
    REJECT_ACTIVITY,
    REJECT_ARTIFACT,
    REJECT_IMPLAUSIBLE,
)

#: Stimulation delivery, as the direct response of a sweep shows it (``Sweep.stimulation``).
STIM_OK = "ok"  # a control channel's direct response is at least stim_ok_pct of its baseline
STIM_LOST = "lost"  # below that on every judged control channel, and no LSR either
STIM_UNVERIFIED = "unverified"  # no direct response to compare with (no control, no baseline)


@dataclass(frozen=True)
class EvokedSettings:
    """Evoked-response settings; the defaults are the monitor's (sources in docs/evoked.md).

    Times are in ms after the pulse onset.

    Attributes
    ----------
    epoch_ms : (float, float)
        The sweep kept for display (:attr:`Sweep.epoch`).
    blank_ms : float
        Blanking after each pulse: replaced by a straight line before filtering, never
        analysed (docs/clinical.md §4: 0-3 ms).
    band_hz : (float or None, float or None)
        Band-pass applied to the blanked sweep (the monitor's display band).
    noise_ms, settle_ms : float
        Pre-stimulus stretch for the noise level (ending 0.5 ms before the pulse), and
        signal read before it so the filter has settled.
    lsr_window_ms, direct_window_ms, zl_window_ms, triggered_window_ms : (float, float)
        Response windows: LSR (~10 ms, docs/clinical.md §1 [D] 6-20 ms), the stimulated
        branch's own direct response, Z-L response (7.3 +/- 0.8 ms [15]), and triggered
        EMG from the nerve (direct responses ~5-6 ms [37]).
    windows_ms : mapping of str to (float, float)
        Per-channel LSR/Z-L window by label, overriding the defaults.
    auto_direct_ms, auto_direct_uv : float
        Site unknown: a response present between the blanking and ``auto_direct_ms``, and
        larger than ``auto_direct_uv`` (direct CMAPs are 0.2-0.7 mV, docs/clinical.md §3 [37];
        the tail of a stimulus artifact is tens of µV), marks the channel's sweep as a
        direct response (ipsilateral channels only: the stimulus reaches one nerve).
    k_noise, floor_uv : float
        Presence: window peak-to-peak above ``k_noise`` x pre-stimulus noise RMS and above
        ``floor_uv``. k = 8 keeps noise alone below it in > 99 % of windows (bench).
    onset_k, onset_frac, onset_lo_k, onset_pre_k, bridge_ms : float
        Onset: first crossing of ``max(onset_k x noise, onset_frac x the peak)`` (the main
        phase; a slow wander of the baseline rarely reaches it), then back to
        where the signal is within ``max(10 % of the peak, onset_lo_k x noise)`` of the
        baseline; a first phase up to ``bridge_ms`` before that, reaching
        ``onset_pre_k`` x noise, belongs to the response (see ``monitor.evoked.responses``).
    mains_hz : tuple of float
        Mains frequencies to look for; the analysis chooses one from the data and tracks
        its exact value (``monitor.mainshum``).
    hum_harmonics : int
        Mains harmonics fitted and removed from each sweep (0: no hum removal).
    hum_fit_ms : float
        The hum is fitted to the raw signal from this long before the pulse to the start
        of the noise stretch (a shorter fit carries more of the noise at the mains
        frequencies into the response window).
    noisy_factor, noisy_min_uv, noisy_uv : float
        Reject a channel's sweep whose noise is above ``noisy_factor`` x its usual level
        (median of recent sweeps) and above ``noisy_min_uv``, or above ``noisy_uv``.
    activity_k, activity_fraction : float
        Reject a channel's sweep whose pre-stimulus stretch has more than this fraction of
        samples beyond ``activity_k`` x its robust noise: spontaneous EMG (an A-train, a
        burst) that would also be in the response window.
    late_ms, late_fraction : float
        Reject a channel's sweep whose stretch from ``late_ms`` to the end of the sweep
        (after every response) has more than ``late_fraction`` of its samples beyond
        ``activity_k`` x the noise: activity that began after the pulse and lasts.
    hf_k, hf_fraction : float
        Broadband interference (cautery, docs/clinical.md §4): more than ``hf_fraction`` of
        the samples from the blanking to the end of the sweep (or of the pre-stimulus
        stretch) with a sample-to-sample step beyond ``hf_k`` x the channel's usual step.
        A response's steep phases last a few ms; cautery goes on.
    cautery_share : float
        Interference on at least this share of the channels (and on two at least) is
        cautery: every channel of that sweep is rejected (it appears on all at once).
    saturation_ms, saturation_min_uv : float
        Saturation: at least ``saturation_ms`` of samples held at the sweep's extreme
        value, that extreme at least ``saturation_min_uv`` from the median.
    movement_uv : float
        Movement: the 5 ms means of the raw signal move this far from the level before
        the pulse and stay there at the end of the sweep (a step), or swing twice this
        far anywhere in it (a huge slow artefact).
    lsr_ceiling_uv, direct_ceiling_uv, ceiling_factor : float
        Implausible amplitude: an LSR or Z-L response above ``lsr_ceiling_uv``, or above
        ``ceiling_factor`` x its baseline (and 1 mV); a direct response above
        ``direct_ceiling_uv``.
    stim_ok_pct : float
        Stimulation control: the stimulus reaches the nerve when a control channel's
        direct response is at least this % of its own baseline (50 %: a displaced needle
        that halves the direct response may leave the LSR below its threshold).
    stim_lost_k, stim_restored_n : int
        Consecutive sweeps with the stimulation lost before the ``stimulation_lost``
        call, and with it back before ``stimulation_restored``.
    average_n : int
        Average this many sweeps (same site and current) before measuring; 1 = off.
    criterion : str
        Disappearance criterion, one of :data:`CRITERIA`.
    absent_k : int
        K consecutive sweeps for ``absent_k`` and ``amplitude_pct``.
    amplitude_pct : float
        ``amplitude_pct``: below this % of baseline counts as gone (20 %, i.e. an 80 %
        reduction; some centres use 50 %, docs/clinical.md §1 [L]).
    threshold_factor : float
        ``threshold_doubled``: this many times the baseline threshold (2: "a rise of
        1-fold or more", [8]).
    reappear_n : int
        Consecutive sweeps with a baseline channel back before "reappeared".
    baseline_n : int
        Sweeps for the automatic baseline (and for a user-set one).
    baseline_margin : float
        Automatic baseline: a channel is watched only if its response was present in all
        but one baseline sweep and its median amplitude is this many times its presence
        level (a response at the edge of detection would soon seem to disappear).
    current_tolerance : float
        Currents within this fraction count as the same intensity.
    default_site : str
        Used for markers that do not say where they stimulated (trigger channel, detected).
    detect_stimuli : str
        Stimulus-artifact detection (:mod:`monitor.evoked.stimuli`): ``"auto"`` while no marker
        has been seen in the stream, ``"always"``, or ``"off"``.
    history : int
        Stimuli whose results are kept for the trends and ``results`` (live: two hours
        at 1 Hz, about 3 MB per channel; every measurement is also in the recording).
    """

    epoch_ms: tuple[float, float] = (-5.0, 50.0)
    blank_ms: float = 3.0
    band_hz: tuple[float | None, float | None] = (20.0, 3000.0)
    noise_ms: float = 40.0
    settle_ms: float = 50.0
    lsr_window_ms: tuple[float, float] = (6.0, 20.0)
    direct_window_ms: tuple[float, float] = (3.0, 20.0)
    zl_window_ms: tuple[float, float] = (5.0, 15.0)
    triggered_window_ms: tuple[float, float] = (3.0, 15.0)
    windows_ms: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    auto_direct_ms: float = 6.0
    auto_direct_uv: float = 100.0
    k_noise: float = 8.0
    floor_uv: float = 10.0
    onset_k: float = 4.0
    onset_frac: float = 0.5
    onset_lo_k: float = 2.0
    onset_pre_k: float = 3.0
    bridge_ms: float = 1.0
    mains_hz: tuple[float, ...] = (50.0, 60.0)
    hum_harmonics: int = 7
    hum_fit_ms: float = 240.0
    noisy_factor: float = 4.0
    noisy_min_uv: float = 10.0
    noisy_uv: float = 60.0
    activity_k: float = 4.0
    activity_fraction: float = 0.05
    late_ms: float = 30.0
    late_fraction: float = 0.3
    hf_k: float = 20.0
    hf_fraction: float = 0.25
    cautery_share: float = 0.5
    saturation_ms: float = 0.3
    saturation_min_uv: float = 300.0
    movement_uv: float = 1000.0
    lsr_ceiling_uv: float = 3000.0
    direct_ceiling_uv: float = 15000.0
    ceiling_factor: float = 10.0
    stim_ok_pct: float = 50.0
    stim_lost_k: int = 3
    stim_restored_n: int = 2
    average_n: int = 1
    criterion: str = "absent_k"
    absent_k: int = 5
    amplitude_pct: float = 20.0
    threshold_factor: float = 2.0
    reappear_n: int = 3
    baseline_n: int = 5
    baseline_margin: float = 1.5
    current_tolerance: float = 0.1
    default_site: str = ""
    detect_stimuli: str = "auto"
    history: int = 7_200

    def __post_init__(self) -> None:
        if self.criterion not in CRITERIA:
            raise ValueError(
                f"Disappearance criterion must be one of {', '.join(CRITERIA)}, "
                f"not {self.criterion!r}."
            )
        if self.detect_stimuli not in ("auto", "always", "off"):
            raise ValueError("Stimulus detection must be 'auto', 'always' or 'off'.")
        self._check_windows()
        self._check_numbers()

    def _check_windows(self) -> None:
        windows = [
            self.lsr_window_ms,
            self.direct_window_ms,
            self.zl_window_ms,
            self.triggered_window_ms,
            *self.windows_ms.values(),
        ]
        for lo, hi in windows:
            if not self.blank_ms <= lo < hi <= self.epoch_ms[1]:
                raise ValueError(
                    f"A response window ({lo:g}-{hi:g} ms) must lie between the blanking "
                    f"({self.blank_ms:g} ms) and the end of the sweep ({self.epoch_ms[1]:g} ms)."
                )
        if self.epoch_ms[0] >= 0 or self.epoch_ms[1] <= 0:
            raise ValueError("The sweep must start before the pulse and end after it.")

    def _check_numbers(self) -> None:
        counts = (self.absent_k, self.reappear_n, self.baseline_n)
        if min(counts) < 1 or self.stim_lost_k < 1 or self.stim_restored_n < 1:
            raise ValueError("Sweep counts must be at least 1.")
        if self.average_n < 1:
            raise ValueError("Averaging needs at least 1 sweep.")
        if not 0 < self.amplitude_pct < 100 or not 0 < self.stim_ok_pct < 100:
            raise ValueError("Amplitude criteria must be between 0 and 100 %.")
        if self.threshold_factor <= 1:
            raise ValueError("The threshold factor must be above 1.")
        if self.k_noise <= 0 or self.floor_uv < 0 or self.noise_ms < 2:
            raise ValueError("Presence needs a positive noise factor and >= 2 ms of noise.")
        if self.hum_harmonics < 0 or any(not 40.0 <= f <= 70.0 for f in self.mains_hz):
            raise ValueError("Mains frequencies must lie between 40 and 70 Hz.")
        if self.hum_harmonics and not self.mains_hz:
            raise ValueError("Hum removal needs at least one mains frequency.")
        if self.hum_fit_ms < self.noise_ms + 20.0:
            raise ValueError(
                "The hum needs at least 20 ms of signal before the noise stretch to be fitted."
            )

    def window(self, label: str, kind: str) -> tuple[float, float]:
        """The response window (ms) for a channel and a kind of response."""
        if kind == KIND_DIRECT:
            return self.direct_window_ms
        if kind == KIND_TRIGGERED:
            return self.triggered_window_ms
        if label in self.windows_ms:
            return self.windows_ms[label]
        return self.zl_window_ms if kind == KIND_ZL else self.lsr_window_ms

    def latest_window_end_ms(self) -> float:
        """The end of the latest response window (ms after the pulse)."""
        return max(
            self.lsr_window_ms[1],
            self.direct_window_ms[1],
            self.zl_window_ms[1],
            self.triggered_window_ms[1],
            *(w[1] for w in self.windows_ms.values()),
        )
