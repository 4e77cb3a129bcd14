"""What the monitor says and shows, without Qt: the words of events, alarms and LSR calls,
the colours and sizes of the screen.

The screen (:mod:`ui`), the headless status lines and the commands (reports, scenario
scores) all speak through it, so a finding reads the same everywhere.
"""
