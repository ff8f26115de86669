"""The simulated ELM327 behind a byte stream, answering from a recorded drive in a loop.

The dev image and the tests run the same session and driver code against it as against a real
adapter: only the bytes come from SimulatedElm327 instead of a tty or a socket.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import trio

from carnel.drivers.obd.drive_file import Drive, parse_drive
from carnel.drivers.obd.dtc import Dtc
from carnel.drivers.obd.simulator import AdapterConfig, SimulatedElm327
from carnel.drivers.obd.vehicle import SAMPLE_VIN, SimulatedEcu, VehicleState
from carnel.ipc.device import DeviceLost


@dataclass(frozen=True, slots=True)
class SimulatedVehicle:
    """What the simulated engine ECU reports besides the drive's values."""

    vin: str = SAMPLE_VIN
    stored_dtcs: tuple[Dtc, ...] = ()

    def at(self, values: Mapping[int, float]) -> VehicleState:
        return VehicleState((SimulatedEcu(values=values, vin=self.vin, stored_dtcs=self.stored_dtcs),))


VehicleAt = Callable[[Mapping[int, float]], VehicleState]


class SimulatedAdapterStream(trio.abc.Stream):
    """A stream whose far end is a SimulatedElm327; each command sees the drive's current sample.

    `vehicle_at` makes the vehicle from a sample's values. The drive's clock starts when the
    stream is made, on Trio's clock, so a MockClock drives it.
    """

    def __init__(self, drive: Drive, vehicle_at: VehicleAt = SimulatedVehicle().at,
                 config: AdapterConfig | None = None) -> None:
        self._drive = drive
        self._vehicle_at = vehicle_at
        self._elm = SimulatedElm327(vehicle_at(drive.values_at(0.0)), config or AdapterConfig())
        self._started = trio.current_time()
        self._output = bytearray()
        self._readable = trio.Event()
        self._closed = False

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        self._check_open()
        await trio.lowlevel.checkpoint()
        elapsed = trio.current_time() - self._started
        self._elm.vehicle = self._vehicle_at(self._drive.values_at(elapsed))
        self._output += self._elm.receive(bytes(data))
        if self._output:
            self._readable.set()

    async def wait_send_all_might_not_block(self) -> None:
        self._check_open()
        await trio.lowlevel.checkpoint()

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        while not self._output:
            self._check_open()
            await self._readable.wait()
        self._check_open()
        size = len(self._output) if max_bytes is None else max_bytes
        chunk = bytes(self._output[:size])
        del self._output[:size]
        if not self._output:
            self._readable = trio.Event()
        await trio.lowlevel.checkpoint()
        return chunk

    async def aclose(self) -> None:
        self._closed = True
        self._readable.set()
        await trio.lowlevel.checkpoint()

    def _check_open(self) -> None:
        if self._closed:
            raise trio.ClosedResourceError("the simulated adapter was closed")


@dataclass(frozen=True, slots=True)
class SimulatorAdapter:
    """Replays the drive file at `path`, read again at each connection so a new render is picked up."""

    path: Path
    log: Any
    vin: str = SAMPLE_VIN
    stored_dtcs: tuple[Dtc, ...] = ()

    @property
    def name(self) -> str:
        return f"simulator:{self.path}"

    async def open(self, reject: Callable[[str, int], None]) -> trio.abc.Stream:
        # A local file of a few hundred kilobytes, parsed at once anyway: a thread would gain
        # nothing, and would let a MockClock run ahead while it reads.
        load = parse_drive(self.path.read_bytes())
        await trio.lowlevel.checkpoint()
        if load.errors:
            reasons = Counter(error.reason for error in load.errors)
            for reason, count in reasons.items():
                reject(reason, count)
            # One line for the whole file, however many lines it refused.
            self.log.warning("drive_lines_refused", path=str(self.path), reasons=dict(reasons),
                             first=str(load.errors[0]))
        if load.drive is None:
            raise DeviceLost(f"{self.path}: no usable sample")
        return SimulatedAdapterStream(load.drive, SimulatedVehicle(self.vin, self.stored_dtcs).at)
