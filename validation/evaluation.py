"""One cell of the grid judged: generate its signal, run the monitor on it, score.

:func:`evaluate` is what the bench maps over the grid (in worker processes: everything
it returns pickles).
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

from validation.evoked_signals import EvokedCase, generate_evoked
from validation.freerun_signals import (
    A_TRAIN,
    B_TRAIN,
    BURST,
    C_TRAIN,
    SPIKE,
    FreeRunCase,
    generate_freerun,
)
from validation.grid import CLINICAL_ANR, Cell
from validation.pipeline import run_monitor
from validation.scoring import (
    CauteryScore,
    EvokedScore,
    KindScore,
    TrainScore,
    confusion,
    false_events_per_min,
    score_a_trains,
    score_cautery,
    score_evoked,
    score_kind,
)
from validation.source import ArraySource

#: Blocks of random size, as a serial link delivers them (4-40 ms at 10 kHz).
BLOCK_RANGE_S = (0.004, 0.04)


@dataclass
class CellResult:
    """What one cell scored."""

    cell: Cell
    seconds: float
    wall_s: float
    trains: TrainScore | None = None
    kinds: dict[str, KindScore] = field(default_factory=dict)
    cautery: CauteryScore | None = None
    false_events_per_min: float = float("nan")
    confusion: dict[str, Counter] = field(default_factory=dict)
    evoked: EvokedScore | None = None
    problems: list[str] = field(default_factory=list)
    error: str = ""


def evaluate(cell: Cell) -> CellResult:
    """Generate, run and score one cell; an exception becomes ``error`` (a sentence)."""
    t0 = time.perf_counter()
    try:
        if isinstance(cell.case, EvokedCase):
            return _evaluate_evoked(cell, t0)
        return _evaluate_freerun(cell, t0)
    except Exception as exc:  # one broken cell must not lose the whole grid
        return CellResult(cell, 0.0, time.perf_counter() - t0, error=f"{type(exc).__name__}: {exc}")


def _blocks(rate: float) -> tuple[int, int]:
    return round(BLOCK_RANGE_S[0] * rate), round(BLOCK_RANGE_S[1] * rate)


def _evaluate_freerun(cell: Cell, t0: float) -> CellResult:
    case = cell.case
    assert isinstance(case, FreeRunCase)
    sig = generate_freerun(case, cell.seed)
    run = run_monitor(
        ArraySource(sig.data, sig.rate, sig.labels, block=_blocks(sig.rate), seed=cell.seed)
    )
    truth = sig.truth
    result = CellResult(cell, sig.duration_s, time.perf_counter() - t0, problems=run.problems)
    result.trains = score_a_trains(
        truth, run.events, run.reports, run.traintime_s, sig.rate, sig.duration_s
    )
    result.kinds = {
        k: score_kind(truth, run.events, k, sig.rate)
        for k in (SPIKE, BURST, B_TRAIN, C_TRAIN, A_TRAIN)
    }
    # Spikes that stand out of the background as a clinical-range train would.
    visible = CLINICAL_ANR * case.background.rms_uv()
    result.kinds["visible spike"] = score_kind(truth, run.events, SPIKE, sig.rate, visible)
    result.cautery = score_cautery(truth, run.events, sig.rate)
    result.false_events_per_min = false_events_per_min(truth, run.events, sig.rate, sig.duration_s)
    result.confusion = confusion(truth, run.events, sig.rate)
    return result


def _evaluate_evoked(cell: Cell, t0: float) -> CellResult:
    case = cell.case
    assert isinstance(case, EvokedCase)
    sig = generate_evoked(case, cell.seed)
    run = run_monitor(
        ArraySource(
            sig.data, sig.rate, sig.labels, sig.markers, block=_blocks(sig.rate), seed=cell.seed
        )
    )
    result = CellResult(cell, sig.duration_s, time.perf_counter() - t0, problems=run.problems)
    result.evoked = score_evoked(sig, run.sweeps, run.lsr_summary, run.calls)
    return result
