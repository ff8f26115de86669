"""The kernel's router: the bus's ROUTER socket, its route thread and its Trio task.

Publications from known peers are routed by the hot loop (`carnel.ipc._impl.RouteLoop`, compiled
or pure), which runs in the route thread (kernel/routethread.py). Requests between joined peers
and their replies are routed by this module's Python, in that thread too. Everything else is
handed to the router's Trio task: peers joining, subscriptions, the kernel's own requests,
readiness, heartbeats, timeouts. The router never blocks on a peer: every send is non-blocking,
and a peer whose queue is full loses that message alone, counted.

The two threads take turns: the Trio task touches the socket and the router's state only while
it holds the route thread off (`RouteThread.exclusive()`), and the route thread runs only when
the Trio task does not. Other tasks reach them only through `post()`, which queues a callable
for the router task, or through `stats()` and `rejects_of()`, which take the same lock. With
`cpu` set, the Trio task also reviews where the route thread and libzmq's I/O thread run
(kernel/placement.py): on that CPU together while the bus carries small messages.

Security: with `authenticate`, libzmq admits a connection only after the kernel's ZAP handler
accepted its credential, and every message then carries the authenticated principal ("User-Id").
A HELLO binds the connection to a name that principal may use, and from then on the router
stamps that name as the source of everything the peer sends. Every verb is checked against the
peer's AccessPolicy (default deny); refusals are counted per peer and reason, logged once per
burst, and a peer that keeps being refused is disconnected and reported.
"""
from __future__ import annotations

import collections
import contextlib
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import msgspec
import structlog
import trio
import zmq

from carnel.ipc import _impl
from carnel.ipc.errors import UNDECODABLE, CallError
from carnel.ipc.schemas.bus import (
    BusStats,
    ErrorReply,
    Hello,
    ProcessStats,
    Replaced,
    SubjectStats,
    Taken,
    Welcome,
)
from carnel.ipc.subjects import (
    ProviderIndex,
    SubjectError,
    SubscriptionIndex,
    matches,
    validate_subject,
)
from carnel.ipc.wire import Flag, Header, Kind, WireError, check_source
from carnel.kernel import placement
from carnel.kernel.access import AccessControl, AccessPolicy, Verb
from carnel.kernel.events import PeerAbusive, PeerEvent, PeerJoined, PeerLeft, PeerReady, PeerSeen
from carnel.kernel.message_memory import keep_message_memory
from carnel.kernel.requests import Pending, PendingRequests
from carnel.kernel.routethread import RouteThread

KERNEL = "kernel"
LocalHandler = Callable[[Header, bytes], Awaitable[bytes]]

_hello_decoder = msgspec.msgpack.Decoder(Hello)
_taken_decoder = msgspec.msgpack.Decoder(Taken)
_encoder = msgspec.msgpack.Encoder()


@dataclass(frozen=True, slots=True)
class RouterSettings:
    endpoint: str
    heartbeat_ms: int = 1000
    heartbeat_misses: int = 3
    max_message_size: int = 32 * 2**20
    hwm: int = 1000
    default_timeout_ms: int = 5000
    max_timeout_ms: int = 300_000
    # Admit only connections the ZAP handler accepted (the kernel always does; off only to
    # measure what authentication costs).
    authenticate: bool = True
    # Refusals in one second past which a peer counts as abusive and is disconnected.
    abuse_limit: int = 1000
    # The CPU the route thread and libzmq's I/O thread share while the bus carries small
    # messages (kernel/placement.py); None leaves them to the scheduler.
    cpu: int | None = None
    # Publication bytes the kernel holds for a process beyond what it has reported taken (the
    # SDK reports): past them it drops for that process, so a stuck reader of large messages
    # cannot make the kernel hold hwm of them.
    max_unread: int = 64 * 2**20


