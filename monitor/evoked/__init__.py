"""Evoked responses: the lateral spread response (LSR), the Z-L response and triggered EMG.

One subscriber of the session, :class:`EvokedAnalyzer` (:mod:`monitor.evoked.analyzer`),
built from parts named after what they hold:

- :mod:`monitor.evoked.settings`: the settings and the vocabulary of kinds and calls;
- :mod:`monitor.evoked.stimuli`: finding the stimulus artifact and classifying the site;
- :mod:`monitor.evoked.sweep`: a sweep and its measured results;
- :mod:`monitor.evoked.responses`: the measurement of one response in its window;
- :mod:`monitor.evoked.tracker`: the baselines and the disappearance/reappearance calls;
- :mod:`monitor.evoked.ramp`: triggered-EMG thresholds from current ramps.

The names the rest of the program uses are importable from here.
"""

from monitor.evoked.analyzer import (
    CALL_ANALYSIS_OFF,
    MIN_RATE_HZ,
    EvokedAnalyzer,
    seconds_clock,
)
from monitor.evoked.ramp import ThresholdRamp, ramp_threshold
from monitor.evoked.settings import (
    KIND_DIRECT,
    KIND_LSR,
    KIND_TRIGGERED,
    KIND_ZL,
    STIM_LOST,
    STIM_OK,
    EvokedSettings,
)
from monitor.evoked.sweep import STIM_RESPONSE_COLUMNS, Sweep, SweepResult
from monitor.evoked.tracker import (
    CALL_DISAPPEARED,
    CALL_REAPPEARED,
    CALL_STIMULATION_LOST,
    CALL_STIMULATION_RESTORED,
    DirectBaseline,
    LsrBaseline,
    LsrCall,
)

__all__ = [
    "CALL_ANALYSIS_OFF",
    "CALL_DISAPPEARED",
    "CALL_REAPPEARED",
    "CALL_STIMULATION_LOST",
    "CALL_STIMULATION_RESTORED",
    "KIND_DIRECT",
    "KIND_LSR",
    "KIND_TRIGGERED",
    "KIND_ZL",
    "MIN_RATE_HZ",
    "STIM_LOST",
    "STIM_OK",
    "STIM_RESPONSE_COLUMNS",
    "DirectBaseline",
    "EvokedAnalyzer",
    "EvokedSettings",
    "LsrBaseline",
    "LsrCall",
    "Sweep",
    "SweepResult",
    "ThresholdRamp",
    "ramp_threshold",
    "seconds_clock",
]
