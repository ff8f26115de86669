"""In-process stand-ins for the OBD driver's surroundings: the bus, a logger and adapters."""
from __future__ import annotations

import math
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import trio

from carnel.drivers.obd.drive_file import Drive, parse_drive
from carnel.drivers.obd.simulated_adapter import SimulatedAdapterStream, SimulatedVehicle, VehicleAt
from carnel.drivers.obd.simulator import SimulatedElm327
from carnel.drivers.obd.vehicle import VehicleState
from carnel.ipc.schemas.device import DeviceStatus

DATA = Path(__file__).parent / "data"
SHORT_DRIVE = DATA / "short_drive.obd.jsonl"


@dataclass
class RecordingLog:
    """A logger that keeps (level, event, context) instead of printing."""

    lines: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)

    def __getattr__(self, level: str) -> Callable[..., None]:
        def record(event: str, **context: Any) -> None:
            self.lines.append((level, event, context))
        return record

    def events(self, name: str) -> list[dict[str, Any]]:
        return [context for _, event, context in self.lines if event == name]


@dataclass(frozen=True)
class Published:
    at: float
    subject: str
    msg: Any


class RecordingBus:
    """Keeps every publication with its Trio time; tests wait for one with `wait_for`."""

    def __init__(self) -> None:
        self.log = RecordingLog()
        self.published: list[Published] = []
        self._changed = trio.Event()

    async def publish(self, subject: str, msg: Any, *, retain: bool = False) -> None:
        assert retain, f"{subject} must be published retained"
        self.published.append(Published(trio.current_time(), subject, msg))
        self._changed.set()
        self._changed = trio.Event()

    def on(self, subject: str) -> list[Published]:
        return [p for p in self.published if p.subject == subject]

    def states(self) -> list[tuple[str, str]]:
        return [(p.msg.state, p.msg.reason) for p in self.on("obd.status")]

    async def wait_for(self, match: Callable[[Published], bool], after: int = 0) -> int:
        """The index of the first publication from `after` on that `match`es; waits for it."""
        while True:
            for index in range(after, len(self.published)):
                if match(self.published[index]):
                    return index
            await self._changed.wait()

    async def wait_for_state(self, state: str, after: int = 0) -> int:
        def is_state(p: Published) -> bool:
            return isinstance(p.msg, DeviceStatus) and p.msg.state == state
        return await self.wait_for(is_state, after)


def short_drive() -> Drive:
    drive = parse_drive(SHORT_DRIVE.read_bytes()).drive
    assert drive is not None
    return drive


@dataclass
class InMemoryAdapter:
    """The simulated adapter on a drive, with a vehicle of the test's making and a switch to
    make it stop answering (`mute`) or refuse to open (`unplugged`); it records the commands."""

    vehicle_at: VehicleAt = SimulatedVehicle().at
    drive: Drive = field(default_factory=short_drive)
    muted: bool = False
    unplugged: bool = False
    commands: list[tuple[float, bytes]] = field(default_factory=list)
    opened: int = 0
    name: str = "memory:obd"

    async def open(self, reject: Callable[[str, int], None]) -> trio.abc.Stream:
        await trio.lowlevel.checkpoint()
        if self.unplugged:
            raise FileNotFoundError(2, "No such file or directory")
        self.opened += 1
        return _Tap(SimulatedAdapterStream(self.drive, self.vehicle_at), self)


class _Tap(trio.abc.Stream):
    def __init__(self, inner: trio.abc.Stream, owner: InMemoryAdapter) -> None:
        self._inner = inner
        self._owner = owner

    async def send_all(self, data) -> None:
        for command in bytes(data).split(b"\r")[:-1]:
            self._owner.commands.append((trio.current_time(), command))
        if self._owner.muted:
            await trio.lowlevel.checkpoint()
            return
        await self._inner.send_all(data)

    async def wait_send_all_might_not_block(self) -> None:
        await self._inner.wait_send_all_might_not_block()

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        return await self._inner.receive_some(max_bytes)

    async def aclose(self) -> None:
        await self._inner.aclose()


async def answer_as_elm327(stream: trio.abc.Stream, elm: SimulatedElm327, chunk: int | None = None) -> None:
    """Play the adapter's end of `stream` until it ends; `chunk` splits each answer into writes
    of that many bytes, the way a slow UART hands them over."""
    async with stream:
        while True:
            try:
                data = await stream.receive_some(4096)
            except trio.BrokenResourceError:
                return
            if not data:
                return
            answer = elm.receive(data)
            size = chunk or len(answer) or 1
            for start in range(0, len(answer), size):
                await stream.send_all(answer[start:start + size])


@asynccontextmanager
async def elm327_on_pty(elm: SimulatedElm327, chunk: int | None = None) -> AsyncIterator[str]:
    """A pseudo-terminal whose far end is `elm`; yields the tty path a driver opens.

    Leaving the block closes both ends, as when a USB adapter is pulled out.
    """
    master, slave = os.openpty()
    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(answer_as_elm327, trio.lowlevel.FdStream(master), elm, chunk)
            yield os.ttyname(slave)
            nursery.cancel_scope.cancel()
    finally:
        os.close(slave)



Corruption = int | bytes | None


class CorruptingStream(trio.abc.Stream):
    """A simulated ELM327 whose answers are spoiled, one write after another, by `corruptions`:
    None leaves the answer alone, bytes replace it, and an int keeps that many bytes of it.
    Once they run out, it answers truly."""

    def __init__(self, elm: SimulatedElm327, corruptions: list[Corruption]) -> None:
        self._elm = elm
        self._corruptions = list(corruptions)
        self._send, self._receive = trio.open_memory_channel[bytes](math.inf)

    async def send_all(self, data) -> None:
        await trio.lowlevel.checkpoint()
        answer = self._elm.receive(bytes(data))
        corruption = self._corruptions.pop(0) if self._corruptions else None
        if isinstance(corruption, bytes):
            answer = corruption
        elif isinstance(corruption, int):
            answer = answer[:corruption]
        if answer:
            self._send.send_nowait(answer)

    async def wait_send_all_might_not_block(self) -> None:
        await trio.lowlevel.checkpoint()

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        return await self._receive.receive()

    async def aclose(self) -> None:
        await trio.lowlevel.checkpoint()


@dataclass
class CorruptingAdapter:
    corruptions: list[Corruption]
    vehicle: VehicleState = field(default_factory=VehicleState.typical)
    name: str = "corrupting:obd"

    async def open(self, reject: Callable[[str, int], None]) -> trio.abc.Stream:
        await trio.lowlevel.checkpoint()
        return CorruptingStream(SimulatedElm327(self.vehicle), self.corruptions)
