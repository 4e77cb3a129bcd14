"""``main.py recover FILE ...``: repair recordings left by a crash (or by older writers).

Sets each file's number of data records to the complete records present and cuts off an
incomplete last record, so that every EDF/BDF reader opens it; prints what it did.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from monitor.edfwriter import EdfWriteError
from monitor.edfwriter import recover as recover_file


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="main.py recover",
        description="Repair EDF/BDF recordings cut short by a crash or power loss: fix the "
        "number of data records in the header and remove an incomplete last record.",
    )
    p.add_argument("files", nargs="+", type=Path, metavar="FILE", help="recording(s) to repair")
    return p


def recover(argv: list[str]) -> int:
    """Run the command; returns the exit status (0 when every file could be handled)."""
    args = build_parser().parse_args(argv)
    status = 0
    for path in args.files:
        try:
            print(recover_file(path))
        except FileNotFoundError:
            print(f"error: {path} does not exist.", file=sys.stderr)
            status = 1
        except OSError as exc:
            print(f"error: cannot repair {path}: {exc.strerror or exc}.", file=sys.stderr)
            status = 1
        except EdfWriteError as exc:
            print(f"error: cannot repair {path}: {exc}.", file=sys.stderr)
            status = 1
    return status
