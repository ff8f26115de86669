"""The fake bus: a service's own handlers, run in-process as the kernel would route to them."""
from __future__ import annotations

import time

import msgspec
import pytest
import trio

from carnel.ipc import BadRequest, Internal, Service, Timeout, Unavailable
from carnel.ipc.client import Delivery
from carnel.ipc.schemas.bus import Empty
from carnel.ipc.schemas.trip import Trip
from carnel.ipc.schemas.vehicle import Signal, SignalQuery, SignalValues
from carnel.ipc.service import MAX_CONCURRENT_REQUESTS
from carnel.ipc.testing import FakeBus, harness
from carnel.ipc.wire import Flag


def signal_keeper() -> tuple[Service, list[tuple[str, bool, Signal]]]:
    """A service that keeps what it hears on vehicle.>, announces it, and answers vehicle.get."""
    svc = Service("keeper")
    heard: list[tuple[str, bool, Signal]] = []
    started: list[str] = []

    @svc.on_start
    async def load() -> None:
        started.append("loaded")

    @svc.subscribe("vehicle.>")
    async def on_signal(signal: Signal, delivery: Delivery) -> None:
        assert started == ["loaded"]
        header = delivery.header
        heard.append((header.source, bool(header.flags & Flag.RETAINED), signal))
        await svc.publish("trip.distance", Trip(metres=float(len(heard))), retain=True)

    @svc.provide("vehicle.get")
    async def get(query: SignalQuery) -> SignalValues:
        if "" in query.paths:
            raise BadRequest("a path is empty")
        if "explode" in query.paths:
            raise RuntimeError("explode")
        if "wait" in query.paths:
            await trio.sleep_forever()
        return SignalValues(signals=[s for _, _, s in heard if s.path in query.paths])

    return svc, heard


SPEED = Signal(path="Vehicle.Speed", value=50.0, unit="km/h")


async def test_a_publication_has_been_handled_when_publish_returns():
    svc, heard = signal_keeper()
    async with harness(svc) as bus:
        await bus.publish("vehicle.Speed", SPEED, source="can")
        assert heard == [("can", False, SPEED)]
        assert bus.messages("trip.distance", Trip) == [Trip(metres=1.0)]
        [published] = bus.published("trip.>")
        assert published.source == "keeper" and published.retain


async def test_requests_get_the_reply_or_the_typed_error():
    svc, _ = signal_keeper()
    async with harness(svc) as bus:
        await bus.publish("vehicle.Speed", SPEED)
        reply = await bus.call("vehicle.get", SignalQuery(paths=["Vehicle.Speed"]), SignalValues)
        assert reply.signals == [SPEED]
        with pytest.raises(BadRequest, match="a path is empty"):
            await bus.call("vehicle.get", SignalQuery(paths=[""]), SignalValues)
        with pytest.raises(Internal, match="RuntimeError: explode"):
            await bus.call("vehicle.get", SignalQuery(paths=["explode"]), SignalValues)
        with pytest.raises(BadRequest, match="Expected `object`"):
            await bus.call_raw("vehicle.get", msgspec.msgpack.encode([1, 2]))
        with pytest.raises(Unavailable):
            await bus.call("nav.route", Empty(), Empty)


async def test_a_request_past_its_deadline_is_a_timeout(autojump_clock):
    svc, _ = signal_keeper()
    async with harness(svc) as bus:
        with pytest.raises(Timeout):
            await bus.call("vehicle.get", SignalQuery(paths=["wait"]), SignalValues, timeout=3)


async def test_a_malformed_publication_is_counted_and_reaches_no_handler():
    svc, heard = signal_keeper()
    async with harness(svc) as bus:
        await bus.publish_raw("vehicle.Speed", msgspec.msgpack.encode({"path": 1}))
        assert heard == [] and svc.stats.undecodable == 1


async def test_a_publication_with_a_str_that_is_not_utf8_is_counted_as_undecodable():
    svc, heard = signal_keeper()
    async with harness(svc) as bus:
        await bus.publish_raw("vehicle.Speed", b"\x82\xa4type\xa6signal\xa4path\xa1\x87")
        assert heard == [] and svc.stats.undecodable == 1


async def test_a_new_subscriber_gets_retained_values_first_flagged_retained():
    announcer = Service("announcer")

    @announcer.on_start
    async def announce() -> None:
        await announcer.publish("vehicle.Speed", SPEED, retain=True)

    svc, heard = signal_keeper()
    async with harness(announcer, svc) as bus:
        await bus.settle()
        assert heard == [("announcer", True, SPEED)]


