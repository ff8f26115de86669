"""The Service SDK: what a service author writes against.

    svc = Service("trip")

    @svc.subscribe("vehicle.speed")
    async def on_speed(msg: Signal) -> None: ...

    @svc.provide("trip.reset")
    async def reset(req: Empty) -> TripDistance: ...

    run(svc)

Message types come from the handlers' annotations (or `type=`) and are decoded with typed msgspec
Decoders straight from the received frame's buffer. A handler that takes a second parameter also
gets the `Delivery` (source, seq, attachments as memoryviews). Joining, READY and heartbeats are
handled here; a structlog logger bound to the service's name is `svc.log`.
"""
from __future__ import annotations

import collections
import inspect
import signal
import typing
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import msgspec
import structlog
import trio

from carnel.ipc import _impl, logs
from carnel.ipc.client import BusClient, Delivery
from carnel.ipc.errors import UNDECODABLE, BadRequest, CallError
from carnel.ipc.schemas.bus import ErrorReply
from carnel.ipc.settings import ENV_NAME, OPERATOR, ProcessSettings
from carnel.ipc.subjects import validate_pattern, validate_subject
from carnel.ipc.wire import Kind

T = typing.TypeVar("T", bound=msgspec.Struct)
Handler = Callable[..., Awaitable[typing.Any]]
QUEUED_BATCHES = 64  # per subscription; past it the subscriber is too slow and loses messages
MAX_CONCURRENT_REQUESTS = 64

_encode = msgspec.msgpack.Encoder().encode


