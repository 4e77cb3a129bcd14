"""The case setup dialog: case fields, the procedure, its montage preset and the montage.

Usage::

    dialog = CaseSetupDialog(store, parent)
    if dialog.exec():
        setup = dialog.result_setup()        # monitor.casesetup.CaseSetup
        montage = dialog.result_montage()    # monitor.montage.Montage: .labels(), .colours()
        settings = dialog.result_settings()  # monitor.monitorsettings.MonitorSettings

Choosing a procedure fills the montage from its preset; each channel's muscle, side and
colour can then be changed. The neurophysiologist and the anaesthesia (relaxant state) go
with the surgeon into the recording's first annotation, and so into the signed report. On
"Start case" the montage used is kept as the user's "Last used" preset for that procedure
and the surgeon and the neurophysiologist are remembered; patient fields are never stored.
Every action has a key: Alt + the underlined letter moves to a field, Ins/Del add and
remove a channel, F6 picks a colour, F7 saves a preset, F8 restores the factory defaults,
Enter starts the case, Esc cancels.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QKeySequence, QPixmap, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from monitor.casesetup import (
    ANAESTHESIA_MAX,
    NAME_MAX,
    CaseSetup,
    CaseSetupError,
    Procedure,
)
from monitor.monitorsettings import MonitorSettings, SettingsError
from monitor.montage import MAX_CHANNELS, MUSCLES, Montage, MontageError
from monitor.montagepresets import MontagePreset, PresetChannel, next_muscle
from monitor.settingsstore import SettingsStore, check_user, default_user
from presentation import theme
from ui.dialogtheme import apply_dialog_theme, ask_text, message_box

log = logging.getLogger(__name__)

LAST_USED = "Last used"
FIELD_PT = theme.DIALOG_PT
TITLE_PT = theme.DIALOG_TITLE_PT
ROW_PX = 44
COLUMNS = ("Ch", "Muscle", "Side", "Colour", "Label")
FOCUS = theme.FOCUS
# The dialogs' theme (ui.dialogtheme), then this dialog's own rules. Sizes are in the style
# sheet: under a style sheet Qt children do not inherit setFont().
_STYLE = f"""
QDialog {{ background:{theme.PANEL}; }}
QDialog QWidget {{ font-size:{FIELD_PT}pt; }}
QLabel, QGroupBox {{ color:{theme.FOREGROUND}; }}
QLabel#title {{ font-size:{TITLE_PT}pt; font-weight:bold; }}
QLabel#note {{ color:{theme.DIALOG_MUTED}; }}
QLabel#error {{ font-size:{theme.PROBLEM_PT}pt; font-weight:bold; }}
QGroupBox {{ border:1px solid {theme.GRID}; margin-top:1.3em; padding:8px 6px 6px 6px; }}
QGroupBox::title {{ subcontrol-origin:margin; left:8px; color:{theme.MUTED}; }}
QLineEdit, QComboBox {{ background:#202020; color:{theme.FOREGROUND}; border:1px solid #5a5a5a;
    padding:4px 8px; min-height:1.6em; }}
