"""The dev image's three drivers replaying the simulated drive: they tell the same story.

CAN, OBD-II and GPS each report the car's speed from their own feed, through their own driver
process and the kernel. Taken as they arrive, the three must agree within what the feeds allow
(integer km/h on OBD, a once-a-second GPS fix, a few hundred milliseconds between the drivers'
starts), arrive at the rates the image configures, and the vehicle service must publish CAN's
value, the source the image ranks first.
"""
from __future__ import annotations

import bisect

import trio

from carnel.ipc.schemas.gps import GpsFix
from carnel.ipc.schemas.vehicle import Signal, SignalBatch

KMH_PER_MPS = 3.6
MOVING_KMH = 5.0  # the car pulls away about 9 s into the lap
WINDOW_S = 6.0  # of driving, once it moves
RATES_HZ = {"can": 20.0, "obd": 5.0, "gps": 1.0}  # drive.log's period, the image's poll, NMEA


class Speeds:
    """(arrival time, km/h) per source, as the test receives them."""

    def __init__(self) -> None:
        self.seen: dict[str, list[tuple[float, float]]] = {"can": [], "obd": [], "gps": []}
        self.vehicle: list[Signal] = []

    def add(self, source: str, kmh: float) -> None:
        self.seen[source].append((trio.current_time(), kmh))

    def can_at(self, when: float) -> float:
        times = [t for t, _ in self.seen["can"]]
        i = min(bisect.bisect_left(times, when), len(times) - 1)
        nearest = min((i - 1, i), key=lambda j: abs(times[j] - when))
        return self.seen["can"][nearest][1]


def speed_of(batch: SignalBatch) -> float | None:
    return next((float(s.value) for s in batch.signals if s.path == "Vehicle.Speed"), None)


async def test_can_obd_and_gps_agree_on_the_speed_at_their_rates(stack_factory):
    stack = await stack_factory("dev").boot()
    speeds = Speeds()
    async with stack.service("observer") as svc:
        async with trio.open_nursery() as nursery:
            async def follow(pattern: str, kind: type, source: str) -> None:
                async with svc.messages(pattern, kind) as stream:
                    async for msg in stream:
                        if isinstance(msg, GpsFix):
                            if msg.valid and msg.speed_mps is not None:
                                speeds.add(source, msg.speed_mps * KMH_PER_MPS)
                        elif source == "vehicle":
                            speeds.vehicle.append(msg)
                        elif (kmh := speed_of(msg)) is not None:
                            speeds.add(source, kmh)

            nursery.start_soon(follow, "can.signals.VEHICLE_DYNAMICS", SignalBatch, "can")
            nursery.start_soon(follow, "obd.signals.vehicle_speed", SignalBatch, "obd")
            nursery.start_soon(follow, "gps.fix", GpsFix, "gps")
            nursery.start_soon(follow, "vehicle.Speed", Signal, "vehicle")
            with trio.fail_after(40):
                while not any(kmh > MOVING_KMH for _, kmh in speeds.seen["can"]):
                    await trio.sleep(0.1)
                moving = trio.current_time()
                await trio.sleep_until(moving + WINDOW_S)
            nursery.cancel_scope.cancel()

    start, end = moving + 1.0, moving + WINDOW_S - 1.0  # clear of the edges of what was seen
    for source, rate in RATES_HZ.items():
        count = sum(1 for t, _ in speeds.seen[source] if start <= t < end)
        expected = rate * (end - start)
        assert 0.75 * expected <= count <= 1.25 * expected + 1, (source, count, expected)

    for source, tolerance in (("obd", 4.0), ("gps", 6.0)):
        compared = [(kmh, speeds.can_at(t)) for t, kmh in speeds.seen[source] if start <= t < end]
        assert compared, source
        for kmh, can_kmh in compared:
            assert abs(kmh - can_kmh) <= tolerance, (source, kmh, can_kmh)

    moving_values = [s for s in speeds.vehicle if float(s.value) > MOVING_KMH]
    assert moving_values and {s.source for s in moving_values} == {"can"}
    assert all(s.unit == "km/h" and not s.stale for s in moving_values)
