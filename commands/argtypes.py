"""Argument types, and the parser class, shared by the command lines of main.py and its
sub-commands."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from typing import NoReturn

from monitor.casesetup import CaseSetupError, check_case_id, check_case_id_is_not_identifying


class CommandParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose refusal is one line on stderr (exit status 2): what is
    wrong and where the help is, not the whole usage."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def number_in(lo: float, hi: float, what: str) -> Callable[[str], float]:
    """An argparse type: a number from ``lo`` to ``hi``, refused in words otherwise."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{what} must be a number, not {text!r}") from None
        if not (math.isfinite(value) and lo <= value <= hi):
            raise argparse.ArgumentTypeError(f"{what} must be between {lo:g} and {hi:g}")
        return value

    return parse


def case_id_arg(text: str) -> str:
    """An argparse type: a case id for file names and the recording's header.

    Blank is no case id (``""``). Spaces become ``-`` (``case 7`` is ``case-7``, as in the
    file name); then the case setup's own checks apply: no date that could be a birth date
    and no ``Last, First`` name (:func:`~monitor.casesetup.check_case_id_is_not_identifying`),
    letters, digits, ``-`` and ``_``, at most 20. The refusal never repeats the text.
    """
    text = text.strip()
    if not text:
        return ""
    try:
        check_case_id_is_not_identifying(text)
        return check_case_id("-".join(text.split()))
    except CaseSetupError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
