"""Facial Nerve Monitor: intraoperative facial-nerve EMG monitoring, replay and simulation.

Run ``python main.py --help`` for the options. This module parses the command line and
hands it to a command: a sub-command of :data:`COMMANDS`, or with none the monitor
(``commands/monitor.py``).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

log = logging.getLogger("monitor")


@dataclass(frozen=True)
class Command:
    """A sub-command: the module that parses and runs it, and its line in ``--help``.

    The module has ``build_parser(prog) -> ArgumentParser`` and
    ``run(args: argparse.Namespace) -> int`` (the exit status).
    """

    module: str
    synopsis: str  # its arguments in main.py --help
    summary: str  # one line

    def load(self) -> ModuleType:
        return importlib.import_module(self.module)


#: Every sub-command of main.py: ``--help`` lists these and ``main`` dispatches to them.
COMMANDS: dict[str, Command] = {
    "analyze": Command(
        "commands.analyze",
        "FILE|DIR --out OUT",
        "events, train time, LSR and a report, offline; a folder: the cohort",
    ),
    "recover": Command(
        "commands.recover", "FILE", "repair a recording cut short by a crash (keeps a backup)"
    ),
    "deidentify": Command(
        "commands.deidentify", "FILE --out F", "a de-identified copy for teaching"
    ),
    "scenario": Command(
        "commands.scenario", "FILE", "a training case, checked against its ground truth"
    ),
    "simulate-device": Command(
        "commands.simulate_device", "", "a simulated amplifier on a serial pty"
    ),
    "remote": Command(
        "commands.remote", "[--room NAME]", "supervise rooms that publish over LSL (read-only)"
    ),
}


def version() -> str:
    """The installed package's version (``pip install .``), or the source tree's."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("facial-nerve-monitor")
    except PackageNotFoundError:
        return "0.1.0 (source tree, not installed)"


DESCRIPTION = """\
Facial Nerve Monitor: live facial EMG for microvascular decompression and other
cerebellopontine-angle surgery, replay of recorded cases, and a simulator.

With no command it monitors; with no source option it starts the built-in simulator
(4 channels, 10 kHz).
Other commands (each with its own --help):"""


def prog() -> str:
    """How the user called us: the installed command, or ``main.py`` from the source tree."""
    called = Path(sys.argv[0]).name
    return called if called.startswith("facial-nerve-monitor") else "main.py"


def description() -> str:
    """``DESCRIPTION`` and a line per command of :data:`COMMANDS`."""
    heads = {name: f"  {prog()} {name} {c.synopsis}" for name, c in COMMANDS.items()}
    width = max(len(h) for h in heads.values()) + 4
    lines = [heads[name].ljust(width) + c.summary for name, c in COMMANDS.items()]
    return "\n".join([DESCRIPTION, *lines])


def build_parser() -> argparse.ArgumentParser:
    """The monitor's command line (``main.py`` with no command), its help listing the
    commands."""
    from commands.monitor import build_parser as monitor_parser

    p = monitor_parser(prog(), description())
    p.add_argument("--version", action="version", version=f"Facial Nerve Monitor {version()}")
    return p


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` (default the process's) and run the command it names; the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in COMMANDS:
        name, *rest = argv
        module = COMMANDS[name].load()
        return module.run(module.build_parser(f"{prog()} {name}").parse_args(rest))
    parser = build_parser()
    if argv and not argv[0].startswith("-"):
        parser.error(f"unknown command {argv[0]!r} (the commands: {', '.join(COMMANDS)})")
    from commands import monitor

    return monitor.run(parser.parse_args(argv))


def entry() -> int:
    """Run ``main``; an unexpected error becomes one sentence on stderr, details in the log."""
    try:
        return main()
    except KeyboardInterrupt:
        return 130
    except Exception:
        log.exception("unexpected error")
        print(
            "error: the monitor hit an internal error and stopped; the details are in the log.",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(entry())
