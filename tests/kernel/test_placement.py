"""Where the router's hot threads run: the setting, the decision, and a real router following
the size of what it routes."""
from __future__ import annotations

import os

import pytest
import trio
import zmq
from hypothesis import given
from hypothesis import strategies as st

from carnel.ipc.client import BusClient
from carnel.kernel import placement
from carnel.kernel.access import AccessControl
from carnel.kernel.image import ImageError, parse_image
from carnel.kernel.placement import LARGE, SMALL, Placement, PlacementError, router_cpu
from carnel.kernel.router import Router, RouterSettings


def test_auto_takes_the_last_allowed_cpu_and_leaves_a_single_cpu_alone():
    assert router_cpu("auto", {0, 1, 2, 3}) == 3
    assert router_cpu("auto", {1, 5}) == 5
    assert router_cpu("auto", {2}) is None
    assert router_cpu("off", {0, 1}) is None


def test_a_cpu_number_must_be_one_the_kernel_may_use():
    assert router_cpu(1, {0, 1}) == 1
    with pytest.raises(PlacementError, match=r"router_cpu = 7, but the kernel may run only on "
                                             r"CPUs 0, 1"):
        router_cpu(7, {0, 1})


@pytest.mark.parametrize(("text", "expected"), [("", "auto"), ('router_cpu = "off"', "off"),
                                                 ("router_cpu = 2", 2)])
def test_the_image_sets_it_under_bus(text, expected):
    image = parse_image(f'[image]\nname = "x"\n[bus]\n{text}\n', "x.toml")
    assert image.bus.router_cpu == expected


@pytest.mark.parametrize("text", ['router_cpu = "first"', "router_cpu = -1"])
def test_the_image_refuses_anything_else(text):
    with pytest.raises(ImageError, match=r"bus\.router_cpu"):
        parse_image(f'[image]\nname = "x"\n[bus]\n{text}\n', "x.toml")


windows = st.lists(st.tuples(st.integers(0, 1000), st.integers(0, 2**21)), max_size=40)


@given(windows)
def test_the_threads_move_only_when_a_window_average_crosses_the_far_threshold(sizes):
    decision = Placement()
    msgs = nbytes = 0
    for count, size in sizes:
        before = decision.together
        msgs += count
        nbytes += count * size
        moved = decision.review(msgs, nbytes)
        assert moved == (decision.together != before)
        if count == 0 or SMALL <= size <= LARGE:
            assert decision.together == before
        else:
            assert decision.together == (size < SMALL)


def test_io_threads_finds_libzmq_s_io_thread(ctx):
    ctx.socket(zmq.DEALER).close()  # the context starts its threads with its first socket

    async def named() -> list[int]:
        with trio.fail_after(5):
            while not (found := placement.io_threads()):
                await trio.sleep(0.01)  # libzmq names the thread once it runs
        return found

    tids = trio.run(named)
    for tid in tids:
        with open(f"/proc/self/task/{tid}/comm") as comm:
            assert comm.read().startswith("ZMQbg/IO/")


needs_two_cpus = pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2,
                                    reason="placement needs two CPUs to choose between")


@needs_two_cpus
async def test_the_router_holds_its_threads_together_for_small_messages_only(ctx, tmp_path, impl):
    allowed = os.sched_getaffinity(0)
    cpu = min(allowed)
    endpoint = f"ipc://{tmp_path}/bus.sock"
    router = Router(ctx, RouterSettings(endpoint=endpoint, authenticate=False, cpu=cpu),
                    impl=impl, access=AccessControl.allow_all())

    def hot_threads() -> list[int]:
        return [router._thread.native_id, *placement.io_threads()]

    async def held_on(cpus: set[int]) -> None:
        with trio.fail_after(5):
            while not all(os.sched_getaffinity(tid) == cpus for tid in hot_threads()):
                await trio.sleep(0.02)  # the router reviews every REVIEW_S

    async with trio.open_nursery() as nursery:
        await nursery.start(router.run)
        pub = BusClient(endpoint, "camera", ctx=ctx)
        sub = BusClient(endpoint, "recorder", ctx=ctx)
        await nursery.start(pub.run)
        await nursery.start(sub.run)
        got: list = []
        arrived = trio.Event()

        def sink(batch) -> None:
            got.extend(batch)
            if len(got) >= expected:
                arrived.set()

        await sub.subscribe("camera.>", sink)
        await held_on({cpu})

        expected = 40
        for _ in range(expected):
            await pub.publish_raw("camera.frame", b"f" * (4 * LARGE))
        with trio.fail_after(5):
            await arrived.wait()
        await held_on(allowed)

        got.clear()
        arrived = trio.Event()
        expected = 400
        for _ in range(expected):
            await pub.publish_raw("camera.status", b"ok")
        with trio.fail_after(5):
            await arrived.wait()
        await held_on({cpu})
        nursery.cancel_scope.cancel()