@dataclass(slots=True)
class _Subscription:
    pattern: str
    handler: Handler
    decoder: msgspec.msgpack.Decoder
    with_delivery: bool
    send: trio.MemorySendChannel | None = None
    last_seq: dict[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class _Provided:
    subject: str
    handler: Handler
    decoder: msgspec.msgpack.Decoder
    with_delivery: bool


@dataclass(slots=True)
class ServiceStats:
    """What went wrong on the receiving side, by kind, for logs and tests."""

    dropped: int = 0  # delivered by the kernel, but the handler was too far behind
    gaps: int = 0  # sequence numbers skipped: dropped upstream (a slow consumer)
    undecodable: int = 0
    handler_errors: int = 0


def _message_type(handler: Handler, explicit: type | None) -> tuple[type, bool]:
    params = list(inspect.signature(handler).parameters.values())
    if not params:
        raise TypeError(f"{handler.__name__} must take the message as its first parameter")
    if explicit is None:
        hints = typing.get_type_hints(handler)
        explicit = hints.get(params[0].name)
        if explicit is None:
            raise TypeError(
                f"{handler.__name__}: annotate its first parameter with the message type "
                "or pass type="
            )
    return explicit, len(params) >= 2


class Service:
    """A process on the bus: its handlers, and what it can do once running."""

    def __init__(self, name: str | None = None) -> None:
        self.name = name
        self.log = structlog.get_logger().bind(process=name)
        self.stats = ServiceStats()
        self._subscriptions: list[_Subscription] = []
        self._provided: dict[str, _Provided] = {}
        self._on_start: list[Callable[[], Awaitable[None]]] = []
        self._tasks: list[Callable[[], Awaitable[None]]] = []
        self._client: BusClient | None = None
        self._log_limits: collections.Counter[str] = collections.Counter()

    # -- declaring ------------------------------------------------------------------------------

    def subscribe(self, pattern: str, type: type | None = None) -> Callable[[Handler], Handler]:
        """Call the decorated `async def handler(msg[, delivery])` for every matching message."""
        validate_pattern(pattern)

        def register(handler: Handler) -> Handler:
            msg_type, with_delivery = _message_type(handler, type)
            self._subscriptions.append(_Subscription(
                pattern, handler, msgspec.msgpack.Decoder(msg_type), with_delivery))
            return handler

        return register

    def provide(self, subject: str, type: type | None = None) -> Callable[[Handler], Handler]:
        """Answer requests to `subject` with the decorated handler's return value."""
        validate_subject(subject)

        def register(handler: Handler) -> Handler:
            msg_type, with_delivery = _message_type(handler, type)
            self._provided[subject] = _Provided(
                subject, handler, msgspec.msgpack.Decoder(msg_type), with_delivery)
            return handler

        return register

    def on_start(self, fn: Callable[[], Awaitable[None]]) -> Callable[[], Awaitable[None]]:
        """Run `fn` after joining the bus and before READY (open devices, load state)."""
        self._on_start.append(fn)
        return fn

    def task(self, fn: Callable[[], Awaitable[None]]) -> Callable[[], Awaitable[None]]:
        """Run `fn` as a background task once the service is READY (a publishing loop)."""
        self._tasks.append(fn)
        return fn

    # -- acting ---------------------------------------------------------------------------------

    async def publish(self, subject: str, msg: msgspec.Struct, *, attachments=(),
                      retain: bool = False) -> None:
        """Publish `msg`; attachments are raw frames (bytes or buffers) sent without copying."""
        await self._running().publish_raw(subject, _encode(msg), attachments, retain=retain)

    async def call(self, subject: str, msg: msgspec.Struct, reply_type: type[T], *,
                   timeout: float = 5.0, attachments=()) -> T:
        """Request and await the reply; raises Unavailable, Timeout, Denied, BadRequest, Internal."""
        reply = await self._running().request_raw(
            Kind.REQ, subject, _encode(msg), attachments, timeout=timeout)
        try:
            return msgspec.msgpack.decode(reply.frames[1], type=reply_type)
        except UNDECODABLE as exc:
            raise BadRequest(f"the reply is not a {reply_type.__name__}: {exc}", subject) from None

    @asynccontextmanager
    async def messages(self, pattern: str, type: type[T],
                       buffer: int = QUEUED_BATCHES) -> AsyncIterator[AsyncIterator[T]]:
        """Iterate over matching messages: ``async with svc.messages(p, T) as it: async for m in it``."""
        validate_pattern(pattern)
        client = self._running()
        decoder = msgspec.msgpack.Decoder(type)
        send, receive = trio.open_memory_channel(buffer)
        sink = self._sink(send)
        await client.subscribe(pattern, sink)

        async def iterate() -> AsyncIterator[T]:
            async for batch in receive:
                for delivery in batch:
                    msg = self._decode(decoder, delivery)
                    if msg is not None:
                        yield msg

        try:
            yield iterate()
        finally:
            with trio.CancelScope(shield=True):
                await client.unsubscribe(pattern, sink)

    # -- running --------------------------------------------------------------------------------

    def _running(self) -> BusClient:
        if self._client is None or self._client.welcome is None:
            raise RuntimeError(f"service {self.name} is not running: use carnel.ipc.run(service)")
        return self._client

    async def serve(self, settings: ProcessSettings, *,
                    connect: Callable[..., BusClient] = BusClient,
                    task_status=trio.TASK_STATUS_IGNORED) -> None:
        """Join the bus, subscribe, send READY, heartbeat, and serve until cancelled.

        `connect` makes the connection, called as BusClient is; carnel.ipc.testing passes its
        in-process fake bus here.
        """
        self.name = settings.name
        self.log = structlog.get_logger().bind(process=self.name)
        client = connect(settings.bus, self.name, provides=sorted(self._provided),
                         credential=settings.credential)
        self._client = client
        async with trio.open_nursery() as nursery:
            try:
                welcome = await nursery.start(client.run)
            except CallError as exc:
                raise JoinRefused(exc) from None
            for sub in self._subscriptions:
                sub.send, receive = trio.open_memory_channel(QUEUED_BATCHES)
                nursery.start_soon(self._consume, sub, receive)
                await client.subscribe(sub.pattern, self._sink(sub.send, sub))
            if self._provided:
                client.request_sink = self._request_sink(nursery)
            for fn in self._on_start:
                await fn()
            await client.send_frames([_impl.pack_header(Kind.READY, "ready"), b""])
            nursery.start_soon(self._heartbeat, welcome.heartbeat_ms / 1000)
            self.log.info("service_ready", hot_path=_impl.IMPLEMENTATION,
                          subscriptions=[s.pattern for s in self._subscriptions],
                          provides=sorted(self._provided))
            for fn in self._tasks:
                nursery.start_soon(fn)
            nursery.start_soon(self._end_with_the_kernel)
            task_status.started()

    async def _end_with_the_kernel(self) -> None:
        # A kernel that stops its processes stops them before it goes; one that goes first
        # (killed, or a service run by hand beside it) leaves nothing to serve.
        await self._client.kernel_gone()
        if self._client.replaced_by is not None:
            raise NameTaken(self.name, self._client.replaced_by)
        raise KernelGone("the kernel closed the connection: it stopped or was killed")

    async def _heartbeat(self, interval: float) -> None:
        frames = [_impl.pack_header(Kind.HEARTBEAT, "heartbeat"), b""]
        while True:
            await self._client.send_frames(frames)
            await trio.sleep(interval)

    def _sink(self, send: trio.MemorySendChannel, sub: _Subscription | None = None):
        def deliver(batch: list[Delivery]) -> None:
            if sub is not None:
                self._count_gaps(sub, batch)
            self._enqueue(send, batch)

        return deliver

    def _enqueue(self, send: trio.MemorySendChannel, batch: list[Delivery]) -> bool:
        """Queue `batch` for the task that handles it; False if it was dropped: that task is
        behind (counted and logged) or gone."""
        try:
            send.send_nowait(batch)
        except trio.WouldBlock:
            self.stats.dropped += len(batch)
            self._limited_warning("handler_behind", dropped=self.stats.dropped)
            return False
        except trio.BrokenResourceError:
            return False  # the iterator was closed; its unsubscribe is on the way
        return True

    def _count_gaps(self, sub: _Subscription, batch: list[Delivery]) -> None:
        last = sub.last_seq
        for delivery in batch:
            header = delivery.header
            previous = last.get(header.subject)
            if previous is not None and header.seq != previous + 1 and header.seq > previous:
                self.stats.gaps += header.seq - previous - 1
            last[header.subject] = header.seq

    def _decode(self, decoder: msgspec.msgpack.Decoder, delivery: Delivery):
        try:
            return decoder.decode(delivery.frames[1])
        except UNDECODABLE as exc:
            self.stats.undecodable += 1
            self._limited_warning("undecodable_message", subject=delivery.header.subject,
                                  source=delivery.header.source, error=str(exc))
            return None

    async def _consume(self, sub: _Subscription, receive: trio.MemoryReceiveChannel) -> None:
        handler = sub.handler
        async for batch in receive:
            for delivery in batch:
                msg = self._decode(sub.decoder, delivery)
                if msg is None:
                    continue
                try:
                    if sub.with_delivery:
                        await handler(msg, delivery)
                    else:
                        await handler(msg)
                except Exception:
                    # A handler bug must not take the other handlers down with it; it is
                    # counted and logged with its traceback.
                    self.stats.handler_errors += 1
                    self.log.exception("handler_failed", subject=delivery.header.subject,
                                       handler=handler.__name__)

    def _request_sink(self, nursery: trio.Nursery):
        """Where the pump delivers requests: each is answered in a task of its own, at most
        MAX_CONCURRENT_REQUESTS at once.

        While there is room and no request waits, the pump starts a request's task itself: a
        hand-over through another task cost each call a task switch. The rest wait their turn
        in a channel, in order.
        """
        limit = trio.Semaphore(MAX_CONCURRENT_REQUESTS)
        send, receive = trio.open_memory_channel(QUEUED_BATCHES)
        waiting = 0  # requests queued and not yet started

        def deliver(batch: list[Delivery]) -> None:
            nonlocal waiting
            for i, delivery in enumerate(batch):
                if not waiting:
                    try:
                        limit.acquire_nowait()
                    except trio.WouldBlock:
                        pass
                    else:
                        nursery.start_soon(self._answer, delivery, limit)
                        continue
                rest = batch[i:]
                if self._enqueue(send, rest):  # if dropped, their callers get Timeout
                    waiting += len(rest)
                return

        async def start_queued() -> None:
            nonlocal waiting
            async for batch in receive:
                for delivery in batch:
                    await limit.acquire()
                    waiting -= 1
                    nursery.start_soon(self._answer, delivery, limit)

        nursery.start_soon(start_queued)
        return deliver

    async def _answer(self, delivery: Delivery, limit: trio.Semaphore) -> None:
        header = delivery.header
        try:
            provided = self._provided.get(header.subject)
            if provided is None:
                raise BadRequest(f"{self.name} has no handler for {header.subject}")
            try:
                request = provided.decoder.decode(delivery.frames[1])
            except UNDECODABLE as exc:
                raise BadRequest(str(exc)) from None
            if provided.with_delivery:
                reply = await provided.handler(request, delivery)
            else:
                reply = await provided.handler(request)
            frames = [_impl.pack_header(Kind.REP, header.subject, corr_id=header.msg_id),
                      _encode(reply)]
        except CallError as exc:
            frames = self._error_frames(header, exc.code, exc.message)
        except Exception as exc:
            self.stats.handler_errors += 1
            self.log.exception("request_failed", subject=header.subject, caller=header.source)
            frames = self._error_frames(header, "internal", f"{type(exc).__name__}: {exc}")
        finally:
            limit.release()
        await self._client.send_frames(frames)

    @staticmethod
    def _error_frames(header, code: str, message: str) -> list:
        return [_impl.pack_header(Kind.ERR, header.subject, corr_id=header.msg_id),
                _encode(ErrorReply(code=code, message=message))]

    def _limited_warning(self, event: str, **context) -> None:
        # One line per burst: the first, then every 1000th, so a flood cannot flood the log.
        count = self._log_limits[event]
        self._log_limits[event] += 1
        if count % 1000 == 0:
            self.log.warning(event, occurrences=count + 1, **context)


class KernelGone(Exception):
    """The kernel closed this service's connection while it served."""


class NameTaken(KernelGone):
    """Another process joined the bus under this service's name: the kernel speaks to it now,
    and drops everything this one sends."""

    def __init__(self, name: str, pid: int) -> None:
        super().__init__(f"another process (pid {pid}) joined the bus as {name!r}: the kernel "
                         "now drops everything this one sends")
        self.pid = pid


class JoinRefused(Exception):
    """The kernel did not let this service join the bus: nothing it could do was done."""

    def __init__(self, error: CallError) -> None:
        super().__init__(str(error))
        self.error = error


def run(service: Service, settings: ProcessSettings | None = None) -> None:
    """Process entry point: read the kernel's settings from the environment and serve.

    SIGTERM and Ctrl-C stop the service in order: it says goodbye to the kernel and exits 0.
    """
    settings = settings or ProcessSettings.from_env(default_name=service.name)
    logs.configure(settings.log_format)

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(service.serve, settings)
            with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
                async for signum in signals:
                    service.log.info("stopping", signal=signal.Signals(signum).name)
                    nursery.cancel_scope.cancel()
                    break

    try:
        trio.run(main)
    except* KernelGone as gone:
        reason = _first_leaf(gone)
        event = "name_taken" if isinstance(reason, NameTaken) else "kernel_gone"
        service.log.error(event, error=str(reason), action="exiting")
        raise SystemExit(1) from None
    except* JoinRefused as refused:
        # A refusal repeats on every restart: one line each, not a traceback each.
        error = _first_leaf(refused).error
        hint = _refusal_hint(service.name, settings) if error.code == "denied" else ""
        service.log.error("join_refused", code=error.code, error=str(error),
                          **({"hint": hint} if hint else {}))
        raise SystemExit(1) from None


def _refusal_hint(name: str, settings: ProcessSettings) -> str:
    if settings.credential is not None and settings.credential.user == OPERATOR:
        return (f"run by hand, it joins as the operator: the image's [operator] table lists what "
                f"it may do, and {name!r} must be a name no process of the image has (set "
                f"{ENV_NAME})")
    return f"the image's [process.{name}] table lists what it may do"


def _first_leaf(group: BaseExceptionGroup) -> BaseException:
    first = group.exceptions[0]
    return _first_leaf(first) if isinstance(first, BaseExceptionGroup) else first
