"""trip: integrates vehicle speed into distance travelled; `trip.reset` starts again."""
import time

from carnel.ipc import Service, run
from carnel.ipc.schemas.bus import Empty
from carnel.ipc.schemas.trip import Trip
from carnel.ipc.schemas.vehicle import Signal
from carnel.services.trip.model import TripMeter

svc = Service("trip")
meter = TripMeter()


@svc.subscribe("vehicle.Speed")
async def on_speed(speed: Signal) -> None:
    metres = meter.add(float(speed.value), speed.timestamp_ns)
    await svc.publish("trip.distance", Trip(metres=metres, since_ns=meter.since_ns), retain=True)


@svc.provide("trip.reset")
async def reset(_: Empty) -> Trip:
    meter.reset(time.time_ns())
    svc.log.info("trip_reset")
    trip = Trip(metres=0.0, since_ns=meter.since_ns)
    await svc.publish("trip.distance", trip, retain=True)
    return trip


if __name__ == "__main__":
    run(svc)
