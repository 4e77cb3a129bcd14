"""Montages and the presets per procedure: labels a source can be built with."""

from __future__ import annotations

import pytest

from drivers.simulator import SimulatorSource
from monitor.casesetup import Procedure
from monitor.montage import (
    MUSCLES,
    ChannelSpec,
    Montage,
    MontageError,
    default_labels,
    muscle_of,
)
from monitor.montagepresets import (
    FACTORY_PRESETS,
    MontagePreset,
    PresetChannel,
    default_preset,
    next_muscle,
)
from simulation.emgsynth import SimConfig

ALL_PRESETS = [p for presets in FACTORY_PRESETS.values() for p in presets]


@pytest.mark.parametrize("preset", ALL_PRESETS, ids=lambda p: p.name)
@pytest.mark.parametrize("side", ["left", "right"])
def test_every_preset_gives_labels_that_name_its_muscles_and_side(preset, side):
    montage = preset.montage(side)
    labels = montage.labels()
    assert len(set(labels)) == len(labels)
    for label, spec in zip(labels, montage.channels, strict=True):
        assert label.isascii() and len(label) <= 16  # an EDF label, unchanged by the writer
        assert muscle_of(label) is MUSCLES[spec.muscle]
        assert label.startswith({"left": "L ", "right": "R "}[side])


def test_the_simulator_is_built_with_a_preset_s_labels():
    labels = default_preset(Procedure.VESTIBULAR_SCHWANNOMA).montage("right").labels()
    source = SimulatorSource(SimConfig(labels=labels, seed=1), realtime=False)
    source.open()
    try:
        assert source.info.labels == labels
        block = source.read()
        assert block is not None and block.data.shape[1] == len(labels)
    finally:
        source.close()


def test_mvd_preset_is_the_lsr_montage_on_the_affected_side():
    for side in ("left", "right"):
        montage = default_preset(Procedure.MVD_HFS).montage(side)
        assert [c.muscle for c in montage.channels] == ["oculi", "oris", "mentalis", "frontalis"]
        assert montage.labels() == default_labels(4, side)


def test_vestibular_schwannoma_preset_has_every_branch_and_a_trigeminal_control():
    for preset in FACTORY_PRESETS[Procedure.VESTIBULAR_SCHWANNOMA]:
        assert 4 <= len(preset.channels) <= 8
    muscles = [c.muscle for c in default_preset(Procedure.VESTIBULAR_SCHWANNOMA).channels]
    assert {"frontalis", "oculi", "oris", "mentalis", "platysma", "masseter"} <= set(muscles)
    branches = {MUSCLES[m].branch for m in muscles}
    assert "trigeminal motor" in branches


def test_contralateral_channels_follow_the_side_of_the_operation():
    preset = MontagePreset(
        "with control",
        (PresetChannel("mentalis"), PresetChannel("mentalis", contralateral=True)),
    )
    assert preset.montage("left").labels() == ("L Mentalis", "R Mentalis")
    assert preset.montage("right").labels() == ("R Mentalis", "L Mentalis")
    back = MontagePreset.from_montage("again", preset.montage("right"), "right")
    assert back.channels == preset.channels


def test_stored_form_round_trips_with_colours():
    preset = MontagePreset(
        "mine",
        (PresetChannel("oculi", colour="#FF00aa"), PresetChannel("masseter", contralateral=True)),
    )
    items = preset.to_list()
    assert items[0]["colour"] == "#ff00aa"
    assert MontagePreset.from_list("mine", items) == preset


def test_same_muscle_twice_gets_distinct_labels():
    montage = Montage((ChannelSpec("oris", "left"), ChannelSpec("oris", "left")))
    assert montage.labels() == ("L Orb. oris", "L Orb. oris 2")


def test_bad_montages_are_refused_in_words():
    with pytest.raises(MontageError, match="Unknown muscle 'biceps'"):
        ChannelSpec("biceps", "left")
    with pytest.raises(MontageError, match="left or right"):
        ChannelSpec("oris", "up")
    with pytest.raises(MontageError, match="must look like #4fc3f7"):
        ChannelSpec("oris", "left", "red")
    with pytest.raises(MontageError, match="1 to 16 channels"):
        Montage(())
    with pytest.raises(MontageError, match="1 to 16 channels"):
        Montage(tuple(ChannelSpec("oris", "left") for _ in range(17)))
    with pytest.raises(MontageError, match="names no muscle"):
        MontagePreset.from_list("x", [{"side": "operated"}])


def test_an_added_channel_takes_a_muscle_not_yet_used():
    assert next_muscle(["oculi", "oris"]) == "mentalis"
    assert next_muscle(list(MUSCLES)) == "oculi"
