"""The driver's wiring on a fake bus and the in-memory simulated adapter, on Trio's MockClock."""
from __future__ import annotations

from collections import Counter

import pytest
import trio
from hypothesis import given
from hypothesis import strategies as st
from obd_fakes import CorruptingAdapter, InMemoryAdapter, Published, RecordingBus
from trio.testing import MockClock

from carnel.drivers.obd import Dtc, SimulatedEcu, VehicleState
from carnel.drivers.obd.config import ObdConfig
from carnel.drivers.obd.driver import ObdDriver
from carnel.drivers.obd.simulated_adapter import SimulatedVehicle
from carnel.ipc.device import Backoff, DeviceLink, DeviceLost
from carnel.ipc.schemas.diag import TroubleCodes, VehicleId
from carnel.ipc.schemas.vehicle import SignalBatch


async def run_driver(bus: RecordingBus, adapter: InMemoryAdapter, config: ObdConfig,
                     seconds: float, **driver_options) -> DeviceLink:
    link = DeviceLink(bus, "obd", adapter.name, backoff=Backoff(initial=1, maximum=4))
    with trio.move_on_after(seconds):
        await link.run(ObdDriver(bus, adapter, config, **driver_options).session)
    return link


def requests_of(adapter: InMemoryAdapter, command: bytes) -> list[float]:
    return [at for at, sent in adapter.commands if sent == command]


async def test_each_answer_is_one_retained_signal_batch_at_its_vss_path(
        autojump_clock: MockClock) -> None:
    bus = RecordingBus()
    config = ObdConfig(poll={"vehicle_speed": 10.0, "engine_speed": 10.0, "coolant_temperature": 1.0})
    await run_driver(bus, InMemoryAdapter(), config, seconds=0.45)

    speeds = bus.on("obd.signals.vehicle_speed")
    assert all(isinstance(p.msg, SignalBatch) and len(p.msg.signals) == 1 for p in speeds)
    first = speeds[0].msg.signals[0]
    assert (first.path, first.unit, first.source) == ("Vehicle.Speed", "km/h", "obd")
    assert first.timestamp_ns > 0
    # The drive's speed goes up 5 km/h every 0.1 s.
    assert [p.msg.signals[0].value for p in speeds] == [0.0, 5.0, 10.0, 15.0, 20.0]
    (rpm,) = bus.on("obd.signals.engine_speed")[:1]
    assert rpm.msg.signals[0].path == "Vehicle.Powertrain.CombustionEngine.Speed"
    assert rpm.msg.signals[0].unit == "rpm"
    (coolant,) = bus.on("obd.signals.coolant_temperature")
    assert coolant.msg.signals[0].path == "Vehicle.Powertrain.CombustionEngine.ECT"
    assert (coolant.msg.signals[0].value, coolant.msg.signals[0].unit) == (80.0, "celsius")


async def test_pids_are_polled_at_their_rates_and_unsupported_ones_never(
        autojump_clock: MockClock) -> None:
    bus, adapter = RecordingBus(), InMemoryAdapter()
    config = ObdConfig(poll={"vehicle_speed": 10.0, "0C": 2.0, "coolant_temperature": 1.0,
                             "engine_oil_temperature": 5.0, "fuel_level": 1.0})
    await run_driver(bus, adapter, config, seconds=9.95)

    assert len(requests_of(adapter, b"010D")) == 100
    assert len(requests_of(adapter, b"010C")) == 20
    assert len(requests_of(adapter, b"0105")) == 10
    speed_times = requests_of(adapter, b"010D")
    assert all(b - a == pytest.approx(0.1) for a, b in zip(speed_times, speed_times[1:]))
    # The drive has no oil temperature or fuel level: the bitmaps say so, and they are never asked.
    assert requests_of(adapter, b"015C") == requests_of(adapter, b"012F") == []
    assert adapter.commands.index((0.0, b"0100")) < adapter.commands.index((0.0, b"010D"))
    published = Counter(p.subject for p in bus.published if p.subject.startswith("obd.signals."))
    assert published == {"obd.signals.vehicle_speed": 100, "obd.signals.engine_speed": 20,
                         "obd.signals.coolant_temperature": 10}
    (polling,) = bus.log.events("polling")
    assert polling["unsupported"] == ["fuel_level", "engine_oil_temperature"]


async def test_trouble_codes_and_vin_at_start_and_then_every_diagnostics_period(
        autojump_clock: MockClock) -> None:
    bus = RecordingBus()
    adapter = InMemoryAdapter(SimulatedVehicle(stored_dtcs=(Dtc("P0301"),)).at)
    config = ObdConfig(poll={"vehicle_speed": 1.0}, diagnostics_period_s=30.0)
    await run_driver(bus, adapter, config, seconds=65.0)

    for command in (b"0902", b"03", b"07"):
        assert requests_of(adapter, command) == [0.0, 30.0, 60.0]
    codes = bus.on("obd.dtc")
    assert [p.at for p in codes] == [0.0, 30.0, 60.0]
    assert codes[0].msg == TroubleCodes(stored=["P0301"], pending=[], timestamp_ns=codes[0].msg.timestamp_ns)
    vins = bus.on("obd.vin")
    assert len(vins) == 3 and isinstance(vins[0].msg, VehicleId)
    assert vins[0].msg.vin == "1HGCM82633A004352"


def refusing(refusals: dict[int, int]):
    def vehicle_at(values):
        return VehicleState((SimulatedEcu(values=values, vin="1HGCM82633A004352",
                                          stored_dtcs=(Dtc("P0420"),), refusals=refusals),))
    return vehicle_at


