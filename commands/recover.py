"""``main.py recover FILE ...``: repair recordings left by a crash (or by older writers).

Sets each file's number of data records to the complete records present and cuts off an
incomplete last record, so that every EDF/BDF reader opens it; a file whose header does not
show a crash pattern is left as it is. Whatever changes, the original bytes are copied
beside the file first (``monitor/edfrecover.py``). Prints one line per file.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from commands.argtypes import CommandParser
from monitor.edfrecover import RecoverError
from monitor.edfrecover import recover as recover_file


def build_parser(prog: str = "main.py recover") -> argparse.ArgumentParser:
    p = CommandParser(
        prog=prog,
        description="Repair EDF/BDF recordings cut short by a crash or power loss: fix the "
        "number of data records in the header and remove an incomplete last record. The "
        "original is kept as NAME.before-recover.edf; a file whose header looks damaged "
        "rather than cut short is not changed.",
    )
    p.add_argument("files", nargs="+", type=Path, metavar="FILE", help="recording(s) to repair")
    return p


def recover(argv: list[str]) -> int:
    """The command on a list of arguments (``main.main(["recover", ...])`` does the same)."""
    return run(build_parser().parse_args(argv))


def run(args: argparse.Namespace) -> int:
    """Run the command; returns the exit status (0 when every file is repaired or sound)."""
    status = 0
    for path in args.files:
        try:
            say(recover_file(path))
        except RecoverError as exc:
            say(f"error: {exc}.", sys.stderr)
            status = 1
    return status


def say(text: str, stream: TextIO | None = None) -> None:
    """Print one line; a file name's bytes the terminal cannot show become ``?``."""
    stream = stream or sys.stdout
    encoding = getattr(stream, "encoding", None) or "utf-8"
    print(text.encode(encoding, "replace").decode(encoding), file=stream)
