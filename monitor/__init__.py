"""Facial Nerve Monitor core: stream contracts, ring buffers, filters and the session.

Nothing in this package imports Qt, pyqtgraph or any driver: it runs headless in tests,
in offline analysis and under the GUI alike.
"""
