"""The router's hot loop on real ZeroMQ sockets, one suite run against every implementation.

No Trio here: each test drives the loop by hand, waiting on the socket with a deadline (poll)
between drains, the way the router waits on it.
"""
from __future__ import annotations

import collections
import itertools
import os

import pytest
import zmq
from hypothesis import given
from hypothesis import strategies as st

from carnel.ipc import _impl
from carnel.ipc.wire import Flag, Kind

# `make test` always builds the extension, so a missing one is a failure, not a skip.
PURE = _impl.available()["pure"]
DEADLINE_MS = 5000
MiB = 2**20


@pytest.fixture(scope="module")
def ctx():
    context = zmq.Context()
    yield context
    context.destroy(linger=0)


@pytest.fixture(scope="module")
def endpoints(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bus")
    return (f"ipc://{folder}/bus-{n}.sock" for n in itertools.count())


@pytest.fixture
def bus(ctx, endpoints, impl):
    with Bus(ctx, next(endpoints), impl) as bus:
        yield bus


def recv(sock: zmq.Socket) -> list[bytes]:
    assert sock.poll(DEADLINE_MS, zmq.POLLIN), "nothing arrived before the deadline"
    return sock.recv_multipart()


class Bus:
    """A ROUTER driven by one implementation's loop, and DEALERs connected to it."""

    def __init__(self, ctx: zmq.Context, endpoint: str, impl, *, hwm: int = 1000,
                 batch: int = 1000, authorize=None, max_size: int = 2**63 - 1) -> None:
        self.ctx = ctx
        self.endpoint = endpoint
        self.impl = impl
        self.router = ctx.socket(zmq.ROUTER)
        self.router.setsockopt(zmq.ROUTER_MANDATORY, 1)
        self.router.setsockopt(zmq.SNDHWM, hwm)
        self.router.setsockopt(zmq.RCVHWM, hwm)
        self.router.setsockopt(zmq.LINGER, 0)
        self.router.bind(endpoint)
        self.subscribers: dict[bytes, list[str]] = {}
        self.table = impl.RouteTable(self._resolve, authorize, max_size)
        self.loop = impl.RouteLoop(self.router, self.table, batch)
        self.dealers: dict[str, zmq.Socket] = {}
        self.peers: dict[str, object] = {}
        self.names: dict[bytes, str] = {}

    def __enter__(self) -> Bus:
        return self

    def __exit__(self, *exc: object) -> None:
        for sock in [self.router, *self.dealers.values()]:
            sock.close(linger=0)

    def _resolve(self, route) -> None:
        route.peers = [self.peers[name] for name in self.subscribers.get(route.subject, [])]

    def connect(self, name: str, *, rcvhwm: int = 1000) -> zmq.Socket:
        """A DEALER the router does not know yet."""
        dealer = self.ctx.socket(zmq.DEALER)
        dealer.setsockopt(zmq.RCVHWM, rcvhwm)
        dealer.setsockopt(zmq.LINGER, 0)
        dealer.connect(self.endpoint)
        self.dealers[name] = dealer
        return dealer

    def join(self, name: str, **options) -> zmq.Socket:
        """A DEALER the router knows as peer `name`, as the router learns it: from a HELLO."""
        dealer = self.connect(name, **options)
        dealer.send_multipart([PURE.pack_header(Kind.HELLO, "hello"), b""])
        self.pump(1)
        identity = self.table.slow.pop()[0]
        peer = self.impl.Peer(identity, name)
        self.table.peers[identity] = peer
        self.peers[name] = peer
        self.names[identity] = name
        return dealer

    def subscribe(self, name: str, subject: str) -> None:
        self.subscribers.setdefault(subject.encode(), []).append(name)
        self.table.invalidate()

    def unsubscribe(self, name: str, subject: str) -> None:
        self.subscribers[subject.encode()].remove(name)
        self.table.invalidate()

    def pump(self, count: int) -> list[int]:
        """Drain until `count` messages were handled, waiting on the socket in between."""
        drained = []
        while sum(drained) < count:
            assert self.router.poll(DEADLINE_MS, zmq.POLLIN), f"router got {sum(drained)}/{count}"
            drained.append(self.loop.drain())
        assert sum(drained) == count
        return drained

    def publish(self, name: str, subject: str, *frames: bytes, flags: int = 0,
                source: str = "") -> None:
        header = PURE.pack_header(Kind.PUB, subject, flags=flags, source=source)
        self.dealers[name].send_multipart([header, *frames])
        self.pump(1)


def received_header(frames: list[bytes]):
    """The header of a message as a subscriber received it."""
    return PURE.parse_header(frames[0])


# -- the objects the router reads and writes --------------------------------------------------

def test_router_can_read_and_write_what_it_keeps_in_the_table(impl):
    resolved = []
    table = impl.RouteTable(resolved.append)
    peer = impl.Peer(b"\x00\x00\x00\x00\x01", "nav")
    route = impl.Route(b"gps.fix")
    assert (route.peers, route.generation, route.seq, route.retained) == ([], -1, 0, None)
    assert (peer.msgs_in, peer.bytes_in, peer.msgs_out, peer.bytes_out, peer.drops) == (0,) * 5
    assert (peer.identity, peer.name, peer.rejects) == (b"\x00\x00\x00\x00\x01", "nav", {})
    table.peers[peer.identity] = peer
    table.routes[route.subject] = route
    route.peers = [peer]
    route.generation = table.generation
    route.seq = 0xFFFFFFFF
    route.retained = [b"header", b"payload"]
    route.msgs += 1
    route.bytes += 2
    peer.drops += 1
    peer.msgs_out += 1
    peer.bytes_out += 3
    peer.rejects["frames"] = 1
    table.invalidate()
    table.slow = []
    assert table.generation == route.generation + 1
    assert (route.peers, route.seq, route.msgs, route.bytes) == ([peer], 0xFFFFFFFF, 1, 2)
    assert (peer.drops, peer.msgs_out, peer.bytes_out, peer.rejects) == (1, 1, 3, {"frames": 1})
    assert table.resolve == resolved.append and table.malformed == 0


# -- fan-out ---------------------------------------------------------------------------------

def test_publication_reaches_every_subscriber_and_nobody_else(bus):
    gps, nav, media, vehicle = (bus.join(n) for n in ("gps", "nav", "media", "vehicle"))
    bus.subscribe("nav", "gps.fix")
    bus.subscribe("media", "gps.fix")
    bus.subscribe("vehicle", "vehicle.speed")
    bus.publish("gps", "gps.fix", b"fix")
    bus.publish("gps", "vehicle.speed", b"speed")
    for sub in (nav, media):
        frames = recv(sub)
        assert frames[1:] == [b"fix"]
        assert received_header(frames).subject == "gps.fix"
    # The pipe is ordered: if the first publication had reached it, it would come first.
    assert recv(vehicle)[1:] == [b"speed"]
    assert bus.peers["gps"].msgs_out == 0
    assert (bus.peers["nav"].msgs_out, bus.peers["nav"].bytes_out) == (1, 3)
    assert (bus.peers["gps"].msgs_in, bus.peers["gps"].bytes_in) == (2, 8)
    route = bus.table.routes[b"gps.fix"]
    assert (route.msgs, route.bytes, route.drops) == (1, 3, 0)
    assert (bus.table.routed_msgs, bus.table.routed_bytes) == (2, 8)  # what placement reads


def test_stamped_source_is_the_publishers_name_whatever_its_header_said(bus):
    bus.join("gps")
    nav = bus.join("nav")
    bus.subscribe("nav", "gps.fix")
    bus.publish("gps", "gps.fix", b"", source="kernel")
    bus.publish("gps", "gps.fix", b"", source="")
    assert [received_header(recv(nav)).source for _ in range(2)] == ["gps", "gps"]


def test_stamping_keeps_every_other_header_field(bus):
    gps = bus.join("gps")
    nav = bus.join("nav")
    bus.subscribe("nav", "gps.fix")
    sent = PURE.pack_header(Kind.PUB, "gps.fix", flags=0x8004, seq=77, msg_id=2**64 - 1,
                            corr_id=5, timestamp_ns=-(2**63), timeout_ms=9, source="x")
    gps.send_multipart([sent, b"p"])
    bus.pump(1)
    got = received_header(recv(nav))
    assert got == PURE.parse_header(sent)._replace(source="gps", seq=1)


def test_sequence_numbers_count_per_subject_and_wrap_to_one(bus):
    bus.join("gps")
    nav = bus.join("nav")
    bus.subscribe("nav", "a")
    bus.subscribe("nav", "b")
    for subject in "aabab":
        bus.publish("gps", subject, b"")
    assert [(h.subject, h.seq) for h in (received_header(recv(nav)) for _ in range(5))] == [
        ("a", 1), ("a", 2), ("b", 1), ("a", 3), ("b", 2)]
    bus.table.routes[b"a"].seq = 0xFFFFFFFE
    for _ in range(3):
        bus.publish("gps", "a", b"")
    assert [received_header(recv(nav)).seq for _ in range(3)] == [0xFFFFFFFF, 1, 2]


def test_payload_and_attachments_are_forwarded_byte_identical(bus):
    bus.join("camera")
    nav = bus.join("nav")
    bus.subscribe("nav", "camera.frame")
    big = bytes(range(256)) * (16 * MiB // 256)
    frames = [b"\x00payload\xff", b"", b"x" * 33, b"y" * 34, big]
    bus.publish("camera", "camera.frame", *frames)
    assert recv(nav)[1:] == frames
    assert bus.peers["nav"].bytes_out == sum(map(len, frames))


def test_subscription_changes_take_effect_after_invalidate(bus):
    bus.join("gps")
    nav = bus.join("nav")
    media = bus.join("media")
    bus.subscribe("nav", "gps.fix")
    bus.publish("gps", "gps.fix", b"1")
    bus.subscribe("media", "gps.fix")
    bus.unsubscribe("nav", "gps.fix")
    bus.publish("gps", "gps.fix", b"2")
    bus.subscribe("nav", "gps.fix")
    bus.publish("gps", "gps.fix", b"3")
    assert [recv(nav)[1] for _ in range(2)] == [b"1", b"3"]
    assert [recv(media)[1] for _ in range(2)] == [b"2", b"3"]


# -- backpressure -------------------------------------------------------------------------------

def test_full_subscriber_is_dropped_for_and_counted_while_others_still_receive(ctx, endpoints,
                                                                               impl):
    with Bus(ctx, next(endpoints), impl, hwm=4) as bus:
        bus.join("camera")
        fast = bus.join("fast")
        bus.join("stuck", rcvhwm=4)  # never reads
        bus.subscribe("fast", "camera.frame")
        bus.subscribe("stuck", "camera.frame")
        frame = bytes(64 * 1024)
        sent = 0
        while bus.peers["stuck"].drops == 0:
            assert sent < 2000, "the stuck subscriber's queue never filled"
            bus.publish("camera", "camera.frame", frame)
            sent += 1
            assert recv(fast)[1] == frame
        stuck, fast_peer = bus.peers["stuck"], bus.peers["fast"]
        assert (fast_peer.msgs_out, fast_peer.drops) == (sent, 0)
        assert stuck.msgs_out + stuck.drops == sent
        assert bus.table.routes[b"camera.frame"].drops == stuck.drops


def test_a_window_bounds_what_a_peer_may_leave_untaken_and_reports_reopen_it(bus):
    bus.join("camera")
    viewer, fast = bus.join("viewer"), bus.join("fast")
    bus.subscribe("viewer", "camera.frame")
    bus.subscribe("fast", "camera.frame")
    viewer_peer = bus.peers["viewer"]
    viewer_peer.window = 3000  # bytes
    frame = bytes(1000)
    for _ in range(5):
        bus.publish("camera", "camera.frame", frame)
        assert recv(fast)[1] == frame  # the others get every one
    # Three fit in the window; the viewer reads nothing, so the next two are dropped for it.
    assert (viewer_peer.msgs_out, viewer_peer.bytes_out, viewer_peer.drops) == (3, 3000, 2)
    assert bus.table.routes[b"camera.frame"].drops == 2
    viewer_peer.taken = 2000  # it reports having taken two
    bus.publish("camera", "camera.frame", frame)
    bus.publish("camera", "camera.frame", frame)
    bus.publish("camera", "camera.frame", frame)
    assert (viewer_peer.msgs_out, viewer_peer.drops) == (5, 3)
    assert len([recv(viewer) for _ in range(5)]) == 5


def test_vanished_subscriber_is_counted_as_a_drop(bus):
    bus.join("gps")
    nav = bus.join("nav")
    ghost = bus.impl.Peer(b"\x00gone", "ghost")
    bus.peers["ghost"] = ghost
    bus.subscribe("ghost", "gps.fix")
    bus.subscribe("nav", "gps.fix")
    bus.publish("gps", "gps.fix", b"p")
    assert recv(nav)[1:] == [b"p"]
    assert (ghost.drops, ghost.msgs_out) == (1, 0)
    assert bus.table.routes[b"gps.fix"].drops == 1


def test_drain_handles_at_most_batch_messages_per_call(ctx, endpoints, impl):
    with Bus(ctx, next(endpoints), impl, batch=3) as bus:
        gps = bus.join("gps")
        for _ in range(200):
            gps.send_multipart([PURE.pack_header(Kind.PUB, "gps.fix"), b""])
        drained = bus.pump(200)
        assert max(drained) == 3
        assert bus.table.routes[b"gps.fix"].msgs == 200


def test_drain_returns_zero_at_once_when_nothing_waits(bus):
    assert bus.loop.drain() == 0


# -- what goes to the router's slow path --------------------------------------------------------

def as_bytes(frames: list) -> list[bytes]:
    return [bytes(frame) for frame in frames]


def test_unknown_peer_lands_in_the_slow_path_untouched(bus):
    nav = bus.join("nav")
    bus.subscribe("nav", "gps.fix")
    stranger = bus.connect("stranger")
    header = PURE.pack_header(Kind.PUB, "gps.fix", source="gps")
    stranger.send_multipart([header, b"payload", b"attachment"])
    bus.pump(1)
    [(identity, *frames)] = bus.table.slow
    assert type(identity) is bytes and identity not in bus.names
    assert as_bytes(frames) == [header, b"payload", b"attachment"]
    assert b"gps.fix" not in bus.table.routes
    bus.publish("nav", "gps.fix", b"second")
    assert recv(nav)[1:] == [b"second"]


@pytest.mark.parametrize("frames", [
    [PURE.pack_header(Kind.SUB, "gps.>"), b""],
    [PURE.pack_header(Kind.REQ, "nav.route", msg_id=3), b"{}", b"tile"],
    [PURE.pack_header(Kind.HEARTBEAT, "hb"), b""],
    [PURE.pack_header(Kind.PUB, "gps.fix")],  # a publication needs a payload frame
    [b"\x01\x01short", b"p"],
    [b"", b""],
], ids=["SUB", "REQ", "HEARTBEAT", "PUB without payload", "short header", "empty header"])
def test_anything_but_a_publication_from_a_known_peer_lands_in_the_slow_path(bus, frames):
    gps = bus.join("gps")
    bus.join("nav")
    bus.subscribe("nav", "gps.fix")
    gps.send_multipart(frames)
    bus.pump(1)
    [(identity, *got)] = bus.table.slow
    assert bus.names[identity] == "gps"
    assert type(got[0]) is bytes
    assert as_bytes(got) == frames
    assert bus.peers["gps"].msgs_in == 0
    assert bus.peers["nav"].msgs_out == 0


def test_slow_path_frames_read_like_zmq_frames_and_forward_without_copy(bus):
    gps = bus.join("gps")
    nav = bus.join("nav")
    gps.send_multipart([PURE.pack_header(Kind.REQ, "nav.route"), b"payload", b"x" * 100_000])
    bus.pump(1)
    [(_, header, payload, attachment)] = bus.table.slow
    assert PURE.parse_header(header).kind == Kind.REQ
    assert (len(payload), payload.bytes, bytes(payload.buffer)) == (7, b"payload", b"payload")
    assert memoryview(attachment)[-1] == ord("x")
    bus.router.send_multipart([bus.peers["nav"].identity, header, payload, attachment], copy=False)
    assert recv(nav) == [header, b"payload", b"x" * 100_000]


@pytest.mark.parametrize("header, reason", [
    (b"\x02" + PURE.pack_header(Kind.PUB, "a.b")[1:], "version"),
    (PURE.pack_header(Kind.PUB, "a.b") + b"!", "length"),
    (PURE.pack_header(Kind.PUB, "a.b").replace(b"a.b", b"a.*"), "wildcard"),
    (PURE.pack_header(Kind.PUB, "a.b").replace(b"a.b", b"a b"), "subject"),
    (PURE.pack_header(Kind.PUB, "a.b", source="abc").replace(b"abc", b"a c"), "source"),
], ids=["version", "length", "wildcard", "subject", "source"])
def test_malformed_publication_is_counted_under_its_reason_and_not_routed(bus, header, reason):
    gps = bus.join("gps")
    nav = bus.join("nav")
    bus.subscribe("nav", "a.b")
    gps.send_multipart([header, b"12345"])
    gps.send_multipart([header, b"12345"])
    bus.pump(2)
    peer = bus.peers["gps"]
    assert peer.rejects == {f"malformed.{reason}": 2}
    assert (peer.msgs_in, peer.bytes_in) == (2, 10)
    assert bus.table.slow == []
    bus.publish("gps", "a.b", b"good")
    assert received_header(recv(nav)).seq == 1


def test_peer_whose_name_cannot_be_stamped_has_its_publications_refused(bus):
    gps = bus.join("gps")
    bus.peers["gps"].name = "g.p.s"
    gps.send_multipart([PURE.pack_header(Kind.PUB, "a.b"), b""])
    bus.pump(1)
    assert bus.peers["gps"].rejects == {"malformed.source": 1}


# -- access control and size limits ------------------------------------------------------------

def test_publication_the_policy_refuses_is_counted_and_creates_no_route(ctx, endpoints, impl):
    asked = []

    def authorize(peer, subject: bytes) -> bool:
        asked.append((peer.name, subject))
        return subject.startswith(b"gps.")

    with Bus(ctx, next(endpoints), impl, authorize=authorize) as bus:
        bus.join("gps")
        nav = bus.join("nav")
        bus.subscribe("nav", "gps.fix")
        bus.subscribe("nav", "door.unlock")
        bus.publish("gps", "door.unlock", b"open")
        bus.publish("gps", "door.unlock", b"open")
        for _ in range(3):
            bus.publish("gps", "gps.fix", b"fix")
        assert [recv(nav)[1] for _ in range(3)] == [b"fix"] * 3
        assert nav.poll(50) == 0
        assert bus.peers["gps"].rejects == {"denied.publish": 2}
        assert list(bus.table.routes) == [b"gps.fix"]
        # Asked again for each refusal, once for the allowed subject while its publisher stays.
        assert asked == [("gps", b"door.unlock")] * 2 + [("gps", b"gps.fix")]


def test_alternating_publishers_on_one_subject_are_each_authorized(ctx, endpoints, impl):
    asked = []

    def authorize(peer, subject: bytes) -> bool:
        asked.append(peer.name)
        return peer.name != "media"

    with Bus(ctx, next(endpoints), impl, authorize=authorize) as bus:
        for name in ("can", "obd", "media"):
            bus.join(name)
        nav = bus.join("nav")
        bus.subscribe("nav", "vehicle.Speed")
        for name in ("can", "obd", "can", "media", "can"):
            bus.publish(name, "vehicle.Speed", name.encode())
        assert [recv(nav)[1] for _ in range(4)] == [b"can", b"obd", b"can", b"can"]
        assert asked == ["can", "obd", "can", "media"]
        assert bus.peers["media"].rejects == {"denied.publish": 1}


def test_publication_over_the_size_limit_is_refused_as_too_large(ctx, endpoints, impl):
    with Bus(ctx, next(endpoints), impl, max_size=100) as bus:
        bus.join("cam")
        nav = bus.join("nav")
        bus.subscribe("nav", "cam.frame")
        bus.publish("cam", "cam.frame", b"x" * 60, b"y" * 41)
        bus.publish("cam", "cam.frame", b"x" * 60, b"y" * 40)
        assert recv(nav)[1:] == [b"x" * 60, b"y" * 40]
        assert bus.peers["cam"].rejects == {"too_large": 1}


def test_frames_handed_to_the_router_carry_the_connection_metadata(bus):
    bus.connect("stranger").send_multipart([PURE.pack_header(Kind.HELLO, "hello"), b"{}"])
    bus.pump(1)
    [(_, _, payload)] = bus.table.slow
    uid, gid, pid = payload.get("Peer-Address").split(":")[1:]
    assert (int(uid), int(pid)) == (os.getuid(), os.getpid())


# -- retained values -------------------------------------------------------------------------

def test_flagged_publication_is_kept_stamped_until_the_next_flagged_one(bus):
    bus.join("vehicle")
    nav = bus.join("nav")
    bus.subscribe("nav", "vehicle.speed")
    bus.publish("vehicle", "vehicle.speed", b"50", b"att", flags=Flag.RETAIN)
    first = recv(nav)
    route = bus.table.routes[b"vehicle.speed"]
    assert type(route.retained[0]) is bytes
    assert as_bytes(route.retained) == first
    bus.publish("vehicle", "vehicle.speed", b"51")
    assert as_bytes(route.retained) == first
    bus.publish("vehicle", "vehicle.speed", b"52", flags=Flag.RETAIN)
    recv(nav)
    assert PURE.parse_header(route.retained[0]).seq == 3
    assert as_bytes(route.retained[1:]) == [b"52"]


def test_retained_value_is_kept_with_nobody_subscribed(bus):
    bus.join("vehicle")
    bus.publish("vehicle", "vehicle.gear", b"D", flags=Flag.RETAIN)
    kept = bus.table.routes[b"vehicle.gear"].retained
    assert PURE.parse_header(kept[0]).source == "vehicle"
    assert bytes(kept[1]) == b"D"


# -- the twins agree on any traffic ----------------------------------------------------------

SENDERS = ["a", "b", "c"]
SUBJECTS = ["s.one", "s.two", "t"]


@st.composite
def odd_frames(draw) -> list[bytes]:
    """Anything a confused or hostile peer could send instead of a good publication."""
    kind = draw(st.sampled_from(list(Kind)))
    subject = draw(st.sampled_from(SUBJECTS))
    header = bytearray(PURE.pack_header(kind, subject))
    for _ in range(draw(st.integers(0, 2))):
        header[draw(st.integers(0, len(header) - 1))] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        header = header[:draw(st.integers(0, len(header)))]
    return [bytes(header), *draw(st.lists(st.binary(max_size=40), max_size=2))]


operations = st.one_of(
    st.tuples(st.just("publish"), st.sampled_from(SENDERS), st.sampled_from(SUBJECTS),
              st.sampled_from([0, int(Flag.RETAIN), 0xFFFF]),
              st.sampled_from(["", "liar", "a"]),
              st.lists(st.binary(max_size=64), min_size=1, max_size=3)),
    st.tuples(st.just("send"), st.sampled_from(SENDERS + ["stranger"]), odd_frames()),
    st.tuples(st.just("subscribe"), st.sampled_from(SENDERS), st.sampled_from(SUBJECTS)),
    st.tuples(st.just("unsubscribe"), st.sampled_from(SENDERS), st.sampled_from(SUBJECTS)),
)


def run(bus: Bus, ops: list[tuple]) -> dict:
    """Play `ops` through a bus; return everything observable, identities replaced by names."""
    for name in SENDERS:
        bus.join(name)
    bus.connect("stranger")
    for op, name, *args in ops:
        if op == "publish":
            subject, flags, source, frames = args
            header = PURE.pack_header(Kind.PUB, subject, flags=flags, source=source)
            bus.dealers[name].send_multipart([header, *frames])
            bus.pump(1)
        elif op == "send":
            bus.dealers[name].send_multipart(args[0])
            bus.pump(1)
        elif op == "subscribe":
            bus.subscribe(name, args[0])
        elif name in bus.subscribers.get(args[0].encode(), []):
            bus.unsubscribe(name, args[0])
    delivered = {}
    for name in SENDERS:
        # A peer's pipe is ordered: once the marker is in, everything routed to it before is.
        bus.router.send_multipart([bus.peers[name].identity, b"end"])
        delivered[name] = []
        while (frames := recv(bus.dealers[name])) != [b"end"]:
            delivered[name].append(frames)
    return {
        "delivered": delivered,
        "peers": {
            name: (p.msgs_in, p.bytes_in, p.msgs_out, p.bytes_out, p.drops, dict(p.rejects))
            for name, p in bus.peers.items()
        },
        "routes": {
            subject: ([bus.names[p.identity] for p in r.peers], r.seq, r.msgs, r.bytes, r.drops,
                      None if r.retained is None else as_bytes(r.retained))
            for subject, r in bus.table.routes.items()
        },
        "slow": [[bus.names.get(identity, "stranger"), *as_bytes(rest)]
                 for identity, *rest in bus.table.slow],
        "routed": (bus.table.routed_msgs, bus.table.routed_bytes),
    }


@given(ops=st.lists(operations, max_size=25))
def test_twins_deliver_and_count_the_same_for_any_traffic(ctx, endpoints, impl, ops):
    with Bus(ctx, next(endpoints), PURE) as pure_bus, Bus(ctx, next(endpoints), impl) as bus:
        assert run(bus, ops) == run(pure_bus, ops)


# -- the clients' drain ---------------------------------------------------------------------

# A closed socket lets go of its inproc name only once libzmq's reaper gets to it: a name used
# again at once (id() of a freed list, say) can still be taken.
_inproc_names = itertools.count()


@given(messages=st.lists(st.lists(st.binary(max_size=300), min_size=1, max_size=4), max_size=30),
       limit=st.integers(min_value=1, max_value=40))
def test_recv_batch_takes_whole_messages_in_order_up_to_its_limit(ctx, impl, messages, limit):
    sender, receiver = ctx.socket(zmq.PAIR), ctx.socket(zmq.PAIR)
    endpoint = f"inproc://recv-batch-{next(_inproc_names)}"
    try:
        sender.bind(endpoint)
        receiver.connect(endpoint)
        for frames in messages:
            sender.send_multipart(frames)
        if messages:
            assert receiver.poll(DEADLINE_MS, zmq.POLLIN)
        got = []
        while len(got) < len(messages):  # inproc: everything sent is already waiting
            batch = impl.recv_batch(receiver, limit)
            assert 0 < len(batch) <= limit
            got += batch
        assert [[bytes(frame) for frame in frames] for frames in got] == messages
        assert impl.recv_batch(receiver, limit) == []
    finally:
        sender.close(linger=0)
        receiver.close(linger=0)


def test_recv_batch_frames_read_as_the_bytes_that_arrived(ctx, impl):
    sender, receiver = ctx.socket(zmq.PAIR), ctx.socket(zmq.PAIR)
    try:
        sender.bind("inproc://recv-batch-views")
        receiver.connect("inproc://recv-batch-views")
        sender.send_multipart([b"header", b"x" * MiB])
        assert receiver.poll(DEADLINE_MS, zmq.POLLIN)
        [[header, payload]] = impl.recv_batch(receiver)
        assert len(payload) == MiB and memoryview(payload)[:3] == b"xxx"
        assert header.bytes == b"header" and bytes(header.buffer) == b"header"
    finally:
        sender.close(linger=0)
        receiver.close(linger=0)


@given(messages=st.lists(st.lists(st.binary(max_size=300), min_size=1, max_size=4), max_size=30))
def test_send_batch_sends_whole_messages_in_order_and_empties_the_queue(ctx, impl, messages):
    sender, receiver = ctx.socket(zmq.PAIR), ctx.socket(zmq.PAIR)
    endpoint = f"inproc://send-batch-{next(_inproc_names)}"
    try:
        sender.bind(endpoint)
        receiver.connect(endpoint)
        queue = collections.deque(messages)
        assert impl.send_batch(sender, queue) == len(messages)
        assert not queue
        got = [receiver.recv_multipart() for _ in messages]
        assert got == messages
    finally:
        sender.close(linger=0)
        receiver.close(linger=0)


@pytest.mark.parametrize("size", [64, 2 * MiB])  # copied into libzmq / lent to it
def test_send_batch_stops_at_the_high_water_mark_and_keeps_the_rest(ctx, impl, size):
    sender, receiver = ctx.socket(zmq.PAIR), ctx.socket(zmq.PAIR)
    sender.setsockopt(zmq.SNDHWM, 5)
    receiver.setsockopt(zmq.RCVHWM, 5)
    try:
        sender.bind(f"inproc://send-batch-hwm-{size}")
        receiver.connect(f"inproc://send-batch-hwm-{size}")
        big = memoryview(b"y" * size)
        queue = collections.deque([[b"h", b"%d" % i, big] for i in range(40)])
        sent = impl.send_batch(sender, queue)
        assert 0 < sent < 40 and len(queue) == 40 - sent
        got = []
        while len(got) < 40:
            if receiver.poll(0, zmq.POLLIN):
                frames = receiver.recv_multipart()
                assert frames[2] == bytes(big)
                got.append(frames[1])
            else:  # all read: the sender has room again once it hears so
                assert sender.poll(DEADLINE_MS, zmq.POLLOUT), f"stalled at {len(got)}/40"
            impl.send_batch(sender, queue)
        assert got == [b"%d" % i for i in range(40)]
    finally:
        sender.close(linger=0)
        receiver.close(linger=0)
