"""The serial adapter on real pseudo-terminals: raw mode, the rate, reading a receiver's output,
and a port that goes away and comes back.

A pty stands in for the receiver's tty: the test writes the receiver's bytes to the master and
the adapter opens the slave by path. The kernel moves pty data asynchronously, so these tests
run on the real clock and wait for events, each wait under a deadline.
"""
from __future__ import annotations

import errno
import os
import termios
from pathlib import Path

import pytest
import trio
from gps_rig import RecordingOutput, RecordingService, receiver_output

from carnel.drivers.gps import GpsConfig, NmeaReceiver
from carnel.drivers.gps.serial_port import serial_session
from carnel.ipc.tty import open_raw_tty
from carnel.ipc.device import Backoff, DeviceLink

DEADLINE_S = 10


class Pty:
    """A pseudo-terminal whose master the test writes to, without blocking the run loop."""

    def __init__(self) -> None:
        self.master, slave = os.openpty()
        self.path = os.ttyname(slave)
        # The adapter opens the slave by its path; the pty lives while the master is open.
        os.close(slave)
        os.set_blocking(self.master, False)

    async def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            try:
                view = view[os.write(self.master, view):]
            except BlockingIOError:
                await trio.lowlevel.wait_writable(self.master)

    def close(self) -> None:
        os.close(self.master)


@pytest.fixture
def pty():
    made = Pty()
    yield made
    try:
        made.close()
    except OSError:
        pass


def test_the_port_is_raw_eight_bits_at_the_configured_rate(pty: Pty) -> None:
    fd = open_raw_tty(pty.path, 4800)
    try:
        iflag, oflag, cflag, lflag, ispeed, ospeed, cc = termios.tcgetattr(fd)
    finally:
        os.close(fd)
    assert ispeed == ospeed == termios.B4800
    assert cflag & termios.CSIZE == termios.CS8
    assert not cflag & termios.PARENB
    assert not lflag & (termios.ICANON | termios.ECHO | termios.ISIG)
    assert not iflag & (termios.ICRNL | termios.IXON)
    assert not oflag & termios.OPOST
    assert cc[termios.VMIN] == 1


async def test_line_ends_arrive_byte_for_byte(pty: Pty) -> None:
    fd = open_raw_tty(pty.path, 9600)
    async with trio.lowlevel.FdStream(fd) as stream:
        await pty.write(b"$GPGSV,1,1,00*79\r\n")
        received = b""
        with trio.fail_after(DEADLINE_S):
            while len(received) < 18:
                received += await stream.receive_some()
    assert received == b"$GPGSV,1,1,00*79\r\n"


def test_a_missing_port_and_a_file_that_is_no_tty_are_os_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        open_raw_tty(str(tmp_path / "ttyUSB9"), 9600)
    (tmp_path / "plain").write_bytes(b"")
    with pytest.raises(OSError) as raised:
        open_raw_tty(str(tmp_path / "plain"), 9600)
    assert raised.value.errno == errno.ENOTTY


def config_for(path: str, **overrides) -> GpsConfig:
    settings = {"source": "serial", "device": path, "baud": 4800, "quiet_s": 0.2,
                "silence_s": 60.0, "retry_initial_s": 0.01, "retry_max_s": 0.05}
    return GpsConfig(**{**settings, **overrides})


async def test_a_receivers_output_through_the_port_gives_the_same_fixes_as_its_bytes(
        pty: Pty) -> None:
    data = receiver_output("garmin-10x.log")
    whole = NmeaReceiver()
    expected = whole.feed(data, 0.0).fixes + whole.end_epoch()
    svc = RecordingService()
    link = DeviceLink(svc, "gps", f"serial:{pty.path}")
    output = RecordingOutput()
    config = config_for(pty.path)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(serial_session, link, config, output, lambda: 0.0)
        with trio.fail_after(DEADLINE_S):
            await svc.wait_until(lambda: ("connected", "") in svc.states)
            await pty.write(data)
            await output.wait_until(lambda: len(output.events) >= len(expected))
        nursery.cancel_scope.cancel()
    stripped = [(type(e).__name__, getattr(e, "time", None), getattr(e, "lat", None))
                for e in output.events]
    assert stripped == [(type(e).__name__, getattr(e, "time", None), getattr(e, "lat", None))
                        for e in expected]
    assert output.rejections == []


async def test_a_port_that_goes_away_is_unavailable_and_reconnected_when_it_returns(
        pty: Pty, tmp_path: Path) -> None:
    # The receiver's stable name, as udev gives one (/dev/serial/by-id/...), points at the pty.
    device = tmp_path / "gps0"
    device.symlink_to(pty.path)
    svc = RecordingService()
    link = DeviceLink(svc, "gps", f"serial:{device}", backoff=Backoff(initial=0.01, maximum=0.05))
    output = RecordingOutput()
    config = config_for(str(device))

    async def session(link: DeviceLink) -> None:
        await serial_session(link, config, output, lambda: 0.0)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(link.run, session)
        with trio.fail_after(DEADLINE_S):
            await svc.wait_until(lambda: svc.states.count(("connected", "")) == 1)
            await pty.write(receiver_output("garmin-10x.log")[:2000])
            await output.wait_until(lambda: len(output.fixes_only) >= 1)

            pty.close()
            await svc.wait_until(lambda: any(state == "unavailable" for state, _ in svc.states))
            # Gone for good until it is plugged in again: opening it fails, the driver stays up.
            await svc.wait_until(lambda: any("ENOENT" in reason for _, reason in svc.states))

            returned = Pty()
            device.unlink()
            device.symlink_to(returned.path)
            await svc.wait_until(lambda: svc.states.count(("connected", "")) == 2)
            await returned.write(receiver_output("garmin-10x.log")[:2000])
            before = len(output.fixes_only)
            await output.wait_until(lambda: len(output.fixes_only) > before)
        nursery.cancel_scope.cancel()
    returned.close()
    unavailable = [reason for state, reason in svc.states if state == "unavailable"]
    assert unavailable[0] == "the port reached end of file"
