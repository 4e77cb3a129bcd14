"""The case: one source at a time, the monitor's analysis on it, its recording, its
settings and its notes; the same object behind the screen, headless, the training
scenarios and ``analyze``.

:func:`open_case` is the one place where a source description becomes a running
pipeline (source, session, free-run monitoring, evoked analysis, alarms and, if asked,
the recording). A front end is a view of a :class:`CaseModel`: the window draws it and
sends the operator's actions to it (record, note, acknowledge, reset train time, take
the LSR baseline, change the settings, switch the source); headless prints it. The model
imports no Qt and no driver: sources come from their descriptions
(:class:`monitor.source.SourceDescription`, e.g. :mod:`drivers.sources`).

Switching the source is an operation of the model in two halves, so that a screen can
stay live while a port takes seconds to answer: :meth:`CaseModel.open` opens the new
pipeline (blocking, touches nothing of the case), :meth:`CaseModel.adopt` moves the case
onto it (quick): the settings, the train time of the same channels and the recording go
on, what cannot go on is said in the notes and the recording, and the old source stops.
:meth:`CaseModel.switch_source` does both.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from monitor.alarms import AlarmManager, AlarmPolicy
from monitor.evoked import EvokedAnalyzer, EvokedSettings
from monitor.filters import FilterSettings, FilterSettingsError
from monitor.freerun import FreeRunSettings
from monitor.monitoring import FreeRunMonitoring
from monitor.pipeline import Pipeline, attach_pipeline
from monitor.recorder import Recorder, RecorderError, default_recording_path
from monitor.session import Session
from monitor.source import Capabilities, SourceDescription, SourceError

if TYPE_CHECKING:
    from monitor.casesetup import CaseSetup
    from monitor.monitorsettings import MonitorSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CaseNote:
    """A line for the case's log: something the operator did or the case went through.

    ``source_no`` counts the sources of the case (0 for the first), ``index`` is the
    sample index on that source's stream, ``channel`` a channel label or "".
    """

    source_no: int
    index: int
    seconds: float
    channel: str
    text: str


@dataclass(frozen=True, slots=True)
class Opened:
    """A pipeline opened for a description, not yet the case's (:meth:`CaseModel.adopt`)."""

    description: SourceDescription
    pipeline: Pipeline
    #: Why the case's filters could not be kept on this source ("" when they were).
    filters_refused: str = ""

    def discard(self) -> None:
        """Stop it (the case did not move to it)."""
        self.pipeline.session.stop()


def open_pipeline(
    description: SourceDescription,
    *,
    filters: FilterSettings | None = None,
    offline: bool = False,
    alarms: AlarmManager | None = None,
    freerun: FreeRunSettings | None = None,
    evoked: EvokedSettings | None = None,
) -> Pipeline:
    """Make the described source, open its session and attach the analysis; not started.

    Raises :class:`SourceError` or ``ValueError`` (``FilterSettingsError`` among them)
    with a sentence; nothing is left open then. Any thread.
    """
    # Offline nothing reads the raw ring buffer (the report's figures are filtered).
    session = Session(description.make(), filters or FilterSettings(), keep_raw=not offline)
    session.open()
    try:
        return attach_pipeline(
            session, offline=offline, alarms=alarms, freerun=freerun, evoked=evoked
        )
    except BaseException:
        session.stop()
        raise


def open_case(
    description: SourceDescription,
    *,
    filters: FilterSettings | None = None,
    offline: bool = False,
    alarms: AlarmManager | None = None,
    freerun: FreeRunSettings | None = None,
    evoked: EvokedSettings | None = None,
    record_folder: str | Path = "recordings",
    case_id: str = "",
    record: bool = False,
    start: bool = True,
) -> CaseModel:
    """The one factory of a case, for every front end.

    Parameters
    ----------
    description : SourceDescription
        Where the signal comes from (:mod:`drivers.sources`).
    filters, freerun, evoked, alarms : optional
        The monitor's defaults if not given.
    offline : bool
        Keep every event and sweep (``analyze``, scenario scoring), and no raw ring
        buffer (nothing reads it there).
    record_folder, case_id :
        Where and under which case id recordings are made.
    record : bool
        Start recording before the first block (``--record``).
    start : bool
        Start acquisition (a thread); False for a front end that feeds the session
        itself (``analyze`` reads the file as fast as it can).

    Raises :class:`SourceError`, ``ValueError`` or ``RecorderError`` with a sentence; the
    source is closed again then.
    """
    pipeline = open_pipeline(
        description, filters=filters, offline=offline, alarms=alarms, freerun=freerun, evoked=evoked
    )
    case = CaseModel(pipeline, description, record_folder=record_folder, case_id=case_id)
    try:
        if record:
            case.start_recording()
        if start:
            pipeline.session.start()
    except BaseException:
        case.close()
        raise
    return case


