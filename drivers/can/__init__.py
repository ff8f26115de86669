"""The CAN driver. Exported here: its sans-I/O protocol (validated frames, SocketCAN layouts, replay
logs, DBC signals). The I/O is in `socketcan_adapter` and `replay_adapter`, the bus wiring in
`service` (run as `python -m carnel.drivers.can`)."""
from __future__ import annotations

from carnel.drivers.can.asc import AscReader
from carnel.drivers.can.candump import CandumpReader, format_candump_line, parse_candump_line
from carnel.drivers.can.errors import CanError, DecoderConfigError, FrameError, LogLineError, WireError
from carnel.drivers.can.frame import FD_LENGTHS, CanFrame, dlc_to_length, length_to_dlc
from carnel.drivers.can.signals import DecodedSignal, DecoderConfig, SignalDecoder, SignalMapping
from carnel.drivers.can.socketcan import CAN_MTU, CANFD_MTU, pack_frame, unpack_frame
from carnel.drivers.can.stats import ReasonCounts

__all__ = [
    "CAN_MTU",
    "CANFD_MTU",
    "FD_LENGTHS",
    "AscReader",
    "CanError",
    "CanFrame",
    "CandumpReader",
    "DecodedSignal",
    "DecoderConfig",
    "DecoderConfigError",
    "FrameError",
    "LogLineError",
    "ReasonCounts",
    "SignalDecoder",
    "SignalMapping",
    "WireError",
    "dlc_to_length",
    "format_candump_line",
    "length_to_dlc",
    "pack_frame",
    "parse_candump_line",
    "unpack_frame",
]
