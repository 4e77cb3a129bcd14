"""The case's people and anaesthesia: checked, written into the recording's first
annotation, read back from it."""

from __future__ import annotations

import pytest

from commands.machine_texts import TextPolicy
from monitor.casesetup import CaseSetup, CaseSetupError, Procedure, parse_recording_note

VS = Procedure.VESTIBULAR_SCHWANNOMA


def test_people_and_anaesthesia_go_into_the_first_annotation_and_back():
    setup = CaseSetup(
        "VS-0417",
        "right",
        VS,
        surgeon="Dr  Meier",
        user="anna",
        neurophysiologist="Dr Kim; PhD",
        anaesthesia="TIVA, no relaxant after induction,  TOF 4/4",
    )
    note = setup.recording_note()
    assert note == (
        "case VS-0417: Vestibular schwannoma, right side, surgeon Dr Meier, monitored by "
        "anna; neurophysiologist: Dr Kim, PhD; anaesthesia: TIVA, no relaxant after "
        "induction, TOF 4/4"
    )
    assert parse_recording_note(note) == {
        "case_id": "VS-0417",
        "procedure": "Vestibular schwannoma",
        "side": "right",
        "surgeon": "Dr Meier",
        "user": "anna",
        "neurophysiologist": "Dr Kim, PhD",
        "anaesthesia": "TIVA, no relaxant after induction, TOF 4/4",
    }
    assert "neurophysiologist Dr Kim; PhD" in setup.describe()


@pytest.mark.parametrize(
    ("fields", "want"),
    [
        ({}, {}),
        ({"surgeon": "Dr Meier"}, {"surgeon": "Dr Meier"}),
        ({"anaesthesia": "no relaxant"}, {"anaesthesia": "no relaxant"}),
        (
            {"user": "anna", "neurophysiologist": "Dr Kim"},
            {"user": "anna", "neurophysiologist": "Dr Kim"},
        ),
    ],
)
def test_absent_fields_stay_absent(fields, want):
    note = CaseSetup("c-1", "left", **fields).recording_note()
    base = {"case_id": "c-1", "procedure": "MVD for hemifacial spasm", "side": "left"}
    assert parse_recording_note(note) == base | want


def test_other_texts_are_not_case_notes():
    assert parse_recording_note("note: case 17 went well") == {}
    assert parse_recording_note("case: nothing") == {}


@pytest.mark.parametrize(
    ("field", "length", "message"),
    [
        ("neurophysiologist", 41, "The neurophysiologist's name has at most 40 characters."),
        ("anaesthesia", 81, "The anaesthesia has at most 80 characters."),
    ],
)
def test_long_fields_are_refused_in_one_sentence(field, length, message):
    with pytest.raises(CaseSetupError) as err:
        CaseSetup("c-1", "left", **{field: "x" * length})
    assert str(err.value) == message


def test_the_next_case_keeps_the_people_not_the_anaesthesia_nor_does_a_deidentified_copy():
    setup = CaseSetup("c-1", "left", neurophysiologist="Dr Kim", anaesthesia="TOF 4/4")
    # Who reads the monitoring is usually the same from case to case (as the surgeon);
    # the anaesthesia is this case's own.
    assert setup.remembered() == {
        "surgeon": "",
        "neurophysiologist": "Dr Kim",
        "procedure": "mvd-hfs",
    }
    assert not TextPolicy([]).keeps(setup.recording_note())
    # The operator's alarm actions are the monitor's own texts: a copy keeps them.
    assert TextPolicy([]).keeps("alarm audio paused for 2:00")
    assert TextPolicy([]).keeps("alarm audio resumed")
