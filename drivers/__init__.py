"""Sources: the in-process simulator, file replay, and (later) the serial amplifier link.

Drivers import only the core's contracts (``monitor.block``, ``monitor.source``); the
core never imports a driver.
"""
