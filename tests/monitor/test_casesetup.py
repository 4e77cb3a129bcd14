"""The case setup: what it accepts, the EDF+ header it gives, and patient privacy."""

from __future__ import annotations

import datetime as dt
import logging

import numpy as np
import pytest

from monitor.block import Block
from monitor.casesetup import CaseSetup, CaseSetupError, Procedure, edf_text
from monitor.edfwriter import EdfWriter
from monitor.recorder import Recorder, default_recording_path
from monitor.settingsstore import SettingsStore

edfio = pytest.importorskip("edfio")


def test_case_id_takes_letters_digits_dash_and_underscore_up_to_20():
    assert CaseSetup(" MVD-2026_017 ", "left").case_id == "MVD-2026_017"
    for bad, words in (
        ("", "Enter a case id"),
        ("case 17", "only letters, digits"),
        ("17/3", "only letters, digits"),
        ("../etc", "only letters, digits"),
        ("x" * 21, "at most 20"),
    ):
        with pytest.raises(CaseSetupError, match=words):
            CaseSetup(bad, "left")


def test_defaults_side_and_procedure():
    setup = CaseSetup("17", "right")
    assert setup.procedure is Procedure.MVD_HFS
    assert setup.procedure.title == "MVD for hemifacial spasm"
    with pytest.raises(CaseSetupError, match="Choose the side"):
        CaseSetup("17", "")
    assert CaseSetup("17", "left", "Vestibular schwannoma").procedure is (
        Procedure.VESTIBULAR_SCHWANNOMA
    )
    with pytest.raises(CaseSetupError, match="Unknown procedure"):
        CaseSetup("17", "left", "appendectomy")


def test_birth_date_forms_and_errors():
    iso = CaseSetup("17", "left", patient_birth_date="1961-08-02")
    german = CaseSetup("17", "left", patient_birth_date="02.08.1961")
    assert iso.patient_birth_date == german.patient_birth_date == dt.date(1961, 8, 2)
    with pytest.raises(CaseSetupError, match="must look like"):
        CaseSetup("17", "left", patient_birth_date="8/2/61")
    with pytest.raises(CaseSetupError, match="past date"):
        CaseSetup("17", "left", patient_birth_date=dt.date.today() + dt.timedelta(days=2))


def test_a_case_id_holding_the_patients_name_number_or_birth_date_is_refused():
    patient = {
        "patient_name": "Jane Quaglia",
        "hospital_number": "H77123",
        "patient_birth_date": "1961-08-02",
    }
    for case_id in ("quaglia-1", "case-H77123", "c19610802"):
        with pytest.raises(CaseSetupError, match="must not contain") as err:
            CaseSetup(case_id, "left", **patient)
        # The refusal itself never repeats the patient's data.
        assert "Quaglia" not in str(err.value) and "H77123" not in str(err.value)
    assert CaseSetup("case-17", "left", **patient).case_id == "case-17"


def test_edf_patient_field_is_code_sex_birthdate_name_with_underscores():
    setup = CaseSetup(
        "17",
        "left",
        patient_name="Müller-Lüdenscheidt,  Anna Maria",
        patient_birth_date="1961-08-02",
        hospital_number="H-77123",
    )
    assert setup.edf_patient() == "H-77123 X 02-AUG-1961 Muller-Ludenscheidt,_Anna_Maria"
    assert CaseSetup("17", "left").edf_patient() == "X X X X"
    long_name = CaseSetup("17", "left", patient_name="A" * 60, hospital_number="H" * 20)
    assert len(long_name.edf_patient()) <= 80
    assert edf_text("  ") == "X"


def test_edf_header_fields_read_back_by_an_independent_reader(tmp_path):
    setup = CaseSetup(
        "case-17",
        "right",
        user="anna k",
        patient_name="Jane Quaglia",
        patient_birth_date="1961-08-02",
        hospital_number="H77123",
    )
    path = tmp_path / "x.edf"
    with EdfWriter(path, 1000.0, ["R Mentalis"], **setup.edf_header()) as w:
        w.write(np.zeros((1000, 1)))
    edf = edfio.read_edf(path)
    assert edf.patient.code == "H77123"
    assert edf.patient.name == "Jane_Quaglia"
    assert edf.patient.birthdate == dt.date(1961, 8, 2)
    assert edf.recording.hospital_administration_code == "case-17"
    assert edf.recording.investigator_technician_code == "anna_k"
    assert edf.recording.equipment_code == "Facial_Nerve_Monitor"