async def test_a_refused_request_is_logged_rate_limited_and_counted_in_the_status(
        autojump_clock: MockClock) -> None:
    bus = RecordingBus()
    adapter = InMemoryAdapter(refusing({0x09: 0x11}))
    config = ObdConfig(poll={"vehicle_speed": 1.0}, diagnostics_period_s=1.0)
    await run_driver(bus, adapter, config, seconds=24.5, status_interval=10.0)

    assert bus.on("obd.vin") == []
    assert len(bus.on("obd.dtc")) == 25  # the rest of the group still goes through
    logged = bus.log.events("obd_request_failed")
    assert [(line["request"], line["reason"], line["occurrences"]) for line in logged] == [
        ("0902", "negative_response", 1), ("0902", "negative_response", 10)]
    assert "NRC 11" in logged[0]["detail"]
    reports = [p for p in bus.on("obd.status") if p.msg.rejects]
    assert [p.at for p in reports] == [10.0, 20.0]
    assert reports[-1].msg.rejects == {"nrc_service_not_supported": 21}


async def test_a_failed_trouble_code_read_keeps_the_other_kind(autojump_clock: MockClock) -> None:
    bus = RecordingBus()
    await run_driver(bus, InMemoryAdapter(refusing({0x07: 0x22})), ObdConfig(poll={}), seconds=1.0)
    (codes,) = bus.on("obd.dtc")
    assert (codes.msg.stored, codes.msg.pending) == (["P0420"], [])


async def test_an_adapter_that_stops_answering_is_unavailable_then_reconnected(
        autojump_clock: MockClock) -> None:
    bus, adapter = RecordingBus(), InMemoryAdapter()
    config = ObdConfig(poll={"vehicle_speed": 10.0})

    def speed(p: Published) -> bool:
        return p.subject == "obd.signals.vehicle_speed"

    async with trio.open_nursery() as nursery:
        nursery.start_soon(run_driver, bus, adapter, config, 60.0)
        await bus.wait_for(speed)
        adapter.muted = True
        muted_at = trio.current_time()
        lost = await bus.wait_for_state("unavailable")
        adapter.muted = False
        back = await bus.wait_for_state("connected", after=lost)
        await bus.wait_for(speed, after=back)
        nursery.cancel_scope.cancel()

    unavailable = bus.published[lost]
    assert "adapter_unresponsive" in unavailable.msg.reason
    # A timed-out request (2 s), then three resynchronisations (2 s each), then the backoff.
    assert unavailable.at - muted_at == pytest.approx(8.0, abs=0.2)
    assert bus.published[back].at - unavailable.at == pytest.approx(1.0, abs=0.01)
    assert adapter.opened == 2


async def test_an_adapter_that_cannot_be_opened_is_retried_with_capped_backoff(
        autojump_clock: MockClock) -> None:
    bus, adapter = RecordingBus(), InMemoryAdapter(unplugged=True)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(run_driver, bus, adapter, ObdConfig(), 60.0)
        with trio.move_on_after(20):
            await bus.wait_for_state("connected")
        adapter.unplugged = False
        back = await bus.wait_for_state("connected")
        nursery.cancel_scope.cancel()
    unavailable = [p for p in bus.on("obd.status")[:back] if p.msg.state == "unavailable"]
    assert {p.msg.reason for p in unavailable} == {"ENOENT: No such file or directory"}
    assert [p.msg.retry_in_s for p in unavailable] == [1, 2, 4, 4, 4, 4, 4]  # tries at 0 1 3 7 .. 19
    assert bus.published[back].at == pytest.approx(23.0)

async def test_a_vehicle_with_the_ignition_off_is_unavailable_until_it_answers(
        autojump_clock: MockClock) -> None:
    ignition = {"on": False}

    def vehicle_at(values):
        return VehicleState((SimulatedEcu(values=values),), connected=ignition["on"])

    bus, adapter = RecordingBus(), InMemoryAdapter(vehicle_at)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(run_driver, bus, adapter, ObdConfig(), 60.0)
        first = await bus.wait_for_state("unavailable")
        second = await bus.wait_for_state("unavailable", after=first + 1)
        ignition["on"] = True
        await bus.wait_for_state("connected", after=second)
        nursery.cancel_scope.cancel()
    assert "unable_to_connect" in bus.published[first].msg.reason
    assert bus.published[second].msg.retry_in_s == 2 * bus.published[first].msg.retry_in_s



LINES = st.sampled_from([b"NO DATA\r\r>", b"?\r\r>", b"STOPPED\r\r>", b"7E8037F0978\r",
                         b"7E803410D\r\r>", b"7E81014490201\r\r>", b"CAN ERROR\r\r>", b">"])


@given(st.integers(0, 80), st.lists(st.none() | st.integers(0, 30) | LINES | st.binary(max_size=30),
                                    max_size=20))
def test_whatever_the_adapter_prints_the_driver_publishes_sound_messages_or_loses_the_device(
        clean_answers: int, corruptions: list) -> None:
    """The adapter answers truly `clean_answers` times, then spoils answers, then answers truly."""
    bus = RecordingBus()

    async def main() -> None:
        link = DeviceLink(bus, "obd", "corrupting:obd")
        config = ObdConfig(poll={"vehicle_speed": 2.0, "engine_speed": 1.0}, diagnostics_period_s=3.0)
        driver = ObdDriver(bus, CorruptingAdapter([None] * clean_answers + corruptions), config)
        with trio.move_on_after(10):
            try:
                await driver.session(link)
            except DeviceLost:
                pass

    trio.run(main, clock=MockClock(autojump_threshold=0))
    for published in bus.published:
        if published.subject == "obd.signals.vehicle_speed":
            assert published.msg.signals[0].value == 50.0
        elif published.subject == "obd.vin":
            assert published.msg.vin == "1HGCM82633A004352"
