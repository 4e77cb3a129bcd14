"""The grid spans the clinical range the issue names, and labels its cells."""

from __future__ import annotations

import pytest

from validation.evoked_signals import EvokedCase
from validation.freerun_signals import FreeRunCase
from validation.grid import (
    CLINICAL_ANR,
    KIND_A_TRAIN,
    KIND_DISTRACTOR,
    KIND_EVOKED,
    build_grid,
)
from validation.interference import hum_rms


@pytest.fixture(scope="module")
def grid():
    return build_grid(quick=False)


def _trains(cells):
    return [c.case for c in cells if c.kind == KIND_A_TRAIN]


def test_a_train_factors_reach_both_ends_of_the_clinical_range(grid):
    trains = [c.a_train for c in _trains(grid)]
    spans = {
        "freq_hz": (60.0, 210.0),
        "jitter_cv": (0.0, 0.05),
        "amplitude_uv": (30.0, 2000.0),
        "duration_s": (0.1, 30.0),
    }
    for factor, (lo, hi) in spans.items():
        values = [getattr(t, factor) for t in trains]
        assert min(values) == lo and max(values) == hi, factor
    overlaps = [t.overlap for t in trains]
    assert min(overlaps) <= 0.2 and max(overlaps) >= 1.5  # spiky to sinusoid-like
    assert {t.shape for t in trains} == {"hermite", "tripole"}
    backgrounds = [c.background for c in _trains(grid)]
    assert min(b.hum_uv for b in backgrounds) == 0 and max(b.hum_uv for b in backgrounds) >= 40
    assert {b.mains_hz for b in backgrounds} == {50.0, 60.0}
    assert max(b.drift_uv for b in backgrounds) >= 300
    assert all(1.0 <= b.noise_uv <= 8.0 for b in backgrounds)


def test_every_kind_of_cell_is_there_with_unique_names(grid):
    kinds = {c.kind for c in grid}
    assert kinds == {KIND_A_TRAIN, KIND_DISTRACTOR, KIND_EVOKED}
    groups = {c.group for c in grid}
    slices = {"amp x hum", "freq x overlap", "duration x freq", "jitter x freq", "amp x overlap"}
    assert slices | {"jitter x overlap", "random"} <= groups
    assert len({c.name for c in grid}) == len(grid)
    distractors = [c.case for c in grid if c.kind == KIND_DISTRACTOR]
    assert all(isinstance(c, FreeRunCase) and c.a_train is None for c in distractors)
    evoked = [c.case for c in grid if c.kind == KIND_EVOKED]
    assert all(isinstance(c, EvokedCase) for c in evoked)
    assert any(c.stim_lost_at_s for c in evoked) and any(c.contaminate_every for c in evoked)
    assert {c.stim_hz for c in evoked} >= {0.5, 1.0, 2.0}


def test_clinical_range_is_the_amplitude_to_noise_ratio(grid):
    by_name = {c.name: c for c in grid}
    nominal = by_name["nominal"]
    rms = (3.0**2 + hum_rms(10.0) ** 2) ** 0.5
    assert nominal.anr == pytest.approx(200.0 / rms)
    assert nominal.clinical
    assert not by_name["30uV in 20uV hum"].clinical
    assert by_name["200uV in 40uV hum"].clinical
    for c in grid:
        if c.kind == KIND_A_TRAIN:
            assert c.clinical == (c.anr >= CLINICAL_ANR)


def test_the_grid_repeats_with_its_seed_and_the_quick_one_is_smaller(grid):
    assert build_grid(quick=False) == grid
    quick = build_grid(quick=True)
    assert len(quick) < len(grid)
    assert [c.case for c in build_grid(seed=2) if c.group == "random"] != [
        c.case for c in grid if c.group == "random"
    ]
