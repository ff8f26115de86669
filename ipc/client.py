"""A process's connection to the bus: one DEALER socket, owned by one pump task.

The pump is the only task that touches the socket. Other tasks hand it outgoing messages through
a bounded outbox (a full outbox makes the sender wait: backpressure, not loss) and get incoming
messages through per-subscription queues of batches, so that one wake-up moves many messages.

Joining: HELLO (name, pid, provided prefixes) -> the kernel's Welcome. Subscriptions and
unsubscriptions are acknowledged by the kernel, so once `subscribe()` returns every later
publication is delivered. Requests carry a deadline; the caller never waits past it.
"""
from __future__ import annotations

import collections
import itertools
import os
import time
from collections.abc import Callable

import msgspec
import trio
import zmq

from carnel.ipc import _impl
from carnel.ipc.errors import (
    UNDECODABLE, CallError, Denied, Internal, Timeout, Unavailable, error_for)
from carnel.ipc.schemas.bus import ErrorReply, Hello, Replaced, Taken, Welcome
from carnel.ipc.settings import Credential
from carnel.ipc.subjects import SubscriptionIndex, validate_pattern, validate_subject
from carnel.ipc.trio_socket import TrioSocket
from carnel.ipc.wire import Flag, Header, Kind, WireError

OUTBOX = 1000
_encode = msgspec.msgpack.Encoder().encode
_welcome = msgspec.msgpack.Decoder(Welcome)
_error = msgspec.msgpack.Decoder(ErrorReply)
_replaced = msgspec.msgpack.Decoder(Replaced)
_KEPT = int(Flag.RETAIN | Flag.RETAINED)


class Delivery:
    """One received message: its parsed header, and its payload and attachments still in the
    received frames (zero-copy; views are made only when asked for)."""

    __slots__ = ("header", "frames")

    def __init__(self, header: Header, frames: list) -> None:
        self.header = header
        self.frames = frames  # [header, payload, *attachments], each with the buffer protocol

    @property
    def payload(self) -> memoryview:
        return memoryview(self.frames[1])

    @property
    def attachments(self) -> list[memoryview]:
        return [memoryview(frame) for frame in self.frames[2:]]


Sink = Callable[[list[Delivery]], None]


class Outbox:
    """Bounded queue of outgoing messages, drained by the pump."""

    def __init__(self, limit: int, kick: Callable[[], None]) -> None:
        self.queue: collections.deque[list] = collections.deque()
        self.limit = limit
        self._kick = kick
        self._space = trio.Event()

    async def put(self, frames: list) -> None:
        while len(self.queue) >= self.limit:
            await self._space.wait()
        self.queue.append(frames)
        self._kick()

    def freed(self) -> None:
        if not self._space.is_set():
            self._space.set()
            self._space = trio.Event()


_monitors = itertools.count(1)


def _monitor(sock: zmq.Socket, events: int) -> TrioSocket:
    """A socket that receives `events` of `sock`. Each gets an address of its own: a monitor's
    inproc address stays taken for a while after the monitor is disabled."""
    address = f"inproc://carnel.monitor.{os.getpid()}.{next(_monitors)}"
    sock.monitor(address, events)
    reader = sock.context.socket(zmq.PAIR)
    reader.connect(address)
    return TrioSocket(reader)


