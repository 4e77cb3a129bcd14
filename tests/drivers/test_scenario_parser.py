"""Scenario files: a good one reads as written; every kind of mistake is refused with one
line naming the file and the line of the mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulation.scenario_parser import (
    ScenarioError,
    TomlLines,
    load_scenario,
    parse_scenario,
    parse_time,
)

ROOT = Path(__file__).resolve().parents[2]

GOOD = '''\
[case]
title = "A short case"
teaching = """
Spikes and an A-train; the LSR goes.
duration = "9:99" looks like a key but is teaching text
"""
seed = 4
rate = 5000
side = "right"
duration = "2:00"

[montage]
channels = ["oris", "mentalis", "R Frontalis"]

[baseline]
noise_uv = 4
spikes_per_min = 3

[stimulation]
rate_hz = 2
current_ma = 20

[lsr]
gone_at = "decompression+0:15"
fade_stims = 2

[[phase]]
name = "opening"
start = 0

[[phase]]
name = "decompression"
start = "1:00"
bursts_per_min = 4

[[event]]
at = "decompression+0:05.5"
kind = "a_train"
channel = "mentalis"
duration_s = 1.5
freq_hz = 120

[[event]]
at = "0:10"
kind = "cautery"
duration_s = 1
count = 3
every_s = 4

[[event]]
at = 30
kind = "lead_off"
channel = 1
needle = "active"

[expect]
train_time_alarm = "warning"
train_time_channels = ["R Mentalis"]
lsr_call_within_s = 20
'''


def test_a_good_scenario_reads_as_written():
    sc = parse_scenario(GOOD, "good.toml")
    assert sc.title == "A short case" and "LSR goes" in sc.teaching
    assert (sc.seed, sc.rate, sc.side, sc.duration_s) == (4, 5000.0, "right", 120.0)
    assert sc.labels == ("R Orb. oris", "R Mentalis", "R Frontalis")
    assert [(p.name, p.start_s) for p in sc.phases] == [("opening", 0.0), ("decompression", 60.0)]
    assert sc.lsr.gone_at_s == 75.0 and sc.lsr.fade_stims == 2
    assert sc.stimulation.rate_hz == 2.0 and sc.stimulation.current_ma == 20.0
    cautery, lead_off, a_train = sc.events  # in time order
    assert cautery.times() == [10.0, 14.0, 18.0] and cautery.channel is None
    assert (lead_off.kind, lead_off.channel, lead_off.needle) == ("lead_off", 0, "active")
    assert (a_train.at_s, a_train.channel, a_train.freq_hz) == (65.5, 1, 120.0)
    assert sc.expect.train_time_alarm == "warning" and sc.expect.train_time_channels == (1,)
    assert (
        sc.expect.lines["lsr_call_within_s"]
        == GOOD.splitlines().index("lsr_call_within_s = 20") + 1
    )
    # Phase rates override the baseline only while the phase lasts.
    assert sc.rates_at(30)["spikes_per_min"] == 3 and sc.rates_at(30)["bursts_per_min"] == 0
    assert sc.rates_at(90)["bursts_per_min"] == 4 and sc.rates_at(90)["spikes_per_min"] == 3
    cfg = sc.sim_config()
    assert cfg.labels == sc.labels and cfg.lsr_gone_at_s == 75.0 and cfg.stim_rate_hz == 2.0


@pytest.mark.parametrize("path", sorted((ROOT / "scenarios").glob("*.toml")), ids=lambda p: p.stem)
def test_every_shipped_scenario_reads_and_teaches(path):
    sc = load_scenario(path)
    assert len(sc.teaching) > 200 and sc.duration_s <= 600
    assert [p.name for p in sc.phases][:2] == ["opening", "dissection"]


def _replace(old: str, new: str) -> str:
    assert old in GOOD
    return GOOD.replace(old, new, 1)


def _line_of(text: str, fragment: str) -> int:
    return next(i for i, ln in enumerate(text.splitlines(), 1) if fragment in ln)


# (the mistake, the fragment on the line that must be named, words the message must hold)
BAD = [
    (_replace('duration = "2:00"', 'duraton = "2:00"'), "duraton", "did you mean 'duration'"),
    (_replace("[baseline]", "[basline]"), "[basline]", "did you mean 'baseline'"),
    (_replace("spikes_per_min = 3", "spikes_per_mn = 3"), "spikes_per_mn", "spikes_per_min"),
    (_replace('kind = "a_train"', 'kind = "a_trian"'), "a_trian", "did you mean 'a_train'"),
    (_replace('channel = "mentalis"', 'channel = "mentalsi"'), "mentalsi", "'mentalis'"),
    (_replace("channel = 1", "channel = 7"), "channel = 7", "no channel 7"),
    (_replace("freq_hz = 120", "freq_hz = 400"), "freq_hz = 400", "60 to 210 Hz"),
    (_replace("freq_hz = 120", "amplitud_uv = 100"), "amplitud_uv", "amplitude_uv"),
    (_replace('at = "0:10"', 'at = "2:10"'), 'at = "2:10"', "past the end of the case"),
    (_replace('at = "0:10"', 'at = "0:70"'), 'at = "0:70"', "not a time"),
    (_replace("decompression+0:05.5", "decompresion+0:05.5"), "decompresion", "'decompression'"),
    (_replace('"1:00"\nbursts', '"0:00"\nbursts'), 'start = "0:00"', "must start after"),
    (_replace("rate_hz = 2", "rate_hz = 50"), "rate_hz = 50", "0 to 20 Hz"),
    (_replace('"warning"', '"hihg"'), '"hihg"', "did you mean 'high'"),
    (_replace('"oris", "mentalis"', '"oris", "mentalsi"'), "channels =", "unknown muscle"),
    (_replace("every_s = 4\n", ""), "count = 3", "needs every_s"),
    (_replace('needle = "active"', "duration_s = 3"), "duration_s = 3", "does not apply"),
    (
        '[case]\ntitle = "t"\nteaching = "x"\nduration = 60\n\n[phase]\nname = "opening"\n',
        "[phase]",
        "write [[phase]]",
    ),
    (_replace('title = "A short case"', "title = 3"), "title = 3", "text in quotes"),
    (_replace("seed = 4", "seed = 4.5"), "seed = 4.5", "whole number"),
    (GOOD + "\n[training]\nack_within_s = 900\n", "ack_within_s", "1 to 300"),
    (GOOD + "\n[training]\nack_witin_s = 9\n", "ack_witin_s", "did you mean 'ack_within_s'"),
    (GOOD + "[lsr]\n", "[lsr]", "not valid TOML"),  # a table defined twice
    (_replace('title = "A short case"', 'title = "A short case'), "title", "not valid TOML"),
]


@pytest.mark.parametrize(("text", "fragment", "words"), BAD, ids=[b[2] for b in BAD])
def test_each_mistake_names_the_file_and_its_line(text, fragment, words):
    with pytest.raises(ScenarioError) as err:
        parse_scenario(text, "scenarios/case.toml")
    message = str(err.value)
    assert "\n" not in message
    line = _line_of(text, fragment) if fragment != "[lsr]" else len(text.splitlines())
    assert message.startswith(f"scenarios/case.toml, line {line}"), message
    assert words in message, message


def test_a_missing_file_and_an_empty_one_are_refused_in_words(tmp_path):
    with pytest.raises(ScenarioError, match="no such scenario file"):
        load_scenario(tmp_path / "nowhere.toml")
    empty = tmp_path / "empty.toml"
    empty.write_text("")
    with pytest.raises(ScenarioError, match=r"needs a \[case\] table"):
        load_scenario(empty)


def test_line_finder_skips_multiline_strings_and_counts_arrays_of_tables():
    lines = TomlLines(GOOD)
    assert lines.line_of(("case",), "duration") == _line_of(GOOD, 'duration = "2:00"')
    assert lines.line_of(("event", 2), "needle") == _line_of(GOOD, "needle =")
    assert lines.line_of(("phase", 1)) == _line_of(GOOD, "[[phase]]") + 4


@pytest.mark.parametrize(
    ("text", "seconds"),
    [(90, 90.0), (2.5, 2.5), ("90", 90.0), ("1:30", 90.0), ("1:30.5", 90.5), ("1:01:30", 3690.0)],
)
def test_times_are_seconds_or_clock_readings(text, seconds):
    assert parse_time(text) == seconds


@pytest.mark.parametrize("text", ["1:75", "-3", "soon", True, "1:60:00"])
def test_a_time_that_is_no_time_is_refused(text):
    with pytest.raises(ValueError):
        parse_time(text)


def test_the_trainees_set_times_come_from_the_training_table():
    sc = parse_scenario(GOOD + "\n[training]\nlsr_call_within_s = 45\nack_within_s = 20\n", "x")
    assert sc.training_limits == {"ack_within_s": 20.0, "lsr_call_within_s": 45.0}
    assert parse_scenario(GOOD, "x").training_limits == {}


SHORT = '[case]\ntitle = "t"\nteaching = "x"\n'


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        (SHORT + "duration = " + "[" * 5000 + "]" * 5000 + "\n", None, "nested too deeply"),
        (SHORT + "duration = " + "{a=" * 5000 + "1" + "}" * 5000 + "\n", None, "nested too deeply"),
        (SHORT + "duration = " + "9" * 5000 + "\n", 4, "far too many digits"),
        (SHORT + "duration = " + "9" * 400 + "\n", 4, "too many seconds for any case"),
        (SHORT + 'duration = "' + "9" * 5000 + ':00"\n', 4, "is not a time"),
        (SHORT + "duration = 1e308\n", 4, "from 10 s to 4 hours"),
        (SHORT + "duration = inf\n", 4, "too many seconds for any case"),
        (SHORT + "duration = nan\n", 4, "0 or more seconds"),
        (SHORT + "duration = 60\nrate = " + "9" * 400 + "\n", 5, "from 500 to 20000 Hz"),
        (SHORT + "duration = 60\n[stimulation]\nrate_hz = -1\n", 6, "from 0 to 20 Hz"),
        (SHORT + "duration = 60\n[baseline]\nspikes_per_min = -5\n", 6, "from 0 to 600"),
        (SHORT + "duration = 60\n[baseline]\nmains_hz = " + "6" * 400 + "\n", 6, "50 or 60"),
        (
            SHORT + 'duration = 60\n[[event]]\nkind = "spike"\nchannel = 1\nat = 1\ncount = 2\n'
            "every_s = 1" + "0" * 400 + "\n",
            10,
            "every_s must be from 0.1 to 3600 s",
        ),
        (
            SHORT + 'duration = 60\n[[event]]\nkind = "spike"\nat = 1\nchannel = ' + "9" * 400,
            8,
            "no channel",
        ),
        ('[case]\ntitle = "\\u001b[2J"\nteaching = "x"\nduration = 60\n', 2, "control character"),
    ],
    ids=[
        "nested-arrays",
        "nested-tables",
        "5000-digits",
        "400-digit-duration",
        "5000-digit-clock",
        "1e308",
        "inf",
        "nan",
        "400-digit-rate",
        "negative-stim-rate",
        "negative-event-rate",
        "400-digit-mains",
        "400-digit-every",
        "400-digit-channel",
        "escape-in-title",
    ],
)
def test_what_no_scenario_holds_is_refused_in_one_short_line(text, line, words):
    with pytest.raises(ScenarioError) as err:
        parse_scenario(text, "case.toml")
    message = str(err.value)
    assert words in message, message
    assert "\n" not in message and len(message) < 300, message
    assert err.value.line == line, message


def test_a_long_line_is_scanned_at_once():
    import time

    text = SHORT + "duration = 60\nx = [\n[" + " " * 3000 + "1],\n]\n"
    start = time.monotonic()
    with pytest.raises(ScenarioError, match="no setting 'x'"):
        parse_scenario(text, "case.toml")
    assert time.monotonic() - start < 1.5  # 7 s, growing with the cube of the line's length


def test_a_file_that_is_no_scenario_is_refused_without_being_read_whole(tmp_path):
    big = tmp_path / "big.toml"
    with open(big, "wb") as f:
        f.truncate(100_000_000)  # sparse: 100 MB that take no disk
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b'[case]\ntitle = "\xc3\x28"\n')  # not UTF-8
    (tmp_path / "folder.toml").mkdir()
    for path, words in (
        (big, "too large for a scenario"),
        (binary, "not a text file"),
        (tmp_path / "folder.toml", "is a folder"),
        (Path("/dev/zero"), "is not a file"),
    ):
        with pytest.raises(ScenarioError, match=words):
            load_scenario(path)


def test_line_finder_reads_headers_with_spaces_and_tabs_inside_the_brackets():
    lines = TomlLines("[case\t]\na = 1\n[[ event ]]\nb = 2\n[[event]]  # the second\nb = 3\n")
    assert lines.line_of(("case",), "a") == 2
    assert (lines.line_of(("event", 0), "b"), lines.line_of(("event", 1), "b")) == (4, 6)
