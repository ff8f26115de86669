"""The byte streams an ELM327 can be reached through, and the one the config names.

Every adapter opens to a `trio.abc.Stream`; the session never knows which one it talks to.
Opening fails with OSError or DeviceLost, which the device link reports as `unavailable`.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import trio

from carnel.drivers.obd.config import ObdConfig
from carnel.drivers.obd.dtc import Dtc
from carnel.drivers.obd.serial_port import SerialAdapter
from carnel.drivers.obd.simulated_adapter import SimulatorAdapter
from carnel.ipc.device import DeviceLost
from carnel.ipc.settings import config_path

Reject = Callable[[str, int], None]


class Adapter(Protocol):
    """Opens a fresh connection to an adapter for each device session.

    `reject(reason, count)` counts input refused while opening (a simulated drive's bad lines).
    """

    @property
    def name(self) -> str: ...

    async def open(self, reject: Reject) -> trio.abc.Stream: ...


@dataclass(frozen=True, slots=True)
class TcpAdapter:
    """A WiFi ELM327: a TCP server, usually at 192.168.0.10 port 35000."""

    host: str
    port: int = 35000
    connect_timeout: float = 10.0

    @property
    def name(self) -> str:
        return f"tcp:{self.host}:{self.port}"

    async def open(self, reject: Reject) -> trio.abc.Stream:
        with trio.move_on_after(self.connect_timeout):
            try:
                return await trio.open_tcp_stream(self.host, self.port)
            except OSError as exc:
                raise _first_reason(exc) from exc
        raise DeviceLost(f"no connection to {self.host}:{self.port} within {self.connect_timeout} s")


def _first_reason(exc: OSError) -> OSError:
    """Trio says "all attempts to connect failed" and keeps why in its cause: the status shows why."""
    attempts = exc.__cause__
    if exc.errno is None and isinstance(attempts, ExceptionGroup):
        for attempt in attempts.exceptions:
            if isinstance(attempt, OSError) and attempt.errno is not None:
                return attempt
    return exc


def adapter_for(config: ObdConfig, log: Any) -> Adapter:
    """The adapter `config.source` names, with paths relative to the image."""
    if config.source == "serial":
        return SerialAdapter(config.device, config.baud)
    if config.source == "tcp":
        return TcpAdapter(config.host, config.port)
    return SimulatorAdapter(config_path(config.drive), log, vin=config.simulated_vin,
                            stored_dtcs=tuple(Dtc(code) for code in config.simulated_dtcs))
