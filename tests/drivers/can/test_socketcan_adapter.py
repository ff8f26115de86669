"""The SocketCAN adapter: reading on a SEQPACKET socket pair carrying kernel-layout frames, and
the real AF_CAN open wherever the kernel lets this process have one."""

from __future__ import annotations

import errno
import os
import socket
import sys
from pathlib import Path

import pytest
import trio
from can_strategies import can_frames
from hypothesis import given, settings
from hypothesis import strategies as st

from carnel.drivers.can import AscReader, CanFrame, pack_frame
from carnel.drivers.can.socketcan_adapter import (
    MAX_BATCH, SocketCanReader, dropped_so_far, interface_is_up, open_can_socket)
from carnel.ipc.device import DeviceLost


def can_sockets_work() -> bool:
    try:
        socket.socket(socket.AF_CAN, socket.SOCK_RAW, socket.CAN_RAW).close()
    except OSError:
        return False
    return True


VCAN = os.environ.get("CARNEL_TEST_VCAN", "vcan0")
needs_vcan = pytest.mark.skipif(
    not (can_sockets_work() and Path("/sys/class/net", VCAN).exists()),
    reason=f"needs AF_CAN and a virtual CAN interface {VCAN} "
    f"(ip link add dev {VCAN} type vcan && ip link set up {VCAN}; CARNEL_TEST_VCAN names another)",
)


def seqpacket_pair() -> tuple[socket.socket, socket.socket]:
    """A bus stand-in: like a raw CAN socket, it keeps each write a separate datagram."""
    ours, bus = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    ours.setblocking(False)
    bus.setblocking(False)
    return ours, bus


async def send_all(bus: socket.socket, datagrams: list[bytes]) -> None:
    for datagram in datagrams:
        while True:
            try:
                bus.send(datagram)
                break
            except BlockingIOError:
                await trio.lowlevel.wait_writable(bus)


async def read_until_stopped(
    ours: object, datagrams: list[bytes], bus: socket.socket, reader: SocketCanReader, batches: Batches
) -> None:
    """Write the datagrams while the reader reads, until `batches` says stop."""
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(send_all, bus, datagrams)
            with pytest.raises(Stop):
                await reader.run(ours, batches)  # type: ignore[arg-type]


def same_frame(frame: CanFrame) -> CanFrame:
    """A frame as it reads back from a socket: the drain's time, the interface's name."""
    fields = {name: getattr(frame, name) for name in frame.__struct_fields__}
    return CanFrame(**{**fields, "timestamp": 0.0, "channel": "can0"})


class Stop(Exception):
    """Raised by Batches to end a read that would otherwise go on for ever."""


class Batches:
    def __init__(self, stop_after_frames: int | None = None) -> None:
        self.batches: list[list[CanFrame]] = []
        self._stop_after = stop_after_frames

    async def __call__(self, frames: list[CanFrame]) -> None:
        self.batches.append(frames)
        if self._stop_after is not None and len(self.frames) >= self._stop_after:
            raise Stop

    @property
    def frames(self) -> list[CanFrame]:
        return [frame for batch in self.batches for frame in batch]


@pytest.fixture
def captured(python_can_sdist: Path) -> list[CanFrame]:
    reader = AscReader()
    return reader.feed((python_can_sdist / "test" / "data" / "issue_1256.asc").read_bytes()) + reader.close()


async def test_frames_written_by_the_bus_are_read_in_batches(captured: list[CanFrame]) -> None:
    ours, bus = seqpacket_pair()
    frames = [same_frame(frame) for frame in captured[:600]]
    batches = Batches(stop_after_frames=len(frames))
    with ours, bus:
        await read_until_stopped(ours, [pack_frame(frame) for frame in frames], bus, SocketCanReader("can0"), batches)
    assert [same_frame(frame) for frame in batches.frames] == frames
    # The writer fills the socket before the reader wakes: the reader drains full batches.
    assert max(len(batch) for batch in batches.batches) == MAX_BATCH
    for batch in batches.batches:
        assert len({frame.timestamp for frame in batch}) == 1


@settings(max_examples=20)
@given(st.lists(can_frames(channel=st.just("can0")), min_size=1, max_size=30))
def test_any_frame_crosses_the_socket_unchanged(frames: list[CanFrame]) -> None:
    async def main() -> Batches:
        ours, bus = seqpacket_pair()
        batches = Batches(stop_after_frames=len(frames))
        with ours, bus:
            await read_until_stopped(
                ours, [pack_frame(frame) for frame in frames], bus, SocketCanReader("can0"), batches
            )
        return batches

    read = trio.run(main).frames
    assert [same_frame(frame) for frame in read] == [same_frame(frame) for frame in frames]


async def test_reads_that_are_no_frame_are_counted_and_the_rest_delivered() -> None:
    good = CanFrame(timestamp=0.0, arbitration_id=0x123, data=b"\x01\x02", channel="can0")
    standard_id_too_wide = bytearray(pack_frame(good))
    standard_id_too_wide[0:4] = (0x800).to_bytes(4, sys.byteorder)
    ours, bus = seqpacket_pair()
    reader = SocketCanReader("can0")
    batches = Batches(stop_after_frames=2)
    datagrams = [bytes(20), pack_frame(good), bytes(standard_id_too_wide), bytes(8), pack_frame(good)]
    with ours, bus:
        await read_until_stopped(ours, datagrams, bus, reader, batches)
    assert [frame.arbitration_id for frame in batches.frames] == [0x123, 0x123]
    assert reader.rejections.snapshot() == {"bad_size": 2, "id_out_of_range": 1}


