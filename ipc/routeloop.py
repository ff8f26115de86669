"""The router's hot loop in pure Python: receive, check, stamp and fan out publications.

Twin of ext/routeloop.pyx; both are driven by the kernel's router through the same interface and
tested by one suite. Use the active one through `carnel.ipc._impl`.

The loop owns nothing: the router gives it the ROUTER socket and a RouteTable, and runs
``serve(thread)`` in the kernel's route thread, which calls ``drain()`` whenever the socket may
be readable. PUB messages from known peers are routed here; everything else (HELLO, SUB, REQ,
unknown peers...) is appended to ``table.slow`` for the router's Python code (kernel/router.py),
which takes it once ``drain()`` has returned.

``recv_batch(sock, limit)`` and ``send_batch(sock, queue)`` are the clients' side of the same
work: every waiting message taken off a socket, each as a list of zero-copy frames, and a queue
of messages handed to libzmq until it would block.

What the router gets, from either twin: each ``table.slow`` entry is a list of the message's
frames, ``[identity, header, payload, *attachments]`` (shorter if the message was), where
identity and header are ``bytes`` and payload and attachments are zero-copy frames to treat as
read-only (zmq.Frame here, carnel.ext.routeloop.Frame in the extension). ``route.retained`` is
``[stamped header bytes, payload, *attachments]`` with the same frame types. Read frames only
through what both types offer: the buffer protocol (memoryview, bytes(), msgspec decoders,
send_multipart with copy=False), len(), ``.bytes``, ``.buffer``, and ``.get(property)`` for the
message's metadata (the authenticated "User-Id").

No logging and no per-message allocation beyond what pyzmq needs: the loop counts, and the router
logs from the counters outside the loop.

Access control costs the loop one comparison per publication: a route remembers the last peer
allowed to publish on it, and only another peer (or a new subject) asks ``table.authorize(peer,
subject)``, the router's cached policy decision. A refused publication creates no route, so a
peer spraying subjects it may not use does not grow the table. Refusals are counted per peer
under ``malformed.<wire reason>``, ``too_large`` and ``denied.publish``.
"""
from __future__ import annotations

import os
import select
from collections.abc import Callable

import zmq

from carnel.ipc.wire import FIXED_SIZE, MAX_SEQ, Flag, Kind, WireError, restamp

KIND_PUB = int(Kind.PUB)
FLAG_RETAIN = int(Flag.RETAIN)
BATCH = 1000  # bounds how long the router's Trio side waits for its turn


class Peer:
    """One connected, authenticated process, with its traffic counters."""

    __slots__ = (
        "identity", "name", "msgs_in", "bytes_in", "msgs_out", "bytes_out", "drops", "rejects",
        "window", "taken",
    )

    def __init__(self, identity: bytes, name: str) -> None:
        self.identity = identity
        self.name = name
        self.msgs_in = 0
        self.bytes_in = 0
        self.msgs_out = 0
        self.bytes_out = 0
        self.drops = 0  # messages for this peer dropped: its queue or its window was full
        self.rejects: dict[str, int] = {}  # reason -> messages refused from this peer
        # Publication bytes it may leave untaken (0: no limit but the queue's), and the total
        # it says it has taken: bytes_out - taken is what the kernel still holds for it.
        self.window = 0
        self.taken = 0

    def window_full(self, size: int) -> bool:
        """Whether `size` more bytes would pass what it may leave untaken."""
        return self.window != 0 and self.bytes_out + size > self.taken + self.window


class Route:
    """A concrete subject: who receives it, its sequence counter, counters and kept value."""

    __slots__ = ("subject", "peers", "generation", "seq", "msgs", "bytes", "drops", "retained",
                 "publisher")

    def __init__(self, subject: bytes) -> None:
        self.subject = subject
        self.peers: list[Peer] = []
        self.generation = -1  # forces a resolve on first use
        self.seq = 0
        self.msgs = 0
        self.bytes = 0
        self.drops = 0
        self.retained: list | None = None  # [stamped header, payload, *attachments]
        self.publisher: Peer | None = None  # the last peer allowed to publish here


class RouteTable:
    """What the loop reads: peers by identity, routes by subject, and how to resolve a route.

    `resolve(route)` fills ``route.peers`` from the subscription index; it is called when the
    route is new or the table's generation moved on (any SUB, UNSUB, connect or disconnect).
    `authorize(peer, subject)` says whether the peer may publish on the subject (bytes); without
    it every joined peer may. A publication whose frames after the header add up to more than
    `max_size` bytes is refused.
    """

    def __init__(self, resolve: Callable[[Route], None],
                 authorize: Callable[[Peer, bytes], bool] | None = None,
                 max_size: int = 2**63 - 1) -> None:
        self.peers: dict[bytes, Peer] = {}
        self.routes: dict[bytes, Route] = {}
        self.generation = 0
        self.resolve = resolve
        self.authorize = authorize
        self.max_size = max_size
        self.slow: list[list] = []  # [identity, header, payload, ...] frames for the router
        self.malformed = 0  # messages refused before a peer could be charged with them
        self.routed_msgs = 0  # publications routed, and the bytes after their headers
        self.routed_bytes = 0

    def invalidate(self) -> None:
        self.generation += 1


def recv_batch(sock: zmq.Socket, limit: int = 1000) -> list[list]:
    """Up to `limit` whole messages waiting on `sock`, taken without blocking: each a list of
    read-only frames (zmq.Frame here), as recv_multipart(copy=False) gives them."""
    batch = []
    recv = sock.recv_multipart
    while len(batch) < limit:
        try:
            batch.append(recv(zmq.NOBLOCK, copy=False))
        except zmq.Again:
            break
    return batch


