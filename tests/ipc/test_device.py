"""A device that comes and goes is a state on the bus, retried with capped backoff."""
from __future__ import annotations

import errno

import pytest
import structlog
import trio
import trio.testing

from carnel.ipc.device import Backoff, DeviceLink, DeviceLost


class RecordingService:
    def __init__(self) -> None:
        self.log = structlog.get_logger()
        self.published: list[tuple[float, str, object]] = []

    async def publish(self, subject: str, msg: object, *, retain: bool = False) -> None:
        assert retain
        self.published.append((trio.current_time(), subject, msg))


def test_backoff_doubles_up_to_its_cap_and_starts_again_after_reset() -> None:
    backoff = Backoff(initial=0.5, maximum=3.0)
    assert [backoff.next_delay() for _ in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    backoff.reset()
    assert backoff.next_delay() == 0.5


@pytest.mark.trio
async def test_unplugged_device_is_reported_unavailable_and_retried_with_backoff(
        autojump_clock: trio.testing.MockClock) -> None:
    svc = RecordingService()
    link = DeviceLink(svc, "gps", "serial:/dev/ttyUSB0", backoff=Backoff(initial=1, maximum=4))
    attempts: list[float] = []

    async def session(link: DeviceLink) -> None:
        attempts.append(trio.current_time())
        if len(attempts) < 4:
            raise FileNotFoundError(errno.ENOENT, "No such file or directory")
        await link.connected()
        link.reject("checksum", 2)
        await link.report()
        raise DeviceLost("the adapter hung up")

    with trio.move_on_after(12):
        await link.run(session)

    assert [round(t) for t in attempts[:5]] == [0, 1, 3, 7, 11]
    states = [(msg.state, msg.reason) for _, subject, msg in svc.published if subject == "gps.status"]
    assert states[:2] == [("connecting", ""), ("unavailable", "ENOENT: No such file or directory")]
    assert ("connected", "") in states
    assert ("unavailable", "the adapter hung up") in states
    reported = [msg for _, _, msg in svc.published if msg.state == "connected" and msg.rejects]
    assert reported[0].rejects == {"checksum": 2}


@pytest.mark.trio
async def test_backoff_restarts_only_after_a_session_that_stayed_up(
        autojump_clock: trio.testing.MockClock) -> None:
    svc = RecordingService()
    link = DeviceLink(svc, "can", "socketcan:can0", backoff=Backoff(initial=1, maximum=8),
                      healthy_after=5)
    attempts: list[float] = []

    async def session(link: DeviceLink) -> None:
        attempts.append(trio.current_time())
        await link.connected()
        await trio.sleep(10 if len(attempts) == 3 else 0)  # the third one stays up a while

    with trio.move_on_after(30):
        await link.run(session)
    gaps = [round(b - a) for a, b in zip(attempts, attempts[1:])]
    assert gaps[:4] == [1, 2, 10 + 1, 2]


@pytest.mark.trio
async def test_reporting_again_while_unavailable_keeps_the_reason(
        autojump_clock: trio.testing.MockClock) -> None:
    svc = RecordingService()
    link = DeviceLink(svc, "gps", "gpsd:127.0.0.1:2947", backoff=Backoff(initial=5))

    async def session(link: DeviceLink) -> None:
        raise ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused")

    async with trio.open_nursery() as nursery:
        nursery.start_soon(link.run, session)
        await trio.sleep(1)
        link.reject("checksum")
        await link.report()
        nursery.cancel_scope.cancel()
    last = svc.published[-1][2]
    assert (last.state, last.reason, last.retry_in_s, last.rejects) == (
        "unavailable", "ECONNREFUSED: Connection refused", 5, {"checksum": 1})
