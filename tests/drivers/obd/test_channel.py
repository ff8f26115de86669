"""The session over a stream: deadlines, and a device that is gone raising DeviceLost."""
from __future__ import annotations

import pytest
import trio
from obd_fakes import short_drive
from trio.testing import MockClock, memory_stream_pair

from carnel.drivers.obd import ElmSession, ElmSettings, Initialise, ReadPid, RequestFailed
from carnel.drivers.obd.channel import ElmChannel
from carnel.drivers.obd.simulated_adapter import SimulatedAdapterStream
from carnel.ipc.device import DeviceLost


class StalledStream(trio.abc.Stream):
    """A device whose writes never complete, as a tty with flow control held off."""

    async def send_all(self, data) -> None:
        await trio.sleep_forever()

    async def wait_send_all_might_not_block(self) -> None:
        await trio.sleep_forever()

    async def receive_some(self, max_bytes=None) -> bytes:
        await trio.sleep_forever()

    async def aclose(self) -> None:
        await trio.lowlevel.checkpoint()


async def test_a_stream_that_ends_is_a_lost_device() -> None:
    ours, theirs = memory_stream_pair()

    async def hang_up() -> None:
        await theirs.receive_some()
        await theirs.send_eof()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(hang_up)
        with pytest.raises(DeviceLost, match="^the adapter closed the connection$"):
            await ElmChannel(ours, ElmSession()).request(Initialise())


async def test_a_stream_that_breaks_is_a_lost_device() -> None:
    ours, theirs = memory_stream_pair()
    await theirs.aclose()
    with pytest.raises(DeviceLost, match="^writing: "):
        await ElmChannel(ours, ElmSession()).request(Initialise())


async def test_a_write_that_never_completes_is_a_lost_device(autojump_clock: MockClock) -> None:
    channel = ElmChannel(StalledStream(), ElmSession(ElmSettings(command_timeout=1.5)))
    with pytest.raises(DeviceLost, match="stalled for 1.5 s"):
        await channel.request(Initialise())
    assert trio.current_time() == pytest.approx(1.5)


async def test_an_adapter_that_never_answers_fails_initialisation_after_its_timeout(
        autojump_clock: MockClock) -> None:
    ours, theirs = memory_stream_pair()
    channel = ElmChannel(ours, ElmSession(ElmSettings(reset_timeout=5.0)))
    with pytest.raises(DeviceLost, match="ATZ failed: timeout"):
        await channel.request(Initialise())
    assert trio.current_time() == pytest.approx(5.0)


async def test_failure_counts_are_handed_over_once(autojump_clock: MockClock) -> None:
    channel = ElmChannel(SimulatedAdapterStream(short_drive()), ElmSession())
    await channel.request(Initialise())
    assert channel.new_error_counts() == {}
    for _ in range(3):
        failed = await channel.request(ReadPid(0x2F))
        assert isinstance(failed, RequestFailed) and failed.error.reason == "no_data"
    assert channel.new_error_counts() == {"no_data": 3}
    assert channel.new_error_counts() == {}
