"""One way to put the monitor's analysis on a session, for every front end.

The screen, ``--headless``, a replay, the training scenarios and ``analyze`` all attach
the same pipeline to their session: free-running monitoring (detectors, train time,
alarms, event log) and the evoked-response analysis (LSR), with the same settings and
the same wiring between them. A recording therefore gets one answer (the same events,
train time, alarms and LSR calls) whichever way it is run; only what is *kept* differs
(offline, every event and sweep; live, the bounded recent history).

Wiring done here, so that no front end can forget it:

- stimulation-delivery calls of the evoked analysis (``stimulation_lost`` /
  ``stimulation_restored``) raise and clear the technical alarm ``stimulation_lost``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from monitor.alarms import AlarmManager
from monitor.clock import signal_clock
from monitor.evoked import EvokedAnalyzer, EvokedSettings, LsrCall
from monitor.freerun import FreeRunSettings
from monitor.monitoring import FreeRunMonitoring
from monitor.session import Session

#: Evoked-analysis calls that are technical alarms, not information: kind -> raise/clear.
STIMULATION_LOST = "stimulation_lost"
STIMULATION_RESTORED = "stimulation_restored"

#: Live, the event log keeps this many finished events (offline: all of them).
LIVE_LOG_SIZE = 5000


@dataclass(frozen=True, slots=True)
class Pipeline:
    """A session with the monitor's analysis attached.

    Thread safety: the attributes are fixed after :func:`attach_pipeline`; each part
    states its own rules. :meth:`flush` on the thread that feeds the session.
    """

    session: Session
    monitoring: FreeRunMonitoring
    evoked: EvokedAnalyzer

    @property
    def alarms(self) -> AlarmManager:
        return self.monitoring.alarms

    def flush(self) -> None:
        """End of the stream (offline): finish open events and complete sweeps."""
        self.monitoring.flush()
        self.evoked.flush()


def attach_pipeline(
    session: Session,
    *,
    offline: bool = False,
    alarms: AlarmManager | None = None,
    freerun: FreeRunSettings | None = None,
    evoked: EvokedSettings | None = None,
) -> Pipeline:
    """Subscribe the monitor's analysis to an opened (not yet started) session.

    Parameters
    ----------
    session : Session
        Opened, so that its source's rate and labels are known; attach before
        ``session.start()`` (or before feeding it) so that no block is missed.
    offline : bool
        Keep every finished event and every sweep (``analyze``, scenario scoring);
        live keeps the recent history only. Detection is the same either way.
    alarms : AlarmManager, optional
        A new one with the default policies if not given.
    freerun, evoked : settings, optional
        The monitor's defaults if not given.
    """
    info = session.source.info
    monitoring = FreeRunMonitoring(
        session, alarms or AlarmManager(), freerun, log_size=None if offline else LIVE_LOG_SIZE
    )
    settings = evoked or EvokedSettings()
    if offline:
        settings = replace(settings, history=10**9)
    analyzer = EvokedAnalyzer(
        info.rate, info.labels, settings=settings, format_time=signal_clock(info.rate)
    )
    _route_stimulation_calls(analyzer, monitoring.alarms)
    session.subscribe("Evoked responses", analyzer)
    return Pipeline(session, monitoring, analyzer)


def _route_stimulation_calls(evoked: EvokedAnalyzer, alarms: AlarmManager) -> None:
    """Stimulation lost / restored become the technical alarm ``stimulation_lost``."""
    previous = evoked.on_call

    def on_call(call: LsrCall) -> None:
        if call.kind == STIMULATION_LOST:
            alarms.raise_condition(STIMULATION_LOST, call.text, call.reported_at)
        elif call.kind == STIMULATION_RESTORED:
            alarms.clear_condition(STIMULATION_LOST, call.reported_at)
        if previous is not None:
            previous(call)

    evoked.on_call = on_call
