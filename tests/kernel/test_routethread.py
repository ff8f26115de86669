"""The route thread on real sockets: it routes on its own, hands the rest over, and shares.

The test's own thread plays the router's Trio side: it takes the socket with `exclusive()`.
"""
from __future__ import annotations

import threading
import time

import pytest
import zmq

from carnel.ipc.wire import Kind
from carnel.kernel.routethread import RouteThread

DEADLINE_S = 5.0


class Bus:
    """A ROUTER run by a RouteThread, and DEALERs connected to it."""

    def __init__(self, ctx: zmq.Context, endpoint: str, impl, *, batch: int = 1000,
                 slow_backlog: int = 10_000, inline=None) -> None:
        self.ctx = ctx
        self.impl = impl
        self.endpoint = endpoint
        self.router = ctx.socket(zmq.ROUTER)
        self.router.setsockopt(zmq.ROUTER_MANDATORY, 1)
        self.router.setsockopt(zmq.LINGER, 0)
        self.router.bind(endpoint)
        self.subscribers: dict[bytes, list] = {}
        self.table = impl.RouteTable(self._resolve)
        self.handed_over = threading.Semaphore(0)
        self.thread = RouteThread(impl.RouteLoop(self.router, self.table, batch),
                                  self.handed_over.release, inline=inline,
                                  slow_backlog=slow_backlog)
        self.dealers: list[zmq.Socket] = []

    def _resolve(self, route) -> None:
        route.peers = list(self.subscribers.get(route.subject, []))

    def __enter__(self) -> Bus:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        for sock in self.dealers:
            sock.close(linger=0)
        self.thread.stop()
        self.router.close(linger=0)

    def connect(self) -> zmq.Socket:
        dealer = self.ctx.socket(zmq.DEALER)
        dealer.setsockopt(zmq.LINGER, 0)
        dealer.connect(self.endpoint)
        self.dealers.append(dealer)
        return dealer

    def take_slow(self, count: int) -> list[list]:
        """Wait for `count` handed-over messages, taking each hand-over as the Trio side does."""
        taken: list[list] = []
        while len(taken) < count:
            assert self.handed_over.acquire(timeout=DEADLINE_S), f"handed over {len(taken)}/{count}"
            with self.thread.exclusive():
                taken.extend(self.thread.take_slow())
        return taken

    def join(self, name: str, subscribe: str | None = None) -> zmq.Socket:
        """A DEALER the table knows as peer `name`, learnt from its first message."""
        dealer = self.connect()
        dealer.send_multipart([self.impl.pack_header(Kind.HELLO, "hello"), b""])
        identity = self.take_slow(1)[0][0]
        peer = self.impl.Peer(identity, name)
        with self.thread.exclusive():
            self.table.peers[identity] = peer
            if subscribe is not None:
                self.subscribers.setdefault(subscribe.encode(), []).append(peer)
            self.table.invalidate()
        return dealer


def receive(sock: zmq.Socket) -> list[bytes]:
    assert sock.poll(int(DEADLINE_S * 1000), zmq.POLLIN), "nothing arrived before the deadline"
    return sock.recv_multipart()


@pytest.fixture
def endpoint(tmp_path):
    return f"ipc://{tmp_path}/bus.sock"


def test_publications_are_routed_by_the_thread_alone(ctx, endpoint, impl):
    with Bus(ctx, endpoint, impl) as bus:
        gps = bus.join("gps")
        nav = bus.join("nav", subscribe="gps.fix")
        header = impl.pack_header(Kind.PUB, "gps.fix")
        got = []
        for burst in range(4):  # each well under the high-water marks: nothing is dropped
            for i in range(500):
                gps.send_multipart([header, b"%d" % (burst * 500 + i)])
            got += [receive(nav)[1] for _ in range(500)]
        assert got == [b"%d" % i for i in range(2000)]
        assert not bus.handed_over.acquire(blocking=False), "a publication went the slow way"


def test_everything_else_is_handed_over_in_order_and_kept_until_taken(ctx, endpoint, impl):
    with Bus(ctx, endpoint, impl) as bus:
        stranger = bus.connect()
        for i in range(50):
            stranger.send_multipart([impl.pack_header(Kind.HELLO, "hello"), b"%d" % i])
        taken = bus.take_slow(50)
        assert [frames[2].bytes for frames in taken] == [b"%d" % i for i in range(50)]


