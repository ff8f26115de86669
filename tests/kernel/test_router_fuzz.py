"""Hostile traffic from an authenticated peer: the router refuses it, counts it, and goes on.

Each example boots the router with authentication, joins a raw DEALER as `fuzzer` (it may
publish on fuzz.>, call kernel.ps and nowhere.>, subscribe to nothing), sends what Hypothesis
made, and then checks three things: every message was routed, answered or refused and counted,
exactly once; the kernel is alive; and a well-behaved client still completes a round trip.
"""
from __future__ import annotations

import itertools

import msgspec
import pytest
import trio
import zmq
from hypothesis import given
from hypothesis import strategies as st

from carnel.ipc import _impl
from carnel.ipc.schemas.bus import Empty, Hello
from carnel.ipc.service import Service
from carnel.ipc.settings import ProcessSettings
from carnel.ipc.wire import Kind, WireError
from secure_bus import Collector, SecureBus

PURE = _impl.available()["pure"]
MAX_SIZE = 4096  # per message in the router's check; libzmq's per-frame limit is the same
SUBJECTS = ["fuzz.a", "fuzz.b.c", "gps.fix", "kernel.ps", "kernel.stop", "nowhere.x", "a"]
DEEP = b"\x91" * 3000 + b"\xc0"  # msgpack: an array in an array ... 3000 deep


