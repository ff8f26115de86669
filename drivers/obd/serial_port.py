"""An ELM327 on a serial tty (USB, or Bluetooth through /dev/rfcommN), opened with termios alone."""
from __future__ import annotations

import os
import termios
from collections.abc import Callable
from dataclasses import dataclass

import trio

from carnel.drivers.obd.errors import UsageError

# The rates ELM327 adapters and their clones are set to (data sheet: 9600 or 38400 by default,
# up to 500000 with ATBRD; clones commonly 115200 and 230400), where this platform has them.
BAUD_RATES: dict[int, int] = {
    rate: getattr(termios, f"B{rate}")
    for rate in (9600, 19200, 38400, 57600, 115200, 230400, 460800, 500000, 921600)
    if hasattr(termios, f"B{rate}")
}

# termios.tcgetattr's list: iflag, oflag, cflag, lflag, ispeed, ospeed, cc
_IFLAG, _OFLAG, _CFLAG, _LFLAG, _ISPEED, _OSPEED, _CC = range(7)


def configure_raw(fd: int, baud: int) -> None:
    """8N1, no flow control, no echo and no translation of CR or LF, at `baud`.

    The adapter ends its lines with a bare CR and its prompt with `>` and no line end, so the
    tty must hand over every byte as it comes. CLOCAL: an adapter has no carrier line to wait for.
    """
    try:
        attributes = termios.tcgetattr(fd)
        attributes[_IFLAG] &= ~(termios.IGNBRK | termios.BRKINT | termios.PARMRK | termios.ISTRIP
                                | termios.INLCR | termios.IGNCR | termios.ICRNL | termios.IXON
                                | termios.IXOFF | termios.IXANY)
        attributes[_OFLAG] &= ~termios.OPOST
        attributes[_LFLAG] &= ~(termios.ECHO | termios.ECHONL | termios.ICANON | termios.ISIG
                                | termios.IEXTEN)
        attributes[_CFLAG] &= ~(termios.CSIZE | termios.PARENB | termios.CSTOPB | termios.CRTSCTS)
        attributes[_CFLAG] |= termios.CS8 | termios.CREAD | termios.CLOCAL
        attributes[_ISPEED] = attributes[_OSPEED] = BAUD_RATES[baud]
        attributes[_CC][termios.VMIN] = 1
        attributes[_CC][termios.VTIME] = 0
        termios.tcsetattr(fd, termios.TCSANOW, attributes)
        # Whatever a previous user left unread would look like an answer to the first command.
        termios.tcflush(fd, termios.TCIOFLUSH)
    except termios.error as exc:
        # termios.error is not an OSError; make it one, so that the device counts as unavailable.
        number, message = exc.args
        raise OSError(number, message) from None


def open_tty(path: str, baud: int) -> int:
    """A raw, non-blocking file descriptor for the tty at `path`."""
    fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        configure_raw(fd, baud)
    except BaseException:
        os.close(fd)
        raise
    return fd


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
        fd = await trio.to_thread.run_sync(open_tty, self.path, self.baud, abandon_on_cancel=True)
        return trio.lowlevel.FdStream(fd)
