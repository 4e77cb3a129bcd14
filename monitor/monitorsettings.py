"""The settings a user keeps between cases: filters, detection thresholds, train-time
thresholds, alarm priorities, audio volumes, the display and montage presets.

:class:`MonitorSettings` holds them as the core's own settings classes
(:class:`~monitor.filters.FilterSettings`, :class:`~monitor.freerun.FreeRunSettings` ...),
so their own validation applies. :meth:`MonitorSettings.to_dict` and
:meth:`MonitorSettings.from_dict` give the stored form (nested dicts of JSON values);
:func:`clean_layer` checks a partial dict (one layer of the settings store) key by key.
Where they live and how layers combine: :mod:`monitor.settingsstore`.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from monitor.alarms import DEFAULT_POLICIES, AlarmPolicy, Priority
from monitor.casesetup import Procedure
from monitor.filters import FilterSettings, FilterSettingsError, design_sos
from monitor.freerun import FreeRunSettings
from monitor.montage import Montage, MontageError
from monitor.montagepresets import FACTORY_PRESETS, MontagePreset, default_preset
from monitor.traintime import TrainTime

#: Alarms whose priority a user may change, with their names in words. Losing the signal
#: and losing the recording stay high priority whatever a settings file says.
CONFIGURABLE_ALARMS = {
    "a_train": "A-train",
    "traintime_warning": "Train time past the first threshold",
    "traintime_high": "Train time past the second threshold",
    "lead_off": "Electrode off",
    "flat": "Flat channel",
    "mains": "Mains interference",
    "saturation": "Amplifier saturated",
}
MIN_ALARM_VOLUME = 0.2  # alarms cannot be turned inaudible from a settings file
DISPLAY_RANGE_UV = (20.0, 10000.0)
DISPLAY_WINDOW_S = (1.0, 60.0)


class SettingsError(ValueError):
    """A setting that cannot be used; ``str()`` is a sentence for the clinician."""


@dataclass(frozen=True, slots=True)
class TrainTimeSettings:
    """The two train-time warning levels in seconds (Prell et al.: 0.5 s and 10 s)."""

    warning_s: float = 0.5
    high_s: float = 10.0

    def __post_init__(self) -> None:
        TrainTime(1, 1.0, self.thresholds_s)  # its own check of the thresholds

    @property
    def thresholds_s(self) -> tuple[float, float]:
        return (self.warning_s, self.high_s)


@dataclass(frozen=True, slots=True)
class AudioSettings:
    """EMG and alarm loudness, 0 to 1 (the alarm not below :data:`MIN_ALARM_VOLUME`)."""

    emg_volume: float = 1.0
    alarm_volume: float = 1.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.emg_volume <= 1.0:
            raise SettingsError("The EMG volume must be between 0 and 1.")
        if not MIN_ALARM_VOLUME <= self.alarm_volume <= 1.0:
            raise SettingsError(
                f"The alarm volume must be between {MIN_ALARM_VOLUME:g} and 1: "
                "alarms may not be made inaudible."
            )


@dataclass(frozen=True, slots=True)
class DisplaySettings:
    """Seconds of signal on screen and the traces' ± range in µV."""

    window_s: float = 10.0
    range_uv: float = 200.0

    def __post_init__(self) -> None:
        lo, hi = DISPLAY_WINDOW_S
        if not lo <= self.window_s <= hi:
            raise SettingsError(f"The display window must be {lo:g} to {hi:g} seconds.")
        lo, hi = DISPLAY_RANGE_UV
        if not lo <= self.range_uv <= hi:
            raise SettingsError(f"The display range must be {lo:g} to {hi:g} µV.")


_FILTER_KEYS = ("highpass_hz", "lowpass_hz", "order", "notch_hz", "notch_q")
_DETECTION_KEYS = ("mode", "k_sigma", "floor_uv", "fixed_uv")
#: Stored keys per section and how each is read.
SCHEMA: dict[str, dict[str, str]] = {
    "filters": {
        "highpass_hz": "number or null",
        "lowpass_hz": "number or null",
        "order": "integer",
        "notch_hz": "number or null",
        "notch_q": "number",
    },
    "detection": {
        "mode": "adaptive or fixed",
        "k_sigma": "number",
        "floor_uv": "number",
        "fixed_uv": "number",
    },
    "traintime": {"warning_s": "number", "high_s": "number"},
    "alarms": dict.fromkeys(CONFIGURABLE_ALARMS, "priority"),
    "audio": {"emg_volume": "number", "alarm_volume": "number"},
    "display": {"window_s": "number", "range_uv": "number"},
    "recording": {"with_monitoring": "true or false"},
    "montage": {"preset": "name", "presets": "presets"},
}
#: What each setting is called on screen (for error messages).
TITLES = {
    "filters.highpass_hz": "High-pass",
    "filters.lowpass_hz": "Low-pass",
    "filters.order": "Filter order",
    "filters.notch_hz": "Notch",
    "filters.notch_q": "Notch quality",
    "detection.mode": "Detection threshold mode",
    "detection.k_sigma": "Adaptive threshold (x noise)",
    "detection.floor_uv": "Adaptive threshold floor (µV)",
    "detection.fixed_uv": "Fixed threshold (µV)",
    "traintime.warning_s": "First train-time threshold (s)",
    "traintime.high_s": "Second train-time threshold (s)",
    "audio.emg_volume": "EMG volume",
    "audio.alarm_volume": "Alarm volume",
    "display.window_s": "Display window (s)",
    "display.range_uv": "Display range (µV)",
    "recording.with_monitoring": "Record when monitoring starts",
    "montage.preset": "Montage preset",
    "montage.presets": "Montage presets",
    **{f"alarms.{k}": f"Priority of the alarm '{v}'" for k, v in CONFIGURABLE_ALARMS.items()},
}


