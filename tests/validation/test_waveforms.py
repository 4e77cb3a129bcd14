"""Potential shapes and their placement."""

from __future__ import annotations

import numpy as np
import pytest

from validation.waveforms import (
    SHAPE_FAMILIES,
    hermite_rodriguez,
    line_source,
    place,
    random_shape,
    support,
)


@pytest.mark.parametrize("family", SHAPE_FAMILIES)
def test_shapes_have_unit_peak_to_peak_and_start_and_end_at_zero(family):
    rng = np.random.default_rng(4)
    for _ in range(5):
        s = random_shape(rng, family)
        assert np.ptp(s.table) == pytest.approx(1.0)
        assert s.table[0] == pytest.approx(0.0, abs=1e-12)
        assert s.table[-1] == pytest.approx(0.0, abs=1e-12)
        assert s(np.array([-1.5, 1.5])).tolist() == [0.0, 0.0]


def test_first_hermite_rodriguez_order_is_biphasic_and_second_triphasic():
    def phases(shape):
        t = shape.table
        big = np.abs(t) > 0.2 * np.abs(t).max()
        signs = np.sign(t[big])
        return 1 + int(np.count_nonzero(np.diff(signs)))

    assert phases(hermite_rodriguez((1.0,))) == 2
    assert phases(hermite_rodriguez((0.0, 1.0))) == 3


def test_line_source_potential_is_briefer_near_the_fibre():
    near = line_source(np.array([0.05]), np.array([0.0]))
    far = line_source(np.array([1.0]), np.array([0.0]))
    assert near.span < far.span


def test_place_puts_the_potential_inside_its_support_with_its_amplitude():
    rate = 10_000.0
    shape = hermite_rodriguez((1.0, 0.3))
    out = np.zeros(1000)
    centre, duration = 0.05123, 0.004
    place(out, rate, np.array([centre]), np.array([250.0]), shape, duration)
    first, stop = support(rate, centre, duration)
    nonzero = np.flatnonzero(out)
    assert nonzero[0] >= first and nonzero[-1] < stop
    assert stop - first == pytest.approx(duration * rate, abs=2)
    assert np.ptp(out) == pytest.approx(250.0, rel=0.03)


def test_place_adds_and_ignores_what_falls_outside_the_trace():
    rate = 10_000.0
    shape = hermite_rodriguez((1.0,))
    a = np.zeros(500)
    place(a, rate, np.array([0.01, 0.03]), np.array([100.0, -50.0]), shape, 0.005)
    b = np.zeros(500)
    place(b, rate, np.array([0.01]), np.array([100.0]), shape, 0.005)
    place(b, rate, np.array([0.03]), np.array([-50.0]), shape, 0.005)
    np.testing.assert_allclose(a, b)
    edge = np.zeros(500)
    place(edge, rate, np.array([-0.001, 0.0499]), np.array([100.0, 100.0]), shape, 0.005)
    assert np.isfinite(edge).all() and np.abs(edge).max() > 0


def test_sub_sample_placement_moves_the_potential_by_a_fraction_of_a_sample():
    rate = 10_000.0
    shape = hermite_rodriguez((1.0,))
    a, b = np.zeros(400), np.zeros(400)
    place(a, rate, np.array([0.02]), np.array([1.0]), shape, 0.004)
    place(b, rate, np.array([0.02 + 0.5 / rate]), np.array([1.0]), shape, 0.004)
    t = np.arange(400)
    centroid = lambda x: np.sum(t * x**2) / np.sum(x**2)  # noqa: E731
    assert centroid(b) - centroid(a) == pytest.approx(0.5, abs=0.05)