QLineEdit:focus, QComboBox:focus {{ border:2px solid {FOCUS}; }}
QComboBox:disabled {{ color:{theme.MUTED}; }}
QComboBox QAbstractItemView {{ background:#202020; color:{theme.FOREGROUND};
    selection-background-color:#1565c0; }}
QTableWidget {{ background:{theme.BACKGROUND}; color:{theme.FOREGROUND};
    gridline-color:{theme.GRID}; border:1px solid {theme.GRID}; }}
QTableWidget:focus {{ border:2px solid {FOCUS}; }}
QTableWidget::item:selected {{ background:#1c3a5a; }}
QHeaderView::section {{ background:#202020; color:{theme.MUTED}; border:none; padding:4px;
    font-size:{theme.LOG_HEADER_PT + 1}pt; font-weight:bold; }}
QPushButton {{ background:#202020; color:{theme.FOREGROUND}; border:1px solid #777;
    padding:6px 14px; font-size:{theme.BUTTON_PT}pt; }}
QPushButton:focus {{ border:2px solid {FOCUS}; }}
QPushButton#start, QPushButton#cancel {{ font-size:{theme.BUTTON_PT + 1}pt; font-weight:bold; }}
QPushButton#start {{ background:#1b5e20; color:white; }}
QPushButton#swatch {{ border:1px solid #777; padding:0; }}
"""


def _compact(combo: QComboBox) -> None:
    """A combo box as narrow as its field, its list as wide as its longest item."""
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(12)
    combo.view().setMinimumWidth(combo.view().sizeHintForColumn(0) + 40)


def suggested_case_id(now: dt.datetime | None = None) -> str:
    """``20261125-1403``: a valid case id when the hospital gives none."""
    return (now or dt.datetime.now()).strftime("%Y%m%d-%H%M")


class CaseSetupDialog(QDialog):
    """Set up a case: who, what, which side, which muscles.

    Parameters
    ----------
    store : SettingsStore
        Where the user's settings and montage presets are read and kept.
    parent : QWidget, optional
    user : str, optional
        The monitoring user (whose settings are used); default the login name. The
        dialog's User field changes it.
    case_id : str
        Pre-filled case id; default a date-time id (``20261125-1403``).

    All methods run on the GUI thread.
    """

    def __init__(
        self,
        store: SettingsStore,
        parent: QWidget | None = None,
        user: str | None = None,
        case_id: str = "",
    ) -> None:
        super().__init__(parent)
        self.store = store
        self.setWindowTitle("Case setup")
        apply_dialog_theme(self, _STYLE)
        self._user = user or default_user()
        self._channels: list[PresetChannel] = []
        self._settings: MonitorSettings | None = None
        self._setup: CaseSetup | None = None
        self._montage: Montage | None = None
        self._building = False
        self._build(case_id or suggested_case_id())
        self._bind_keys()
        last = self._safe_last_case()
        if last.get("surgeon"):
            self.surgeon_edit.setText(last["surgeon"])
        if last.get("neurophysiologist"):
            self.neurophysiologist_edit.setText(last["neurophysiologist"])
        procedure = Procedure.MVD_HFS
        with contextlib.suppress(CaseSetupError):
            procedure = Procedure.parse(last.get("procedure", procedure))
        self.procedure_combo.setCurrentIndex(list(Procedure).index(procedure))
        self._load_settings()
        self.resize(1240, 740)
        self.case_edit.setFocus()
        self.case_edit.selectAll()  # typing replaces the suggested id

    # -- construction --------------------------------------------------------------------------
    def _build(self, case_id: str) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(18, 14, 18, 14)
        outer.setSpacing(10)
        title = QLabel("Case setup")
        title.setObjectName("title")
        outer.addWidget(title)
        self.notice = QLabel()
        self.notice.setWordWrap(True)
        self.notice.setStyleSheet(theme.SEVERITY_STYLE["warning"] + "padding:4px 8px;")
        self.notice.hide()
        outer.addWidget(self.notice)
        columns = QHBoxLayout()
        columns.setSpacing(18)
        left = QWidget()
        left.setMaximumWidth(470)
        form = self._build_case_form(case_id)
        form.setContentsMargins(0, 0, 0, 0)
        left.setLayout(form)
        columns.addWidget(left, 4)
        columns.addLayout(self._build_montage(), 6)
        outer.addLayout(columns, 1)
        self.error = QLabel()
        self.error.setObjectName("error")
        self.error.setWordWrap(True)
        self.error.setStyleSheet(theme.SEVERITY_STYLE["critical"] + "padding:6px 10px;")
        self.error.hide()
        outer.addWidget(self.error)
        buttons = QHBoxLayout()
        self.factory_button = QPushButton("Factory defaults  (F8)")
        self.factory_button.setAutoDefault(False)
        self.factory_button.setToolTip(
            "Set aside this user's and this procedure's saved settings and presets"
        )
        self.factory_button.clicked.connect(self.restore_factory_defaults)
        buttons.addWidget(self.factory_button)
        buttons.addStretch(1)
        self.cancel_button = QPushButton("Cancel  (Esc)")
        self.cancel_button.setObjectName("cancel")
        self.start_button = QPushButton("Start case  (Enter)")
        self.start_button.setObjectName("start")
        self.start_button.setDefault(True)
        for b in (self.factory_button, self.cancel_button, self.start_button):
            b.setMinimumHeight(48)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.start_button)
        self.cancel_button.setAutoDefault(False)
        self.cancel_button.clicked.connect(self.reject)
        self.start_button.clicked.connect(self.accept)
        outer.addLayout(buttons)

    def _labelled(self, form: QFormLayout, text: str, widget: QWidget) -> None:
        label = QLabel(text)
        label.setBuddy(widget)
        form.addRow(label, widget)

    def _build_case_form(self, case_id: str) -> QVBoxLayout:
        column = QVBoxLayout()
        form = QFormLayout()
        form.setVerticalSpacing(10)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.user_combo = QComboBox()
        self.user_combo.setEditable(True)
        users = self.store.users()
        self.user_combo.addItems(sorted({*users, self._user}))
        self.user_combo.setCurrentText(self._user)
        _compact(self.user_combo)
        self.user_combo.setToolTip("Who monitors: their settings and montage presets are used")
        self.user_combo.activated.connect(self._user_changed)
        self.user_combo.lineEdit().editingFinished.connect(self._user_changed)
        self._labelled(form, "&User", self.user_combo)
        self.case_edit = QLineEdit(case_id)
        self.case_edit.setMaxLength(20)
        self.case_edit.setToolTip("Letters, digits, - and _; names the recording file")
        self._labelled(form, "&Case id", self.case_edit)
        self.surgeon_edit = QLineEdit()
        self.surgeon_edit.setMaxLength(NAME_MAX)
        self._labelled(form, "Sur&geon", self.surgeon_edit)
        self.neurophysiologist_edit = QLineEdit()
        self.neurophysiologist_edit.setMaxLength(NAME_MAX)
        self.neurophysiologist_edit.setToolTip("Who interprets the monitoring and signs the report")
        self._labelled(form, "Neurophysi&ologist", self.neurophysiologist_edit)
        self.anaesthesia_edit = QLineEdit()
        self.anaesthesia_edit.setMaxLength(ANAESTHESIA_MAX)
        self.anaesthesia_edit.setPlaceholderText("TIVA, no relaxant after induction, TOF 4/4")
        self.anaesthesia_edit.setToolTip(
            "The relaxant state matters: a relaxed muscle gives no EMG (train of four)"
        )
        self._labelled(form, "&Anaesthesia", self.anaesthesia_edit)
        self.procedure_combo = QComboBox()
        for p in Procedure:
            self.procedure_combo.addItem(p.title, p)
        self.procedure_combo.currentIndexChanged.connect(self._procedure_changed)
        _compact(self.procedure_combo)
        self._labelled(form, "&Procedure", self.procedure_combo)
        self.side_combo = QComboBox()
        self.side_combo.addItem("Left", "left")
        self.side_combo.addItem("Right", "right")
        self.side_combo.setPlaceholderText("choose the side")
        self.side_combo.setCurrentIndex(-1)  # never a default side: it must be chosen
        self.side_combo.currentIndexChanged.connect(self._side_changed)
        self._labelled(form, "S&ide", self.side_combo)
        column.addLayout(form)
        column.addWidget(self._build_patient_group())
        column.addStretch(1)
        return column

    def _build_patient_group(self) -> QGroupBox:
        patient = QGroupBox("Patient (optional)")
        pform = QFormLayout(patient)
        pform.setVerticalSpacing(8)
        note = QLabel("Only in the recording's EDF+ header; never in file names, logs or settings.")
        note.setObjectName("note")
        note.setWordWrap(True)
        pform.addRow(note)
        self.name_edit = QLineEdit()
        self.name_edit.setMaxLength(60)
        self.name_edit.setPlaceholderText("Doe, Jane")
        self._labelled(pform, "&Name", self.name_edit)
        self.birth_edit = QLineEdit()
        self.birth_edit.setPlaceholderText("1961-08-02")
        self._labelled(pform, "&Birth date", self.birth_edit)
        self.hospital_edit = QLineEdit()
        self.hospital_edit.setMaxLength(20)
        self._labelled(pform, "&Hospital number", self.hospital_edit)
        return patient

    def _build_montage(self) -> QVBoxLayout:
        column = QVBoxLayout()
        row = QHBoxLayout()
        preset_label = QLabel("Montage p&reset")
        self.preset_combo = QComboBox()
        self.preset_combo.setMinimumWidth(320)
        preset_label.setBuddy(self.preset_combo)
        self.preset_combo.activated.connect(self._preset_chosen)
        row.addWidget(preset_label)
        row.addWidget(self.preset_combo, 1)
        column.addLayout(row)
        table_label = QLabel("&Montage")
        self.table = QTableWidget(0, len(COLUMNS))
        table_label.setBuddy(self.table)
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(ROW_PX)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self.table.horizontalHeader()
        for i, mode in enumerate(
            (
                QHeaderView.ResizeMode.ResizeToContents,
                QHeaderView.ResizeMode.Stretch,
                QHeaderView.ResizeMode.ResizeToContents,
                QHeaderView.ResizeMode.ResizeToContents,
                QHeaderView.ResizeMode.Stretch,
            )
        ):
            header.setSectionResizeMode(i, mode)
        column.addWidget(table_label)
        column.addWidget(self.table, 1)
        actions = QHBoxLayout()
        self.add_button = QPushButton("Add  (Ins)")
        self.remove_button = QPushButton("Remove  (Del)")
        self.colour_button = QPushButton("Colour  (F6)")
        self.save_preset_button = QPushButton("Save preset  (F7)")
        for b in (self.add_button, self.remove_button, self.colour_button, self.save_preset_button):
            b.setAutoDefault(False)
            actions.addWidget(b)
        actions.addStretch(1)
        self.add_button.clicked.connect(self.add_channel)
        # The slots take keyword arguments only, so a button's `checked` never becomes one.
        self.remove_button.clicked.connect(self.remove_channel)
        self.colour_button.clicked.connect(self.choose_colour)
        self.save_preset_button.clicked.connect(self.save_preset)
        column.addLayout(actions)
        return column

    def _bind_keys(self) -> None:
        # Text fields keep Del for themselves (Qt lets a focused line edit override it).
        for key, slot in (
            (Qt.Key.Key_Insert, self.add_channel),
            (Qt.Key.Key_Delete, self.remove_channel),
            (Qt.Key.Key_F6, self.choose_colour),
            (Qt.Key.Key_F7, self.save_preset),
            (Qt.Key.Key_F8, self.restore_factory_defaults),
        ):
            QShortcut(QKeySequence(key), self, activated=slot)

    # -- state -----------------------------------------------------------------------------------
    @property
    def procedure(self) -> Procedure:
        return self.procedure_combo.currentData()

    @property
    def side(self) -> str | None:
        return self.side_combo.currentData()

    @property
    def user(self) -> str:
        return self._user

    def _safe_last_case(self) -> dict[str, str]:
        try:
            return self.store.last_case(self._user)
        except SettingsError:
            return {}

    def _show_error(self, text: str) -> None:
        self.error.setText(text)
        self.error.setVisible(bool(text))

    def _load_settings(self) -> None:
        """Read the user's settings for the procedure and fill the montage from its preset."""
        self.store.warnings.clear()
        try:
            self._settings = self.store.load(self._user, self.procedure)
        except SettingsError as exc:
            self._show_error(str(exc))
            return
        warnings = list(self.store.warnings)
        self.notice.setText(" ".join(warnings))
        self.notice.setVisible(bool(warnings))
        self._building = True
        self.preset_combo.clear()
        names = list(self._settings.montage_presets)
        self.preset_combo.addItems(names)
        self.preset_combo.setCurrentText(self._settings.montage_preset)
        self._building = False
        self.apply_preset(self._settings.montage_preset)

    def _user_changed(self, *_: object) -> None:
        text = self.user_combo.currentText().strip()
        if text == self._user:
            return
        try:
            self._user = check_user(text)
        except SettingsError as exc:
            self._show_error(str(exc))
            return
        self._show_error("")
        self._load_settings()

    def _procedure_changed(self, *_: object) -> None:
        if self._settings is not None:
            self._load_settings()

    def _preset_chosen(self, *_: object) -> None:
        if not self._building:
            self.apply_preset(self.preset_combo.currentText())

    def _side_changed(self, *_: object) -> None:
        self._refresh_table()

    # -- the montage -------------------------------------------------------------------------------
    def apply_preset(self, name: str) -> None:
        """Fill the montage from the preset ``name`` of the current settings."""
        if self._settings is None or name not in self._settings.montage_presets:
            return
        self.preset_combo.setCurrentText(name)
        self._channels = list(self._settings.montage_presets[name].channels)
        self._refresh_table()

    def channels(self) -> list[PresetChannel]:
        """The montage as it stands, relative to the side of the operation."""
        return list(self._channels)

    def _refresh_table(self) -> None:
        """Show the channels; cell widgets are reused (replaced ones linger until deleted)."""
        self._building = True
        side = self.side
        current = max(0, self.table.currentRow())
        self.table.setRowCount(len(self._channels))
        for row, ch in enumerate(self._channels):
            number = QTableWidgetItem(str(row + 1))
            number.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
            self.table.setItem(row, 0, number)
            if self.table.cellWidget(row, 1) is None:
                self.table.setCellWidget(row, 1, self._muscle_combo(row))
                self.table.setCellWidget(row, 2, self._side_combo(row))
                self.table.setCellWidget(row, 3, self._swatch(row))
            muscles = self.table.cellWidget(row, 1)
            muscles.setCurrentIndex(muscles.findData(ch.muscle))
            sides = self.table.cellWidget(row, 2)
            sides.setEnabled(side is not None)
            sides.setCurrentIndex(-1 if side is None else sides.findData(ch.spec(side).side))
            self._paint_swatch(row)
        self._building = False
        self._refresh_labels()
        if self._channels:
            self.table.selectRow(min(current, len(self._channels) - 1))

    def _refresh_labels(self) -> None:
        side = self.side
        labels = Montage(tuple(c.spec(side) for c in self._channels)).labels() if side else None
        for row in range(len(self._channels)):
            text = labels[row] if labels else "choose the side"
            item = QTableWidgetItem(text)
            item.setForeground(QColor(theme.FOREGROUND if labels else theme.MUTED))
            self.table.setItem(row, 4, item)

    def _muscle_combo(self, row: int) -> QComboBox:
        combo = QComboBox()
        for key, muscle in MUSCLES.items():
            combo.addItem(muscle.name, key)
        combo.currentIndexChanged.connect(
            lambda _i, r=row, c=combo: self.set_muscle(r, c.currentData())
        )
        return combo

    def _side_combo(self, row: int) -> QComboBox:
        combo = QComboBox()
        combo.setMinimumWidth(120)
        combo.addItem("Left", "left")
        combo.addItem("Right", "right")
        combo.setPlaceholderText("—")
        combo.currentIndexChanged.connect(
            lambda _i, r=row, c=combo: self.set_side(r, c.currentData())
        )
        return combo

    def _swatch(self, row: int) -> QPushButton:
        button = QPushButton()
        button.setObjectName("swatch")
        button.setAutoDefault(False)
        button.setToolTip("Trace colour (F6)")
        button.setFixedSize(72, ROW_PX - 8)
        button.clicked.connect(lambda _c=False, r=row: self.choose_colour(row=r))
        return button

    def _paint_swatch(self, row: int) -> None:
        colour = self._channels[row].colour or theme.channel_colour(row)
        self.table.cellWidget(row, 3).setStyleSheet(f"background:{colour};")

    def _replace(self, row: int, ch: PresetChannel) -> None:
        self._channels[row] = ch
        if not self._building:
            self._refresh_labels()

    def set_muscle(self, row: int, muscle: str) -> None:
        """Channel ``row`` (0-based) records ``muscle`` (a key of ``MUSCLES``)."""
        if self._building or muscle is None:
            return
        ch = self._channels[row]
        self._replace(row, PresetChannel(muscle, ch.contralateral, ch.colour))
        combo = self.table.cellWidget(row, 1)
        if isinstance(combo, QComboBox) and combo.currentData() != muscle:
            combo.setCurrentIndex(combo.findData(muscle))

    def set_side(self, row: int, side: str) -> None:
        """Channel ``row`` is on ``side`` ("left"/"right"; needs the case's side chosen)."""
        if self._building or side is None or self.side is None:
            return
        ch = self._channels[row]
        self._replace(row, PresetChannel(ch.muscle, side != self.side, ch.colour))

    def set_colour(self, row: int, colour: str | None) -> None:
        """Channel ``row``'s trace colour (``#rrggbb``; None: the screen's own)."""
        ch = self._channels[row]
        self._replace(row, PresetChannel(ch.muscle, ch.contralateral, colour))
        self._paint_swatch(row)

    def add_channel(self) -> None:
        """A channel at the end, on the operated side, with a muscle not yet used."""
        if len(self._channels) >= MAX_CHANNELS:
            self._show_error(f"The monitor takes at most {MAX_CHANNELS} channels.")
            return
        self._channels.append(PresetChannel(next_muscle([c.muscle for c in self._channels])))
        self._refresh_table()
        self.table.selectRow(len(self._channels) - 1)

    def remove_channel(self, *, row: int | None = None) -> None:
        """Remove channel ``row`` (default the selected one, else the last)."""
        if len(self._channels) <= 1:
            self._show_error("A montage needs at least one channel.")
            return
        if row is None:
            row = self.table.currentRow()
        if not 0 <= row < len(self._channels):
            row = len(self._channels) - 1
        del self._channels[row]
        self._refresh_table()

    def choose_colour(self, *, row: int | None = None) -> None:
        """Pick channel ``row``'s colour from the screen's palette (a menu, keyboard too)."""
        row = self.table.currentRow() if row is None else row
        if not 0 <= row < len(self._channels):
            return
        menu = QMenu(self)
        default = menu.addAction("Screen colour")
        default.setData(None)
        for colour in theme.CHANNEL_COLOURS:
            pix = QPixmap(40, 20)
            pix.fill(QColor(colour))
            action = menu.addAction(pix, colour)
            action.setData(colour)
        swatch = self.table.cellWidget(row, 3)
        where = swatch.mapToGlobal(swatch.rect().bottomLeft()) if swatch else self.pos()
        chosen = menu.exec(where)
        if chosen is not None:
            self.set_colour(row, chosen.data())

    def _current_preset(self, name: str) -> MontagePreset:
        return MontagePreset(name, tuple(self._channels))

    def save_preset(self, *, name: str | None = None) -> bool:
        """Keep the montage as the user's preset ``name`` (asked for when None)."""
        if name is None:
            name, ok = ask_text(self, "Save montage preset", "Name of the preset:")
            if not ok:
                return False
        try:
            preset = self._current_preset(name)
            settings = self.store.load(self._user, self.procedure).with_preset(preset)
            self.store.save(settings, self._user, self.procedure)
        except (MontageError, SettingsError) as exc:
            self._show_error(str(exc))
            return False
        self._show_error("")
        self._settings = settings
        self._building = True
        if self.preset_combo.findText(preset.name) < 0:
            self.preset_combo.addItem(preset.name)
        self.preset_combo.setCurrentText(preset.name)
        self._building = False
        return True

    def restore_factory_defaults(self, *, confirm: bool = True) -> bool:
        """Factory settings and presets for this user and procedure (asks first)."""
        if confirm:
            box = message_box(
                self,
                "Factory defaults",
                f"Restore the factory settings and montage presets for {self.procedure.title}?",
                "This user's and this procedure's saved settings are set aside.",
            )
            yes, no = QMessageBox.StandardButton.Yes, QMessageBox.StandardButton.No
            box.setStandardButtons(yes | no)
            box.setDefaultButton(no)
            answer = box.exec()
            box.deleteLater()
            if answer != yes:
                return False
        try:
            self.store.restore_factory_defaults(self._user, self.procedure)
        except SettingsError as exc:
            self._show_error(str(exc))
            return False
        self._load_settings()
        return True

    # -- the result --------------------------------------------------------------------------------
    def accept(self) -> None:
        """Check the fields; on success keep the montage and the people, and close."""
        self._user_changed()
        try:
            setup = CaseSetup(
                case_id=self.case_edit.text(),
                side=self.side or "",
                procedure=self.procedure,
                surgeon=self.surgeon_edit.text(),
                user=self._user,
                neurophysiologist=self.neurophysiologist_edit.text(),
                anaesthesia=self.anaesthesia_edit.text(),
                patient_name=self.name_edit.text(),
                patient_birth_date=self.birth_edit.text(),
                hospital_number=self.hospital_edit.text(),
            )
            montage = Montage(tuple(c.spec(setup.side) for c in self._channels))
        except (CaseSetupError, MontageError) as exc:
            self._show_error(str(exc))
            return
        self._setup, self._montage = setup, montage
        try:
            settings = self.store.load(self._user, setup.procedure)
            self._settings = settings.with_preset(self._current_preset(LAST_USED))
            self.store.save(self._settings, self._user, setup.procedure)
            self.store.remember_case(self._user, setup)
        except SettingsError as exc:  # the case goes on; only the memory is lost
            log.warning("case setup not kept: %s", exc)
        log.info("case set up: %s", setup.describe())
        super().accept()

    def result_setup(self) -> CaseSetup:
        """The case (after ``exec()`` returned true)."""
        if self._setup is None:
            raise RuntimeError("the case setup dialog was not accepted")
        return self._setup

    def result_montage(self) -> Montage:
        """The montage for the case's side: ``.labels()`` build the source."""
        if self._montage is None:
            raise RuntimeError("the case setup dialog was not accepted")
        return self._montage

    def result_settings(self) -> MonitorSettings:
        """The user's settings for the procedure (filters, thresholds, alarms, audio,
        display), with the montage used as the "Last used" preset."""
        if self._settings is None or self._setup is None:
            raise RuntimeError("the case setup dialog was not accepted")
        return self._settings
