"""An ELM327 on a serial tty (USB, or Bluetooth through /dev/rfcommN), opened raw (ipc.tty)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import trio

from carnel.drivers.obd.errors import UsageError
from carnel.ipc.tty import baud_constant, open_raw_tty

# The rates ELM327 adapters and their clones are set to (data sheet: 9600 or 38400 by default,
# up to 500000 with ATBRD; clones commonly 115200 and 230400), where this platform has them.
BAUD_RATES: tuple[int, ...] = tuple(
    rate for rate in (9600, 19200, 38400, 57600, 115200, 230400, 460800, 500000, 921600)
    if baud_constant(rate) is not None)


@dataclass(frozen=True, slots=True)
class SerialAdapter:
    """An ELM327 at `path` (e.g. /dev/ttyUSB0, /dev/rfcomm0), talking at `baud`."""

    path: str
    baud: int = 38400

    def __post_init__(self) -> None:
        if self.baud not in BAUD_RATES:
            raise UsageError("bad_baud", f"{self.baud} is not one of {sorted(BAUD_RATES)}")

    @property
    def name(self) -> str:
        return f"serial:{self.path}"

    async def open(self, reject: Callable[[str, int], None]) -> trio.abc.Stream:
        # Opening a Bluetooth rfcomm tty may wait for the radio link: keep it off the event loop,
        # which must go on answering heartbeats, and let a shutdown leave such a wait behind.
        fd = await trio.to_thread.run_sync(open_raw_tty, self.path, self.baud,
                                           abandon_on_cancel=True)
        return trio.lowlevel.FdStream(fd)
