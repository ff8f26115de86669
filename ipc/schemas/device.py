"""A driver's view of its device, published retained on `<driver>.status` (e.g. `gps.status`).

A device that disappears (serial unplugged, CAN interface down, gpsd gone) is a state on the bus,
not a crash: the driver publishes `unavailable` with the reason and reconnects with capped backoff.
"""
from __future__ import annotations

from typing import Literal

import msgspec

from carnel.ipc.schemas.registry import Topic

DeviceState = Literal["connecting", "connected", "unavailable"]


class DeviceStatus(msgspec.Struct, frozen=True, kw_only=True, tag="device_status"):
    """`device` names the adapter in use ("serial:/dev/ttyUSB0", "gpsd:127.0.0.1:2947", ...).

    `retry_in_s` is when the next connection attempt is due while unavailable. `rejects` counts
    input refused since the driver started, per reason ("checksum", "too_long", ...).
    """

    state: DeviceState
    device: str
    reason: str = ""
    since_ns: int = 0
    retry_in_s: float = 0.0
    rejects: dict[str, int] = {}


TOPICS = (Topic("*.status", DeviceStatus),)
