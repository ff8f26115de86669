"""What a caller can ask the session for; each request ends in exactly one event."""
from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from carnel.drivers.obd.pids import spec_for


@dataclass(frozen=True, slots=True)
class Initialise:
    """Reset the adapter, set its formatting and protocol, connect to the vehicle (AdapterReady)."""


@dataclass(frozen=True, slots=True)
class ReadPid:
    """Read one mode 01 PID from every ECU that answers (PidRead)."""

    pid: int

    def __post_init__(self) -> None:
        spec_for(self.pid)


@dataclass(frozen=True, slots=True)
class ReadSupportedPids:
    """Walk the supported-PID bitmaps 0x00, 0x20, ... as far as they chain (SupportedPidsRead)."""


class DtcKind(IntEnum):
    """Which trouble codes: the service that reads them (SAE J1979 modes 03, 07, 0A)."""

    STORED = 0x03
    PENDING = 0x07
    PERMANENT = 0x0A


@dataclass(frozen=True, slots=True)
class ReadDtcs:
    """Read the trouble codes of one kind from every ECU that answers (DtcsRead)."""

    kind: DtcKind = DtcKind.STORED


@dataclass(frozen=True, slots=True)
class ReadVin:
    """Read the vehicle identification number, mode 09 PID 02 (VinRead)."""


Request = Initialise | ReadPid | ReadSupportedPids | ReadDtcs | ReadVin