@dataclass(slots=True)
class Connection:
    """What the router knows of a joined process beyond the hot loop's Peer."""

    peer: object  # the implementation's Peer
    pid: int
    provides: list[str]
    last_seen: float
    policy: AccessPolicy
    patterns: set[str] = field(default_factory=set)
    reported_rejects: int = 0  # refusals already logged


class Router:
    def __init__(
        self,
        ctx: zmq.Context,
        settings: RouterSettings,
        events: trio.MemorySendChannel[PeerEvent] | None = None,
        impl=_impl.ACTIVE,
        *,
        access: AccessControl,
    ) -> None:
        self.ctx = ctx
        self.settings = settings
        self.impl = impl
        self.events = events
        self.access = access
        self.log = structlog.get_logger().bind(process=KERNEL)
        self.table = impl.RouteTable(self._resolve, self._may_publish, settings.max_message_size)
        self.subscriptions: SubscriptionIndex = SubscriptionIndex()
        self.providers: ProviderIndex = ProviderIndex()
        self.local: dict[str, LocalHandler] = {}
        # The supervisor watches its own processes' heartbeats and says when they exit;
        # the router reaps only the others (tools, tests) when they fall silent.
        self.supervised: frozenset[str] = frozenset()
        self.connections: dict[bytes, Connection] = {}
        self.by_name: dict[str, bytes] = {}
        self.pending = PendingRequests()
        self.anonymous_rejects: collections.Counter[str] = collections.Counter()
        self.banned: set[bytes] = set()  # connections disconnected for abuse
        # Refusals of connections that have gone, by name: a restart must not wipe the record.
        self.past_rejects: dict[str, collections.Counter[str]] = {}
        self.requests_timed_out = 0
        self._commands: collections.deque[Callable[[], None]] = collections.deque()
        self._wake: trio.CancelScope | None = None
        self._slow_waiting = False
        self._sleep_until = float("inf")
        self._now: Callable[[], float] = trio.current_time
        self._poke: Callable[[], None] = lambda: None
        self._sock: zmq.Socket | None = None
        self._thread: RouteThread | None = None
        self._nursery: trio.Nursery | None = None
        self._msg_id = 0
        self._next_reap = 0.0
        self._next_report = 0.0
        self._placement = placement.Placement()
        self._next_review = float("inf")
        self._placed = False

    # -- the task ---------------------------------------------------------------------------

    async def run(self, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        unkept = keep_message_memory()  # before the first message is read
        sock = self.ctx.socket(zmq.ROUTER)
        sock.setsockopt(zmq.ROUTER_MANDATORY, 1)
        sock.setsockopt(zmq.SNDHWM, self.settings.hwm)
        sock.setsockopt(zmq.RCVHWM, self.settings.hwm)
        sock.setsockopt(zmq.MAXMSGSIZE, self.settings.max_message_size)
        sock.setsockopt(zmq.LINGER, 0)
        if self.settings.authenticate:
            sock.setsockopt(zmq.PLAIN_SERVER, 1)
            sock.setsockopt(zmq.ZAP_DOMAIN, b"carnel")
            # Without it libzmq admits everyone when no ZAP handler answers.
            sock.setsockopt(zmq.ZAP_ENFORCE_DOMAIN, 1)
        sock.bind(self.settings.endpoint)
        self._sock = sock
        self._now = trio.lowlevel.current_clock().current_time  # Trio's clock, from any thread
        token = trio.lowlevel.current_trio_token()
        self._poke = lambda: token.run_sync_soon(self._slow_arrived)
        thread = RouteThread(self.impl.RouteLoop(sock, self.table), on_slow=self._poke,
                             inline=self._route_in_thread)
        self.log.info("router_started", endpoint=self.settings.endpoint, hot_path=self.impl.name,
                      authenticate=self.settings.authenticate)
        if unkept:
            self.log.info("message_memory_not_kept", reason=unkept)
        try:
            thread.start()
            self._thread = thread
            if self.settings.cpu is not None:
                self._next_review = self._now()
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                task_status.started()
                await self._serve(thread)
        finally:
            self._thread = None
            thread.stop()
            sock.close(linger=0)

    async def _serve(self, thread: RouteThread) -> None:
        while True:
            self._slow_waiting = False
            with thread.exclusive():
                if thread.error is not None:
                    raise RuntimeError("the route thread failed") from thread.error
                while self._commands:
                    self._commands.popleft()()
                for frames in thread.take_slow():
                    self._slow_path(frames)
                self._expire()
                if self._now() >= self._next_report:
                    self._report_refusals()
                if self._now() >= self._next_review:
                    self._review_placement(thread)
                self._sleep_until = self._next_wake()
            with trio.CancelScope(deadline=self._sleep_until) as self._wake:
                if self._commands or self._slow_waiting:
                    self._wake.cancel()
                await trio.sleep_forever()
            self._wake = None

    def _slow_arrived(self) -> None:
        """In the Trio thread: the route thread handed messages over, added a request with an
        earlier deadline than the task sleeps until, or failed."""
        self._slow_waiting = True
        if self._wake is not None:
            self._wake.cancel()

    def post(self, command: Callable[[], None]) -> None:
        """Run `command` in the router task, the only task that may touch the socket."""
        self._commands.append(command)
        if self._wake is not None:
            self._wake.cancel()

    def provide_local(self, prefix: str, handler: LocalHandler) -> None:
        """Answer requests under `prefix` inside the kernel (the control API)."""
        self.local[prefix] = handler

    def _next_wake(self) -> float:
        return min(self.pending.next_deadline(), self._next_reap, self._next_report,
                   self._next_review)

    def _review_placement(self, thread: RouteThread) -> None:
        self._next_review = self._now() + placement.REVIEW_S
        moved = self._placement.review(self.table.routed_msgs, self.table.routed_bytes)
        if not moved and self._placed:
            return
        io = placement.io_threads()
        if not io:
            return  # libzmq names its I/O thread once it runs: look again next time
        together = self._placement.together
        cpus = {self.settings.cpu} if together else os.sched_getaffinity(0)
        placement.hold([thread.native_id, *io], cpus)
        self._placed = True
        self.log.info("router_threads_placed", together=together, cpus=sorted(cpus))

    # -- slow path ----------------------------------------------------------------------------

    def _slow_path(self, frames: list) -> None:
        identity = frames[0]  # both hot paths hand identity and header over as bytes
        conn = self.connections.get(identity)
        if identity in self.banned:
            self.anonymous_rejects["banned"] += 1
            return
        if len(frames) < 3:
            self._reject(conn, "malformed.frames")
            return
        try:
            header = self.impl.parse_header(frames[1])
        except WireError as exc:
            self._reject(conn, f"malformed.{exc.reason}")
            return
        if conn is None:
            if header.kind == Kind.HELLO:
                self._hello(identity, header, frames)
            else:
                self._reject(None, "unknown_peer")
                if header.kind == Kind.REQ:
                    self._send_error(identity, header.msg_id, header.subject,
                                     "denied", "say HELLO first")
            return
        conn.last_seen = self._now()
        handler = self._handlers.get(header.kind)
        if handler is None:
            self._reject(conn, "unknown_kind")
            return
        handler(self, conn, identity, header, frames)

    def _route_in_thread(self, frames: list) -> bool:
        """Requests between joined peers and their replies, routed by the route thread itself
        (holding the lock) instead of waiting for the Trio task; False for anything else."""
        identity = frames[0]
        conn = self.connections.get(identity)
        if conn is None or len(frames) < 3:
            return False
        try:
            header = self.impl.parse_header(frames[1])
        except WireError:
            return False
        kind = header.kind
        if kind == Kind.REQ:
            if self._local_handler(header.subject) is not None:
                return False  # the kernel's own answers run as Trio tasks
        elif kind == Kind.CONTROL and header.subject == "taken":
            self._taken(conn, frames)
            return True
        elif kind != Kind.REP and kind != Kind.ERR:
            return False
        conn.last_seen = self._now()
        self._handlers[kind](self, conn, identity, header, frames)
        deadline = self.pending.next_deadline()
        if deadline < self._sleep_until:
            self._sleep_until = deadline
            self._poke()  # the Trio task must wake for this deadline, not its later one
        return True

    def _deny(self, conn: Connection, identity: bytes, header: Header, verb: Verb) -> None:
        """Refuse a SUB or REQ at once with a typed error: the caller must not wait it out."""
        self._reject(conn, f"denied.{verb}")
        # An ERR header names a concrete subject, and a refused pattern may hold wildcards.
        subject = header.subject if verb is Verb.CALL else str(verb)
        self._send_error(identity, header.msg_id, subject, "denied",
                         f"{conn.peer.name} may not {verb} {header.subject}")

    def _may_publish(self, peer, subject: bytes) -> bool:
        """The hot loop's question for a subject or publisher it has not seen allowed yet."""
        conn = self.connections.get(peer.identity)
        return conn is not None and conn.policy.allows(Verb.PUBLISH, subject.decode("ascii"))

    def _reject(self, conn: Connection | None, reason: str) -> None:
        if conn is None:
            self.anonymous_rejects[reason] += 1
            return
        rejects = conn.peer.rejects
        rejects[reason] = rejects.get(reason, 0) + 1

    def _hello(self, identity: bytes, header: Header, frames: list) -> None:
        try:
            hello = _hello_decoder.decode(frames[2])
            check_source(hello.name.encode("ascii"))
            providing = [validate_subject(p) for p in hello.provides]
        except (*UNDECODABLE, WireError, SubjectError) as exc:
            self._reject(None, "malformed.hello")
            self.log.warning("hello_refused", error=str(exc))
            return
        if not identity.startswith(b"\0"):
            # Only libzmq's own routing ids (a zero byte, then a counter) are accepted, so no
            # process can pick the id of a peer that left and speak under its name.
            self._refuse_hello(identity, header, "denied.routing_id", "?", hello.name,
                               "set no ZMQ_ROUTING_ID: the kernel assigns connections their ids")
            return
        principal = frames[2].get("User-Id") if self.settings.authenticate else hello.name
        policy = self.access.policy(principal, hello.name)
        if policy is None:
            self._refuse_hello(identity, header, "denied.name", principal, hello.name,
                               f"{principal!r} may not join as {hello.name!r}")
            return
        refused = [p for p in providing if not policy.allows(Verb.PROVIDE, p)]
        if refused:
            self._refuse_hello(identity, header, "denied.provide", principal, hello.name,
                               f"{hello.name!r} may not provide {', '.join(refused)}")
            return
        old = self.by_name.get(hello.name)
        if old is not None:
            # Another connection (a joined one's own HELLO is refused as an unknown kind). The
            # newcomer wins (a restarted process must not wait out its dead predecessor), and
            # the one it replaces is told, so it does not carry on unheard.
            self.log.warning("peer_replaced", peer=hello.name, old_pid=self.connections[old].pid,
                             new_pid=hello.pid)
            self._send(old, self.impl.pack_header(Kind.CONTROL, "replaced"),
                       _encoder.encode(Replaced(pid=hello.pid)))
            self._leave(old, "replaced")
        peer = self.impl.Peer(identity, hello.name)
        # From the start, not from its first report: a process that never reports (one not
        # built on the Service SDK, or a hostile one) and reads nothing would otherwise make
        # the kernel hold up to high_water_mark messages of up to max_message_size for it.
        peer.window = self.settings.max_unread
        conn = Connection(peer=peer, pid=hello.pid, provides=providing,
                          last_seen=self._now(), policy=policy)
        self.connections[identity] = conn
        self.by_name[hello.name] = identity
        self.table.peers[identity] = peer
        for prefix in providing:
            self.providers.add(prefix, identity)
        welcome = Welcome(name=hello.name, heartbeat_ms=self.settings.heartbeat_ms,
                          implementation=self.impl.name, max_unread=self.settings.max_unread)
        self._send(identity, self._reply_header(Kind.HELLO, header), _encoder.encode(welcome))
        self.log.info("peer_joined", peer=hello.name, pid=hello.pid, provides=providing)
        self._emit(PeerJoined(hello.name, hello.pid))

    def _refuse_hello(self, identity: bytes, header: Header, reason: str, principal: str,
                      name: str, message: str) -> None:
        self.anonymous_rejects[reason] += 1
        self.log.warning("hello_refused", principal=principal, name=name, reason=reason)
        self._send_error(identity, header.msg_id, header.subject, "denied", message)

    def _leave(self, identity: bytes, reason: str) -> None:
        conn = self.connections.pop(identity, None)
        if conn is None:
            return
        name = conn.peer.name
        if conn.peer.rejects:
            self.past_rejects.setdefault(name, collections.Counter()).update(conn.peer.rejects)
        if self.by_name.get(name) == identity:
            del self.by_name[name]
        self.table.peers.pop(identity, None)
        self.subscriptions.remove_holder(conn.peer)
        for prefix in conn.provides:
            self.providers.remove(prefix, identity)
        for pending in self.pending.drop_provider(identity):
            self._send_error(pending.caller, pending.caller_msg_id, pending.subject,
                             "unavailable", f"{name} left ({reason}) before answering")
        self.pending.drop_caller(identity)
        self.table.invalidate()
        self.log.info("peer_left", peer=name, reason=reason)
        self._emit(PeerLeft(name, reason))

    def _subscribe(self, conn: Connection, identity: bytes, header: Header, frames: list) -> None:
        pattern = header.subject
        if not conn.policy.allows(Verb.SUBSCRIBE, pattern):
            self._deny(conn, identity, header, Verb.SUBSCRIBE)
            return
        if pattern not in conn.patterns:
            conn.patterns.add(pattern)
            self.subscriptions.add(pattern, conn.peer)
            self.table.invalidate()
        # Acknowledge (echoing the kind: a REP may not carry a wildcard) first, so the
        # subscriber knows everything after this ack is live...
        self._send(identity, self._reply_header(header.kind, header), b"")
        # ...then hand it the kept values it has not seen. They count against its window as
        # publications do (and the SDK counts them taken): a process that subscribes again and
        # again, reading nothing, is held to the window like any other.
        for route in self.table.routes.values():
            kept = route.retained
            if kept is not None and matches(pattern, route.subject.decode()):
                replay = self.impl.parse_header(kept[0])
                stamped = self.impl.pack_header(
                    replay.kind, replay.subject, flags=replay.flags | Flag.RETAINED,
                    seq=replay.seq, msg_id=replay.msg_id, timestamp_ns=replay.timestamp_ns,
                    source=replay.source,
                )
                self._send_publication(conn.peer, sum(map(len, kept[1:])), stamped, *kept[1:])

    def _unsubscribe(self, conn: Connection, identity: bytes, header: Header, frames: list) -> None:
        if header.subject in conn.patterns:
            conn.patterns.discard(header.subject)
            self.subscriptions.remove(header.subject, conn.peer)
            self.table.invalidate()
        self._send(identity, self._reply_header(header.kind, header), b"")

    def _request(self, conn: Connection, identity: bytes, header: Header, frames: list) -> None:
        if not conn.policy.allows(Verb.CALL, header.subject):
            self._deny(conn, identity, header, Verb.CALL)
            return
        timeout_ms = header.timeout_ms or self.settings.default_timeout_ms
        timeout_ms = min(timeout_ms, self.settings.max_timeout_ms)
        local = self._local_handler(header.subject)
        if local is not None:
            self._nursery.start_soon(self._answer_locally, local, identity, header,
                                     bytes(frames[2]), timeout_ms)
            return
        provider = self.providers.lookup(header.subject)
        if provider is None:
            self._send_error(identity, header.msg_id, header.subject, "unavailable",
                             f"no connected process provides {header.subject}")
            return
        forward_id = self.pending.add(Pending(
            caller=identity, caller_msg_id=header.msg_id, provider=provider,
            subject=header.subject, deadline=self._now() + timeout_ms / 1000,
        ))
        forwarded = self.impl.pack_header(
            Kind.REQ, header.subject, flags=header.flags, msg_id=forward_id,
            timestamp_ns=header.timestamp_ns, timeout_ms=timeout_ms, source=conn.peer.name,
        )
        if not self._send(provider, forwarded, *frames[2:]):
            # Its queue is full (or it just went): say so now rather than at the deadline.
            self.pending.answer(forward_id, provider)
            busy = self.connections.get(provider)
            self._send_error(identity, header.msg_id, header.subject, "unavailable",
                             f"{busy.peer.name if busy else 'the provider'} is not keeping up: "
                             "its queue is full")

    def _reply(self, conn: Connection, identity: bytes, header: Header, frames: list) -> None:
        pending = self.pending.answer(header.corr_id, identity)
        if pending is None:
            self._reject(conn, "unexpected_reply")  # late (timed out) or never asked
            return
        answered = self.impl.pack_header(
            header.kind, pending.subject, flags=header.flags, corr_id=pending.caller_msg_id,
            timestamp_ns=header.timestamp_ns, source=conn.peer.name,
        )
        self._send(pending.caller, answered, *frames[2:])

    def _ready(self, conn: Connection, identity: bytes, header: Header, frames: list) -> None:
        self.log.info("peer_ready", peer=conn.peer.name)
        self._emit(PeerReady(conn.peer.name))

    def _heartbeat(self, conn: Connection, identity: bytes, header: Header, frames: list) -> None:
        self._emit(PeerSeen(conn.peer.name))

    def _control(self, conn: Connection, identity: bytes, header: Header, frames: list) -> None:
        if header.subject == "bye":
            self._leave(identity, "closed")
        elif header.subject == "taken":
            self._taken(conn, frames)
        else:
            self._reject(conn, "control")

    def _taken(self, conn: Connection, frames: list) -> None:
        """A process says how much it has taken: the kernel holds at most `max_unread`
        publication bytes beyond that for it."""
        try:
            total = _taken_decoder.decode(frames[2]).total
        except UNDECODABLE:
            self._reject(conn, "malformed.taken")
            return
        peer = conn.peer
        peer.taken = max(peer.taken, min(total, peer.bytes_out))

    def _publication(self, conn: Connection, identity: bytes, header: Header, frames: list) -> None:
        # The hot loop routes a joined peer's publications itself; it hands one over only when
        # the peer's HELLO was in the same batch, so the peer was not known yet.
        peer = conn.peer
        size = sum(len(frame) for frame in frames[2:])
        peer.msgs_in += 1
        peer.bytes_in += size
        if size > self.settings.max_message_size:
            self._reject(conn, "too_large")
            return
        if not conn.policy.allows(Verb.PUBLISH, header.subject):
            self._reject(conn, "denied.publish")
            return
        self._deliver(header.subject, peer.name, header.flags, header.msg_id,
                      header.timestamp_ns, frames[2:])

    _handlers = {
        Kind.SUB: _subscribe,
        Kind.UNSUB: _unsubscribe,
        Kind.REQ: _request,
        Kind.REP: _reply,
        Kind.ERR: _reply,
        Kind.READY: _ready,
        Kind.HEARTBEAT: _heartbeat,
        Kind.CONTROL: _control,
        Kind.PUB: _publication,
    }

    # -- requests the kernel answers itself -----------------------------------------------------

    def _local_handler(self, subject: str) -> LocalHandler | None:
        head = subject.split(".", 1)[0]
        return self.local.get(head)

    async def _answer_locally(self, handler: LocalHandler, identity: bytes, header: Header,
                              payload: bytes, timeout_ms: int) -> None:
        try:
            with trio.fail_after(timeout_ms / 1000):
                reply = await handler(header, payload)
        except CallError as exc:
            code, message = exc.code, exc.message  # `exc` is unbound once the except ends
            self.post(lambda: self._send_error(identity, header.msg_id, header.subject,
                                               code, message))
        except trio.TooSlowError:
            self.post(lambda: self._send_error(identity, header.msg_id, header.subject,
                                               "timeout", "the kernel did not answer in time"))
        except Exception as exc:  # a bug in a kernel handler must not take the kernel down
            self.log.exception("control_request_failed", subject=header.subject)
            detail = f"{type(exc).__name__}: {exc}"
            self.post(lambda: self._send_error(identity, header.msg_id, header.subject,
                                               "internal", detail))
        else:
            self.post(lambda: self._send(identity, self._reply_header(Kind.REP, header), reply))

    # -- sending --------------------------------------------------------------------------------

    def _reply_header(self, kind: int, request: Header) -> bytes:
        return self.impl.pack_header(kind, request.subject, corr_id=request.msg_id, source=KERNEL)

    def _send_error(self, identity: bytes, msg_id: int, subject: str, code: str, message: str) -> None:
        header = self.impl.pack_header(Kind.ERR, subject, corr_id=msg_id, source=KERNEL)
        self._send(identity, header, _encoder.encode(ErrorReply(code=code, message=message)))

    def _send(self, identity: bytes, *frames) -> bool:
        """Send without ever blocking; a full or vanished peer loses this message, counted."""
        try:
            self._sock.send_multipart([identity, *frames], zmq.DONTWAIT, copy=False)
        except zmq.Again:
            self._count_drop(identity)
            return False
        except zmq.ZMQError as exc:
            if exc.errno != zmq.EHOSTUNREACH:
                raise
            self._count_drop(identity)
            return False
        return True

    def _count_drop(self, identity: bytes) -> None:
        conn = self.connections.get(identity)
        if conn is not None:
            conn.peer.drops += 1

    def publish(self, subject: str, payload: bytes, *, retain: bool = False) -> None:
        """Publish from the kernel itself (process states); call from the router task or post()."""
        self._msg_id += 1
        self._deliver(subject, KERNEL, Flag.RETAIN if retain else 0, self._msg_id,
                      time.time_ns(), [payload])

    def _deliver(self, subject: str, source: str, flags: int, msg_id: int, timestamp_ns: int,
                 body: list) -> None:
        """Fan a publication out from Python: the kernel's own, or one the hot loop handed over
        because its sender joined in the same batch. Same stamping and counting as the loop."""
        route = self.table.routes.get(subject.encode())
        if route is None:
            route = self.impl.Route(subject.encode())
            self.table.routes[route.subject] = route
        if route.generation != self.table.generation:
            self._resolve(route)
            route.generation = self.table.generation
        route.seq = route.seq + 1 if route.seq < 0xFFFFFFFF else 1
        header = self.impl.pack_header(
            Kind.PUB, subject, flags=flags, seq=route.seq, msg_id=msg_id,
            timestamp_ns=timestamp_ns, source=source,
        )
        size = sum(len(frame) for frame in body)
        route.msgs += 1
        route.bytes += size
        if flags & Flag.RETAIN:
            route.retained = [header, *body]
        for peer in route.peers:
            if not self._send_publication(peer, size, header, *body):
                route.drops += 1

    def _send_publication(self, peer, size: int, *frames) -> bool:
        """Send one subscriber a publication of `size` bytes, held to its window; counted for it,
        sent or dropped for it alone, as the hot loop does."""
        if peer.window_full(size):
            peer.drops += 1
            return False
        if not self._send(peer.identity, *frames):
            return False  # counted by _send
        peer.msgs_out += 1
        peer.bytes_out += size
        return True

    # -- housekeeping ---------------------------------------------------------------------------

    def _resolve(self, route) -> None:
        route.peers = sorted(self.subscriptions.match(route.subject.decode()),
                             key=lambda p: p.identity)

    def _expire(self) -> None:
        now = self._now()
        for pending in self.pending.expire(now):
            self.requests_timed_out += 1
            self._send_error(pending.caller, pending.caller_msg_id, pending.subject, "timeout",
                             f"no reply to {pending.subject} before the caller's deadline")
        # Looking for silent peers walks every connection: once per heartbeat, not per wake-up.
        if now < self._next_reap:
            return
        self._next_reap = now + self.settings.heartbeat_ms / 1000
        silence = self.settings.heartbeat_ms * self.settings.heartbeat_misses / 1000
        for identity, conn in list(self.connections.items()):
            if now - conn.last_seen > silence and conn.peer.name not in self.supervised:
                self._leave(identity, "silent")

    def _report_refusals(self) -> None:
        """Log each peer's refusals once per burst (at most once a second), and disconnect a peer
        refused more than `abuse_limit` times in that second."""
        self._next_report = self._now() + 1.0
        for identity, conn in list(self.connections.items()):
            rejects = conn.peer.rejects
            total = sum(count for reason, count in rejects.items() if reason != "unexpected_reply")
            fresh = total - conn.reported_rejects
            if fresh <= 0:
                continue
            conn.reported_rejects = total
            self.log.warning("messages_refused", peer=conn.peer.name, refused=fresh,
                             totals=dict(rejects))
            if fresh > self.settings.abuse_limit:
                self.banned.add(identity)
                self._leave(identity, "abusive")
                self.log.error("peer_disconnected_for_abuse", peer=conn.peer.name, pid=conn.pid,
                               refused_in_last_second=fresh)
                self._emit(PeerAbusive(conn.peer.name, fresh))

    def forget(self, name: str, reason: str) -> None:
        """A process has gone (its exit was seen): drop its connection now."""
        identity = self.by_name.get(name)
        if identity is not None:
            self._leave(identity, reason)

    def _emit(self, event: PeerEvent) -> None:
        if self.events is None:
            return
        try:
            self.events.send_nowait(event)
        except trio.WouldBlock:
            self.log.warning("kernel_events_full", dropped=type(event).__name__)

    def _exclusive(self) -> contextlib.AbstractContextManager:
        """Hold the route table still: the route thread updates counters and routes as it runs."""
        return self._thread.exclusive() if self._thread is not None else contextlib.nullcontext()

    def rejects_of(self, name: str) -> dict[str, int]:
        """Every refusal of the process called `name`, over all its connections."""
        with self._exclusive():
            return self._rejects_of(name)

    def _rejects_of(self, name: str) -> dict[str, int]:
        total = collections.Counter(self.past_rejects.get(name, {}))
        identity = self.by_name.get(name)
        if identity is not None:
            total.update(self.connections[identity].peer.rejects)
        return dict(total)

    def stats(self) -> BusStats:
        with self._exclusive():
            return self._stats()

    def _stats(self) -> BusStats:
        processes = [
            ProcessStats(
                name=c.peer.name, pid=c.pid, msgs_in=c.peer.msgs_in, bytes_in=c.peer.bytes_in,
                msgs_out=c.peer.msgs_out, bytes_out=c.peer.bytes_out, drops=c.peer.drops,
                rejects=self._rejects_of(c.peer.name),
            )
            for c in self.connections.values()
        ]
        subjects = [
            SubjectStats(
                subject=r.subject.decode(), subscribers=len(r.peers), seq=r.seq, msgs=r.msgs,
                bytes=r.bytes, drops=r.drops, retained=r.retained is not None,
            )
            for r in self.table.routes.values()
        ]
        return BusStats(
            implementation=self.impl.name, processes=sorted(processes, key=lambda p: p.name),
            subjects=sorted(subjects, key=lambda s: s.subject),
            anonymous_rejects=dict(self.anonymous_rejects),
            requests_timed_out=self.requests_timed_out,
        )
