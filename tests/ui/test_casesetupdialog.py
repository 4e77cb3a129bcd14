"""The case setup dialog: presets fill the montage, every action on a key, nothing private kept."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog

from monitor.casesetup import Procedure
from monitor.montagepresets import default_preset
from monitor.settingsstore import SettingsStore
from ui.casesetupdialog import LAST_USED, CaseSetupDialog

VS = Procedure.VESTIBULAR_SCHWANNOMA


@pytest.fixture
def store(tmp_path):
    return SettingsStore(tmp_path / "config")


def open_dialog(qtbot, store, **kw):
    dialog = CaseSetupDialog(store, user="anna", **kw)
    qtbot.addWidget(dialog)
    dialog.show()
    with qtbot.waitActive(dialog):  # window shortcuts need the active window, as in exec()
        dialog.activateWindow()
    return dialog


def choose(combo, data):
    index = combo.findData(data)
    assert index >= 0, data
    combo.setCurrentIndex(index)


def muscles(dialog):
    return [dialog.table.cellWidget(r, 1).currentData() for r in range(dialog.table.rowCount())]


def test_vestibular_schwannoma_preset_with_one_muscle_changed(qtbot, store):
    dialog = open_dialog(qtbot, store, case_id="VS-0417")
    assert dialog.procedure is Procedure.MVD_HFS  # the default
    assert muscles(dialog) == ["oculi", "oris", "mentalis", "frontalis"]
    choose(dialog.procedure_combo, VS)
    assert dialog.preset_combo.currentText() == default_preset(VS).name
    assert muscles(dialog) == ["frontalis", "oculi", "oris", "mentalis", "platysma", "masseter"]
    choose(dialog.side_combo, "right")
    choose(dialog.table.cellWidget(2, 1), "nasalis")  # channel 3: orbicularis oris -> nasalis
    assert dialog.table.item(2, 4).text() == "R Nasalis"
    dialog.surgeon_edit.setText("Dr Meier")
    dialog.neurophysiologist_edit.setText("Dr Kim")
    dialog.name_edit.setText("Josefine Quaglia")
    dialog.hospital_edit.setText("H77123")

    qtbot.keyClick(dialog.case_edit, Qt.Key.Key_Return)

    assert dialog.result() == QDialog.DialogCode.Accepted
    setup = dialog.result_setup()
    assert (setup.case_id, setup.procedure, setup.side) == ("VS-0417", VS, "right")
    assert setup.patient_name == "Josefine Quaglia"  # for the EDF+ header
    assert dialog.result_montage().labels() == (
        "R Frontalis",
        "R Orb. oculi",
        "R Nasalis",
        "R Mentalis",
        "R Platysma",
        "R Masseter",
    )
    assert dialog.result_settings().montage_preset == LAST_USED
    stored = "".join(p.read_text() for p in store.folder.rglob("*.json"))
    assert "Dr Meier" in stored and "Quaglia" not in stored and "H77123" not in stored

    # The next case: same user, procedure and montage; the side must be chosen again.
    again = open_dialog(qtbot, store)
    assert again.procedure is VS
    assert again.preset_combo.currentText() == LAST_USED
    assert muscles(again) == ["frontalis", "oculi", "nasalis", "mentalis", "platysma", "masseter"]
    assert again.surgeon_edit.text() == "Dr Meier"
    assert again.neurophysiologist_edit.text() == "Dr Kim"  # who reads it, usually the same
    assert again.side is None and again.name_edit.text() == ""


def test_start_without_a_side_says_so_and_stays_open(qtbot, store):
    dialog = open_dialog(qtbot, store, case_id="17")
    qtbot.keyClick(dialog.case_edit, Qt.Key.Key_Return)
    assert dialog.isVisible() and dialog.result() != QDialog.DialogCode.Accepted
    assert dialog.error.text() == "Choose the side of the operation: left or right."
    choose(dialog.side_combo, "left")
    dialog.case_edit.setText("case 17")
    qtbot.keyClick(dialog.case_edit, Qt.Key.Key_Return)
    assert "only letters, digits" in dialog.error.text()
    with pytest.raises(RuntimeError):
        dialog.result_setup()


def test_channels_are_added_removed_and_coloured_from_the_keyboard(qtbot, store):
    dialog = open_dialog(qtbot, store, case_id="17")
    choose(dialog.side_combo, "left")
    dialog.table.setFocus()
    qtbot.keyClick(dialog.table, Qt.Key.Key_Insert)
    assert muscles(dialog) == ["oculi", "oris", "mentalis", "frontalis", "platysma"]
    dialog.table.selectRow(1)
    qtbot.keyClick(dialog.table, Qt.Key.Key_Delete)
    assert muscles(dialog) == ["oculi", "mentalis", "frontalis", "platysma"]
    # In a text field Del edits the text instead.
    dialog.case_edit.setFocus()
    dialog.case_edit.setCursorPosition(0)
    qtbot.keyClick(dialog.case_edit, Qt.Key.Key_Delete)
    assert dialog.case_edit.text() == "7" and len(muscles(dialog)) == 4
    dialog.set_colour(0, "#ff3df2")
    choose(dialog.table.cellWidget(3, 2), "right")  # a contralateral control
    dialog.accept()
    montage = dialog.result_montage()
    assert montage.colours()[0] == "#ff3df2"
    assert montage.labels() == ("L Orb. oculi", "L Mentalis", "L Frontalis", "R Platysma")


def test_escape_cancels_without_keeping_anything(qtbot, store):
    dialog = open_dialog(qtbot, store, case_id="17")
    choose(dialog.side_combo, "left")
    qtbot.keyClick(dialog.case_edit, Qt.Key.Key_Escape)
    assert dialog.result() == QDialog.DialogCode.Rejected
    assert not store.folder.exists()


def test_saved_preset_is_offered_until_factory_defaults_are_restored(qtbot, store):
    dialog = open_dialog(qtbot, store, case_id="17")
    dialog.add_channel()
    assert dialog.save_preset(name="MVD with platysma, mine")
    again = open_dialog(qtbot, store)
    assert again.preset_combo.currentText() == "MVD with platysma, mine"
    assert len(muscles(again)) == 5
    assert again.restore_factory_defaults(confirm=False)
    assert again.preset_combo.currentText() == default_preset(Procedure.MVD_HFS).name
    assert again.preset_combo.findText("MVD with platysma, mine") < 0
    assert len(muscles(again)) == 4


def test_a_damaged_settings_file_is_reported_on_the_dialog(qtbot, store):
    path = store.user_file("anna", Procedure.MVD_HFS)
    path.parent.mkdir(parents=True)
    path.write_text("{ damaged")
    dialog = open_dialog(qtbot, store, case_id="17")
    assert dialog.notice.isVisible()
    assert "renamed to mvd-hfs.json.unreadable-" in dialog.notice.text()
    assert muscles(dialog) == ["oculi", "oris", "mentalis", "frontalis"]


def test_neurophysiologist_and_anaesthesia_reach_the_case_and_its_first_annotation(qtbot, store):
    dialog = open_dialog(qtbot, store, case_id="MVD-17")
    choose(dialog.side_combo, "left")
    dialog.surgeon_edit.setText("Dr Meier")
    qtbot.keyClick(dialog, Qt.Key.Key_O, Qt.KeyboardModifier.AltModifier)
    assert dialog.focusWidget() is dialog.neurophysiologist_edit
    qtbot.keyClicks(dialog.neurophysiologist_edit, "Dr Kim")
    qtbot.keyClick(dialog, Qt.Key.Key_A, Qt.KeyboardModifier.AltModifier)
    assert dialog.focusWidget() is dialog.anaesthesia_edit
    qtbot.keyClicks(dialog.anaesthesia_edit, "TIVA, no relaxant after induction")
    qtbot.keyClick(dialog.case_edit, Qt.Key.Key_Return)
    setup = dialog.result_setup()
    assert (setup.neurophysiologist, setup.anaesthesia) == (
        "Dr Kim",
        "TIVA, no relaxant after induction",
    )
    assert setup.recording_note().endswith(
        "; neurophysiologist: Dr Kim; anaesthesia: TIVA, no relaxant after induction"
    )
