"""The stimulator's state in words and colours (Qt-free)."""

from __future__ import annotations

import numpy as np

from monitor.block import Block, StimMarker
from monitor.stimulator import StimulatorSettings
from presentation import theme
from presentation.stimstatus import PulseWatch, StimWatch, settings_text, stim_status

RATE = 10_000.0
ON = StimulatorSettings(2.0, 0.2, 1.0, "zygomatic", True)


def pulse(seconds: float) -> StimMarker:
    return StimMarker(round(seconds * RATE), 2.0, 0.2, "zygomatic")


def test_on_with_pulses_says_the_numbers_and_arriving_on_green():
    st = stim_status(ON, round(10.5 * RATE), RATE, pulse(10.0))
    assert st.text == "Stim ON 2.0 mA 0.2 ms 1 Hz — zygomatic — pulses arriving"
    assert (st.background, st.foreground) == theme.STIM_COLOURS["arriving"]
    assert not st.alarm


def test_off_says_off():
    off = StimulatorSettings(2.0, 0.2, 1.0, "zygomatic", False)
    st = stim_status(off, round(10 * RATE), RATE, pulse(1.0))
    assert (st.state, st.text) == ("off", "Stim OFF")


def test_no_pulse_for_more_than_two_periods_is_an_alarm():
    assert stim_status(ON, round(12.0 * RATE), RATE, pulse(10.0)).state == "arriving"
    st = stim_status(ON, round(12.01 * RATE), RATE, pulse(10.0))
    assert st.alarm and st.text.endswith("PULSES NOT ARRIVING")
    assert (st.background, st.foreground) == theme.ALARM_ON[2]
    slow = StimulatorSettings(2.0, 0.2, 0.5, "zygomatic", True)  # 2 periods = 4 s
    assert stim_status(slow, round(13.9 * RATE), RATE, pulse(10.0)).state == "arriving"
    assert stim_status(ON, round(5 * RATE), RATE, None).alarm  # never any


def test_new_settings_get_two_periods_before_pulses_are_missed():
    watch = StimWatch()
    assert watch.status(ON, 0, RATE).state == "waiting"
    assert watch.status(ON, round(1.9 * RATE), RATE).text.endswith("waiting for pulses")
    assert watch.status(ON, round(2.1 * RATE), RATE).alarm
    faster = StimulatorSettings(2.0, 0.2, 2.0, "zygomatic", True)
    assert watch.status(faster, round(2.2 * RATE), RATE).state == "waiting"  # changed
    watch.pulses(
        Block(round(2.5 * RATE), np.zeros((10, 1), np.float32), RATE, ("x",), stims=(pulse(2.5),))
    )
    assert watch.status(faster, round(3.4 * RATE), RATE).state == "arriving"
    assert watch.status(faster, round(3.6 * RATE), RATE).alarm  # 2 periods of 0.5 s


def test_a_source_without_a_stimulator():
    assert stim_status(None, 100, RATE, None).text == "No stimulator"
    st = stim_status(None, round(2 * RATE), RATE, pulse(1.5))  # a recording's pulses
    assert st.state == "arriving" and "zygomatic" in st.text


def test_the_watch_keeps_the_newest_pulse_of_every_block():
    watch = PulseWatch()
    data = np.zeros((100, 1), np.float32)
    watch(Block(0, data, RATE, ("x",), stims=(pulse(0.001), pulse(0.0))))
    watch(Block(100, data, RATE, ("x",)))
    assert watch.last() == pulse(0.001) and watch.count == 2


def test_small_currents_keep_their_hundredths():
    triggered = StimulatorSettings(0.05, 0.1, 3.0, "probe", True)
    assert settings_text(triggered) == "0.05 mA 0.1 ms 3 Hz — probe"
    assert settings_text(StimulatorSettings(15.0)) == "15.0 mA 0.2 ms 1 Hz — zygomatic"