class CaseModel:
    """A monitored case (see the module's docstring).

    Thread safety: the operations (recording, notes, settings, source switch, close) are
    called from one control thread (the GUI thread, or headless the main thread), except
    :meth:`open`, which may run on a worker thread while the case goes on. The readers
    (:meth:`notes_since`, :meth:`seconds_of`, the parts' own readers) are thread-safe.
    """

    def __init__(
        self,
        pipeline: Pipeline,
        description: SourceDescription | None,
        *,
        record_folder: str | Path = "recordings",
        case_id: str = "",
    ) -> None:
        self.pipeline = pipeline
        self.description = description
        self.record_folder = record_folder
        self.case_id = case_id
        #: The case set up on screen (:class:`~monitor.casesetup.CaseSetup`), if any.
        self.setup: CaseSetup | None = None
        self.recorder: Recorder | None = None
        self.source_no = 0
        self._notes: list[CaseNote] = []
        self._notes_lock = threading.Lock()
        self._adopt_listeners: list[Callable[[Pipeline], None]] = []

    @classmethod
    def on_session(
        cls,
        session: Session,
        *,
        monitoring: FreeRunMonitoring | None = None,
        evoked: EvokedAnalyzer | None = None,
        record_folder: str | Path = "recordings",
        case_id: str = "",
    ) -> CaseModel:
        """A case on a session opened by hand (tests, benches, tools): the monitor's
        pipeline is attached unless given. With no description it cannot be reopened with
        a montage or switched."""
        if monitoring is None or evoked is None:
            attached = attach_pipeline(session)
            monitoring = monitoring or attached.monitoring
            evoked = evoked or attached.evoked
        return cls(
            Pipeline(session, monitoring, evoked),
            None,
            record_folder=record_folder,
            case_id=case_id,
        )

    # -- the parts -------------------------------------------------------------------------
    @property
    def session(self) -> Session:
        return self.pipeline.session

    @property
    def monitoring(self) -> FreeRunMonitoring:
        return self.pipeline.monitoring

    @property
    def evoked(self) -> EvokedAnalyzer:
        return self.pipeline.evoked

    @property
    def alarms(self) -> AlarmManager:
        return self.pipeline.alarms

    @property
    def capabilities(self) -> Capabilities:
        return self.session.source.info.capabilities

    @property
    def recording(self) -> bool:
        """A recording is running (not stopped by a disk error)."""
        return self.recorder is not None and not self.recorder.failed

    def now_index(self) -> int:
        """The sample index of the newest sample. Thread-safe."""
        return self.session.status().end_index

    def seconds_of(self, index: int) -> float:
        """Recording time of a sample index: a replay that jumped maps it to the file's
        own time. Thread-safe."""
        source = self.session.source
        rate = source.info.rate
        if source.info.capabilities.seekable:
            return source.recording_index(index) / rate  # type: ignore[attr-defined]
        return index / rate

    # -- notes -------------------------------------------------------------------------------
    def note(self, text: str, channel: str = "", index: int | None = None) -> CaseNote:
        """Add a line to the case's log (at ``index``, default now)."""
        at = self.now_index() if index is None else index
        entry = CaseNote(self.source_no, at, self.seconds_of(at), channel, text)
        with self._notes_lock:
            self._notes.append(entry)
        return entry

    def notes_since(self, seen: int) -> tuple[int, list[CaseNote]]:
        """Notes after the first ``seen``, and the new count. Thread-safe."""
        with self._notes_lock:
            return len(self._notes), self._notes[seen:]

    def add_note(self, text: str, index: int | None = None) -> None:
        """The operator's note, kept in the log and in the recording at ``index``."""
        at = self.now_index() if index is None else index
        text = text.strip()
        if self.recorder is not None:
            self.recorder.annotate(at, f"note: {text}")
        self.note(f"Note: {text}", index=at)

    # -- recording ---------------------------------------------------------------------------
    def start_recording(self) -> Path:
        """Record from the next block on into the case's folder, BDF+ for a 24-bit source,
        with the set-up case's header. Raises ``RecorderError`` with a sentence."""
        from monitor.caserecording import record_case

        bits = self.capabilities.bits
        path = default_recording_path(self.record_folder, self.case_id, bits)
        setup = self.setup
        self.recorder = record_case(
            self.session,
            self.monitoring,
            self.evoked,
            path,
            self.case_id,
            header=setup.edf_header() if setup is not None else None,
            start_note=setup.recording_note() if setup is not None else "",
        )
        self.note(f"Recording to {path}")
        return Path(path)

    def stop_recording(self) -> Path | None:
        """Close the recording (kept as it is); its path, or None when none ran."""
        rec, self.recorder = self.recorder, None
        if rec is None:
            return None
        self.session.unsubscribe(rec)
        rec.close()
        self.note(f"Recording stopped: {rec.path}")
        return Path(rec.path)

    def toggle_recording(self) -> None:
        """Stop the running recording, or start one (``RecorderError`` if it cannot)."""
        if self.recording:
            self.stop_recording()
        else:
            self.start_recording()

    # -- the operator's actions --------------------------------------------------------------
    def acknowledge(self) -> None:
        """Acknowledge every active or latched alarm."""
        self.alarms.acknowledge(None, self.now_index())

    def toggle_alarm_pause(self) -> bool:
        """Pause the alarm sound for the pause time, or resume it; True when now paused."""
        at = self.now_index()
        if self.alarms.audio_paused_remaining() > 0:
            self.alarms.resume_audio()
            self.note("Alarm sound resumed")
            self._record_alarm_action(at, "alarm audio resumed")
            return False
        self.alarms.pause_audio()
        left = math.ceil(self.alarms.audio_paused_remaining())
        self.note(f"Alarm sound paused for {left // 60}:{left % 60:02d}")
        # In the recording too, as acknowledgements are: the signed report lists both.
        self._record_alarm_action(at, f"alarm audio paused for {left // 60}:{left % 60:02d}")
        return True

    def _record_alarm_action(self, index: int, text: str) -> None:
        if self.recorder is not None:
            self.recorder.annotate(index, text)

    def set_lsr_baseline(self) -> None:
        """Take the LSR baseline now; ``ValueError`` (a sentence) when it cannot."""
        self.evoked.set_baseline()

    def reset_train_time(self, reason: str, channel: int | None) -> None:
        """Reset one channel's train time (None: all) with the reason for the record;
        ``ValueError`` when no reason is given."""
        if not reason.strip():
            raise ValueError("a reason is needed")
        index = self.now_index()
        r = self.monitoring.reset_traintime(reason, channel, index)
        self.note(
            f"Train time reset (was {r.seconds_before:.1f} s): {r.reason}",
            "all channels" if channel is None else self.monitoring.label(channel),
            index,
        )

    # -- settings ----------------------------------------------------------------------------
    def put_settings(
        self,
        *,
        filters: FilterSettings | None,
        detection: FreeRunSettings,
        thresholds_s: tuple[float, float],
        policies: Mapping[str, AlarmPolicy],
    ) -> str:
        """Settings onto the running case: filters (None: leave them), detection and
        train-time thresholds, alarm policies. Each change is annotated in the recording.
        Returns why a setting the source cannot take was refused ("" when none was)."""
        refused = ""
        try:
            if filters is not None:
                self.session.set_filter(filters)
            d = detection
            self.monitoring.set_thresholds(
                mode=d.mode, k_sigma=d.k_sigma, floor_uv=d.floor_uv, fixed_uv=d.fixed_uv
            )
            self.monitoring.set_traintime_thresholds(*thresholds_s)
        except ValueError as exc:  # FilterSettingsError is one: a filter beyond the rate
            refused = str(exc)
        self.alarms.policies.update(policies)
        return refused

    def apply_settings(self, settings: MonitorSettings) -> str:
        """The user's settings for the procedure (the model's part of them)."""
        return self.put_settings(
            filters=settings.filters,
            detection=settings.detection,
            thresholds_s=settings.traintime.thresholds_s,
            policies=settings.alarm_policies(),
        )

    def settings(self, base: MonitorSettings) -> MonitorSettings:
        """``base`` with what the case runs now: filters, detection, train-time levels
        (display and sound are the view's: it fills them in)."""
        from monitor.monitorsettings import TrainTimeSettings

        filters = self.session.filters
        return replace(
            base,
            filters=filters.settings if filters is not None else base.filters,
            detection=self.monitoring.detector.s,
            traintime=TrainTimeSettings(*self.monitoring.traintime.thresholds_s),
        )

    # -- the source --------------------------------------------------------------------------
    def add_source_listener(self, callback: Callable[[Pipeline], None]) -> None:
        """Call ``callback(pipeline)`` each time the case moves to a new source, after it
        has started (e.g. a publisher that follows the case). On the control thread."""
        self._adopt_listeners.append(callback)

    def montage_description(self, labels: tuple[str, ...]) -> SourceDescription | None:
        """The present source again with these channel labels (a case's montage) at its
        rate; None when it keeps its own channels (a recording)."""
        if self.description is None or not self.capabilities.montage:
            return None
        return self.description.with_channels(tuple(labels), self.session.source.info.rate)

    def open(self, description: SourceDescription) -> Opened:
        """Open the described source with the case's filters and analysis settings, not
        yet the case's. Blocking (a port may take seconds); any thread; the case goes on
        meanwhile. Raises ``ValueError`` with a sentence when it cannot be opened."""
        session = self.session
        filters = session.filters.settings if session.filters is not None else None
        refused = ""
        try:
            try:
                pipeline = open_pipeline(description, filters=filters)
            except FilterSettingsError as exc:  # e.g. a file sampled too slowly for them
                refused = str(exc)
                pipeline = open_pipeline(description)
        except (SourceError, ValueError, OSError) as exc:
            raise ValueError(str(exc)) from None
        return Opened(description, pipeline, refused)

    def release(self) -> None:
        """Let the present source go (its device is needed again); the recording closes
        after the last blocks reached it. The case keeps its pipeline until :meth:`adopt`."""
        self.session.stop()
        if self.recording:
            self.stop_recording()

    def adopt(self, opened: Opened, *, record: bool | None = None) -> None:
        """Move the case onto an opened source and start it: the detection settings,
        thresholds and alarm priorities go on; the train time goes on when the channels
        are the same; what cannot (the LSR baseline, the alarms, the train time of other
        channels) is said in the notes and the recording. A running recording (or
        ``record``) goes on in a new file, which holds these notes from its first sample.
        The old source stops. Raises ``RecorderError`` when the recording cannot go on (the
        case has moved and runs on, unrecorded)."""
        old = self.pipeline
        was_recording = self.recording if record is None else record
        old.session.stop()  # the last blocks reach the recording before it closes
        if self.recorder is not None:
            self.stop_recording()
        new = opened.pipeline
        log.info("source changed to %s", new.session.source.info.name)
        self.pipeline, self.description = new, opened.description
        self.source_no += 1
        try:
            refused = self.put_settings(
                filters=None,
                detection=old.monitoring.detector.s,
                thresholds_s=old.monitoring.traintime.thresholds_s,
                policies=old.alarms.policies,
            )
            if refused:
                self.note(f"A setting was not carried over: {refused}")
            failed: RecorderError | None = None
            if was_recording:
                try:
                    self.start_recording()
                except RecorderError as exc:
                    failed = exc
                    self.note(f"Recording not started again: {exc}")
            self._carry_case_state(old, new)
            if opened.filters_refused:
                self.note(
                    f"The filters could not be kept on the new source "
                    f"({opened.filters_refused}); it runs with the default filters."
                )
        finally:
            new.session.start()  # whatever was said, the new source is monitored
            for listener in list(self._adopt_listeners):
                try:
                    listener(new)
                except Exception:  # a follower must not undo the switch
                    log.exception("source listener failed")
        if failed is not None:
            raise failed

    def switch_source(self, description: SourceDescription) -> None:
        """Open the described source and move the case onto it (see :meth:`adopt`);
        ``ValueError`` with a sentence, the present source running on, when it cannot."""
        self.adopt(self.open(description))

    def _carry_case_state(self, old: Pipeline, new: Pipeline) -> None:
        before = old.monitoring.traintime.seconds()
        same = old.monitoring.labels == new.monitoring.labels
        if same and any(before):
            new.monitoring.traintime.carry_over(before)
        parts = []
        if not same and any(before):
            lost = [
                f"{lab} {t:.1f} s"
                for lab, t in zip(old.monitoring.labels, before, strict=True)
                if t > 0
            ]
            parts.append(f"train time ({', '.join(lost)})")
        if old.evoked.baseline() is not None:
            parts.append("the LSR baseline")
        if old.alarms.alarms():
            parts.append("the alarms")
        texts = []
        if same and any(before):
            texts.append("New signal source: train time carried over")
        if parts:
            texts.append(f"New signal source: {', '.join(parts)} start again")
        for text in texts:
            self.note(text)
            new.session.note_change(text)

    # -- the end -----------------------------------------------------------------------------
    def close(self) -> None:
        """Stop acquisition and close the recording (the last blocks reach it first).
        Idempotent."""
        self.session.stop()
        if self.recorder is not None:
            self.recorder.close()
