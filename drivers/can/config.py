"""The CAN driver's `[process.can.config]` table: where frames come from and what to publish.

    [process.can.config]
    source = "candump"            # "socketcan" | "candump" | "asc"
    file = "drive.log"            # the log to replay (candump, asc), relative to the image
    interface = "can0"            # the SocketCAN interface (socketcan)
    loop = true                   # replay the log again from the start when it ends
    rate = 1.0                    # 2.0 replays twice as fast; 0 or "max" as fast as possible
    dbc = "car.dbc"               # relative to the image

    [process.can.config.signals]  # VSS path = "DBC message.DBC signal"
    "Vehicle.Speed" = "ENGINE_DATA.VehicleSpeed"

A table that does not fit raises DriverConfigError while decoding, which process_config reports
as a ConfigError naming the field.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from carnel.drivers.can.errors import DriverConfigError
from carnel.drivers.can.signals import DecoderConfig, SignalMapping

Source = Literal["socketcan", "candump", "asc"]
REPLAY_SOURCES = ("candump", "asc")


class CanConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The driver's settings; every field has a default so that a typo is the only way to fail."""

    source: Source = "socketcan"
    interface: str = "can0"
    file: str = ""
    loop: bool = False
    rate: Annotated[float, msgspec.Meta(ge=0)] | Literal["max"] = 1.0
    dbc: str = ""
    signals: dict[str, str] = {}

    def __post_init__(self) -> None:
        if not self.dbc:
            raise DriverConfigError("no_dbc", "dbc names the DBC file that says how to decode frames")
        if not self.signals:
            raise DriverConfigError("no_signals", "signals maps VSS paths to DBC signals; it is empty")
        if self.source in REPLAY_SOURCES and not self.file:
            raise DriverConfigError("no_file", f"source {self.source!r} replays a log: set file")
        if self.source == "socketcan" and not self.interface:
            raise DriverConfigError("no_interface", "source 'socketcan' reads an interface: set interface")
        for path, target in self.signals.items():
            message, dot, signal = target.partition(".")
            if not path or not message or not dot or not signal or "." in signal:
                raise DriverConfigError(
                    "bad_mapping", f"signals.{path!r} = {target!r} is not 'MESSAGE.SIGNAL' (DBC names)"
                )

    @property
    def replay_rate(self) -> float:
        """The replay speed-up, 0.0 meaning as fast as possible."""
        return 0.0 if self.rate == "max" else float(self.rate)

    @property
    def device(self) -> str:
        """The adapter in use as the status shows it: "socketcan:can0", "candump:drive.log"."""
        return f"socketcan:{self.interface}" if self.source == "socketcan" else f"{self.source}:{self.file}"

    def decoder_config(self) -> DecoderConfig:
        """The signal mappings for SignalDecoder, in the table's order."""
        mappings = []
        for path, target in self.signals.items():
            message, _, signal = target.partition(".")
            mappings.append(SignalMapping(message=message, signal=signal, output=path))
        return DecoderConfig(signals=tuple(mappings))
