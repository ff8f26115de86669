"""The read loop every source shares: input to its receiver, fix events and refusals onwards.

Reads wait at most `quiet_s`: a pause in the input closes the receiver's open epoch, so a fix
is not held back until the next epoch starts, and a source silent for `silence_s` is lost.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import trio

from carnel.drivers.gps.fix import FixEvent
from carnel.drivers.gps.protocol import Rejected
from carnel.drivers.gps.receiver import Receiver
from carnel.ipc.device import DeviceLost, describe_failure

READ_SIZE = 4096


class FixOutput(Protocol):
    """Where a source's results go: the bus in the driver, a list in tests."""

    async def fixes(self, events: list[FixEvent]) -> None:
        """Fix events, in the order the receiver reported them."""

    async def rejected(self, rejected: list[Rejected]) -> None:
        """Input the receiver refused: counted and logged, never fatal."""

    async def ended(self) -> None:
        """The source has nothing more to say (a replay that is over)."""


async def pump(stream: trio.abc.ReceiveStream, receiver: Receiver, output: FixOutput, *,
               clock: Callable[[], float], quiet_s: float, silence_s: float | None) -> None:
    """Feed `stream` to `receiver` until the stream ends.

    `clock` gives the time each chunk arrived (Unix seconds for the bus). Raises DeviceLost
    when the stream breaks, or when `silence_s` (unless None) passes without input.
    """
    last_input = trio.current_time()
    while True:
        with trio.move_on_after(quiet_s) as waited:
            try:
                data = await stream.receive_some(READ_SIZE)
            except trio.BrokenResourceError as exc:
                raise DeviceLost(describe_failure(exc.__cause__ or exc)) from exc
        if waited.cancelled_caught:
            await _report(output, receiver.end_epoch())
            if silence_s is not None and trio.current_time() - last_input >= silence_s:
                raise DeviceLost(f"no data for {silence_s:g} s")
            continue
        if not data:
            await _report(output, receiver.end_epoch())
            return
        last_input = trio.current_time()
        received = receiver.feed(data, clock())
        if received.rejected:
            await output.rejected(received.rejected)
        await _report(output, received.fixes)


async def _report(output: FixOutput, events: list[FixEvent]) -> None:
    if events:
        await output.fixes(events)