@pytest.fixture(scope="module")
def endpoints(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz")
    return (f"ipc://{folder}/bus-{n}.sock" for n in itertools.count())


def header(kind: int, subject: str, **fields) -> bytes:
    return PURE.pack_header(kind, subject, **fields)


valid_kinds = st.sampled_from([k for k in Kind if k != Kind.CONTROL])
payloads = st.one_of(st.binary(max_size=64), st.just(DEEP), st.just(b"\xff" * 10),
                     st.just(msgspec.msgpack.encode(Empty())))


@st.composite
def well_formed(draw) -> list[bytes]:
    kind = draw(valid_kinds)
    subject = draw(st.sampled_from(SUBJECTS))
    fields = draw(st.fixed_dictionaries({}, optional={
        "flags": st.integers(0, 3), "corr_id": st.integers(0, 5), "timeout_ms": st.integers(0, 50),
        "source": st.sampled_from(["kernel", "gps", "nav"]),
    }))
    extra = draw(st.lists(st.binary(max_size=1500), max_size=3))
    return [header(kind, subject, **fields), draw(payloads), *extra]


@st.composite
def mutated(draw) -> list[bytes]:
    frames = draw(well_formed())
    raw = bytearray(frames[0])
    for _ in range(draw(st.integers(1, 4))):
        action = draw(st.sampled_from(["flip", "truncate", "extend", "set"]))
        if action == "flip" and raw:
            raw[draw(st.integers(0, len(raw) - 1))] ^= 1 << draw(st.integers(0, 7))
        elif action == "truncate":
            del raw[draw(st.integers(0, len(raw))):]
        elif action == "extend":
            raw += draw(st.binary(min_size=1, max_size=8))
        elif raw:  # a field to an edge value: kind, lengths
            index = draw(st.sampled_from([0, 1, 36, 37]).filter(lambda i: i < len(raw)))
            raw[index] = draw(st.sampled_from([0, 1, 11, 127, 255]))
    return [bytes(raw), *frames[1:]]


garbage = st.lists(st.binary(max_size=80), min_size=1, max_size=4)
oversize = st.builds(lambda n: [header(Kind.PUB, "fuzz.big"), b"x" * 3000, b"y" * n],
                     st.integers(1097, 4000))
# A burst of one message, sent back to back: the router must count every copy.
floods = st.tuples(st.one_of(well_formed(), mutated(), garbage), st.integers(50, 400)).map(
    lambda flood: [flood[0]] * flood[1])
hostile = st.one_of(
    st.lists(st.one_of(well_formed(), mutated(), garbage, oversize), min_size=1, max_size=25),
    floods)


def expected_outcome(frames: list[bytes]) -> set[str]:
    """What the kernel must do with one message: route it, answer it, refuse (and count) it."""
    if len(frames) < 2:  # the router sees [identity, header, payload, ...]
        return {"refused"}
    try:
        parsed = PURE.parse_header(frames[0])
    except WireError:
        return {"refused"}
    if parsed.kind == Kind.PUB:
        size = sum(len(f) for f in frames[1:])
        allowed = parsed.subject.startswith("fuzz.")
        return {"routed"} if allowed and size <= MAX_SIZE else {"refused"}
    if parsed.kind == Kind.UNSUB:
        return {"answered"}
    if parsed.kind == Kind.SUB:  # it may subscribe to nothing: an ERR at once, and counted
        return {"answered", "refused"}
    if parsed.kind == Kind.REQ:
        allowed = parsed.subject == "kernel.ps" or parsed.subject.startswith("nowhere.")
        return {"answered"} if allowed else {"answered", "refused"}
    if parsed.kind in (Kind.READY, Kind.HEARTBEAT):
        return set()
    return {"refused"}  # HELLO again, REP/ERR nobody asked for, CONTROL


@given(messages=hostile)
async def test_hostile_traffic_is_refused_and_counted_and_the_bus_keeps_working(
        messages, endpoints, impl):
    endpoint = next(endpoints)
    ctx = zmq.Context()
    try:
        async with trio.open_nursery() as nursery:
            bus = await SecureBus(nursery, ctx, endpoint, impl, max_message_size=MAX_SIZE,
                                  abuse_limit=10**9).start()
            watcher = await bus.client("watcher", bus.credential("operator"))
            seen = Collector()
            await watcher.subscribe("fuzz.>", seen)
            nav = Service("nav")
            nav.provide("nav.route", type=Empty)(answer_empty)
            await nursery.start(nav.serve, ProcessSettings(name="nav", bus=endpoint,
                                                           credential=bus.credential("nav")))
            media = await bus.client("media")
            fuzzer = await raw_join(bus, ctx)

            for frames in messages:
                fuzzer.send_multipart(frames)
            outcomes = [outcome for frames in messages for outcome in expected_outcome(frames)]
            # A marker request last: its answer means the router has handled everything before.
            fuzzer.send_multipart([header(Kind.REQ, "kernel.ps", msg_id=99_999),
                                   msgspec.msgpack.encode(Empty())])
            answers = await replies_until_marker(fuzzer)
            assert answers == outcomes.count("answered")

            with trio.fail_after(5):
                while len(seen.got) < outcomes.count("routed"):
                    await trio.sleep(0.001)
            assert all(d.header.source == "fuzzer" for d in seen.got)
            conn = bus.router.connections[bus.router.by_name["fuzzer"]]
            refused = sum(conn.peer.rejects.values())
            assert refused == outcomes.count("refused"), conn.peer.rejects

            reply = await media.request_raw(Kind.REQ, "nav.route",
                                            msgspec.msgpack.encode(Empty()), timeout=5)
            assert reply.header.kind == Kind.REP and reply.header.source == "nav"
            assert len(seen.got) == outcomes.count("routed")
            fuzzer.close(0)
            nursery.cancel_scope.cancel()
    finally:
        ctx.destroy(linger=0)


async def answer_empty(_: Empty) -> Empty:
    return Empty()


async def raw_join(bus: SecureBus, ctx: zmq.Context) -> zmq.Socket:
    sock = ctx.socket(zmq.DEALER)
    credential = bus.credential("fuzzer")
    sock.plain_username = b"fuzzer"
    sock.plain_password = credential.secret
    sock.connect(bus.endpoint)
    sock.send_multipart([header(Kind.HELLO, "hello", msg_id=1),
                         msgspec.msgpack.encode(Hello(name="fuzzer", pid=1))])
    await receive(sock)
    return sock


async def receive(sock: zmq.Socket) -> list[bytes]:
    with trio.fail_after(5):
        while not sock.poll(0):
            await trio.sleep(0.001)
    return sock.recv_multipart()


async def replies_until_marker(sock: zmq.Socket) -> int:
    count = 0
    while True:
        frames = await receive(sock)
        if PURE.parse_header(frames[0]).corr_id == 99_999 and frames[0][1] in (Kind.REP, Kind.ERR):
            return count
        count += 1


@pytest.mark.parametrize("payload", [DEEP, b"\xff" * 10, b"", msgspec.msgpack.encode([1, 2])],
                         ids=["deep", "garbage", "empty", "wrong-type"])
async def test_hostile_hello_is_refused_and_the_peer_stays_unknown(payload, endpoints, impl):
    endpoint = next(endpoints)
    ctx = zmq.Context()
    try:
        async with trio.open_nursery() as nursery:
            bus = await SecureBus(nursery, ctx, endpoint, impl).start()
            sock = ctx.socket(zmq.DEALER)
            sock.plain_username = b"fuzzer"
            sock.plain_password = bus.credential("fuzzer").secret
            sock.connect(endpoint)
            sock.send_multipart([header(Kind.HELLO, "hello", msg_id=1), payload])
            sock.send_multipart([header(Kind.PUB, "fuzz.a"), b"before joining"])
            with trio.fail_after(5):
                while sum(bus.router.anonymous_rejects.values()) < 2:
                    await trio.sleep(0.001)
            assert bus.router.anonymous_rejects == {"malformed.hello": 1, "unknown_peer": 1}
            assert bus.router.connections == {}
            sock.close(0)
            nursery.cancel_scope.cancel()
    finally:
        ctx.destroy(linger=0)
