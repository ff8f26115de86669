"""The broker on a bus: drivers' batches, fixes and status in; retained signals and answers out.

Runs on carnel.ipc.testing's FakeBus and trio's MockClock, so ages and intervals pass in
virtual time and every wait has a deadline.
"""
from __future__ import annotations

import time
from collections.abc import Callable

import msgspec
import pytest
import structlog
import trio
import trio.testing

from carnel.ipc import Service
from carnel.ipc.client import Delivery
from carnel.ipc.schemas.device import DeviceStatus
from carnel.ipc.schemas.gps import GpsFix
from carnel.ipc.schemas.vehicle import Signal, SignalBatch, SignalQuery, SignalValues
from carnel.services.vehicle import VehicleConfig
from carnel.services.vehicle.service import REJECTS_LOGGED_EVERY_S, VehicleBroker

SPEED = "Vehicle.Speed"
RPM = "Vehicle.Powertrain.CombustionEngine.Speed"
LATITUDE = "Vehicle.CurrentLocation.Latitude"
CONFIG = {
    "signals": {SPEED: {"sources": ["can", "obd", "gps"], "type": "number", "unit": "km/h",
                        "max_age_s": 1.0}},
    "poll_interval_s": 0.05,
}


def broker(**overrides: object) -> VehicleBroker:
    return VehicleBroker(msgspec.convert({**CONFIG, **overrides}, VehicleConfig))


def batch(*signals: tuple[str, object, str]) -> SignalBatch:
    return SignalBatch(signals=[Signal(path=path, value=value, unit=unit, source="can")
                                for path, value, unit in signals])


class Watcher:
    """A subscriber to `vehicle.>` that remembers when each signal arrived, on which subject."""

    def __init__(self) -> None:
        self.service = Service("hmi")
        self.seen: list[tuple[float, str, Signal]] = []
        self._arrived = trio.Event()

        @self.service.subscribe("vehicle.>")
        async def on_signal(signal: Signal, delivery: Delivery) -> None:
            self.seen.append((trio.current_time(), delivery.header.subject, signal))
            self._arrived.set()
            self._arrived = trio.Event()

    async def wait_for(self, wanted: Callable[[Signal], bool], timeout: float = 10) -> float:
        """When the first signal matching `wanted` arrived."""
        with trio.fail_after(timeout):
            while True:
                for at, _, signal in self.seen:
                    if wanted(signal):
                        return at
                await self._arrived.wait()


@pytest.fixture
async def drivers(fake_bus, nursery) -> dict[str, Service]:
    """Stand-ins for the `can`, `obd` and `gps` drivers, joined to the bus."""
    return {name: await fake_bus.serve(nursery, Service(name)) for name in ("can", "obd", "gps")}


async def serve(fake_bus, nursery, vehicle: VehicleBroker) -> Watcher:
    """Serve the broker and a watcher of its output."""
    await fake_bus.serve(nursery, vehicle.service)
    watcher = Watcher()
    await fake_bus.serve(nursery, watcher.service)
    return watcher


async def test_signals_are_retained_on_their_vss_subjects_under_the_senders_name(
        fake_bus, nursery, drivers, autojump_clock):
    await fake_bus.serve(nursery, broker().service)
    await drivers["can"].publish("can.signals.EngineData", SignalBatch(signals=[
        Signal(path=SPEED, value=88.5, unit="km/h", source="spoofed"),
        Signal(path=RPM, value=2100, unit="rpm", source="spoofed"),
    ]), retain=True)
    watcher = Watcher()  # joins afterwards: the retained values reach it at once
    await fake_bus.serve(nursery, watcher.service)
    await watcher.wait_for(lambda s: s.path == RPM)
    assert [(subject, s.value, s.source) for _, subject, s in watcher.seen] == [
        ("vehicle.Speed", 88.5, "can"),
        ("vehicle.Powertrain.CombustionEngine.Speed", 2100, "can"),
    ]


async def test_kept_value_older_than_its_max_age_is_stale_from_the_start(
        fake_bus, nursery, drivers, autojump_clock):
    long_ago = time.time_ns() - 10 * 10**9
    await fake_bus.publish("can.signals.Speed", batch((SPEED, 50.0, "km/h")), retain=True,
                           source="can", timestamp_ns=long_ago)
    await fake_bus.publish("can.signals.Engine", batch((RPM, 2100, "rpm")), retain=True,
                           source="can")
    watcher = await serve(fake_bus, nursery, broker())
    await trio.testing.wait_all_tasks_blocked()
    assert {s.path: (s.value, s.stale) for _, _, s in watcher.seen} == {
        SPEED: (50.0, True), RPM: (2100, False)}


async def test_gps_fix_gives_speed_in_kmh_and_location_and_losing_the_fix_makes_them_stale(
        fake_bus, nursery, drivers, autojump_clock):
    watcher = await serve(fake_bus, nursery, broker())
    gps = drivers["gps"]
    await gps.publish("gps.fix", GpsFix(valid=True, latitude=48.1, longitude=11.5, altitude_m=520.0,
                                        speed_mps=10.0, course_deg=90.0), retain=True)
    await trio.testing.wait_all_tasks_blocked()
    assert {s.path: (s.value, s.unit, s.stale) for _, _, s in watcher.seen} == {
        SPEED: (36.0, "km/h", False),
        LATITUDE: (48.1, "degrees", False),
        "Vehicle.CurrentLocation.Longitude": (11.5, "degrees", False),
        "Vehicle.CurrentLocation.Altitude": (520.0, "m", False),
        "Vehicle.CurrentLocation.Heading": (90.0, "degrees", False),
    }
    await gps.publish("gps.fix", GpsFix(valid=False, latitude=48.2, longitude=11.6), retain=True)
    await trio.testing.wait_all_tasks_blocked()
    latest = [(s.value, s.stale) for _, _, s in watcher.seen[5:]]
    assert latest == [(36.0, True), (48.1, True), (11.5, True), (520.0, True), (90.0, True)]


