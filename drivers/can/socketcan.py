"""SocketCAN's binary frame layouts (linux/can.h), packed and unpacked without a socket.

A raw AF_CAN socket with CAN_RAW_FD_FRAMES enabled hands out `struct can_frame` (16 bytes) for
classic frames and `struct canfd_frame` (72 bytes) for CAN FD frames: the size alone tells which.
The identifier word is in host byte order, as the kernel writes it.
"""
from __future__ import annotations

import struct

from carnel.drivers.can.errors import WireError
from carnel.drivers.can.frame import CLASSIC_MAX_LENGTH, FD_MAX_LENGTH, CanFrame

CAN_MTU = 16
CANFD_MTU = 72

CAN_EFF_FLAG = 0x80000000
CAN_RTR_FLAG = 0x40000000
CAN_ERR_FLAG = 0x20000000

CANFD_BRS = 0x01
CANFD_ESI = 0x02
# The kernel sets it in every canfd_frame it hands out since CAN XL support; can-utils sets it on send.
CANFD_FDF = 0x04

# can_id, len, then `__pad` (classic) or `flags` (FD), then two reserved bytes (the last one is
# `len8_dlc` in a classic frame, which this driver does not keep).
_HEADER = struct.Struct("=IBBBB")
_CLASSIC_PADDING = bytes(CLASSIC_MAX_LENGTH)
_FD_PADDING = bytes(FD_MAX_LENGTH)


def unpack_frame(buffer: bytes, *, timestamp: float, channel: str = "") -> CanFrame:
    """A frame from the bytes one read() of a raw CAN socket returned.

    Raises WireError for a size that is neither CAN_MTU nor CANFD_MTU, and FrameError for a
    layout whose fields break the CAN rules (a standard id wider than 11 bits, a bad length).
    """
    size = len(buffer)
    if size == CAN_MTU:
        is_fd = False
    elif size == CANFD_MTU:
        is_fd = True
    else:
        raise WireError("bad_size", f"{size} bytes is neither a can_frame ({CAN_MTU}) nor a canfd_frame ({CANFD_MTU})")
    can_id, length, fd_flags, _, _ = _HEADER.unpack_from(buffer)
    capacity = FD_MAX_LENGTH if is_fd else CLASSIC_MAX_LENGTH
    if length > capacity:
        raise WireError("bad_length", f"length {length} does not fit a {size}-byte frame")
    if can_id & CAN_ERR_FLAG:
        return CanFrame(
            timestamp=timestamp,
            arbitration_id=can_id & ~CAN_ERR_FLAG,
            is_error=True,
            is_fd=is_fd,
            is_extended=bool(can_id & CAN_EFF_FLAG),
            is_remote=bool(can_id & CAN_RTR_FLAG),
            data=bytes(buffer[8 : 8 + length]),
            channel=channel,
        )
    is_extended = bool(can_id & CAN_EFF_FLAG)
    arbitration_id = can_id & ~(CAN_EFF_FLAG | CAN_RTR_FLAG)
    is_remote = bool(can_id & CAN_RTR_FLAG)
    return CanFrame(
        timestamp=timestamp,
        arbitration_id=arbitration_id,
        is_extended=is_extended,
        is_fd=is_fd,
        is_remote=is_remote,
        bitrate_switch=is_fd and bool(fd_flags & CANFD_BRS),
        error_state_indicator=is_fd and bool(fd_flags & CANFD_ESI),
        remote_length=length if is_remote else 0,
        data=b"" if is_remote else bytes(buffer[8 : 8 + length]),
        channel=channel,
    )


def pack_frame(frame: CanFrame) -> bytes:
    """The `struct can_frame` or `struct canfd_frame` bytes to write() for a frame."""
    if frame.is_error:
        can_id = CAN_ERR_FLAG | frame.arbitration_id
    else:
        can_id = frame.arbitration_id
        if frame.is_extended:
            can_id |= CAN_EFF_FLAG
        if frame.is_remote:
            can_id |= CAN_RTR_FLAG
    if frame.is_fd:
        fd_flags = CANFD_FDF
        if frame.bitrate_switch:
            fd_flags |= CANFD_BRS
        if frame.error_state_indicator:
            fd_flags |= CANFD_ESI
        header = _HEADER.pack(can_id, len(frame.data), fd_flags, 0, 0)
        return header + frame.data + _FD_PADDING[len(frame.data) :]
    length = frame.remote_length if frame.is_remote else len(frame.data)
    header = _HEADER.pack(can_id, length, 0, 0, 0)
    return header + frame.data + _CLASSIC_PADDING[len(frame.data) :]

