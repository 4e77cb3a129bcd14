"""Turns core callbacks (acquisition thread) into Qt signals (delivered on the GUI thread)."""

from __future__ import annotations

import threading

from PySide6.QtCore import QObject, QTimer, Signal

from monitor.problems import Problem
from monitor.session import Session


class SessionBridge(QObject):
    """Re-emits a session's problems as a Qt signal.

    Thread safety: the session calls ``_on_problem`` on its acquisition thread; Qt queues
    the emission to the receivers' (GUI) thread because this object lives there.
    :meth:`detach` (GUI thread, before the bridge goes) waits for an emission in flight
    and stops all later ones: a session outlives its window on a source switch, and an
    emission into a destroyed QObject aborts the process.
    """

    problem = Signal(object)  # monitor.problems.Problem

    def __init__(self, session: Session, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self._emitting = threading.Lock()
        self._detached = False
        # Problems raised before the window existed (at open, in the first second) are
        # re-emitted once the event loop runs, i.e. after the receivers are connected;
        # the timer is bound to this object, so it never fires after it is gone.
        session.add_problem_listener(self._on_problem)
        earlier = list(session.problems)
        QTimer.singleShot(0, self, lambda: [self._on_problem(p) for p in earlier])

    def _on_problem(self, problem: Problem) -> None:
        with self._emitting:
            if not self._detached:
                self.problem.emit(problem)

    def detach(self) -> None:
        """No more emissions: the window closes. Idempotent; GUI thread."""
        self.session.remove_problem_listener(self._on_problem)
        with self._emitting:
            self._detached = True
