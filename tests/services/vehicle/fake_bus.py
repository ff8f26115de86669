"""An in-memory bus for Services: the kernel's routing without sockets or processes.

It stands in for BusClient inside `Service.serve` and does what the router does for the cases
a service test needs: stamps the sender's name into every header, fans publications out to
matching subscriptions, keeps retained values and replays them to new subscribers, and routes
requests to the provider of the subject's prefix. Nothing waits on I/O, so tests run on trio's
MockClock and a service's timers take no real time.
"""
from __future__ import annotations

import functools
import itertools
import time
from dataclasses import dataclass

import msgspec
import trio

from carnel.ipc import _impl
from carnel.ipc.client import Delivery
from carnel.ipc.errors import Unavailable, error_for
from carnel.ipc.schemas.bus import ErrorReply, Welcome
from carnel.ipc.service import Service
from carnel.ipc.settings import ProcessSettings
from carnel.ipc.subjects import matches
from carnel.ipc.wire import Flag, Kind

_error = msgspec.msgpack.Decoder(ErrorReply)


@dataclass(eq=False)
class _Subscription:
    client: FakeClient
    pattern: str
    sink: object


class FakeBus:
    """The kernel's side: who is joined, who subscribes to what, what is kept."""

    def __init__(self) -> None:
        self.clients: dict[str, FakeClient] = {}
        self.subscriptions: list[_Subscription] = []
        self.retained: dict[str, list] = {}
        self.seq = itertools.count(1)
        self.waiting: dict[int, trio.MemorySendChannel] = {}

    def client(self, endpoint: str, name: str, *, provides=(), **connection) -> FakeClient:
        """BusClient's signature; what it needs to reach a real kernel (`connection`) is unused."""
        client = FakeClient(self, name, list(provides))
        self.clients[name] = client
        return client

    async def serve(self, nursery: trio.Nursery, svc: Service) -> Service:
        """Start `svc` on this bus; returns once it is READY."""
        settings = ProcessSettings(name=svc.name, bus="fake", log_format="json")
        await nursery.start(functools.partial(svc.serve, settings, connect=self.client))
        return svc

    def publish(self, source: str, subject: str, payload: bytes, retain: bool, *,
                sent_ns: int | None = None) -> None:
        """Route a publication from `source`; `sent_ns` backdates it (default: now)."""
        header = _impl.pack_header(Kind.PUB, subject, seq=next(self.seq), source=source,
                                   timestamp_ns=time.time_ns() if sent_ns is None else sent_ns)
        frames = [header, payload]
        if retain:
            self.retained[subject] = frames
        delivery = Delivery(_impl.parse_header(frames[0]), frames)
        for sub in self.subscriptions:
            if matches(sub.pattern, subject):
                sub.sink([delivery])

    def subscribe(self, client: FakeClient, pattern: str, sink) -> None:
        self.subscriptions.append(_Subscription(client, pattern, sink))
        for subject, (header, payload) in self.retained.items():
            if matches(pattern, subject):
                parsed = _impl.parse_header(header)
                replay = _impl.pack_header(Kind.PUB, subject, seq=parsed.seq, source=parsed.source,
                                           timestamp_ns=parsed.timestamp_ns, flags=Flag.RETAINED)
                sink([Delivery(_impl.parse_header(replay), [replay, payload])])

    def provider_of(self, subject: str) -> FakeClient:
        for client in self.clients.values():
            if any(subject == p or subject.startswith(p + ".") for p in client.provides):
                return client
        raise Unavailable("nobody provides it", subject)


class FakeClient:
    """What Service.serve uses of BusClient."""

    def __init__(self, bus: FakeBus, name: str, provides: list[str]) -> None:
        self.bus = bus
        self.name = name
        self.provides = provides
        self.welcome: Welcome | None = None
        self.request_sink = None

    async def run(self, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        self.welcome = Welcome(name=self.name, heartbeat_ms=1000, implementation="fake")
        task_status.started(self.welcome)
        await trio.sleep_forever()

    async def subscribe(self, pattern: str, sink, timeout: float = 5) -> None:
        self.bus.subscribe(self, pattern, sink)

    async def unsubscribe(self, pattern: str, sink, timeout: float = 5) -> None:
        self.bus.subscriptions = [s for s in self.bus.subscriptions
                                  if (s.client, s.pattern, s.sink) != (self, pattern, sink)]

    async def publish_raw(self, subject: str, payload: bytes, attachments=(), *,
                          retain: bool = False) -> None:
        self.bus.publish(self.name, subject, payload, retain)

    async def send_frames(self, frames: list) -> None:
        header = _impl.parse_header(frames[0])
        if header.kind in (Kind.REP, Kind.ERR):
            self.bus.waiting.pop(header.corr_id).send_nowait(Delivery(header, frames))

    async def request_raw(self, kind: int, subject: str, payload: bytes, attachments=(), *,
                          timeout: float) -> Delivery:
        provider = self.bus.provider_of(subject)
        msg_id = next(self.bus.seq)
        send, receive = trio.open_memory_channel(1)
        self.bus.waiting[msg_id] = send
        header = _impl.pack_header(Kind.REQ, subject, msg_id=msg_id, source=self.name)
        provider.request_sink([Delivery(_impl.parse_header(header), [header, payload])])
        with trio.fail_after(timeout):
            reply = await receive.receive()
        if reply.header.kind == Kind.ERR:
            err = _error.decode(reply.frames[1])
            raise error_for(err.code, err.message, subject)
        return reply

