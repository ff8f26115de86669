"""Run services in-process on a fake bus: no kernel, no processes, no sockets.

    async with harness(svc) as bus:
        await bus.publish("vehicle.Speed", Signal(path="Vehicle.Speed", value=50.0))
        trip = await bus.call("trip.reset", Empty(), Trip)
        assert bus.messages("trip.distance", Trip)[-1].metres == 0.0

Each service runs its own `serve`, through the `connect` seam of Service.serve: its on_start
hooks, subscriptions, READY and tasks, its typed decoders and typed errors, all as on the bus.
`harness()` serves every service at the start; `FakeBus.serve` joins one more at any moment, into
a nursery of the test's (a subscriber that comes late and is handed the retained values, say).
The fake routes as the kernel does: publications to every matching subscription, stamped with
their source and a sequence number per subject; retained values replayed to a new subscriber,
flagged RETAINED; a request to the service providing the longest prefix of its subject, or
Unavailable, or Timeout at its deadline. Headers carry the sender's clock, as the kernel passes it
on; a test can backdate what it publishes (`timestamp_ns=`) to play a value kept from long ago.
Services on one fake bus can call each other, so a small Service can stand in for a peer. There
is no access control.
"""
from __future__ import annotations

import itertools
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial
from typing import TypeVar

import msgspec
import trio
import trio.testing

from carnel.ipc import _impl
from carnel.ipc.client import Delivery, Sink
from carnel.ipc.errors import Timeout, Unavailable, error_for
from carnel.ipc.schemas.bus import ErrorReply, Welcome
from carnel.ipc.service import Service
from carnel.ipc.settings import ProcessSettings
from carnel.ipc.subjects import ProviderIndex, SubscriptionIndex, matches, validate_subject
from carnel.ipc.wire import Flag, Kind

T = TypeVar("T")
ENDPOINT = "inproc://carnel-fake-bus"
_encode = msgspec.msgpack.Encoder().encode
_error = msgspec.msgpack.Decoder(ErrorReply)


@dataclass(frozen=True, slots=True)
class Publication:
    """One message published on the fake bus, as the kernel saw it."""

    subject: str
    source: str
    payload: bytes
    attachments: tuple[bytes, ...] = ()
    retain: bool = False

    def decode(self, message_type: type[T]) -> T:
        return msgspec.msgpack.decode(self.payload, type=message_type)


