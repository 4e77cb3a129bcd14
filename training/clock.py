"""The one clock of a training case: time since the instructor's Start.

The trainee's monitor and the instructor's console show the same clock, read at the same
sample (the newest on screen), in the same format: ``h:mm:ss`` as the monitor's status bar,
the console may add tenths. The instructor's pauses and jumps do not stop or move it (the
signal goes on); the scenario's own position is shown apart on the console. The debrief
and the live score give their moments on it too.
"""

from __future__ import annotations

from collections.abc import Callable

from simulation.scenario_engine import ScenarioEngine


def clock_text(samples: int, rate: float, tenths: bool = False) -> str:
    """``0:02:38`` (``0:02:38.6`` with ``tenths``) for a number of samples, rounded down:
    whole seconds as the monitor's status bar counts them, so the two never disagree."""
    samples = max(0, int(samples))
    if tenths:
        t = int(samples * 10 // rate)
        secs, tenth = divmod(t, 10)
    else:
        secs, tenth = int(samples // rate), 0
    h, rest = divmod(secs, 3600)
    m, s = divmod(rest, 60)
    text = f"{h:d}:{m:02d}:{s:02d}"
    return f"{text}.{tenth}" if tenths else text


def seconds_text(seconds: float, tenths: bool = False) -> str:
    """:func:`clock_text` of a time in seconds."""
    return clock_text(round(max(0.0, seconds) * 1000), 1000.0, tenths)


class CaseClock:
    """Time since the start of a scenario's case, at the sample on screen.

    ``now_index()`` gives the newest stream index the monitor shows (the session's
    ``status().end_index``); without it, the newest rendered. Any thread.
    """

    def __init__(self, engine: ScenarioEngine, now_index: Callable[[], int] | None = None):
        self.engine = engine
        self.now_index = now_index or (lambda: engine.truth().rendered_until)

    @property
    def waiting(self) -> bool:
        """The case waits for the instructor's Start."""
        return self.engine.waiting_for_start

    def samples(self, index: int | None = None) -> int:
        """Samples since the start at ``index`` (now if None); 0 while waiting."""
        started = self.engine.started_at
        if started is None:
            return 0
        return max(0, (self.now_index() if index is None else index) - started)

    def seconds(self, index: int | None = None) -> float:
        return self.samples(index) / self.engine.rate

    def text(self, index: int | None = None, tenths: bool = False) -> str:
        """``h:mm:ss`` (with ``tenths``: ``h:mm:ss.t``) since the start."""
        return clock_text(self.samples(index), self.engine.rate, tenths)
