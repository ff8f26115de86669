"""Reading a Linux SocketCAN interface through a raw AF_CAN socket (the standard library's).

Frames are drained in batches: one wait for readability, then non-blocking reads until the socket
is empty or a batch is full. Trio's own `sock.recv` would yield to the scheduler after every frame,
which at thousands of frames a second costs more than the frames themselves.

An interface that goes down makes the kernel fail the next read with ENETDOWN, one that is removed
with ENODEV (linux/net/can/raw.c, raw_notify): both leave `run` as OSError, which DeviceLink
reports as `unavailable` and retries.
"""

from __future__ import annotations

import errno
import fcntl
import socket
import struct
import time
from collections.abc import Awaitable, Callable
from typing import NoReturn

import trio

from carnel.drivers.can.errors import CanError
from carnel.drivers.can.frame import CanFrame
from carnel.drivers.can.socketcan import CANFD_MTU, unpack_frame
from carnel.drivers.can.stats import ReasonCounts
from carnel.ipc.device import DeviceLost

Deliver = Callable[[list[CanFrame]], Awaitable[None]]

MAX_BATCH = 256
# A 500 kbit/s bus delivers up to ~4000 frames/s and each one costs the socket ~1 kB of receive
# buffer: the usual default (net.core.rmem_default, 208 kB) rides out a stall of ~50 ms, this ~250.
RECEIVE_BUFFER_BYTES = 1 << 20

# From linux/sockios.h, linux/if.h and asm-generic/socket.h (arm64, x86); Python names none of them.
_SIOCGIFFLAGS = 0x8913
_IFF_UP = 0x1
_IFREQ = struct.Struct("16sH14x")
_SO_RCVBUFFORCE = 33
_SO_RXQ_OVFL = 40
# With SO_RXQ_OVFL on, the OS stamps on each frame it queues how many it has dropped so far on
# that socket (a full receive buffer), as a native uint32 in ancillary data.
_DROPPED = struct.Struct("=I")
_ANCILLARY_SPACE = socket.CMSG_SPACE(_DROPPED.size)


def interface_is_up(sock: socket.socket, interface: str) -> bool:
    """Whether the network interface is administratively up; OSError(ENODEV) if there is none."""
    request = _IFREQ.pack(interface.encode(), 0)
    _, flags = _IFREQ.unpack(fcntl.ioctl(sock.fileno(), _SIOCGIFFLAGS, request))
    return bool(flags & _IFF_UP)


def open_can_socket(interface: str) -> socket.socket:
    """A non-blocking raw CAN socket bound to `interface`, receiving classic and CAN FD frames.

    Raises OSError: EAFNOSUPPORT without the kernel's CAN support, ENODEV for an unknown
    interface, ENETDOWN for one that is down (a bound socket would wait on it in silence).
    """
    sock = socket.socket(socket.AF_CAN, socket.SOCK_RAW, socket.CAN_RAW)
    try:
        sock.setsockopt(socket.SOL_CAN_RAW, socket.CAN_RAW_FD_FRAMES, 1)
        _enlarge_receive_buffer(sock)
        # Frames the OS drops while this driver is behind are then counted, not lost in silence.
        sock.setsockopt(socket.SOL_SOCKET, _SO_RXQ_OVFL, 1)
        if not interface_is_up(sock, interface):
            raise OSError(errno.ENETDOWN, f"interface {interface} is down")
        sock.bind((interface,))
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def dropped_so_far(ancillary: list[tuple[int, int, bytes]]) -> int | None:
    """The OS's count of frames dropped on the socket, from a frame's ancillary data (None
    without SO_RXQ_OVFL). It wraps at 2**32."""
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == _SO_RXQ_OVFL and len(data) >= _DROPPED.size:
            return _DROPPED.unpack_from(data)[0]
    return None


def _enlarge_receive_buffer(sock: socket.socket) -> None:
    try:
        # Past net.core.rmem_max, which SO_RCVBUF silently stops at; needs CAP_NET_ADMIN.
        sock.setsockopt(socket.SOL_SOCKET, _SO_RCVBUFFORCE, RECEIVE_BUFFER_BYTES)
    except PermissionError:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER_BYTES)


class SocketCanReader:
    """Reads frames from raw CAN sockets and hands them over in batches.

    `rejections` counts reads that are not a valid frame, per CanError reason, over every socket
    this reader has read, and as `queue_overflow` the frames the OS dropped because the reader
    fell behind. Those are learnt from the first frame of each batch, which carries the OS's
    count so far: a drop is counted with the first batch queued after it. A batch's frames carry
    the time it was drained: one clock read per batch, instead of the kernel's timestamp per
    frame as ancillary data, off by at most the drain's own latency.
    """

    def __init__(self, channel: str, *, max_batch: int = MAX_BATCH) -> None:
        self.rejections = ReasonCounts()
        self.channel = channel
        self._max_batch = max_batch

    def _count_drops(self, ancillary: list[tuple[int, int, bytes]], before: int) -> int:
        """Count as queue_overflow what the OS dropped since its running count was `before`;
        returns the count now."""
        so_far = dropped_so_far(ancillary)
        if so_far is None or so_far == before:
            return before
        self.rejections.add("queue_overflow", (so_far - before) % 2**32)
        return so_far

    async def run(self, sock: socket.socket, deliver: Deliver) -> NoReturn:
        """Read `sock` (non-blocking) until it fails: OSError from the kernel, DeviceLost at EOF."""
        channel, rejections, max_batch = self.channel, self.rejections, self._max_batch
        recv, recvmsg = sock.recv, sock.recvmsg
        dropped = 0  # by the OS on this socket, which counts from its opening
        while True:
            await trio.lowlevel.wait_readable(sock)
            timestamp = time.time()
            frames: list[CanFrame] = []
            failure: BaseException | None = None
            for n in range(max_batch):
                try:
                    if n:
                        buffer = recv(CANFD_MTU)
                    else:
                        buffer, ancillary, _, _ = recvmsg(CANFD_MTU, _ANCILLARY_SPACE)
                        dropped = self._count_drops(ancillary, dropped)
                except BlockingIOError:
                    break
                except OSError as exc:
                    failure = exc
                    break
                if not buffer:
                    failure = DeviceLost("the CAN socket was closed")
                    break
                try:
                    frames.append(unpack_frame(buffer, timestamp=timestamp, channel=channel))
                except CanError as exc:
                    rejections.add(exc.reason)
            # The frames read before a failure are already off the bus: hand them over first.
            if frames:
                await deliver(frames)
            if failure is not None:
                raise failure