class FakeConnection:
    """What Service.serve expects of a BusClient, served by a FakeBus instead of the kernel."""

    def __init__(self, bus: FakeBus, name: str, provides: list[str]) -> None:
        self.bus = bus
        self.name = name
        self.provides = [validate_subject(p) for p in provides]
        self.welcome: Welcome | None = None
        self.request_sink: Sink | None = None
        self.sinks: SubscriptionIndex[Sink] = SubscriptionIndex()

    async def run(self, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        self.bus._join(self)
        try:
            self.welcome = Welcome(name=self.name, heartbeat_ms=1000,
                                   implementation=_impl.IMPLEMENTATION)
            task_status.started(self.welcome)
            await trio.sleep_forever()
        finally:
            self.bus._leave(self)

    async def kernel_gone(self) -> None:
        await trio.sleep_forever()  # this bus is there as long as the test

    async def subscribe(self, pattern: str, sink: Sink) -> None:
        held = self.sinks.patterns_of(sink)
        self.sinks.add(pattern, sink)
        self.bus._subscribe(self, pattern, sink, held)

    async def unsubscribe(self, pattern: str, sink: Sink) -> None:
        self.sinks.remove(pattern, sink)
        if not self.sinks.holders_of(pattern):
            self.bus._unsubscribe(self, pattern)

    async def publish_raw(self, subject: str, payload: bytes, attachments=(), *,
                          retain: bool = False) -> None:
        # BusClient stamps the sender's clock; the kernel passes it on untouched.
        self.bus._route(self.name, subject, payload, attachments, retain, time.time_ns())

    async def request_raw(self, kind: int, subject: str, payload: bytes, attachments=(), *,
                          timeout: float) -> Delivery:
        if kind != Kind.REQ:
            raise ValueError(f"the fake bus answers requests only, not kind {kind}")
        return await self.bus._request(self.name, subject, payload, attachments, timeout)

    async def send_frames(self, frames: list) -> None:
        """Replies go to their callers; READY and heartbeats need no answer here."""
        header = _impl.parse_header(frames[0])
        if header.kind in (Kind.REP, Kind.ERR):
            self.bus._answer(self.name, header, frames)

    def deliver(self, delivery: Delivery) -> None:
        for sink in self.sinks.match(delivery.header.subject):
            sink([delivery])


class FakeBus:
    """The kernel's routing, in-process; the test talks on it as `name`."""

    def __init__(self, name: str = "harness") -> None:
        self.name = name
        self.publications: list[Publication] = []
        self._connections: dict[str, FakeConnection] = {}
        self._served: set[str] = set()  # every service that joined, still there or not
        self._subscribers: SubscriptionIndex[FakeConnection] = SubscriptionIndex()
        self._providers: ProviderIndex[FakeConnection] = ProviderIndex()
        self._retained: dict[str, list] = {}
        self._seq: dict[str, int] = {}
        self._ids = itertools.count(1)
        self._places = itertools.count(1)  # a service's place in the order served: its default name
        self._pending: dict[int, trio.MemorySendChannel] = {}

    def connect(self, endpoint: str, name: str, *, provides: list[str] = (),
                credential=None) -> FakeConnection:
        """Made to be Service.serve's `connect`: a connection to this bus instead of a kernel."""
        return FakeConnection(self, name, list(provides))

    # -- what a test does --------------------------------------------------------------------

    async def serve(self, nursery: trio.Nursery, service: Service) -> Service:
        """Run `service` on this bus in `nursery`; returns it once it is READY.

        A service without a name is called `service-N`, N its place in the order served here.
        """
        place = next(self._places)
        settings = ProcessSettings(name=service.name or f"service-{place}", bus=ENDPOINT)
        await nursery.start(partial(service.serve, settings, connect=self.connect))
        return service

    async def publish(self, subject: str, message: msgspec.Struct, *, attachments=(),
                      retain: bool = False, source: str | None = None,
                      timestamp_ns: int | None = None) -> None:
        """Publish `message` and return once every handler it reached has run."""
        await self.publish_raw(subject, _encode(message), attachments=attachments, retain=retain,
                               source=source, timestamp_ns=timestamp_ns)

    async def publish_raw(self, subject: str, payload: bytes, *, attachments=(),
                          retain: bool = False, source: str | None = None,
                          timestamp_ns: int | None = None) -> None:
        """Publish any bytes (a malformed payload, say), then wait as `publish` does.

        `timestamp_ns` is the header's publish time, the sender's wall clock in ns since the
        epoch (time.time_ns() unless given). An older one stands for a message sent long ago:
        retained, it is replayed with that time, as the kernel keeps a dead driver's last value.
        """
        sent_ns = time.time_ns() if timestamp_ns is None else timestamp_ns
        self._route(source or self.name, subject, payload, attachments, retain, sent_ns)
        await self.settle()

    async def call(self, subject: str, request: msgspec.Struct, reply_type: type[T], *,
                   timeout: float = 5.0, source: str | None = None) -> T:
        """The provider's reply as `reply_type`, or its typed error raised."""
        reply = await self.call_raw(subject, _encode(request), timeout=timeout, source=source)
        return msgspec.msgpack.decode(reply.frames[1], type=reply_type)

    async def call_raw(self, subject: str, payload: bytes, *, attachments=(),
                       timeout: float = 5.0, source: str | None = None) -> Delivery:
        return await self._request(source or self.name, subject, payload, attachments, timeout)

    def published(self, pattern: str = ">") -> list[Publication]:
        """What the services published on subjects matching `pattern`, oldest first."""
        return [p for p in self.publications
                if p.source in self._served and matches(pattern, p.subject)]

    def messages(self, pattern: str, message_type: type[T]) -> list[T]:
        """The services' publications on `pattern`, decoded as `message_type`."""
        return [p.decode(message_type) for p in self.published(pattern)]

    async def settle(self) -> None:
        """Return once every task is waiting: the messages sent so far have been handled."""
        await trio.testing.wait_all_tasks_blocked()

    # -- what the kernel would do ---------------------------------------------------------------

    def _join(self, connection: FakeConnection) -> None:
        self._connections[connection.name] = connection
        self._served.add(connection.name)
        for prefix in connection.provides:
            self._providers.add(prefix, connection)

    def _leave(self, connection: FakeConnection) -> None:
        self._connections.pop(connection.name, None)
        self._subscribers.remove_holder(connection)
        for prefix in connection.provides:
            self._providers.remove(prefix, connection)

    def _subscribe(self, connection: FakeConnection, pattern: str, sink: Sink,
                   held: frozenset[str]) -> None:
        self._subscribers.add(pattern, connection)
        for subject, frames in self._retained.items():
            # A sink already subscribed to the subject has its kept value (BusClient does the
            # same from sequence numbers).
            if matches(pattern, subject) and not any(matches(p, subject) for p in held):
                kept = _impl.parse_header(frames[0])
                header = _impl.pack_header(
                    Kind.PUB, subject, flags=kept.flags | Flag.RETAINED, seq=kept.seq,
                    msg_id=kept.msg_id, timestamp_ns=kept.timestamp_ns, source=kept.source)
                sink([Delivery(_impl.parse_header(header), [header, *frames[1:]])])

    def _unsubscribe(self, connection: FakeConnection, pattern: str) -> None:
        self._subscribers.remove(pattern, connection)

    def _route(self, source: str, subject: str, payload: bytes, attachments, retain: bool,
               timestamp_ns: int) -> None:
        seq = self._seq.get(subject, 0) + 1
        self._seq[subject] = seq
        header = _impl.pack_header(Kind.PUB, subject, flags=Flag.RETAIN if retain else 0,
                                   seq=seq, msg_id=next(self._ids), timestamp_ns=timestamp_ns,
                                   source=source)
        frames = [header, bytes(payload), *(bytes(a) for a in attachments)]
        self.publications.append(Publication(subject, source, frames[1], tuple(frames[2:]),
                                             retain))
        if retain:
            self._retained[subject] = frames
        delivery = Delivery(_impl.parse_header(header), frames)
        for connection in self._subscribers.match(subject):
            connection.deliver(delivery)

    async def _request(self, source: str, subject: str, payload: bytes, attachments,
                       timeout: float) -> Delivery:
        validate_subject(subject)
        provider = self._providers.lookup(subject)
        if provider is None or provider.request_sink is None:
            raise Unavailable(f"no connected process provides {subject}", subject)
        msg_id = next(self._ids)
        send, receive = trio.open_memory_channel(1)
        self._pending[msg_id] = send
        header = _impl.pack_header(Kind.REQ, subject, msg_id=msg_id, timestamp_ns=time.time_ns(),
                                   timeout_ms=max(1, int(timeout * 1000)), source=source)
        try:
            provider.request_sink([Delivery(_impl.parse_header(header),
                                            [header, bytes(payload), *attachments])])
            with trio.move_on_after(timeout):
                reply = await receive.receive()
                if reply.header.kind == Kind.ERR:
                    error = _error.decode(reply.frames[1])
                    raise error_for(error.code, error.message, subject)
                return reply
            raise Timeout(f"no reply to {subject} before the caller's deadline", subject)
        finally:
            del self._pending[msg_id]

    def _answer(self, provider: str, header, frames: list) -> None:
        waiter = self._pending.get(header.corr_id)
        if waiter is None:
            return  # answered after the caller's deadline, as the kernel drops it
        stamped = _impl.pack_header(header.kind, header.subject, corr_id=header.corr_id,
                                    source=provider)
        waiter.send_nowait(Delivery(_impl.parse_header(stamped), [stamped, *frames[1:]]))


@asynccontextmanager
async def harness(*services: Service, name: str = "harness") -> AsyncIterator[FakeBus]:
    """Serve `services` on a fresh FakeBus; yields once every one of them is READY.

    A service without a name is called `service-1`, `service-2`... in argument order.
    """
    bus = FakeBus(name)
    async with trio.open_nursery() as nursery:
        for service in services:
            await bus.serve(nursery, service)
        yield bus
        nursery.cancel_scope.cancel()