def _number(value: Any, title: str, kind: str) -> float | int | None:
    if value is None and kind == "number or null":
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SettingsError(f"{title} must be a number, not {_quote(value)}.")
    if isinstance(value, int) and abs(value) > 10**15:  # isfinite() overflows on huge ints
        raise SettingsError(f"{title} is far too large.")
    if not math.isfinite(value):
        raise SettingsError(f"{title} must be a finite number.")
    if kind != "integer":
        return float(value)
    if value != int(value):
        raise SettingsError(f"{title} must be a whole number, not {_quote(value)}.")
    return int(value)


def _quote(value: Any, limit: int = 40) -> str:
    """``repr`` of a bad value, cut short: a message never quotes a whole file."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _choice(value: Any, title: str, kind: str) -> str:
    choices = ("adaptive", "fixed") if kind == "adaptive or fixed" else ("low", "medium", "high")
    if value not in choices:
        words = ", ".join(choices[:-1]) + f" or {choices[-1]}"
        raise SettingsError(f"{title} must be {words}, not {_quote(value)}.")
    return value


def _name(value: Any, title: str, kind: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise SettingsError(f"{title} must be a name.")
    return value


def _presets(value: Any, title: str, kind: str) -> dict[str, list[dict[str, object]]]:
    if not isinstance(value, dict):
        raise SettingsError(f"{title} must map names to lists of channels.")
    try:
        return {n: MontagePreset.from_list(n, items).to_list() for n, items in value.items()}
    except MontageError as exc:
        raise SettingsError(str(exc)) from None


def _flag(value: Any, title: str, kind: str) -> bool:
    if not isinstance(value, bool):
        raise SettingsError(f"{title} must be true or false, not {_quote(value)}.")
    return value


_READERS = {
    "true or false": _flag,
    "number": _number,
    "number or null": _number,
    "integer": _number,
    "adaptive or fixed": _choice,
    "priority": _choice,
    "name": _name,
    "presets": _presets,
}


def _read(section: str, key: str, value: Any) -> Any:
    """One stored value, checked for its kind (not yet its range)."""
    kind = SCHEMA[section][key]
    return _READERS[kind](value, TITLES[f"{section}.{key}"], kind)


def clean_layer(layer: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Check one partial settings dict key by key.

    Returns
    -------
    dict
        The known settings, each of the right kind.
    list of str
        Warnings about unknown settings, which are left out.

    Raises
    ------
    SettingsError
        A known setting of the wrong kind (a text where a number belongs ...).
    """
    out: dict[str, Any] = {}
    warnings: list[str] = []
    if not isinstance(layer, Mapping):
        raise SettingsError("The settings must be a mapping of sections.")
    for section, values in layer.items():
        if section not in SCHEMA:
            warnings.append(f"Unknown settings section {_quote(section)} ignored.")
            continue
        if not isinstance(values, Mapping):
            raise SettingsError(f"The settings section {_quote(section)} must be a mapping.")
        for key, value in values.items():
            if key not in SCHEMA[section]:
                warnings.append(f"Unknown setting {section}.{key} ignored.")
                continue
            out.setdefault(section, {})[key] = _read(section, key, value)
    return out, warnings


