"""What a trainee does during a scenario: calls made with the training keys."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from simulation.scenario_engine import ScenarioEngine

A_TRAIN_CALL = "a_train"  # "I see an A-train" (F5)
LSR_CALL = "lsr_gone"  # "The LSR is gone" (F6)
CALL_NAMES = {A_TRAIN_CALL: "A-train called", LSR_CALL: "LSR gone called"}


@dataclass(frozen=True, slots=True)
class TraineeAction:
    """One call, at the stream sample index on screen when the key was pressed.
    ``before_start``: made while the case waited for the instructor's Start (not scored)."""

    kind: str
    sample_index: int
    wall_time: float
    before_start: bool = False


class TraineeLog:
    """The trainee's calls in order. Thread-safe (the GUI adds, a scorer reads).

    ``engine``: the case; a call made while it waits for its start is kept, marked
    ``before_start``, and not scored.
    """

    def __init__(self, engine: ScenarioEngine | None = None) -> None:
        self._lock = threading.Lock()
        self._actions: list[TraineeAction] = []
        self.engine = engine

    def call(self, kind: str, sample_index: int) -> TraineeAction:
        if kind not in CALL_NAMES:
            raise ValueError(f"Unknown call {kind!r}.")
        early = self.engine is not None and self.engine.waiting_for_start
        action = TraineeAction(kind, int(sample_index), time.time(), early)
        with self._lock:
            self._actions.append(action)
        return action

    def actions(self) -> list[TraineeAction]:
        with self._lock:
            return list(self._actions)
