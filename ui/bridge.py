"""Turns core callbacks (acquisition thread) into Qt signals (delivered on the GUI thread)."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from monitor.problems import Problem
from monitor.session import Session


class SessionBridge(QObject):
    """Re-emits a session's problems as a Qt signal.

    Thread safety: the session calls ``_on_problem`` on its acquisition thread; Qt queues
    the emission to the receivers' (GUI) thread because this object lives there.
    """

    problem = Signal(object)  # monitor.problems.Problem

    def __init__(self, session: Session, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        session.add_problem_listener(self._on_problem)
        for p in list(session.problems):  # raised before the window existed (e.g. at open)
            self._on_problem(p)

    def _on_problem(self, problem: Problem) -> None:
        self.problem.emit(problem)