class BusClient:
    """A joined connection to the kernel's router."""

    def __init__(self, endpoint: str, name: str, *, provides: list[str] = (),
                 ctx: zmq.Context | None = None, credential: Credential | None = None) -> None:
        self.endpoint = endpoint
        self.name = name
        self.credential = credential
        self.provides = [validate_subject(p) for p in provides]
        self.ctx = ctx or zmq.Context.instance()
        self.welcome: Welcome | None = None
        self.sinks: SubscriptionIndex = SubscriptionIndex()
        self.request_sink: Sink | None = None
        self.dropped_replies = 0
        self.malformed = 0
        self.replaced_by: int | None = None  # the pid that took this name, once the kernel says
        self._gone = trio.Event()
        self._ids = itertools.count(1)
        self._calls: dict[int, trio.MemorySendChannel] = {}
        self._outbox = Outbox(OUTBOX, self._kick)
        self._sinks_by_subject: dict[str, list[Sink]] = {}
        # Per sink, the sequence number of the last kept (retained) value it had, per subject.
        self._kept_seen: dict[Sink, dict[str, int]] = {}
        self._wake: trio.CancelScope | None = None
        self._tsock: TrioSocket | None = None
        self._departures: TrioSocket | None = None
        self._closing = False
        self._taken = 0  # publication bytes taken off the socket, and the total last reported
        self._reported = 0
        self._report_every = 0

    # -- life cycle -----------------------------------------------------------------------------

    async def run(self, *, task_status=trio.TASK_STATUS_IGNORED, join_timeout: float = 10) -> None:
        """Connect, join, and pump messages until cancelled; started() once joined."""
        sock = self.ctx.socket(zmq.DEALER)
        sock.setsockopt(zmq.LINGER, 500)
        sock.setsockopt(zmq.SNDHWM, 10_000)
        sock.setsockopt(zmq.RCVHWM, 10_000)
        if self.credential is not None:
            sock.setsockopt(zmq.PLAIN_USERNAME, self.credential.user.encode())
            sock.setsockopt(zmq.PLAIN_PASSWORD, self.credential.secret)
        # libzmq retries a refused handshake quietly forever; watching for the refusal lets a
        # process with a bad credential say so at once instead of timing out.
        refusals = _monitor(sock, zmq.EVENT_HANDSHAKE_FAILED_AUTH
                            | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL)
        sock.connect(self.endpoint)
        self._tsock = TrioSocket(sock)
        refused: CallError | None = None
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._pump)
                # Failing to join ends the nursery from its body, so that the caller gets the
                # error itself rather than wrapped in an exception group.
                joined = None
                with trio.move_on_after(join_timeout):
                    joined = await self._join(refusals)
                if not isinstance(joined, Delivery):
                    refused = joined or Unavailable(
                        f"no kernel answered at {self.endpoint} within {join_timeout} s")
                    nursery.cancel_scope.cancel()
                    return
                sock.disable_monitor()
                refusals.close()
                self._departures = _monitor(sock, zmq.EVENT_DISCONNECTED)
                self.welcome = _welcome.decode(joined.frames[1])
                if self.welcome.max_unread:
                    # Reported well before the kernel's limit, so a process that keeps
                    # reading is never cut off; the first report turns the limit on.
                    self._report_every = max(1, self.welcome.max_unread // 8)
                    await self._put(self._taken_report())
                task_status.started(self.welcome)
                await trio.sleep_forever()
        finally:
            refusals.close()
            if self._departures is not None:
                sock.disable_monitor()  # before its reader goes: libzmq must not write to it
                self._departures.close()
            self._flush_outbox()
            self._say_goodbye()
            self._tsock.close(linger_ms=200)
            if refused is not None:
                raise refused

    async def kernel_gone(self) -> None:
        """Return once the kernel has closed this connection (it stopped, or it disconnected
        this process), or has dropped it for another that joined under the same name
        (`replaced_by` is then that process's pid). A supervised process is stopped by the
        kernel first; a tool (tap, record) should end here rather than wait for messages that
        will never come."""
        if self._departures is None:
            raise RuntimeError("kernel_gone() is for a joined client: await run() first")
        departures = self._departures
        async with trio.open_nursery() as race:
            async def disconnected() -> None:
                await departures.recv_multipart()
                race.cancel_scope.cancel()

            race.start_soon(disconnected)
            await self._gone.wait()
            race.cancel_scope.cancel()

    async def _join(self, refusals: TrioSocket) -> Delivery | CallError:
        """The kernel's Welcome to our HELLO, or why it refused us (its reply, or a refused
        credential in the handshake)."""
        hello = _encode(Hello(name=self.name, pid=os.getpid(), provides=self.provides))
        outcome: list[Delivery | CallError] = []
        async with trio.open_nursery() as race:
            async def join() -> None:
                try:
                    outcome.append(await self.request_raw(Kind.HELLO, "hello", hello,
                                                          timeout=float("inf")))
                except CallError as exc:
                    outcome.append(exc)
                race.cancel_scope.cancel()

            race.start_soon(join)
            await refusals.recv_multipart()
            who = f"the credential of {self.credential.user!r}" if self.credential else \
                "a connection without a credential"
            outcome.append(Denied(f"the kernel at {self.endpoint} refused {who}"))
            race.cancel_scope.cancel()
        return outcome[0]

    def _flush_outbox(self) -> None:
        """Hand libzmq what is still queued, so that closing loses nothing already accepted;
        the socket's linger then gives it time to reach the kernel."""
        if self.welcome is None:
            return
        try:
            _impl.send_batch(self._tsock.sock, self._outbox.queue)
        except zmq.ZMQError:
            pass  # the kernel's side is gone: what is left cannot be delivered

    def _say_goodbye(self) -> None:
        if self.welcome is None:
            return
        try:
            self._tsock.sock.send_multipart(
                [_impl.pack_header(Kind.CONTROL, "bye"), b""], zmq.DONTWAIT)
        except zmq.ZMQError:
            pass  # the kernel is gone or busy: it will notice our silence instead

    # -- sending --------------------------------------------------------------------------------

    async def publish_raw(self, subject: str, payload: bytes, attachments=(), *,
                          retain: bool = False) -> None:
        header = _impl.pack_header(
            Kind.PUB, subject, flags=Flag.RETAIN if retain else 0, msg_id=next(self._ids),
            timestamp_ns=time.time_ns(),
        )
        await self._put([header, payload, *attachments])

    async def send_frames(self, frames: list) -> None:
        await self._put(frames)

    async def request_raw(self, kind: int, subject: str, payload: bytes, attachments=(), *,
                          timeout: float) -> Delivery:
        """Send a message that the kernel answers (REQ, SUB, UNSUB, HELLO) and await the answer."""
        msg_id = next(self._ids)
        send, receive = trio.open_memory_channel(1)
        self._calls[msg_id] = send
        try:
            header = _impl.pack_header(
                kind, subject, msg_id=msg_id, timestamp_ns=time.time_ns(),
                timeout_ms=max(1, int(timeout * 1000)) if kind == Kind.REQ else 0,
            )
            await self._put([header, payload, *attachments])
            # The kernel answers Timeout at the deadline; the grace covers its way back to us.
            with trio.move_on_after(timeout + 0.5):
                reply = await receive.receive()
                if reply.header.kind == Kind.ERR:
                    try:
                        err = _error.decode(reply.frames[1])
                    except UNDECODABLE as exc:
                        raise Internal(f"{reply.header.source} answered with an unreadable "
                                       f"error: {exc}", subject) from None
                    raise error_for(err.code, err.message, subject)
                return reply
            raise Timeout(f"no reply within {timeout} s", subject)
        finally:
            del self._calls[msg_id]

    async def subscribe(self, pattern: str, sink: Sink, timeout: float = 5) -> None:
        """Deliver publications matching `pattern` to `sink`; returns once the kernel has it."""
        validate_pattern(pattern)
        self.sinks.add(pattern, sink)
        self._sinks_by_subject.clear()
        await self.request_raw(Kind.SUB, pattern, b"", timeout=timeout)

    async def unsubscribe(self, pattern: str, sink: Sink, timeout: float = 5) -> None:
        self.sinks.remove(pattern, sink)
        self._sinks_by_subject.clear()
        if not self.sinks.patterns_of(sink):
            self._kept_seen.pop(sink, None)  # subscribed again, it is owed the kept values
        if not self.sinks.holders_of(pattern):
            await self.request_raw(Kind.UNSUB, pattern, b"", timeout=timeout)

    async def _put(self, frames: list) -> None:
        """Queue a message for the pump; anything but a publication (a request, an answer, a
        subscription, a report) goes from this task at once, if nothing waits ahead of it.

        Handing each to the pump cost a call two task switches, the request's and the reply's.
        Publications still go through the pump, which sends them in batches: sent one at a
        time from the publishing task, a flood of small ones went at half the rate. Sending
        here is safe between the pump's own socket calls, since neither awaits in the middle
        of a message; but it may take the socket FD's edge-triggered signal for a message that
        has arrived, so the pump is kicked to look if one has.
        """
        queue, tsock = self._outbox.queue, self._tsock
        header = frames[0]
        if (queue or tsock is None or tsock.sock.closed
                or len(header) < 2 or header[1] == Kind.PUB):
            await self._outbox.put(frames)
            return
        queue.append(frames)
        try:
            sent = _impl.send_batch(tsock.sock, queue)
        except zmq.ZMQError:
            sent = 0  # left queued: the pump meets the same error and ends the client with it
        if not sent or tsock.sock.getsockopt(zmq.EVENTS) & zmq.POLLIN:
            self._kick()

    # -- the pump -------------------------------------------------------------------------------

    def _kick(self) -> None:
        if self._wake is not None:
            self._wake.cancel()

    async def _pump(self) -> None:
        tsock = self._tsock
        sock = tsock.sock
        queue = self._outbox.queue
        recv_batch, send_batch = _impl.recv_batch, _impl.send_batch
        while True:
            sent = send_batch(sock, queue)
            if sent:
                self._outbox.freed()
            batch = recv_batch(sock, 1000)
            if batch:
                self._dispatch(batch)
            if sent or batch:
                await trio.lowlevel.checkpoint()
                continue
            with trio.CancelScope() as self._wake:
                await tsock.wait(zmq.POLLIN | (zmq.POLLOUT if queue else 0))
            self._wake = None

    def _dispatch(self, batch: list[list]) -> None:
        parse = _impl.parse_header
        by_sink: dict[Sink, list[Delivery]] = {}
        taken = 0
        for frames in batch:
            # Frames have the buffer protocol: parsing and decoding read them in place,
            # and no view is made per frame unless a handler asks for one (measured: ~2 us a
            # message less than making them up front).
            try:
                if len(frames) < 2:
                    raise WireError("frames", "a message needs a header and a payload")
                header = parse(frames[0])
            except WireError:
                self.malformed += 1  # the kernel sends none; counted, never fatal to the pump
                continue
            delivery = Delivery(header, frames)
            kind = header.kind
            if kind == Kind.PUB:
                taken += len(frames[1]) if len(frames) == 2 else sum(map(len, frames[1:]))
                sinks = self._sinks_for(header.subject)
                if header.flags & _KEPT:
                    sinks = self._without_repeats(sinks, header)
                for sink in sinks:
                    by_sink.setdefault(sink, []).append(delivery)
            elif kind == Kind.REQ:
                if self.request_sink is not None:
                    by_sink.setdefault(self.request_sink, []).append(delivery)
            elif kind == Kind.CONTROL:
                self._control(header, frames[1])
            else:  # REP, ERR, HELLO: an answer to something we asked
                waiter = self._calls.get(header.corr_id)
                if waiter is None:
                    self.dropped_replies += 1
                else:
                    waiter.send_nowait(delivery)
        for sink, deliveries in by_sink.items():
            sink(deliveries)
        self._taken += taken
        if self._report_every and self._taken - self._reported >= self._report_every:
            self._outbox.queue.append(self._taken_report())  # the pump sends it next

    def _without_repeats(self, sinks: list[Sink], header: Header) -> list[Sink]:
        """The sinks that have not had this kept value yet. The kernel replays kept values on
        each subscription, so a sink subscribed to overlapping patterns (`vehicle.>` and
        `vehicle.Speed`) would get one twice; a replay carries its publication's sequence
        number, and the replay is the subject's latest, so an equal number is a repeat."""
        subject, seq, replay = header.subject, header.seq, header.flags & Flag.RETAINED
        fresh = []
        for sink in sinks:
            seen = self._kept_seen.setdefault(sink, {})
            if replay and seen.get(subject) == seq:
                continue
            seen[subject] = seq
            fresh.append(sink)
        return fresh

    def _control(self, header: Header, payload) -> None:
        if header.subject != "replaced":
            self.malformed += 1
            return
        try:
            self.replaced_by = _replaced.decode(payload).pid
        except UNDECODABLE:
            self.replaced_by = 0  # the kernel's word stands even if its detail is unreadable
        self._gone.set()

    def _taken_report(self) -> list:
        self._reported = self._taken
        return [_impl.pack_header(Kind.CONTROL, "taken"), _encode(Taken(total=self._taken))]

    def _sinks_for(self, subject: str) -> list[Sink]:
        sinks = self._sinks_by_subject.get(subject)
        if sinks is None:
            sinks = list(self.sinks.match(subject))
            if len(self._sinks_by_subject) > 10_000:
                self._sinks_by_subject.clear()
            self._sinks_by_subject[subject] = sinks
        return sinks
