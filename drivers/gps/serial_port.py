"""The serial adapter: a receiver's tty opened raw at the configured rate, read with Trio."""
from __future__ import annotations

from collections.abc import Callable

import trio

from carnel.drivers.gps.config import GpsConfig
from carnel.drivers.gps.reading import FixOutput, pump
from carnel.drivers.gps.receiver import NmeaReceiver
from carnel.ipc.device import DeviceLink, DeviceLost
from carnel.ipc.tty import open_raw_tty

async def serial_session(link: DeviceLink, config: GpsConfig, output: FixOutput,
                         clock: Callable[[], float]) -> None:
    """Read NMEA from the serial port until it fails; for DeviceLink.run."""
    fd = open_raw_tty(config.device, config.baud)
    async with trio.lowlevel.FdStream(fd) as stream:
        await link.connected()
        await pump(stream, NmeaReceiver(config.max_sentence_length), output, clock=clock,
                   quiet_s=config.quiet_s, silence_s=config.silence_s)
    raise DeviceLost("the port reached end of file")
