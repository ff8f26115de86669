"""Default deny on a real bus: the ZAP handler, credentials, access lists and refusals.

Each test runs the kernel's router and ZAP handler in-process on real ZeroMQ sockets, with the
access lists of a small image; clients connect with the credentials the kernel would hand out.
"""
from __future__ import annotations

import os

import pytest
import trio
from hypothesis import given
from hypothesis import strategies as st

from carnel.ipc.client import BusClient
from carnel.ipc.errors import Denied, Unavailable
from carnel.ipc.schemas.bus import Empty
from carnel.ipc.service import Service
from carnel.ipc.settings import Credential, ProcessSettings
from carnel.ipc.wire import Kind
from carnel.kernel.credentials import CredentialStore
from carnel.kernel.zap import answer
from secure_bus import Collector, SecureBus

@pytest.fixture
def endpoint(tmp_path):
    return f"ipc://{tmp_path}/bus.sock"


async def settle(bus: SecureBus, probe: BusClient, sink: Collector) -> None:
    """Everything sent before this has been routed: a marker publication came back (what was
    sent before it may still be arriving when this starts, so only the marker ends the wait)."""
    def marker() -> int | None:
        return next((i for i, d in enumerate(sink.got) if d.header.subject == "gps.sync"), None)

    await probe.publish_raw("gps.sync", b"")
    with trio.fail_after(5):
        while marker() is None:
            await trio.sleep(0.001)
    del sink.got[marker()]


async def joins(bus: SecureBus, name: str, credential: Credential | None) -> bool:
    try:
        await bus.client(name, credential, join_timeout=2)
    except Denied as exc:
        assert "refused" in str(exc)
        return False
    return True


async def test_connection_without_a_live_credential_is_refused(ctx, endpoint, impl):
    async with trio.open_nursery() as nursery:
        bus = await SecureBus(nursery, ctx, endpoint, impl).start()
        good = bus.credential("gps")
        assert not await joins(bus, "anon", Credential("anon", b"guess"))
        assert not await joins(bus, "gps", Credential("gps", b"0" * 64))
        bus.store.revoke("gps")  # the process exited: its credential died with it
        assert not await joins(bus, "gps", good)
        assert bus.zap.refused["unauthenticated"] >= 3
        assert bus.router.connections == {}
        fresh = bus.credential("gps")
        assert await joins(bus, "gps", fresh)
        nursery.cancel_scope.cancel()


async def test_client_without_any_credential_is_never_admitted(ctx, endpoint, impl):
    async with trio.open_nursery() as nursery:
        bus = await SecureBus(nursery, ctx, endpoint, impl).start()
        client = BusClient(endpoint, "anon", ctx=ctx)
        with pytest.raises(Denied, match="without a credential"):
            await nursery.start(client.run)
        assert bus.router.connections == {} and bus.router.anonymous_rejects == {}
        nursery.cancel_scope.cancel()


async def test_without_a_zap_handler_the_bus_fails_closed(ctx, endpoint, impl):
    async with trio.open_nursery() as nursery:
        bus = await SecureBus(nursery, ctx, endpoint, impl).start(zap=False)
        with pytest.raises(Unavailable):  # libzmq holds the handshake: nobody can answer it
            await bus.client("gps", bus.credential("gps"), join_timeout=1)
        assert bus.router.connections == {}
        nursery.cancel_scope.cancel()


async def test_a_credential_joins_only_under_its_own_name(ctx, endpoint, impl):
    async with trio.open_nursery() as nursery:
        bus = await SecureBus(nursery, ctx, endpoint, impl).start()
        with pytest.raises(Denied, match="may not join as 'nav'"):
            await bus.client("nav", bus.credential("media"))
        operator = bus.credential("operator")
        with pytest.raises(Denied, match="may not join as 'gps'"):
            await bus.client("gps", operator)
        assert await bus.client("cli-1", operator)
        nursery.cancel_scope.cancel()


async def test_the_forwarded_source_is_the_authenticated_name_never_the_header(ctx, endpoint, impl):
    async with trio.open_nursery() as nursery:
        bus = await SecureBus(nursery, ctx, endpoint, impl).start()
        nav = await bus.client("nav")
        sink = Collector()
        await nav.subscribe("gps.>", sink)
        gps = await bus.client("gps")
        forged = impl.pack_header(Kind.PUB, "gps.fix", source="kernel")
        await gps.send_frames([forged, b"fix"])
        await settle(bus, gps, sink)
        assert [(d.header.source, bytes(d.payload)) for d in sink.got] == [("gps", b"fix")]
        nursery.cancel_scope.cancel()


