"""vehiclesim: publishes Vehicle.Speed from the simulated drive at 10 Hz, retained."""
from __future__ import annotations

import time

import trio

from carnel.drivers.sim.drive import speed_kmh
from carnel.ipc import Service
from carnel.ipc.schemas.vehicle import Signal

RATE_HZ = 10

svc = Service("vehiclesim")


@svc.task
async def drive() -> None:
    start = trio.current_time()
    while True:
        now = trio.current_time()
        speed = Signal(path="Vehicle.Speed", value=round(speed_kmh(now - start), 2), unit="km/h",
                       timestamp_ns=time.time_ns())
        await svc.publish("vehicle.speed", speed, retain=True)
        await trio.sleep_until(now + 1 / RATE_HZ)