def send_batch(sock: zmq.Socket, queue) -> int:
    """Send the messages at the front of `queue` (a deque of frame lists) until the socket would
    block; removes the ones sent and returns how many."""
    sent = 0
    while queue:
        try:
            # libzmq admits or refuses a multipart message as a whole at its first frame.
            sock.send_multipart(queue[0], zmq.NOBLOCK, copy=False)
        except zmq.Again:
            break
        queue.popleft()
        sent += 1
    return sent


def _for_router(frames: list, identity: bytes) -> list:
    frames[0] = identity
    if len(frames) > 1:
        frames[1] = frames[1].bytes
    return frames


def _allowed(_peer: Peer, _subject: bytes) -> bool:
    return True


def reject(peer: Peer, reason: str) -> None:
    peer.rejects[reason] = peer.rejects.get(reason, 0) + 1


class RouteLoop:
    """Drains a ROUTER socket and fans publications out; the pure-Python implementation."""

    implementation = "pure"

    def __init__(self, sock: zmq.Socket, table: RouteTable, batch: int = BATCH) -> None:
        self.sock = sock
        self.table = table
        self.batch = batch

    def drain(self) -> int:
        """Handle up to `batch` waiting messages without blocking; returns how many."""
        sock = self.sock
        table = self.table
        peers = table.peers
        authorize = table.authorize or _allowed
        max_size = table.max_size
        handled = 0
        while handled < self.batch:
            try:
                frames = sock.recv_multipart(zmq.NOBLOCK, copy=False)
            except zmq.Again:
                break
            handled += 1
            identity = frames[0].bytes
            peer = peers.get(identity)
            if peer is None or len(frames) < 3:
                table.slow.append(_for_router(frames, identity))
                continue
            header = frames[1].buffer
            if len(header) < FIXED_SIZE or header[1] != KIND_PUB:
                table.slow.append(_for_router(frames, identity))
                continue
            size = 0
            for frame in frames[2:]:
                size += len(frame.buffer)
            peer.msgs_in += 1
            peer.bytes_in += size
            if size > max_size:
                reject(peer, "too_large")
                continue
            try:
                stamped = restamp(header, peer.name, 0)
            except WireError as exc:
                reject(peer, "malformed." + exc.reason)
                continue
            subject = bytes(header[FIXED_SIZE + header[36]:])
            route = table.routes.get(subject)
            if route is None or route.publisher is not peer:
                if not authorize(peer, subject):
                    reject(peer, "denied.publish")
                    continue
                if route is None:
                    route = Route(subject)
                    table.routes[subject] = route
                route.publisher = peer
            if route.generation != table.generation:
                table.resolve(route)
                route.generation = table.generation
            seq = route.seq + 1 if route.seq < MAX_SEQ else 1
            stamped = stamped[:4] + seq.to_bytes(4, "little") + stamped[8:]
            route.seq = seq
            route.msgs += 1
            route.bytes += size
            table.routed_msgs += 1
            table.routed_bytes += size
            if header[2] & FLAG_RETAIN:
                route.retained = [stamped, *frames[2:]]
            self._fan_out(route, stamped, frames, size)
        return handled

    def serve(self, thread) -> None:
        """The route thread's body (kernel/routethread.py's RouteThread is `thread`): drain
        whenever the socket has messages, until `thread.stopping`.

        It waits in poll() on the socket's FD and the thread's wake-up fd, with the GIL released.
        The FD is edge-triggered and any zmq call can consume its signal, so it waits only once
        ZMQ_EVENTS says nothing is readable. While `slow_backlog` messages wait for the slow
        path it stops reading and waits on the wake-up alone, which `take_slow()` sends.
        """
        sock, wake_fd = self.sock, thread.wake_fd
        wait_any = select.poll()
        wait_any.register(wake_fd, select.POLLIN)
        wait_any.register(sock.getsockopt(zmq.FD), select.POLLIN)
        wait_wake = select.poll()
        wait_wake.register(wake_fd, select.POLLIN)
        while True:
            while True:
                with thread.turnstile:
                    thread.lock.acquire()
                try:
                    if thread.stopping:
                        return
                    backed_up = len(self.table.slow) >= thread.slow_backlog
                    more = False
                    if not backed_up:
                        more = (self.drain() >= self.batch
                                or bool(sock.getsockopt(zmq.EVENTS) & zmq.POLLIN))
                    hand_over = bool(self.table.slow) and thread.hand_over()
                finally:
                    thread.lock.release()
                if hand_over:
                    thread.on_slow()
                if not more:
                    break
            ready = (wait_wake if backed_up else wait_any).poll()
            if any(fd == wake_fd for fd, _ in ready):
                os.eventfd_read(wake_fd)

    def _fan_out(self, route: Route, stamped: bytes, frames: list, size: int) -> None:
        out = [None, stamped, *frames[2:]]
        sock = self.sock
        for sub in route.peers:
            if sub.window_full(size):
                sub.drops += 1  # it has left its window's worth untaken: drop for it alone
                route.drops += 1
                continue
            out[0] = sub.identity
            try:
                sock.send_multipart(out, zmq.DONTWAIT, copy=False)
            except zmq.Again:  # its queue is full (ROUTER_MANDATORY): drop for it alone
                sub.drops += 1
                route.drops += 1
            except zmq.ZMQError as exc:
                if exc.errno != zmq.EHOSTUNREACH:
                    raise
                sub.drops += 1  # gone between its disconnect and our noticing
                route.drops += 1
            else:
                sub.msgs_out += 1
                sub.bytes_out += size
