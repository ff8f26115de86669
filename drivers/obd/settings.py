"""How the session sets up the adapter and how long it waits: one frozen settings object."""
from __future__ import annotations

import math
from dataclasses import dataclass

from carnel.drivers.obd.elm import SELECTABLE_PROTOCOLS
from carnel.drivers.obd.errors import UsageError


@dataclass(frozen=True, slots=True)
class ElmSettings:
    """Formatting asked of the adapter, the protocol to use, and every timeout in seconds.

    The session parses echo, spaces and linefeeds either way (clones ignore some AT commands);
    headers must be known, and are on by default so that answers from several ECUs can be told
    apart.
    """

    echo: bool = False
    linefeeds: bool = False
    spaces: bool = False
    headers: bool = True
    protocol: str = "0"
    command_timeout: float = 2.0
    # ATZ restarts the ELM327 in about a second; clones on Bluetooth take longer.
    reset_timeout: float = 5.0
    # The first request may run the automatic search through every protocol (ELM327 data sheet:
    # several seconds per K-line protocol).
    connect_timeout: float = 30.0
    # ISO 15765-4 P2*max: an ECU that answered 7F xx 78 answers, or says 78 again, within 5 s.
    pending_timeout: float = 5.0
    # Total wait for one request through any number of 7F xx 78 answers.
    pending_limit: float = 30.0
    resync_attempts: int = 3
    max_queue: int = 32

    def __post_init__(self) -> None:
        if self.protocol not in SELECTABLE_PROTOCOLS:
            raise UsageError("bad_settings", f"protocol {self.protocol!r} is not one of "
                                             f"{sorted(SELECTABLE_PROTOCOLS)}")
        for name in ("command_timeout", "reset_timeout", "connect_timeout", "pending_timeout",
                     "pending_limit"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise UsageError("bad_settings",
                                 f"{name} must be a positive number of seconds, not {value!r}")
        if self.resync_attempts < 1 or self.max_queue < 1:
            raise UsageError("bad_settings", "resync_attempts and max_queue must be at least 1")
