"""systemd's notification protocol, without a dependency: datagrams to $NOTIFY_SOCKET."""
from __future__ import annotations

import os
import socket


class Notifier:
    """Sends READY=1, STATUS=, WATCHDOG=1, STOPPING=1 when run under systemd; else does nothing."""

    def __init__(self, environ=os.environ) -> None:
        address = environ.get("NOTIFY_SOCKET", "")
        if address.startswith("@"):  # abstract namespace
            address = "\0" + address[1:]
        self.address = address or None
        usec = environ.get("WATCHDOG_USEC", "")
        pid = environ.get("WATCHDOG_PID", "")
        watchdog_for_us = usec.isdigit() and (not pid or pid == str(os.getpid()))
        # systemd's advice: ping at half the interval.
        self.watchdog_interval = int(usec) / 2e6 if watchdog_for_us else None
        self._sock = None
        if self.address:
            self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            # A reader that stopped reading must never stall the kernel.
            self._sock.setblocking(False)

    def notify(self, *lines: str) -> None:
        if self._sock is None:
            return
        try:
            self._sock.sendto("\n".join(lines).encode(), self.address)
        except OSError:
            pass  # systemd went away; there is nobody left to tell

    def ready(self, status: str) -> None:
        self.notify("READY=1", f"STATUS={status}")

    def status(self, status: str) -> None:
        self.notify(f"STATUS={status}")

    def watchdog(self) -> None:
        self.notify("WATCHDOG=1")

    def stopping(self, status: str) -> None:
        self.notify("STOPPING=1", f"STATUS={status}")
