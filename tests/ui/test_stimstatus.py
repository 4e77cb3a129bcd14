"""The stimulator status strip: on/off, the numbers, and pulses that stop arriving."""

from __future__ import annotations

import dataclasses

import pytest

pytest.importorskip("pytestqt")

from drivers.simulator import SimulatorSource
from monitor.montage import default_labels
from monitor.session import Session
from monitor.stimulator import StimulatorSettings
from presentation import theme
from simulation.emgsynth import SimConfig


class CableOff(SimulatorSource):
    """A simulator whose pulses stop reaching the signal when ``cut`` (a stimulating
    cable off): the stimulator still says it is on."""

    cut = False

    def read(self):
        block = super().read()
        if self.cut and block is not None and block.stims:
            block = dataclasses.replace(block, stims=())
        return block


@pytest.fixture
def strip(qtbot):
    from ui.stimstatus import StimStatusStrip

    cfg = SimConfig(seed=4, labels=default_labels(2), stim_rate_hz=2.0, stim_start_s=0.1)
    cfg = dataclasses.replace(cfg, stim_current_ma=2.0)
    session = Session(CableOff(cfg))
    session.start()
    widget = StimStatusStrip(session)
    qtbot.addWidget(widget)
    widget.show()
    yield widget
    widget.close()
    session.stop()


def test_on_with_its_numbers_and_pulses_arriving_then_off(strip, qtbot):
    qtbot.waitUntil(lambda: strip.status.state == "arriving", timeout=10_000)
    assert strip.text() == "Stim ON 2.0 mA 0.2 ms 2 Hz — zygomatic — pulses arriving"
    assert theme.STIM_COLOURS["arriving"][0] in strip.styleSheet()
    assert strip.font().pointSize() >= theme.STIM_STATUS_PT and strip.font().bold()
    strip.session.source.set_stimulator(StimulatorSettings(2.0, 0.2, 2.0, "zygomatic", False))
    qtbot.waitUntil(lambda: strip.text() == "Stim OFF", timeout=5000)


def test_pulses_that_stop_arriving_are_said_in_the_alarm_colour(strip, qtbot):
    qtbot.waitUntil(lambda: strip.status.state == "arriving", timeout=10_000)
    strip.session.source.cut = True
    qtbot.waitUntil(lambda: strip.status.alarm, timeout=10_000)  # after 2 periods (1 s)
    assert strip.text().endswith("PULSES NOT ARRIVING")
    assert "Stim ON 2.0 mA" in strip.text()
    assert theme.ALARM_ON[2][0] in strip.styleSheet()
    strip.session.source.cut = False
    qtbot.waitUntil(lambda: strip.status.state == "arriving", timeout=10_000)


def test_closing_the_strip_stops_its_timer_and_leaves_the_session(strip):
    subscribers = [s[1] for s in strip.session._subscribers]
    assert strip.pulses in subscribers
    strip.close()
    assert not strip.timer.isActive()
    assert strip.pulses not in [s[1] for s in strip.session._subscribers]


def test_no_signal_is_not_pulses_arriving(qtbot):
    """While the session has no signal (not started, reconnecting, ended) the strip says
    so instead of keeping its last word."""
    from ui.stimstatus import NO_SIGNAL_TEXT, StimStatusStrip

    cfg = SimConfig(seed=4, labels=default_labels(2), stim_rate_hz=2.0, stim_start_s=0.1)
    session = Session(CableOff(cfg))
    session.open()  # open, not started: no samples come
    widget = StimStatusStrip(session)
    qtbot.addWidget(widget)
    try:
        widget.refresh()
        assert widget.text() == NO_SIGNAL_TEXT
        assert widget.status.state == "none"
    finally:
        widget.close_down()
        session.stop()
