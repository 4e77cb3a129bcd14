"""Keeping Lab Streaming Layer on the hosts the user names.

Without a configuration liblsl announces and discovers streams by multicast beyond the
machine, and an EMG stream is patient data. liblsl reads its configuration from the file
named by the environment variable ``LSLAPICFG`` when the library is first used, so the
monitor writes that file and sets the variable *before* the first ``pylsl`` call
(``PLATFORM.md``, "Lab Streaming Layer").

Thread safety: :func:`restrict_to_hosts` is called once, at start-up, before any stream
is made or resolved.
"""

from __future__ import annotations

import ipaddress
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

#: This machine only: the default, and what the tests use.
LOOPBACK = ("127.0.0.1",)


def config_text(hosts: Sequence[str]) -> str:
    """A liblsl configuration that resolves and announces only among ``hosts`` (IPv4)."""
    checked = [str(ipaddress.IPv4Address(h.strip())) for h in hosts]
    if not checked:
        raise ValueError("Name at least one host for Lab Streaming Layer (e.g. 127.0.0.1).")
    scope = "machine" if checked == list(LOOPBACK) else "site"
    peers = ", ".join(checked)
    return (
        "[ports]\n"
        "IPv6 = disable\n"
        "[multicast]\n"
        f"ResolveScope = {scope}\n"
        f"AddressesOverride = {{{peers}}}\n"
        "[lab]\n"
        f"KnownPeers = {{{peers}}}\n"
    )


def restrict_to_hosts(hosts: Sequence[str] = LOOPBACK, folder: Path | None = None) -> Path:
    """Write the configuration and point ``LSLAPICFG`` at it; the file's path.

    ``ValueError`` with a sentence when a host is not an IPv4 address. Call before the
    first use of ``pylsl`` in the process: liblsl reads the file once.
    """
    text = config_text(hosts)
    where = folder or Path(tempfile.mkdtemp(prefix="facial-nerve-monitor-lsl-"))
    where.mkdir(parents=True, exist_ok=True)
    path = where / "lsl_api.cfg"
    path.write_text(text, encoding="ascii")
    os.environ["LSLAPICFG"] = str(path)
    return path
