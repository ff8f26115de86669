"""The validated CAN / CAN FD frame, and the DLC <-> data length rules of ISO 11898-1."""
from __future__ import annotations

import math

import msgspec

from carnel.drivers.can.errors import FrameError

STANDARD_ID_MAX = 0x7FF
EXTENDED_ID_MAX = 0x1FFFFFFF
CLASSIC_MAX_LENGTH = 8
FD_MAX_LENGTH = 64

# ISO 11898-1 table: a CAN FD DLC of 9..15 stands for 12, 16, 20, 24, 32, 48 or 64 bytes.
FD_LENGTHS: tuple[int, ...] = (0, 1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 20, 24, 32, 48, 64)
_LENGTH_TO_DLC = {length: dlc for dlc, length in enumerate(FD_LENGTHS)}


def dlc_to_length(dlc: int, *, is_fd: bool) -> int:
    """Data length in bytes that a DLC of 0..15 stands for.

    A classic frame's DLC of 9..15 still carries 8 bytes; a CAN FD frame's maps through FD_LENGTHS.
    """
    if not 0 <= dlc <= 15:
        raise FrameError("bad_dlc", f"DLC {dlc} is outside 0..15")
    if is_fd:
        return FD_LENGTHS[dlc]
    return min(dlc, CLASSIC_MAX_LENGTH)


def length_to_dlc(length: int) -> int:
    """DLC of a data length; only lengths in FD_LENGTHS have one."""
    try:
        return _LENGTH_TO_DLC[length]
    except KeyError:
        raise FrameError("bad_fd_length", f"{length} bytes is not a CAN FD length {FD_LENGTHS}") from None


class CanFrame(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One CAN or CAN FD frame, valid by construction: building an invalid one raises FrameError.

    `timestamp` is seconds (epoch seconds from SocketCAN and candump, seconds since the start of
    measurement from an ASC log). A remote frame carries no data; `remote_length` is the length it
    requests. An error frame (SocketCAN's CAN_ERR_FLAG) keeps the error class bits in
    `arbitration_id` and the controller's error details in `data`.
    """

    timestamp: float
    arbitration_id: int
    is_extended: bool = False
    is_fd: bool = False
    is_remote: bool = False
    is_error: bool = False
    bitrate_switch: bool = False
    error_state_indicator: bool = False
    remote_length: int = 0
    data: bytes = b""
    channel: str = ""

    def __post_init__(self) -> None:
        if not (math.isfinite(self.timestamp) and self.timestamp >= 0):
            raise FrameError("bad_timestamp", f"timestamp {self.timestamp!r} is not a finite time >= 0")
        if self.is_error:
            self._check_error_frame()
            return
        id_max = EXTENDED_ID_MAX if self.is_extended else STANDARD_ID_MAX
        if not 0 <= self.arbitration_id <= id_max:
            kind = "29-bit extended" if self.is_extended else "11-bit standard"
            raise FrameError("id_out_of_range", f"id {self.arbitration_id:#x} does not fit a {kind} id")
        if self.is_remote:
            self._check_remote_frame()
        elif self.remote_length:
            raise FrameError("remote_length_on_data_frame", "only a remote frame has a requested length")
        length = len(self.data)
        if self.is_fd:
            if length not in _LENGTH_TO_DLC:
                raise FrameError("bad_fd_length", f"{length} bytes is not a CAN FD length {FD_LENGTHS}")
        else:
            if length > CLASSIC_MAX_LENGTH:
                raise FrameError("data_too_long", f"a classic frame carries at most 8 bytes, not {length}")
            if self.bitrate_switch or self.error_state_indicator:
                raise FrameError("fd_flags_on_classic", "BRS and ESI exist only in CAN FD frames")

    def _check_error_frame(self) -> None:
        if self.is_extended or self.is_fd or self.is_remote or self.bitrate_switch or self.error_state_indicator:
            raise FrameError("error_frame_flags", "an error frame is never extended, FD or remote")
        if self.remote_length:
            raise FrameError("remote_length_on_data_frame", "only a remote frame has a requested length")
        if not 0 <= self.arbitration_id <= EXTENDED_ID_MAX:
            raise FrameError("id_out_of_range", f"error class {self.arbitration_id:#x} is wider than 29 bits")
        if len(self.data) > CLASSIC_MAX_LENGTH:
            raise FrameError("data_too_long", f"an error frame carries at most 8 bytes, not {len(self.data)}")

    def _check_remote_frame(self) -> None:
        # ISO 11898-1: CAN FD has no RTR bit (its place is the RRS bit, always dominant).
        if self.is_fd:
            raise FrameError("remote_fd", "CAN FD has no remote frames")
        if self.data:
            raise FrameError("remote_with_data", "a remote frame carries no data")
        if not 0 <= self.remote_length <= CLASSIC_MAX_LENGTH:
            raise FrameError("bad_remote_length", f"requested length {self.remote_length} is outside 0..8")

    @property
    def dlc(self) -> int:
        """The data length code on the wire (for a remote frame, of the requested length)."""
        if self.is_remote:
            return self.remote_length
        return _LENGTH_TO_DLC[len(self.data)]
