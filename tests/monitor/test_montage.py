"""Channel sides and the stimulated side: contralateral muscles are controls in MVD."""

from __future__ import annotations

import pytest

from monitor.montage import default_labels, side_of, stimulated_side


@pytest.mark.parametrize(
    ("label", "side"),
    [
        ("L Orb. oculi", "left"),
        ("R Mentalis", "right"),
        ("Mentalis R", "right"),
        ("left frontalis", "left"),
        ("Orb. oris", None),
        ("EMG1", None),
        ("Lateral rectus", None),  # a word starting with L is not a side
    ],
)
def test_side_of_a_label(label, side):
    assert side_of(label) == side


def test_stimulated_side_from_the_site_or_the_montage():
    sixteen = default_labels(16, "right")  # the case's side first, with more muscles
    assert stimulated_side("zygomatic", sixteen) == "right"
    assert stimulated_side("L zygomatic", sixteen) == "left"
    assert stimulated_side("left marginal mandibular", sixteen) == "left"
    assert stimulated_side("Z-L", default_labels(4, "left")) == "left"  # no side in "Z-L"
    assert stimulated_side("Z-L", ("R Orb. oris", "L Orb. oris")) == "right"  # tie: first
    assert stimulated_side("zygomatic", ("EMG1", "EMG2")) is None


def test_a_label_names_the_muscle_it_names_longest():
    """ "R Depressor anguli oris" is no orbicularis oris, though it ends in "oris"."""
    from monitor.montage import muscle_of

    dao = muscle_of("R Depressor anguli oris")
    assert dao is not None and "depressor" in dao.name.lower()
    oris = muscle_of("R Orbicularis oris")
    assert oris is not None and "orbicularis oris" in oris.name.lower()
