"""What a trainee does during a scenario: calls made with the training keys."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

A_TRAIN_CALL = "a_train"  # "I see an A-train" (F5)
LSR_CALL = "lsr_gone"  # "The LSR is gone" (F6)
CALL_NAMES = {A_TRAIN_CALL: "A-train called", LSR_CALL: "LSR gone called"}


@dataclass(frozen=True, slots=True)
class TraineeAction:
    """One call, at the stream sample index on screen when the key was pressed."""

    kind: str
    sample_index: int
    wall_time: float


class TraineeLog:
    """The trainee's calls in order. Thread-safe (the GUI adds, a scorer reads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._actions: list[TraineeAction] = []

    def call(self, kind: str, sample_index: int) -> TraineeAction:
        if kind not in CALL_NAMES:
            raise ValueError(f"Unknown call {kind!r}.")
        action = TraineeAction(kind, int(sample_index), time.time())
        with self._lock:
            self._actions.append(action)
        return action

    def actions(self) -> list[TraineeAction]:
        with self._lock:
            return list(self._actions)
