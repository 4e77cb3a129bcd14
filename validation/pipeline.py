"""The monitor's own offline pipeline, run over a validation source.

Assembled as ``main.py analyze`` assembles it: a :class:`~monitor.session.Session` on the
source with the shared :func:`monitor.pipeline.attach_pipeline` (free-run monitoring and
the evoked analysis, offline: every event and sweep kept), every block through
``session.process``, then ``flush``. Besides the final events it keeps every report a
listener hears (the first report of an A-train gives the detection latency).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from monitor.events import EmgEvent
from monitor.evoked import LsrCall, SweepResult
from monitor.pipeline import attach_pipeline
from monitor.problems import Severity
from monitor.session import Session
from monitor.source import EndOfStream, Source


@dataclass(frozen=True, eq=False)
class MonitorRun:
    """What the monitor said about one signal.

    Attributes
    ----------
    events : list of EmgEvent
        Final reports (``monitoring.events()``).
    reports : list of EmgEvent
        Every report in order (ongoing and final; one ``id`` reported several times).
    traintime_s : list of float
        Train time per channel at the end.
    sweeps : list of SweepResult
    lsr_summary : dict
    calls : list of LsrCall
    seconds : float
        Signal length.
    wall_s : float
        Time the pipeline took.
    problems : list of str
        Warnings and critical problems the session reported (a detector that raised
        and was switched off says so here), with when and their technical detail.
    alarm_transitions : list
        Every alarm state change (``AlarmManager.transitions_since(0)``), oldest first.
    """

    events: list[EmgEvent]
    reports: list[EmgEvent]
    traintime_s: list[float]
    sweeps: list[SweepResult]
    lsr_summary: dict
    calls: list[LsrCall]
    seconds: float
    wall_s: float
    problems: list[str]
    alarm_transitions: list = field(default_factory=list)


def run_monitor(source: Source) -> MonitorRun:
    """Run the monitor over ``source`` (unopened) as fast as it goes, as ``analyze`` does."""
    session = Session(source)
    session.open()
    info = source.info
    pipeline = attach_pipeline(session, offline=True)
    monitoring, evoked = pipeline.monitoring, pipeline.evoked
    reports: list[EmgEvent] = []
    monitoring.add_listener(reports.append)
    t0 = time.perf_counter()
    try:
        while True:
            block = source.read()
            if block is not None:
                session.process(block)
    except EndOfStream:
        pass
    finally:
        source.close()
    pipeline.flush()
    wall = time.perf_counter() - t0
    return MonitorRun(
        events=monitoring.events(),
        reports=reports,
        traintime_s=monitoring.traintime.seconds(),
        sweeps=evoked.results(),
        lsr_summary=evoked.lsr_summary(),
        calls=evoked.calls(),
        seconds=session.status().end_index / info.rate,
        wall_s=wall,
        problems=[
            f"at {p.sample_index / info.rate:.2f} s: {p.text}"
            + (f" [{p.detail}]" if p.detail else "")
            for p in session.problems
            if p.severity is not Severity.INFO
        ],
        alarm_transitions=pipeline.alarms.transitions_since(0)[1],
    )