def test_messages_handled_in_the_thread_and_handed_over_keep_their_order(ctx, endpoint, impl):
    processed: list[bytes] = []  # in the order the thread or the "Trio side" dealt with them

    def inline(frames) -> bool:
        payload = frames[2].bytes
        if payload.startswith(b"trio"):
            return False
        processed.append(payload)
        return True

    with Bus(ctx, endpoint, impl, inline=inline) as bus:
        stranger = bus.connect()
        sent = [b"trio%d" % i if i % 7 == 3 else b"here%d" % i for i in range(200)]
        for payload in sent:
            stranger.send_multipart([impl.pack_header(Kind.HELLO, "hello"), payload])
        deadline = time.monotonic() + DEADLINE_S
        while len(processed) < len(sent):
            assert time.monotonic() < deadline, f"processed {len(processed)}/{len(sent)}"
            if bus.handed_over.acquire(timeout=0.05):
                with bus.thread.exclusive():
                    processed.extend(frames[2].bytes for frames in bus.thread.take_slow())
        assert processed == sent


def test_a_backed_up_slow_path_stops_the_reading_until_the_trio_side_catches_up(
        ctx, endpoint, impl):
    with Bus(ctx, endpoint, impl, batch=1, slow_backlog=5) as bus:
        stranger = bus.connect()
        for i in range(40):
            stranger.send_multipart([impl.pack_header(Kind.HELLO, "hello"), b"%d" % i])
        taken = 0
        while taken < 40:
            assert bus.handed_over.acquire(timeout=DEADLINE_S), f"handed over {taken}/40"
            with bus.thread.exclusive():
                batch = bus.thread.take_slow()
            assert len(batch) <= 5
            taken += len(batch)
        assert taken == 40


def test_after_a_backlog_is_taken_the_thread_reads_the_socket_again(ctx, endpoint, impl):
    with Bus(ctx, endpoint, impl, batch=1, slow_backlog=5) as bus:
        stranger = bus.connect()
        for i in range(5):
            stranger.send_multipart([impl.pack_header(Kind.HELLO, "hello"), b"%d" % i])
        assert len(bus.take_slow(5)) == 5  # the backlog was reached, then taken
        stranger.send_multipart([impl.pack_header(Kind.HELLO, "hello"), b"later"])
        assert [frames[2].bytes for frames in bus.take_slow(1)] == [b"later"]


def test_the_trio_sides_sends_never_leave_a_publication_unrouted(ctx, endpoint, impl):
    """Any zmq call can consume the socket FD's edge; the Trio side sends while publications
    arrive, and every publication must still be routed at once."""
    with Bus(ctx, endpoint, impl) as bus:
        gps = bus.join("gps")
        nav = bus.join("nav", subscribe="gps.fix")
        nav_id = next(p.identity for p in bus.table.peers.values() if p.name == "nav")
        header = impl.pack_header(Kind.PUB, "gps.fix")
        reply = impl.pack_header(Kind.REP, "kernel.ping")
        for i in range(500):
            gps.send_multipart([header, b"%d" % i])
            with bus.thread.exclusive():
                bus.router.send_multipart([nav_id, reply, b""], zmq.DONTWAIT)
            kinds = set()
            while Kind.PUB not in kinds:
                kinds.add(impl.parse_header(receive(nav)[0]).kind)


def test_the_trio_side_gets_its_turn_while_the_loop_is_flooded(ctx, endpoint, impl):
    # Nobody subscribes: a subscriber that never reads would be left with a message half
    # written when the test closes it, and libzmq aborts on that (libzmq issue 3442).
    with Bus(ctx, endpoint, impl, batch=10) as bus:
        gps = bus.join("gps")
        header = impl.pack_header(Kind.PUB, "gps.fix")
        stop = threading.Event()

        def flood() -> None:
            while not stop.is_set():
                try:
                    gps.send_multipart([header, b"x"], zmq.DONTWAIT)
                except zmq.Again:
                    time.sleep(0)

        flooder = threading.Thread(target=flood)
        flooder.start()
        try:
            started = time.monotonic()
            for _ in range(200):
                with bus.thread.exclusive():
                    pass
            assert time.monotonic() - started < DEADLINE_S
        finally:
            stop.set()
            flooder.join()


class ResolveFails(Exception):
    pass


def test_a_failing_loop_stops_the_thread_and_says_why(ctx, endpoint, impl):
    with Bus(ctx, endpoint, impl) as bus:
        gps = bus.join("gps")

        def broken_resolve(route) -> None:
            raise ResolveFails(route.subject)

        bus.table.resolve = broken_resolve
        bus.table.invalidate()
        gps.send_multipart([impl.pack_header(Kind.PUB, "gps.fix"), b"fix"])
        assert bus.handed_over.acquire(timeout=DEADLINE_S), "the failure was not reported"
        assert isinstance(bus.thread.error, ResolveFails)
        bus.thread._thread.join(DEADLINE_S)
        assert not bus.thread._thread.is_alive()
