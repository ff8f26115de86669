"""The gps driver's settings: the image's `[process.gps.config]` table.

    [process.gps.config]
    source = "serial"            # "serial", "gpsd" or "replay"
    device = "/dev/ttyACM0"      # serial: the receiver's tty
    baud = 9600
    host = "127.0.0.1"           # gpsd
    port = 2947
    replay_file = "drives/commute.nmea"   # replay: relative to the image file
    loop = true
    rate = 1.0                   # replay speed: 2.0 plays twice as fast
    max_sentence_length = 82     # NMEA's limit; MediaTek MT3339 sends 84-character GGA

Every field has a default, so that the driver also runs by hand without a kernel (with gpsd
on this machine).
"""
from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from carnel.drivers.gps.nmea import MAX_SENTENCE_LENGTH
from carnel.ipc.tty import baud_constant

Seconds = Annotated[float, msgspec.Meta(gt=0.0)]


class GpsConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Where the receiver's data comes from and how to read it.

    `quiet_s` is how long the input may pause before the open epoch is reported without
    waiting for its next one; `silence_s` how long a serial receiver or gpsd may say nothing
    before it counts as lost (a replay log's own pauses never do).
    """

    source: Literal["serial", "gpsd", "replay"] = "gpsd"
    device: str = "/dev/ttyACM0"
    baud: int = 9600
    host: str = "127.0.0.1"
    port: Annotated[int, msgspec.Meta(ge=1, le=65535)] = 2947
    replay_file: str = ""
    loop: bool = True
    rate: Annotated[float, msgspec.Meta(gt=0.0, le=1000.0)] = 1.0
    max_sentence_length: Annotated[int, msgspec.Meta(ge=11, le=1024)] = MAX_SENTENCE_LENGTH
    quiet_s: Seconds = 0.5
    silence_s: Seconds = 10.0
    connect_timeout_s: Seconds = 5.0
    retry_initial_s: Seconds = 0.5
    retry_max_s: Seconds = 30.0

    def __post_init__(self) -> None:
        # msgspec reports these as validation errors naming the config table.
        if baud_constant(self.baud) is None:
            raise ValueError(f"baud {self.baud} is not a rate the serial port can be set to")
        if self.source == "replay" and not self.replay_file:
            raise ValueError("source = \"replay\" needs replay_file")

    @property
    def device_name(self) -> str:
        """The adapter in use, as `gps.status` names it: "serial:/dev/ttyACM0", ..."""
        if self.source == "serial":
            return f"serial:{self.device}"
        if self.source == "gpsd":
            return f"gpsd:{self.host}:{self.port}"
        return f"replay:{self.replay_file}"
