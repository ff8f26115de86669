"""The gpsd adapter: a TCP connection to gpsd, asked to watch in JSON, read with Trio."""
from __future__ import annotations

from collections.abc import Callable

import trio

from carnel.drivers.gps.config import GpsConfig
from carnel.drivers.gps.gpsd import WATCH, GpsdReceiver
from carnel.drivers.gps.reading import FixOutput, pump
from carnel.ipc.device import DeviceLink, DeviceLost, describe_failure


async def gpsd_session(link: DeviceLink, config: GpsConfig, output: FixOutput,
                       clock: Callable[[], float]) -> None:
    """Read gpsd's reports until the connection fails; for DeviceLink.run."""
    stream = None
    with trio.move_on_after(config.connect_timeout_s):
        stream = await _connect(config.host, config.port)
    if stream is None:
        raise DeviceLost(f"no connection within {config.connect_timeout_s:g} s")
    async with stream:
        with trio.move_on_after(config.connect_timeout_s) as sending:
            try:
                await stream.send_all(WATCH)
            except trio.BrokenResourceError as exc:
                raise DeviceLost(describe_failure(exc.__cause__ or exc)) from exc
        if sending.cancelled_caught:
            raise DeviceLost(f"gpsd took no request within {config.connect_timeout_s:g} s")
        await link.connected()
        await pump(stream, GpsdReceiver(), output, clock=clock, quiet_s=config.quiet_s,
                   silence_s=config.silence_s)
    raise DeviceLost("gpsd closed the connection")


async def _connect(host: str, port: int) -> trio.SocketStream:
    try:
        return await trio.open_tcp_stream(host, port)
    except OSError as exc:
        # Trio reports "all attempts to connect ... failed" and keeps each attempt's error
        # behind it; the status says more with the error itself (ECONNREFUSED, EHOSTUNREACH).
        attempts = exc.__cause__
        if exc.errno is None and isinstance(attempts, ExceptionGroup) and attempts.exceptions:
            raise attempts.exceptions[-1] from exc
        raise