def merge(base: Mapping[str, Any], layer: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``layer`` on top, dict by dict (a list is replaced whole)."""
    out = copy.deepcopy(dict(base))
    for key, value in layer.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def difference(full: Mapping[str, Any], base: Mapping[str, Any]) -> dict[str, Any]:
    """What ``full`` sets differently from ``base`` (the smallest layer over ``base``)."""
    out: dict[str, Any] = {}
    for key, value in full.items():
        below = base.get(key)
        if isinstance(value, Mapping) and isinstance(below, Mapping):
            sub = difference(value, below)
            if sub:
                out[key] = sub
        elif value != below:
            out[key] = copy.deepcopy(value)
    return out


@dataclass(frozen=True)
class MonitorSettings:
    """Everything a user keeps between cases (see the module docstring).

    ``montage_presets`` maps preset names to presets; ``montage_preset`` names the one that
    fills the montage when a case of this procedure is set up.
    """

    filters: FilterSettings = field(default_factory=FilterSettings)
    detection: FreeRunSettings = field(default_factory=FreeRunSettings)
    traintime: TrainTimeSettings = field(default_factory=TrainTimeSettings)
    alarm_priorities: Mapping[str, Priority] = field(
        default_factory=lambda: {k: DEFAULT_POLICIES[k].priority for k in CONFIGURABLE_ALARMS}
    )
    audio: AudioSettings = field(default_factory=AudioSettings)
    display: DisplaySettings = field(default_factory=DisplaySettings)
    montage_preset: str = ""
    montage_presets: Mapping[str, MontagePreset] = field(default_factory=dict)
    #: The case's recording starts by itself with monitoring ("Start monitoring").
    record_with_monitoring: bool = True

    def __post_init__(self) -> None:
        try:
            design_sos(self.filters, 200_000.0)  # any rate: the checks that need none
        except FilterSettingsError as exc:
            raise SettingsError(str(exc)) from None
        unknown = set(self.alarm_priorities) - set(CONFIGURABLE_ALARMS)
        if unknown:
            raise SettingsError(f"The priority of {', '.join(sorted(unknown))} cannot be set.")
        priorities = {k: DEFAULT_POLICIES[k].priority for k in CONFIGURABLE_ALARMS}
        priorities.update(self.alarm_priorities)
        object.__setattr__(self, "alarm_priorities", MappingProxyType(priorities))
        object.__setattr__(self, "montage_presets", MappingProxyType(dict(self.montage_presets)))
        if self.montage_preset and self.montage_preset not in self.montage_presets:
            raise SettingsError(f"There is no montage preset called {_quote(self.montage_preset)}.")

    # -- for the core --------------------------------------------------------------------------
    def alarm_policies(self) -> dict[str, AlarmPolicy]:
        """Policies for :class:`~monitor.alarms.AlarmManager` with these priorities."""
        policies = dict(DEFAULT_POLICIES)
        for key, priority in self.alarm_priorities.items():
            policies[key] = replace(DEFAULT_POLICIES[key], priority=priority)
        return policies

    def montage(self, side: str, preset: str | None = None) -> Montage:
        """The montage of the preset (default: ``montage_preset``) for an operation on
        ``side``."""
        name = preset or self.montage_preset
        if name not in self.montage_presets:
            raise SettingsError(f"There is no montage preset called {_quote(name)}.")
        return self.montage_presets[name].montage(side)

    def with_preset(self, preset: MontagePreset, select: bool = True) -> MonitorSettings:
        """These settings with ``preset`` added (or replacing one of the same name)."""
        presets = dict(self.montage_presets)
        presets[preset.name] = preset
        return replace(
            self,
            montage_presets=presets,
            montage_preset=preset.name if select else self.montage_preset,
        )

    # -- stored form -----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "filters": {k: getattr(self.filters, k) for k in _FILTER_KEYS},
            "detection": {k: getattr(self.detection, k) for k in _DETECTION_KEYS},
            "traintime": {"warning_s": self.traintime.warning_s, "high_s": self.traintime.high_s},
            "alarms": {k: p.name.lower() for k, p in self.alarm_priorities.items()},
            "audio": {
                "emg_volume": self.audio.emg_volume,
                "alarm_volume": self.audio.alarm_volume,
            },
            "display": {"window_s": self.display.window_s, "range_uv": self.display.range_uv},
            "recording": {"with_monitoring": self.record_with_monitoring},
            "montage": {
                "preset": self.montage_preset,
                "presets": {n: p.to_list() for n, p in self.montage_presets.items()},
            },
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MonitorSettings:
        """Settings from a complete stored dict (factory defaults with layers merged in).

        Raises
        ------
        SettingsError
            A value of the wrong kind or out of its range, in words.
        """
        d, _ = clean_layer(data)
        montage = d.get("montage", {})
        presets = montage.get("presets", {})
        chosen = montage.get("preset", "")
        if chosen not in presets:
            # A preset that went with a reset procedure file: its first preset instead.
            chosen = next(iter(presets), "")
        try:
            return cls(
                filters=FilterSettings(**d.get("filters", {})),
                detection=FreeRunSettings(**d.get("detection", {})),
                traintime=TrainTimeSettings(**d.get("traintime", {})),
                alarm_priorities={k: Priority[v.upper()] for k, v in d.get("alarms", {}).items()},
                audio=AudioSettings(**d.get("audio", {})),
                display=DisplaySettings(**d.get("display", {})),
                montage_preset=chosen,
                montage_presets={n: MontagePreset.from_list(n, i) for n, i in presets.items()},
                record_with_monitoring=d.get("recording", {}).get("with_monitoring", True),
            )
        except SettingsError:
            raise
        except ValueError as exc:  # the settings classes' own checks
            raise SettingsError(str(exc)) from None


def factory_settings(procedure: Procedure) -> MonitorSettings:
    """The factory defaults for ``procedure``: the core's defaults and its montage presets."""
    presets = {p.name: p for p in FACTORY_PRESETS[procedure]}
    return MonitorSettings(montage_preset=default_preset(procedure).name, montage_presets=presets)