async def test_closed_socket_is_a_lost_device() -> None:
    ours, bus = seqpacket_pair()
    bus.send(pack_frame(CanFrame(timestamp=0.0, arbitration_id=0x10, channel="can0")))
    bus.close()
    batches = Batches()
    with ours, trio.fail_after(5), pytest.raises(DeviceLost):
        await SocketCanReader("can0").run(ours, batches)
    assert [frame.arbitration_id for frame in batches.frames] == [0x10]


class InterfaceGoesDown:
    """A socket whose reads fail with ENETDOWN after a number of frames, as a raw CAN socket's do
    when its interface is taken down."""

    def __init__(self, sock: socket.socket, frames_before: int) -> None:
        self._sock = sock
        self._left = frames_before

    def fileno(self) -> int:
        return self._sock.fileno()

    def recv(self, size: int) -> bytes:
        if self._left == 0:
            raise OSError(errno.ENETDOWN, os.strerror(errno.ENETDOWN))
        self._left -= 1
        return self._sock.recv(size)

    def recvmsg(self, size: int, ancillary_size: int) -> tuple[bytes, list, int, object]:
        return self.recv(size), [], 0, None


async def test_interface_going_down_ends_the_read_after_delivering_what_was_read() -> None:
    ours, bus = seqpacket_pair()
    with ours, bus:
        for n in range(5):
            bus.send(pack_frame(CanFrame(timestamp=0.0, arbitration_id=n, channel="can0")))
        batches = Batches()
        with trio.fail_after(5), pytest.raises(OSError) as caught:
            await SocketCanReader("can0").run(InterfaceGoesDown(ours, 3), batches)  # type: ignore[arg-type]
    assert caught.value.errno == errno.ENETDOWN
    assert [frame.arbitration_id for frame in batches.frames] == [0, 1, 2]


def overflowing_pair() -> tuple[socket.socket, socket.socket]:
    """A bus stand-in whose receive buffer overflows as a raw CAN socket's does: the OS drops
    what does not fit, and says how many (SO_RXQ_OVFL) on the next frame it queues."""
    ours = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    ours.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1)  # the OS's minimum: a few frames
    ours.setsockopt(socket.SOL_SOCKET, 40, 1)  # SO_RXQ_OVFL
    ours.bind(("127.0.0.1", 0))
    ours.setblocking(False)
    bus = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    bus.connect(ours.getsockname())
    return ours, bus


async def test_frames_the_os_drops_while_the_reader_is_behind_are_counted() -> None:
    ours, bus = overflowing_pair()
    reader = SocketCanReader("can0")
    read: list[int] = []
    drained = trio.Event()
    last = 0x7FF

    async def deliver(frames: list[CanFrame]) -> None:
        read.extend(frame.arbitration_id for frame in frames)
        drained.set()
        if read[-1] == last:
            raise Stop

    with ours, bus, trio.fail_after(5):
        for n in range(200):  # while nobody reads
            bus.send(pack_frame(CanFrame(timestamp=0.0, arbitration_id=n, channel="can0")))
        async with trio.open_nursery() as nursery:
            async def read_until_last() -> None:
                with pytest.raises(Stop):
                    await reader.run(ours, deliver)  # type: ignore[arg-type]

            nursery.start_soon(read_until_last)
            await drained.wait()
            queued = len(read)
            # The next frame the OS queues carries its count of those it dropped.
            bus.send(pack_frame(CanFrame(timestamp=0.0, arbitration_id=last, channel="can0")))
    assert 0 < queued < 200 and read == [*range(queued), last]
    assert reader.rejections.snapshot() == {"queue_overflow": 200 - queued}


def test_a_frame_without_the_os_count_says_nothing_of_drops() -> None:
    assert dropped_so_far([]) is None
    assert dropped_so_far([(socket.SOL_SOCKET, 40, (7).to_bytes(4, sys.byteorder))]) == 7


def test_opening_a_missing_interface_fails_with_the_kernel_reason() -> None:
    with pytest.raises(OSError) as caught:
        open_can_socket("carnelnone0")
    # ENODEV where the kernel has CAN support; EAFNOSUPPORT where it has none (containers).
    expected = errno.ENODEV if can_sockets_work() else errno.EAFNOSUPPORT
    assert caught.value.errno == expected


def test_interface_state_is_read_from_the_kernel() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        assert interface_is_up(sock, "lo")
        with pytest.raises(OSError) as caught:
            interface_is_up(sock, "carnelnone0")
    assert caught.value.errno == errno.ENODEV


@needs_vcan
async def test_frames_sent_on_a_virtual_can_interface_are_read() -> None:
    frames = [
        CanFrame(timestamp=0.0, arbitration_id=0x123, data=b"\x11\x22", channel=VCAN),
        CanFrame(timestamp=0.0, arbitration_id=0x1ABCDEF, is_extended=True, data=bytes(8), channel=VCAN),
        CanFrame(
            timestamp=0.0, arbitration_id=0x14C, is_fd=True, bitrate_switch=True, data=bytes(range(32)), channel=VCAN
        ),
    ]
    with open_can_socket(VCAN) as ours, socket.socket(socket.AF_CAN, socket.SOCK_RAW, socket.CAN_RAW) as sender:
        sender.setsockopt(socket.SOL_CAN_RAW, socket.CAN_RAW_FD_FRAMES, 1)
        sender.bind((VCAN,))
        for frame in frames:
            sender.send(pack_frame(frame))
        batches = Batches(stop_after_frames=len(frames))
        with trio.fail_after(5), pytest.raises(Stop):
            await SocketCanReader(VCAN).run(ours, batches)
    assert [(f.arbitration_id, f.is_fd, f.data) for f in batches.frames] == [
        (f.arbitration_id, f.is_fd, f.data) for f in frames
    ]
