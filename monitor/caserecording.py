"""Recording a monitored case: the recorder wired to everything that must be annotated."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from monitor.alarms import AlarmTransition
from monitor.events import EmgEvent
from monitor.evoked import STIM_LOST, EvokedAnalyzer, LsrCall, Sweep
from monitor.monitoring import FreeRunMonitoring
from monitor.recorder import Recorder
from monitor.session import Session

EVENT_NAMES = {
    "spike": "spike",
    "burst": "burst",
    "a_train": "A-train",
    "b_train": "B-train",
    "c_train": "C-train",
    "artifact": "artifact",
}

#: Longest annotation text per stimulus, in UTF-8 bytes: it fits, with its time stamp, in
#: one record's annotation signal (``DEFAULT_ANNOTATION_BYTES``), so it is never shortened.
MAX_SWEEP_TEXT = 300


def sweep_texts(sweep: Sweep) -> list[str]:
    """The evoked measurements of one stimulus that the recording keeps, in as many texts
    as needed so that none is cut: ``["LSR #12: L Mentalis 230 uV 10.2 ms, L Orb. oris
    absent; direct L Orb. oculi 1230 uV"]``, or with many channels ``["LSR #12 (1/2): ...",
    "LSR #12 (2/2): ..."]``.

    A rejected channel-sweep says why (``L Orb. oris rejected (cautery)``); the direct
    response is the stimulation control (``stimulation lost`` when it showed the stimulus
    not reaching the nerve). ``[]`` when the stimulus measured nothing.
    """
    kind, parts, direct = _measurements(sweep)
    if not parts:
        return []
    # Items joined as one text would be: ", " within a group, "; " before a new group.
    # A part that starts inside the direct group says "direct" again.
    items = [(", ", p, p) for p in parts]
    items += [
        ("; ", "direct " + d, "direct " + d) if i == 0 else (", ", d, "direct " + d)
        for i, d in enumerate(direct)
    ]
    if sweep.stimulation == STIM_LOST:
        items.append(("; ", "stimulation lost", "stimulation lost"))
    head = f"{kind} #{sweep.stim_number}"
    room = MAX_SWEEP_TEXT - len(f"{head} (99/99): ".encode())
    bodies: list[str] = []
    for sep, item, alone in items:
        if bodies and len((bodies[-1] + sep + item).encode()) <= room:
            bodies[-1] += sep + item
        else:
            bodies.append(alone)
    if len(bodies) == 1:
        return [f"{head}: {bodies[0]}"]
    return [f"{head} ({k}/{len(bodies)}): {b}" for k, b in enumerate(bodies, 1)]


def _measurements(sweep: Sweep) -> tuple[str, list[str], list[str]]:
    """The kind (``LSR``), each measured channel's words, each direct response's words."""
    parts: list[str] = []
    direct: list[str] = []
    kind = ""
    for r in sweep.results:
        if r.kind == "direct":
            if r.rejected:
                direct.append(f"{r.label} rejected ({r.rejected})")
            elif r.present and r.amplitude_uv is not None:
                direct.append(f"{r.label} {r.amplitude_uv:.0f} uV")
            else:
                direct.append(f"{r.label} absent")
            continue
        kind = kind or {"lsr": "LSR", "zl": "Z-L", "triggered": "EMG"}.get(r.kind, r.kind)
        if r.rejected:
            parts.append(f"{r.label} rejected ({r.rejected})")
        elif r.present:
            parts.append(f"{r.label} {r.amplitude_uv:.0f} uV {r.latency_ms:.1f} ms")
        else:
            parts.append(f"{r.label} absent")
    return kind, parts, direct


def record_case(
    session: Session,
    monitoring: FreeRunMonitoring,
    evoked: EvokedAnalyzer | None,
    path: str | Path,
    case_id: str = "",
    header: dict[str, str] | None = None,
    start_note: str = "",
) -> Recorder:
    """Start a :class:`~monitor.recorder.Recorder` for the session and annotate into it
    the filter in use at the first sample (``setting: filter 20 Hz – 3000 Hz``), every
    finished event, every alarm transition (raised, acknowledged, ended), every LSR
    call, the train-time resets and every setting changed during the case (filters,
    thresholds); disk trouble raises the high-priority technical alarm
    ``recorder``. Stimuli, gaps and source notes come with the blocks.

    The file holds the raw samples (the filter shapes the screen and the detection, not
    the recording), so its EDF+ prefilter fields state no filter: a reader such as
    MNE-Python takes them as the band of the stored data. The filter in use is in the
    annotations instead, at the start and at every change.

    ``header`` holds EDF+ header fields of a set-up case (``CaseSetup.edf_header()``:
    patient, case id, technician) and ``start_note`` is annotated at the first sample
    recorded (procedure, side, surgeon).

    Call after ``session.open()`` and before ``session.start()`` (or while it runs: the
    recording starts with the next block); close the recorder after the session stops.
    Raises ``RecorderError`` (a sentence) when the file cannot be made.
    """
    info = session.source.info
    alarms = monitoring.alarms
    bits = info.capabilities.bits  # 24: BDF+, so that no resolution is lost

    def on_error(text: str) -> None:
        alarms.raise_condition("recorder", text, session.status().end_index)

    def on_backlog(high: bool) -> None:
        if high:
            alarms.raise_condition(
                "recorder",
                "Recording is falling behind: the disk is slow.",
                session.status().end_index,
            )
        else:
            alarms.clear_condition("recorder", session.status().end_index)

    writer_options: dict[str, Any] = {"case_id": case_id} | (header or {})
    rec = Recorder(
        path,
        info.rate,
        info.labels,
        bits=bits,
        on_error=on_error,
        on_backlog=on_backlog,
        **writer_options,
    )
    rec.start()
    first = session.status().end_index  # the first sample the recording will hold
    if session.filters is not None:
        rec.annotate(first, f"setting: filter {session.filters.settings.describe()}")
    if start_note:
        rec.annotate(first, start_note)
    session.subscribe("Recording", rec, essential=True)

    def on_event(ev: EmgEvent) -> None:
        if not ev.final:
            return
        where = monitoring.label(ev.channel)
        freq = f" {ev.freq_hz:.0f} Hz" if ev.freq_hz else ""
        end = ev.offset if ev.offset is not None else ev.onset
        rec.annotate(
            ev.onset,
            f"{EVENT_NAMES.get(ev.kind.value, ev.kind.value)} {where}{freq} {ev.peak_uv:.0f} uV",
            (end - ev.onset) / info.rate,
        )

    def on_transition(t: AlarmTransition) -> None:
        rec.annotate(t.sample_index, f"alarm {t.priority.label} {t.new.value}: {t.text}")

    monitoring.add_listener(on_event)
    alarms.add_listener(on_transition)
    session.add_change_listener(lambda text, index: rec.annotate(index, f"setting: {text}"))
    if evoked is not None:
        previous_sweep = evoked.on_sweep

        def on_sweep(sweep: Sweep) -> None:
            for text in sweep_texts(sweep):
                rec.annotate(sweep.marker.index, text)
            if previous_sweep is not None:
                previous_sweep(sweep)

        evoked.on_sweep = on_sweep
        previous = evoked.on_call

        def on_call(call: LsrCall) -> None:
            rec.annotate(call.sample_index, call.text)
            if previous is not None:
                previous(call)

        evoked.on_call = on_call
    return rec
