"""The `candump -L` / `candump -l` log line format of linux-can's can-utils, read and written.

A line is `(<seconds>.<fraction>) <interface> <frame> [T|R]`, where the frame is can-utils'
compact form (lib.h, parse_canframe):

    123#11223344       classic, 3 hex digits: 11-bit id
    12345678#          classic, 8 hex digits: 29-bit id (or an error frame if 0x20000000 is set)
    123#R  123#R5      remote frame, optionally with its requested length
    123##1AABB         CAN FD, the digit after `##` is the flags nibble (1 = BRS, 2 = ESI, 4 = FDF)

The optional T/R suffix (candump -x) is the direction. CAN XL frames (5-digit priority ids) are
rejected as `can_xl_unsupported`; the raw DLC suffix `_9`..`_F` of an 8-byte classic frame is
accepted but not kept.
"""
from __future__ import annotations

import re

from carnel.drivers.can.errors import FrameError, LogLineError
from carnel.drivers.can.frame import CanFrame
from carnel.drivers.can.lines import LineReader
from carnel.drivers.can.socketcan import CAN_ERR_FLAG, CANFD_BRS, CANFD_ESI, CANFD_FDF

# candump writes %010lu.%06lu, or nine fraction digits with -n (nanoseconds).
_TIMESTAMP = re.compile(r"\([0-9]{1,12}\.[0-9]{1,9}\)\Z")
_HEX = re.compile(r"[0-9A-Fa-f]*\Z")
_KNOWN_FD_FLAGS = CANFD_BRS | CANFD_ESI | CANFD_FDF
_DIRECTIONS = ("T", "R")


def parse_candump_line(line: str) -> CanFrame:
    """The frame on one `candump -L` line; raises LogLineError with the reason it is not one."""
    fields = line.split()
    if len(fields) not in (3, 4):
        raise LogLineError("malformed", f"expected '(time) interface frame [T|R]', got {len(fields)} fields")
    stamp, channel, text = fields[0], fields[1], fields[2]
    if len(fields) == 4 and fields[3] not in _DIRECTIONS:
        raise LogLineError("malformed", f"trailing field {fields[3][:16]!r} is not a direction T or R")
    if not _TIMESTAMP.match(stamp):
        raise LogLineError("bad_timestamp", f"{stamp[:32]!r} is not '(seconds.fraction)'")
    try:
        return _parse_frame_text(text, float(stamp[1:-1]), channel)
    except FrameError as exc:
        raise LogLineError(exc.reason, exc.detail) from None


def _parse_frame_text(text: str, timestamp: float, channel: str) -> CanFrame:
    id_text, hash_sign, rest = text.partition("#")
    if not hash_sign:
        raise LogLineError("malformed", f"no '#' between id and data in {text[:32]!r}")
    if not id_text or not _HEX.match(id_text):
        raise LogLineError("bad_id", f"id {id_text[:16]!r} is not hexadecimal")
    if len(id_text) == 3:
        arbitration_id, is_extended, is_error = int(id_text, 16), False, False
    elif len(id_text) == 8:
        value = int(id_text, 16)
        is_error = bool(value & CAN_ERR_FLAG)
        arbitration_id = value & ~CAN_ERR_FLAG if is_error else value
        is_extended = not is_error
    elif len(id_text) == 5 and rest.count("#") == 1:
        raise LogLineError("can_xl_unsupported", "CAN XL frames are not supported")
    else:
        raise LogLineError("bad_id", f"id {id_text!r} has {len(id_text)} digits, not 3 or 8")

    if rest.startswith("#"):
        flags_text = rest[1:2]
        if not flags_text or not _HEX.match(flags_text):
            raise LogLineError("bad_fd_flags", "CAN FD frame without its flags digit after '##'")
        flags = int(flags_text, 16)
        if flags & ~_KNOWN_FD_FLAGS:
            raise LogLineError("bad_fd_flags", f"unknown CAN FD flag bits in {flags:#x}")
        return CanFrame(
            timestamp=timestamp,
            arbitration_id=arbitration_id,
            is_extended=is_extended,
            is_error=is_error,
            is_fd=True,
            bitrate_switch=bool(flags & CANFD_BRS),
            error_state_indicator=bool(flags & CANFD_ESI),
            data=_hex_bytes(rest[2:]),
            channel=channel,
        )
    if rest[:1] in ("R", "r"):
        return CanFrame(
            timestamp=timestamp,
            arbitration_id=arbitration_id,
            is_extended=is_extended,
            is_error=is_error,
            is_remote=True,
            remote_length=_remote_length(rest[1:]),
            channel=channel,
        )
    data_text, underscore, raw_dlc = rest.partition("_")
    data = _hex_bytes(data_text)
    if underscore:
        _check_raw_dlc(raw_dlc, len(data))
    return CanFrame(
        timestamp=timestamp,
        arbitration_id=arbitration_id,
        is_extended=is_extended,
        is_error=is_error,
        data=data,
        channel=channel,
    )


