"""The stimulator's settings as the screen sets them, checked before they go to a device.

Ranges (docs/clinical.md §1, §3): LSR stimulation is ~5-25 mA, 0.1-0.3 ms, 0.5-2 Hz; the Z-L
response 2 mA x 0.2 ms; triggered EMG 0.05-2 mA. The limits below allow all of these and
refuse what no facial-nerve protocol uses (a typing slip of 250 mA must not reach a
patient).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

MAX_CURRENT_MA = 30.0
WIDTH_MS = (0.05, 1.0)
RATE_HZ = (0.1, 10.0)
#: Stimulation sites a device knows (the protocol's list); "probe" is the hand-held probe.
SITES = ("zygomatic", "temporal", "buccal", "marginal mandibular", "cervical", "Z-L", "probe")


class StimulatorError(ValueError):
    """Settings that must not reach the stimulator; ``str()`` is a sentence."""


@dataclass(frozen=True, slots=True)
class StimulatorSettings:
    """Current (mA), pulse width (ms), rate (Hz), site, and whether it stimulates."""

    current_ma: float = 15.0
    width_ms: float = 0.2
    rate_hz: float = 1.0
    site: str = "zygomatic"
    on: bool = True

    def __post_init__(self) -> None:
        if not (math.isfinite(self.current_ma) and 0 <= self.current_ma <= MAX_CURRENT_MA):
            raise StimulatorError(
                f"The stimulus current must be 0 to {MAX_CURRENT_MA:g} mA, "
                f"not {self.current_ma:g} mA."
            )
        lo, hi = WIDTH_MS
        if not (math.isfinite(self.width_ms) and lo <= self.width_ms <= hi):
            raise StimulatorError(
                f"The pulse width must be {lo:g} to {hi:g} ms, not {self.width_ms:g} ms."
            )
        lo, hi = RATE_HZ
        if not (math.isfinite(self.rate_hz) and lo <= self.rate_hz <= hi):
            raise StimulatorError(
                f"The stimulation rate must be {lo:g} to {hi:g} Hz, not {self.rate_hz:g} Hz."
            )
        if self.site not in SITES:
            raise StimulatorError(
                f"Unknown stimulation site {self.site!r}; choose one of {', '.join(SITES)}."
            )

    def describe(self) -> str:
        if not self.on:
            return "stimulator off"
        return f"{self.current_ma:g} mA, {self.width_ms:g} ms, {self.rate_hz:g} Hz, {self.site}"
