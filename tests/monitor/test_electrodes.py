"""The electrode check's rule: over 5 kΩ, pair imbalance over 2 kΩ, lead off, not measured."""

from __future__ import annotations

import pytest

from monitor.electrodes import (
    ChannelElectrodes,
    ElectrodeLimits,
    ElectrodeReport,
    Verdict,
    judge,
    judge_channel,
)

LABEL = "L Orb. oculi"


def pair(active, reference, **kw) -> ChannelElectrodes:
    return ChannelElectrodes(active, reference, **kw)


@pytest.mark.parametrize(
    ("active", "reference", "verdict"),
    [
        (2.0, 2.4, Verdict.OK),
        (5.0, 4.0, Verdict.OK),  # exactly at the limit passes: "over 5 kΩ" is flagged
        (5.1, 4.0, Verdict.HIGH),
        (4.0, 5.1, Verdict.HIGH),
        (3.0, 5.0, Verdict.OK),  # a 2.0 kΩ difference is not over 2 kΩ
        (3.1, 5.1, Verdict.HIGH),  # high wins over imbalance
        (3.1, 5.0, Verdict.OK),  # 1.9
        (2.9, 5.0, Verdict.IMBALANCE),  # 2.1
        (1.0, 3.1, Verdict.IMBALANCE),
    ],
)
def test_limits_at_their_boundaries(active, reference, verdict):
    assert judge_channel(LABEL, pair(active, reference)).verdict is verdict


def test_imbalance_at_the_limit_is_not_flagged_by_float_rounding():
    # 4.4 - 2.4 is 2.0000000000000004 in binary floating point.
    assert 4.4 - 2.4 > 2.0
    j = judge_channel(LABEL, pair(2.4, 4.4))
    assert j.verdict is Verdict.OK
    assert j.imbalance_kohm == pytest.approx(2.0)


def test_a_high_needle_is_named_with_its_value_in_one_sentence():
    j = judge_channel(LABEL, pair(1.9, 12.4))
    assert j.verdict is Verdict.HIGH
    assert j.problems == ("L Orb. oculi: reference needle 12.4 kΩ — over 5 kΩ; check the needle.",)


def test_both_needles_high_is_one_sentence_naming_both():
    j = judge_channel(LABEL, pair(7.1, 8.0))
    assert j.verdict is Verdict.HIGH
    assert len(j.problems) == 1
    assert "both needles" in j.problems[0]
    assert "7.1" in j.problems[0] and "8.0" in j.problems[0]


def test_imbalance_names_the_higher_needle():
    j = judge_channel("L Mentalis", pair(4.9, 1.7))
    assert j.verdict is Verdict.IMBALANCE
    assert j.imbalance_kohm == pytest.approx(3.2)
    (text,) = j.problems
    assert text.startswith("L Mentalis: needles differ by 3.2 kΩ")
    assert text.endswith("check the active needle.")


def test_lead_off_beats_every_value():
    j = judge_channel(LABEL, pair(2.0, 999.0, reference_off=True))
    assert j.verdict is Verdict.LEAD_OFF
    assert j.problems == ("L Orb. oculi: reference needle is off (no contact); re-insert it.",)
    both = judge_channel(LABEL, pair(None, None, active_off=True, reference_off=True))
    assert both.verdict is Verdict.LEAD_OFF
    assert "both needles are off" in both.problems[0]


def test_a_needle_not_measured_is_unknown_but_a_high_one_still_counts():
    j = judge_channel(LABEL, pair(None, 2.0))
    assert j.verdict is Verdict.UNKNOWN
    assert j.imbalance_kohm is None
    assert j.problems == ("L Orb. oculi: impedance of the active needle not measured.",)
    assert judge_channel(LABEL, pair(None, 9.0)).verdict is Verdict.HIGH


def test_nothing_measured_is_unknown():
    j = judge_channel(LABEL, ChannelElectrodes())
    assert j.verdict is Verdict.UNKNOWN
    assert j.problems == ("L Orb. oculi: impedance not measured.",)


def test_one_value_per_channel_judges_the_limit_and_says_imbalance_cannot_be_judged():
    report = ElectrodeReport(
        (
            ChannelElectrodes(channel_kohm=3.0),
            ChannelElectrodes(channel_kohm=7.5),
            ChannelElectrodes(channel_kohm=999.0, lead_off=True),
        ),
        measured_at=1.0,
        per_electrode=False,
    )
    check = judge(report, ("A", "B", "C"))
    assert [c.verdict for c in check.channels] == [Verdict.OK, Verdict.HIGH, Verdict.LEAD_OFF]
    assert [c.imbalance_kohm for c in check.channels] == [None, None, None]
    assert "B: 7.5 kΩ for the pair — over 5 kΩ" in check.channels[1].problems[0]
    assert "does not say which" in check.channels[2].problems[0]
    assert "pair imbalance cannot be judged" in check.note
    assert not check.all_good


def test_limits_are_a_setting():
    strict = ElectrodeLimits(max_kohm=3.0, max_imbalance_kohm=0.5)
    assert judge_channel(LABEL, pair(3.5, 3.4), strict).verdict is Verdict.HIGH
    assert judge_channel(LABEL, pair(2.0, 2.6), strict).verdict is Verdict.IMBALANCE
    assert "over 3 kΩ" in judge_channel(LABEL, pair(3.5, 3.4), strict).problems[0]
    with pytest.raises(ValueError, match="above 0 kΩ"):
        ElectrodeLimits(max_kohm=0)


def test_a_report_is_judged_per_channel_with_labels_and_severity():
    report = ElectrodeReport(
        (pair(2.0, 2.2), pair(1.9, 12.4), pair(2.0, 4.5), pair(2.0, 2.0)), measured_at=5.0
    )
    check = judge(report, ("a", "b", "c"))  # one label short: the last is named by number
    assert [c.label for c in check.channels] == ["a", "b", "c", "Ch 4"]
    assert [c.verdict for c in check.channels] == [
        Verdict.OK,
        Verdict.HIGH,
        Verdict.IMBALANCE,
        Verdict.OK,
    ]
    assert check.severity == 2
    assert len(check.problems) == 2
    assert not check.all_good
    good = judge(ElectrodeReport((pair(2.0, 2.2),), 1.0), ("a",))
    assert good.all_good and good.problems == () and good.severity == 0
