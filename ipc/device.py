"""Keeping a driver's device connected: its state on the bus and capped backoff between attempts.

A device that disappears (a serial adapter unplugged, a CAN interface down, gpsd gone) is a
state, not a crash: the driver stays up, publishes `unavailable` with the reason on the retained
`<driver>.status`, and tries again later. A crash loop would instead exhaust the supervisor's
restart intensity and stop the whole image over a loose cable.
"""
from __future__ import annotations

import errno
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NoReturn

import trio

from carnel.ipc.schemas.device import DeviceState, DeviceStatus

if TYPE_CHECKING:
    from carnel.ipc.service import Service


class DeviceLost(Exception):
    """Raised by an adapter when its device is gone (end of file, hang-up, interface down)."""


@dataclass(slots=True)
class Backoff:
    """Delays between connection attempts: doubling from `initial` up to `maximum`."""

    initial: float = 0.5
    maximum: float = 30.0
    factor: float = 2.0
    _next: float = field(init=False, default=0.0)

    def __post_init__(self) -> None:
        self._next = self.initial

    def next_delay(self) -> float:
        delay = self._next
        self._next = min(self.maximum, self._next * self.factor)
        return delay

    def reset(self) -> None:
        self._next = self.initial


def describe_failure(exc: BaseException) -> str:
    """A short reason for a status line: "ENOENT: No such file or directory", "gpsd closed"."""
    if isinstance(exc, OSError) and exc.errno is not None:
        name = errno.errorcode.get(exc.errno, str(exc.errno))
        return f"{name}: {exc.strerror or exc}"
    return str(exc) or type(exc).__name__


Session = Callable[["DeviceLink"], Awaitable[None]]


class DeviceLink:
    """Runs a driver's device session again and again, publishing `<driver>.status`.

    The session opens the device, calls `await link.connected()`, and reads until the device
    fails (OSError or DeviceLost) or ends (returns). Backoff starts again from `initial` only
    after a session stayed up `healthy_after` seconds, so a device that accepts and at once drops
    every connection still backs off. Input refused by the driver's parser is counted with
    `reject(reason)` and reported in the status.
    """

    def __init__(self, svc: Service, driver: str, device: str, *, backoff: Backoff | None = None,
                 healthy_after: float = 5.0) -> None:
        self.svc = svc
        self.subject = f"{driver}.status"
        self.device = device
        self.backoff = backoff or Backoff()
        self.healthy_after = healthy_after
        self.rejects: dict[str, int] = {}
        self.state: DeviceState = "connecting"
        self.reason = ""
        self.retry_in_s = 0.0
        self.failures = 0

    def reject(self, reason: str, count: int = 1) -> None:
        self.rejects[reason] = self.rejects.get(reason, 0) + count

    async def connected(self) -> None:
        await self._publish("connected")
        self.svc.log.info("device_connected", device=self.device)

    async def report(self) -> None:
        """Publish the current state again, e.g. to show new reject counts."""
        await self._publish(self.state, reason=self.reason, retry_in_s=self.retry_in_s)

    async def run(self, session: Session) -> NoReturn:
        while True:
            await self._publish("connecting")
            started = trio.current_time()
            try:
                await session(self)
            except (OSError, DeviceLost) as exc:
                reason = describe_failure(exc)
            else:
                reason = "the device ended the connection"
            self.failures += 1
            if trio.current_time() - started >= self.healthy_after:
                self.backoff.reset()
            delay = self.backoff.next_delay()
            self.svc.log.warning("device_unavailable", device=self.device, reason=reason,
                                 retry_in_s=delay, failures=self.failures)
            await self._publish("unavailable", reason=reason, retry_in_s=delay)
            await trio.sleep(delay)

    async def _publish(self, state: DeviceState, *, reason: str = "",
                       retry_in_s: float = 0.0) -> None:
        self.state, self.reason, self.retry_in_s = state, reason, retry_in_s
        status = DeviceStatus(state=state, device=self.device, reason=reason,
                              since_ns=time.time_ns(), retry_in_s=retry_in_s,
                              rejects=dict(self.rejects))
        await self.svc.publish(self.subject, status, retain=True)
