"""The CAN driver's typed errors: every rejection carries a stable `reason` to count by."""
from __future__ import annotations


class CanError(ValueError):
    """Bad CAN input: `reason` is a stable snake_case key to count by, `detail` is for people.

    A ValueError, so that msgspec turns one raised while decoding a frame into its ValidationError.
    """

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class FrameError(CanError):
    """A frame's fields break the CAN or CAN FD rules (identifier range, length, flags)."""


class WireError(CanError):
    """Bytes read from a SocketCAN socket are not a `struct can_frame` or `struct canfd_frame`."""


class LogLineError(CanError):
    """A replay log line (candump -L or Vector ASC) cannot be read as a frame."""


class DecoderConfigError(CanError):
    """A signal mapping names a message or signal that the DBC database does not have."""


class DriverConfigError(CanError):
    """The driver's config table does not hold together (a replay without a file, a bad mapping)."""