async def test_each_verb_outside_the_lists_is_refused_and_counted(ctx, endpoint, impl):
    async with trio.open_nursery() as nursery:
        bus = await SecureBus(nursery, ctx, endpoint, impl).start()
        nav_svc = Service("nav")

        @nav_svc.provide("nav.route")
        async def route(_: Empty) -> Empty:
            return Empty()

        @nav_svc.provide("nav.secret")
        async def secret(_: Empty) -> Empty:
            return Empty()

        await nursery.start(nav_svc.serve, ProcessSettings(name="nav", bus=endpoint,
                                                           credential=bus.credential("nav")))
        media = await bus.client("media")
        nav = await bus.client("nav-watch", bus.credential("operator"))
        sink = Collector()
        await nav.subscribe(">", sink)
        gps = await bus.client("gps")

        await media.publish_raw("gps.fix", b"fake fix")  # media may not publish on gps.*
        await media.publish_raw("media.track", b"song")
        with trio.fail_after(1):  # refused at once, not at the caller's deadline
            with pytest.raises(Denied):
                await media.request_raw(Kind.REQ, "nav.secret", b"\x80", timeout=30)
            with pytest.raises(Denied):
                await media.subscribe("nav.>", Collector())
        reply = await media.request_raw(Kind.REQ, "nav.route", b"\x80", timeout=5)
        assert reply.header.kind == Kind.REP
        await settle(bus, gps, sink)
        assert [(d.header.subject, d.header.source) for d in sink.got] == [
            ("media.track", "media")]
        assert bus.router.connections[bus.router.by_name["media"]].peer.rejects == {
            "denied.publish": 1, "denied.call": 1, "denied.subscribe": 1}
        with pytest.raises(Denied, match="may not provide gps"):
            await bus.client("gps", bus.credential("gps"), provides=["gps"])
        nursery.cancel_scope.cancel()


async def test_publications_over_the_limit_are_refused_as_too_large(ctx, endpoint, impl):
    async with trio.open_nursery() as nursery:
        bus = await SecureBus(nursery, ctx, endpoint, impl, max_message_size=1000).start()
        nav = await bus.client("nav")
        sink = Collector()
        await nav.subscribe("gps.>", sink)
        gps = await bus.client("gps")
        await gps.publish_raw("gps.fix", b"x" * 600, [b"y" * 600])
        await gps.publish_raw("gps.fix", b"x" * 600)
        await settle(bus, gps, sink)
        assert [len(d.payload) for d in sink.got] == [600]
        assert bus.router.connections[bus.router.by_name["gps"]].peer.rejects == {"too_large": 1}
        nursery.cancel_scope.cancel()


async def test_a_peer_that_keeps_being_refused_is_disconnected_and_reported(ctx, endpoint, impl):
    async with trio.open_nursery() as nursery:
        bus = await SecureBus(nursery, ctx, endpoint, impl, abuse_limit=50).start()
        media = await bus.client("media")
        for _ in range(200):
            await media.publish_raw("door.unlock", b"open")
        with trio.fail_after(5):
            async for event in bus.events:
                if type(event).__name__ == "PeerAbusive":
                    break
        assert event.name == "media" and event.refused > 50
        assert "media" not in bus.router.by_name
        await media.publish_raw("media.track", b"after the ban")
        with trio.fail_after(5):
            while not bus.router.anonymous_rejects.get("banned"):
                await trio.sleep(0.01)
        nursery.cancel_scope.cancel()


async def test_a_process_given_its_own_uid_must_connect_as_that_uid(ctx, endpoint, impl):
    async with trio.open_nursery() as nursery:
        bus = await SecureBus(nursery, ctx, endpoint, impl).start()
        bus.store.uids["gps"] = os.getuid() + 1  # the image gives gps a uid this test is not
        bus.store.uids["nav"] = os.getuid()
        assert not await joins(bus, "gps", bus.credential("gps"))
        assert await joins(bus, "nav", bus.credential("nav"))
        nursery.cancel_scope.cancel()


frames = st.lists(st.binary(max_size=70), max_size=9)


@given(request=frames)
def test_zap_answers_every_request_and_admits_only_a_live_plain_credential(request):
    store = CredentialStore()
    secret = store.issue("gps")
    reply, verdict = answer(request, store)
    assert len(reply) == 6 and reply[0] == b"1.0"
    admitted = (len(request) == 8 and request[0] == b"1.0" and request[2] == b"carnel"
                and request[5] == b"PLAIN" and request[6] == b"gps" and request[7] == secret)
    assert (reply[2] == b"200") == admitted == (verdict.principal == "gps")


def test_zap_admits_the_credential_it_issued_and_names_the_principal():
    store = CredentialStore()
    secret = store.issue("gps")
    request = [b"1.0", b"7", b"carnel", b"localhost:0:0:42", b"", b"PLAIN", b"gps", secret]
    assert answer(request, store)[0] == [b"1.0", b"7", b"200", b"OK", b"gps", b""]
    store.issue("gps")  # a restart: the old secret is dead
    assert answer(request, store)[0][2:4] == [b"400", b"wrong secret for 'gps'"]
