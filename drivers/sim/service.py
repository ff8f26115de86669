"""vehiclesim: publishes Vehicle.Speed from the simulated lap at 10 Hz, retained, lap after lap."""
from __future__ import annotations

import time

import trio

from carnel.drivers.sim.drive import SAMPLE_HZ, simulate
from carnel.drivers.sim.route import bundled_route
from carnel.ipc import Service
from carnel.ipc.schemas.vehicle import Signal

svc = Service("vehiclesim")
lap = simulate(bundled_route())


@svc.task
async def drive() -> None:
    start = trio.current_time()
    while True:
        now = trio.current_time()
        sample = lap.at((now - start) % lap.duration_s)
        speed = Signal(path="Vehicle.Speed", value=round(sample.speed_mps * 3.6, 2), unit="km/h",
                       timestamp_ns=time.time_ns())
        await svc.publish("vehicle.speed", speed, retain=True)
        await trio.sleep_until(now + 1 / SAMPLE_HZ)
