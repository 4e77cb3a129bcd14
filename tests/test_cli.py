"""The command line: help, headless runs, screenshots, and clear errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_STATE_HOME": "/tmp/fnm-test-state"}
    return subprocess.run(
        [sys.executable, "main.py", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )


def test_help_explains_every_option():
    out = run("--help")
    assert out.returncode == 0
    for option in (
        "--replay",
        "--speed",
        "--channels",
        "--rate",
        "--screenshot",
        "--after",
        "--headless",
        "--duration",
        "--seed",
        "--notch",
        "--window",
        "--stim-rate",
        "--stim-current",
        "--stim-site",
        "--lsr-gone-at",
    ):
        assert option in out.stdout


def test_headless_prints_a_status_line_every_second():
    out = run("--headless", "--duration", "2.2", "--channels", "8", "--rate", "20000")
    assert out.returncode == 0, out.stderr
    lines = [ln for ln in out.stdout.splitlines() if "Simulator" in ln]
    assert len(lines) >= 2
    assert "8ch@20000Hz" in lines[-1]
    assert "gaps=0" in lines[-1]
    assert "Traceback" not in out.stderr


def test_a_training_screenshot_takes_the_size_asked(tmp_path):
    # The training screen at an operating-room size (the monitor window alone here).
    shot = tmp_path / "training.png"
    out = run(
        "scenario", "scenarios/routine_mvd.toml", "--screenshot", str(shot), "--after", "1.5",
        "--size", "1366x768",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    import struct

    assert struct.unpack(">II", shot.read_bytes()[16:24]) == (1366, 768)
    bad = run("scenario", "scenarios/routine_mvd.toml", "--size", "huge")
    assert bad.returncode == 2 and "--size" in bad.stderr and "Traceback" not in bad.stderr


def test_screenshot_writes_a_png_of_the_window(tmp_path):
    shot = tmp_path / "shot.png"
    out = run("--screenshot", str(shot), "--after", "1.5", "--size", "1200x700")
    assert out.returncode == 0, out.stderr
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    import struct

    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (1200, 700)


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("--channels", "17"), "1 to 16"),
        (("--rate", "50000"), "between"),
        (("--speed", "50"), "between"),
        (("--replay", "/nonexistent/case.edf", "--headless"), "case.edf"),
        (("--size", "huge", "--headless"), "--size"),
        (("--highpass", "4000", "--lowpass", "300", "--headless"), "High-pass"),
    ],
)
def test_bad_input_gets_one_clear_line_and_no_traceback(args, words):
    out = run(*args)
    assert out.returncode == 2
    assert words in out.stderr
    assert "Traceback" not in out.stderr


def test_record_writes_an_annotated_edf_that_other_software_opens(tmp_path):
    pyedflib = pytest.importorskip("pyedflib")
    out = run(
        "--headless",
        "--duration",
        "4",
        "--seed",
        "204",
        "--record",
        str(tmp_path),
        "--case-id",
        "case 7",
    )
    assert out.returncode == 0, out.stderr
    (rec,) = tmp_path.glob("*_case-7.edf")
    f = pyedflib.EdfReader(str(rec))
    try:
        # EDF+ labels carry the signal type; the human label is the transducer's text.
        assert f.getSignalLabels()[:2] == ["EMG L OOc", "EMG L OOr"]
        assert f.getTransducer(0) == "L Orb. oculi"
        assert f.getFileDuration() >= 3
        texts = list(f.readAnnotations()[2])
    finally:
        f.close()
    assert sum(t.startswith("stim 15 mA") for t in texts) >= 2


def test_recover_repairs_a_file_cut_short(tmp_path):
    out = run("--headless", "--duration", "2", "--record", str(tmp_path))
    assert out.returncode == 0, out.stderr
    (rec,) = tmp_path.glob("*.edf")
    data = rec.read_bytes()
    rec.write_bytes(data[: len(data) - 1234])  # a crash in the middle of a record
    fixed = run("recover", str(rec))
    assert fixed.returncode == 0, fixed.stderr
    assert "Traceback" not in fixed.stderr


def test_a_recording_folder_removed_mid_run_raises_the_alarm_and_the_last_line_says_so(tmp_path):
    import shutil
    import time

    folder = tmp_path / "recordings"
    folder.mkdir()
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_STATE_HOME": str(tmp_path)}
    proc = subprocess.Popen(
        [sys.executable, "main.py", "--headless", "--duration", "6", "--record", str(folder)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        end = time.monotonic() + 30
        while not list(folder.glob("*.edf")) and time.monotonic() < end:
            time.sleep(0.05)
        (path,) = folder.glob("*.edf")
        shutil.rmtree(folder)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    alarms = [line for line in out.splitlines() if line.startswith("alarm ")]
    stopped = "High technical alarm: Recording stopped: the folder"
    assert any(stopped in line and "Monitoring continues" in line for line in alarms), out
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith(f"Recording lost: {path} no longer exists")


def test_a_run_says_what_it_recorded_in_its_last_line(tmp_path):
    out = run("--headless", "--duration", "1", "--record", str(tmp_path))
    assert out.returncode == 0, out.stderr
    (path,) = tmp_path.glob("*.edf")
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith("Recorded ") and last.endswith(f" to {path.resolve()}.")
    out = run("--headless", "--duration", "0.5")
    assert out.stderr.strip().splitlines()[-1].startswith("Nothing was recorded")


@pytest.mark.parametrize(
    "content",
    [
        b'[case]\ntitle = "t"\nteaching = "x"\nduration = ' + b"[" * 5000 + b"]" * 5000,
        b'[case]\ntitle = "t"\nteaching = "x"\nduration = ' + b"9" * 5000,
        b'[case]\ntitle = "t"\nteaching = "x"\nduration = 60\nrate = ' + b"9" * 400,
        b'[case]\ntitle = "\xc3\x28"\n',
    ],
    ids=["nested", "5000-digits", "400-digits", "not-utf8"],
)
def test_a_scenario_no_reader_expects_gets_one_line_and_exit_2(tmp_path, content):
    path = tmp_path / "bad.toml"
    path.write_bytes(content)
    out = run("scenario", str(path), "--headless")
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    (line,) = out.stderr.strip().splitlines()
    assert line.startswith(f"error: {path}") and len(line) < 300, line


@pytest.mark.parametrize(
    ("case_id", "words"),
    [
        ("Doe, Jane 1961-08-02", "birth date"),
        ("doe-jane-19610802", "birth date"),
        ("Doe, Jane", "Last, First"),
        ("case/../../etc", "only letters, digits"),
        ("x" * 21, "at most 20"),
    ],
)
def test_a_case_id_that_could_identify_the_patient_is_refused_before_anything_is_written(
    tmp_path, case_id, words
):
    out = run("--headless", "--duration", "1", "--record", str(tmp_path), "--case-id", case_id)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    (line,) = [ln for ln in out.stderr.splitlines() if "error:" in ln]
    assert "argument --case-id" in line and words in line, line
    assert "Jane" not in line and "1961" not in line
    assert list(tmp_path.iterdir()) == []


def test_the_installed_command_and_version():
    """``pip install .`` gives the ``facial-nerve-monitor`` command (``main:entry``), and
    ``--version`` says the version."""
    from importlib.metadata import entry_points, version

    (script,) = [
        e for e in entry_points(group="console_scripts") if e.name == "facial-nerve-monitor"
    ]
    assert script.value == "main:entry"
    out = run("--version")
    assert (
        out.returncode == 0
        and out.stdout.strip() == f"Facial Nerve Monitor {version('facial-nerve-monitor')}"
    )
    command = Path(sys.executable).with_name("facial-nerve-monitor")
    done = subprocess.run([str(command), "--version"], capture_output=True, text=True, check=True)
    assert done.stdout == out.stdout


def test_the_log_goes_to_the_platforms_folder_rotates_and_takes_a_level(tmp_path, monkeypatch):
    import logging

    from monitor import logsetup

    monkeypatch.setattr(logsetup.sys, "platform", "linux")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    assert (
        logsetup.default_log_path() == tmp_path / "state" / "facial-nerve-monitor" / "monitor.log"
    )
    monkeypatch.setattr(logsetup.sys, "platform", "darwin")
    monkeypatch.setattr(logsetup.Path, "home", lambda: tmp_path / "home")
    assert logsetup.default_log_path() == (
        tmp_path / "home" / "Library" / "Logs" / "facial-nerve-monitor" / "monitor.log"
    )
    monkeypatch.setattr(logsetup.sys, "platform", "win32")
    monkeypatch.setenv("LOCALAPPDATA", str(tmp_path / "local"))
    assert logsetup.default_log_path() == (
        tmp_path / "local" / "facial-nerve-monitor" / "Logs" / "monitor.log"
    )
    monkeypatch.setattr(logsetup, "MAX_BYTES", 2000)
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    root.handlers.clear()
    try:
        path = logsetup.setup_logging(tmp_path / "logs" / "m.log", "warning")
        log = logging.getLogger("monitor.test")
        log.info("not kept at the warning level")
        for k in range(100):
            log.warning("line %d of a log that must not grow without bound", k)
        for h in root.handlers:
            h.flush()
        assert (tmp_path / "logs" / "m.log.1").is_file()  # rotated
        assert path.stat().st_size <= 2000
        assert "not kept" not in path.read_text()
    finally:
        for h in root.handlers:
            h.close()
        root.handlers[:], root.level = saved


def test_log_level_is_an_option():
    out = run("--help")
    assert "--log-level {debug,info,warning,error}" in out.stdout


def test_help_names_every_sub_command_and_each_has_its_own_help():
    import main

    assert set(main.COMMANDS) == {
        "analyze",
        "recover",
        "deidentify",
        "scenario",
        "simulate-device",
        "remote",
    }
    out = run("--help")
    for command, entry in main.COMMANDS.items():
        assert f"main.py {command} " in out.stdout, command
        assert entry.summary in out.stdout, command
        sub = run(command, "--help")
        assert sub.returncode == 0 and sub.stdout.startswith("usage: main.py " + command), command


def test_every_command_module_is_registered_and_has_a_parser_and_a_run():
    """A module of commands/ with ``build_parser`` and ``run`` is a command: main.py must
    list it (the monitor is the command-less default)."""
    import importlib

    import main

    registered = {entry.module for entry in main.COMMANDS.values()}
    for path in sorted((ROOT / "commands").glob("*.py")):
        module = importlib.import_module(f"commands.{path.stem}")
        if hasattr(module, "build_parser") and hasattr(module, "run"):
            assert module.__name__ in registered | {"commands.monitor"}, module.__name__
    for name, entry in main.COMMANDS.items():
        module = entry.load()
        assert callable(module.run), name
        assert module.build_parser(f"main.py {name}").prog == f"main.py {name}"


@pytest.mark.parametrize(
    ("command", "needed"),
    [
        ("", ()),
        ("analyze", ("case.edf", "--out", "results")),
        ("recover", ("case.edf",)),
        ("deidentify", ("case.edf", "--out", "copy.edf")),
        ("scenario", ("case.toml",)),
        ("simulate-device", ()),
    ],
)
def test_an_unknown_option_is_refused_in_one_line_with_exit_2(command, needed):
    out = run(*([command] if command else []), *needed, "--no-such-option")
    assert out.returncode == 2
    (line,) = out.stderr.strip().splitlines()
    prog = f"main.py {command}".strip()
    assert line.startswith(f"{prog}: error: ") and "--no-such-option" in line, line
    assert line.endswith(f"(see {prog} --help)"), line


def test_an_unknown_command_is_refused_in_one_line_naming_the_commands():
    import main

    out = run("analyse", "case.edf")
    assert out.returncode == 2
    (line,) = out.stderr.strip().splitlines()
    assert "unknown command 'analyse'" in line and all(c in line for c in main.COMMANDS), line


def test_the_simulator_options_are_declared_once_for_the_monitor_and_simulate_device():
    """Both command lines take the same simulator options (one declaration in
    commands/simoptions.py): the same types, choices and help, and the same command line
    gives the same simulated patient. Only the monitor leaves --channels and --rate unset
    (with --port the amplifier says them), and its help says so."""
    import main
    from commands import simoptions, simulate_device

    monitor = main.build_parser()
    device = simulate_device.build_parser()

    def actions(parser):
        return {a.dest: a for a in parser._actions if a.dest in simoptions.DEFAULTS}

    mine, theirs = actions(monitor), actions(device)
    assert set(mine) == set(theirs) == set(simoptions.DEFAULTS)
    for dest, a in mine.items():
        b = theirs[dest]
        assert (a.option_strings, a.type, a.choices, a.metavar) == (
            b.option_strings,
            b.type,
            b.choices,
            b.metavar,
        ), dest
        if dest in ("channels", "rate"):
            assert a.default is None and b.default is not None
            assert a.help.endswith("; with --port the amplifier's)"), a.help
            assert a.help.replace("; with --port the amplifier's", "") == b.help
        else:
            assert (a.default, a.help) == (b.default, b.help), dest
    argv = ["--stim-site", "Z-L", "--bad-electrode", "1:active:200", "--seed", "5"]
    ours, theirs_args = monitor.parse_args(argv), device.parse_args(argv)
    assert ours.stim_site == theirs_args.stim_site == "Z-L"
    assert simoptions.sim_config(ours) == simoptions.sim_config(theirs_args)
    assert simoptions.sim_config(ours).bad_electrodes[0].describe().startswith("channel 1 active")
    argv = ["--channels", "L Orb. oris,R Mentalis", "--rate", "5000", "--stim-rate", "0"]
    assert simoptions.sim_config(monitor.parse_args(argv)) == simoptions.sim_config(
        device.parse_args(argv)
    )


def test_no_command_module_imports_main():
    """main.py parses and dispatches: it imports the commands, never the other way round."""
    modules = ", ".join(f"commands.{p.stem}" for p in sorted((ROOT / "commands").glob("*.py")))
    done = subprocess.run(
        [sys.executable, "-c", f"import sys, {modules}; print('main' in sys.modules)"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == "False"


def test_the_installed_command_names_itself_in_its_help(monkeypatch):
    """``facial-nerve-monitor --help`` says ``facial-nerve-monitor``, not ``main.py``."""
    import main

    monkeypatch.setattr(sys, "argv", ["/home/u/.local/bin/facial-nerve-monitor", "--help"])
    assert main.build_parser().prog == "facial-nerve-monitor"
    assert "facial-nerve-monitor analyze FILE" in main.description()
    monkeypatch.setattr(sys, "argv", ["main.py"])
    assert main.build_parser().prog == "main.py"


def test_qt_noise_stays_off_the_terminal(tmp_path):
    """Qt's "This plugin does not support propagateSizeHints()" went to the terminal on
    every offscreen run; Qt's messages now go to the log."""
    shot = tmp_path / "shot.png"
    out = run("--screenshot", str(shot), "--after", "1", "--log", str(tmp_path / "m.log"))
    assert out.returncode == 0 and shot.exists(), out.stderr
    assert "propagateSizeHints" not in out.stderr
    assert out.stderr.strip().splitlines()[-1].startswith("Nothing was recorded")
