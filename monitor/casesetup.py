"""The case: its id, the people, the procedure, the side, and optional patient fields.

The people (surgeon, neurophysiologist) and the anaesthesia (relaxant state, train of
four: a relaxed muscle gives no EMG) are clinicians' data, not the patient's: they go into
the recording's first annotation (:meth:`CaseSetup.recording_note`, read back by
:func:`parse_recording_note`) and from there into the signed report.

The patient fields (name, birth date, hospital number) are for the recording's EDF+ header
only, where EDF+ keeps them (``code sex birthdate name``). They never reach a file name, a
log line or the settings store: they are left out of ``repr``/``str``, :meth:`describe`
and :meth:`remembered`, and the case id may not contain them
(:func:`check_case_id_is_not_identifying`, also where a case id enters without the
patient fields, as on the command line).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field
from enum import Enum

from monitor.montage import SIDES

CASE_ID_MAX = 20
#: A date in a case id at least this old could be a birth date (the case's own is recent).
BIRTH_DATE_MIN_AGE = dt.timedelta(days=365)
_CASE_ID = re.compile(r"[A-Za-z0-9_-]+")
_EDF_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
EDF_FIELD_CHARS = 80  # the EDF header's patient and recording fields
NAME_MAX = 40  # a surgeon's, a neurophysiologist's, a user's name
ANAESTHESIA_MAX = 80
_NOTE = re.compile(
    r"case (?P<case_id>[A-Za-z0-9_-]+): (?P<procedure>.+?), (?P<side>left|right) side"
    r"(?:, surgeon (?P<surgeon>.+?))?(?:, monitored by (?P<user>.+?))?"
    r"(?:; neurophysiologist: (?P<neurophysiologist>.+?))?(?:; anaesthesia: (?P<anaesthesia>.+))?"
)


class CaseSetupError(ValueError):
    """A case field that cannot be used; ``str()`` is a sentence for the clinician."""


class Procedure(Enum):
    """The operations the monitor has presets for; the value names files and settings."""

    MVD_HFS = "mvd-hfs"
    VESTIBULAR_SCHWANNOMA = "vestibular-schwannoma"
    OTHER_CPA = "other-cpa"

    @property
    def title(self) -> str:
        return _TITLES[self]

    @classmethod
    def parse(cls, text: str | Procedure) -> Procedure:
        """A procedure from its value (``"mvd-hfs"``) or its title (case-insensitive)."""
        if isinstance(text, Procedure):
            return text
        low = str(text).strip().lower()
        for p in cls:
            if low in (p.value, p.title.lower(), p.name.lower()):
                return p
        names = "; ".join(p.title for p in cls)
        raise CaseSetupError(f"Unknown procedure {text!r}; the procedures are: {names}.")


_TITLES = {
    Procedure.MVD_HFS: "MVD for hemifacial spasm",
    Procedure.VESTIBULAR_SCHWANNOMA: "Vestibular schwannoma",
    Procedure.OTHER_CPA: "Other cerebellopontine-angle surgery",
}
DEFAULT_PROCEDURE = Procedure.MVD_HFS


def check_case_id(case_id: str) -> str:
    """The case id, stripped; letters, digits, ``-`` and ``_`` only, 1 to 20 characters.

    Raises
    ------
    CaseSetupError
    """
    text = str(case_id).strip()
    if not text:
        raise CaseSetupError("Enter a case id (letters, digits, - and _); it names the file.")
    if len(text) > CASE_ID_MAX:
        raise CaseSetupError(f"The case id has at most {CASE_ID_MAX} characters.")
    if not _CASE_ID.fullmatch(text):
        raise CaseSetupError("The case id may hold only letters, digits, - and _ (no spaces).")
    return text


def check_case_id_is_not_identifying(
    case_id: str,
    patient_name: str = "",
    birth_date: dt.date | None = None,
    hospital_number: str = "",
    today: dt.date | None = None,
) -> None:
    """Refuse a case id that could identify the patient: it names files and is written
    into the recording's header, where anyone who gets the file reads it.

    Without the patient fields (the command line) it refuses what looks like them: a date
    more than :data:`BIRTH_DATE_MIN_AGE` old and a name written ``Last, First``. With them
    (the case setup) it also refuses the patient's name, birth date in any common form and
    hospital number. Every place a case id enters calls this one check.

    Raises
    ------
    CaseSetupError
        In one sentence that never repeats the patient's data.
    """
    low = str(case_id).strip().lower()
    hospital = _alnum(hospital_number)
    if hospital and hospital in _alnum(low):
        raise CaseSetupError(
            "The case id must not contain the hospital number: it goes into file names."
        )
    parts = re.split(r"[\s,;.-]+", _ascii_lower(patient_name))
    if any(len(p) >= 3 and p in low for p in parts):
        raise CaseSetupError(
            "The case id must not contain the patient's name: it goes into file names."
        )
    digits = re.sub(r"\D", "", low)
    if birth_date is not None and any(
        birth_date.strftime(form) in digits for form in _BIRTH_DATE_FORMS
    ):
        raise CaseSetupError(
            "The case id must not contain the birth date: it goes into file names."
        )
    newest = (today or dt.date.today()) - BIRTH_DATE_MIN_AGE
    if any(dt.date(1900, 1, 1) <= d <= newest for d in _dates_in(low)):
        raise CaseSetupError(
            "The case id must not contain a date that could be a birth date (one more than "
            "a year ago): it goes into file names."
        )
    if _LAST_FIRST.search(low):
        raise CaseSetupError(
            "The case id must not contain a name written 'Last, First': it goes into file names."
        )


_BIRTH_DATE_FORMS = ("%Y%m%d", "%d%m%Y", "%m%d%Y", "%d%m%y", "%y%m%d")
_LAST_FIRST = re.compile(r"[^\W\d_]{2,}\s*,\s*[^\W\d_]{2,}")
# Full dates with the year written in four digits, as year-month-day or day-month-year
# (either order of day and month), with one separator repeated, or none.
_YEAR_FIRST = re.compile(r"(?<!\d)(\d{4})(?:([-_./ ])(\d{1,2})\2(\d{1,2})|(\d{2})(\d{2}))(?!\d)")
_YEAR_LAST = re.compile(r"(?<!\d)(?:(\d{1,2})([-_./ ])(\d{1,2})\2|(\d{2})(\d{2}))(\d{4})(?!\d)")


def _dates_in(text: str) -> list[dt.date]:
    """Every calendar date written in ``text`` (both readings of an ambiguous one)."""
    found = []
    for m in _YEAR_FIRST.finditer(text):
        year, month, day = m.group(1), m.group(3) or m.group(5), m.group(4) or m.group(6)
        found += _valid_dates(int(year), [(int(month), int(day))])
    for m in _YEAR_LAST.finditer(text):
        a, b = int(m.group(1) or m.group(4)), int(m.group(3) or m.group(5))
        found += _valid_dates(int(m.group(6)), [(b, a), (a, b)])  # day first, or month
    return found


def _valid_dates(year: int, month_days: list[tuple[int, int]]) -> list[dt.date]:
    out = []
    for month, day in month_days:
        try:
            out.append(dt.date(year, month, day))
        except ValueError:
            continue
    return out


def _ascii_lower(text: str) -> str:
    """Lower case without accents: a name as it could be spelled in a case id."""
    folded = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode("ascii")
    return folded.lower()


def _alnum(text: str) -> str:
    """Letters and digits only, lower case: ``H-77123`` and ``h77123`` compare equal."""
    return re.sub(r"[^0-9a-z]", "", _ascii_lower(text))


def parse_birth_date(text: str | dt.date | None) -> dt.date | None:
    """``1961-08-02`` or ``02.08.1961`` as a date; empty gives ``None``.

    Raises
    ------
    CaseSetupError
        Another form, or a date in the future or before 1900.
    """
    if text is None or isinstance(text, dt.date):
        day = text
    else:
        raw = str(text).strip()
        if not raw:
            return None
        day = None
        for form in ("%Y-%m-%d", "%d.%m.%Y"):
            try:
                day = dt.datetime.strptime(raw, form).date()
                break
            except ValueError:
                continue
        if day is None:
            raise CaseSetupError("The birth date must look like 1961-08-02 or 02.08.1961.")
    if day is not None and not dt.date(1900, 1, 1) <= day <= dt.date.today():
        raise CaseSetupError("The birth date must be a past date after 1900.")
    return day


def edf_text(text: str) -> str:
    """An EDF+ subfield: printable ASCII with spaces (runs of them) as ``_``; ``X`` if empty."""
    text = text.replace("µ", "u")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    text = "".join(c for c in text if 32 <= ord(c) < 127)
    return "_".join(text.split()) or "X"


def edf_date(day: dt.date) -> str:
    """``02-AUG-1961``, the EDF+ form of a date."""
    return f"{day.day:02d}-{_EDF_MONTHS[day.month - 1]}-{day.year:04d}"


@dataclass(frozen=True)
class CaseSetup:
    """Everything known about the case before monitoring starts.

    Parameters
    ----------
    case_id : str
        Letters, digits, ``-`` and ``_``, at most 20: names the recording file.
    side : {"left", "right"}
        Side of the operation (for hemifacial spasm, the affected side).
    procedure : Procedure
        Default: MVD for hemifacial spasm.
    surgeon : str
        Optional, at most 40 characters.
    user : str
        Who monitors (their settings are used); the EDF+ technician code.
    neurophysiologist : str
        Who interprets and signs the monitoring (may differ from ``user``, the one at the
        machine); optional, at most 40 characters.
    anaesthesia : str
        Optional, at most 80 characters: what matters for the EMG, the relaxant state
        (``TIVA, no relaxant after induction, TOF 4/4``).
    patient_name, patient_birth_date, hospital_number
        Optional; only for the EDF+ header. Not shown by ``repr``.

    Raises
    ------
    CaseSetupError
        A field that cannot be used, in one sentence (never quoting a patient field).
    """

    case_id: str
    side: str
    procedure: Procedure = DEFAULT_PROCEDURE
    surgeon: str = ""
    user: str = ""
    neurophysiologist: str = ""
    anaesthesia: str = ""
    patient_name: str = field(default="", repr=False)
    patient_birth_date: dt.date | None = field(default=None, repr=False)
    hospital_number: str = field(default="", repr=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "case_id", check_case_id(self.case_id))
        if self.side not in SIDES:
            raise CaseSetupError("Choose the side of the operation: left or right.")
        set_(self, "procedure", Procedure.parse(self.procedure))
        for name, what, most in (
            ("surgeon", "The surgeon's name", NAME_MAX),
            ("user", "The user's name", NAME_MAX),
            ("neurophysiologist", "The neurophysiologist's name", NAME_MAX),
            ("anaesthesia", "The anaesthesia", ANAESTHESIA_MAX),
        ):
            set_(self, name, " ".join(str(getattr(self, name)).split()))
            if len(getattr(self, name)) > most:
                raise CaseSetupError(f"{what} has at most {most} characters.")
        set_(self, "patient_name", " ".join(str(self.patient_name).split()))
        if len(self.patient_name) > 60:
            raise CaseSetupError("The patient's name has at most 60 characters.")
        set_(self, "patient_birth_date", parse_birth_date(self.patient_birth_date))
        set_(self, "hospital_number", str(self.hospital_number).strip())
        if len(self.hospital_number) > 20 or " " in self.hospital_number:
            raise CaseSetupError("The hospital number has at most 20 characters, no spaces.")
        check_case_id_is_not_identifying(
            self.case_id, self.patient_name, self.patient_birth_date, self.hospital_number
        )

    # -- what may be shown, logged and stored -----------------------------------------------
    def describe(self) -> str:
        """One line for the log and the screen: no patient field."""
        parts = [f"case {self.case_id}", self.procedure.title, f"{self.side} side"]
        if self.surgeon:
            parts.append(f"surgeon {self.surgeon}")
        if self.neurophysiologist:
            parts.append(f"neurophysiologist {self.neurophysiologist}")
        return ", ".join(parts)

    def __str__(self) -> str:
        return self.describe()

    def remembered(self) -> dict[str, str]:
        """What the settings store may keep for the next case: the surgeon, the
        neurophysiologist and the procedure; never a patient field, nor the case id, the
        side or the anaesthesia (each case sets its own)."""
        return {
            "surgeon": self.surgeon,
            "neurophysiologist": self.neurophysiologist,
            "procedure": self.procedure.value,
        }

    # -- the recording ---------------------------------------------------------------------
    def edf_patient(self) -> str:
        """The EDF+ patient field ``code sex birthdate name`` (``X`` where unknown).

        Spaces become ``_``; non-ASCII letters lose their accents; the name is shortened
        so the field fits its 80 characters.
        """
        code = edf_text(self.hospital_number)
        birth = edf_date(self.patient_birth_date) if self.patient_birth_date else "X"
        head = f"{code} X {birth} "
        return head + edf_text(self.patient_name)[: EDF_FIELD_CHARS - len(head)]

    def edf_header(self) -> dict[str, str]:
        """Header fields for :class:`~monitor.edfwriter.EdfWriter` or
        :class:`~monitor.recorder.Recorder` (``Recorder(path, rate, labels,
        **setup.edf_header())``): the patient field, the case id as the hospital
        administration code, the user as the technician code."""
        return {
            "patient": self.edf_patient(),
            "case_id": self.case_id,
            "technician": edf_text(self.user)[:20],
        }

    def recording_note(self) -> str:
        """An annotation for the start of the recording: procedure, side, surgeon, user,
        neurophysiologist, anaesthesia (the EDF+ recording field has no room for them); no
        patient field. :func:`parse_recording_note` reads it back.

        ``case VS-0417: Vestibular schwannoma, right side, surgeon Dr Meier, monitored by
        anna; neurophysiologist: Dr Kim; anaesthesia: TIVA, no relaxant after induction``
        (a ``;`` in a field becomes ``,``: it separates the fields).
        """

        def clean(value: str) -> str:
            return value.replace(";", ",")

        text = f"case {self.case_id}: {self.procedure.title}, {self.side} side"
        if self.surgeon:
            text += f", surgeon {clean(self.surgeon)}"
        if self.user:
            text += f", monitored by {clean(self.user)}"
        if self.neurophysiologist:
            text += f"; neurophysiologist: {clean(self.neurophysiologist)}"
        if self.anaesthesia:
            text += f"; anaesthesia: {clean(self.anaesthesia)}"
        return text


def parse_recording_note(text: str) -> dict[str, str]:
    """The fields of a :meth:`CaseSetup.recording_note` (``case_id``, ``procedure``,
    ``side``, and those given of ``surgeon``, ``user``, ``neurophysiologist``,
    ``anaesthesia``); ``{}`` for any other text."""
    m = _NOTE.fullmatch(" ".join(str(text).split()))
    if m is None:
        return {}
    return {k: v for k, v in m.groupdict().items() if v}
