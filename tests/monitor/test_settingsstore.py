"""The settings store: layers, round trips, factory defaults, damaged files, atomic writes."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

import pytest

from monitor import settingsstore
from monitor.alarms import AlarmManager, Priority
from monitor.casesetup import CaseSetup, Procedure
from monitor.filters import FilterSettings
from monitor.freerun import FreeRunSettings
from monitor.monitorsettings import (
    AudioSettings,
    DisplaySettings,
    MonitorSettings,
    SettingsError,
    TrainTimeSettings,
    factory_settings,
)
from monitor.montagepresets import MontagePreset, PresetChannel, default_preset
from monitor.settingsstore import SettingsStore, config_folder, write_json_atomically

MVD = Procedure.MVD_HFS
VS = Procedure.VESTIBULAR_SCHWANNOMA


@pytest.fixture
def store(tmp_path):
    return SettingsStore(tmp_path / "config")


def edited(settings: MonitorSettings) -> MonitorSettings:
    """Settings with something changed in every section."""
    mine = MontagePreset("mine", (PresetChannel("nasalis", colour="#abcdef"),))
    return replace(
        settings,
        filters=FilterSettings(highpass_hz=30.0, lowpass_hz=2000.0, notch_hz=50.0),
        detection=FreeRunSettings(mode="fixed", fixed_uv=150.0, k_sigma=6.0),
        traintime=TrainTimeSettings(1.0, 5.0),
        alarm_priorities={"a_train": Priority.HIGH, "mains": Priority.MEDIUM},
        audio=AudioSettings(emg_volume=0.0, alarm_volume=0.5),
        display=DisplaySettings(window_s=5.0, range_uv=500.0),
    ).with_preset(mine)


def test_no_files_gives_the_factory_defaults_of_the_procedure(store):
    settings = store.load("anna", VS)
    assert settings == factory_settings(VS)
    assert settings.filters == FilterSettings()
    assert settings.detection == FreeRunSettings()
    assert settings.montage_preset == default_preset(VS).name
    assert store.warnings == []


def test_round_trip_keeps_every_section(store):
    mine = edited(store.load("anna", MVD))
    path = store.save(mine, "anna", MVD)
    assert path == store.folder / "users" / "anna" / "mvd-hfs.json"
    again = SettingsStore(store.folder).load("anna", MVD)
    assert again == mine
    assert again.montage("left", "mine").labels() == ("L Nasalis",)
    assert again.montage("left", "mine").colours() == ("#abcdef",)
    # Another user and another procedure are untouched.
    assert store.load("ben", MVD) == factory_settings(MVD)
    assert store.load("anna", VS) == factory_settings(VS)


def test_user_overrides_procedure_overrides_factory(store):
    procedure_wide = replace(
        factory_settings(MVD),
        filters=FilterSettings(highpass_hz=30.0),
        display=DisplaySettings(window_s=20.0),
    )
    store.save_for_procedure(procedure_wide, MVD)
    anna = replace(store.load("anna", MVD), display=DisplaySettings(window_s=5.0))
    store.save(anna, "anna", MVD)

    got = store.load("anna", MVD)
    assert got.display.window_s == 5.0  # the user's
    assert got.filters.highpass_hz == 30.0  # the procedure's
    assert got.filters.lowpass_hz == 3000.0  # the factory's
    assert store.load("ben", MVD).display.window_s == 20.0
    assert store.load(None, MVD).display.window_s == 20.0
    # The user's file holds only what differs from the procedure's settings, so a later
    # change for the procedure reaches the user where the user has not chosen otherwise.
    stored = json.loads(store.user_file("anna", MVD).read_text())["settings"]
    assert stored == {"display": {"window_s": 5.0}}
    store.save_for_procedure(replace(procedure_wide, filters=FilterSettings(highpass_hz=10.0)), MVD)
    assert store.load("anna", MVD).filters.highpass_hz == 10.0


def test_restore_factory_defaults_sets_the_old_files_aside(store):
    store.save_for_procedure(edited(factory_settings(MVD)), MVD)
    store.save(replace(factory_settings(MVD), display=DisplaySettings(7.0)), "anna", MVD)
    store.save(edited(factory_settings(VS)), "anna", VS)
    restored = store.restore_factory_defaults("anna", MVD)
    assert restored == factory_settings(MVD)
    assert store.load("anna", MVD) == factory_settings(MVD)
    assert store.load("anna", VS) == edited(factory_settings(VS))  # another procedure kept
    backup = store.user_file("anna", MVD).with_name("mvd-hfs.json.before-reset")
    assert json.loads(backup.read_text())["settings"]["display"]["window_s"] == 7.0
    assert store.procedure_file(MVD).with_name("mvd-hfs.json.before-reset").exists()


@pytest.mark.parametrize(
    "content, why",
    [
        (b"{ not json", "not valid JSON (line 1)"),
        (b"\xff\xfe garbage", "not valid JSON"),
        (b"[1, 2]", "not a settings file"),
        (b'{"format": 99, "settings": {}}', "has format 99"),
        (b'{"settings": {"filters": {"highpass_hz": "fast"}}}', "High-pass must be a number"),
        (
            b'{"settings": {"filters": {"highpass_hz": 5000, "lowpass_hz": 100}}}',
            "High-pass (5000 Hz) must be below low-pass (100 Hz)",
        ),
        (b'{"settings": {"audio": {"alarm_volume": 0}}}', "alarms may not be made inaudible"),
        (b'{"settings": {"traintime": {"warning_s": 10, "high_s": 1}}}', "increasing"),
        (b'{"settings": {"recording": {"with_monitoring": "yes"}}}', "must be true or false"),
    ],
)
def test_a_damaged_file_is_set_aside_with_a_warning_and_defaults_apply(store, content, why):
    path = store.user_file("anna", MVD)
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    assert store.load("anna", MVD) == factory_settings(MVD)
    assert len(store.warnings) == 1
    assert why in store.warnings[0] and "renamed to mvd-hfs.json.unreadable-" in store.warnings[0]
    assert not path.exists()
    (aside,) = path.parent.glob("mvd-hfs.json.unreadable-*")
    assert aside.read_bytes() == content  # nothing lost
    # Saving afterwards works and does not touch the set-aside copy.
    store.save(edited(factory_settings(MVD)), "anna", MVD)
    assert aside.read_bytes() == content


def test_a_damaged_procedure_file_leaves_the_user_layer_working(store):
    store.save(replace(factory_settings(MVD), display=DisplaySettings(window_s=4.0)), "anna", MVD)
    store.procedure_file(MVD).parent.mkdir(parents=True)
    store.procedure_file(MVD).write_text("{")
    assert store.load("anna", MVD).display.window_s == 4.0
    assert "procedures" in store.warnings[0]


def test_a_user_preset_choice_outlives_a_reset_of_the_procedure_file(store):
    shared = factory_settings(MVD).with_preset(
        MontagePreset("department", (PresetChannel("oris"),))
    )
    store.save_for_procedure(shared, MVD)
    anna = replace(store.load("anna", MVD), display=DisplaySettings(window_s=4.0))
    store.save(anna, "anna", MVD)  # keeps "department" as anna's preset
    store.restore_factory_defaults(None, MVD)  # the shared file goes, with its preset
    got = store.load("anna", MVD)
    assert got.display.window_s == 4.0  # anna's file still applies
    assert got.montage_preset == default_preset(MVD).name
    assert store.user_file("anna", MVD).exists()


def test_a_file_that_cannot_be_moved_aside_is_never_saved_over(store, monkeypatch):
    path = store.user_file("anna", MVD)
    path.parent.mkdir(parents=True)
    path.write_text("{ damaged")

    def no_rename(src, dst):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(settingsstore.os, "replace", no_rename)
    assert store.load("anna", MVD) == factory_settings(MVD)
    assert "could not be moved aside" in store.warnings[0]
    with pytest.raises(SettingsError, match="Settings not saved"):
        store.save(factory_settings(MVD), "anna", MVD)
    assert path.read_text() == "{ damaged"


def test_unknown_settings_are_ignored_with_a_warning(store):
    path = store.user_file("anna", MVD)
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"settings": {"display": {"window_s": 3, "zoom": 2}, "x": {}}}))
    assert store.load("anna", MVD).display.window_s == 3.0
    assert any("display.zoom ignored" in w for w in store.warnings)
    assert any("section 'x' ignored" in w for w in store.warnings)
    assert path.exists()


def test_write_is_atomic_a_failed_write_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "s.json"
    write_json_atomically(path, {"v": 1})
    calls = []
    real_replace = os.replace

    def spy(src, dst):
        calls.append((Path(src).parent, Path(dst)))
        return real_replace(src, dst)

    monkeypatch.setattr(settingsstore.os, "replace", spy)
    write_json_atomically(path, {"v": 2})
    assert calls == [(tmp_path, path)]  # a finished temporary file renamed over the old one
    assert json.loads(path.read_text()) == {"v": 2}

    class Boom(Exception):
        pass

    def crash_midway(obj, f, **kw):
        f.write('{"v": 3, "half')
        raise Boom

    monkeypatch.setattr(settingsstore.json, "dump", crash_midway)
    with pytest.raises(Boom):
        write_json_atomically(path, {"v": 3})
    assert json.loads(path.read_text()) == {"v": 2}
    assert [p.name for p in tmp_path.iterdir()] == ["s.json"]  # no temporary file left


def test_a_folder_that_cannot_be_written_gives_a_sentence(tmp_path):
    blocker = tmp_path / "config"
    blocker.write_text("a file where the folder should be")
    with pytest.raises(SettingsError, match="Settings could not be saved to"):
        SettingsStore(blocker).save(factory_settings(MVD), "anna", MVD)


def test_settings_classes_validate_in_words():
    with pytest.raises(SettingsError, match="must be below low-pass"):
        MonitorSettings(filters=FilterSettings(highpass_hz=4000.0, lowpass_hz=300.0))
    with pytest.raises(ValueError, match="Detection thresholds must be positive"):
        MonitorSettings.from_dict({"detection": {"k_sigma": -1}})
    with pytest.raises(SettingsError, match="must be low, medium or high, not 'loud'"):
        MonitorSettings.from_dict({"alarms": {"a_train": "loud"}})
    with pytest.raises(SettingsError, match="cannot be set"):
        MonitorSettings(alarm_priorities={"no_signal": Priority.LOW})
    with pytest.raises(SettingsError, match="display window must be 1 to 60"):
        DisplaySettings(window_s=0.5)
    with pytest.raises(SettingsError, match="A user name"):
        SettingsStore("/nonexistent").user_file("../evil", MVD)


def test_alarm_priorities_reach_the_alarm_manager():
    settings = replace(factory_settings(MVD), alarm_priorities={"a_train": Priority.HIGH})
    alarms = AlarmManager(policies=settings.alarm_policies())
    assert alarms.policy("a_train:2").priority is Priority.HIGH
    assert alarms.policy("a_train:2").latches  # a high alarm latches
    assert alarms.policy("no_signal").priority is Priority.HIGH


def test_last_case_keeps_the_people_and_the_procedure_only(store):
    setup = CaseSetup(
        "c-1",
        "left",
        VS,
        surgeon="Dr Meier",
        neurophysiologist="Dr Kim",
        anaesthesia="TIVA",
        patient_name="Jane Quaglia",
    )
    store.remember_case("anna", setup)
    assert store.last_case("anna") == {
        "surgeon": "Dr Meier",
        "neurophysiologist": "Dr Kim",
        "procedure": "vestibular-schwannoma",
    }
    assert store.last_case("ben") == {}
    assert store.users() == ["anna"]


def test_config_folder_follows_the_platform_rules(monkeypatch, tmp_path):
    monkeypatch.delenv(settingsstore.ENV_FOLDER, raising=False)
    monkeypatch.setattr(settingsstore.sys, "platform", "linux")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert config_folder() == tmp_path / "xdg" / "facial-nerve-monitor"
    monkeypatch.setenv("XDG_CONFIG_HOME", "relative/path")  # invalid: ignored
    assert config_folder() == Path.home() / ".config" / "facial-nerve-monitor"
    monkeypatch.setattr(settingsstore.sys, "platform", "win32")
    monkeypatch.setenv("LOCALAPPDATA", str(tmp_path / "local"))
    assert config_folder() == tmp_path / "local" / "facial-nerve-monitor"
    monkeypatch.setenv(settingsstore.ENV_FOLDER, str(tmp_path / "override"))
    assert config_folder() == tmp_path / "override"
    assert SettingsStore().folder == tmp_path / "override"


def test_recording_with_monitoring_is_a_setting(store):
    assert store.load("anna", MVD).record_with_monitoring  # factory: record
    path = store.user_file("anna", MVD)
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"settings": {"recording": {"with_monitoring": False}}}))
    settings = store.load("anna", MVD)
    assert not settings.record_with_monitoring
    assert settings.to_dict()["recording"] == {"with_monitoring": False}


def _damaged(store: SettingsStore, content: bytes) -> Path:
    path = store.user_file("anna", MVD)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


@pytest.mark.parametrize(
    "content, why",
    [
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b'{"settings": ' * 40 + b"{}" + b"}" * 40, "nested too deeply"),
        (b'{"settings": {"filters": {"order": ' + b"9" * 5000 + b"}}}", "too many digits"),
        (b'{"settings": {"filters": {"highpass_hz": 1' + b"0" * 400 + b"}}}", "far too large"),
        (b'{"settings": {"audio": {"emg_volume": NaN}}}', "EMG volume must be a finite number"),
        (b'{"settings": {"display": {"window_s": -Infinity}}}', "must be a finite number"),
        (b'{"settings": {"display": {"window_s": 1e308}}}', "display window must be 1 to 60"),
        (b"\x00\x01\x02\x89PNG\r\n\x1a\n" * 100, "not valid JSON"),
        (b'{"settings": {"montage": {"preset": "\xc3\x28"}}}', "not valid JSON"),  # bad UTF-8
        (b"\xef\xbb\xbf{}", "not valid JSON"),  # a byte-order mark
    ],
    ids=[
        "nested-100000",
        "nested-40",
        "5000-digits",
        "400-digits",
        "nan",
        "minus-infinity",
        "1e308",
        "binary",
        "invalid-utf8",
        "bom",
    ],
)
def test_a_file_no_reader_expects_is_set_aside_like_any_damaged_one(store, content, why):
    path = _damaged(store, content)
    assert store.load("anna", MVD) == factory_settings(MVD)
    (warning,) = store.warnings
    assert why in warning and "renamed to mvd-hfs.json.unreadable-" in warning, warning
    assert len(warning) < 600  # never the file's content
    (aside,) = path.parent.glob("mvd-hfs.json.unreadable-*")
    assert aside.read_bytes() == content
    store.save(edited(factory_settings(MVD)), "anna", MVD)
    assert store.load("anna", MVD) == edited(factory_settings(MVD))


def test_a_folder_where_the_file_belongs_is_set_aside(store):
    path = store.user_file("anna", MVD)
    (path / "inside").mkdir(parents=True)
    assert store.load("anna", MVD) == factory_settings(MVD)
    assert "is a folder, not a settings file" in store.warnings[0]
    assert (next(path.parent.glob("mvd-hfs.json.unreadable-*")) / "inside").is_dir()
    store.save(factory_settings(MVD), "anna", MVD)
    assert path.is_file()


def test_a_huge_file_is_refused_without_being_read(store, monkeypatch):
    path = _damaged(store, b"")
    with open(path, "r+b") as f:
        f.truncate(100_000_000)  # sparse: 100 MB that take no disk
    reads = []
    real_open = open

    def counting_open(file, mode="r", *args, **kwargs):
        handle = real_open(file, mode, *args, **kwargs)
        if Path(file) == path:
            reads.append(handle)
        return handle

    monkeypatch.setattr("builtins.open", counting_open)
    assert store.load("anna", MVD) == factory_settings(MVD)
    assert "too large to be a settings file" in store.warnings[0]
    assert reads == []
    assert store.last_case("anna") == {}


@pytest.mark.parametrize(
    "value",
    [None, True, -1, 0, 1e308, 10**400, "", "x" * 5000, [], [[[]]], {}, {"a": {"b": 1}}],
    ids=lambda v: repr(v)[:12],
)
def test_a_wrong_value_for_any_setting_never_escapes_the_store(store, value):
    from monitor.monitorsettings import SCHEMA

    preset = next(iter(factory_settings(MVD).to_dict()["montage"]["presets"]))
    layers = [{section: value} for section in SCHEMA]
    layers += [{section: {key: value}} for section, keys in SCHEMA.items() for key in keys]
    layers += [
        {"montage": {"presets": {preset: [{"muscle": "oris", key: value}]}}}
        for key in ("muscle", "side", "colour")
    ]
    for layer in layers:
        path = _damaged(store, json.dumps({"format": 1, "settings": layer}).encode())
        store.load("anna", MVD)  # never raises: the file is used, ignored or set aside
        for p in path.parent.iterdir():
            p.unlink()


def test_a_last_case_file_that_cannot_be_used_is_ignored(store):
    path = store.last_case_file("anna")
    path.parent.mkdir(parents=True)
    for content in (
        b"[" * 100_000,
        b'{"last_case": ' * 5000 + b"1" + b"}" * 5000,
        b'{"last_case": {"surgeon": ' + b"9" * 5000 + b"}}",
        b'{"last_case": "Dr Meier"}',
        b'{"last_case": {"surgeon": ["Dr Meier"], "procedure": "' + b"x" * 5000 + b'"}}',
        # longer than the case setup takes a name (a hand-edited file): not one
        b'{"last_case": {"neurophysiologist": "' + b"x" * 41 + b'"}}',
        b"\xff\xfe",
    ):
        path.write_bytes(content)
        assert store.last_case("anna") == {}, content[:40]
    path.unlink()
    path.mkdir()
    assert store.last_case("anna") == {}


def test_saving_into_a_vanished_folder_recreates_it(store):
    store.load("anna", MVD)
    store.save(edited(factory_settings(MVD)), "anna", MVD)
    import shutil

    shutil.rmtree(store.folder)  # a network drive gone and back, a cleaned profile
    store.save(edited(factory_settings(MVD)), "anna", MVD)
    assert store.load("anna", MVD) == edited(factory_settings(MVD))


def test_a_folder_that_cannot_be_read_or_written_gives_sentences(store, monkeypatch):
    """A read-only or locked settings folder: nothing but SettingsError leaves the store."""
    store.save(edited(factory_settings(MVD)), "anna", MVD)
    store.remember_case("anna", CaseSetup("c-1", "left", MVD, surgeon="Dr Meier"))
    denied = PermissionError(13, "Permission denied")
    real_stat = Path.stat

    def locked_stat(self, *args, **kwargs):
        if store.folder in self.parents:
            raise denied
        return real_stat(self, *args, **kwargs)

    def locked(*args, **kwargs):
        raise denied

    monkeypatch.setattr(Path, "stat", locked_stat)
    monkeypatch.setattr(settingsstore.os, "replace", locked)
    monkeypatch.setattr(settingsstore.tempfile, "mkstemp", locked)
    assert store.load("anna", MVD) == factory_settings(MVD)
    assert "cannot be read (Permission denied)" in store.warnings[0]
    assert store.last_case("anna") == {}
    for save in (
        lambda: store.save(factory_settings(MVD), "anna", MVD),
        lambda: store.save_for_procedure(factory_settings(MVD), MVD),
        lambda: store.remember_case("anna", CaseSetup("c-2", "left", MVD)),
        lambda: store.restore_factory_defaults("anna", MVD),
    ):
        with pytest.raises(SettingsError, match=r"Permission denied\)?\.$"):
            save()


def test_settings_with_a_huge_integer_give_a_short_sentence_not_an_overflow():
    """``math.isfinite`` raised OverflowError on a 400-digit integer, and a message
    quoted a whole bad value back."""
    from monitor.monitorsettings import MonitorSettings, SettingsError

    for section, key in (("display", "range_uv"), ("audio", "alarm_volume")):
        data = MonitorSettings().to_dict()
        data[section][key] = 10**400
        with pytest.raises(SettingsError) as err:
            MonitorSettings.from_dict(data)
        assert "far too large" in str(err.value) and len(str(err.value)) < 200
    data = MonitorSettings().to_dict()
    data["display"]["range_uv"] = "x" * 5000
    with pytest.raises(SettingsError) as err:
        MonitorSettings.from_dict(data)
    assert len(str(err.value)) < 200