def _hex_bytes(text: str) -> bytes:
    if len(text) % 2 or not _HEX.match(text):
        raise LogLineError("bad_data", f"data {text[:32]!r} is not whole hexadecimal bytes")
    return bytes.fromhex(text)


def _remote_length(text: str) -> int:
    if not text:
        return 0
    length_text, underscore, raw_dlc = text.partition("_")
    if len(length_text) != 1 or length_text not in "012345678":
        raise LogLineError("bad_remote_length", f"requested length {text[:16]!r} is not 0..8")
    length = int(length_text)
    if underscore:
        _check_raw_dlc(raw_dlc, length)
    return length


def _check_raw_dlc(text: str, length: int) -> None:
    # can-utils' len8_dlc: a classic frame of 8 bytes may have sent a DLC of 9..15.
    if length != 8 or len(text) != 1 or text not in "9ABCDEFabcdef":
        raise LogLineError("bad_dlc", f"raw DLC suffix '_{text[:8]}' needs 8 bytes and a DLC of 9..F")


def format_candump_line(frame: CanFrame, *, direction: str | None = None) -> str:
    """The `candump -L` line of a frame, as can-utils writes it (direction is 'T', 'R' or None)."""
    channel = frame.channel
    if not channel or channel.split() != [channel]:
        raise LogLineError("bad_channel", f"channel {channel!r} must be one non-empty word")
    if direction is not None and direction not in _DIRECTIONS:
        raise LogLineError("bad_direction", f"direction {direction!r} is not 'T' or 'R'")
    if frame.is_error:
        id_text = f"{CAN_ERR_FLAG | frame.arbitration_id:08X}"
    elif frame.is_extended:
        id_text = f"{frame.arbitration_id:08X}"
    else:
        id_text = f"{frame.arbitration_id:03X}"
    if frame.is_fd:
        flags = (CANFD_BRS if frame.bitrate_switch else 0) | (CANFD_ESI if frame.error_state_indicator else 0)
        body = f"#{flags:X}{frame.data.hex().upper()}"
    elif frame.is_remote:
        body = f"R{frame.remote_length}" if frame.remote_length else "R"
    else:
        body = frame.data.hex().upper()
    suffix = f" {direction}" if direction else ""
    return f"({frame.timestamp:017.6f}) {channel} {id_text}#{body}{suffix}"


class CandumpReader(LineReader):
    """Reads a `candump -L` log: bytes or lines in, frames out, bad lines counted per reason."""

    def parse_line(self, line: str) -> CanFrame | None:
        stripped = line.strip()
        if not stripped:
            return None
        if stripped.startswith("DROPCOUNT:"):
            # candump -l notes frames the socket dropped; they are gone, but worth counting.
            self.skipped.add("dropcount")
            return None
        return parse_candump_line(stripped)
