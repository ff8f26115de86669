"""The serial adapter: a receiver's tty opened raw at the configured rate, read with Trio.

Only the standard library: the port is set up with termios as cfmakeraw(3) does (8 data bits,
no parity, no flow control, no line editing), so that sentences arrive byte for byte.
"""
from __future__ import annotations

import os
import termios
from collections.abc import Callable

import trio

from carnel.drivers.gps.config import GpsConfig
from carnel.drivers.gps.reading import FixOutput, pump
from carnel.drivers.gps.receiver import NmeaReceiver
from carnel.ipc.device import DeviceLink, DeviceLost

_IFLAG, _OFLAG, _CFLAG, _LFLAG, _ISPEED, _OSPEED, _CC = range(7)


def open_serial(path: str, baud: int) -> int:
    """Open the tty at `path` in raw mode at `baud`; the non-blocking descriptor is the caller's.

    Raises OSError for a port that is missing, busy or not a tty.
    """
    fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        attrs = termios.tcgetattr(fd)
        attrs[_IFLAG] &= ~(termios.IGNBRK | termios.BRKINT | termios.PARMRK | termios.ISTRIP
                           | termios.INLCR | termios.IGNCR | termios.ICRNL | termios.IXON
                           | termios.IXOFF)
        attrs[_OFLAG] &= ~termios.OPOST
        attrs[_LFLAG] &= ~(termios.ECHO | termios.ECHONL | termios.ICANON | termios.ISIG
                           | termios.IEXTEN)
        attrs[_CFLAG] &= ~(termios.CSIZE | termios.PARENB | termios.CSTOPB | termios.CRTSCTS)
        attrs[_CFLAG] |= termios.CS8 | termios.CREAD | termios.CLOCAL
        attrs[_ISPEED] = attrs[_OSPEED] = getattr(termios, f"B{baud}")
        attrs[_CC][termios.VMIN] = 1
        attrs[_CC][termios.VTIME] = 0
        termios.tcsetattr(fd, termios.TCSANOW, attrs)
    except termios.error as exc:
        os.close(fd)
        # termios.error is not an OSError; the device link counts on one.
        raise OSError(exc.args[0], exc.args[1], path) from None
    except BaseException:
        os.close(fd)
        raise
    return fd


async def serial_session(link: DeviceLink, config: GpsConfig, output: FixOutput,
                         clock: Callable[[], float]) -> None:
    """Read NMEA from the serial port until it fails; for DeviceLink.run."""
    fd = open_serial(config.device, config.baud)
    async with trio.lowlevel.FdStream(fd) as stream:
        await link.connected()
        await pump(stream, NmeaReceiver(config.max_sentence_length), output, clock=clock,
                   quiet_s=config.quiet_s, silence_s=config.silence_s)
    raise DeviceLost("the port reached end of file")