async def test_a_service_served_into_the_tests_nursery_is_ready_and_handed_the_kept_values(
        nursery):
    bus = FakeBus()
    await bus.publish("vehicle.Speed", SPEED, retain=True, source="can")
    svc, heard = signal_keeper()
    assert await bus.serve(nursery, svc) is svc
    await bus.settle()
    assert heard == [("can", True, SPEED)]
    reply = await bus.call("vehicle.get", SignalQuery(paths=["Vehicle.Speed"]), SignalValues)
    assert reply.signals == [SPEED]


async def test_a_service_without_a_name_is_named_for_its_place_in_the_order_served(nursery):
    bus = FakeBus()
    await bus.serve(nursery, Service("can"))
    assert (await bus.serve(nursery, Service())).name == "service-2"


async def test_a_backdated_publication_carries_its_time_live_and_when_replayed(nursery):
    bus = FakeBus()
    stamps: list[tuple[str, int, bool]] = []

    def stamp_keeper(name: str) -> Service:
        svc = Service(name)

        @svc.subscribe("vehicle.>")
        async def on_signal(_: Signal, delivery: Delivery) -> None:
            header = delivery.header
            stamps.append((name, header.timestamp_ns, bool(header.flags & Flag.RETAINED)))

        return svc

    await bus.serve(nursery, stamp_keeper("early"))
    long_ago = time.time_ns() - 3600 * 10**9
    await bus.publish_raw("vehicle.Speed", msgspec.msgpack.encode(SPEED), retain=True,
                          timestamp_ns=long_ago)
    await bus.serve(nursery, stamp_keeper("late"))
    await bus.settle()
    assert stamps == [("early", long_ago, False), ("late", long_ago, True)]
    before = time.time_ns()
    await bus.publish("vehicle.Speed", SPEED)  # not backdated: the sender's clock, now
    assert sorted(name for name, sent, _ in stamps[2:] if before <= sent <= time.time_ns()) == [
        "early", "late"]


async def test_a_service_calls_a_peer_standing_in_on_the_same_bus():
    peer = Service("vehicle")

    @peer.provide("vehicle.get")
    async def get(query: SignalQuery) -> SignalValues:
        return SignalValues(unknown=query.paths)

    asker = Service("asker")

    @asker.provide("asker.ask")
    async def ask(_: Empty) -> SignalValues:
        return await asker.call("vehicle.get", SignalQuery(paths=["x"]), SignalValues)

    async with harness(peer, asker) as bus:
        assert await bus.call("asker.ask", Empty(), SignalValues) == SignalValues(unknown=["x"])


async def test_background_tasks_run_and_their_publications_are_captured(autojump_clock):
    svc = Service("ticker")

    @svc.task
    async def tick() -> None:
        for second in range(3):
            await svc.publish("trip.distance", Trip(metres=float(second)))
            await trio.sleep(1)

    async with harness(svc) as bus:
        await trio.sleep(5)
        assert [t.metres for t in bus.messages("trip.distance", Trip)] == [0.0, 1.0, 2.0]


async def test_requests_beyond_the_concurrency_limit_wait_and_start_in_arrival_order():
    svc = Service("worker")
    started: list[float] = []
    release = trio.Event()

    @svc.provide("trip.work")
    async def work(job: Trip) -> Trip:
        started.append(job.metres)
        await release.wait()
        return job

    total = MAX_CONCURRENT_REQUESTS + 10
    answers: list[float] = []
    async with harness(svc) as bus:
        async def call(i: int) -> None:
            answers.append((await bus.call("trip.work", Trip(metres=float(i)), Trip)).metres)

        async with trio.open_nursery() as nursery:
            for i in range(total):
                nursery.start_soon(call, i)
                await bus.settle()  # one request reaches the service at a time, in order
            assert started == [float(i) for i in range(MAX_CONCURRENT_REQUESTS)]
            release.set()
        assert started == [float(i) for i in range(total)]
        assert sorted(answers) == [float(i) for i in range(total)]


async def test_a_kept_value_reaches_a_sink_once_however_its_patterns_overlap(nursery):
    # As from the kernel through a BusClient: tap and record subscribe one sink to many patterns.
    bus = FakeBus()
    await bus.publish("vehicle.Speed", SPEED, retain=True, source="can")
    connection = bus.connect("", "tap")
    await nursery.start(connection.run)
    both: list[Delivery] = []
    alone: list[Delivery] = []
    await connection.subscribe("vehicle.>", both.extend)
    await connection.subscribe("vehicle.Speed", both.extend)
    await connection.subscribe("vehicle.Speed", alone.extend)
    assert [d.header.subject for d in both] == ["vehicle.Speed"]
    assert [d.header.subject for d in alone] == ["vehicle.Speed"]
