"""The simulated needles: plausible, slowly varying, seed-stable, and bad when told."""

from __future__ import annotations

import argparse

import numpy as np
import pytest

from commands.badelectrode import bad_electrode_arg
from drivers.simulator import SimulatorSource
from monitor.electrodes import Verdict, judge
from monitor.montage import default_labels
from simulation.electrodes import BAD_KOHM, BadElectrode, SimulatedElectrodes
from simulation.emgsynth import QUIET, SimConfig

TIMES = np.arange(0.0, 1800.0, 7.0)  # half an hour of measurements


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_normal_needles_are_plausible_and_pass_the_check(seed):
    model = SimulatedElectrodes(16, seed)
    values = np.stack([model.values(t) for t in TIMES])  # [time, channel, needle]
    assert values.min() >= 0.8 and values.max() <= 4.3  # subdermal needles, 1-4 kΩ
    assert np.abs(values[:, :, 0] - values[:, :, 1]).max() <= 1.5 + 1e-9
    assert np.allclose(values * 10, np.round(values * 10))  # 0.1 kΩ steps, as on the wire
    report = model.measure(600.0)
    assert judge(report, default_labels(16)).all_good


def test_values_vary_slowly():
    model = SimulatedElectrodes(8, 5)
    step = np.abs(model.values(101.0) - model.values(100.0))
    assert step.max() <= 0.3  # from one second to the next: noise and a little drift
    spread = np.ptp(np.stack([model.values(t) for t in TIMES]), axis=0)
    assert spread.min() > 0.0  # every needle drifts over half an hour ...
    assert spread.max() <= 0.6  # ... by a fraction of a kilohm


def test_same_seed_same_needles_and_another_seed_others():
    a, b, c = SimulatedElectrodes(4, 9), SimulatedElectrodes(4, 9), SimulatedElectrodes(4, 10)
    for t in (0.0, 12.5, 300.0):
        np.testing.assert_array_equal(a.values(t), b.values(t))
    assert not np.array_equal(a.values(0.0), c.values(0.0))


def quiet_source(**kw) -> SimulatorSource:
    config = SimConfig(labels=default_labels(4), seed=3, **QUIET, **kw)
    return SimulatorSource(config, realtime=False)


def test_the_simulator_reports_a_bad_needle_from_its_configuration():
    src = quiet_source(bad_electrodes=(BadElectrode(1, "reference", 12.4),))
    check = judge(src.electrodes(), src.info.labels)
    assert [c.verdict for c in check.channels] == [Verdict.OK, Verdict.HIGH, Verdict.OK, Verdict.OK]
    assert check.channels[1].reference_kohm == pytest.approx(12.4)
    assert check.problems == (
        "L Orb. oris: reference needle 12.4 kΩ — over 5 kΩ; check the needle.",
    )


def test_the_simulator_measures_again_on_request_and_shows_a_needle_set_bad_meanwhile():
    src = quiet_source()
    first = src.electrodes()
    assert judge(first, src.info.labels).all_good
    src.set_bad_electrode(BadElectrode(2, "active", None))
    assert src.electrodes() is first  # a measurement lasts a second of signal ...
    assert src.request_electrode_check() is True  # ... unless one is asked for
    fresh = src.electrodes()
    assert fresh.measured_at >= first.measured_at
    assert judge(fresh, src.info.labels).channels[2].verdict is Verdict.LEAD_OFF
    src.clear_bad_electrodes()
    src.request_electrode_check()
    assert judge(src.electrodes(), src.info.labels).all_good


def test_a_new_measurement_comes_with_each_second_of_signal():
    src = quiet_source()
    src.open()
    first = src.electrodes()
    while src.read().stop < 0.5 * src.info.rate:
        pass
    assert src.electrodes() is first
    while src.read().stop < 1.2 * src.info.rate:
        pass
    later = src.electrodes()
    assert later is not first and later.sample_index >= src.info.rate


def test_a_bad_needle_makes_its_own_channel_hum_and_leaves_the_others_alone():
    def signal(**kw) -> np.ndarray:
        src = quiet_source(**kw)
        src.open()
        return np.concatenate([src.read().data for _ in range(100)])  # 1 s

    good = signal()
    bad = signal(bad_electrodes=(BadElectrode(0, "reference", None),))
    np.testing.assert_array_equal(bad[:, 1:], good[:, 1:])
    rate = 10_000
    t = np.arange(len(good)) / rate

    def hum(x):  # amplitude of the 50 Hz component
        return 2 * abs(np.mean(x * np.exp(-2j * np.pi * 50 * t)))

    assert hum(bad[:, 0] - good[:, 0]) > 10 * hum(good[:, 0])


def test_a_bad_needle_on_a_channel_that_does_not_exist_is_refused_in_words():
    with pytest.raises(ValueError, match=r"no channel 5 .* 4 channels"):
        SimConfig(labels=default_labels(4), bad_electrodes=(BadElectrode(4),))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2", BadElectrode(1, "reference", BAD_KOHM)),
        ("1:active", BadElectrode(0, "active", BAD_KOHM)),
        ("3:reference:8.5", BadElectrode(2, "reference", 8.5)),
        ("4:Active:OFF", BadElectrode(3, "active", None)),
    ],
)
def test_the_bad_electrode_option(text, expected):
    assert bad_electrode_arg(text) == expected


@pytest.mark.parametrize("text", ["0", "x", "2:left", "2:active:lots", "2:active:-3", "1:2:3:4"])
def test_a_bad_electrode_option_that_makes_no_sense_is_refused(text):
    with pytest.raises(argparse.ArgumentTypeError, match=r"\S"):
        bad_electrode_arg(text)
