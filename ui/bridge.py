"""Turns core callbacks (acquisition thread) into Qt signals (delivered on the GUI thread)."""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal

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
        # Problems raised before the window existed (at open, in the first second) are
        # re-emitted once the event loop runs, i.e. after the receivers are connected.
        session.add_problem_listener(self._on_problem)
        earlier = list(session.problems)
        QTimer.singleShot(0, lambda: [self._on_problem(p) for p in earlier])

    def _on_problem(self, problem: Problem) -> None:
        self.problem.emit(problem)