async def test_next_source_takes_over_at_once_when_the_winners_device_is_unavailable(
        fake_bus, nursery, drivers, autojump_clock):
    watcher = await serve(fake_bus, nursery, broker())
    await drivers["can"].publish("can.signals.Speed", batch((SPEED, 50.0, "km/h")))
    await watcher.wait_for(lambda s: s.source == "can")
    await drivers["obd"].publish("obd.signals.SPEED", batch((SPEED, 49.0, "km/h")))
    await trio.testing.wait_all_tasks_blocked()  # the broker has it, and publishes nothing
    started = trio.current_time()
    await drivers["can"].publish("can.status", DeviceStatus(
        state="unavailable", device="socketcan:can0", reason="ENODEV"), retain=True)
    took_over = await watcher.wait_for(lambda s: s.source == "obd")
    assert took_over == started  # not at the next poll, let alone after the signal's max age
    assert [(s.value, s.source, s.stale) for _, _, s in watcher.seen] == [
        (50.0, "can", False), (49.0, "obd", False)]


async def test_signal_is_published_stale_once_when_its_source_stops(
        fake_bus, nursery, drivers, autojump_clock):
    watcher = await serve(fake_bus, nursery, broker())
    await drivers["can"].publish("can.signals.Speed", batch((SPEED, 50.0, "km/h")))
    reported = await watcher.wait_for(lambda s: s.path == SPEED)
    went_stale = await watcher.wait_for(lambda s: s.stale)
    assert 1.0 < went_stale - reported <= 1.0 + CONFIG["poll_interval_s"] + 1e-6
    await trio.sleep(5)
    assert [s.stale for _, _, s in watcher.seen] == [False, True]


async def test_change_held_back_by_the_rate_limit_goes_out_when_the_interval_ends(
        fake_bus, nursery, drivers, autojump_clock):
    vehicle = broker(defaults={"min_interval_s": 0.2})
    watcher = await serve(fake_bus, nursery, vehicle)
    for rpm in (800, 1200, 1500):
        await drivers["can"].publish("can.signals.Engine", batch((RPM, rpm, "rpm")))
    last = await watcher.wait_for(lambda s: s.value == 1500)
    first = watcher.seen[0][0]
    assert [s.value for _, _, s in watcher.seen] == [800, 1500]
    assert 0.2 <= last - first <= 0.2 + CONFIG["poll_interval_s"] + 1e-6


async def test_vehicle_get_answers_one_many_or_every_path(
        fake_bus, nursery, drivers, autojump_clock):
    watcher = await serve(fake_bus, nursery, broker())
    await drivers["can"].publish("can.signals.Engine", batch((SPEED, 50.0, "km/h"),
                                                              (RPM, 2100, "rpm")))
    await watcher.wait_for(lambda s: s.path == RPM)
    hmi = watcher.service
    one = await hmi.call("vehicle.get", SignalQuery(paths=[SPEED]), SignalValues, timeout=1)
    assert [(s.path, s.value, s.source) for s in one.signals] == [(SPEED, 50.0, "can")]
    some = await hmi.call("vehicle.get", SignalQuery(paths=[RPM, "Vehicle.Nothing"]),
                          SignalValues, timeout=1)
    assert ([s.value for s in some.signals], some.unknown) == ([2100], ["Vehicle.Nothing"])
    every = await hmi.call("vehicle.get", SignalQuery(), SignalValues, timeout=1)
    assert sorted(s.path for s in every.signals) == sorted([SPEED, RPM])


async def test_bad_signal_is_refused_and_the_rest_of_its_batch_still_goes_out(
        fake_bus, nursery, drivers, autojump_clock):
    vehicle = broker()
    watcher = await serve(fake_bus, nursery, vehicle)
    await drivers["can"].publish("can.signals.Engine", batch(
        (SPEED, "fast", "km/h"), ("Vehicle..Bad", 1, ""), (RPM, 2100, "rpm")))
    await watcher.wait_for(lambda s: s.path == RPM)
    assert [s.path for _, _, s in watcher.seen] == [RPM]
    assert vehicle.table.rejects == {"wrong_type": 1, "bad_path": 1}


async def test_refusals_are_logged_in_one_line_per_interval(
        fake_bus, nursery, drivers, autojump_clock):
    vehicle = broker()
    await serve(fake_bus, nursery, vehicle)
    can = drivers["can"]
    with structlog.testing.capture_logs() as logs:
        await can.publish("can.signals.Speed", batch(*[(SPEED, "fast", "km/h")] * 100))
        await trio.sleep(REJECTS_LOGGED_EVERY_S / 2)
        await can.publish("can.signals.Speed", batch((SPEED, 31.0, "mph")))
        await trio.sleep(REJECTS_LOGGED_EVERY_S)
    lines = [line for line in logs if line["event"] == "signals_rejected"]
    assert [(line["since_last"], line["reason"], line["source"]) for line in lines] == [
        (100, "wrong_type", "can"), (1, "wrong_unit", "can")]
    assert lines[-1]["rejects"] == {"wrong_type": 100, "wrong_unit": 1}
