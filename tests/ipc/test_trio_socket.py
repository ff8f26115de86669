from __future__ import annotations

import threading

import pytest
import trio
import zmq

from carnel.ipc.trio_socket import TrioSocket


@pytest.fixture
def pair(ctx, tmp_path):
    """Two connected DEALERs over ipc://, as the bus uses; the connection is up on return."""
    endpoint = f"ipc://{tmp_path}/pair.sock"
    a = ctx.socket(zmq.DEALER)
    a.bind(endpoint)
    b = ctx.socket(zmq.DEALER)
    b.connect(endpoint)
    # A blocking round trip: once it is back, the pipe exists both ways.
    b.send(b"hello")
    a.send(a.recv())
    assert b.recv() == b"hello"
    yield TrioSocket(a), TrioSocket(b)
    a.close(linger=0)
    b.close(linger=0)


def payloads(frames_list):
    return [[f.bytes for f in frames] for frames in frames_list]


async def test_multipart_message_arrives_whole(pair):
    a, b = pair
    with trio.fail_after(5):
        await a.send_multipart([b"header", b"payload", b"x" * 100_000])
        got = await b.recv_multipart()
    assert [f.bytes for f in got] == [b"header", b"payload", b"x" * 100_000]


async def test_messages_queued_before_the_wait_are_all_received(pair):
    a, b = pair
    # Fewer than the high-water marks hold, so the sender never blocks on the idle receiver.
    for i in range(900):
        a.sock.send_multipart([b"%d" % i, b"p"], zmq.NOBLOCK)
    received = []
    with trio.fail_after(5):
        while len(received) < 900:
            received += await b.recv_batch(100)
    assert [m[0].bytes for m in received] == [b"%d" % i for i in range(900)]


async def test_batch_never_exceeds_its_limit(pair):
    a, b = pair
    for i in range(50):
        a.sock.send_multipart([b"%d" % i])
    batches = []
    with trio.fail_after(5):
        while sum(map(len, batches)) < 50:
            batches.append(await b.recv_batch(7))
    assert max(map(len, batches)) <= 7
    assert [m[0].bytes for batch in batches for m in batch] == [b"%d" % i for i in range(50)]


async def test_own_send_consuming_the_edge_does_not_hide_an_arrived_message(pair, ctx):
    """The FD is edge-triggered: a send on the socket can swallow the signal of a receive."""
    a, b = pair
    ready = threading.Event()

    def peer_sends_first():
        a.sock.send_multipart([b"from-a"])
        ready.set()

    thread = threading.Thread(target=peer_sends_first)
    thread.start()
    thread.join()
    assert ready.is_set()
    # b has a message waiting; its own send now touches the socket's events before it receives.
    with trio.fail_after(5):
        await b.send_multipart([b"from-b"])
        got = await b.recv_multipart()
        back = await a.recv_multipart()
    assert got[0].bytes == b"from-a"
    assert back[0].bytes == b"from-b"


async def test_ping_pong_on_one_socket_pair_never_stalls(pair):
    a, b = pair

    async def echo():
        for _ in range(500):
            msg = await b.recv_multipart()
            await b.send_multipart(msg)

    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(echo)
            for i in range(500):
                await a.send_multipart([b"%d" % i])
                reply = await a.recv_multipart()
                assert reply[0].bytes == b"%d" % i


async def test_cancelled_receive_loses_no_message(pair):
    a, b = pair
    total = 2000
    received: list[bytes] = []

    async def sender():
        for i in range(total):
            await a.send_multipart([b"%d" % i])
            if i % 50 == 0:
                await trio.sleep(0)

    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(sender)
            attempts = 0
            while len(received) < total:
                attempts += 1
                # Cancel some receives before they start and others while they wait.
                with trio.CancelScope() as scope:
                    if attempts % 3 == 0:
                        scope.cancel()
                    else:
                        scope.deadline = trio.current_time() + 0.0005
                    batch = await b.recv_batch(37)
                    received += [m[0].bytes for m in batch]
    assert received == [b"%d" % i for i in range(total)]


async def test_send_waits_at_high_water_mark_and_resumes(ctx, tmp_path):
    endpoint = f"ipc://{tmp_path}/hwm.sock"
    sender = ctx.socket(zmq.DEALER)
    sender.setsockopt(zmq.SNDHWM, 1)
    sender.bind(endpoint)
    s = TrioSocket(sender)
    # No peer is connected: a DEALER has nowhere to queue, so the send must wait, not fail.
    with trio.move_on_after(0.2) as scope:
        await s.send_multipart([b"held"])
    assert scope.cancelled_caught
    receiver = ctx.socket(zmq.DEALER)
    receiver.connect(endpoint)
    r = TrioSocket(receiver)
    with trio.fail_after(5):
        await s.send_multipart([b"after"])
        got = await r.recv_multipart()
    assert got[0].bytes == b"after"
    sender.close(linger=0)
    receiver.close(linger=0)


async def test_two_tasks_receiving_at_once_is_refused(pair):
    _, b = pair
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(b.recv_multipart)
            await trio.testing.wait_all_tasks_blocked()
            with pytest.raises(trio.BusyResourceError):
                await b.recv_multipart()
            nursery.cancel_scope.cancel()


async def test_close_wakes_a_waiting_receiver(pair):
    _, b = pair
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:

            async def waiter():
                with pytest.raises(trio.ClosedResourceError):
                    await b.recv_multipart()

            nursery.start_soon(waiter)
            await trio.testing.wait_all_tasks_blocked()
            b.close()
