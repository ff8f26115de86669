"""Serial ports for drivers: a tty opened raw at a baud rate, with the standard library only.

GPS receivers and ELM327 adapters both talk bytes over a tty; drivers may not import each other,
so the one way to set a port up lives here, beside the device link they both use. The port is
set up as cfmakeraw(3) does: 8 data bits, no parity, no flow control, no echo, no line editing
and no CR/LF translation, so that every byte arrives as sent (an ELM327 ends lines with a bare
CR and its prompt with `>`), and CLOCAL, since adapters have no carrier line to wait for.
"""
from __future__ import annotations

import os
import termios

# tcgetattr's list: iflag, oflag, cflag, lflag, ispeed, ospeed, cc
_IFLAG, _OFLAG, _CFLAG, _LFLAG, _ISPEED, _OSPEED, _CC = range(7)


def baud_constant(baud: int) -> int | None:
    """termios's constant for `baud`, or None where this platform has no such rate."""
    return getattr(termios, f"B{baud}", None)


def open_raw_tty(path: str, baud: int) -> int:
    """A raw, non-blocking descriptor for the tty at `path`, at `baud`, with nothing unread.

    Raises OSError for a port that is missing, busy or not a tty (termios's own error, which is
    not an OSError, is turned into one so that a device link counts it as a device failure).
    """
    speed = baud_constant(baud)
    if speed is None:
        raise ValueError(f"baud {baud} is not a rate this platform's serial ports take")
    fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        attrs = termios.tcgetattr(fd)
        attrs[_IFLAG] &= ~(termios.IGNBRK | termios.BRKINT | termios.PARMRK | termios.ISTRIP
                           | termios.INLCR | termios.IGNCR | termios.ICRNL | termios.IXON
                           | termios.IXOFF | termios.IXANY)
        attrs[_OFLAG] &= ~termios.OPOST
        attrs[_LFLAG] &= ~(termios.ECHO | termios.ECHONL | termios.ICANON | termios.ISIG
                           | termios.IEXTEN)
        attrs[_CFLAG] &= ~(termios.CSIZE | termios.PARENB | termios.CSTOPB | termios.CRTSCTS)
        attrs[_CFLAG] |= termios.CS8 | termios.CREAD | termios.CLOCAL
        attrs[_ISPEED] = attrs[_OSPEED] = speed
        attrs[_CC][termios.VMIN] = 1
        attrs[_CC][termios.VTIME] = 0
        termios.tcsetattr(fd, termios.TCSANOW, attrs)
        # Whatever an earlier user left unread would look like an answer to the first command.
        termios.tcflush(fd, termios.TCIOFLUSH)
    except termios.error as exc:
        os.close(fd)
        raise OSError(exc.args[0], exc.args[1], path) from None
    except BaseException:
        os.close(fd)
        raise
    return fd
