"""Free-running EMG events: what the detectors report and the recording keeps."""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

ALL_CHANNELS = -1


class EventKind(StrEnum):
    """Pattern classes after Romstöck et al. (docs/clinical.md §2), plus artifact."""

    SPIKE = "spike"
    BURST = "burst"
    A_TRAIN = "a_train"
    B_TRAIN = "b_train"
    C_TRAIN = "c_train"
    ARTIFACT = "artifact"

    @property
    def is_train(self) -> bool:
        return self in (EventKind.A_TRAIN, EventKind.B_TRAIN, EventKind.C_TRAIN)


@dataclass(frozen=True, slots=True)
class EmgEvent:
    """One event; reported when it starts and again each time it changes or ends.

    The same ``id`` is reported several times: a potential first reported as a spike may
    become a burst or an A-train as more of it arrives; ``final`` marks the last report.

    Attributes
    ----------
    id : int
        Unique per detector run.
    kind : EventKind
    channel : int
        Channel number, or ``ALL_CHANNELS`` (artifact on every channel).
    onset : int
        Absolute sample index of the onset.
    offset : int or None
        One past the last sample; ``None`` while the event is going on.
    peak_uv : float
        Peak-to-peak amplitude so far (µV).
    freq_hz : float or None
        Discharge frequency of a train.
    reported_at : int
        Sample index of the signal when this report was made (latency = reported_at - onset).
    final : bool
        True on the last report of the event.
    extent : int or None
        An ongoing A-train is certain up to this sample index (train time counts it so
        far, never further); None otherwise.
    """

    id: int
    kind: EventKind
    channel: int
    onset: int
    offset: int | None
    peak_uv: float
    freq_hz: float | None = None
    reported_at: int = 0
    final: bool = False
    extent: int | None = None

    def with_(self, **changes) -> EmgEvent:
        return replace(self, **changes)
