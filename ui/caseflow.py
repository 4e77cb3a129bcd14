"""The start of a case, step by step: case setup, the montage on the source, the user's
settings, the electrode check, then monitoring with the recording running.

1. **Case setup** (:class:`~ui.casesetupdialog.CaseSetupDialog`): case id, procedure,
   side, muscles per channel, the user's settings for the procedure.
2. **The montage and filters go to the source**: the source is opened again with the
   case's channel labels (the case model's montage description and source switch, so
   the same checks and messages as the command line); a recording keeps its file's
   montage.
3. **The user's settings** go to the running monitor: detection and train-time
   thresholds, alarm priorities, display range and window, volumes.
4. **Electrode check** (:class:`~ui.electrodecheck.ElectrodeCheckDialog`); "Start
   monitoring" starts the recording (unless the user's settings say not to:
   ``recording.with_monitoring``), with the case in its header (the patient fields only
   there) and the case's procedure, side and surgeon as its first annotation.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import TYPE_CHECKING

from monitor.casesetup import CaseSetup
from monitor.monitorsettings import (
    AudioSettings,
    MonitorSettings,
    SettingsError,
)
from monitor.montage import Montage
from monitor.problems import Problem, Severity
from monitor.session import State
from monitor.settingsstore import SettingsStore
from presentation import theme

if TYPE_CHECKING:
    from ui.app import MonitorScreens
    from ui.mainwindow import MainWindow

log = logging.getLogger(__name__)


class CaseFlow:
    """Runs the steps above over the application's screens. GUI thread only."""

    def __init__(self, screens: MonitorScreens, store: SettingsStore | None = None) -> None:
        self.screens = screens
        self.store = store or SettingsStore()
        self.record_with_monitoring = True  # the case's settings say (recording section)
        self._kept: tuple[MonitorSettings, str, object] | None = None  # settings, user, procedure

    def begin(self) -> bool:
        """Case setup, then the rest; False when the user cancels the setup."""
        from ui.casesetupdialog import CaseSetupDialog

        window = self.screens.window
        dialog = CaseSetupDialog(self.store, window, case_id=window.case_id or "")
        if not dialog.exec():
            return False
        if not self.apply(dialog.result_setup(), dialog.result_montage(), dialog.result_settings()):
            return False  # no source to monitor: said on the screen
        self.check_electrodes(before_monitoring=True)
        return True

    def apply(self, setup: CaseSetup, montage: Montage, settings: MonitorSettings) -> bool:
        """Steps 2 and 3: the montage onto the source, the settings (filters included) onto
        the monitor. False when no source is left to monitor (said on the screen).

        If the source cannot take the montage, the case still applies (its id, header and
        settings) on the source as it was, and the screen says why; a recording that was
        running goes on, in a new file with the case's header.
        """
        window = self.screens.window
        model = window.model
        refused = ""
        try:
            reopen = model.montage_description(montage.labels())
        except ValueError as exc:  # e.g. a simulated bad needle on a channel it lacks
            reopen, refused = None, str(exc)
        was_recording = model.recording
        if was_recording:  # the case's own file, with its header, follows
            window.toggle_recording()
        theme.use_channel_colours(montage.colours())  # a new window draws in them
        model.setup, model.case_id = setup, setup.case_id
        applied = not refused
        if reopen is not None:
            exclusive = model.capabilities.exclusive
            fallback = model.description if exclusive else None
            applied = self.screens.switch(reopen, release_first=exclusive, fallback=fallback)
        window = self.screens.window
        if window.session.state in (State.FINISHED, State.FAILED):
            return False  # neither the new source nor the old one: nothing to monitor
        apply_settings(window, settings)
        self.record_with_monitoring = settings.record_with_monitoring
        self._kept = (settings, setup.user, setup.procedure)
        if reopen is None and not refused:
            window.show_problem(
                Problem(
                    Severity.INFO,
                    "A recording keeps its own channels; the case's montage applies to live "
                    "sources.",
                )
            )
        elif not applied:
            why = refused or self.screens.last_error or "the source could not be opened again"
            log.warning("case montage not applied: %s", why)
            window.show_problem(
                Problem(
                    Severity.CRITICAL,
                    f"The case's montage could not be applied ({why}); the channels keep "
                    "their previous names. The case, its settings and its recording go on.",
                )
            )
        if was_recording and window.recorder is None:
            window.toggle_recording()
        model.note(setup.describe())
        return True

    def check_electrodes(self, before_monitoring: bool = False) -> None:
        """Step 4 (and E at any time): the electrode check of the window's source."""
        from ui.electrodecheck import ElectrodeCheckDialog

        window = self.screens.window
        info = window.session.source.info
        dialog = ElectrodeCheckDialog(
            window.session.source, info.labels, window, offer_start=before_monitoring
        )
        dialog.start_monitoring.connect(self.start_monitoring)
        dialog.exec()

    def remember(self, window: MainWindow) -> None:
        """Keep what the user changed during the case (filters, thresholds, display range,
        volumes) as their settings for the procedure; called when the window closes."""
        if self._kept is None or window.case is None:
            return
        settings, user, procedure = self._kept
        audio = window.audio
        try:
            new = replace(
                window.model.settings(settings),
                display=replace(settings.display, range_uv=float(window.traces.range_uv)),
                audio=AudioSettings(audio.emg_volume, audio.alarm_volume)
                if audio is not None and audio.available
                else settings.audio,
            )
            if new != settings:
                self.store.save(new, user, procedure)
                log.info("settings kept for %s", user)
        except (SettingsError, ValueError, OSError) as exc:  # the case is over; say why
            log.warning("settings of the case not kept: %s", exc)

    def start_monitoring(self) -> None:
        window = self.screens.window
        if window.recorder is None and self.record_with_monitoring:
            window.toggle_recording()
        window.model.note("Monitoring started")


def apply_settings(window: MainWindow, settings: MonitorSettings) -> None:
    """The user's settings on a running monitor (each change annotated when recording):
    the case's part to the model, the display range and volumes to the window. One the
    source cannot take is said on the problem line."""
    refused = window.model.apply_settings(settings)
    if refused:  # e.g. a filter beyond the source's rate
        window.show_problem(Problem(Severity.WARNING, f"Settings not applied: {refused}"))
    put_view(
        window,
        settings.display.range_uv,
        (settings.audio.emg_volume, settings.audio.alarm_volume),
    )
    log.info("settings applied: %s", settings.traintime)


def put_view(window: MainWindow, range_uv: float, volumes: tuple[float, float] | None) -> None:
    """The window's own settings: the train-time marks (from the case), the display range,
    the volumes (None: leave them)."""
    window.traintime.set_thresholds(window.monitoring.traintime.thresholds_s)
    window.traces.set_range(range_uv)
    if volumes is not None and window.audio is not None and window.audio.available:
        window.audio.emg_volume, window.audio.alarm_volume = volumes