def test_writer_without_case_fields_keeps_its_anonymous_header(tmp_path):
    path = tmp_path / "x.edf"
    with EdfWriter(path, 1000.0, ["L Mentalis"], case_id="17") as w:
        w.write(np.zeros((100, 1)))
    head = path.read_bytes()[:256].decode("ascii")
    assert head[8:88].strip() == "X X X X"
    assert head[88:168].split()[2:5] == ["17", "X", "Facial_Nerve_Monitor"]


def test_patient_fields_never_reach_file_names_logs_or_the_settings_store(tmp_path):
    """The whole path of a case: set up, log, settings saved, recording made."""
    secrets = ("Josefine", "Quaglia", "H77123", "1961", "AUG")
    log_file = tmp_path / "monitor.log"
    handler = logging.FileHandler(log_file, encoding="utf-8")
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    log = logging.getLogger("monitor.test")
    try:
        setup = CaseSetup(
            "case-17",
            "right",
            Procedure.VESTIBULAR_SCHWANNOMA,
            surgeon="Dr Meier",
            user="anna",
            patient_name="Josefine Quaglia",
            patient_birth_date="1961-08-02",
            hospital_number="H77123",
        )
        log.info("case set up: %s", setup)
        log.info("case set up: %r", setup)
        log.info("%s", setup.recording_note())
        store = SettingsStore(tmp_path / "config")
        (tmp_path / "config" / "procedures").mkdir(parents=True)
        store.procedure_file(setup.procedure).write_text("{ damaged")  # logs a warning
        settings = store.load(setup.user, setup.procedure)
        store.save(settings, setup.user, setup.procedure)
        store.remember_case(setup.user, setup)
        montage = settings.montage(setup.side)
        path = default_recording_path(tmp_path / "recordings", setup.case_id)
        path.parent.mkdir()
        rec = Recorder(path, 1000.0, montage.labels(), **setup.edf_header())
        rec.start()
        rec.annotate(0, setup.recording_note())
        rec(Block(0, np.zeros((2000, len(montage)), np.float32), 1000.0, montage.labels()))
        rec.close()
        log.info("recorded %s", rec.stats())
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        handler.close()

    logged = log_file.read_text(encoding="utf-8")
    assert "case-17" in logged and "unreadable" in logged  # the log was written
    names = [str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")]
    assert any(n.endswith("case-17.edf") for n in names)
    stored = "".join(
        p.read_text(encoding="utf-8", errors="replace")
        for p in (tmp_path / "config").rglob("*")
        if p.is_file()
    )
    assert "Dr Meier" in stored  # what may be remembered is
    for secret in secrets:
        assert secret not in logged, secret
        assert not any(secret in n for n in names), secret
        assert secret not in stored, secret
    # The recording keeps them where EDF+ puts them, and nowhere else in the file.
    edf = edfio.read_edf(path)
    assert edf.patient.name == "Josefine_Quaglia"
    texts = " ".join(a.text for a in edf.annotations)
    assert "Vestibular schwannoma, right side, surgeon Dr Meier" in texts
    assert not any(secret in texts for secret in secrets)


def test_the_patients_data_is_found_in_the_case_id_in_any_common_spelling():
    patient = {
        "patient_name": "Josefine Müller",
        "hospital_number": "H-77123",
        "patient_birth_date": "1961-08-02",
    }
    for case_id in ("muller-1", "case-h77123", "c020861", "08021961", "x-61-08-02"):
        with pytest.raises(CaseSetupError, match="must not contain"):
            CaseSetup(case_id, "left", **patient)


@pytest.mark.parametrize(
    "case_id",
    ["doe-jane-1961-08-02", "19610802", "02-08-1961", "c_02.08.1961", "08/02/1961", "Doe, Jane"],
)
def test_without_the_patients_data_a_birth_date_or_a_name_is_still_refused(case_id):
    from monitor.casesetup import check_case_id_is_not_identifying

    with pytest.raises(CaseSetupError, match="must not contain") as err:
        check_case_id_is_not_identifying(case_id, today=dt.date(2026, 12, 6))
    assert "1961" not in str(err.value) and "Doe" not in str(err.value)


@pytest.mark.parametrize(
    "case_id", ["MVD-2026_017", "20261206-1408", "case-17", "HFS-2026-12-01", "VS-0417", "OR3"]
)
def test_case_ids_of_todays_cases_pass(case_id):
    from monitor.casesetup import check_case_id_is_not_identifying

    check_case_id_is_not_identifying(case_id, today=dt.date(2026, 12, 6))
