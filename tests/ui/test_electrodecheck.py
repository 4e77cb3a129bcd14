"""The electrode check dialog: the bad needle in red, a fresh measurement on C, and its buttons."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt

from drivers.simulator import SimulatorSource
from monitor.electrodes import ChannelElectrodes, ElectrodeReport
from monitor.montage import default_labels
from monitor.source import Source, SourceInfo
from simulation.electrodes import BadElectrode
from simulation.emgsynth import QUIET, SimConfig
from ui.electrodecheck import CHECK_TIMEOUT_S, VERDICT_COLOURS, ElectrodeCheckDialog

LABELS = default_labels(4)
GREEN, AMBER, RED = (VERDICT_COLOURS[k][0] for k in (0, 1, 2))


def simulator(*bad: BadElectrode) -> SimulatorSource:
    config = SimConfig(labels=LABELS, seed=11, bad_electrodes=bad, **QUIET)
    return SimulatorSource(config, realtime=False)


def dialog(qtbot, source, **kw) -> ElectrodeCheckDialog:
    d = ElectrodeCheckDialog(source, LABELS, **kw)
    qtbot.addWidget(d)
    d.show()
    return d


class ScriptedSource(Source):
    """A source whose electrode reports the test hands out, on its own clock."""

    def __init__(self, report: ElectrodeReport | None = None, can_measure: bool = True) -> None:
        self.report = report
        self.can_measure = can_measure
        self.requests = 0

    @property
    def info(self) -> SourceInfo:
        return SourceInfo("scripted", 1000.0, LABELS, "test")

    def open(self) -> None:
        pass

    def read(self):
        return None

    def close(self) -> None:
        pass

    def electrodes(self):
        return self.report

    def request_electrode_check(self) -> bool:
        self.requests += 1
        return self.can_measure


def test_a_bad_needle_is_shown_in_red_with_its_sentence(qtbot):
    d = dialog(qtbot, simulator(BadElectrode(0, "reference", 12.4)))
    assert d.row_texts(0)[0] == "L Orb. oculi"
    assert d.row_texts(0)[2] == "12.4"
    assert d.row_texts(0)[4] == "HIGH"
    assert d.verdict_colour(0) == RED
    assert [d.verdict_colour(r) for r in (1, 2, 3)] == [GREEN] * 3
    assert "L Orb. oculi: reference needle 12.4 kΩ — over 5 kΩ; check the needle." in (
        d.problems.text()
    )
    assert d.summary.text() == "1 channel needs attention"


def test_c_measures_again_and_shows_what_changed(qtbot):
    source = simulator()
    d = dialog(qtbot, source)
    assert d.summary.text() == "All electrodes good"
    assert [d.verdict_colour(r) for r in range(4)] == [GREEN] * 4
    source.set_bad_electrode(BadElectrode(2, "active", None))  # a needle pulled out
    d.poll()
    assert d.verdict_colour(2) == GREEN  # nothing new measured yet
    qtbot.keyClick(d, Qt.Key.Key_C)
    assert d.row_texts(2)[1] == "OFF"
    assert d.row_texts(2)[4] == "LEAD OFF"
    assert d.verdict_colour(2) == RED
    assert "L Mentalis: active needle is off" in d.problems.text()


def test_an_imbalanced_pair_is_amber(qtbot):
    d = dialog(qtbot, simulator(BadElectrode(1, "active", 4.9)))
    assert d.row_texts(1)[4] == "IMBALANCE"
    assert d.verdict_colour(1) == AMBER


def test_start_monitoring_signals_and_closes_and_the_on_demand_check_has_close_only(qtbot):
    d = dialog(qtbot, simulator())
    with qtbot.waitSignal(d.start_monitoring, timeout=1000):
        qtbot.mouseClick(d.start_button, Qt.MouseButton.LeftButton)
    assert d.result() == d.DialogCode.Accepted and not d.isVisible()
    assert not d.timer.isActive()
    on_demand = dialog(qtbot, simulator(), offer_start=False)
    assert not on_demand.start_button.isVisible() and on_demand.close_button.isVisible()
    qtbot.mouseClick(on_demand.close_button, Qt.MouseButton.LeftButton)
    assert on_demand.result() == on_demand.DialogCode.Rejected


def test_a_source_that_cannot_measure_says_so(qtbot):
    d = dialog(qtbot, ScriptedSource(None, can_measure=False))
    assert d.summary.text() == "This source does not measure electrode impedance."
    assert [d.row_texts(r)[0] for r in range(4)] == list(LABELS)


def test_waiting_then_no_answer_is_said_in_words(qtbot):
    now = [100.0]
    source = ScriptedSource(None)
    d = dialog(qtbot, source, clock=lambda: now[0])
    assert source.requests == 1
    assert d.summary.text() == "Measuring the electrodes…"
    now[0] += CHECK_TIMEOUT_S + 1
    d.poll()
    assert d.summary.text() == "No electrode measurement has come from the amplifier."
    source.report = ElectrodeReport(
        tuple(ChannelElectrodes(channel_kohm=2.0) for _ in LABELS), now[0], per_electrode=False
    )
    d.poll()
    assert d.summary.text() == "All electrodes good"
    assert d.row_texts(0)[1] == "2.0"  # the pair's one value ...
    assert d.table.isColumnHidden(2)  # ... in one column
    assert d.row_texts(0)[3] == "—"  # and no imbalance from it
    assert "pair imbalance cannot be judged" in d.note.text()
