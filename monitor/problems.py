"""Problems the monitor reports to the user, in words a clinician understands."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import Enum


class Severity(Enum):
    """How much a problem matters to the person watching the screen."""

    INFO = "info"  # the user may want to know (replay finished, signal back)
    WARNING = "warning"  # monitoring is degraded but goes on
    CRITICAL = "critical"  # monitoring has stopped or is unreliable


@dataclass(frozen=True, slots=True)
class Problem:
    """One message for the screen and the log.

    Attributes
    ----------
    severity : Severity
    text : str
        A plain sentence for the clinician.
    sample_index : int
        The stream position it refers to (the sample index is the clock).
    wall_time : float
        ``time.time()`` when it was raised.
    detail : str
        Technical detail for the log (exception type, traceback summary); not shown large.
    """

    severity: Severity
    text: str
    sample_index: int = 0
    wall_time: float = field(default_factory=time.time)
    detail: str = ""
